//! `publish`'s engine (issue 29): what changed in a development copy since its base, merged
//! three-way onto the live theme, and written as the Admin CP writes it.
//!
//! Planning compares three texts per item: the base (what the live theme rendered when the copy
//! and it last agreed), the copy now (its live-reload block taken out) and the live theme now.
//! Only the copy's changes travel: an item the copy left alone is never written, whatever the
//! live side did. Where both changed, `textmerge::merge3` merges them; lines both changed are a
//! conflict, and nothing of that item is written. Theme fields are planned and written by
//! `props.rs`, field by field, as items of kind `Theme`.
//!
//! Writing is resumable: the plan's results go to a journal (`.mybb-sync/dev/theme-TID.publish
//! .json`) before the first row is written, and each entry is written only while the live row
//! still holds what the plan saw (compare-and-swap); a row that already holds the result is
//! done. A run killed half-way is finished by the next one, nothing written twice, and the
//! base moves only once every entry is done.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::cache::{self, WrittenStylesheet};
use crate::mybb::db::{Db, now};
use crate::mybb::validate::{ItemKind, validate};
use crate::php::text::rtrim;
use crate::sync::devtheme::livescript::{self, SCRIPT_MARK};
use crate::sync::devtheme::record::{self, DevRecord};
use crate::sync::devtheme::{SheetNow, TemplateNow, ThemeNow, props};
use crate::sync::textmerge::{Labels, merge3};

/// What publish does with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Changed in the copy only: the copy's content goes live.
    Publish,
    /// Changed in the copy and live, on other lines: the merge goes live.
    Merge,
    /// Changed in both on the same lines (or added or deleted on one side and changed on the
    /// other): nothing of it is written.
    Conflict,
    /// The result may not be stored (validation, `check_template`, a live-reload script).
    Refused,
    /// Not carried (a stylesheet deleted in the copy, a template whose live row is global).
    Skipped,
    /// Deleted in the copy, unchanged live: the live set's row is deleted, as the Admin CP's
    /// delete of a template without a master does.
    Delete,
    /// A conflict settled for the live theme (`--prefer live`): the copy gets the live content.
    KeepLive,
}

/// Which side settles a conflict (`publish --prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// The copy's content goes live: the copy was edited to hold what is wanted.
    Copy,
    /// The live content stays and goes into the copy: the copy's change is given up.
    Live,
}

impl Action {
    /// The word printed and put in `--json`'s `action`.
    pub fn word(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Merge => "merge",
            Action::Conflict => "conflict",
            Action::Refused => "refused",
            Action::Skipped => "skipped",
            Action::Delete => "delete",
            Action::KeepLive => "keep-live",
        }
    }

    /// Returns true if and only if the item is written.
    pub fn writes(self) -> bool {
        matches!(self, Action::Publish | Action::Merge | Action::KeepLive | Action::Delete)
    }
}

/// One item of the plan.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: ItemKind,
    pub name: String,
    pub action: Action,
    /// Which side changed since the base: `copy`, or `both`.
    pub changed: &'static str,
    /// Why, for a conflict, a refusal or a skip.
    pub reason: Option<String>,
    /// The live theme's content now (None: it has no such item).
    pub live: Option<String>,
    /// What the live theme gets; for a conflict, the merge with its markers, if one was made.
    pub result: Option<String>,
    /// The copy's content, its live-reload block taken out.
    pub copy: String,
    /// The `attachedto` of the copy's stylesheet, for a stylesheet new to the live theme.
    pub attachedto: String,
}

