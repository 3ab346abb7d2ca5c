//! Walks a directory tree without following links: every entry a caller must look at, and
//! every directory under it.
//!
//! A symbolic link inside the sync root is never followed (it could lead anywhere: `/etc`, or
//! another forum's files), but it is not skipped either: it is returned like a file, so the
//! planner refuses it with its reason and `status` lists it. A directory that cannot be read
//! is returned the same way, so its read error is reported rather than taken for an empty
//! folder. The walk's own start may be a link only when it is the sync root itself, which the
//! caller passes by its own name; a start below the root that is a link is returned as is.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// Returns every entry under `dir` that is not a readable real directory, sorted: regular
/// files, links, other special files and unreadable directories. None if `dir` does not exist.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir)?.0)
}

/// Returns every entry under `dir` that is not a readable real directory (sorted), and every
/// readable real directory (`dir` included); nothing if `dir` does not exist.
pub fn walk(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let walker = walkdir::WalkDir::new(dir).follow_links(false).follow_root_links(false);
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_dir() => dirs.push(entry.into_path()),
            Ok(entry) => files.push(entry.into_path()),
            Err(e) => {
                if e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) {
                    // Gone since it was listed (or never there): nothing to look at.
                    continue;
                }
                if let Some(path) = e.path() {
                    // Reported by whoever looks at the path again (the planner does).
                    log::debug!("cannot walk {}: {e}", path.display());
                    dirs.retain(|d| d != path);
                    files.push(path.to_path_buf());
                }
            }
        }
    }
    files.sort();
    files.dedup();
    Ok((files, dirs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_returned_not_followed() {
        let root = crate::test_support::scratch_dir("walk", "links");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), "x").unwrap();
        std::fs::create_dir_all(root.join("elsewhere")).unwrap();
        std::fs::write(root.join("elsewhere/secret"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("a/link")).unwrap();
        let (files, dirs) = walk(&root.join("a")).unwrap();
        assert_eq!(files, [root.join("a/b/f"), root.join("a/link")]);
        assert_eq!(dirs, [root.join("a"), root.join("a/b")]);
        // A start that is a link is returned, not entered.
        assert_eq!(walk_files(&root.join("a/link")).unwrap(), [root.join("a/link")]);
        assert!(walk_files(&root.join("missing")).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(root);
    }
}
