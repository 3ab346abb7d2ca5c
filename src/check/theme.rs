//! The `theme-file` rule: what `import` would refuse of a theme's `styles/<Theme>/theme.json`,
//! found by the import's own checks (`theme_file::parse_located`, `theme_forms`'s problems, a new
//! theme's checks), never by a second validator, and placed at the field each names.
//!
//! Without a board only what the file shows on its own is found: JSON, fields, values the Admin
//! CP's forms refuse whatever the board, pages and orders, and a stylesheet entry with no file in
//! the folder. With `--mybb` the board's side too, exactly as the import asks it: a template
//! set, parent or editor theme the board lacks, a name another theme has, a parent loop.

use std::path::{Path, PathBuf};

use crate::mybb::board::Board;
use crate::mybb::db::{Db, ThemeForm};
use crate::mybb::theme_file::{self, ThemeFile};
use crate::mybb::theme_forms::{self, Checks, OnBoard};
use crate::sync::new_themes;
use crate::sync::validate::{self, ItemKind};

/// The board as the theme file's checks ask it, read once per run.
pub struct ThemeBoard {
    pub db: Db,
    pub board: Board,
    pub forms: Vec<(u32, ThemeForm)>,
    /// MyBB's root (its editor themes).
    pub mybb_root: PathBuf,
    /// The sync root (a new theme's template set may come from its folder there).
    pub sync_root: PathBuf,
    /// The folders of themes the board lacks, which `import --new-themes` would make.
    pub pending: Vec<new_themes::Pending>,
}

impl ThemeBoard {
    /// Reads what the checks need from the board of `db`.
    pub fn load(db: Db, mybb_root: &Path, sync_root: &Path) -> crate::error::Result<ThemeBoard> {
        let board = Board::load(&db)?;
        let forms = db.theme_forms()?;
        let pending = new_themes::pending(sync_root, &board);
        Ok(ThemeBoard {
            pending,
            db,
            board,
            forms,
            mybb_root: mybb_root.to_path_buf(),
            sync_root: sync_root.to_path_buf(),
        })
    }
}

/// Returns the refusals of the theme file of the folder of theme `theme` holding `text`, each
/// with the byte offset of what it names. `sheet_files`: the stylesheet files of the folder.
pub fn problems(
    text: &str,
    theme: &str,
    sheet_files: &[String],
    on: Option<&ThemeBoard>,
) -> Vec<(usize, String)> {
    if let Err(refusal) = validate::validate(ItemKind::Theme, text.as_bytes()) {
        return vec![(0, format!("{refusal}"))];
    }
    let file = match theme_file::parse_located(text) {
        Ok(file) => file,
        Err((why, Some((line, column)))) => return vec![(offset_of(text, line, column), why)],
        Err((why, None)) => return vec![(field_offset(text, &why), why)],
    };
    let mut found: Vec<String> = Vec::new();
    let has_file = |name: &str| sheet_files.iter().any(|f| f == name);
    match on {
        None => {
            found.extend(theme_forms::edit_theme_problems(&file, None, None));
            found.extend(theme_forms::sheet_problems(&file, None));
            found.extend(sheets_without_file(&file, &has_file));
        }
        Some(on) => match on.board.theme_by_name(theme) {
            Some(row) => {
                let Some(old) = theme_forms::render_theme(&on.board, &on.forms, row.tid) else {
                    return Vec::new();
                };
                let new_sheets: Vec<String> = sheet_files
                    .iter()
                    .filter(|n| !old.stylesheets.contains_key(*n))
                    .cloned()
                    .collect();
                let checks = Checks { mybb_root: Some(&on.mybb_root), new_sheets: &new_sheets };
                found
                    .extend(theme_forms::problems(&on.db, &on.board, row.tid, &old, &file, checks));
                // Known to the board, but its file is gone: the import deletes the theme's own
                // stylesheet (or brings an inherited one back), and this entry is then refused.
                let known = ThemeFile {
                    stylesheets: file
                        .stylesheets
                        .iter()
                        .filter(|(n, _)| old.stylesheets.contains_key(*n))
                        .map(|(n, s)| (n.clone(), s.clone()))
                        .collect(),
                    ..file.clone()
                };
                found.extend(sheets_without_file(&known, &has_file));
            }
            None => {
                let on_board = OnBoard { db: &on.db, board: &on.board, tid: None };
                // Its parent may be another new theme, which `import --new-themes` makes first.
                let earlier: Vec<&new_themes::Pending> =
                    on.pending.iter().filter(|p| p.theme != theme).collect();
                let folder = new_themes::Folder {
                    sync_root: &on.sync_root,
                    theme,
                    sheets: sheet_files,
                    earlier: &earlier,
                };
                found.extend(new_themes::problems(on_board, Some(&on.mybb_root), &folder, &file));
            }
        },
    }
    found.dedup();
    found.into_iter().map(|why| (field_offset(text, &why), why)).collect()
}

