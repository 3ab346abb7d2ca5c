//! `diff PATH...`: a unified diff per file, as `diff -u` prints it, labelled with the path
//! relative to the sync root: the database's content against the file, or with `--master` the
//! master template against the custom copy. Coloured when stdout is a terminal.

use std::io::{IsTerminal, Write as _};

use crate::cli::DiffArgs;
use crate::commands::Context;
use crate::error::Result;
use crate::sync::own_dir;
use crate::sync::upgrade::{DiffSides, Upgrade};

/// Runs `diff`: prints the diff of each path (nothing for a path whose sides are equal).
pub fn run(ctx: &Context, args: &DiffArgs) -> Result<()> {
    let paths = ctx.paths(&args.paths)?;
    let (db, config) = ctx.connected()?;
    let master = args.master;
    own_dir::require_root(&config.sync_root)?;
    own_dir::bind(&config.sync_root, config, db, own_dir::Binding::CheckOnly)?;
    // Read-only: without mybb-sync's folder there is no lock, and no holder.
    let lock = own_dir::lock_if_present(&config.sync_root)?;
    let _held = lock.as_ref().map(|lock| lock.shared()).transpose()?;
    let upgrade = Upgrade::load(db, config)?;
    let sides = if master { DiffSides::MasterToCopy } else { DiffSides::DatabaseToFile };
    let color = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    for path in &paths {
        let text = upgrade.diff(path, sides, color)?;
        // A closed pipe (`mybb-sync diff x | head`) ends the output, not the program.
        if out.write_all(text.as_bytes()).is_err() {
            break;
        }
    }
    Ok(())
}
