//! A theme file against the board (issue 28): the file MyBB's rows make
//! ([`render_theme`]), the Admin CP's checks of an edited one ([`check`]), and its writes,
//! form by form, as `admin/modules/style/themes.php` makes them ([`apply`]):
//!
//! 1. **Edit Theme** (action `edit`), when the name, parent, allowed groups or a property
//!    changed: `properties` rebuilt from the form alone in the form's key order (`templateset`,
//!    `editortheme`, `imgdir`, `logo`, `tablespace`, `borderwidth`, `color` unless none,
//!    `colors` when given, the old `disporder`; `inherited` is dropped, as MyBB drops it),
//!    then `update_theme_stylesheet_list()` and the `default_theme` cache;
//! 2. **stylesheet properties** (action `stylesheet_properties`), for each stylesheet whose
//!    pages changed: an inherited one is first copied into the theme (`copy_stylesheet_to_theme`),
//!    then `attachedto` is set, then the list is rebuilt without touching `disporder`;
//! 3. **Save Stylesheet Orders** (action `edit`, `do=save_orders`), when an order changed: every
//!    stylesheet of the theme gets the file's value (0 when it has none), sorted as `asort()`
//!    sorts, written into `properties['disporder']`, then the `default_theme` cache and the list.
//!
//! Every write is a compare-and-swap on what was read just before it; nothing is written
//! unless every check passed first.

use std::path::Path;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::board::{Board, MASTER_THEME_TID};
use crate::mybb::cache;
use crate::mybb::db::{Db, ThemeForm};
use crate::mybb::theme_file::{
    self, AllowedGroups, Properties, Sheet, ThemeFile, attachment_problem, color_pairs, php_int,
};
use crate::php::serialize::{self, Key, Value};

/// The folder of the editor themes the Edit Theme form offers, relative to MyBB's root.
const EDITOR_THEMES_DIR: &str = "jscripts/sceditor/themes";

/// Returns the theme file of theme `tid` as its rows make it, or None for an unknown theme.
/// `forms` are the themes' Edit Theme fields ([`Db::theme_forms`]).
pub fn render_theme(board: &Board, forms: &[(u32, ThemeForm)], tid: u32) -> Option<ThemeFile> {
    let theme = board.theme(tid)?;
    let allowedgroups = forms
        .iter()
        .find(|(t, _)| *t == tid)
        .map_or(AllowedGroups::All, |(_, form)| AllowedGroups::from_column(&form.allowedgroups));
    let parsed = serialize::parse(&theme.properties).unwrap_or(Value::Null);
    let sid = parsed.get("templateset").map_or(0, whole);
    let templateset = board.sets.iter().find(|(s, _)| i64::from(*s) == sid).map(|(_, t)| t.clone());
    let stylesheets = board
        .resolved_stylesheets(tid)
        .into_iter()
        .map(|(name, row)| {
            let attachedto = Sheet::split_attachedto(&row.attachedto);
            (name.to_owned(), Sheet { attachedto, disporder: disporder_of(&parsed, name) })
        })
        .collect();
    Some(ThemeFile {
        name: theme.name.clone(),
        parent: board.theme(theme.pid).map(|p| p.name.clone()),
        allowedgroups,
        properties: properties_of(&parsed, templateset),
        stylesheets,
    })
}

/// Returns the Edit Theme form's view of a parsed `properties` column, with the template set
/// by title (`templateset`, found by the caller).
pub fn properties_of(parsed: &Value, templateset: Option<String>) -> Properties {
    let text = |key: &str| parsed.get(key).map(scalar).unwrap_or_default();
    let colors = match parsed.get("colors").and_then(Value::as_array) {
        Some(pairs) => pairs.iter().map(|(k, v)| format!("{k}={}", scalar(v))).collect(),
        None => Vec::new(),
    };
    Properties {
        templateset,
        editortheme: text("editortheme"),
        imgdir: text("imgdir"),
        logo: text("logo"),
        tablespace: parsed.get("tablespace").map_or(0, whole),
        borderwidth: parsed.get("borderwidth").map_or(0, whole),
        color: parsed.get("color").map(scalar),
        colors,
    }
}

/// Returns stylesheet `name`'s place in a parsed `properties` column's `disporder`.
pub fn disporder_of(parsed: &Value, name: &str) -> Option<i64> {
    parsed.get("disporder")?.get(name).map(whole)
}

