//! Surviving a MyBB upgrade: which custom templates it made outdated, a three-way merge of the
//! upstream change into each, the Admin CP's revert, and diffs.
//!
//! A custom copy (a set's row, or a global row) is outdated when MyBB's own "Find Updated
//! Templates" query lists it (`mybb/db/mysql/upgrades.rs` runs that query, so versions
//! compare exactly as MyBB compares them), or when its master's content changed since the copy was made, as the
//! baseline (`baseline.rs`) knows even where the version did not move. The merge base is the
//! master the copy was made from: from the baseline, else from an old release's theme file
//! (`--base FILE.xml`). Merging writes files only, through the atomic writer, and leaves an
//! ordinary local edit for `import` or the watcher; nothing reaches the database without a
//! step the admin can review. Revert is the one database write here, and it is the Admin CP's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use fs_err as fs;

use crate::config::Config;
use crate::disk::atomic::{self, AtomicBatch, NotReplaced, Seen};
use crate::error::{Error, Result};
use crate::mybb::board::{Board, GLOBAL_SID, MASTER_SID};
use crate::mybb::db::{Db, VersionedTemplate};
use crate::php::text;
use crate::sync::baseline::Baseline;
use crate::sync::layout::{self, GLOBAL_SET_TITLE, ItemPath};
use crate::sync::plan::{Action, Syncer};
use crate::sync::state::{Identity, Owner, Record, State, content_hash};
use crate::sync::textmerge::{self, Labels};
use crate::sync::validate::conflict_marker_line;

/// Old master templates read from an old release's theme file (`--base FILE.xml`).
#[derive(Debug, Clone, Default)]
pub struct OldMasters {
    /// The file they came from, for messages and conflict labels.
    pub source: String,
    /// Per title: version and content.
    pub templates: HashMap<String, (String, Vec<u8>)>,
}

impl OldMasters {
    /// Reads the master templates of an old release from its theme file
    /// (`install/resources/mybb_theme.xml`, or an Admin CP export), with the shared theme XML
    /// reader (`mybb/theme_xml.rs`), which expands no entities and reads no DTD.
    pub fn read(path: &Path) -> Result<OldMasters> {
        let read = crate::mybb::theme_xml::read_file(path)?;
        let theme = read.and_then(|bytes| crate::mybb::theme_xml::parse(&bytes)).map_err(|e| {
            Error::usage(format!("--base {}: not a MyBB theme file: {e}", path.display()))
        })?;
        if theme.templates.is_empty() {
            return Err(Error::usage(format!(
                "--base {}: the theme file holds no templates (export it with its templates, or \
                 use the release's install/resources/mybb_theme.xml)",
                path.display()
            )));
        }
        let source = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
        let templates = theme
            .templates
            .into_iter()
            .map(|t| (t.name, (t.version, t.content.into_bytes())))
            .collect();
        Ok(OldMasters { source, templates })
    }
}

/// Where a merge base came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseSource {
    /// mybb-sync's baseline of the masters.
    Baseline,
    /// An old release's theme file, named.
    Xml(String),
}

/// The master a custom copy was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeBase {
    pub source: BaseSource,
    pub version: String,
    pub content: Vec<u8>,
}

/// One custom template an upgrade left behind its master.
#[derive(Debug, Clone)]
pub struct Outdated {
    /// The set's title ([`GLOBAL_SET_TITLE`] for a global row).
    pub set: String,
    /// The item's file (which need not exist yet).
    pub path: PathBuf,
    /// The custom row MyBB renders.
    pub copy: VersionedTemplate,
    /// The master row now in the database.
    pub master: VersionedTemplate,
    /// The master the copy was made from, if known.
    pub base: Option<MergeBase>,
    /// Whether MyBB's own Find Updated query lists it.
    pub listed_by_mybb: bool,
}

