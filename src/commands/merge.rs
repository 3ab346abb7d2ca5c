//! `merge [PATH...]`: the three-way merge of each outdated template (or of those under the
//! given paths) into its file, and a summary such as "6 outdated: 4 merged cleanly, 2 with
//! conflicts to resolve in: ...". Files only: `import` (or the watcher) takes the result to
//! the database after the admin has looked at it; marked files are refused there.

use std::path::{Path, PathBuf};

use crate::cli::MergeArgs;
use crate::commands::{Context, output};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sync::own_dir;
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

/// Why a conflicted file is one, for `--json`.
const CONFLICT_REASON: &str = "both changed the same lines: resolve the marked lines";
/// Why a template without a merge base is not merged, for `--json`.
const NO_BASE_REASON: &str = "no merge base known: give merge --base FILE.xml of the old release";

/// Returns the `--json` lines of `report`: one object per outdated template (`action` one of
/// `merged`, `conflict`, `unchanged`, `skipped`), then the summary.
pub fn json_lines(config: &Config, report: &MergeReport, dry_run: bool) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for path in &report.clean {
        lines.push(output::item(config, "merged", path, None));
    }
    for path in &report.conflicted {
        lines.push(output::item(config, "conflict", path, Some(CONFLICT_REASON)));
    }
    for path in &report.up_to_date {
        lines.push(output::item(config, "unchanged", path, Some("already merged")));
    }
    for path in &report.no_base {
        lines.push(output::item(config, "skipped", path, Some(NO_BASE_REASON)));
    }
    for (path, why) in &report.skipped {
        lines.push(output::item(config, "skipped", path, Some(why)));
    }
    lines.push(serde_json::json!({
        "summary": "merge",
        "dry_run": dry_run,
        "outdated": report.total(),
        "merged": report.clean.len(),
        "conflicts": report.conflicted.len(),
        "unchanged": report.up_to_date.len(),
        "skipped": report.no_base.len() + report.skipped.len(),
    }));
    lines
}

/// Runs `merge`. Returns [`Error::Incomplete`] (exit 3) when a file holds conflicts, or a
/// template could not be merged.
pub fn run(ctx: &Context, args: &MergeArgs) -> Result<()> {
    let paths = ctx.paths(&args.paths)?;
    if let Some(base) = &args.base {
        crate::root::input_file(base, "merge --base FILE.xml")?;
    }
    let (db, config) = ctx.connected()?;
    let MergeArgs { base, dry_run, json, .. } = args;
    let (base, dry_run, json) = (base.as_deref(), *dry_run, *json);
    own_dir::require_root(&config.sync_root)?;
    own_dir::bind(&config.sync_root, config, db, own_dir::Binding::CheckAndStamp)?;
    let lock = own_dir::lock(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let old = base.map(OldMasters::read).transpose()?;
    let mut upgrade = Upgrade::load(db, config)?;
    let mut items = upgrade.outdated(old.as_ref());
    if !paths.is_empty() {
        for path in &paths {
            if !items.iter().any(|i| covers(path, &i.path)) {
                log::info!("{}: nothing outdated there", config.shown(path));
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
    if json {
        output::print_lines(&json_lines(config, &report, dry_run));
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
