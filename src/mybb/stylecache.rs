//! What MyBB writes when a stylesheet changes, computed without touching disk or database.
//!
//! Forum pages link the stylesheet cache files `cache/themes/theme{tid}/{name}` and their
//! `.min.css` twins, never the database rows, so a tool that edits `themestylesheets` must write
//! those files exactly as the Admin CP would, then rebuild the theme's `stylesheets` column that
//! tells pages which file to link. This module is the pure core of both steps, ported from MyBB
//! 1.8's `admin/inc/functions_themes.php`:
//!
//! - [`cache_css`] and [`minify`] are the two texts `cache_stylesheet()` writes (through
//!   `parse_theme_variables()`, `fix_css_urls_callback()` / `fix_css_urls()` and
//!   `minify_stylesheet()`); [`cache_file_name`], [`min_file_name`] and [`theme_dir`] are the
//!   paths it writes them to.
//! - [`update_theme_stylesheet_list`] is `update_theme_stylesheet_list()` (with
//!   `make_parent_theme_list()` / `make_child_theme_list()`): given the themes, their stylesheet
//!   rows and a stand-in for MyBB's `file_exists()`/`filemtime()` checks, it returns the new
//!   `stylesheets` and `properties` values of the theme and its descendants.
//!
//! The PHP regular expressions are ported one-to-one where the `regex` crate can express them, with
//! PCRE's `\s` (no `/u` flag: space, `\t`, `\n`, `\v`, `\f`, `\r`) spelled out; the one pattern
//! that needs backreferences (`#rrggbb` shortening) is matched by hand. The fixtures in
//! `tests/fixtures/` (MyBB 1.8.37's own cache output) are the byte-for-byte reference.
//!
//! Not modelled: safe mode or an unwritable theme directory (MyBB then writes
//! `cache/themes/{tid}_{name}` instead), the CDN copy, and plugin hooks.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::mybb::db::PhpRows;
use crate::php::serialize::{Key, Value};
use crate::php::text;

/// `cache_stylesheet()`'s url() pattern, `#url\((\"|'|)([^\"'\s]*?)\\1\)#`, with the
/// backreference unrolled into its three cases (same order, so the same leftmost-first match).
/// The target is group 1, 2 or 3.
static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"url\((?:"([^"'\t\n\x0B\x0C\r ]*?)"|'([^"'\t\n\x0B\x0C\r ]*?)'|([^"'\t\n\x0B\x0C\r ]*?))\)"#,
    )
    .expect("CSS_URL is a valid pattern")
});

/// `fix_css_urls()`'s test for a target left alone, `#^([a-z0-9]+\:|/)#i` (ASCII letters only,
/// as PCRE without `/u`).
static ABSOLUTE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[A-Za-z0-9]+:|/)").expect("ABSOLUTE_URL is a valid pattern"));

/// `minify_stylesheet()`'s comment pattern, `@/\*.*?\*/@s`.
static CSS_COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)/\*.*?\*/").expect("CSS_COMMENT is a valid pattern"));

/// `minify_stylesheet()`'s `@\s*([{}:;,])\s*@`.
static SPACE_AROUND_SYMBOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\t\n\x0B\x0C\r ]*([{}:;,])[\t\n\x0B\x0C\r ]*")
        .expect("SPACE_AROUND_SYMBOL is a valid pattern")
});

/// Returns the directory, relative to the forum root, that holds theme `tid`'s cache files:
/// `cache/themes/theme{tid}`.
pub fn theme_dir(tid: u32) -> String {
    format!("cache/themes/theme{tid}")
}

/// Returns the file name `cache_stylesheet()` writes stylesheet `name` to inside
/// [`theme_dir`]: PHP's `basename($filename)` (admin/inc/functions_themes.php, MyBB 1.8.37),
/// the part after the last `/`, trailing slashes ignored.
pub fn cache_file_name(name: &str) -> String {
    let trimmed = name.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// Returns the file name of the minified copy: [`cache_file_name`] with every `.css` replaced by
/// `.min.css` (`str_replace('.css', '.min.css', $filename)`, so `a.css.css` gives
/// `a.min.css.min.css`, and a name without `.css` gives the same name as the full file, which
/// MyBB then overwrites with the minified text).
pub fn min_file_name(name: &str) -> String {
    cache_file_name(name).replace(".css", ".min.css")
}

/// Returns the text `cache_stylesheet()` writes to `theme{tid}/{name}` for a stylesheet row's
/// content:
///
/// 1. `parse_theme_variables()` replaces every `{theme}` with `cache/themes/theme{tid}` (only
///    that exact variable: MyBB passes no others).
/// 2. Every `url(x)`, `url('x')` or `url("x")` whose target has no quote or whitespace is
///    rewritten, unquoted, by `fix_css_urls()`: `url(../../../x)`, unless `x` starts with a
///    scheme (`[a-z0-9]+:`, any case) or `/`, or already contains `../../../`, in which case it
///    is `url(x)`. Anything else (`url( "x" )`, `URL(x)`, `url("a b")`) is left as it is.
pub fn cache_css(stylesheet: &str, tid: u32) -> String {
    let themed = stylesheet.replace("{theme}", &theme_dir(tid));
    CSS_URL
        .replace_all(&themed, |caps: &Captures<'_>| {
            let target = caps
                .get(1)
                .or_else(|| caps.get(2))
                .or_else(|| caps.get(3))
                .map_or("", |m| m.as_str());
            fix_css_url(target)
        })
        .into_owned()
}

