//! Helpers shared by the unit tests.

use std::path::PathBuf;

/// Returns an empty scratch directory for test `name` of module `module`, unique to this
/// process. Tests remove it when they pass; a failing test leaves it to look at.
pub fn scratch_dir(module: &str, name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mybb-sync-{module}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}
