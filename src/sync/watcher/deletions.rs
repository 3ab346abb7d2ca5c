//! Deletions on disk under `watch`: the files found deleted wait until no file has vanished
//! for a while, then are judged together, so an `rm -rf` or a branch switch is one group
//! whatever the batches its events fell into; a mass deletion (too many files, or a whole
//! folder gone) is held for an explicit `import`, and reported once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::sync::plan::{self, Action};

use super::Worker;

/// Why a batch's deletions were held.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum MassDeletion {
    /// More files than `--max-deletions` vanished.
    TooMany(usize),
    /// A whole folder vanished: a set's or theme's, a group folder, or a layout's top folder.
    Folder(PathBuf),
}

/// Takes the deletions out of `plan` when they are a mass deletion: more than `max` files, or
/// any file whose folder vanished with it (a branch switch, an `rm -rf`).
/// Returns the paths held and why, or None when the batch may delete what it planned.
pub(super) fn hold_mass_deletion(
    plan: &mut Vec<plan::Planned>,
    max: usize,
    root: &std::path::Path,
) -> Option<(Vec<PathBuf>, MassDeletion)> {
    let deletions: Vec<&PathBuf> =
        plan.iter().filter(|p| matches!(p.action, Action::Delete(_))).map(|p| &p.path).collect();
    if deletions.is_empty() {
        return None;
    }
    // The highest folder above a deleted file that is gone with it: a set's or theme's, a
    // group folder of a set (an `rm -rf` of one group, however few its files), or a layout's
    // top folder. A file deleted alone leaves its folder.
    let vanished = |path: &PathBuf| -> Option<PathBuf> {
        let relative = path.strip_prefix(root).ok()?;
        relative
            .ancestors()
            .skip(1)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| root.join(dir))
            .filter(|dir| std::fs::symlink_metadata(dir).is_err())
            .last()
    };
    let gone_folder = deletions.iter().find_map(|p| vanished(p));
    let why = match gone_folder {
        Some(dir) => MassDeletion::Folder(dir),
        None if deletions.len() > max => MassDeletion::TooMany(deletions.len()),
        None => return None,
    };
    let held: Vec<PathBuf> = deletions.into_iter().cloned().collect();
    plan.retain(|p| !matches!(p.action, Action::Delete(_)));
    Some((held, why))
}

/// The least time without a file vanishing before deletions are applied (see
/// [`Worker::deletions`]); four debounce windows when that is longer.
const DELETION_QUIET: Duration = Duration::from_millis(500);

impl Worker {
    /// Returns how long no file may have vanished before deletions are applied.
    fn deletion_quiet(&self) -> Duration {
        DELETION_QUIET.max(self.options.debounce * 4)
    }

    /// Returns when the deletions found so far are due (see [`Worker::deletions`]).
    pub(super) fn deletions_at(&self) -> Option<Instant> {
        (!self.deletions.is_empty()).then(|| {
            let quiet = self.last_deletion + self.deletion_quiet();
            self.retry_at.map_or(quiet, |retry| retry.max(quiet))
        })
    }

    /// Reports deletions on disk held for an explicit `import`, once for as long as the same
    /// files stay held. A batch that held nothing leaves the earlier hold as it is: those files
    /// still wait, and the pull does not queue them again.
    pub(super) fn report_held_deletions(&mut self, held: Option<(Vec<PathBuf>, MassDeletion)>) {
        let Some((paths, why)) = held else { return };
        let new = paths.iter().any(|p| !self.held_deletions.contains(p));
        self.held_deletions.extend(paths.iter().cloned());
        if !new {
            return;
        }
        let why = match why {
            MassDeletion::TooMany(n) => format!(
                "{n} files were deleted at once (more than --max-deletions {})",
                self.options.max_deletions
            ),
            MassDeletion::Folder(dir) => {
                format!("the whole folder {} was deleted", self.config.shown(&dir))
            }
        };
        log::warn!(
            "{why}: nothing is deleted from the database (a branch switch or an rm -rf?); \
             run `mybb-sync import` to delete them, or `mybb-sync export` to bring the files back"
        );
        for path in &paths {
            log::info!("{}: deleted on disk; held for an explicit import", self.config.shown(path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::atomic::Seen;
    use crate::sync::plan::{Deletion, Planned};

    fn deletion(path: PathBuf) -> Planned {
        let action = Action::Delete(Deletion::Nothing(Vec::new()));
        Planned { path, action, sync: None, seen: Seen::Absent }
    }

    #[test]
    fn a_batch_deleting_many_files_or_a_whole_folder_is_held() {
        let root = crate::test_support::scratch_dir("watcher", "mass_deletion");
        let theme = root.join("styles/Default");
        std::fs::create_dir_all(&theme).unwrap();
        let few: Vec<Planned> = (0..3).map(|n| deletion(theme.join(format!("{n}.css")))).collect();
        let mut plan = few.clone();
        assert_eq!(hold_mass_deletion(&mut plan, 3, &root), None);
        assert_eq!(plan.len(), 3);
        let mut plan = few.clone();
        let held = hold_mass_deletion(&mut plan, 2, &root);
        assert_eq!(
            held.map(|(paths, why)| (paths.len(), why)),
            Some((3, MassDeletion::TooMany(3)))
        );
        assert!(plan.is_empty());
        // One file, but its theme's folder is gone with it.
        let mut plan = vec![deletion(root.join("styles/Gone/a.css"))];
        let held = hold_mass_deletion(&mut plan, 5, &root);
        assert_eq!(held.map(|(_, why)| why), Some(MassDeletion::Folder(root.join("styles/Gone"))));
        let _ = std::fs::remove_dir_all(root);
    }
}
