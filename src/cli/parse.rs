//! The `lexopt` loop: turns the arguments into [`Args`] by the table (`table.rs`). Global
//! options take effect as they come; a command's flags are kept until the command is known
//! (options may stand before or after it), checked against it, then the effect of that
//! command's own entry is applied. Parsing checks syntax only: whatever touches the world
//! (reading `inc/config.php`, the environment, the database) happens later, in `config.rs`.

use std::ffi::OsString;

use lexopt::prelude::*;

use crate::cli::args::{Args, Command, Given};
use crate::cli::help::topic;
use crate::cli::spec::{CommandSpec, Flag, Operands, ValueKind, any_flag, did_you_mean};
use crate::cli::table::{COMMAND_WORDS, COMMANDS, GLOBAL_FLAGS};
use crate::error::{Error, Result};

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

/// Runs the loop: global flags take effect at once, command flags once the command is known.
fn parse_inner(mut parser: lexopt::Parser) -> Result<Args> {
    let mut given = Given::default();
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
            (Long(name), None) => return Err(unknown_flag(&format!("--{name}"), name)),
            (arg, None) => return Err(usage(arg.unexpected())),
        };
        let value = match (flag.value, flag.optional) {
            (None, _) => None,
            (Some(_), false) => Some(string(parser.value().map_err(usage)?, flag.long)?),
            (Some(_), true) => optional_value(&mut parser, flag.long)?,
        };
        match GLOBAL_FLAGS.iter().find(|f| f.long == flag.long) {
            Some(global) => global.effect.apply(&mut given, value)?,
            None => seen.push((flag, value)),
        }
    }

    let positionals: Vec<String> = positionals
        .into_iter()
        .map(|p| {
            p.into_string()
                .map_err(|v| Error::usage(format!("{:?} is not valid UTF-8", v.to_string_lossy())))
        })
        .collect::<Result<_>>()?;
    if given.help {
        return Ok(args(given, Command::Help(topic(&positionals)?)));
    }
    if given.version {
        return Ok(args(given, Command::Version));
    }
    let spec = command_of(&positionals)?;
    let operands = check_operands(spec, &positionals[spec.words.len()..])?.to_vec();
    for (flag, value) in seen {
        let own = spec.flags.iter().find(|f| f.long == flag.long).ok_or_else(|| {
            let owners: Vec<String> = COMMANDS
                .iter()
                .filter(|c| c.flags.iter().any(|f| f.long == flag.long))
                .map(|c| format!("`{}`", c.name()))
                .collect();
            Error::usage(format!(
                "--{} belongs to {}, not `{}`",
                flag.long,
                owners.join(" and "),
                spec.name()
            ))
        })?;
        own.effect.apply(&mut given, value)?;
    }
    let of = std::mem::take(&mut given.of);
    let command = (spec.build)(of, operands)?;
    Ok(args(given, command))
}

/// Returns the parsed command line: the global options `given` and `command`.
fn args(given: Given, command: Command) -> Args {
    Args { connection: given.connection, verbosity: given.verbosity, command }
}

/// Returns the command `positionals` start with: its first word, and for a command of two
/// words (`cache rebuild`, `theme export`) the second.
fn command_of(positionals: &[String]) -> Result<&'static CommandSpec> {
    let Some(word) = positionals.first() else {
        let names: Vec<String> = COMMANDS.iter().map(CommandSpec::name).collect();
        return Err(Error::usage(format!("no command given: use one of {}", names.join(", "))));
    };
    let group: Vec<&'static CommandSpec> =
        COMMANDS.iter().filter(|c| c.words[0] == word.as_str()).collect();
    match group.as_slice() {
        [] => {
            return Err(Error::usage(format!(
                "unknown command {word:?}{}",
                did_you_mean(word, COMMAND_WORDS.iter().copied(), "`", "`")
            )));
        }
        [only] if only.words.len() == 1 => return Ok(only),
        _ => {}
    }
    let names: Vec<String> = group.iter().map(|c| c.name()).collect();
    let names = names.join(", ");
    match positionals.get(1) {
        Some(action) => {
            group.iter().find(|c| c.words.get(1) == Some(&action.as_str())).copied().ok_or_else(
                || {
                    let actions = group.iter().filter_map(|c| c.words.get(1).copied());
                    let guess = did_you_mean(action, actions, &format!("`{word} "), "`");
                    Error::usage(format!("unknown {word} action {action:?}{guess}: use {names}"))
                },
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
            "`{name}` takes one of {}, not {first:?}{}",
            words.join(", "),
            did_you_mean(first, words.iter().copied(), "`", "`")
        )));
    }
    Ok(operands)
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

