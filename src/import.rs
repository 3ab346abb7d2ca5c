//! Files to database rows, and the one place that decides what happens to any item.
//!
//! [`Syncer`] plans: for each item it reads the file (only once its size and time held still
//! across the read), validates it (safeguard 1, `validate.rs`), finds what MyBB renders for it
//! (`board.rs`), and compares the two with what they were at the last sync (`state.rs`):
//! only the file changed, write the row; only the row changed, write the file; both, a
//! conflict that touches neither. Then it applies what the command allows: `import` writes
//! rows, `export` writes files, `watch` both, `status` and `--dry-run` nothing. Every row
//! write goes through [`Syncer::apply`] and every file write through `atomic.rs`, so the
//! commands cannot disagree about a file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fs_err as fs;

use crate::atomic::AtomicBatch;
use crate::board::{Board, GLOBAL_SID, MASTER_THEME_TID, SetTemplates};
use crate::config::Config;
use crate::db::{Db, now};
use crate::error::{Error, Result};
use crate::layout::{self, GLOBAL_SET_TITLE, ItemPath, NotAnItem, STYLES_DIR, TEMPLATE_SETS_DIR};
use crate::state::{Record, State, content_hash};
use crate::validate::{self, ItemKind};

/// MyBB's `templates.title` is varchar(120).
const MAX_TITLE_CHARS: usize = 120;
/// MyBB's `themestylesheets.name` is varchar(30).
const MAX_STYLESHEET_NAME_CHARS: usize = 30;
/// How `validate.rs` words the refusal of a 0-byte file, logged in words of its own: this is
/// the incident mybb-sync exists for.
const EMPTY_FILE: &str = "empty file";

/// Which side wins where file and database differ (`--prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Disk,
    Db,
}

/// Which ways changes may flow in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub to_db: bool,
    pub to_disk: bool,
}

impl Flow {
    /// `import`: files to rows.
    pub const IMPORT: Flow = Flow { to_db: true, to_disk: false };
    /// `export`: rows to files.
    pub const EXPORT: Flow = Flow { to_db: false, to_disk: true };
    /// `watch`: both ways.
    pub const BOTH: Flow = Flow { to_db: true, to_disk: true };
}

/// What should happen to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Not an item: outside the layouts, or a temp, swap or backup file.
    Ignored,
    /// The file is gone and the database has not changed since: the row stays. Deleting a
    /// file never deletes anything.
    Missing,
    /// The file changed while it was read; read it again later.
    Unstable,
    /// File and database agree.
    InSync,
    /// The file's row was deleted in the database and the file is as last synced: kept.
    GoneFromDb,
    /// The file may not reach the database, for this reason.
    Refused(String),
    /// Write the row (the file changed, or `--prefer disk`).
    ToDb(Write),
    /// Write the file (the row changed, or it has no file yet, or `--prefer db`).
    ToDisk(Vec<u8>),
    /// Both changed since the last sync (or there is no sync record): touch neither; the
    /// database's content goes beside the file.
    Conflict(Vec<u8>),
}

impl Action {
    /// Returns the word `status` prints for this action, or None when there is nothing to do.
    pub fn word(&self) -> Option<&'static str> {
        match self {
            Action::ToDb(_) => Some("to-db"),
            Action::ToDisk(_) => Some("to-disk"),
            Action::Conflict(_) => Some("conflict"),
            Action::Refused(_) => Some("refused"),
            _ => None,
        }
    }
}

/// One item's plan.
#[derive(Debug, Clone)]
pub struct Planned {
    pub path: PathBuf,
    pub action: Action,
    /// The item's state key, and what to record once the action is applied.
    sync: Option<(String, Record)>,
}

/// A validated row write, built only by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    target: Target,
    content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Update template row `tid`.
    UpdateTemplate { tid: u32, title: String },
    /// Insert a row into set `sid`: a copy-on-write of an inherited template, or a new title.
    InsertTemplate { sid: i32, title: String, new_title: bool },
    /// Update stylesheet row `sid` of theme `tid`.
    UpdateStylesheet { tid: u32, sid: u32, name: String },
    /// Insert a row into theme `tid`: a copy-on-write of an inherited stylesheet (with its
    /// `attachedto`), or a new name (attached to every page).
    InsertStylesheet { tid: u32, name: String, attachedto: String, new_name: bool },
}

