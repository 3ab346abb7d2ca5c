//! The command line: one table of commands and flags ([`COMMANDS`], [`GLOBAL_FLAGS`]), a
//! `lexopt` loop that turns arguments into [`Args`] by that table, and the help text rendered
//! from it. The shell completions (`commands/completions.rs`) are rendered from the same table,
//! so `--help`, `help COMMAND` and the completions cannot drift apart.
//!
//! To add a command: a [`CommandSpec`] in [`COMMANDS`] (its first word also in
//! [`COMMAND_WORDS`]), a [`Command`] variant built in the last `match` of `parse_inner`, an arm
//! for each new flag name in the `match flag.long` there, and a row in the README. The unit
//! tests then check that every flag of the table parses and shows in `--help`. Commands may
//! share a first word (`theme export`, `theme import`: `help theme` lists them), take operands
//! by kind and count ([`Operands`]), and flags may take an optional value (`Flag::optional`).
//!
//! Parsing checks syntax only: whatever touches the world (reading `inc/config.php`, the
//! environment, the database) happens later, in `config.rs`. Global options may stand before or
//! after the command; a command's options too, and they are checked against that command.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

pub use crate::commands::theme::{ThemeExportArgs, ThemeImportArgs};
use crate::config::ConnectionArgs;
use crate::error::{Error, Result};
pub use crate::sync::decide::Prefer;

/// What a flag's value is, for the completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text (a URL, a name, a number): nothing to complete.
    Text,
    /// A directory.
    Dir,
    /// A file.
    File,
    /// One of these words.
    Choice(&'static [&'static str]),
}

/// One flag, as `--help` shows it and the parser and the completions know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// The long name, without `--`.
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's placeholder in the help (`URL`, `NAME`), None for a switch.
    pub value: Option<&'static str>,
    pub kind: ValueKind,
    /// May be given more than once.
    pub repeatable: bool,
    /// The value may be left out (`--flag`, `--flag=VALUE`, or `--flag VALUE` when VALUE is
    /// neither an option nor a command).
    pub optional: bool,
    /// One line (continued lines start with a newline) for `--help`.
    pub help: &'static str,
}

impl Flag {
    const fn switch(long: &'static str, help: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            value: None,
            kind: ValueKind::Text,
            repeatable: false,
            optional: false,
            help,
        }
    }

    const fn value(long: &'static str, value: &'static str, help: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            value: Some(value),
            kind: ValueKind::Text,
            repeatable: false,
            optional: false,
            help,
        }
    }

    const fn kind(self, kind: ValueKind) -> Flag {
        Flag { kind, ..self }
    }

    const fn short(self, short: char) -> Flag {
        Flag { short: Some(short), ..self }
    }

    const fn repeatable(self) -> Flag {
        Flag { repeatable: true, ..self }
    }

    /// Marks the value as optional (see the `optional` field).
    const fn optional(self) -> Flag {
        Flag { optional: true, ..self }
    }

    /// Returns the flag as the help's left column shows it: `-q, --quiet`, `--db URL`.
    pub fn usage(&self) -> String {
        let mut text = String::new();
        if let Some(short) = self.short {
            let _ = write!(text, "-{short}, ");
        }
        let _ = write!(text, "--{}", self.long);
        match (self.value, self.optional) {
            (Some(value), false) => {
                let _ = write!(text, " {value}");
            }
            (Some(value), true) => {
                let _ = write!(text, " [{value}]");
            }
            (None, _) => {}
        }
        text
    }
}

/// What a command takes besides its flags, for the parser and the completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    None,
    /// Files and folders, at least `min` of them (`import`: 0).
    Paths {
        min: usize,
    },
    /// Exactly one operand of this kind (`completions SHELL`).
    One(ValueKind),
    /// At most one operand of this kind.
    Optional(ValueKind),
}

/// One command: its name (the words typed), what `--help` says, and its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The words that name it: `["export"]`, `["cache", "rebuild"]`.
    pub words: &'static [&'static str],
    /// What follows the name in the usage line, such as `[PATH...]`.
    pub operands_usage: &'static str,
    pub operands: Operands,
    /// One line for the command list.
    pub summary: &'static str,
    /// A paragraph for `help COMMAND`.
    pub about: &'static str,
    pub flags: &'static [Flag],
}

impl CommandSpec {
    /// Returns the command's name as typed: `cache rebuild`.
    pub fn name(&self) -> String {
        self.words.join(" ")
    }
}

/// The options every command takes.
pub const GLOBAL_FLAGS: &[Flag] = &[
    Flag::value(
        "db",
        "URL",
        "Database, as mysql://USER:PASSWORD@HOST:PORT/DATABASE [env: MYBB_DATABASE_URL]",
    ),
    Flag::value(
        "mybb",
        "DIR",
        "MyBB's root directory; its inc/config.php supplies the database [env: MYBB_ROOT]",
    )
    .kind(ValueKind::Dir),
    Flag::value("root", "DIR", "The sync root [env: MYBB_SYNC_ROOT] [default: ./mybb_sync]")
        .kind(ValueKind::Dir),
    Flag::value(
        "prefix",
        "P",
        "Table prefix [env: MYBB_TABLE_PREFIX] [default: config.php's, else mybb_]",
    ),
    Flag::switch(
        "no-fsync",
        "Skip fsync: files are still replaced atomically, but not durable on power loss",
    ),
    Flag::switch(
        "rebind",
        "Use a sync root stamped with another board with this one (forgets its state)",
    ),
    Flag::switch("quiet", "Show only warnings and errors (and no progress)").short('q'),
    Flag::switch("verbose", "Show debug output (RUST_LOG overrides both)").short('v'),
    Flag::switch("help", "Print help (of the command, after one)").short('h'),
    Flag::switch("version", "Print the version").short('V'),
];

const DRY_RUN: Flag = Flag::switch("dry-run", "Print what would change; change nothing");
const JSON: Flag =
    Flag::switch("json", "One JSON object per item (action, path, kind, reason), then a summary");
