//! The theme file, `styles/<theme>/theme.json` (issue 28): what the Admin CP's Edit Theme form,
//! each stylesheet's properties form and Save Stylesheet Orders let an admin set, as one small
//! JSON file. Pure: text in, text out; what the board says of it is `theme_forms.rs`'s.
//!
//! ```json
//! {
//!   "allowedgroups": "all",
//!   "name": "Default",
//!   "parent": "MyBB Master Style",
//!   "properties": {
//!     "borderwidth": 0,
//!     "colors": [
//!       "black=Black"
//!     ],
//!     "editortheme": "mybb.css",
//!     "imgdir": "images",
//!     "logo": "images/logo.png",
//!     "tablespace": 5,
//!     "templateset": "Default Templates"
//!   },
//!   "stylesheets": {
//!     "usercp.css": {
//!       "attachedto": [
//!         "usercp.php",
//!         "private.php?compose,folders"
//!       ],
//!       "disporder": 2
//!     }
//!   }
//! }
//! ```
//!
//! The format is written for diffs and hand edits: keys sorted, one item a line, a trailing
//! newline (serde_json's pretty printer over its sorted map). Lists whose order MyBB keeps (the
//! colour lines, a stylesheet's pages, the allowed groups) stay lists, in the stored order,
//! so that a row written back is the row MyBB would write. Nothing derived is in it: not the
//! `stylesheets` column, not `inherited`, not cache file names.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The file name of a theme's file inside its folder.
pub const THEME_FILE: &str = "theme.json";

/// The largest theme file read, in bytes: `themes.properties` is a TEXT column (64 KiB), and
/// a theme's pages and orders are a few kilobytes more.
pub const MAX_THEME_FILE_BYTES: usize = 256 * 1024;

/// Who may use a theme (`themes.allowedgroups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedGroups {
    /// `all`.
    All,
    /// These group ids, in the stored order (`2,4`); none stores `''`, which no one passes.
    Groups(Vec<i64>),
}

impl AllowedGroups {
    /// Returns the column's value, as the Edit Theme form stores it.
    pub fn to_column(&self) -> String {
        match self {
            AllowedGroups::All => "all".to_owned(),
            AllowedGroups::Groups(gids) => {
                gids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            }
        }
    }

    /// Returns the groups a stored column names: `all`, or comma-separated ids (each read as
    /// PHP's `(int)` reads it, as `is_member()` does).
    pub fn from_column(column: &str) -> AllowedGroups {
        if column == "all" {
            return AllowedGroups::All;
        }
        let gids = column.split(',').filter(|g| !g.is_empty()).map(php_int).collect();
        AllowedGroups::Groups(gids)
    }
}

/// The theme's properties as the Edit Theme form shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    /// The template set, by title; None when the stored sid names no set.
    pub templateset: Option<String>,
    pub editortheme: String,
    pub imgdir: String,
    pub logo: String,
    pub tablespace: i64,
    pub borderwidth: i64,
    /// The colour chosen among `colors`; None is the form's "none".
    pub color: Option<String>,
    /// The colour lines, `name=value`, in the stored order.
    pub colors: Vec<String>,
}

/// One stylesheet's entry: its pages and its place in the theme's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// `attachedto` split at `|`: `file.php`, `file.php?action1,action2`, or a colour name;
    /// empty for every page.
    pub attachedto: Vec<String>,
    /// `properties['disporder'][name]`; None when the theme's order does not list it.
    pub disporder: Option<i64>,
}

impl Sheet {
    /// Returns the `attachedto` column this entry stores.
    pub fn attachedto_column(&self) -> String {
        self.attachedto.join("|")
    }

    /// Returns the entry of a stored `attachedto` column.
    pub fn split_attachedto(column: &str) -> Vec<String> {
        if column.is_empty() {
            return Vec::new();
        }
        column.split('|').map(str::to_owned).collect()
    }
}

/// A whole theme file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeFile {
    pub name: String,
    /// The parent theme, by name; None for no parent (pid 0).
    pub parent: Option<String>,
    pub allowedgroups: AllowedGroups,
    pub properties: Properties,
    /// Each stylesheet the theme has (own or inherited), by name.
    pub stylesheets: BTreeMap<String, Sheet>,
}

