//! Helpers shared by the unit tests.

use std::path::PathBuf;

/// Returns an empty scratch directory for test `name` of module `module`, unique to this
/// process. Tests remove it when they pass; a failing test leaves it to look at.
pub fn scratch_dir(module: &str, name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mybb-sync-{module}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// Reads rows out of a `mariadb-dump` file, for tests that check code against the real MyBB data
/// in `tests/fixtures/`.
pub mod sql_dump {
    /// One value of a dumped row.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum SqlValue {
        /// `NULL`.
        Null,
        /// An unquoted value (a number), as written.
        Bare(String),
        /// A quoted string, unescaped.
        Text(String),
    }

    impl SqlValue {
        /// Returns the text of a quoted or bare value; panics on NULL (test helper).
        pub(crate) fn text(&self) -> &str {
            match self {
                SqlValue::Bare(text) | SqlValue::Text(text) => text,
                SqlValue::Null => panic!("expected a value, found NULL"),
            }
        }

        /// Returns the value as a number; panics if it is not one (test helper).
        pub(crate) fn num(&self) -> u64 {
            self.text().parse().expect("a numeric value")
        }
    }

    /// The fixture dump, read relative to the crate so tests run from any directory.
    pub(crate) const DUMP: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-sync-tables.sql");

    /// Returns every row of `table` in the fixture dump.
    pub(crate) fn rows(table: &str) -> Vec<Vec<SqlValue>> {
        let dump = std::fs::read_to_string(DUMP).expect("read the fixture dump");
        let rows = table_rows(&dump, table);
        assert!(!rows.is_empty(), "no rows for {table}");
        rows
    }

    /// Returns every row of every `INSERT INTO `table` VALUES (...),(...);` statement in `dump`,
    /// in order. Panics on anything it does not understand: it is for trusted fixtures.
    pub(crate) fn table_rows(dump: &str, table: &str) -> Vec<Vec<SqlValue>> {
        let head = format!("INSERT INTO `{table}` VALUES");
        let bytes = dump.as_bytes();
        let mut rows = Vec::new();
        let mut search_from = 0;
        while let Some(found) = dump[search_from..].find(&head) {
            let mut at = search_from + found + head.len();
            loop {
                at = skip_whitespace(bytes, at);
                assert_eq!(bytes[at], b'(', "expected `(` at byte {at}");
                at += 1;
                let mut row = Vec::new();
                loop {
                    at = skip_whitespace(bytes, at);
                    let (value, next) = if bytes[at] == b'\'' {
                        let (text, next) = quoted(bytes, at + 1);
                        (SqlValue::Text(text), next)
                    } else {
                        let end = at
                            + bytes[at..]
                                .iter()
                                .position(|&b| b == b',' || b == b')')
                                .expect("unterminated row");
                        let bare = dump[at..end].trim();
                        let value = if bare == "NULL" {
                            SqlValue::Null
                        } else {
                            SqlValue::Bare(bare.to_owned())
                        };
                        (value, end)
                    };
                    row.push(value);
                    at = skip_whitespace(bytes, next);
                    match bytes[at] {
                        b',' => at += 1,
                        b')' => {
                            at += 1;
                            break;
                        }
                        other => panic!("unexpected {:?} at byte {at}", char::from(other)),
                    }
                }
                rows.push(row);
                at = skip_whitespace(bytes, at);
                match bytes[at] {
                    b',' => at += 1,
                    b';' => break,
                    other => panic!("unexpected {:?} at byte {at}", char::from(other)),
                }
            }
            search_from = at;
        }
        rows
    }

    fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    }

    /// Unescapes a single-quoted SQL string starting just after its opening quote; returns the
    /// text and the offset just past the closing quote. MySQL's rules: `\0 \' \" \b \n \r \t \Z
    /// \\` are escapes, `\%` and `\_` keep their backslash, any other `\x` is `x`, and `''` is a
    /// quote.
    fn quoted(bytes: &[u8], mut at: usize) -> (String, usize) {
        let mut out = Vec::new();
        loop {
            match bytes[at] {
                b'\\' => {
                    let escaped = bytes[at + 1];
                    match escaped {
                        b'0' => out.push(0),
                        b'b' => out.push(0x08),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'Z' => out.push(0x1A),
                        b'%' | b'_' => out.extend_from_slice(&[b'\\', escaped]),
                        other => out.push(other),
                    }
                    at += 2;
                }
                b'\'' if bytes.get(at + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    at += 2;
                }
                b'\'' => {
                    let text = String::from_utf8(out).expect("dumped text is UTF-8");
                    return (text, at + 1);
                }
                other => {
                    out.push(other);
                    at += 1;
                }
            }
        }
    }

    #[test]
    fn table_rows_unescapes_mysql_strings() {
        let dump = "INSERT INTO `t` VALUES (1,'a\\'b\\\\c\\nd\\0e\\Zf\\\"g''h',NULL),\n(-2,'',3);\n\
                    INSERT INTO `u` VALUES (9,'x');\nINSERT INTO `t` VALUES (4,'\\t\\r\\%');\n";
        let rows = table_rows(dump, "t");
        assert_eq!(
            rows,
            vec![
                vec![
                    SqlValue::Bare("1".into()),
                    SqlValue::Text("a'b\\c\nd\0e\u{1A}f\"g'h".into()),
                    SqlValue::Null,
                ],
                vec![
                    SqlValue::Bare("-2".into()),
                    SqlValue::Text(String::new()),
                    SqlValue::Bare("3".into()),
                ],
                vec![SqlValue::Bare("4".into()), SqlValue::Text("\t\r\\%".into())],
            ]
        );
    }
}
