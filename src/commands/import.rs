//! `import`: files to database rows, once, holding the sync root's lock exclusively.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::ImportArgs;
use crate::commands::Context;
use crate::config::Config;
use crate::disk::walk::walk_files;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::apply::{ApplyOptions, Report};
use crate::sync::decide::Prefer;
use crate::sync::merged;
use crate::sync::own_dir::{self, Binding};
use crate::sync::plan::{Flow, Syncer, walk_root};
use crate::sync::state::State;

/// Runs `import` as the command line asks.
pub fn run(ctx: &Context, args: &ImportArgs) -> Result<()> {
    let args = ImportArgs { paths: ctx.paths(&args.paths)?, ..args.clone() };
    let (db, config) = ctx.connected()?;
    import(db, config, &args).map(drop)
}

/// Runs `import`: plans every file under the sync root (or under `paths`) and writes those
/// that changed to the database. Returns [`Error::Incomplete`] when any file was refused or
/// in conflict. With `dry_run`, prints the plan and changes nothing.
pub fn import(db: &Db, config: &Config, options: &ImportArgs) -> Result<Report> {
    let ImportArgs { paths, prefer, dry_run, json, strict, new_themes } = options;
    let (prefer, dry_run, json) = (*prefer, *dry_run, *json);
    own_dir::require_root(&config.sync_root)?;
    let binding = if dry_run { Binding::CheckOnly } else { Binding::CheckAndStamp };
    let forgotten = own_dir::bind(&config.sync_root, config, db, binding)?;
    let lock = match binding {
        Binding::CheckAndStamp => Some(own_dir::lock(&config.sync_root)?),
        Binding::CheckOnly => own_dir::lock_if_present(&config.sync_root)?,
    };
    // Exclusive, as an export: two writers of rows (another import, a watcher's batch) must
    // not both copy one template into a set. A dry run writes nothing and only shares it.
    let _held = match &lock {
        Some(lock) if dry_run => Some(lock.shared()?),
        Some(lock) => Some(lock.exclusive()?),
        None => None,
    };
    if *new_themes {
        crate::sync::new_themes::create(db, config, dry_run)?;
    }
    let files = if paths.is_empty() {
        walk_root(&config.sync_root)?
    } else {
        let mut files = Vec::new();
        for path in paths {
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => files.extend(walk_files(path)?),
                Ok(_) => files.push(path.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::usage(format!(
                        "{}: no such file or folder (import takes files and folders under the \
                         sync root {})",
                        path.display(),
                        config.sync_root.display()
                    )));
                }
                Err(e) => {
                    return Err(Error::IoAt { path: path.clone(), action: "read", source: e });
                }
            }
        }
        files
    };
    let (files, strict_refused) = match strict {
        true => refuse_check_errors(db, config, files)?,
        false => (files, Vec::new()),
    };
    // `--prefer db`: the database's side wins, so its content goes to the file (issue 27: the
    // same meaning as in every command taking --prefer), whichever way the item leaned.
    let flow = match prefer {
        Some(Prefer::Db) => Flow::BOTH,
        _ => Flow::IMPORT,
    };
    let syncer = Syncer::new(db, config, prefer)?;
    let mut state = State::load_unless_forgotten(&config.sync_root, forgotten)?;
    // Files deleted since the last sync (under the paths given): their deletion is imported.
    let mut files = files;
    files.extend(
        syncer
            .deleted_files(&state)?
            .into_iter()
            .filter(|gone| paths.is_empty() || paths.iter().any(|p| under(gone, p))),
    );
    let plan = syncer.plan_paths(&files, &state)?;
    if dry_run {
        let report = crate::commands::status::print_dry_run(config, &plan, flow, json)?;
        if !strict_refused.is_empty() {
            return Err(Error::Incomplete { refused: strict_refused.len() });
        }
        return Ok(report);
    }
    let mut report = syncer.apply(plan, flow, &mut state, &ApplyOptions::default())?;
    // A file still being written: give its writer a moment, then try again, a few times.
    for _ in 0..5 {
        if report.unstable.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let plan = syncer.plan_paths(&std::mem::take(&mut report.unstable), &state)?;
        let again = syncer.apply(plan, flow, &mut state, &ApplyOptions::default())?;
        report.written.extend(again.written);
        report.unchanged.extend(again.unchanged);
        report.pulled.extend(again.pulled);
        report.refused.extend(again.refused);
        report.conflicts.extend(again.conflicts);
        report.unstable = again.unstable;
    }
    report.refused.extend(strict_refused);
    for path in std::mem::take(&mut report.unstable) {
        log::warn!("{}: refused: kept changing while being read", config.relative(&path).display());
        report.refused.push((path, "kept changing while being read".to_owned()));
    }
    // Every file of the root compared, none left undecided: a rebuilt state is complete.
    if paths.is_empty() && !state.trusted && report.settled_everything() {
        state.complete();
        state.save(config.durable)?;
        log::info!("the sync state is complete again");
    }
    let bumped = merged::bump_versions(db, config, &report.unchanged)?;
    let fetched = match report.pulled.len() {
        0 => String::new(),
        n => format!(", {n} fetched from the database (--prefer db)"),
    };
    log::info!(
        "import: {} written{fetched}, {} unchanged, {} refused, {} in conflict",
        report.written.len() + bumped.len(),
        report.unchanged.len() - bumped.len(),
        report.refused.len(),
        report.conflicts.len()
    );
    if json {
        crate::commands::output::print_report(config, "import", &report);
    }
    if report.problems() > 0 {
        return Err(Error::Incomplete { refused: report.problems() });
    }
    Ok(report)
}

