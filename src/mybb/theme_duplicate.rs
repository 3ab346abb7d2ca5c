//! The Admin CP's Duplicate Theme (with "duplicate templates" ticked) and its Delete Theme and
//! Delete Template Set (admin/modules/style/themes.php actions `duplicate` and `delete`,
//! templates.php action `delete_set`, MyBB 1.8.37), for `dev` and `publish --drop` (issue 29).
//!
//! Duplicate, in MyBB's order: a template set "NAME Templates"; a copy of every row of the old
//! theme's set (not masters, not globals) with its version and `dateline` now; the properties
//! with the new set and every property marked inherited (from where the old theme had it, else
//! from the old theme); `build_new_theme()` with the old theme as parent; then the stylesheet
//! list (`update_theme_stylesheet_list()`). `tests/fixtures/mybb-1.8.37-duplicate-theme/` holds
//! what MyBB itself wrote.

use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::mybb::board::{Board, MASTER_THEME_TID};
use crate::mybb::db::{Db, ThemeRow};
use crate::mybb::stylecache;
use crate::mybb::theme_import::{build_new_theme, php_truthy};
use crate::php::serialize::{self, Value};

/// The longest theme name `themes.name` (varchar(100)) holds, in characters.
const MAX_THEME_NAME_CHARS: usize = 100;

/// What a duplicate created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicated {
    pub tid: u32,
    pub set_sid: i32,
    pub set_title: String,
    /// How many template rows were copied.
    pub templates: usize,
}

/// Duplicates `theme` as `name`, templates included, as the Admin CP does; the stylesheet
/// list is rebuilt under the MyBB root `mybb_root`. A name that is empty, too long or taken is
/// a usage error (exit 2) before anything is written.
pub fn duplicate_theme(
    db: &Db,
    theme: &ThemeRow,
    name: &str,
    mybb_root: &Path,
    durable: bool,
) -> Result<Duplicated> {
    if name.is_empty() || name.chars().count() > MAX_THEME_NAME_CHARS {
        return Err(Error::usage(format!(
            "the theme name {name:?} is empty or longer than the {MAX_THEME_NAME_CHARS} \
             characters MyBB's themes table holds; choose another with --name"
        )));
    }
    if db.theme_tid_by_name(name)?.is_some() {
        return Err(Error::usage(format!(
            "a theme named {name:?} exists already and is not this sync root's development \
             copy; choose another name with --name"
        )));
    }
    let properties = serialize::parse(&theme.properties).map_err(|e| Error::Data {
        what: format!(
            "theme {:?} (tid {}): its properties do not parse: {e}",
            theme.name, theme.tid
        ),
    })?;
    // `(int)$properties['templateset']`: a missing or odd value is set 0, which has no rows.
    let old_sid = properties.get("templateset").and_then(Value::as_int).unwrap_or(0);
    let set_title = format!("{name} Templates");
    let new_sid = db.insert_template_set(&set_title)?;
    let new_sid = i32::try_from(new_sid).map_err(|_| Error::Data {
        what: format!("the new template set's sid {new_sid} is out of range"),
    })?;
    let rows = db.templates_for_export(old_sid)?;
    let mut texts = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = |bytes, column| utf8(bytes, column, old_sid, &set_title, new_sid);
        texts.push((
            text(&row.title, "title")?,
            text(&row.template, "template")?,
            text(&row.version, "version")?,
        ));
    }
    db.insert_templates(new_sid, &texts)?;
    log::info!(
        "created the template set {set_title:?} (sid {new_sid}) with a copy of the {} \
         template(s) of set {old_sid}",
        texts.len()
    );
    let tid = build_new_theme(
        db,
        name,
        Some(duplicated_properties(&properties, theme.tid, new_sid)),
        theme.tid,
    )?;
    crate::mybb::cache::after_theme_import(db, mybb_root, durable, tid, &[])?;
    Ok(Duplicated { tid, set_sid: new_sid, set_title, templates: texts.len() })
}

/// Returns `bytes`, a `column` of a template of set `old_sid`, as text; the error says that
/// the new set `set_title` (sid `new_sid`) was created already.
fn utf8<'a>(
    bytes: &'a [u8],
    column: &str,
    old_sid: i64,
    set_title: &str,
    new_sid: i32,
) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| Error::Data {
        what: format!(
            "a template of set {old_sid} has a {column} that is not UTF-8; the development copy \
             was not made (template set {set_title:?}, sid {new_sid}, was created: delete it in \
             the Admin CP)"
        ),
    })
}