/// Returns the plan: every template and stylesheet changed in `copy` since `base`, against
/// `live`, by kind then name, then the theme fields (`props::plan`).
pub fn plan(base: &record::Items, live: &ThemeNow, copy: &ThemeNow) -> Vec<Planned> {
    let mut plan = Vec::new();
    let copy_templates: BTreeMap<&str, &TemplateNow> =
        copy.templates.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let titles = names(base.templates.keys(), copy.templates.keys());
    for title in titles {
        let copy_text = copy_templates.get(title.as_str()).map(|t| livescript::strip(&t.text));
        let sides = Sides {
            base: base.templates.get(&title).map(String::as_str),
            copy: copy_text.as_deref(),
            live: live.templates.get(&title).map(|t| t.text.as_str()),
        };
        if let Some(item) = plan_item(ItemKind::Template, &title, &sides, String::new()) {
            plan.push(item);
        }
    }
    let sheet_names = names(base.stylesheets.keys(), copy.stylesheets.keys());
    for name in sheet_names {
        let copy_sheet = copy.stylesheets.get(&name);
        let sides = Sides {
            base: base.stylesheets.get(&name).map(String::as_str),
            copy: copy_sheet.map(|s| s.text.as_str()),
            live: live.stylesheets.get(&name).map(|s| s.text.as_str()),
        };
        let attachedto = copy_sheet.map(|s| s.attachedto.clone()).unwrap_or_default();
        if let Some(item) = plan_item(ItemKind::Stylesheet, &name, &sides, attachedto) {
            plan.push(item);
        }
    }
    plan.extend(props::plan(base, live, copy));
    plan
}

/// The three sides of one item.
struct Sides<'a> {
    base: Option<&'a str>,
    copy: Option<&'a str>,
    live: Option<&'a str>,
}

/// Returns the sorted union of two sets of names.
fn names<'a>(
    a: impl Iterator<Item = &'a String>,
    b: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut all: Vec<String> = a.chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// Returns true if and only if two contents of a `kind` item are the same to MyBB: templates
/// right-trimmed, as the Admin CP saves them.
fn same(kind: ItemKind, a: &str, b: &str) -> bool {
    match kind {
        ItemKind::Template => rtrim(a) == rtrim(b),
        ItemKind::Stylesheet | ItemKind::Theme => a == b,
    }
}

/// Plans one item, or None when the copy did not change it (or the live theme has the copy's
/// content already).
fn plan_item(kind: ItemKind, name: &str, sides: &Sides<'_>, attachedto: String) -> Option<Planned> {
    let item = |action, changed, reason: Option<&str>, result: Option<String>| Planned {
        kind,
        name: name.to_owned(),
        action,
        changed,
        reason: reason.map(str::to_owned),
        live: sides.live.map(str::to_owned),
        result,
        copy: sides.copy.unwrap_or_default().to_owned(),
        attachedto: attachedto.clone(),
    };
    let Some(copy) = sides.copy else {
        let base = sides.base?;
        return match sides.live {
            // Deleted on both sides.
            None => None,
            Some(live) if kind == ItemKind::Template && same(kind, live, base) => {
                Some(item(Action::Delete, "copy", None, Some(String::new())))
            }
            Some(_) if kind == ItemKind::Template => Some(item(
                Action::Conflict,
                "both",
                Some("deleted in the copy, changed in the live theme"),
                None,
            )),
            Some(_) => Some(item(
                Action::Skipped,
                "copy",
                Some(
                    "not in the copy (no longer a child of the live theme?): publish deletes no stylesheet (delete it live in the Admin CP, or with import)",
                ),
                None,
            )),
        };
    };
    if sides.base.is_some_and(|base| same(kind, base, copy)) {
        return None;
    }
    if sides.live.is_some_and(|live| same(kind, live, copy)) {
        // Both made the same change, or the live theme has it from an earlier publish.
        return None;
    }
    let planned = match (sides.base, sides.live) {
        (None, None) => item(Action::Publish, "copy", None, Some(copy.to_owned())),
        (None, Some(_)) => item(
            Action::Conflict,
            "both",
            Some("added in the copy and, with other content, in the live theme"),
            None,
        ),
        (Some(_), None) => item(
            Action::Conflict,
            "both",
            Some("changed in the copy, deleted in the live theme"),
            None,
        ),
        (Some(base), Some(live)) if same(kind, base, live) => {
            item(Action::Publish, "copy", None, Some(copy.to_owned()))
        }
        (Some(base), Some(live)) => {
            let labels = Labels { ours: "live", base: "base", theirs: "development copy" };
            let merged = merge3(base, live, copy, labels);
            if merged.conflicts > 0 {
                item(
                    Action::Conflict,
                    "both",
                    Some("changed in the copy and in the live theme, on the same lines"),
                    Some(merged.text),
                )
            } else {
                item(Action::Merge, "both", None, Some(merged.text))
            }
        }
    };
    Some(checked(planned))
}

