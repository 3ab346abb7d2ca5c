//! The table of commands and flags, as data (ripgrep's `flags/defs.rs`): each command with
//! its words, help, flags and `build`, and each flag with its name, its help line and its
//! effect side by side, so adding a flag touches one place. `--help`, `help COMMAND`, the
//! completions and the parser all read this table, so they cannot drift apart.
//!
//! A flag's effect fills one field of its command's own struct in `Given` (a name shared by
//! several commands, such as `--json`, is one entry per command, each with its own effect);
//! a command's `build` then takes its struct and adds the operands. The parser applies the
//! effect of the entry of the command given, so no effect ever sees another command's flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::{
    CheckArgs, Command, DevArgs, DiffArgs, ImportArgs, MergeArgs, Prefer, PublishArgs, RevertArgs,
    ThemeCommand, ThemeExportArgs, ThemeImportArgs, Verbosity,
};
use crate::cli::help::topic;
use crate::cli::spec::Effect::{self, Parse, Set};
use crate::cli::spec::{CommandSpec, Flag, Operands, ValueKind};
use crate::error::{Error, Result};

/// The options every command takes.
pub const GLOBAL_FLAGS: &[Flag] = &[
    Flag::value(
        "db",
        "URL",
        "Database, as mysql://USER:PASSWORD@HOST:PORT/DATABASE, postgres://... or sqlite:PATH \
         [env: MYBB_DATABASE_URL]",
        Set(|a, v| a.connection.db_url = v),
    ),
    Flag::value(
        "mybb",
        "DIR",
        "MyBB's root directory; its inc/config.php supplies the database [env: MYBB_ROOT]",
        Set(|a, v| a.connection.mybb_root = v.map(PathBuf::from)),
    )
    .kind(ValueKind::Dir),
    Flag::value(
        "root",
        "DIR",
        "The sync root [env: MYBB_SYNC_ROOT]\n[default: the enclosing sync root, as git finds its repository, else ./mybb_sync]",
        Set(|a, v| a.connection.sync_root = v.map(PathBuf::from)),
    )
    .kind(ValueKind::Dir),
    Flag::value(
        "prefix",
        "P",
        "Table prefix [env: MYBB_TABLE_PREFIX] [default: config.php's, else mybb_]",
        Set(|a, v| a.connection.prefix = v),
    ),
    Flag::switch(
        "no-fsync",
        "Skip fsync: files are still replaced atomically, but not durable on power loss",
        Set(|a, _| a.connection.no_fsync = true),
    ),
    Flag::switch(
        "rebind",
        "Use a sync root stamped with another board with this one (forgets its state)",
        Set(|a, _| a.connection.rebind = true),
    ),
    Flag::switch(
        "quiet",
        "Show only warnings and errors (and no progress)",
        Set(|a, _| a.verbosity = Verbosity::Quiet),
    )
    .short('q'),
    Flag::switch(
        "verbose",
        "Show debug output (RUST_LOG overrides both)",
        Set(|a, _| a.verbosity = Verbosity::Verbose),
    )
    .short('v'),
    Flag::switch("help", "Print help (of the command, after one)", Set(|a, _| a.help = true))
        .short('h'),
    Flag::switch("version", "Print the version", Set(|a, _| a.version = true)).short('V'),
];

/// `--dry-run` of `export` and `import`, setting the flag `effect` sets.
const fn dry_run(effect: Effect) -> Flag {
    Flag::switch("dry-run", "Print what would change; change nothing", effect)
}

/// `--json` of the batch commands, setting the flag `effect` sets.
const fn json(effect: Effect) -> Flag {
    Flag::switch(
        "json",
        "One JSON object per item (action, path, kind, reason), then a summary",
        effect,
    )
}

/// `--base FILE.xml` of `outdated` and `merge`, filling the field `effect` fills.
const fn base(effect: Effect) -> Flag {
    Flag::value(
        "base",
        "FILE.xml",
        "Old masters from an old release's mybb_theme.xml,\nfor copies the baseline has no merge base for",
        effect,
    )
    .kind(ValueKind::File)
}