/// Returns `fix_css_urls($url)`: the `url(...)` MyBB writes for one target.
fn fix_css_url(target: &str) -> String {
    if !ABSOLUTE_URL.is_match(target) && !target.contains("../../../") {
        format!("url(../../../{target})")
    } else {
        format!("url({target})")
    }
}

/// Returns `minify_stylesheet($css)`, the text of the `.min.css` file (MyBB minifies the output
/// of [`cache_css`]). In this order: remove every `/* ... */` comment (shortest match, across
/// lines); remove whitespace before and after each of `{ } : ; ,`; turn `;}` into `}`; shorten
/// `#` plus three doubled hex digits to `#` plus the first of each pair (case-insensitive, no
/// word boundary: `#AaBbCc` gives `#ABC`, `#aabbccdd` gives `#abcdd`); trim like PHP's `trim()`.
pub fn minify(css: &str) -> String {
    let css = CSS_COMMENT.replace_all(css, "");
    let css = SPACE_AROUND_SYMBOL.replace_all(&css, "${1}");
    let css = css.replace(";}", "}");
    let css = shorten_hex_colors(&css);
    text::trim(&css).to_owned()
}

/// Returns `preg_replace('@#([a-f0-9])\1([a-f0-9])\2([a-f0-9])\3@i', '#\1\2\3', $css)`.
/// `regex` has no backreferences, so this scans for `#` by hand with the same semantics:
/// non-overlapping, left to right, each pair equal ignoring ASCII case.
fn shorten_hex_colors(css: &str) -> String {
    let bytes = css.as_bytes();
    let doubled = |at: usize| {
        let (a, b) = (bytes[at], bytes[at + 1]);
        a.is_ascii_hexdigit() && a.eq_ignore_ascii_case(&b)
    };
    let mut out = String::with_capacity(css.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = css[at..].find('#') {
        let hash = at + found;
        if hash + 7 <= bytes.len() && doubled(hash + 1) && doubled(hash + 3) && doubled(hash + 5) {
            // All seven bytes are ASCII, so these slices stay on char boundaries.
            out.push_str(&css[copied..=hash]);
            for pair in [hash + 1, hash + 3, hash + 5] {
                out.push_str(&css[pair..=pair]);
            }
            copied = hash + 7;
            at = hash + 7;
        } else {
            at = hash + 1;
        }
    }
    out.push_str(&css[copied..]);
    out
}

/// A `mybb_themes` row parsed, as far as rebuilding stylesheet lists needs it (the raw row is
/// `db::ThemeRow`).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTheme {
    /// `tid`.
    pub tid: u32,
    /// `pid`, the parent theme (0 for the master style).
    pub pid: u32,
    /// `properties`, parsed; anything but an array is treated as empty, as MyBB does when
    /// `my_unserialize()` fails.
    pub properties: Value,
}

/// The list builder reads a stylesheet row's `sid`, `name`, `tid`, `attachedto` and
/// `lastmodified`; it takes the rows as `mybb::db` reads them.
pub use crate::mybb::db::StylesheetRow;

/// The new values of one theme's columns, as `update_theme_stylesheet_list()` writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeStylesheets {
    /// The theme.
    pub tid: u32,
    /// The new `stylesheets` column (write it with `serialize::to_string`).
    pub stylesheets: Value,
    /// The new `properties` column, with `disporder` rebuilt; None when display orders were not
    /// to be updated (the column stays as it was).
    pub properties: Option<Value>,
}

/// Returns `make_parent_theme_list($tid)`: `tid`, its parent, its grandparent, ... up to the
/// theme whose parent is not a known theme (normally the master style, pid 0). Returns None if
/// `tid` is not among `themes` (MyBB's `false`).
pub fn parent_theme_list(themes: &[ParsedTheme], tid: u32) -> Option<Vec<u32>> {
    parent_chain(tid, |tid| themes.iter().find(|t| t.tid == tid).map(|t| t.pid))
}

/// Returns the parent chain of theme `tid` (itself first) given `pid_of`, which returns a known
/// theme's parent and None for an unknown tid; None if `tid` itself is unknown. A `pid` chain
/// that loops back on itself, which MyBB would follow forever, is cut where it repeats. The one
/// home of the chain for the list builder and for `board.rs`.
pub fn parent_chain(tid: u32, pid_of: impl Fn(u32) -> Option<u32>) -> Option<Vec<u32>> {
    let mut pid = pid_of(tid)?;
    let mut chain = vec![tid];
    while let Some(grandparent) = pid_of(pid) {
        if chain.contains(&pid) {
            break;
        }
        chain.push(pid);
        pid = grandparent;
    }
    Some(chain)
}

/// Returns the stylesheet row that serves each name for a theme with parent chain
/// `parent_list`, as `update_theme_stylesheet_list()` picks it: the rows of the chain in
/// `ORDER BY tid DESC`, ties by ascending sid (SQL leaves that order open; a MyISAM table comes
/// back in insertion order, as the fixture's master list shows), the first row of each name
/// winning. So a theme's own copy beats its parent's, and of two same-name rows in one theme the
/// older one serves.
pub fn effective_stylesheets<'a>(
    parent_list: &[u32],
    rows: impl IntoIterator<Item = &'a StylesheetRow>,
) -> Vec<&'a StylesheetRow> {
    let mut chain_rows: Vec<&StylesheetRow> =
        rows.into_iter().filter(|r| parent_list.contains(&r.tid)).collect();
    chain_rows.sort_by(|a, b| b.tid.cmp(&a.tid).then(a.sid.cmp(&b.sid)));
    let mut stylesheets: Vec<&StylesheetRow> = Vec::new();
    for row in chain_rows {
        if !stylesheets.iter().any(|s| s.name == row.name) {
            stylesheets.push(row);
        }
    }
    stylesheets
}