/// Settles the conflicts of `plan` for side `prefer`: with the copy, the copy's content is
/// published (checked as any result); with the live theme, the copy gets the live content. A
/// conflict where one side deleted the item stays one.
pub fn settle(plan: Vec<Planned>, prefer: Prefer) -> Vec<Planned> {
    plan.into_iter()
        .map(|mut item| {
            if item.action != Action::Conflict {
                return item;
            }
            match (prefer, item.live.clone()) {
                (Prefer::Copy, _) => {
                    item.action = Action::Publish;
                    item.result = Some(item.copy.clone());
                }
                (Prefer::Live, Some(live)) => {
                    item.action = Action::KeepLive;
                    item.result = Some(live);
                }
                (Prefer::Live, None) => return item,
            }
            item.reason = Some(format!(
                "in conflict, settled for the {} (--prefer)",
                if prefer == Prefer::Copy { "copy" } else { "live theme" }
            ));
            checked(item)
        })
        .collect()
}

/// Returns `item` refused if its result may not be stored: what validation (with MyBB's
/// `check_template()`) refuses, or a live-reload script the live theme does not have.
fn checked(mut item: Planned) -> Planned {
    let writes = item.action.writes() && item.action != Action::Delete;
    let Some(result) = item.result.as_mut().filter(|_| writes) else { return item };
    if item.kind == ItemKind::Template {
        let trimmed = rtrim(result).len();
        result.truncate(trimmed);
    }
    let reason = if result.contains(SCRIPT_MARK)
        && !item.live.as_deref().is_some_and(|live| live.contains(SCRIPT_MARK))
    {
        Some("it holds a live-reload script, which never goes to the live theme".to_owned())
    } else {
        validate(item.kind, result.as_bytes()).err().map(|refusal| refusal.to_string())
    };
    if let Some(reason) = reason {
        item.action = Action::Refused;
        item.reason = Some(reason);
    }
    item
}

/// One write of a publish, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: ItemKind,
    pub name: String,
    /// What the live theme gets.
    pub result: String,
    /// What the live theme held when planned (None: no such item): written only over that.
    pub expect_live: Option<String>,
    /// What the copy held when planned: the copy gets the result too (a merge) only over that.
    pub copy_before: String,
    pub attachedto: String,
    /// The item is deleted from the live theme rather than written.
    pub delete: bool,
}

impl Entry {
    /// The entry of a planned item that writes.
    pub fn of(item: &Planned) -> Option<Entry> {
        let result = item.result.clone().filter(|_| item.action.writes())?;
        Some(Entry {
            kind: item.kind,
            name: item.name.clone(),
            result,
            expect_live: item.live.clone(),
            copy_before: item.copy.clone(),
            attachedto: item.attachedto.clone(),
            delete: item.action == Action::Delete,
        })
    }
}

/// How one entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written now.
    Written,
    /// The live theme held the result already (an earlier, interrupted run wrote it).
    AlreadyLive,
    /// The live item changed since it was planned: nothing written; publish again.
    Changed,
}

/// Writes the journal of `entries` for live theme `record.theme_tid`.
pub fn write_journal(
    root: &Path,
    record: &DevRecord,
    entries: &[Entry],
    durable: bool,
) -> Result<()> {
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "kind": e.kind.to_string(),
                "name": e.name,
                "result": e.result,
                "expect_live": e.expect_live,
                "copy_before": e.copy_before,
                "attachedto": e.attachedto,
                "delete": e.delete,
            })
        })
        .collect();
    let value = json!({"format": 1, "theme_tid": record.theme_tid, "entries": entries});
    record::write_json(&record::journal_path(root, record.theme_tid), &value, durable)
}