/// Returns a finding for each stylesheet `file` lists that has no file in the folder.
fn sheets_without_file(file: &ThemeFile, has_file: &dyn Fn(&str) -> bool) -> Vec<String> {
    file.stylesheets
        .keys()
        .filter(|name| !has_file(name))
        .map(|name| {
            format!(
                "stylesheets.{name}: the theme's folder has no file {name:?}: add the file, or \
                 remove the entry (the import refuses an entry for a stylesheet the theme does \
                 not have)"
            )
        })
        .collect()
}

/// Returns the byte offset of 1-based `line` and `column` (serde_json's, counted in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let at = (start + column.saturating_sub(1)).min(text.len());
    // A column inside a character: its start.
    (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

/// Returns the byte offset of the field a refusal names before its first `: ` (`name`,
/// `properties.colors[2]`, `stylesheets.a.b.css.attachedto`), as deep as the text resolves it;
/// 0 when it names none.
fn field_offset(text: &str, why: &str) -> usize {
    let Some((field, reason)) = why.split_once(": ") else { return 0 };
    // `properties: unknown field "imagedir"`: the unknown field's own line.
    let unknown = reason
        .strip_prefix("unknown field ")
        .and_then(|r| serde_json::Deserializer::from_str(r).into_iter::<String>().next()?.ok());
    let field = match unknown {
        Some(key) if field == "the file" => key,
        Some(key) => format!("{field}.{key}"),
        None => field.to_owned(),
    };
    let Some(root) = Node::parse(text) else { return 0 };
    let mut node = &root;
    let mut rest = field.as_str();
    let mut at = 0;
    loop {
        let next = match node {
            Node::Object(members) => members
                .iter()
                .filter(|(key, _, _)| {
                    rest.strip_prefix(key.as_str())
                        .is_some_and(|r| r.is_empty() || r.starts_with(['.', '[']))
                })
                // The longest key: a stylesheet's name may hold dots.
                .max_by_key(|(key, _, _)| key.len())
                .map(|(key, key_at, value)| (key.len(), *key_at, value)),
            Node::Array(items) => rest.strip_prefix('[').and_then(|r| {
                let (index, _) = r.split_once(']')?;
                let (item_at, value) = items.get(index.parse::<usize>().ok()?)?;
                Some((index.len() + 2, *item_at, value))
            }),
            Node::Scalar => None,
        };
        let Some((used, found_at, value)) = next else { return at };
        at = found_at;
        node = value;
        rest = rest[used..].strip_prefix('.').unwrap_or(&rest[used..]);
        if rest.is_empty() {
            return at;
        }
    }
}

/// A JSON value with the byte offsets of its members' keys and its items, for [`field_offset`]
/// (serde_json's values carry no places). Only reads text serde_json has already accepted.
enum Node {
    Object(Vec<(String, usize, Node)>),
    Array(Vec<(usize, Node)>),
    Scalar,
}

impl Node {
    fn parse(text: &str) -> Option<Node> {
        let mut at = 0;
        Node::value(text.as_bytes(), text, &mut at)
    }

    fn skip_space(bytes: &[u8], at: &mut usize) {
        while bytes.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
    }

    fn value(bytes: &[u8], text: &str, at: &mut usize) -> Option<Node> {
        Node::skip_space(bytes, at);
        match bytes.get(*at)? {
            b'{' => {
                *at += 1;
                let mut members = Vec::new();
                loop {
                    Node::skip_space(bytes, at);
                    match bytes.get(*at)? {
                        b'}' => {
                            *at += 1;
                            return Some(Node::Object(members));
                        }
                        b',' => *at += 1,
                        _ => {
                            let key_at = *at;
                            let key = Node::string(bytes, text, at)?;
                            Node::skip_space(bytes, at);
                            (bytes.get(*at)? == &b':').then_some(())?;
                            *at += 1;
                            let value = Node::value(bytes, text, at)?;
                            members.push((key, key_at, value));
                        }
                    }
                }
            }
            b'[' => {
                *at += 1;
                let mut items = Vec::new();
                loop {
                    Node::skip_space(bytes, at);
                    match bytes.get(*at)? {
                        b']' => {
                            *at += 1;
                            return Some(Node::Array(items));
                        }
                        b',' => *at += 1,
                        _ => {
                            let item_at = *at;
                            items.push((item_at, Node::value(bytes, text, at)?));
                        }
                    }
                }
            }
            b'"' => Node::string(bytes, text, at).map(|_| Node::Scalar),
            _ => {
                while bytes.get(*at).is_some_and(|b| !b",]} \t\r\n".contains(b)) {
                    *at += 1;
                }
                Some(Node::Scalar)
            }
        }
    }

    /// Reads a string at `at` (its opening quote), decoded as serde_json decodes it.
    fn string(bytes: &[u8], text: &str, at: &mut usize) -> Option<String> {
        let start = *at;
        (bytes.get(*at)? == &b'"').then_some(())?;
        *at += 1;
        loop {
            match bytes.get(*at)? {
                b'\\' => *at += 2,
                b'"' => {
                    *at += 1;
                    return serde_json::from_str(text.get(start..*at)?).ok();
                }
                _ => *at += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"name\": \"D\",\n  \"properties\": {\n    \"colors\": [\n      \
                        \"a=b\",\n      \"bad line\"\n    ]\n  },\n  \"stylesheets\": {\n    \
                        \"a.b.css\": {\n      \"attachedto\": []\n    },\n    \"a.css\": {}\n  \
                        }\n}\n";

    fn line_of(at: usize) -> usize {
        TEXT[..at].matches('\n').count() + 1
    }

    #[test]
    fn a_refusal_is_placed_at_the_field_it_names() {
        assert_eq!(line_of(field_offset(TEXT, "name: Please enter a name")), 2);
        assert_eq!(line_of(field_offset(TEXT, "properties.colors: bad")), 4);
        assert_eq!(line_of(field_offset(TEXT, "properties.colors[1]: expected")), 6);
        assert_eq!(line_of(field_offset(TEXT, "stylesheets.a.b.css.attachedto: x")), 11);
        assert_eq!(line_of(field_offset(TEXT, "stylesheets.a.css: x")), 13);
        assert_eq!(line_of(field_offset(TEXT, "properties: unknown field \"colors\" (known")), 4);
        // What the text does not hold: as deep as it goes.
        assert_eq!(line_of(field_offset(TEXT, "properties.logo: missing")), 3);
        assert_eq!(field_offset(TEXT, "You have selected an invalid theme."), 0);
    }

    #[test]
    fn a_json_error_is_placed_at_its_line_and_column() {
        let text = "{\n  \"a\": 1\n  \"b\": 2\n}\n";
        let at = offset_of(text, 3, 3);
        assert_eq!(&text[at..at + 3], "\"b\"");
        assert_eq!(offset_of(text, 9, 9), text.len());
    }
}