/// Returns `make_child_theme_list($tid)`: every descendant of `tid`, depth first, each child
/// followed by its own descendants. MyBB visits siblings in name order; this visits them in tid
/// order, which changes only the order of independent updates. Loops are cut.
pub fn child_theme_list(themes: &[ParsedTheme], tid: u32) -> Vec<u32> {
    fn walk(themes: &[ParsedTheme], tid: u32, out: &mut Vec<u32>) {
        let mut children: Vec<u32> =
            themes.iter().filter(|t| t.pid == tid && t.tid != tid).map(|t| t.tid).collect();
        children.sort_unstable();
        for child in children {
            if !out.contains(&child) {
                out.push(child);
                walk(themes, child, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(themes, tid, &mut out);
    out.retain(|&t| t != tid);
    out
}

/// Returns what `update_theme_stylesheet_list($tid, false, $update_disporders)` writes: the new
/// columns of theme `tid` first, then of each of its descendants (MyBB recurses into them), or
/// None if `tid` is not among `themes` (MyBB returns false and writes nothing).
///
/// `rows` may hold every stylesheet row of the board; only those of each theme's parent chain
/// count. `cache_file_mtime(tid, name)` stands in for MyBB's check of the file
/// `cache/themes/theme{tid}/{name}` (with the row's `name` as stored): the file's mtime if it
/// exists, else None.
///
/// The caller must also refresh the `default_theme` datacache row when the default theme is
/// among the results (see [`default_theme_cache`]), as MyBB's `$cache->update_default_theme()`
/// does.
pub fn update_theme_stylesheet_list(
    themes: &[ParsedTheme],
    rows: &[StylesheetRow],
    tid: u32,
    update_disporders: bool,
    mut cache_file_mtime: impl FnMut(u32, &str) -> Option<u64>,
) -> Option<Vec<ThemeStylesheets>> {
    parent_theme_list(themes, tid)?;
    let mut updates = Vec::new();
    for id in std::iter::once(tid).chain(child_theme_list(themes, tid)) {
        let Some(parents) = parent_theme_list(themes, id) else {
            continue;
        };
        let Some(theme) = themes.iter().find(|t| t.tid == id) else {
            continue;
        };
        let properties = update_disporders.then_some(&theme.properties);
        let (stylesheets, properties) =
            build_stylesheet_list(id, &parents, rows, properties, &mut cache_file_mtime);
        updates.push(ThemeStylesheets { tid: id, stylesheets, properties });
    }
    Some(updates)
}

/// Returns the new `stylesheets` value of theme `tid` and, if `properties` is given, its new
/// `properties` value: the body of `update_theme_stylesheet_list()` for one theme, with
/// `parent_list` from [`parent_theme_list`] (`tid` first).
///
/// Step by step, as MyBB does it:
/// - The row serving each name is [`effective_stylesheets`]'s. A row from another theme is
///   marked inherited from that theme.
/// - Each name links `cache/themes/theme{X}/{name}` for the first theme X of `parent_list`
///   (nearest first, even for a row that lives in an ancestor) whose cache file exists with an
///   mtime at or after the row's `lastmodified`; else `css.php?stylesheet={sid}`.
/// - `attachedto` (empty or `0` meaning `global`) splits at `|` into scripts; a script with `?`
///   names its actions after it, split at `,`; one without has the action `global`. The URL is
///   appended to `[script][action]`, and for an inherited row
///   `['inherited']["{script}_{action}"][url]` is set to the theme it came from. That tid is a
///   string, as MySQL hands it to PHP through mysqli.
/// - With `properties`: `disporder` becomes the chain's names with their old order values, names
///   missing from it appended after the largest value, sorted by value (a stable sort, PHP 8's
///   `asort()`); names no longer in the chain drop out.
pub fn build_stylesheet_list(
    tid: u32,
    parent_list: &[u32],
    rows: &[StylesheetRow],
    properties: Option<&Value>,
    mut cache_file_mtime: impl FnMut(u32, &str) -> Option<u64>,
) -> (Value, Option<Value>) {
    let stylesheets = effective_stylesheets(parent_list, rows);

    let mut list = Value::Array(Vec::new());
    for row in &stylesheets {
        let css_url = parent_list
            .iter()
            .find(|&&theme_id| {
                cache_file_mtime(theme_id, &row.name).is_some_and(|mtime| mtime >= row.lastmodified)
            })
            .map_or_else(
                || format!("css.php?stylesheet={}", row.sid),
                |&theme_id| format!("{}/{}", theme_dir(theme_id), row.name),
            );
        let inherited = (row.tid != tid).then(|| Value::Str(row.tid.to_string()));

        let attachedto = match row.attachedto.as_str() {
            "" | "0" => "global",
            other => other,
        };
        for attached in attachedto.split('|') {
            let (file, actions): (&str, Vec<&str>) = match attached.split_once('?') {
                // explode('?') then [0] and [1]: text after a second '?' is dropped.
                Some((file, rest)) => {
                    let actions = rest.split('?').next().unwrap_or_default();
                    (file, actions.split(',').collect())
                }
                None => (attached, vec!["global"]),
            };
            for action in actions {
                push(array_at(array_at(&mut list, file), action), Value::Str(css_url.clone()));
                if let Some(from) = &inherited {
                    let key = format!("{file}_{action}");
                    array_at(array_at(&mut list, "inherited"), &key)
                        .insert(css_url.as_str(), from.clone());
                }
            }
        }
    }

    let properties = properties.map(|old| {
        let mut properties = match old {
            Value::Array(_) => old.clone(),
            _ => Value::Array(Vec::new()),
        };
        let disporder = properties.get("disporder");
        let mut orders: Vec<(Key, Value)> = Vec::new();
        let mut orphans = Vec::new();
        let mut max = Value::Int(0);
        for row in &stylesheets {
            match disporder.and_then(|d| d.get(&row.name)) {
                None | Some(Value::Null) => orphans.push(row.name.as_str()),
                Some(order) => {
                    if php_compare(order, &max) == Ordering::Greater {
                        max = order.clone();
                    }
                    orders.push((Key::php(&row.name), order.clone()));
                }
            }
        }
        let mut next = max.as_int().unwrap_or(0).saturating_add(1);
        for name in orphans {
            orders.push((Key::php(name), Value::Int(next)));
            next = next.saturating_add(1);
        }
        orders.sort_by(|(_, a), (_, b)| php_compare(a, b));
        properties.insert("disporder", Value::Array(orders));
        properties
    });

    (list, properties)
}

/// Returns `$value[$key]` as an array, creating it (or replacing a scalar there) if need be, as
/// PHP's `$value[$key][...] = ...` does.
fn array_at<'v>(value: &'v mut Value, key: &str) -> &'v mut Value {
    let missing = !matches!(value.get(key), Some(Value::Array(_)));
    if missing {
        value.insert(key, Value::Array(Vec::new()));
    }
    // insert() above made `value` an array holding `key`, so get_mut() finds it.
    match value.get_mut(key) {
        Some(slot) => slot,
        None => unreachable!("array_at just inserted {key}"),
    }
}

/// Appends `item` to the array `list` with the next integer key, as PHP's `$list[] = $item`.
fn push(list: &mut Value, item: Value) {
    let next = list.as_array().map_or(0, |entries| {
        entries
            .iter()
            .filter_map(|(k, _)| match k {
                Key::Int(n) => Some(n.saturating_add(1).max(0)),
                Key::Str(_) => None,
            })
            .max()
            .unwrap_or(0)
    });
    list.insert(next, item);
}

/// Returns how PHP 8's `<=>` orders two display-order values: numerically when both are numbers
/// or numeric strings, by truthiness when either is a boolean or null, else as strings.
fn php_compare(a: &Value, b: &Value) -> Ordering {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Int(n) => Some(*n as f64),
            Value::Float(text) => text.parse().ok(),
            Value::Str(s) => {
                let t = s.trim_matches(text::PCRE_SPACE_CHARS);
                let numeric = !t.is_empty()
                    && t.bytes().any(|b| b.is_ascii_digit())
                    && t.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
                    });
                if numeric { t.parse().ok() } else { None }
            }
            _ => None,
        }
    }
    fn truthy(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(t) => t.parse::<f64>() != Ok(0.0),
            Value::Str(s) => !(s.is_empty() || s == "0"),
            Value::Array(a) => !a.is_empty(),
        }
    }
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return x.cmp(y);
    }
    if matches!(a, Value::Bool(_) | Value::Null) || matches!(b, Value::Bool(_) | Value::Null) {
        return truthy(a).cmp(&truthy(b));
    }
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => {
            let text = |v: &Value| match v {
                Value::Int(n) => n.to_string(),
                Value::Float(t) | Value::Str(t) => t.clone(),
                _ => String::new(),
            };
            text(a).cmp(&text(b))
        }
    }
}

