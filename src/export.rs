//! `export`: database rows to files, the first of mybb-sync's two flows.
//!
//! ```text
//! DB rows --resolve (board.rs)--> rendered items --layout.rs--> paths --atomic.rs--> files
//! ```
//! Runs under the sync root's lock held exclusively, so a watcher in another process waits.
//! A file whose content is already right is not rewritten, so exporting an unchanged board
//! touches nothing, and a file changed while the export runs is left for the watcher.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fs_err as fs;

use crate::atomic::{self, AtomicBatch};
use crate::board::{Board, GLOBAL_SID, MASTER_THEME_TID, SetTemplates};
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::gate::SyncLock;
use crate::layout::{GLOBAL_SET_TITLE, ItemPath};

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Template set titles; empty means every set (and the global set when it has rows).
    pub sets: Vec<String>,
    /// Theme names; empty means every theme but the master theme.
    pub themes: Vec<String>,
    /// Leave alone a file changed since the export began (for `watch --export-first`, whose
    /// watcher then applies the change), instead of overwriting it with the database's content.
    pub keep_edits_during_export: bool,
    /// Testing only: fail after this many files were written.
    pub fail_after: Option<usize>,
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
    /// Files changed on disk while the export ran, left alone for the watcher.
    pub left: usize,
}

impl ExportSummary {
    /// Returns how many files were written in all.
    pub fn written(&self) -> usize {
        self.parts.iter().map(|p| p.written).sum()
    }
}

/// One file the export wants to exist with `content`.
struct Planned {
    part: usize,
    path: PathBuf,
    content: Vec<u8>,
}

/// How long before the export began a file may have been changed and still count as changed
/// during it: file times come from the kernel's coarse clock, up to a tick behind `now()`.
const EDIT_MARGIN: Duration = Duration::from_millis(20);

/// Exports the chosen sets and themes into the sync root. Holds the root's lock exclusively.
pub fn export(db: &Db, config: &Config, options: &ExportOptions) -> Result<ExportSummary> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let started = SystemTime::now();
    let board = Board::load(db)?;
    let mut summary = ExportSummary::default();
    let mut planned = Vec::new();

    for (sid, title) in chosen_sets(db, &board, &options.sets)? {
        let part = summary.parts.len();
        let set = SetTemplates::load(db, sid, None)?;
        let dir = config.sync_root.join(ItemPath::set_dir(&title));
        for (template_title, row) in set.all() {
            let group = crate::layout::group_folder(template_title, &board.groups);
            let item =
                ItemPath::Template { set: title.clone(), group, title: template_title.to_owned() };
            planned.push(Planned {
                part,
                path: config.sync_root.join(item.to_relative()),
                content: row.template.clone(),
            });
        }
        summary.parts.push(PartSummary::new("template set", title, dir));
    }

    for (tid, name) in chosen_themes(&board, &options.themes)? {
        let part = summary.parts.len();
        let dir = config.sync_root.join(ItemPath::theme_dir(&name));
        for (sheet, row) in board.resolved_stylesheets(tid) {
            let item = ItemPath::Stylesheet { theme: name.clone(), name: sheet.to_owned() };
            planned.push(Planned {
                part,
                path: config.sync_root.join(item.to_relative()),
                content: row.stylesheet.clone(),
            });
        }
        summary.parts.push(PartSummary::new("theme", name, dir));
    }

    let mut batch = AtomicBatch::new(config.durable);
    batch.fail_after(options.fail_after);
    let mut cleaned = std::collections::HashSet::new();
    for item in planned {
        let dir = item.path.parent().unwrap_or(&config.sync_root).to_path_buf();
        if cleaned.insert(dir.clone()) {
            // We hold the lock exclusively: any temp file of ours here is a killed run's.
            let removed = atomic::remove_stale_temps(&dir)?;
            if removed > 0 {
                log::info!(
                    "removed {removed} temp file(s) left by an interrupted run in {}",
                    dir.display()
                );
            }
        }
        let part = &mut summary.parts[item.part];
        match existing(&item.path)? {
            Some((content, _)) if content == item.content => part.unchanged += 1,
            Some((_, modified))
                if options.keep_edits_during_export && modified + EDIT_MARGIN >= started =>
            {
                log::warn!("{}: changed while the export ran; left as it is", item.path.display());
                part.left += 1;
            }
            _ => {
                batch.stage(&item.path, &item.content)?;
                part.written += 1;
            }
        }
    }
    batch.commit()?;
    for part in &summary.parts {
        log::info!(
            "{} {:?}: {} written, {} unchanged{} in {}",
            part.kind,
            part.name,
            part.written,
            part.unchanged,
            if part.left > 0 {
                format!(", {} left (changed during the export)", part.left)
            } else {
                String::new()
            },
            part.dir.display()
        );
    }
    Ok(summary)
}

impl PartSummary {
    fn new(kind: &'static str, name: String, dir: PathBuf) -> PartSummary {
        PartSummary { kind, name, dir, written: 0, unchanged: 0, left: 0 }
    }
}

/// Returns the content and modification time of the file at `path`, or None if there is none.
fn existing(path: &Path) -> Result<Option<(Vec<u8>, SystemTime)>> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_file() {
        // A directory where a file should be: staging will fail with a clear error.
        return Ok(None);
    }
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(Some((fs::read(path)?, modified)))
}

/// Returns the sets to export as `(sid, title)`: the named ones, or every set plus the global
/// set when it has rows.
fn chosen_sets(db: &Db, board: &Board, names: &[String]) -> Result<Vec<(i32, String)>> {
    if names.is_empty() {
        let mut sets = board.sets.clone();
        if !db.templates(&[GLOBAL_SID], None)?.is_empty() {
            sets.push((GLOBAL_SID, GLOBAL_SET_TITLE.to_owned()));
        }
        return Ok(sets);
    }
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

/// Returns the themes to export as `(tid, name)`: the named ones, or every theme but the master.
fn chosen_themes(board: &Board, names: &[String]) -> Result<Vec<(u32, String)>> {
    if names.is_empty() {
        return Ok(board
            .themes
            .iter()
            .filter(|t| t.tid != MASTER_THEME_TID)
            .map(|t| (t.tid, t.name.clone()))
            .collect());
    }
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
