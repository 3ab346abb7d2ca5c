//! `theme export`, `theme import`, `theme unpack`: MyBB theme files (issue 13).
//!
//! - `export NAME` writes to stdout what the Admin CP's "Export Theme" writes
//!   (`mybb::theme_export`), from the database. When the sync root holds edits of the theme's
//!   files that the database does not have, it says so and exits 3; `--from-files` exports the
//!   files instead, after the same checks as `import`.
//! - `import FILE` creates a theme as the Admin CP's "Import a Theme" does
//!   (`mybb::theme_import`), writing MyBB's cache files, so it needs the MyBB root.
//! - `unpack FILE` writes the file's templates and stylesheets into the sync tree layout, with
//!   no database (`sync::theme_unpack`); it never overwrites a file that differs.
//!
//! A theme file is read whole only after its size is checked, and parsed by `mybb::theme_xml`,
//! which refuses DTDs, entities and invalid UTF-8.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::cli::{ThemeExportArgs, ThemeImportArgs};
use crate::commands::Context;
use crate::config::{Config, ConnectionArgs};
use crate::disk::atomic::{AtomicBatch, Seen};
use crate::error::{Error, Result};
use crate::mybb::board::{Board, MASTER_THEME_TID};
use crate::mybb::cache;
use crate::mybb::db::{Db, ExportTemplate};
use crate::mybb::theme_export::{self, ExportOptions};
use crate::mybb::theme_import::{self, ImportOptions, ImportRefusal};
use crate::mybb::theme_xml::{self, ThemeXml};
use crate::sync::decide::Prefer;
use crate::sync::plan::{Action, Scope, Syncer};
use crate::sync::state::State;
use crate::sync::theme_unpack;

/// Runs `theme unpack FILE` under the sync root the global options `connection` name. It needs
/// no database, so no configuration is resolved: `inc/config.php` and the URL are not read.
pub fn run_unpack(connection: &ConnectionArgs, file: &Path) -> Result<()> {
    let root = crate::config::sync_root(connection.sync_root.as_deref())?;
    crate::root::input_file(file, "theme unpack FILE")?;
    unpack(&root, file, !connection.no_fsync)
}

/// Reads a theme file: its size is checked before it is read, then it is parsed safely.
/// A file that cannot be read is an I/O error; one that is not a theme, a refusal (-1).
fn read_theme_file(path: &Path) -> Result<std::result::Result<ThemeXml, ImportRefusal>> {
    let parsed = theme_xml::read_file(path)?.and_then(|bytes| theme_xml::parse(&bytes));
    Ok(parsed.map_err(|e| ImportRefusal::NotATheme { reason: e.to_string() }))
}

