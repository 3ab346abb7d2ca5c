//! What the board-aware rules know about the board (`--mybb`), read once per run: the default
//! language's keys, the setting names, each theme's image folder and stylesheet attachments,
//! and how a URL on a page or in a stylesheet resolves to a file under the board root.
//!
//! Read-only: the language files are read by `php/lang_file.rs` (never run), the database only
//! with SELECTs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mybb::board::{Board, GLOBAL_SET_TITLE};
use crate::mybb::db::Db;
use crate::php::{lang_file, serialize};

/// The board's facts the rules look things up in.
#[derive(Debug, Clone, Default)]
pub struct BoardFacts {
    /// MyBB's root directory.
    pub root: PathBuf,
    /// The board's default language (setting `bblanguage`), e.g. `english`.
    pub language: String,
    /// Every key the language's `*.lang.php` files define; None when one of them could not be
    /// read (then `unknown-lang` says nothing rather than guess).
    pub lang_keys: Option<HashSet<String>>,
    /// Every setting name; None when unknown.
    pub settings: Option<HashSet<String>>,
    /// Per template set title, the image folders of the themes using it.
    pub set_imgdirs: HashMap<String, Vec<String>>,
    /// Every theme's image folder (for the global set and sets no theme uses).
    pub all_imgdirs: Vec<String>,
    /// Per theme name, its tid.
    pub theme_tids: HashMap<String, u32>,
    /// Per (theme name, stylesheet name), the `attachedto` MyBB resolves for it.
    pub attachments: HashMap<(String, String), String>,
}

impl BoardFacts {
    /// Reads the facts of the board at `root` from its files and database `db`. A language
    /// file this reader refuses is warned about, naming it, and `unknown-lang` is then off.
    pub fn load(root: &Path, db: &Db) -> Result<BoardFacts> {
        let language = db
            .setting("bblanguage")?
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .unwrap_or_else(|| "english".to_owned());
        let lang_keys = read_language(root, &language)?;
        let settings = Some(db.setting_names()?.into_iter().collect());
        let board = Board::load(db)?;
        let mut facts = BoardFacts {
            root: root.to_path_buf(),
            language,
            lang_keys,
            settings,
            ..Default::default()
        };
        let set_titles: HashMap<i32, &str> =
            board.sets.iter().map(|(sid, title)| (*sid, title.as_str())).collect();
        for theme in &board.themes {
            facts.theme_tids.insert(theme.name.clone(), theme.tid);
            let properties = serialize::parse(&theme.properties).ok();
            let imgdir = properties
                .as_ref()
                .and_then(|p| p.get("imgdir"))
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "images".to_owned());
            let set = properties
                .as_ref()
                .and_then(|p| p.get("templateset"))
                .and_then(|v| v.as_int().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
            if let Some(title) =
                set.and_then(|sid| i32::try_from(sid).ok()).and_then(|sid| set_titles.get(&sid))
            {
                facts.set_imgdirs.entry((*title).to_owned()).or_default().push(imgdir.clone());
            }
            if !facts.all_imgdirs.contains(&imgdir) {
                facts.all_imgdirs.push(imgdir);
            }
            for (name, row) in board.resolved_stylesheets(theme.tid) {
                facts
                    .attachments
                    .insert((theme.name.clone(), name.to_owned()), row.attachedto.clone());
            }
        }
        Ok(facts)
    }

    /// Returns the image folders `{$theme['imgdir']}` may stand for in template set `set`.
    pub fn imgdirs_of_set(&self, set: &str) -> Vec<String> {
        match self.set_imgdirs.get(set) {
            Some(dirs) if set != GLOBAL_SET_TITLE => dirs.clone(),
            _ => self.all_imgdirs.clone(),
        }
    }

    /// Returns the file under the board root that `url`, on a page of the board (pages are
    /// scripts in its root), points at; None when it is not a path under the root this can
    /// know (a full URL, another variable, a `data:` URL).
    pub fn page_relative(&self, url: &str) -> Option<String> {
        let url = url
            .strip_prefix("{$mybb->settings['bburl']}/")
            .or_else(|| url.strip_prefix("{$mybb->settings[\"bburl\"]}/"))
            .unwrap_or(url);
        if !is_local(url) {
            return None;
        }
        resolve("", url)
    }

