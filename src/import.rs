//! Files to database rows: the one door through which file content reaches MyBB's tables.
//!
//! [`Syncer::plan`] decides what would happen to each path: it reads the file (only once its
//! size and time held still across the read), validates it (safeguard 1, `validate.rs`), and
//! compares it with what MyBB renders for it (`board.rs`). Only a [`Decision::Write`] reaches
//! [`Syncer::apply`], which writes the row as the Admin CP would. `import`, the watcher and any
//! status report all go through `plan`, so they cannot disagree about a file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fs_err as fs;

use crate::board::{Board, MASTER_THEME_TID, SetTemplates};
use crate::config::Config;
use crate::db::{Db, now};
use crate::error::{Error, Result};
use crate::layout::{self, ItemPath, NotAnItem, STYLES_DIR, TEMPLATE_SETS_DIR};
use crate::validate::{self, ItemKind};

/// MyBB's `templates.title` is varchar(120).
const MAX_TITLE_CHARS: usize = 120;
/// MyBB's `themestylesheets.name` is varchar(30).
const MAX_STYLESHEET_NAME_CHARS: usize = 30;

/// The refusal of a 0-byte file.
const EMPTY_FILE: &str = "empty file";

/// What would happen to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not an item: outside the layouts, or a temp, swap or backup file.
    Ignored,
    /// The file is gone (deleted, or mid-way through an editor's save). The database keeps
    /// its row: deleting a file never deletes anything.
    Missing,
    /// The file changed while it was read; read it again later.
    Unstable,
    /// The file says what the database already renders: nothing to do.
    Unchanged,
    /// The file may not reach the database, for this reason.
    Refused(String),
    /// The file differs from the database and is valid: write it.
    Write(Write),
}

/// A validated write, built only by [`Syncer::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    target: Target,
    content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Update template row `tid` of set `sid`.
    UpdateTemplate { sid: i32, tid: u32, title: String },
    /// Insert a row into set `sid`: a copy-on-write of an inherited template, or a new title.
    InsertTemplate { sid: i32, title: String, new_title: bool },
    /// Update stylesheet row `sid` of theme `tid`.
    UpdateStylesheet { tid: u32, sid: u32, name: String },
    /// Insert a row into theme `tid`: a copy-on-write of an inherited stylesheet (with its
    /// `attachedto`), or a new name (attached to every page).
    InsertStylesheet { tid: u32, name: String, attachedto: String, new_name: bool },
}

impl Write {
    /// Returns a short description of the write, for logs: "updated", "created (copy-on-write)".
    pub fn describe(&self) -> &'static str {
        match &self.target {
            Target::UpdateTemplate { .. } | Target::UpdateStylesheet { .. } => "updated",
            Target::InsertTemplate { new_title: false, .. } => {
                "copied into the set (copy-on-write)"
            }
            Target::InsertStylesheet { new_name: false, .. } => {
                "copied into the theme (copy-on-write)"
            }
            Target::InsertTemplate { .. } | Target::InsertStylesheet { .. } => "created",
        }
    }
}

/// What a sync of some paths did.
#[derive(Debug, Default)]
pub struct Report {
    /// Paths written to the database, with what was done.
    pub written: Vec<(PathBuf, &'static str)>,
    pub unchanged: usize,
    /// Paths refused, each with its reason.
    pub refused: Vec<(PathBuf, String)>,
    /// Paths that changed while being read: to be tried again.
    pub unstable: Vec<PathBuf>,
    /// Paths whose file is gone (deleted, or between an editor's rename and write).
    pub missing: Vec<PathBuf>,
}

/// Plans and applies file-to-database writes for one sync root.
#[derive(Debug)]
pub struct Syncer<'a> {
    db: &'a Db,
    config: &'a Config,
    version_code: String,
}

