//! Planning: the one place that decides what happens to any item.
//!
//! [`Syncer`] plans: for each item it reads the file (only once its size and time held still
//! across the read), validates it (safeguard 1, `validate.rs`), finds what MyBB renders for it
//! (`mybb/board.rs`), and compares the two with what they were at the last sync (`state.rs`,
//! `decide.rs`): only the file changed, write the row; only the row changed, write the file;
//! both, a conflict that touches neither. `apply.rs` then carries out what the command allows:
//! `import` writes rows, `export` writes files, `watch` both, `status` and `--dry-run` nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::disk::walk::walk_files;
use crate::error::Result;
use crate::mybb::board::{Board, GLOBAL_SID, MASTER_THEME_TID, SetTemplates};
use crate::mybb::db::{Db, now};
use crate::php::text;
use crate::sync::decide::{Prefer, Verdict, decide};
use crate::sync::ignore::IgnoreFile;
use crate::sync::inspect::Inspector;
use crate::sync::layout::{
    self, GLOBAL_SET_TITLE, ItemPath, NotAnItem, STYLES_DIR, TEMPLATE_SETS_DIR,
};
use crate::sync::state::{Record, State, content_hash};
use crate::sync::validate::{self, ItemKind};

/// MyBB's `templates.title` is varchar(120).
const MAX_TITLE_CHARS: usize = 120;
/// MyBB's `themestylesheets.name` is varchar(30).
const MAX_STYLESHEET_NAME_CHARS: usize = 30;

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
    pub(super) sync: Option<(String, Record)>,
}

