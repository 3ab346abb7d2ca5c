//! The baseline: the master templates mybb-sync last saw, kept so an upgrade can be merged.
//!
//! MyBB's upgrade overwrites the master templates (sid -2); every custom copy keeps the old
//! markup, and the old master, the base a three-way merge needs, is gone from the database.
//! So mybb-sync keeps its own copy of the masters, in `.mybb-sync/baseline/masters` under the
//! sync root, and for each custom copy (set rows and global rows) which master content it was
//! made from. [`Baseline::refresh`] runs whenever the masters may have changed (`export`, a
//! watcher's pull, the upgrade commands), and records each copy's base *before* it adds the new
//! master: the master it saw last is what the copies were made from.
//!
//! The file is written only through the atomic writer. Its format is mybb-sync's own:
//! length-prefixed records (any bytes may stand in a template), one header line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::disk::atomic;
use crate::error::{Error, Result};
use crate::mybb::board::MASTER_SID;
use crate::mybb::db::{Db, VersionedTemplate};
use crate::sync::state::content_hash;

/// mybb-sync's own folder in the sync root (hidden, outside both layouts, so never an item).
pub use crate::sync::own_dir::OWN_DIR;
/// The baseline file, relative to the sync root.
pub const BASELINE_FILE: &str = ".mybb-sync/baseline/masters";
/// The first line of a baseline file.
const HEADER: &[u8] =
    b"mybb-sync baseline v1: master templates and the base of each custom copy; do not edit\n";

/// One master template as mybb-sync saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// The master row's `version` then.
    pub version: String,
    pub content: Vec<u8>,
}

impl MasterEntry {
    fn hash(&self) -> u64 {
        content_hash(&self.content)
    }
}

/// The master content one custom copy was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CopyBase {
    /// The copy's row: a copy deleted and made again is a new copy, with a new base.
    tid: u32,
    /// [`content_hash`] of the master entry it was made from.
    master: u64,
}

/// The baseline of one sync root.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    path: PathBuf,
    /// Whether a baseline file existed (or was created by [`Baseline::refresh`]).
    pub exists: bool,
    /// The database's [`Db::templates_digest`] when last refreshed.
    digest: String,
    /// Per title, the distinct master contents seen, oldest first: the last is the newest.
    masters: BTreeMap<String, Vec<MasterEntry>>,
    /// Per custom copy, `(sid, title)`, what it was made from.
    bases: BTreeMap<(i32, String), CopyBase>,
}

