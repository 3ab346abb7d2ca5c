//! The command line: a `lexopt` loop that turns arguments into [`Args`], checking syntax only.
//!
//! Whatever touches the world (reading `inc/config.php`, the environment, the database) happens
//! later, in `config.rs`. Global options may stand before or after the subcommand.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

pub use crate::commands::theme::{ThemeExportArgs, ThemeImportArgs};
use crate::config::ConnectionArgs;
use crate::error::{Error, Result};
pub use crate::sync::decide::Prefer;

/// The help text, printed by `--help`.
pub const HELP: &str = "\
mybb-sync: edit a MyBB forum's templates and stylesheets as files, safely

USAGE:
    mybb-sync [OPTIONS] <COMMAND> [COMMAND OPTIONS]

COMMANDS:
    export              Write every template set and theme to files under the sync root
    import [PATH...]    Write every file that changed since the last sync to the database, once
    watch               Watch the sync root: saved files go to the database, Admin CP edits to disk
    status              Show what is out of sync: to-db, to-disk, conflict, refused
    cache rebuild       Rewrite MyBB's stylesheet cache files and lists from the database (needs --mybb)
    outdated            List the custom templates a MyBB upgrade left behind their master
    diff PATH...        Show a file against the database (or with --master, the copy against master)
    merge [PATH...]     Merge the upstream change into each outdated template's file (three-way)
    revert PATH...      Delete the custom copy, as the Admin CP's Revert; the file gets what MyBB renders
    theme export NAME   Write theme NAME as the Admin CP's \"Export Theme\" does, to stdout
    theme import FILE   Create a theme from a theme file as \"Import a Theme\" does (needs --mybb)
    theme unpack FILE   Write a theme file's templates and stylesheets under --root (no database)

OPTIONS:
    --db URL            Database, as mysql://USER:PASSWORD@HOST:PORT/DATABASE [env: MYBB_DATABASE_URL]
    --mybb DIR          MyBB's root directory; its inc/config.php supplies the database [env: MYBB_ROOT]
    --root DIR          The sync root [env: MYBB_SYNC_ROOT] [default: ./mybb_sync]
    --prefix P          Table prefix [env: MYBB_TABLE_PREFIX] [default: config.php's, else mybb_]
    --no-fsync          Skip fsync: files are still replaced atomically, but not durable on power loss
    -q, --quiet         Show only warnings and errors
    -v, --verbose       Show debug output (RUST_LOG overrides both)
    -h, --help          Print this help
    -V, --version       Print the version

EXPORT OPTIONS:
    --set NAME          Export only this template set (repeatable; \"Global Templates\" is sid -1)
    --theme NAME        Export only this theme (repeatable; the master theme only when named)

IMPORT AND EXPORT OPTIONS:
    --dry-run           Print what would change; change nothing
    --prefer disk|db    Where file and database differ (conflicts included), this side wins

WATCH OPTIONS:
    --export-first      Export first (with the watcher paused), then watch; no edit is lost
    --debounce MS       Quiet time before a changed file is read [default: 75]
    --pull-interval S   How often to look for Admin CP edits to bring to disk [default: 2]
    --no-pull           Do not bring database changes to disk while watching
    --live-reload [ADDR]
                        Tell browsers when a save is live (LiveReload protocol 7): stylesheets
                        swap in place, pages reload for templates [default: 127.0.0.1:35729]

STATUS OPTIONS:
    --porcelain         Stable output for scripts: ACTION<TAB>PATH[<TAB>REASON]

UPGRADE OPTIONS (outdated, diff, merge, revert):
    --porcelain         outdated: PATH<TAB>COPY_VERSION<TAB>MASTER_VERSION<TAB>BASE
    --master            diff: compare the custom copy with the master template
    --base FILE.xml     outdated, merge: old masters from an old release's mybb_theme.xml,
                        for copies the baseline has no merge base for
    --dry-run           merge: print what would be merged; write nothing
    --prefer db         revert: discard edits of the file not yet in the database

CACHE REBUILD OPTIONS:
    --theme NAME        Rebuild only this theme's files, and the lists of it and its descendants
                        (repeatable; default: every theme, the master theme included)

THEME EXPORT OPTIONS:
    --custom-only       Only the theme's own stylesheets, not inherited ones (\"customized items only\")
    --no-templates      Leave the templates out (also for theme import: import none)
    --from-files        Export the sync root's files (checked as for import), not the database's rows

THEME IMPORT OPTIONS:
    --name NAME         The new theme's name [default: the file's]
    --parent NAME       The parent theme [default: MyBB Master Style]
    --no-stylesheets    Import no stylesheets
    --version-compat    Import a theme made for another MyBB version

EXIT CODES:
    0  success    1  runtime failure    2  usage or configuration error
    3  finished, but some items were refused or in conflict (each listed); for status: not in sync
";

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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Command {
    /// `--help`: print [`HELP`].
    #[default]
    Help,
    /// `--version`.
    Version,
    Export(ExportArgs),
    Import(ImportArgs),
    Watch(WatchArgs),
    Status(StatusArgs),
    /// `cache rebuild`.
    CacheRebuild(CacheArgs),
    /// `theme export|import|unpack`.
    Theme(ThemeCommand),
    /// `outdated`, `diff`, `merge`, `revert`: see [`UpgradeArgs`].
    Upgrade(UpgradeArgs),
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
}

/// `theme`'s actions and their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeCommand {
    Export(ThemeExportArgs),
    Import(ThemeImportArgs),
    /// `theme unpack FILE`: the file.
    Unpack(PathBuf),
}

