//! The theme properties `publish` carries (issue 29 with issue 28's theme file): the Edit
//! Theme form's look fields and each stylesheet's pages and order, flattened to one text per
//! field so that the base, the copy and the live theme compare field by field. The copy's own
//! identity (its name, its parent, its allowed groups, its template set) is never a field here:
//! those differ from the live theme's by design.
//!
//! Writing goes through the theme forms' writer (`mybb/theme_forms.rs`: Edit Theme,
//! stylesheet properties, Save Stylesheet Orders, each a compare-and-swap, then the list and
//! the caches), with the fields to carry set on what the live theme renders just before.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::error::Result;
use crate::mybb::board::Board;
use crate::mybb::db::Db;
use crate::mybb::theme_file::{Sheet, ThemeFile};
use crate::mybb::theme_forms::{Checks, apply, problems, render_theme};
use crate::mybb::validate::ItemKind;
use crate::sync::devtheme::ThemeNow;
use crate::sync::devtheme::publish::{Action, Entry, Outcome, Planned};
use crate::sync::devtheme::record::Items;

/// The carried fields of a theme, `field -> value`.
pub type Fields = BTreeMap<String, String>;

/// The carried fields of the Edit Theme form, in its order.
const PROPERTY_FIELDS: [&str; 7] =
    ["editortheme", "imgdir", "logo", "tablespace", "borderwidth", "color", "colors"];

/// Returns the carried fields of theme `tid` as its rows make it, or None for an unknown theme.
pub fn read(db: &Db, board: &Board, tid: u32) -> Result<Option<Fields>> {
    let forms = db.theme_forms()?;
    Ok(render_theme(board, &forms, tid).map(|file| fields(&file)))
}

/// Returns the carried fields of a theme file: `properties.KEY` for the look fields, and
/// `stylesheets.NAME.attachedto` (pages joined by `|`) and `stylesheets.NAME.disporder`
/// (empty when the order does not list it) for each stylesheet.
pub fn fields(file: &ThemeFile) -> Fields {
    let p = &file.properties;
    let mut out = Fields::new();
    for key in PROPERTY_FIELDS {
        let value = match key {
            "editortheme" => p.editortheme.clone(),
            "imgdir" => p.imgdir.clone(),
            "logo" => p.logo.clone(),
            "tablespace" => p.tablespace.to_string(),
            "borderwidth" => p.borderwidth.to_string(),
            "color" => p.color.clone().unwrap_or_default(),
            _ => p.colors.join("\n"),
        };
        out.insert(format!("properties.{key}"), value);
    }
    for (name, sheet) in &file.stylesheets {
        out.insert(format!("stylesheets.{name}.attachedto"), sheet.attachedto_column());
        let order = sheet.disporder.map(|o| o.to_string()).unwrap_or_default();
        out.insert(format!("stylesheets.{name}.disporder"), order);
    }
    out
}

/// Sets field `field` of `file` to `value`. Returns false for a field the file has no place
/// for (a stylesheet it does not have, an unknown key, an order that is not a number).
fn set(file: &mut ThemeFile, field: &str, value: &str) -> bool {
    let p = &mut file.properties;
    if let Some(key) = field.strip_prefix("properties.") {
        match key {
            "editortheme" => p.editortheme = value.to_owned(),
            "imgdir" => p.imgdir = value.to_owned(),
            "logo" => p.logo = value.to_owned(),
            "tablespace" | "borderwidth" => {
                let Ok(n) = value.parse::<i64>() else { return false };
                if key == "tablespace" {
                    p.tablespace = n;
                } else {
                    p.borderwidth = n;
                }
            }
            "color" => p.color = (!value.is_empty()).then(|| value.to_owned()),
            "colors" => {
                p.colors = value.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
            }
            _ => return false,
        }
        return true;
    }
    let Some(rest) = field.strip_prefix("stylesheets.") else { return false };
    let (name, what) = match rest.rsplit_once('.') {
        Some((name, what @ ("attachedto" | "disporder"))) => (name, what),
        _ => return false,
    };
    let Some(sheet) = file.stylesheets.get_mut(name) else { return false };
    if what == "attachedto" {
        sheet.attachedto = Sheet::split_attachedto(value);
    } else if value.is_empty() {
        sheet.disporder = None;
    } else {
        let Ok(n) = value.parse::<i64>() else { return false };
        sheet.disporder = Some(n);
    }
    true
}

