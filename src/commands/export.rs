//! `export`: database rows to files, the first of mybb-sync's two flows.
//!
//! ```text
//! DB rows --resolve (board.rs)--> rendered items --layout.rs--> paths --atomic.rs--> files
//! ```
//! Runs under the sync root's lock held exclusively, so a watcher in another process waits.
//! The plan comes from `import.rs`, the one place that decides what happens to an item: a file
//! already right is not rewritten (exporting an unchanged board touches nothing), and a file
//! edited since the last sync is kept unless `--prefer db` says otherwise.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::cli::ExportArgs;
use crate::commands::{Context, output};
use crate::config::Config;
use crate::disk::atomic;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::db::Db;
use crate::sync::apply::{ApplyOptions, Report};
use crate::sync::baseline;
use crate::sync::decide::Prefer;
use crate::sync::layout::{GLOBAL_SET_TITLE, ItemPath};
use crate::sync::own_dir::{self, Binding};
use crate::sync::plan::{Flow, Scope, Syncer, covers_root};
use crate::sync::state::State;
use crate::test_hooks::Hooks;

/// How an export runs, beyond the options of its command line: set by `watch` and by the
/// test hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Leave alone a file changed since the export began (for `watch --export-first`, whose
    /// watcher then applies the change), instead of overwriting it with the database's content.
    pub keep_edits_during_export: bool,
    /// Testing only: fail after this many files were written.
    pub fail_after: Option<usize>,
    /// Testing only: plan and apply parts of about this many items (see `plan::PART_ITEMS`).
    pub part_items: Option<usize>,
}

/// What an export did, per set and theme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub parts: Vec<PartSummary>,
}

/// What an export did for one template set or theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSummary {
    /// "template set" or "theme".
    pub kind: &'static str,
    pub name: String,
    pub dir: PathBuf,
    pub written: usize,
    pub unchanged: usize,
    /// Files not overwritten: edited since the last sync, or changed during the export.
    pub kept: usize,
}

/// Runs `export` as the command line asks, with the test hooks `hooks`.
pub fn run(ctx: &Context, args: &ExportArgs, hooks: &Hooks) -> Result<()> {
    let (db, config) = ctx.connected()?;
    let mode =
        Mode { fail_after: hooks.fail_after, part_items: hooks.part_items, ..Mode::default() };
    export(db, config, args, mode).map(drop)
}

/// Exports the sets and themes `options` names into the sync root, holding the root's lock
/// exclusively. Returns [`Error::Incomplete`] when files were refused or in conflict (each
/// reported).
pub fn export(db: &Db, config: &Config, options: &ExportArgs, mode: Mode) -> Result<ExportSummary> {
    let created = !config.sync_root.exists();
    let lock = own_dir::lock(&config.sync_root)?;
    let _held = lock.exclusive()?;
    // Every later line names paths inside the root: say once where it is (issue 27).
    if created {
        log::info!("created the sync root {}", config.sync_root.display());
    }
    let binding = if options.dry_run { Binding::CheckOnly } else { Binding::CheckAndStamp };
    let forgotten = own_dir::bind(&config.sync_root, config, db, binding)?;
    let started = SystemTime::now();
    // `--prefer disk`: the file's side wins, so its content goes to the database, as `--prefer`
    // means in every command (issue 27); otherwise an export only writes files.
    let flow = match options.prefer {
        Some(Prefer::Disk) => Flow::BOTH,
        _ => Flow::EXPORT,
    };
    let syncer = Syncer::new(db, config, options.prefer)?;
    let board = Board::load(db)?;
    let scope = chosen_scope(&syncer, &board, options)?;
    let mut summary = ExportSummary { parts: parts(config, &scope) };
    // Two sets or themes of one name share one folder (the planner reports the second).
    let mut dirs = std::collections::HashSet::new();
    summary.parts.retain(|part| dirs.insert(part.dir.clone()));
    if !options.dry_run {
        // We hold the lock exclusively: any temp file of ours in the tree is a killed run's.
        remove_stale_temps(config, &summary.parts)?;
    }
    // The masters as they are now, before anything else: after an upgrade, each custom copy's
    // old master is recorded as its merge base before the new one replaces it. Where that read
    // every template, the plan takes them from there, while the new baseline is saved.
    let (read, unsaved) = match options.dry_run {
        true => (None, None),
        false => baseline::catch_up(db, &config.sync_root)?,
    };
    let mut state = State::load_unless_forgotten(&config.sync_root, forgotten)?;
    if options.dry_run {
        let plan = syncer.plan_scope(&board, &scope, &state, true, read)?;
        crate::commands::status::print_dry_run(config, &plan, flow, options.json)?;
        return Ok(summary);
    }
    let apply = ApplyOptions {
        keep_files_changed_since: mode.keep_edits_during_export.then_some(started),
        fail_after: mode.fail_after,
        ..ApplyOptions::default()
    };
    // Planned and applied part by part: a board of many sets is never held whole (issue 32).
    let part_items = mode.part_items.unwrap_or(crate::sync::plan::PART_ITEMS);
    let mut report = Report::default();
    let mut written = 0;
    baseline::save_during(unsaved.as_ref(), config.durable, |saved| {
        syncer.plan_by_parts(&board, &scope, &mut state, true, read, part_items, |plan, state| {
            saved()?;
            let mut apply = apply.clone();
            apply.fail_after = apply.fail_after.map(|n| n.saturating_sub(written));
            let mut done = syncer.apply(plan, flow, state, &apply)?;
            written += done.pulled.len();
            for part in &mut summary.parts {
                part.count(&done);
            }
            // Counted: the paths of every file are kept only for --json's report.
            if !options.json {
                done.pulled = Vec::new();
                done.unchanged = Vec::new();
            }
            report.absorb(done);
            Ok(())
        })
    })?;
    drop(unsaved);
    // Every file of the root compared, none left undecided: a rebuilt state is complete.
    if !state.trusted
        && options.sets.is_empty()
        && options.themes.is_empty()
        && report.settled_everything()
        && covers_root(&config.sync_root, &scope)?
    {
        state.complete();
        state.save(config.durable)?;
        log::info!("the sync state is complete again");
    }
    for part in &summary.parts {
        part.log(config);
    }
    if options.json {
        output::print_report(config, "export", &report);
    }
    if report.problems() > 0 {
        return Err(Error::Incomplete { refused: report.problems() });
    }
    Ok(summary)
}

