//! Runs a parsed command line: resolves the configuration and hands each command to its module.

use std::io::Write as _;

use crate::cli::{self, Args, Command, HelpTopic, UpgradeCommand};
use crate::commands::{self, export::ExportOptions, import::ImportOptions, status::Form};
use crate::config;
use crate::error::Result;
use crate::mybb::db::Db;
use crate::sync::watcher::WatchOptions;
use crate::test_hooks;

/// Runs the command `args` names.
pub fn run(args: Args) -> Result<()> {
    match &args.command {
        Command::Help(topic) => {
            match topic {
                HelpTopic::General => print!("{}", cli::help()),
                HelpTopic::Command(spec) => print!("{}", cli::command_help(spec)),
                HelpTopic::Group(word) => print!("{}", cli::group_help(word)),
            }
            Ok(())
        }
        Command::Completions(shell) => {
            print!("{}", commands::completions::script(shell));
            Ok(())
        }
        Command::Version => {
            println!("mybb-sync {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Export(export_args) => {
            let config = config::resolve(&args.connection)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            let options = ExportOptions {
                sets: export_args.sets.clone(),
                themes: export_args.themes.clone(),
                prefer: export_args.prefer,
                dry_run: export_args.dry_run,
                fail_after: test_hooks::number(test_hooks::FAIL_AFTER),
                keep_edits_during_export: false,
                json: export_args.json,
            };
            commands::export::export(&db, &config, &options)?;
            Ok(())
        }
        Command::Import(import_args) => {
            let config = config::resolve(&args.connection)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            let options = ImportOptions {
                paths: import_args.paths.clone(),
                prefer: import_args.prefer,
                dry_run: import_args.dry_run,
                json: import_args.json,
            };
            commands::import::import(&db, &config, &options)?;
            Ok(())
        }
        Command::Status(status_args) => {
            let config = config::resolve(&args.connection)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            let form = match (status_args.porcelain, status_args.json) {
                (true, _) => Form::Porcelain,
                (_, true) => Form::Json,
                _ => Form::Plain,
            };
            commands::status::status(&db, &config, form)
        }
        Command::CacheRebuild(cache_args) => {
            let config = config::resolve(&args.connection)?;
            commands::cache::rebuild(&config, &cache_args.themes)
        }
        Command::Theme(theme) => commands::theme::run(&args.connection, theme),
        Command::Upgrade(upgrade_args) => {
            let config = config::resolve(&args.connection)?;
            let db = Db::connect(&config.db, &config.prefix)?;
            let a = upgrade_args;
            match a.command {
                UpgradeCommand::Outdated => commands::outdated::outdated(
                    &db,
                    &config,
                    a.base.as_deref(),
                    a.porcelain,
                    a.json,
                ),
                UpgradeCommand::Diff => commands::diff::diff(&db, &config, &a.paths, a.master),
                UpgradeCommand::Merge => {
                    let options = commands::merge::Options { dry_run: a.dry_run, json: a.json };
                    commands::merge::merge(&db, &config, &a.paths, a.base.as_deref(), options)
                }
                UpgradeCommand::Revert => {
                    let discard = a.prefer == Some(crate::cli::Prefer::Db);
                    commands::revert::revert(&db, &config, &a.paths, discard, a.json)
                }
            }
        }
        Command::Watch(watch_args) => {
            let config = config::resolve(&args.connection)?;
            let mut options = WatchOptions {
                debounce: watch_args.debounce,
                reconcile_at_start: !watch_args.export_first,
                pull_interval: watch_args.pull_interval,
                exit_after: test_hooks::number(test_hooks::EXIT_AFTER),
                live: None,
            };
            if let Some(addr) = watch_args.live_reload {
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
            commands::watch::watch(&config, options, watch_args.export_first)
        }
    }
}
