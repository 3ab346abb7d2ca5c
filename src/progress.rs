//! Progress of long operations, on stderr: `planning: 512/974 files`, redrawn in place.
//!
//! Shown only when stderr is a terminal and `-q` was not given ([`enable`], from `main`), for
//! an operation over more than a few hundred items, and only once it has run for a second: a
//! quick export prints nothing more than it did. Scripts and pipes never see it. The line is
//! wiped when the operation ends, and before any log line (`main`'s logger calls [`clear`]).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether progress may be shown at all (stderr is a terminal, not `-q`).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Whether a progress line is on the screen now.
static DRAWN: AtomicBool = AtomicBool::new(false);

/// Operations over fewer items than this show no progress.
const MIN_ITEMS: usize = 300;
/// How long an operation runs before its progress shows.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often the line is redrawn at most.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Allows progress lines, when `allowed` (stderr is a terminal and not `-q`). The test hook
/// `progress-after-ms=N` shows them after N ms instead of a second, for the test suite.
pub fn enable(allowed: bool) {
    ENABLED.store(allowed, Ordering::Relaxed);
}

/// Wipes the progress line, if one is shown, so that a log line starts at column 0.
pub fn clear() {
    if DRAWN.swap(false, Ordering::Relaxed) {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
}

/// One operation's progress; wipes its line when dropped.
pub struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    started: Instant,
    last_drawn: Option<Instant>,
    show_after: Duration,
    active: bool,
}

impl Progress {
    /// Starts the progress of `what` (`planning`, `writing`) over `total` items.
    pub fn new(what: &'static str, total: usize) -> Progress {
        let show_after = crate::test_hooks::number("progress-after-ms")
            .map_or(SHOW_AFTER, |ms| Duration::from_millis(ms as u64));
        Progress {
            what,
            total,
            done: 0,
            started: Instant::now(),
            last_drawn: None,
            show_after,
            active: ENABLED.load(Ordering::Relaxed) && total >= MIN_ITEMS,
        }
    }

    /// Counts one item done, and redraws the line when it is due.
    pub fn tick(&mut self) {
        self.done += 1;
        if !self.active || self.started.elapsed() < self.show_after {
            return;
        }
        let now = Instant::now();
        if self.last_drawn.is_some_and(|at| now - at < REDRAW_EVERY) && self.done < self.total {
            return;
        }
        self.last_drawn = Some(now);
        let _ =
            write!(std::io::stderr(), "\r\x1b[K{}: {}/{} files", self.what, self.done, self.total);
        DRAWN.store(true, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.last_drawn.is_some() {
            clear();
        }
    }
}