const PREFER_CHOICES: &[&str] = &["disk", "db"];
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
                Set(|a, v| a.of.export.sets.push(text(v))),
            )
            .kind(ValueKind::SetName)
            .repeatable(),
            Flag::value(
                "theme",
                "NAME",
                "Export only this theme (repeatable; the master theme only when named)",
                Set(|a, v| a.of.export.themes.push(text(v))),
            )
            .kind(ValueKind::ThemeName)
            .repeatable(),
            dry_run(Set(|a, _| a.of.export.dry_run = true)),
            Flag::value(
                "prefer",
                "disk|db",
                "Where file and database differ (conflicts included), this side wins",
                Parse(|a, v| {
                    a.of.export.prefer = Some(prefer(&text(v))?);
                    Ok(())
                }),
            )
            .kind(ValueKind::Choice(PREFER_CHOICES)),
            json(Set(|a, _| a.of.export.json = true)),
        ],
        build: |of, _| Ok(Command::Export(of.export)),
    },
    CommandSpec {
        words: &["import"],
        operands_usage: "[PATH...]",
        operands: Operands::Paths { min: 0 },
        summary: "Write every file that changed since the last sync to the database, once",
        about: "Writes every file under the sync root (or the files and folders named) that \
                changed since the last sync to the database, as the Admin CP would.",
        flags: &[
            dry_run(Set(|a, _| a.of.import.dry_run = true)),
            Flag::value(
                "prefer",
                "disk|db",
                "Where file and database differ (conflicts included), this side wins",
                Parse(|a, v| {
                    a.of.import.prefer = Some(prefer(&text(v))?);
                    Ok(())
                }),
            )
            .kind(ValueKind::Choice(PREFER_CHOICES)),
            json(Set(|a, _| a.of.import.json = true)),
            Flag::switch(
                "strict",
                "Refuse files in which `check` finds errors",
                Set(|a, _| a.of.import.strict = true),
            ),
            Flag::switch(
                "new-themes",
                "Create the themes (and template sets) that folders with a theme.json name",
                Set(|a, _| a.of.import.new_themes = true),
            ),
        ],
        build: |of, operands| {
            Ok(Command::Import(ImportArgs { paths: paths(operands), ..of.import }))
        },
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
                Set(|a, _| a.of.watch.export_first = true),
            ),
            Flag::value(
                "debounce",
                "MS",
                "Quiet time before a changed file is read [default: 75]",
                Parse(|a, v| {
                    a.of.watch.debounce = Duration::from_millis(number(&text(v), "--debounce")?);
                    Ok(())
                }),
            ),
            Flag::value(
                "pull-interval",
                "S",
                "How often to look for Admin CP edits to bring to disk [default: 2]",
                Parse(|a, v| {
                    a.of.watch.pull_interval = Some(pull_interval(&text(v))?);
                    Ok(())
                }),
            ),
            Flag::switch(
                "no-pull",
                "Do not bring database changes to disk while watching",
                Set(|a, _| a.of.watch.pull_interval = None),
            ),
            Flag::value(
                "max-deletions",
                "N",
                "Hold a batch deleting more files than this (or a whole folder) for an\n\
                 explicit import [default: 5]",
                Parse(|a, v| {
                    a.of.watch.max_deletions = number(&text(v), "--max-deletions")?;
                    Ok(())
                }),
            ),
            Flag::value(
                "live-reload",
                "ADDR",
                "Tell browsers when a save is live (LiveReload protocol 7): stylesheets\n\
                 swap in place, pages reload for templates [default: 127.0.0.1:35729]",
                Parse(|a, v| {
                    a.of.watch.live_reload = Some(match v.as_deref() {
                        None | Some("") => crate::live::DEFAULT_ADDR,
                        Some(text) => live_reload_addr(text)?,
                    });
                    Ok(())
                }),
            )
            .optional(),
        ],
        build: |of, _| Ok(Command::Watch(of.watch)),
    },
    CommandSpec {
        words: &["status"],
        operands_usage: "",
        operands: Operands::None,
        summary: "Show what is out of sync: to-db, to-disk, conflict, refused",
        about: "Prints what is out of sync, one line per path relative to the sync root: to-db, \
                to-disk, conflict, refused (with the reason). Exit 3 when anything is.",
        flags: &[
            Flag::switch(
                "porcelain",
                "Stable output for scripts: ACTION<TAB>PATH[<TAB>REASON]",
                Set(|a, _| a.of.status.porcelain = true),
            ),
            json(Set(|a, _| a.of.status.json = true)),
        ],
        build: |of, _| {
            one_form(of.status.porcelain, of.status.json)?;
            Ok(Command::Status(of.status))
        },
    },
    CommandSpec {
        words: &["check"],
        operands_usage: "[PATH...]",
        operands: Operands::Paths { min: 0 },
        summary: "Find what breaks a theme: PATH:LINE:COLUMN: RULE: message (board rules with --mybb)",
        about: "Lints the templates, stylesheets and theme.json files under the sync root (or the files and folders \
                named) and changes nothing: template-security, html-balance, css-syntax, \
                upgrade-variables, theme-file, and with --mybb unknown-lang, unknown-setting, missing-image, \
                unknown-page. Exit 3 when any error is found; warnings alone exit 0.",
        flags: &[
            Flag::switch(
                "json",
                "One JSON object per finding (path, line, column, rule, severity, message),\n\
                 then a summary",
                Set(|a, _| a.of.check.json = true),
            ),
            Flag::value(
                "allow",
                "RULE",
                "Silence this rule (repeatable; for good: .mybb-sync-check)",
                Set(|a, v| a.of.check.allow.push(text(v))),
            )
            .repeatable(),
            Flag::value(
                "masters",
                "FILE.xml",
                "Master templates from a release's mybb_theme.xml, where the sync root\n\
                 has no baseline (a CI checkout)",
                Set(|a, v| a.of.check.masters = Some(PathBuf::from(text(v)))),
            )
            .kind(ValueKind::File),
        ],
        build: |of, operands| Ok(Command::Check(CheckArgs { paths: paths(operands), ..of.check })),
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
            Set(|a, v| a.of.cache.themes.push(text(v))),
        )
        .kind(ValueKind::ThemeName)
        .repeatable()],
        build: |of, _| Ok(Command::CacheRebuild(of.cache)),
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
                Set(|a, _| a.of.outdated.porcelain = true),
            ),
            base(Set(|a, v| a.of.outdated.base = Some(PathBuf::from(text(v))))),
            json(Set(|a, _| a.of.outdated.json = true)),
        ],
        build: |of, _| {
            one_form(of.outdated.porcelain, of.outdated.json)?;
            Ok(Command::Outdated(of.outdated))
        },
    },
    CommandSpec {
        words: &["diff"],
        operands_usage: "PATH...",
        operands: Operands::Paths { min: 1 },
        summary: "Show a file against the database (or with --master, the copy against master)",
        about: "Shows each file against what the database renders for it, as a unified diff; with \
                --master, the set's custom copy against the master template.",
        flags: &[Flag::switch(
            "master",
            "Compare the custom copy with the master template",
            Set(|a, _| a.of.diff.master = true),
        )],
        build: |of, operands| Ok(Command::Diff(DiffArgs { paths: paths(operands), ..of.diff })),
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
        flags: &[
            base(Set(|a, v| a.of.merge.base = Some(PathBuf::from(text(v))))),
            Flag::switch(
                "dry-run",
                "Print what would be merged; write nothing",
                Set(|a, _| a.of.merge.dry_run = true),
            ),
            json(Set(|a, _| a.of.merge.json = true)),
        ],
        build: |of, operands| Ok(Command::Merge(MergeArgs { paths: paths(operands), ..of.merge })),
    },
    CommandSpec {
        words: &["revert"],
        operands_usage: "PATH...",
        operands: Operands::Paths { min: 1 },
        summary: "Delete the custom copy, as the Admin CP's Revert; the file gets what MyBB renders",
        about: "Deletes the set's custom copy of each template named, as the Admin CP's Revert \
                does, and writes what MyBB then renders to its file.",
        flags: &[
            Flag::value(
                "prefer",
                "db",
                "Discard edits of the file not yet in the database",
                Parse(|a, v| {
                    a.of.revert.prefer = Some(revert_prefer(&text(v))?);
                    Ok(())
                }),
            )
            .kind(ValueKind::Choice(&["db"])),
            json(Set(|a, _| a.of.revert.json = true)),
        ],
        build: |of, operands| {
            Ok(Command::Revert(RevertArgs { paths: paths(operands), ..of.revert }))
        },
    },
    CommandSpec {
        words: &["theme", "export"],
        operands_usage: "NAME",
        operands: Operands::One(ValueKind::ThemeName),
        summary: "Write theme NAME as the Admin CP's \"Export Theme\" does, to stdout",
        about: "Writes theme NAME as a MyBB theme file, byte for byte as the Admin CP's Export \
                Theme does, to stdout.",
        flags: &[
            Flag::switch(
                "custom-only",
                "Only the theme's own stylesheets, not inherited ones (\"customized items only\")",
                Set(|a, _| a.of.theme_export.custom_only = true),
            ),
            Flag::switch(
                "no-templates",
                "Leave the templates out (also for theme import: import none)",
                Set(|a, _| a.of.theme_export.no_templates = true),
            ),
            Flag::switch(
                "from-files",
                "Export the sync root's files (checked as for import), not the database's rows",
                Set(|a, _| a.of.theme_export.from_files = true),
            ),
        ],
        build: |of, operands| {
            let name = first(operands);
            Ok(Command::Theme(ThemeCommand::Export(ThemeExportArgs { name, ..of.theme_export })))
        },
    },
    CommandSpec {
        words: &["theme", "import"],
        operands_usage: "FILE",
        operands: Operands::One(ValueKind::File),
        summary: "Create a theme from a theme file as \"Import a Theme\" does (needs --mybb)",
        about: "Creates a theme from a MyBB theme file as the Admin CP's Import a Theme does, its \
                stylesheets' cache files included (needs --mybb).",
        flags: &[
            Flag::value(
                "name",
                "NAME",
                "The new theme's name [default: the file's]",
                Set(|a, v| a.of.theme_import.name = v),
            ),
            Flag::value(
                "parent",
                "NAME",
                "The parent theme [default: MyBB Master Style]",
                Set(|a, v| a.of.theme_import.parent = v),
            )
            .kind(ValueKind::ThemeName),
            Flag::switch(
                "no-templates",
                "Import no templates",
                Set(|a, _| a.of.theme_import.no_templates = true),
            ),
            Flag::switch(
                "no-stylesheets",
                "Import no stylesheets",
                Set(|a, _| a.of.theme_import.no_stylesheets = true),
            ),
            Flag::switch(
                "version-compat",
                "Import a theme made for another MyBB version",
                Set(|a, _| a.of.theme_import.version_compat = true),
            ),
        ],
        build: |of, operands| {
            let file = PathBuf::from(first(operands));
            Ok(Command::Theme(ThemeCommand::Import(ThemeImportArgs { file, ..of.theme_import })))
        },
    },
    CommandSpec {
        words: &["theme", "unpack"],
        operands_usage: "FILE",
        operands: Operands::One(ValueKind::File),
        summary: "Write a theme file's templates and stylesheets under --root (no database)",
        about: "Writes a theme file's templates and stylesheets under the sync root, in its \
                layout, without a database.",
        flags: &[],
        build: |_, operands| Ok(Command::Theme(ThemeCommand::Unpack(first(operands).into()))),
    },
    CommandSpec {
        words: &["dev"],
        operands_usage: "THEME",
        operands: Operands::One(ValueKind::ThemeName),
        summary: "Develop on a private copy of THEME, watched with live reload (needs --mybb)",
        about: "Makes (or finds again) a development copy of THEME as the Admin CP's Duplicate \
                Theme does, templates included, usable only by administrators; exports it under \
                its own name, records the base for publish, and watches with live reload (the \
                script goes into the copy's headerinclude only). Ctrl-C keeps the copy.",
        flags: &[
            Flag::value(
                "name",
                "NAME",
                "The copy's name [default: \"THEME (development)\"]",
                Set(|a, v| a.of.dev.name = v),
            ),
            Flag::value(
                "groups",
                "GIDS",
                "The user groups that may use the copy, comma-separated [default: 4]",
                Parse(|a, v| {
                    a.of.dev.groups = groups(&text(v))?;
                    Ok(())
                }),
            ),
            Flag::value(
                "live-reload",
                "ADDR",
                "Where browsers connect for live reload [default: 127.0.0.1:35729]",
                Parse(|a, v| {
                    a.of.dev.live_reload = Some(live_reload_addr(&text(v))?);
                    Ok(())
                }),
            ),
            Flag::switch(
                "no-live-reload",
                "Watch without live reload (no script in the copy)",
                Set(|a, _| a.of.dev.live_reload = None),
            ),
            Flag::switch(
                "no-watch",
                "Make or find the copy and export it, then stop",
                Set(|a, _| a.of.dev.no_watch = true),
            ),
        ],
        build: |of, operands| Ok(Command::Dev(DevArgs { theme: first(operands), ..of.dev })),
    },
    CommandSpec {
        words: &["publish"],
        operands_usage: "[THEME]",
        operands: Operands::Optional(ValueKind::ThemeName),
        summary: "Merge what changed in the development copy onto the live theme (needs --mybb)",
        about: "Carries every template and stylesheet changed in THEME's development copy since \
                its base onto THEME, as the Admin CP writes it; three-way where THEME changed \
                too. A conflict writes nothing of that item, and nothing at all unless \
                --partial. Exit 3 when conflicts remain.",
        flags: &[
            dry_run(Set(|a, _| a.of.publish.dry_run = true)),
            json(Set(|a, _| a.of.publish.json = true)),
            Flag::switch(
                "partial",
                "Publish what merges even when other items conflict",
                Set(|a, _| a.of.publish.partial = true),
            ),
            Flag::switch(
                "drop",
                "Delete the copy (theme, template set, cache files, folders) once published",
                Set(|a, _| a.of.publish.drop = true),
            ),
            Flag::value(
                "prefer",
                "copy|live",
                "Settle conflicts for this side: the copy's content goes live, or the\n\
                 live content goes into the copy",
                Parse(|a, v| {
                    a.of.publish.prefer = Some(match text(v).as_str() {
                        "copy" => crate::sync::devtheme::publish::Prefer::Copy,
                        "live" => crate::sync::devtheme::publish::Prefer::Live,
                        other => {
                            return Err(Error::usage(format!(
                                "publish --prefer takes copy or live, not {other:?}"
                            )));
                        }
                    });
                    Ok(())
                }),
            )
            .kind(ValueKind::Choice(&["copy", "live"])),
        ],
        build: |of, operands| {
            let theme = operands.into_iter().next();
            Ok(Command::Publish(PublishArgs { theme, ..of.publish }))
        },
    },
    CommandSpec {
        words: &["help"],
        operands_usage: "[COMMAND]",
        operands: Operands::Optional(ValueKind::Choice(COMMAND_WORDS)),
        summary: "Print this help, or a command's",
        about: "Prints the help of mybb-sync, or of the command named.",
        flags: &[],
        build: |_, operands| Ok(Command::Help(topic(&operands)?)),
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
        build: |_, operands| {
            // The parser checked the name against SHELLS; this returns it as 'static.
            let shell = operands.first().map(String::as_str);
            Ok(Command::Completions(SHELLS.iter().find(|s| Some(**s) == shell).unwrap_or(&"bash")))
        },
    },
];