/// Returns `text` without trailing whitespace as PHP's `rtrim()` defines it, as the Admin CP
/// saves templates.
pub fn php_rtrim(text: &str) -> &str {
    text.trim_end_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

impl<'a> Syncer<'a> {
    /// Returns a syncer for the database `db` and the sync root of `config`.
    pub fn new(db: &'a Db, config: &'a Config) -> Result<Syncer<'a>> {
        Ok(Syncer { db, config, version_code: db.version_code()? })
    }

    /// Returns the path of `path` relative to the sync root, if it lies under it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let root = std::path::absolute(&self.config.sync_root).ok()?;
        let path = std::path::absolute(path).ok()?;
        path.strip_prefix(&root).ok().map(Path::to_path_buf)
    }

    /// Decides what would happen to each of `paths` (absolute, or relative to the current
    /// directory), reading the database once for the whole batch.
    pub fn plan(&self, paths: &[PathBuf]) -> Result<Vec<(PathBuf, Decision)>> {
        let board = Board::load(self.db)?;
        let mut parsed = Vec::with_capacity(paths.len());
        let mut titles_by_set: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for path in paths {
            let item = match self.relative(path) {
                None => Err(NotAnItem::Invalid(format!(
                    "not under the sync root {}",
                    self.config.sync_root.display()
                ))),
                Some(relative) => layout::parse(&relative),
            };
            if let Ok(ItemPath::Template { set, title, .. }) = &item
                && let Some(sid) = board.set_sid(set)
            {
                titles_by_set.entry(sid).or_default().push(title.clone());
            }
            parsed.push((path.clone(), item));
        }
        let mut sets = HashMap::new();
        for (sid, titles) in titles_by_set {
            sets.insert(sid, SetTemplates::load(self.db, sid, Some(&titles))?);
        }
        let mut duplicates = DuplicateTitles::default();
        let decisions = parsed
            .into_iter()
            .map(|(path, item)| {
                let decision = match item {
                    Err(NotAnItem::Ignored) => Decision::Ignored,
                    Err(NotAnItem::Invalid(why)) => Decision::Refused(why),
                    Ok(item) => self.decide(&path, &item, &board, &sets, &mut duplicates),
                };
                (path, decision)
            })
            .collect();
        Ok(decisions)
    }

    fn decide(
        &self,
        path: &Path,
        item: &ItemPath,
        board: &Board,
        sets: &HashMap<i32, SetTemplates>,
        duplicates: &mut DuplicateTitles,
    ) -> Decision {
        let kind = match item {
            ItemPath::Template { .. } => ItemKind::Template,
            ItemPath::Stylesheet { .. } => ItemKind::Stylesheet,
        };
        let bytes = match read_stable(path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Decision::Missing,
            Err(Unstable) => return Decision::Unstable,
        };
        if bytes.is_empty() {
            // Checked first and worded exactly: this is the incident mybb-sync exists for.
            return Decision::Refused(EMPTY_FILE.to_owned());
        }
        let content = match validate::validate(kind, &bytes) {
            Ok(content) => content,
            Err(refusal) => return Decision::Refused(refusal.to_string()),
        };
        match item {
            ItemPath::Template { set, title, .. } => {
                let Some(sid) = board.set_sid(set) else {
                    return Decision::Refused(format!(
                        "no template set named {set:?} (create it in the Admin CP first)"
                    ));
                };
                if title.chars().count() > MAX_TITLE_CHARS {
                    return Decision::Refused(format!(
                        "a template title has at most {MAX_TITLE_CHARS} characters"
                    ));
                }
                if let Some(other) = duplicates.other_path(&self.config.sync_root, set, title, path)
                {
                    return Decision::Refused(format!(
                        "the same template is also at {}; keep one of them",
                        other.display()
                    ));
                }
                let content = php_rtrim(content);
                if content.is_empty() {
                    return Decision::Refused("blank file (only whitespace)".to_owned());
                }
                let set_templates = sets.get(&sid);
                let rendered = set_templates.and_then(|s| s.rendered(title));
                if rendered.is_some_and(|row| php_rtrim_bytes(&row.template) == content.as_bytes())
                {
                    return Decision::Unchanged;
                }
                let target = match set_templates.and_then(|s| s.own(title)) {
                    Some(own) => Target::UpdateTemplate { sid, tid: own.tid, title: title.clone() },
                    None => Target::InsertTemplate {
                        sid,
                        title: title.clone(),
                        new_title: rendered.is_none(),
                    },
                };
                Decision::Write(Write { target, content: content.to_owned() })
            }
            ItemPath::Stylesheet { theme, name } => {
                let Some(theme_row) = board.theme_by_name(theme) else {
                    return Decision::Refused(format!(
                        "no theme named {theme:?} (create it in the Admin CP first)"
                    ));
                };
                if theme_row.tid == MASTER_THEME_TID {
                    return Decision::Refused(
                        "the master theme is read-only, as in the Admin CP; edit a child theme"
                            .to_owned(),
                    );
                }
                if name.chars().count() > MAX_STYLESHEET_NAME_CHARS {
                    return Decision::Refused(format!(
                        "a stylesheet name has at most {MAX_STYLESHEET_NAME_CHARS} characters"
                    ));
                }
                let tid = theme_row.tid;
                let resolved = board.resolved_stylesheets(tid);
                let row = resolved.get(name.as_str());
                if row.is_some_and(|row| row.stylesheet == content.as_bytes()) {
                    return Decision::Unchanged;
                }
                let target = match row {
                    Some(row) if row.tid == tid => {
                        Target::UpdateStylesheet { tid, sid: row.sid, name: name.clone() }
                    }
                    Some(row) => Target::InsertStylesheet {
                        tid,
                        name: name.clone(),
                        attachedto: row.attachedto.clone(),
                        new_name: false,
                    },
                    None => Target::InsertStylesheet {
                        tid,
                        name: name.clone(),
                        attachedto: String::new(),
                        new_name: true,
                    },
                };
                Decision::Write(Write { target, content: content.to_owned() })
            }
        }
    }

    /// Writes one planned change to the database, as the Admin CP would.
    pub fn apply(&self, write: &Write) -> Result<()> {
        match &write.target {
            Target::UpdateTemplate { tid, title, .. } => {
                self.db.update_template(*tid, title, &write.content, &self.version_code)
            }
            Target::InsertTemplate { sid, title, .. } => {
                self.db.insert_template(*sid, title, &write.content, &self.version_code).map(drop)
            }
            Target::UpdateStylesheet { tid, sid, name } => {
                self.db.update_stylesheet(*sid, name, &write.content, now())?;
                self.after_stylesheet_write(*tid, *sid, name, &write.content)
            }
            Target::InsertStylesheet { tid, name, attachedto, .. } => {
                let sid =
                    self.db.insert_stylesheet(*tid, name, attachedto, &write.content, now())?;
                let sid = u32::try_from(sid).map_err(|_| Error::Data {
                    what: format!("stylesheet {name:?} got sid {sid}, beyond MyBB's int unsigned"),
                })?;
                self.after_stylesheet_write(*tid, sid, name, &write.content)
            }
        }
    }

    /// Makes a stylesheet change live. MyBB serves stylesheets from cache files, not from the
    /// database: `cache.rs` rewrites them and the stylesheet lists, as the Admin CP does.
    fn after_stylesheet_write(&self, tid: u32, sid: u32, name: &str, content: &str) -> Result<()> {
        let sheet = crate::cache::WrittenStylesheet { tid, sid, name, content };
        crate::cache::after_stylesheet_write(self.db, self.config, &sheet)
    }

    /// Plans and applies `paths`: the whole of `import`, and one batch of the watcher. A
    /// connection failure stops the run (the caller retries); any other failure of one item
    /// is reported as a refusal of that item.
    pub fn sync(&self, paths: &[PathBuf]) -> Result<Report> {
        let mut report = Report::default();
        for (path, decision) in self.plan(paths)? {
            match decision {
                Decision::Ignored => {}
                Decision::Missing => {
                    log::debug!("{}: gone before it could be read; skipped", path.display());
                    report.missing.push(path);
                }
                Decision::Unstable => report.unstable.push(path),
                Decision::Unchanged => {
                    log::debug!("{}: same as the database", path.display());
                    report.unchanged += 1;
                }
                Decision::Refused(why) => {
                    if why == EMPTY_FILE {
                        log::warn!("skipping empty file: {}", path.display());
                    } else {
                        log::warn!("{}: refused: {why}", path.display());
                    }
                    report.refused.push((path, why));
                }
                Decision::Write(write) => match self.apply(&write) {
                    Ok(()) => {
                        log::info!("{}: {}", path.display(), write.describe());
                        report.written.push((path, write.describe()));
                    }
                    Err(e @ Error::Connect { .. }) => return Err(e),
                    Err(e) => {
                        let why = crate::error::chain(&e);
                        log::warn!("{}: not written: {why}", path.display());
                        report.refused.push((path, why));
                    }
                },
            }
        }
        Ok(report)
    }
}

