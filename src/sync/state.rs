//! The sync state: what each item looked like when both sides last agreed.
//!
//! With it, a difference between a file and its row has a direction: only the file changed
//! since the last sync (write the row), only the row changed (write the file), or both
//! (a conflict: touch neither). Without it, a difference is a conflict rather than a guess.
//!
//! The state is a plain text file in mybb-sync's own folder of the sync root
//! (`.mybb-sync/state`, see `own_dir.rs`), one line per item:
//! `<content hash>[+<pending hash>]\t<database stamp>\t<identity>\t<item key>`, where the
//! identity ([`Identity`]) names the row the record was synced with, since a path alone cannot
//! tell a set or theme made again under an old name from the old one. It is written
//! atomically, and every update is a read-merge-write under its own lock file, so an export
//! and a watcher updating it at the same time both keep their entries. A missing or unreadable
//! state is never fatal. A state of the previous format (v1, no identity) is read as it was
//! meant: each record trusted, gaining its identity when it is next written.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::disk::atomic::{self, AtomicBatch, Durability, FileId};
use crate::error::{Error, Result};
use crate::sync::own_dir::{self, OLD_STATE_FILE, STATE_FILE};

mod table;
use table::Table;
/// The lock serialising state updates, in mybb-sync's own folder.
const STATE_LOCK: &str = "state.lock";

/// Returns the path of the state file of sync root `root`.
pub fn state_path(root: &Path) -> PathBuf {
    own_dir::path(root).join(STATE_FILE)
}

/// The first line of a state file.
const HEADER: &str = "# mybb-sync state v3: hash, database stamp, identity, file stat, item. \
     Written by mybb-sync; do not edit.";

/// The first line of a state file rebuilt after it was lost or unreadable, until a run that
/// compared every item with nothing left undecided completes it ([`State::complete`]): its
/// records are right, but an item without one may be a file whose row was deleted, not a new
/// file, so the planner does not trust it (a file without a row is not created).
const HEADER_PARTIAL: &str = "# mybb-sync state v3, partial (rebuilt; trusted once a full export \
     or import completes it): hash, database stamp, identity, file stat, item. Written by \
     mybb-sync; do not edit.";

/// The first lines of the previous format (v2, no file stat column), read still.
const HEADER_V2: &str = "# mybb-sync state v2: hash, database stamp, identity, item. Written by \
     mybb-sync; do not edit.";
const HEADER_V2_PARTIAL: &str = "# mybb-sync state v2, partial (rebuilt; trusted once a full \
     export or import completes it): hash, database stamp, identity, item. Written by mybb-sync; \
     do not edit.";

/// The first line of a state file of the previous format, read still: no identity column.
const HEADER_V1: &str =
    "# mybb-sync state v1: hash, database stamp, item. Written by mybb-sync; do not edit.";

/// What holds an item's row: a template set (templates, by sid: -1 for the global templates)
/// or a theme (stylesheets, by tid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Set(i32),
    Theme(u32),
}

/// Which row a record was synced with: its owner, and the owner's own row for the item (a
/// template's tid, a stylesheet's sid), None where the item was inherited (a master or global
/// template, a parent theme's stylesheet) or its row was not made yet (an insert). Deleting a
/// set or theme, or a row, and making it again under the same name gives new ids, so a record
/// of the old one is not taken for the base of the new (see [`Identity::admits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub owner: Owner,
    pub row: Option<u32>,
}

impl Identity {
    /// Returns true if and only if a record synced with `self` may be the base of the row that
    /// `now` names: the same owner, and the same own row where both had one. A row of the
    /// owner's own made or deleted since (a copy-on-write, a revert) is the same item.
    pub fn admits(self, now: Identity) -> bool {
        self.owner == now.owner
            && match (self.row, now.row) {
                (Some(then), Some(now)) => then == now,
                _ => true,
            }
    }

    /// Parses the identity column of a state line, as `Display` writes it; None if malformed.
    fn parse(text: &str) -> Option<Identity> {
        let (owner, row) = match text.split_once('/') {
            Some((owner, row)) => (owner, Some(row.parse().ok()?)),
            None => (text, None),
        };
        let owner = match owner.split_at_checked(1)? {
            ("s", sid) => Owner::Set(sid.parse().ok()?),
            ("t", tid) => Owner::Theme(tid.parse().ok()?),
            _ => return None,
        };
        Some(Identity { owner, row })
    }
}

/// `s<sid>` or `t<tid>`, then `/<row id>` where there is one: `s1/512`, `t2`.
impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.owner {
            Owner::Set(sid) => write!(f, "s{sid}")?,
            Owner::Theme(tid) => write!(f, "t{tid}")?,
        }
        match self.row {
            Some(row) => write!(f, "/{row}"),
            None => Ok(()),
        }
    }
}

