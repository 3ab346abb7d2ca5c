//! Safeguard 3: every file mybb-sync writes appears whole or not at all, and only where what
//! was there is still what the planner saw.
//!
//! The one door to the disk. Each file is written to a temp file in its own directory (created
//! exclusively under an unpredictable name, so nothing planted there is written through), the
//! temp files of a batch are made durable together, and each is renamed over its target, which
//! is first checked once more: a target that changed since it was planned (compare-and-swap on
//! [`Seen`]) or that is a symbolic link is left alone and reported. A reader (a watcher, a
//! browser, MyBB) sees the old file or the new one, never an empty or partial one. Durability
//! is batched rather than paid per file: one `syncfs` for the whole batch's data before the
//! renames and one for the renames after cost about what two `fsync`s do, where an `fsync` per
//! file (or per folder) costs a journal commit or a device flush each.
//!
//! The check and the rename are two system calls: POSIX has no "rename if unchanged", so a
//! save landing between them (microseconds, the two calls are adjacent) still loses to the
//! rename. Everything earlier, from the planner's read on, is caught.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fs_err as fs;

use crate::error::Result;
use crate::test_hooks;

/// What every temp file name of ours contains; used to recognise leftovers of a killed run.
const TEMP_MARK: &str = ".mybb-sync-";

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// What the planner saw at a target, checked again right before the target is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Replace whatever file is there (mybb-sync's own files: MyBB's cache files, the state).
    Anything,
    /// Nothing was there.
    Absent,
    /// This very file was there, unchanged since.
    File(FileId),
}

/// Who a file is and when it last changed: enough to tell that anybody wrote, truncated,
/// replaced or re-permissioned it (each of which moves its ctime or inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
}

impl FileId {
    /// Returns a 64-bit digest of every field: what the sync state records of a file it
    /// compared, to know it unchanged next time without reading it (issue 32).
    pub fn digest(&self) -> u64 {
        // FNV-1a over the fields' bytes: the same digest from every build (std's hasher may
        // change between Rust releases, which would make every record a miss after one).
        let fields = [
            self.dev,
            self.ino,
            self.len,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
            u64::from(self.mode),
        ];
        fields
            .iter()
            .flat_map(|field| field.to_le_bytes())
            .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    /// Returns the later of the file's modification and change times (seconds, nanoseconds):
    /// when it was last written, even by a writer that set its modification time back
    /// (`touch -r`, `cp -p`), which moves its change time.
    pub fn last_changed(&self) -> (i64, i64) {
        self.mtime.max(self.ctime)
    }

    /// Returns the identity of the file `meta` describes.
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            mode: meta.mode(),
        }
    }
}

/// Why a staged file was not renamed over its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReplaced {
    /// The target changed since it was planned (written, created, removed, replaced).
    Changed,
    /// The target is a symbolic link (or another non-file): never written through.
    NotAFile,
}

/// What [`AtomicBatch::commit`] did.
#[derive(Debug, Default)]
pub struct Committed {
    /// The targets replaced, in order.
    pub written: Vec<PathBuf>,
    /// The targets left alone, with why.
    pub skipped: Vec<(PathBuf, NotReplaced)>,
}

/// Returns a temp file name for writing `target`: hidden, in the same directory, unguessable
/// (process id, a counter and 64 random bits), and ending in `.tmp`, so every watcher (ours
/// included) ignores it.
pub fn temp_path(target: &Path) -> PathBuf {
    static PID: std::sync::LazyLock<u32> = std::sync::LazyLock::new(std::process::id);
    let name = target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    // std's RandomState is seeded from the OS's random source: no crate needed for 64 bits.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_usize(n);
    let random = hasher.finish();
    let tail = format!("{TEMP_MARK}{}-{n}-{random:016x}.tmp", *PID);
    // A name near the 255-byte limit must still leave room for the temp file's own name.
    let mut room = MAX_TEMP_NAME_BYTES.saturating_sub(1 + tail.len()).min(name.len());
    while !name.is_char_boundary(room) {
        room -= 1;
    }
    target.with_file_name(format!(".{}{tail}", &name[..room]))
}

/// The longest file name Linux filesystems take, in bytes.
const MAX_TEMP_NAME_BYTES: usize = 255;

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

/// One staged file: its temp file, its target, and what the target must still be.
#[derive(Debug)]
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    seen: Seen,
}

