//! What mybb-sync keeps of deleted items, under `.mybb-sync/deleted/`: the file of an item
//! deleted in the database, a copy of a row deleted because its file was, and the pages
//! (`attachedto`) of a stylesheet deleted so, for its row made again from a file. `apply`
//! keeps them and the planner reads the pages back: both reach them here, below either.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::disk::atomic;
use crate::error::{Error, Result};

/// Returns where the file `path` of a deleted item is kept: its path relative to the sync
/// root, under `.mybb-sync/deleted/`, with `.1`, `.2`... added when an earlier copy is there.
/// None if `path` is not under the sync root.
pub(super) fn recovery_path(config: &Config, path: &Path) -> Option<PathBuf> {
    let relative = config.relative(path);
    if relative.is_absolute() {
        return None;
    }
    let base = crate::sync::own_dir::path(&config.sync_root).join(DELETED_DIR).join(relative);
    let mut candidate = base.clone();
    let mut n = 0;
    while std::fs::symlink_metadata(&candidate).is_ok() {
        n += 1;
        let mut name = base.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{n}"));
        candidate = base.with_file_name(name);
    }
    Some(candidate)
}

/// The folder of mybb-sync's own folder that keeps the files of deleted items.
pub const DELETED_DIR: &str = "deleted";

/// How the file that remembers a deleted stylesheet's pages ends (see [`attachments_path`]).
const ATTACHMENTS_SUFFIX: &str = ".attachedto";

/// The most bytes of a remembered `attachedto` read back: a page list, never more.
const MAX_ATTACHMENTS_BYTES: u64 = 64 * 1024;

/// Returns where the pages (`attachedto`) of the theme's own stylesheet at `path`, deleted on
/// disk and carried to the database, are remembered: beside where its copies are kept, under
/// `.mybb-sync/deleted/`. None if `path` is not under the sync root.
fn attachments_path(config: &Config, path: &Path) -> Option<PathBuf> {
    let relative = config.relative(path);
    if relative.is_absolute() {
        return None;
    }
    let mut name = relative.file_name()?.to_os_string();
    name.push(ATTACHMENTS_SUFFIX);
    let dir = crate::sync::own_dir::path(&config.sync_root).join(DELETED_DIR);
    Some(dir.join(relative.with_file_name(name)))
}

/// Remembers `attachedto` for the stylesheet at `path`, through the atomic writer.
pub(super) fn remember_attachments(config: &Config, path: &Path, attachedto: &str) -> Result<()> {
    let Some(at) = attachments_path(config, path) else {
        return Err(Error::usage(format!("{} is not under the sync root", path.display())));
    };
    atomic::write_file(&at, attachedto.as_bytes(), config.durable)
}

/// Returns the pages remembered for the stylesheet at `path` when its row was deleted because
/// its file was (see `plan::Deletion::Stylesheet`), for its row made again from a file: a
/// stylesheet saved back by a writer slower than the watcher's deletion window comes back
/// attached as it was. None when nothing (readable, a plain file of text) is remembered.
pub(super) fn remembered_attachments(config: &Config, path: &Path) -> Option<String> {
    let at = attachments_path(config, path)?;
    let meta = std::fs::symlink_metadata(&at).ok()?;
    if !meta.is_file() || meta.len() > MAX_ATTACHMENTS_BYTES {
        return None;
    }
    let text = String::from_utf8(std::fs::read(&at).ok()?).ok()?;
    (!text.contains('\0')).then_some(text)
}

/// Forgets the pages remembered for the stylesheet at `path`, once its row is made again.
pub(super) fn forget_attachments(config: &Config, path: &Path) {
    let Some(at) = attachments_path(config, path) else { return };
    match std::fs::remove_file(&at) {
        Ok(()) => log::debug!("{}: its remembered pages were used", config.shown(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove {}: {e}", config.shown(&at)),
    }
}
