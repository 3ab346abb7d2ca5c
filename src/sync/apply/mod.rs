//! Where a plan is carried out: a file becomes a row (through the Admin CP's rules, then
//! MyBB's cache files for a stylesheet), a row becomes a file (through the atomic writer), and
//! what was synced is recorded in the state. Every write is conditional on the row or file
//! still being what the plan saw; what changed meanwhile is planned again, a few times at most.
//! File hashes are recorded as pending before the renames, so a kill at any point leaves a
//! state that takes no file for a local edit.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::disk::atomic::{AtomicBatch, NotReplaced, Seen};
use crate::error::{Error, Result};
use crate::live::Change;
use crate::mybb::cache::Served;
use crate::mybb::db::now;
use crate::sync::layout::conflict_copy_path;
use crate::sync::plan::{Action, Flow, Planned, Syncer, Target, Write};
use crate::sync::state::{Record, State, content_hash};

mod copies;
mod deletions;
mod dependants;

use copies::{
    MAX_COPIES, Placed, copy_key, copy_record, is_copy, nth_copy_path, place_copy,
    remove_conflict_copy,
};

/// The folder of mybb-sync's own folder that keeps the files of deleted items.
pub use crate::sync::recovery::DELETED_DIR;

/// What a stylesheet created from a file that its theme file does not list is told (issue 28).
pub const NEW_SHEET_ON_EVERY_PAGE: &str = "created, and linked on every page: MyBB attaches a \
     stylesheet with no pages everywhere; list it under \"stylesheets\" in its theme's \
     theme.json with its \"attachedto\" pages to attach it where it belongs";