/// A set of files to replace together. Files are staged (written to temp files) one by one and
/// appear only on [`AtomicBatch::commit`]. Dropping an uncommitted batch removes its temp files.
#[derive(Debug)]
pub struct AtomicBatch {
    durable: bool,
    staged: Vec<Staged>,
    /// Every directory that gets a new entry, synced after the renames.
    dirs: HashSet<PathBuf>,
    /// Whether a small durable batch syncs its directories after the renames; false where a
    /// `syncfs` the caller makes next does it.
    sync_dirs: bool,
    /// Testing only: fail the commit after this many renames.
    fail_after: Option<usize>,
}

/// How often staging tries another temp name when one is taken (by a planted file, say).
const TEMP_ATTEMPTS: usize = 8;

impl AtomicBatch {
    /// Returns an empty batch. With `durable` false, files are still replaced atomically, but
    /// nothing is synced: a power loss may lose them (for scratch and CI exports).
    pub fn new(durable: bool) -> AtomicBatch {
        AtomicBatch {
            durable,
            staged: Vec::new(),
            dirs: HashSet::new(),
            sync_dirs: true,
            fail_after: None,
        }
    }

    /// Makes [`AtomicBatch::commit`] fail after `n` files were renamed into place, as a crash
    /// or a full disk would. For tests of what a failed export leaves behind.
    pub fn fail_after(&mut self, n: Option<usize>) {
        self.fail_after = n;
    }

    /// Writes `contents` to a temp file beside `target`, to replace whatever file is there
    /// (see [`AtomicBatch::stage_if`]).
    pub fn stage(&mut self, target: &Path, contents: &[u8]) -> Result<()> {
        self.stage_if(target, contents, Seen::Anything)
    }

    /// Writes `contents` to a temp file beside `target`, creating missing directories, to
    /// replace `target` only if it is still as `seen`. If `target` exists, the new file gets
    /// its permissions. An error leaves no temp file behind.
    pub fn stage_if(&mut self, target: &Path, contents: &[u8], seen: Seen) -> Result<()> {
        let dir = parent_of(target);
        if !self.dirs.contains(dir) {
            self.create_dirs(dir)?;
        }
        let temp = write_temp(target, contents, seen, self.syncs_each_file())?;
        self.dirs.insert(dir.to_path_buf());
        self.staged.push(Staged { temp, target: target.to_path_buf(), seen });
        Ok(())
    }