impl Write {
    /// Returns what the write does, in words.
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

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows written, with what was done.
    pub written: Vec<(PathBuf, &'static str)>,
    /// Files written from the database.
    pub pulled: Vec<PathBuf>,
    /// Items already in sync.
    pub unchanged: Vec<PathBuf>,
    /// Conflicts, each with the path of the database's copy.
    pub conflicts: Vec<(PathBuf, PathBuf)>,
    /// Files refused, each with its reason.
    pub refused: Vec<(PathBuf, String)>,
    /// Changes the run's flow does not carry (a local edit during `export`), with why.
    pub held: Vec<(PathBuf, &'static str)>,
    /// Files that changed while being read: to be tried again.
    pub unstable: Vec<PathBuf>,
    /// Files that are gone (deleted, or between an editor's rename and write).
    pub missing: Vec<PathBuf>,
    /// What the row writes made live on the forum, in order, for `watch --live-reload`.
    pub live: Vec<crate::live::Change>,
}

impl Report {
    /// Returns how many items need a person's attention: conflicts and refusals.
    pub fn problems(&self) -> usize {
        self.conflicts.len() + self.refused.len()
    }
}

/// How to apply a plan.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Leave alone a file changed since this moment instead of overwriting it (the export of
    /// `watch --export-first`, whose watcher then applies the change).
    pub keep_files_changed_since: Option<SystemTime>,
    /// Testing only: fail after this many files were written.
    pub fail_after: Option<usize>,
}

/// Returns `text` without trailing whitespace as PHP's `rtrim()` defines it, as the Admin CP
/// saves templates.
pub fn php_rtrim(text: &str) -> &str {
    text.trim_end_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

fn php_rtrim_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0B))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Returns the bytes that "the same content" compares: templates right-trimmed (the Admin CP
/// trims what it saves, and 13 master templates end in whitespace), stylesheets as they are.
fn normalized(kind: ItemKind, bytes: &[u8]) -> &[u8] {
    match kind {
        ItemKind::Template => php_rtrim_bytes(bytes),
        ItemKind::Stylesheet => bytes,
    }
}

/// The three-way verdict for one item, from the normalized file content, the normalized
/// database content, and the hash recorded at the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    InSync,
    ToDb,
    ToDisk,
    Conflict,
    /// The file is gone, the row unchanged since the last sync: keep the row, write nothing.
    Missing,
    /// The row is gone, the file unchanged since the last sync: keep the file, write nothing.
    GoneFromDb,
    /// Neither side has the item.
    Nothing,
}

/// Decides the direction of one item. Pure: this table is the heart of conflict detection.
/// `recreate_missing` (export) writes a file whose row exists even if the file was deleted.
pub fn decide(
    file: Option<&[u8]>,
    db: Option<&[u8]>,
    synced: Option<u64>,
    prefer: Option<Prefer>,
    recreate_missing: bool,
) -> Verdict {
    let changed = |side: &[u8]| synced != Some(content_hash(side));
    match (file, db) {
        (None, None) => Verdict::Nothing,
        (None, Some(d)) => {
            if recreate_missing || synced.is_none() || changed(d) {
                Verdict::ToDisk
            } else {
                Verdict::Missing
            }
        }
        (Some(f), None) => {
            if synced.is_some() && !changed(f) && prefer != Some(Prefer::Disk) {
                Verdict::GoneFromDb
            } else {
                Verdict::ToDb
            }
        }
        (Some(f), Some(d)) if f == d => Verdict::InSync,
        (Some(f), Some(d)) => match prefer {
            Some(Prefer::Disk) => Verdict::ToDb,
            Some(Prefer::Db) => Verdict::ToDisk,
            None => match (synced.is_some() && changed(f), synced.is_some() && changed(d)) {
                (true, false) => Verdict::ToDb,
                (false, true) => Verdict::ToDisk,
                // Both changed, no record, or a record matching neither: don't guess.
                _ => Verdict::Conflict,
            },
        },
    }
}