fn php_rtrim_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0B))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// The file changed while it was read.
struct Unstable;

/// Returns the file's bytes, None if it does not exist (or is not a file), or [`Unstable`] if
/// its size or modification time changed during the read: a writer was still at work.
fn read_stable(path: &Path) -> std::result::Result<Option<Vec<u8>>, Unstable> {
    let stamp = |path: &Path| -> Option<(u64, SystemTime)> {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        Some((meta.len(), meta.modified().ok()?))
    };
    let Some(before) = stamp(path) else { return Ok(None) };
    let Ok(bytes) = std::fs::read(path) else { return Ok(None) };
    match stamp(path) {
        Some(after) if after == before && after.0 == bytes.len() as u64 => Ok(Some(bytes)),
        Some(_) => Err(Unstable),
        None => Ok(None),
    }
}

/// Finds template files that name the same template from two group folders of one set.
#[derive(Default)]
struct DuplicateTitles {
    /// Per set folder: every template title found on disk, with its paths.
    sets: HashMap<String, HashMap<String, Vec<PathBuf>>>,
}

impl DuplicateTitles {
    /// Returns another path under the same set that names `title`, if there is one.
    fn other_path(&mut self, root: &Path, set: &str, title: &str, path: &Path) -> Option<PathBuf> {
        let index = self.sets.entry(set.to_owned()).or_insert_with(|| index_set(root, set));
        let same = |p: &PathBuf| std::path::absolute(p).ok() == std::path::absolute(path).ok();
        index.get(title)?.iter().find(|p| !same(p)).cloned()
    }
}