/// How one field's three sides stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPlan {
    /// The copy changed it and the live theme did not: the copy's value goes live.
    Carry,
    /// Both changed it, to different values: nothing of it is written.
    Conflict,
}

/// Plans one field from its three values: None when the copy did not change it since the base (or the live
/// theme has the copy's value already).
pub fn plan_field(base: Option<&str>, copy: Option<&str>, live: Option<&str>) -> Option<FieldPlan> {
    let copy = copy?;
    if base == Some(copy) || live == Some(copy) {
        return None;
    }
    // A field the live theme lacks (a stylesheet it does not have) is the stylesheet's
    // own publish to make; its order and pages are carried once it exists.
    let live = live?;
    Some(if base == Some(live) || base.is_none() { FieldPlan::Carry } else { FieldPlan::Conflict })
}

/// Returns a field's value as text, if it has one.
fn side(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str)
}

/// Returns the plan's theme fields: each carried field the copy changed since `base`, against
/// `live`, by name. None of them when the record has no base for them (made by an older
/// version).
pub fn plan(base: &Items, live: &ThemeNow, copy: &ThemeNow) -> Vec<Planned> {
    let Some(base) = &base.theme else { return Vec::new() };
    let mut names: Vec<&String> = base.keys().chain(copy.fields.keys()).collect();
    names.sort();
    names.dedup();
    let mut plan = Vec::new();
    for name in names {
        let (b, c, l) = (base.get(name), copy.fields.get(name), live.fields.get(name));
        let Some(field) = plan_field(side(b), side(c), side(l)) else { continue };
        let copy_value = c.cloned().unwrap_or_default();
        let item = |action, changed, reason, result| Planned {
            kind: ItemKind::Theme,
            name: name.clone(),
            action,
            changed,
            reason,
            live: l.cloned(),
            result,
            copy: copy_value.clone(),
            attachedto: String::new(),
        };
        plan.push(match field {
            FieldPlan::Carry => item(Action::Publish, "copy", None, Some(copy_value.clone())),
            FieldPlan::Conflict => item(
                Action::Conflict,
                "both",
                Some(format!(
                    "changed in the copy (to {copy_value:?}) and in the live theme (to {:?}) \
                     since the base ({:?})",
                    side(l).unwrap_or_default(),
                    side(b).unwrap_or_default()
                )),
                None,
            ),
        });
    }
    plan
}

/// Refuses in `plan` each theme field it carries that the live theme `tid`'s forms would refuse
/// once set: the fields to publish are set on what the live theme renders now and checked as
/// the writer checks them (`theme_forms::problems`), so that nothing is written for them and
/// `--dry-run` says so, rather than the writer failing half-way through the publish. A refusal
/// that names no carried field (Edit Theme checks the whole form) refuses every carried
/// property field.
pub fn refuse_invalid(db: &Db, config: &Config, tid: u32, plan: &mut [Planned]) -> Result<()> {
    let carried = |p: &Planned| p.kind == ItemKind::Theme && p.action == Action::Publish;
    if !plan.iter().any(carried) {
        return Ok(());
    }
    let board = Board::load(db)?;
    let forms = db.theme_forms()?;
    let Some(seen) = render_theme(&board, &forms, tid) else { return Ok(()) };
    let mut new = seen.clone();
    for item in plan.iter().filter(|p| carried(p)) {
        if let Some(value) = &item.result {
            set(&mut new, &item.name, value);
        }
    }
    let checks = Checks { mybb_root: config.mybb_root.as_deref(), new_sheets: &[] };
    for why in problems(db, &board, tid, &seen, &new, checks) {
        let field = why.split_once(": ").map_or("", |(field, _)| field);
        // `stylesheets.NAME.attachedto[2]` is the field `stylesheets.NAME.attachedto`.
        let field = field.split_once('[').map_or(field, |(field, _)| field);
        let named = plan.iter().any(|p| carried(p) && p.name == field);
        for item in plan.iter_mut().filter(|p| carried(p)) {
            let hit = if named { item.name == field } else { item.name.starts_with("properties.") };
            if hit {
                item.action = Action::Refused;
                item.reason = Some(format!("the live theme would refuse it: {why}"));
            }
        }
    }
    Ok(())
}

