//! Deletions, on either side: the file of an item deleted in the database moved under
//! `.mybb-sync/deleted/` (with the folders of a deleted set or theme it leaves empty); a file
//! deleted on disk carried to the database as the Admin CP offers it, its row kept first; and
//! `revert`'s retirement of a global template's file.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::disk::atomic::{self, NotReplaced, Seen};
use crate::error::{Error, Result};
use crate::sync::plan::{Action, Deletion, Flow, Planned, Syncer};
use crate::sync::recovery::{recovery_path, remember_attachments};
use crate::sync::state::{Record, State};

use super::{ApplyOptions, Round, ToWrite, refuse_unwritable};

impl Syncer<'_> {
    /// Removes the file of an item deleted in the database, if it is still as planned: moved
    /// under `.mybb-sync/deleted/` (recoverable), its record dropped, and, when its set or
    /// theme is gone too, the folders it leaves empty removed; or, where a new row of the same
    /// name took the item's place, replaced by `then_write` (recorded as `sync` says). A file
    /// changed meanwhile goes back to the planner.
    pub(super) fn remove_file(
        &self,
        round: &mut Round<'_>,
        path: PathBuf,
        seen: atomic::Seen,
        sync: Option<(String, Record)>,
        owner_gone: bool,
        then_write: Option<Vec<u8>>,
    ) {
        let copy = match recovery_path(self.config, &path) {
            Some(copy) => copy,
            None => {
                let why = "not under the sync root; not removed".to_owned();
                round.report.refused.push((path, why));
                return;
            }
        };
        match atomic::move_if(&path, &copy, seen) {
            Ok(Ok(())) if let Some(bytes) = then_write => {
                log::info!(
                    "{}: deleted and made again in the database; the old file is kept in {}",
                    self.config.shown(&path),
                    self.config.shown(&copy)
                );
                // Placed only where nothing stands: a file saved meanwhile is planned again.
                let write = ToWrite { path: path.clone(), bytes, seen: Seen::Absent, sync };
                round.to_write.push(write);
                round.report.removed.push((path, copy));
            }
            Ok(Ok(())) => {
                log::info!(
                    "{}: deleted in the database; the file is removed (a copy is kept in {})",
                    self.config.shown(&path),
                    self.config.shown(&copy)
                );
                if let Some((key, _)) = sync {
                    round.state.bury(&key);
                }
                if owner_gone {
                    remove_empty_folders(self.config, &path);
                }
                round.report.removed.push((path, copy));
            }
            Ok(Err(NotReplaced::Changed)) => round.raced.push(path),
            Ok(Err(why @ NotReplaced::NotAFile)) => round.not_replaced(&path, &why),
            Err(e) => refuse_unwritable(self.config, round.report, path, &e),
        }
    }

    /// Carries a deletion on disk to the database, as the Admin CP offers it for the item (see
    /// [`Deletion`]), if the row is still as planned; then brings to disk what MyBB renders for
    /// the item now, if anything (a master, the global template, a parent theme's stylesheet).
    /// A row changed meanwhile goes back to the planner.
    pub(super) fn apply_deletion(
        &self,
        round: &mut Round<'_>,
        path: PathBuf,
        deletion: Deletion,
        seen: atomic::Seen,
        sync: Option<(String, Record)>,
    ) -> Result<()> {
        // Looked at again right before the row goes: a file saved back since the plan found it
        // gone (an editor's unlink-then-write save, slower than the watcher's deletion window)
        // is planned again, never taken for a deletion.
        if !matches!(deletion, Deletion::Nothing(_)) && std::fs::symlink_metadata(&path).is_ok() {
            log::info!(
                "{}: saved again before its deletion; planning it again",
                self.config.shown(&path)
            );
            round.raced.push(path);
            return Ok(());
        }
        // Kept before the row goes (a kill after the delete still has them): its content, on
        // neither side once it is gone (an accidental rm), and a stylesheet's pages.
        if let Err(why) = self.keep_deleted_row(&path, &deletion) {
            log::warn!("{}: not deleted: {why}", self.config.shown(&path));
            round.report.refused.push((path, why));
            return Ok(());
        }
        let gone = match &deletion {
            Deletion::Template { tid, title, seen } => {
                self.db.delete_custom_template(*tid, title, seen)
            }
            Deletion::Stylesheet { tid, sid, name, seen, .. } => {
                self.db.delete_stylesheet(*tid, *sid, seen).and_then(|gone| {
                    if gone {
                        crate::mybb::cache::after_stylesheet_delete(
                            self.db,
                            self.config,
                            *tid,
                            name,
                        )?;
                    }
                    Ok(gone)
                })
            }
            Deletion::Nothing(bytes) => {
                log::info!(
                    "{}: deleted on disk, but {}",
                    self.config.shown(&path),
                    deletion.describe()
                );
                let bytes = bytes.clone();
                round.report.deleted.push((path.clone(), deletion.describe()));
                round.to_write.push(ToWrite { path, bytes, seen, sync });
                return Ok(());
            }
        };
        match gone {
            Ok(true) => {}
            Ok(false) => {
                log::info!(
                    "{}: its row changed in the database meanwhile",
                    self.config.shown(&path)
                );
                round.raced.push(path);
                return Ok(());
            }
            Err(
                e @ (Error::Connect { .. } | Error::PgConnect { .. } | Error::SqliteBusy { .. }),
            ) => return Err(e),
            Err(e) => {
                let why = crate::error::chain(&e);
                log::warn!("{}: not deleted: {why}", self.config.shown(&path));
                round.report.refused.push((path, why));
                return Ok(());
            }
        }
        log::info!("{}: deleted on disk; {}", self.config.shown(&path), deletion.describe());
        round.inherited.push(path.clone());
        if let Some((key, _)) = &sync {
            round.state.forget(key);
        }
        round.report.deleted.push((path.clone(), deletion.describe()));
        // What renders now, planned as a new item: a file that appeared meanwhile is not
        // replaced (the writer's compare-and-swap sees it), it goes back to the planner.
        let again = self.plan_paths(std::slice::from_ref(&path), round.state)?;
        if let Some(Planned { action: Action::ToDisk(bytes), sync, seen, .. }) =
            again.into_iter().next()
        {
            round.to_write.push(ToWrite { path, bytes, seen, sync });
        }
        Ok(())
    }

    /// Keeps what deleting the row of `deletion` would lose: a copy of its content where the
    /// files of deleted items are kept (`.mybb-sync/deleted/`, numbered after earlier ones),
    /// and a stylesheet's pages (see [`crate::sync::recovery::remembered_attachments`]).
    /// Returns why not, if not.
    fn keep_deleted_row(
        &self,
        path: &Path,
        deletion: &Deletion,
    ) -> std::result::Result<(), String> {
        let (seen, attachedto) = match deletion {
            Deletion::Template { seen, .. } => (seen, None),
            Deletion::Stylesheet { seen, attachedto, .. } => (seen, Some(attachedto)),
            Deletion::Nothing(_) => return Ok(()),
        };
        let Some(copy) = recovery_path(self.config, path) else {
            return Err("its file is not under the sync root".to_owned());
        };
        let cannot =
            |what: &str, e: Error| format!("{what} cannot be kept: {}", crate::error::chain(&e));
        atomic::write_file(&copy, seen, self.config.durable)
            .map_err(|e| cannot("a copy of its row", e))?;
        log::info!(
            "{}: a copy of its row is kept in {}",
            self.config.shown(path),
            self.config.shown(&copy)
        );
        if let Some(attachedto) = attachedto {
            remember_attachments(self.config, path, attachedto)
                .map_err(|e| cannot("its pages (attachedto)", e))?;
        }
        Ok(())
    }

    /// Finishes `revert` of a global template whose row was just deleted: moves its file
    /// (still as `seen`) under `.mybb-sync/deleted/`, forgets its record `key`, and brings to
    /// disk every set's file that showed it, as [`Syncer::refresh_dependants`] does for a
    /// write. Returns Err with why when the file was saved meanwhile (kept as saved).
    pub fn retire_global(
        &self,
        path: &Path,
        seen: Seen,
        key: &str,
        state: &mut State,
    ) -> Result<std::result::Result<(), &'static str>> {
        let Some(copy) = recovery_path(self.config, path) else {
            return Ok(Err("its file is not under the sync root"));
        };
        match atomic::move_if(path, &copy, seen)? {
            Ok(()) => {}
            Err(NotReplaced::Changed) => {
                return Ok(Err("the file was saved meanwhile and is kept as saved"));
            }
            Err(NotReplaced::NotAFile) => return Ok(Err("the file is not a regular file")),
        }
        log::info!("{}: kept as {}", self.config.shown(path), self.config.shown(&copy));
        state.forget(key);
        let board = crate::mybb::board::Board::load(self.db)?;
        let heirs = self.dependants(&board, path);
        let mut plan = self.plan_paths(&heirs, state)?;
        plan.retain(|p| {
            matches!(p.action, Action::ToDisk(_) | Action::Conflict(_) | Action::RemoveFile { .. })
        });
        let report = self.apply(plan, Flow::EXPORT, state, &ApplyOptions::default())?;
        for pulled in &report.pulled {
            log::info!("{}: now shows the master template", self.config.shown(pulled));
        }
        Ok(Ok(()))
    }
}

/// Removes the folders above `path` (a removed file of a deleted set or theme) that are now
/// empty, up to the set's or theme's folder, never the layout's top folders. A folder with
/// anything left in it (an edited file, a conflict copy) stays.
fn remove_empty_folders(config: &Config, path: &Path) {
    let tops = [
        config.sync_root.join(crate::sync::layout::TEMPLATE_SETS_DIR),
        config.sync_root.join(crate::sync::layout::STYLES_DIR),
    ];
    let mut dir = path.parent();
    while let Some(folder) = dir {
        if tops.iter().any(|top| top == folder) || !folder.starts_with(&config.sync_root) {
            break;
        }
        if std::fs::remove_dir(folder).is_err() {
            break;
        }
        log::info!("{}: its folder was emptied and removed", config.shown(folder));
        dir = folder.parent();
    }
}