/// Runs `theme export`: writes the theme file of theme `args.name` to stdout.
///
/// # Errors
///
/// [`Error::UnknownItem`] (exit 2) for a theme that does not exist; [`Error::Incomplete`]
/// (exit 3) when the sync root has edits the export leaves out (the XML is still written), or
/// with `--from-files` when files are refused (nothing is written).
pub fn export(ctx: &Context, args: &ThemeExportArgs) -> Result<()> {
    let (db, config) = ctx.connected()?;
    if args.from_files && !config.sync_root.is_dir() {
        return Err(Error::usage(format!(
            "--from-files exports the sync root's files, but {} is not a directory (see --root)",
            config.sync_root.display()
        )));
    }
    let board = Board::load(db)?;
    let theme = board.theme_by_name(&args.name).ok_or_else(|| Error::UnknownItem {
        kind: "theme",
        name: args.name.clone(),
        known: board.themes.iter().map(|t| t.name.clone()).collect(),
    })?;
    let mut plan = theme_export::plan(theme).map_err(|what| Error::Data { what })?;
    let mut renamed = None;
    let options =
        ExportOptions { custom_only: args.custom_only, include_templates: !args.no_templates };
    let mut sheets = db.stylesheets_for_export(&plan.stylesheet_tids)?;
    let mut templates = if options.include_templates {
        db.templates_for_export(plan.template_sid)?
    } else {
        Vec::new()
    };
    let version_code = db.version_code()?;

    let set = board.sets.iter().find(|(sid, _)| i64::from(*sid) == plan.template_sid).cloned();
    let differing =
        files_differing(db, config, &board, theme.tid, &theme.name, set.clone(), args.from_files)?;
    if args.from_files {
        let refused: Vec<&(PathBuf, Action)> =
            differing.iter().filter(|(_, a)| matches!(a, Action::Refused(_))).collect();
        if !refused.is_empty() {
            for (path, action) in &refused {
                if let Action::Refused(why) = action {
                    log::warn!("{}: refused: {why}", config.shown(path));
                }
            }
            return Err(Error::Incomplete { refused: refused.len() });
        }
        // The theme file first: a parent it changes changes the rows the theme inherits.
        let theme_file = differing.iter().find_map(|(path, action)| match action {
            Action::ToDb(write) => write.theme_file().map(|(_, seen)| (path, write, seen)),
            _ => None,
        });
        if let Some((path, write, seen)) = theme_file {
            // As the theme forms would write it: the name, the parent, the properties, the pages.
            let new = crate::mybb::theme_file::parse(write.content())
                .map_err(|what| Error::Data { what })?;
            let mut after = board.clone();
            if new.parent != seen.parent {
                // Refused by the plan above unless the parent exists.
                let pid = new.parent.as_deref().and_then(|p| board.theme_by_name(p)).map(|t| t.tid);
                if let Some(row) = after.themes.iter_mut().find(|t| t.tid == theme.tid) {
                    row.pid = pid.unwrap_or(0);
                }
            }
            let properties = crate::mybb::theme_forms::properties_after(
                &after,
                theme.tid,
                plan.properties(),
                seen,
                &new,
            )?;
            // Edit Theme and Save Orders rebuild the display orders with the list.
            let rebuilds = properties != *plan.properties();
            let (list, rebuilt) = crate::mybb::theme_forms::list_after(
                &after,
                theme.tid,
                &new,
                rebuilds.then_some(&properties),
            );
            plan.set_properties(rebuilt.unwrap_or(properties));
            plan.relist(&list, theme.tid);
            sheets = db.stylesheets_for_export(&plan.stylesheet_tids)?;
            renamed = Some(new.name.clone());
            for row in sheets.iter_mut() {
                if let Some(sheet) = new.stylesheets.get(&row.name) {
                    let attachedto = sheet.attachedto_column();
                    if attachedto != row.attachedto {
                        // Copied into the theme first, as the stylesheet form copies it.
                        row.attachedto = attachedto;
                        row.tid = theme.tid;
                    }
                }
            }
            log::debug!("{}: exported from the file", config.shown(path));
        }
        for (path, action) in &differing {
            let Action::ToDb(write) = action else {
                continue;
            };
            if write.theme_file().is_some() {
                continue;
            } else if let Some(title) = write.template_title() {
                if !options.include_templates {
                    continue;
                }
                // Written as import would write it: content and the board's version code.
                let row = templates.iter_mut().find(|t| t.title == title.as_bytes());
                match row {
                    Some(row) => {
                        row.template = write.content().as_bytes().to_vec();
                        row.version = version_code.as_bytes().to_vec();
                    }
                    None => templates.push(ExportTemplate {
                        title: title.as_bytes().to_vec(),
                        template: write.content().as_bytes().to_vec(),
                        version: version_code.as_bytes().to_vec(),
                    }),
                }
                log::debug!("{}: exported from the file", config.shown(path));
            } else if let Some(name) = write.stylesheet_name() {
                // The row the theme's list links under this name gets the file's content; as
                // import would copy an inherited one into the theme, it becomes the theme's own.
                match sheets.iter_mut().find(|s| s.name == name) {
                    Some(row) => {
                        row.stylesheet = write.content().as_bytes().to_vec();
                        row.tid = theme.tid;
                        log::debug!("{}: exported from the file", config.shown(path));
                    }
                    None => log::warn!(
                        "{}: left out: the theme's stylesheet list does not link {name:?} until \
                         it is imported",
                        config.shown(path)
                    ),
                }
            }
        }
    }
    let mut exported = theme.clone();
    if let Some(name) = renamed {
        exported.name = name;
    }
    let xml = theme_export::write(&exported, &plan, &version_code, options, &sheets, &templates);
    let mut out = std::io::stdout().lock();
    out.write_all(&xml).and_then(|()| out.flush()).map_err(|source| Error::IoAt {
        path: PathBuf::from("<stdout>"),
        action: "write the theme file to",
        source,
    })?;
    log::info!(
        "exported theme {:?} (tid {}): {} bytes{}",
        theme.name,
        theme.tid,
        xml.len(),
        if args.from_files { ", from the sync root's files" } else { "" }
    );
    if !args.from_files && !differing.is_empty() {
        for (path, action) in &differing {
            let why = match action {
                Action::Refused(why) => format!("refused ({why})"),
                Action::Conflict(_) => "in conflict with the database".to_owned(),
                _ => "edited, not yet in the database".to_owned(),
            };
            log::warn!(
                "{}: {why}: the export has the database's content; import it first, or use \
                 --from-files",
                config.shown(path)
            );
        }
        return Err(Error::Incomplete { refused: differing.len() });
    }
    Ok(())
}

