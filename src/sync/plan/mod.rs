//! Planning: the one place that decides what happens to any item.
//!
//! [`Syncer`] plans: for each item it reads the file (only once its size and time held still
//! across the read), validates it (safeguard 1, `validate.rs`), finds what MyBB renders for it
//! (`mybb/board.rs`), and compares the two with what they were at the last sync (`state.rs`,
//! `decide.rs`): only the file changed, write the row; only the row changed, write the file;
//! both, a conflict that touches neither. `apply/` then carries out what the command allows:
//! `import` writes rows, `export` writes files, `watch` both, `status` and `--dry-run` nothing.
//! Each plan keeps what it saw, the file's identity ([`Seen`]) and the row's content, so that
//! `apply/` replaces either only while it is still that (compare-and-swap on both sides).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::disk::atomic::Seen;
use crate::disk::walk::walk_files;
use crate::error::Result;
use crate::mybb::board::{Board, GLOBAL_SID, Inherited, MASTER_THEME_TID, SetTemplates};
use crate::mybb::db::{Db, ThemeForm, VersionedTemplate};
use crate::mybb::theme_file::ThemeFile;
use crate::php::text;
use crate::sync::decide::{Prefer, Verdict, decide};
use crate::sync::ignore::IgnoreFile;
use crate::sync::inspect::{Found, Inspector};
use crate::sync::layout::{
    self, GLOBAL_SET_TITLE, ItemPath, NotAnItem, STYLES_DIR, TEMPLATE_SETS_DIR,
};
use crate::sync::state::{Clock, Record, State, content_hash};
use crate::sync::validate::{self, ItemKind};

mod coverage;
mod duplicates;
mod read;
mod scope;
mod sides;
mod theme;

pub use coverage::covers_root;
use duplicates::{DuplicateTitles, index_set};
use read::{ReadProblem, known_unchanged, read_stable};
use sides::{Emptied, emptied, outcome, oversize_refusal, replaced, synced_hash};

/// About how many items a run plans before it applies them (a part ends with the set that
/// reaches it, see [`Syncer::plan_by_parts`]): a few sets of a big board at a time, and the
/// fixture's one set with its themes in one part, so a small board's export is one atomic
/// batch as before (issue 32).
pub const PART_ITEMS: usize = 4096;

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
    /// No file and nothing to write: the row was never synced to a file here, or neither side
    /// has the item.
    Missing,
    /// The file changed while it was read; read it again later.
    Unstable,
    /// File and database agree.
    InSync,
    /// Synced before, deleted in the database since, the file as last synced: the file goes
    /// (moved under `.mybb-sync/deleted/`, recoverable). `owner_gone`: its set or theme was
    /// deleted too, so the folders it leaves empty go with it. `then_write`: a new row of the
    /// same name took its place (its set or theme, or the row, deleted and made again): the
    /// file it gets once the old one is kept.
    RemoveFile { owner_gone: bool, then_write: Option<Vec<u8>> },
    /// Synced before, deleted on disk since, the row unchanged: what the Admin CP offers for
    /// the item (`status` word `deleted`).
    Delete(Deletion),
    /// Deleted on one side and edited on the other since the last sync, or a file without a
    /// row in a root without a sync state: nothing is deleted or created. The reason says which.
    DeletedConflict(&'static str),
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
            Action::ToDisk(_) | Action::RemoveFile { .. } => Some("to-disk"),
            Action::Delete(_) => Some("deleted"),
            Action::Conflict(_) | Action::DeletedConflict(_) => Some("conflict"),
            Action::Refused(_) => Some("refused"),
            _ => None,
        }
    }

    /// Returns true if and only if the file holds content the database does not have: an edit
    /// on its way to the database, one in conflict with it, or one refused. Such a file must
    /// not be replaced (revert) nor left out silently (theme export) without asking.
    pub fn is_local_edit(&self) -> bool {
        matches!(self, Action::ToDb(_) | Action::Conflict(_) | Action::Refused(_))
    }
}

