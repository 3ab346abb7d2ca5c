//! Reads the keys a MyBB language file defines (`inc/languages/LANG/NAME.lang.php`), without
//! running it.
//!
//! A language pack is a list of plain assignments, `$l['key'] = "text";`, which MyBB's
//! `MyLanguage::load()` includes and copies into `$lang->key`. This reader takes exactly that
//! form (any mix of PHP's two string literals, joined with `.`, comments anywhere) with the
//! tokenizer of `inc/config.php` (`config_file/lexer.rs`), and refuses anything else with its
//! line: a language file from a stranger is data to read, never code to run, and one that is
//! more than data cannot be read faithfully without running it.

use std::collections::BTreeSet;

use super::config_file::Problem;
use super::config_file::lexer::{TokenKind, describe, tokenize};

/// Why a language file could not be read: its 1-based line, when there is one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LangFileError {
    pub line: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for LangFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for LangFileError {}

impl From<Problem> for LangFileError {
    fn from(problem: Problem) -> LangFileError {
        LangFileError { line: problem.line, reason: problem.reason }
    }
}

/// Returns the keys `source` (the text of a `.lang.php` file) assigns in `$l`.
///
/// An error means the file holds something other than `$l['key'] = 'text';` statements (a
/// function call, a variable in a string, a computed key...): the caller should say which file
/// and leave the language's keys unknown rather than guess.
pub fn keys(source: &str) -> Result<BTreeSet<String>, LangFileError> {
    let tokens = tokenize(source)?;
    let mut keys = BTreeSet::new();
    let mut at = 0;
    let refuse = |line: usize, reason: String| LangFileError { line: Some(line), reason };
    while let Some(token) = tokens.get(at) {
        let line = token.line;
        if token.kind == TokenKind::CloseTag {
            break;
        }
        // `$l` `[` 'key' `]` `=` string (`.` string)* `;`
        let statement = &tokens[at..];
        let kinds: Vec<&TokenKind> = statement.iter().take(5).map(|t| &t.kind).collect();
        let key = match kinds.as_slice() {
            [
                TokenKind::Variable(var),
                TokenKind::Punct('['),
                TokenKind::Str { value, interpolates: false },
                TokenKind::Punct(']'),
                TokenKind::Punct('='),
            ] if var == "l" => value.clone(),
            _ => {
                return Err(refuse(
                    line,
                    format!(
                        "expected `$l['key'] = 'text';`, found {}: a language file is read, \
                         never run, so it may hold only such assignments",
                        describe(&token.kind)
                    ),
                ));
            }
        };
        at += 5;
        loop {
            match tokens.get(at).map(|t| &t.kind) {
                Some(TokenKind::Str { interpolates: false, .. }) => at += 1,
                Some(TokenKind::Str { interpolates: true, .. }) => {
                    return Err(refuse(
                        tokens[at].line,
                        format!("the text of `{key}` interpolates a PHP variable"),
                    ));
                }
                Some(other) => {
                    return Err(refuse(
                        tokens[at].line,
                        format!("the value of `{key}` is {}, not a string", describe(other)),
                    ));
                }
                None => {
                    return Err(refuse(line, format!("the value of `{key}` is missing")));
                }
            }
            match tokens.get(at).map(|t| &t.kind) {
                Some(TokenKind::Punct('.')) => at += 1,
                Some(TokenKind::Punct(';')) => {
                    at += 1;
                    break;
                }
                Some(TokenKind::CloseTag) => break,
                Some(other) => {
                    return Err(refuse(
                        tokens[at].line,
                        format!(
                            "after the text of `{key}`: expected `;`, found {}",
                            describe(other)
                        ),
                    ));
                }
                None => return Err(refuse(line, format!("`{key}`'s statement has no `;`"))),
            }
        }
        keys.insert(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_assignments_give_their_keys() {
        let source =
            "<?php\n/** pack */\n$l['a'] = \"A {1}\";\n$l[\"b\"]  = 'it\\'s' . \"x\"; // c\n?>\n";
        let found = keys(source).unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn anything_but_plain_assignments_is_refused_with_its_line() {
        for (source, line) in [
            ("<?php\n$l['a'] = 'x';\nsystem('ls');", 3),
            ("<?php\n$l['a'] = \"$x\";", 2),
            ("<?php\n$l[$k] = 'x';", 2),
            ("<?php\n$l['a'] = strtoupper('x');", 2),
            ("<?php\n$x['a'] = 'x';", 2),
            ("<?php\n$l['a'] = 'x'", 2),
        ] {
            let err = keys(source).unwrap_err();
            assert_eq!(err.line, Some(line), "{source}: {err}");
        }
    }

    #[test]
    fn mybb_s_own_english_index_and_global_files_read() {
        for (file, key) in [("index.lang.php", "boardstats"), ("global.lang.php", "welcome_back")] {
            let path = format!(
                "{}/tests/fixtures/mybb-1.8.37-lang/english/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            let source = std::fs::read_to_string(&path).expect("fixture is readable");
            let found = keys(&source).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(found.contains(key), "{file}");
            assert!(found.len() > 10, "{file}");
        }
    }
}
