//! `completions bash|zsh|fish`: a shell completion script, rendered from the command line's
//! one table (`cli::COMMANDS`, `cli::GLOBAL_FLAGS`), the same table `--help` comes from.

use std::fmt::Write as _;

use crate::cli::{COMMAND_WORDS, COMMANDS, CommandSpec, Flag, GLOBAL_FLAGS, Operands, ValueKind};

/// Returns the completion script for `shell` (`bash`, `zsh` or `fish`).
pub fn script(shell: &str) -> String {
    match shell {
        "zsh" => zsh(),
        "fish" => fish(),
        _ => bash(),
    }
}

/// Returns every spelling of `flags`: `--db`, `-q`, `--quiet`.
fn spellings(flags: &[Flag]) -> Vec<String> {
    let mut words = Vec::new();
    for flag in flags {
        if let Some(short) = flag.short {
            words.push(format!("-{short}"));
        }
        words.push(format!("--{}", flag.long));
    }
    words
}

/// Returns every flag of every table.
fn all_flags() -> impl Iterator<Item = &'static Flag> {
    GLOBAL_FLAGS.iter().chain(COMMANDS.iter().flat_map(|c| c.flags.iter()))
}

/// Returns the first line of a flag's help, with what a shell would take for syntax removed.
fn plain(help: &str) -> String {
    help.lines()
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| if "'\"[]:`$\\".contains(c) { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn bash() -> String {
    let mut out = String::from(
        "# bash completion for mybb-sync, from `mybb-sync completions bash`.\n\
         _mybb_sync() {\n\
         \x20   local cur prev cmd i\n\
         \x20   cur=${COMP_WORDS[COMP_CWORD]}\n\
         \x20   prev=${COMP_WORDS[COMP_CWORD-1]}\n",
    );
    // The command: the first word that is not a flag or a flag's value.
    let valued: Vec<String> = all_flags()
        .filter(|f| f.value.is_some())
        .map(|f| format!("--{}", f.long))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let _ = write!(
        out,
        "    cmd=\n\
         \x20   for ((i = 1; i < COMP_CWORD; i++)); do\n\
         \x20       case ${{COMP_WORDS[i]}} in\n\
         \x20           {}) ((i++)) ;;\n\
         \x20           -*) ;;\n\
         \x20           *) cmd=${{COMP_WORDS[i]}}; break ;;\n\
         \x20       esac\n\
         \x20   done\n",
        valued.join("|")
    );
    // Flags that take a value: their value is completed (or not) by kind, and choices by the
    // command (export's --prefer takes fewer than import's).
    out.push_str("    case $prev in\n");
    let mut texts = Vec::new();
    let mut done = Vec::new();
    for flag in all_flags().filter(|f| f.value.is_some()) {
        if done.contains(&flag.long) {
            continue;
        }
        done.push(flag.long);
        let word = format!("--{}", flag.long);
        match flag.kind {
            ValueKind::Text => texts.push(word),
            ValueKind::Dir => {
                let _ = writeln!(
                    out,
                    "        {word}) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;"
                );
            }
            ValueKind::Choice(_) => {
                let _ = write!(out, "        {word}) case $cmd in");
                for command in COMMANDS {
                    for f in command.flags.iter().filter(|f| f.long == flag.long) {
                        if let ValueKind::Choice(words) = f.kind {
                            let _ = write!(
                                out,
                                " {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;",
                                command.words[0],
                                words.join(" ")
                            );
                        }
                    }
                }
                out.push_str(" esac; return ;;\n");
            }
        }
    }
    if !texts.is_empty() {
        let _ = writeln!(out, "        {}) return ;;", texts.join("|"));
    }
    out.push_str("    esac\n");
    let global = spellings(GLOBAL_FLAGS).join(" ");
    out.push_str("    case $cmd in\n");
    let _ = writeln!(
        out,
        "        '') COMPREPLY=($(compgen -W \"{} {global}\" -- \"$cur\")) ;;",
        COMMAND_WORDS.join(" ")
    );
    for command in COMMANDS {
        let flags = format!("{} {global}", spellings(command.flags).join(" "));
        let operands = bash_operands(command);
        let _ = writeln!(
            out,
            "        {}) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); \
             else {operands}; fi ;;",
            command.words[0],
            flags.trim()
        );
    }
    out.push_str(
        "    esac\n\
         }\n\
         complete -o default -F _mybb_sync mybb-sync\n",
    );
    out
}

/// Returns the bash statement completing `command`'s operands.
fn bash_operands(command: &CommandSpec) -> String {
    let words: Vec<&str> = match command.operands {
        Operands::Paths => return "COMPREPLY=($(compgen -f -- \"$cur\"))".to_owned(),
        Operands::None => command.words[1..].to_vec(),
        Operands::Word { words, .. } => words.to_vec(),
    };
    format!("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words.join(" "))
}

/// Returns one `_arguments` spec per spelling of `flag`, for zsh.
fn zsh_flag(flag: &Flag) -> Vec<String> {
    let help = plain(flag.help);
    let action = match (flag.value, flag.kind) {
        (None, _) => String::new(),
        (Some(value), ValueKind::Dir) => format!(":{value}:_directories"),
        (Some(value), ValueKind::Choice(words)) => format!(":{value}:({})", words.join(" ")),
        (Some(value), ValueKind::Text) => format!(":{value}: "),
    };
    let repeat = if flag.repeatable { "*" } else { "" };
    let mut specs = vec![format!("'{repeat}--{}[{help}]{action}'", flag.long)];
    if let Some(short) = flag.short {
        specs.push(format!("'{repeat}-{short}[{help}]{action}'"));
    }
    specs
}

fn zsh() -> String {
    let mut out = String::from(
        "#compdef mybb-sync\n\
         # zsh completion for mybb-sync, from `mybb-sync completions zsh`.\n\
         _mybb_sync() {\n\
         \x20   local -a global commands\n",
    );
    let global: Vec<String> = GLOBAL_FLAGS.iter().flat_map(zsh_flag).collect();
    let _ = writeln!(out, "    global=(\n        {}\n    )", global.join("\n        "));
    let commands: Vec<String> =
        COMMANDS.iter().map(|c| format!("'{}:{}'", c.words[0], plain(c.summary))).collect();
    let _ = writeln!(out, "    commands=(\n        {}\n    )", commands.join("\n        "));
    out.push_str(
        "    local curcontext=$curcontext state line\n\
         \x20   _arguments -C $global '1:command:->command' '*::argument:->argument'\n\
         \x20   case $state in\n\
         \x20       command) _describe -t commands 'mybb-sync command' commands ;;\n\
         \x20       argument)\n\
         \x20           case $words[1] in\n",
    );
    for command in COMMANDS {
        let mut specs: Vec<String> = command.flags.iter().flat_map(zsh_flag).collect();
        match command.operands {
            Operands::Paths => specs.push("'*:path:_files'".to_owned()),
            Operands::Word { words, .. } => specs.push(format!("'1:word:({})'", words.join(" "))),
            Operands::None if command.words.len() > 1 => {
                specs.push(format!("'1:action:({})'", command.words[1..].join(" ")))
            }
            Operands::None => {}
        }
        let _ = writeln!(
            out,
            "                {}) _arguments $global {} ;;",
            command.words[0],
            specs.join(" ")
        );
    }
    out.push_str(
        "            esac ;;\n\
         \x20   esac\n\
         }\n\
         _mybb_sync \"$@\"\n",
    );
    out
}

/// Returns the `complete` line of `flag` under `condition`, for fish.
fn fish_flag(flag: &Flag, condition: &str) -> String {
    let mut line = format!("complete -c mybb-sync -n '{condition}' -l {}", flag.long);
    if let Some(short) = flag.short {
        let _ = write!(line, " -s {short}");
    }
    match (flag.value, flag.kind) {
        (None, _) => {}
        (Some(_), ValueKind::Dir) => line.push_str(" -r -a '(__fish_complete_directories)'"),
        (Some(_), ValueKind::Choice(words)) => {
            let _ = write!(line, " -x -a '{}'", words.join(" "));
        }
        (Some(_), ValueKind::Text) => line.push_str(" -x"),
    }
    let _ = write!(line, " -d '{}'", plain(flag.help));
    line
}

fn fish() -> String {
    let mut out = String::from(
        "# fish completion for mybb-sync, from `mybb-sync completions fish`.\n\
         complete -c mybb-sync -f\n",
    );
    let words = COMMAND_WORDS.join(" ");
    for flag in GLOBAL_FLAGS {
        out.push_str(&fish_flag(flag, "true"));
        out.push('\n');
    }
    for command in COMMANDS {
        let _ = writeln!(
            out,
            "complete -c mybb-sync -n 'not __fish_seen_subcommand_from {words}' -a {} -d '{}'",
            command.words[0],
            plain(command.summary)
        );
        let condition = format!("__fish_seen_subcommand_from {}", command.words[0]);
        for flag in command.flags {
            out.push_str(&fish_flag(flag, &condition));
            out.push('\n');
        }
        match command.operands {
            Operands::Paths => {
                let _ = writeln!(out, "complete -c mybb-sync -n '{condition}' -F");
            }
            Operands::Word { words, .. } => {
                let _ = writeln!(
                    out,
                    "complete -c mybb-sync -n '{condition}' -a '{}'",
                    words.join(" ")
                );
            }
            Operands::None if command.words.len() > 1 => {
                let _ = writeln!(
                    out,
                    "complete -c mybb-sync -n '{condition}' -a '{}'",
                    command.words[1..].join(" ")
                );
            }
            Operands::None => {}
        }
    }
    out
}
