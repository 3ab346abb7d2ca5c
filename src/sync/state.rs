//! The sync state: what each item looked like when both sides last agreed.
//!
//! With it, a difference between a file and its row has a direction: only the file changed
//! since the last sync (write the row), only the row changed (write the file), or both
//! (a conflict: touch neither). Without it, a difference is a conflict rather than a guess.
//!
//! The state is a plain text file in mybb-sync's own folder of the sync root
//! (`.mybb-sync/state`, see `own_dir.rs`), one line per item:
//! `<content hash>[+<pending hash>]\t<database stamp>\t<item key>`. It is written atomically, and every update
//! is a read-merge-write under its own lock file, so an export and a watcher updating it at the
//! same time both keep their entries. A missing or unreadable state is never fatal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::disk::atomic::{self, AtomicBatch};
use crate::error::{Error, Result};
use crate::sync::own_dir::{self, OLD_STATE_FILE, STATE_FILE};
/// The lock serialising state updates, in mybb-sync's own folder.
const STATE_LOCK: &str = "state.lock";

/// Returns the path of the state file of sync root `root`.
pub fn state_path(root: &Path) -> PathBuf {
    own_dir::path(root).join(STATE_FILE)
}

/// The first line of a state file.
const HEADER: &str =
    "# mybb-sync state v1: hash, database stamp, item. Written by mybb-sync; do not edit.";

/// What one item looked like at its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// [`content_hash`] of the content both sides held.
    pub hash: u64,
    /// The database's `dateline` (templates) or `lastmodified` (stylesheets) at that moment.
    pub stamp: u64,
    /// The hash of the content a run was about to write to the file when this was saved: set
    /// before the renames, cleared after. Left set (by a kill), the file holds either content.
    pub pending: Option<u64>,
}

impl Record {
    /// The hash of a tombstone: an item deleted in the database whose file was removed. A file
    /// saved there afterwards (an editor's leftover buffer) is then no new item but an edit of
    /// a deleted one, a conflict, rather than a silent resurrection. No content hashes to it in
    /// practice (FNV-1a of the empty string is not 0).
    pub const TOMBSTONE_HASH: u64 = 0;

    /// Returns a tombstone record made now (see [`Record::TOMBSTONE_HASH`]).
    pub fn tombstone() -> Record {
        Record { hash: Record::TOMBSTONE_HASH, stamp: crate::mybb::db::now(), pending: None }
    }

    /// Returns true if and only if this record is a tombstone (see [`Record::TOMBSTONE_HASH`]).
    pub fn is_tombstone(&self) -> bool {
        self.hash == Record::TOMBSTONE_HASH && self.pending.is_none()
    }
}

