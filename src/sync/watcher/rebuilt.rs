//! A watcher on a root whose sync state was rebuilt (lost, or unreadable and set aside), so
//! partial: not trusted to tell a new file from one whose row was deleted (`state.rs`).
//!
//! A reconcile (at start-up, or after lost events) compares every file of the root, as a full
//! `import` does; one that settles all of them completes the state (`process`). One that
//! leaves items undecided (conflicts, refusals, deletions waiting or held) says so and what
//! to do, and keeps their paths here: once the watcher's own batches have settled every one
//! of them (the user resolved them and saved), it reconciles again, which completes the state.
//! A state found partial by a batch with no reconcile behind it (another run rebuilt it
//! meanwhile, or `--export-first`'s export could not complete it) gets a reconcile too. So a
//! watcher left running never keeps an untrusted state without saying why.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Worker;
use crate::sync::apply::Report;

/// Returns the paths of `report` that are not settled: in conflict, refused, held, changing
/// or held up by another transaction.
fn unsettled(report: &Report) -> BTreeSet<PathBuf> {
    let paths = report.conflicts.iter().map(|(path, _)| path);
    paths
        .chain(report.deletion_conflicts.iter().map(|(path, _)| path))
        .chain(report.refused.iter().map(|(path, _)| path))
        .chain(report.held.iter().map(|(path, _)| path))
        .chain(report.unstable.iter())
        .chain(report.busy.iter().map(|(path, _)| path))
        .cloned()
        .collect()
}

impl Worker {
    /// Notes what a batch did to a partial state. `trusted`: the state is complete now (this
    /// batch, a reconcile, completed it, or another run did); `also_open`: paths the batch left
    /// undecided outside its report (deletions waiting for quiet, or held as a mass deletion).
    pub(super) fn note_rebuilt<'p>(
        &mut self,
        rescanning: bool,
        trusted: bool,
        batch: &[PathBuf],
        report: &Report,
        also_open: impl Iterator<Item = &'p PathBuf>,
    ) {
        if trusted {
            self.unsettled = None;
            return;
        }
        let mut open = unsettled(report);
        open.extend(also_open.cloned());
        if rescanning {
            log::warn!(
                "the sync state is partial (rebuilt after it was lost or unreadable), and {} \
                 item(s) are not settled: until they are, a file without a row is a conflict, \
                 never made a row. Resolve them (the watcher completes the state once its saves \
                 have settled them), or run `mybb-sync import` beside it",
                open.len()
            );
            self.unsettled = Some(open);
            return;
        }
        let Some(left) = &mut self.unsettled else {
            // Partial since the last reconcile (another run rebuilt it, or `--export-first`
            // left it so): compare every file, which completes it or says what is left.
            log::info!(
                "the sync state is partial (rebuilt, not yet completed); comparing every file \
                 to complete it"
            );
            self.rescan = true;
            return;
        };
        for path in batch {
            if !open.contains(path) {
                left.remove(path);
            }
        }
        if left.is_empty() {
            log::info!(
                "every item the reconcile left undecided is settled; comparing every file again \
                 to complete the sync state"
            );
            self.unsettled = None;
            self.rescan = true;
        }
    }
}
