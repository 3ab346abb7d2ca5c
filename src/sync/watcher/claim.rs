//! One watcher per sync root: the claim a watcher holds on its root while it watches, a lock
//! on a file of mybb-sync's own folder naming its process, so that a second watcher of the
//! same root is refused, naming the first.

use crate::error::{Error, Result};
use crate::sync::own_dir;

/// The file in mybb-sync's own folder that a watcher holds locked while it watches, with its
/// process id in it, so a second watcher of the same root can name it.
const WATCH_CLAIM: &str = "watch.pid";

/// Claims sync root `root` for one watcher: locks [`WATCH_CLAIM`] exclusively (the kernel lets
/// go when the process dies) and writes this process's id in it. Two watchers of one root
/// would fight over every row ("its row changed meanwhile; planning again"), so a second one is
/// refused, naming the first. The file is a lock, written in place: replacing it atomically
/// would give the next watcher another file to lock.
pub(super) fn claim_root(root: &std::path::Path) -> Result<std::fs::File> {
    use std::io::{Read as _, Seek as _, Write as _};
    let path = own_dir::ensure(root)?.join(WATCH_CLAIM);
    let io = |action, source| Error::IoAt { path: path.clone(), action, source };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io("open", e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let first = match text.trim() {
                "" => "another process".to_owned(),
                pid => format!("process {pid}"),
            };
            return Err(Error::usage(format!(
                "{} is already watched by another mybb-sync watch ({first}); two watchers of \
                 one sync root would overwrite each other's work: stop that one first",
                root.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
    }
    file.set_len(0).map_err(|e| io("truncate", e))?;
    file.rewind().map_err(|e| io("rewind", e))?;
    writeln!(file, "{}", std::process::id()).map_err(|e| io("write", e))?;
    Ok(file)
}