const PREFER_CHOICES: &[&str] = &["disk", "db"];
const BASE: Flag = Flag::value(
    "base",
    "FILE.xml",
    "Old masters from an old release's mybb_theme.xml,\nfor copies the baseline has no merge base for",
)
.kind(ValueKind::File);
const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// Every command, in the order `--help` lists them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        words: &["export"],
        operands_usage: "",
        operands: Operands::None,
        summary: "Write every template set and theme to files under the sync root",
        about: "Writes every template set (and \"Global Templates\", sid -1, when it has rows) and \
                every theme but the master theme to files under the sync root; with --set or \
                --theme only the sets and themes named. A file already right is not rewritten; \
                a file edited since the last sync is kept unless --prefer db.",
        flags: &[
            Flag::value(
                "set",
                "NAME",
                "Export only this template set (repeatable; \"Global Templates\" is sid -1)",
            )
            .repeatable(),
            Flag::value(
                "theme",
                "NAME",
                "Export only this theme (repeatable; the master theme only when named)",
            )
            .repeatable(),
            DRY_RUN,
            Flag::value(
                "prefer",
                "db",
                "Overwrite files edited since the last sync, conflicts included",
            )
            .kind(ValueKind::Choice(&["db"])),
            JSON,
        ],
    },
    CommandSpec {
        words: &["import"],
        operands_usage: "[PATH...]",
        operands: Operands::Paths { min: 0 },
        summary: "Write every file that changed since the last sync to the database, once",
        about: "Writes every file under the sync root (or the files and folders named) that \
                changed since the last sync to the database, as the Admin CP would.",
        flags: &[
            DRY_RUN,
            Flag::value(
                "prefer",
                "disk|db",
                "Where file and database differ (conflicts included), this side wins",
            )
            .kind(ValueKind::Choice(PREFER_CHOICES)),
            JSON,
        ],
    },
    CommandSpec {
        words: &["watch"],
        operands_usage: "",
        operands: Operands::None,
        summary: "Watch the sync root: saved files go to the database, Admin CP edits to disk",
        about: "Runs until Ctrl-C or SIGTERM: each saved file goes to the database; every \
                --pull-interval seconds Admin CP edits are brought to disk.",
        flags: &[
            Flag::switch(
                "export-first",
                "Export first (with the watcher paused), then watch; no edit is lost",
            ),
            Flag::value("debounce", "MS", "Quiet time before a changed file is read [default: 75]"),
            Flag::value(
                "pull-interval",
                "S",
                "How often to look for Admin CP edits to bring to disk [default: 2]",
            ),
            Flag::switch("no-pull", "Do not bring database changes to disk while watching"),
            Flag::value(
                "live-reload",
                "ADDR",
                "Tell browsers when a save is live (LiveReload protocol 7): stylesheets\n\
                 swap in place, pages reload for templates [default: 127.0.0.1:35729]",
            )
            .optional(),
        ],
    },
    CommandSpec {
        words: &["status"],
        operands_usage: "",
        operands: Operands::None,
        summary: "Show what is out of sync: to-db, to-disk, conflict, refused",
        about: "Prints what is out of sync, one line per path relative to the sync root: to-db, \
                to-disk, conflict, refused (with the reason). Exit 3 when anything is.",
        flags: &[
            Flag::switch("porcelain", "Stable output for scripts: ACTION<TAB>PATH[<TAB>REASON]"),
            JSON,
        ],
    },
    CommandSpec {
        words: &["cache", "rebuild"],
        operands_usage: "",
        operands: Operands::None,
        summary: "Rewrite MyBB's stylesheet cache files and lists from the database (needs --mybb)",
        about: "Regenerates MyBB's stylesheet cache files under cache/themes, and the themes' \
                stylesheet lists, from the database. Files already right are left alone.",
        flags: &[Flag::value(
            "theme",
            "NAME",
            "Rebuild only this theme's files, and the lists of it and its descendants\n\
             (repeatable; default: every theme, the master theme included)",
        )
        .repeatable()],
    },
    CommandSpec {
        words: &["outdated"],
        operands_usage: "",
        operands: Operands::None,
        summary: "List the custom templates a MyBB upgrade left behind their master",
        about: "Lists the templates whose custom copy is older than the master template a MyBB \
                upgrade brought (the Admin CP's \"Find Updated Templates\"), with both versions \
                and whether a merge base is known. Exit 3 when any is.",
        flags: &[
            Flag::switch(
                "porcelain",
                "Stable output: PATH<TAB>COPY_VERSION<TAB>MASTER_VERSION<TAB>BASE",
            ),
            BASE,
            JSON,
        ],
    },
    CommandSpec {
        words: &["diff"],
        operands_usage: "PATH...",
        operands: Operands::Paths { min: 1 },
        summary: "Show a file against the database (or with --master, the copy against master)",
        about: "Shows each file against what the database renders for it, as a unified diff; with \
                --master, the set's custom copy against the master template.",
        flags: &[Flag::switch("master", "Compare the custom copy with the master template")],
    },
    CommandSpec {
        words: &["merge"],
        operands_usage: "[PATH...]",
        operands: Operands::Paths { min: 0 },
        summary: "Merge the upstream change into each outdated template's file (three-way)",
        about: "Merges the change MyBB's upgrade made to each outdated template (or the ones named) \
                into its file, three-way, with conflict markers where both changed the same lines. \
                Never writes the database: import (or watch) sends the result. Exit 3 when \
                conflicts remain.",
        flags: &[BASE, Flag::switch("dry-run", "Print what would be merged; write nothing"), JSON],
    },
    CommandSpec {
        words: &["revert"],
        operands_usage: "PATH...",
        operands: Operands::Paths { min: 1 },
        summary: "Delete the custom copy, as the Admin CP's Revert; the file gets what MyBB renders",
        about: "Deletes the set's custom copy of each template named, as the Admin CP's Revert \
                does, and writes what MyBB then renders to its file.",
        flags: &[
            Flag::value("prefer", "db", "Discard edits of the file not yet in the database")
                .kind(ValueKind::Choice(&["db"])),
            JSON,
        ],
    },
    CommandSpec {
        words: &["theme", "export"],
        operands_usage: "NAME",
        operands: Operands::One(ValueKind::Text),
        summary: "Write theme NAME as the Admin CP's \"Export Theme\" does, to stdout",
        about: "Writes theme NAME as a MyBB theme file, byte for byte as the Admin CP's Export \
                Theme does, to stdout.",
        flags: &[
            Flag::switch(
                "custom-only",
                "Only the theme's own stylesheets, not inherited ones (\"customized items only\")",
            ),
            Flag::switch(
                "no-templates",
                "Leave the templates out (also for theme import: import none)",
            ),
            Flag::switch(
                "from-files",
                "Export the sync root's files (checked as for import), not the database's rows",
            ),
        ],
    },
    CommandSpec {
        words: &["theme", "import"],
        operands_usage: "FILE",
        operands: Operands::One(ValueKind::File),
        summary: "Create a theme from a theme file as \"Import a Theme\" does (needs --mybb)",
        about: "Creates a theme from a MyBB theme file as the Admin CP's Import a Theme does, its \
                stylesheets' cache files included (needs --mybb).",
        flags: &[
            Flag::value("name", "NAME", "The new theme's name [default: the file's]"),
            Flag::value("parent", "NAME", "The parent theme [default: MyBB Master Style]"),
            Flag::switch("no-templates", "Import no templates"),
            Flag::switch("no-stylesheets", "Import no stylesheets"),
            Flag::switch("version-compat", "Import a theme made for another MyBB version"),
        ],
    },
    CommandSpec {
        words: &["theme", "unpack"],
        operands_usage: "FILE",
        operands: Operands::One(ValueKind::File),
        summary: "Write a theme file's templates and stylesheets under --root (no database)",
        about: "Writes a theme file's templates and stylesheets under the sync root, in its \
                layout, without a database.",
        flags: &[],
    },
    CommandSpec {
        words: &["help"],
        operands_usage: "[COMMAND]",
        operands: Operands::Optional(ValueKind::Choice(COMMAND_WORDS)),
        summary: "Print this help, or a command's",
        about: "Prints the help of mybb-sync, or of the command named.",
        flags: &[],
    },
    CommandSpec {
        words: &["completions"],
        operands_usage: "SHELL",
        operands: Operands::One(ValueKind::Choice(SHELLS)),
        summary: "Print a shell completion script: bash, zsh or fish",
        about: "Prints a completion script for the shell named. Load it with, for bash, \
                `source <(mybb-sync completions bash)` (or save it in \
                ~/.local/share/bash-completion/completions/mybb-sync); zsh: \
                `source <(mybb-sync completions zsh)` after compinit in ~/.zshrc, or save it as \
                _mybb-sync in a directory of your $fpath; fish: save it in \
                ~/.config/fish/completions/mybb-sync.fish.",
        flags: &[],
    },
];

