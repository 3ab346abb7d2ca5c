//! MyBB's stylesheet cache: the files forum pages link, and the lists that say which file to link.
//!
//! MyBB never serves a stylesheet from its database row: pages link
//! `cache/themes/theme{tid}/{name}` (or its `.min.css` twin), chosen by the theme's serialized
//! `stylesheets` column, and fall back to `css.php?stylesheet={sid}` (served live from the row)
//! only when that column says so. A database-only edit therefore changes nothing on the forum.
//! This module does the rest of what the Admin CP's edit_stylesheet does after the row is saved,
//! in MyBB's order (`admin/modules/style/themes.php`):
//!
//! 1. write the two cache files (`cache_stylesheet()`), each replaced atomically through
//!    `atomic.rs`, creating the theme directory with an empty `index.html` when it is missing;
//! 2. if they cannot be written, set the row's `cachefile` to `css.php?stylesheet={sid}` and warn:
//!    the rebuilt list then links `css.php`, so the edit is live all the same;
//! 3. rebuild the stylesheet list and `disporder` of the theme and of each descendant
//!    (`update_theme_stylesheet_list()`);
//! 4. refresh the `default_theme` datacache row from the default theme's row.
//!
//! The pure parts (the file texts, the list builder, the datacache value) live in
//! `stylecache.rs`; this module adds the disk and the database. Lists are always recomputed, but
//! a theme's row is written only when its columns change, so a rebuild of an up-to-date board
//! writes nothing: that covers a new row (copy-on-write or a new name), a cache file that appeared
//! or vanished, and an unwritable cache directory alike. The master theme's row (tid 1) is never
//! written (its files are: MyBB caches the master stylesheets too).
//!
//! `mybb-sync cache rebuild` ([`rebuild`]) runs steps 1, 3 and 4 for every stylesheet of every
//! theme (or of the themes named), for a web node that lost its cache directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use fs_err as fs;

use crate::config::Config;
use crate::disk::atomic::AtomicBatch;
use crate::error::{Error, Result};
use crate::mybb::board::MASTER_THEME_TID;
use crate::mybb::db::{self, Db};
use crate::mybb::stylecache;
use crate::php::serialize;

/// The directory, relative to MyBB's root, that holds every theme's cache directory. MyBB ships
/// it (with an `index.html`), so a root without it is not MyBB's.
const THEMES_DIR: &str = "cache/themes";

/// The datacache row that holds a copy of the default theme's row.
const DEFAULT_THEME_CACHE: &str = "default_theme";

/// A stylesheet row that `import.rs` has just written, with what it wrote.
#[derive(Debug, Clone, Copy)]
pub struct WrittenStylesheet<'a> {
    /// The theme the row belongs to.
    pub tid: u32,
    /// The row's sid (the new one, for a row just created).
    pub sid: u32,
    /// The row's name, e.g. `global.css`.
    pub name: &'a str,
    /// The row's new `stylesheet` content.
    pub content: &'a str,
}

/// What the forum serves for a stylesheet after [`after_stylesheet_write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The new cache files, renamed into place. `relinked`: some theme's stylesheet list
    /// changed, so pages link another URL than before (a new row, a file that appeared).
    CacheFile { relinked: bool },
    /// `css.php?stylesheet={sid}`, live from the row, since the cache files could not be written.
    CssPhp,
    /// The old file: there was no MyBB root to write the cache to.
    Stale,
}

