//! Planning a whole scope (every set and theme, or those named): the paths each covers, and
//! the plan, at once for the commands that show it, or part by part for those that apply it,
//! so a board of many sets is never held whole (issue 32).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::disk::walk::walk_files;
use crate::error::Result;
use crate::mybb::board::{Board, Inherited};
use crate::mybb::db::VersionedTemplate;
use crate::sync::layout::{self, ItemPath, NotAnItem};
use crate::sync::state::State;

use super::duplicates::shared_name;
use super::{Context, Planned, Scope, Syncer, once_per_refused_path, walk_root};

impl Syncer<'_> {
    /// Plans every item of `scope` on `board` (as just loaded): each rendered template and
    /// stylesheet, with or without a file, and each file in the scope's folders. `read` is
    /// every master and global template row, where the caller has just read them (the
    /// baseline's refresh does): the rows every set inherits are then taken from it rather than
    /// read again. The whole plan at once: for `status` and the commands that show it; a run
    /// that applies it goes part by part ([`Syncer::plan_by_parts`]).
    pub fn plan_scope(
        &self,
        board: &Board,
        scope: &Scope,
        state: &State,
        recreate_missing: bool,
        read: Option<Vec<VersionedTemplate>>,
    ) -> Result<Vec<Planned>> {
        let (scope, mut planned) = one_folder_each(&self.config.sync_root, scope);
        let mut carry = Carry { inherited: None, read, refused: BTreeSet::new() };
        let units = units_of(&scope);
        planned.extend(self.plan_units(board, state, recreate_missing, &mut carry, &units)?);
        Ok(planned)
    }

    /// Plans `scope` as [`Syncer::plan_scope`] does, but hands the plan to `each` in parts of
    /// about `part_items` items (a part ends after the set that reaches it), with the state to
    /// apply it to: a board of many sets is never held whole, nor its plan (issue 32). Each
    /// set's rows are read when its part is planned, after the parts before it were applied.
    /// `each` is called at least once, last with what remains (maybe nothing).
    #[allow(clippy::too_many_arguments)]
    pub fn plan_by_parts(
        &self,
        board: &Board,
        scope: &Scope,
        state: &mut State,
        recreate_missing: bool,
        read: Option<Vec<VersionedTemplate>>,
        part_items: usize,
        mut each: impl FnMut(Vec<Planned>, &mut State) -> Result<()>,
    ) -> Result<()> {
        let (scope, mut part) = one_folder_each(&self.config.sync_root, scope);
        let mut carry = Carry { inherited: None, read, refused: BTreeSet::new() };
        let mut parts = 0;
        for unit in units_of(&scope) {
            let unit = std::slice::from_ref(&unit);
            part.extend(self.plan_units(board, state, recreate_missing, &mut carry, unit)?);
            if part.len() >= part_items {
                parts += 1;
                log::debug!("planned part {parts} ({} items); applying it", part.len());
                each(std::mem::take(&mut part), state)?;
            }
        }
        log::debug!("planned part {} ({} items); applying it", parts + 1, part.len());
        each(part, state)
    }

    /// Plans every item of `units`: each rendered template and stylesheet, with or without a
    /// file, and each file in their folders, each path once.
    fn plan_units(
        &self,
        board: &Board,
        state: &State,
        recreate_missing: bool,
        carry: &mut Carry,
        units: &[Unit<'_>],
    ) -> Result<Vec<Planned>> {
        let mut ctx = Context::new(board, state, recreate_missing);
        ctx.inherited = carry.inherited.take();
        ctx.read = carry.read.take();
        let mut candidates = Vec::new();
        for unit in units {
            candidates.extend(self.candidates(&mut ctx, unit)?);
        }
        // Each path once, in order: the rendered items' paths come first, and a file the walk
        // found again is one of them.
        let mut seen = HashSet::with_capacity(candidates.len());
        candidates.retain(|path| seen.insert(path.clone()));
        drop(seen);
        let mut planned = Vec::with_capacity(candidates.len());
        let mut progress = crate::progress::Progress::new("comparing", candidates.len());
        for path in candidates {
            progress.tick();
            let item = match self.relative(&path) {
                Some(relative) => self.parse_relative(&relative),
                None => Err(NotAnItem::Ignored),
            };
            if let Ok(ItemPath::Template { set, .. }) = &item
                && let Some(sid) = board.set_sid(set)
                && !ctx.sets.contains_key(&sid)
            {
                let set = ctx.set_templates(self.db, sid)?;
                ctx.sets.insert(sid, set);
            }
            let one = self.plan_one(&mut ctx, path, item);
            if once_per_refused_path(&mut carry.refused, &one) {
                planned.push(one);
            }
        }
        ctx.log_reads();
        carry.inherited = ctx.inherited.take();
        carry.read = ctx.read.take();
        Ok(planned)
    }

    /// Returns every path `unit` covers: each item's file, whether or not it exists, and each
    /// file already there (loading a set's templates into `ctx`). Paths round-trip through the
    /// layout, so each is parsed back by the caller.
    fn candidates(&self, ctx: &mut Context<'_>, unit: &Unit<'_>) -> Result<Vec<PathBuf>> {
        let root = &self.config.sync_root;
        let mut candidates: Vec<PathBuf> = Vec::new();
        match unit {
            Unit::Set(sid, title) => {
                let set = ctx.set_templates(self.db, *sid)?;
                for (template_title, _) in set.all() {
                    // A file already standing in another group folder is the item's file.
                    let path = ctx
                        .duplicates
                        .only_path(root, title, template_title)
                        .unwrap_or_else(|| {
                            let group = layout::group_folder(template_title, &ctx.board.groups);
                            let item = ItemPath::Template {
                                set: (*title).to_owned(),
                                group,
                                title: template_title.to_owned(),
                            };
                            root.join(item.to_relative())
                        });
                    candidates.push(path);
                }
                ctx.sets.insert(*sid, set);
                candidates.extend(walk_files(&root.join(ItemPath::set_dir(title)))?);
            }
            Unit::Theme(tid, name) => {
                for sheet in ctx.board.resolved_stylesheets(*tid).keys() {
                    let item = ItemPath::Stylesheet {
                        theme: (*name).to_owned(),
                        name: (*sheet).to_owned(),
                    };
                    candidates.push(root.join(item.to_relative()));
                }
                // The theme file after the stylesheet files (see `apply`), whether or not it
                // exists.
                let theme_file =
                    root.join(ItemPath::Theme { theme: (*name).to_owned() }.to_relative());
                let files = walk_files(&root.join(ItemPath::theme_dir(name)))?;
                candidates.extend(files.into_iter().filter(|f| *f != theme_file));
                candidates.push(theme_file);
            }
            Unit::EveryOtherFile(planned_dirs) => {
                // Every file under the root but those of the folders planned already.
                let dirs: Vec<PathBuf> = planned_dirs.iter().map(|dir| root.join(dir)).collect();
                let mut files = walk_root(root)?;
                files.retain(|file| !dirs.iter().any(|dir| file.starts_with(dir)));
                candidates.extend(files);
            }
            Unit::DeletedOwners => candidates.extend(self.deleted_owners_files(ctx)?),
        }
        Ok(candidates)
    }
}