/// Returns true if and only if `path` is `dir` or lies under it, compared as absolute paths.
fn under(path: &std::path::Path, dir: &std::path::Path) -> bool {
    match (std::path::absolute(path), std::path::absolute(dir)) {
        (Ok(path), Ok(dir)) => path.starts_with(dir),
        _ => false,
    }
}

/// Files refused, each with its reason.
type Refusals = Vec<(PathBuf, String)>;

/// `import --strict`: splits `files` into those to import and those refused because `check`
/// finds errors in them (each error printed as a warning; the refusal's reason names the
/// first). The board rules run when the configuration names MyBB's root.
fn refuse_check_errors(
    db: &Db,
    config: &Config,
    files: Vec<PathBuf>,
) -> Result<(Vec<PathBuf>, Refusals)> {
    use crate::check::finding::Severity;
    let root = &config.sync_root;
    let silence = crate::check::silence::Silence::load(root, &[])?;
    let baseline = crate::commands::check::load_baseline(root)?;
    let board = match &config.mybb_root {
        Some(mybb_root) => Some(crate::check::board::BoardFacts::load(mybb_root, db)?),
        None => None,
    };
    let checker = crate::check::Checker {
        baseline: baseline.as_ref(),
        xml_masters: None,
        board: board.as_ref(),
        silence: &silence,
        // The import refuses a theme file itself, with the same reasons.
        root: None,
        themes: None,
    };
    let findings = crate::commands::check::check_files(&checker, root, &files);
    let mut refused: Refusals = Vec::new();
    let mut kept = Vec::with_capacity(files.len());
    for path in files {
        let rel = crate::commands::check::relative(root, &path);
        let errors: Vec<_> =
            findings.iter().filter(|f| f.path == rel && f.severity() == Severity::Error).collect();
        let Some(first) = errors.first() else {
            kept.push(path);
            continue;
        };
        for finding in &errors {
            log::warn!("{finding}");
        }
        let more = match errors.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let why = format!(
            "--strict: check finds errors: {}:{}: {}: {}{more}",
            first.line, first.column, first.rule, first.message
        );
        log::warn!("{}: refused: {why}", rel.display());
        refused.push((path, why));
    }
    Ok((kept, refused))
}
