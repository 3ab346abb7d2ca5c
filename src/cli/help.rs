//! The help text, rendered from the table (`table.rs`): `--help`, `help COMMAND` (or
//! `COMMAND --help`), and `help WORD` for the commands sharing a first word (`help theme`).

use std::fmt::Write as _;

use crate::cli::args::HelpTopic;
use crate::cli::spec::{CommandSpec, Flag, did_you_mean};
use crate::cli::table::{COMMAND_WORDS, COMMANDS, GLOBAL_FLAGS};
use crate::error::{Error, Result};

/// Prints the help of `topic` to stdout. Never fails: it returns a result to sit in
/// `app.rs`'s table beside the commands.
pub fn print(topic: HelpTopic) -> Result<()> {
    match topic {
        HelpTopic::General => print!("{}", help()),
        HelpTopic::Command(spec) => print!("{}", command_help(spec)),
        HelpTopic::Group(word) => print!("{}", group_help(word)),
    }
    Ok(())
}

/// Prints `mybb-sync VERSION` to stdout (`--version`). Never fails, as [`print()`].
pub fn print_version() -> Result<()> {
    println!("mybb-sync {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}

/// The exit codes, as the help shows them.
const EXIT_CODES: &str = "\
EXIT CODES:
    0  success    1  runtime failure    2  usage or configuration error
    3  finished, but some items were refused or in conflict (each listed); for status: not in sync;
       for check: errors found
";

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

/// Returns the help topic `words` name (a command's words, maybe followed by others): the
/// command whose words they start with, else the group of their first word.
pub(crate) fn topic(words: &[String]) -> Result<HelpTopic> {
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
        None => Err(Error::usage(format!(
            "unknown command {first:?}{}",
            did_you_mean(first, COMMAND_WORDS.iter().copied(), "`", "`")
        ))),
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