    /// Stages each of `files`, `(target, contents, seen)`, as [`AtomicBatch::stage_if`] does,
    /// and returns how each went, in order. Many files are written from [`WRITER_THREADS`]
    /// threads (issue 16): writing is system calls, and a second core halves their wall time.
    /// The folders are made first, on this thread; each writer then takes a contiguous share
    /// of the files, so mostly other folders than the other writers' (a folder's entries are
    /// created one at a time).
    pub fn stage_all(&mut self, files: &[(&Path, &[u8], Seen)]) -> Vec<Result<()>> {
        if files.len() < WRITE_ON_THREADS_FROM {
            return files
                .iter()
                .map(|&(target, contents, seen)| self.stage_if(target, contents, seen))
                .collect();
        }
        let mut ready: HashSet<&Path> = HashSet::new();
        let mut outcomes: Vec<Option<Result<()>>> = Vec::with_capacity(files.len());
        let mut to_write = Vec::with_capacity(files.len());
        for (i, &(target, _, _)) in files.iter().enumerate() {
            let dir = parent_of(target);
            let made = match self.dirs.contains(dir) || ready.contains(dir) {
                true => Ok(()),
                false => self.create_dirs(dir),
            };
            match made {
                Ok(()) => {
                    ready.insert(dir);
                    outcomes.push(None);
                    to_write.push(i);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let sync_each = self.syncs_each_file();
        let written = on_threads(&to_write, |&i| {
            let (target, contents, seen) = files[i];
            write_temp(target, contents, seen, sync_each)
        });
        for (i, result) in to_write.into_iter().zip(written) {
            let (target, _, seen) = files[i];
            outcomes[i] = Some(result.map(|temp| {
                self.dirs.insert(parent_of(target).to_path_buf());
                self.staged.push(Staged { temp, target: target.to_path_buf(), seen });
            }));
        }
        outcomes.into_iter().map(|outcome| outcome.unwrap_or(Ok(()))).collect()
    }

    /// Whether the batch is made durable (see [`AtomicBatch::new`]).
    pub fn is_durable(&self) -> bool {
        self.durable
    }

    /// Whether [`AtomicBatch::commit`] will make the batch durable with `syncfs`: once before
    /// its renames (every write made on those filesystems so far), once after. A durable big
    /// batch on Linux.
    pub fn syncs_whole_filesystems(&self) -> bool {
        self.durable && cfg!(target_os = "linux") && self.staged.len() > SYNCFS_THRESHOLD
    }

    /// Makes the filesystem holding `dir` one the batch syncs (see
    /// [`AtomicBatch::syncs_whole_filesystems`]), for a file written beside the batch that must
    /// be durable before any of the batch's renames.
    pub fn sync_with(&mut self, dir: &Path) {
        self.dirs.insert(dir.to_path_buf());
    }

    /// Whether each file is made durable as it is staged: where there is no `syncfs`.
    fn syncs_each_file(&self) -> bool {
        self.durable && !cfg!(target_os = "linux")
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
    /// target if the target is still as seen (and not a symbolic link), then makes the renames
    /// durable: a big batch with a second `syncfs`, a small one with an fsync of every touched
    /// directory. On an error, the files renamed so far are whole new files, the rest
    /// are untouched old files, and the remaining temp files are removed.
    pub fn commit(self) -> Result<Committed> {
        let (done, failed) = self.commit_as_far_as_it_goes();
        failed.map(|()| done)
    }

    /// Commits as [`AtomicBatch::commit`] does, and returns what was done even where it failed
    /// part-way, with the error: a caller that recorded what it was about to write learns which
    /// files were renamed before the failure (a failure after them leaves them not yet
    /// durable) and which never were (issue 26).
    pub fn commit_as_far_as_it_goes(mut self) -> (Committed, Result<()>) {
        let mut done = Committed::default();
        let failed = self.commit_into(&mut done);
        (done, failed)
    }

    /// The body of [`AtomicBatch::commit_as_far_as_it_goes`]: `done` fills as it goes.
    fn commit_into(&mut self, done: &mut Committed) -> Result<()> {
        let whole_filesystems = self.syncs_whole_filesystems();
        if self.durable {
            self.sync_staged()?;
        }
        let staged = std::mem::take(&mut self.staged);
        done.written.reserve(staged.len());
        let mut pending = staged.into_iter();
        while let Some(Staged { temp, target, seen }) = pending.next() {
            if self.fail_after == Some(done.written.len()) {
                let _ = std::fs::remove_file(&temp);
                self.staged = pending.collect();
                return Err(std::io::Error::other(format!(
                    "injected failure before writing {}",
                    target.display()
                ))
                .into());
            }
            // A target seen absent: the kernel's no-replace rename is compare and swap in
            // one syscall (issue 16), no lstat needed; elsewhere, or where the filesystem
            // lacks it, lstat then rename.
            test_hooks::kill_if(test_hooks::KILL_AT_RENAME);
            let renamed = match seen {
                _ if test_hooks::nth(test_hooks::EIO_AT_RENAME) => {
                    Some(Err(test_hooks::injected_eio(test_hooks::EIO_AT_RENAME)))
                }
                Seen::Absent => rename_noreplace(&temp, &target),
                _ => None,
            };
            let renamed = match renamed {
                Some(Ok(())) => Ok(()),
                Some(Err(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let _ = std::fs::remove_file(&temp);
                    let why = match std::fs::symlink_metadata(&target) {
                        Ok(meta) if !meta.file_type().is_file() => NotReplaced::NotAFile,
                        _ => NotReplaced::Changed,
                    };
                    done.skipped.push((target, why));
                    continue;
                }
                Some(Err(e)) => Err(e),
                None => {
                    // The compare of compare-and-swap, as close to the rename as it can be.
                    if let Err(why) = still_as_seen(&target, seen) {
                        let _ = std::fs::remove_file(&temp);
                        done.skipped.push((target, why));
                        continue;
                    }
                    fs::rename(&temp, &target)
                }
            };
            if let Err(e) = renamed {
                let _ = std::fs::remove_file(&temp);
                self.staged = pending.collect();
                return Err(e.into());
            }
            done.written.push(target);
        }
        if whole_filesystems {
            // The renames and new folders are metadata: a second syncfs makes them all
            // durable at once, where an fsync per folder cost a device flush each (issue 16:
            // 0.2 ms against 5 ms for the fixture's 48 folders).
            self.syncfs_each_filesystem()?;
        } else if self.durable && self.sync_dirs {
            for dir in &self.dirs {
                fsync(dir)?;
            }
        }
        Ok(())
    }

    /// Makes the staged temp files durable: a few one by one, many in one step with `syncfs`
    /// on each filesystem that holds them (found from their directories, not from each file).
    /// Other systems had each file synced as it was staged.
    fn sync_staged(&self) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            if self.staged.len() <= SYNCFS_THRESHOLD {
                for staged in &self.staged {
                    fsync(&staged.temp)?;
                }
                return Ok(());
            }
            self.syncfs_each_filesystem()?;
        }
        Ok(())
    }

    /// Calls `syncfs` once on each filesystem that holds one of the batch's directories
    /// (found from the directories, not from each file): all their data and metadata, other
    /// programs' writes too, durable for about the cost of one `fsync`.
    #[cfg(target_os = "linux")]
    fn syncfs_each_filesystem(&self) -> Result<()> {
        let mut synced_devices = HashSet::new();
        for dir in &self.dirs {
            // One stat per folder; a folder is opened only for a filesystem not synced yet.
            if !synced_devices.insert(fs::metadata(dir)?.dev()) {
                continue;
            }
            let handle = fs::File::open(dir)?;
            let failed = |source| crate::error::Error::IoAt {
                path: dir.clone(),
                action: "sync the filesystem holding",
                source,
            };
            if test_hooks::nth(test_hooks::EIO_AT_SYNCFS) {
                return Err(failed(test_hooks::injected_eio(test_hooks::EIO_AT_SYNCFS)));
            }
            if let Err(errno) = nix::unistd::syncfs(&handle) {
                return Err(failed(errno.into()));
            }
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn syncfs_each_filesystem(&self) -> Result<()> {
        Ok(())
    }
}

impl Drop for AtomicBatch {
    fn drop(&mut self) {
        for staged in &self.staged {
            if let Err(e) = std::fs::remove_file(&staged.temp) {
                log::debug!("could not remove temp file {}: {e}", staged.temp.display());
            }
        }
    }
}

/// Makes the file or folder at `path` durable with `fsync` (through which a test may inject
/// a failing disk, see `test_hooks`).
fn fsync(path: &Path) -> Result<()> {
    let file = fs::File::open(path)?;
    if test_hooks::nth(test_hooks::EIO_AT_FSYNC) {
        return Err(crate::error::Error::IoAt {
            path: path.to_path_buf(),
            action: "fsync",
            source: test_hooks::injected_eio(test_hooks::EIO_AT_FSYNC),
        });
    }
    file.sync_all()?;
    Ok(())
}

/// Returns the directory that holds `target`.
fn parent_of(target: &Path) -> &Path {
    target.parent().unwrap_or(Path::new("."))
}

/// Writes `contents` to a new temp file beside `target` and returns its path. The temp file
/// gets the permissions of the file `seen` at `target` (or, for [`Seen::Anything`], of the
/// file there now), and is synced if `sync_each`. An error leaves no temp file behind.
fn write_temp(target: &Path, contents: &[u8], seen: Seen, sync_each: bool) -> Result<PathBuf> {
    let mode = match seen {
        Seen::File(id) => Some(id.mode),
        Seen::Absent => None,
        // Our own files: look now, as the planner did not.
        Seen::Anything => std::fs::symlink_metadata(target)
            .ok()
            .filter(|m| m.file_type().is_file())
            .map(|m| m.mode()),
    };
    let (temp, file) = create_temp(target)?;
    let written = (|| -> Result<()> {
        let mut file = file;
        file.write_all(contents)?;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
        if sync_each {
            file.sync_all()?;
        }
        Ok(())
    })();
    match written {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// How many threads write a big batch's temp files. Issue 16, the fixture's 991 files on 2
/// cores: 9.5 ms on 1 thread, 8.6 ms on 2, 6.9 ms on 4 (the kernel serialises much of file
/// creation), but 4 raised the export's peak RSS from 9.6 to 10.1 MB, over its 10 MB goal.
const WRITER_THREADS: usize = 2;
/// From this many files on, a batch is written from [`WRITER_THREADS`] threads; a watcher's
/// batch of a few saves is not worth starting one.
const WRITE_ON_THREADS_FROM: usize = 64;

/// Returns `work` done on each of `items`, in order, from up to [`WRITER_THREADS`] threads
/// (this one among them), each taking a contiguous share. A share whose thread cannot be
/// started is done on this thread.
fn on_threads<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let share = items.len().div_ceil(WRITER_THREADS).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let mut shares = items.chunks(share);
        let own = shares.next().unwrap_or_default();
        let started: Vec<_> = shares
            .map(|chunk| {
                let writer = std::thread::Builder::new()
                    .name("writer".into())
                    .spawn_scoped(scope, move || chunk.iter().map(work).collect::<Vec<R>>());
                (chunk, writer)
            })
            .collect();
        let mut done: Vec<R> = own.iter().map(work).collect();
        for (chunk, writer) in started {
            match writer {
                Ok(writer) => match writer.join() {
                    Ok(results) => done.extend(results),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(_) => done.extend(chunk.iter().map(work)),
            }
        }
        done
    })
}

/// Creates a fresh temp file for `target`, exclusively (`O_EXCL`: a file or link already at
/// the name is never opened, let alone written through), with the default mode.
fn create_temp(target: &Path) -> Result<(PathBuf, fs::File)> {
    use fs::os::unix::fs::OpenOptionsExt as _;
    let mut attempt = 0;
    loop {
        let temp = temp_path(target);
        let opened = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp);
        match opened {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < TEMP_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Renames `temp` to `target` unless something is at `target` (`renameat2` with
/// `RENAME_NOREPLACE`: an `AlreadyExists` error then). None where the system or the filesystem
/// cannot, for the caller's lstat-then-rename; a path holding a NUL byte is EINVAL, so it goes
/// that way too, and fails there.
fn rename_noreplace(temp: &Path, target: &Path) -> Option<std::io::Result<()>> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, temp, AT_FDCWD, target, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => Some(Ok(())),
            Err(Errno::EINVAL | Errno::ENOSYS) => None,
            Err(errno) => Some(Err(errno.into())),
        }
    }
    // nix offers renameat2 on glibc only; musl has it too, so it is called directly there.
    #[cfg(all(target_os = "linux", target_env = "musl"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let from = std::ffi::CString::new(temp.as_os_str().as_bytes()).ok()?;
        let to = std::ffi::CString::new(target.as_os_str().as_bytes()).ok()?;
        // SAFETY: both are NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Some(Ok(()));
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) => None,
            _ => Some(Err(e)),
        }
    }
    #[cfg(not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl"))))]
    {
        let _ = (temp, target);
        None
    }
}

/// Checks that `target` is still as `seen`: one `lstat`, which never follows a link.
fn still_as_seen(target: &Path, seen: Seen) -> std::result::Result<(), NotReplaced> {
    match (std::fs::symlink_metadata(target), seen) {
        (Ok(meta), _) if !meta.file_type().is_file() => Err(NotReplaced::NotAFile),
        (Ok(_), Seen::Anything) | (Err(_), Seen::Anything) => Ok(()),
        (Err(e), Seen::Absent) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        (Ok(meta), Seen::File(id)) if FileId::of(&meta) == id => Ok(()),
        _ => Err(NotReplaced::Changed),
    }
}

/// Moves the file `target` to `dest` (a name nothing holds yet; its folders are created) if
/// it is still as `seen`: the way a file of ours is removed, recoverably. A file written or
/// replaced before the move is left where it is ([`NotReplaced::Changed`]); one written during
/// it (its data or size changed under the rename) is moved back, unless its name was taken
/// again meanwhile, in which case it stays at `dest`, which is logged. A rename keeps the
/// file's content and inode, so nothing is lost either way.
pub fn move_if(
    target: &Path,
    dest: &Path,
    seen: Seen,
) -> Result<std::result::Result<(), NotReplaced>> {
    if let Err(why) = still_as_seen(target, seen) {
        return Ok(Err(why));
    }
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir)?;
    }
    match rename_noreplace(target, dest) {
        Some(Ok(())) => {}
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Err(NotReplaced::Changed));
        }
        Some(Err(e)) => {
            return Err(crate::error::Error::IoAt {
                path: target.to_path_buf(),
                action: "move aside",
                source: e,
            });
        }
        None => fs::rename(target, dest)?,
    }
    // The rename moves the ctime, nothing else: anything more is a write that raced it.
    let moved = std::fs::symlink_metadata(dest).map(|meta| FileId::of(&meta));
    let same = match (seen, &moved) {
        (Seen::File(id), Ok(now)) => FileId { ctime: id.ctime, ..*now } == id,
        _ => true,
    };
    if same {
        return Ok(Ok(()));
    }
    match rename_noreplace(dest, target) {
        Some(Ok(())) => {}
        _ => log::warn!(
            "{} changed while being moved to {}; it stays there",
            target.display(),
            dest.display()
        ),
    }
    Ok(Err(NotReplaced::Changed))
}