/// Returns the files of theme `tid` (named `name`) and of its template set `set` in the sync
/// root whose content the database does not have: to be written to it (`to-db`), in conflict,
/// or refused. With `disk_wins`, conflicts are planned as writes of the file. Empty when there
/// is no sync root, and for the master theme (never exported to files).
fn files_differing(
    db: &Db,
    config: &Config,
    board: &Board,
    tid: u32,
    name: &str,
    set: Option<(i32, String)>,
    disk_wins: bool,
) -> Result<Vec<(PathBuf, Action)>> {
    if tid == MASTER_THEME_TID || !config.sync_root.is_dir() {
        return Ok(Vec::new());
    }
    let lock = crate::sync::own_dir::lock_if_present(&config.sync_root)?;
    let _held = lock.as_ref().map(|lock| lock.shared()).transpose()?;
    let syncer = Syncer::new(db, config, disk_wins.then_some(Prefer::Disk))?;
    let scope = Scope {
        sets: set.into_iter().collect(),
        themes: vec![(tid, name.to_owned())],
        every_file: false,
    };
    let state = State::load(&config.sync_root)?;
    let plan = syncer.plan_scope(board, &scope, &state, false, None)?;
    Ok(plan.into_iter().filter(|p| p.action.is_local_edit()).map(|p| (p.path, p.action)).collect())
}

/// Runs `theme import`: creates a theme from the theme file `args.file`, as the Admin CP does.
///
/// # Errors
///
/// A usage error (exit 2) without a MyBB root or with an unknown `--parent`;
/// [`Error::Incomplete`] (exit 3) when the file is refused (the Admin CP's message is logged,
/// nothing is written) or some cache files could not be written.
pub fn import(ctx: &Context, args: &ThemeImportArgs) -> Result<()> {
    crate::root::input_file(&args.file, "theme import FILE")?;
    let (db, config) = ctx.connected()?;
    let root = config.mybb_root.as_deref().ok_or_else(|| {
        Error::usage(
            "`theme import` writes MyBB's stylesheet cache files, so it needs MyBB's root \
             directory: use --mybb DIR or MYBB_ROOT",
        )
    })?;
    if !cache::is_mybb_root(root) {
        return Err(Error::usage(format!(
            "{} has no cache/themes directory, so it is not MyBB's root (see --mybb)",
            root.display()
        )));
    }
    let parent = match &args.parent {
        None => MASTER_THEME_TID,
        Some(name) => {
            let themes = db.themes()?;
            themes.iter().find(|t| &t.name == name).map(|t| t.tid).ok_or_else(|| {
                Error::UnknownItem {
                    kind: "theme",
                    name: name.clone(),
                    known: themes.iter().map(|t| t.name.clone()).collect(),
                }
            })?
        }
    };
    let refuse = |refusal: ImportRefusal| {
        match refusal.code() {
            0 => log::warn!("{}: refused: {refusal}", args.file.display()),
            code => log::warn!(
                "{}: refused (import_theme_xml returns {code}): {refusal}",
                args.file.display()
            ),
        }
        Err(Error::Incomplete { refused: 1 })
    };
    let theme = match read_theme_file(&args.file)? {
        Ok(theme) => theme,
        Err(refusal) => return refuse(refusal),
    };
    let options = ImportOptions {
        name: args.name.clone(),
        parent,
        no_templates: args.no_templates,
        no_stylesheets: args.no_stylesheets,
        version_compat: args.version_compat,
    };
    let version_code = db.version_code()?;
    let imported = match theme_import::import_theme(
        db,
        &theme,
        &options,
        &version_code,
        root,
        config.durable,
    )? {
        Ok(imported) => imported,
        Err(refusal) => return refuse(refusal),
    };
    for skipped in &imported.skipped_stylesheets {
        log::warn!(
            "{}: stylesheet {skipped:?} skipped: its name does not end in .css",
            args.file.display()
        );
    }
    let set = match &imported.template_set {
        Some((sid, title)) => {
            format!("template set {title:?} (sid {sid}) with {} templates", imported.templates)
        }
        None => "no template set".to_owned(),
    };
    log::info!(
        "imported theme {:?} (tid {}): {set}, {} stylesheets",
        imported.name,
        imported.tid,
        imported.stylesheets.len()
    );
    println!("{}\t{}", imported.tid, imported.name);
    if imported.cache_failures > 0 {
        return Err(Error::Incomplete { refused: imported.cache_failures });
    }
    Ok(())
}