/// How `validate.rs` words the refusal of a 0-byte file, logged in words of its own: this is
/// the incident mybb-sync exists for.
const EMPTY_FILE: &str = "empty file";

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows written, with what was done.
    pub written: Vec<(PathBuf, &'static str)>,
    /// Files written from the database.
    pub pulled: Vec<PathBuf>,
    /// Items already in sync.
    pub unchanged: Vec<PathBuf>,
    /// Conflicts, each with the path of the database's copy.
    pub conflicts: Vec<(PathBuf, PathBuf)>,
    /// Files refused, each with its reason.
    pub refused: Vec<(PathBuf, String)>,
    /// Changes the run's flow does not carry (a local edit during `export`), with why.
    pub held: Vec<(PathBuf, &'static str)>,
    /// Files that changed while being read: to be tried again.
    pub unstable: Vec<PathBuf>,
    /// Paths with neither a file nor anything to write.
    pub missing: Vec<PathBuf>,
    /// Files removed because their item was deleted in the database, each with the path of
    /// the copy kept under `.mybb-sync/deleted/`.
    pub removed: Vec<(PathBuf, PathBuf)>,
    /// Files deleted on disk whose deletion was carried to the database, with what was done.
    pub deleted: Vec<(PathBuf, &'static str)>,
    /// Items deleted on one side and edited on the other (or without a state to tell), with
    /// why: nothing was deleted or created.
    pub deletion_conflicts: Vec<(PathBuf, &'static str)>,
    /// Files whose row another transaction held up (a lock wait timeout, a deadlock), where
    /// the caller retries them later ([`ApplyOptions::retry_busy_later`]), each with why.
    pub busy: Vec<(PathBuf, String)>,
    /// What the row writes made live on the forum, in order, for `watch --live-reload`.
    pub live: Vec<Change>,
}

impl Report {
    /// Adds what applying another part of a plan did (see [`Syncer::plan_by_parts`]).
    pub fn absorb(&mut self, part: Report) {
        self.written.extend(part.written);
        self.pulled.extend(part.pulled);
        self.unchanged.extend(part.unchanged);
        self.conflicts.extend(part.conflicts);
        self.refused.extend(part.refused);
        self.held.extend(part.held);
        self.unstable.extend(part.unstable);
        self.missing.extend(part.missing);
        self.removed.extend(part.removed);
        self.deleted.extend(part.deleted);
        self.deletion_conflicts.extend(part.deletion_conflicts);
        self.busy.extend(part.busy);
        self.live.extend(part.live);
    }

    /// Returns how many items need a person's attention: conflicts and refusals.
    pub fn problems(&self) -> usize {
        self.conflicts.len() + self.deletion_conflicts.len() + self.refused.len()
    }

    /// Returns true if and only if every item the run planned was settled: nothing in
    /// conflict, refused, held, changing or busy. A run over every file of the root that
    /// settled everything leaves a record for each file, which completes a rebuilt state
    /// ([`State::complete`]).
    pub fn settled_everything(&self) -> bool {
        self.problems() == 0
            && self.held.is_empty()
            && self.unstable.is_empty()
            && self.busy.is_empty()
    }
}

/// How to apply a plan.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Leave alone a file changed since this moment instead of overwriting it (the export of
    /// `watch --export-first`, whose watcher then applies the change).
    pub keep_files_changed_since: Option<SystemTime>,
    /// Testing only: fail after this many files were written.
    pub fail_after: Option<usize>,
    /// Report a row write that another transaction held up in [`Report::busy`], for the
    /// caller (the watcher) to try again later, after one attempt; a one-shot run tries
    /// [`BUSY_ATTEMPTS`] times, then refuses the item.
    pub retry_busy_later: bool,
}

/// How many times a one-shot run tries a row write that another transaction holds up before
/// it refuses the item. Each try waits for the row up to the session's lock wait (2 s).
const BUSY_ATTEMPTS: u32 = 3;
/// The pause before the second try of such a write; doubled before each later one.
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// How many times items that changed under a run are planned again before they are given up
/// on (reported, and left as they are) for this run.
const MAX_ROUNDS: usize = 3;

/// Why an item is given up on after [`MAX_ROUNDS`].
const KEPT_CHANGING: &str = "kept changing while being synced; left as it is";

/// How a conditional row write went.
enum RowWrite {
    /// The row changed since it was planned (or a copy appeared): nothing was written.
    Raced,
    /// Written; for a stylesheet, what the forum serves for it now.
    Written(Option<Served>),
}

/// One round of applying a plan: what is staged for the atomic batch, which items lost a
/// race (their row or file changed since they were planned) and are to be planned again, and
/// the state and report the round adds to.
struct Round<'r> {
    config: &'r Config,
    flow: Flow,
    options: &'r ApplyOptions,
    state: &'r mut State,
    report: &'r mut Report,
    batch: AtomicBatch,
    /// Files to write from the database, staged together once every item was gone through.
    to_write: Vec<ToWrite>,
    /// Files staged from the database, with what to record once each is in place.
    staged: Vec<(PathBuf, Option<(String, Record)>)>,
    /// The database copies of earlier conflicts that the plan came across, to be removed
    /// once their item is in sync again, unless edited since (looking for one beside every
    /// file would cost a system call per file).
    copies: HashSet<PathBuf>,
    /// Conflict copies staged, with the hash of what each is to hold, recorded once in place.
    copies_staged: Vec<(PathBuf, u64)>,
    raced: Vec<PathBuf>,
    /// How the round's template writes went, where they were written together before the
    /// items are gone through; the others are written one by one.
    grouped: HashMap<Grouped, bool>,
    /// Paths already refused this round: a link above several files refuses each of them at
    /// its own path, reported once.
    refused_paths: HashSet<PathBuf>,
    /// The items whose rows the round wrote or deleted, where other themes or sets inherit
    /// them: a parent theme's stylesheet, a global template (see [`Syncer::dependants`]).
    inherited: Vec<PathBuf>,
    /// Every path the round's plan has something to do with: a dependant among them is
    /// handled already.
    planned: HashSet<PathBuf>,
}

/// A file to write from the database, and what to record once it is in place.
struct ToWrite {
    path: PathBuf,
    bytes: Vec<u8>,
    seen: Seen,
    sync: Option<(String, Record)>,
}

/// A template row written together with others ([`Syncer::write_templates_together`]).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Grouped {
    /// The update of row `tid`.
    Update(u32),
    /// The insert of a row titled `.1` into set `.0`.
    Insert(i32, String),
}

