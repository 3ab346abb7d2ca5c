//! A new theme from a folder (issue 28), only when asked (`import --new-themes`, never the
//! watcher on its own): a folder under `styles/` whose `theme.json` names a theme the board
//! lacks becomes one, as the Admin CP's Add Template Set (when the file names a set the board
//! lacks and `template_sets/` has its folder), Create New Theme (`build_new_theme()`, child of
//! the file's parent) and Edit Theme (the file's fields) make it. The rest of the folder, and of
//! the set's folder, is then imported as any other files: stylesheets attached as the file says.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::disk::atomic;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::cache;
use crate::mybb::db::Db;
use crate::mybb::stylecache;
use crate::mybb::theme_file::{self, MAX_THEME_FILE_BYTES, ThemeFile};
use crate::mybb::theme_forms::{self, OnBoard};
use crate::mybb::theme_import::build_new_theme;
use crate::sync::layout::{self, ItemPath, STYLES_DIR, THEME_FILE};

/// A theme to create, checked.
struct NewTheme {
    file: ThemeFile,
    parent: u32,
    /// The template set to create first, when the board has none of that title.
    new_set: Option<String>,
    /// The stylesheet files of its folder, created after it by the import.
    sheets: Vec<String>,
    /// Its theme file.
    path: PathBuf,
}

/// Creates (or with `dry_run`, says it would create) each theme that a folder of the sync root
/// holds a `theme.json` for and the board lacks, a parent before its children (a new theme may
/// be the parent of another, in one run). A folder whose file the checks refuse is warned
/// about and left (its files are then refused by the import: no such theme), and so are new
/// themes whose parents name each other in a loop. Returns the names created.
pub fn create(db: &Db, config: &Config, dry_run: bool) -> Result<Vec<String>> {
    let mut board = Board::load(db)?;
    let found = pending(&config.sync_root, &board);
    let (ordered, cycles) = parent_first(&found);
    for (theme, why) in cycles {
        if let Some(p) = found.iter().find(|p| p.theme == theme) {
            log::warn!("{}: refused: not created: {why}", config.shown(&p.path));
        }
    }
    let mut created: Vec<String> = Vec::new();
    for theme in ordered {
        let Some(path) = found.iter().find(|p| p.theme == theme).map(|p| p.path.clone()) else {
            continue;
        };
        if db.theme_tid_by_name(&theme)?.is_some() {
            continue;
        }
        // The new themes made before this one, in this run (with --dry-run, only planned).
        let earlier: Vec<&Pending> = found.iter().filter(|p| created.contains(&p.theme)).collect();
        let new = match check(db, config, &board, &theme, &path, &earlier) {
            Ok(new) => new,
            Err(why) => {
                log::warn!("{}: refused: not created: {why}", config.shown(&path));
                continue;
            }
        };
        let set = new.file.properties.templateset.clone().unwrap_or_default();
        if dry_run {
            if new.new_set.is_some() {
                log::info!("would create the template set {set:?} (Add Template Set)");
            }
            log::info!(
                "would create the theme {theme:?}, child of {:?}, its folder holding {} \
                 stylesheet file(s) (Create New Theme, then Edit Theme with {})",
                new.file.parent.as_deref().unwrap_or_default(),
                new.sheets.len(),
                config.shown(&path)
            );
        } else {
            make(db, config, &new)?;
            // Its children, next, find it on the board.
            board = Board::load(db)?;
        }
        created.push(theme);
    }
    Ok(created)
}

/// A folder under `styles/` holding a theme file for a theme the board lacks.
pub struct Pending {
    /// The theme, by its folder's name.
    pub theme: String,
    pub path: PathBuf,
    /// The parent its file names, if the file reads.
    pub parent: Option<String>,
    /// The stylesheets its file lists (what the theme will have once made).
    pub sheets: Vec<String>,
}

/// Returns the folders of the sync root `root` whose theme file names a theme `board` lacks,
/// by folder name.
pub fn pending(root: &Path, board: &Board) -> Vec<Pending> {
    let mut found = Vec::new();
    for dir in theme_folders(&root.join(STYLES_DIR)) {
        let Some(folder) = dir.file_name() else { continue };
        let relative = Path::new(STYLES_DIR).join(folder).join(THEME_FILE);
        let Ok(ItemPath::Theme { theme }) = layout::parse(&relative) else { continue };
        let path = root.join(&relative);
        if !path.is_file() || board.theme_by_name(&theme).is_some() {
            continue;
        }
        let file = std::fs::read_to_string(&path).ok().and_then(|t| theme_file::parse(&t).ok());
        let parent = file.as_ref().and_then(|f| f.parent.clone());
        let sheets = file.map(|f| f.stylesheets.into_keys().collect()).unwrap_or_default();
        found.push(Pending { theme, path, parent, sheets });
    }
    found
}

