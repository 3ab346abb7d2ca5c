//! Whether a plan of a scope compares every file of the sync root: only such a run, settling
//! every item, completes a rebuilt sync state (`state.rs`, `State::complete`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::sync::layout::{ItemPath, STYLES_DIR, TEMPLATE_SETS_DIR};
use crate::sync::plan::Scope;

/// Returns true if and only if every file under the sync root's folders of sets and themes
/// lies in a folder of `scope`, so that a plan of the scope compared every file there is.
pub fn covers_root(root: &Path, scope: &Scope) -> Result<bool> {
    let dirs: HashSet<PathBuf> = scope
        .sets
        .iter()
        .map(|(_, title)| root.join(ItemPath::set_dir(title)))
        .chain(scope.themes.iter().map(|(_, name)| root.join(ItemPath::theme_dir(name))))
        .collect();
    for top in [TEMPLATE_SETS_DIR, STYLES_DIR] {
        let entries = match fs_err::read_dir(root.join(top)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            if !dirs.contains(&entry?.path()) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
