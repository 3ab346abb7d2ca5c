//! `watch`: arms the watcher, installs the Ctrl-C/SIGTERM handler, and with `--export-first`
//! exports while the watcher is paused. The watch loop itself is the engine's (`sync/watcher/`).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::cli::{ExportArgs, WatchArgs};
use crate::commands::Context;
use crate::commands::check::SaveWarnings;
use crate::commands::export::{self, Mode};
use crate::disk::gate::Gate;
use crate::error::{Error, Result};
use crate::sync::watcher::{self, SavedHook, WatchOptions};
use crate::test_hooks::Hooks;

/// Runs `watch` as the command line asks, with the test hooks `hooks`: starts the live-reload
/// server when asked, then watches until Ctrl-C or SIGTERM.
pub fn run(ctx: &Context, args: &WatchArgs, hooks: &Hooks) -> Result<()> {
    let mut options = WatchOptions {
        debounce: args.debounce,
        reconcile_at_start: !args.export_first,
        pull_interval: args.pull_interval,
        exit_after: hooks.exit_after,
        live: None,
        max_deletions: args.max_deletions,
        on_saved: None,
    };
    if let Some(addr) = args.live_reload {
        let (server, sender) = crate::live::start(addr)?;
        // For the user to copy, so on stdout; a closed stdout is no reason to stop.
        let _ = writeln!(
            std::io::stdout(),
            "live reload: listening on {}; add this line to the headerinclude template \
             of a development template set (or use a LiveReload browser extension):\n{}",
            server.local_addr(),
            server.script_tag()
        );
        options.live = Some(sender);
    }
    watch(ctx, options, args.export_first)
}

/// Watches until Ctrl-C or SIGTERM; with `export_first`, exports first with the watcher armed
/// but paused.
pub(crate) fn watch(ctx: &Context, mut options: WatchOptions, export_first: bool) -> Result<()> {
    let config = &ctx.config;
    let armed = watcher::arm(config)?;
    if options.on_saved.is_none() {
        // `check`'s rules on every save: new findings are printed once, as warnings.
        let warnings = Mutex::new(SaveWarnings::new(config));
        options.on_saved = Some(SavedHook(Arc::new(move |files: &[PathBuf]| {
            warnings.lock().unwrap_or_else(PoisonError::into_inner).saved(files);
        })));
    }
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
    let db = ctx.db()?;
    let worker_config = config.clone();
    let worker_gate = Arc::clone(&gate);
    let paused = gate.quiet_pause_guard();
    let worker = std::thread::spawn(move || armed.run(&worker_config, &options, worker_gate));
    let mode = Mode { keep_edits_during_export: true, ..Mode::default() };
    let exported = export::export(db, config, &ExportArgs::default(), mode);
    drop(paused);
    if let Err(e) = exported {
        log::error!("the export failed: {}; watching anyway", crate::error::chain(&e));
    }
    match worker.join() {
        Ok(result) => result.map(drop),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