/// Reads the journal of an unfinished publish of live theme `tid`, if there is one.
pub fn read_journal(root: &Path, tid: u32) -> Result<Option<Vec<Entry>>> {
    let file = record::journal_path(root, tid);
    let Some(value) = record::read_json(&file)? else { return Ok(None) };
    let damaged = || Error::Data {
        what: format!(
            "{}: the journal of an interrupted publish is damaged; remove it and publish again \
             (items it wrote are then found live already)",
            file.display()
        ),
    };
    let list = value.get("entries").and_then(Value::as_array).ok_or_else(damaged)?;
    let mut entries = Vec::new();
    for e in list {
        let text = |key: &str| e.get(key).and_then(Value::as_str).map(str::to_owned);
        let kind = match text("kind").as_deref() {
            Some("template") => ItemKind::Template,
            Some("stylesheet") => ItemKind::Stylesheet,
            Some("theme file") => ItemKind::Theme,
            _ => return Err(damaged()),
        };
        entries.push(Entry {
            kind,
            name: text("name").ok_or_else(damaged)?,
            result: text("result").ok_or_else(damaged)?,
            expect_live: text("expect_live"),
            copy_before: text("copy_before").ok_or_else(damaged)?,
            attachedto: text("attachedto").unwrap_or_default(),
            delete: e.get("delete").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    Ok(Some(entries))
}

/// Removes the journal of live theme `tid`: the publish is complete.
pub fn remove_journal(root: &Path, tid: u32) -> Result<()> {
    let file = record::journal_path(root, tid);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::IoAt { path: file, action: "remove", source: e }),
    }
}

/// The board, the themes and what writes to them.
pub struct Writer<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    /// The board's version code, which every template the Admin CP saves carries.
    pub version: String,
}