/// Why an item deleted in the database is a conflict: its file was edited since.
pub const DELETED_IN_DB_EDITED_ON_DISK: &str = "deleted in the database, edited on disk";
/// Why an item deleted on disk is a conflict: its row was edited since.
pub const DELETED_ON_DISK_EDITED_IN_DB: &str = "deleted on disk, edited in the database";
/// Why a file without a row is not created in a root without a sync state.
pub const NO_STATE_NO_ROW: &str = "no row, and no complete sync state to tell a new file from one whose \
     row was deleted in the Admin CP (import --prefer disk creates it)";
/// Why a file is removed.
pub const REMOVED: &str = "deleted in the database; the file goes (a copy is kept under \
     .mybb-sync/deleted/)";
/// Why a file is replaced by a new row's content, its own kept.
pub const REPLACED: &str = "deleted and made again in the database (a new set, theme or row \
     of the same name); the old file goes (a copy is kept under .mybb-sync/deleted/) and the \
     new row's content comes";

/// What deleting a file asks of the database: what the Admin CP offers for the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Delete template row `tid` if it still holds `seen`: a set's customised copy (reverted:
    /// the file comes back with what MyBB renders then), or a template with no master (gone).
    Template { tid: u32, title: String, seen: Vec<u8> },
    /// Delete theme `tid`'s own stylesheet row `sid` if it still holds `seen`, with its cache
    /// files, and rebuild the stylesheet lists, as the Admin CP's delete does. Its pages
    /// (`attachedto`) are remembered first, so that the file saved again (a writer slower than
    /// the watcher's deletion window) brings the stylesheet back as it was attached, not
    /// linked on every page.
    Stylesheet { tid: u32, sid: u32, name: String, seen: Vec<u8>, attachedto: String },
    /// A master template, or a stylesheet the theme only inherits: nothing of the set's or
    /// theme's own to delete; the file comes back with this content.
    Nothing(Vec<u8>),
}

impl Deletion {
    /// Returns what applying the deletion does, in words.
    pub fn describe(&self) -> &'static str {
        match self {
            Deletion::Template { .. } => "its row was deleted (reverted where a master remains)",
            Deletion::Stylesheet { .. } => "its stylesheet was deleted from the theme",
            Deletion::Nothing(_) => "inherited, nothing to delete: the file comes back",
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
    /// What was at the path when it was planned: a file write replaces only that.
    pub(super) seen: Seen,
}

/// A validated row write, built only by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub(super) target: Target,
    pub(super) content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// Update template row `tid`, if it still holds `seen` (what the plan read).
    UpdateTemplate { tid: u32, title: String, seen: Vec<u8> },
    /// Insert a row into set `sid`: a copy-on-write of an inherited template, or a new title;
    /// not if a row of that title appeared in the set meanwhile.
    InsertTemplate { sid: i32, title: String, new_title: bool },
    /// Update stylesheet row `sid` of theme `tid`, if it still holds `seen`.
    UpdateStylesheet { tid: u32, sid: u32, name: String, seen: Vec<u8> },
    /// Insert a row into theme `tid`: a copy-on-write of an inherited stylesheet (with its
    /// `attachedto`), or a new name (attached to every page); not if one appeared meanwhile.
    InsertStylesheet { tid: u32, name: String, attachedto: String, new_name: bool },
    /// Write theme `tid`'s file through the Admin CP's theme forms (`mybb/theme_forms.rs`), if
    /// its rows still make `seen`; `new_sheets` are stylesheets of its folder still to be
    /// created, which the file may already attach and order.
    Theme { tid: u32, seen: Box<ThemeFile>, new_sheets: Vec<String> },
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

    /// Returns the theme and what its rows made of its file when planned, if this writes a
    /// theme file; its content is the new file (issue 28).
    pub fn theme_file(&self) -> Option<(u32, &ThemeFile)> {
        match &self.target {
            Target::Theme { tid, seen, .. } => Some((*tid, seen)),
            _ => None,
        }
    }

