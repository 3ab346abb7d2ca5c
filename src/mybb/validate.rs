//! Safeguard 1: what a file's bytes must be before they may reach the database.
//!
//! The incident this tool exists to prevent: a watcher read files that an export was still
//! writing and wrote 465 empty templates into a live forum. Whatever else goes wrong upstream
//! (a half-written file, a truncating editor, a binary dropped into the folder), content that
//! fails these checks is never written. Each refusal says what is wrong in words a forum admin
//! can act on; the caller prefixes the path.
//!
//! It lives with MyBB's rules, under the sync engine that applies it to every file
//! (`sync::validate` names it there): MyBB's own theme import (`theme_import.rs`) holds a
//! theme's content to the same checks, and MyBB's layer does not reach up into the engine.
//!
//! The checks, in order (the first that fails is reported):
//! 1. empty: 0 bytes;
//! 2. too large for where it must go ([`MAX_TEMPLATE_BYTES`], [`MAX_STYLESHEET_BYTES`]);
//! 3. not UTF-8 (the tables hold text; invalid bytes cannot be stored faithfully);
//! 4. contains a NUL byte (never in a real template or stylesheet; a sign of a binary or
//!    corrupted file);
//! 5. blank: nothing but whitespace. MyBB's Admin CP right-trims what it saves (`rtrim`), so a
//!    whitespace-only file would be stored as an empty template: the incident again. The same
//!    holds for stylesheets: an emptied stylesheet unstyles the whole forum, so one that is
//!    meant to be empty must say so, e.g. with a `/* empty */` comment;
//! 6. holds merge conflict markers: a line starting with `<<<<<<<`, `|||||||`, `=======` or
//!    `>>>>>>>` (what `merge`, git or diff3 leave where two edits collided), so nothing half
//!    merged reaches the forum; none of MyBB's master templates or stylesheets has such a line;
//! 7. for templates, MyBB's own Admin CP check ([`check_template`]), because writing to the
//!    database directly bypasses it;
//! 8. for templates, a rule of mybb-sync's own, stricter than MyBB's: no reference to
//!    `$mybb->config` (MyBB's check only looks for `$config[`, so
//!    `{$mybb->config['database']['password']}` passes it and prints the password on every
//!    page). No master template uses one.

use std::fmt;

use crate::mybb::check_template::{TemplateRefusal, check_template};

/// The largest template, in bytes: `templates.template` is a MySQL `TEXT` column (at most
/// 2^16 - 1 bytes). A longer value would be cut off, or refused in strict SQL mode.
pub const MAX_TEMPLATE_BYTES: usize = 65_535;

/// The largest stylesheet, in bytes: 4 MiB.
///
/// `themestylesheets.stylesheet` is `LONGTEXT` (4 GiB), so the column is not the limit: one row
/// must travel in one client/server packet, and the server refuses any packet larger than its
/// `max_allowed_packet`. 4 MiB is the smallest default among the servers MyBB boards run on
/// (MySQL 5.7 and MariaDB before 10.2.4; MariaDB 10.2.4 and later default to 16 MiB, MySQL 8 to
/// 64 MiB), and it leaves room for the statement and for escaping on the newer ones. A server
/// that still refuses a large packet refuses the whole statement, so nothing is half-written.
/// Real stylesheets are tens of kilobytes (MyBB's largest default one, `global.css`, is about
/// 30 KB); anything near this cap is almost certainly not a stylesheet.
pub const MAX_STYLESHEET_BYTES: usize = 4 * 1024 * 1024;

/// What kind of item a file holds, which decides its size limit and whether MyBB's template
/// check applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A row of `templates` (PHP code that MyBB `eval`s).
    Template,
    /// A row of `themestylesheets` (CSS).
    Stylesheet,
    /// A theme's file, `theme.json` (issue 28): JSON for a `themes` row and its stylesheets'
    /// pages and order.
    Theme,
}