/// The first words of the commands, for `help COMMAND` and the completions.
pub const COMMAND_WORDS: &[&str] = &[
    "export",
    "import",
    "watch",
    "status",
    "cache",
    "theme",
    "outdated",
    "diff",
    "merge",
    "revert",
    "help",
    "completions",
];

/// The exit codes, as the help shows them.
const EXIT_CODES: &str = "\
EXIT CODES:
    0  success    1  runtime failure    2  usage or configuration error
    3  finished, but some items were refused or in conflict (each listed); for status: not in sync
";

/// Returns the command whose first word is `word`.
pub fn command_spec(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.words[0] == word)
}

/// Appends an aligned options section to `out`.
fn flag_section(out: &mut String, title: &str, flags: &[Flag]) {
    let _ = writeln!(out, "\n{title}:");
    for flag in flags {
        let usage = flag.usage();
        let mut lines = flag.help.lines();
        let first = lines.next().unwrap_or("");
        if usage.len() < 20 {
            let _ = writeln!(out, "    {usage:<20}{first}");
        } else {
            let _ = writeln!(out, "    {usage}\n    {:<20}{first}", "");
        }
        for line in lines {
            let _ = writeln!(out, "    {:<20}{}", "", line.trim_start());
        }
    }
}

/// Returns the help text of `mybb-sync --help`.
pub fn help() -> String {
    let mut out = String::from(
        "mybb-sync: edit a MyBB forum's templates and stylesheets as files, safely\n\n\
         USAGE:\n    mybb-sync [OPTIONS] <COMMAND> [COMMAND OPTIONS]\n\nCOMMANDS:\n",
    );
    let lefts: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("{} {}", c.name(), c.operands_usage).trim_end().to_owned())
        .collect();
    let width = (lefts.iter().map(String::len).max().unwrap_or(0) + 2).max(20);
    for (command, left) in COMMANDS.iter().zip(&lefts) {
        let _ = writeln!(out, "    {left:<width$}{}", command.summary);
    }
    flag_section(&mut out, "OPTIONS", GLOBAL_FLAGS);
    for command in COMMANDS.iter().filter(|c| !c.flags.is_empty()) {
        flag_section(
            &mut out,
            &format!("{} OPTIONS", command.name().to_uppercase()),
            command.flags,
        );
    }
    out.push_str(
        "\nRun `mybb-sync help COMMAND` (or `mybb-sync COMMAND --help`) for one command.\n\n",
    );
    out.push_str(EXIT_CODES);
    out
}

/// Returns the help text of one command.
pub fn command_help(command: &CommandSpec) -> String {
    let mut out = format!(
        "mybb-sync {}: {}\n\nUSAGE:\n    mybb-sync [OPTIONS] {} {}\n\n",
        command.name(),
        command.summary,
        command.name(),
        if command.flags.is_empty() {
            command.operands_usage.to_owned()
        } else {
            format!("[{} OPTIONS] {}", command.name().to_uppercase(), command.operands_usage)
        }
        .trim_end(),
    );
    out.push_str(&wrap(command.about, 96));
    if !command.flags.is_empty() {
        flag_section(
            &mut out,
            &format!("{} OPTIONS", command.name().to_uppercase()),
            command.flags,
        );
    }
    flag_section(&mut out, "GLOBAL OPTIONS", GLOBAL_FLAGS);
    out.push('\n');
    out.push_str(EXIT_CODES);
    out
}

/// Returns `text` wrapped at `width` columns, ending in a newline.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// What the user asked for, as typed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    pub connection: ConnectionArgs,
    pub verbosity: Verbosity,
    pub command: Command,
}

