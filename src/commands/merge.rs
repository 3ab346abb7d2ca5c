//! `merge [PATH...]`: the three-way merge of each outdated template (or of those under the
//! given paths) into its file, and a summary such as "6 outdated: 4 merged cleanly, 2 with
//! conflicts to resolve in: ...". Files only: `import` (or the watcher) takes the result to
//! the database after the admin has looked at it; marked files are refused there.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::upgrade::{MergeReport, OldMasters, Upgrade};

/// Returns true if and only if `path` is `filter` or lies under it.
fn covers(filter: &Path, path: &Path) -> bool {
    let (Ok(filter), Ok(path)) = (std::path::absolute(filter), std::path::absolute(path)) else {
        return false;
    };
    path.starts_with(filter)
}

/// Returns the summary line of `report`.
pub fn summary(upgrade: &Upgrade<'_>, report: &MergeReport, dry_run: bool) -> String {
    let list = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| upgrade.relative(p).display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (clean, conflicts) = if dry_run {
        ("would merge cleanly", "would have conflicts")
    } else {
        ("merged cleanly", "with conflicts to resolve in")
    };
    let mut text = format!("{} outdated: {} {clean}", report.total(), report.clean.len());
    if !report.conflicted.is_empty() || report.total() == report.clean.len() {
        text.push_str(&format!(", {} {conflicts}", report.conflicted.len()));
        if !report.conflicted.is_empty() {
            text.push_str(&format!(": {}", list(&report.conflicted)));
        }
    }
    if !report.no_base.is_empty() {
        text.push_str(&format!(
            "; {} without a merge base (give merge --base FILE.xml of the old release): {}",
            report.no_base.len(),
            list(&report.no_base)
        ));
    }
    if !report.skipped.is_empty() {
        let paths: Vec<PathBuf> = report.skipped.iter().map(|(p, _)| p.clone()).collect();
        text.push_str(&format!("; {} skipped: {}", paths.len(), list(&paths)));
    }
    if !report.up_to_date.is_empty() {
        text.push_str(&format!("; {} already merged", report.up_to_date.len()));
    }
    text
}

/// Runs `merge`. Returns [`Error::Incomplete`] (exit 3) when a file holds conflicts, or a
/// template could not be merged.
pub fn merge(
    db: &Db,
    config: &Config,
    paths: &[PathBuf],
    base: Option<&Path>,
    dry_run: bool,
) -> Result<()> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let old = base.map(OldMasters::read).transpose()?;
    let mut upgrade = Upgrade::load(db, config)?;
    let mut items = upgrade.outdated(old.as_ref());
    if !paths.is_empty() {
        for path in paths {
            if !items.iter().any(|i| covers(path, &i.path)) {
                log::info!("{}: nothing outdated there", path.display());
            }
        }
        items.retain(|i| paths.iter().any(|p| covers(p, &i.path)));
    }
    let report = upgrade.merge(&items, dry_run)?;
    for path in &report.clean {
        let done = if dry_run { "would merge cleanly" } else { "merged cleanly" };
        log::info!("{}: {done}", upgrade.relative(path).display());
    }
    for path in &report.conflicted {
        let shown = upgrade.relative(path).display().to_string();
        if dry_run {
            log::warn!("{shown}: would have conflicts: both changed the same lines");
        } else {
            log::warn!(
                "{shown}: merged with conflicts: resolve the marked lines (<<<<<<< ... >>>>>>>)"
            );
        }
    }
    for (path, why) in &report.skipped {
        log::warn!("{}: not merged: {why}", upgrade.relative(path).display());
    }
    if items.is_empty() {
        log::info!("nothing outdated: nothing to merge");
        return Ok(());
    }
    log::info!("{}", summary(&upgrade, &report, dry_run));
    let wrote = !report.clean.is_empty() || !report.conflicted.is_empty();
    if wrote && !dry_run {
        log::info!(
            "review the files (mybb-sync diff PATH, or git diff), then run mybb-sync import; \
             files that still hold conflict markers are refused until resolved"
        );
    }
    let problems = report.conflicted.len() + report.skipped.len() + report.no_base.len();
    if problems > 0 {
        return Err(Error::Incomplete { refused: problems });
    }
    Ok(())
}