impl ItemKind {
    /// Returns the largest content, in bytes, that [`validate`] accepts for this kind.
    pub const fn max_bytes(self) -> usize {
        match self {
            ItemKind::Template => MAX_TEMPLATE_BYTES,
            ItemKind::Stylesheet => MAX_STYLESHEET_BYTES,
            ItemKind::Theme => crate::mybb::theme_file::MAX_THEME_FILE_BYTES,
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemKind::Template => "template",
            ItemKind::Stylesheet => "stylesheet",
            ItemKind::Theme => "theme file",
        })
    }
}

/// Why a file's content may not be written to the database. `Display` gives the reason only; the
/// caller prefixes the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The file has 0 bytes: typically a file caught while being written.
    Empty,
    /// The file is larger than the kind allows.
    TooLarge {
        /// What the file holds, which set the limit.
        kind: ItemKind,
        /// The file's size in bytes.
        size: usize,
        /// The limit in bytes ([`ItemKind::max_bytes`]).
        limit: usize,
    },
    /// The file is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// The file contains a NUL byte.
    Nul {
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// The file holds nothing but whitespace, which MyBB would store as empty.
    Blank,
    /// The file still holds a merge conflict marker (see [`conflict_marker_line`]).
    ConflictMarkers {
        /// The 1-based number of the first line holding one.
        line: usize,
    },
    /// MyBB's Admin CP would refuse this template (see [`check_template`]).
    Template(TemplateRefusal),
    /// The template refers to MyBB's configuration (`$mybb->config`): mybb-sync's own rule.
    MybbConfig {
        /// The reference as found.
        excerpt: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("empty file"),
            Refusal::TooLarge { kind: ItemKind::Template, size, limit } => {
                write!(f, "file is {size} bytes, more than the {limit} a template can hold")
            }
            Refusal::TooLarge { kind: ItemKind::Stylesheet, size, limit } => {
                write!(f, "file is {size} bytes, more than the {limit} allowed for a stylesheet")
            }
            Refusal::TooLarge { kind: ItemKind::Theme, size, limit } => {
                write!(f, "file is {size} bytes, more than the {limit} allowed for a theme file")
            }
            Refusal::InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            Refusal::Nul { offset } => write!(f, "NUL byte at offset {offset}"),
            Refusal::Blank => f.write_str("blank file (only whitespace)"),
            Refusal::ConflictMarkers { line } => write!(
                f,
                "line {line} holds a merge conflict marker: resolve the conflict (keep one side \
                 or combine them, and delete the marker lines) first"
            ),
            Refusal::Template(refusal) => {
                write!(f, "MyBB's template check: {refusal}")
            }
            Refusal::MybbConfig { excerpt } => write!(
                f,
                "refers to $mybb->config ({excerpt}), MyBB's configuration with the database \
                 password: mybb-sync refuses any such reference in a template (a rule of its \
                 own, stricter than MyBB's check, which lets it through)"
            ),
        }
    }
}

/// `source()` is the [`TemplateRefusal`] for template refusals. Its text is already part of this
/// error's `Display` (as asked for one-line `path: reason` reports), so code that prints an error
/// followed by its sources will show it twice for this variant.
impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refusal::Template(refusal) => Some(refusal),
            _ => None,
        }
    }
}

/// Returns true if and only if `bytes` is empty or nothing but whitespace as the Admin CP sees
/// it: PHP's `rtrim()` set, less NUL (a file of NULs is refused as NUL, not as blank). Form feed
/// and non-ASCII spaces are not in it, so MyBB keeps them, and so does this check.
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| byte != 0 && crate::php::text::is_php_trim_byte(byte))
}

