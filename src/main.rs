//! The `mybb-sync` binary: parse the command line, start logging, run, report.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use mybb_sync::cli::{self, Verbosity};
use mybb_sync::error::chain;
use mybb_sync::progress;

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("mybb-sync: {}", chain(&e));
            return ExitCode::from(e.exit_code());
        }
    };
    init_logging(args.verbosity);
    progress::enable(args.verbosity != Verbosity::Quiet && std::io::stderr().is_terminal());
    match mybb_sync::app::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mybb-sync: {}", chain(&e));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs to stderr: info lines bare (they are the tool's report), others tagged with their
/// level. `RUST_LOG` overrides `-q` and `-v`.
fn init_logging(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => "warn",
        Verbosity::Normal => "info",
        Verbosity::Verbose => "debug",
    };
    // Our own crate speaks at the chosen level; dependencies only warn unless RUST_LOG says so.
    let default = format!("warn,mybb_sync={level}");
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format(|buf, record| {
            progress::clear();
            match record.level() {
                log::Level::Info => writeln!(buf, "{}", record.args()),
                log::Level::Warn => writeln!(buf, "warning: {}", record.args()),
                level => writeln!(buf, "{}: {}", level.as_str().to_lowercase(), record.args()),
            }
        })
        .init();
}