    /// Returns true if and only if this creates a stylesheet with no pages, which MyBB links on
    /// every page: a new file its theme file does not list (issue 28).
    pub fn linked_everywhere(&self) -> bool {
        matches!(&self.target, Target::InsertStylesheet { new_name: true, attachedto, .. }
            if attachedto.is_empty())
    }

    /// Returns true if and only if this writes a theme file (issue 28).
    pub fn is_theme(&self) -> bool {
        matches!(self.target, Target::Theme { .. })
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
            Target::Theme { .. } => "theme updated as the Admin CP's theme forms do",
        }
    }
}

/// Returns the bytes that "the same content" compares: templates right-trimmed (the Admin CP
/// trims what it saves, and 13 master templates end in whitespace), stylesheets as they are.
fn normalized(kind: ItemKind, bytes: &[u8]) -> &[u8] {
    match kind {
        ItemKind::Template => text::rtrim_bytes(bytes),
        // A theme file is compared in its canonical form (`theme.rs` makes it so first).
        ItemKind::Stylesheet | ItemKind::Theme => bytes,
    }
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
        let four_byte = match db.store_four_byte_utf8(&[
            ("templates", "template"),
            ("themestylesheets", "stylesheet"),
        ])?[..]
        {
            [templates, stylesheets] => (templates, stylesheets),
            _ => (false, false),
        };
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
        // Most paths were made from the root as given: no getcwd for them (issue 16).
        if let Ok(relative) = path.strip_prefix(&self.config.sync_root) {
            return Some(relative.to_path_buf());
        }
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
        let items: Vec<(PathBuf, ParsedPath)> = paths
            .iter()
            .map(|path| {
                let item = self.parse(path);
                if let Ok(ItemPath::Template { set, title, .. }) = &item
                    && let Some(sid) = board.set_sid(set)
                {
                    titles_by_set.entry(sid).or_default().push(title.clone());
                }
                (path.clone(), item)
            })
            .collect();
        let mut ctx = Context::new(&board, state, false);
        for (sid, titles) in titles_by_set {
            ctx.sets.insert(sid, SetTemplates::load(self.db, sid, Some(&titles))?);
        }
        // One plan per path, in order (callers pair them up); `apply` reports a refusal at one
        // path (a link above several files) once.
        let mut progress = crate::progress::Progress::new("comparing", items.len());
        let planned = items
            .into_iter()
            .map(|(path, item)| {
                progress.tick();
                self.plan_one(&mut ctx, path, item)
            })
            .collect();
        ctx.log_reads();
        Ok(planned)
    }

    /// Returns the path of every item synced before whose file is gone from the sync root:
    /// deleted on disk, for `import` to carry to the database (a walk of the tree cannot find
    /// them). A template whose file stands in another group folder is not gone.
    pub fn deleted_files(&self, state: &State) -> Result<Vec<PathBuf>> {
        let root = &self.config.sync_root;
        let mut groups = None;
        // One set's files at a time: the keys come in order, so each set's together (all the
        // sets' paths at once were about 9 MB on 30 sets, issue 32).
        let mut set_files: Option<(String, HashMap<String, Vec<PathBuf>>)> = None;
        let mut gone = Vec::new();
        for key in state.keys() {
            if state.get(key).is_none_or(|r| r.is_tombstone()) {
                continue;
            }
            let key_path = Path::new(key);
            let path = match layout::parse_any_stylesheet(key_path) {
                Some(_) => root.join(key_path),
                // A template's key has no group folder: parsed with a stand-in one.
                _ => {
                    let (Some(dir), Some(file)) = (key_path.parent(), key_path.file_name()) else {
                        continue;
                    };
                    let Ok(ItemPath::Template { set, title, .. }) =
                        layout::parse(&dir.join(layout::UNGROUPED).join(file))
                    else {
                        continue;
                    };
                    if set_files.as_ref().is_none_or(|(indexed, _)| *indexed != set) {
                        set_files = Some((set.clone(), index_set(root, &set)));
                    }
                    if set_files.as_ref().is_some_and(|(_, files)| files.contains_key(&title)) {
                        continue;
                    }
                    if groups.is_none() {
                        groups = Some(self.db.template_groups()?);
                    }
                    let group = layout::group_folder(&title, groups.as_deref().unwrap_or(&[]));
                    root.join(ItemPath::Template { set, group, title }.to_relative())
                }
            };
            if std::fs::symlink_metadata(&path).is_err() {
                gone.push(path);
            }
        }
        Ok(gone)
    }

    /// Returns the item `path` names, if it lies under the sync root.
    fn parse(&self, path: &Path) -> ParsedPath {
        match self.relative(path) {
            None => Err(NotAnItem::Invalid(format!(
                "not under the sync root {}",
                self.config.sync_root.display()
            ))),
            Some(relative) => self.parse_relative(&relative),
        }
    }

    /// Returns the item `relative` (to the sync root) names, unless `.mybb-syncignore` ignores it.
    fn parse_relative(&self, relative: &Path) -> ParsedPath {
        if self.ignore.is_ignored(relative) {
            return Err(NotAnItem::Ignored);
        }
        layout::parse(relative)
    }

    /// Returns the files in the folders of sets and themes that were synced before (the state
    /// has records under them) and no longer exist on the board: deleted in the Admin CP, so
    /// their files are to go too (issue 25).
    fn deleted_owners_files(&self, ctx: &Context<'_>) -> Result<Vec<PathBuf>> {
        let live: HashSet<PathBuf> = ctx
            .board
            .sets
            .iter()
            .map(|(_, title)| ItemPath::set_dir(title))
            .chain(std::iter::once(ItemPath::set_dir(GLOBAL_SET_TITLE)))
            .chain(ctx.board.themes.iter().map(|t| ItemPath::theme_dir(&t.name)))
            .collect();
        let owners: BTreeSet<PathBuf> = ctx
            .state
            .keys()
            .filter_map(|key| {
                let mut parts = Path::new(key).components();
                Some(Path::new(parts.next()?.as_os_str()).join(parts.next()?.as_os_str()))
            })
            .filter(|dir| !live.contains(dir))
            .collect();
        let mut files = Vec::new();
        for dir in owners {
            files.extend(walk_files(&self.config.sync_root.join(dir))?);
        }
        Ok(files)
    }

    /// Plans one item: reads its file, validates it, and decides against the database.
    fn plan_one(&self, ctx: &mut Context<'_>, path: PathBuf, item: ParsedPath) -> Planned {
        // Links and unreadable folders first: refused at their own path, whatever lies below.
        let found = match self.relative(&path) {
            Some(relative) => self.inspector.look(&self.config.sync_root, &relative),
            None => Found::Read,
        };
        if let Found::Refused(at, why) = found {
            return Planned {
                path: at,
                action: Action::Refused(why),
                sync: None,
                seen: Seen::Absent,
            };
        }
        let plain = |action| Planned { path: path.clone(), action, sync: None, seen: Seen::Absent };
        let item = match item {
            Ok(item) => item,
            Err(NotAnItem::Invalid(why)) if why == layout::NOT_A_STYLESHEET => {
                match self.served_stylesheet(ctx.board, &path) {
                    Some(item) => item,
                    None => return plain(Action::Refused(why)),
                }
            }
            Err(NotAnItem::Ignored) => return plain(Action::Ignored),
            Err(NotAnItem::Invalid(why)) => return plain(Action::Refused(why)),
        };
        if let ItemPath::Template { set, title, .. } = &item
            && let Some(other) =
                ctx.duplicates.other_path(&self.config.sync_root, set, title, &path)
        {
            return plain(Action::Refused(format!(
                "the same template is also at {}; keep one of them",
                self.config.shown(&other)
            )));
        }
        if let Some(why) = oversize_refusal(ctx.board, &item) {
            return plain(Action::Refused(why));
        }
        if let ItemPath::Theme { .. } = &item
            && ctx.forms.is_none()
        {
            match self.db.theme_forms() {
                Ok(forms) => ctx.forms = Some(forms),
                Err(e) => return plain(Action::Refused(crate::error::chain(&e))),
            }
        }
        let mut db = self.db_side(&item, ctx);
        if let Ok(Target::InsertStylesheet { attachedto, new_name, .. }) = &mut db.target
            && let ItemPath::Stylesheet { theme, name } = &item
        {
            let remembered = crate::sync::recovery::remembered_attachments(self.config, &path);
            let listed = || theme::pages_from_theme_file(&self.config.sync_root, theme, name);
            match remembered {
                Some(remembered) => *attachedto = remembered,
                None if *new_name => *attachedto = listed().unwrap_or_default(),
                None => {}
            }
        }
        let db_hash = db.rendered.as_ref().map(|(b, _)| content_hash(normalized(db.kind, b)));
        let key = item.key();
        // Found absent: not opened again only to fail (an export into an empty root, issue 16).
        if !matches!(found, Found::Absent)
            && let Some((sync, seen)) = known_unchanged(ctx.state, &key, &db, db_hash, &path)
        {
            ctx.files_known += 1;
            return Planned { path, action: Action::InSync, sync: Some(sync), seen };
        }
        let read = match found {
            Found::Absent => Ok((None, Seen::Absent)),
            _ => {
                ctx.files_read += 1;
                read_stable(&path)
            }
        };
        let (mut file, seen) = match read {
            Ok(file) => file,
            Err(ReadProblem::Unstable) => return plain(Action::Unstable),
            Err(ReadProblem::Failed(why)) => return plain(Action::Refused(why)),
        };
        let plain = |action| Planned { path: path.clone(), action, sync: None, seen };
        // A theme file is compared as what it says: read into its canonical form first.
        let mut theme_file = None;
        if db.kind == ItemKind::Theme
            && let Some(bytes) = file.as_deref()
        {
            match theme::canonical(bytes) {
                Ok((canonical, parsed)) => {
                    file = Some(canonical);
                    theme_file = Some(parsed);
                }
                Err(why) => return plain(Action::Refused(why)),
            }
        }
        let file_hash = file.as_deref().map(|b| content_hash(normalized(db.kind, b)));
        // A tombstone stands only while the row is gone: a row of that name made again in the
        // Admin CP is a new item.
        let record = ctx.state.get(&key).filter(|r| !(r.is_tombstone() && db_hash.is_some()));
        let synced = synced_hash(record, file_hash, db_hash);
        // A record of another row (its set or theme, or the row itself, deleted and made again
        // under the same name) is no base of this one: the row is new to this file.
        let stale = db_hash.is_some()
            && record
                .and_then(|r| r.identity)
                .zip(db.identity)
                .is_some_and(|(then, now)| !then.admits(now));
        let synced = match stale {
            // The file as the old row was last synced: the old item was deleted, so its file
            // goes (kept under .mybb-sync/deleted/), and the new row's content comes. Even with
            // `--prefer disk`: an unedited file is no edit of the disk's to win, and the old
            // item's content is never written into the new one unasked (an edit is a conflict,
            // which `--prefer disk` does settle by writing it).
            true if synced.is_some() && synced == file_hash && file_hash != db_hash => {
                return Planned { path, seen, ..replaced(db, db_hash, key) };
            }
            true => None,
            false => synced,
        };
        let emptied = file.as_deref().and_then(|bytes| emptied(bytes, &db, self.prefer));
        let content = match (emptied, file.as_deref()) {
            // A blank file over a blank row (the Admin CP saves empty templates): both sides
            // agree, though the file may never reach the database.
            (Some(Emptied::OverBlankRow), _) => {
                let stamp = db.rendered.as_ref().map_or(0, |(_, stamp)| *stamp);
                let hash = file_hash.unwrap_or_default();
                let record =
                    Record { hash, stamp, pending: None, identity: db.identity, stat: None };
                let sync = Some((key, record));
                return Planned { path, action: Action::InSync, sync, seen };
            }
            // `--prefer db` refills an emptied file from its row (it never goes the other way:
            // the row is not blank, and the database side wins).
            (Some(Emptied::RefillFromDb), _) => Some(""),
            (None, None) => None,
            (None, Some(bytes)) => match self.checked(db.kind, bytes, synced) {
                Ok(content) => Some(content),
                Err(why) => return plain(Action::Refused(why)),
            },
        };
        let file_norm = content.map(|c| normalized(db.kind, c.as_bytes()));
        let db_norm = db.rendered.as_ref().map(|(bytes, _)| normalized(db.kind, bytes));
        let stateless = !ctx.state.trusted;
        let verdict =
            decide(file_norm, db_norm, synced, self.prefer, ctx.recreate_missing, stateless);
        let owner_gone = self.owner_gone(&item, ctx.board);
        // Gone from both sides since it was synced: its record becomes a tombstone. Left as it
        // was, a row made again in the Admin CP with the content last synced (a theme file
        // imported again) would read as "deleted on disk, row unchanged", and import would
        // delete it; a tombstone stands aside for any row (see `record` above).
        let bury = (verdict == Verdict::Nothing
            && ctx.state.get(&key).is_some_and(|r| !r.is_tombstone()))
        .then(|| key.clone());
        let kind = db.kind;
        let mut planned = outcome(verdict, db, db_hash, content, key);
        // A file found in sync, settled before this plan began: recorded by its size and times,
        // so the next comparison need not read it while they hold (issue 32).
        if planned.action == Action::InSync
            && kind != ItemKind::Theme
            && let Seen::File(id) = seen
            && ctx.clock.settled(&id)
            && let Some((_, record)) = &mut planned.sync
        {
            record.stat = Some(id.digest());
        }
        if let Some(key) = bury {
            planned.sync = Some((key, Record::tombstone()));
        }
        if let Action::RemoveFile { owner_gone: gone, .. } = &mut planned.action {
            *gone = owner_gone;
        }
        if let Some(parsed) = &theme_file {
            self.check_theme_write(ctx, &mut planned, parsed);
        }
        planned.path = path;
        planned.seen = seen;
        planned
    }

    /// Returns the file's content if it may reach the database, or why not: validation
    /// (safeguard 1), then the table's character set. A file as it was at the last sync passed
    /// then; it only needs decoding (MyBB's template check is most of the cost of comparing a
    /// whole tree).
    fn checked<'b>(
        &self,
        kind: ItemKind,
        bytes: &'b [u8],
        synced: Option<u64>,
    ) -> std::result::Result<&'b str, String> {
        let as_synced = synced == Some(content_hash(normalized(kind, bytes)));
        let content = match as_synced.then(|| std::str::from_utf8(bytes).ok()).flatten() {
            Some(content) => content,
            None => validate::validate(kind, bytes).map_err(|refusal| refusal.to_string())?,
        };
        let four_byte_ok = match kind {
            ItemKind::Template => self.four_byte.0,
            // Theme names and properties: taken to be stored as the stylesheets are.
            ItemKind::Stylesheet | ItemKind::Theme => self.four_byte.1,
        };
        if !four_byte_ok
            && let Some((offset, c)) = content.char_indices().find(|(_, c)| c.len_utf8() == 4)
        {
            return Err(format!(
                "{c} (U+{:X}) at byte {offset}: this board stores text as MySQL's 3-byte utf8 (in its \
                 tables, or config.php's encoding), which would store it as ?",
                u32::from(c)
            ));
        }
        Ok(content)
    }

    /// Returns the stylesheet at `path` if its name is one the Admin CP's forms would strip but
    /// the theme already has a row of (from a theme file): MyBB serves it, so it is synced as
    /// any other. A new file of such a name stays refused.
    fn served_stylesheet(&self, board: &Board, path: &Path) -> Option<ItemPath> {
        let item = layout::parse_any_stylesheet(&self.relative(path)?)?;
        let ItemPath::Stylesheet { theme, name } = &item else { return None };
        let tid = board.theme_by_name(theme)?.tid;
        board.resolved_stylesheets(tid).contains_key(name.as_str()).then_some(item)
    }

    /// Returns true if and only if the set or theme of `item` no longer exists on `board`.
    fn owner_gone(&self, item: &ItemPath, board: &Board) -> bool {
        match item {
            ItemPath::Template { set, .. } => board.set_sid(set).is_none(),
            ItemPath::Stylesheet { theme, .. } | ItemPath::Theme { theme } => {
                board.theme_by_name(theme).is_none()
            }
        }
    }
}

