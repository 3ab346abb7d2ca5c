//! Reading an item's file for the planner: only once its size and time held still across the
//! read, never through a link, and with what was there ([`Seen`]) for the writer's
//! compare-and-swap.

use std::path::Path;

use crate::disk::atomic::{self, FileId, Seen};
use crate::sync::state::{Record, State};
use crate::sync::validate::ItemKind;

use super::sides::DbSide;

/// Returns the record and the file's identity of the item `key` at `path` if it is known in
/// sync without reading it: the state recorded the file's size and times when a comparison
/// last found it holding what the record says ([`Record::stat`]), they are the same now (one
/// `lstat`), and the database still renders that content (`db_hash`) for the same row. A
/// theme file (compared in its canonical form) and anything else is read as before: this only
/// spares reading what cannot have changed, and never trusts content without the database's
/// word for it (issue 32).
pub(super) fn known_unchanged(
    state: &State,
    key: &str,
    db: &DbSide,
    db_hash: Option<u64>,
    path: &Path,
) -> Option<((String, Record), Seen)> {
    if db.kind == ItemKind::Theme {
        return None;
    }
    let record = state.get(key)?;
    let stat = record.stat?;
    if record.pending.is_some() || record.is_tombstone() || db_hash != Some(record.hash) {
        return None;
    }
    if let (Some(then), Some(now)) = (record.identity, db.identity)
        && !then.admits(now)
    {
        return None;
    }
    let meta = std::fs::symlink_metadata(path).ok().filter(|m| m.file_type().is_file())?;
    let id = FileId::of(&meta);
    if id.digest() != stat {
        return None;
    }
    let stamp = db.rendered.as_ref().map_or(0, |(_, stamp)| *stamp);
    let record = Record { stamp, pending: None, identity: db.identity, ..record };
    Some(((key.to_owned(), record), Seen::File(id)))
}

/// Why a file could not be read.
pub(super) enum ReadProblem {
    /// The file changed while it was read.
    Unstable,
    /// Reading failed, for this reason (never taken for a missing or unchanged file).
    Failed(String),
}

/// Returns the file's bytes (None if it does not exist) and what was there, for the atomic
/// writer's compare-and-swap; [`ReadProblem::Unstable`] if its size or modification time
/// changed during the read (a writer was still at work), or [`ReadProblem::Failed`] if it
/// cannot be read: a link (opened without following it, so a link planted after the planner
/// looked is refused too), not a regular file, or a read error.
pub(super) fn read_stable(
    path: &Path,
) -> std::result::Result<(Option<Vec<u8>>, Seen), ReadProblem> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed = |e: std::io::Error| ReadProblem::Failed(format!("cannot read it: {e}"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match file {
        Ok(file) => file,
        // Absent (the whole of an export into an empty root): the writer places such a file
        // with RENAME_NOREPLACE, so one created meanwhile is caught there, not looked for here.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Seen::Absent)),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadProblem::Failed(crate::sync::inspect::LINK.to_owned()));
        }
        Err(e) => return Err(failed(e)),
    };
    let stamp = |file: &std::fs::File| -> std::result::Result<std::fs::Metadata, ReadProblem> {
        let meta = file.metadata().map_err(failed)?;
        if !meta.is_file() {
            return Err(ReadProblem::Failed("not a regular file; it is never read".to_owned()));
        }
        Ok(meta)
    };
    let before = stamp(&file)?;
    let mut bytes = Vec::with_capacity(usize::try_from(before.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(failed)?;
    let after = stamp(&file)?;
    // Replaced by a rename meanwhile, or removed: the name now holds another file, or none.
    let now = match std::fs::symlink_metadata(path) {
        Ok(meta) => FileId::of(&meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, atomic::seen_at(path)));
        }
        Err(e) => return Err(failed(e)),
    };
    let id = FileId::of(&after);
    if id == FileId::of(&before) && after.len() == bytes.len() as u64 && now == id {
        Ok((Some(bytes), Seen::File(id)))
    } else {
        Err(ReadProblem::Unstable)
    }
}