/// Returns every template title in the folder of set `set`, with the files that name it.
fn index_set(root: &Path, set: &str) -> HashMap<String, Vec<PathBuf>> {
    let mut index: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let Ok(groups) = std::fs::read_dir(root.join(ItemPath::set_dir(set))) else { return index };
    for group in groups.flatten() {
        let Ok(files) = std::fs::read_dir(group.path()) else { continue };
        for file in files.flatten() {
            let path = file.path();
            let Ok(rel) = path.strip_prefix(root) else { continue };
            if let Ok(ItemPath::Template { title, .. }) = layout::parse(rel) {
                index.entry(title).or_default().push(path);
            }
        }
    }
    index
}

/// Returns every file under the sync root's two layout folders (or under `dir`), sorted.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                stack.push(entry.path());
            } else if file_type.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Returns every file of both layouts under the sync root `root`.
pub fn walk_root(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = walk_files(&root.join(TEMPLATE_SETS_DIR))?;
    files.extend(walk_files(&root.join(STYLES_DIR))?);
    Ok(files)
}

/// Runs `import`: plans and applies every file under the sync root, or under `paths`, once.
/// Returns [`Error::Incomplete`] when any file was refused.
pub fn import(db: &Db, config: &Config, paths: &[PathBuf]) -> Result<Report> {
    let lock = crate::gate::SyncLock::new(&config.sync_root)?;
    let _held = lock.shared()?;
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
    let syncer = Syncer::new(db, config)?;
    let mut report = syncer.sync(&files)?;
    // A file still being written: give its writer a moment, then try again, a few times.
    for _ in 0..5 {
        if report.unstable.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = syncer.sync(&std::mem::take(&mut report.unstable))?;
        report.written.extend(again.written);
        report.unchanged += again.unchanged;
        report.refused.extend(again.refused);
        report.unstable = again.unstable;
    }
    for path in &report.unstable {
        report.refused.push((path.clone(), "kept changing while being read".to_owned()));
    }
    log::info!(
        "import: {} written, {} unchanged, {} refused",
        report.written.len(),
        report.unchanged,
        report.refused.len()
    );
    if !report.refused.is_empty() {
        return Err(Error::Incomplete { refused: report.refused.len() });
    }
    Ok(report)
}