/// Makes a stylesheet row that was just written live, as the Admin CP does after saving it:
/// writes its cache files and rebuilds the stylesheet lists (see the module documentation).
/// Returns what the forum serves for it now.
///
/// Without a MyBB root (or with a directory that has no `cache/themes`, so is not one) there is
/// no cache to write: this only warns that the forum keeps serving the old file. A cache file
/// that cannot be written is a warning too (the list then links `css.php`, so the edit is live).
/// An error means a database read or write failed; the row itself is already saved.
pub fn after_stylesheet_write(
    db: &Db,
    config: &Config,
    sheet: &WrittenStylesheet<'_>,
) -> Result<Served> {
    let Some(root) = config.mybb_root.as_deref() else {
        // Said once per run: the same words for every stylesheet of an import would bury the
        // rest of its report.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            log::debug!(
                "stylesheet {:?} of theme {}: no MyBB root, cache not rebuilt",
                sheet.name,
                sheet.tid
            );
            return Ok(Served::Stale);
        }
        log::warn!(
            "stylesheets saved in the database (first: {:?} of theme {}) are not live yet: the \
             forum keeps serving the old files until `mybb-sync --mybb DIR cache rebuild` runs \
             (no MyBB root given: use --mybb DIR or MYBB_ROOT to write MyBB's cache files; said \
             once per run)",
            sheet.name,
            sheet.tid
        );
        return Ok(Served::Stale);
    };
    if !root.join(THEMES_DIR).is_dir() {
        // Most likely a mistaken --mybb: writing there, and rebuilding the lists from a
        // directory that holds no cache files, would point every page at css.php.
        log::warn!(
            "stylesheet {:?} of theme {} is saved in the database, but {} has no {THEMES_DIR} \
             directory, so it does not look like MyBB's root: its cache files and stylesheet \
             lists are left alone, and the forum keeps serving the old file until \
             `mybb-sync --mybb DIR cache rebuild` runs with the right DIR",
            sheet.name,
            sheet.tid,
            root.display()
        );
        return Ok(Served::Stale);
    }
    let cache = Cache { root, durable: config.durable };
    let mut failed = Failed::new();
    match cache.write_stylesheet(sheet.tid, sheet.name, sheet.content, None) {
        Ok(_) => log::debug!(
            "wrote {}",
            cache.file_path(sheet.tid, &stylecache::cache_file_name(sheet.name)).display()
        ),
        Err(e) => {
            let fallback = css_php(sheet.sid);
            cache.warn_unwritable(sheet.tid, sheet.name, &fallback, &e);
            // edit_stylesheet does the same when cache_stylesheet() fails.
            db.set_stylesheet_cachefile(sheet.sid, &fallback)?;
            failed.insert((sheet.tid, sheet.name.to_owned()));
        }
    }
    let lists = cache.rebuild_lists(db, &[sheet.tid], &failed)?;
    Ok(if failed.is_empty() {
        Served::CacheFile { relinked: lists.themes_written > 0 }
    } else {
        Served::CssPhp
    })
}

