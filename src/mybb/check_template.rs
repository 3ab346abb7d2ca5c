//! MyBB's Admin CP template guard, ported: `check_template()` from MyBB 1.8.37's
//! `admin/inc/functions.php`.
//!
//! MyBB `eval`s every template as a PHP double-quoted string, so a template is code. The Admin CP
//! refuses to save a template that could read the database credentials or run arbitrary PHP. A
//! tool that writes templates straight into the database bypasses that guard unless it applies
//! the same check, so this module reproduces it rule for rule: the three PHP regular expressions
//! are ported one to one (each pattern below quotes its PHP original and notes where the
//! `regex` crate needs a different spelling of the same language). The goal is to refuse
//! exactly what the Admin CP refuses: no less, and no more (all 974 master templates pass; see
//! the fixture test).
//!
//! Two things of PHP's are deliberately not reproduced:
//! - PCRE resource limits. PHP treats a regex that hits `pcre.backtrack_limit` as a refusal
//!   (`preg_match` returns false, which is `!== 0`). `regex` has no such limit and always
//!   answers (in linear time); on templates of at most 64 KiB these patterns stay far from PHP's limits anyway.
//! - Byte semantics. PHP runs these patterns without the `u` modifier, on bytes. Every pattern
//!   here is made of ASCII, and a non-ASCII byte can match only `.` or a negated class, which
//!   match a whole UTF-8 sequence just as well; so on valid UTF-8 (which `validate` demands
//!   first) bytes and characters give the same answers. Two of `regex`'s Unicode defaults are
//!   switched off where PHP has none: case folding is ASCII only (`(?i-u:...)`: Unicode folding
//!   would take `ſ` for `s`), and `\s` is spelled out as its ASCII set.
//!
//! The patterns ran on regex-lite until issue 16: its backtracking-free but unoptimised matcher
//! took two thirds of an import's time. `regex` (already in the tree through `mysql_common`)
//! answers the same with literal prefilters and a lazy DFA.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Rule 1: the template mentions `$config[...database...][...credential...]`.
///
/// PHP: `preg_match('#\$config\[(([\'|"]database[\'|"])|([^\'"].*?))\]\[(([\'|"](database|hostname|password|table_prefix|username)[\'|"])|([^\'"].*?))\]#i', $template)`
///
/// Inside PHP's single-quoted string `\'` is `'` and every other backslash stays, so the PCRE
/// pattern is exactly the one below. Note that `[\'|"]` is a class of three characters: `|` is a
/// literal there, so `$config[|database|]...` is caught too. `(?i-u:...)` on the words is PHP's `i`
/// (the classes hold no letters): ASCII folding only, as PCRE does without `u` under the C locale. `.` stops at `\n` only, in both (PHP's
/// PCRE2 is built with LF as its newline).
static DATABASE_CONFIG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\$(?i-u:config)\[((['|"](?i-u:database)['|"])|([^'"].*?))\]\[((['|"](?i-u:database|hostname|password|table_prefix|username)['|"])|([^'"].*?))\]"#,
    )
    .expect("DATABASE_CONFIG is a valid regex")
});

/// Rule 2: `$`, optional whitespace, `{`: PHP's `${expr}` complex syntax (MyBB's comment calls it
/// "System calls via backtick").
///
/// PHP: `preg_match('#\$\s*\{#', $template)`
///
/// `\s` is spelled `[\t\n\x0B\x0C\r ]`, PCRE2's `\s` without `u`/UCP under the default (C locale)
/// character tables (`regex`'s own `\s` is Unicode's).
static COMPLEX_SYNTAX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$[\t\n\x0B\x0C\r ]*\{").expect("COMPLEX_SYNTAX is a valid regex")
});