/// Options of `export`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportArgs {
    pub sets: Vec<String>,
    pub themes: Vec<String>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
}

/// Options of `import`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportArgs {
    pub paths: Vec<PathBuf>,
    pub dry_run: bool,
    pub prefer: Option<Prefer>,
}

/// Options of `status`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatusArgs {
    pub porcelain: bool,
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

fn parse_inner(mut parser: lexopt::Parser) -> Result<Args> {
    let mut args = Args::default();
    let mut command: Option<String> = None;
    let mut help = false;
    let mut version = false;
    let mut export = ExportArgs::default();
    let mut import = ImportArgs::default();
    let mut watch = WatchArgs::default();
    let mut status = StatusArgs::default();
    let mut upgrade = UpgradeArgs::default();
    let mut dry_run = false;
    let mut prefer = None;
    // `cache`'s action: `rebuild` is the only one.
    let mut cache_action: Option<String> = None;
    // `theme`'s action and its NAME or FILE, and its options.
    let mut theme_words: Vec<OsString> = Vec::new();
    let mut theme_export = ThemeExportArgs::default();
    let mut theme_import = ThemeImportArgs::default();
    // Command options seen, to reject those given to the wrong command.
    let mut seen: Vec<(&'static str, &'static str)> = Vec::new();

    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Long("db") => args.connection.db_url = Some(string(&mut parser, "--db")?),
            Long("mybb") => args.connection.mybb_root = Some(parser.value().map_err(usage)?.into()),
            Long("root") => args.connection.sync_root = Some(parser.value().map_err(usage)?.into()),
            Long("prefix") => args.connection.prefix = Some(string(&mut parser, "--prefix")?),
            Long("no-fsync") => args.connection.no_fsync = true,
            Short('q') | Long("quiet") => args.verbosity = Verbosity::Quiet,
            Short('v') | Long("verbose") => args.verbosity = Verbosity::Verbose,
            Short('h') | Long("help") => help = true,
            Short('V') | Long("version") => version = true,
            Long("set") => {
                export.sets.push(string(&mut parser, "--set")?);
                seen.push(("--set", "export"));
            }
            Long("theme") => {
                export.themes.push(string(&mut parser, "--theme")?);
                seen.push(("--theme", "export cache"));
            }
            Long("dry-run") => {
                dry_run = true;
                seen.push(("--dry-run", "import export merge"));
            }
            Long("prefer") => {
                prefer = Some(match string(&mut parser, "--prefer")?.as_str() {
                    "disk" => Prefer::Disk,
                    "db" => Prefer::Db,
                    other => {
                        return Err(Error::usage(format!(
                            "--prefer takes disk or db, not {other:?}"
                        )));
                    }
                });
                seen.push(("--prefer", "import export revert"));
            }
            Long("porcelain") => {
                status.porcelain = true;
                seen.push(("--porcelain", "status outdated"));
            }
            Long("master") => {
                upgrade.master = true;
                seen.push(("--master", "diff"));
            }
            Long("base") => {
                upgrade.base = Some(parser.value().map_err(usage)?.into());
                seen.push(("--base", "outdated merge"));
            }
            Long("pull-interval") => {
                let seconds: f64 = number(&mut parser, "--pull-interval")?;
                if !(seconds > 0.0 && seconds <= 86_400.0) {
                    return Err(Error::usage("--pull-interval takes seconds, more than 0"));
                }
                watch.pull_interval = Some(Duration::from_secs_f64(seconds));
                seen.push(("--pull-interval", "watch"));
            }
            Long("no-pull") => {
                watch.pull_interval = None;
                seen.push(("--no-pull", "watch"));
            }
            Long("export-first") => {
                watch.export_first = true;
                seen.push(("--export-first", "watch"));
            }
            Long("debounce") => {
                let ms: u64 = number(&mut parser, "--debounce")?;
                watch.debounce = Duration::from_millis(ms);
                seen.push(("--debounce", "watch"));
            }
            Long("live-reload") => {
                // The address is optional: `--live-reload=ADDR`, or the next argument unless it
                // is an option or a command name.
                let value = parser.optional_value().or_else(|| {
                    parser.try_raw_args()?.next_if(|next| {
                        next.to_str().is_none_or(|s| !s.starts_with('-') && !COMMANDS.contains(&s))
                    })
                });
                watch.live_reload = Some(match value {
                    None => crate::live::DEFAULT_ADDR,
                    Some(value) => live_reload_addr(&value)?,
                });
                seen.push(("--live-reload", "watch"));
            }
            Long("custom-only") => {
                theme_export.custom_only = true;
                seen.push(("--custom-only", "theme"));
            }
            Long("no-templates") => {
                theme_export.no_templates = true;
                theme_import.no_templates = true;
                seen.push(("--no-templates", "theme"));
            }
            Long("from-files") => {
                theme_export.from_files = true;
                seen.push(("--from-files", "theme"));
            }
            Long("name") => {
                theme_import.name = Some(string(&mut parser, "--name")?);
                seen.push(("--name", "theme"));
            }
            Long("parent") => {
                theme_import.parent = Some(string(&mut parser, "--parent")?);
                seen.push(("--parent", "theme"));
            }
            Long("no-stylesheets") => {
                theme_import.no_stylesheets = true;
                seen.push(("--no-stylesheets", "theme"));
            }
            Long("version-compat") => {
                theme_import.version_compat = true;
                seen.push(("--version-compat", "theme"));
            }
            Value(value) if command.as_deref() == Some("theme") && theme_words.len() < 2 => {
                theme_words.push(value);
            }
            Value(value) if command.is_none() => {
                let name = value.into_string().map_err(|v| {
                    Error::usage(format!("unknown command {:?}", v.to_string_lossy()))
                })?;
                command = Some(name);
            }
            Value(value) if command.as_deref() == Some("import") => {
                import.paths.push(value.into());
            }
            Value(value) if matches!(command.as_deref(), Some("diff" | "merge" | "revert")) => {
                upgrade.paths.push(value.into());
            }
            Value(value) if command.as_deref() == Some("cache") && cache_action.is_none() => {
                let action = value.into_string().map_err(|v| {
                    Error::usage(format!("unknown cache action {:?}", v.to_string_lossy()))
                })?;
                cache_action = Some(action);
            }
            _ => return Err(usage(arg.unexpected())),
        }
    }

    if help {
        return Ok(Args { command: Command::Help, ..args });
    }
    if version {
        return Ok(Args { command: Command::Version, ..args });
    }
    let command = match command.as_deref() {
        None => {
            return Err(Error::usage(
                "no command given: use export, import, watch, status, cache rebuild, theme, outdated, \
                 diff, merge or revert",
            ));
        }
        Some(
            name @ ("export" | "import" | "watch" | "status" | "cache" | "theme" | "outdated"
            | "diff" | "merge" | "revert"),
        ) => name.to_owned(),
        Some(other) => return Err(Error::usage(format!("unknown command {other:?}"))),
    };
    if let Some((flag, owners)) =
        seen.iter().find(|(_, owners)| !owners.split(' ').any(|o| o == command))
    {
        let owners = owners.replace(' ', "` and `");
        return Err(Error::usage(format!("{flag} belongs to `{owners}`, not `{command}`")));
    }
    args.command = match command.as_str() {
        "export" => Command::Export(ExportArgs { dry_run, prefer, ..export }),
        "import" => Command::Import(ImportArgs { dry_run, prefer, ..import }),
        "status" => Command::Status(status),
        "outdated" | "diff" | "merge" | "revert" => upgrade_command(
            &command,
            UpgradeArgs { dry_run, prefer, porcelain: status.porcelain, ..upgrade },
        )?,
        "cache" => match cache_action.as_deref() {
            Some("rebuild") => Command::CacheRebuild(CacheArgs { themes: export.themes }),
            Some(other) => {
                return Err(Error::usage(format!(
                    "unknown cache action {other:?}: use cache rebuild"
                )));
            }
            None => return Err(Error::usage("`cache` needs an action: use cache rebuild")),
        },
        "theme" => Command::Theme(theme_command(theme_words, theme_export, theme_import, &seen)?),
        _ => Command::Watch(watch),
    };
    Ok(args)
}

