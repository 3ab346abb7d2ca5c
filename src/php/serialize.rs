//! PHP `serialize()` / `unserialize()` for the columns MyBB stores that way.
//!
//! MyBB keeps `themes.properties`, `themes.stylesheets` and every `datacache.cache` row as
//! PHP-serialized text, written by `my_serialize()` and read by `my_unserialize()` (both in
//! `inc/functions.php`, wrappers around `_safe_serialize()` / `_safe_unserialize()`). This module
//! reads and writes the same subset: null, booleans, integers, floats, strings and ordered arrays
//! whose keys are integers or strings. Objects and references, which MyBB never stores, are
//! refused, as `_safe_unserialize()` refuses them.
//!
//! The aim is a byte-for-byte round trip: `to_string(&parse(s)?) == s` for anything PHP's own
//! `serialize()` wrote. So arrays keep their insertion order and their keys exactly as written (a
//! string key `"5"` stays a string key), and a float keeps PHP's text for it. String lengths count
//! bytes, as PHP's do, so multibyte UTF-8 content works; a length that ends inside a character is
//! malformed data (it cannot come from `serialize()` of valid UTF-8).

use std::collections::HashSet;
use std::fmt;

use crate::php::text::array_key_int;

/// Arrays nested deeper than this are refused, so hostile input cannot exhaust the stack.
/// (MyBB's `_safe_unserialize()` is stricter still, at 5 levels; nothing MyBB writes nests deeper
/// than 4.)
pub const MAX_DEPTH: usize = 64;

/// A PHP value as `serialize()` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `N;`
    Null,
    /// `b:0;` or `b:1;`
    Bool(bool),
    /// `i:<n>;`
    Int(i64),
    /// `d:<text>;`, kept as PHP's text (`0.5`, `1.0E+25`, `INF`, ...) so it round-trips.
    Float(String),
    /// `s:<byte length>:"<bytes>";`
    Str(String),
    /// `a:<count>:{<key><value>...}`, in PHP's (insertion) order.
    Array(Vec<(Key, Value)>),
}

/// A PHP array key: PHP allows only integers and strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// `i:<n>;`
    Int(i64),
    /// `s:<byte length>:"<bytes>";`
    Str(String),
}

/// Why some text is not PHP-serialized data we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed PHP serialized data at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

impl Key {
    /// Returns the key PHP would use for the string `s` in `$array[$s]`: a canonical decimal
    /// integer string (`"0"`, `"42"`, `"-7"`, but not `"042"`, `"-0"` or `"+1"`) that fits in an
    /// i64 becomes an integer key, anything else stays a string key.
    pub fn php(s: &str) -> Key {
        match array_key_int(s) {
            Some(n) => Key::Int(n),
            None => Key::Str(s.to_owned()),
        }
    }

    /// Returns true if and only if this key is the one PHP would find for `$array[$s]`: a string
    /// key equal to `s`, or an integer key whose decimal text is `s`.
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Key::Str(k) => k == s,
            Key::Int(n) => array_key_int(s) == Some(*n),
        }
    }
}

impl From<&str> for Key {
    /// Converts like PHP's array indexing does; see [`Key::php`].
    fn from(s: &str) -> Key {
        Key::php(s)
    }
}

impl From<String> for Key {
    /// Converts like PHP's array indexing does; see [`Key::php`].
    fn from(s: String) -> Key {
        match array_key_int(&s) {
            Some(n) => Key::Int(n),
            None => Key::Str(s),
        }
    }
}

