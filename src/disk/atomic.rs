//! Safeguard 3: every file mybb-sync writes appears whole or not at all.
//!
//! The one door to the disk. Each file is written to a temp file in its own directory, the temp
//! files of a batch are made durable together, renamed over their targets, and every touched
//! directory is synced. A reader (a watcher, a browser, MyBB) sees the old file or the new one,
//! never an empty or partial one. Durability is batched rather than paid per file: one `syncfs`
//! for the whole batch costs about what a single `fsync` does, where an `fsync` per file costs
//! a journal commit each.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fs_err as fs;

use crate::error::Result;

/// What every temp file name of ours contains; used to recognise leftovers of a killed run.
const TEMP_MARK: &str = ".mybb-sync-";

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Returns the temp file name used while writing `target`: hidden, in the same directory, unique
/// to this process, and ending in `.tmp`, so every watcher (ours included) ignores it.
pub fn temp_path(target: &Path) -> PathBuf {
    static PID: std::sync::LazyLock<u32> = std::sync::LazyLock::new(std::process::id);
    let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}{TEMP_MARK}{}-{n}.tmp", *PID))
}

/// Up to this many files, a batch is made durable file by file; beyond, with one `syncfs`,
/// which flushes the whole filesystem (other programs' writes too) but costs about one fsync.
const SYNCFS_THRESHOLD: usize = 16;

/// Returns true if and only if `file_name` is one of our temp files.
pub fn is_temp_name(file_name: &str) -> bool {
    file_name.starts_with('.') && file_name.contains(TEMP_MARK) && file_name.ends_with(".tmp")
}

/// Removes our temp files left in `dir` by a run that was killed, and returns how many. Only
/// call this while holding the sync root's lock exclusively, when no other run of ours writes.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(entry.path())?;
            log::debug!("removed a temp file left by an earlier run: {}", entry.path().display());
            removed += 1;
        }
    }
    Ok(removed)
}

/// A set of files to replace together. Files are staged (written to temp files) one by one and
/// appear only on [`AtomicBatch::commit`]. Dropping an uncommitted batch removes its temp files.
#[derive(Debug)]
pub struct AtomicBatch {
    durable: bool,
    staged: Vec<(PathBuf, PathBuf)>,
    /// Every directory that gets a new entry, synced after the renames.
    dirs: HashSet<PathBuf>,
    /// Testing only: fail the commit after this many renames.
    fail_after: Option<usize>,
}

impl AtomicBatch {
    /// Returns an empty batch. With `durable` false, files are still replaced atomically, but
    /// nothing is synced: a power loss may lose them (for scratch and CI exports).
    pub fn new(durable: bool) -> AtomicBatch {
        AtomicBatch { durable, staged: Vec::new(), dirs: HashSet::new(), fail_after: None }
    }

    /// Makes [`AtomicBatch::commit`] fail after `n` files were renamed into place, as a crash
    /// or a full disk would. For tests of what a failed export leaves behind.
    pub fn fail_after(&mut self, n: Option<usize>) {
        self.fail_after = n;
    }