/// Returns what is at `path` now, for a later [`AtomicBatch::stage_if`].
pub fn seen_at(path: &Path) -> Seen {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Seen::File(FileId::of(&meta)),
        Err(_) => Seen::Absent,
    }
}

/// Replaces `target` with `contents` atomically (see [`AtomicBatch`]). A symbolic link at
/// `target` is an error: it is not replaced, nor written through.
pub fn write_file(target: &Path, contents: &[u8], durable: bool) -> Result<()> {
    replace_one(AtomicBatch::new(durable), target, contents)
}

/// Replaces `target` with `contents` atomically, its data synced before the rename, the rename
/// left for a `syncfs` of the same filesystem that follows (a batch's, see
/// [`AtomicBatch::sync_with`]) to make durable: a crash before that `syncfs` leaves the old
/// file or the whole new one, never an empty one, for one `fsync` where a durable
/// [`write_file`] makes two (issue 16).
pub fn write_file_before_syncfs(target: &Path, contents: &[u8]) -> Result<()> {
    let mut batch = AtomicBatch::new(true);
    batch.sync_dirs = false;
    replace_one(batch, target, contents)
}

/// How durable [`write_file_streamed`] makes the file it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Not synced (`--no-fsync`).
    None,
    /// As [`write_file`] with `durable`: the data synced before the rename, the folder after.
    Full,
    /// As [`write_file_before_syncfs`]: the data synced before the rename, the rename left to
    /// a `syncfs` that follows.
    BeforeSyncfs,
}