impl Outdated {
    /// Returns true if and only if the copy already builds on the current master (it was
    /// merged, and the merge not imported yet): MyBB lists it only for its old version.
    pub fn already_merged(&self) -> bool {
        self.base.as_ref().is_some_and(|b| b.content == self.master.template)
    }

    /// Returns the word `outdated --porcelain` prints for the merge base.
    pub fn base_word(&self) -> &'static str {
        match &self.base {
            _ if self.already_merged() => "merged",
            Some(MergeBase { source: BaseSource::Baseline, .. }) => "baseline",
            Some(MergeBase { source: BaseSource::Xml(_), .. }) => "xml",
            None => "none",
        }
    }
}

/// The board's templates as the upgrade commands see them, with the baseline refreshed.
pub struct Upgrade<'a> {
    db: &'a Db,
    config: &'a Config,
    board: Board,
    /// Per title, the master row (the highest tid).
    masters: HashMap<String, VersionedTemplate>,
    /// Per (sid, title), the custom row MyBB renders (the highest tid).
    copies: BTreeMap<(i32, String), VersionedTemplate>,
    /// The tids MyBB's Find Updated query lists.
    listed: HashSet<u32>,
    pub baseline: Baseline,
}

impl<'a> Upgrade<'a> {
    /// Reads the board's templates and refreshes the baseline (recording, before the new
    /// masters replace the old ones in it, what each copy was made from).
    pub fn load(db: &'a Db, config: &'a Config) -> Result<Upgrade<'a>> {
        let mut baseline = Baseline::load(&config.sync_root)?;
        let read = baseline.refresh(db, config.durable)?;
        let board = Board::load(db)?;
        let mut masters = HashMap::new();
        let mut copies = BTreeMap::new();
        let rows = match read {
            Some(rows) => rows,
            None => db.versioned_templates()?,
        };
        for row in rows {
            if row.sid == MASTER_SID {
                masters.insert(row.title.clone(), row);
            } else if row.sid == GLOBAL_SID || board.sets.iter().any(|(sid, _)| *sid == row.sid) {
                copies.insert((row.sid, row.title.clone()), row);
            }
        }
        let listed = db.find_updated()?.into_iter().collect();
        Ok(Upgrade { db, config, board, masters, copies, listed, baseline })
    }

    /// Returns the title of set `sid` as the layout names it.
    fn set_title(&self, sid: i32) -> String {
        if sid == GLOBAL_SID {
            return GLOBAL_SET_TITLE.to_owned();
        }
        self.board.sets.iter().find(|(s, _)| *s == sid).map(|(_, t)| t.clone()).unwrap_or_default()
    }

    /// Returns the file of template `title` in set `set`: the one already standing in some
    /// group folder of the set, else where export would write it.
    fn path_of(&self, set: &str, title: &str) -> PathBuf {
        let group = layout::group_folder(title, &self.board.groups);
        let item = ItemPath::Template { set: set.to_owned(), group, title: title.to_owned() };
        let path = self.config.sync_root.join(item.to_relative());
        if path.exists() {
            return path;
        }
        let (Some(name), Ok(groups)) = (
            path.file_name(),
            std::fs::read_dir(self.config.sync_root.join(ItemPath::set_dir(set))),
        ) else {
            return path;
        };
        groups.flatten().map(|g| g.path().join(name)).find(|p| p.is_file()).unwrap_or(path)
    }

    /// Returns every outdated custom template, by set and title. `old` supplies merge bases
    /// where the baseline has none.
    pub fn outdated(&self, old: Option<&OldMasters>) -> Vec<Outdated> {
        let mut found = Vec::new();
        for ((sid, title), copy) in &self.copies {
            let Some(master) = self.masters.get(title) else { continue };
            let listed_by_mybb = self.listed.contains(&copy.tid);
            let known = self.baseline.base_of(copy).map(|e| MergeBase {
                source: BaseSource::Baseline,
                version: e.version.clone(),
                content: e.content.clone(),
            });
            let changed = known.as_ref().is_some_and(|b| b.content != master.template);
            if !listed_by_mybb && !changed {
                continue;
            }
            let from_xml = old.and_then(|old| {
                old.templates.get(title).map(|(version, content)| MergeBase {
                    source: BaseSource::Xml(old.source.clone()),
                    version: version.clone(),
                    content: content.clone(),
                })
            });
            let base = if changed { known } else { from_xml.or(known) };
            let set = self.set_title(*sid);
            found.push(Outdated {
                path: self.path_of(&set, title),
                set,
                copy: copy.clone(),
                master: master.clone(),
                base,
                listed_by_mybb,
            });
        }
        found
    }

    /// Returns `path` relative to the sync root (the root as given, or both made absolute),
    /// or `path` itself when it does not lie under it.
    pub fn relative(&self, path: &Path) -> PathBuf {
        if let Ok(relative) = path.strip_prefix(&self.config.sync_root) {
            return relative.to_path_buf();
        }
        let absolute = |p: &Path| std::path::absolute(p).ok();
        match (absolute(path), absolute(&self.config.sync_root)) {
            (Some(p), Some(root)) => {
                p.strip_prefix(&root).map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
            }
            _ => path.to_path_buf(),
        }
    }
}