/// Rule 3, first half: the brace expressions MyBB allows, which are deleted before looking for
/// any `{$...}` left over.
///
/// PHP (single-quoted, so `\\` is one backslash):
/// `preg_replace('~\\{\\$+[a-zA-Z_][a-zA-Z_0-9]*((?:-\\>|\\:\\:)\\$*[a-zA-Z_][a-zA-Z_0-9]*|\\[\s*\\$*([\'"]?)[a-zA-Z_ 0-9 ]+\\2\\]\s*)*\\}~', '', $template)`
///
/// that is, in PCRE: `\{\$+[a-zA-Z_][a-zA-Z_0-9]*((?:\->|\:\:)\$*[a-zA-Z_][a-zA-Z_0-9]*|\[\s*\$*(['"]?)[a-zA-Z_ 0-9 ]+\2\]\s*)*\}`
///
/// Two spellings differ here, not the language:
/// - `\->` is written `->`: in PCRE `\>` is a literal `>`, but in `regex` `\>` is an
///   end-of-word assertion; `\:\:` is written `::`, and `\s` as its ASCII set (see rule 2).
/// - The backreference `\2` (`regex` has none) is unrolled: `(['"]?)X\2` becomes
///   `(?:'X'|"X"|X)`, in the order PCRE's greedy `?` tries them (quote first). Since `X` (the key
///   class) contains no quote, the three branches are exclusive, and `regex`'s leftmost-first
///   semantics pick the same match as PCRE's backtracking: `find_iter` deletes exactly the spans
///   `preg_replace` deletes.
///
/// So `[ 'k']` is allowed but `[ 'k' ]` is not: after the closing quote PHP wants `]` at once.
static ALLOWED_BRACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\{\$+[a-zA-Z_][a-zA-Z_0-9]*(?:(?:->|::)\$*[a-zA-Z_][a-zA-Z_0-9]*|\[[\t\n\x0B\x0C\r ]*\$*(?:'[a-zA-Z_ 0-9 ]+'|"[a-zA-Z_ 0-9 ]+"|[a-zA-Z_ 0-9 ]+)\][\t\n\x0B\x0C\r ]*)*\}"#,
    )
    .expect("ALLOWED_BRACE is a valid regex")
});

/// Rule 3, second half: any `{$` ... `}` that survived the deletion, across lines.
///
/// PHP (double-quoted, so `\\` is one backslash and `$.` stays literal):
/// `preg_match("~\\{\\$.+?\\}~s", $allowed)`, in PCRE `\{\$.+?\}` with `s`.
static LEFTOVER_BRACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{\$.+?\}").expect("LEFTOVER_BRACE is a valid regex"));

/// How many characters of the offending text a refusal keeps: enough to find it in the file.
const MAX_EXCERPT_CHARS: usize = 60;

/// Why MyBB's Admin CP would refuse a template, naming which of `check_template()`'s three rules
/// fired, with the offending text (clipped to a few dozen characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRefusal {
    /// Rule 1: the template refers to `$config['database'][...]` credentials, which `eval` would
    /// print into the page.
    DatabaseConfig {
        /// The matched `$config[...][...]` text.
        excerpt: String,
    },
    /// Rule 2: the template contains `$` and `{` with only whitespace between, PHP's `${expr}`
    /// complex syntax, which evaluates arbitrary expressions.
    ComplexSyntax {
        /// The matched text, e.g. `${` or `$ {`.
        excerpt: String,
    },
    /// Rule 3: the template has a `{$...}` expression that is more than a plain variable,
    /// property or array-key access, e.g. a method call.
    BraceExpression {
        /// The offending expression as written in the template, from `{$` to the next `}`.
        excerpt: String,
    },
}

impl TemplateRefusal {
    /// Returns the offending text as it appears in the template (possibly clipped, ending in `…`).
    pub fn excerpt(&self) -> &str {
        match self {
            TemplateRefusal::DatabaseConfig { excerpt }
            | TemplateRefusal::ComplexSyntax { excerpt }
            | TemplateRefusal::BraceExpression { excerpt } => excerpt,
        }
    }
}

impl fmt::Display for TemplateRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateRefusal::DatabaseConfig { excerpt } => {
                f.write_str("refers to the database configuration: ")?;
                write_visible(f, excerpt)
            }
            TemplateRefusal::ComplexSyntax { excerpt } => {
                f.write_str("contains `")?;
                write_visible(f, excerpt)?;
                f.write_str("` (PHP complex syntax)")
            }
            TemplateRefusal::BraceExpression { excerpt } => {
                f.write_str("uses a brace expression MyBB's Admin CP refuses: ")?;
                write_visible(f, excerpt)
            }
        }
    }
}

impl std::error::Error for TemplateRefusal {}