/// The commands, as typed (an argument after `--live-reload` that is one of them is no address).
const COMMANDS: [&str; 10] = [
    "export", "import", "watch", "status", "cache", "outdated", "diff", "merge", "revert", "theme",
];

/// Parses the address of `--live-reload`: `IP:PORT` (`[IPv6]:PORT`), an IP alone (port 35729),
/// a port alone (on 127.0.0.1), or `localhost[:PORT]`.
fn live_reload_addr(value: &std::ffi::OsStr) -> Result<SocketAddr> {
    let text = value.to_string_lossy();
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

/// Builds `theme`'s action from its words (`export NAME`, `import FILE`, `unpack FILE`) and
/// checks that each theme option seen belongs to that action.
fn theme_command(
    words: Vec<OsString>,
    export: ThemeExportArgs,
    import: ThemeImportArgs,
    seen: &[(&'static str, &'static str)],
) -> Result<ThemeCommand> {
    const NEEDS: &str =
        "`theme` needs an action: theme export NAME, theme import FILE or theme unpack FILE";
    let mut words = words.into_iter();
    let action = words.next().ok_or_else(|| Error::usage(NEEDS))?;
    let action = action.to_str().unwrap_or_default().to_owned();
    let allowed: &[&str] = match action.as_str() {
        "export" => &["--custom-only", "--no-templates", "--from-files"],
        "import" => {
            &["--name", "--parent", "--no-templates", "--no-stylesheets", "--version-compat"]
        }
        "unpack" => &[],
        other => return Err(Error::usage(format!("unknown theme action {other:?}: {NEEDS}"))),
    };
    if let Some((flag, _)) =
        seen.iter().find(|(flag, owner)| *owner == "theme" && !allowed.contains(flag))
    {
        return Err(Error::usage(format!(
            "{flag} belongs to another theme action, not `theme {action}`"
        )));
    }
    let what = if action == "export" { "the theme's NAME" } else { "the theme FILE" };
    let target =
        words.next().ok_or_else(|| Error::usage(format!("`theme {action}` needs {what}")))?;
    Ok(match action.as_str() {
        "export" => {
            let name = target.into_string().map_err(|v| {
                Error::usage(format!("theme name {:?} is not valid UTF-8", v.to_string_lossy()))
            })?;
            ThemeCommand::Export(ThemeExportArgs { name, ..export })
        }
        "import" => ThemeCommand::Import(ThemeImportArgs { file: target.into(), ..import }),
        _ => ThemeCommand::Unpack(target.into()),
    })
}

/// Checks the options of an upgrade command that its name alone does not decide.
fn upgrade_command(name: &str, args: UpgradeArgs) -> Result<Command> {
    let command = match name {
        "outdated" => UpgradeCommand::Outdated,
        "diff" => UpgradeCommand::Diff,
        "merge" => UpgradeCommand::Merge,
        _ => UpgradeCommand::Revert,
    };
    if matches!(command, UpgradeCommand::Diff | UpgradeCommand::Revert) && args.paths.is_empty() {
        return Err(Error::usage(format!("`{name}` needs at least one PATH")));
    }
    if command == UpgradeCommand::Revert && args.prefer == Some(Prefer::Disk) {
        return Err(Error::usage(
            "`revert --prefer` takes db (discard the file's edits); to keep them, don't revert",
        ));
    }
    Ok(Command::Upgrade(UpgradeArgs { command, ..args }))
}

fn usage(e: lexopt::Error) -> Error {
    Error::usage(e.to_string())
}

fn string(parser: &mut lexopt::Parser, flag: &str) -> Result<String> {
    let value = parser.value().map_err(usage)?;
    value
        .into_string()
        .map_err(|v| Error::usage(format!("{flag}: {:?} is not valid UTF-8", v.to_string_lossy())))
}

fn number<T: std::str::FromStr>(parser: &mut lexopt::Parser, flag: &str) -> Result<T> {
    let text = string(parser, flag)?;
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
        assert_eq!(a.command, Command::Status(StatusArgs { porcelain: true }));
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
        assert!(err.to_string().contains("--theme belongs to `export` and `cache`"), "{err}");
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
            (&["theme", "export"][..], "needs the theme's NAME"),
            (&["theme", "import"][..], "needs the theme FILE"),
            (&["theme", "delete", "x"][..], "unknown theme action"),
            (
                &["theme", "import", "t.xml", "--custom-only"][..],
                "--custom-only belongs to another",
            ),
            (&["theme", "export", "x", "--name", "y"][..], "--name belongs to another"),
            (&["export", "--from-files"][..], "--from-files belongs to `theme`"),
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
    fn help_wins_over_everything_else() {
        assert_eq!(parse(&["export", "--help"]).unwrap().command, Command::Help);
        assert_eq!(parse(&["-V"]).unwrap().command, Command::Version);
    }

    #[test]
    fn mistakes_are_usage_errors_that_name_the_culprit() {
        for (args, needle) in [
            (&["frobnicate"][..], "frobnicate"),
            (&[][..], "no command"),
            (&["export", "--bogus"][..], "--bogus"),
            (&["watch", "--set", "x"][..], "--set belongs to `export`"),
            (&["watch", "--dry-run"][..], "--dry-run belongs to `import` and `export`"),
            (&["import", "--prefer", "both"][..], "--prefer takes disk or db"),
            (&["watch", "--pull-interval", "0"][..], "--pull-interval takes seconds"),
            (&["watch", "--debounce", "soon"][..], "--debounce takes a number"),
            (&["export", "stray"][..], "stray"),
            (&["export", "--db"][..], "--db"),
            (&["cache"][..], "cache rebuild"),
            (&["cache", "flush"][..], "flush"),
            (&["cache", "rebuild", "extra"][..], "extra"),
            (&["cache", "rebuild", "--set", "x"][..], "--set belongs to `export`"),
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(needle), "{args:?}: {err}");
        }
    }
}
