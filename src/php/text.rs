//! PHP's string functions as MyBB calls them: the default character set of `trim()` and
//! `rtrim()`, and PCRE's `\s`. Rust's `str::trim` strips Unicode spaces and form feed, which PHP
//! keeps, so every comparison that must agree with MyBB goes through these.

/// The characters PHP's `trim()`/`rtrim()` strip by default: " \t\n\r\0\x0B". Not form feed,
/// not non-ASCII spaces.
pub const PHP_TRIM_CHARS: [char; 6] = [' ', '\t', '\n', '\r', '\0', '\x0B'];

/// PCRE's `\s` and PHP's `is_numeric()` leading whitespace: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub const PCRE_SPACE_CHARS: [char; 6] = [' ', '\t', '\n', '\x0B', '\x0C', '\r'];

/// Returns true if and only if `byte` is one of [`PHP_TRIM_CHARS`].
pub const fn is_php_trim_byte(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0B)
}

/// Returns `text` without trailing whitespace as PHP's `rtrim()` defines it, as the Admin CP
/// saves templates.
pub fn rtrim(text: &str) -> &str {
    text.trim_end_matches(PHP_TRIM_CHARS)
}

/// [`rtrim`] on bytes that need not be UTF-8.
pub fn rtrim_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| !is_php_trim_byte(b)).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Returns `text` without the characters PHP's `trim()` strips at both ends.
pub fn trim(text: &str) -> &str {
    text.trim_matches(PHP_TRIM_CHARS)
}

/// Returns the integer PHP turns the array key `s` into, if it does: a canonical decimal integer
/// string (`"0"`, `"42"`, `"-7"`, but not `"042"`, `"-0"`, `"+1"` or `" 1"`) that fits in an i64.
/// Any other string stays a string key (`$a['042']` and `$a[42]` are different entries).
pub fn array_key_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0";
    if canonical { s.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtrim_trims_what_php_does() {
        assert_eq!(rtrim("a \t\r\n\0\x0B"), "a");
        assert_eq!(rtrim("a\u{a0}"), "a\u{a0}");
        assert_eq!(rtrim("a\x0C"), "a\x0C");
        assert_eq!(rtrim_bytes(b"a \t\r\n\0\x0B"), b"a");
        assert_eq!(rtrim_bytes(b" \n"), b"");
        assert_eq!(trim(" \x0Ba\0 "), "a");
    }

    #[test]
    fn only_canonical_decimal_strings_become_integer_keys() {
        for (key, int) in [("0", Some(0)), ("42", Some(42)), ("-7", Some(-7))] {
            assert_eq!(array_key_int(key), int, "{key}");
        }
        for key in ["042", "-0", "+1", " 1", "1 ", "", "-", "1e3", "99999999999999999999"] {
            assert_eq!(array_key_int(key), None, "{key:?}");
        }
    }
}