impl Writer<'_> {
    /// Carries out `entries` onto live theme `live_tid` (rendering `live`) and, for merges,
    /// into the copy (`copy_tid`, rendering `copy`), each only over what it was planned
    /// against. Returns how each entry went, in order.
    pub fn run(
        &self,
        entries: &[Entry],
        (live_tid, live): (u32, &ThemeNow),
        (copy_tid, copy): (u32, &ThemeNow),
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.kind == ItemKind::Theme {
                // Set below by the theme fields' run.
                outcomes.push(Outcome::Changed);
                continue;
            }
            let outcome = self.publish_one(entry, live_tid, live)?;
            if outcome != Outcome::Changed && !same(entry.kind, &entry.copy_before, &entry.result) {
                self.merge_into_copy(entry, copy_tid, copy)?;
            }
            outcomes.push(outcome);
        }
        // Theme fields last: a stylesheet published above is then there to attach and order.
        props::run_entries(self.db, self.config, entries, (live_tid, copy_tid), &mut outcomes)?;
        Ok(outcomes)
    }

    /// Writes one entry onto the live theme, unless it holds the result already or changed.
    fn publish_one(&self, entry: &Entry, tid: u32, live: &ThemeNow) -> Result<Outcome> {
        if entry.delete {
            return self.delete_one(entry, live);
        }
        let now_text = match entry.kind {
            ItemKind::Template => live.templates.get(&entry.name).map(|t| t.text.as_str()),
            ItemKind::Stylesheet => live.stylesheets.get(&entry.name).map(|s| s.text.as_str()),
            // Carried by `props::run_entries`, never here.
            ItemKind::Theme => return Ok(Outcome::Changed),
        };
        if now_text.is_some_and(|text| same(entry.kind, text, &entry.result)) {
            log::info!("{} {:?}: live already", entry.kind, entry.name);
            return Ok(Outcome::AlreadyLive);
        }
        let as_planned = match (now_text, entry.expect_live.as_deref()) {
            (None, None) => true,
            (Some(now), Some(planned)) => same(entry.kind, now, planned),
            _ => false,
        };
        if !as_planned {
            log::warn!(
                "{} {:?}: changed in the live theme while publishing; not written (publish again)",
                entry.kind,
                entry.name
            );
            return Ok(Outcome::Changed);
        }
        let written = match entry.kind {
            ItemKind::Template => self.write_template(
                live.sid,
                &entry.name,
                &entry.result,
                live.templates.get(&entry.name),
            )?,
            ItemKind::Stylesheet => self.write_stylesheet(
                tid,
                &entry.name,
                &entry.result,
                live.stylesheets.get(&entry.name),
                &entry.attachedto,
            )?,
            ItemKind::Theme => false,
        };
        if !written {
            log::warn!(
                "{} {:?}: written by someone else while publishing; not written (publish again)",
                entry.kind,
                entry.name
            );
            return Ok(Outcome::Changed);
        }
        log::info!("{} {:?}: published to the live theme", entry.kind, entry.name);
        crate::test_hooks::kill_if(crate::test_hooks::KILL_AT_PUBLISH);
        Ok(Outcome::Written)
    }

    /// Deletes the live set's row of a template deleted in the copy, if it still holds what
    /// was planned (compare-and-swap); a row gone already is done.
    fn delete_one(&self, entry: &Entry, live: &ThemeNow) -> Result<Outcome> {
        let Some(now) = live.templates.get(&entry.name) else {
            log::info!("template {:?}: deleted live already", entry.name);
            return Ok(Outcome::AlreadyLive);
        };
        let planned = entry.expect_live.as_deref().unwrap_or_default();
        let deleted = match &now.own {
            Some((tid, seen)) if same(ItemKind::Template, &now.text, planned) => {
                self.db.delete_custom_template(*tid, &entry.name, seen)?
            }
            _ => false,
        };
        if !deleted {
            log::warn!(
                "template {:?}: changed in the live theme while publishing; not deleted \
                 (publish again)",
                entry.name
            );
            return Ok(Outcome::Changed);
        }
        log::info!("template {:?}: deleted from the live theme", entry.name);
        crate::test_hooks::kill_if(crate::test_hooks::KILL_AT_PUBLISH);
        Ok(Outcome::Written)
    }

    /// Gives the copy a merged result (its live-reload block kept), so that copy, live theme
    /// and base agree again; left alone (with a warning) if the copy changed meanwhile.
    fn merge_into_copy(&self, entry: &Entry, tid: u32, copy: &ThemeNow) -> Result<()> {
        let written = match entry.kind {
            ItemKind::Theme => return Ok(()),
            ItemKind::Template => {
                let now = copy.templates.get(&entry.name);
                let raw = now.map(|t| t.text.as_str()).unwrap_or_default();
                let stripped = livescript::strip(raw);
                if same(entry.kind, &stripped, &entry.result) {
                    return Ok(());
                }
                if !same(entry.kind, &stripped, &entry.copy_before) {
                    false
                } else {
                    let content = livescript::carry_block(raw, &entry.result);
                    self.write_template(copy.sid, &entry.name, &content, now)?
                }
            }
            ItemKind::Stylesheet => {
                let now = copy.stylesheets.get(&entry.name);
                let text = now.map(|s| s.text.as_str()).unwrap_or_default();
                if text == entry.result {
                    return Ok(());
                }
                text == entry.copy_before
                    && self.write_stylesheet(
                        tid,
                        &entry.name,
                        &entry.result,
                        now,
                        &entry.attachedto,
                    )?
            }
        };
        if !written {
            log::warn!(
                "{} {:?}: the development copy changed while publishing, so it keeps its own \
                 content; the next publish merges it again",
                entry.kind,
                entry.name
            );
        }
        Ok(())
    }

    /// Writes template `title` into set `sid` as the Admin CP's edit does: updates the set's
    /// own row if it still holds what was read, else inserts a copy-on-write row unless one
    /// appeared. Returns false if another writer got there first.
    pub fn write_template(
        &self,
        sid: i32,
        title: &str,
        content: &str,
        now: Option<&TemplateNow>,
    ) -> Result<bool> {
        let content = rtrim(content);
        validate(ItemKind::Template, content.as_bytes())
            .map_err(|refusal| Error::Data { what: format!("template {title:?}: {refusal}") })?;
        match now.and_then(|t| t.own.as_ref()) {
            Some((tid, seen)) => self.db.update_template(*tid, title, content, &self.version, seen),
            None => Ok(self.db.insert_template(sid, title, content, &self.version)?.is_some()),
        }
    }

    /// Writes stylesheet `name` of theme `tid` as the Admin CP's edit does (copy-on-write of an
    /// inherited one), then its cache files and the stylesheet lists. Returns false if another
    /// writer got there first.
    fn write_stylesheet(
        &self,
        tid: u32,
        name: &str,
        content: &str,
        now_sheet: Option<&SheetNow>,
        attachedto: &str,
    ) -> Result<bool> {
        validate(ItemKind::Stylesheet, content.as_bytes())
            .map_err(|refusal| Error::Data { what: format!("stylesheet {name:?}: {refusal}") })?;
        let sid = match now_sheet.and_then(|s| s.own.as_ref()) {
            Some((sid, seen)) => {
                if !self.db.update_stylesheet(*sid, name, content, now(), seen)? {
                    return Ok(false);
                }
                *sid
            }
            None => {
                let attachedto = now_sheet.map_or(attachedto, |s| s.attachedto.as_str());
                let Some(sid) = self.db.insert_stylesheet(tid, name, attachedto, content, now())?
                else {
                    return Ok(false);
                };
                u32::try_from(sid).map_err(|_| Error::Data {
                    what: format!("stylesheet {name:?} got sid {sid}, beyond MyBB's int unsigned"),
                })?
            }
        };
        let sheet = WrittenStylesheet { tid, sid, name, content };
        cache::after_stylesheet_write(self.db, self.config, &sheet)?;
        Ok(true)
    }
}