/// Runs `theme unpack`: writes the templates and stylesheets of the theme file `file` under the
/// sync root `root` (the lock held exclusively), without a database. Files that already hold
/// the same content are left alone; if any other file is in the way, nothing is written.
///
/// # Errors
///
/// [`Error::Incomplete`] (exit 3) when the file is not a theme or files are in the way.
pub fn unpack(root: &Path, file: &Path, durable: bool) -> Result<()> {
    let theme = match read_theme_file(file)? {
        Ok(theme) => theme,
        Err(refusal) => {
            log::warn!("{}: refused: {refusal}", file.display());
            return Err(Error::Incomplete { refused: 1 });
        }
    };
    let unpacked = theme_unpack::unpack(&theme, None);
    for skipped in &unpacked.skipped {
        log::warn!(
            "{}: stylesheet {skipped:?} skipped: its name does not end in .css",
            file.display()
        );
    }
    let lock = crate::sync::own_dir::lock(root)?;
    let _held = lock.exclusive()?;
    let mut in_the_way = 0;
    let mut batch = AtomicBatch::new(durable);
    let mut unchanged = 0;
    let inspector = crate::sync::inspect::Inspector::default();
    for (relative, content) in &unpacked.files {
        let path = root.join(relative);
        // A link on the way (a folder of an existing root linked elsewhere): never read,
        // followed or written through, as everywhere in the sync root.
        if let Some((at, why)) = inspector.refusal(root, relative) {
            log::warn!("{}: {why}; not written", at.display());
            in_the_way += 1;
            continue;
        }
        match std::fs::read(&path) {
            Ok(old) if old == content.as_bytes() => unchanged += 1,
            Ok(_) => {
                log::warn!(
                    "{}: a different file is in the way; not overwritten",
                    relative.display()
                );
                in_the_way += 1;
            }
            // Only where still nothing is: a file created meanwhile is kept.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                batch.stage_if(&path, content.as_bytes(), Seen::Absent)?
            }
            Err(e) => return Err(Error::IoAt { path, action: "read", source: e }),
        }
    }
    if in_the_way > 0 {
        // Dropping the batch removes its temp files: nothing is written.
        return Err(Error::Incomplete { refused: in_the_way });
    }
    let committed = batch.commit()?;
    for (path, _) in &committed.skipped {
        log::warn!("{}: a file appeared there meanwhile; not overwritten", path.display());
    }
    let written = committed.written.len();
    log::info!(
        "unpacked theme {:?} into {}: {written} files written, {unchanged} unchanged",
        theme.name,
        root.display()
    );
    if !committed.skipped.is_empty() {
        return Err(Error::Incomplete { refused: committed.skipped.len() });
    }
    Ok(())
}
