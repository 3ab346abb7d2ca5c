//! `publish [THEME]` (issue 29): carries what changed in THEME's development copy since its
//! base onto THEME (`sync/devtheme/publish.rs` plans and writes), holding the sync root's lock
//! exclusively; finishes an interrupted publish first; prints the plan (`--dry-run`: with
//! unified diffs; `--json`: one object per item); `--drop` deletes the copy afterwards.

use std::io::Write as _;

use serde_json::json;

use crate::cli::PublishArgs;
use crate::commands::Context;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::cache::is_mybb_root;
use crate::mybb::db::Db;
use crate::mybb::theme_duplicate::delete_theme;
use crate::mybb::validate::ItemKind;
use crate::sync::devtheme::publish::{self, Action, Entry, Outcome, Planned, Writer};
use crate::sync::devtheme::record::DevRecord;
use crate::sync::devtheme::{ThemeNow, props};
use crate::sync::layout::ItemPath;
use crate::sync::own_dir::{self, Binding};
use crate::sync::textmerge::unified_diff;

/// Runs `publish` as the command line asks.
pub fn run(ctx: &Context, args: &PublishArgs) -> Result<()> {
    let (db, config) = ctx.connected()?;
    let root = &config.sync_root;
    own_dir::require_root(root)?;
    let binding = if args.dry_run { Binding::CheckOnly } else { Binding::CheckAndStamp };
    own_dir::bind(root, config, db, binding)?;
    if !args.dry_run && !config.mybb_root.as_deref().is_some_and(is_mybb_root) {
        return Err(Error::usage(
            "publish needs MyBB's root (--mybb DIR or MYBB_ROOT): published stylesheets go live \
             through MyBB's cache files, as the Admin CP writes them (--dry-run does without)",
        ));
    }
    let lock = own_dir::lock(root)?;
    // Exclusive, as import: a watcher's batch must not write the same rows meanwhile.
    let _held = if args.dry_run { lock.shared()? } else { lock.exclusive()? };
    let mut record = pick_record(config, args.theme.as_deref())?;
    let writer = Writer { db, config, version: db.version_code()? };
    let mut finished = 0;
    if !args.dry_run
        && let Some(entries) = publish::read_journal(root, record.theme_tid)?
    {
        log::info!("finishing an interrupted publish of {:?} first", record.theme_name);
        let outcomes = finish(&writer, config, &mut record, &entries)?;
        finished = outcomes.iter().filter(|o| **o != Outcome::Changed).count();
    }
    let board = Board::load(db)?;
    let (live, copy) = themes(db, config, &board, &record)?;
    if record.base.theme.is_none() && !args.dry_run {
        // A record from before publish carried theme fields: from now on they have a base.
        log::warn!(
            "the development copy's record has no base for theme fields yet: recorded the live \
             theme's now; changes made to them before are not carried"
        );
        record.base.theme = Some(live.fields.clone());
        record.save(root, config.durable)?;
    }
    let mut plan = publish::plan(&record.base, &live, &copy);
    if let Some(prefer) = args.prefer {
        plan = publish::settle(plan, prefer);
    }
    props::refuse_invalid(db, config, record.theme_tid, &mut plan)?;
    let blocked = plan.iter().filter(|p| matches!(p.action, Action::Conflict | Action::Refused));
    let blocked = blocked.count();
    let writes: Vec<Entry> = if blocked > 0 && !args.partial {
        Vec::new()
    } else {
        plan.iter().filter_map(Entry::of).collect()
    };
    print_plan(&plan, args, blocked > 0 && !args.partial);
    let mut changed = 0;
    if !args.dry_run && !writes.is_empty() {
        publish::write_journal(root, &record, &writes, config.durable)?;
        let outcomes = finish(&writer, config, &mut record, &writes)?;
        changed = outcomes.iter().filter(|o| **o == Outcome::Changed).count();
    }
    let published = writes.len() - changed + finished;
    if blocked > 0 && !args.partial {
        log::warn!(
            "nothing published: {blocked} item(s) in conflict or refused (listed above); \
             resolve them in the development copy, or publish the rest with --partial"
        );
    } else if !args.dry_run {
        log::info!(
            "publish: {published} item(s) published to {:?}, {} in conflict or refused",
            record.theme_name,
            blocked + changed
        );
    }
    if args.json {
        let summary = json!({
            "summary": "publish",
            "dry_run": args.dry_run,
            "theme": record.theme_name,
            "published": if args.dry_run { 0 } else { published },
            "planned": writes.len(),
            "conflicts": plan.iter().filter(|p| p.action == Action::Conflict).count() + changed,
            "refused": plan.iter().filter(|p| p.action == Action::Refused).count(),
            "skipped": plan.iter().filter(|p| p.action == Action::Skipped).count(),
        });
        let _ = writeln!(std::io::stdout(), "{summary}");
    }
    if blocked + changed > 0 {
        if args.drop {
            log::warn!("the development copy is kept (--drop): not everything was published");
        }
        return Err(Error::Incomplete { refused: blocked + changed });
    }
    if args.drop && !args.dry_run {
        drop_copy(db, config, &record)?;
    }
    Ok(())
}