/// Does what the Admin CP's `delete_stylesheet` does after the row of stylesheet `name` of
/// theme `tid` is deleted: unlinks its cache files (the full one and the `.min.css`), then
/// rebuilds the stylesheet lists of the theme and its descendants, which now link what they
/// inherit instead (or nothing). Without a MyBB root there is no cache to touch: warned.
/// An error means a database read or write failed; the row itself is already gone.
pub fn after_stylesheet_delete(db: &Db, config: &Config, tid: u32, name: &str) -> Result<()> {
    let Some(root) = config.mybb_root.as_deref().filter(|root| root.join(THEMES_DIR).is_dir())
    else {
        log::warn!(
            "stylesheet {name:?} of theme {tid} is deleted from the database, but with no MyBB \
             root (--mybb DIR) its cache files and the theme's stylesheet list are left as \
             they are until `mybb-sync --mybb DIR cache rebuild` runs"
        );
        return Ok(());
    };
    let cache = Cache { root, durable: config.durable };
    for file in [stylecache::cache_file_name(name), stylecache::min_file_name(name)] {
        if !is_plain_file_name(&file) {
            continue;
        }
        let path = cache.file_path(tid, &file);
        match fs::remove_file(&path) {
            Ok(()) => log::debug!("removed {}", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("cannot remove the cache file of a deleted stylesheet: {e}"),
        }
    }
    cache.rebuild_lists(db, &[tid], &Failed::new())?;
    Ok(())
}

/// Regenerates MyBB's stylesheet cache from the database: the cache files of every stylesheet
/// row of the themes named in `theme_names` (every theme, the master theme included, when it is
/// empty), then the stylesheet lists of those themes and their descendants, then the
/// `default_theme` datacache row. A cache file whose content and time are already right is left
/// alone, so running it twice writes nothing the second time.
///
/// # Errors
///
/// A usage error (exit 2) without a MyBB root or with an unknown theme name;
/// [`Error::Incomplete`] (exit 3) when some cache files could not be written (each one warned
/// about, and linked as `css.php` instead); any other error means the database failed.
pub fn rebuild(db: &Db, config: &Config, theme_names: &[String]) -> Result<()> {
    let root = config.mybb_root.as_deref().ok_or_else(|| {
        Error::usage(
            "`cache rebuild` writes MyBB's cache files, so it needs MyBB's root directory: \
             use --mybb DIR or MYBB_ROOT",
        )
    })?;
    if !root.is_dir() {
        return Err(Error::usage(format!(
            "MyBB root {} is not a directory (see --mybb)",
            root.display()
        )));
    }
    let themes = db.themes()?;
    let chosen = chosen_themes(&themes, theme_names)?;
    let cache = Cache { root, durable: config.durable };
    let rows = db.stylesheets()?;
    let mut failed = Failed::new();
    let (mut written, mut unchanged) = (0, 0);
    for theme in &chosen {
        let (theme_written, theme_unchanged) = cache.write_theme(theme, &rows, &mut failed);
        written += theme_written;
        unchanged += theme_unchanged;
    }

    let tids: Vec<u32> = chosen.iter().map(|t| t.tid).collect();
    let lists = cache.rebuild_lists(db, &tids, &failed)?;
    log::info!(
        "cache rebuild: {} written, {unchanged} unchanged, {} failed; {} updated{}",
        count(written, "stylesheet"),
        failed.len(),
        count(lists.themes_written, "stylesheet list"),
        if lists.default_theme_refreshed { ", default_theme cache refreshed" } else { "" }
    );
    if !failed.is_empty() {
        return Err(Error::Incomplete { refused: failed.len() });
    }
    Ok(())
}

/// Returns true if and only if `root` looks like MyBB's root: it has the `cache/themes`
/// directory MyBB ships. Without it there is no stylesheet cache to keep in step.
pub fn is_mybb_root(root: &Path) -> bool {
    root.join(THEMES_DIR).is_dir()
}

/// Makes the stylesheets of a theme just created by a theme import live, as
/// `import_theme_xml()` does: writes each one's cache files (`cache_stylesheet()`), then
/// rebuilds the stylesheet list and `disporder` of theme `tid` (`update_theme_stylesheet_list()`)
/// and refreshes the `default_theme` cache row if needed. A stylesheet whose files cannot be
/// written is warned about and linked as `css.php?stylesheet={sid}`; its row is left as it is,
/// as MyBB's import leaves it. Returns how many could not be written.
///
/// `root` must be MyBB's root ([`is_mybb_root`]). An error means a database read or write
/// failed; the rows are already saved.
pub fn after_theme_import(
    db: &Db,
    root: &Path,
    durable: bool,
    tid: u32,
    sheets: &[WrittenStylesheet<'_>],
) -> Result<usize> {
    let cache = Cache { root, durable };
    let mut failed = Failed::new();
    for sheet in sheets {
        if let Err(e) = cache.write_stylesheet(sheet.tid, sheet.name, sheet.content, None) {
            cache.warn_unwritable(sheet.tid, sheet.name, &css_php(sheet.sid), &e);
            failed.insert((sheet.tid, sheet.name.to_owned()));
        }
    }
    cache.rebuild_lists(db, &[tid], &failed)?;
    Ok(failed.len())
}

/// Does what the Admin CP does after one of its theme forms wrote theme `tid`'s row or a
/// stylesheet's pages (issue 28): `update_theme_stylesheet_list($tid, false, $update_disporders)`
/// for the theme and its descendants, then `$cache->update_default_theme()`. Without a MyBB root
/// the lists cannot be built (they depend on the cache files): warned, and only the
/// `default_theme` row is refreshed. An error means a database read or write failed.
pub fn after_theme_form(db: &Db, config: &Config, tid: u32, update_disporders: bool) -> Result<()> {
    match config.mybb_root.as_deref().filter(|root| is_mybb_root(root)) {
        Some(root) => {
            let cache = Cache { root, durable: config.durable };
            cache.rebuild_lists_with(db, &[tid], &Failed::new(), update_disporders)?;
        }
        None => {
            log::warn!(
                "theme {tid}'s row is saved, but with no MyBB root (--mybb DIR) its stylesheet \
                 list is left as it is: pages link the old stylesheets, in the old order, until \
                 `mybb-sync --mybb DIR cache rebuild` runs"
            );
            refresh_default_theme(db)?;
        }
    }
    Ok(())
}

/// Returns every theme with its `properties` parsed, and the tids whose `properties` column does
/// not parse. Such a column is left as it is: rebuilding `disporder` into an empty array, as
/// MyBB would, would throw the theme's other properties away.
fn parsed_themes(rows: &[db::ThemeRow]) -> (Vec<stylecache::ParsedTheme>, HashSet<u32>) {
    let mut damaged = HashSet::new();
    let themes = rows
        .iter()
        .map(|t| {
            let properties = serialize::parse(&t.properties).unwrap_or_else(|e| {
                damaged.insert(t.tid);
                log::warn!(
                    "theme {} ({}): its properties column is damaged ({e}); its display order \
                     is left as it is",
                    t.tid,
                    t.name
                );
                serialize::Value::Null
            });
            stylecache::ParsedTheme { tid: t.tid, pid: t.pid, properties }
        })
        .collect();
    (themes, damaged)
}

/// Returns the themes named (each once, in the order given), or every theme when none is.
fn chosen_themes<'a>(
    themes: &'a [db::ThemeRow],
    names: &[String],
) -> Result<Vec<&'a db::ThemeRow>> {
    if names.is_empty() {
        return Ok(themes.iter().collect());
    }
    let mut chosen: Vec<&db::ThemeRow> = Vec::new();
    for name in names {
        let theme = themes.iter().find(|t| &t.name == name).ok_or_else(|| Error::UnknownItem {
            kind: "theme",
            name: name.clone(),
            known: themes.iter().map(|t| t.name.clone()).collect(),
        })?;
        if !chosen.iter().any(|c| c.tid == theme.tid) {
            chosen.push(theme);
        }
    }
    Ok(chosen)
}