/// Returns PHP's `(int)` of `text`: leading whitespace, an optional sign and the digits that
/// follow; 0 when there are none. Saturates where PHP would turn to a float.
pub fn php_int(text: &str) -> i64 {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative { -n } else { n }
}

/// Returns the file's text: sorted keys, two-space indents, one item a line, a trailing newline.
pub fn render(file: &ThemeFile) -> String {
    let p = &file.properties;
    let mut properties = Map::new();
    properties.insert("borderwidth".into(), p.borderwidth.into());
    if let Some(color) = &p.color {
        properties.insert("color".into(), color.clone().into());
    }
    properties.insert("colors".into(), strings(&p.colors));
    properties.insert("editortheme".into(), p.editortheme.clone().into());
    properties.insert("imgdir".into(), p.imgdir.clone().into());
    properties.insert("logo".into(), p.logo.clone().into());
    properties.insert("tablespace".into(), p.tablespace.into());
    properties
        .insert("templateset".into(), p.templateset.clone().map_or(Value::Null, Value::String));
    let mut sheets = Map::new();
    for (name, sheet) in &file.stylesheets {
        let mut entry = Map::new();
        entry.insert("attachedto".into(), strings(&sheet.attachedto));
        if let Some(order) = sheet.disporder {
            entry.insert("disporder".into(), order.into());
        }
        sheets.insert(name.clone(), Value::Object(entry));
    }
    let mut top = Map::new();
    top.insert(
        "allowedgroups".into(),
        match &file.allowedgroups {
            AllowedGroups::All => "all".into(),
            AllowedGroups::Groups(gids) => Value::Array(gids.iter().map(|&g| g.into()).collect()),
        },
    );
    top.insert("name".into(), file.name.clone().into());
    top.insert("parent".into(), file.parent.clone().map_or(Value::Null, Value::String));
    top.insert("properties".into(), Value::Object(properties));
    top.insert("stylesheets".into(), Value::Object(sheets));
    // A map of strings and numbers always serializes.
    let mut text = serde_json::to_string_pretty(&Value::Object(top)).unwrap_or_default();
    text.push('\n');
    text
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

/// Reads a theme file's text. An error names the line and column of a JSON syntax error, or
/// the field that is missing, unknown or of the wrong type; the caller prefixes the path.
pub fn parse(text: &str) -> Result<ThemeFile, String> {
    parse_located(text).map_err(|(why, _)| why)
}

/// Reads a theme file's text as [`parse`] does; an error also carries the 1-based line and
/// column of a JSON syntax error (for `check`, which prints them as compilers do).
pub fn parse_located(text: &str) -> Result<ThemeFile, (String, Option<(usize, usize)>)> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let why = format!(
            "not valid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            json_reason(&e)
        );
        (why, Some((e.line(), e.column())))
    })?;
    from_value(&value).map_err(|why| (why, None))
}

/// Reads a theme file's JSON value; an error names the field.
fn from_value(value: &Value) -> Result<ThemeFile, String> {
    let top = object(value, "the file")?;
    known_keys(top, "the file", &["allowedgroups", "name", "parent", "properties", "stylesheets"])?;
    let name = string(field(top, "name", "")?, "name")?.to_owned();
    let parent = match field(top, "parent", "")? {
        Value::Null => None,
        v => Some(string(v, "parent")?.to_owned()),
    };
    let allowedgroups = match field(top, "allowedgroups", "")? {
        Value::String(s) if s == "all" => AllowedGroups::All,
        Value::Array(items) => AllowedGroups::Groups(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| whole(v, &format!("allowedgroups[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("allowedgroups: expected \"all\" or a list of group ids".to_owned()),
    };
    let props = object(field(top, "properties", "")?, "properties")?;
    known_keys(
        props,
        "properties",
        &[
            "borderwidth",
            "color",
            "colors",
            "editortheme",
            "imgdir",
            "logo",
            "tablespace",
            "templateset",
        ],
    )?;
    let text_of = |key: &str| -> Result<String, String> {
        let path = format!("properties.{key}");
        Ok(string(field(props, key, "properties.")?, &path)?.to_owned())
    };
    let properties = Properties {
        templateset: match field(props, "templateset", "properties.")? {
            Value::Null => None,
            v => Some(string(v, "properties.templateset")?.to_owned()),
        },
        editortheme: text_of("editortheme")?,
        imgdir: text_of("imgdir")?,
        logo: text_of("logo")?,
        tablespace: whole(field(props, "tablespace", "properties.")?, "properties.tablespace")?,
        borderwidth: whole(field(props, "borderwidth", "properties.")?, "properties.borderwidth")?,
        color: match props.get("color") {
            None | Some(Value::Null) => None,
            Some(v) => Some(string(v, "properties.color")?.to_owned()),
        },
        colors: match props.get("colors") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => string_list(v, "properties.colors")?,
        },
    };
    let mut stylesheets = BTreeMap::new();
    for (sheet_name, entry) in object(field(top, "stylesheets", "")?, "stylesheets")? {
        let path = format!("stylesheets.{sheet_name}");
        let entry = object(entry, &path)?;
        known_keys(entry, &path, &["attachedto", "disporder"])?;
        let attachedto = string_list(field(entry, "attachedto", &format!("{path}."))?, &path)?;
        let disporder = match entry.get("disporder") {
            None | Some(Value::Null) => None,
            Some(v) => Some(whole(v, &format!("{path}.disporder"))?),
        };
        stylesheets.insert(sheet_name.clone(), Sheet { attachedto, disporder });
    }
    Ok(ThemeFile { name, parent, allowedgroups, properties, stylesheets })
}

/// Returns serde_json's reason without its own " at line L column C" (the message says where).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn object<'v>(value: &'v Value, what: &str) -> Result<&'v Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("{what}: expected an object ({{ ... }})"))
}