/// Replaces `target` atomically with what `fill` writes, streamed into the temp file through
/// a buffer, so that no copy of the whole content is held (the sync state of a big board,
/// issue 32); as [`write_file`] otherwise, the permissions of the file there kept. A target
/// that is a symbolic link or not a regular file is refused, as there. An error (of `fill`
/// too) leaves the target as it was and no temp file behind.
pub fn write_file_streamed(
    target: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mode = std::fs::symlink_metadata(target)
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| m.mode());
    let (temp, file) = create_temp(target)?;
    let replaced = (|| -> Result<()> {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
        drop(file);
        if durability != Durability::None {
            fsync(&temp)?;
        }
        if still_as_seen(target, Seen::Anything).is_err() {
            return Err(crate::error::Error::IoAt {
                path: target.to_path_buf(),
                action: "replace",
                source: std::io::Error::other("it is a symbolic link or not a regular file"),
            });
        }
        test_hooks::kill_if(test_hooks::KILL_AT_RENAME);
        if test_hooks::nth(test_hooks::EIO_AT_RENAME) {
            return Err(test_hooks::injected_eio(test_hooks::EIO_AT_RENAME).into());
        }
        fs::rename(&temp, target)?;
        Ok(())
    })();
    if let Err(e) = replaced {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    if durability == Durability::Full {
        fsync(parent_of(target))?;
    }
    Ok(())
}