/// Returns the path of the database's copy written beside a file in conflict:
/// `header.html` -> `header.db.html`, `global.css` -> `global.db.css`.
pub fn conflict_copy_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.db.{ext}"),
        _ => format!("{name}.db"),
    };
    path.with_file_name(copy)
}

/// What the database holds for one item, and how a write to it would go.
struct DbSide {
    kind: ItemKind,
    /// The rendered content and its stamp, if MyBB renders anything for the item.
    rendered: Option<(Vec<u8>, u64)>,
    /// How to write the item, or why it may not be written.
    target: std::result::Result<Target, String>,
}

/// Which sets and themes a whole-board plan covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `(sid, title)` of each set.
    pub sets: Vec<(i32, String)>,
    /// `(tid, name)` of each theme.
    pub themes: Vec<(u32, String)>,
    /// Also plan every other file under the sync root (for `status`).
    pub every_file: bool,
}

/// Plans and applies syncs for one sync root.
#[derive(Debug)]
pub struct Syncer<'a> {
    db: &'a Db,
    config: &'a Config,
    version_code: String,
    prefer: Option<Prefer>,
    /// Whether the template and stylesheet columns can hold 4-byte UTF-8 (not on `utf8` boards).
    four_byte: (bool, bool),
}

impl<'a> Syncer<'a> {
    /// Returns a syncer for the database `db` and the sync root of `config`.
    pub fn new(db: &'a Db, config: &'a Config, prefer: Option<Prefer>) -> Result<Syncer<'a>> {
        let four_byte = (
            db.stores_four_byte_utf8("templates", "template")?,
            db.stores_four_byte_utf8("themestylesheets", "stylesheet")?,
        );
        Ok(Syncer { db, config, version_code: db.version_code()?, prefer, four_byte })
    }

    /// Returns the path of `path` relative to the sync root, if it lies under it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let root = std::path::absolute(&self.config.sync_root).ok()?;
        let path = std::path::absolute(path).ok()?;
        path.strip_prefix(&root).ok().map(Path::to_path_buf)
    }

    /// Returns the default scope: every set (and the global set when it has rows) and every
    /// theme but the master theme.
    pub fn default_scope(&self, board: &Board) -> Result<Scope> {
        let mut sets = board.sets.clone();
        if !self.db.templates(&[GLOBAL_SID], None)?.is_empty() {
            sets.push((GLOBAL_SID, GLOBAL_SET_TITLE.to_owned()));
        }
        let themes = board
            .themes
            .iter()
            .filter(|t| t.tid != MASTER_THEME_TID)
            .map(|t| (t.tid, t.name.clone()))
            .collect();
        Ok(Scope { sets, themes, every_file: false })
    }

    /// Plans the files `paths` (absolute, or relative to the current directory).
    pub fn plan_paths(&self, paths: &[PathBuf], state: &State) -> Result<Vec<Planned>> {
        let board = Board::load(self.db)?;
        let mut titles_by_set: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        let items: Vec<(PathBuf, std::result::Result<ItemPath, NotAnItem>)> = paths
            .iter()
            .map(|path| {
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
                (path.clone(), item)
            })
            .collect();
        let mut sets = HashMap::new();
        for (sid, titles) in titles_by_set {
            sets.insert(sid, SetTemplates::load(self.db, sid, Some(&titles))?);
        }
        let mut duplicates = DuplicateTitles::default();
        Ok(items
            .into_iter()
            .map(|(path, item)| {
                self.plan_one(path, item, &board, &sets, &mut duplicates, state, false)
            })
            .collect())
    }

    /// Plans every item of `scope` on `board` (as just loaded): each rendered template and
    /// stylesheet, with or without a file, and each file in the scope's folders.
    pub fn plan_scope(
        &self,
        board: &Board,
        scope: &Scope,
        state: &State,
        recreate_missing: bool,
    ) -> Result<Vec<Planned>> {
        let root = &self.config.sync_root;
        let mut sets = HashMap::new();
        let mut duplicates = DuplicateTitles::default();
        // Every path the scope covers: each item's file, whether or not it exists, and each
        // file already there. Paths round-trip through the layout, so each is parsed back.
        let mut candidates: Vec<PathBuf> = Vec::new();
        for (sid, title) in &scope.sets {
            let set = SetTemplates::load(self.db, *sid, None)?;
            for (template_title, _) in set.all() {
                // A file already standing in another group folder is the item's file.
                let path = duplicates.only_path(root, title, template_title).unwrap_or_else(|| {
                    let group = layout::group_folder(template_title, &board.groups);
                    let item = ItemPath::Template {
                        set: title.clone(),
                        group,
                        title: template_title.to_owned(),
                    };
                    root.join(item.to_relative())
                });
                candidates.push(path);
            }
            sets.insert(*sid, set);
            candidates.extend(walk_files(&root.join(ItemPath::set_dir(title)))?);
        }
        for (tid, name) in &scope.themes {
            for sheet in board.resolved_stylesheets(*tid).keys() {
                let item = ItemPath::Stylesheet { theme: name.clone(), name: (*sheet).to_owned() };
                candidates.push(root.join(item.to_relative()));
            }
            candidates.extend(walk_files(&root.join(ItemPath::theme_dir(name)))?);
        }
        if scope.every_file {
            candidates.extend(walk_root(root)?);
        }
        let mut seen = BTreeSet::new();
        let mut planned = Vec::new();
        for path in candidates {
            if !seen.insert(path.clone()) {
                continue;
            }
            let item = match self.relative(&path) {
                Some(relative) => layout::parse(&relative),
                None => Err(NotAnItem::Ignored),
            };
            if let Ok(ItemPath::Template { set, .. }) = &item
                && let Some(sid) = board.set_sid(set)
                && !sets.contains_key(&sid)
            {
                sets.insert(sid, SetTemplates::load(self.db, sid, None)?);
            }
            planned.push(self.plan_one(
                path,
                item,
                board,
                &sets,
                &mut duplicates,
                state,
                recreate_missing,
            ));
        }
        Ok(planned)
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_one(
        &self,
        path: PathBuf,
        item: std::result::Result<ItemPath, NotAnItem>,
        board: &Board,
        sets: &HashMap<i32, SetTemplates>,
        duplicates: &mut DuplicateTitles,
        state: &State,
        recreate_missing: bool,
    ) -> Planned {
        let plain = |action| Planned { path: path.clone(), action, sync: None };
        let item = match item {
            Ok(item) => item,
            Err(NotAnItem::Ignored) => return plain(Action::Ignored),
            Err(NotAnItem::Invalid(why)) => return plain(Action::Refused(why)),
        };
        if let ItemPath::Template { set, title, .. } = &item
            && let Some(other) = duplicates.other_path(&self.config.sync_root, set, title, &path)
        {
            return plain(Action::Refused(format!(
                "the same template is also at {}; keep one of them",
                other.display()
            )));
        }
        let db = self.db_side(&item, board, sets);
        let file = match read_stable(&path) {
            Ok(file) => file,
            Err(Unstable) => return plain(Action::Unstable),
        };
        let key = item.key();
        let synced = state.get(&key).map(|r| r.hash);
        // Validate what would go to the database before anything else is decided about it. A
        // file as it was at the last sync passed then; it only needs decoding (MyBB's template
        // check is most of the cost of comparing a whole tree).
        let as_synced = file
            .as_deref()
            .filter(|bytes| synced == Some(content_hash(normalized(db.kind, bytes))))
            .and_then(|bytes| std::str::from_utf8(bytes).ok());
        let content = match (&file, as_synced) {
            (None, _) => None,
            (Some(_), Some(content)) => Some(content),
            (Some(bytes), None) => match validate::validate(db.kind, bytes) {
                Ok(content) => Some(content),
                Err(refusal) => return plain(Action::Refused(refusal.to_string())),
            },
        };
        let four_byte_ok = match db.kind {
            ItemKind::Template => self.four_byte.0,
            ItemKind::Stylesheet => self.four_byte.1,
        };
        if !four_byte_ok
            && let Some((offset, c)) =
                content.and_then(|c| c.char_indices().find(|(_, c)| c.len_utf8() == 4))
        {
            return plain(Action::Refused(format!(
                "{c} (U+{:X}) at byte {offset}: this board's tables use MySQL's 3-byte utf8, which \
                 would store it as ?",
                u32::from(c)
            )));
        }
        let file_norm = content.map(|c| normalized(db.kind, c.as_bytes()));
        let db_norm = db.rendered.as_ref().map(|(bytes, _)| normalized(db.kind, bytes));
        let verdict = decide(file_norm, db_norm, synced, self.prefer, recreate_missing);
        let stamp = db.rendered.as_ref().map_or(0, |(_, stamp)| *stamp);
        let record =
            |bytes: &[u8]| Some((key.clone(), Record { hash: content_hash(bytes), stamp }));
        match verdict {
            Verdict::Nothing | Verdict::Missing => plain(Action::Missing),
            Verdict::GoneFromDb => plain(Action::GoneFromDb),
            Verdict::InSync => {
                Planned { path, action: Action::InSync, sync: file_norm.and_then(record) }
            }
            Verdict::Conflict => {
                let theirs = db.rendered.map(|(bytes, _)| bytes).unwrap_or_default();
                plain(Action::Conflict(theirs))
            }
            Verdict::ToDisk => {
                let (bytes, _) = db.rendered.clone().unwrap_or_default();
                Planned {
                    sync: record(normalized(db.kind, &bytes)),
                    path,
                    action: Action::ToDisk(bytes),
                }
            }
            Verdict::ToDb => match (db.target, content) {
                (Err(why), _) => plain(Action::Refused(why)),
                (Ok(target), Some(content)) => {
                    let content = match db.kind {
                        ItemKind::Template => php_rtrim(content).to_owned(),
                        ItemKind::Stylesheet => content.to_owned(),
                    };
                    let sync = Some((
                        key,
                        Record { hash: content_hash(content.as_bytes()), stamp: now() },
                    ));
                    Planned { path, action: Action::ToDb(Write { target, content }), sync }
                }
                (Ok(_), None) => plain(Action::Missing),
            },
        }
    }

    /// Returns what the database holds for `item`, and how a write to it would go.
    fn db_side(&self, item: &ItemPath, board: &Board, sets: &HashMap<i32, SetTemplates>) -> DbSide {
        match item {
            ItemPath::Template { set, title, .. } => {
                let kind = ItemKind::Template;
                let Some(sid) = board.set_sid(set) else {
                    let why =
                        format!("no template set named {set:?} (create it in the Admin CP first)");
                    return DbSide { kind, rendered: None, target: Err(why) };
                };
                let templates = sets.get(&sid);
                let rendered = templates.and_then(|s| s.rendered(title));
                let target = if title.chars().count() > MAX_TITLE_CHARS {
                    Err(format!("a template title has at most {MAX_TITLE_CHARS} characters"))
                } else {
                    Ok(match templates.and_then(|s| s.own(title)) {
                        Some(own) => Target::UpdateTemplate { tid: own.tid, title: title.clone() },
                        None => Target::InsertTemplate {
                            sid,
                            title: title.clone(),
                            new_title: rendered.is_none(),
                        },
                    })
                };
                DbSide {
                    kind,
                    rendered: rendered.map(|r| (r.template.clone(), r.dateline)),
                    target,
                }
            }
            ItemPath::Stylesheet { theme, name } => {
                let kind = ItemKind::Stylesheet;
                let Some(theme_row) = board.theme_by_name(theme) else {
                    let why = format!("no theme named {theme:?} (create it in the Admin CP first)");
                    return DbSide { kind, rendered: None, target: Err(why) };
                };
                let tid = theme_row.tid;
                let resolved = board.resolved_stylesheets(tid);
                let row = resolved.get(name.as_str());
                let target = if tid == MASTER_THEME_TID {
                    Err("the master theme is read-only, as in the Admin CP; edit a child theme"
                        .to_owned())
                } else if name.chars().count() > MAX_STYLESHEET_NAME_CHARS {
                    Err(format!(
                        "a stylesheet name has at most {MAX_STYLESHEET_NAME_CHARS} characters"
                    ))
                } else {
                    Ok(match row {
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
                    })
                };
                DbSide {
                    kind,
                    rendered: row.map(|r| (r.stylesheet.clone(), r.lastmodified)),
                    target,
                }
            }
        }
    }

    /// Writes one planned row, as the Admin CP would. Returns, for a stylesheet, what the forum
    /// serves for it now.
    fn write_row(&self, write: &Write) -> Result<Option<crate::cache::Served>> {
        match &write.target {
            Target::UpdateTemplate { tid, title } => self
                .db
                .update_template(*tid, title, &write.content, &self.version_code)
                .map(|()| None),
            Target::InsertTemplate { sid, title, .. } => self
                .db
                .insert_template(*sid, title, &write.content, &self.version_code)
                .map(|_| None),
            Target::UpdateStylesheet { tid, sid, name } => {
                self.db.update_stylesheet(*sid, name, &write.content, now())?;
                self.after_stylesheet_write(*tid, *sid, name, &write.content).map(Some)
            }
            Target::InsertStylesheet { tid, name, attachedto, .. } => {
                let sid =
                    self.db.insert_stylesheet(*tid, name, attachedto, &write.content, now())?;
                let sid = u32::try_from(sid).map_err(|_| Error::Data {
                    what: format!("stylesheet {name:?} got sid {sid}, beyond MyBB's int unsigned"),
                })?;
                self.after_stylesheet_write(*tid, sid, name, &write.content).map(Some)
            }
        }
    }

    /// Returns what writing `write` (the row of the file `path`) made live on the forum, if
    /// anything: a template as soon as its row is written, a stylesheet once its cache files
    /// are in place (or `css.php` serves it).
    fn made_live(
        &self,
        path: &Path,
        write: &Write,
        served: Option<crate::cache::Served>,
    ) -> Option<crate::live::Change> {
        use crate::cache::Served;
        use crate::live::Change;
        match (&write.target, served) {
            (Target::UpdateTemplate { .. } | Target::InsertTemplate { .. }, _) => {
                let path = self.relative(path).unwrap_or_else(|| path.to_path_buf());
                Some(Change::Template { path: path.to_string_lossy().into_owned() })
            }
            (
                Target::UpdateStylesheet { tid, name, .. }
                | Target::InsertStylesheet { tid, name, .. },
                Some(Served::CacheFile { relinked }),
            ) => Some(Change::Stylesheet { tid: *tid, name: name.clone(), relinked }),
            (
                Target::UpdateStylesheet { tid, name, .. }
                | Target::InsertStylesheet { tid, name, .. },
                Some(Served::CssPhp),
            ) => Some(Change::Stylesheet { tid: *tid, name: name.clone(), relinked: true }),
            (_, Some(Served::Stale) | None) => None,
        }
    }

    /// Makes a stylesheet change live. MyBB serves stylesheets from cache files, not from the
    /// database: `cache.rs` rewrites them and the stylesheet lists, as the Admin CP does.
    fn after_stylesheet_write(
        &self,
        tid: u32,
        sid: u32,
        name: &str,
        content: &str,
    ) -> Result<crate::cache::Served> {
        let sheet = crate::cache::WrittenStylesheet { tid, sid, name, content };
        crate::cache::after_stylesheet_write(self.db, self.config, &sheet)
    }

    /// Applies `plan` as far as `flow` allows, records what was synced in `state` (saved by
    /// the caller), and reports. Row writes come first, then every file write as one atomic
    /// batch. A connection failure stops the run (the caller retries); any other failure of
    /// one row is reported as a refusal of that item.
    pub fn apply(
        &self,
        plan: Vec<Planned>,
        flow: Flow,
        state: &mut State,
        options: &ApplyOptions,
    ) -> Result<Report> {
        let mut report = Report::default();
        let mut batch = AtomicBatch::new(self.config.durable);
        batch.fail_after(options.fail_after);
        let mut staged: Vec<(PathBuf, Option<(String, Record)>)> = Vec::new();
        // The database copies of earlier conflicts that the plan came across, to be removed
        // once their item is in sync again (looking for one beside every file would cost a
        // system call per file).
        let copies: HashSet<PathBuf> = plan
            .iter()
            .filter(|p| {
                p.action == Action::Ignored
                    && p.path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(layout::is_conflict_copy)
            })
            .map(|p| p.path.clone())
            .collect();
        let resolved = |path: &Path| {
            let copy = conflict_copy_path(path);
            if copies.contains(&copy) {
                remove_conflict_copy(path, &copy);
            }
        };
        for Planned { path, action, sync } in plan {
            match action {
                Action::Ignored => {}
                Action::GoneFromDb => {
                    log::info!(
                        "{}: its row was deleted in the database; the file is kept",
                        path.display()
                    );
                }
                Action::Missing => {
                    log::debug!("{}: no file; the database keeps its row", path.display());
                    report.missing.push(path);
                }
                Action::Unstable => report.unstable.push(path),
                Action::InSync => {
                    if let Some((key, record)) = sync {
                        state.set(&key, record);
                    }
                    resolved(&path);
                    report.unchanged.push(path);
                }
                Action::Refused(why) => {
                    if why == EMPTY_FILE {
                        log::warn!("skipping empty file: {}", path.display());
                    } else {
                        log::warn!("{}: refused: {why}", path.display());
                    }
                    report.refused.push((path, why));
                }
                Action::Conflict(theirs) => {
                    let copy = conflict_copy_path(&path);
                    batch.stage(&copy, &theirs)?;
                    log::warn!(
                        "{}: conflict: changed on disk and in the database since the last sync; \
                         the database's version is in {} (resolve with --prefer disk or --prefer db)",
                        path.display(),
                        copy.display()
                    );
                    report.conflicts.push((path, copy));
                }
                Action::ToDb(write) if flow.to_db => match self.write_row(&write) {
                    Ok(served) => {
                        log::info!("{}: {}", path.display(), write.describe());
                        report.live.extend(self.made_live(&path, &write, served));
                        if let Some((key, record)) = sync {
                            state.set(&key, record);
                        }
                        resolved(&path);
                        report.written.push((path, write.describe()));
                    }
                    Err(e @ Error::Connect { .. }) => return Err(e),
                    Err(e) => {
                        let why = crate::error::chain(&e);
                        log::warn!("{}: not written: {why}", path.display());
                        report.refused.push((path, why));
                    }
                },
                Action::ToDb(_) => {
                    log::info!(
                        "{}: edited since the last sync; kept (import it, or --prefer db)",
                        path.display()
                    );
                    report.held.push((path, "edited since the last sync"));
                }
                Action::ToDisk(bytes) if flow.to_disk => {
                    if let Some(since) = options.keep_files_changed_since
                        && modified_since(&path, since)
                    {
                        log::warn!(
                            "{}: changed while the export ran; left as it is",
                            path.display()
                        );
                        report.held.push((path, "changed during the export"));
                        continue;
                    }
                    batch.stage(&path, &bytes)?;
                    staged.push((path, sync));
                }
                Action::ToDisk(_) => {
                    log::info!(
                        "{}: changed in the database since the last sync; run export to fetch it",
                        path.display()
                    );
                    report.held.push((path, "changed in the database"));
                }
            }
        }
        let committed = batch.commit();
        if let Ok(paths) = &committed {
            let committed: BTreeSet<&PathBuf> = paths.iter().collect();
            for (path, sync) in staged {
                if !committed.contains(&path) {
                    continue;
                }
                if let Some((key, record)) = sync {
                    state.set(&key, record);
                }
                resolved(&path);
                log::debug!("{}: written from the database", path.display());
                report.pulled.push(path);
            }
        }
        // Files written by a batch that failed part-way hold the database's content: the next
        // run finds them in sync and records them then.
        state.save(self.config.durable)?;
        committed?;
        Ok(report)
    }
}