/// Returns a property as PHP's `(int)` reads it.
fn whole(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => php_int(&scalar(other)),
    }
}

/// Returns a scalar property as PHP would print it.
fn scalar(value: &Value) -> String {
    match value {
        Value::Str(s) | Value::Float(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(true) => "1".to_owned(),
        _ => String::new(),
    }
}

/// What the board must be asked, beyond its rows, to check a theme file.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// MyBB's root, where the editor themes are; without it they are not checked.
    pub mybb_root: Option<&'a Path>,
    /// Stylesheets about to be created in the theme from files in its folder: the file may
    /// attach and order them already.
    pub new_sheets: &'a [String],
}

/// Checks `new`, the edited file of theme `tid` (whose rows make `old`), as the Admin CP's
/// forms check what they are sent, plus what they cannot be sent (a parent loop, a stylesheet
/// the theme does not have). Returns the first refusal as `field: reason`, in the Admin CP's
/// words where it has some.
pub fn check(
    db: &Db,
    board: &Board,
    tid: u32,
    old: &ThemeFile,
    new: &ThemeFile,
    checks: Checks<'_>,
) -> std::result::Result<(), String> {
    match problems(db, board, tid, old, new, checks).into_iter().next() {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Returns every refusal [`check`] would make of `new`, in the order it makes them: the Edit
/// Theme form's (only when its fields changed, as only then is the form sent), then each
/// stylesheet's. `check` lints with it, so the linter and the import refuse the same things.
pub fn problems(
    db: &Db,
    board: &Board,
    tid: u32,
    old: &ThemeFile,
    new: &ThemeFile,
    checks: Checks<'_>,
) -> Vec<String> {
    if tid == MASTER_THEME_TID || board.theme(tid).is_none() {
        return vec!["You have selected an invalid theme. (the master theme is read-only)".into()];
    }
    let mut found = Vec::new();
    if edits_theme(old, new) {
        let on = OnBoard { db, board, tid: Some(tid) };
        found.extend(edit_theme_problems(new, Some(on), checks.mybb_root));
    }
    let known = |name: &str| {
        old.stylesheets.contains_key(name) || checks.new_sheets.contains(&name.to_owned())
    };
    found.extend(sheet_problems(new, Some(&known)));
    found
}

/// A board to check a theme file against: its rows, and the database for what is compared as
/// the database compares (names). `tid`: the theme the file is of, None for one not made yet.
#[derive(Clone, Copy)]
pub struct OnBoard<'a> {
    pub db: &'a Db,
    pub board: &'a Board,
    pub tid: Option<u32>,
}

/// Returns true if and only if the Edit Theme form's fields differ between the files.
fn edits_theme(old: &ThemeFile, new: &ThemeFile) -> bool {
    old.name != new.name
        || old.parent != new.parent
        || old.allowedgroups != new.allowedgroups
        || old.properties != new.properties
}

/// Returns every refusal of the Edit Theme form for `new`, in the form's order. Without a
/// board (`on` None: `check` with no `--mybb`), only what the file alone shows: the colour
/// lines, a template set or name missing, the groups, an empty editor theme; with it, also a
/// template set, parent or editor theme the board lacks, a name another theme has, a parent
/// loop.
pub fn edit_theme_problems(
    new: &ThemeFile,
    on: Option<OnBoard<'_>>,
    mybb_root: Option<&Path>,
) -> Vec<String> {
    let mut found = Vec::new();
    let p = &new.properties;
    if let Err(why) = color_pairs(&p.colors) {
        found.push(format!("properties.colors: {why}"));
    }
    let invalid_set = "properties.templateset: The selected template set does not exist. Please \
                       select a valid template set.";
    match (&p.templateset, on) {
        (None, _) => found.push(format!("{invalid_set} (the file names none)")),
        (Some(title), Some(on)) if on.board.set_sid(title).is_none_or(|sid| sid <= 0) => {
            found.push(format!("{invalid_set} (no set is titled {title:?})"));
        }
        _ => {}
    }
    if new.name.is_empty() {
        found.push("name: Please enter a name for this theme.".into());
    } else if let Some(on) = on {
        match on.db.theme_tid_by_name(&new.name) {
            Ok(Some(other)) if Some(other) != on.tid => found.push(format!(
                "name: A theme with the same name already exists. Please specify a different \
                 name. ({:?})",
                new.name
            )),
            Ok(_) => {}
            Err(e) => found.push(format!("name: {}", crate::error::chain(&e))),
        }
    }
    if let (Some(parent), Some(on)) = (&new.parent, on) {
        match on.board.theme_by_name(parent) {
            None => found.push(format!(
                "parent: The selected parent theme does not exist. Please select a valid parent \
                 theme. (no theme is named {parent:?})"
            )),
            // Beyond MyBB: a theme under itself would make MyBB's list builder recurse forever.
            Some(row)
                if on.tid.is_some_and(|tid| {
                    row.tid == tid || on.board.theme_chain(row.tid).contains(&tid)
                }) =>
            {
                found.push(format!(
                    "parent: {parent:?} is this theme or one of its descendants; a theme cannot \
                     inherit from itself"
                ));
            }
            Some(_) => {}
        }
    }
    if let AllowedGroups::Groups(gids) = &new.allowedgroups
        && let Some(bad) = gids.iter().find(|g| **g <= 0)
    {
        found.push(format!("allowedgroups: {bad} is not a user group id"));
    }
    let editor_ok = match mybb_root {
        Some(root) => {
            let file = root.join(EDITOR_THEMES_DIR).join(&p.editortheme);
            !p.editortheme.is_empty()
                && !p.editortheme.contains("..")
                && std::fs::metadata(&file).is_ok_and(|m| !m.is_dir())
        }
        None => !p.editortheme.is_empty(),
    };
    if !editor_ok {
        found.push(format!(
            "properties.editortheme: The selected editor theme does not exist. Please select a \
             valid editor theme. ({:?} under {EDITOR_THEMES_DIR}/)",
            p.editortheme
        ));
    }
    found
}

/// Returns every refusal of the stylesheets' entries of `new`: a malformed page, a negative
/// order and, given `known` (which names the theme has or is about to have), a stylesheet it
/// does not have.
pub fn sheet_problems(new: &ThemeFile, known: Option<&dyn Fn(&str) -> bool>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, sheet) in &new.stylesheets {
        if known.is_some_and(|known| !known(name)) {
            found.push(format!(
                "stylesheets.{name}: the theme has no stylesheet of that name (add its file to \
                 the theme folder, or remove the entry)"
            ));
        }
        for (i, problem) in sheet
            .attachedto
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, attachment_problem(e)?)))
        {
            found.push(format!("stylesheets.{name}.attachedto[{i}]: {problem}"));
        }
        if sheet.disporder.is_some_and(|o| o < 0) {
            found.push(format!("stylesheets.{name}.disporder: must be 0 or more"));
        }
    }
    found
}

