//! Runs a parsed command line: resolves the configuration and hands each command to its flow.

use std::sync::Arc;

use crate::cache;
use crate::cli::{Args, Command, HELP};
use crate::config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::export::{self, ExportOptions};
use crate::gate::Gate;
use crate::import;
use crate::status;
use crate::watch::{self, WatchOptions};

/// Runs the command `args` names.
pub fn run(args: Args) -> Result<()> {
    match &args.command {
        Command::Help => {
            print!("{HELP}");
            Ok(())
        }
        Command::Version => {
            println!("mybb-sync {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Export(export_args) => {
            let config = config::resolve(&args)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            let options = ExportOptions {
                sets: export_args.sets.clone(),
                themes: export_args.themes.clone(),
                prefer: export_args.prefer,
                dry_run: export_args.dry_run,
                fail_after: export_args.fail_after,
                keep_edits_during_export: false,
            };
            export::export(&db, &config, &options)?;
            Ok(())
        }
        Command::Import(import_args) => {
            let config = config::resolve(&args)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            import::import(
                &db,
                &config,
                &import_args.paths,
                import_args.prefer,
                import_args.dry_run,
            )?;
            Ok(())
        }
        Command::Status(status_args) => {
            let config = config::resolve(&args)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            status::status(&db, &config, status_args.porcelain)
        }
        Command::CacheRebuild(cache_args) => {
            let config = config::resolve(&args)?;
            if config.mybb_root.is_none() {
                return Err(Error::usage(
                    "`cache rebuild` writes MyBB's cache files, so it needs MyBB's root \
                     directory: use --mybb DIR or MYBB_ROOT",
                ));
            }
            let db = Db::connect(&config.db, &config.prefix)?;
            cache::rebuild(&db, &config, &cache_args.themes)
        }
        Command::Watch(watch_args) => {
            let config = config::resolve(&args)?;
            let mut options = WatchOptions {
                debounce: watch_args.debounce,
                reconcile_at_start: !watch_args.export_first,
                pull_interval: watch_args.pull_interval,
                exit_after: watch_args.exit_after,
                live: None,
            };
            let armed = watch::arm(&config)?;
            // Listening before the watcher runs, so that a browser's first save is not missed.
            if let Some(addr) = watch_args.live_reload {
                let (server, sender) = crate::live::start(addr)?;
                println!(
                    "live reload: listening on {}; add this line to the headerinclude template \
                     of a development template set (or use a LiveReload browser extension):\n{}",
                    server.local_addr(),
                    server.script_tag()
                );
                options.live = Some(sender);
            }
            let stopper = armed.stopper();
            ctrlc::set_handler(move || stopper.stop()).map_err(|e| {
                Error::usage(format!("cannot install the Ctrl-C/SIGTERM handler: {e}"))
            })?;
            let gate = Arc::new(Gate::new());
            if !watch_args.export_first {
                armed.run(&config, &options, gate)?;
                return Ok(());
            }
            // Export with the watcher armed but paused: edits made meanwhile are queued and
            // applied on resume, and the export's own writes are echoes that change nothing.
            let db = Db::connect(&config.db, &config.prefix)?;
            let worker_config = config.clone();
            let worker_gate = Arc::clone(&gate);
            let paused = gate.pause_guard();
            let worker =
                std::thread::spawn(move || armed.run(&worker_config, &options, worker_gate));
            let exported = export::export(
                &db,
                &config,
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
    }
}
