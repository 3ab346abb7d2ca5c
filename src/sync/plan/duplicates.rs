//! Two files for one thing: a template named from two group folders of one set, found by
//! indexing the set's folder; and two sets or themes of one name, which would share a folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::disk::atomic::Seen;
use crate::sync::layout::{self, ItemPath};

use super::{Action, Planned};

/// Returns the refusal of the second of two sets or themes named `name` (`first` and
/// `second`, such as "sid 1"), which would share the folder `dir`.
pub(super) fn shared_name(
    dir: PathBuf,
    kind: &str,
    name: &str,
    first: String,
    second: String,
) -> Planned {
    let why = format!(
        "two {kind}s are named {name:?} ({first} and {second}); this folder holds {first}'s, \
         and {second} is not synced: rename one of them in the Admin CP"
    );
    Planned { path: dir, action: Action::Refused(why), sync: None, seen: Seen::Absent }
}

/// Finds template files that name the same template from two group folders of one set.
#[derive(Default)]
pub(super) struct DuplicateTitles {
    /// Per set: every template title found on disk, with its paths.
    sets: HashMap<String, HashMap<String, Vec<PathBuf>>>,
}

impl DuplicateTitles {
    fn index(&mut self, root: &Path, set: &str) -> &HashMap<String, Vec<PathBuf>> {
        self.sets.entry(set.to_owned()).or_insert_with(|| index_set(root, set))
    }

    /// Returns another path under the same set that names `title`, if there is one.
    pub(super) fn other_path(
        &mut self,
        root: &Path,
        set: &str,
        title: &str,
        path: &Path,
    ) -> Option<PathBuf> {
        let same = |p: &PathBuf| std::path::absolute(p).ok() == std::path::absolute(path).ok();
        self.index(root, set).get(title)?.iter().find(|p| !same(p)).cloned()
    }

    /// Returns the one file naming `title` in set `set`, if exactly one does.
    pub(super) fn only_path(&mut self, root: &Path, set: &str, title: &str) -> Option<PathBuf> {
        match self.index(root, set).get(title).map(Vec::as_slice) {
            Some([only]) => Some(only.clone()),
            _ => None,
        }
    }
}

/// Returns every template title in the folder of set `set`, with the files that name it.
pub(super) fn index_set(root: &Path, set: &str) -> HashMap<String, Vec<PathBuf>> {
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
