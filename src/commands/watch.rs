//! `watch`: arms the watcher, installs the Ctrl-C/SIGTERM handler, and with `--export-first`
//! exports while the watcher is paused. The watch loop itself is the engine's (`sync/watcher.rs`).

use std::sync::Arc;

use crate::commands::export::{self, ExportOptions};
use crate::config::Config;
use crate::disk::gate::Gate;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::watcher::{self, WatchOptions};

/// Runs `watch` until Ctrl-C or SIGTERM; with `export_first`, exports first with the watcher
/// armed but paused.
pub fn watch(config: &Config, options: WatchOptions, export_first: bool) -> Result<()> {
    let armed = watcher::arm(config)?;
    let stopper = armed.stopper();
    ctrlc::set_handler(move || stopper.stop())
        .map_err(|e| Error::usage(format!("cannot install the Ctrl-C/SIGTERM handler: {e}")))?;
    let gate = Arc::new(Gate::new());
    if !export_first {
        armed.run(config, &options, gate)?;
        return Ok(());
    }
    // Export with the watcher armed but paused: edits made meanwhile are queued and applied on
    // resume, and the export's own writes are echoes that change nothing.
    let db = Db::connect(&config.db, &config.prefix)?;
    let worker_config = config.clone();
    let worker_gate = Arc::clone(&gate);
    let paused = gate.pause_guard();
    let worker = std::thread::spawn(move || armed.run(&worker_config, &options, worker_gate));
    let exported = export::export(
        &db,
        config,
        &ExportOptions { keep_edits_during_export: true, ..ExportOptions::default() },
    );
    drop(paused);
    if let Err(e) = exported {
        log::error!("the export failed: {}; watching anyway", crate::error::chain(&e));
    }
    match worker.join() {
        Ok(result) => result.map(drop),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
