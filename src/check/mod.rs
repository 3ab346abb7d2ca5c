//! `check`: finds what breaks a theme before visitors see it, in the files of a sync root.
//!
//! A layer between the commands and MyBB's rules: it reads no files (but a theme folder's
//! listing, for `theme-file`) and opens no connection of its own (the command hands it each
//! file's text, the baseline of master templates and, with `--mybb`, the board's facts), so `watch` and `import --strict` run the same rules on the
//! same text they are about to write. One module per family of rules:
//!
//! - [`finding`]: the rules, their names and severities, a finding, line and column;
//! - [`template`]: the rules that read templates; [`html`] the tag balance under one of them;
//! - [`css`]: the stylesheet syntax (with Servo's `cssparser`) and its `url()`s;
//! - [`board`]: what the board rules look up (languages, settings, images, scripts);
//! - [`theme`]: what the import refuses of a theme's `theme.json`, with its own checks;
//! - [`silence`]: `.mybb-sync-check` and `--allow`.

pub mod board;
pub mod css;
pub mod finding;
pub mod html;
pub mod silence;
pub mod template;
pub mod theme;

use std::collections::HashMap;
use std::path::Path;

use crate::check::board::BoardFacts;
use crate::check::finding::{Finding, Lines, Rule};
use crate::check::silence::Silence;
use crate::check::theme::ThemeBoard;
use crate::sync::baseline::{Baseline, MasterEntry};
use crate::sync::layout::{self, ItemPath};

/// Everything the rules compare a file with, read once per run.
pub struct Checker<'a> {
    /// The master templates mybb-sync last saw, with older ones copies were made from.
    pub baseline: Option<&'a Baseline>,
    /// Master templates from a release's theme file (`--masters FILE.xml`), for a tree without
    /// a baseline (a CI checkout): used where the baseline knows no master.
    pub xml_masters: Option<&'a HashMap<String, MasterEntry>>,
    /// The board, when `--mybb` names it: the board rules run only then.
    pub board: Option<&'a BoardFacts>,
    pub silence: &'a Silence,
    /// The sync root, where a theme file's folder is listed for its stylesheet files: the
    /// `theme-file` rule runs only with it (`watch` and `import` refuse such a file themselves,
    /// with the same reasons).
    pub root: Option<&'a Path>,
    /// The board for the `theme-file` rule's board side (`--mybb`).
    pub themes: Option<&'a ThemeBoard>,
}