/// Returns the error for `--name`, a flag no table knows, with the nearest flag's name when
/// one is close (a typo rather than another tool's flag).
fn unknown_flag(shown: &str, name: &str) -> Error {
    let longs = GLOBAL_FLAGS.iter().chain(COMMANDS.iter().flat_map(|c| c.flags.iter()));
    let guess = did_you_mean(name, longs.map(|f| f.long), "--", "");
    Error::usage(format!("unknown option {shown}{guess}"))
}

/// Returns lexopt's error as a usage error (exit 2).
fn usage(e: lexopt::Error) -> Error {
    Error::usage(e.to_string())
}

/// Returns the value of `--flag` as text, or a usage error naming the flag.
fn string(value: OsString, flag: &str) -> Result<String> {
    value.into_string().map_err(|v| {
        Error::usage(format!("--{flag}: {:?} is not valid UTF-8", v.to_string_lossy()))
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::cli::args::*;
    use crate::cli::help::{command_help, help};
    use crate::cli::spec::command_spec;

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
    fn check_takes_paths_json_repeated_allows_and_masters() {
        let a = parse(&["check", "styles", "--allow", "css-syntax", "--json", "--allow", "x"]);
        let want = CheckArgs {
            paths: vec!["styles".into()],
            json: true,
            allow: vec!["css-syntax".into(), "x".into()],
            masters: None,
        };
        assert_eq!(a.unwrap().command, Command::Check(want));
        let a = parse(&["check", "--masters", "theme.xml"]).unwrap();
        let want = CheckArgs { masters: Some("theme.xml".into()), ..CheckArgs::default() };
        assert_eq!(a.command, Command::Check(want));
        let a = parse(&["import", "--strict"]).unwrap();
        assert_eq!(
            a.command,
            Command::Import(ImportArgs { strict: true, ..ImportArgs::default() })
        );
        assert!(parse(&["status", "--allow", "css-syntax"]).is_err());
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
        let want = OutdatedArgs { porcelain: true, base: Some("old.xml".into()), json: false };
        assert_eq!(a.command, Command::Outdated(want));
        let a = parse(&["diff", "a.html", "--master"]).unwrap();
        let want = DiffArgs { paths: vec!["a.html".into()], master: true };
        assert_eq!(a.command, Command::Diff(want));
        let a = parse(&["merge", "x", "y", "--dry-run", "--base", "b.xml"]).unwrap();
        let Command::Merge(m) = a.command else { panic!() };
        assert_eq!((m.paths.len(), m.dry_run), (2, true));
        let a = parse(&["revert", "x", "--prefer", "db"]).unwrap();
        let Command::Revert(r) = a.command else { panic!() };
        assert_eq!(r.prefer, Some(Prefer::Db));
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
                    _ if [
                        "pull-interval",
                        "debounce",
                        "live-reload",
                        "max-deletions",
                        "groups",
                    ]
                    .contains(&flag.long) =>
                    {
                        "5"
                    }
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
    fn a_mistyped_command_action_or_flag_gets_did_you_mean() {
        // See: issue 27.
        for (args, says) in [
            (&["exprot"][..], "unknown command \"exprot\"; did you mean `export`?"),
            (&["stauts"][..], "did you mean `status`?"),
            (&["theme", "exprot", "x"][..], "did you mean `theme export`?"),
            (&["cache", "rebuld"][..], "did you mean `cache rebuild`?"),
            (&["import", "--dry-rn"][..], "did you mean --dry-run?"),
            (&["--rot", "x", "status"][..], "did you mean --root?"),
            (&["status", "--porcelian"][..], "did you mean --porcelain?"),
            (&["watch", "--live-relaod"][..], "did you mean --live-reload?"),
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            assert!(err.to_string().contains(says), "{args:?}: {err}");
        }
        // Nothing close: no guess.
        let err = parse(&["frobnicate"]).unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn no_command_lists_every_command() {
        // See: issue 27: theme, help and completions were missing.
        let err = parse(&[]).unwrap_err().to_string();
        for command in COMMANDS {
            assert!(err.contains(&command.name()), "{}: {err}", command.name());
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