/// A validated row write, built only by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub(super) target: Target,
    pub(super) content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
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
    /// Returns the validated content the write would store (a template right-trimmed as the
    /// Admin CP saves it). For `theme export --from-files`.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// Returns the template title this write stores, or None for a stylesheet.
    pub fn template_title(&self) -> Option<&str> {
        match &self.target {
            Target::UpdateTemplate { title, .. } | Target::InsertTemplate { title, .. } => {
                Some(title)
            }
            _ => None,
        }
    }

    /// Returns the stylesheet name this write stores, or None for a template.
    pub fn stylesheet_name(&self) -> Option<&str> {
        match &self.target {
            Target::UpdateStylesheet { name, .. } | Target::InsertStylesheet { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

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

/// Returns the bytes that "the same content" compares: templates right-trimmed (the Admin CP
/// trims what it saves, and 13 master templates end in whitespace), stylesheets as they are.
fn normalized(kind: ItemKind, bytes: &[u8]) -> &[u8] {
    match kind {
        ItemKind::Template => text::rtrim_bytes(bytes),
        ItemKind::Stylesheet => bytes,
    }
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
    pub(super) db: &'a Db,
    pub(super) config: &'a Config,
    pub(super) version_code: String,
    prefer: Option<Prefer>,
    /// Whether the template and stylesheet columns can hold 4-byte UTF-8 (not on `utf8` boards).
    four_byte: (bool, bool),
    /// The sync root's `.mybb-syncignore`.
    ignore: IgnoreFile,
    /// Links and unreadable folders found on the way to each path (`inspect.rs`).
    inspector: Inspector,
}

impl<'a> Syncer<'a> {
    /// Returns a syncer for the database `db` and the sync root of `config`.
    pub fn new(db: &'a Db, config: &'a Config, prefer: Option<Prefer>) -> Result<Syncer<'a>> {
        let four_byte = (
            db.stores_four_byte_utf8("templates", "template")?,
            db.stores_four_byte_utf8("themestylesheets", "stylesheet")?,
        );
        let ignore = IgnoreFile::load(&config.sync_root)?;
        Ok(Syncer {
            db,
            config,
            version_code: db.version_code()?,
            prefer,
            four_byte,
            ignore,
            inspector: Inspector::default(),
        })
    }

    /// Returns the path of `path` relative to the sync root, if it lies under it.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let root = std::path::absolute(&self.config.sync_root).ok()?;
        let path = std::path::absolute(path).ok()?;
        path.strip_prefix(&root).ok().map(Path::to_path_buf)
    }

    /// Returns the item `relative` (to the sync root) names, unless `.mybb-syncignore` ignores it.
    fn parse(&self, relative: &Path) -> std::result::Result<ItemPath, NotAnItem> {
        if self.ignore.is_ignored(relative) {
            return Err(NotAnItem::Ignored);
        }
        layout::parse(relative)
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
                    Some(relative) => self.parse(&relative),
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
        // One plan per path, in order (callers pair them up); `apply` reports a refusal at one
        // path (a link above several files) once.
        let mut progress = crate::progress::Progress::new("comparing", items.len());
        Ok(items
            .into_iter()
            .map(|(path, item)| {
                progress.tick();
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
        // Two sets (or themes) of one name would share one folder: the first is synced there,
        // the other reported, never silently left out.
        let mut same_name = Vec::new();
        let mut set_titles = HashMap::new();
        for (sid, title) in &scope.sets {
            if let Some(first) = set_titles.insert(title, *sid) {
                set_titles.insert(title, first);
                same_name.push(shared_name(
                    root.join(ItemPath::set_dir(title)),
                    "template set",
                    title,
                    format!("sid {first}"),
                    format!("sid {sid}"),
                ));
                continue;
            }
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
        let mut theme_names = HashMap::new();
        for (tid, name) in &scope.themes {
            if let Some(first) = theme_names.insert(name, *tid) {
                theme_names.insert(name, first);
                let dir = root.join(ItemPath::theme_dir(name));
                same_name.push(shared_name(
                    dir,
                    "theme",
                    name,
                    format!("tid {first}"),
                    format!("tid {tid}"),
                ));
                continue;
            }
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
        let mut refused = BTreeSet::new();
        let mut planned = same_name;
        let unique = candidates.iter().collect::<std::collections::HashSet<_>>().len();
        let mut progress = crate::progress::Progress::new("comparing", unique);
        for path in candidates {
            if !seen.insert(path.clone()) {
                continue;
            }
            progress.tick();
            let item = match self.relative(&path) {
                Some(relative) => self.parse(&relative),
                None => Err(NotAnItem::Ignored),
            };
            if let Ok(ItemPath::Template { set, .. }) = &item
                && let Some(sid) = board.set_sid(set)
                && !sets.contains_key(&sid)
            {
                sets.insert(sid, SetTemplates::load(self.db, sid, None)?);
            }
            let one =
                self.plan_one(path, item, board, &sets, &mut duplicates, state, recreate_missing);
            if once_per_refused_path(&mut refused, &one) {
                planned.push(one);
            }
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
        // Links and unreadable folders first: refused at their own path, whatever lies below.
        if let Some(relative) = self.relative(&path)
            && let Some((at, why)) = self.inspector.refusal(&self.config.sync_root, &relative)
        {
            return Planned { path: at, action: Action::Refused(why), sync: None };
        }
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
                self.config.shown(&other)
            )));
        }
        let db = self.db_side(&item, board, sets);
        let file = match read_stable(&path) {
            Ok(file) => file,
            Err(ReadProblem::Unstable) => return plain(Action::Unstable),
            Err(ReadProblem::Failed(why)) => return plain(Action::Refused(why)),
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
                Err(refusal) => match emptied(&refusal, &db, self.prefer) {
                    // A blank file over a blank row (the Admin CP saves empty templates):
                    // both sides agree, though the file may never reach the database.
                    Some(Emptied::OverBlankRow) => {
                        let sync = Some((
                            key,
                            Record {
                                hash: content_hash(normalized(db.kind, bytes)),
                                stamp: db.rendered.as_ref().map_or(0, |(_, stamp)| *stamp),
                            },
                        ));
                        return Planned { path, action: Action::InSync, sync };
                    }
                    // `--prefer db` refills an emptied file from its row (it never goes the
                    // other way: the row is not blank, and the database side wins).
                    Some(Emptied::RefillFromDb) => Some(""),
                    None => return plain(Action::Refused(refusal.to_string())),
                },
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
                "{c} (U+{:X}) at byte {offset}: this board stores text as MySQL's 3-byte utf8 (in its \
                 tables, or config.php's encoding), which would store it as ?",
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
                        ItemKind::Template => text::rtrim(content).to_owned(),
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
                // Only a new title can clash (and looking costs a pass over the set).
                let other_case = rendered
                    .is_none()
                    .then(|| templates.and_then(|s| s.other_case(title)))
                    .flatten();
                let target = if title.chars().count() > MAX_TITLE_CHARS {
                    Err(format!("a template title has at most {MAX_TITLE_CHARS} characters"))
                } else if let (None, Some(other)) = (rendered, other_case) {
                    // MySQL's collation takes them for one title: MyBB would go on rendering
                    // the other, and the Admin CP refuses such a title as existing.
                    Err(format!(
                        "{title:?} differs only in case from the template {other:?} of this set, \
                         which MySQL and MyBB take for the same title; edit {other}.html instead"
                    ))
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
}

/// What an empty or blank file means, where it is not simply refused.
enum Emptied {
    /// The row is blank too: in sync.
    OverBlankRow,
    /// `--prefer db` and the row has content: the file is rewritten from it.
    RefillFromDb,
}

/// Returns what the file refused for `refusal` means instead, if it was refused for being
/// empty or blank and the database side says more (see [`Emptied`]).
fn emptied(refusal: &validate::Refusal, db: &DbSide, prefer: Option<Prefer>) -> Option<Emptied> {
    if !matches!(refusal, validate::Refusal::Empty | validate::Refusal::Blank) {
        return None;
    }
    let (row, _) = db.rendered.as_ref()?;
    if row.iter().all(|&b| text::is_php_trim_byte(b)) {
        Some(Emptied::OverBlankRow)
    } else if prefer == Some(Prefer::Db) {
        Some(Emptied::RefillFromDb)
    } else {
        None
    }
}

/// Why a file could not be read.
enum ReadProblem {
    /// The file changed while it was read.
    Unstable,
    /// Reading failed, for this reason (never taken for a missing or unchanged file).
    Failed(String),
}

/// Returns the file's bytes, None if it does not exist, [`ReadProblem::Unstable`] if its size
/// or modification time changed during the read (a writer was still at work), or
/// [`ReadProblem::Failed`] if it cannot be read: a link (opened without following it, so a
/// link planted after the planner looked is refused too), not a regular file, or a read error.
fn read_stable(path: &Path) -> std::result::Result<Option<Vec<u8>>, ReadProblem> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed = |e: std::io::Error| ReadProblem::Failed(format!("cannot read it: {e}"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadProblem::Failed(crate::sync::inspect::LINK.to_owned()));
        }
        Err(e) => return Err(failed(e)),
    };
    let stamp = |file: &std::fs::File| -> std::result::Result<(u64, SystemTime), ReadProblem> {
        let meta = file.metadata().map_err(failed)?;
        if !meta.is_file() {
            return Err(ReadProblem::Failed("not a regular file; it is never read".to_owned()));
        }
        Ok((meta.len(), meta.modified().map_err(failed)?))
    };
    let before = stamp(&file)?;
    let mut bytes = Vec::with_capacity(usize::try_from(before.0).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(failed)?;
    let after = stamp(&file)?;
    // Replaced by a rename meanwhile, or removed: the name now holds another file, or none.
    let now = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.modified().ok().map(|t| (meta.len(), t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    if after == before && after.0 == bytes.len() as u64 && now == Some(after) {
        Ok(Some(bytes))
    } else {
        Err(ReadProblem::Unstable)
    }
}

/// Returns the refusal of the second of two sets or themes named `name` (`first` and
/// `second`, such as "sid 1"), which would share the folder `dir`.
fn shared_name(dir: PathBuf, kind: &str, name: &str, first: String, second: String) -> Planned {
    let why = format!(
        "two {kind}s are named {name:?} ({first} and {second}); this folder holds {first}'s, \
         and {second} is not synced: rename one of them in the Admin CP"
    );
    Planned { path: dir, action: Action::Refused(why), sync: None }
}

/// Returns true if and only if `planned` should be kept: refusals at one path (a link or an
/// unreadable folder refuses every item below it) are reported once.
fn once_per_refused_path(refused: &mut BTreeSet<PathBuf>, planned: &Planned) -> bool {
    !matches!(planned.action, Action::Refused(_)) || refused.insert(planned.path.clone())
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

/// Returns every file of both layouts under the sync root `root`.
pub fn walk_root(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = walk_files(&root.join(TEMPLATE_SETS_DIR))?;
    files.extend(walk_files(&root.join(STYLES_DIR))?);
    Ok(files)
}