impl From<i64> for Key {
    /// Wraps an integer key.
    fn from(n: i64) -> Key {
        Key::Int(n)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

impl Value {
    /// Returns the value stored under `key` if this is an array holding it (a string key equal to
    /// `key`, or an integer key whose decimal text is `key`), else None.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_array()?.iter().find(|(k, _)| k.matches(key)).map(|(_, v)| v)
    }

    /// Returns a mutable reference to the value stored under `key`, as [`Value::get`] finds it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Array(entries) => {
                entries.iter_mut().find(|(k, _)| k.matches(key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// Sets `self[key] = value` the way PHP does: an existing entry with the same key (`Int(5)`
    /// and `Str("5")` count as the same, as in PHP) keeps its position and gets the new value;
    /// otherwise the entry is appended. Returns the value it replaced, if any.
    ///
    /// If `self` is not an array it first becomes an empty one, as PHP does when assigning into
    /// null or false; callers that care should check [`Value::as_array`] first.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        if !matches!(self, Value::Array(_)) {
            *self = Value::Array(Vec::new());
        }
        let Value::Array(entries) = self else {
            return None;
        };
        let text = key.to_string();
        match entries.iter_mut().find(|(k, _)| k.matches(&text)) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                entries.push((key, value));
                None
            }
        }
    }

    /// Returns the entries if this is an array, else None.
    pub fn as_array(&self) -> Option<&[(Key, Value)]> {
        match self {
            Value::Array(entries) => Some(entries),
            _ => None,
        }
    }

    /// Returns the text if this is a string, else None.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the number if this is an integer or a string holding a plain decimal integer
    /// (optional `-`, then digits, e.g. the `"5"` MyBB stores for `tablespace`), else None.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Str(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse().ok()
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// Returns `value` in PHP's `serialize()` format (which is also what MyBB's `my_serialize()`
/// writes), byte for byte.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_str(out: &mut String, s: &str) {
    out.push_str("s:");
    out.push_str(&s.len().to_string());
    out.push_str(":\"");
    out.push_str(s);
    out.push_str("\";");
}