/// Checks a file's bytes before they may be written as an item of `kind`, and returns them as
/// text when they pass.
///
/// An error means the content must not reach the database; the caller reports
/// `path: {refusal}`, leaves the database untouched for that item, and goes on with the others.
/// See the module documentation for the checks and their order.
pub fn validate(kind: ItemKind, bytes: &[u8]) -> Result<&str, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    // Size first: it is free, and spares scanning a huge file for the checks below.
    let limit = kind.max_bytes();
    if bytes.len() > limit {
        return Err(Refusal::TooLarge { kind, size: bytes.len(), limit });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|error| Refusal::InvalidUtf8 { offset: error.valid_up_to() })?;
    if let Some(offset) = bytes.iter().position(|&byte| byte == 0) {
        return Err(Refusal::Nul { offset });
    }
    if is_blank(bytes) {
        return Err(Refusal::Blank);
    }
    if let Some(line) = conflict_marker_line(text) {
        return Err(Refusal::ConflictMarkers { line });
    }
    if kind == ItemKind::Template {
        check_template(text).map_err(Refusal::Template)?;
        if let Some(found) = MYBB_CONFIG.find(text) {
            return Err(Refusal::MybbConfig { excerpt: found.as_str().trim_end().to_owned() });
        }
    }
    Ok(text)
}

/// `$mybb->config`, or `['mybb']->config` (through `$GLOBALS`), as PHP would read it inside a
/// template: case-insensitive, spaces allowed around `->`.
///
/// Case-insensitive for ASCII letters only (`(?i-u)`), and `\s` spelled as the ASCII set it is
/// in PHP: Unicode case folding would match `ſ` for `s`, Unicode `\s` non-breaking spaces.
static MYBB_CONFIG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"(\$[\t\n\x0B\x0C\r ]*(?i-u:mybb)|\[[\t\n\x0B\x0C\r ]*['"]?(?i-u:mybb)['"]?[\t\n\x0B\x0C\r ]*\])[\t\n\x0B\x0C\r ]*->[\t\n\x0B\x0C\r ]*(?i-u:config)([^a-zA-Z0-9_]|$)"#,
    )
    .expect("MYBB_CONFIG is a valid regex")
});

/// The starts of the lines a three-way merge writes around a conflict: ours, the base (diff3
/// style), the divider, theirs. Seven characters each, as git, diff3 and `merge` write them.
pub const CONFLICT_MARKERS: [&str; 4] = ["<<<<<<<", "|||||||", "=======", ">>>>>>>"];

