//! The shape of the command line's table (`table.rs`): a [`CommandSpec`] per command, with
//! its words, help, operands, flags and `build`; a [`Flag`] per flag, with its name, help line
//! and [`Effect`] side by side; and what a value or an operand is, for the completions.

use std::fmt::Write as _;

use crate::cli::args::{Command, Given, PerCommand};
use crate::cli::table::{COMMANDS, GLOBAL_FLAGS};
use crate::error::Result;

/// What a flag does to the options given. The value is None for a switch, and for an
/// optional-value flag given without one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Effect {
    /// Sets a field: cannot fail.
    Set(fn(&mut Given, Option<String>)),
    /// Parses the value into a field: a usage error when it does not parse.
    Parse(fn(&mut Given, Option<String>) -> Result<()>),
}

impl Effect {
    /// Applies the effect to `given`.
    pub(crate) fn apply(self, given: &mut Given, value: Option<String>) -> Result<()> {
        match self {
            Effect::Set(set) => {
                set(given, value);
                Ok(())
            }
            Effect::Parse(parse) => parse(given, value),
        }
    }
}

/// Builds the command from its own options and its operands (already counted and checked
/// against [`Operands`] by the parser).
pub(crate) type Build = fn(PerCommand, Vec<String>) -> Result<Command>;

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
    /// A template set's name: completed from the sync tree's folders, no database asked.
    SetName,
    /// A theme's name: completed from the sync tree's folders, no database asked.
    ThemeName,
}

/// One flag, as `--help` shows it and the parser and the completions know it, with its effect.
#[derive(Debug, Clone, Copy)]
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
    /// What the flag does, applied by the parser.
    pub(crate) effect: Effect,
}

impl Flag {
    /// Returns a flag that takes no value.
    pub(crate) const fn switch(long: &'static str, help: &'static str, effect: Effect) -> Flag {
        Flag {
            long,
            short: None,
            value: None,
            kind: ValueKind::Text,
            repeatable: false,
            optional: false,
            help,
            effect,
        }
    }

    /// Returns a flag that takes a value, shown as `value` in the help.
    pub(crate) const fn value(
        long: &'static str,
        value: &'static str,
        help: &'static str,
        effect: Effect,
    ) -> Flag {
        Flag {
            long,
            short: None,
            value: Some(value),
            kind: ValueKind::Text,
            repeatable: false,
            optional: false,
            help,
            effect,
        }
    }

    /// Sets what the value is, for the completions.
    pub(crate) const fn kind(self, kind: ValueKind) -> Flag {
        Flag { kind, ..self }
    }

    /// Adds a one-letter spelling.
    pub(crate) const fn short(self, short: char) -> Flag {
        Flag { short: Some(short), ..self }
    }

    /// Marks the flag as allowed more than once.
    pub(crate) const fn repeatable(self) -> Flag {
        Flag { repeatable: true, ..self }
    }

    /// Marks the value as optional (see the `optional` field).
    pub(crate) const fn optional(self) -> Flag {
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

/// One command: its name (the words typed), what `--help` says, its flags, and how its
/// options become a [`Command`].
#[derive(Debug, Clone, Copy)]
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
    /// Takes the command's own options and its operands.
    pub(crate) build: Build,
}

/// A command is its words: two specs of the same words are the same command.
impl PartialEq for CommandSpec {
    fn eq(&self, other: &CommandSpec) -> bool {
        self.words == other.words
    }
}

impl Eq for CommandSpec {}

impl CommandSpec {
    /// Returns the command's name as typed: `cache rebuild`.
    pub fn name(&self) -> String {
        self.words.join(" ")
    }
}

/// Returns the command whose first word is `word`.
pub fn command_spec(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.words[0] == word)
}

/// Returns the flag named `long` (or `-short`) in any table, for the loop to know whether it
/// takes a value: a name means the same everywhere (a test checks that).
pub(crate) fn any_flag(matches: impl Fn(&Flag) -> bool) -> Option<&'static Flag> {
    GLOBAL_FLAGS.iter().chain(COMMANDS.iter().flat_map(|c| c.flags.iter())).find(|f| matches(f))
}

/// Returns "; did you mean {before}WORD{after}?" for the word of `candidates` nearest to
/// `typed`, or nothing when none is within a typo's reach (a third of its length, at least 1).
pub(crate) fn did_you_mean<'a>(
    typed: &str,
    candidates: impl Iterator<Item = &'a str>,
    before: &str,
    after: &str,
) -> String {
    let reach = (typed.chars().count() / 3).max(1);
    let best = candidates
        .map(|c| (edit_distance(typed, c), c))
        .filter(|(distance, _)| *distance <= reach)
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((_, word)) => format!("; did you mean {before}{word}{after}?"),
        None => String::new(),
    }
}

/// Returns the Damerau-Levenshtein distance (optimal string alignment) of `a` and `b`: a
/// swapped pair of letters, the commonest typo, counts as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}