/// Writes `new`, the edited file of theme `tid`, form by form (see the module documentation),
/// if the board still makes `seen` of it. Returns false if it does not (someone changed the
/// theme meanwhile): nothing was written then. A refusal of the checks is an error, and
/// nothing is written either.
pub fn apply(
    db: &Db,
    config: &Config,
    tid: u32,
    seen: &ThemeFile,
    new: &ThemeFile,
    new_sheets: &[String],
) -> Result<bool> {
    let board = Board::load(db)?;
    let forms = db.theme_forms()?;
    let Some(current) = render_theme(&board, &forms, tid) else { return Ok(false) };
    // The stylesheets created from files since the plan are the run's own writes.
    let mut before = current.clone();
    before.stylesheets.retain(|name, _| !new_sheets.contains(name));
    if before != *seen {
        return Ok(false);
    }
    let checks = Checks { mybb_root: config.mybb_root.as_deref(), new_sheets };
    check(db, &board, tid, &current, new, checks).map_err(|what| Error::Data { what })?;
    let Some((_, form)) = forms.iter().find(|(t, _)| *t == tid) else { return Ok(false) };

    if edits_theme(&current, new) {
        let written = edit_theme(db, &board, tid, form, new)?;
        if !written {
            return Ok(false);
        }
        cache::after_theme_form(db, config, tid, true)?;
    }

    let mut attached = false;
    for (name, sheet) in &new.stylesheets {
        let Some(row) = board.resolved_stylesheets(tid).get(name.as_str()).copied().cloned() else {
            // A stylesheet still to be created: its row takes the pages when it is.
            continue;
        };
        let attachedto = sheet.attachedto_column();
        if attachedto == row.attachedto {
            continue;
        }
        let written = if row.tid == tid {
            db.update_stylesheet_attachedto(row.sid, &attachedto, &row.attachedto)?
        } else {
            // copy_stylesheet_to_theme(), then the new pages: one row, as MyBB leaves it.
            let content = std::str::from_utf8(&row.stylesheet).map_err(|e| Error::Data {
                what: format!(
                    "stylesheet {name:?} (sid {}) is not valid UTF-8 at byte {}",
                    row.sid,
                    e.valid_up_to()
                ),
            })?;
            db.insert_stylesheet(tid, name, &attachedto, content, row.lastmodified)?.is_some()
        };
        if !written {
            return Ok(false);
        }
        log::debug!("theme {tid}: stylesheet {name:?} attached to {attachedto:?}");
        attached = true;
    }
    if attached {
        cache::after_theme_form(db, config, tid, false)?;
    }

    let orders_changed = new.stylesheets.iter().any(|(name, sheet)| {
        current.stylesheets.get(name).is_some_and(|old| old.disporder != sheet.disporder)
    });
    if orders_changed && !save_orders(db, tid, new)? {
        return Ok(false);
    }
    if orders_changed {
        cache::after_theme_form(db, config, tid, true)?;
    }
    Ok(true)
}

