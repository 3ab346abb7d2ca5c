//! mybb-sync's own folder in a sync root, `.mybb-sync/`, and the board the root belongs to.
//!
//! Everything mybb-sync keeps for itself (the sync state, the locks, the stamp naming the
//! board, any baseline) lives in this one folder, which holds a `.gitignore` of `*`: a sync
//! root kept in git (the cron recipe runs `git add -A`) never commits them. Roots written by an
//! older mybb-sync kept `.mybb-sync.state` and `.mybb-sync.lock` at the top; [`ensure`] moves
//! them in.
//!
//! The stamp (`board`) names the database the root syncs: host and port (or socket), database
//! and table prefix. A root exported from board A and then used with board B would otherwise
//! have B's content written over A's edits, or A's edits written into B. A mismatch is a
//! configuration error, unless the user says the move is intended (`--rebind`).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::config::{Config, EngineKind};
use crate::disk::atomic;
use crate::disk::gate::SyncLock;
use crate::error::{Error, Result};
use crate::mybb::db::Db;

/// The folder's name in the sync root (hidden: the walker and the watcher skip it); `root.rs`
/// finds a sync root by it, from inside.
pub use crate::root::OWN_DIR;
/// What the folder's `.gitignore` holds: everything.
const GITIGNORE: &[u8] = b"*\n";
/// The stamp naming the board, in the folder.
const BOARD_FILE: &str = "board";
/// The first line of the stamp.
const BOARD_HEADER: &str =
    "# mybb-sync: the board this sync root belongs to. Do not edit; see --rebind.";
/// The sync state's file name in the folder (`sync/state.rs` reads and writes it).
pub const STATE_FILE: &str = "state";
/// Where an older mybb-sync kept the state, at the top of the root (read until migrated).
pub const OLD_STATE_FILE: &str = ".mybb-sync.state";
/// Files of older versions at the top of the root: (old name, new name in the folder, or
/// None for a lock file that is simply removed).
const OLD_FILES: &[(&str, Option<&str>)] = &[
    (OLD_STATE_FILE, Some(STATE_FILE)),
    (".mybb-sync.state.lock", None),
    (".mybb-sync.lock", None),
];

/// Returns the path of mybb-sync's own folder in sync root `root`, whether or not it exists.
pub fn path(root: &Path) -> PathBuf {
    root.join(OWN_DIR)
}

/// Returns mybb-sync's own folder in sync root `root`, creating it (and the root) with its
/// `.gitignore` if missing, and moving in the files an older mybb-sync left at the top of the
/// root. A folder of that name that is a symbolic link is refused: nothing is written
/// through a link.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let dir = path(root);
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::usage(format!(
                "{} is a symbolic link; mybb-sync keeps its own files there and never writes \
                 through a link: remove it",
                dir.display()
            )));
        }
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::usage(format!(
                "{} is not a folder; mybb-sync keeps its own files there: remove it",
                dir.display()
            )));
        }
        Err(e) if e.kind() == ErrorKind::NotFound => fs::create_dir_all(&dir)?,
        Err(e) => {
            return Err(Error::IoAt { path: dir, action: "inspect", source: e });
        }
    }
    let gitignore = dir.join(".gitignore");
    if std::fs::symlink_metadata(&gitignore).is_err() {
        atomic::write_file(&gitignore, GITIGNORE, false)?;
    }
    migrate(root, &dir)?;
    Ok(dir)
}

/// Moves the files of an older mybb-sync from the top of `root` into `dir`.
fn migrate(root: &Path, dir: &Path) -> Result<()> {
    for (old, new) in OLD_FILES {
        let old_path = root.join(old);
        match std::fs::symlink_metadata(&old_path) {
            Ok(meta) if meta.is_file() => {}
            _ => continue,
        }
        match new {
            Some(new) if std::fs::symlink_metadata(dir.join(new)).is_err() => {
                fs::rename(&old_path, dir.join(new))?;
                log::info!("moved {} into {}", old_path.display(), dir.display());
            }
            _ => {
                fs::remove_file(&old_path)?;
                log::debug!("removed {} of an older mybb-sync", old_path.display());
            }
        }
    }
    Ok(())
}

