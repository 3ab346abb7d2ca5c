//! Looks at a path under the sync root before anything reads or writes it, trusting nothing.
//!
//! One rule for every command: a symbolic link inside the sync root, file or folder, is never
//! read, followed or written through (a link could make a template of `/etc/passwd`, or make
//! an export write a thousand files outside the root); it is refused with its reason, at the
//! link's own path. A folder or file that cannot be read is refused with its read error: it is
//! never taken for missing or unchanged. The sync root itself may be a link: only what lies
//! below it is looked at. Folders are looked at once per run (a run plans a thousand files in a
//! few dozen folders).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::plain;

/// Why a link is refused, in words a user can act on.
pub const LINK: &str = "symbolic link: mybb-sync never reads, follows or writes through a link \
                        inside the sync root; replace it with a real file or folder";

/// The longest file name Linux file systems take, in bytes (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;

/// Remembers what it found in each folder for one run.
#[derive(Debug, Default)]
pub struct Inspector {
    /// Per folder looked at: None if it is a real, readable folder, else why not.
    folders: RefCell<HashMap<PathBuf, Option<String>>>,
    /// Folders found missing during this plan (an export into an empty root asks about the
    /// same missing folders for every file). The writer creates them later and places each
    /// file with a rename that never replaces what appeared meanwhile.
    missing: RefCell<std::collections::HashSet<PathBuf>>,
}

/// What one look at a path found.
enum Look {
    /// Fine so far: a real readable folder, or a regular file.
    Fine,
    /// Not there (ENOENT): nothing below it to look at.
    Gone,
    /// A file stands where a folder is expected: the read of the item reports it.
    NotAFolder,
    /// Refused, for this reason.
    Refused(String),
}

/// What the inspector found at a path, for the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// May not be read or written: at this path (the link or unreadable folder), for this reason.
    Refused(PathBuf, String),
    /// Absent when looked at: the path, or a folder on the way, does not exist. Nothing to read;
    /// the writer places such a file with a rename that never replaces one created meanwhile.
    Absent,
    /// There (or not known to be absent): read it, which reports what else it is.
    Read,
}

impl Inspector {
    /// Returns where and why `relative` (relative to `root`) may not be read or written: a link
    /// at it or at any folder on the way, a folder on the way that cannot be read, or, at its
    /// end, an unreadable folder or something that is neither a file nor a folder. None when the
    /// path is a regular file, a readable folder, or (from some point on) does not exist.
    pub fn refusal(&self, root: &Path, relative: &Path) -> Option<(PathBuf, String)> {
        match self.look(root, relative) {
            Found::Refused(at, why) => Some((at, why)),
            Found::Absent | Found::Read => None,
        }
    }

    /// Looks at `relative` (relative to `root`) and every folder on the way: refused as
    /// [`Inspector::refusal`] says, absent, or there to be read. Absent means a look at the path
    /// or at a folder on the way found nothing (ENOENT), so an export into an empty root neither
    /// opens nor stats its targets (issue 16). Only a look says absent, never a walk's silence:
    /// a folder the walk could not list is not empty.
    pub fn look(&self, root: &Path, relative: &Path) -> Found {
        // Every name, also below a folder that does not exist yet (it would be created).
        let mut current = root.to_path_buf();
        for component in relative.components() {
            current.push(component);
            let bytes = component.as_os_str().len();
            if bytes > MAX_NAME_BYTES {
                let why = format!(
                    "name too long: {bytes} bytes once encoded, more than the {MAX_NAME_BYTES} a \
                     file name may have; rename the item in the Admin CP to sync it"
                );
                return Found::Refused(current, why);
            }
        }
        let mut current = root.to_path_buf();
        let count = relative.components().count();
        for (i, component) in relative.components().enumerate() {
            current.push(component);
            let last = i + 1 == count;
            if !last && self.missing.borrow().contains(&current) {
                return Found::Absent;
            }
            let cached = if last { None } else { self.folders.borrow().get(&current).cloned() };
            let look = match cached {
                Some(None) => Look::Fine,
                Some(Some(why)) => Look::Refused(why),
                None => {
                    let look = look_at(&current, last);
                    if !last {
                        match &look {
                            Look::Gone => {
                                self.missing.borrow_mut().insert(current.clone());
                            }
                            Look::NotAFolder => {}
                            Look::Fine => {
                                self.folders.borrow_mut().insert(current.clone(), None);
                            }
                            Look::Refused(why) => {
                                let why = Some(why.clone());
                                self.folders.borrow_mut().insert(current.clone(), why);
                            }
                        }
                    }
                    look
                }
            };
            match look {
                Look::Fine => {}
                Look::Gone => return Found::Absent,
                Look::NotAFolder => return Found::Read,
                Look::Refused(why) => return Found::Refused(current, why),
            }
        }
        Found::Read
    }
}

/// Looks at `path` without following a link; `last` says whether it is the end of the path
/// (a file or folder of its own) rather than a folder on the way.
fn look_at(path: &Path, last: bool) -> Look {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Look::Gone,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Look::NotAFolder,
        Err(e) => return Look::Refused(format!("cannot look at it: {}", plain(&e))),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Look::Refused(LINK.to_owned());
    }
    if kind.is_dir() {
        return match std::fs::read_dir(path) {
            Ok(_) => Look::Fine,
            Err(e) => Look::Refused(format!("cannot read this folder: {}", plain(&e))),
        };
    }
    if kind.is_file() || !last {
        return Look::Fine;
    }
    Look::Refused("not a regular file (a device, socket or pipe); it is never read".to_owned())
}
