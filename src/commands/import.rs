//! `import`: files to database rows, once, holding the sync root's lock exclusively.

use std::path::PathBuf;
use std::time::Duration;

use fs_err as fs;

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::disk::walk::walk_files;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::apply::{ApplyOptions, Report};
use crate::sync::decide::Prefer;
use crate::sync::plan::{Flow, Syncer, walk_root};
use crate::sync::state::State;

/// Runs `import`: plans every file under the sync root (or under `paths`) and writes those
/// that changed to the database. Returns [`Error::Incomplete`] when any file was refused or
/// in conflict. With `dry_run`, prints the plan and changes nothing.
pub fn import(
    db: &Db,
    config: &Config,
    paths: &[PathBuf],
    prefer: Option<Prefer>,
    dry_run: bool,
) -> Result<Report> {
    // Exclusive, as an export: two writers of rows (another import, a watcher's batch) must
    // not both copy one template into a set.
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let files = if paths.is_empty() {
        walk_root(&config.sync_root)?
    } else {
        let mut files = Vec::new();
        for path in paths {
            match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => files.extend(walk_files(path)?),
                Ok(_) => files.push(path.clone()),
                Err(e) => return Err(Error::Usage { message: e.to_string() }),
            }
        }
        files
    };
    let syncer = Syncer::new(db, config, prefer)?;
    let mut state = State::load(&config.sync_root)?;
    let plan = syncer.plan_paths(&files, &state)?;
    if dry_run {
        return crate::commands::status::print_dry_run(config, &plan, Flow::IMPORT);
    }
    let mut report = syncer.apply(plan, Flow::IMPORT, &mut state, &ApplyOptions::default())?;
    // A file still being written: give its writer a moment, then try again, a few times.
    for _ in 0..5 {
        if report.unstable.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let plan = syncer.plan_paths(&std::mem::take(&mut report.unstable), &state)?;
        let again = syncer.apply(plan, Flow::IMPORT, &mut state, &ApplyOptions::default())?;
        report.written.extend(again.written);
        report.unchanged.extend(again.unchanged);
        report.refused.extend(again.refused);
        report.conflicts.extend(again.conflicts);
        report.unstable = again.unstable;
    }
    for path in std::mem::take(&mut report.unstable) {
        log::warn!("{}: refused: kept changing while being read", path.display());
        report.refused.push((path, "kept changing while being read".to_owned()));
    }
    log::info!(
        "import: {} written, {} unchanged, {} refused, {} in conflict",
        report.written.len(),
        report.unchanged.len(),
        report.refused.len(),
        report.conflicts.len()
    );
    if report.problems() > 0 {
        return Err(Error::Incomplete { refused: report.problems() });
    }
    Ok(report)
}
