//! Where a plan is carried out: a file becomes a row (through the Admin CP's rules, then
//! MyBB's cache files for a stylesheet), a row becomes a file (through the atomic writer), and
//! what was synced is recorded in the state.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::disk::atomic::AtomicBatch;
use crate::error::{Error, Result};
use crate::live::Change;
use crate::mybb::cache::Served;
use crate::mybb::db::now;
use crate::sync::layout::conflict_copy_path;
use crate::sync::plan::{Action, Flow, Planned, Syncer, Target, Write};
use crate::sync::state::{Record, State};

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
    /// Files that are gone (deleted, or between an editor's rename and write).
    pub missing: Vec<PathBuf>,
    /// What the row writes made live on the forum, in order, for `watch --live-reload`.
    pub live: Vec<Change>,
}

impl Report {
    /// Returns how many items need a person's attention: conflicts and refusals.
    pub fn problems(&self) -> usize {
        self.conflicts.len() + self.refused.len()
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
}

impl Syncer<'_> {
    /// Writes one planned row, as the Admin CP would. Returns, for a stylesheet, what the forum
    /// serves for it now.
    fn write_row(&self, write: &Write) -> Result<Option<Served>> {
        match &write.target {
            Target::UpdateTemplate { tid, title } => self
                .db
                .update_template(*tid, title, &write.content, &self.version_code)
                .map(|()| None),
            Target::InsertTemplate { sid, title, .. } => self
                .db
                .insert_template(*sid, title, &write.content, &self.version_code)
                .map(|_| None),
            Target::UpdateStylesheet { tid, sid, name } => {
                self.db.update_stylesheet(*sid, name, &write.content, now())?;
                self.after_stylesheet_write(*tid, *sid, name, &write.content).map(Some)
            }
            Target::InsertStylesheet { tid, name, attachedto, .. } => {
                let sid =
                    self.db.insert_stylesheet(*tid, name, attachedto, &write.content, now())?;
                let sid = u32::try_from(sid).map_err(|_| Error::Data {
                    what: format!("stylesheet {name:?} got sid {sid}, beyond MyBB's int unsigned"),
                })?;
                self.after_stylesheet_write(*tid, sid, name, &write.content).map(Some)
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

    /// Applies `plan` as far as `flow` allows, records what was synced in `state` (saved by
    /// the caller), and reports. Row writes come first, then every file write as one atomic
    /// batch. A connection failure stops the run (the caller retries); any other failure of
    /// one row is reported as a refusal of that item.
    pub fn apply(
        &self,
        plan: Vec<Planned>,
        flow: Flow,
        state: &mut State,
        options: &ApplyOptions,
    ) -> Result<Report> {
        let mut report = Report::default();
        let mut batch = AtomicBatch::new(self.config.durable);
        batch.fail_after(options.fail_after);
        let mut staged: Vec<(PathBuf, Option<(String, Record)>)> = Vec::new();
        // The database copies of earlier conflicts that the plan came across, to be removed
        // once their item is in sync again (looking for one beside every file would cost a
        // system call per file).
        let copies: HashSet<PathBuf> = plan
            .iter()
            .filter(|p| {
                p.action == Action::Ignored
                    && p.path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(crate::sync::layout::is_conflict_copy)
            })
            .map(|p| p.path.clone())
            .collect();
        let resolved = |path: &Path| {
            let copy = conflict_copy_path(path);
            if copies.contains(&copy) {
                remove_conflict_copy(self.config, path, &copy);
            }
        };
        let mut progress = crate::progress::Progress::new("applying", plan.len());
        let mut refused_paths = HashSet::new();
        for Planned { path, action, sync } in plan {
            progress.tick();
            match action {
                Action::Ignored => {}
                Action::GoneFromDb => {
                    log::info!(
                        "{}: its row was deleted in the database; the file is kept",
                        self.config.shown(&path)
                    );
                }
                Action::Missing => {
                    log::debug!(
                        "{}: no file; the database keeps its row",
                        self.config.shown(&path)
                    );
                    report.missing.push(path);
                }
                Action::Unstable => report.unstable.push(path),
                Action::InSync => {
                    if let Some((key, record)) = sync {
                        state.set(&key, record);
                    }
                    resolved(&path);
                    report.unchanged.push(path);
                }
                // A link above several files refuses each of them at its own path: once.
                Action::Refused(_) if !refused_paths.insert(path.clone()) => {}
                Action::Refused(why) => {
                    if why == EMPTY_FILE {
                        log::warn!("skipping empty file: {}", self.config.shown(&path));
                    } else {
                        log::warn!("{}: refused: {why}", self.config.shown(&path));
                    }
                    report.refused.push((path, why));
                }
                Action::Conflict(theirs) => {
                    let copy = conflict_copy_path(&path);
                    if let Err(e) = batch.stage(&copy, &theirs) {
                        refuse_unwritable(&mut report, path, &e);
                        continue;
                    }
                    log::warn!(
                        "{}: conflict: changed on disk and in the database since the last sync; \
                         the database's version is in {} (resolve with --prefer disk or --prefer db)",
                        self.config.shown(&path),
                        self.config.shown(&copy)
                    );
                    report.conflicts.push((path, copy));
                }
                Action::ToDb(write) if flow.to_db => match self.write_row(&write) {
                    Ok(served) => {
                        log::info!("{}: {}", self.config.shown(&path), write.describe());
                        report.live.extend(self.made_live(&path, &write, served));
                        if let Some((key, record)) = sync {
                            state.set(&key, record);
                        }
                        resolved(&path);
                        report.written.push((path, write.describe()));
                    }
                    Err(e @ Error::Connect { .. }) => return Err(e),
                    Err(e) => {
                        let why = crate::error::chain(&e);
                        log::warn!("{}: not written: {why}", self.config.shown(&path));
                        report.refused.push((path, why));
                    }
                },
                Action::ToDb(_) => {
                    log::info!(
                        "{}: edited since the last sync; kept (import it, or --prefer db)",
                        self.config.shown(&path)
                    );
                    report.held.push((path, "edited since the last sync"));
                }
                Action::ToDisk(bytes) if flow.to_disk => {
                    if let Some(since) = options.keep_files_changed_since
                        && modified_since(&path, since)
                    {
                        log::warn!(
                            "{}: changed while the export ran; left as it is",
                            self.config.shown(&path)
                        );
                        report.held.push((path, "changed during the export"));
                        continue;
                    }
                    if let Err(e) = batch.stage(&path, &bytes) {
                        // One file that cannot be written (a name too long for the file
                        // system, a folder without permission) does not stop the others.
                        refuse_unwritable(&mut report, path, &e);
                        continue;
                    }
                    staged.push((path, sync));
                }
                Action::ToDisk(_) => {
                    log::info!(
                        "{}: changed in the database since the last sync; run export to fetch it",
                        self.config.shown(&path)
                    );
                    report.held.push((path, "changed in the database"));
                }
            }
        }
        let committed = batch.commit();
        if let Ok(paths) = &committed {
            let committed: BTreeSet<&PathBuf> = paths.iter().collect();
            for (path, sync) in staged {
                if !committed.contains(&path) {
                    continue;
                }
                if let Some((key, record)) = sync {
                    state.set(&key, record);
                }
                resolved(&path);
                log::debug!("{}: written from the database", self.config.shown(&path));
                report.pulled.push(path);
            }
        }
        // Files written by a batch that failed part-way hold the database's content: the next
        // run finds them in sync and records them then.
        state.save(self.config.durable)?;
        committed?;
        Ok(report)
    }
}

/// Reports `path` refused because its file could not be written.
fn refuse_unwritable(report: &mut Report, path: PathBuf, error: &Error) {
    let why = format!("cannot write it: {}", crate::error::chain(error));
    log::warn!("{}: refused: {why}", path.display());
    report.refused.push((path, why));
}

/// Removes the database copy of a former conflict, once the item is in sync again.
fn remove_conflict_copy(config: &Config, path: &Path, copy: &Path) {
    match std::fs::remove_file(copy) {
        Ok(()) => {
            log::info!("{}: conflict resolved; removed {}", config.shown(path), config.shown(copy))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove {}: {e}", config.shown(copy)),
    }
}

/// How far behind `now()` file times may be: they come from the kernel's coarse clock.
const CLOCK_SLACK: Duration = Duration::from_millis(20);

/// Returns true if and only if the file at `path` was modified at or after `since`.
fn modified_since(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t + CLOCK_SLACK >= since)
}