/// Carries the theme-field entries of `entries` (the others are the caller's) onto live
/// theme `live_tid`, setting their outcomes; a field settled for the live theme
/// (`--prefer live`) is also given to the copy `copy_tid`, so that the two agree again.
pub fn run_entries(
    db: &Db,
    config: &Config,
    entries: &[Entry],
    (live_tid, copy_tid): (u32, u32),
    outcomes: &mut [Outcome],
) -> Result<()> {
    let picked: Vec<usize> =
        (0..entries.len()).filter(|i| entries[*i].kind == ItemKind::Theme).collect();
    if picked.is_empty() {
        return Ok(());
    }
    let change = |e: &Entry| (e.name.clone(), e.result.clone(), e.expect_live.clone());
    let changes: Vec<_> = picked.iter().map(|i| change(&entries[*i])).collect();
    for (i, outcome) in picked.iter().zip(carry(db, config, live_tid, &changes)?) {
        outcomes[*i] = outcome;
    }
    let back: Vec<_> = picked
        .iter()
        .map(|i| &entries[*i])
        .zip(picked.iter().map(|i| outcomes[*i]))
        .filter(|(e, o)| *o != Outcome::Changed && e.result != e.copy_before)
        .map(|(e, _)| (e.name.clone(), e.result.clone(), Some(e.copy_before.clone())))
        .collect();
    if !back.is_empty() && carry(db, config, copy_tid, &back)?.contains(&Outcome::Changed) {
        log::warn!(
            "the development copy's theme fields changed while publishing, so it keeps its \
             own; the next publish plans them again"
        );
    }
    Ok(())
}

/// Carries `changes` (`(field, value, value the live theme held when planned)`) onto live
/// theme `tid` through the theme forms' writer: the fields whose live value is still the
/// planned one are set together on what the theme renders now and written form by form,
/// compare-and-swap. A field whose live value moved meanwhile is not written (Changed); if
/// the writer finds the theme changed under it, none are.
pub fn carry(
    db: &Db,
    config: &Config,
    tid: u32,
    changes: &[(String, String, Option<String>)],
) -> Result<Vec<Outcome>> {
    let board = Board::load(db)?;
    let forms = db.theme_forms()?;
    let Some(seen) = render_theme(&board, &forms, tid) else {
        return Ok(vec![Outcome::Changed; changes.len()]);
    };
    let now = fields(&seen);
    let mut new = seen.clone();
    let mut outcomes = Vec::with_capacity(changes.len());
    for (field, value, planned) in changes {
        let current = now.get(field);
        let outcome = if current == Some(value) {
            Outcome::AlreadyLive
        } else if current == planned.as_ref() && set(&mut new, field, value) {
            Outcome::Written
        } else {
            log::warn!(
                "theme field {field}: changed in the live theme while publishing; not written \
                 (publish again)"
            );
            Outcome::Changed
        };
        outcomes.push(outcome);
    }
    if new == seen {
        return Ok(outcomes);
    }
    if !apply(db, config, tid, &seen, &new, &[])? {
        log::warn!(
            "theme {tid}: its fields were written by someone else while publishing; not \
             written (publish again)"
        );
        for outcome in &mut outcomes {
            if *outcome == Outcome::Written {
                *outcome = Outcome::Changed;
            }
        }
        return Ok(outcomes);
    }
    for ((field, value, _), outcome) in changes.iter().zip(&outcomes) {
        if *outcome == Outcome::Written {
            log::info!("theme {tid} field {field}: written ({value:?})");
        }
    }
    crate::test_hooks::kill_if(crate::test_hooks::KILL_AT_PUBLISH);
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_carried_only_when_the_copy_changed_it_and_the_live_theme_did_not() {
        assert_eq!(plan_field(Some("a"), Some("a"), Some("b")), None);
        assert_eq!(plan_field(Some("a"), Some("c"), Some("a")), Some(FieldPlan::Carry));
        assert_eq!(plan_field(Some("a"), Some("c"), Some("c")), None);
        assert_eq!(plan_field(Some("a"), Some("c"), Some("b")), Some(FieldPlan::Conflict));
        assert_eq!(plan_field(None, Some("3"), Some("")), Some(FieldPlan::Carry));
        assert_eq!(plan_field(None, Some("3"), None), None);
    }
}
