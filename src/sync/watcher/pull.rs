//! A watcher's pull: database changes (Admin CP edits, reverts, deletions) brought to the
//! files nobody is editing, comparing only the sets and themes whose rows changed (issue 32).

use std::time::{Duration, Instant};

use super::Worker;
use super::changed::changed_only;
use crate::error::{Error, Result};
use crate::mybb::board::GLOBAL_SID;
use crate::sync::apply::ApplyOptions;
use crate::sync::plan::{Action, Flow, Planned, Scope, Syncer};
use crate::sync::state::State;

impl Worker {
    /// Brings database changes (Admin CP edits, reverts) to disk, when a cheap fingerprint of
    /// the tables says something changed. Only rows go to files, and only to quiet files: a
    /// path that is pending, or whose file changed since its last sync, waits for its batch
    /// (and its debounce) like any save. Runs between batches, behind the same gate and lock.
    pub(super) fn pull(&mut self) -> Result<()> {
        let every = self.options.pull_interval.unwrap_or(Duration::from_secs(2));
        self.next_pull = Some(Instant::now() + every);
        let _shared = self.lock.shared()?;
        let fingerprint = match self.db.fingerprint() {
            Ok(fingerprint) => fingerprint,
            Err(e) => return self.outage_or(e, Vec::new()),
        };
        if Some(&fingerprint) == self.fingerprint.as_ref() {
            return Ok(());
        }
        // The baseline of the masters first (one cheap query when they did not change), so an
        // upgrade's old masters are recorded before anything is pulled.
        let read = match crate::sync::baseline::keep_up(&self.db, &self.root, self.config.durable) {
            Ok(read) => read,
            Err(
                e @ (Error::Connect { .. }
                | Error::Query { .. }
                | Error::PgConnect { .. }
                | Error::PgQuery { .. }
                | Error::Sqlite { .. }
                | Error::SqliteBusy { .. }),
            ) => {
                return self.outage_or(e, Vec::new());
            }
            Err(e) => {
                log::warn!(
                    "the baseline of the master templates was not updated: {}",
                    crate::error::chain(&e)
                );
                None
            }
        };
        let mut deferred = Vec::new();
        let pending = &self.pending;
        let reported = &mut self.reported;
        let held_deletions = &self.held_deletions;
        let conflicted = &self.conflicted;
        let last = self.fingerprint.as_deref();
        let result = Syncer::new(&self.db, &self.config, None).and_then(|syncer| {
            let board = crate::mybb::board::Board::load(&self.db)?;
            let mut scope = syncer.default_scope(&board)?;
            let every_set = scope.sets.clone();
            // Only the sets and themes whose rows changed (issue 32): a pull costs what changed.
            let global = match last {
                Some(last) => changed_only(&mut scope, &board, last, &fingerprint),
                None => false,
            };
            let mut state = State::load(&self.root)?;
            let mut report = crate::sync::apply::Report::default();
            let part_items = crate::sync::plan::PART_ITEMS;
            let mut apply_part = |mut plan: Vec<Planned>, state: &mut State| {
                plan.retain(|p| match &p.action {
                    _ if pending.contains(&p.path) => false,
                    // Waits for an explicit import; reported when it was held.
                    Action::Delete(_) if held_deletions.contains(&p.path) => false,
                    // Warned about by a batch, and neither side saved since (a save is an event).
                    Action::Conflict(_) if conflicted.contains(&p.path) => false,
                    Action::ToDb(_)
                    | Action::Conflict(_)
                    | Action::Unstable
                    | Action::Delete(_) => {
                        deferred.push(p.path.clone());
                        false
                    }
                    // A pull looks at every file: a refusal it already reported (a stray file
                    // in a theme folder, a link) is reported once, not at every change in the
                    // database.
                    Action::Refused(why) => reported.insert((p.path.clone(), why.clone())),
                    _ => true,
                });
                if plan.iter().any(|p| matches!(p.action, Action::ToDisk(_))) {
                    crate::test_hooks::hold(crate::test_hooks::HOLD_BEFORE_PULL_WRITE);
                }
                report.absorb(syncer.apply(plan, Flow::EXPORT, state, &ApplyOptions::default())?);
                Ok(())
            };
            if global {
                // The global set first: a save of ours (whose dependants its batch wrote)
                // leaves every global row as recorded; anybody else's global edit changes
                // what every set renders, so then every set is compared.
                let (globals, others) =
                    scope.sets.into_iter().partition(|(sid, _)| *sid == GLOBAL_SID);
                scope.sets = others;
                let first = Scope { sets: globals, themes: Vec::new(), every_file: false };
                log::debug!(
                    "the global templates changed; comparing the files of {} set(s) and 0 \
                     theme(s) with it first",
                    first.sets.len()
                );
                let mut moved = first.sets.is_empty();
                syncer.plan_by_parts(
                    &board,
                    &first,
                    &mut state,
                    false,
                    None,
                    part_items,
                    |plan, state| {
                        moved |= plan.iter().any(|p| row_may_have_changed(p, state));
                        apply_part(plan, state)
                    },
                )?;
                if moved {
                    log::debug!("a global template differs from its record; comparing every set");
                    scope.sets =
                        every_set.into_iter().filter(|(sid, _)| *sid != GLOBAL_SID).collect();
                }
            }
            log::debug!(
                "the database changed; comparing the files of {} set(s) and {} theme(s) with it",
                scope.sets.len(),
                scope.themes.len()
            );
            syncer
                .plan_by_parts(&board, &scope, &mut state, false, read, part_items, apply_part)?;
            Ok(report)
        });
        match result {
            Ok(report) => {
                self.publish(&report.live);
                for path in &report.pulled {
                    log::info!("{}: brought to disk from the database", self.config.shown(path));
                }
                self.stats.pulled += report.pulled.len();
                log::debug!("pulled: {} file(s) brought to disk", report.pulled.len());
                // Edited while being pulled: to the batch, as any save.
                deferred.extend(report.held.into_iter().map(|(path, _)| path));
                self.defer(deferred);
                self.fingerprint = Some(fingerprint);
                self.reachable();
                Ok(())
            }
            Err(e) => {
                // A part may have been applied (the global set's, recording anybody else's
                // global edit) and not the sets it widened to: the next pull compares all.
                self.fingerprint = None;
                self.outage_or(e, Vec::new())
            }
        }
    }
}

/// Whether the database's side of `planned` (a global template, compared first) may differ
/// from what `state` recorded at its last sync: anything but a file and row in sync as
/// recorded, a file saved over an unchanged row, or nothing on either side. If in doubt, yes.
fn row_may_have_changed(planned: &Planned, state: &State) -> bool {
    match &planned.action {
        Action::Ignored | Action::Missing | Action::ToDb(_) => false,
        Action::InSync => match &planned.sync {
            Some((key, now)) => {
                state.get(key).is_none_or(|then| then.hash != now.hash || then.pending.is_some())
            }
            None => true,
        },
        _ => true,
    }
}