/// Returns the sets and themes `options` name, or the default scope when none is named.
/// Naming selects: `--theme X` alone exports that theme and no set, `--set Y` alone no theme.
fn chosen_scope(syncer: &Syncer<'_>, board: &Board, options: &ExportArgs) -> Result<Scope> {
    let default = syncer.default_scope(board)?;
    if options.sets.is_empty() && options.themes.is_empty() {
        return Ok(default);
    }
    Ok(Scope {
        sets: named_sets(board, &options.sets)?,
        themes: named_themes(board, &options.themes)?,
        every_file: false,
    })
}

/// Returns one summary part per set and theme of `scope`, in that order.
fn parts(config: &Config, scope: &Scope) -> Vec<PartSummary> {
    let sets = scope.sets.iter().map(|(_, title)| {
        PartSummary::new("template set", title, config.sync_root.join(ItemPath::set_dir(title)))
    });
    let themes = scope.themes.iter().map(|(_, name)| {
        PartSummary::new("theme", name, config.sync_root.join(ItemPath::theme_dir(name)))
    });
    sets.chain(themes).collect()
}

/// Removes the temp files a killed run left in the folders of `parts`.
fn remove_stale_temps(config: &Config, parts: &[PartSummary]) -> Result<()> {
    for part in parts {
        for dir in crate::disk::walk::walk(&part.dir)?.1 {
            let removed = atomic::remove_stale_temps(&dir)?;
            if removed > 0 {
                log::info!(
                    "removed {removed} temp file(s) left by an interrupted run in {}",
                    config.shown(&dir)
                );
            }
        }
    }
    Ok(())
}

impl PartSummary {
    /// Adds what `report` (of one part of the plan) did under this part's folder.
    fn count(&mut self, report: &Report) {
        let under = |path: &PathBuf| path.starts_with(&self.dir);
        self.written += report.pulled.iter().filter(|p| under(p)).count();
        self.unchanged += report.unchanged.iter().filter(|p| under(p)).count();
        self.kept += report.held.iter().filter(|(p, _)| under(p)).count();
    }

    /// Logs the part's line of the export's report.
    fn log(&self, config: &Config) {
        let kept = if self.kept > 0 {
            format!(", {} kept (edited on disk)", self.kept)
        } else {
            String::new()
        };
        log::info!(
            "{} {:?}: {} written, {} unchanged{kept} in {}",
            self.kind,
            self.name,
            self.written,
            self.unchanged,
            config.shown(&self.dir)
        );
    }

    fn new(kind: &'static str, name: &str, dir: PathBuf) -> PartSummary {
        PartSummary { kind, name: name.to_owned(), dir, written: 0, unchanged: 0, kept: 0 }
    }
}

/// Returns the sets named `names` as `(sid, title)`, or an error naming the unknown one.
fn named_sets(board: &Board, names: &[String]) -> Result<Vec<(i32, String)>> {
    names
        .iter()
        .map(|name| match board.set_sid(name) {
            Some(sid) => Ok((sid, name.clone())),
            None => Err(Error::UnknownItem {
                kind: "template set",
                name: name.clone(),
                known: board
                    .sets
                    .iter()
                    .map(|(_, t)| t.clone())
                    .chain([GLOBAL_SET_TITLE.to_owned()])
                    .collect(),
            }),
        })
        .collect()
}

/// Returns the themes named `names` as `(tid, name)`, or an error naming the unknown one.
fn named_themes(board: &Board, names: &[String]) -> Result<Vec<(u32, String)>> {
    names
        .iter()
        .map(|name| match board.theme_by_name(name) {
            Some(theme) => Ok((theme.tid, name.clone())),
            None => Err(Error::UnknownItem {
                kind: "theme",
                name: name.clone(),
                known: board.themes.iter().map(|t| t.name.clone()).collect(),
            }),
        })
        .collect()
}