/// The first words of the commands, for `help COMMAND` and the completions.
pub const COMMAND_WORDS: &[&str] = &[
    "export",
    "import",
    "watch",
    "status",
    "check",
    "cache",
    "theme",
    "outdated",
    "diff",
    "merge",
    "revert",
    "dev",
    "publish",
    "help",
    "completions",
];

/// Returns the value of a flag that takes one (the parser always passes it).
fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

/// Returns the operands as paths.
fn paths(operands: Vec<String>) -> Vec<PathBuf> {
    operands.into_iter().map(PathBuf::from).collect()
}

/// Returns the one operand of a command that takes exactly one (the parser counted it).
fn first(operands: Vec<String>) -> String {
    operands.into_iter().next().unwrap_or_default()
}

/// Returns an error when both output forms were asked for.
fn one_form(porcelain: bool, json: bool) -> Result<()> {
    match porcelain && json {
        true => Err(Error::usage("--porcelain and --json are two output forms: choose one")),
        false => Ok(()),
    }
}

/// Parses the value of `--prefer`: the side that wins.
fn prefer(value: &str) -> Result<Prefer> {
    match value {
        "disk" => Ok(Prefer::Disk),
        "db" => Ok(Prefer::Db),
        other => Err(Error::usage(format!("--prefer takes disk or db, not {other:?}"))),
    }
}

/// Parses `revert --prefer`, where only db (discard the file's edits) has a meaning.
fn revert_prefer(value: &str) -> Result<Prefer> {
    match value {
        "disk" => Err(Error::usage(
            "`revert --prefer` takes db (discard the file's edits); to keep them, don't revert",
        )),
        other => prefer(other),
    }
}

/// Parses `--pull-interval`: seconds, more than 0 and at most a day.
fn pull_interval(value: &str) -> Result<Duration> {
    let seconds: f64 = number(value, "--pull-interval")?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(Error::usage("--pull-interval takes seconds, more than 0"));
    }
    Ok(Duration::from_secs_f64(seconds))
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

/// Parses `dev --groups`: user group ids, comma-separated, as Edit Theme stores them.
fn groups(value: &str) -> Result<String> {
    let gids: Vec<&str> = value.split(',').map(str::trim).collect();
    if gids.iter().any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Error::usage(format!(
            "--groups takes user group ids separated by commas, such as 4 or 3,4, not {value:?}"
        )));
    }
    Ok(gids.join(","))
}

/// Parses a number given to `flag`.
fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T> {
    text.parse().map_err(|_| Error::usage(format!("{flag} takes a number, not {text:?}")))
}