/// How much to log, before `RUST_LOG` has its say.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// The subcommand and its own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `--help`, `help [COMMAND]`, `COMMAND --help`.
    Help(HelpTopic),
    /// `--version`.
    Version,
    Export(ExportArgs),
    Import(ImportArgs),
    Watch(WatchArgs),
    Status(StatusArgs),
    /// `cache rebuild`.
    CacheRebuild(CacheArgs),
    /// `completions SHELL`: the shell's name.
    Completions(&'static str),
    /// `outdated`, `diff`, `merge`, `revert`: see [`UpgradeArgs`].
    Upgrade(UpgradeArgs),
    /// `theme export|import|unpack`.
    Theme(ThemeCommand),
}

/// `theme`'s actions and their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeCommand {
    Export(ThemeExportArgs),
    Import(ThemeImportArgs),
    /// `theme unpack FILE`: the file.
    Unpack(PathBuf),
}

impl Default for Command {
    fn default() -> Command {
        Command::Help(HelpTopic::General)
    }
}

/// Whose help to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpTopic {
    /// mybb-sync's.
    General,
    /// One command's.
    Command(&'static CommandSpec),
    /// The commands sharing a first word (`theme` of `theme export`, `theme import`).
    Group(&'static str),
}

/// Returns the help topic `words` name (a command's words, maybe followed by others): the
/// command whose words they start with, else the group of their first word.
fn topic(words: &[String]) -> Result<HelpTopic> {
    let Some(first) = words.first() else { return Ok(HelpTopic::General) };
    let group: Vec<&'static CommandSpec> =
        COMMANDS.iter().filter(|c| c.words[0] == first.as_str()).collect();
    if let [only] = group.as_slice() {
        return Ok(HelpTopic::Command(only));
    }
    let second = words.get(1).map(String::as_str);
    match group.iter().find(|c| c.words.get(1).copied() == second) {
        Some(spec) => Ok(HelpTopic::Command(spec)),
        None if !group.is_empty() => Ok(HelpTopic::Group(group[0].words[0])),
        None => Err(Error::usage(format!("unknown command {first:?}"))),
    }
}

/// Returns the help of the commands whose first word is `word`.
pub fn group_help(word: &str) -> String {
    let mut out = format!("mybb-sync {word}: one of these commands\n\n");
    for command in COMMANDS.iter().filter(|c| c.words[0] == word) {
        let left = format!("{} {}", command.name(), command.operands_usage);
        let _ = writeln!(out, "    {:<28}{}", left.trim_end(), command.summary);
    }
    let _ = writeln!(out, "\nRun `mybb-sync help {word} ACTION` for one of them.");
    out
}

/// Which upgrade command.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeCommand {
    #[default]
    Outdated,
    Diff,
    Merge,
    Revert,
}

/// Options of `outdated`, `diff`, `merge` and `revert`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpgradeArgs {
    pub command: UpgradeCommand,
    pub paths: Vec<PathBuf>,
    pub porcelain: bool,
    /// `diff --master`.
    pub master: bool,
    /// `--base FILE.xml`.
    pub base: Option<PathBuf>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    /// `outdated --json`, `merge --json`, `revert --json`.
    pub json: bool,
}

/// Options of `export`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportArgs {
    pub sets: Vec<String>,
    pub themes: Vec<String>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    pub json: bool,
}

/// Options of `import`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    pub paths: Vec<PathBuf>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    pub json: bool,
}

/// Options of `status`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatusArgs {
    pub porcelain: bool,
    pub json: bool,
}

/// Options of `cache rebuild`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CacheArgs {
    /// Theme names; empty means every theme.
    pub themes: Vec<String>,
}

/// Options of `watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchArgs {
    pub export_first: bool,
    pub debounce: Duration,
    /// How often to look for database changes; None with `--no-pull`.
    pub pull_interval: Option<Duration>,
    /// Where to serve live-reload browsers (`--live-reload [ADDR]`); None without the flag.
    pub live_reload: Option<SocketAddr>,
}

impl Default for WatchArgs {
    fn default() -> WatchArgs {
        WatchArgs {
            export_first: false,
            debounce: Duration::from_millis(75),
            pull_interval: Some(Duration::from_secs(2)),
            live_reload: None,
        }
    }
}

/// Parses the process's arguments.
pub fn parse() -> Result<Args> {
    parse_from(std::env::args_os().skip(1))
}

/// Parses `args` (without the program name). Errors are usage errors (exit code 2).
pub fn parse_from<I>(args: I) -> Result<Args>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    parse_inner(lexopt::Parser::from_args(args)).map_err(|e| match e {
        Error::Usage { message } => Error::usage(format!("{message} (see mybb-sync --help)")),
        other => other,
    })
}

/// Returns the flag named `long` (or `-short`) in any table, for the loop to know whether it
/// takes a value: a name means the same everywhere (a test checks that).
fn any_flag(matches: impl Fn(&Flag) -> bool) -> Option<&'static Flag> {
    GLOBAL_FLAGS.iter().chain(COMMANDS.iter().flat_map(|c| c.flags.iter())).find(|f| matches(f))
}