/// Returns the 64-bit FNV-1a hash of `bytes`: a change detector, not a security measure.
pub fn content_hash(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The sync state of one sync root, as loaded, plus the changes made since.
#[derive(Debug, Default)]
pub struct State {
    root: PathBuf,
    records: BTreeMap<String, Record>,
    changes: BTreeMap<String, Option<Record>>,
    /// Whether a state file existed and was readable.
    pub trusted: bool,
}

impl State {
    /// Loads the state of sync root `root`. A missing file gives an empty state; an
    /// unreadable one gives an empty state and a warning that says what happens next.
    pub fn load(root: &Path) -> Result<State> {
        let mut path = state_path(root);
        if !path.exists() && root.join(OLD_STATE_FILE).is_file() {
            // A root of an older mybb-sync, not yet migrated (a read-only command).
            path = root.join(OLD_STATE_FILE);
        }
        let mut state = State { root: root.to_path_buf(), ..State::default() };
        match fs::read_to_string(&path) {
            Ok(text) => match parse(&text) {
                Ok(records) => {
                    state.records = records;
                    state.trusted = true;
                }
                Err(why) => log::warn!(
                    "the sync state {} is unreadable ({why}); rebuilding it from a full comparison: \
                     items that differ are reported as conflicts, nothing is overwritten",
                    path.display()
                ),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // A fresh root needs no state; a tree without one lost it (or predates it).
                let has_files =
                    [crate::sync::layout::TEMPLATE_SETS_DIR, crate::sync::layout::STYLES_DIR]
                        .iter()
                        .any(|dir| root.join(dir).is_dir());
                if has_files {
                    log::warn!(
                        "no sync state in {}; rebuilding it from a full comparison: items that \
                         differ are reported as conflicts, nothing is overwritten",
                        root.display()
                    );
                } else {
                    log::debug!("no sync state in {} yet", root.display());
                }
            }
            Err(e) if e.kind() == ErrorKind::InvalidData => log::warn!(
                "the sync state {} is not text; rebuilding it from a full comparison: \
                 items that differ are reported as conflicts, nothing is overwritten",
                path.display()
            ),
            Err(e) => return Err(e.into()),
        }
        Ok(state)
    }

    /// Loads the state of sync root `root`, or, when `forgotten` (a rebind not yet carried
    /// out, see `own_dir::bind`), returns an empty one.
    pub fn load_unless_forgotten(root: &Path, forgotten: bool) -> Result<State> {
        if forgotten {
            return Ok(State { root: root.to_path_buf(), ..State::default() });
        }
        State::load(root)
    }

    /// Returns the record of item `key`, if it was ever synced.
    pub fn get(&self, key: &str) -> Option<Record> {
        match self.changes.get(key) {
            Some(change) => *change,
            None => self.records.get(key).copied(),
        }
    }

    /// Returns the key of every item synced before, as loaded (changes of this run aside).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.records.keys().map(String::as_str)
    }

    /// Records that item `key` is in sync with `record` (to be saved by [`State::save`]).
    pub fn set(&mut self, key: &str, record: Record) {
        if self.get(key) != Some(record) {
            self.changes.insert(key.to_owned(), Some(record));
        }
    }

    /// Records that item `key` was deleted in the database and its file removed: a tombstone,
    /// so that a file saved there later is not taken for a new item.
    pub fn bury(&mut self, key: &str) {
        self.set(key, Record::tombstone());
    }

    /// Forgets item `key` (to be saved by [`State::save`]): it was deleted on one side and the
    /// deletion carried to the other, so it is no longer synced anywhere.
    pub fn forget(&mut self, key: &str) {
        if self.get(key).is_some() {
            self.changes.insert(key.to_owned(), None);
        }
    }

    /// Records that the file of item `key` is about to be replaced with content hashing to
    /// `hash` (stamp `stamp`), before the rename: a crash between the two leaves a state that
    /// accepts either content as synced, so neither is taken for a local edit.
    pub fn set_pending(&mut self, key: &str, hash: u64, stamp: u64) {
        let record = match self.get(key) {
            Some(old) => Record { pending: Some(hash), ..old },
            None => Record { hash, stamp, pending: Some(hash) },
        };
        self.set(key, record);
    }

    /// Undoes [`State::set_pending`] for a file that was not replaced after all.
    pub fn unset_pending(&mut self, key: &str) {
        match self.get(key) {
            Some(Record { hash, pending: Some(pending), .. }) if hash == pending => {
                self.changes.insert(key.to_owned(), None);
            }
            Some(record @ Record { pending: Some(_), .. }) => {
                self.set(key, Record { pending: None, ..record })
            }
            _ => {}
        }
    }

    /// Saves the changes: under the state lock, re-reads the file, applies this run's changes
    /// on top (so concurrent writers keep each other's entries), and replaces the file
    /// atomically. Does nothing when there are no changes.
    pub fn save(&mut self, durable: bool) -> Result<()> {
        self.save_by(|path, text| atomic::write_file(path, text, durable))
    }

    /// Saves the changes as [`State::save`] does, to be durable before any of `batch`'s
    /// renames. A batch made durable by `syncfs` does it: the new state's data is synced before
    /// it replaces the old (so a crash leaves one or the other whole), and the batch's first
    /// `syncfs` makes the replacement durable, for one `fsync` where a durable save makes two
    /// (issue 16). Otherwise the save is as durable as the batch.
    pub fn save_before(&mut self, batch: &mut AtomicBatch) -> Result<()> {
        if batch.syncs_whole_filesystems() {
            batch.sync_with(&own_dir::path(&self.root));
            self.save_by(atomic::write_file_before_syncfs)
        } else {
            self.save(batch.is_durable())
        }
    }

    /// [`State::save`], the file replaced by `write`.
    fn save_by(&mut self, write: impl FnOnce(&Path, &[u8]) -> Result<()>) -> Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let dir = own_dir::ensure(&self.root)?;
        let lock_path = dir.join(STATE_LOCK);
        let lock =
            fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
        lock.file().lock().map_err(|source| Error::IoAt {
            path: lock_path.clone(),
            action: "lock",
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let mut records = match fs::read_to_string(&path) {
            Ok(text) => parse(&text).unwrap_or_default(),
            Err(_) => BTreeMap::new(),
        };
        for (key, change) in &self.changes {
            match change {
                Some(record) => records.insert(key.clone(), *record),
                None => records.remove(key),
            };
        }
        let mut text = String::with_capacity(64 * records.len() + HEADER.len());
        text.push_str(HEADER);
        text.push('\n');
        for (key, record) in &records {
            // Straight into the text (writing to a String cannot fail): no String per line.
            let _ = match record.pending {
                None => write!(text, "{:016x}", record.hash),
                Some(p) => write!(text, "{:016x}+{p:016x}", record.hash),
            };
            let _ = writeln!(text, "\t{}\t{key}", record.stamp);
        }
        // A failed write keeps the changes, so a caller can amend them and save again.
        write(&path, text.as_bytes())?;
        self.changes.clear();
        self.records = records;
        self.trusted = true;
        Ok(())
    }
}

/// Parses a state file, or says what is wrong with it.
fn parse(text: &str) -> std::result::Result<BTreeMap<String, Record>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, first)) if first == HEADER => {}
        _ => return Err("its first line is not the mybb-sync state header".to_owned()),
    }
    let mut records = BTreeMap::new();
    for (n, line) in lines {
        let bad = || format!("line {} is malformed", n + 1);
        let mut fields = line.splitn(3, '\t');
        let (Some(hash), Some(stamp), Some(key)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let (hash, pending) = match hash.split_once('+') {
            Some((hash, pending)) => (hash, Some(pending)),
            None => (hash, None),
        };
        let hex = |h: &str| match h.len() {
            16 => u64::from_str_radix(h, 16).map_err(|_| bad()),
            _ => Err(bad()),
        };
        if key.is_empty() {
            return Err(bad());
        }
        let hash = hex(hash)?;
        let pending = pending.map(hex).transpose()?;
        let stamp = stamp.parse().map_err(|_| bad())?;
        records.insert(key.to_owned(), Record { hash, stamp, pending });
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("it ends in the middle of a line".to_owned());
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::test_support::scratch_dir("state", name)
    }

    #[test]
    fn records_survive_a_save_and_a_load() {
        let root = scratch("roundtrip");
        let mut state = State::load(&root).unwrap();
        assert!(!state.trusted);
        state.set("styles/Default/global.css", Record { hash: 7, stamp: 9, pending: Some(8) });
        state.save(false).unwrap();
        let state = State::load(&root).unwrap();
        assert!(state.trusted);
        assert_eq!(
            state.get("styles/Default/global.css"),
            Some(Record { hash: 7, stamp: 9, pending: Some(8) })
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn concurrent_writers_keep_each_others_entries() {
        let root = scratch("merge");
        const WRITERS: u64 = 8;
        // All writers load the same (empty) state, then save at once: each save must merge
        // what the others saved meanwhile instead of replacing it.
        let barrier = std::sync::Barrier::new(WRITERS as usize);
        std::thread::scope(|scope| {
            for n in 0..WRITERS {
                let (root, barrier) = (&root, &barrier);
                scope.spawn(move || {
                    let mut state = State::load(root).unwrap();
                    state.set(&format!("key {n}"), Record { hash: n, stamp: n, pending: None });
                    barrier.wait();
                    state.save(false).unwrap();
                });
            }
        });
        let state = State::load(&root).unwrap();
        for n in 0..WRITERS {
            assert_eq!(
                state.get(&format!("key {n}")),
                Some(Record { hash: n, stamp: n, pending: None })
            );
        }
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_damaged_state_file_is_not_fatal_and_not_trusted() {
        let root = scratch("damaged");
        for text in [
            "garbage",
            &format!("{HEADER}\nzz\t1\tkey\n"),
            &format!("{HEADER}\n0000000000000001\t1\tkey"),
        ] {
            std::fs::create_dir_all(own_dir::path(&root)).unwrap();
            std::fs::write(state_path(&root), text).unwrap();
            let state = State::load(&root).unwrap();
            assert!(!state.trusted, "{text:?}");
            assert_eq!(state.get("key"), None);
        }
        std::fs::write(state_path(&root), b"\xff\xfe").unwrap();
        assert!(!State::load(&root).unwrap().trusted);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_pending_hash_is_saved_and_undone() {
        let root = scratch("pending");
        let mut state = State::load(&root).unwrap();
        state.set("kept", Record { hash: 1, stamp: 1, pending: None });
        state.set_pending("kept", 2, 5);
        state.set_pending("new", 3, 5);
        state.save(false).unwrap();
        let mut state = State::load(&root).unwrap();
        assert_eq!(state.get("kept"), Some(Record { hash: 1, stamp: 1, pending: Some(2) }));
        assert_eq!(state.get("new"), Some(Record { hash: 3, stamp: 5, pending: Some(3) }));
        state.unset_pending("kept");
        state.unset_pending("new");
        assert_eq!(state.get("kept"), Some(Record { hash: 1, stamp: 1, pending: None }));
        assert_eq!(state.get("new"), None);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn the_hash_tells_contents_apart() {
        assert_eq!(content_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(content_hash(b"ab"), content_hash(b"ba"));
    }
}