/// What `merge` did, or would do, with each outdated template.
#[derive(Debug, Default)]
pub struct MergeReport {
    pub clean: Vec<PathBuf>,
    pub conflicted: Vec<PathBuf>,
    /// No merge base known: `--base FILE.xml` would give one.
    pub no_base: Vec<PathBuf>,
    /// Already merged (import to finish), or the merge changes nothing.
    pub up_to_date: Vec<PathBuf>,
    /// Not merged, with why (a conflict with the database, a file that is refused, ...).
    pub skipped: Vec<(PathBuf, String)>,
}

impl MergeReport {
    /// Returns how many outdated templates the run looked at.
    pub fn total(&self) -> usize {
        self.clean.len()
            + self.conflicted.len()
            + self.no_base.len()
            + self.up_to_date.len()
            + self.skipped.len()
    }
}

/// Returns `bytes` as text, or says which side of the merge is not UTF-8.
fn utf8<'b>(bytes: &'b [u8], what: &str) -> std::result::Result<&'b str, String> {
    std::str::from_utf8(bytes)
        .map_err(|e| format!("{what} is not valid UTF-8 (at byte {})", e.valid_up_to()))
}

/// What merging one outdated template came to, before anything is written.
enum MergeOutcome {
    /// Not merged, with why (the report's `skipped`).
    Skipped(String),
    /// The new master's change is in the copy already.
    UpToDate,
    /// The merged text, with conflict markers where both sides changed the same lines.
    Merged(textmerge::Merged),
}

