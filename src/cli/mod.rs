//! The command line, in four parts:
//!
//! - `table.rs`: the commands and flags as data ([`COMMANDS`], [`GLOBAL_FLAGS`]); each flag's
//!   name, help line and effect side by side, each command's words, help and `build`
//!   (their shape, [`CommandSpec`] and [`Flag`], in `spec.rs`);
//! - `parse.rs`: the `lexopt` loop that applies the table to the arguments;
//! - `help.rs`: `--help` and `help COMMAND`, rendered from the table;
//! - [`completions`]: the shell completion scripts, rendered from the same table;
//!
//! so `--help`, `help COMMAND` and the completions cannot drift apart. What a parse yields
//! (`args.rs`) is [`Args`] and one typed struct per command, which its module in `commands/`
//! runs as given. This module never uses `commands/`: the dependency goes one way.
//!
//! To add a flag: an entry in its command's `flags` in `table.rs` (name, help line, effect)
//! and the field its effect fills in `args.rs`. To add a command: a [`CommandSpec`] in
//! [`COMMANDS`] (its first word also in [`COMMAND_WORDS`]), a [`Command`] variant its `build`
//! returns, a row in `app.rs` and in the README. The unit tests then check that every flag of
//! the table parses and shows in `--help`. Commands may share a first word (`theme export`,
//! `theme import`: `help theme` lists them), take operands by kind and count ([`Operands`]),
//! and flags may take an optional value (`Flag::optional`).

mod args;
pub mod completions;
mod help;
mod parse;
mod spec;
mod table;

pub use args::{
    Args, CacheArgs, CheckArgs, Command, DevArgs, DiffArgs, ExportArgs, HelpTopic, ImportArgs,
    MergeArgs, OutdatedArgs, Prefer, PublishArgs, RevertArgs, StatusArgs, ThemeCommand,
    ThemeExportArgs, ThemeImportArgs, Verbosity, WatchArgs,
};
pub use help::{command_help, group_help, help, print as print_help, print_version};
pub use parse::{parse, parse_from};
pub use spec::{CommandSpec, Flag, Operands, ValueKind, command_spec};
pub use table::{COMMAND_WORDS, COMMANDS, GLOBAL_FLAGS};