fn write_key(out: &mut String, key: &Key) {
    match key {
        Key::Int(n) => {
            out.push_str("i:");
            out.push_str(&n.to_string());
            out.push(';');
        }
        Key::Str(s) => write_str(out, s),
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("N;"),
        Value::Bool(b) => out.push_str(if *b { "b:1;" } else { "b:0;" }),
        Value::Int(n) => {
            out.push_str("i:");
            out.push_str(&n.to_string());
            out.push(';');
        }
        Value::Float(text) => {
            out.push_str("d:");
            out.push_str(text);
            out.push(';');
        }
        Value::Str(s) => write_str(out, s),
        Value::Array(entries) => {
            out.push_str("a:");
            out.push_str(&entries.len().to_string());
            out.push_str(":{");
            for (k, v) in entries {
                write_key(out, k);
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Returns the value serialized in `input`, which must hold exactly one value and nothing after
/// it.
///
/// # Errors
///
/// An error means the text is not something `serialize()` could have written from data MyBB
/// stores: empty, truncated, a length or count that does not fit, an object or reference, a
/// duplicate array key, arrays nested more than [`MAX_DEPTH`] deep, or bytes after the value.
/// MyBB's `my_unserialize()` returns false for such text; callers should treat the column as
/// damaged rather than guess.
pub fn parse(input: &str) -> Result<Value, ParseError> {
    let mut parser = Parser { input, pos: 0 };
    if input.is_empty() {
        return Err(parser.error("empty input"));
    }
    let value = parser.value(0)?;
    if parser.pos != input.len() {
        return Err(parser.error("trailing data after the value"));
    }
    Ok(value)
}

/// A cursor over the input. Every byte it consumes is ASCII punctuation or digits except string
/// contents, whose end is checked to be a char boundary, so `pos` is always a char boundary.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError { offset: self.pos, reason }
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Consumes a run of ASCII digits and returns it (possibly empty).
    fn digits(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    /// Reads the unsigned decimal length or count of `s:` and `a:`.
    fn length(&mut self) -> Result<usize, ParseError> {
        let start = self.pos;
        let digits = self.digits();
        if digits.is_empty() {
            return Err(self.error("expected a decimal length"));
        }
        digits.parse().map_err(|_| ParseError { offset: start, reason: "length is too large" })
    }

    /// Reads `-?[0-9]+`, the integer grammar of MyBB's `_safe_unserialize()`.
    fn int(&mut self) -> Result<i64, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.digits().is_empty() {
            return Err(self.error("expected an integer"));
        }
        self.input[start..self.pos]
            .parse()
            .map_err(|_| ParseError { offset: start, reason: "integer does not fit in 64 bits" })
    }

    /// Reads the text of a `d:` value: what PHP's unserializer accepts (an optional sign, digits
    /// with an optional fraction, an optional exponent; or `INF`, `-INF`, `NAN`).
    fn float_text(&mut self) -> Result<&'a str, ParseError> {
        let start = self.pos;
        let rest = &self.input[start..];
        for special in ["NAN", "INF", "-INF"] {
            if rest.starts_with(special) {
                self.pos += special.len();
                return Ok(special);
            }
        }
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        let int_part = self.digits().len();
        let mut frac_part = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            frac_part = self.digits().len();
        }
        if int_part + frac_part == 0 {
            return Err(self.error("expected a float"));
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.pos += 1;
            }
            if self.digits().is_empty() {
                return Err(self.error("expected digits in the float's exponent"));
            }
        }
        Ok(&self.input[start..self.pos])
    }

    /// Reads the part of `s:<len>:"<bytes>";` after `s`.
    fn string_body(&mut self) -> Result<String, ParseError> {
        self.expect(b':', "expected ':' after 's'")?;
        let len = self.length()?;
        self.expect(b':', "expected ':' after the string length")?;
        self.expect(b'"', "expected '\"' before the string")?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| self.error("string runs past the end of the input"))?;
        if !self.input.is_char_boundary(end) {
            return Err(ParseError {
                offset: end,
                reason: "string length ends inside a UTF-8 character",
            });
        }
        self.pos = end;
        self.expect(b'"', "string length does not match: expected '\"' after it")?;
        self.expect(b';', "expected ';' after the string")?;
        Ok(self.input[start..end].to_owned())
    }

    fn key(&mut self) -> Result<Key, ParseError> {
        match self.peek() {
            Some(b'i') => {
                self.pos += 1;
                self.expect(b':', "expected ':' after 'i'")?;
                let n = self.int()?;
                self.expect(b';', "expected ';' after the integer")?;
                Ok(Key::Int(n))
            }
            Some(b's') => {
                self.pos += 1;
                Ok(Key::Str(self.string_body()?))
            }
            Some(b'}') => Err(self.error("array has fewer entries than its count says")),
            None => Err(self.error("input ends inside an array")),
            Some(_) => Err(self.error("array key must be an integer or a string")),
        }
    }

    /// Reads one value; `depth` is the number of arrays around it.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        let Some(tag) = self.peek() else {
            return Err(self.error("input ends where a value should start"));
        };
        let tag_pos = self.pos;
        self.pos += 1;
        match tag {
            b'N' => {
                self.expect(b';', "expected ';' after 'N'")?;
                Ok(Value::Null)
            }
            b'b' => {
                self.expect(b':', "expected ':' after 'b'")?;
                let value = match self.peek() {
                    Some(b'0') => false,
                    Some(b'1') => true,
                    _ => return Err(self.error("boolean must be 0 or 1")),
                };
                self.pos += 1;
                self.expect(b';', "expected ';' after the boolean")?;
                Ok(Value::Bool(value))
            }
            b'i' => {
                self.expect(b':', "expected ':' after 'i'")?;
                let n = self.int()?;
                self.expect(b';', "expected ';' after the integer")?;
                Ok(Value::Int(n))
            }
            b'd' => {
                self.expect(b':', "expected ':' after 'd'")?;
                let text = self.float_text()?.to_owned();
                self.expect(b';', "expected ';' after the float")?;
                Ok(Value::Float(text))
            }
            b's' => Ok(Value::Str(self.string_body()?)),
            b'a' => self.array_body(depth, tag_pos),
            b'O' | b'C' => Err(ParseError { offset: tag_pos, reason: "objects are not supported" }),
            b'r' | b'R' => {
                Err(ParseError { offset: tag_pos, reason: "references are not supported" })
            }
            _ => Err(ParseError { offset: tag_pos, reason: "unknown type tag" }),
        }
    }

    /// Reads the part of `a:<count>:{...}` after `a`.
    fn array_body(&mut self, depth: usize, tag_pos: usize) -> Result<Value, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(ParseError { offset: tag_pos, reason: "arrays are nested too deeply" });
        }
        self.expect(b':', "expected ':' after 'a'")?;
        let count = self.length()?;
        self.expect(b':', "expected ':' after the array count")?;
        self.expect(b'{', "expected '{' to open the array")?;
        // Each entry takes at least 6 bytes (`i:0;N;`), so never reserve more than the input
        // could hold: a hostile count must not allocate.
        let mut entries = Vec::with_capacity(count.min(self.input.len() / 6));
        let mut seen = HashSet::with_capacity(entries.capacity());
        for _ in 0..count {
            let key_pos = self.pos;
            let key = self.key()?;
            // PHP treats "5" and 5 as one key; MyBB's _safe_unserialize() rejects an array whose
            // keys collide (its count check fails), and so do we.
            let identity = match &key {
                Key::Str(s) => Key::php(s),
                Key::Int(n) => Key::Int(*n),
            };
            if !seen.insert(identity) {
                return Err(ParseError { offset: key_pos, reason: "duplicate array key" });
            }
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                Ok(Value::Array(entries))
            }
            None => Err(self.error("input ends inside an array")),
            Some(_) => Err(self.error("array has more entries than its count says")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sql_dump::{SqlValue as Field, rows};

    /// Every PHP-serialized string in the fixture: both themes' `properties` and `stylesheets`,
    /// and the datacache rows.
    fn fixture_serialized() -> Vec<(String, String)> {
        let mut all = Vec::new();
        for row in rows("mybb_themes") {
            let tid = row[0].text();
            all.push((format!("themes[{tid}].properties"), row[4].text().to_owned()));
            all.push((format!("themes[{tid}].stylesheets"), row[5].text().to_owned()));
        }
        for row in rows("mybb_datacache") {
            all.push((format!("datacache[{}]", row[0].text()), row[1].text().to_owned()));
        }
        all
    }

    #[test]
    fn every_serialized_value_in_the_fixture_round_trips_byte_for_byte() {
        let all = fixture_serialized();
        assert_eq!(all.len(), 6);
        for (what, text) in all {
            let value = parse(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(to_string(&value), text, "{what}");
        }
    }

    #[test]
    fn the_serialized_strings_nested_in_default_theme_round_trip_and_match_the_themes_row() {
        let cache = rows("mybb_datacache")
            .into_iter()
            .find(|r| r[0] == Field::Text("default_theme".into()))
            .expect("default_theme row");
        let value = parse(cache[1].text()).expect("default_theme parses");
        assert_eq!(value.get("name").and_then(Value::as_str), Some("Default"));
        // fetch_array() hands MyBB every column as a string, so the tid is s:1:"2".
        assert_eq!(value.get("tid"), Some(&Value::Str("2".into())));
        assert_eq!(value.get("tid").and_then(Value::as_int), Some(2));
        let theme2 = rows("mybb_themes").into_iter().find(|r| r[0].num() == 2).expect("tid 2");
        for (column, index) in [("properties", 4), ("stylesheets", 5)] {
            let nested = value.get(column).and_then(Value::as_str).expect(column);
            assert_eq!(nested, theme2[index].text(), "{column} copy");
            let inner = parse(nested).expect("nested parses");
            assert_eq!(to_string(&inner), nested, "{column}");
        }
    }

    #[test]
    fn helpers_read_the_default_themes_properties() {
        let theme2 = rows("mybb_themes").into_iter().find(|r| r[0].num() == 2).expect("tid 2");
        let props = parse(theme2[4].text()).expect("parses");
        assert_eq!(props.get("templateset").and_then(Value::as_int), Some(1));
        assert_eq!(props.get("tablespace").and_then(Value::as_int), Some(5));
        assert_eq!(props.get("logo").and_then(Value::as_str), Some("images/logo.png"));
        let disporder = props.get("disporder").expect("disporder");
        assert_eq!(disporder.as_array().map(<[_]>::len), Some(17));
        assert_eq!(disporder.get("css3.css"), Some(&Value::Int(7)));
        assert_eq!(props.get("missing"), None);
        assert_eq!(Value::Int(3).get("x"), None);
    }

    #[test]
    fn scalars_serialize_like_php() {
        let cases = [
            (Value::Null, "N;"),
            (Value::Bool(true), "b:1;"),
            (Value::Bool(false), "b:0;"),
            (Value::Int(-42), "i:-42;"),
            (Value::Int(i64::MAX), "i:9223372036854775807;"),
            (Value::Float("0.5".into()), "d:0.5;"),
            (Value::Float("1.0E+25".into()), "d:1.0E+25;"),
            (Value::Float("-INF".into()), "d:-INF;"),
            (Value::Str(String::new()), "s:0:\"\";"),
            (Value::Str("a\"b;c".into()), "s:5:\"a\"b;c\";"),
            (Value::Array(Vec::new()), "a:0:{}"),
        ];
        for (value, text) in cases {
            assert_eq!(to_string(&value), text);
            assert_eq!(parse(text), Ok(value), "{text}");
        }
    }

    #[test]
    fn string_lengths_count_bytes_so_multibyte_utf8_works() {
        let value = Value::Str("héllo ✓ 😀".into());
        let text = to_string(&value);
        assert_eq!(text, "s:15:\"héllo ✓ 😀\";");
        assert_eq!(parse(&text), Ok(value));
    }

    #[test]
    fn a_length_that_splits_a_utf8_character_is_an_error() {
        let err = parse("s:1:\"é\";").unwrap_err();
        assert_eq!(err.reason, "string length ends inside a UTF-8 character");
        assert_eq!(err.offset, 6);
    }

    #[test]
    fn arrays_keep_order_and_key_types() {
        let text = "a:3:{s:1:\"b\";i:1;i:7;s:1:\"x\";s:1:\"5\";N;}";
        let value = parse(text).expect("parses");
        assert_eq!(
            value,
            Value::Array(vec![
                (Key::Str("b".into()), Value::Int(1)),
                (Key::Int(7), Value::Str("x".into())),
                (Key::Str("5".into()), Value::Null),
            ])
        );
        assert_eq!(value.get("7").and_then(Value::as_str), Some("x"));
        assert_eq!(value.get("5"), Some(&Value::Null));
        assert_eq!(to_string(&value), text);
    }

    #[test]
    fn insert_replaces_in_place_or_appends_and_coerces_keys_like_php() {
        let mut value =
            Value::Array(vec![(Key::Str("a".into()), Value::Int(1)), (Key::Int(2), Value::Int(2))]);
        assert_eq!(value.insert("a", Value::Int(10)), Some(Value::Int(1)));
        assert_eq!(value.insert("2", Value::Int(20)), Some(Value::Int(2)));
        assert_eq!(value.insert("c", Value::Null), None);
        assert_eq!(value.insert("07", Value::Null), None);
        assert_eq!(to_string(&value), "a:4:{s:1:\"a\";i:10;i:2;i:20;s:1:\"c\";N;s:2:\"07\";N;}");
        if let Some(slot) = value.get_mut("c") {
            *slot = Value::Bool(true);
        }
        assert_eq!(value.get("c"), Some(&Value::Bool(true)));

        let mut scalar = Value::Bool(false);
        scalar.insert("k", Value::Int(1));
        assert_eq!(to_string(&scalar), "a:1:{s:1:\"k\";i:1;}");
    }

    #[test]
    fn php_key_coercion_only_takes_canonical_integers() {
        assert_eq!(Key::php("0"), Key::Int(0));
        assert_eq!(Key::php("-7"), Key::Int(-7));
        assert_eq!(Key::php("42"), Key::Int(42));
        for s in ["", "-", "-0", "007", "+1", "1.5", " 1", "global.css", "99999999999999999999"] {
            assert_eq!(Key::php(s), Key::Str(s.into()), "{s:?}");
        }
    }

    #[test]
    fn as_int_reads_integers_and_integer_strings_only() {
        assert_eq!(Value::Int(-3).as_int(), Some(-3));
        assert_eq!(Value::Str("-3".into()).as_int(), Some(-3));
        assert_eq!(Value::Str("3a".into()).as_int(), None);
        assert_eq!(Value::Str("".into()).as_int(), None);
        assert_eq!(Value::Float("3".into()).as_int(), None);
        assert_eq!(Value::Str("x".into()).as_str(), Some("x"));
        assert_eq!(Value::Int(1).as_str(), None);
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        let cases = [
            ("", "empty input"),
            ("s:6:\"abc\";", "string runs past the end of the input"),
            ("s:5:\"abc\";", "string length does not match: expected '\"' after it"),
            ("s:2:\"abc\";", "string length does not match: expected '\"' after it"),
            ("s:3:\"abc\"", "expected ';' after the string"),
            ("s:3:\"abc", "string length does not match: expected '\"' after it"),
            ("s::\"\";", "expected a decimal length"),
            ("s:99999999999999999999999:\"\";", "length is too large"),
            ("a:2:{i:0;i:1;}", "array has fewer entries than its count says"),
            ("a:1:{i:0;i:1;i:1;i:2;}", "array has more entries than its count says"),
            ("a:1:{i:0;i:1;", "input ends inside an array"),
            ("a:1:{i:0;", "input ends where a value should start"),
            ("a:1:{", "input ends inside an array"),
            ("a:1:{d:0.5;i:1;}", "array key must be an integer or a string"),
            ("a:2:{i:1;N;s:1:\"1\";N;}", "duplicate array key"),
            ("i:1;x", "trailing data after the value"),
            ("N;N;", "trailing data after the value"),
            ("i:;", "expected an integer"),
            ("i:1", "expected ';' after the integer"),
            ("i:99999999999999999999;", "integer does not fit in 64 bits"),
            ("b:2;", "boolean must be 0 or 1"),
            ("d:;", "expected a float"),
            ("d:1e;", "expected digits in the float's exponent"),
            ("O:8:\"stdClass\":0:{}", "objects are not supported"),
            ("a:1:{i:0;O:8:\"stdClass\":0:{}}", "objects are not supported"),
            ("a:1:{i:0;r:1;}", "references are not supported"),
            ("x:1;", "unknown type tag"),
            ("N", "expected ';' after 'N'"),
        ];
        for (text, reason) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.reason, reason, "{text:?}");
            assert!(err.offset <= text.len(), "{text:?}");
        }
    }

    #[test]
    fn errors_say_where() {
        let err = parse("a:1:{i:0;i:1;}junk").unwrap_err();
        assert_eq!(err.offset, 14);
        assert_eq!(
            err.to_string(),
            "malformed PHP serialized data at byte 14: trailing data after the value"
        );
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error() {
        let nest = |depth: usize| {
            let mut text = "a:1:{i:0;".repeat(depth - 1);
            text.push_str("a:0:{}");
            text.push_str(&"}".repeat(depth - 1));
            text
        };
        let ok = nest(MAX_DEPTH);
        assert_eq!(to_string(&parse(&ok).expect("64 levels")), ok);
        let err = parse(&nest(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(err.reason, "arrays are nested too deeply");
        // Far deeper input fails the same way instead of overflowing the stack.
        assert!(parse(&nest(100_000)).is_err());
    }

    #[test]
    fn a_huge_count_does_not_allocate_up_front() {
        let err = parse("a:999999999999:{}").unwrap_err();
        assert_eq!(err.reason, "array has fewer entries than its count says");
    }

    #[test]
    fn floats_accept_phps_forms() {
        for text in ["d:1;", "d:-0;", "d:.5;", "d:5.;", "d:1.5E-7;", "d:+2;", "d:NAN;", "d:INF;"] {
            assert_eq!(to_string(&parse(text).expect(text)), text);
        }
    }
}