impl Round<'_> {
    /// Records that the item at `path` is in sync (as `sync` says), and removes its conflict
    /// copy if the plan saw one.
    fn synced(&mut self, path: &Path, sync: Option<(String, Record)>) {
        if let Some((key, record)) = sync {
            self.state.set(&key, record);
        }
        if self.copies.is_empty() {
            return;
        }
        for n in 1..=MAX_COPIES {
            let copy = nth_copy_path(path, n);
            if self.copies.contains(&copy) {
                remove_conflict_copy(self.config, self.state, path, &copy);
            }
        }
    }

    /// Reports a change this run's flow does not carry.
    fn held(&mut self, path: PathBuf, why: &'static str, advice: &str) {
        log::info!("{}: {why}; {advice}", self.config.shown(&path));
        self.report.held.push((path, why));
    }
}

impl Syncer<'_> {
    /// Writes one planned row, as the Admin CP would, if the row is still what the plan saw.
    /// Returns [`RowWrite::Raced`] if it is not (someone else wrote it meanwhile), else, for a
    /// stylesheet, what the forum serves for it now.
    fn write_row(&self, write: &Write) -> Result<RowWrite> {
        let content = &write.content;
        let done = |written: bool| if written { RowWrite::Written(None) } else { RowWrite::Raced };
        match &write.target {
            Target::UpdateTemplate { tid, title, seen } => {
                self.db.update_template(*tid, title, content, &self.version_code, seen).map(done)
            }
            Target::InsertTemplate { sid, title, .. } => self
                .db
                .insert_template(*sid, title, content, &self.version_code)
                .map(|tid| done(tid.is_some())),
            Target::UpdateStylesheet { tid, sid, name, seen } => {
                if !self.db.update_stylesheet(*sid, name, content, now(), seen)? {
                    return Ok(RowWrite::Raced);
                }
                let served = self.after_stylesheet_write(*tid, *sid, name, content)?;
                Ok(RowWrite::Written(Some(served)))
            }
            Target::InsertStylesheet { tid, name, attachedto, .. } => {
                let Some(sid) =
                    self.db.insert_stylesheet(*tid, name, attachedto, content, now())?
                else {
                    return Ok(RowWrite::Raced);
                };
                let sid = u32::try_from(sid).map_err(|_| Error::Data {
                    what: format!("stylesheet {name:?} got sid {sid}, beyond MyBB's int unsigned"),
                })?;
                let served = self.after_stylesheet_write(*tid, sid, name, content)?;
                Ok(RowWrite::Written(Some(served)))
            }
            Target::Theme { tid, seen, new_sheets } => {
                let new =
                    crate::mybb::theme_file::parse(content).map_err(|what| Error::Data { what })?;
                let written = crate::mybb::theme_forms::apply(
                    self.db,
                    self.config,
                    *tid,
                    seen,
                    &new,
                    new_sheets,
                )?;
                Ok(if written { RowWrite::Written(None) } else { RowWrite::Raced })
            }
        }
    }

    /// Returns what writing `write` (the row of the file `path`) made live on the forum, if
    /// anything: a template as soon as its row is written, a stylesheet once its cache files
    /// are in place (or `css.php` serves it); nothing while the forum serves the old file.
    fn made_live(&self, path: &Path, write: &Write, served: Option<Served>) -> Option<Change> {
        let sheet = |tid: &u32, name: &String, relinked| Change::Stylesheet {
            tid: *tid,
            name: name.clone(),
            relinked,
        };
        match (&write.target, served) {
            // Its pages and order reach the forum through the stylesheet lists rebuilt.
            (Target::Theme { .. }, _) => None,
            (Target::UpdateTemplate { .. } | Target::InsertTemplate { .. }, _) => {
                let root = std::path::absolute(&self.config.sync_root).ok();
                let relative = root.as_deref().and_then(|root| path.strip_prefix(root).ok());
                let path = relative.unwrap_or(path).to_string_lossy().into_owned();
                Some(Change::Template { path })
            }
            (
                Target::UpdateStylesheet { tid, name, .. }
                | Target::InsertStylesheet { tid, name, .. },
                Some(Served::CacheFile { relinked }),
            ) => Some(sheet(tid, name, relinked)),
            (
                Target::UpdateStylesheet { tid, name, .. }
                | Target::InsertStylesheet { tid, name, .. },
                Some(Served::CssPhp),
            ) => Some(sheet(tid, name, true)),
            (_, Some(Served::Stale) | None) => None,
        }
    }

    /// Makes a stylesheet change live. MyBB serves stylesheets from cache files, not from the
    /// database: `cache.rs` rewrites them and the stylesheet lists, as the Admin CP does.
    fn after_stylesheet_write(
        &self,
        tid: u32,
        sid: u32,
        name: &str,
        content: &str,
    ) -> Result<Served> {
        let sheet = crate::mybb::cache::WrittenStylesheet { tid, sid, name, content };
        crate::mybb::cache::after_stylesheet_write(self.db, self.config, &sheet)
    }

    /// Applies `plan` as far as `flow` allows, records what was synced in `state` (and saves
    /// it), and reports. Row writes come first, then every file write as one atomic batch.
    /// Each write happens only if its row or file is still what the plan saw; the items that
    /// changed meanwhile are planned again (and become conflicts if both sides changed). A
    /// connection failure stops the run (the caller retries); any other failure of one row is
    /// reported as a refusal of that item.
    pub fn apply(
        &self,
        plan: Vec<Planned>,
        flow: Flow,
        state: &mut State,
        options: &ApplyOptions,
    ) -> Result<Report> {
        let mut report = Report::default();
        let mut plan = plan;
        let mut options = options.clone();
        for round in 1..=MAX_ROUNDS {
            let raced = self.apply_round(plan, flow, state, &options, &mut report)?;
            if raced.is_empty() {
                break;
            }
            if round == MAX_ROUNDS {
                for path in raced {
                    log::warn!("{}: {KEPT_CHANGING}", self.config.shown(&path));
                    report.refused.push((path, KEPT_CHANGING.to_owned()));
                }
                break;
            }
            log::info!("{} item(s) changed while being synced; planning them again", raced.len());
            options.fail_after = None;
            plan = self.plan_paths(&raced, state)?;
        }
        Ok(report)
    }

    /// Applies one round of a plan; returns the items that lost a race.
    fn apply_round(
        &self,
        plan: Vec<Planned>,
        flow: Flow,
        state: &mut State,
        options: &ApplyOptions,
        report: &mut Report,
    ) -> Result<Vec<PathBuf>> {
        let mut batch = AtomicBatch::new(self.config.durable);
        batch.fail_after(options.fail_after);
        let copies = plan
            .iter()
            .filter(|p| p.action == Action::Ignored && is_copy(&p.path))
            .map(|p| p.path.clone())
            .collect();
        let grouped =
            if flow.to_db { self.write_templates_together(&plan)? } else { HashMap::new() };
        // A dependant found in sync when planned is planned again once the rows are written.
        let planned = plan
            .iter()
            .filter(|p| !matches!(p.action, Action::InSync | Action::Ignored))
            .map(|p| p.path.clone())
            .collect();
        let mut round = Round {
            inherited: Vec::new(),
            planned,
            config: self.config,
            flow,
            options,
            state,
            report,
            batch,
            to_write: Vec::new(),
            staged: Vec::new(),
            copies,
            copies_staged: Vec::new(),
            raced: Vec::new(),
            grouped,
            refused_paths: HashSet::new(),
        };
        // Theme files last: a stylesheet created in the same run is there for the file to
        // attach and order (issue 28).
        let (themes, mut plan): (Vec<Planned>, Vec<Planned>) =
            plan.into_iter().partition(|p| matches!(&p.action, Action::ToDb(w) if w.is_theme()));
        plan.extend(themes);
        let mut progress = crate::progress::Progress::new("applying", plan.len());
        for planned in plan {
            progress.tick();
            self.apply_item(&mut round, planned)?;
        }
        self.refresh_dependants(&mut round)?;
        self.stage_files(&mut round);
        self.commit_files(round)
    }

    /// Stages the round's files from the database, all together (from several threads when
    /// they are many). A file that cannot be written is refused; the others go on.
    fn stage_files(&self, round: &mut Round<'_>) {
        let to_write = std::mem::take(&mut round.to_write);
        let files: Vec<(&Path, &[u8], Seen)> = to_write
            .iter()
            .map(|file| (file.path.as_path(), file.bytes.as_slice(), file.seen))
            .collect();
        let outcomes = round.batch.stage_all(&files);
        drop(files);
        for (ToWrite { path, sync, .. }, outcome) in to_write.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => round.staged.push((path, sync)),
                // One file that cannot be written (a name too long for the file system, a
                // folder without permission) does not stop the others.
                Err(e) => refuse_unwritable(self.config, round.report, path, &e),
            }
        }
    }

    /// Writes the plan's template updates and inserts many rows per statement (one round trip
    /// or two each, where one per row made an import several times slower than an export),
    /// each row still a compare-and-swap, or an insert that only the first writer keeps, of its
    /// own. Returns how each went. A row planned twice, a lone write, or a statement that fails
    /// for another reason than the connection is left to [`Syncer::write_row`], which reports
    /// it as its own.
    fn write_templates_together(&self, plan: &[Planned]) -> Result<HashMap<Grouped, bool>> {
        let mut keys = HashSet::new();
        let mut twice = HashSet::new();
        let mut updates = Vec::new();
        let mut inserts = Vec::new();
        for planned in plan {
            let Action::ToDb(Write { target, content }) = &planned.action else { continue };
            let key = match target {
                Target::UpdateTemplate { tid, seen, .. } => {
                    updates.push((*tid, content.as_str(), seen.as_slice()));
                    Grouped::Update(*tid)
                }
                Target::InsertTemplate { sid, title, .. } => {
                    inserts.push((*sid, title.as_str(), content.as_str()));
                    Grouped::Insert(*sid, title.clone())
                }
                _ => continue,
            };
            if let Some(key) = keys.replace(key) {
                twice.insert(key);
            }
        }
        updates.retain(|(tid, _, _)| !twice.contains(&Grouped::Update(*tid)));
        inserts
            .retain(|(sid, title, _)| !twice.contains(&Grouped::Insert(*sid, title.to_string())));
        let mut grouped = HashMap::new();
        if updates.len() < 2 && inserts.len() < 2 {
            return Ok(grouped);
        }
        // One question for both kinds of statement.
        let Some(budget) = self.or_one_by_one(self.db.statement_budget())? else {
            return Ok(grouped);
        };
        if updates.len() >= 2 {
            let done = self.db.update_templates(&updates, &self.version_code, budget);
            if let Some(done) = self.or_one_by_one(done)? {
                grouped.extend(done.into_iter().map(|(tid, ok)| (Grouped::Update(tid), ok)));
            }
        }
        if inserts.len() >= 2 {
            let done = self.db.insert_templates_unless_taken(&inserts, &self.version_code, budget);
            if let Some(done) = self.or_one_by_one(done)? {
                grouped.extend(
                    done.into_iter().map(|((sid, title), ok)| (Grouped::Insert(sid, title), ok)),
                );
            }
        }
        Ok(grouped)
    }

    /// Passes on a grouped write's result, or None where it failed for another reason than the
    /// connection: then its rows are written one by one, each reporting its own error. A row
    /// the failed statement wrote anyway (MyISAM keeps the rows before an error) is caught by
    /// its own write, a compare-and-swap that no longer matches or a second insert that
    /// keep-first removes, and planned again: found in sync, never left twice.
    fn or_one_by_one<T>(&self, done: Result<T>) -> Result<Option<T>> {
        match done {
            Ok(done) => Ok(Some(done)),
            // A SQLite file busy past its wait stays busy for the rows one by one too.
            Err(
                e @ (Error::Connect { .. } | Error::PgConnect { .. } | Error::SqliteBusy { .. }),
            ) => Err(e),
            Err(e) => {
                log::debug!(
                    "writing the templates together failed, one by one instead: {}",
                    crate::error::chain(&e)
                );
                Ok(None)
            }
        }
    }

    /// Applies one item's action, or stages its file for the round's batch.
    fn apply_item(&self, round: &mut Round<'_>, planned: Planned) -> Result<()> {
        let Planned { path, action, sync, seen } = planned;
        match action {
            Action::Ignored => {}
            Action::Missing => {
                log::debug!("{}: no file, nothing to write", self.config.shown(&path));
                // An item synced before and gone from both sides: its tombstone.
                if let Some((key, record)) = sync {
                    round.state.set(&key, record);
                }
                round.report.missing.push(path);
            }
            Action::RemoveFile { owner_gone, then_write } if round.flow.to_disk => {
                self.remove_file(round, path, seen, sync, owner_gone, then_write)
            }
            Action::RemoveFile { then_write: Some(_), .. } => round.held(
                path,
                "made again in the database (a new set, theme or row took the old one's name)",
                "the old one's file, unedited, is kept as it is: export or watch moves it under \
                 .mybb-sync/deleted/ and brings the new row's content; to put the old content \
                 into the new row, edit the file and import --prefer disk",
            ),
            Action::RemoveFile { .. } => round.held(
                path,
                "deleted in the database",
                "the file is kept (export removes it; import --prefer disk recreates the item)",
            ),
            Action::Delete(deletion) if round.flow.to_db => {
                self.apply_deletion(round, path, deletion, seen, sync)?
            }
            Action::Delete(_) => round.held(
                path,
                "deleted on disk",
                "the database keeps it (import deletes it; export --prefer db brings it back)",
            ),
            Action::DeletedConflict(why) => {
                log::warn!(
                    "{}: conflict: {why}; nothing deleted or created (resolve with import \
                     --prefer disk or import --prefer db)",
                    self.config.shown(&path)
                );
                round.report.deletion_conflicts.push((path, why));
            }
            Action::Unstable => round.report.unstable.push(path),
            Action::InSync => {
                round.synced(&path, sync);
                round.report.unchanged.push(path);
            }
            Action::Refused(_) if !round.refused_paths.insert(path.clone()) => {}
            Action::Refused(why) => {
                if why == EMPTY_FILE {
                    log::warn!("skipping empty file: {}", self.config.shown(&path));
                } else {
                    log::warn!("{}: refused: {why}", self.config.shown(&path));
                }
                round.report.refused.push((path, why));
            }
            Action::Conflict(theirs) => {
                let hash = content_hash(&theirs);
                let copy = match place_copy(self.config, round.state, &path, hash) {
                    Placed::Write(copy, seen) => {
                        if let Err(e) = round.batch.stage_if(&copy, &theirs, seen) {
                            refuse_unwritable(self.config, round.report, path, &e);
                            return Ok(());
                        }
                        round.copies_staged.push((copy.clone(), hash));
                        copy
                    }
                    Placed::Already(copy) => {
                        round.state.set(&copy_key(self.config, &copy), copy_record(hash));
                        copy
                    }
                    Placed::NoRoom(why) => {
                        log::warn!("{}: conflict, and {why}", self.config.shown(&path));
                        round.report.refused.push((path, why));
                        return Ok(());
                    }
                };
                let first = conflict_copy_path(&path);
                let kept = match copy == first {
                    true => String::new(),
                    false => format!(
                        " ({} holds edits of yours and is kept as it is)",
                        self.config.shown(&first)
                    ),
                };
                log::warn!(
                    "{}: conflict: changed on disk and in the database since the last sync; \
                     the database's version is in {}{kept} (resolve with import --prefer disk \
                     or import --prefer db)",
                    self.config.shown(&path),
                    self.config.shown(&copy)
                );
                round.report.conflicts.push((path, copy));
            }
            Action::ToDb(write) if round.flow.to_db => self.apply_row(round, path, &write, sync)?,
            Action::ToDb(_) => {
                round.held(path, "edited since the last sync", "kept (import it, or --prefer db)")
            }
            Action::ToDisk(bytes) if round.flow.to_disk => {
                if let Some(since) = round.options.keep_files_changed_since
                    && modified_since(&path, since)
                {
                    log::warn!(
                        "{}: changed while the export ran; left as it is",
                        self.config.shown(&path)
                    );
                    round.report.held.push((path, "changed during the export"));
                    return Ok(());
                }
                round.to_write.push(ToWrite { path, bytes, seen, sync });
            }
            Action::ToDisk(_) => {
                round.held(path, "changed in the database", "run export to fetch it");
            }
        }
        Ok(())
    }

    /// Writes one row; a row that changed since it was planned goes back to the planner.
    fn apply_row(
        &self,
        round: &mut Round<'_>,
        path: PathBuf,
        write: &Write,
        sync: Option<(String, Record)>,
    ) -> Result<()> {
        let grouped = match &write.target {
            Target::UpdateTemplate { tid, .. } => round.grouped.remove(&Grouped::Update(*tid)),
            Target::InsertTemplate { sid, title, .. } => {
                round.grouped.remove(&Grouped::Insert(*sid, title.clone()))
            }
            _ => None,
        };
        let written = match grouped {
            Some(true) => Ok(RowWrite::Written(None)),
            Some(false) => Ok(RowWrite::Raced),
            None => self.write_row_patiently(write, round.options),
        };
        match written {
            Ok(RowWrite::Written(served)) => {
                log::info!("{}: {}", self.config.shown(&path), write.describe());
                if let Target::InsertStylesheet { .. } = &write.target {
                    crate::sync::recovery::forget_attachments(self.config, &path);
                }
                if write.linked_everywhere() {
                    log::warn!("{}: {NEW_SHEET_ON_EVERY_PAGE}", self.config.shown(&path));
                }
                round.inherited.push(path.clone());
                round.report.live.extend(self.made_live(&path, write, served));
                round.synced(&path, sync);
                round.report.written.push((path, write.describe()));
            }
            Ok(RowWrite::Raced) => {
                log::info!(
                    "{}: its row changed in the database meanwhile",
                    self.config.shown(&path)
                );
                round.raced.push(path);
            }
            Err(
                e @ (Error::Connect { .. } | Error::PgConnect { .. } | Error::SqliteBusy { .. }),
            ) => return Err(e),
            Err(e) if e.is_transient() => {
                let why = format!(
                    "{}; another transaction holds the row (a plugin's, or a backup's)",
                    crate::error::chain(&e)
                );
                if round.options.retry_busy_later {
                    log::debug!("{}: not written yet: {why}", self.config.shown(&path));
                    round.report.busy.push((path, why));
                } else {
                    let why = format!("{why}; not written after {BUSY_ATTEMPTS} tries");
                    log::warn!("{}: not written: {why}", self.config.shown(&path));
                    round.report.refused.push((path, why));
                }
            }
            Err(e) => {
                let why = crate::error::chain(&e);
                log::warn!("{}: not written: {why}", self.config.shown(&path));
                round.report.refused.push((path, why));
            }
        }
        Ok(())
    }

    /// Writes one planned row as [`Syncer::write_row`] does, trying again with a growing pause
    /// while another transaction holds the row up (see [`Error::is_transient`]): nothing was
    /// written then, and the same compare-and-swap may succeed once it ends. A watcher's run
    /// tries once, and retries the item in a later batch.
    fn write_row_patiently(&self, write: &Write, options: &ApplyOptions) -> Result<RowWrite> {
        let attempts = if options.retry_busy_later { 1 } else { BUSY_ATTEMPTS };
        let mut pause = BUSY_PAUSE;
        let mut attempt = 1;
        loop {
            match self.write_row(write) {
                Err(e) if e.is_transient() && attempt < attempts => {
                    log::debug!("{}; trying again in {pause:?}", crate::error::chain(&e));
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// Renames the round's staged files into place and records them. The hashes they are to
    /// have are saved in the state first, so a run killed among the renames leaves a state
    /// that takes neither the old nor the new content of a file for a local edit. A commit
    /// that fails withdraws the pending hash of every file it did not rename: the state never
    /// claims a write that did not happen (design.md, invariant 7; issue 26).
    fn commit_files(&self, mut round: Round<'_>) -> Result<Vec<PathBuf>> {
        let mut announced = false;
        // Each staged file's record as it was before its pending hash, to withdraw it exactly.
        let mut before = Vec::with_capacity(round.staged.len());
        for (_, sync) in &round.staged {
            before.push(sync.as_ref().map(|(key, record)| round.state.set_pending(key, record)));
            announced |= sync.is_some();
        }
        let mut batch = std::mem::replace(&mut round.batch, AtomicBatch::new(false));
        if announced && let Err(e) = round.state.save_before(&mut batch) {
            // Nothing is renamed (the batch is dropped with its temp files), but the failed
            // save may have left the pending hashes on disk: withdraw them if the disk lets us.
            for ((_, sync), before) in round.staged.iter().zip(&before) {
                if let (Some((key, _)), Some(before)) = (sync, before) {
                    round.state.unset_pending(key, *before);
                }
            }
            if let Err(again) = round.state.save(self.config.durable) {
                log::debug!(
                    "withdrawing the pending hashes failed: {}",
                    crate::error::chain(&again)
                );
            }
            return Err(e);
        }
        let (done, committed) = batch.commit_as_far_as_it_goes();
        let written: HashSet<&PathBuf> = done.written.iter().collect();
        for ((path, sync), before) in std::mem::take(&mut round.staged).into_iter().zip(before) {
            if !written.contains(&path) {
                // Never renamed: whatever the file holds is not what was announced.
                if let (Some((key, _)), Some(before)) = (sync, before) {
                    round.state.unset_pending(&key, before);
                }
            } else if committed.is_ok() {
                log::debug!("{}: written from the database", self.config.shown(&path));
                round.synced(&path, sync);
                round.report.pulled.push(path);
            }
            // Renamed, but the commit failed after (syncing the renames): the file may still
            // come back as the old one after a crash, so its pending hash stays, which accepts
            // the old content or the new one and takes any other for a conflict.
        }
        for (copy, hash) in std::mem::take(&mut round.copies_staged) {
            // What we wrote is recorded, so an edit of the copy can be told from it later. A
            // copy left unrecorded (a kill before this save) is taken for the user's: kept.
            if written.contains(&copy) {
                round.state.set(&copy_key(self.config, &copy), copy_record(hash));
            }
        }
        for (path, why) in &done.skipped {
            round.not_replaced(path, why);
        }
        let saved = round.state.save(self.config.durable);
        committed?;
        saved?;
        Ok(round.raced)
    }
}

impl Round<'_> {
    /// Handles a staged file the writer did not rename over its target.
    fn not_replaced(&mut self, path: &Path, why: &NotReplaced) {
        match why {
            NotReplaced::Changed => {
                log::info!("{}: changed on disk meanwhile; not replaced", self.config.shown(path));
                // A conflict copy that changed is the user's; its item is already reported.
                if !is_copy(path) {
                    self.raced.push(path.to_path_buf());
                }
            }
            NotReplaced::NotAFile => {
                let why = "is a symbolic link or not a regular file; not replaced";
                log::warn!("{}: refused: {why}", self.config.shown(path));
                self.report.refused.push((path.to_path_buf(), why.to_owned()));
            }
        }
    }
}

/// Reports `path` refused because its file could not be written.
fn refuse_unwritable(config: &Config, report: &mut Report, path: PathBuf, error: &Error) {
    let why = format!("cannot write it: {}", crate::error::chain(error));
    log::warn!("{}: refused: {why}", config.shown(&path));
    report.refused.push((path, why));
}

/// How far behind `now()` file times may be: they come from the kernel's coarse clock.
const CLOCK_SLACK: Duration = Duration::from_millis(20);

/// Returns true if and only if the file at `path` was modified at or after `since`.
fn modified_since(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t + CLOCK_SLACK >= since)
}
