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
//!   tells how much of the distance to floor a is the price of atomicity. `resynced`: `durable`
//!   with a second `syncfs` after the renames in place of the fsync per directory (floor b2),
//!   the pattern the export itself uses since issue 16. Same std calls as the
//!   tool's src/atomic.rs, so a ratio measures the tool's overhead, not a language difference.
//! - `run CMD [ARG...]`: runs CMD (stdin and stderr inherited, its stdout sent to stderr so that
//!   stdout carries only the result), waits for it, and prints
//!   `wall_us maxrss_kb user_us sys_us status` on one line on stdout: wall time from spawn to
//!   reaping, and the child's peak RSS and CPU time from `getrusage(RUSAGE_CHILDREN)`, which is
//!   exact for the one child this process ever has. Polling /proc/PID/status for VmHWM would
//!   miss the last milliseconds of a 50 ms process, and /usr/bin/time is not on every machine.
//!   The helper exits 0 whatever the child's status; bench.sh checks `status` (a number, or
//!   `sigN` when a signal ended the child).
//! - `live ADDR N [FILE]`: N LiveReload browsers for `watch --live-reload` (part 7). Opens N
//!   WebSocket connections to `ws://ADDR/livereload`, says the protocol 7 hello on each and waits
//!   for the server's, prints `ready`, then prints `MICROS MTIME MESSAGE` for every message the
//!   first connection gets: the wall clock when it arrived and FILE's modification time at that
//!   moment (0 without FILE), both in microseconds since the epoch, comparable with bash's
//!   EPOCHREALTIME; the others read and discard, as idle tabs do. Runs until the server closes or it is
//!   killed. The WebSocket client is the least RFC 6455 needs for this (a fixed key, a zero
//!   mask, unfragmented server frames): the crate uses tungstenite, this file stays std-only.

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
        ["floor", "resynced", src, dst] => floor(Floor::Resynced, Path::new(src), Path::new(dst)),
        ["run", cmd, rest @ ..] => run(cmd, rest),
        ["live", addr, n, file @ ..] if file.len() <= 1 => n
            .parse()
            .map_err(|_| "live: N must be a number".into())
            .and_then(|n| live(addr, n, file.first().map(Path::new))),
        _ => Err(
            "usage: bench-helper floor plain|atomic|durable|resynced SRC DST | run CMD [ARG...] | live ADDR N [FILE]"
                .into(),
        ),
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
    /// Temp files, one syncfs, renames, one more syncfs (floor b2).
    Resynced,
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
        if how != Floor::Atomic {
            sync_filesystem(dst)?;
        }
        for (temp, target) in &staged {
            std::fs::rename(temp, target)?;
        }
        if how == Floor::Resynced {
            sync_filesystem(dst)?;
        }
        if how != Floor::Durable {
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

/// Calls `syncfs` on the filesystem that holds `dir`.
fn sync_filesystem(dir: &Path) -> Result<()> {
    let any = std::fs::File::open(dir)?;
    // SAFETY: `any` is an open descriptor for the duration of the call.
    if unsafe { syncfs(any.as_raw_fd()) } != 0 {
        return Err(format!("syncfs: {}", std::io::Error::last_os_error()))?;
    }
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

/// Runs `live ADDR N [FILE]` (see the top of the file).
fn live(addr: &str, n: usize, file: Option<&Path>) -> Result<()> {
    let micros = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros())
    };
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        conns.push(ws_connect(addr)?);
    }
    let mut first = conns.remove(0);
    for mut idle in conns {
        std::thread::spawn(move || while ws_read(&mut idle).is_ok() {});
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    loop {
        let message = ws_read(&mut first)?;
        let now = micros(std::time::SystemTime::now());
        let mtime = file
            .and_then(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .map_or(0, micros);
        writeln!(out, "{now} {mtime} {message}")?;
        out.flush()?;
    }
}

/// Opens a WebSocket to `ws://addr/livereload` and completes the LiveReload hello.
fn ws_connect(addr: &str) -> Result<std::net::TcpStream> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    write!(
        stream,
        "GET /livereload HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(format!("no WebSocket at {addr}: {}", String::from_utf8_lossy(&head)))?;
    }
    let hello = br#"{"command":"hello","protocols":["http://livereload.com/protocols/official-7"]}"#;
    // FIN + text; masked (a client must), with a zero mask, so the payload goes as it is.
    let mut frame = vec![0x81, 0x80 | hello.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(hello);
    stream.write_all(&frame)?;
    let answer = ws_read(&mut stream)?;
    if !answer.contains("\"hello\"") {
        return Err(format!("the server answered the hello with {answer}"))?;
    }
    Ok(stream)
}

/// Returns the payload of the next text frame from the server (which sends whole, unmasked
/// frames); pings and other control frames are skipped, a close is an error.
fn ws_read(stream: &mut std::net::TcpStream) -> Result<String> {
    use std::io::Read;
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head)?;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext)?;
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext)?;
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; usize::try_from(len)?];
        stream.read_exact(&mut payload)?;
        match head[0] & 0x0f {
            0x1 => return Ok(String::from_utf8(payload)?),
            0x8 => return Err("the server closed the connection")?,
            _ => {}
        }
    }
}