/// Returns the `default_theme` datacache value MyBB's `$cache->update_default_theme()` stores
/// for the default theme (`def = 1`): the row of its `name`, `tid`, `properties` and
/// `stylesheets` columns (the serialized columns stay serialized inside), in that order, as the
/// engine's driver hands it to PHP (`rows`): all strings by name on MySQL and PostgreSQL; on
/// SQLite `tid` an int, and each value keyed by name, then by position.
pub fn default_theme_cache(
    name: &str,
    tid: u32,
    properties: &str,
    stylesheets: &str,
    rows: PhpRows,
) -> Value {
    let tid = match rows {
        PhpRows::Strings => Value::Str(tid.to_string()),
        PhpRows::PdoSqlite => Value::Int(tid.into()),
    };
    let columns = [
        ("name", Value::Str(name.into())),
        ("tid", tid),
        ("properties", Value::Str(properties.into())),
        ("stylesheets", Value::Str(stylesheets.into())),
    ];
    let mut row = Vec::new();
    for (position, (column, value)) in (0..).zip(columns) {
        if rows == PhpRows::PdoSqlite {
            row.push((Key::Str(column.into()), value.clone()));
            row.push((Key::Int(position), value));
        } else {
            row.push((Key::Str(column.into()), value));
        }
    }
    Value::Array(row)
}