/// `(tid, name)` of stylesheets whose cache files could not be written in this run: the list
/// links `css.php` for them whatever stale file may be lying there.
type Failed = HashSet<(u32, String)>;

/// What writing one stylesheet's cache files did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Written,
    /// The files already held this content and were new enough: left alone.
    Unchanged,
}

/// What rebuilding stylesheet lists wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ListsWritten {
    /// Theme rows whose `stylesheets` or `properties` changed.
    themes_written: usize,
    /// Whether the `default_theme` datacache row was rewritten.
    default_theme_refreshed: bool,
}

/// The cache directory of one MyBB installation.
#[derive(Debug, Clone, Copy)]
struct Cache<'a> {
    /// MyBB's root directory, which holds `cache/themes`.
    root: &'a Path,
    /// Whether files are made durable as well as atomic.
    durable: bool,
}

impl Cache<'_> {
    /// Writes the cache files of theme `theme`'s own stylesheets and logs the theme's line;
    /// returns how many were written and how many were already right. A file that cannot be
    /// written is warned about and recorded in `failed`.
    fn write_theme(
        &self,
        theme: &db::ThemeRow,
        rows: &[db::StylesheetRow],
        failed: &mut Failed,
    ) -> (usize, usize) {
        // One file per name: of duplicate rows (no unique key stops them), the one the theme's
        // stylesheet list links, which is also the one `export` shows and an edit updates.
        let own = stylecache::effective_stylesheets(&[theme.tid], rows);
        let (mut written, mut unchanged) = (0, 0);
        for row in own {
            let outcome = std::str::from_utf8(&row.stylesheet)
                .map_err(|e| Error::Data {
                    what: format!("the row is not valid UTF-8 (at byte {})", e.valid_up_to()),
                })
                .and_then(|content| {
                    self.write_stylesheet(theme.tid, &row.name, content, Some(row.lastmodified))
                });
            match outcome {
                Ok(Outcome::Written) => written += 1,
                Ok(Outcome::Unchanged) => unchanged += 1,
                Err(e) => {
                    self.warn_unwritable(theme.tid, &row.name, &css_php(row.sid), &e);
                    failed.insert((theme.tid, row.name.clone()));
                }
            }
        }
        log::info!(
            "{} ({}): {} written, {unchanged} unchanged",
            stylecache::theme_dir(theme.tid),
            theme.name,
            count(written, "stylesheet")
        );
        (written, unchanged)
    }

    /// Returns the path of cache file `file` of theme `tid`.
    fn file_path(&self, tid: u32, file: &str) -> PathBuf {
        self.root.join(stylecache::theme_dir(tid)).join(file)
    }

    /// Writes the cache files of stylesheet `name` of theme `tid` with content `content`, as
    /// `cache_stylesheet()` does: `{name}` and `{stem}.min.css` in `cache/themes/theme{tid}`,
    /// each replaced atomically, the directory created with an empty `index.html` when missing.
    ///
    /// With `fresh_since` (the row's `lastmodified`), files that already hold exactly this content
    /// and are at least that recent are left alone ([`Outcome::Unchanged`]).
    ///
    /// An error means the files could not be written (they are then as they were, or the
    /// `.css` is new and the `.min.css` old): the caller must not link them.
    fn write_stylesheet(
        &self,
        tid: u32,
        name: &str,
        content: &str,
        fresh_since: Option<u64>,
    ) -> Result<Outcome> {
        let file = stylecache::cache_file_name(name);
        let min = stylecache::min_file_name(name);
        for candidate in [&file, &min] {
            if !is_plain_file_name(candidate) {
                return Err(Error::Data {
                    what: format!("the stylesheet name {name:?} is not a safe file name"),
                });
            }
        }
        // Never create a MyBB root: a mistyped --mybb must not grow a cache directory.
        if !self.root.is_dir() {
            return Err(Error::Data {
                what: format!("the MyBB root {} is not a directory", self.root.display()),
            });
        }
        let css = stylecache::cache_css(content, tid);
        let min_css = stylecache::minify(&css);
        // MyBB writes the full file, then the minified one; for a name without `.css` both are
        // the same file, which ends up minified.
        let mut files = vec![(self.file_path(tid, &file), css.as_bytes())];
        if min == file {
            files.clear();
        }
        files.push((self.file_path(tid, &min), min_css.as_bytes()));

        if let Some(lastmodified) = fresh_since
            && files.iter().all(|(path, text)| fs::read(path).is_ok_and(|old| old == *text))
            && file_mtime(&self.file_path(tid, &file)).is_some_and(|t| t >= lastmodified)
        {
            return Ok(Outcome::Unchanged);
        }

        let dir = self.root.join(stylecache::theme_dir(tid));
        let mut batch = AtomicBatch::new(self.durable);
        if !dir.is_dir() {
            batch.stage(&dir.join("index.html"), b"")?;
        }
        for (path, text) in &files {
            batch.stage(path, text)?;
        }
        batch.commit()?;
        Ok(Outcome::Written)
    }

    /// Warns that the cache files of stylesheet `name` of theme `tid` could not be written
    /// because of `error`, and that pages link `fallback` instead.
    fn warn_unwritable(&self, tid: u32, name: &str, fallback: &str, error: &Error) {
        let path = self.file_path(tid, &stylecache::cache_file_name(name));
        log::warn!(
            "cannot write the cache file {}: {}; pages link {fallback} instead (served from \
             the database, uncached)",
            path.display(),
            root_cause(error)
        );
    }

    /// Returns what MyBB's `file_exists()` and `filemtime()` say of the cache file of stylesheet
    /// `name` of theme `tid` (with the name as stored, as `update_theme_stylesheet_list()`
    /// looks for it): its mtime, or None. A name that is not a plain file name, and a stylesheet
    /// whose write failed in this run, have no cache file.
    fn cache_file_mtime(&self, tid: u32, name: &str, failed: &Failed) -> Option<u64> {
        if !is_plain_file_name(name) || failed.contains(&(tid, name.to_owned())) {
            return None;
        }
        file_mtime(&self.file_path(tid, name))
    }

    /// Rebuilds the stylesheet lists (and `disporder`) of each theme of `tids` and of its
    /// descendants from the database and the cache files, writes the theme rows whose columns
    /// changed (never the master theme's), then refreshes the `default_theme` datacache row if
    /// it no longer matches the default theme's row.
    fn rebuild_lists(&self, db: &Db, tids: &[u32], failed: &Failed) -> Result<ListsWritten> {
        self.rebuild_lists_with(db, tids, failed, true)
    }

    /// [`Cache::rebuild_lists`], rebuilding `disporder` too only if `update_disporders` (the
    /// stylesheet properties form leaves it alone unless the name changed).
    fn rebuild_lists_with(
        &self,
        db: &Db,
        tids: &[u32],
        failed: &Failed,
        update_disporders: bool,
    ) -> Result<ListsWritten> {
        let theme_rows = db.themes()?;
        let rows = db.stylesheets()?;
        let (themes, damaged) = parsed_themes(&theme_rows);
        let mut updates = Vec::new();
        let mut seen = HashSet::new();
        for &tid in tids {
            if seen.contains(&tid) {
                continue;
            }
            let mtime = |theme_id: u32, name: &str| self.cache_file_mtime(theme_id, name, failed);
            let Some(list) = stylecache::update_theme_stylesheet_list(
                &themes,
                &rows,
                tid,
                update_disporders,
                mtime,
            ) else {
                continue;
            };
            for update in list {
                if seen.insert(update.tid) {
                    updates.push(update);
                }
            }
        }

        let mut written = ListsWritten::default();
        for update in updates {
            let Some(current) = theme_rows.iter().find(|t| t.tid == update.tid) else {
                continue;
            };
            let mut list = update.stylesheets;
            stylecache::inherited_as_read(&mut list, db.php_rows());
            let stylesheets = serialize::to_string(&list);
            let properties = update
                .properties
                .as_ref()
                .filter(|_| !damaged.contains(&update.tid))
                .map(serialize::to_string)
                .filter(|p| *p != current.properties);
            if stylesheets == current.stylesheets && properties.is_none() {
                continue;
            }
            if update.tid == MASTER_THEME_TID {
                log::warn!(
                    "the master theme's stylesheet list is out of date with its cache files; \
                     left as it is (mybb-sync never writes the master theme)"
                );
                continue;
            }
            db.update_theme_lists(update.tid, properties.as_deref(), &stylesheets)?;
            log::debug!("rebuilt the stylesheet list of theme {} ({})", current.tid, current.name);
            written.themes_written += 1;
        }
        written.default_theme_refreshed = refresh_default_theme(db)?;
        Ok(written)
    }
}