/// An item path as parsed, or why it is not one.
type ParsedPath = std::result::Result<ItemPath, NotAnItem>;

/// What planning one run shares between its items.
struct Context<'p> {
    board: &'p Board,
    /// The templates of each set involved, by sid.
    sets: HashMap<i32, SetTemplates>,
    duplicates: DuplicateTitles,
    state: &'p State,
    /// Export: write a file whose row exists even if the file was deleted.
    recreate_missing: bool,
    /// Every master and global template row, where the caller had just read them: the rows
    /// every set inherits are built from them, once.
    read: Option<Vec<VersionedTemplate>>,
    /// Every theme's Edit Theme fields, read for the first theme file planned.
    forms: Option<Vec<(u32, ThemeForm)>>,
    /// The rows every set inherits, once one set needed them.
    inherited: Option<Inherited>,
    /// The filesystem's clock when this plan began: a file modified before it may be recorded
    /// by its size and times, and known unchanged by them next time ([`read::known_unchanged`]).
    clock: Clock,
    /// How many files were read, and how many known unchanged without reading (for the log).
    files_read: usize,
    files_known: usize,
}

impl<'p> Context<'p> {
    fn new(board: &'p Board, state: &'p State, recreate_missing: bool) -> Context<'p> {
        Context {
            board,
            sets: HashMap::new(),
            duplicates: DuplicateTitles::default(),
            state,
            recreate_missing,
            read: None,
            forms: None,
            inherited: None,
            clock: state.clock(),
            files_read: 0,
            files_known: 0,
        }
    }

    /// Logs how many files this plan read and how many it knew unchanged without reading.
    fn log_reads(&self) {
        if self.files_read + self.files_known > 0 {
            log::debug!(
                "compared files: {} read, {} known unchanged by their size and times (not read)",
                self.files_read,
                self.files_known
            );
        }
    }

    /// Returns set `sid`'s templates: its own rows from the database, with the rows every set
    /// inherits, read once (from the rows the caller read, where it did) and shared.
    fn set_templates(&mut self, db: &Db, sid: i32) -> Result<SetTemplates> {
        let inherited = match &self.inherited {
            Some(inherited) => Arc::clone(inherited),
            None => {
                let inherited = match self.read.take() {
                    Some(rows) => SetTemplates::inherited_from_versioned(rows),
                    None => SetTemplates::load_inherited(db)?,
                };
                self.inherited = Some(Arc::clone(&inherited));
                inherited
            }
        };
        SetTemplates::load_own(db, sid, &inherited)
    }
}

/// Returns true if and only if `planned` should be kept: refusals at one path (a link or an
/// unreadable folder refuses every item below it) are reported once.
fn once_per_refused_path(refused: &mut BTreeSet<PathBuf>, planned: &Planned) -> bool {
    !matches!(planned.action, Action::Refused(_)) || refused.insert(planned.path.clone())
}

/// Returns what is in the folders of both layouts under the sync root `root`: each set's and
/// theme's folder, and anything else there (a stray file, a link), each to be walked with
/// `walk_files` on its own; a layout folder that cannot be listed is returned itself.
pub fn owner_folders(root: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for layout in [TEMPLATE_SETS_DIR, STYLES_DIR] {
        let dir = root.join(layout);
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                entries.sort();
                folders.extend(entries);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Walked as it is: `walk_files` returns it, and the planner reports why.
            Err(_) => folders.push(dir),
        }
    }
    Ok(folders)
}

/// Returns every file of both layouts under the sync root `root`.
pub fn walk_root(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = walk_files(&root.join(TEMPLATE_SETS_DIR))?;
    files.extend(walk_files(&root.join(STYLES_DIR))?);
    Ok(files)
}
