//! Safeguard 2: a bulk export never races the watcher.
//!
//! Inside one process, [`Gate`] (a `Mutex` + `Condvar`) stops the watcher's worker before each
//! batch while an export runs; [`Gate::pause`] returns a guard whose `Drop` reopens it, so an
//! early return or a panic cannot leave the watcher shut. Across processes, [`SyncLock`] is an
//! advisory `flock` on a file in the sync root's `.mybb-sync/` folder: an export holds it
//! exclusively, a watcher holds it shared around each batch. The kernel releases a dead
//! process's lock, so a killed export cannot leave a watcher waiting.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fs_err as fs;

use crate::error::{Error, Result};

/// The lock file in mybb-sync's own folder of the sync root (`sync/own_dir.rs`).
pub const LOCK_FILE: &str = "lock";

/// The in-process pause gate. Open by default.
#[derive(Debug, Default)]
pub struct Gate {
    paused: Mutex<bool>,
    changed: Condvar,
    /// How many threads are blocked in [`Gate::wait_while_paused`] right now.
    waiting: std::sync::atomic::AtomicUsize,
}

impl Gate {
    /// Returns an open gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    fn state(&self) -> MutexGuard<'_, bool> {
        // A panic while holding this lock cannot leave a half-updated bool behind.
        self.paused.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shuts the gate. Idempotent: pausing a paused gate changes nothing and logs nothing.
    pub fn pause(&self) {
        let mut paused = self.state();
        if !*paused {
            *paused = true;
            log::info!("watcher paused");
        }
    }

    /// Opens the gate and wakes the waiting worker. Idempotent.
    pub fn resume(&self) {
        let mut paused = self.state();
        if *paused {
            *paused = false;
            log::info!("watcher resumed");
            self.changed.notify_all();
        }
    }

    /// Shuts the gate without a word, until the returned guard is dropped: for a pause the
    /// caller announces itself (`watch --export-first`, whose watcher says it waits).
    pub fn quiet_pause_guard(&self) -> PauseGuard<'_> {
        *self.state() = true;
        PauseGuard { gate: self }
    }

    /// Shuts the gate until the returned guard is dropped.
    pub fn pause_guard(&self) -> PauseGuard<'_> {
        self.pause();
        PauseGuard { gate: self }
    }

    /// Returns true if and only if the gate is shut.
    pub fn is_paused(&self) -> bool {
        *self.state()
    }

    /// Blocks on the gate's condition variable while it is shut, until [`Gate::resume`] opens
    /// it or `stopping()` turns true (checked whenever [`Gate::wake`] is called). No polling:
    /// the waiting thread sleeps until one of them. Returns true if and only if it is open.
    pub fn wait_while_paused(&self, stopping: impl Fn() -> bool) -> bool {
        use std::sync::atomic::Ordering;
        let paused = self.state();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let paused = self
            .changed
            .wait_while(paused, |paused| *paused && !stopping())
            .unwrap_or_else(PoisonError::into_inner);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        !*paused
    }

    /// Returns how many threads are blocked on the gate right now: a condition tests wait for
    /// instead of sleeping ("the worker has a batch due and is held at the gate").
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wakes every thread in [`Gate::wait_while_paused`] to look at its stop condition again.
    /// Taking the lock first means a waiter that has just checked cannot miss the wake-up.
    pub fn wake(&self) {
        let _paused = self.state();
        self.changed.notify_all();
    }

    /// Waits until the gate is open or `timeout` passes; returns true if and only if it is open.
    pub fn wait_open(&self, timeout: Duration) -> bool {
        let paused = self.state();
        let (paused, _) = self
            .changed
            .wait_timeout_while(paused, timeout, |paused| *paused)
            .unwrap_or_else(PoisonError::into_inner);
        !*paused
    }
}

/// Keeps a [`Gate`] shut while it lives.
#[derive(Debug)]
#[must_use = "the gate reopens as soon as the guard is dropped"]
pub struct PauseGuard<'a> {
    gate: &'a Gate,
}

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        self.gate.resume();
    }
}

/// The sync root's lock file, shared between every mybb-sync process using that root.
#[derive(Debug)]
pub struct SyncLock {
    path: PathBuf,
}

/// A held lock; released on drop (and by the kernel if the process dies).
#[derive(Debug)]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SyncLockGuard {
    _file: std::fs::File,
}