/// Rewrites the `default_theme` datacache row from the default theme's row (`def = 1`; the
/// lowest tid if several claim it), as MyBB's `$cache->update_default_theme()` does, unless it
/// already holds exactly that. Returns true if and only if it was rewritten.
fn refresh_default_theme(db: &Db) -> Result<bool> {
    let themes = db.themes()?;
    let Some(theme) = themes.iter().find(|t| t.def) else {
        return Ok(false);
    };
    let value = serialize::to_string(&stylecache::default_theme_cache(
        &theme.name,
        theme.tid,
        &theme.properties,
        &theme.stylesheets,
        db.php_rows(),
    ));
    if db.datacache(DEFAULT_THEME_CACHE)?.as_deref() == Some(value.as_str()) {
        return Ok(false);
    }
    db.update_datacache(DEFAULT_THEME_CACHE, &value)?;
    log::debug!("refreshed the {DEFAULT_THEME_CACHE} datacache row from theme {}", theme.tid);
    Ok(true)
}

/// Returns `n` and `noun`, plural unless `n` is 1: "1 stylesheet", "2 stylesheets".
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("{n} {noun}") } else { format!("{n} {noun}s") }
}

/// Returns the URL MyBB links for stylesheet row `sid` when it has no cache file.
fn css_php(sid: u32) -> String {
    format!("css.php?stylesheet={sid}")
}