/// Returns the pending themes in an order where each comes after the pending theme it names
/// as parent (by name otherwise), and those whose parents loop, each with why.
fn parent_first(found: &[Pending]) -> (Vec<String>, Vec<(String, String)>) {
    let pending_parent = |p: &Pending| {
        p.parent.as_ref().filter(|parent| found.iter().any(|q| &&q.theme == parent)).cloned()
    };
    let mut ordered: Vec<String> = Vec::new();
    let mut left: Vec<&Pending> = found.iter().collect();
    loop {
        let (ready, rest): (Vec<&Pending>, Vec<&Pending>) = left
            .into_iter()
            .partition(|p| pending_parent(p).is_none_or(|parent| ordered.contains(&parent)));
        left = rest;
        if ready.is_empty() {
            break;
        }
        ordered.extend(ready.into_iter().map(|p| p.theme.clone()));
    }
    let cycles = left
        .iter()
        .map(|p| {
            // Follow the parents until a theme repeats: the loop this one is in or under.
            let mut chain = vec![p.theme.clone()];
            let mut at = *p;
            while let Some(parent) = pending_parent(at) {
                let seen = chain.contains(&parent);
                chain.push(parent.clone());
                if seen {
                    break;
                }
                match found.iter().find(|q| q.theme == parent) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            let chain: Vec<String> = chain.iter().map(|t| format!("{t:?}")).collect();
            let why = format!(
                "parent: {}: new themes whose parents loop; a theme cannot inherit from itself",
                chain.join(" -> ")
            );
            (p.theme.clone(), why)
        })
        .collect();
    (ordered, cycles)
}

/// Returns the folders under `styles`, by name.
fn theme_folders(styles: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(styles) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

/// Reads and checks the file of new theme `theme` at `path` ([`problems`]). Returns the first
/// refusal, naming the field.
fn check(
    db: &Db,
    config: &Config,
    board: &Board,
    theme: &str,
    path: &Path,
    earlier: &[&Pending],
) -> std::result::Result<NewTheme, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_THEME_FILE_BYTES as u64 {
        return Err(format!("file is {size} bytes, more than the {MAX_THEME_FILE_BYTES} allowed"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = crate::mybb::validate::validate(crate::mybb::validate::ItemKind::Theme, &bytes)
        .map_err(|r| r.to_string())?;
    let file = theme_file::parse(text)?;
    let sheets = sheet_files(path.parent().unwrap_or(path));
    let folder = Folder { sync_root: &config.sync_root, theme, sheets: &sheets, earlier };
    let on = OnBoard { db, board, tid: None };
    if let Some(why) = problems(on, config.mybb_root.as_deref(), &folder, &file).into_iter().next()
    {
        return Err(why);
    }
    let parent = file.parent.as_deref().and_then(|p| board.theme_by_name(p)).map_or(0, |t| t.tid);
    let title = file.properties.templateset.clone().unwrap_or_default();
    let new_set = board.set_sid(&title).is_none().then_some(title);
    Ok(NewTheme { file, parent, new_set, sheets, path: path.to_path_buf() })
}

/// Returns the names of the stylesheet files in theme folder `dir`, sorted (none when it
/// cannot be read).
pub fn sheet_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| layout::is_stylesheet_name(n))
        .collect();
    names.sort();
    names
}

/// The folder of a theme the board does not have yet.
pub struct Folder<'a> {
    pub sync_root: &'a Path,
    /// Its theme's name, from the folder's name.
    pub theme: &'a str,
    /// Its stylesheet files, by name.
    pub sheets: &'a [String],
    /// The new themes made before it in the same run (planned only, with `--dry-run`): its
    /// parent may be one of them.
    pub earlier: &'a [&'a Pending],
}