impl Upgrade<'_> {
    /// Merges each of `items` (outdated templates) into its file: base, the old master; ours,
    /// the copy as it is on disk (a local edit counts) or else in the database; theirs, the new
    /// master. Writes the files atomically unless `dry_run`, records them in the sync state as
    /// local edits of the database's copy (so `status` says `to-db`), and records in the
    /// baseline that each merged copy now builds on the new master.
    pub fn merge(&mut self, items: &[Outdated], dry_run: bool) -> Result<MergeReport> {
        let mut report = MergeReport::default();
        let syncer = Syncer::new(self.db, self.config, None)?;
        let mut state = State::load(&self.config.sync_root)?;
        let paths: Vec<PathBuf> = items.iter().map(|o| o.path.clone()).collect();
        let plans = syncer.plan_paths(&paths, &state)?;
        let mut batch = AtomicBatch::new(self.config.durable);
        let mut written: Vec<usize> = Vec::new();
        for (index, (item, plan)) in items.iter().zip(plans).enumerate() {
            let path = item.path.clone();
            let Some(base) = &item.base else {
                report.no_base.push(path);
                continue;
            };
            if item.already_merged() {
                report.up_to_date.push(path);
                continue;
            }
            match merge_one(item, base, &plan.action)? {
                MergeOutcome::Skipped(why) => report.skipped.push((path, why)),
                MergeOutcome::UpToDate => {
                    report.up_to_date.push(path);
                    if !dry_run {
                        self.baseline.set_base(&item.copy, &item.master);
                    }
                }
                MergeOutcome::Merged(merged) => {
                    if merged.conflicts > 0 {
                        report.conflicted.push(path.clone());
                    } else {
                        report.clean.push(path.clone());
                    }
                    if !dry_run {
                        // Only over the file the plan saw: a save in the editor since is never
                        // lost.
                        batch.stage_if(&path, merged.text.as_bytes(), plan.seen)?;
                        written.push(index);
                    }
                }
            }
        }
        if dry_run {
            return Ok(report);
        }
        crate::test_hooks::hold(crate::test_hooks::HOLD_BEFORE_WRITE);
        let written = commit_merges(batch, items, written, &mut report)?;
        self.record_merges(items, &written, &mut state);
        state.save(self.config.durable)?;
        self.baseline.save(self.config.durable)?;
        Ok(report)
    }

    /// Records each merged file of `items` (by index, `written`) in the sync state as a local
    /// edit of the database's copy, and in the baseline as building on the new master.
    fn record_merges(&mut self, items: &[Outdated], written: &[usize], state: &mut State) {
        for &index in written {
            let item = &items[index];
            // The file is now a local edit of the database's copy: record the copy as synced.
            if let Ok(rel) = item.path.strip_prefix(&self.config.sync_root)
                && let Ok(parsed) = layout::parse(rel)
            {
                let hash = content_hash(text::rtrim_bytes(&item.copy.template));
                let identity =
                    Identity { owner: Owner::Set(item.copy.sid), row: Some(item.copy.tid) };
                let record = Record {
                    hash,
                    stamp: item.copy.dateline,
                    pending: None,
                    identity: Some(identity),
                    stat: None,
                };
                state.set(&parsed.key(), record);
            }
            self.baseline.set_base(&item.copy, &item.master);
        }
    }
}

/// Merges one outdated template `item` over `base`, its old master, with the file when the
/// plan's `action` says the file holds the copy (else with the database's copy). A side that
/// cannot be merged (not UTF-8, holding a conflict marker) or a file in conflict, refused or
/// unstable is skipped, with why.
///
/// # Errors
///
/// The file could not be read.
fn merge_one(item: &Outdated, base: &MergeBase, action: &Action) -> Result<MergeOutcome> {
    let from_file = match merge_source(action) {
        Ok(from_file) => from_file,
        Err(why) => return Ok(MergeOutcome::Skipped(why)),
    };
    let ours_bytes = if from_file { fs::read(&item.path)? } else { item.copy.template.clone() };
    let (base_text, ours, theirs) =
        match merge_sides(&base.content, &ours_bytes, &item.master.template) {
            Ok(sides) => sides,
            Err(why) => return Ok(MergeOutcome::Skipped(why)),
        };
    let base_label = match &base.source {
        BaseSource::Baseline => {
            format!("master {} (the merge base, from the baseline)", base.version)
        }
        BaseSource::Xml(file) => format!("master {} (the merge base, from {file})", base.version),
    };
    let ours_label = format!("{}: your copy (version {})", item.set, item.copy.version);
    let theirs_label = format!("master {} (new)", item.master.version);
    let labels = Labels { ours: &ours_label, base: &base_label, theirs: &theirs_label };
    let merged = textmerge::merge3(base_text, ours, theirs, labels);
    if merged.text.as_bytes() == text::rtrim_bytes(&ours_bytes) && merged.conflicts == 0 {
        // The upstream change is in the copy already.
        return Ok(MergeOutcome::UpToDate);
    }
    Ok(MergeOutcome::Merged(merged))
}