/// Returns the lock of sync root `root`, creating mybb-sync's folder (and the root) if need be.
pub fn lock(root: &Path) -> Result<SyncLock> {
    SyncLock::in_dir(&ensure(root)?)
}

/// Returns the lock of sync root `root` if its folder exists, creating nothing (for `status`).
pub fn lock_if_present(root: &Path) -> Result<Option<SyncLock>> {
    let dir = path(root);
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return SyncLock::in_dir(&dir).map(Some);
    }
    Ok(None)
}

/// The stamp's field naming the server, however it is reached (`Db::server_identity`).
const SERVER: &str = "server";

/// Returns the server `db` is on, as [`SERVER`] records it, or None where it cannot be asked
/// (the stamp is then compared by address, as before servers were named). Asked over the
/// command's own connection: a second one only to ask this cost every command a connect and
/// its read buffer.
fn server_of(db: &Db) -> Option<String> {
    match db.server_identity() {
        Ok(server) => Some(server),
        Err(e) => {
            log::debug!("cannot tell which server this is: {}", crate::error::chain(&e));
            None
        }
    }
}

/// Returns true if and only if stamps `ours` and `theirs` name the same board: the same
/// database and table prefix on the same server. Where either stamp does not name its server
/// (an older stamp), the address stands in for it.
fn same_board(ours: &[(String, String)], theirs: &[(String, String)]) -> bool {
    let get = |fields: &[(String, String)], key: &str| {
        fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    match (get(ours, SERVER), get(theirs, SERVER)) {
        (Some(a), Some(b)) => {
            a == b && ["database", "prefix"].iter().all(|key| get(ours, key) == get(theirs, key))
        }
        _ => {
            let without = |fields: &[(String, String)]| -> Vec<(String, String)> {
                fields.iter().filter(|(k, _)| k != SERVER).cloned().collect()
            };
            without(ours) == without(theirs)
        }
    }
}

/// Returns the identity of the board `config` names, as the stamp records it.
fn identity(config: &Config, connected: &Db) -> Vec<(&'static str, String)> {
    let db = &config.db;
    let mut fields = Vec::new();
    if let Some(server) = server_of(connected) {
        fields.push((SERVER, server));
    }
    if db.engine == EngineKind::Sqlite {
        // The file, absolute where it can be made so: the same board named from another
        // directory is the same board. (A MySQL stamp keeps the fields it always had.)
        let file = std::path::absolute(&db.database)
            .map_or_else(|_| db.database.clone(), |p| p.to_string_lossy().into_owned());
        fields.push(("engine", "sqlite".to_owned()));
        fields.push(("file", file));
        fields.push(("prefix", config.prefix.clone()));
        return fields;
    }
    match &db.socket {
        Some(socket) => fields.push(("socket", socket.clone())),
        None => {
            fields.push(("host", db.host.clone()));
            fields.push(("port", db.port.to_string()));
        }
    }
    fields.push(("database", db.database.clone()));
    fields.push(("prefix", config.prefix.clone()));
    fields
}

/// Returns the board `fields` name, in words.
fn describe(fields: &[(String, String)]) -> String {
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    if let Some(file) = get("file") {
        return format!("SQLite file {file}, table prefix {:?}", get("prefix").unwrap_or("?"));
    }
    let at = match (get("socket"), get("host"), get("port")) {
        (Some(socket), _, _) => format!("socket {socket}"),
        (None, Some(host), Some(port)) => format!("{host}:{port}"),
        _ => "an unknown server".to_owned(),
    };
    format!(
        "database {:?} on {at}, table prefix {:?}",
        get("database").unwrap_or("?"),
        get("prefix").unwrap_or("?")
    )
}

/// How a command uses the stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Check it, and write it when the root has none yet (export, import, watch).
    CheckAndStamp,
    /// Only check it; create nothing (status, dry runs).
    CheckOnly,
}