/// Returns the 1-based number of the first line of `text` that starts with a conflict marker
/// ([`CONFLICT_MARKERS`]), or None when there is none. Any one marker is enough: a conflict
/// resolved by deleting only some of its marker lines is not resolved.
pub fn conflict_marker_line(text: &str) -> Option<usize> {
    text.split('\n')
        .position(|line| CONFLICT_MARKERS.iter().any(|marker| line.starts_with(marker)))
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_reference_to_mybb_config_is_refused_though_mybb_lets_it_through() {
        for text in [
            "{$mybb->config['database']['password']}",
            "$mybb->config",
            "{$GLOBALS['mybb']->config['database']['username']}",
            "$MyBB -> Config[x]",
        ] {
            assert!(
                matches!(
                    validate(ItemKind::Template, text.as_bytes()),
                    Err(Refusal::MybbConfig { .. })
                ),
                "{text}"
            );
        }
        for text in ["{$mybb->settings['bbname']}", "{$mybb->configured}", "config"] {
            assert!(validate(ItemKind::Template, text.as_bytes()).is_ok(), "{text}");
        }
        // Stylesheets are not PHP.
        assert!(validate(ItemKind::Stylesheet, b"/* $mybb->config */").is_ok());
    }

    #[test]
    fn empty_file_is_refused() {
        for kind in [ItemKind::Template, ItemKind::Stylesheet] {
            assert_eq!(validate(kind, b""), Err(Refusal::Empty));
        }
        assert_eq!(Refusal::Empty.to_string(), "empty file");
    }

    #[test]
    fn one_byte_file_is_accepted() {
        assert_eq!(validate(ItemKind::Template, b"x"), Ok("x"));
        assert_eq!(validate(ItemKind::Stylesheet, b"x"), Ok("x"));
    }

    #[test]
    fn template_at_the_limit_is_accepted_and_one_more_byte_is_refused() {
        let at_limit = vec![b'a'; MAX_TEMPLATE_BYTES];
        assert_eq!(validate(ItemKind::Template, &at_limit).map(str::len), Ok(MAX_TEMPLATE_BYTES));
        let over = vec![b'a'; MAX_TEMPLATE_BYTES + 1];
        assert_eq!(
            validate(ItemKind::Template, &over),
            Err(Refusal::TooLarge { kind: ItemKind::Template, size: 65_536, limit: 65_535 })
        );
    }

    #[test]
    fn stylesheet_at_the_limit_is_accepted_and_one_more_byte_is_refused() {
        let mut at_limit = vec![b' '; MAX_STYLESHEET_BYTES];
        at_limit[0] = b'a';
        assert!(validate(ItemKind::Stylesheet, &at_limit).is_ok());
        at_limit.push(b' ');
        assert_eq!(
            validate(ItemKind::Stylesheet, &at_limit),
            Err(Refusal::TooLarge {
                kind: ItemKind::Stylesheet,
                size: MAX_STYLESHEET_BYTES + 1,
                limit: MAX_STYLESHEET_BYTES
            })
        );
    }

    #[test]
    fn a_template_sized_stylesheet_is_fine() {
        let big = vec![b'a'; MAX_TEMPLATE_BYTES + 1];
        assert!(validate(ItemKind::Stylesheet, &big).is_ok());
    }

    #[test]
    fn too_large_names_size_and_limit() {
        let refusal =
            Refusal::TooLarge { kind: ItemKind::Template, size: 70_000, limit: MAX_TEMPLATE_BYTES };
        assert_eq!(
            refusal.to_string(),
            "file is 70000 bytes, more than the 65535 a template can hold"
        );
        let refusal = Refusal::TooLarge {
            kind: ItemKind::Stylesheet,
            size: 5_000_000,
            limit: MAX_STYLESHEET_BYTES,
        };
        assert_eq!(
            refusal.to_string(),
            "file is 5000000 bytes, more than the 4194304 allowed for a stylesheet"
        );
    }

    #[test]
    fn invalid_utf8_gives_the_offset_of_the_first_bad_byte() {
        let mut bytes = b"hello world!".to_vec();
        bytes.extend_from_slice(&[0xC3, 0x28]);
        let refusal = validate(ItemKind::Stylesheet, &bytes);
        assert_eq!(refusal, Err(Refusal::InvalidUtf8 { offset: 12 }));
        assert_eq!(Refusal::InvalidUtf8 { offset: 12 }.to_string(), "invalid UTF-8 at byte 12");
        // A Latin-1 "é" (0xE9) after a 2-byte UTF-8 "ä": the offset counts bytes, not characters.
        assert_eq!(
            validate(ItemKind::Template, b"\xc3\xa4\xe9"),
            Err(Refusal::InvalidUtf8 { offset: 2 })
        );
    }

    #[test]
    fn nul_byte_is_refused_with_its_offset() {
        assert_eq!(validate(ItemKind::Template, b"abc\0def"), Err(Refusal::Nul { offset: 3 }));
        assert_eq!(Refusal::Nul { offset: 3 }.to_string(), "NUL byte at offset 3");
        // A file of NULs is refused as NUL, not as blank.
        assert_eq!(validate(ItemKind::Stylesheet, b"\0\0"), Err(Refusal::Nul { offset: 0 }));
    }

    #[test]
    fn whitespace_only_file_is_refused_as_blank() {
        for bytes in [&b" "[..], b"\n", b"\r\n\r\n", b" \t\x0B\n"] {
            assert_eq!(validate(ItemKind::Template, bytes), Err(Refusal::Blank));
            assert_eq!(validate(ItemKind::Stylesheet, bytes), Err(Refusal::Blank));
        }
        assert_eq!(Refusal::Blank.to_string(), "blank file (only whitespace)");
    }

    #[test]
    fn whitespace_php_does_not_trim_is_content() {
        // Form feed and no-break space survive MyBB's rtrim, so they are not blank.
        assert_eq!(validate(ItemKind::Template, b"\x0C"), Ok("\u{0C}"));
        assert_eq!(validate(ItemKind::Template, "\u{A0}".as_bytes()), Ok("\u{A0}"));
    }

    #[test]
    fn content_with_surrounding_whitespace_is_accepted() {
        assert_eq!(validate(ItemKind::Template, b"\n x \n"), Ok("\n x \n"));
    }

    #[test]
    fn template_refused_by_mybb_is_refused_with_the_reason_as_source() {
        let refusal = validate(ItemKind::Template, b"<p>{$a->b()}</p>");
        let Err(refusal) = refusal else {
            panic!("should be refused");
        };
        assert!(matches!(refusal, Refusal::Template(TemplateRefusal::BraceExpression { .. })));
        assert_eq!(
            refusal.to_string(),
            "MyBB's template check: uses a brace expression MyBB's Admin CP refuses: \
             {$a->b()}"
        );
        let source = refusal.source().map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("uses a brace expression MyBB's Admin CP refuses: {$a->b()}")
        );
    }

    #[test]
    fn template_check_does_not_apply_to_stylesheets() {
        let css = b"a { content: \"${x}\"; }";
        assert_eq!(validate(ItemKind::Stylesheet, css), Ok("a { content: \"${x}\"; }"));
        assert!(matches!(
            validate(ItemKind::Template, css),
            Err(Refusal::Template(TemplateRefusal::ComplexSyntax { .. }))
        ));
    }

    #[test]
    fn refusals_other_than_the_template_check_have_no_source() {
        assert!(Refusal::Empty.source().is_none());
        assert!(Refusal::Blank.source().is_none());
    }

    #[test]
    fn checks_run_in_the_documented_order() {
        // Too large wins over invalid UTF-8 and NUL.
        let mut bytes = vec![0xFF; MAX_TEMPLATE_BYTES + 1];
        bytes[0] = 0;
        assert!(matches!(validate(ItemKind::Template, &bytes), Err(Refusal::TooLarge { .. })));
        // Invalid UTF-8 wins over NUL.
        assert_eq!(
            validate(ItemKind::Template, b"\0\xFF"),
            Err(Refusal::InvalidUtf8 { offset: 1 })
        );
    }

    #[test]
    fn a_file_holding_conflict_markers_is_refused_with_the_line() {
        let merged = "<p>\n<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> master\n</p>";
        for kind in [ItemKind::Template, ItemKind::Stylesheet] {
            assert_eq!(
                validate(kind, merged.as_bytes()),
                Err(Refusal::ConflictMarkers { line: 2 })
            );
        }
        // Each marker alone counts, CRLF or not, and so does diff3's base marker.
        for (text, line) in [
            ("a\r\n=======\r\nb", 2),
            (">>>>>>> master", 1),
            ("x\ny\n||||||| base\n", 3),
            ("<<<<<<<", 1),
        ] {
            assert_eq!(conflict_marker_line(text), Some(line), "{text:?}");
        }
        assert!(
            Refusal::ConflictMarkers { line: 2 }.to_string().starts_with("line 2 holds a merge")
        );
    }

    #[test]
    fn marker_like_text_elsewhere_in_a_line_is_content() {
        for text in [
            "a <<<<<<< b",
            " =======",
            "/* ======= */",
            "<<<<<<",
            "======",
            "a\n >>>>>>> b",
            "-->>>>>>>",
        ] {
            assert_eq!(conflict_marker_line(text), None, "{text:?}");
            assert!(validate(ItemKind::Stylesheet, text.as_bytes()).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn item_kind_names_itself() {
        assert_eq!(ItemKind::Template.to_string(), "template");
        assert_eq!(ItemKind::Stylesheet.to_string(), "stylesheet");
        assert_eq!(ItemKind::Template.max_bytes(), MAX_TEMPLATE_BYTES);
        assert_eq!(ItemKind::Stylesheet.max_bytes(), MAX_STYLESHEET_BYTES);
    }
}
