//! Walks a directory tree: every regular file and every directory under it.

use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::error::Result;

/// Returns every file under `dir`, sorted; none if it does not exist.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir)?.0)
}

/// Returns every file (sorted) and every directory (`dir` included) under `dir`; nothing if it
/// does not exist.
pub fn walk(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                stack.push(entry.path());
            } else if file_type.is_file() {
                files.push(entry.path());
            }
        }
        dirs.push(dir);
    }
    files.sort();
    Ok((files, dirs))
}