/// Returns the properties Duplicate Theme gives the copy of a theme (tid `old_tid`) with
/// `properties`: each one, marked inherited from where the old theme had it from, else from the
/// old theme (its tid as a string, as MyBB reads it from the row), and `templateset` the new set.
fn duplicated_properties(properties: &Value, old_tid: u32, new_sid: i32) -> Value {
    let mut copy = Value::Array(Vec::new());
    let marks = properties.get("inherited");
    for (key, value) in properties.as_array().unwrap_or_default() {
        if key.matches("inherited") {
            continue;
        }
        copy.insert(key.clone(), value.clone());
        let from = match marks.and_then(|m| m.get(&key.to_string())) {
            Some(mark) if php_truthy(mark) => mark.clone(),
            _ => Value::Str(old_tid.to_string()),
        };
        let mut map = copy.get("inherited").cloned().unwrap_or(Value::Array(Vec::new()));
        map.insert(key.clone(), from);
        copy.insert("inherited", map);
    }
    copy.insert("templateset", Value::Int(i64::from(new_sid)));
    copy
}

/// Deletes theme `tid` as the Admin CP's Delete Theme does, then its template set `set_sid` as
/// Delete Template Set does (unless another theme uses it, which the Admin CP refuses too).
/// Refused (nothing deleted) for the master theme, a missing theme, and a theme whose cache
/// files another theme's stylesheet list links.
pub fn delete_theme(db: &Db, mybb_root: Option<&Path>, tid: u32, set_sid: i32) -> Result<()> {
    let board = Board::load(db)?;
    let Some(theme) = board.theme(tid).filter(|t| t.tid != MASTER_THEME_TID) else {
        return Err(Error::usage(format!("theme {tid} is not on the board (or is MyBB's master)")));
    };
    let dir = stylecache::theme_dir(tid);
    for other in board.themes.iter().filter(|t| t.tid != tid) {
        if serialize::parse(&other.stylesheets).is_ok_and(|lists| links_into(&lists, &dir)) {
            return Err(Error::usage(format!(
                "theme {:?} (tid {}) links stylesheets of theme {tid}: the Admin CP refuses to \
                 delete a theme others inherit stylesheets from",
                other.name, other.tid
            )));
        }
    }
    if let Some(root) = mybb_root {
        for row in board.stylesheets.iter().filter(|s| s.tid == tid) {
            remove_cache_file(&root.join(&dir).join(&row.cachefile))?;
            remove_cache_file(&root.join(&dir).join(row.cachefile.replace(".css", ".min.css")))?;
        }
        remove_cache_file(&root.join(&dir).join("index.html"))?;
    }
    db.delete_theme_stylesheets(tid)?;
    db.reset_users_style(tid)?;
    if let Some(root) = mybb_root {
        // `@rmdir`: a folder that still holds something stays.
        let _ = std::fs::remove_dir(root.join(&dir));
    }
    db.reparent_children(tid, theme.pid)?;
    db.delete_theme(tid)?;
    log::info!("deleted the theme {:?} (tid {tid})", theme.name);
    let children: Vec<String> =
        board.themes.iter().filter(|t| t.pid == tid).map(|t| t.name.clone()).collect();
    if !children.is_empty() {
        log::info!("its children now have theme {} as parent: rebuild their lists", theme.pid);
    }
    let used = board.themes.iter().filter(|t| t.tid != tid).any(|t| {
        serialize::parse(&t.properties)
            .ok()
            .and_then(|p| p.get("templateset").and_then(Value::as_int))
            .is_some_and(|sid| sid == i64::from(set_sid))
    });
    if used || set_sid < 1 {
        log::warn!("template set {set_sid} is kept: another theme uses it");
        return Ok(());
    }
    db.delete_template_set(set_sid)?;
    log::info!("deleted the template set sid {set_sid} and its templates");
    Ok(())
}

/// Returns true if and only if the stylesheet lists `lists` (a `themes.stylesheets` value)
/// inherit a file under `dir`, as Delete Theme's check finds it.
fn links_into(lists: &Value, dir: &str) -> bool {
    let Some(inherited) = lists.get("inherited").and_then(Value::as_array) else { return false };
    inherited.iter().any(|(_, files)| {
        files.as_array().unwrap_or_default().iter().any(|(file, _)| file.to_string().contains(dir))
    })
}

/// Removes a cache file of a deleted theme; one already gone is fine (MyBB's `@unlink`).
fn remove_cache_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::IoAt { path: path.to_path_buf(), action: "remove", source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_properties_mark_each_property_inherited_as_the_admin_cp_does() {
        let old = serialize::parse(
            "a:3:{s:11:\"templateset\";i:1;s:9:\"inherited\";a:1:{s:6:\"imgdir\";i:1;}s:6:\"imgdir\";s:6:\"images\";}",
        )
        .unwrap();
        let copy = serialize::to_string(&duplicated_properties(&old, 2, 5));
        assert_eq!(
            copy,
            "a:3:{s:11:\"templateset\";i:5;s:9:\"inherited\";a:2:{s:11:\"templateset\";s:1:\"2\";s:6:\"imgdir\";i:1;}s:6:\"imgdir\";s:6:\"images\";}"
        );
    }
}