fn field<'v>(map: &'v Map<String, Value>, key: &str, prefix: &str) -> Result<&'v Value, String> {
    map.get(key).ok_or_else(|| format!("{prefix}{key}: missing"))
}

fn known_keys(map: &Map<String, Value>, what: &str, known: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!("{what}: unknown field {key:?} (known: {})", known.join(", "))),
        None => Ok(()),
    }
}

fn string<'v>(value: &'v Value, path: &str) -> Result<&'v str, String> {
    value.as_str().ok_or_else(|| format!("{path}: expected a string"))
}

fn whole(value: &Value, path: &str) -> Result<i64, String> {
    value.as_i64().ok_or_else(|| format!("{path}: expected a whole number"))
}

fn string_list(value: &Value, path: &str) -> Result<Vec<String>, String> {
    let items = value.as_array().ok_or_else(|| format!("{path}: expected a list of strings"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| string(v, &format!("{path}[{i}]")).map(str::to_owned))
        .collect()
}

/// The Admin CP's colour line rule (`admin/modules/style/themes.php`, action `edit`): after
/// `trim()`, `name=value`, each one or more Unicode letters, decimal digits or `_`.
static COLOR_LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^((\p{L}|\p{Nd}|_)+)=((\p{L}|\p{Nd}|_)+)$")
        .expect("COLOR_LINE is a valid regex")
});

/// Returns the colour lines as the Edit Theme form stores them, `(name, value)` in order (a
/// name given twice keeps its first place and its last value, as a PHP array does), or the
/// Admin CP's refusal of the first line it does not take.
pub fn color_pairs(lines: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in lines {
        let line = crate::php::text::trim(line);
        if !COLOR_LINE.is_match(line) {
            return Err(format!(
                "The defined color set \"{line}\" either has invalid character(s) or is not in \
                 the prescribed format. Only numbers, Unicode letters, and underscores are \
                 allowed in a color's name and its value, which must be separated by '='."
            ));
        }
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        match pairs.iter_mut().find(|(n, _)| n == name) {
            Some(pair) => pair.1 = value.to_owned(),
            None => pairs.push((name.to_owned(), value.to_owned())),
        }
    }
    Ok(pairs)
}