/// Returns true if and only if `name` names a file inside its directory and nothing else: not
/// empty, not `.` or `..`, without `/` or NUL. Stylesheet names come from the database and are
/// not trusted as paths.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Returns the modification time of the regular file `path` in whole seconds, as PHP's
/// `filemtime()`, or None if it is not a regular file (following symlinks).
fn file_mtime(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some(meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// Returns why `error` happened, for warnings that already name the path: for I/O, the kind
/// of failure in the system's words ("not a directory", "permission denied") rather than
/// fs_err's message about the temp file it happened to; otherwise the whole chain.
fn root_cause(error: &Error) -> String {
    if let Error::Io(e) = error {
        let kind = std::io::Error::from(e.kind()).to_string();
        if e.kind() != std::io::ErrorKind::Other && kind != "uncategorized error" {
            return kind;
        }
    }
    crate::error::chain(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        crate::test_support::scratch_dir("cache", name)
    }

    #[test]
    fn plain_file_names_only() {
        for ok in ["global.css", "a b.css", "..a.css", "noext"] {
            assert!(is_plain_file_name(ok), "{ok:?}");
        }
        for bad in ["", ".", "..", "a/b.css", "/abs.css", "nul\0.css"] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_theme_directory_is_created_with_an_empty_index() {
        let root = scratch("create");
        let cache = Cache { root: &root, durable: false };
        let outcome = cache.write_stylesheet(5, "a.css", "a {\n color: #ffffff;\n}\n", None);
        assert_eq!(outcome.unwrap(), Outcome::Written);
        let dir = root.join("cache/themes/theme5");
        assert_eq!(std::fs::read(dir.join("index.html")).unwrap(), b"");
        assert_eq!(
            std::fs::read_to_string(dir.join("a.css")).unwrap(),
            "a {\n color: #ffffff;\n}\n"
        );
        assert_eq!(std::fs::read_to_string(dir.join("a.min.css")).unwrap(), "a{color:#fff}");

        // An existing directory gets no index.html it did not have.
        std::fs::remove_file(dir.join("index.html")).unwrap();
        cache.write_stylesheet(5, "b.css", "b{}", None).unwrap();
        assert!(!dir.join("index.html").exists());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn fresh_files_are_left_alone_and_stale_ones_rewritten() {
        let root = scratch("fresh");
        let cache = Cache { root: &root, durable: false };
        cache.write_stylesheet(2, "a.css", "x{}", None).unwrap();
        assert_eq!(cache.write_stylesheet(2, "a.css", "x{}", Some(0)).unwrap(), Outcome::Unchanged);
        // Same content but the row is newer than the file: rewritten, so the list may link it.
        assert_eq!(
            cache.write_stylesheet(2, "a.css", "x{}", Some(u64::MAX)).unwrap(),
            Outcome::Written
        );
        assert_eq!(cache.write_stylesheet(2, "a.css", "y{}", Some(0)).unwrap(), Outcome::Written);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_name_without_css_gets_the_minified_text_as_mybb_writes_it() {
        let root = scratch("noext");
        let cache = Cache { root: &root, durable: false };
        cache.write_stylesheet(2, "plain", "a { b: c; }", None).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("cache/themes/theme2/plain")).unwrap(),
            "a{b:c}"
        );
        assert_eq!(
            cache.write_stylesheet(2, "plain", "a { b: c; }", Some(0)).unwrap(),
            Outcome::Unchanged
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn unsafe_names_and_a_missing_root_are_errors_that_write_nothing() {
        let root = scratch("unsafe");
        let cache = Cache { root: &root, durable: false };
        assert!(cache.write_stylesheet(2, "..", "x{}", None).is_err());
        assert!(!root.join("cache").exists());
        let gone = root.join("gone");
        let cache = Cache { root: &gone, durable: false };
        assert!(cache.write_stylesheet(2, "a.css", "x{}", None).is_err());
        assert!(!gone.exists());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_file_where_the_theme_directory_should_be_is_an_error_naming_the_reason() {
        let root = scratch("blocked");
        std::fs::create_dir_all(root.join("cache/themes")).unwrap();
        std::fs::write(root.join("cache/themes/theme2"), b"").unwrap();
        let cache = Cache { root: &root, durable: false };
        let err = cache.write_stylesheet(2, "a.css", "x{}", None).unwrap_err();
        let why = root_cause(&err);
        assert_eq!(why, "not a directory");
        let failed = Failed::new();
        assert_eq!(cache.cache_file_mtime(2, "a.css", &failed), None);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn the_list_sees_a_files_mtime_unless_its_write_failed() {
        let root = scratch("mtime");
        let cache = Cache { root: &root, durable: false };
        cache.write_stylesheet(3, "a.css", "x{}", None).unwrap();
        let mut failed = Failed::new();
        assert!(cache.cache_file_mtime(3, "a.css", &failed).is_some_and(|t| t > 1_600_000_000));
        assert_eq!(cache.cache_file_mtime(3, "b.css", &failed), None);
        assert_eq!(cache.cache_file_mtime(3, "../theme3/a.css", &failed), None);
        failed.insert((3, "a.css".to_owned()));
        assert_eq!(cache.cache_file_mtime(3, "a.css", &failed), None);
        let _ = std::fs::remove_dir_all(root);
    }
}