/// The identity column of a record without one: one of the previous format, or a tombstone.
const NO_IDENTITY: &str = "-";
/// The file stat column of a record without one.
const NO_STAT: &str = "-";

/// How a v3 state file's last line begins, followed by how many records it holds: a file
/// without it was cut short (a crash after an unsynced rename), never a shorter state.
const TRAILER: &str = "# end of mybb-sync state, records: ";

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
    /// The row it was synced with; None for a record of the previous format (trusted as it
    /// was) and for a tombstone.
    pub identity: Option<Identity>,
    /// [`FileId::digest`] of the file when it was last compared and found to hold `hash`, if
    /// it was old enough then to be sure a later write changes it (see [`Clock`]): a file whose
    /// digest is the same now holds the same bytes, and is not read again. None where the file
    /// was written by mybb-sync or not compared (issue 32).
    pub stat: Option<u64>,
}

impl Record {
    /// The hash of a tombstone: an item deleted in the database whose file was removed. A file
    /// saved there afterwards (an editor's leftover buffer) is then no new item but an edit of
    /// a deleted one, a conflict, rather than a silent resurrection. No content hashes to it in
    /// practice (FNV-1a of the empty string is not 0).
    pub const TOMBSTONE_HASH: u64 = 0;

    /// Returns a tombstone record made now (see [`Record::TOMBSTONE_HASH`]).
    pub fn tombstone() -> Record {
        Record {
            hash: Record::TOMBSTONE_HASH,
            stamp: crate::mybb::db::now(),
            pending: None,
            identity: None,
            stat: None,
        }
    }

    /// Returns true if and only if this record is a tombstone (see [`Record::TOMBSTONE_HASH`]).
    pub fn is_tombstone(&self) -> bool {
        self.hash == Record::TOMBSTONE_HASH && self.pending.is_none()
    }
}

/// A moment on the filesystem's own clock, taken before a run compares files: a file last
/// modified before it is "settled", and any later write to it gives it a later time, so what is
/// recorded of it ([`Record::stat`]) changes. A file modified in the same tick of the
/// filesystem's clock as the moment is not settled: a second write in that tick could leave
/// its size and times as they were (git's "racily clean" entries). Without a moment (a root
/// with no state lock yet, a read-only folder), nothing is settled and every file is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock(Option<(i64, i64)>);

impl Clock {
    /// Returns true if and only if a file that is `id` now was last modified before the moment.
    /// Its change time counts too: a write that kept the old modification time still moves it.
    pub fn settled(&self, id: &FileId) -> bool {
        self.0.is_some_and(|moment| id.last_changed() < moment)
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
    records: Table,
    changes: BTreeMap<String, Option<Record>>,
    /// The state file as last read or written by this state, while `records` are exactly what
    /// it holds: a save that finds it still so merges into `records` without reading it again.
    on_disk: Option<(FileId, bool)>,
    /// The state file this state's records come from (read, set aside as unreadable, or
    /// written by it), `None` where there was none: a completion holds only for the file it
    /// compared against, not for one another run wrote meanwhile.
    base: Option<FileId>,
    /// Whether a complete state file existed and was readable: an item without a record was
    /// then never synced, so a file without a row is a new one.
    pub trusted: bool,
    /// No state and no files: a new root, with nothing to rebuild (whatever a run records
    /// is all there is).
    fresh: bool,
    /// This run compared every item of the root and left none undecided (see
    /// [`State::complete`]).
    completed: bool,
}

/// A state file as parsed: its records, and whether it is complete (not [`HEADER_PARTIAL`]).
#[derive(Debug, Default)]
struct Parsed {
    records: Table,
    complete: bool,
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
        match read_file(&path) {
            Ok((id, read)) => match read {
                Ok(parsed) => {
                    state.base = Some(id);
                    state.records = parsed.records;
                    state.trusted = parsed.complete;
                    state.on_disk = Some((id, parsed.complete));
                    if !parsed.complete {
                        log::debug!(
                            "the sync state {} is partial (rebuilt, not yet completed by a full \
                             export or import)",
                            path.display()
                        );
                    }
                }
                Err(why) => {
                    state.base = Some(id);
                    log::warn!(
                        "the sync state {} is unreadable ({why}); rebuilding it from a full \
                         comparison: items that differ are reported as conflicts, nothing is \
                         overwritten (the unreadable file is kept beside it at the next save)",
                        path.display()
                    );
                }
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
                    state.fresh = true;
                }
            }
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