/// Removes the database copy of a former conflict, once the item is in sync again.
fn remove_conflict_copy(path: &Path, copy: &Path) {
    match std::fs::remove_file(copy) {
        Ok(()) => log::info!("{}: conflict resolved; removed {}", path.display(), copy.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot remove {}: {e}", copy.display()),
    }
}

/// How far behind `now()` file times may be: they come from the kernel's coarse clock.
const CLOCK_SLACK: Duration = Duration::from_millis(20);

/// Returns true if and only if the file at `path` was modified at or after `since`.
fn modified_since(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|t| t + CLOCK_SLACK >= since)
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
    /// Per set: every template title found on disk, with its paths.
    sets: HashMap<String, HashMap<String, Vec<PathBuf>>>,
}

impl DuplicateTitles {
    fn index(&mut self, root: &Path, set: &str) -> &HashMap<String, Vec<PathBuf>> {
        self.sets.entry(set.to_owned()).or_insert_with(|| index_set(root, set))
    }

    /// Returns another path under the same set that names `title`, if there is one.
    fn other_path(&mut self, root: &Path, set: &str, title: &str, path: &Path) -> Option<PathBuf> {
        let same = |p: &PathBuf| std::path::absolute(p).ok() == std::path::absolute(path).ok();
        self.index(root, set).get(title)?.iter().find(|p| !same(p)).cloned()
    }