/// Replaces `target` with `contents` in a batch of its own.
fn replace_one(mut batch: AtomicBatch, target: &Path, contents: &[u8]) -> Result<()> {
    batch.stage(target, contents)?;
    let done = batch.commit()?;
    if !done.skipped.is_empty() {
        return Err(crate::error::Error::IoAt {
            path: target.to_path_buf(),
            action: "replace",
            source: std::io::Error::other("it is a symbolic link or not a regular file"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt;

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
        assert_eq!(batch.commit().unwrap().written, vec![target.clone()]);
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
    fn a_file_written_before_a_syncfs_replaces_the_old_whole_and_keeps_its_permissions() {
        let dir = scratch("before-syncfs");
        let target = dir.join("state");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_file_before_syncfs(&target, b"new state").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new state");
        assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(names(&dir), ["state"]);
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
    fn a_big_batch_is_written_from_threads_each_outcome_in_its_place() {
        let dir = scratch("stage-all");
        std::fs::write(dir.join("blocker"), b"").unwrap();
        // Enough files for the writer threads, over several folders, and three that cannot be
        // staged (their folder would be a file) among them.
        let targets: Vec<PathBuf> = (0..WRITE_ON_THREADS_FROM * 2)
            .map(|i| match i % 50 {
                7 => dir.join(format!("blocker/{i}.html")),
                _ => dir.join(format!("group{}/{i}.html", i % 5)),
            })
            .collect();
        let contents: Vec<Vec<u8>> =
            (0..targets.len()).map(|i| format!("file {i}").into()).collect();
        let files: Vec<(&Path, &[u8], Seen)> = targets
            .iter()
            .zip(&contents)
            .map(|(target, content)| (target.as_path(), content.as_slice(), Seen::Absent))
            .collect();
        let mut batch = AtomicBatch::new(true);
        let outcomes = batch.stage_all(&files);
        assert_eq!(outcomes.len(), files.len());
        for (i, outcome) in outcomes.iter().enumerate() {
            assert_eq!(outcome.is_err(), i % 50 == 7, "file {i}: {:?}", outcome.as_ref().err());
        }
        let done = batch.commit().unwrap();
        assert_eq!(done.written.len(), files.len() - 3);
        for (i, target) in targets.iter().enumerate().filter(|(i, _)| i % 50 != 7) {
            assert_eq!(std::fs::read(target).unwrap(), format!("file {i}").into_bytes());
        }
        for group in 0..5 {
            let left = names(&dir.join(format!("group{group}")));
            assert!(left.iter().all(|name| !is_temp_name(name)), "temp files left: {left:?}");
        }
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

    #[test]
    fn a_target_changed_since_it_was_seen_is_not_replaced() {
        let dir = scratch("cas");
        let (edited, created, kept) = (dir.join("edited"), dir.join("created"), dir.join("kept"));
        std::fs::write(&edited, b"old").unwrap();
        std::fs::write(&kept, b"old").unwrap();
        let (seen_edited, seen_created, seen_kept) =
            (seen_at(&edited), seen_at(&created), seen_at(&kept));
        assert_eq!(seen_created, Seen::Absent);
        let mut batch = AtomicBatch::new(false);
        batch.stage_if(&edited, b"db", seen_edited).unwrap();
        batch.stage_if(&created, b"db", seen_created).unwrap();
        batch.stage_if(&kept, b"db", seen_kept).unwrap();
        // Saves land between the plan and the commit: same size, and a new file.
        std::fs::write(&edited, b"new").unwrap();
        std::fs::write(&created, b"mine").unwrap();
        let done = batch.commit().unwrap();
        assert_eq!(done.written, vec![kept.clone()]);
        assert_eq!(
            done.skipped,
            vec![(edited.clone(), NotReplaced::Changed), (created.clone(), NotReplaced::Changed)]
        );
        assert_eq!(std::fs::read(&edited).unwrap(), b"new");
        assert_eq!(std::fs::read(&created).unwrap(), b"mine");
        assert_eq!(std::fs::read(&kept).unwrap(), b"db");
        assert_eq!(names(&dir), vec!["created", "edited", "kept"], "no temp file left");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_symbolic_link_at_the_target_is_neither_replaced_nor_written_through() {
        let dir = scratch("symlink");
        let outside = dir.join("outside");
        std::fs::write(&outside, b"precious").unwrap();
        let link = dir.join("a.css");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(write_file(&link, b"evil", false).is_err());
        let mut batch = AtomicBatch::new(false);
        batch.stage_if(&link, b"evil", Seen::Absent).unwrap();
        assert_eq!(batch.commit().unwrap().skipped, vec![(link.clone(), NotReplaced::NotAFile)]);
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn temp_names_are_unpredictable_and_a_planted_one_is_never_opened() {
        let target = Path::new("/nonexistent/a.html");
        let (a, b) = (temp_path(target), temp_path(target));
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(is_temp_name(&name), "{name}");
        // pid, counter, then 16 hex digits of randomness.
        let random = name.trim_end_matches(".tmp").rsplit('-').next().unwrap();
        assert_eq!(random.len(), 16, "{name}");
        // A link planted at a temp name: creating exclusively fails rather than following it.
        let dir = scratch("planted");
        let outside = dir.join("outside");
        std::fs::write(&outside, b"precious").unwrap();
        let planted = dir.join(".x.mybb-sync-1-1-0000000000000000.tmp");
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&planted);
        assert!(opened.is_err());
        write_file(&dir.join("x"), b"new", false).unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        let _ = std::fs::remove_dir_all(dir);
    }
}