/// Returns why one `attachedto` entry cannot be stored, if it cannot: the stylesheet form
/// writes a file name, optionally `?` and a comma-separated action list; `|` separates
/// entries in the column, so no entry may hold one, nor be empty.
pub fn attachment_problem(entry: &str) -> Option<String> {
    let problem = if entry.trim().is_empty() {
        "is empty"
    } else if entry.contains('|') {
        "holds '|', which separates the entries in MyBB's column: give each file its own entry"
    } else if entry.matches('?').count() > 1 {
        "has more than one '?': write file.php?action1,action2"
    } else if let Some((file, actions)) = entry.split_once('?') {
        if file.is_empty() {
            "has no file name before '?'"
        } else if actions.split(',').any(str::is_empty) {
            "has an empty action after '?' (write file.php?action1,action2)"
        } else {
            return None;
        }
    } else {
        return None;
    };
    Some(format!("the page {entry:?} {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ThemeFile {
        let mut stylesheets = BTreeMap::new();
        stylesheets.insert(
            "usercp.css".to_owned(),
            Sheet {
                attachedto: vec!["usercp.php".into(), "private.php?compose,folders".into()],
                disporder: Some(2),
            },
        );
        stylesheets
            .insert("global.css".to_owned(), Sheet { attachedto: vec![], disporder: Some(1) });
        ThemeFile {
            name: "Default".into(),
            parent: Some("MyBB Master Style".into()),
            allowedgroups: AllowedGroups::Groups(vec![2, 4]),
            properties: Properties {
                templateset: Some("Default Templates".into()),
                editortheme: "mybb.css".into(),
                imgdir: "images".into(),
                logo: "images/logo.png".into(),
                tablespace: 5,
                borderwidth: 0,
                color: None,
                colors: vec!["black=Black".into()],
            },
            stylesheets,
        }
    }

    #[test]
    fn the_file_round_trips_with_sorted_keys_one_item_a_line_and_a_final_newline() {
        let text = render(&sample());
        assert!(text.ends_with("}\n"));
        assert!(text.starts_with("{\n  \"allowedgroups\": [\n    2,\n    4\n  ],\n  \"name\""));
        assert!(text.contains("\"global.css\": {\n      \"attachedto\": [],\n"));
        assert_eq!(parse(&text).unwrap(), sample());
    }

    #[test]
    fn json_errors_name_line_and_column() {
        let mut text = render(&sample());
        text = text.replacen("\"name\": \"Default\",", "\"name\": \"Default\"", 1);
        let err = parse(&text).unwrap_err();
        assert!(err.starts_with("not valid JSON at line 7 column 3: expected `,` or `}`"), "{err}");
    }

    #[test]
    fn wrong_types_unknown_and_missing_fields_name_the_field() {
        let text = render(&sample()).replace("\"tablespace\": 5", "\"tablespace\": \"5\"");
        assert_eq!(parse(&text).unwrap_err(), "properties.tablespace: expected a whole number");
        let text = render(&sample()).replace("\"imgdir\"", "\"imagedir\"");
        assert!(parse(&text).unwrap_err().starts_with("properties: unknown field \"imagedir\""));
        let text = render(&sample()).replace("\"parent\": \"MyBB Master Style\",\n", "");
        assert_eq!(parse(&text).unwrap_err(), "parent: missing");
    }

    #[test]
    fn colour_lines_follow_the_admin_cps_rule_and_php_array_semantics() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            color_pairs(&lines(&["night=Night", " calm=Calm ", "night=Nuit", "été_2=Été"]))
                .unwrap(),
            vec![
                ("night".into(), "Nuit".into()),
                ("calm".into(), "Calm".into()),
                ("été_2".into(), "Été".into())
            ]
        );
        for bad in ["sun=Sun Two", "", "a==b", "a=b=c", "=b", "a-b=c"] {
            let err = color_pairs(&lines(&[bad])).unwrap_err();
            assert!(err.starts_with(&format!("The defined color set \"{}\"", bad.trim())));
        }
    }

    #[test]
    fn attachments_are_a_file_and_optional_actions() {
        for ok in ["showthread.php", "newreply.php?newreply,editdraft", "black", "0"] {
            assert_eq!(attachment_problem(ok), None, "{ok}");
        }
        for bad in ["", " ", "a.php|b.php", "a.php?x?y", "?x", "a.php?", "a.php?x,,y"] {
            assert!(attachment_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn php_int_reads_as_php_casts() {
        assert_eq!(php_int("5"), 5);
        assert_eq!(php_int(" 12px"), 12);
        assert_eq!(php_int("-3"), -3);
        assert_eq!(php_int("x"), 0);
        assert_eq!(AllowedGroups::from_column("2,4").to_column(), "2,4");
        assert_eq!(AllowedGroups::from_column(""), AllowedGroups::Groups(vec![]));
        assert_eq!(AllowedGroups::from_column("all"), AllowedGroups::All);
    }
}