/// Checks a template the way MyBB 1.8.37's Admin CP does before saving it, and returns which
/// rule refuses it, if any.
///
/// `Ok(())` means the Admin CP would accept the template; an error means it would refuse it with
/// "security problem", and this tool must not write it either. The rules are tried in MyBB's
/// order and the first that fires is reported.
pub fn check_template(template: &str) -> Result<(), TemplateRefusal> {
    if let Some(found) = DATABASE_CONFIG.find(template) {
        return Err(TemplateRefusal::DatabaseConfig { excerpt: clip(found.as_str()) });
    }
    if let Some(found) = COMPLEX_SYNTAX.find(template) {
        return Err(TemplateRefusal::ComplexSyntax { excerpt: clip(found.as_str()) });
    }

    // Build MyBB's `$allowed` (the template minus every allowed expression), remembering where
    // each kept piece came from so that the refusal can quote the template itself rather than
    // the spliced text.
    let mut allowed = String::with_capacity(template.len());
    // (start in `allowed`, start in `template`) of each kept piece, in order.
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut kept_from = 0;
    for found in ALLOWED_BRACE.find_iter(template) {
        pieces.push((allowed.len(), kept_from));
        allowed.push_str(&template[kept_from..found.start()]);
        kept_from = found.end();
    }
    pieces.push((allowed.len(), kept_from));
    allowed.push_str(&template[kept_from..]);

    if let Some(found) = LEFTOVER_BRACE.find(&allowed) {
        let start = original_offset(&pieces, found.start());
        // The match ends with the one-byte `}`: map that byte, then step past it.
        let end = original_offset(&pieces, found.end() - 1) + 1;
        return Err(TemplateRefusal::BraceExpression { excerpt: clip(&template[start..end]) });
    }
    Ok(())
}

/// Maps a byte offset in the spliced `$allowed` text back to the template it was cut from.
fn original_offset(pieces: &[(usize, usize)], at: usize) -> usize {
    // The last piece starting at or before `at` holds it; pieces that kept nothing share their
    // start with the next piece, and taking the last one skips them. The first piece starts at
    // 0, so there always is one.
    let index = pieces.partition_point(|&(allowed_start, _)| allowed_start <= at).saturating_sub(1);
    let (allowed_start, template_start) = pieces[index];
    template_start + (at - allowed_start)
}