/// Turns the theme ids of `list`'s `inherited` map (a built stylesheet list) into what the
/// engine's driver hands PHP for `themestylesheets.tid`: MyBB stores `$stylesheet['tid']` there
/// as it read it, a string from mysqli and pgsql, an int from SQLite's PDO.
pub fn inherited_as_read(list: &mut Value, rows: PhpRows) {
    if rows == PhpRows::Strings {
        return;
    }
    let Value::Array(scripts) = list else { return };
    for (key, inherited) in scripts {
        if *key != Key::Str("inherited".into()) {
            continue;
        }
        let Value::Array(pages) = inherited else { continue };
        for (_, urls) in pages {
            let Value::Array(urls) = urls else { continue };
            for (_, tid) in urls {
                if let Value::Str(text) = tid
                    && let Ok(n) = text.parse::<i64>()
                {
                    *tid = Value::Int(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::php::serialize::{parse, to_string};
    use crate::test_support::sql_dump::rows;

    const CACHE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-cache-themes");

    /// `(sid, name, tid, attachedto, stylesheet, lastmodified)` of every fixture row.
    fn fixture_stylesheets() -> Vec<(StylesheetRow, String)> {
        rows("mybb_themestylesheets")
            .into_iter()
            .map(|r| {
                let row = StylesheetRow {
                    sid: r[0].num() as u32,
                    name: r[1].text().to_owned(),
                    tid: r[2].num() as u32,
                    attachedto: r[3].text().to_owned(),
                    stylesheet: Vec::new(),
                    cachefile: String::new(),
                    lastmodified: r[6].num(),
                };
                (row, r[4].text().to_owned())
            })
            .collect()
    }

    fn fixture_themes() -> Vec<(ParsedTheme, String)> {
        rows("mybb_themes")
            .into_iter()
            .map(|r| {
                let theme = ParsedTheme {
                    tid: r[0].num() as u32,
                    pid: r[2].num() as u32,
                    properties: parse(r[4].text()).expect("properties parse"),
                };
                (theme, r[5].text().to_owned())
            })
            .collect()
    }

    fn read_cache(tid: u32, file: &str) -> String {
        let path = format!("{CACHE}/theme{tid}/{file}");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_fixture_stylesheet_caches_to_mybbs_own_files_byte_for_byte() {
        let sheets = fixture_stylesheets();
        assert_eq!(sheets.iter().filter(|(r, _)| r.tid == 1).count(), 7);
        assert_eq!(sheets.iter().filter(|(r, _)| r.tid == 2).count(), 10);
        for (row, content) in sheets {
            let css = cache_css(&content, row.tid);
            assert_eq!(
                css,
                read_cache(row.tid, &cache_file_name(&row.name)),
                "theme{}/{}",
                row.tid,
                row.name
            );
            assert_eq!(
                minify(&css),
                read_cache(row.tid, &min_file_name(&row.name)),
                "theme{}/{} minified",
                row.tid,
                row.name
            );
        }
    }

    #[test]
    fn file_names_follow_mybbs_basename_and_str_replace() {
        assert_eq!(theme_dir(7), "cache/themes/theme7");
        assert_eq!(cache_file_name("global.css"), "global.css");
        // See: issue 13 (MyBB 1.8.37's cache_stylesheet() takes basename(), not str_replace).
        assert_eq!(cache_file_name("../x/y.css"), "y.css");
        assert_eq!(min_file_name("global.css"), "global.min.css");
        assert_eq!(min_file_name("a.css.css"), "a.min.css.min.css");
        assert_eq!(min_file_name("sub/a.css"), "a.min.css");
        assert_eq!(min_file_name("noext"), "noext");
    }

    #[test]
    fn theme_variable_is_replaced_everywhere_and_only_that_one() {
        assert_eq!(
            cache_css("a{background:url({theme}/x.png)} /* {theme} {logo} {Theme} */", 3),
            "a{background:url(../../../cache/themes/theme3/x.png)} \
             /* cache/themes/theme3 {logo} {Theme} */"
        );
    }

    #[test]
    fn urls_are_prefixed_and_unquoted_like_fix_css_urls() {
        let cases = [
            ("url(images/a.png)", "url(../../../images/a.png)"),
            ("url('images/a.png')", "url(../../../images/a.png)"),
            ("url(\"images/a.png\")", "url(../../../images/a.png)"),
            ("url(http://x.org/a.png)", "url(http://x.org/a.png)"),
            ("url('https://x.org/a.png')", "url(https://x.org/a.png)"),
            ("url(HTTPS://x.org/a.png)", "url(HTTPS://x.org/a.png)"),
            ("url(data:image/png;base64,AAAA)", "url(data:image/png;base64,AAAA)"),
            ("url(//cdn.x.org/a.png)", "url(//cdn.x.org/a.png)"),
            ("url(/images/a.png)", "url(/images/a.png)"),
            ("url(../../../images/a.png)", "url(../../../images/a.png)"),
            ("url(x/../../../a.png)", "url(x/../../../a.png)"),
            ("url(../a.png)", "url(../../../../a.png)"),
            // A scheme is letters and digits only before the colon.
            ("url(c++:a)", "url(../../../c++:a)"),
            ("url(a_b:c)", "url(../../../a_b:c)"),
            ("url()", "url(../../../)"),
            ("url('')", "url(../../../)"),
            // Whitespace or mismatched quotes: no match, left as is.
            ("url( \"x\" )", "url( \"x\" )"),
            ("url( x )", "url( x )"),
            ("url(\"a b\")", "url(\"a b\")"),
            ("url(\"x')", "url(\"x')"),
            ("URL(x)", "URL(x)"),
            // The lazy target stops at the first ')' (unquoted) or the first quote-')'.
            ("url(a)b)", "url(../../../a)b)"),
            ("url(\"a)b\")", "url(../../../a)b)"),
            ("url(a.png) url('b.png')", "url(../../../a.png) url(../../../b.png)"),
            ("url(é.png)", "url(../../../é.png)"),
        ];
        for (input, expected) in cases {
            assert_eq!(cache_css(input, 1), expected, "{input:?}");
        }
    }

    #[test]
    fn minify_strips_comments_across_lines_shortest_first() {
        assert_eq!(minify("a{/* one\n two */color:red/* x */}/**/b{}"), "a{color:red}b{}");
        assert_eq!(minify("/* a */ x /* b */"), "x");
        assert_eq!(minify("/* unterminated"), "/* unterminated");
    }

    #[test]
    fn minify_removes_whitespace_around_symbols_only() {
        assert_eq!(
            minify("a ,\n b {\n\tcolor : red ;\r\n\x0B\x0Cmargin: 0 auto ;\n}\n"),
            "a,b{color:red;margin:0 auto}"
        );
        assert_eq!(minify("a\u{a0}{x:y}"), "a\u{a0}{x:y}");
    }

    #[test]
    fn minify_drops_the_semicolon_before_a_closing_brace() {
        assert_eq!(minify("a{b:c;}"), "a{b:c}");
        assert_eq!(minify("a{b:c;;}"), "a{b:c;}");
    }

    #[test]
    fn minify_shortens_doubled_hex_colors_without_word_boundaries() {
        let cases = [
            ("#aabbcc", "#abc"),
            ("#AaBbCc", "#ABC"),
            ("#aAbBcC", "#abc"),
            ("#aabbccdd", "#abcdd"),
            ("#112233", "#123"),
            ("#aabbcd", "#aabbcd"),
            ("#aabbc", "#aabbc"),
            ("#gghhii", "#gghhii"),
            ("##aabbcc", "##abc"),
            ("#aabbcc#ddeeff", "#abc#def"),
            ("x{color:#FFFFFF}", "x{color:#FFF}"),
            ("é#001122é", "é#012é"),
        ];
        for (input, expected) in cases {
            assert_eq!(minify(input), expected, "{input:?}");
        }
    }

    #[test]
    fn minify_trims_like_php_trim() {
        assert_eq!(minify(" \t\r\n\0\x0Ba{}\x0B\n"), "a{}");
        // PHP's trim() keeps form feeds and Unicode spaces.
        assert_eq!(minify("\x0Ca\u{2003}"), "\x0Ca\u{2003}");
    }

    fn fixture_inputs() -> (Vec<ParsedTheme>, Vec<(u32, String)>, Vec<StylesheetRow>) {
        let (themes, columns): (Vec<_>, Vec<_>) = fixture_themes()
            .into_iter()
            .map(|(t, col)| {
                let tid = t.tid;
                (t, (tid, col))
            })
            .unzip();
        let rows = fixture_stylesheets().into_iter().map(|(r, _)| r).collect();
        (themes, columns, rows)
    }

    /// Every cache file exists, written when its row was saved.
    fn all_cached(rows: &[StylesheetRow]) -> impl FnMut(u32, &str) -> Option<u64> + '_ {
        move |tid, name| {
            rows.iter().find(|r| r.tid == tid && r.name == name).map(|r| r.lastmodified)
        }
    }

    #[test]
    fn master_style_list_matches_the_fixture_byte_for_byte() {
        let (themes, columns, rows) = fixture_inputs();
        let updates = update_theme_stylesheet_list(&themes, &rows, 1, true, all_cached(&rows))
            .expect("tid 1 exists");
        assert_eq!(updates.iter().map(|u| u.tid).collect::<Vec<_>>(), [1, 2]);
        let master = &updates[0];
        assert_eq!(to_string(&master.stylesheets), columns[0].1);
        assert_eq!(master.properties.as_ref(), Some(&themes[0].properties));
    }

    /// The fixture's tid 2 `stylesheets` column was not written by
    /// `update_theme_stylesheet_list()` but by the installer (`insert_templates()` in
    /// `install/index.php`: `build_new_theme()` copies the parent's list, then the colour sheets
    /// are appended), so MyBB's own rebuild differs from it in two ways that pages never see:
    /// rows come in `ORDER BY tid DESC`, so the colour scripts come first; and the `inherited`
    /// tids come from the database as strings (`s:1:"1"`, where `build_new_theme()` had the
    /// integer 1). This builds that expectation from the fixture column.
    fn expected_default_theme_list(installer_column: &str) -> String {
        let Value::Array(entries) = parse(installer_column).expect("parses") else {
            panic!("not an array");
        };
        let colours = ["black", "calm", "dawn", "earth", "flame", "leaf", "night", "sun"];
        let colours = [&colours[..], &["twilight", "water"]].concat();
        let (mut first, rest): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|(k, _)| colours.contains(&k.to_string().as_str()));
        assert_eq!(first.len(), 10);
        first.extend(rest.into_iter().map(|(k, mut v)| {
            if k == Key::Str("inherited".into()) {
                let Value::Array(maps) = &mut v else { panic!() };
                for (_, map) in maps {
                    let Value::Array(urls) = map else { panic!() };
                    for (_, from) in urls {
                        assert_eq!(*from, Value::Int(1));
                        *from = Value::Str("1".into());
                    }
                }
            }
            (k, v)
        }));
        to_string(&Value::Array(first))
    }

    #[test]
    fn default_theme_list_is_what_mybb_would_write_for_the_fixture() {
        let (themes, columns, rows) = fixture_inputs();
        let updates = update_theme_stylesheet_list(&themes, &rows, 2, true, all_cached(&rows))
            .expect("tid 2 exists");
        assert_eq!(updates.len(), 1);
        let default = &updates[0];
        let written = to_string(&default.stylesheets);
        assert_eq!(written, expected_default_theme_list(&columns[1].1));
        assert!(written.starts_with(
            "a:18:{s:5:\"black\";a:1:{s:6:\"global\";a:1:{i:0;s:35:\"cache/themes/theme2/color_black.css\";}}"
        ));
        assert!(written.contains(
            "s:9:\"inherited\";a:7:{s:13:\"global_global\";a:2:{s:30:\"cache/themes/theme1/global.css\";s:1:\"1\";"
        ));
        // Same links per script and action as the installer wrote.
        let installer = parse(&columns[1].1).expect("parses");
        for (script, actions) in installer.as_array().expect("array") {
            if script.to_string() == "inherited" {
                continue;
            }
            assert_eq!(default.stylesheets.get(&script.to_string()), Some(actions));
        }
        // The display order is already complete and sorted, so it comes back unchanged.
        assert_eq!(default.properties.as_ref(), Some(&themes[1].properties));
        assert_eq!(
            to_string(default.properties.as_ref().expect("properties")),
            rows_properties_text(2)
        );
    }

    fn rows_properties_text(tid: u64) -> String {
        rows("mybb_themes")
            .into_iter()
            .find(|r| r[0].num() == tid)
            .map(|r| r[4].text().to_owned())
            .expect("theme row")
    }

    #[test]
    fn missing_or_stale_cache_files_fall_back_to_css_php() {
        let (themes, _, rows) = fixture_inputs();
        // Only global.css is cached, and its file is older than the row.
        let mtime = |tid: u32, name: &str| match (tid, name) {
            (1, "global.css") => Some(0),
            (1, "css3.css") => Some(u64::MAX),
            _ => None,
        };
        let updates = update_theme_stylesheet_list(&themes, &rows, 1, false, mtime).expect("tid 1");
        let global = updates[0].stylesheets.get("global").and_then(|g| g.get("global"));
        assert_eq!(
            global.map(to_string).as_deref(),
            Some(
                "a:2:{i:0;s:20:\"css.php?stylesheet=1\";i:1;s:28:\"cache/themes/theme1/css3.css\";}"
            )
        );
        assert_eq!(updates[0].properties, None);
    }

    fn theme(tid: u32, pid: u32, properties: Value) -> ParsedTheme {
        ParsedTheme { tid, pid, properties }
    }

    fn sheet(sid: u32, name: &str, tid: u32, attachedto: &str) -> StylesheetRow {
        StylesheetRow {
            sid,
            name: name.into(),
            tid,
            attachedto: attachedto.into(),
            stylesheet: Vec::new(),
            cachefile: String::new(),
            lastmodified: 100,
        }
    }

    #[test]
    fn a_childs_own_copy_wins_and_a_nearer_cache_file_is_linked() {
        let props = parse(
            "a:2:{s:4:\"logo\";s:1:\"x\";s:9:\"disporder\";a:3:{s:5:\"b.css\";i:4;s:5:\"a.css\";i:2;s:8:\"gone.css\";i:1;}}",
        )
        .expect("parses");
        let themes = [theme(1, 0, Value::Null), theme(2, 1, Value::Null), theme(3, 2, props)];
        let rows = [
            sheet(1, "a.css", 1, ""),
            sheet(2, "b.css", 1, "usercp.php?profile,options|index.php"),
            sheet(3, "c.css", 2, "0"),
            sheet(4, "a.css", 3, "private.php?send?x"),
            sheet(5, "d.css", 9, ""),
        ];
        // theme3 has a.css cached, theme2 has a (stale) b.css, theme1 has everything.
        let mtime = |tid: u32, name: &str| match (tid, name) {
            (3, "a.css") | (1, "a.css" | "b.css") => Some(100),
            (2, "b.css") => Some(99),
            _ => None,
        };
        let updates = update_theme_stylesheet_list(&themes, &rows, 3, true, mtime).expect("tid 3");
        assert_eq!(updates.len(), 1);
        assert_eq!(
            to_string(&updates[0].stylesheets),
            concat!(
                "a:5:{",
                "s:11:\"private.php\";a:1:{s:4:\"send\";a:1:{i:0;s:25:\"cache/themes/theme3/a.css\";}}",
                "s:6:\"global\";a:1:{s:6:\"global\";a:1:{i:0;s:20:\"css.php?stylesheet=3\";}}",
                "s:9:\"inherited\";a:4:{",
                "s:13:\"global_global\";a:1:{s:20:\"css.php?stylesheet=3\";s:1:\"2\";}",
                "s:18:\"usercp.php_profile\";a:1:{s:25:\"cache/themes/theme1/b.css\";s:1:\"1\";}",
                "s:18:\"usercp.php_options\";a:1:{s:25:\"cache/themes/theme1/b.css\";s:1:\"1\";}",
                "s:16:\"index.php_global\";a:1:{s:25:\"cache/themes/theme1/b.css\";s:1:\"1\";}}",
                "s:10:\"usercp.php\";a:2:{",
                "s:7:\"profile\";a:1:{i:0;s:25:\"cache/themes/theme1/b.css\";}",
                "s:7:\"options\";a:1:{i:0;s:25:\"cache/themes/theme1/b.css\";}}",
                "s:9:\"index.php\";a:1:{s:6:\"global\";a:1:{i:0;s:25:\"cache/themes/theme1/b.css\";}}}",
            )
        );
        // Known names keep their values, sorted; c.css (new) goes after the largest;
        // gone.css is dropped; other properties stay where they were.
        assert_eq!(
            to_string(updates[0].properties.as_ref().expect("properties")),
            "a:2:{s:4:\"logo\";s:1:\"x\";s:9:\"disporder\";a:3:{s:5:\"a.css\";i:2;s:5:\"b.css\";i:4;s:5:\"c.css\";i:5;}}"
        );
    }

    #[test]
    fn rebuilding_a_parent_rebuilds_every_descendant() {
        let themes = [
            theme(1, 0, Value::Null),
            theme(4, 2, Value::Null),
            theme(2, 1, Value::Null),
            theme(3, 1, Value::Null),
            theme(5, 4, Value::Null),
        ];
        assert_eq!(child_theme_list(&themes, 1), [2, 4, 5, 3]);
        assert_eq!(child_theme_list(&themes, 5), Vec::<u32>::new());
        assert_eq!(parent_theme_list(&themes, 5), Some(vec![5, 4, 2, 1]));
        assert_eq!(parent_theme_list(&themes, 9), None);
        let rows = [sheet(1, "a.css", 1, "")];
        let updates =
            update_theme_stylesheet_list(&themes, &rows, 2, true, |_, _| None).expect("tid 2");
        assert_eq!(updates.iter().map(|u| u.tid).collect::<Vec<_>>(), [2, 4, 5]);
        for update in &updates {
            // No properties at all: disporder is created with the orphan.
            assert_eq!(
                update.properties.as_ref().map(to_string).as_deref(),
                Some("a:1:{s:9:\"disporder\";a:1:{s:5:\"a.css\";i:1;}}")
            );
        }
        assert_eq!(update_theme_stylesheet_list(&themes, &rows, 9, true, |_, _| None), None);
    }

    #[test]
    fn a_pid_loop_is_cut_instead_of_followed_forever() {
        let themes = [theme(1, 2, Value::Null), theme(2, 1, Value::Null)];
        assert_eq!(parent_theme_list(&themes, 1), Some(vec![1, 2]));
        assert_eq!(child_theme_list(&themes, 1), [2]);
        let rows = [sheet(1, "a.css", 2, "")];
        let updates =
            update_theme_stylesheet_list(&themes, &rows, 1, false, |_, _| None).expect("tid 1");
        assert_eq!(updates.len(), 2);
    }

    #[test]
    fn numeric_names_become_integer_keys_as_in_php() {
        let themes = [theme(1, 0, Value::Null)];
        let rows = [sheet(7, "12", 1, "34?56")];
        let updates =
            update_theme_stylesheet_list(&themes, &rows, 1, true, |_, _| None).expect("tid 1");
        assert_eq!(
            to_string(&updates[0].stylesheets),
            "a:1:{i:34;a:1:{i:56;a:1:{i:0;s:20:\"css.php?stylesheet=7\";}}}"
        );
        assert_eq!(
            updates[0].properties.as_ref().map(to_string).as_deref(),
            Some("a:1:{s:9:\"disporder\";a:1:{i:12;i:1;}}")
        );
    }

    #[test]
    fn display_orders_compare_like_php() {
        let int = Value::Int;
        let s = |t: &str| Value::Str(t.into());
        assert_eq!(php_compare(&int(10), &int(9)), Ordering::Greater);
        assert_eq!(php_compare(&s("10"), &int(9)), Ordering::Greater);
        assert_eq!(php_compare(&s("10"), &s("9")), Ordering::Greater);
        assert_eq!(php_compare(&s("abc"), &int(0)), Ordering::Greater);
        assert_eq!(php_compare(&Value::Float("1.5".into()), &int(1)), Ordering::Greater);
        assert_eq!(php_compare(&Value::Null, &int(0)), Ordering::Equal);
        assert_eq!(php_compare(&Value::Bool(true), &int(5)), Ordering::Equal);
    }

    #[test]
    fn default_theme_cache_matches_the_fixtures_datacache_row() {
        let theme2 = rows("mybb_themes").into_iter().find(|r| r[0].num() == 2).expect("tid 2");
        let cached = rows("mybb_datacache")
            .into_iter()
            .find(|r| r[0].text() == "default_theme")
            .expect("default_theme");
        let (name, properties, stylesheets) =
            (theme2[1].text(), theme2[4].text(), theme2[5].text());
        let value = default_theme_cache(name, 2, properties, stylesheets, PhpRows::Strings);
        assert_eq!(to_string(&value), cached[1].text());
    }

    #[test]
    fn default_theme_cache_on_sqlite_is_a_pdo_row_fetched_both_ways() {
        let value = default_theme_cache("D", 2, "p", "s", PhpRows::PdoSqlite);
        assert_eq!(
            to_string(&value),
            "a:8:{s:4:\"name\";s:1:\"D\";i:0;s:1:\"D\";s:3:\"tid\";i:2;i:1;i:2;\
             s:10:\"properties\";s:1:\"p\";i:2;s:1:\"p\";s:11:\"stylesheets\";s:1:\"s\";i:3;s:1:\"s\";}"
        );
    }

    #[test]
    fn inherited_theme_ids_are_ints_only_as_sqlites_pdo_reads_them() {
        let list = "a:2:{s:6:\"global\";a:0:{}s:9:\"inherited\";a:1:{s:13:\"global_global\";\
                    a:1:{s:5:\"a.css\";s:1:\"1\";}}}";
        let mut value = parse(list).unwrap();
        inherited_as_read(&mut value, PhpRows::Strings);
        assert_eq!(to_string(&value), list);
        inherited_as_read(&mut value, PhpRows::PdoSqlite);
        assert_eq!(to_string(&value), list.replace("s:1:\"1\"", "i:1"));
    }
}