/// The Edit Theme form's write: the row's name, parent, groups and rebuilt properties.
fn edit_theme(db: &Db, board: &Board, tid: u32, form: &ThemeForm, new: &ThemeFile) -> Result<bool> {
    let old = serialize::parse(&form.properties).unwrap_or(Value::Null);
    let Some(disporder) = old.get("disporder").filter(|d| d.as_array().is_some()).cloned() else {
        return Err(Error::Data {
            what: format!(
                "theme {tid}: There was an error finding the display orders for the stylesheets. \
                 Please refresh the page and try again. (its properties have no disporder)"
            ),
        });
    };
    let properties = edit_theme_properties(board, &new.properties, disporder)?;
    let pid = match &new.parent {
        Some(name) => board.theme_by_name(name).map_or(0, |t| t.tid),
        None => 0,
    };
    let updated = ThemeForm {
        name: new.name.clone(),
        pid,
        allowedgroups: new.allowedgroups.to_column(),
        properties: serialize::to_string(&properties),
    };
    let written = db.update_theme_form(tid, &updated, form)?;
    if written {
        log::debug!("theme {tid}: Edit Theme fields written");
    }
    Ok(written)
}

/// Returns `properties` as the Edit Theme form builds it, with the theme's old `disporder`.
fn edit_theme_properties(board: &Board, p: &Properties, disporder: Value) -> Result<Value> {
    let sid = p.templateset.as_deref().and_then(|t| board.set_sid(t)).unwrap_or(0);
    let key = |k: &str| Key::Str(k.to_owned());
    let mut out = vec![
        (key("templateset"), Value::Int(i64::from(sid))),
        (key("editortheme"), Value::Str(p.editortheme.clone())),
        (key("imgdir"), Value::Str(p.imgdir.clone())),
        (key("logo"), Value::Str(p.logo.clone())),
        (key("tablespace"), Value::Int(p.tablespace)),
        (key("borderwidth"), Value::Int(p.borderwidth)),
    ];
    if let Some(color) = p.color.as_ref().filter(|c| *c != "none") {
        out.push((key("color"), Value::Str(color.clone())));
    }
    let pairs = color_pairs(&p.colors).map_err(|what| Error::Data { what })?;
    if !pairs.is_empty() {
        let colors = pairs.into_iter().map(|(n, v)| (Key::php(&n), Value::Str(v))).collect();
        out.push((key("colors"), Value::Array(colors)));
    }
    out.push((key("disporder"), disporder));
    Ok(Value::Array(out))
}

