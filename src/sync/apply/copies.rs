//! The database's copies of conflicted files (`header.db.html` beside `header.html`): where
//! a conflict's copy goes, which copies mybb-sync wrote (recorded in the state) and so may
//! replace, or remove once their item is in sync again, and which hold edits of the user's,
//! never touched (issue 26).

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::disk::atomic::{self, Seen};
use crate::sync::layout::conflict_copy_path;
use crate::sync::state::{Record, State, content_hash};

/// Returns true if and only if `path` names a conflict copy.
pub(super) fn is_copy(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(crate::sync::layout::is_conflict_copy)
}

/// How many database copies one item may have beside its file: the first, then one for each
/// conflict while the earlier copies hold edits of the user's.
pub(super) const MAX_COPIES: usize = 20;

/// Returns the path of the `n`th database copy of the file `path` (from 1): `header.db.html`,
/// then `header.2.db.db.html`, `header.3.db.db.html`. A later name is one the planner ignores
/// (it ends like a copy) and that no item's first copy can take: it would be the copy of
/// `header.2.db.html`, itself a copy's name, never an item's file.
pub(super) fn nth_copy_path(path: &Path, n: usize) -> PathBuf {
    if n <= 1 {
        return conflict_copy_path(path);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{n}.db.db.{ext}"),
        _ => format!("{name}.{n}.db.db"),
    };
    path.with_file_name(copy)
}

/// Returns the state key under which the content of conflict copy `copy` is recorded as
/// written by mybb-sync: its path relative to the sync root, which no item's key can be (an
/// item's key names no group folder, and no item's file is named like a copy).
pub(super) fn copy_key(config: &Config, copy: &Path) -> String {
    let relative = copy.strip_prefix(&config.sync_root).unwrap_or(copy);
    relative.to_string_lossy().into_owned()
}

/// Returns the state record of a conflict copy holding content that hashes to `hash`.
pub(super) fn copy_record(hash: u64) -> Record {
    Record { hash, stamp: 0, pending: None, identity: None, stat: None }
}

/// What is at a conflict copy's path, as far as mybb-sync may touch it.
enum AtCopy {
    /// Nothing.
    Absent,
    /// A file holding content that hashes to `.0`, seen as `.1` before it was read.
    File(u64, Seen),
    /// A link, a folder, or a file that changed while it was read: never touched.
    Other,
}

/// Returns what is at `copy`: a link is never followed, and a file is read only while it
/// stays as it was seen.
fn look_at_copy(copy: &Path) -> AtCopy {
    let seen = atomic::seen_at(copy);
    let Seen::File(_) = seen else { return AtCopy::Absent };
    match std::fs::symlink_metadata(copy) {
        Ok(meta) if meta.file_type().is_file() => {}
        _ => return AtCopy::Other,
    }
    match std::fs::read(copy) {
        Ok(bytes) if atomic::seen_at(copy) == seen => AtCopy::File(content_hash(&bytes), seen),
        _ => AtCopy::Other,
    }
}

/// Where a conflict's database copy goes.
pub(super) enum Placed {
    /// Written to this path, if what is there is still as seen (compare-and-swap).
    Write(PathBuf, Seen),
    /// This copy already holds the database's version.
    Already(PathBuf),
    /// Every copy's place holds edits of the user's: why nothing is written.
    NoRoom(String),
}

/// Returns where the database's version (hashing to `hash`) of the conflicted file `path`
/// goes: its copy, if absent, already holding it, or as mybb-sync wrote it (its content is
/// recorded in `state`); else, as the copy holds edits of the user's, which are never
/// overwritten (issue 26), the next copy's place that is free or ours.
pub(super) fn place_copy(config: &Config, state: &State, path: &Path, hash: u64) -> Placed {
    for n in 1..=MAX_COPIES {
        let copy = nth_copy_path(path, n);
        match look_at_copy(&copy) {
            AtCopy::Absent => return Placed::Write(copy, Seen::Absent),
            AtCopy::File(there, _) if there == hash => return Placed::Already(copy),
            AtCopy::File(there, seen)
                if state.get(&copy_key(config, &copy)).is_some_and(|r| r.hash == there) =>
            {
                return Placed::Write(copy, seen);
            }
            AtCopy::File(..) | AtCopy::Other => {}
        }
    }
    Placed::NoRoom(format!(
        "its {MAX_COPIES} database copies all hold edits of yours: the database's version is \
         not written (merge and remove them)"
    ))
}

/// Removes a database copy of a former conflict, once the item is in sync again, if it is as
/// mybb-sync wrote it: a copy edited since (or from before copies were recorded) is the user's,
/// kept (issue 26).
pub(super) fn remove_conflict_copy(config: &Config, state: &mut State, path: &Path, copy: &Path) {
    let key = copy_key(config, copy);
    let ours = match look_at_copy(copy) {
        AtCopy::Absent => {
            state.forget(&key);
            return;
        }
        AtCopy::File(there, _) => state.get(&key).is_some_and(|r| r.hash == there),
        AtCopy::Other => false,
    };
    if !ours {
        log::debug!("{}: edited since it was written; kept", config.shown(copy));
        return;
    }
    match std::fs::remove_file(copy) {
        Ok(()) => {
            state.forget(&key);
            log::info!("{}: conflict resolved; removed {}", config.shown(path), config.shown(copy))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => state.forget(&key),
        Err(e) => log::warn!("cannot remove {}: {e}", config.shown(copy)),
    }
}
