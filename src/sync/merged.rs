//! A merged copy gets the version the Admin CP's save would give it.
//!
//! `outdated` calls a custom copy "already merged" when it builds on the current master but
//! still carries an older version (a merge whose result equals the copy, or a theme import that
//! keeps the file's old versions). MyBB's "Find Updated Templates" lists such a copy until it
//! is saved; saving it in the Admin CP writes the same content with the board's version. So
//! `import` does that for each already merged copy whose file is in sync: the advice "already
//! merged: import it" then clears it. The write is the same compare-and-swap `UPDATE` as every
//! template write (`Db::update_template`), of the content the row already holds.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::config::Config;
use crate::error::Result;
use crate::mybb::db::Db;
use crate::sync::upgrade::Upgrade;

/// Gives each already merged copy among `in_sync` (files equal to what the database renders)
/// the board's version, as the Admin CP's save would. Returns the files of the copies bumped.
pub fn bump_versions(db: &Db, config: &Config, in_sync: &[PathBuf]) -> Result<Vec<PathBuf>> {
    // Cheap first: without a copy MyBB calls outdated, there is nothing to load.
    if in_sync.is_empty() || db.find_updated()?.is_empty() {
        return Ok(Vec::new());
    }
    let in_sync: HashSet<&PathBuf> = in_sync.iter().collect();
    let upgrade = Upgrade::load(db, config)?;
    let version = db.version_code()?;
    let mut bumped = Vec::new();
    for item in upgrade.outdated(None) {
        if !item.already_merged() || !in_sync.contains(&item.path) {
            continue;
        }
        let copy = &item.copy;
        // The content it holds; a row changed since it was read is left for the next run.
        let Ok(content) = std::str::from_utf8(&copy.template) else { continue };
        if db.update_template(copy.tid, &copy.title, content, &version, &copy.template)? {
            log::info!(
                "{}: already merged; version {} -> {version}, as the Admin CP's save gives it",
                config.shown(&item.path),
                copy.version
            );
            bumped.push(item.path);
        }
    }
    Ok(bumped)
}