/// Save Stylesheet Orders: `properties['disporder']` from the file's orders. Returns false if
/// the row changed meanwhile.
fn save_orders(db: &Db, tid: u32, new: &ThemeFile) -> Result<bool> {
    // Read again: Edit Theme may have just rewritten the row.
    let board = Board::load(db)?;
    let forms = db.theme_forms()?;
    let Some((_, form)) = forms.iter().find(|(t, _)| *t == tid) else { return Ok(false) };
    let mut properties = match serialize::parse(&form.properties) {
        Ok(v @ Value::Array(_)) => v,
        _ => Value::Array(Vec::new()),
    };
    properties.insert("disporder", saved_orders(&board, tid, new));
    let updated = ThemeForm { properties: serialize::to_string(&properties), ..form.clone() };
    db.update_theme_form(tid, &updated, form)
}

/// Returns the `disporder` the Save Stylesheet Orders form stores for the orders of `new`:
/// every stylesheet the theme has, in the form's order (sid descending), the file's value or
/// 0, sorted by value as `asort()` sorts (stably).
fn saved_orders(board: &Board, tid: u32, new: &ThemeFile) -> Value {
    let mut rows: Vec<_> = board.resolved_stylesheets(tid).into_values().collect();
    // The form's list comes sid-descending (`ORDER BY sid DESC`); asort() is stable.
    rows.sort_by_key(|r| std::cmp::Reverse(r.sid));
    let mut orders: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            let order = new.stylesheets.get(&r.name).and_then(|s| s.disporder).unwrap_or(0);
            (r.name.clone(), order)
        })
        .collect();
    orders.sort_by_key(|(_, order)| *order);
    Value::Array(orders.into_iter().map(|(n, o)| (Key::php(&n), Value::Int(o))).collect())
}

/// Returns the stylesheet list theme `tid` would have once the pages of `new` (its edited file)
/// are stored (an inherited stylesheet copied into the theme first), as
/// `update_theme_stylesheet_list()` builds it with every cache file in place; with
/// `properties` (after Edit Theme or Save Orders, which rebuild the display orders), also
/// those properties with `disporder` rebuilt as it then rebuilds it. For `theme export
/// --from-files`, whose stylesheets follow the list's order.
pub fn list_after(
    board: &Board,
    tid: u32,
    new: &ThemeFile,
    properties: Option<&Value>,
) -> (Value, Option<Value>) {
    let mut rows = board.stylesheets.clone();
    let mut next_sid = rows.iter().map(|r| r.sid).max().unwrap_or(0);
    let resolved: Vec<_> = board.resolved_stylesheets(tid).into_values().cloned().collect();
    for row in resolved {
        let Some(sheet) = new.stylesheets.get(&row.name) else { continue };
        let attachedto = sheet.attachedto_column();
        if attachedto == row.attachedto {
            continue;
        }
        if row.tid == tid {
            if let Some(own) = rows.iter_mut().find(|r| r.sid == row.sid) {
                own.attachedto = attachedto;
            }
        } else {
            next_sid += 1;
            rows.push(crate::mybb::db::StylesheetRow { sid: next_sid, tid, attachedto, ..row });
        }
    }
    let chain = board.theme_chain(tid);
    crate::mybb::stylecache::build_stylesheet_list(tid, &chain, &rows, properties, |_, _| {
        Some(u64::MAX)
    })
}

/// Returns the `properties` the theme forms would store for `new`, the edited file of theme
/// `tid` whose rows make `old` and hold `properties`: Edit Theme's rebuild when its fields
/// changed, Save Orders' `disporder` when an order changed. For `theme export --from-files`,
/// which writes a theme as it will be once its files are imported.
pub fn properties_after(
    board: &Board,
    tid: u32,
    properties: &Value,
    old: &ThemeFile,
    new: &ThemeFile,
) -> Result<Value> {
    let mut out = properties.clone();
    if edits_theme(old, new) {
        let disporder = properties.get("disporder").cloned().unwrap_or(Value::Array(Vec::new()));
        out = edit_theme_properties(board, &new.properties, disporder)?;
    }
    let orders_changed = new.stylesheets.iter().any(|(name, sheet)| {
        old.stylesheets.get(name).is_some_and(|o| o.disporder != sheet.disporder)
    });
    if orders_changed {
        out.insert("disporder", saved_orders(board, tid, new));
    }
    Ok(out)
}

/// Returns the theme file's text for theme `tid`, for `export` and the tests.
pub fn render_text(board: &Board, forms: &[(u32, ThemeForm)], tid: u32) -> Option<String> {
    render_theme(board, forms, tid).map(|file| theme_file::render(&file))
}
