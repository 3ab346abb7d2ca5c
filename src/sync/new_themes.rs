//! A new theme from a folder (issue 28), only when asked (`import --new-themes`, never the
//! watcher on its own): a folder under `styles/` whose `theme.json` names a theme the board
//! lacks becomes one, as the Admin CP's Add Template Set (when the file names a set the board
//! lacks and `template_sets/` has its folder), Create New Theme (`build_new_theme()`, child of
//! the file's parent) and Edit Theme (the file's fields) make it. The rest of the folder, and of
//! the set's folder, is then imported as any other files: stylesheets attached as the file says.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::board::Board;
use crate::mybb::cache;
use crate::mybb::db::Db;
use crate::mybb::theme_file::{self, AllowedGroups, MAX_THEME_FILE_BYTES, ThemeFile, color_pairs};
use crate::mybb::theme_forms;
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
}

/// Creates (or with `dry_run`, says it would create) each theme that a folder of the sync root
/// holds a `theme.json` for and the board lacks. A folder whose file the checks refuse is
/// warned about and left (its files are then refused by the import: no such theme). Returns the
/// names created.
pub fn create(db: &Db, config: &Config, dry_run: bool) -> Result<Vec<String>> {
    let board = Board::load(db)?;
    let mut created = Vec::new();
    for dir in theme_folders(&config.sync_root.join(STYLES_DIR)) {
        let Some(folder) = dir.file_name() else { continue };
        let relative = Path::new(STYLES_DIR).join(folder).join(THEME_FILE);
        let Ok(ItemPath::Theme { theme }) = layout::parse(&relative) else { continue };
        let path = config.sync_root.join(&relative);
        if !path.is_file() || db.theme_tid_by_name(&theme)?.is_some() {
            continue;
        }
        let new = match check(db, config, &board, &theme, &path) {
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
        }
        created.push(theme);
    }
    Ok(created)
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

/// Reads and checks the file of new theme `theme` at `path`: the Create New Theme form's
/// checks (a name, not taken, a parent that exists) and the Edit Theme form's that can be made
/// before the theme exists. Returns why not, naming the field.
fn check(
    db: &Db,
    config: &Config,
    board: &Board,
    theme: &str,
    path: &Path,
) -> std::result::Result<NewTheme, String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if size > MAX_THEME_FILE_BYTES as u64 {
        return Err(format!("file is {size} bytes, more than the {MAX_THEME_FILE_BYTES} allowed"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = crate::mybb::validate::validate(crate::mybb::validate::ItemKind::Theme, &bytes)
        .map_err(|r| r.to_string())?;
    let file = theme_file::parse(text)?;
    if file.name != theme {
        return Err(format!(
            "name: {:?} is not its folder's name {theme:?}; a new theme takes its folder's name",
            file.name
        ));
    }
    let parent = match &file.parent {
        Some(name) => board.theme_by_name(name).map(|t| t.tid).ok_or_else(|| {
            format!(
                "parent: The selected parent theme does not exist. Please select a valid parent \
                 theme. (no theme is named {name:?})"
            )
        })?,
        None => return Err("parent: a new theme needs a parent theme".to_owned()),
    };
    let title = file.properties.templateset.clone().unwrap_or_default();
    let new_set = match board.set_sid(&title) {
        Some(sid) if sid > 0 => None,
        Some(_) => {
            return Err(format!("properties.templateset: {title:?} cannot be a theme's set"));
        }
        None if !title.is_empty() && config.sync_root.join(ItemPath::set_dir(&title)).is_dir() => {
            Some(title.clone())
        }
        None => {
            return Err(format!(
                "properties.templateset: The selected template set does not exist. Please \
                 select a valid template set. (no set is titled {title:?} on the board, and \
                 there is no folder {} to create it from)",
                ItemPath::set_dir(&title).display()
            ));
        }
    };
    color_pairs(&file.properties.colors).map_err(|why| format!("properties.colors: {why}"))?;
    if let AllowedGroups::Groups(gids) = &file.allowedgroups
        && let Some(bad) = gids.iter().find(|g| **g <= 0)
    {
        return Err(format!("allowedgroups: {bad} is not a user group id"));
    }
    if db.theme_tid_by_name(theme).map_err(|e| crate::error::chain(&e))?.is_some() {
        return Err("name: A theme with the same name already exists.".to_owned());
    }
    let dir = path.parent().unwrap_or(path);
    let mut sheets: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| layout::is_stylesheet_name(n))
        .collect();
    sheets.sort();
    Ok(NewTheme { file, parent, new_set, sheets })
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
    if !theme_forms::apply(db, config, tid, &seen, &new.file, &to_create)? {
        return Err(Error::Data {
            what: format!("the new theme {name:?} (tid {tid}) changed while it was being made"),
        });
    }
    log::info!("created the theme {name:?} (tid {tid}) from its folder");
    Ok(())
}