/// Keeps the first `MAX_EXCERPT_CHARS` characters of `text`, marking a cut with `…`.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Writes `text` on one line: an excerpt may span lines, and a refusal is printed as one line
/// after the file's path.
fn write_visible(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => fmt::Write::write_char(f, c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sql_dump::{SqlValue, table_rows};

    #[track_caller]
    fn assert_allowed(template: &str) {
        if let Err(refusal) = check_template(template) {
            panic!("{template:?} should pass, but: {refusal}");
        }
    }

    #[track_caller]
    fn refusal(template: &str) -> TemplateRefusal {
        match check_template(template) {
            Ok(()) => panic!("{template:?} should be refused"),
            Err(refusal) => refusal,
        }
    }

    #[test]
    fn plain_variables_properties_and_keys_pass() {
        for template in [
            "{$mybb->settings['bbname']}",
            "{$lang->welcome}",
            "{$a['b c']}",
            "{$a::b}",
            "{$$x}",
            "{$x[ 'k']}",
            "{$x[ k ]}",
            "{$x[\"k\"]}",
            "{$x[$k]}",
            "{$x['a']['b'] }",
            "{$a->$b}",
            "{$theme['borderwidth']}",
            "<a href=\"{$mybb->settings['bburl']}/index.php\">{$lang->home}</a>",
        ] {
            assert_allowed(template);
        }
    }

    #[test]
    fn plain_text_with_braces_and_dollars_passes() {
        for template in [
            "",
            "plain text",
            "price: $5 {not php}",
            "function f() { return $; }",
            "{ $x }",
            "{$}",
            "$",
            "{",
            "a $ b { c",
            "jQuery(function($) { $('#x').hide(); });",
        ] {
            assert_allowed(template);
        }
    }

    #[test]
    fn complex_syntax_is_refused() {
        assert_eq!(refusal("a ${x} b"), TemplateRefusal::ComplexSyntax { excerpt: "${".into() });
        assert_eq!(refusal("$ {x}"), TemplateRefusal::ComplexSyntax { excerpt: "$ {".into() });
        assert_eq!(
            refusal("$\n\t{x}"),
            TemplateRefusal::ComplexSyntax { excerpt: "$\n\t{".into() }
        );
        // PCRE's `\s` includes vertical tab and form feed.
        assert!(matches!(refusal("$\u{0B}\u{0C}{x}"), TemplateRefusal::ComplexSyntax { .. }));
    }

    #[test]
    fn non_ascii_whitespace_is_not_pcre_whitespace() {
        // PHP runs the pattern on bytes with C-locale tables: U+00A0 is not `\s` there.
        assert_allowed("$\u{A0}{x}");
    }

    #[test]
    fn brace_expressions_beyond_plain_access_are_refused() {
        assert_eq!(
            refusal("x {$a->b()} y"),
            TemplateRefusal::BraceExpression { excerpt: "{$a->b()}".into() }
        );
        assert_eq!(
            refusal("{$x[$y[1]]}"),
            TemplateRefusal::BraceExpression { excerpt: "{$x[$y[1]]}".into() }
        );
        assert_eq!(
            refusal("<p>{$a\n->b()}</p>"),
            TemplateRefusal::BraceExpression { excerpt: "{$a\n->b()}".into() }
        );
        assert!(matches!(
            refusal("{$a['k'] . phpinfo()}"),
            TemplateRefusal::BraceExpression { .. }
        ));
    }

    #[test]
    fn a_space_between_a_quoted_key_and_its_bracket_is_refused() {
        // MyBB's pattern wants `]` right after the closing quote (`\2\]`); only the unquoted
        // form may carry spaces before `]`.
        assert!(matches!(refusal("{$x[ 'k' ]}"), TemplateRefusal::BraceExpression { .. }));
    }

    #[test]
    fn refusal_quotes_the_template_not_the_spliced_text() {
        // The allowed `{$ok}` inside is deleted before the search, but the excerpt shows it.
        assert_eq!(
            refusal("{$bad( {$ok} )}"),
            TemplateRefusal::BraceExpression { excerpt: "{$bad( {$ok} )}".into() }
        );
        // Deleting `{$b}` splices `{$a` and `x}` together: MyBB refuses this too.
        assert_eq!(
            refusal("{$a{$b}x}"),
            TemplateRefusal::BraceExpression { excerpt: "{$a{$b}x}".into() }
        );
    }

    #[test]
    fn database_credentials_are_refused() {
        for (template, excerpt) in [
            ("{$config['database']['password']}", "$config['database']['password']"),
            ("$CONFIG[\"DATABASE\"]['username']", "$CONFIG[\"DATABASE\"]['username']"),
            ("$config[database][hostname]", "$config[database][hostname]"),
            ("$config['database'][\"table_prefix\"]", "$config['database'][\"table_prefix\"]"),
            // `|` is in PHP's quote class `[\'|"]`.
            ("$config[|database|][|password|]", "$config[|database|][|password|]"),
        ] {
            assert_eq!(
                refusal(template),
                TemplateRefusal::DatabaseConfig { excerpt: excerpt.into() },
                "{template}"
            );
        }
    }

    #[test]
    fn other_config_keys_pass() {
        assert_allowed("$config['admin_dir']");
        assert_allowed("$config['database']['type_of_thing']");
        assert_allowed("$config['memcache']['host']");
    }

    #[test]
    fn database_config_rule_comes_first() {
        // Also a `{$...}` leftover and a `${`, but MyBB tests rule 1 first.
        assert!(matches!(
            refusal("${x} {$config['database']['password']}"),
            TemplateRefusal::DatabaseConfig { .. }
        ));
    }

    #[test]
    fn display_gives_the_reason_and_the_excerpt() {
        assert_eq!(
            refusal("{$config['database']['password']}").to_string(),
            "refers to the database configuration: $config['database']['password']"
        );
        assert_eq!(refusal("${x}").to_string(), "contains `${` (PHP complex syntax)");
        assert_eq!(
            refusal("{$a->b()}").to_string(),
            "uses a brace expression MyBB's Admin CP refuses: {$a->b()}"
        );
        assert_eq!(
            refusal("{$a\n->b()}").to_string(),
            "uses a brace expression MyBB's Admin CP refuses: {$a\\n->b()}"
        );
    }

    #[test]
    fn long_excerpts_are_clipped() {
        let template = format!("{{$a->b({})}}", "x".repeat(200));
        let refused = refusal(&template);
        assert_eq!(refused.excerpt().chars().count(), MAX_EXCERPT_CHARS + 1);
        assert!(refused.excerpt().ends_with('…'));
    }

    #[test]
    fn every_master_template_of_mybb_1_8_37_passes() {
        let dump = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mybb-1.8.37-sync-tables.sql"
        ))
        .expect("fixture is readable");
        let rows = table_rows(&dump, "mybb_templates");
        assert_eq!(rows.len(), 974);

        // Cross-check the unescaper against the sizes in docs/mybb-internals.md.
        let total: usize = rows.iter().map(|row| row[2].text().len()).sum();
        let largest = rows.iter().map(|row| row[2].text().len()).max();
        assert_eq!(total, 499_968);
        assert_eq!(largest, Some(18_013));
        assert!(rows.iter().all(|row| row[3] == SqlValue::Bare("-2".into())));

        let refused: Vec<String> = rows
            .iter()
            .filter_map(|row| {
                check_template(row[2].text())
                    .err()
                    .map(|refusal| format!("{}: {refusal}", row[1].text()))
            })
            .collect();
        assert!(refused.is_empty(), "refused: {refused:#?}");
    }
}