    /// Writes `contents` to a temp file beside `target`, creating missing directories. If
    /// `target` exists, the new file gets its permissions. An error leaves no temp file behind.
    pub fn stage(&mut self, target: &Path, contents: &[u8]) -> Result<()> {
        let dir = target.parent().unwrap_or(Path::new("."));
        if !self.dirs.contains(dir) {
            self.create_dirs(dir)?;
        }
        let temp = temp_path(target);
        let written = (|| -> Result<()> {
            let mut file = fs::File::create(&temp)?;
            file.write_all(contents)?;
            if let Ok(meta) = std::fs::metadata(target) {
                file.set_permissions(meta.permissions())?;
            }
            if self.durable && !cfg!(target_os = "linux") {
                // Without syncfs, each file is made durable as it is staged.
                file.sync_all()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        self.dirs.insert(dir.to_path_buf());
        self.staged.push((temp, target.to_path_buf()));
        Ok(())
    }

    /// Creates `dir` and its missing ancestors, remembering each new directory's parent, whose
    /// entry must be synced too for the new directory to survive a power loss.
    fn create_dirs(&mut self, dir: &Path) -> Result<()> {
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.create_dirs(parent)?;
            self.dirs.insert(parent.to_path_buf());
        }
        match fs::create_dir(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes every staged file durable (unless the batch is not durable), renames each over its
    /// target, then syncs every touched directory. Returns the targets written. On an error,
    /// the files renamed so far are whole new files, the rest are untouched old files, and the
    /// remaining temp files are removed.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        if self.durable {
            self.sync_staged()?;
        }
        let staged = std::mem::take(&mut self.staged);
        let mut written = Vec::with_capacity(staged.len());
        let mut pending = staged.into_iter();
        for (temp, target) in pending.by_ref() {
            if self.fail_after == Some(written.len()) {
                let _ = std::fs::remove_file(&temp);
                self.staged = pending.collect();
                return Err(std::io::Error::other(format!(
                    "injected failure before writing {}",
                    target.display()
                ))
                .into());
            }
            if let Err(e) = fs::rename(&temp, &target) {
                let _ = std::fs::remove_file(&temp);
                self.staged = pending.collect();
                return Err(e.into());
            }
            written.push(target);
        }
        if self.durable {
            for dir in &self.dirs {
                fs::File::open(dir)?.sync_all()?;
            }
        }
        Ok(written)
    }

    /// Makes the staged temp files durable: a few one by one, many in one step with `syncfs`
    /// on each filesystem that holds them (found from their directories, not from each file).
    /// Other systems had each file synced as it was staged.
    fn sync_staged(&self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            use std::os::unix::fs::MetadataExt;
            if self.staged.len() <= SYNCFS_THRESHOLD {
                for (temp, _) in &self.staged {
                    fs::File::open(temp)?.sync_all()?;
                }
                return Ok(());
            }
            let mut synced_devices = HashSet::new();
            for dir in &self.dirs {
                let handle = fs::File::open(dir)?;
                if !synced_devices.insert(handle.metadata()?.dev()) {
                    continue;
                }
                // SAFETY: `handle` is an open descriptor for the duration of the call.
                if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
                    return Err(crate::error::Error::IoAt {
                        path: dir.clone(),
                        action: "sync the filesystem holding",
                        source: std::io::Error::last_os_error(),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Drop for AtomicBatch {
    fn drop(&mut self) {
        for (temp, _) in &self.staged {
            if let Err(e) = std::fs::remove_file(temp) {
                log::debug!("could not remove temp file {}: {e}", temp.display());
            }
        }
    }
}

/// Replaces `target` with `contents` atomically (see [`AtomicBatch`]).
pub fn write_file(target: &Path, contents: &[u8], durable: bool) -> Result<()> {
    let mut batch = AtomicBatch::new(durable);
    batch.stage(target, contents)?;
    batch.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::test_support::scratch_dir("atomic", name)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_write_goes_through_a_temp_file_and_the_rename_completes() {
        let dir = scratch("rename");
        let target = dir.join("a.html");
        let mut batch = AtomicBatch::new(true);
        batch.stage(&target, b"new").unwrap();
        // Staged: only the hidden temp file exists, the target does not yet.
        let staged = names(&dir);
        assert_eq!(staged.len(), 1);
        assert!(is_temp_name(&staged[0]), "{staged:?}");
        assert!(!target.exists());
        assert_eq!(batch.commit().unwrap(), vec![target.clone()]);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&dir), vec!["a.html"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_temp_file_is_removed_on_error_and_the_old_file_stays() {
        let dir = scratch("error");
        let target = dir.join("a.html");
        std::fs::write(&target, b"old").unwrap();
        let mut batch = AtomicBatch::new(false);
        batch.stage(&dir.join("b.html"), b"b").unwrap();
        batch.stage(&target, b"new").unwrap();
        batch.fail_after(Some(1));
        assert!(batch.commit().is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(names(&dir), vec!["a.html", "b.html"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_dropped_batch_leaves_nothing() {
        let dir = scratch("drop");
        let mut batch = AtomicBatch::new(false);
        batch.stage(&dir.join("sub/dir/a.html"), b"a").unwrap();
        drop(batch);
        assert!(names(&dir.join("sub/dir")).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_staging_error_leaves_no_temp_file() {
        let dir = scratch("stage-error");
        // A directory where the file should go makes the final rename, not the temp, fail;
        // a missing parent that cannot be created (a file in the way) makes staging fail.
        std::fs::write(dir.join("blocker"), b"").unwrap();
        let mut batch = AtomicBatch::new(false);
        assert!(batch.stage(&dir.join("blocker/a.html"), b"a").is_err());
        assert_eq!(names(&dir), vec!["blocker"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn stale_temp_files_are_recognised_and_removed() {
        let dir = scratch("stale");
        let temp = temp_path(&dir.join("a.html"));
        std::fs::write(&temp, b"half").unwrap();
        std::fs::write(dir.join(".a.html.swp"), b"vim").unwrap();
        assert_eq!(remove_stale_temps(&dir).unwrap(), 1);
        assert_eq!(names(&dir), vec![".a.html.swp"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn permissions_of_the_replaced_file_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("perms");
        let target = dir.join("a.css");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&target, b"new", false).unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
        let _ = std::fs::remove_dir_all(dir);
    }
}