fn parse_inner(mut parser: lexopt::Parser) -> Result<Args> {
    let mut args = Args::default();
    let mut help = false;
    let mut version = false;
    let mut positionals: Vec<OsString> = Vec::new();
    // Command flags seen, with their values, applied once the command is known.
    let mut seen: Vec<(&'static Flag, Option<String>)> = Vec::new();

    while let Some(arg) = parser.next().map_err(usage)? {
        let flag = match &arg {
            Long(name) => any_flag(|f| f.long == *name),
            Short(c) => any_flag(|f| f.short == Some(*c)),
            Value(_) => None,
        };
        let flag = match (arg, flag) {
            (Value(value), _) => {
                positionals.push(value);
                continue;
            }
            (_, Some(flag)) => flag,
            (arg, None) => return Err(usage(arg.unexpected())),
        };
        let value = match (flag.value, flag.optional) {
            (None, _) => None,
            (Some(_), false) => Some(string(parser.value().map_err(usage)?, flag.long)?),
            (Some(_), true) => optional_value(&mut parser, flag.long)?,
        };
        match flag.long {
            "db" => args.connection.db_url = value,
            "mybb" => args.connection.mybb_root = value.map(PathBuf::from),
            "root" => args.connection.sync_root = value.map(PathBuf::from),
            "prefix" => args.connection.prefix = value,
            "no-fsync" => args.connection.no_fsync = true,
            "rebind" => args.connection.rebind = true,
            "quiet" => args.verbosity = Verbosity::Quiet,
            "verbose" => args.verbosity = Verbosity::Verbose,
            "help" => help = true,
            "version" => version = true,
            _ => seen.push((flag, value)),
        }
    }

    let positionals: Vec<String> = positionals
        .into_iter()
        .map(|p| {
            p.into_string()
                .map_err(|v| Error::usage(format!("{:?} is not valid UTF-8", v.to_string_lossy())))
        })
        .collect::<Result<_>>()?;
    if help {
        return Ok(Args { command: Command::Help(topic(&positionals)?), ..args });
    }
    if version {
        return Ok(Args { command: Command::Version, ..args });
    }
    let spec = command_of(&positionals)?;
    let operands = check_operands(spec, &positionals[spec.words.len()..])?;

    let mut export = ExportArgs::default();
    let mut status = StatusArgs::default();
    let mut watch = WatchArgs::default();
    let mut cache = CacheArgs::default();
    let mut upgrade = UpgradeArgs::default();
    let mut theme_export = ThemeExportArgs::default();
    let mut theme_import = ThemeImportArgs::default();
    let (mut dry_run, mut prefer, mut json) = (false, None, false);
    for (flag, value) in seen {
        if !spec.flags.iter().any(|f| f.long == flag.long) {
            let owners: Vec<String> = COMMANDS
                .iter()
                .filter(|c| c.flags.iter().any(|f| f.long == flag.long))
                .map(|c| format!("`{}`", c.name()))
                .collect();
            return Err(Error::usage(format!(
                "--{} belongs to {}, not `{}`",
                flag.long,
                owners.join(" and "),
                spec.name()
            )));
        }
        let value = value.unwrap_or_default();
        match flag.long {
            "set" => export.sets.push(value),
            "theme" => {
                export.themes.push(value.clone());
                cache.themes.push(value);
            }
            "dry-run" => dry_run = true,
            "json" => json = true,
            "prefer" => {
                prefer = Some(match value.as_str() {
                    "disk" if spec.words[0] == "export" => {
                        return Err(Error::usage(
                            "export --prefer disk would mean nothing: export writes files, and \
                             files edited on disk are kept anyway; to send them to the database \
                             use import --prefer disk",
                        ));
                    }
                    "disk" if spec.words[0] == "revert" => {
                        return Err(Error::usage(
                            "`revert --prefer` takes db (discard the file's edits); to keep them, \
                             don't revert",
                        ));
                    }
                    "disk" => Prefer::Disk,
                    "db" => Prefer::Db,
                    other => {
                        return Err(Error::usage(format!(
                            "--prefer takes disk or db, not {other:?}"
                        )));
                    }
                });
            }
            "porcelain" => status.porcelain = true,
            "master" => upgrade.master = true,
            "custom-only" => theme_export.custom_only = true,
            "from-files" => theme_export.from_files = true,
            "no-templates" => {
                theme_export.no_templates = true;
                theme_import.no_templates = true;
            }
            "name" => theme_import.name = Some(value),
            "parent" => theme_import.parent = Some(value),
            "no-stylesheets" => theme_import.no_stylesheets = true,
            "version-compat" => theme_import.version_compat = true,
            "base" => upgrade.base = Some(PathBuf::from(value)),
            "pull-interval" => {
                let seconds: f64 = number(&value, "--pull-interval")?;
                if !(seconds > 0.0 && seconds <= 86_400.0) {
                    return Err(Error::usage("--pull-interval takes seconds, more than 0"));
                }
                watch.pull_interval = Some(Duration::from_secs_f64(seconds));
            }
            "no-pull" => watch.pull_interval = None,
            "live-reload" => {
                watch.live_reload = Some(match value.as_str() {
                    "" => crate::live::DEFAULT_ADDR,
                    text => live_reload_addr(text)?,
                });
            }
            "export-first" => watch.export_first = true,
            "debounce" => watch.debounce = Duration::from_millis(number(&value, "--debounce")?),
            other => return Err(Error::usage(format!("--{other} is not handled (a bug)"))),
        }
    }
    if status.porcelain && json {
        return Err(Error::usage("--porcelain and --json are two output forms: choose one"));
    }
    args.command = match spec.words[0] {
        "export" => Command::Export(ExportArgs { dry_run, prefer, json, ..export }),
        "import" => Command::Import(ImportArgs {
            paths: operands.iter().map(PathBuf::from).collect(),
            dry_run,
            prefer,
            json,
        }),
        "status" => Command::Status(StatusArgs { json, ..status }),
        "cache" => Command::CacheRebuild(cache),
        "watch" => Command::Watch(watch),
        "help" => Command::Help(topic(operands)?),
        "theme" => {
            let target = operands.first().cloned().unwrap_or_default();
            Command::Theme(match spec.words[1] {
                "export" => ThemeCommand::Export(ThemeExportArgs { name: target, ..theme_export }),
                "import" => {
                    ThemeCommand::Import(ThemeImportArgs { file: target.into(), ..theme_import })
                }
                _ => ThemeCommand::Unpack(target.into()),
            })
        }
        name @ ("outdated" | "diff" | "merge" | "revert") => Command::Upgrade(UpgradeArgs {
            command: match name {
                "outdated" => UpgradeCommand::Outdated,
                "diff" => UpgradeCommand::Diff,
                "merge" => UpgradeCommand::Merge,
                _ => UpgradeCommand::Revert,
            },
            paths: operands.iter().map(PathBuf::from).collect(),
            porcelain: status.porcelain,
            json,
            dry_run,
            prefer,
            ..upgrade
        }),
        "completions" => {
            let shell = operands.first().map(String::as_str);
            Command::Completions(SHELLS.iter().find(|s| Some(**s) == shell).unwrap_or(&"bash"))
        }
        other => return Err(Error::usage(format!("`{other}` is not handled (a bug)"))),
    };
    Ok(args)
}

/// Returns the command `positionals` start with: its first word, and for a command of two
/// words (`cache rebuild`, `theme export`) the second.
fn command_of(positionals: &[String]) -> Result<&'static CommandSpec> {
    let Some(word) = positionals.first() else {
        return Err(Error::usage(
            "no command given: use export, import, watch, status, cache rebuild, outdated, diff, \
             merge or revert",
        ));
    };
    let group: Vec<&'static CommandSpec> =
        COMMANDS.iter().filter(|c| c.words[0] == word.as_str()).collect();
    match group.as_slice() {
        [] => return Err(Error::usage(format!("unknown command {word:?}"))),
        [only] if only.words.len() == 1 => return Ok(only),
        _ => {}
    }
    let names: Vec<String> = group.iter().map(|c| c.name()).collect();
    let names = names.join(", ");
    match positionals.get(1) {
        Some(action) => {
            group.iter().find(|c| c.words.get(1) == Some(&action.as_str())).copied().ok_or_else(
                || Error::usage(format!("unknown {word} action {action:?}: use {names}")),
            )
        }
        None => Err(Error::usage(format!("`{word}` needs an action: use {names}"))),
    }
}