/// Returns the record of the copy to publish: THEME's, or the sync root's only one.
fn pick_record(config: &Config, theme: Option<&str>) -> Result<DevRecord> {
    let records = DevRecord::all(&config.sync_root)?;
    let names = || records.iter().map(|r| r.theme_name.clone()).collect::<Vec<_>>();
    match theme {
        Some(name) => records.iter().find(|r| r.theme_name == name).cloned().ok_or_else(|| {
            Error::usage(format!(
                "theme {name:?} has no development copy in this sync root (`mybb-sync dev \
                 THEME` makes one); copies here: {:?}",
                names()
            ))
        }),
        None if records.len() == 1 => Ok(records[0].clone()),
        None if records.is_empty() => Err(Error::usage(
            "this sync root has no development copy: `mybb-sync dev THEME` makes one",
        )),
        None => Err(Error::usage(format!(
            "this sync root has development copies of several themes: name one ({:?})",
            names()
        ))),
    }
}

/// Returns what the live theme and the copy render now.
fn themes(
    db: &Db,
    config: &Config,
    board: &Board,
    record: &DevRecord,
) -> Result<(ThemeNow, ThemeNow)> {
    let gone = |what: &str, name: &str, tid: u32| {
        Error::usage(format!(
            "the {what} {name:?} (tid {tid}) is no longer on the board; nothing was published \
             (remove {} to forget the copy)",
            crate::sync::devtheme::record::path(&config.sync_root, record.theme_tid).display()
        ))
    };
    let live = board
        .theme(record.theme_tid)
        .ok_or_else(|| gone("live theme", &record.theme_name, record.theme_tid))?;
    let copy = board
        .theme(record.copy_tid)
        .filter(|c| c.name == record.copy_name)
        .ok_or_else(|| gone("development copy", &record.copy_name, record.copy_tid))?;
    Ok((ThemeNow::read(db, board, live)?, ThemeNow::read(db, board, copy)?))
}

/// Writes the journal's `entries` (already on disk), then moves the base and removes the
/// journal. Returns how each entry went.
fn finish(
    writer: &Writer<'_>,
    config: &Config,
    record: &mut DevRecord,
    entries: &[Entry],
) -> Result<Vec<Outcome>> {
    let board = Board::load(writer.db)?;
    let (live, copy) = themes(writer.db, config, &board, record)?;
    // Tests race an Admin CP edit or a save against the writes here.
    crate::test_hooks::hold(crate::test_hooks::HOLD_BEFORE_WRITE);
    let outcomes = writer.run(entries, (record.theme_tid, &live), (record.copy_tid, &copy))?;
    record.base = publish::moved_base(&record.base, entries, &outcomes);
    // A stylesheet new to THEME brings fields the base lacks: they start from THEME's values,
    // so a later Admin CP edit of them is THEME's change, not one to overwrite.
    if let Some(base) = record.base.theme.as_mut() {
        let board = Board::load(writer.db)?;
        for (field, value) in props::read(writer.db, &board, record.theme_tid)?.unwrap_or_default()
        {
            base.entry(field).or_insert(value);
        }
    }
    record.save(&config.sync_root, config.durable)?;
    publish::remove_journal(&config.sync_root, record.theme_tid)?;
    Ok(outcomes)
}

/// Prints the plan: one line per item on stdout (or a JSON object), with `--dry-run` the
/// unified diff of what the live theme would get; `held`: nothing is written for conflicts.
fn print_plan(plan: &[Planned], args: &PublishArgs, held: bool) {
    let mut out = std::io::stdout().lock();
    let color = !args.json && args.dry_run && std::io::IsTerminal::is_terminal(&std::io::stdout());
    for item in plan {
        let action = match (item.action.writes(), held) {
            (true, true) => "held",
            _ => item.action.word(),
        };
        if args.json {
            let mut value = json!({
                "action": action,
                "kind": kind_word(item.kind),
                "name": item.name,
                "changed": item.changed,
            });
            if let Some(reason) = &item.reason {
                value["reason"] = json!(reason);
            }
            if args.dry_run
                && let Some(result) = &item.result
            {
                value["diff"] = json!(diff(item, result, false));
            }
            let _ = writeln!(out, "{value}");
            continue;
        }
        let reason = item.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        let changed = match item.changed {
            "both" => "changed in the copy and live",
            _ => "changed in the copy",
        };
        let kind = kind_word(item.kind);
        let _ = writeln!(out, "{action:<9} {kind} {} ({changed}){reason}", item.name);
        if args.dry_run
            && let Some(result) = &item.result
        {
            let _ = write!(out, "{}", diff(item, result, color));
        }
    }
}

/// Returns the unified diff from the live content of `item` to `result`.
fn diff(item: &Planned, result: &str, color: bool) -> String {
    let live = item.live.as_deref().unwrap_or_default();
    let label = |side: &str| format!("{side}/{} {}", kind_word(item.kind), item.name);
    unified_diff(live, result, &label("live"), &label("published"), color)
}

/// Returns the word the plan shows for an item's kind: a theme field is `theme`.
fn kind_word(kind: ItemKind) -> String {
    match kind {
        ItemKind::Theme => "theme".to_owned(),
        other => other.to_string(),
    }
}

/// Deletes the copy as the Admin CP would (theme, template set, cache files), its folders in
/// the sync tree, and its record.
fn drop_copy(db: &Db, config: &Config, record: &DevRecord) -> Result<()> {
    delete_theme(db, config.mybb_root.as_deref(), record.copy_tid, record.copy_sid)?;
    for dir in [ItemPath::set_dir(&record.copy_set_title), ItemPath::theme_dir(&record.copy_name)] {
        let dir = config.sync_root.join(dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => log::info!("removed {}", config.shown(&dir)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::IoAt { path: dir, action: "remove", source: e }),
        }
    }
    DevRecord::remove(&config.sync_root, record.theme_tid)?;
    log::info!("dropped the development copy {:?}", record.copy_name);
    Ok(())
}