impl Checker<'_> {
    /// Returns true if and only if `rule` is to run: not silenced everywhere, and with the
    /// board when it needs it.
    fn runs(&self, rule: Rule) -> bool {
        !self.silence.silences_rule(rule) && (!rule.needs_board() || self.board.is_some())
    }

    /// Returns the findings in the file at `relative` (relative to the sync root) holding
    /// `text`, sorted by place; nothing for a path that names no template or stylesheet.
    pub fn check(&self, relative: &Path, text: &str) -> Vec<Finding> {
        if self.silence.skips(relative) {
            return Vec::new();
        }
        let Ok(item) = layout::parse(relative) else { return Vec::new() };
        let mut raw: Vec<(Rule, usize, String)> = Vec::new();
        let mut add = |rule: Rule, found: Vec<(usize, String)>| {
            raw.extend(found.into_iter().map(|(at, message)| (rule, at, message)));
        };
        match &item {
            ItemPath::Template { set, title, .. } => {
                let history = self.baseline.and_then(|b| b.history(title)).or_else(|| {
                    self.xml_masters.and_then(|m| m.get(title)).map(std::slice::from_ref)
                });
                let master = history
                    .and_then(|h| h.last())
                    .map(|e| String::from_utf8_lossy(&e.content).into_owned());
                if self.runs(Rule::TemplateSecurity) {
                    add(Rule::TemplateSecurity, template::security(text).into_iter().collect());
                }
                // Without a baseline no master is known, and MyBB's own fragments (`header`
                // opens what `footer` closes) would all be findings: the rule needs one.
                let masters_known = self.baseline.is_some() || self.xml_masters.is_some();
                if self.runs(Rule::HtmlBalance) && masters_known && master.as_deref() != Some(text)
                {
                    add(Rule::HtmlBalance, template::balance(text, master.as_deref()));
                }
                if self.runs(Rule::UpgradeVariables) {
                    let history = history.unwrap_or_default();
                    add(Rule::UpgradeVariables, template::upgrade_variables(text, history));
                }
                if let Some(board) = self.board {
                    if self.runs(Rule::UnknownLang) {
                        add(
                            Rule::UnknownLang,
                            template::unknown_lang(text, master.as_deref(), board),
                        );
                    }
                    if self.runs(Rule::UnknownSetting) {
                        add(Rule::UnknownSetting, template::unknown_setting(text, board));
                    }
                    if self.runs(Rule::MissingImage) {
                        add(Rule::MissingImage, template::missing_images(text, set, board));
                    }
                }
            }
            ItemPath::Stylesheet { theme, name } => {
                let scan = css::scan(text);
                if self.runs(Rule::CssSyntax) {
                    add(Rule::CssSyntax, scan.problems);
                }
                if let Some(board) = self.board {
                    if self.runs(Rule::MissingImage) {
                        let missing = scan
                            .urls
                            .iter()
                            .filter_map(|(at, url)| {
                                let file = board.stylesheet_relative(url, theme)?;
                                (!board.root.join(&file).is_file()).then(|| {
                                    (*at, format!("`url({url})` is `{file}` under the board root, which does not exist"))
                                })
                            })
                            .collect();
                        add(Rule::MissingImage, missing);
                    }
                    if self.runs(Rule::UnknownPage) {
                        let missing = board
                            .missing_pages(theme, name)
                            .into_iter()
                            .map(|script| {
                                (0, format!("attached to `{script}`, which the board root does not have: it is never linked"))
                            })
                            .collect();
                        add(Rule::UnknownPage, missing);
                    }
                }
            }
            ItemPath::Theme { theme } => {
                if let Some(root) = self.root
                    && self.runs(Rule::ThemeFile)
                {
                    let dir = root.join(ItemPath::theme_dir(theme));
                    let sheets = crate::sync::new_themes::sheet_files(&dir);
                    add(Rule::ThemeFile, theme::problems(text, theme, &sheets, self.themes));
                }
            }
        }
        let lines = Lines::new(text);
        let mut findings: Vec<Finding> = raw
            .into_iter()
            .map(|(rule, at, message)| {
                let (line, column) = lines.position(at);
                Finding { path: relative.to_path_buf(), line, column, rule, message }
            })
            .filter(|f| !self.silence.silences(f))
            .collect();
        findings.sort();
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_and_a_stylesheet_are_checked_by_their_rules() {
        let silence = Silence::default();
        let checker = Checker {
            baseline: None,
            xml_masters: None,
            board: None,
            silence: &silence,
            root: None,
            themes: None,
        };
        let path = Path::new("template_sets/Default Templates/Ungrouped Templates/x.html");
        let found = checker.check(path, "<div>\n  {$a->b()}</div>");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].rule, found[0].line, found[0].column), (Rule::TemplateSecurity, 2, 3));
        let found = checker.check(Path::new("styles/Default/global.css"), "a { color red }");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Rule::CssSyntax);
        assert!(checker.check(Path::new("README.md"), "<div>").is_empty());
        // Without a baseline html-balance is off; with one, a template it has no master of
        // (a plugin's) is judged on its own.
        assert!(checker.check(path, "<div>").is_empty());
        let baseline = Baseline::default();
        let with = Checker { baseline: Some(&baseline), ..checker };
        let found = with.check(path, "<div>");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Rule::HtmlBalance);
    }

    #[test]
    fn mybb_s_own_1_8_37_stylesheets_and_templates_pass_the_tree_rules() {
        use crate::test_support::sql_dump::table_rows;
        let dump = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mybb-1.8.37-sync-tables.sql"
        ))
        .expect("fixture is readable");
        let sheets = table_rows(&dump, "mybb_themestylesheets");
        assert_eq!(sheets.len(), 17);
        let mut found = Vec::new();
        for row in &sheets {
            for (at, problem) in css::scan(row[4].text()).problems {
                found.push(format!("{} at {at}: {problem}", row[1].text()));
            }
        }
        for row in table_rows(&dump, "mybb_templates") {
            if let Some((_, problem)) = template::security(row[2].text()) {
                found.push(format!("{}: {problem}", row[1].text()));
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }
}