/// What planning part by part carries from one part to the next.
struct Carry {
    inherited: Option<Inherited>,
    read: Option<Vec<VersionedTemplate>>,
    /// Paths refused already (see [`once_per_refused_path`]).
    refused: BTreeSet<PathBuf>,
}

/// One piece of a scope, planned together.
enum Unit<'s> {
    /// A template set, `(sid, title)`.
    Set(i32, &'s str),
    /// A theme, `(tid, name)`.
    Theme(u32, &'s str),
    /// Every file under the root outside these folders (the scope's, planned already).
    EveryOtherFile(Vec<PathBuf>),
    /// The files of sets and themes deleted from the board (see `deleted_owners_files`).
    DeletedOwners,
}

/// Returns the units of `scope`, in the order they are planned: sets, themes, then the rest.
fn units_of(scope: &Scope) -> Vec<Unit<'_>> {
    let mut units: Vec<Unit<'_>> =
        scope.sets.iter().map(|(sid, title)| Unit::Set(*sid, title)).collect();
    units.extend(scope.themes.iter().map(|(tid, name)| Unit::Theme(*tid, name)));
    units.push(match scope.every_file {
        true => Unit::EveryOtherFile(
            scope
                .sets
                .iter()
                .map(|(_, title)| ItemPath::set_dir(title))
                .chain(scope.themes.iter().map(|(_, name)| ItemPath::theme_dir(name)))
                .collect(),
        ),
        false => Unit::DeletedOwners,
    });
    units
}

/// Returns `scope` with one set or theme per folder, and the refusals of those that share a
/// name with an earlier one: two would share one folder, so the first is synced there and the
/// other reported, never silently left out.
fn one_folder_each(root: &Path, scope: &Scope) -> (Scope, Vec<Planned>) {
    let mut same_name = Vec::new();
    let mut set_titles: HashMap<&str, i32> = HashMap::new();
    let mut sets = Vec::new();
    for (sid, title) in &scope.sets {
        match set_titles.get(title.as_str()) {
            Some(first) => {
                let dir = root.join(ItemPath::set_dir(title));
                let (first, second) = (format!("sid {first}"), format!("sid {sid}"));
                same_name.push(shared_name(dir, "template set", title, first, second));
            }
            None => {
                set_titles.insert(title, *sid);
                sets.push((*sid, title.clone()));
            }
        }
    }
    let mut theme_names: HashMap<&str, u32> = HashMap::new();
    let mut themes = Vec::new();
    for (tid, name) in &scope.themes {
        match theme_names.get(name.as_str()) {
            Some(first) => {
                let dir = root.join(ItemPath::theme_dir(name));
                let (first, second) = (format!("tid {first}"), format!("tid {tid}"));
                same_name.push(shared_name(dir, "theme", name, first, second));
            }
            None => {
                theme_names.insert(name, *tid);
                themes.push((*tid, name.clone()));
            }
        }
    }
    (Scope { sets, themes, every_file: scope.every_file }, same_name)
}