/// Returns `operands` if they are what `spec` takes.
fn check_operands<'a>(spec: &CommandSpec, operands: &'a [String]) -> Result<&'a [String]> {
    let name = spec.name();
    let (min, max, kind) = match spec.operands {
        Operands::None => (0, 0, ValueKind::Text),
        Operands::Paths { min } => (min, usize::MAX, ValueKind::File),
        Operands::One(kind) => (1, 1, kind),
        // `help` takes a command's name, which may be two words.
        Operands::Optional(kind) if spec.words[0] == "help" => (0, 2, kind),
        Operands::Optional(kind) => (0, 1, kind),
    };
    if operands.len() < min {
        return Err(Error::usage(match kind {
            ValueKind::Choice(words) => format!("`{name}` needs one of: {}", words.join(", ")),
            _ if matches!(spec.operands, Operands::Paths { .. }) => {
                format!("`{name}` needs at least one PATH")
            }
            _ => format!("`{name}` needs {}", spec.operands_usage),
        }));
    }
    if let Some(extra) = operands.get(max) {
        return Err(Error::usage(format!("unexpected argument {extra:?}")));
    }
    if let (ValueKind::Choice(words), Some(first)) = (kind, operands.first())
        && !words.contains(&first.as_str())
    {
        return Err(Error::usage(format!(
            "`{name}` takes one of {}, not {first:?}",
            words.join(", ")
        )));
    }
    Ok(operands)
}

/// Parses the address of `--live-reload`: `IP:PORT` (`[IPv6]:PORT`), an IP alone (port 35729),
/// a port alone (on 127.0.0.1), or `localhost[:PORT]`.
fn live_reload_addr(text: &str) -> Result<SocketAddr> {
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let port = crate::live::DEFAULT_PORT;
    let parsed = text
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| text.parse::<u16>().ok().map(|p| SocketAddr::new(local, p)))
        .or_else(|| text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, port)))
        .or_else(|| match text.strip_prefix("localhost") {
            Some("") => Some(SocketAddr::new(local, port)),
            Some(rest) => rest.strip_prefix(':')?.parse().ok().map(|p| SocketAddr::new(local, p)),
            None => None,
        });
    parsed.ok_or_else(|| {
        Error::usage(format!(
            "--live-reload takes an address such as 127.0.0.1:35729 or 0.0.0.0:35729, not {text:?}"
        ))
    })
}

/// Returns the value of an optional-value flag: `--flag=VALUE`, or the next argument unless it
/// is an option or a command; None when there is none.
fn optional_value(parser: &mut lexopt::Parser, flag: &str) -> Result<Option<String>> {
    let value = parser.optional_value().or_else(|| {
        parser.try_raw_args()?.next_if(|next| {
            next.to_str().is_none_or(|s| !s.starts_with('-') && !COMMAND_WORDS.contains(&s))
        })
    });
    value.map(|v| string(v, flag)).transpose()
}

fn usage(e: lexopt::Error) -> Error {
    Error::usage(e.to_string())
}

