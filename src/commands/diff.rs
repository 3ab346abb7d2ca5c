//! `diff PATH...`: a unified diff per file, as `diff -u` prints it, labelled with the path
//! relative to the sync root: the database's content against the file, or with `--master` the
//! master template against the custom copy. Coloured when stdout is a terminal.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::error::Result;
use crate::mybb::db::Db;
use crate::sync::upgrade::{DiffSides, Upgrade};

/// Runs `diff`: prints the diff of each path (nothing for a path whose sides are equal).
pub fn diff(db: &Db, config: &Config, paths: &[PathBuf], master: bool) -> Result<()> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.shared()?;
    let upgrade = Upgrade::load(db, config)?;
    let sides = if master { DiffSides::MasterToCopy } else { DiffSides::DatabaseToFile };
    let color = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    for path in paths {
        let text = upgrade.diff(path, sides, color)?;
        // A closed pipe (`mybb-sync diff x | head`) ends the output, not the program.
        if out.write_all(text.as_bytes()).is_err() {
            break;
        }
    }
    Ok(())
}