    /// Returns the filesystem's clock now ([`Clock`]), read by touching the state's lock file
    /// (the kernel stamps it, with the same clock and granularity as any file's writes), where
    /// one exists; a run that never saved a state has none, and reads every file.
    pub fn clock(&self) -> Clock {
        use std::os::unix::fs::MetadataExt as _;
        use std::os::unix::io::AsRawFd as _;
        let path = own_dir::path(&self.root).join(STATE_LOCK);
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else {
            return Clock(None);
        };
        let now = libc::timespec { tv_sec: 0, tv_nsec: libc::UTIME_NOW };
        // SAFETY: a valid open descriptor and two timespecs, as futimens(2) asks.
        if unsafe { libc::futimens(file.as_raw_fd(), [now, now].as_ptr()) } != 0 {
            return Clock(None);
        }
        match file.metadata() {
            Ok(meta) => Clock(Some((meta.mtime(), meta.mtime_nsec()))),
            Err(_) => Clock(None),
        }
    }

    /// Notes that this run compared every item of the sync root (every set's and theme's
    /// files, and every file under the root) and left none undecided: every file on disk
    /// now has a record, so a state rebuilt after it was lost or unreadable is complete from
    /// the next save on (see [`HEADER_PARTIAL`]). A caller saves after it.
    pub fn complete(&mut self) {
        self.completed = true;
    }

    /// Returns the record of item `key`, if it was ever synced.
    pub fn get(&self, key: &str) -> Option<Record> {
        match self.changes.get(key) {
            Some(change) => *change,
            None => self.records.get(key),
        }
    }

    /// Returns the key of every item synced before, as loaded (changes of this run aside).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|(key, _)| key)
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

    /// Records that the file of item `key` is about to be replaced with the content `record`
    /// is of, before the rename: a crash between the two leaves a state that accepts either
    /// content as synced, so neither is taken for a local edit. Returns the record as it was,
    /// for [`State::unset_pending`].
    pub fn set_pending(&mut self, key: &str, record: &Record) -> Option<Record> {
        let before = self.get(key);
        // The file is about to change: what was known of it no longer holds.
        let record = match before {
            Some(old) => Record { pending: Some(record.hash), stat: None, ..old },
            None => Record { pending: Some(record.hash), stat: None, ..*record },
        };
        self.set(key, record);
        before
    }

    /// Undoes [`State::set_pending`] for a file that was not replaced after all: `before` is
    /// what it returned. Told by it, not by the record: a record whose hash is the pending one
    /// may be as old as the item (a deleted file brought back as last synced), and dropping it
    /// would make the item look never synced, its file a new one whose row is to be made.
    pub fn unset_pending(&mut self, key: &str, before: Option<Record>) {
        if self.get(key).is_none_or(|record| record.pending.is_none()) {
            return;
        }
        match before {
            // What was known of the file's times is not restored: it was about to change.
            Some(before) => self.set(key, Record { stat: None, ..before }),
            None => {
                self.changes.insert(key.to_owned(), None);
            }
        }
    }

    /// Saves the changes: under the state lock, re-reads the file, applies this run's changes
    /// on top (so concurrent writers keep each other's entries), and replaces the file
    /// atomically. Does nothing when there are no changes (and no completion to record).
    /// A file that cannot be read back is never taken for an empty one: it is moved aside
    /// (kept, and named in a warning), and the state written instead is partial.
    pub fn save(&mut self, durable: bool) -> Result<()> {
        self.save_by(if durable { Durability::Full } else { Durability::None })
    }

    /// Saves the changes as [`State::save`] does, to be durable before any of `batch`'s
    /// renames. A batch made durable by `syncfs` does it: the new state's data is synced before
    /// it replaces the old (so a crash leaves one or the other whole), and the batch's first
    /// `syncfs` makes the replacement durable, for one `fsync` where a durable save makes two
    /// (issue 16). Otherwise the save is as durable as the batch.
    pub fn save_before(&mut self, batch: &mut AtomicBatch) -> Result<()> {
        if batch.syncs_whole_filesystems() {
            batch.sync_with(&own_dir::path(&self.root));
            self.save_by(Durability::BeforeSyncfs)
        } else {
            self.save(batch.is_durable())
        }
    }