/// Returns every refusal `import --new-themes` makes of `file`, the theme file of `folder`,
/// in its order: the Create New Theme form's checks (a name, its folder's, not taken; a parent
/// that exists), a template set on the board or a folder to create it from, then what Edit
/// Theme and the stylesheet forms refuse once the theme exists, so that nothing is created
/// for a file they would refuse. `check` lints new folders with it.
pub fn problems(
    on: OnBoard<'_>,
    mybb_root: Option<&Path>,
    folder: &Folder<'_>,
    file: &ThemeFile,
) -> Vec<String> {
    let (board, theme) = (on.board, folder.theme);
    let mut found = Vec::new();
    if file.name != theme {
        found.push(format!(
            "name: {:?} is not its folder's name {theme:?}; a new theme takes its folder's name",
            file.name
        ));
    }
    let earlier = |name: &str| folder.earlier.iter().find(|p| p.theme == name);
    let parent = match &file.parent {
        Some(name) => {
            let row = board.theme_by_name(name);
            if row.is_none() && earlier(name).is_none() {
                found.push(format!(
                    "parent: The selected parent theme does not exist. Please select a valid \
                     parent theme. (no theme is named {name:?})"
                ));
            }
            row
        }
        None => {
            found.push("parent: a new theme needs a parent theme".to_owned());
            None
        }
    };
    if let Some(title) = &file.properties.templateset {
        match board.set_sid(title) {
            Some(sid) if sid > 0 => {}
            Some(_) => {
                found.push(format!("properties.templateset: {title:?} cannot be a theme's set"));
            }
            None if !title.is_empty()
                && folder.sync_root.join(ItemPath::set_dir(title)).is_dir() => {}
            None => found.push(format!(
                "properties.templateset: The selected template set does not exist. Please \
                 select a valid template set. (no set is titled {title:?} on the board, and \
                 there is no folder {} to create it from)",
                ItemPath::set_dir(title).display()
            )),
        }
    }
    match on.db.theme_tid_by_name(theme) {
        Ok(Some(_)) => found.push("name: A theme with the same name already exists.".to_owned()),
        Ok(None) => {}
        Err(e) => found.push(format!("name: {}", crate::error::chain(&e))),
    }
    // Edit Theme's own checks of what the board cannot answer before the theme exists.
    found.extend(theme_forms::edit_theme_problems(file, None, mybb_root));
    let inherited = parent.map(|p| board.resolved_stylesheets(p.tid)).unwrap_or_default();
    // A parent made earlier in the run (or, with --dry-run, about to be) has what its file lists.
    let parent_lists = |name: &str| {
        let parent = file.parent.as_deref().and_then(earlier);
        parent.is_some_and(|p| p.sheets.iter().any(|s| s == name))
    };
    let known = |name: &str| {
        folder.sheets.iter().any(|s| s == name)
            || inherited.contains_key(name)
            || parent_lists(name)
    };
    // Without its parent, what the theme inherits is unknown: its entries are not judged.
    let parent_known = parent.is_some() || file.parent.as_deref().and_then(earlier).is_some();
    let known: Option<&dyn Fn(&str) -> bool> = parent_known.then_some(&known);
    found.extend(theme_forms::sheet_problems(file, known));
    found.dedup();
    found
}

/// Creates the set if needed, the theme, then writes the file's fields as Edit Theme does.
fn make(db: &Db, config: &Config, new: &NewTheme) -> Result<()> {
    if let Some(title) = &new.new_set {
        let sid = db.insert_template_set(title)?;
        log::info!("created the template set {title:?} (sid {sid})");
    }
    let name = &new.file.name;
    let tid = build_new_theme(db, name, None, new.parent)?;
    cache::after_theme_form(db, config, tid, true)?;
    let board = Board::load(db)?;
    let forms = db.theme_forms()?;
    let seen = theme_forms::render_theme(&board, &forms, tid).ok_or_else(|| Error::Data {
        what: format!("the new theme {name:?} (tid {tid}) vanished"),
    })?;
    // The folder's stylesheets the new theme does not inherit are created by the import next.
    let to_create: Vec<String> =
        new.sheets.iter().filter(|n| !seen.stylesheets.contains_key(*n)).cloned().collect();
    // As MyBB's theme import (build_new_theme() with the file's properties): `{theme}` in the
    // logo is the new theme's cache folder, which only now has a number.
    let mut file = new.file.clone();
    file.properties.logo = file.properties.logo.replace("{theme}", &stylecache::theme_dir(tid));
    if !theme_forms::apply(db, config, tid, &seen, &file, &to_create)? {
        return Err(Error::Data {
            what: format!("the new theme {name:?} (tid {tid}) changed while it was being made"),
        });
    }
    if file != new.file {
        // The folder's file says what the board stores, or the import going on next would
        // write `{theme}` back as an edit of the file.
        atomic::write_file(&new.path, theme_file::render(&file).as_bytes(), config.durable)?;
        log::info!(
            "{}: {{theme}} in the logo is the new theme's cache folder: {:?}",
            config.shown(&new.path),
            file.properties.logo
        );
    }
    log::info!("created the theme {name:?} (tid {tid}) from its folder");
    Ok(())
}
