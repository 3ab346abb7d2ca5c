//! Fault-injection hooks for the test suite, kept out of the command line a user meets.
//!
//! The integration tests crash an export part-way and stop a watcher after a number of writes
//! through one environment variable, `MYBB_SYNC_TEST_HOOKS`, read only here: a comma-separated
//! list of `NAME=N`, e.g. `fail-after=100`. Unknown names are ignored.

/// The environment variable the hooks are read from.
pub const ENV_TEST_HOOKS: &str = "MYBB_SYNC_TEST_HOOKS";

/// Fail an export's file batch after this many files were renamed into place, as a crash would.
pub const FAIL_AFTER: &str = "fail-after";
/// Stop a watcher once this many items were written to the database.
pub const EXIT_AFTER: &str = "exit-after";

/// Plan and apply an export in parts of about this many items (see `plan::PART_ITEMS`), so a
/// small board shows the parts a big one is exported in.
pub const PART_ITEMS: &str = "part-items";

/// The hooks that change how a command runs, read once from the environment by `app.rs` and
/// passed to the commands that take them, apart from the options a user gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    /// See [`FAIL_AFTER`].
    pub fail_after: Option<usize>,
    /// See [`EXIT_AFTER`].
    pub exit_after: Option<usize>,
    /// See [`PART_ITEMS`].
    pub part_items: Option<usize>,
}

impl Hooks {
    /// Returns the hooks the environment sets (none for a user).
    pub fn from_env() -> Hooks {
        Hooks {
            fail_after: number(FAIL_AFTER),
            exit_after: number(EXIT_AFTER),
            part_items: number(PART_ITEMS),
        }
    }
}

/// Returns the number set for hook `name`, or None when the hook is not set (or not a number).
pub fn number(name: &str) -> Option<usize> {
    let hooks = std::env::var(ENV_TEST_HOOKS).ok()?;
    hooks
        .split(',')
        .filter_map(|hook| hook.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .and_then(|(_, value)| value.trim().parse().ok())
}

/// Hold a `merge`, `revert` or `publish` right before it writes (after it read and planned everything),
/// so a test can save a file or edit a row in that window: the value is a directory, where the
/// command creates `held` and then waits until the test creates `go`.
pub const HOLD_BEFORE_WRITE: &str = "hold-before-write";

/// Hold a watcher right after a batch of saves wrote rows (before it goes on to its next
/// batch or pull), so a test can make an Admin CP edit in that window: a directory, as for
/// [`HOLD_BEFORE_WRITE`].
pub const HOLD_AFTER_BATCH: &str = "hold-after-batch";

/// Hold a watcher's reconcile that settled every file of a partial sync state right before it
/// completes the state, so a test can replace the state file in that window: a directory, as
/// for [`HOLD_BEFORE_WRITE`].
pub const HOLD_BEFORE_COMPLETION: &str = "hold-before-completion";

/// Hold a watcher's pull that has files to write after it planned them and before it writes
/// them, so a test can save one of them in that window: a directory, as for
/// [`HOLD_BEFORE_WRITE`].
pub const HOLD_BEFORE_PULL_WRITE: &str = "hold-before-pull-write";

/// Returns the text set for hook `name`, or None when the hook is not set.
pub fn text(name: &str) -> Option<String> {
    let hooks = std::env::var(ENV_TEST_HOOKS).ok()?;
    hooks
        .split(',')
        .filter_map(|hook| hook.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// Waits at hook point `name` when a test set it (see [`HOLD_BEFORE_WRITE`]): signals that it
/// is held, then polls for the test's go-ahead, for at most a minute so a broken test cannot
/// hang the command.
pub fn hold(name: &str) {
    let Some(dir) = text(name).map(std::path::PathBuf::from) else { return };
    if std::fs::write(dir.join("held"), b"").is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("go").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Kill the process (SIGKILL, as `kill -9` or a power cut would stop it) right before its Nth
/// rename of a file into place, counted over the whole process from 1: the files of every
/// batch and the state alike (issue 26).
pub const KILL_AT_RENAME: &str = "kill-at-rename";
/// Kill the process (SIGKILL) right after its Nth row written by `publish` (issue 29): the
/// rerun must finish the publish, nothing lost and nothing written twice.
pub const KILL_AT_PUBLISH: &str = "kill-at-publish";

/// Fail the process's Nth `fsync` of the atomic writer (a temp file's or a folder's) with EIO,
/// as a failing disk does (issue 26).
pub const EIO_AT_FSYNC: &str = "eio-at-fsync";
/// Fail the process's Nth `syncfs` of the atomic writer with EIO (issue 26).
pub const EIO_AT_SYNCFS: &str = "eio-at-syncfs";
/// Fail the process's Nth rename of a file into place with EIO, the temp file left unrenamed
/// (issue 26; `fail-after` fails one export's batch, this any batch, the state's too).
pub const EIO_AT_RENAME: &str = "eio-at-rename";

/// Counts one more event `name` of this process, and returns true if and only if it is the one
/// the test set hook `name` to (the Nth). Costs one atomic load when no hook is set, so the
/// writer can ask at each system call.
pub fn nth(name: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static SET: LazyLock<bool> = LazyLock::new(|| std::env::var_os(ENV_TEST_HOOKS).is_some());
    static COUNTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    if !*SET {
        return false;
    }
    let Some(n) = number(name) else { return false };
    let mut counts = COUNTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let count = counts.get_or_insert_with(HashMap::new).entry(name.to_owned()).or_insert(0);
    *count += 1;
    *count == n
}

/// Returns the error an injected fault `name` makes a system call fail with: EIO.
pub fn injected_eio(name: &str) -> std::io::Error {
    log::debug!("test hook {name}: failing with EIO");
    std::io::Error::from_raw_os_error(libc::EIO)
}

/// Kills this process with SIGKILL where a test set hook `name` to, as `kill -9` would: no
/// destructor, no temp file removed, no state saved.
pub fn kill_if(name: &str) {
    if nth(name) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGKILL);
    }
}