    /// Returns the one file naming `title` in set `set`, if exactly one does.
    fn only_path(&mut self, root: &Path, set: &str, title: &str) -> Option<PathBuf> {
        match self.index(root, set).get(title).map(Vec::as_slice) {
            Some([only]) => Some(only.clone()),
            _ => None,
        }
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

/// Returns every file under `dir`, sorted; none if it does not exist.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir)?.0)
}

/// Returns every file (sorted) and every directory (`dir` included) under `dir`; nothing if it
/// does not exist.
pub fn walk(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
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
        dirs.push(dir);
    }
    files.sort();
    Ok((files, dirs))
}

/// Returns every file of both layouts under the sync root `root`.
pub fn walk_root(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = walk_files(&root.join(TEMPLATE_SETS_DIR))?;
    files.extend(walk_files(&root.join(STYLES_DIR))?);
    Ok(files)
}

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
    let syncer = Syncer::new(db, config, prefer)?;
    let mut state = State::load(&config.sync_root)?;
    let plan = syncer.plan_paths(&files, &state)?;
    if dry_run {
        return crate::status::print_dry_run(config, &plan, Flow::IMPORT);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn h(bytes: &[u8]) -> Option<u64> {
        Some(content_hash(bytes))
    }

    #[test]
    fn only_the_side_that_changed_since_the_last_sync_wins() {
        assert_eq!(decide(Some(b"new"), Some(b"old"), h(b"old"), None, false), Verdict::ToDb);
        assert_eq!(decide(Some(b"old"), Some(b"new"), h(b"old"), None, false), Verdict::ToDisk);
        assert_eq!(decide(Some(b"a"), Some(b"b"), h(b"old"), None, false), Verdict::Conflict);
        assert_eq!(decide(Some(b"same"), Some(b"same"), h(b"old"), None, false), Verdict::InSync);
    }

    #[test]
    fn without_a_record_a_difference_is_a_conflict_not_a_guess() {
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, None, false), Verdict::Conflict);
        assert_eq!(decide(Some(b"a"), Some(b"a"), None, None, false), Verdict::InSync);
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Disk), false), Verdict::ToDb);
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Db), false), Verdict::ToDisk);
    }

    #[test]
    fn missing_sides() {
        // A deleted file keeps its row, unless the row changed or export recreates it.
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, false), Verdict::Missing);
        assert_eq!(decide(None, Some(b"d2"), h(b"d"), None, false), Verdict::ToDisk);
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, true), Verdict::ToDisk);
        assert_eq!(decide(None, Some(b"new in the Admin CP"), None, None, false), Verdict::ToDisk);
        // A new file creates its row; a file whose row was deleted is kept.
        assert_eq!(decide(Some(b"f"), None, None, None, false), Verdict::ToDb);
        assert_eq!(decide(Some(b"f"), None, h(b"f"), None, false), Verdict::GoneFromDb);
        assert_eq!(decide(Some(b"f2"), None, h(b"f"), None, false), Verdict::ToDb);
        assert_eq!(decide(None, None, None, None, false), Verdict::Nothing);
    }

    #[test]
    fn conflict_copies_sit_beside_the_file_and_are_ignored() {
        for (file, copy) in
            [("a/header.html", "a/header.db.html"), ("global.css", "global.db.css"), ("x", "x.db")]
        {
            let got = conflict_copy_path(Path::new(file));
            assert_eq!(got, Path::new(copy));
            assert!(layout::is_noise(got.file_name().unwrap().to_str().unwrap()), "{copy}");
        }
    }

    #[test]
    fn php_rtrim_trims_what_php_does() {
        assert_eq!(php_rtrim("a \t\r\n\0\x0B"), "a");
        assert_eq!(php_rtrim("a\u{a0}"), "a\u{a0}");
    }
}