    /// Returns the file under the board root that `url` in stylesheet `theme`'s cache file
    /// points at, as the browser resolves it from `cache/themes/themeN/` after MyBB's cache
    /// writer has rewritten it (`{theme}` expanded, `../../../` put before a relative URL).
    pub fn stylesheet_relative(&self, url: &str, theme: &str) -> Option<String> {
        let tid = self.theme_tids.get(theme);
        let url = if url.contains("{theme}") {
            url.replace("{theme}", &format!("cache/themes/theme{}", tid?))
        } else {
            url.to_owned()
        };
        if !is_local(&url) {
            return None;
        }
        let url = if url.contains("../../../") { url } else { format!("../../../{url}") };
        resolve(&format!("cache/themes/theme{}/", tid.copied().unwrap_or(0)), &url)
    }

    /// Returns the scripts stylesheet `name` of `theme` is attached to that the board root
    /// does not have.
    pub fn missing_pages(&self, theme: &str, name: &str) -> Vec<String> {
        let Some(attached) = self.attachments.get(&(theme.to_owned(), name.to_owned())) else {
            return Vec::new();
        };
        attached
            .split('|')
            .filter_map(|part| part.split('?').next())
            .map(str::trim)
            // A colour stylesheet is attached to a colour of the theme (`black`), not to a
            // script: only `NAME.php` names a page.
            .filter(|script| script.ends_with(".php"))
            .filter(|script| {
                // Only a plain file name can be a script of the root.
                script.contains('/') || script.starts_with('.') || !self.root.join(script).is_file()
            })
            .map(str::to_owned)
            .collect()
    }
}

/// Returns true if and only if `url` is a relative path this can follow: no scheme, not
/// protocol- or root-relative, no template variable left in it.
fn is_local(url: &str) -> bool {
    let scheme = url.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    !(url.is_empty()
        || scheme
        || url.starts_with('/')
        || url.starts_with('#')
        || url.contains("{$")
        || url.contains('{'))
}

/// Resolves relative `url` against folder `base` (relative to the board root, ending in `/`
/// or empty) as a browser does: query and fragment dropped, `.` and `..` applied. None when it
/// climbs above the root.
fn resolve(base: &str, url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in url.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Reads every key of `root/inc/languages/LANGUAGE/*.lang.php`. None (with a warning naming
/// the file) when a file holds more than plain assignments, or the folder is missing.
fn read_language(root: &Path, language: &str) -> Result<Option<HashSet<String>>> {
    let dir = root.join("inc").join("languages").join(language);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            log::warn!(
                "check: cannot read the language folder {} ({e}); unknown-lang is off for this run",
                dir.display()
            );
            return Ok(None);
        }
    };
    let mut keys = HashSet::new();
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".lang.php"))
        .collect();
    files.sort();
    for path in files {
        let source = fs_err::read_to_string(&path)?;
        match lang_file::keys(&source) {
            Ok(found) => keys.extend(found),
            Err(e) => {
                log::warn!("check: {}: {e}; unknown-lang is off for this run", path.display());
                return Ok(None);
            }
        }
    }
    Ok(Some(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_as_a_browser_resolves_them() {
        let facts = BoardFacts {
            theme_tids: HashMap::from([("Default".to_owned(), 2)]),
            ..Default::default()
        };
        assert_eq!(facts.page_relative("images/x.png?v=1").as_deref(), Some("images/x.png"));
        assert_eq!(
            facts.page_relative("{$mybb->settings['bburl']}/images/./a/../x.png").as_deref(),
            Some("images/x.png")
        );
        for external in ["http://x/y.png", "//cdn/y.png", "/y.png", "data:image/png,x", "{$x}/y"] {
            assert_eq!(facts.page_relative(external), None, "{external}");
        }
        assert_eq!(
            facts.stylesheet_relative("images/x.png", "Default").as_deref(),
            Some("images/x.png")
        );
        assert_eq!(
            facts.stylesheet_relative("{theme}/img/a.png", "Default").as_deref(),
            Some("cache/themes/theme2/img/a.png")
        );
        assert_eq!(
            facts.stylesheet_relative("../../../images/y.png", "Default").as_deref(),
            Some("images/y.png")
        );
        assert_eq!(facts.stylesheet_relative("{theme}/a.png", "Unknown"), None);
    }
}