impl SyncLock {
    /// Returns the lock whose file is [`LOCK_FILE`] in `dir`, mybb-sync's own folder of a
    /// sync root (`sync/own_dir.rs`, which creates it). Nothing is created until it is taken.
    pub fn in_dir(dir: &Path) -> Result<SyncLock> {
        Ok(SyncLock { path: dir.join(LOCK_FILE) })
    }

    fn open(&self) -> Result<std::fs::File> {
        let file =
            fs::OpenOptions::new().create(true).truncate(false).write(true).open(&self.path)?;
        Ok(file.into_parts().0)
    }

    /// Takes the lock exclusively, waiting for every holder to let go. Bulk writers hold it.
    pub fn exclusive(&self) -> Result<SyncLockGuard> {
        let file = self.open()?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                log::info!("waiting for another mybb-sync run to finish ({})", self.path.display());
                file.lock().map_err(|e| self.error(e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(self.error(e)),
        }
        Ok(SyncLockGuard { _file: file })
    }

    /// Takes the lock shared, waiting while an export holds it. The watcher holds it per batch.
    pub fn shared(&self) -> Result<SyncLockGuard> {
        let file = self.open()?;
        match file.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                log::info!("an export or import is running; waiting for it to finish");
                file.lock_shared().map_err(|e| self.error(e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(self.error(e)),
        }
        Ok(SyncLockGuard { _file: file })
    }

    fn error(&self, source: std::io::Error) -> Error {
        Error::IoAt { path: self.path.clone(), action: "lock", source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn pause_and_resume_are_idempotent() {
        let gate = Gate::new();
        assert!(!gate.is_paused());
        gate.pause();
        gate.pause();
        assert!(gate.is_paused());
        gate.resume();
        assert!(!gate.is_paused());
        gate.resume();
        assert!(!gate.is_paused());
    }

    #[test]
    fn the_guard_reopens_the_gate_even_on_panic() {
        let gate = Gate::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = gate.pause_guard();
            assert!(gate.is_paused());
            panic!("export failed");
        }));
        assert!(result.is_err());
        assert!(!gate.is_paused());
    }

    #[test]
    fn a_waiting_worker_goes_on_when_the_gate_opens() {
        let gate = Arc::new(Gate::new());
        gate.pause();
        let passed = Arc::new(AtomicBool::new(false));
        let worker = {
            let (gate, passed) = (Arc::clone(&gate), Arc::clone(&passed));
            std::thread::spawn(move || {
                while !gate.wait_open(Duration::from_secs(10)) {}
                passed.store(true, Ordering::SeqCst);
            })
        };
        assert!(!gate.wait_open(Duration::from_millis(20)));
        assert!(!passed.load(Ordering::SeqCst));
        gate.resume();
        worker.join().unwrap();
        assert!(passed.load(Ordering::SeqCst));
    }

    #[test]
    fn an_exclusive_holder_blocks_shared_holders_until_released() {
        let root = std::env::temp_dir().join(format!("mybb-sync-lock-{}", std::process::id()));
        fs::create_dir_all(&root).unwrap();
        let lock = SyncLock::in_dir(&root).unwrap();
        let held = lock.exclusive().unwrap();
        let probe = std::fs::File::open(root.join(LOCK_FILE)).unwrap();
        assert!(matches!(probe.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock)));
        drop(held);
        probe.try_lock_shared().unwrap();
        let shared = lock.shared().unwrap();
        drop(shared);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_paused_waiter_sleeps_until_resumed_or_stopped() {
        let gate = Arc::new(Gate::new());
        let stop = Arc::new(AtomicBool::new(false));
        gate.pause();
        let waiter = |gate: &Arc<Gate>, stop: &Arc<AtomicBool>| {
            let (gate, stop) = (Arc::clone(gate), Arc::clone(stop));
            std::thread::spawn(move || gate.wait_while_paused(|| stop.load(Ordering::SeqCst)))
        };
        let resumed = waiter(&gate, &stop);
        gate.resume();
        assert!(resumed.join().unwrap());
        gate.pause();
        let stopped = waiter(&gate, &stop);
        stop.store(true, Ordering::SeqCst);
        gate.wake();
        assert!(!stopped.join().unwrap(), "woken by the stop, the gate still shut");
    }
}
