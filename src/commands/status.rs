//! `status` and `--dry-run`: the plan, printed, with nothing changed.
//!
//! One line per item that needs something: `to-db`, `to-disk`, `conflict` or `refused` (with
//! its reason), the path relative to the sync root. `--porcelain` is the stable form for
//! scripts: the same fields separated by tabs, nothing else on stdout. `--json`: one object per
//! item, then a summary (`commands/output.rs`).

use serde_json::{Value, json};

use crate::cli::StatusArgs;
use crate::commands::Context;
use crate::commands::output::{self, CONFLICT_REASON};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::db::Db;
use crate::sync::apply::Report;
use crate::sync::own_dir::{self, Binding};
use crate::sync::plan::{Action, Flow, Planned, Syncer};
use crate::sync::state::State;

/// How `status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    /// Aligned words and paths, for people.
    #[default]
    Plain,
    /// `ACTION<TAB>PATH[<TAB>REASON]`.
    Porcelain,
    /// One JSON object per line.
    Json,
}

/// What `status` says of a new stylesheet file its theme file does not attach (issue 28).
const NEW_SHEET_EVERYWHERE: &str =
    "a new stylesheet: MyBB links it on every page until its theme's theme.json lists its pages";

/// Returns the reason printed with `action`, if it has one.
fn reason(action: &Action) -> Option<&str> {
    match action {
        Action::Refused(why) => Some(why.as_str()),
        Action::Conflict(_) => Some(CONFLICT_REASON),
        Action::DeletedConflict(why) => Some(why),
        Action::RemoveFile { then_write: None, .. } => Some(crate::sync::plan::REMOVED),
        Action::RemoveFile { then_write: Some(_), .. } => Some(crate::sync::plan::REPLACED),
        Action::Delete(deletion) => Some(deletion.describe()),
        Action::ToDb(write) if write.linked_everywhere() => Some(NEW_SHEET_EVERYWHERE),
        _ => None,
    }
}

/// Returns one status line for `planned`, or None when it needs nothing.
fn line(config: &Config, planned: &Planned, form: Form) -> Option<String> {
    let word = planned.action.word()?;
    if form == Form::Json {
        return Some(item(config, planned)?.to_string());
    }
    let path = config.relative(&planned.path);
    let path = path.display();
    // Plain conflicts print no reason here: the word says it (and scripts split on tabs).
    let reason = match &planned.action {
        Action::Conflict(_) => None,
        action => reason(action),
    };
    Some(match (form, reason) {
        (Form::Porcelain, Some(why)) => {
            format!("{word}\t{path}\t{}", why.replace(['\t', '\n'], " "))
        }
        (Form::Porcelain, None) => format!("{word}\t{path}"),
        (_, Some(why)) => format!("{word:<9} {path}: {why}"),
        (_, None) => format!("{word:<9} {path}"),
    })
}

/// Returns the JSON object of `planned`, or None when it needs nothing.
fn item(config: &Config, planned: &Planned) -> Option<Value> {
    let word = planned.action.word()?;
    Some(output::item(config, word, &planned.path, reason(&planned.action)))
}

/// Returns the summary object of a plan's `lines`.
fn summary(command: &str, plan: &[&Planned], dry_run: bool) -> Value {
    let count = |word: &str| plan.iter().filter(|p| p.action.word() == Some(word)).count();
    let mut object = json!({
        "summary": command,
        "to-db": count("to-db"),
        "to-disk": count("to-disk"),
        "deleted": count("deleted"),
        "conflicts": count("conflict"),
        "refused": count("refused"),
    });
    if dry_run {
        object["dry_run"] = json!(true);
    }
    object
}

/// Runs `status` as the command line asks: `--porcelain` or `--json` picks the form.
pub fn run(ctx: &Context, args: &StatusArgs) -> Result<()> {
    let (db, config) = ctx.connected()?;
    let form = match (args.porcelain, args.json) {
        (true, _) => Form::Porcelain,
        (_, true) => Form::Json,
        _ => Form::Plain,
    };
    status(db, config, form)
}

/// Runs `status`: plans every item of every set and theme and every file under the sync root,
/// prints what needs doing, and returns [`Error::Pending`] (exit 3) when anything does.
pub fn status(db: &Db, config: &Config, form: Form) -> Result<()> {
    own_dir::require_root(&config.sync_root)?;
    let forgotten = own_dir::bind(&config.sync_root, config, db, Binding::CheckOnly)?;
    // status creates nothing: without mybb-sync's folder there is no lock, and no holder.
    let lock = own_dir::lock_if_present(&config.sync_root)?;
    let _held = lock.as_ref().map(|lock| lock.shared()).transpose()?;
    let syncer = Syncer::new(db, config, None)?;
    let board = Board::load(db)?;
    let mut scope = syncer.default_scope(&board)?;
    scope.every_file = true;
    let state = State::load_unless_forgotten(&config.sync_root, forgotten)?;
    // A file deleted since the last sync is `deleted` (import carries it to the database),
    // not `to-disk`: existence is part of the three-way state (issue 25).
    let plan = syncer.plan_scope(&board, &scope, &state, false, None)?;
    let pending: Vec<&Planned> = plan.iter().filter(|p| p.action.word().is_some()).collect();
    let mut lines: Vec<String> = pending.iter().filter_map(|p| line(config, p, form)).collect();
    // A link above several files refuses each at the link's path: one line.
    lines.dedup();
    if form == Form::Json {
        lines.push(summary("status", &pending, false).to_string());
    }
    output::print_lines(&lines);
    if pending.is_empty() {
        log::info!("in sync: nothing to do");
        return Ok(());
    }
    Err(Error::Pending { count: pending.len() })
}

/// Prints what a run with `flow` would do with `plan` (its own direction, conflicts and
/// refusals) and changes nothing. Returns [`Error::Incomplete`] when something was refused or
/// in conflict, as the real run would.
pub fn print_dry_run(config: &Config, plan: &[Planned], flow: Flow, json: bool) -> Result<Report> {
    let carried = |action: &Action| match action {
        Action::ToDb(_) | Action::Delete(_) => flow.to_db,
        Action::ToDisk(_) | Action::RemoveFile { .. } => flow.to_disk,
        _ => true,
    };
    let shown: Vec<&Planned> =
        plan.iter().filter(|p| carried(&p.action) && p.action.word().is_some()).collect();
    let form = if json { Form::Json } else { Form::Plain };
    let mut lines: Vec<String> = shown.iter().filter_map(|p| line(config, p, form)).collect();
    // A link above several files refuses each at the link's path: one line.
    lines.dedup();
    let command = if flow.to_db { "import" } else { "export" };
    if json {
        lines.push(summary(command, &shown, true).to_string());
    }
    output::print_lines(&lines);
    let problems = plan
        .iter()
        .filter(|p| {
            matches!(
                p.action,
                Action::Conflict(_) | Action::DeletedConflict(_) | Action::Refused(_)
            )
        })
        .count();
    log::info!("dry run: {} change(s) planned, nothing written", shown.len() - problems);
    if problems > 0 {
        return Err(Error::Incomplete { refused: problems });
    }
    Ok(Report::default())
}
