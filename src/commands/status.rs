//! `status` and `--dry-run`: the plan, printed, with nothing changed.
//!
//! One line per item that needs something: `to-db`, `to-disk`, `conflict` or `refused` (with
//! its reason), the path relative to the sync root. `--porcelain` is the stable form for
//! scripts: the same fields separated by tabs, nothing else on stdout.

use std::io::Write as _;
use std::path::Path;

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::db::Db;
use crate::sync::apply::Report;
use crate::sync::plan::{Action, Flow, Planned, Syncer};
use crate::sync::state::State;

/// Returns one status line for `planned`, or None when it needs nothing.
fn line(root: &Path, planned: &Planned, porcelain: bool) -> Option<String> {
    let word = planned.action.word()?;
    let path = planned.path.strip_prefix(root).unwrap_or(&planned.path).display();
    let reason = match &planned.action {
        Action::Refused(why) => Some(why.as_str()),
        _ => None,
    };
    Some(match (porcelain, reason) {
        (true, Some(why)) => format!("{word}\t{path}\t{}", why.replace(['\t', '\n'], " ")),
        (true, None) => format!("{word}\t{path}"),
        (false, Some(why)) => format!("{word:<9} {path}: {why}"),
        (false, None) => format!("{word:<9} {path}"),
    })
}

/// Prints `lines` to stdout, ignoring a closed pipe (`mybb-sync status | head`).
pub fn print_lines(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

/// Runs `status`: plans every item of every set and theme and every file under the sync root,
/// prints what needs doing, and returns [`Error::Incomplete`] (exit 3) when anything does.
pub fn status(db: &Db, config: &Config, porcelain: bool) -> Result<()> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.shared()?;
    let syncer = Syncer::new(db, config, None)?;
    let board = Board::load(db)?;
    let mut scope = syncer.default_scope(&board)?;
    scope.every_file = true;
    let state = State::load(&config.sync_root)?;
    let plan = syncer.plan_scope(&board, &scope, &state, false)?;
    let lines: Vec<String> =
        plan.iter().filter_map(|p| line(&config.sync_root, p, porcelain)).collect();
    print_lines(&lines);
    if lines.is_empty() {
        log::info!("in sync: nothing to do");
        return Ok(());
    }
    Err(Error::Pending { count: lines.len() })
}

/// Prints what a run with `flow` would do with `plan` (its own direction, conflicts and
/// refusals) and changes nothing. Returns [`Error::Incomplete`] when something was refused or
/// in conflict, as the real run would.
pub fn print_dry_run(config: &Config, plan: &[Planned], flow: Flow) -> Result<Report> {
    let carried = |action: &Action| match action {
        Action::ToDb(_) => flow.to_db,
        Action::ToDisk(_) => flow.to_disk,
        _ => true,
    };
    let lines: Vec<String> = plan
        .iter()
        .filter(|p| carried(&p.action))
        .filter_map(|p| line(&config.sync_root, p, false))
        .collect();
    print_lines(&lines);
    let problems = plan
        .iter()
        .filter(|p| matches!(p.action, Action::Conflict(_) | Action::Refused(_)))
        .count();
    log::info!("dry run: {} change(s) planned, nothing written", lines.len() - problems);
    if problems > 0 {
        return Err(Error::Incomplete { refused: problems });
    }
    Ok(Report::default())
}