/// Returns true if the merge takes the copy from the file (it is in sync, or edited on its way
/// to the database), false if from the database's row (the file is stale or missing); or why
/// the item is skipped.
fn merge_source(action: &Action) -> std::result::Result<bool, String> {
    match action {
        Action::InSync | Action::ToDb(_) => Ok(true),
        Action::ToDisk(_) | Action::Missing | Action::RemoveFile { .. } | Action::Delete(_) => {
            Ok(false)
        }
        Action::DeletedConflict(why) => Err(format!("{why}: resolve that first")),
        Action::Conflict(_) => Err("changed on disk and in the database since the last sync: \
             resolve that first (mybb-sync status)"
            .to_owned()),
        Action::Refused(why) => Err(format!("the file is refused: {why}")),
        Action::Unstable => Err("the file changed while being read".to_owned()),
        Action::Ignored => Err("not a template file of the layout".to_owned()),
    }
}

/// Returns the three sides of a merge as text (the old master, the copy, the new master), or
/// why they cannot be merged: one is not UTF-8, or one holds a conflict marker already.
fn merge_sides<'b>(
    base: &'b [u8],
    ours: &'b [u8],
    theirs: &'b [u8],
) -> std::result::Result<(&'b str, &'b str, &'b str), String> {
    let sides =
        (utf8(base, "the old master")?, utf8(ours, "your copy")?, utf8(theirs, "the new master")?);
    if let Some((line, side)) =
        [(sides.0, "the old master"), (sides.1, "your copy"), (sides.2, "the new master")]
            .iter()
            .find_map(|(t, side)| conflict_marker_line(t).map(|l| (l, *side)))
    {
        return Err(format!("{side} holds a conflict marker at line {line}: resolve it first"));
    }
    Ok(sides)
}

/// Commits the merged files staged in `batch` and returns the indexes of `items` written, of
/// those in `written`. A file saved meanwhile (or no longer a regular file) is kept as it is
/// and moves to the report's `skipped`.
fn commit_merges(
    batch: AtomicBatch,
    items: &[Outdated],
    mut written: Vec<usize>,
    report: &mut MergeReport,
) -> Result<Vec<usize>> {
    let committed = batch.commit()?;
    for (path, why) in committed.skipped {
        report.clean.retain(|p| *p != path);
        report.conflicted.retain(|p| *p != path);
        written.retain(|i| items[*i].path != path);
        let why = match why {
            NotReplaced::Changed => {
                "the file was saved while merging: kept as saved; run merge again"
            }
            NotReplaced::NotAFile => "not a regular file any more: never written through",
        };
        log::debug!("{}: merge not written: {why}", path.display());
        report.skipped.push((path, why.to_owned()));
    }
    Ok(written)
}

/// What reverting one path did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reverted {
    /// The copy was deleted; the file now holds what MyBB renders, from this origin.
    Done { tid: u32, now_from: &'static str },
    /// Not reverted, with why.
    Refused(String),
    /// The file has changes not yet in the database: a conflict unless `--prefer db`.
    Conflict,
}

/// The template a revert deletes the custom copy of, found from the file's path.
struct RevertTarget {
    /// The item the file holds (its sync state key).
    item: ItemPath,
    /// The set's sid.
    sid: i32,
    /// The template's title.
    title: String,
    /// The custom row MyBB renders, which the revert deletes.
    copy: VersionedTemplate,
}

