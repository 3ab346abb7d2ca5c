//! scripts/bench-helper.rs: the measuring half of scripts/bench.sh, kept out of the crate.
//!
//! bench.sh compiles this file on its own with `rustc` (std only, no dependencies, nothing in
//! Cargo.toml), because two of its jobs cannot be done honestly from bash:
//!
//! - `floor plain|atomic|durable SRC DST`: the floors an export is measured against. Reads every
//!   regular, non-hidden file under SRC into memory (the files an export wrote), then writes the
//!   same relative paths under DST, which must not exist, and prints the microseconds the
//!   writing took: the reading, and starting the process, are not counted, so a floor is as low
//!   as the pattern allows. `plain`: create the directories, then `File::create` + `write_all`
//!   per file; nothing synced (floor a). `durable`: the cheapest durable pattern (floor b):
//!   every file written to a hidden temp file beside its target, all made durable by one
//!   `syncfs`, each renamed over its target, then one `fsync` per directory (every directory of
//!   the tree, and DST's parent, whose entry for DST is new). `atomic`: `durable` without the
//!   syncing (temp files, renames), the least a `--no-fsync` export must do to stay atomic; it
//!   tells how much of the distance to floor a is the price of atomicity. Same std calls as the
//!   tool's src/atomic.rs, so a ratio measures the tool's overhead, not a language difference.
//! - `run CMD [ARG...]`: runs CMD (stdin and stderr inherited, its stdout sent to stderr so that
//!   stdout carries only the result), waits for it, and prints
//!   `wall_us maxrss_kb user_us sys_us status` on one line on stdout: wall time from spawn to
//!   reaping, and the child's peak RSS and CPU time from `getrusage(RUSAGE_CHILDREN)`, which is
//!   exact for the one child this process ever has. Polling /proc/PID/status for VmHWM would
//!   miss the last milliseconds of a 50 ms process, and /usr/bin/time is not on every machine.
//!   The helper exits 0 whatever the child's status; bench.sh checks `status` (a number, or
//!   `sigN` when a signal ended the child).

use std::collections::BTreeSet;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// `struct rusage` of 64-bit Linux (two `struct timeval`s, then fourteen longs).
#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    longs: [i64; 14],
}

const RUSAGE_CHILDREN: i32 = -1;

unsafe extern "C" {
    fn syncfs(fd: i32) -> i32;
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["floor", "plain", src, dst] => floor(Floor::Plain, Path::new(src), Path::new(dst)),
        ["floor", "atomic", src, dst] => floor(Floor::Atomic, Path::new(src), Path::new(dst)),
        ["floor", "durable", src, dst] => floor(Floor::Durable, Path::new(src), Path::new(dst)),
        ["run", cmd, rest @ ..] => run(cmd, rest),
        _ => {
            Err("usage: bench-helper floor plain|atomic|durable SRC DST | run CMD [ARG...]".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-helper: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How a floor writes its files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Floor {
    /// Straight into place, nothing synced (floor a).
    Plain,
    /// Temp files renamed into place, nothing synced.
    Atomic,
    /// Temp files, one syncfs, renames, one fsync per directory (floor b).
    Durable,
}

/// Writes the files under `src` to `dst` with the pattern `how` and prints the microseconds the
/// writing took.
fn floor(how: Floor, src: &Path, dst: &Path) -> Result<()> {
    if dst.exists() {
        return Err(format!("{} exists; a floor is measured into a new directory", dst.display()))?;
    }
    let mut files = Vec::new();
    collect(src, Path::new(""), &mut files)?;
    if files.is_empty() {
        return Err(format!("no files under {}", src.display()))?;
    }

    let started = Instant::now();
    // Every directory of the new tree (DST included), parents before children.
    let mut dirs = BTreeSet::new();
    for (relative, _) in &files {
        let mut dir = relative.parent();
        while let Some(d) = dir {
            dirs.insert(dst.join(d));
            dir = d.parent();
        }
    }
    for dir in &dirs {
        std::fs::create_dir(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    }
    if how == Floor::Plain {
        for (relative, contents) in &files {
            std::fs::File::create(dst.join(relative))?.write_all(contents)?;
        }
    } else {
        let mut staged = Vec::with_capacity(files.len());
        for (relative, contents) in &files {
            let target = dst.join(relative);
            let name = target.file_name().unwrap().to_string_lossy();
            let temp = target.with_file_name(format!(".{name}.floor.tmp"));
            std::fs::File::create(&temp)?.write_all(contents)?;
            staged.push((temp, target));
        }
        if how == Floor::Durable {
            let any = std::fs::File::open(&staged[0].0)?;
            // SAFETY: `any` is an open descriptor for the duration of the call.
            if unsafe { syncfs(any.as_raw_fd()) } != 0 {
                return Err(format!("syncfs: {}", std::io::Error::last_os_error()))?;
            }
        }
        for (temp, target) in &staged {
            std::fs::rename(temp, target)?;
        }
        if how == Floor::Atomic {
            println!("{}", started.elapsed().as_micros());
            return Ok(());
        }
        let parent = dst.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        for dir in dirs.iter().map(PathBuf::as_path).chain([parent]) {
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    println!("{}", started.elapsed().as_micros());
    Ok(())
}

/// Appends every regular file under `base/relative` whose name does not start with `.` (the
/// tool's state and lock files) to `files`, as (relative path, contents).
fn collect(base: &Path, relative: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    for entry in std::fs::read_dir(base.join(relative))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = relative.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect(base, &path, files)?;
        } else {
            files.push((path.clone(), std::fs::read(base.join(&path))?));
        }
    }
    Ok(())
}

/// Runs `cmd` with `args` and prints its wall time, peak RSS, CPU time and exit status.
fn run(cmd: &str, args: &[&str]) -> Result<()> {
    let started = Instant::now();
    let status = Command::new(cmd)
        .args(args)
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("{cmd}: {e}"))?;
    let wall = started.elapsed().as_micros();
    let mut usage = Rusage::default();
    // SAFETY: `usage` is a valid, writable `struct rusage`.
    if unsafe { getrusage(RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()))?;
    }
    let micros = |tv: [i64; 2]| tv[0] * 1_000_000 + tv[1];
    // ru_maxrss is the first of the fourteen longs, in kilobytes on Linux.
    println!(
        "{wall} {} {} {} {}",
        usage.longs[0],
        micros(usage.utime),
        micros(usage.stime),
        status
            .code()
            .map_or_else(|| format!("sig{}", status.signal().unwrap_or(0)), |c| c.to_string())
    );
    Ok(())
}
