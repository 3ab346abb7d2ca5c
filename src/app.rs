//! Runs a parsed command line: a table from each command to its module's `run`. The context
//! (configuration, then the database on first use) is resolved here, once, for the commands
//! that need one; the test hooks are read here and passed apart from the options.

use crate::cli::{self, Args, Command, ThemeCommand};
use crate::commands::{self as c, Context};
use crate::error::Result;
use crate::test_hooks::Hooks;

/// Runs the command `args` names.
pub fn run(args: Args) -> Result<()> {
    let context = || Context::resolve(&args.connection);
    let hooks = Hooks::from_env();
    match &args.command {
        Command::Help(topic) => cli::print_help(*topic),
        Command::Completions(shell) => cli::completions::print(shell),
        Command::Version => cli::print_version(),
        Command::Export(a) => c::export::run(&context()?, a, &hooks),
        Command::Import(a) => c::import::run(&context()?, a),
        Command::Status(a) => c::status::run(&context()?, a),
        // The tree rules need no database: `check` resolves one only for --mybb.
        Command::Check(a) => c::check::run(&args.connection, a),
        Command::CacheRebuild(a) => c::cache::run(&context()?, a),
        Command::Watch(a) => c::watch::run(&context()?, a, &hooks),
        Command::Outdated(a) => c::outdated::run(&context()?, a),
        Command::Diff(a) => c::diff::run(&context()?, a),
        Command::Merge(a) => c::merge::run(&context()?, a),
        Command::Revert(a) => c::revert::run(&context()?, a),
        Command::Theme(ThemeCommand::Export(a)) => c::theme::export(&context()?, a),
        Command::Theme(ThemeCommand::Import(a)) => c::theme::import(&context()?, a),
        Command::Theme(ThemeCommand::Unpack(file)) => c::theme::run_unpack(&args.connection, file),
        Command::Dev(a) => c::dev::run(&context()?, a, &hooks),
        Command::Publish(a) => c::publish::run(&context()?, a),
    }
}