    /// [`State::save`], made as durable as `durability` says.
    fn save_by(&mut self, durability: Durability) -> Result<()> {
        // A completion is a change of its own where the state was not complete.
        let completes = self.completed && !self.trusted;
        if self.changes.is_empty() && !completes {
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
        let now = match std::fs::symlink_metadata(&path) {
            Ok(meta) => Some(FileId::of(&meta)),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(Error::IoAt { path, action: "look at", source: e }),
        };
        let on_disk_complete = match (now, self.on_disk) {
            // The file as this state last read or wrote it: its records are `records`.
            (Some(now), Some((then, complete))) if now == then => complete,
            _ => {
                // Written by another run since (or lost): its records are the base. Those
                // loaded go first, so that two copies are never held at once.
                self.records = Table::default();
                self.on_disk = None;
                let Parsed { records, complete } = match read_file(&path) {
                    Ok((_, Ok(parsed))) => parsed,
                    Ok((_, Err(why))) => set_aside(&path, &why)?,
                    // No file (yet): complete only where there was nothing to rebuild.
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        Parsed { records: Table::default(), complete: self.fresh }
                    }
                    Err(e) => return Err(e.into()),
                };
                self.records = records;
                complete
            }
        };
        // Complete where this run made it so against this very file, or where it was and still
        // is: a file rebuilt meanwhile by another run (or lost) stays partial, since this run's
        // comparison recorded nothing for items the other file lacks.
        if self.completed && now != self.base {
            log::warn!(
                "the sync state {} was written by another run while this one compared every \
                 item; it stays partial until a full import or export completes it",
                path.display()
            );
            self.completed = false;
        }
        let complete = self.completed || (on_disk_complete && (self.trusted || self.fresh));
        // From here `records` hold this run's changes: a failed write keeps the changes too,
        // so a caller can amend them and save again (applying them again changes nothing).
        self.on_disk = None;
        self.records.apply(self.changes.iter()).map_err(|_| too_big(&path))?;
        let records = &self.records;
        atomic::write_file_streamed(&path, durability, |out| {
            write_records(out, records, complete)
        })?;
        // Under the lock still: no other run wrote it since the rename.
        let written = std::fs::symlink_metadata(&path).ok().map(|m| FileId::of(&m));
        self.on_disk = written.map(|id| (id, complete));
        self.base = written;
        self.changes.clear();
        self.trusted = complete;
        Ok(())
    }
}

/// The error of a state whose keys would pass 4 GiB, beyond any board.
fn too_big(path: &Path) -> Error {
    Error::IoAt {
        path: path.to_path_buf(),
        action: "write",
        source: std::io::Error::other("its items' names would take more than 4 GiB"),
    }
}

/// Writes a state file's text: the header, then one line per record, in key order.
fn write_records(out: &mut dyn Write, records: &Table, complete: bool) -> Result<()> {
    writeln!(out, "{}", if complete { HEADER } else { HEADER_PARTIAL })?;
    for (key, record) in records.iter() {
        match record.pending {
            None => write!(out, "{:016x}\t{}\t", record.hash, record.stamp)?,
            Some(p) => write!(out, "{:016x}+{p:016x}\t{}\t", record.hash, record.stamp)?,
        }
        match record.identity {
            Some(identity) => write!(out, "{identity}\t")?,
            None => write!(out, "{NO_IDENTITY}\t")?,
        }
        match record.stat {
            Some(stat) => write!(out, "{stat:016x}\t")?,
            None => write!(out, "{NO_STAT}\t")?,
        }
        out.write_all(key.as_bytes())?;
        out.write_all(b"\n")?;
    }
    writeln!(out, "{TRAILER}{}", records.len())?;
    Ok(())
}

/// Moves the unreadable state file `path` aside (`why` says what is wrong with it), so that
/// nothing it holds is lost to a save that could not merge into it: an older or newer
/// mybb-sync's state, or a damaged one, stays for the user (or that version) to take back.
/// Returns what to merge into instead: nothing, and not complete.
fn set_aside(path: &Path, why: &str) -> Result<Parsed> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = |n: u32| match n {
        0 => format!("{STATE_FILE}.unreadable-{secs}"),
        n => format!("{STATE_FILE}.unreadable-{secs}-{n}"),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut aside = dir.join(name(0));
    for n in 1..100 {
        if !aside.exists() {
            break;
        }
        aside = dir.join(name(n));
    }
    fs::rename(path, &aside)?;
    log::warn!(
        "the sync state {} is unreadable ({why}); kept as {}, and a new, partial one is written: \
         until a full export or import leaves nothing undecided, a file without a row is not \
         made a row (nothing deleted in the Admin CP comes back)",
        path.display(),
        aside.display()
    );
    Ok(Parsed::default())
}

/// Reads the state file at `path`, a line at a time (never its whole text): what file it was
/// (for a later save to know it unchanged), and its records or what is wrong with it.
fn read_file(path: &Path) -> std::io::Result<(FileId, std::result::Result<Parsed, String>)> {
    let file = fs::File::open(path)?;
    let id = FileId::of(&file.metadata()?);
    Ok((id, parse(std::io::BufReader::new(file))?))
}

/// Parses a state file, or says what is wrong with it.
fn parse(
    mut reader: impl std::io::BufRead,
) -> std::io::Result<std::result::Result<Parsed, String>> {
    let mut buf = Vec::new();
    reader.read_until(b'\n', &mut buf)?;
    let ended = buf.last() == Some(&b'\n');
    let first = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let Ok(first) = std::str::from_utf8(first) else {
        return Ok(Err("it is not text".to_owned()));
    };
    let (columns, complete) = match first {
        HEADER => (5, true),
        HEADER_PARTIAL => (5, false),
        HEADER_V2 => (4, true),
        HEADER_V2_PARTIAL => (4, false),
        HEADER_V1 => (3, true),
        _ => return Ok(Err("its first line is not a state header this version reads".to_owned())),
    };
    if !ended {
        return Ok(Err("it ends in the middle of a line".to_owned()));
    }
    let mut records = Table::default();
    // Lines out of order (a file not written by mybb-sync): gathered, then sorted.
    let mut unsorted: Option<Vec<(String, Record)>> = None;
    let mut n = 1;
    // v3 ends with its count of records (v1 and v2 were written whole, in one write).
    let mut ended = false;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Ok(Err("it ends in the middle of a line".to_owned()));
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            return Ok(Err("it is not text".to_owned()));
        };
        if ended {
            return Ok(Err(format!("line {n} follows its last line")));
        }
        if columns == 5
            && let Some(count) = line.strip_prefix(TRAILER)
        {
            let held = records.len() + unsorted.as_ref().map_or(0, Vec::len);
            if count.parse::<usize>().ok() != Some(held) {
                return Ok(Err(format!(
                    "its last line counts {count} records, not the {held} it holds"
                )));
            }
            ended = true;
            continue;
        }
        let Some((key, record)) = parse_line(line, columns) else {
            return Ok(Err(format!("line {n} is malformed")));
        };
        if let Some(all) = &mut unsorted {
            all.push((key.to_owned(), record));
            continue;
        }
        match records.push(key, &record) {
            Ok(()) => {}
            Err(table::Refused::OutOfOrder) => {
                let mut all: Vec<(String, Record)> =
                    records.iter().map(|(key, record)| (key.to_owned(), record)).collect();
                all.push((key.to_owned(), record));
                records = Table::default();
                unsorted = Some(all);
            }
            Err(table::Refused::TooBig) => return Ok(Err("it is bigger than 4 GiB".to_owned())),
        }
    }
    if columns == 5 && !ended {
        return Ok(Err("it was cut short: its last line is missing".to_owned()));
    }
    if let Some(all) = unsorted {
        match Table::from_unsorted(all) {
            Ok(table) => records = table,
            Err(_) => return Ok(Err("it is bigger than 4 GiB".to_owned())),
        }
    }
    records.shrink();
    Ok(Ok(Parsed { records, complete }))
}