impl Baseline {
    /// Loads the baseline of sync root `root`; an empty one if there is none yet. A damaged
    /// file is an error naming it: guessing merge bases from half a file could merge wrongly.
    pub fn load(root: &Path) -> Result<Baseline> {
        let path = root.join(BASELINE_FILE);
        refuse_link(&path)?;
        let mut baseline = Baseline { path: path.clone(), ..Baseline::default() };
        match fs::read(&path) {
            Ok(bytes) => {
                parse(&bytes, &mut baseline).map_err(|why| Error::Data {
                    what: format!(
                        "the baseline {} is damaged ({why}); delete it, and give merge the old \
                         release's theme file with --base FILE.xml",
                        path.display()
                    ),
                })?;
                baseline.exists = true;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(baseline)
    }

    /// Returns the newest master content seen for `title`.
    pub fn latest(&self, title: &str) -> Option<&MasterEntry> {
        self.masters.get(title).and_then(|entries| entries.last())
    }

    /// Returns every master content kept for `title`, oldest first (the last is the newest):
    /// the older ones are those some custom copy was made from (`check`'s upgrade rule).
    pub fn history(&self, title: &str) -> Option<&[MasterEntry]> {
        self.masters.get(title).map(Vec::as_slice)
    }

    /// Returns the master content custom copy `copy` was made from, if known.
    pub fn base_of(&self, copy: &VersionedTemplate) -> Option<&MasterEntry> {
        let base = self.bases.get(&(copy.sid, copy.title.clone()))?;
        if base.tid != copy.tid {
            return None;
        }
        self.masters.get(&copy.title)?.iter().find(|e| e.hash() == base.master)
    }

    /// Records that custom copy `copy` now builds on `master` (after a merge wrote it).
    pub fn set_base(&mut self, copy: &VersionedTemplate, master: &VersionedTemplate) {
        let entry =
            MasterEntry { version: master.version.clone(), content: master.template.clone() };
        let hash = entry.hash();
        let entries = self.masters.entry(master.title.clone()).or_default();
        if !entries.iter().any(|e| e.hash() == hash) {
            entries.push(entry);
        }
        self.bases.insert((copy.sid, copy.title.clone()), CopyBase { tid: copy.tid, master: hash });
    }

    /// Forgets custom copy `(sid, title)` (after a revert deleted it).
    pub fn forget(&mut self, sid: i32, title: &str) {
        self.bases.remove(&(sid, title.to_owned()));
    }

    /// Brings the baseline up to date with the database, and saves it if anything changed.
    /// Cheap when nothing did: one digest query. When it changed, returns every template row
    /// it read ([`Db::versioned_templates`]), for a caller that needs them next to read none.
    pub fn refresh(&mut self, db: &Db, durable: bool) -> Result<Option<Vec<VersionedTemplate>>> {
        let read = self.catch_up(db, true)?;
        if read.is_some() {
            self.save(durable)?;
        }
        Ok(read)
    }

    /// [`Baseline::refresh`] but for the save: returns the rows read, if it changed; with
    /// `set_bodies` false, the sets' rows without their bodies ([`Db::template_versions`]).
    fn catch_up(&mut self, db: &Db, set_bodies: bool) -> Result<Option<Vec<VersionedTemplate>>> {
        let digest = db.templates_digest()?;
        if self.exists && digest == self.digest {
            return Ok(None);
        }
        let rows = if set_bodies { db.versioned_templates()? } else { db.template_versions()? };
        let outdated: HashSet<u32> = db.find_updated()?.into_iter().collect();
        self.update(&rows, &outdated);
        self.digest = digest;
        Ok(Some(rows))
    }

    /// The pure part of [`Baseline::refresh`]: `rows` are every master and custom row by tid,
    /// `outdated` the tids MyBB's Find Updated query lists.
    ///
    /// A copy seen for the first time gets its base before the new master is added: the
    /// newest master seen so far when that still is the master, or when the master changed
    /// since, that older one, unless the master's version moved and MyBB's version check says
    /// the copy is not older than it (a copy made after the upgrade). With no master seen so
    /// far (a first export), only a copy MyBB does not call outdated is known to build on the
    /// current master; the others get no base (`merge --base FILE.xml` supplies one). The same
    /// holds for a copy first seen later that MyBB calls older than the master it sees.
    fn update(&mut self, rows: &[VersionedTemplate], outdated: &HashSet<u32>) {
        let mut masters: HashMap<&str, &VersionedTemplate> = HashMap::new();
        let mut copies: BTreeMap<(i32, &str), &VersionedTemplate> = BTreeMap::new();
        for row in rows {
            if row.sid == MASTER_SID {
                masters.insert(&row.title, row);
            } else {
                copies.insert((row.sid, &row.title), row);
            }
        }
        let mut bases = BTreeMap::new();
        for ((sid, title), copy) in &copies {
            let Some(master) = masters.get(title) else { continue };
            let key = (*sid, (*title).to_owned());
            if let Some(known) = self.bases.get(&key)
                && known.tid == copy.tid
                && self
                    .masters
                    .get(*title)
                    .is_some_and(|e| e.iter().any(|e| e.hash() == known.master))
            {
                bases.insert(key, *known);
                continue;
            }
            let current = content_hash(&master.template);
            let listed = outdated.contains(&copy.tid);
            let base = match self.latest(title) {
                // The master changed since it was last seen.
                Some(seen) if seen.hash() != current => {
                    if seen.version != master.version && !listed {
                        Some(current)
                    } else {
                        Some(seen.hash())
                    }
                }
                // The master is the one last seen (or none was): a copy MyBB calls older than
                // it was made from some earlier master, which the baseline never saw.
                _ if listed => None,
                _ => Some(current),
            };
            if let Some(base) = base {
                bases.insert(key, CopyBase { tid: copy.tid, master: base });
            }
        }
        // Now the new masters: each title keeps its newest entry and those a copy builds on.
        let referenced: HashSet<(&str, u64)> =
            bases.iter().map(|((_, title), base)| (title.as_str(), base.master)).collect();
        let mut kept: BTreeMap<String, Vec<MasterEntry>> = BTreeMap::new();
        for (title, master) in &masters {
            let mut entries: Vec<MasterEntry> = self
                .masters
                .remove(*title)
                .unwrap_or_default()
                .into_iter()
                .filter(|e| referenced.contains(&(*title, e.hash())))
                .collect();
            let current =
                MasterEntry { version: master.version.clone(), content: master.template.clone() };
            // Hashed only to drop an older entry of the same content: a first export has none
            // (issue 16: a pass over 600 KB).
            if !entries.is_empty() {
                let hash = current.hash();
                entries.retain(|e| e.hash() != hash);
            }
            entries.push(current);
            kept.insert((*title).to_owned(), entries);
        }
        self.masters = kept;
        self.bases = bases;
        self.exists = true;
    }

    /// Writes the baseline atomically, creating `.mybb-sync/` (with a `.gitignore` of `*`, so
    /// a sync root kept in git does not commit mybb-sync's own files) when it is missing.
    pub fn save(&self, durable: bool) -> Result<()> {
        let Some(dir) = self.path.parent() else { return Ok(()) };
        // The sync root's own folder, with its `.gitignore` (and a refusal of a link there).
        if let Some(root) = dir.parent().and_then(Path::parent) {
            crate::sync::own_dir::ensure(root)?;
        }
        refuse_link(&self.path)?;
        fs::create_dir_all(dir)?;
        atomic::write_file(&self.path, &self.to_bytes(), durable)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let size: usize = self.masters.values().flatten().map(|e| e.content.len() + 80).sum();
        let mut out = Vec::with_capacity(size + 64 * self.bases.len() + 256);
        out.extend_from_slice(HEADER);
        out.extend_from_slice(format!("digest {}\n", self.digest).as_bytes());
        for (title, entries) in &self.masters {
            for e in entries {
                let line = format!("M {} {} {}\n", e.version.len(), title.len(), e.content.len());
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(e.version.as_bytes());
                out.extend_from_slice(title.as_bytes());
                out.extend_from_slice(&e.content);
                out.push(b'\n');
            }
        }
        for ((sid, title), base) in &self.bases {
            let line = format!("B {sid} {} {:016x} {}\n", base.tid, base.master, title.len());
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(title.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Returns how many master contents the baseline holds, and their bytes.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.masters.values().flatten();
        entries.fold((0, 0), |(n, bytes), e| (n + 1, bytes + e.content.len()))
    }
}

/// Refreshes the baseline of sync root `root`, for `export` and the watcher's pulls, and
/// returns the template rows it read, if it read them, the sets' rows without their bodies
/// (see [`Db::template_versions`]). A damaged baseline is warned about and left as it is
/// (rewriting it would lose the bases it holds); database and disk errors are the caller's.
pub fn keep_up(db: &Db, root: &Path, durable: bool) -> Result<Option<Vec<VersionedTemplate>>> {
    let (read, unsaved) = catch_up(db, root)?;
    if let Some(baseline) = unsaved {
        baseline.save(durable)?;
    }
    Ok(read)
}

/// [`keep_up`] without the save: returns the rows read and the baseline to save, if it changed
/// (see [`save_meanwhile`]).
pub fn catch_up(
    db: &Db,
    root: &Path,
) -> Result<(Option<Vec<VersionedTemplate>>, Option<Baseline>)> {
    let mut baseline = match Baseline::load(root) {
        Ok(baseline) => baseline,
        Err(Error::Data { what }) => {
            log::warn!("{what}");
            return Ok((None, None));
        }
        Err(e) => return Err(e),
    };
    // The sets' rows without their bodies: the baseline needs only their tids, and the
    // planner only the masters and global rows (issue 32).
    let Some(read) = baseline.catch_up(db, false)? else { return Ok((None, None)) };
    log::debug!("baseline of the master templates updated in {}", root.display());
    // The own folder now, on this thread: its making moves an old root's files in, which must
    // not happen while the caller reads them.
    crate::sync::own_dir::ensure(root)?;
    Ok((Some(read), Some(baseline)))
}

/// Saves `baseline` (if any) on a thread of its own while this one does `work` (issue 16: its
/// 600 KB and their syncs cost a first export 2 ms, and planning needs no disk writes), and
/// returns what `work` returned and how the save went, both done. Without a thread to be had,
/// saves first, then works.
pub fn save_meanwhile<T>(
    baseline: Option<&Baseline>,
    durable: bool,
    work: impl FnOnce() -> T,
) -> (T, Result<()>) {
    let Some(baseline) = baseline else { return (work(), Ok(())) };
    std::thread::scope(|scope| {
        let saver = std::thread::Builder::new().name("baseline".into());
        match saver.spawn_scoped(scope, || baseline.save(durable)) {
            Ok(saving) => {
                let done = work();
                let saved = saving.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (done, saved)
            }
            Err(_) => {
                let saved = baseline.save(durable);
                (work(), saved)
            }
        }
    })
}

/// Saves `baseline` (if any) on a thread of its own while this one does `work`, as
/// [`save_meanwhile`] does, for work that plans and writes part by part: `work` is given a
/// function that waits for the save and returns how it went, to call before its first write
/// (the baseline is on disk before any file is replaced); later calls return Ok at once.
pub fn save_during<T>(
    baseline: Option<&Baseline>,
    durable: bool,
    work: impl FnOnce(&mut dyn FnMut() -> Result<()>) -> Result<T>,
) -> Result<T> {
    let Some(baseline) = baseline else { return work(&mut || Ok(())) };
    std::thread::scope(|scope| {
        let saver = std::thread::Builder::new().name("baseline".into());
        let mut saving = match saver.spawn_scoped(scope, || baseline.save(durable)) {
            Ok(saving) => Some(saving),
            Err(_) => {
                baseline.save(durable)?;
                None
            }
        };
        let mut saved = move || match saving.take() {
            Some(saving) => saving.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(()),
        };
        let done = work(&mut saved);
        saved()?;
        done
    })
}

/// Refuses a baseline file, or its folder, that is a symbolic link: mybb-sync's own files are
/// never read or written through one (`.mybb-sync` itself is checked by `own_dir`).
fn refuse_link(path: &Path) -> Result<()> {
    for at in [path.parent(), Some(path)].into_iter().flatten() {
        if std::fs::symlink_metadata(at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::usage(format!(
                "{} is a symbolic link; mybb-sync keeps its own files there and never reads or \
                 writes through a link: remove it",
                at.display()
            )));
        }
    }
    Ok(())
}

/// Reads a baseline file into `baseline`, or says what is wrong with it.
fn parse(bytes: &[u8], baseline: &mut Baseline) -> std::result::Result<(), String> {
    let mut rest = bytes.strip_prefix(HEADER).ok_or("its first line is not the baseline header")?;
    let line = |rest: &mut &[u8]| -> std::result::Result<String, String> {
        let end = rest.iter().position(|&b| b == b'\n').ok_or("it ends in the middle of a line")?;
        let text = std::str::from_utf8(&rest[..end]).map_err(|_| "a record line is not text")?;
        *rest = &rest[end + 1..];
        Ok(text.to_owned())
    };
    let take = |rest: &mut &[u8], n: usize| -> std::result::Result<Vec<u8>, String> {
        if rest.len() < n {
            return Err("a record is cut off".to_owned());
        }
        let (taken, tail) = rest.split_at(n);
        *rest = tail;
        Ok(taken.to_vec())
    };
    let digest = line(&mut rest)?;
    baseline.digest = digest.strip_prefix("digest ").ok_or("no digest line")?.to_owned();
    while !rest.is_empty() {
        let header = line(&mut rest)?;
        let fields: Vec<&str> = header.split(' ').collect();
        let number = |s: &str| s.parse::<usize>().map_err(|_| format!("bad record {header:?}"));
        let utf8 = |b: Vec<u8>| String::from_utf8(b).map_err(|_| format!("bad record {header:?}"));
        match fields.as_slice() {
            ["M", version, title, content] => {
                let version = utf8(take(&mut rest, number(version)?)?)?;
                let title = utf8(take(&mut rest, number(title)?)?)?;
                let content = take(&mut rest, number(content)?)?;
                if take(&mut rest, 1)? != b"\n" {
                    return Err(format!("record {header:?} does not end its line"));
                }
                baseline.masters.entry(title).or_default().push(MasterEntry { version, content });
            }
            ["B", sid, tid, master, title] => {
                let bad = || format!("bad record {header:?}");
                let sid: i32 = sid.parse().map_err(|_| bad())?;
                let tid: u32 = tid.parse().map_err(|_| bad())?;
                let master = u64::from_str_radix(master, 16).map_err(|_| bad())?;
                let title = utf8(take(&mut rest, number(title)?)?)?;
                if take(&mut rest, 1)? != b"\n" {
                    return Err(format!("record {header:?} does not end its line"));
                }
                baseline.bases.insert((sid, title), CopyBase { tid, master });
            }
            _ => return Err(format!("unknown record {header:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tid: u32, sid: i32, title: &str, version: &str, body: &str) -> VersionedTemplate {
        VersionedTemplate {
            tid,
            sid,
            title: title.into(),
            version: version.into(),
            template: body.into(),
            dateline: 0,
        }
    }

    fn base(b: &Baseline, copy: &VersionedTemplate) -> Option<String> {
        b.base_of(copy).map(|e| String::from_utf8(e.content.clone()).unwrap())
    }

    #[test]
    fn a_baseline_saved_meanwhile_is_on_disk_when_the_work_is_done() {
        let root = crate::test_support::scratch_dir("baseline", "meanwhile");
        let mut b = Baseline::load(&root).unwrap();
        b.update(&[row(1, -2, "header", "1837", "master")], &HashSet::new());
        let (done, saved) = save_meanwhile(Some(&b), false, || 42);
        assert_eq!(done, 42);
        saved.unwrap();
        let again = Baseline::load(&root).unwrap();
        assert_eq!(again.latest("header").unwrap().content, b"master");
        // Nothing to save: only the work.
        let (done, saved) = save_meanwhile(None, false, || "worked");
        assert_eq!((done, saved.is_ok()), ("worked", true));
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_copy_keeps_the_master_it_was_made_from_across_an_upgrade() {
        let mut b = Baseline::default();
        let copy = row(10, 1, "header", "1826", "old\nmine");
        b.update(&[row(1, -2, "header", "1824", "old"), copy.clone()], &HashSet::new());
        assert_eq!(base(&b, &copy).as_deref(), Some("old"));
        // The upgrade: a new master, and MyBB's query lists the copy.
        let outdated = HashSet::from([10]);
        b.update(&[row(1, -2, "header", "1837", "new"), copy.clone()], &outdated);
        assert_eq!(base(&b, &copy).as_deref(), Some("old"));
        assert_eq!(b.latest("header").unwrap().content, b"new");
        // After a merge, the copy builds on the new master; the old one is no longer kept.
        let merged = row(10, 1, "header", "1837", "new\nmine");
        b.set_base(&merged, &row(1, -2, "header", "1837", "new"));
        b.update(&[row(1, -2, "header", "1837", "new"), merged.clone()], &HashSet::new());
        assert_eq!(base(&b, &merged).as_deref(), Some("new"));
        assert_eq!(b.size(), (1, 3));
    }

    #[test]
    fn a_copy_first_seen_after_an_upgrade_gets_the_old_master_only_if_it_predates_it() {
        let mut b = Baseline::default();
        b.update(
            &[row(1, -2, "a", "1824", "old a"), row(2, -2, "b", "1824", "old b")],
            &HashSet::new(),
        );
        // Both masters changed; copy 10 was made before the upgrade (MyBB lists it), copy 11
        // after it (version 1837, not listed).
        let before = row(10, 1, "a", "1826", "custom a");
        let after = row(11, 1, "b", "1837", "custom b");
        let rows = [
            row(1, -2, "a", "1837", "new a"),
            row(2, -2, "b", "1837", "new b"),
            before.clone(),
            after.clone(),
        ];
        b.update(&rows, &HashSet::from([10]));
        assert_eq!(base(&b, &before).as_deref(), Some("old a"));
        assert_eq!(base(&b, &after).as_deref(), Some("new b"));
    }

    #[test]
    fn a_master_changed_without_a_new_version_still_counts() {
        let mut b = Baseline::default();
        let copy = row(10, 1, "myplugin_box", "1837", "custom");
        b.update(&[row(1, -2, "myplugin_box", "1", "v1"), copy.clone()], &HashSet::new());
        b.update(&[row(1, -2, "myplugin_box", "1", "v2"), copy.clone()], &HashSet::new());
        assert_eq!(base(&b, &copy).as_deref(), Some("v1"));
    }

    #[test]
    fn without_a_baseline_an_outdated_copy_has_no_base_and_a_current_one_the_master() {
        let mut b = Baseline::default();
        let old = row(10, 1, "a", "1826", "custom a");
        let new = row(11, -1, "b", "1837", "custom b");
        let rows = [
            row(1, -2, "a", "1837", "new a"),
            row(2, -2, "b", "1837", "new b"),
            old.clone(),
            new.clone(),
        ];
        b.update(&rows, &HashSet::from([10]));
        assert_eq!(base(&b, &old), None);
        assert_eq!(base(&b, &new).as_deref(), Some("new b"));
    }

    #[test]
    fn an_outdated_copy_without_a_base_does_not_get_the_current_master_later() {
        let mut b = Baseline::default();
        let old = row(10, 1, "a", "1826", "custom a");
        let master = row(1, -2, "a", "1837", "new a");
        b.update(&[master.clone(), old.clone()], &HashSet::from([10]));
        // Something else changed (another copy appeared): the first copy is still unknown.
        let other = row(11, 1, "b", "1837", "custom b");
        b.update(&[master, row(2, -2, "b", "1837", "b"), old.clone(), other], &HashSet::from([10]));
        assert_eq!(base(&b, &old), None);
    }

    #[test]
    fn a_copy_made_again_after_a_revert_is_a_new_copy() {
        let mut b = Baseline::default();
        let copy = row(10, 1, "a", "1826", "x");
        b.update(&[row(1, -2, "a", "1824", "old"), copy.clone()], &HashSet::new());
        let again = row(12, 1, "a", "1837", "y");
        b.update(&[row(1, -2, "a", "1837", "new"), again.clone()], &HashSet::new());
        assert_eq!(base(&b, &again).as_deref(), Some("new"));
        assert_eq!(base(&b, &copy), None);
    }

    #[test]
    fn the_file_round_trips_any_bytes_and_a_damaged_one_is_an_error() {
        let root = crate::test_support::scratch_dir("baseline", "roundtrip");
        let mut b = Baseline::load(&root).unwrap();
        assert!(!b.exists);
        let copy = row(10, 1, "we ird\ntitle", "1826", "x");
        b.update(
            &[row(1, -2, "we ird\ntitle", "18 24", "M 1 2 3\n\0\r\n"), copy.clone()],
            &HashSet::new(),
        );
        b.digest = "1:2:3".into();
        b.save(false).unwrap();
        assert_eq!(std::fs::read(root.join(".mybb-sync/.gitignore")).unwrap(), b"*\n");
        let loaded = Baseline::load(&root).unwrap();
        assert!(loaded.exists);
        assert_eq!(loaded.digest, "1:2:3");
        assert_eq!(loaded.masters, b.masters);
        assert_eq!(loaded.bases, b.bases);
        let path = root.join(BASELINE_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let err = Baseline::load(&root).unwrap_err().to_string();
        assert!(err.contains("is damaged"), "{err}");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_linked_baseline_folder_is_never_read_nor_written_through() {
        let root = crate::test_support::scratch_dir("baseline", "linked");
        let elsewhere = root.join("elsewhere");
        std::fs::create_dir_all(root.join(".mybb-sync")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join(".mybb-sync/baseline")).unwrap();
        let err = Baseline::load(&root).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let b = Baseline { path: root.join(BASELINE_FILE), ..Baseline::default() };
        let err = b.save(false).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(root);
    }
}
