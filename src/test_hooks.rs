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

/// Returns the number set for hook `name`, or None when the hook is not set (or not a number).
pub fn number(name: &str) -> Option<usize> {
    let hooks = std::env::var(ENV_TEST_HOOKS).ok()?;
    hooks
        .split(',')
        .filter_map(|hook| hook.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .and_then(|(_, value)| value.trim().parse().ok())
}