/// Checks that sync root `root` belongs to the board of `config`: a root stamped with another
/// board is a configuration error naming both, unless `config.rebind`, which stamps it with
/// this board and forgets its sync state (what was synced with the other board says nothing
/// about this one: every difference becomes a conflict). A root without a stamp gets one
/// (unless `binding` is [`Binding::CheckOnly`]).
///
/// `db` is the command's connection to that board (it is asked which server it is on).
///
/// Returns true if and only if the caller must plan with an empty state: a rebind that
/// [`Binding::CheckOnly`] did not carry out, so the state on disk is still the other board's.
pub fn bind(root: &Path, config: &Config, db: &Db, binding: Binding) -> Result<bool> {
    let ours: Vec<(String, String)> =
        identity(config, db).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let stamp_path = path(root).join(BOARD_FILE);
    let stamped = match fs::read_to_string(&stamp_path) {
        Ok(text) => Some(parse_stamp(&text)),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let write = |ours: &[(String, String)]| -> Result<()> {
        let dir = ensure(root)?;
        let mut text = format!("{BOARD_HEADER}\n");
        for (key, value) in ours {
            text.push_str(&format!("{key}={value}\n"));
        }
        atomic::write_file(&dir.join(BOARD_FILE), text.as_bytes(), config.durable)
    };
    match stamped {
        Some(theirs) if theirs == ours => Ok(false),
        // The same board through another address, or a stamp from before servers were named.
        Some(theirs) if same_board(&ours, &theirs) => {
            let names_server = theirs.iter().any(|(k, _)| k == SERVER);
            if binding == Binding::CheckAndStamp && !names_server {
                write(&ours)?;
            }
            Ok(false)
        }
        Some(theirs) if config.rebind => {
            log::warn!(
                "{}: rebound from {} to {}; its sync state is forgotten, so every difference \
                 is a conflict until resolved",
                root.display(),
                describe(&theirs),
                describe(&ours)
            );
            if binding == Binding::CheckOnly {
                return Ok(true);
            }
            forget_state(root)?;
            write(&ours)?;
            Ok(false)
        }
        Some(theirs) => Err(Error::usage(format!(
            "the sync root {} belongs to another board ({}), not to this one ({}); use that \
             board, another --root, or --rebind if the move is intended",
            root.display(),
            describe(&theirs),
            describe(&ours)
        ))),
        None if binding == Binding::CheckAndStamp => write(&ours).map(|()| false),
        None => Ok(false),
    }
}

/// Forgets what was synced in sync root `root` (the root was rebound to another board): removes
/// the state file, and the one an older mybb-sync left at the top of the root. The folder owns
/// the state's file names, so this lives here rather than in `state.rs`, which uses this module.
fn forget_state(root: &Path) -> Result<()> {
    for path in [path(root).join(STATE_FILE), root.join(OLD_STATE_FILE)] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Parses a stamp into its `key=value` fields (comments and malformed lines are skipped, so a
/// damaged stamp mismatches rather than fails).
fn parse_stamp(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Returns an error (exit 2) unless sync root `root` exists: `status` and `import` create
/// nothing, so a mistyped `--root` must not look like an empty root.
pub fn require_root(root: &Path) -> Result<()> {
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::usage(format!("the sync root {} is not a folder", root.display()))),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::usage(format!(
            "the sync root {} does not exist (check --root; export or watch creates it)",
            root.display()
        ))),
        Err(e) => Err(Error::IoAt { path: root.to_path_buf(), action: "open", source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_is_created_with_its_gitignore_and_old_files_move_in() {
        let root = crate::test_support::scratch_dir("own_dir", "migrate");
        std::fs::write(root.join(".mybb-sync.state"), "old state").unwrap();
        std::fs::write(root.join(".mybb-sync.lock"), "").unwrap();
        let dir = ensure(&root).unwrap();
        assert_eq!(std::fs::read(dir.join(".gitignore")).unwrap(), GITIGNORE);
        assert_eq!(std::fs::read(dir.join("state")).unwrap(), b"old state");
        assert!(!root.join(".mybb-sync.state").exists());
        assert!(!root.join(".mybb-sync.lock").exists());
        let _ = std::fs::remove_dir_all(root);
    }
}
