//! Which findings the user silenced: by rule everywhere, by rule under some paths, or every
//! rule under some paths. From the sync root's `.mybb-sync-check` and from `--allow RULE`.
//!
//! ```text
//! # .mybb-sync-check: one directive a line; paths are gitignore patterns (as .mybb-syncignore)
//! allow css-syntax
//! allow html-balance template_sets/Legacy Templates/
//! skip styles/Old Theme/
//! ```
//! The file is hidden, so no command takes it for a template or stylesheet. A rule name that
//! does not exist is an error naming the line: a typo would silently silence nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::check::finding::{Finding, Rule};
use crate::error::{Error, Result};

/// The file in the sync root that silences findings.
pub const CHECK_FILE: &str = ".mybb-sync-check";

/// What is silenced.
#[derive(Debug, Default)]
pub struct Silence {
    /// Rules silenced everywhere.
    rules: HashSet<Rule>,
    /// Rules silenced under some paths.
    at: Vec<(Rule, Gitignore)>,
    /// Paths where every rule is silenced.
    skip: Option<Gitignore>,
}

impl Silence {
    /// Reads `root/.mybb-sync-check` (none: nothing silenced) and adds the rules named by
    /// `allow` (`--allow`). An unknown rule or a bad pattern is a usage error (exit 2).
    pub fn load(root: &Path, allow: &[String]) -> Result<Silence> {
        let path = root.join(CHECK_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(Error::IoAt { path, action: "read", source }),
        };
        let mut silence = Silence::parse(root, &text)?;
        for name in allow {
            silence.rules.insert(rule(name, "--allow")?);
        }
        Ok(silence)
    }

    /// Reads the directives of a `.mybb-sync-check` text, for sync root `root`.
    pub fn parse(root: &Path, text: &str) -> Result<Silence> {
        let mut silence = Silence::default();
        let mut skip = GitignoreBuilder::new(root);
        let mut skips = 0;
        for (number, line) in text.lines().enumerate() {
            let place = format!("{CHECK_FILE}:{}", number + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let rest = rest.trim();
            match word {
                "allow" => {
                    let (name, pattern) =
                        rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                    let rule = rule(name, &place)?;
                    let pattern = pattern.trim();
                    if pattern.is_empty() {
                        silence.rules.insert(rule);
                    } else {
                        silence.at.push((rule, matcher(root, &place, pattern)?));
                    }
                }
                "skip" if !rest.is_empty() => {
                    add(&mut skip, &place, rest)?;
                    skips += 1;
                }
                _ => {
                    return Err(Error::usage(format!(
                        "{place}: expected `allow RULE [PATH-PATTERN]` or `skip PATH-PATTERN`, \
                         found {line:?}"
                    )));
                }
            }
        }
        if skips > 0 {
            let built = skip.build().map_err(|e| Error::usage(format!("{CHECK_FILE}: {e}")))?;
            silence.skip = Some(built);
        }
        Ok(silence)
    }

    /// Returns true if and only if `rule` is silenced everywhere (so need not even run).
    pub fn silences_rule(&self, rule: Rule) -> bool {
        self.rules.contains(&rule)
    }

    /// Returns true if and only if every rule is silenced at `relative` (a path relative to
    /// the sync root).
    pub fn skips(&self, relative: &Path) -> bool {
        self.skip
            .as_ref()
            .is_some_and(|g| g.matched_path_or_any_parents(relative, false).is_ignore())
    }

    /// Returns true if and only if `finding` is silenced.
    pub fn silences(&self, finding: &Finding) -> bool {
        self.rules.contains(&finding.rule)
            || self.skips(&finding.path)
            || self.at.iter().any(|(rule, g)| {
                *rule == finding.rule
                    && below_root(&finding.path)
                    && g.matched_path_or_any_parents(&finding.path, false).is_ignore()
            })
    }
}

/// Returns true if and only if `relative` can be matched: the matcher panics on a path that
/// is not below its root, and a file outside the sync root has no pattern of the root's.
fn below_root(relative: &Path) -> bool {
    !relative.has_root() && !relative.as_os_str().is_empty()
}

/// Returns the rule named `name`, or a usage error naming `place` and the rules there are.
fn rule(name: &str, place: &str) -> Result<Rule> {
    Rule::from_name(name).ok_or_else(|| {
        Error::usage(format!(
            "{place}: no check rule named {name:?}; the rules are {}",
            Rule::names()
        ))
    })
}

/// Adds gitignore `pattern` to `builder`, or says which line is wrong.
fn add(builder: &mut GitignoreBuilder, place: &str, pattern: &str) -> Result<()> {
    builder
        .add_line(Some(PathBuf::from(CHECK_FILE)), pattern)
        .map(|_| ())
        .map_err(|e| Error::usage(format!("{place}: not a gitignore pattern: {e}")))
}

/// Returns a matcher of the one gitignore `pattern`.
fn matcher(root: &Path, place: &str, pattern: &str) -> Result<Gitignore> {
    let mut builder = GitignoreBuilder::new(root);
    add(&mut builder, place, pattern)?;
    builder.build().map_err(|e| Error::usage(format!("{place}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(path: &str, rule: Rule) -> Finding {
        Finding { path: path.into(), line: 1, column: 1, rule, message: String::new() }
    }

    #[test]
    fn rules_and_paths_are_silenced_as_written() {
        let text = "# comment\nallow upgrade-variables\nallow html-balance template_sets/Legacy Templates/\nskip styles/Old/\n";
        let s = Silence::parse(Path::new("/root"), text).unwrap();
        assert!(s.silences(&finding("template_sets/A/B Templates/x.html", Rule::UpgradeVariables)));
        assert!(s.silences(&finding(
            "template_sets/Legacy Templates/G Templates/x.html",
            Rule::HtmlBalance
        )));
        assert!(!s.silences(&finding("template_sets/Other/G Templates/x.html", Rule::HtmlBalance)));
        assert!(!s.silences(&finding(
            "template_sets/Legacy Templates/G Templates/x.html",
            Rule::TemplateSecurity
        )));
        assert!(s.silences(&finding("styles/Old/global.css", Rule::CssSyntax)));
        assert!(!s.silences(&finding("styles/New/global.css", Rule::CssSyntax)));
    }

    #[test]
    fn an_unknown_rule_or_directive_names_its_line() {
        let err = Silence::parse(Path::new("/r"), "allow css\n").unwrap_err().to_string();
        assert!(err.contains(".mybb-sync-check:1") && err.contains("css-syntax"), "{err}");
        let err = Silence::parse(Path::new("/r"), "\nignore x\n").unwrap_err().to_string();
        assert!(err.contains(".mybb-sync-check:2"), "{err}");
        let err = Silence::load(Path::new("/nonexistent"), &["nope".into()]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