/// Returns `base` moved by the entries done: each gets its result.
pub fn moved_base(base: &record::Items, entries: &[Entry], outcomes: &[Outcome]) -> record::Items {
    let mut base = base.clone();
    for (entry, outcome) in entries.iter().zip(outcomes) {
        if *outcome == Outcome::Changed {
            continue;
        }
        let map = match entry.kind {
            ItemKind::Template => &mut base.templates,
            ItemKind::Stylesheet => &mut base.stylesheets,
            ItemKind::Theme => match base.theme.as_mut() {
                Some(fields) => fields,
                None => continue,
            },
        };
        if entry.delete {
            map.remove(&entry.name);
        } else {
            map.insert(entry.name.clone(), entry.result.clone());
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides<'a>(base: Option<&'a str>, copy: Option<&'a str>, live: Option<&'a str>) -> Sides<'a> {
        Sides { base, copy, live }
    }

    #[test]
    fn only_the_copys_changes_are_planned() {
        let t = ItemKind::Template;
        assert!(
            plan_item(t, "a", &sides(Some("x"), Some("x"), Some("y")), String::new()).is_none()
        );
        let p = plan_item(t, "a", &sides(Some("x"), Some("z"), Some("x")), String::new()).unwrap();
        assert_eq!((p.action, p.result.as_deref()), (Action::Publish, Some("z")));
        let p = plan_item(
            t,
            "a",
            &sides(Some("1\n2\n3\n4\n5"), Some("1\nC\n3\n4\n5"), Some("1\n2\n3\n4\nL")),
            String::new(),
        )
        .unwrap();
        assert_eq!((p.action, p.result.as_deref()), (Action::Merge, Some("1\nC\n3\n4\nL")));
        let p = plan_item(
            t,
            "a",
            &sides(Some("1\n2\n3"), Some("1\nC\n3"), Some("1\nL\n3")),
            String::new(),
        )
        .unwrap();
        assert_eq!(p.action, Action::Conflict);
        let p = plan_item(t, "a", &sides(Some("x"), None, Some("x")), String::new()).unwrap();
        assert_eq!(p.action, Action::Delete);
        let p = plan_item(t, "a", &sides(Some("x"), None, Some("y")), String::new()).unwrap();
        assert_eq!(p.action, Action::Conflict);
        assert!(plan_item(t, "a", &sides(Some("x"), None, None), String::new()).is_none());
    }

    #[test]
    fn a_live_reload_script_is_refused_and_check_template_applies() {
        let t = ItemKind::Template;
        let script = "<script src=\"http://127.0.0.1:35729/livereload.js\"></script>";
        let p =
            plan_item(t, "a", &sides(Some("x"), Some(script), Some("x")), String::new()).unwrap();
        assert_eq!(p.action, Action::Refused);
        let p = plan_item(t, "a", &sides(Some("x"), Some("{$a->b()}"), Some("x")), String::new())
            .unwrap();
        assert_eq!(p.action, Action::Refused);
    }
}
