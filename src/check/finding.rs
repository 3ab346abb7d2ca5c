//! What `check` finds: the rules with their stable names and severities, one finding, and the
//! line and column of a byte offset.
//!
//! Rule names are part of the interface (users silence them by name in `.mybb-sync-check` and
//! with `--allow`, and scripts read them from `--json`), so they never change once released.
//! A rule's severity is fixed: an error is something a visitor sees broken or a write MyBB
//! itself would refuse; a warning is something likely wrong that a person should look at.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Value, json};

/// One rule of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// What MyBB's Admin CP `check_template()` refuses.
    TemplateSecurity,
    /// Tags opened and not closed, or closed out of order, unlike the master.
    HtmlBalance,
    /// What a browser's CSS parser stumbles on.
    CssSyntax,
    /// A variable the copy's old master used and its current master no longer does.
    UpgradeVariables,
    /// `{$lang->key}` where the board's default language defines no `key`.
    UnknownLang,
    /// `{$mybb->settings['x']}` where the board has no setting `x`.
    UnknownSetting,
    /// An image a template or stylesheet points at that is not in the board root.
    MissingImage,
    /// A stylesheet attached to a script the board root does not have.
    UnknownPage,
    /// What `import` would refuse of a theme's `theme.json`.
    ThemeFile,
}

/// How bad a finding is: errors make `check` exit 3, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// Returns the word `--json` and the summary use.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl Rule {
    /// Every rule, in the order the README documents them.
    pub const ALL: [Rule; 9] = [
        Rule::TemplateSecurity,
        Rule::HtmlBalance,
        Rule::CssSyntax,
        Rule::UpgradeVariables,
        Rule::UnknownLang,
        Rule::UnknownSetting,
        Rule::MissingImage,
        Rule::UnknownPage,
        Rule::ThemeFile,
    ];

    /// Returns the rule's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::TemplateSecurity => "template-security",
            Rule::HtmlBalance => "html-balance",
            Rule::CssSyntax => "css-syntax",
            Rule::UpgradeVariables => "upgrade-variables",
            Rule::UnknownLang => "unknown-lang",
            Rule::UnknownSetting => "unknown-setting",
            Rule::MissingImage => "missing-image",
            Rule::UnknownPage => "unknown-page",
            Rule::ThemeFile => "theme-file",
        }
    }

    /// Returns the rule named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// Returns every rule's name, comma-separated, for messages about an unknown one.
    pub fn names() -> String {
        Rule::ALL.map(Rule::name).join(", ")
    }

    /// Returns the rule's severity. Only what breaks a page for visitors, or what MyBB itself
    /// refuses, is an error; what may be intended (a stale copy, a missing image) is a warning.
    pub fn severity(self) -> Severity {
        match self {
            Rule::TemplateSecurity
            | Rule::HtmlBalance
            | Rule::CssSyntax
            | Rule::UnknownLang
            | Rule::UnknownSetting
            | Rule::ThemeFile => Severity::Error,
            Rule::UpgradeVariables | Rule::MissingImage | Rule::UnknownPage => Severity::Warning,
        }
    }

    /// Returns true if and only if the rule needs the board (`--mybb`): its files or database.
    pub fn needs_board(self) -> bool {
        matches!(
            self,
            Rule::UnknownLang | Rule::UnknownSetting | Rule::MissingImage | Rule::UnknownPage
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding: where, which rule, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file, relative to the sync root (as `status` prints it).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub rule: Rule,
    /// What is wrong, one line.
    pub message: String,
}

impl Finding {
    /// Returns the finding's severity (its rule's).
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// Returns the `--json` object of the finding.
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path.to_string_lossy(),
            "line": self.line,
            "column": self.column,
            "rule": self.rule.name(),
            "severity": self.severity().word(),
            "message": self.message,
        })
    }
}

impl fmt::Display for Finding {
    /// Writes `PATH:LINE:COLUMN: RULE: message`, the form compilers use, so that editors
    /// and CI annotations jump to the place.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.rule,
            self.message
        )
    }
}

/// Line starts of a text, to turn byte offsets into 1-based lines and columns.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Indexes the line starts of `text` (a `\n` ends a line; a `\r` before it is part of it).
    pub fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1));
        Lines { text, starts: starts.collect() }
    }

    /// Returns the 1-based line and column (in characters) of byte offset `at`, clamped to the
    /// text and moved back to a character boundary.
    pub fn position(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= at);
        let start = self.starts[line - 1];
        (line, self.text[start..at].chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_name_round_trips() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_name(rule.name()), Some(rule));
        }
        assert_eq!(Rule::from_name("html"), None);
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let lines = Lines::new("ab\nçd\r\ne");
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(1), (1, 2));
        assert_eq!(lines.position(3), (2, 1));
        // `ç` is two bytes and one column.
        assert_eq!(lines.position(5), (2, 2));
        assert_eq!(lines.position(8), (3, 1));
        assert_eq!(lines.position(99), (3, 2));
    }

    #[test]
    fn a_finding_prints_as_compilers_do() {
        let finding = Finding {
            path: PathBuf::from("styles/Default/global.css"),
            line: 3,
            column: 7,
            rule: Rule::CssSyntax,
            message: "x".into(),
        };
        assert_eq!(finding.to_string(), "styles/Default/global.css:3:7: css-syntax: x");
        assert_eq!(finding.to_json()["severity"], "error");
    }
}