fn string(value: OsString, flag: &str) -> Result<String> {
    value.into_string().map_err(|v| {
        Error::usage(format!("--{flag}: {:?} is not valid UTF-8", v.to_string_lossy()))
    })
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T> {
    text.parse().map_err(|_| Error::usage(format!("{flag} takes a number, not {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args> {
        parse_from(args.iter().copied())
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let a = parse(&["--db", "mysql://u@h/d", "export", "--root", "/tmp/x", "-q"]).unwrap();
        assert_eq!(a.connection.db_url.as_deref(), Some("mysql://u@h/d"));
        assert_eq!(a.connection.sync_root, Some(PathBuf::from("/tmp/x")));
        assert_eq!(a.verbosity, Verbosity::Quiet);
        assert_eq!(a.command, Command::Export(ExportArgs::default()));
    }

    #[test]
    fn export_takes_repeated_sets_and_themes() {
        let a = parse(&["export", "--set", "A", "--set", "B C", "--theme", "Default"]).unwrap();
        let want = ExportArgs {
            sets: vec!["A".into(), "B C".into()],
            themes: vec!["Default".into()],
            ..ExportArgs::default()
        };
        assert_eq!(a.command, Command::Export(want));
    }

    #[test]
    fn import_takes_paths() {
        let a = parse(&["import", "a.html", "styles/x/y.css"]).unwrap();
        let want = ImportArgs {
            paths: vec!["a.html".into(), "styles/x/y.css".into()],
            ..ImportArgs::default()
        };
        assert_eq!(a.command, Command::Import(want));
    }

    #[test]
    fn watch_options_parse() {
        let a = parse(&["watch", "--export-first", "--debounce", "20"]).unwrap();
        let want = WatchArgs {
            export_first: true,
            debounce: Duration::from_millis(20),
            ..WatchArgs::default()
        };
        assert_eq!(a.command, Command::Watch(want));
        let a = parse(&["watch", "--pull-interval", "0.5"]).unwrap();
        let Command::Watch(w) = a.command else { panic!() };
        assert_eq!(w.pull_interval, Some(Duration::from_millis(500)));
        let a = parse(&["watch", "--no-pull"]).unwrap();
        let Command::Watch(w) = a.command else { panic!() };
        assert_eq!(w.pull_interval, None);
    }

    #[test]
    fn live_reload_takes_an_optional_address() {
        let live = |args: &[&str]| match parse(args).unwrap().command {
            Command::Watch(w) => w.live_reload,
            other => panic!("{other:?}"),
        };
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(live(&["watch"]), None);
        assert_eq!(live(&["watch", "--live-reload"]), Some(addr("127.0.0.1:35729")));
        assert_eq!(live(&["watch", "--live-reload", "0.0.0.0:35729"]), Some(addr("0.0.0.0:35729")));
        assert_eq!(live(&["watch", "--live-reload=9000"]), Some(addr("127.0.0.1:9000")));
        assert_eq!(live(&["watch", "--live-reload", "::"]), Some(addr("[::]:35729")));
        assert_eq!(live(&["watch", "--live-reload", "localhost:1"]), Some(addr("127.0.0.1:1")));
        // What follows is an option or the command, not an address.
        assert_eq!(live(&["watch", "--live-reload", "-q"]), Some(addr("127.0.0.1:35729")));
        assert_eq!(live(&["--live-reload", "watch"]), Some(addr("127.0.0.1:35729")));
        let err = parse(&["watch", "--live-reload", "example.org:80"]).unwrap_err();
        assert!(err.to_string().contains("--live-reload takes an address"), "{err}");
        let err = parse(&["export", "--live-reload"]).unwrap_err();
        assert!(err.to_string().contains("--live-reload belongs to `watch`"), "{err}");
    }

    #[test]
    fn sync_options_go_to_their_commands() {
        let a = parse(&["import", "--dry-run", "--prefer", "disk"]).unwrap();
        let Command::Import(i) = a.command else { panic!() };
        assert_eq!((i.dry_run, i.prefer), (true, Some(Prefer::Disk)));
        let a = parse(&["export", "--prefer", "db"]).unwrap();
        let Command::Export(e) = a.command else { panic!() };
        assert_eq!(e.prefer, Some(Prefer::Db));
        let a = parse(&["status", "--porcelain"]).unwrap();
        assert_eq!(a.command, Command::Status(StatusArgs { porcelain: true, json: false }));
        let a = parse(&["--json", "status"]).unwrap();
        assert_eq!(a.command, Command::Status(StatusArgs { porcelain: false, json: true }));
    }

    #[test]
    fn cache_rebuild_takes_optional_repeated_themes() {
        let a = parse(&["--mybb", "/var/www/forum", "cache", "rebuild"]).unwrap();
        assert_eq!(a.connection.mybb_root, Some(PathBuf::from("/var/www/forum")));
        assert_eq!(a.command, Command::CacheRebuild(CacheArgs::default()));
        let a = parse(&["cache", "rebuild", "--theme", "Default", "--theme", "Dark"]).unwrap();
        let want = CacheArgs { themes: vec!["Default".into(), "Dark".into()] };
        assert_eq!(a.command, Command::CacheRebuild(want));
        // --theme still belongs to export too, and not to the other commands.
        let err = parse(&["import", "--theme", "Default"]).unwrap_err();
        assert!(
            err.to_string().contains("--theme belongs to `export` and `cache rebuild`"),
            "{err}"
        );
    }

    #[test]
    fn theme_takes_an_action_a_target_and_that_actions_options() {
        let a = parse(&["theme", "export", "My Theme", "--custom-only", "--no-templates"]).unwrap();
        let want = ThemeExportArgs {
            name: "My Theme".into(),
            custom_only: true,
            no_templates: true,
            from_files: false,
        };
        assert_eq!(a.command, Command::Theme(ThemeCommand::Export(want)));
        let a = parse(&[
            "theme",
            "import",
            "t.xml",
            "--name",
            "N",
            "--parent",
            "P",
            "--version-compat",
        ])
        .unwrap();
        let want = ThemeImportArgs {
            file: "t.xml".into(),
            name: Some("N".into()),
            parent: Some("P".into()),
            version_compat: true,
            ..ThemeImportArgs::default()
        };
        assert_eq!(a.command, Command::Theme(ThemeCommand::Import(want)));
        let a = parse(&["theme", "unpack", "t.xml", "--root", "/tmp/r"]).unwrap();
        assert_eq!(a.command, Command::Theme(ThemeCommand::Unpack("t.xml".into())));
        assert_eq!(a.connection.sync_root, Some(PathBuf::from("/tmp/r")));

        for (args, says) in [
            (&["theme"][..], "needs an action"),
            (&["theme", "export"][..], "`theme export` needs NAME"),
            (&["theme", "import"][..], "`theme import` needs FILE"),
            (&["theme", "delete", "x"][..], "unknown theme action"),
            (
                &["theme", "import", "t.xml", "--custom-only"][..],
                "--custom-only belongs to `theme export`",
            ),
            (&["theme", "export", "x", "--name", "y"][..], "--name belongs to `theme import`"),
            (&["export", "--from-files"][..], "--from-files belongs to `theme export`"),
            (&["theme", "export", "a", "b"][..], "unexpected argument"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }

    #[test]
    fn upgrade_commands_take_their_paths_and_options() {
        let a = parse(&["outdated", "--porcelain", "--base", "old.xml"]).unwrap();
        let want =
            UpgradeArgs { porcelain: true, base: Some("old.xml".into()), ..UpgradeArgs::default() };
        assert_eq!(a.command, Command::Upgrade(want));
        let a = parse(&["diff", "a.html", "--master"]).unwrap();
        let want = UpgradeArgs {
            command: UpgradeCommand::Diff,
            paths: vec!["a.html".into()],
            master: true,
            ..UpgradeArgs::default()
        };
        assert_eq!(a.command, Command::Upgrade(want));
        let a = parse(&["merge", "x", "y", "--dry-run", "--base", "b.xml"]).unwrap();
        let Command::Upgrade(m) = a.command else { panic!() };
        assert_eq!((m.command, m.paths.len(), m.dry_run), (UpgradeCommand::Merge, 2, true));
        let a = parse(&["revert", "x", "--prefer", "db"]).unwrap();
        let Command::Upgrade(r) = a.command else { panic!() };
        assert_eq!((r.command, r.prefer), (UpgradeCommand::Revert, Some(Prefer::Db)));
        for (args, needle) in [
            (&["diff"][..], "needs at least one PATH"),
            (&["revert"][..], "needs at least one PATH"),
            (&["revert", "x", "--prefer", "disk"][..], "takes db"),
            (&["outdated", "stray"][..], "stray"),
            (&["merge", "--master"][..], "--master belongs to `diff`"),
            (&["diff", "x", "--base", "b.xml"][..], "--base belongs to `outdated` and `merge`"),
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_comes_in_three_forms() {
        let of = |word: &str| HelpTopic::Command(command_spec(word).unwrap());
        let help = |args: &[&str]| match parse(args).unwrap().command {
            Command::Help(topic) => topic,
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(help(&["--help"]), HelpTopic::General);
        assert_eq!(help(&["help"]), HelpTopic::General);
        assert_eq!(help(&["export", "--help"]), of("export"));
        assert_eq!(help(&["import", "a.html", "--help"]), of("import"));
        assert_eq!(help(&["-h", "cache"]), of("cache"));
        assert_eq!(help(&["help", "status"]), of("status"));
        assert_eq!(help(&["help", "cache", "rebuild"]), of("cache"));
        assert_eq!(parse(&["-V"]).unwrap().command, Command::Version);
        assert_eq!(parse(&["completions", "fish"]).unwrap().command, Command::Completions("fish"));
    }

    #[test]
    fn an_optional_value_takes_the_next_word_unless_it_is_an_option_or_a_command() {
        fn value_of(args: &[&str]) -> Option<String> {
            let mut parser = lexopt::Parser::from_args(args.iter().copied());
            let _flag = parser.next().unwrap();
            optional_value(&mut parser, "x").unwrap()
        }
        assert_eq!(value_of(&["--x", "1.2.3.4:5"]), Some("1.2.3.4:5".to_owned()));
        assert_eq!(value_of(&["--x=9"]), Some("9".to_owned()));
        assert_eq!(value_of(&["--x", "--no-pull"]), None);
        assert_eq!(value_of(&["--x", "watch"]), None);
        assert_eq!(value_of(&["--x"]), None);
    }

    #[test]
    fn every_flag_of_the_table_parses_and_means_the_same_everywhere() {
        for command in COMMANDS {
            for flag in command.flags {
                let mut args: Vec<&str> = command.words.to_vec();
                let value = match flag.kind {
                    ValueKind::Choice(words) => words[words.len() - 1],
                    _ if ["pull-interval", "debounce", "live-reload"].contains(&flag.long) => "5",
                    _ => "x",
                };
                let long = format!("--{}", flag.long);
                args.push(&long);
                if flag.value.is_some() {
                    args.push(value);
                }
                match command.operands {
                    Operands::One(ValueKind::Choice(words)) => args.push(words[0]),
                    Operands::One(_) => args.push("x"),
                    Operands::Paths { min } => args.extend(std::iter::repeat_n("x", min)),
                    _ => {}
                }
                let parsed = parse(&args);
                assert!(parsed.is_ok(), "{args:?}: {}", parsed.unwrap_err());
                let first = any_flag(|f| f.long == flag.long).unwrap();
                assert_eq!(first.value.is_some(), flag.value.is_some(), "--{}", flag.long);
            }
        }
        for flag in GLOBAL_FLAGS {
            assert!(COMMANDS.iter().all(|c| c.flags.iter().all(|f| f.long != flag.long)));
        }
        for command in COMMANDS {
            assert!(COMMAND_WORDS.contains(&command.words[0]), "{}", command.name());
        }
        for word in COMMAND_WORDS {
            assert!(COMMANDS.iter().any(|c| c.words[0] == *word), "{word}");
        }
    }

    #[test]
    fn the_help_shows_every_command_and_flag_of_the_table() {
        let text = help();
        for command in COMMANDS {
            assert!(text.contains(&format!("\n    {}", command.name())), "{}", command.name());
            let own = command_help(command);
            for flag in command.flags.iter().chain(GLOBAL_FLAGS) {
                assert!(own.contains(&flag.usage()), "{}: {}", command.name(), flag.usage());
                assert!(text.contains(&flag.usage()), "{}", flag.usage());
            }
        }
    }

    #[test]
    fn mistakes_are_usage_errors_that_name_the_culprit() {
        for (args, needle) in [
            (&["frobnicate"][..], "frobnicate"),
            (&[][..], "no command"),
            (&["export", "--bogus"][..], "--bogus"),
            (&["watch", "--set", "x"][..], "--set belongs to `export`"),
            (&["watch", "--dry-run"][..], "--dry-run belongs to `export` and `import`"),
            (&["import", "--prefer", "both"][..], "--prefer takes disk or db"),
            (&["export", "--prefer", "disk"][..], "import --prefer disk"),
            (&["watch", "--pull-interval", "0"][..], "--pull-interval takes seconds"),
            (&["watch", "--debounce", "soon"][..], "--debounce takes a number"),
            (&["export", "stray"][..], "stray"),
            (&["export", "--db"][..], "--db"),
            (&["cache"][..], "cache rebuild"),
            (&["cache", "flush"][..], "flush"),
            (&["cache", "rebuild", "extra"][..], "extra"),
            (&["cache", "rebuild", "--set", "x"][..], "--set belongs to `export`"),
            (&["completions"][..], "bash, zsh, fish"),
            (&["completions", "tcsh"][..], "tcsh"),
            (&["help", "nope"][..], "nope"),
            (&["status", "--json", "--porcelain"][..], "choose one"),
            (&["watch", "--json"][..], "--json belongs to `export` and `import` and `status`"),
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
        }
    }
}
