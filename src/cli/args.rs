//! What a parse yields: [`Args`], and one typed struct per command that its module in
//! `commands/` runs as given (ripgrep's core runs its `HiArgs` the same way). Each flag's
//! effect in `table.rs` fills one field of one of these structs; nothing is copied from a
//! shared bag afterwards.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::spec::CommandSpec;
use crate::config::ConnectionArgs;
pub use crate::sync::decide::Prefer;

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
    /// `check [PATH]...`.
    Check(CheckArgs),
    /// `cache rebuild`.
    CacheRebuild(CacheArgs),
    /// `completions SHELL`: the shell's name.
    Completions(&'static str),
    Outdated(OutdatedArgs),
    Diff(DiffArgs),
    Merge(MergeArgs),
    Revert(RevertArgs),
    /// `theme export|import|unpack`.
    Theme(ThemeCommand),
    /// `dev THEME`: a private development copy, watched with live reload (issue 29).
    Dev(DevArgs),
    /// `publish [THEME]`: the development copy's changes onto the live theme (issue 29).
    Publish(PublishArgs),
}

impl Default for Command {
    fn default() -> Command {
        Command::Help(HelpTopic::General)
    }
}

/// `theme`'s actions and their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeCommand {
    Export(ThemeExportArgs),
    Import(ThemeImportArgs),
    /// `theme unpack FILE`: the file.
    Unpack(PathBuf),
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

/// Options of `export`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportArgs {
    /// Template set titles; empty means every set (and the global set when it has rows).
    pub sets: Vec<String>,
    /// Theme names; empty means every theme but the master theme.
    pub themes: Vec<String>,
    /// Print what would change, change nothing.
    pub dry_run: bool,
    /// `--prefer`: where file and database differ, that side wins (`disk`: the file's content
    /// goes to the database), conflicts included.
    pub prefer: Option<Prefer>,
    /// Print JSON lines on stdout (`commands/output.rs`).
    pub json: bool,
}

/// Options of `import`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    /// Files and folders to import; empty means the whole sync root.
    pub paths: Vec<PathBuf>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
    pub json: bool,
    /// `--strict`: refuse the files in which `check` finds errors.
    pub strict: bool,
    /// `--new-themes`: create the themes (and template sets) that folders with a `theme.json`
    /// name and the board lacks (issue 28).
    pub new_themes: bool,
}

/// Options of `status`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatusArgs {
    pub porcelain: bool,
    pub json: bool,
}

/// Options of `check`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckArgs {
    /// Files and folders to check; empty means the whole sync root.
    pub paths: Vec<PathBuf>,
    /// Print JSON lines on stdout: one object per finding, then a summary.
    pub json: bool,
    /// `--allow RULE`, as typed (the rule names are checked when the command runs).
    pub allow: Vec<String>,
    /// `--masters FILE.xml`: master templates from a release's theme file.
    pub masters: Option<PathBuf>,
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
    /// The most files one batch may delete from the database (`--max-deletions`).
    pub max_deletions: usize,
}

impl Default for WatchArgs {
    fn default() -> WatchArgs {
        WatchArgs {
            export_first: false,
            debounce: Duration::from_millis(75),
            pull_interval: Some(Duration::from_secs(2)),
            live_reload: None,
            max_deletions: 5,
        }
    }
}

/// Options of `outdated`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutdatedArgs {
    /// `--base FILE.xml`: old masters for copies the baseline has no merge base for.
    pub base: Option<PathBuf>,
    pub porcelain: bool,
    pub json: bool,
}

/// Options of `diff`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DiffArgs {
    pub paths: Vec<PathBuf>,
    /// `--master`: the custom copy against the master template, not the file against the row.
    pub master: bool,
}

/// Options of `merge`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MergeArgs {
    /// The files and folders to merge; empty means every outdated template.
    pub paths: Vec<PathBuf>,
    /// `--base FILE.xml`: old masters for copies the baseline has no merge base for.
    pub base: Option<PathBuf>,
    pub dry_run: bool,
    pub json: bool,
}

/// Options of `revert`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RevertArgs {
    pub paths: Vec<PathBuf>,
    /// `--prefer db`: discard edits of the file not yet in the database (the only choice).
    pub prefer: Option<Prefer>,
    pub json: bool,
}

/// The options of `theme export`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeExportArgs {
    /// The theme's name.
    pub name: String,
    /// `--custom-only`: the Admin CP's "Include customized items only?".
    pub custom_only: bool,
    /// `--no-templates`: "Include templates in the export as well?" no.
    pub no_templates: bool,
    /// `--from-files`: export the sync root's files rather than the database's rows.
    pub from_files: bool,
}

/// The options of `theme import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeImportArgs {
    pub file: PathBuf,
    /// `--name NAME`: the new theme's name instead of the file's.
    pub name: Option<String>,
    /// `--parent NAME`: the parent theme (default: MyBB's master style).
    pub parent: Option<String>,
    pub no_templates: bool,
    pub no_stylesheets: bool,
    pub version_compat: bool,
}

/// Options of `dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevArgs {
    /// The live theme's name.
    pub theme: String,
    /// `--name NAME`: the copy's name [default: "THEME (development)"].
    pub name: Option<String>,
    /// `--groups GIDS`: who may use the copy [default: 4, the administrators].
    pub groups: String,
    /// Where to serve live-reload browsers; None with `--no-live-reload`.
    pub live_reload: Option<SocketAddr>,
    /// `--no-watch`: make (or find) the copy and export it, then stop.
    pub no_watch: bool,
}

impl Default for DevArgs {
    fn default() -> DevArgs {
        DevArgs {
            theme: String::new(),
            name: None,
            groups: "4".to_owned(),
            live_reload: Some(crate::live::DEFAULT_ADDR),
            no_watch: false,
        }
    }
}

/// Options of `publish`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishArgs {
    /// The live theme whose copy to publish; None: the sync root's only copy.
    pub theme: Option<String>,
    pub dry_run: bool,
    pub json: bool,
    /// `--partial`: publish what merges even when other items conflict.
    pub partial: bool,
    /// `--drop`: delete the copy once published.
    pub drop: bool,
    /// `--prefer copy|live`: the side that settles conflicts.
    pub prefer: Option<crate::sync::devtheme::publish::Prefer>,
}

/// What the flags given fill while the command is not yet known: the global options, and
/// each command's own struct (a flag's effect writes only to its command's). The command's
/// `build` in the table then takes its struct and adds the operands.
#[derive(Debug, Default)]
pub(crate) struct Given {
    pub connection: ConnectionArgs,
    pub verbosity: Verbosity,
    pub help: bool,
    pub version: bool,
    pub of: PerCommand,
}

/// Each command's options, as its flags fill them.
#[derive(Debug, Default)]
pub(crate) struct PerCommand {
    pub export: ExportArgs,
    pub import: ImportArgs,
    pub watch: WatchArgs,
    pub status: StatusArgs,
    pub check: CheckArgs,
    pub cache: CacheArgs,
    pub outdated: OutdatedArgs,
    pub diff: DiffArgs,
    pub merge: MergeArgs,
    pub revert: RevertArgs,
    pub theme_export: ThemeExportArgs,
    pub theme_import: ThemeImportArgs,
    pub dev: DevArgs,
    pub publish: PublishArgs,
}