impl Upgrade<'_> {
    /// Reverts template file `path` as the Admin CP's "Revert to Original" does: deletes the
    /// custom row MyBB renders (never a master row), then writes the file with what MyBB
    /// renders now (the global row, or the master) and records it in the sync state. A file
    /// with edits not yet in the database is left alone unless `discard_local`.
    pub fn revert(
        &mut self,
        path: &Path,
        discard_local: bool,
        state: &mut State,
    ) -> Result<Reverted> {
        let target = match self.revert_target(path) {
            Ok(target) => target,
            Err(why) => return Ok(Reverted::Refused(why)),
        };
        let syncer = Syncer::new(self.db, self.config, None)?;
        let plan = syncer.plan_paths(&[path.to_path_buf()], state)?;
        let Some(planned) = plan.into_iter().next() else {
            return Ok(Reverted::Refused("not a template file of the layout".to_owned()));
        };
        if planned.action.is_local_edit() && !discard_local {
            return Ok(Reverted::Conflict);
        }
        crate::test_hooks::hold(crate::test_hooks::HOLD_BEFORE_WRITE);
        if let Some(why) = self.delete_copy(path, &target, planned.seen)? {
            return Ok(Reverted::Refused(why.to_owned()));
        }
        self.write_reverted(path, &target, planned.seen, state)
    }

    /// Returns the template file `path` names and the custom copy a revert would delete, or why
    /// it cannot be reverted: not a template file under the sync root, reached through a link,
    /// not customised, or with nothing (no global, no master template) to render once its copy
    /// is gone.
    fn revert_target(&self, path: &Path) -> std::result::Result<RevertTarget, String> {
        let root = &self.config.sync_root;
        let relative = std::path::absolute(path)
            .ok()
            .zip(std::path::absolute(root).ok())
            .and_then(|(p, r)| p.strip_prefix(&r).ok().map(Path::to_path_buf));
        let Some(relative) = relative else { return Err("not under the sync root".to_owned()) };
        // A link or an unreadable folder on the way: never read, followed or written through.
        if let Some((at, why)) = crate::sync::inspect::Inspector::default().refusal(root, &relative)
        {
            return Err(self.refusal_at(&at, &relative, &why));
        }
        let item = match layout::parse(&relative) {
            Ok(item @ ItemPath::Template { .. }) => item,
            Ok(ItemPath::Stylesheet { .. } | ItemPath::Theme { .. }) => {
                return Err(
                    "revert handles templates; a stylesheet or theme file has no master to go \
                     back to"
                        .to_owned(),
                );
            }
            Err(_) => return Err("not a template file of the layout".to_owned()),
        };
        let ItemPath::Template { set, title, .. } = &item else {
            return Err("not a template".to_owned());
        };
        let Some(sid) = self.board.set_sid(set) else {
            return Err(format!("no template set named {set:?}"));
        };
        let Some(copy) = self.copies.get(&(sid, title.clone())).cloned() else {
            return Err("not customised in this set: it already shows the master (or global) \
                        template"
                .to_owned());
        };
        // What renders once the copy is gone: for a set, the global row, else the master.
        let after = if sid == GLOBAL_SID {
            self.masters.get(title)
        } else {
            self.copies.get(&(GLOBAL_SID, title.clone())).or_else(|| self.masters.get(title))
        };
        // A global template without a master is deleted as the Admin CP's Delete does.
        if after.is_none() && sid != GLOBAL_SID {
            return Err("it has no master (nor global) template: deleting it would delete the \
                        template itself; do that in the Admin CP"
                .to_owned());
        }
        let title = title.clone();
        Ok(RevertTarget { item, sid, title, copy })
    }

    /// Deletes the custom copy of `target`, unless file `path` was saved since the plan saw
    /// `seen` (a save holds an edit nobody asked to discard) or the row changed in the database
    /// since it was read; returns why in those cases, None when it is deleted.
    fn delete_copy(
        &mut self,
        path: &Path,
        target: &RevertTarget,
        seen: Seen,
    ) -> Result<Option<&'static str>> {
        // Not even --prefer db discards a save since the plan: it discards what was there when
        // it was asked.
        if atomic::seen_at(path) != seen {
            return Ok(Some("the file was saved while reverting: kept as saved, nothing reverted"));
        }
        let RevertTarget { sid, title, copy, .. } = target;
        if !self.db.delete_custom_template(copy.tid, title, &copy.template)? {
            return Ok(Some(
                "its row was changed or deleted in the database since it was read (an Admin CP \
                 edit?): kept, nothing reverted",
            ));
        }
        self.copies.remove(&(*sid, title.clone()));
        self.baseline.forget(*sid, title);
        Ok(None)
    }

    /// Writes file `path` (if it is still what the plan saw, `seen`) with what MyBB renders
    /// for `target` now that its copy is deleted, and records that in `state`.
    fn write_reverted(
        &self,
        path: &Path,
        target: &RevertTarget,
        seen: Seen,
        state: &mut State,
    ) -> Result<Reverted> {
        let RevertTarget { item, sid, title, copy } = target;
        if *sid == GLOBAL_SID {
            // The global set's files hold its own rows only: the file goes, and every set's
            // file of that title now shows the master (issue 25).
            let syncer = Syncer::new(self.db, self.config, None)?;
            return match syncer.retire_global(path, seen, &item.key(), state)? {
                Ok(()) => Ok(Reverted::Done { tid: copy.tid, now_from: GLOBAL_REVERTED }),
                Err(why) => Ok(Reverted::Refused(format!(
                    "the global template (tid {}) was deleted, but {why}",
                    copy.tid
                ))),
            };
        }
        // Read back what MyBB renders now: a duplicate row of the set would still win.
        let set_rows = crate::mybb::board::SetTemplates::load(
            self.db,
            *sid,
            Some(std::slice::from_ref(title)),
        )?;
        let Some(rendered) = set_rows.rendered(title) else {
            return Ok(Reverted::Refused("nothing renders for it any more".to_owned()));
        };
        let now_from = match rendered.sid {
            s if s == *sid => "another copy in the same set (duplicate rows: revert again)",
            GLOBAL_SID => "the global template",
            _ => "the master template",
        };
        let mut batch = AtomicBatch::new(self.config.durable);
        batch.stage_if(path, &rendered.template, seen)?;
        if let Some((_, why)) = batch.commit()?.skipped.into_iter().next() {
            // The row is gone, the file holds a save from the last instant: a local edit now
            // (`status` says to-db), which import takes to the database as a new copy.
            let why = match why {
                NotReplaced::Changed => "the file was saved meanwhile and is kept as saved",
                NotReplaced::NotAFile => "the file is not a regular file any more",
            };
            return Ok(Reverted::Refused(format!(
                "the custom copy (tid {}) was deleted, but {why} (mybb-sync status shows it)",
                copy.tid
            )));
        }
        let hash = content_hash(text::rtrim_bytes(&rendered.template));
        let row = (rendered.sid == *sid).then_some(rendered.tid);
        let identity = Some(Identity { owner: Owner::Set(*sid), row });
        state.set(
            &item.key(),
            Record { hash, stamp: rendered.dateline, pending: None, identity, stat: None },
        );
        Ok(Reverted::Done { tid: copy.tid, now_from })
    }
}