/// Parses one line of a state file of `columns` columns (3: v1, 4: v2, 5: v3).
fn parse_line(line: &str, columns: usize) -> Option<(&str, Record)> {
    let mut fields = line.splitn(columns, '\t');
    let hash = fields.next()?;
    let stamp = fields.next()?;
    let identity = match columns {
        3 => None,
        _ => match fields.next()? {
            NO_IDENTITY => None,
            text => Some(Identity::parse(text)?),
        },
    };
    let hex = |h: &str| match h.len() {
        16 => u64::from_str_radix(h, 16).ok(),
        _ => None,
    };
    let stat = match columns {
        5 => match fields.next()? {
            NO_STAT => None,
            text => Some(hex(text)?),
        },
        _ => None,
    };
    let key = fields.next()?;
    if key.is_empty() {
        return None;
    }
    let (hash, pending) = match hash.split_once('+') {
        Some((hash, pending)) => (hex(hash)?, Some(hex(pending)?)),
        None => (hex(hash)?, None),
    };
    let stamp = stamp.parse().ok()?;
    Some((key, Record { hash, stamp, pending, identity, stat }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::test_support::scratch_dir("state", name)
    }

    fn plain(hash: u64, stamp: u64) -> Record {
        Record { hash, stamp, pending: None, identity: None, stat: None }
    }

    #[test]
    fn a_file_written_after_the_moment_is_not_settled_even_with_an_old_mtime() {
        // An editor or `cp -p`/`touch -r` that keeps a file's old modification time: the write
        // still moves its ctime, and a second same-size write in that tick would leave every
        // recorded time as it was, so such a file must be read again next time.
        let root = scratch("settled_ctime");
        std::fs::create_dir_all(own_dir::path(&root)).unwrap();
        std::fs::write(own_dir::path(&root).join(STATE_LOCK), "").unwrap();
        let state = State::load(&root).unwrap();
        let clock = state.clock();
        assert!(clock.0.is_some());
        let path = root.join("a.html");
        let file = std::fs::File::create(&path).unwrap();
        std::io::Write::write_all(&mut &file, b"<p>edited</p>").unwrap();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        file.set_modified(old).unwrap();
        drop(file);
        let id = FileId::of(&std::fs::symlink_metadata(&path).unwrap());
        assert!(!clock.settled(&id), "a file changed after the moment was taken as settled");
    }

    #[test]
    fn records_survive_a_save_and_a_load() {
        let root = scratch("roundtrip");
        let mut state = State::load(&root).unwrap();
        assert!(!state.trusted);
        state.set(
            "styles/Default/global.css",
            Record { hash: 7, stamp: 9, pending: Some(8), identity: None, stat: None },
        );
        state.save(false).unwrap();
        let state = State::load(&root).unwrap();
        assert!(state.trusted);
        assert_eq!(
            state.get("styles/Default/global.css"),
            Some(Record { hash: 7, stamp: 9, pending: Some(8), identity: None, stat: None })
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn concurrent_writers_keep_each_others_entries() {
        let root = scratch("merge");
        const WRITERS: u64 = 8;
        // All writers load the same state, then save at once: each save must merge what the
        // others saved meanwhile instead of replacing it. A state file there first, so that
        // each writer holds the file as it read it: only the first save may apply its change
        // to the records it loaded; every later one must see that file replaced.
        let mut first = State::load(&root).unwrap();
        first.set("base", plain(100, 100));
        first.save(false).unwrap();
        let barrier = std::sync::Barrier::new(WRITERS as usize);
        std::thread::scope(|scope| {
            for n in 0..WRITERS {
                let (root, barrier) = (&root, &barrier);
                scope.spawn(move || {
                    let mut state = State::load(root).unwrap();
                    state.set(
                        &format!("key {n}"),
                        Record { hash: n, stamp: n, pending: None, identity: None, stat: None },
                    );
                    barrier.wait();
                    state.save(false).unwrap();
                });
            }
        });
        let state = State::load(&root).unwrap();
        assert_eq!(state.get("base"), Some(plain(100, 100)));
        for n in 0..WRITERS {
            assert_eq!(
                state.get(&format!("key {n}")),
                Some(Record { hash: n, stamp: n, pending: None, identity: None, stat: None })
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
    fn a_state_file_cut_short_at_a_line_end_is_not_taken_for_a_shorter_complete_one() {
        // A crash after an unsynced rename (`--no-fsync`) may leave only the first blocks of a
        // state: each line whole, the rest gone. Taken as complete, every item past the cut
        // would have no record, and a file without a row would be made a row again.
        let root = scratch("cut_short");
        let mut state = State::load(&root).unwrap();
        for n in 1..=3 {
            state.set(&format!("key {n}"), plain(n, n));
        }
        state.complete();
        state.save(false).unwrap();
        assert!(State::load(&root).unwrap().trusted);
        let text = std::fs::read_to_string(state_path(&root)).unwrap();
        let cut = text.match_indices('\n').nth(2).map(|(at, _)| at + 1).unwrap();
        std::fs::write(state_path(&root), &text[..cut]).unwrap();
        let state = State::load(&root).unwrap();
        assert!(!state.trusted, "a state cut short was trusted: {:?}", &text[..cut]);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn an_unreadable_state_is_kept_aside_and_the_rebuilt_one_stays_partial_until_completed() {
        let root = scratch("aside");
        // A tree of files: the state was lost, not never made.
        std::fs::create_dir_all(root.join(crate::sync::layout::STYLES_DIR)).unwrap();
        std::fs::create_dir_all(own_dir::path(&root)).unwrap();
        let newer = "# mybb-sync state v3: a format of a newer version\nwhatever\n";
        std::fs::write(state_path(&root), newer).unwrap();
        let mut state = State::load(&root).unwrap();
        assert!(!state.trusted);
        state.set("a", plain(1, 1));
        state.save(false).unwrap();
        // Nothing merged into nothing: the unreadable file is kept as it was.
        let aside: Vec<_> = std::fs::read_dir(own_dir::path(&root))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("state.unreadable-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        let kept = std::fs::read_to_string(own_dir::path(&root).join(&aside[0])).unwrap();
        assert_eq!(kept, newer);
        // The rebuilt state holds this run's records, and is not trusted yet.
        assert!(!state.trusted);
        let mut state = State::load(&root).unwrap();
        assert!(!state.trusted);
        assert_eq!(state.get("a"), Some(plain(1, 1)));
        state.set("b", plain(2, 2));
        state.save(false).unwrap();
        let mut state = State::load(&root).unwrap();
        assert!(!state.trusted, "a save without a completed run keeps it partial");
        // A run that settled every item completes it, with nothing else to save.
        state.complete();
        state.save(false).unwrap();
        let state = State::load(&root).unwrap();
        assert!(state.trusted);
        assert_eq!((state.get("a"), state.get("b")), (Some(plain(1, 1)), Some(plain(2, 2))));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_completion_does_not_hold_for_a_state_another_run_wrote_meanwhile() {
        let root = scratch("completed_elsewhere");
        std::fs::create_dir_all(root.join(crate::sync::layout::STYLES_DIR)).unwrap();
        std::fs::create_dir_all(own_dir::path(&root)).unwrap();
        std::fs::write(state_path(&root), "not a state\n").unwrap();
        let mut comparing = State::load(&root).unwrap();
        // Another run rebuilds the state while this one compares every item.
        let mut other = State::load(&root).unwrap();
        other.set("theirs", plain(1, 1));
        other.save(false).unwrap();
        // This run settled every item it knew of, but recorded nothing for "theirs" nor for
        // items in sync: completing the other run's file would trust what nobody compared.
        comparing.set("mine", plain(2, 2));
        comparing.complete();
        comparing.save(false).unwrap();
        let state = State::load(&root).unwrap();
        assert!(!state.trusted, "completed a state another run wrote meanwhile");
        assert_eq!(
            (state.get("theirs"), state.get("mine")),
            (Some(plain(1, 1)), Some(plain(2, 2)))
        );
        // Nor does the refused completion hold at the next save of that run.
        comparing.set("later", plain(3, 3));
        comparing.save(false).unwrap();
        assert!(!State::load(&root).unwrap().trusted);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_pending_hash_is_saved_and_undone() {
        let root = scratch("pending");
        let mut state = State::load(&root).unwrap();
        let kept = Record { hash: 1, stamp: 1, pending: None, identity: None, stat: None };
        state.set("kept", kept);
        // A file brought back as last synced: the pending hash is the record's own.
        state.set("same", kept);
        assert_eq!(state.set_pending("kept", &plain(2, 5)), Some(kept));
        assert_eq!(state.set_pending("new", &plain(3, 5)), None);
        assert_eq!(state.set_pending("same", &plain(1, 5)), Some(kept));
        state.save(false).unwrap();
        let mut state = State::load(&root).unwrap();
        assert_eq!(
            state.get("kept"),
            Some(Record { hash: 1, stamp: 1, pending: Some(2), identity: None, stat: None })
        );
        assert_eq!(
            state.get("new"),
            Some(Record { hash: 3, stamp: 5, pending: Some(3), identity: None, stat: None })
        );
        state.unset_pending("kept", Some(kept));
        state.unset_pending("new", None);
        state.unset_pending("same", Some(kept));
        assert_eq!(state.get("kept"), Some(kept));
        assert_eq!(state.get("new"), None);
        // Kept: seen dropped, as if new to this run, which made the item look never synced.
        assert_eq!(state.get("same"), Some(kept));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn the_hash_tells_contents_apart() {
        assert_eq!(content_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(content_hash(b"ab"), content_hash(b"ba"));
    }

    #[test]
    fn identities_survive_a_save_and_a_load() {
        let root = scratch("identity");
        let mut state = State::load(&root).unwrap();
        let identities = [
            Identity { owner: Owner::Set(1), row: Some(512) },
            Identity { owner: Owner::Set(-1), row: None },
            Identity { owner: Owner::Theme(2), row: Some(9) },
            Identity { owner: Owner::Theme(3), row: None },
        ];
        for (n, identity) in identities.iter().enumerate() {
            let record = Record { identity: Some(*identity), ..plain(n as u64, 1) };
            state.set(&format!("key\t{n}"), record);
        }
        state.set("none", plain(7, 1));
        state.save(false).unwrap();
        let text = std::fs::read_to_string(state_path(&root)).unwrap();
        assert!(
            text.contains("\ts1/512\t-\tkey\t0\n") && text.contains("\tt3\t-\tkey\t3\n"),
            "{text}"
        );
        let state = State::load(&root).unwrap();
        for (n, identity) in identities.iter().enumerate() {
            let record = state.get(&format!("key\t{n}")).unwrap();
            assert_eq!(record.identity, Some(*identity));
        }
        assert_eq!(state.get("none"), Some(plain(7, 1)));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_state_of_the_previous_format_is_read_without_identities_and_saved_with_them() {
        let root = scratch("v1");
        std::fs::create_dir_all(own_dir::path(&root)).unwrap();
        let v1 = format!(
            "{HEADER_V1}\n0000000000000001\t5\tstyles/Default/a.css\n\
             0000000000000002+0000000000000003\t6\ttemplate_sets/S/x.html\n"
        );
        std::fs::write(state_path(&root), v1).unwrap();
        let mut state = State::load(&root).unwrap();
        assert!(state.trusted);
        assert_eq!(state.get("styles/Default/a.css"), Some(plain(1, 5)));
        assert_eq!(
            state.get("template_sets/S/x.html"),
            Some(Record { pending: Some(3), ..plain(2, 6) })
        );
        let identity = Identity { owner: Owner::Theme(2), row: Some(4) };
        state.set("styles/Default/a.css", Record { identity: Some(identity), ..plain(1, 5) });
        state.save(false).unwrap();
        let text = std::fs::read_to_string(state_path(&root)).unwrap();
        assert!(text.starts_with(HEADER), "{text}");
        assert!(text.contains("\t6\t-\t-\ttemplate_sets/S/x.html\n"), "{text}");
        let state = State::load(&root).unwrap();
        assert_eq!(state.get("styles/Default/a.css").unwrap().identity, Some(identity));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_state_of_format_v2_is_read_without_file_stats_and_saved_as_v3() {
        let root = scratch("v2");
        std::fs::create_dir_all(own_dir::path(&root)).unwrap();
        // As mybb-sync wrote v2 (its headers spelled out, not taken from the constants).
        for (header, trusted) in [
            (
                "# mybb-sync state v2: hash, database stamp, identity, item. Written by mybb-sync; \
                 do not edit.",
                true,
            ),
            (
                "# mybb-sync state v2, partial (rebuilt; trusted once a full export or import \
                 completes it): hash, database stamp, identity, item. Written by mybb-sync; do \
                 not edit.",
                false,
            ),
        ] {
            let v2 = format!(
                "{header}\n0000000000000001\t5\tt2/4\tstyles/Default/a.css\n\
                 0000000000000002+0000000000000003\t6\t-\ttemplate_sets/S/x\ty.html\n"
            );
            std::fs::write(state_path(&root), v2).unwrap();
            let mut state = State::load(&root).unwrap();
            assert_eq!(state.trusted, trusted, "{header}");
            let identity = Some(Identity { owner: Owner::Theme(2), row: Some(4) });
            assert_eq!(state.get("styles/Default/a.css"), Some(Record { identity, ..plain(1, 5) }));
            assert_eq!(
                state.get("template_sets/S/x\ty.html"),
                Some(Record { pending: Some(3), ..plain(2, 6) })
            );
            state.set("styles/Default/a.css", Record { identity, stat: Some(9), ..plain(1, 5) });
            state.save(false).unwrap();
            let text = std::fs::read_to_string(state_path(&root)).unwrap();
            let expected = if trusted { HEADER } else { HEADER_PARTIAL };
            assert!(text.starts_with(&format!("{expected}\n")), "{text}");
            assert!(text.contains("\tt2/4\t0000000000000009\tstyles/Default/a.css\n"), "{text}");
            assert!(text.contains("\t6\t-\t-\ttemplate_sets/S/x\ty.html\n"), "{text}");
            let state = State::load(&root).unwrap();
            assert_eq!(state.get("styles/Default/a.css").unwrap().stat, Some(9));
        }
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_save_merges_what_another_run_saved_after_this_one_loaded_or_saved() {
        let root = scratch("interleaved");
        let mut mine = State::load(&root).unwrap();
        mine.set("b", plain(1, 1));
        mine.save(false).unwrap();
        let mut theirs = State::load(&root).unwrap();
        theirs.set("a", plain(2, 2));
        theirs.set("b", plain(3, 3));
        theirs.save(false).unwrap();
        // Mine knows the file it wrote is no longer there: it merges into theirs.
        mine.set("c", plain(4, 4));
        mine.save(false).unwrap();
        assert_eq!(
            (mine.get("a"), mine.get("b"), mine.get("c")),
            (Some(plain(2, 2)), Some(plain(3, 3)), Some(plain(4, 4)))
        );
        let state = State::load(&root).unwrap();
        assert_eq!(state.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_record_holds_no_content_and_stays_small() {
        // What a watcher or an export holds per item: hashes, stamps, ids, never the text.
        assert!(std::mem::size_of::<Record>() <= 80, "{}", std::mem::size_of::<Record>());
    }

    #[test]
    fn a_record_is_the_base_only_of_a_row_of_its_owner_and_own_row() {
        let id = |owner, row| Identity { owner, row };
        let set = |row| id(Owner::Set(1), row);
        assert!(set(Some(5)).admits(set(Some(5))));
        // A copy-on-write since, or a revert: the same item.
        assert!(set(None).admits(set(Some(5))));
        assert!(set(Some(5)).admits(set(None)));
        // The set made again, or the row deleted and made again: a new item.
        assert!(!set(Some(5)).admits(id(Owner::Set(2), Some(5))));
        assert!(!set(None).admits(id(Owner::Set(2), None)));
        assert!(!set(Some(5)).admits(set(Some(6))));
        assert!(!id(Owner::Theme(1), None).admits(set(None)));
        for bad in ["", "s", "x1", "s1/", "s1/-2", "t-1", "s1/2/3"] {
            assert_eq!(Identity::parse(bad), None, "{bad:?}");
        }
    }
}