/// What a reverted global template's file holds now, in `revert`'s words.
const GLOBAL_REVERTED: &str = "nothing (moved to .mybb-sync/deleted/): every set's file of it now \
     shows the master template, or goes without one";

/// Which two sides `diff` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffSides {
    /// What the database renders for the item, against the file.
    DatabaseToFile,
    /// The master template, against the custom copy (the file, or the row without one).
    MasterToCopy,
}

impl Upgrade<'_> {
    /// Says why the inspector refused `relative`: the reason alone when it refused the file
    /// itself (the caller names the file), else the folder on the way, relative to the root.
    fn refusal_at(&self, at: &Path, relative: &Path, why: &str) -> String {
        if at == self.config.sync_root.join(relative) {
            why.to_owned()
        } else {
            format!("{}: {why}", self.config.shown(at))
        }
    }
}

impl Upgrade<'_> {
    /// Returns the unified diff for `path` (see [`DiffSides`]), labelled with its path relative
    /// to the sync root; empty when both sides are equal.
    pub fn diff(&self, path: &Path, sides: DiffSides, color: bool) -> Result<String> {
        let relative = self.relative(path);
        let item = layout::parse(&relative).map_err(|_| {
            Error::usage(format!(
                "{}: not a template or stylesheet file under the sync root",
                path.display()
            ))
        })?;
        if let Some((at, why)) =
            crate::sync::inspect::Inspector::default().refusal(&self.config.sync_root, &relative)
        {
            return Err(Error::usage(format!(
                "{}: {}",
                path.display(),
                self.refusal_at(&at, &relative, &why)
            )));
        }
        let file = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let rel = relative.display().to_string();
        if file.is_none() && sides == DiffSides::DatabaseToFile {
            return Err(Error::usage(format!("{}: no such file", path.display())));
        }
        let (old, new, old_label, new_label) = match (&item, sides) {
            (ItemPath::Template { set, title, .. }, _) => {
                let Some(sid) = self.board.set_sid(set) else {
                    return Err(Error::usage(format!("{rel}: no template set named {set:?}")));
                };
                let copy = self.copies.get(&(sid, title.clone()));
                let master = self.masters.get(title);
                match sides {
                    DiffSides::DatabaseToFile => {
                        let rendered = copy
                            .or_else(|| {
                                self.copies
                                    .get(&(GLOBAL_SID, title.clone()))
                                    .filter(|_| sid != GLOBAL_SID)
                            })
                            // The global set's files hold its own rows only (board.rs).
                            .or(master.filter(|_| sid != GLOBAL_SID))
                            .map(|r| r.template.clone());
                        (rendered, file, format!("{rel} (database)"), format!("{rel} (file)"))
                    }
                    DiffSides::MasterToCopy => {
                        let Some(master) = master else {
                            return Err(Error::usage(format!(
                                "{rel}: {title:?} has no master template"
                            )));
                        };
                        let ours = file.or_else(|| copy.map(|c| c.template.clone()));
                        let label = match copy {
                            Some(c) => format!("{rel} ({set}, version {})", c.version),
                            None => format!("{rel} ({set})"),
                        };
                        (
                            Some(master.template.clone()),
                            ours,
                            format!("{rel} (master, version {})", master.version),
                            label,
                        )
                    }
                }
            }
            (ItemPath::Stylesheet { theme, name }, DiffSides::DatabaseToFile) => {
                let Some(row) = self.board.theme_by_name(theme) else {
                    return Err(Error::usage(format!("{rel}: no theme named {theme:?}")));
                };
                let sheets = self.board.resolved_stylesheets(row.tid);
                let rendered = sheets.get(name.as_str()).map(|s| s.stylesheet.clone());
                (rendered, file, format!("{rel} (database)"), format!("{rel} (file)"))
            }
            (ItemPath::Theme { theme }, DiffSides::DatabaseToFile) => {
                let Some(row) = self.board.theme_by_name(theme) else {
                    return Err(Error::usage(format!("{rel}: no theme named {theme:?}")));
                };
                let forms = self.db.theme_forms()?;
                let rendered = crate::mybb::theme_forms::render_text(&self.board, &forms, row.tid)
                    .map(String::into_bytes);
                (rendered, file, format!("{rel} (database)"), format!("{rel} (file)"))
            }
            (ItemPath::Stylesheet { .. } | ItemPath::Theme { .. }, DiffSides::MasterToCopy) => {
                return Err(Error::usage(format!("{rel}: --master compares templates only")));
            }
        };
        let text = |side: Option<Vec<u8>>, what: &str| -> Result<String> {
            String::from_utf8(side.unwrap_or_default()).map_err(|e| Error::Data {
                what: format!(
                    "{rel}: {what} is not valid UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                ),
            })
        };
        let (old, new) = (text(old, "the old side")?, text(new, "the new side")?);
        Ok(textmerge::unified_diff(&old, &new, &old_label, &new_label, color))
    }
}
