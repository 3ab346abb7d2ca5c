//! Where each template and stylesheet lives under the sync root, and back. Pure: no I/O.
//!
//! ```text
//! template_sets/<set title>/<Group> Templates/<template title>.html
//! styles/<theme name>/<stylesheet name>
//! styles/<theme name>/theme.json
//! ```
//! This is the layout of the Python mybb_mcp disk sync, so its users can switch.
//!
//! Names come from the database and are not trusted as paths: a name that is unsafe as one path
//! component is written with exactly its unsafe characters percent-encoded, and decoded again
//! when read back. Decoding accepts only the canonical encoding, so each item has one path.

use std::path::{Component, Path, PathBuf};

/// The folder holding template sets.
pub const TEMPLATE_SETS_DIR: &str = "template_sets";
/// The folder holding themes.
pub const STYLES_DIR: &str = "styles";
pub use crate::mybb::board::GLOBAL_SET_TITLE;
pub use crate::mybb::theme_file::THEME_FILE;
/// The group folder of templates whose title matches no template group.
pub const UNGROUPED: &str = "Ungrouped Templates";
/// What ends a template's file name.
pub const TEMPLATE_EXT: &str = ".html";

/// An item as the layout names it, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemPath {
    /// A template: the set's title, the group folder it was found in, and its title.
    Template { set: String, group: String, title: String },
    /// A stylesheet: the theme's name and the stylesheet's name.
    Stylesheet { theme: String, name: String },
    /// A theme's own file, `theme.json` (issue 28): its Edit Theme fields, pages and orders.
    Theme { theme: String },
}

impl ItemPath {
    /// Returns the key of this item in the sync state: its path, but for a template without
    /// the group folder, which is only where the file happens to stand.
    pub fn key(&self) -> String {
        match self {
            ItemPath::Template { set, title, .. } => {
                format!(
                    "{TEMPLATE_SETS_DIR}/{}/{}",
                    encode_component(set, ""),
                    encode_component(title, TEMPLATE_EXT)
                )
            }
            ItemPath::Stylesheet { .. } | ItemPath::Theme { .. } => {
                self.to_relative().to_string_lossy().into_owned()
            }
        }
    }

    /// Returns the folder of template set `set`, relative to the sync root.
    pub fn set_dir(set: &str) -> PathBuf {
        [TEMPLATE_SETS_DIR, &encode_component(set, "")].iter().collect()
    }

    /// Returns the folder of theme `theme`, relative to the sync root.
    pub fn theme_dir(theme: &str) -> PathBuf {
        [STYLES_DIR, &encode_component(theme, "")].iter().collect()
    }

    /// Returns the path of this item relative to the sync root.
    pub fn to_relative(&self) -> PathBuf {
        match self {
            ItemPath::Template { set, group, title } => {
                let file = encode_component(title, TEMPLATE_EXT);
                [TEMPLATE_SETS_DIR, &encode_component(set, ""), &encode_component(group, ""), &file]
                    .iter()
                    .collect()
            }
            ItemPath::Stylesheet { theme, name } => {
                [STYLES_DIR, &encode_component(theme, ""), &encode_component(name, "")]
                    .iter()
                    .collect()
            }
            ItemPath::Theme { theme } => {
                [STYLES_DIR, &encode_component(theme, ""), THEME_FILE].iter().collect()
            }
        }
    }
}

/// Why a path under the sync root does not name an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnItem {
    /// Outside both layouts, or an editor's or our own temp file: silently ignored.
    Ignored,
    /// Inside a layout, but not a valid name (bad percent-encoding, `..`): refused with a reason.
    Invalid(String),
}

/// Returns the group folder name the Admin CP shows for a template title: the text before the
/// first `_` (the whole title when there is none), lowercased, looked up among `groups`
/// (`(prefix, title)` rows of `templategroups`), or [`UNGROUPED`].
pub fn group_folder(title: &str, groups: &[(String, String)]) -> String {
    let prefix = title.split('_').next().unwrap_or(title).to_lowercase();
    // Without a lowercased copy of every group for every template where ASCII allows it.
    let same = |p: &str| {
        if p.is_ascii() { p.eq_ignore_ascii_case(&prefix) } else { p.to_lowercase() == prefix }
    };
    match groups.iter().find(|(p, _)| same(p)) {
        Some((_, group_title)) => format!("{} Templates", group_display_name(group_title)),
        None => UNGROUPED.to_owned(),
    }
}

/// Returns the English name of a template group title such as `<lang:group_calendar>`, as
/// MyBB 1.8's `inc/languages/english/admin/style_templates.lang.php` has it. A plain title (a
/// plugin's group) is used as it is.
fn group_display_name(group_title: &str) -> String {
    let Some(key) = group_title.strip_prefix("<lang:").and_then(|t| t.strip_suffix('>')) else {
        return group_title.to_owned();
    };
    let english = match key {
        "group_announcement" => "Announcement",
        "group_calendar" => "Calendar",
        "group_editpost" => "Edit Post",
        "group_error" => "Error Message",
        "group_footer" => "Footer",
        "group_forumbit" => "Forum Bit",
        "group_forumdisplay" => "Forum Display",
        "group_forumjump" => "Forum Jump",
        "group_global" => "Global",
        "group_header" => "Header",
        "group_index" => "Index Page",
        "group_managegroup" => "Manage Group",
        "group_member" => "Member",
        "group_memberlist" => "Member List",
        "group_misc" => "Miscellaneous",
        "group_modcp" => "Moderator Control Panel",
        "group_moderation" => "Moderation",
        "group_multipage" => "Multipage Pagination",
        "group_mycode" => "MyCode",
        "group_nav" => "Navigation",
        "group_newreply" => "New Reply",
        "group_newthread" => "New Thread",
        "group_online" => "Who's Online",
        "group_php" => "PHP",
        "group_polls" => "Poll",
        "group_portal" => "Portal",
        "group_post" => "Post",
        "group_postbit" => "Post Bit",
        "group_posticons" => "Post Icon",
        "group_printthread" => "Print Thread",
        "group_private" => "Private Messaging",
        "group_redirect" => "Redirect",
        "group_report" => "Report",
        "group_reputation" => "Reputation",
        "group_search" => "Search",
        "group_sendthread" => "Send Thread",
        "group_showteam" => "Show Forum Team",
        "group_showthread" => "Show Thread",
        "group_smilieinsert" => "Smilie Inserter",
        "group_stats" => "Statistics",
        "group_usercp" => "User Control Panel",
        "group_video" => "Video MyCode",
        "group_warning" => "Warning System",
        "group_xmlhttp" => "XMLHTTP",
        // An unknown key (a newer MyBB, a plugin): its own words are better than nothing.
        other => return other.strip_prefix("group_").unwrap_or(other).to_owned(),
    };
    english.to_owned()
}

/// Returns true if and only if a file name is noise the watcher and importer skip: our own and
/// editors' temp files, backups and swap files, and hidden files (which includes our lock file).
pub fn is_noise(file_name: &str) -> bool {
    file_name.starts_with('.')
        || file_name.ends_with('~')
        || file_name.ends_with(".tmp")
        || file_name.ends_with(".swp")
        || file_name.ends_with(".swx")
        || file_name == "4913"
        || (file_name.starts_with('#') && file_name.ends_with('#'))
        || is_conflict_copy(file_name)
}

/// Returns true if and only if a file name is one of the database copies written beside a file
/// in conflict (`header.db.html`, `global.db.css`, `name.db`).
pub fn is_conflict_copy(file_name: &str) -> bool {
    file_name.ends_with(".db")
        || file_name.rsplit_once('.').is_some_and(|(stem, _)| stem.ends_with(".db"))
}

/// Returns `name` followed by `suffix` as one safe path component: in `name`, `%`, `/`, `\\`,
/// NUL and control characters are percent-encoded, and so is a leading `.` (which covers `.`
/// and `..`); the empty name is written `%`. If the result would look like noise that the
/// watcher skips (`x.tmp`, `x~`, `x.db.html`), the name's last character is encoded too.
fn encode_component(name: &str, suffix: &str) -> String {
    if name.is_empty() {
        return format!("%{suffix}");
    }
    let unsafe_at =
        |i: usize, c: char| matches!(c, '%' | '/' | '\\') || c.is_control() || (i == 0 && c == '.');
    // One pass, one allocation: this runs for every item of every run (issue 16).
    let mut out = String::with_capacity(name.len() + suffix.len());
    let mut last_start = 0;
    for (i, c) in name.char_indices() {
        last_start = out.len();
        if unsafe_at(i, c) { push_percent_encoded(&mut out, c) } else { out.push(c) }
    }
    out.push_str(suffix);
    if is_noise(&out) {
        let last = name.chars().next_back();
        out.truncate(last_start);
        if let Some(c) = last {
            push_percent_encoded(&mut out, c);
        }
        out.push_str(suffix);
    }
    out
}

/// Appends `c` to `out` as `%XX` escapes of its UTF-8 bytes (upper-case hex).
///
/// The crate's `utf8_percent_encode` is not used for whole names: it always escapes non-ASCII
/// bytes, and our names keep them (`Thème.css` stays readable); only the characters
/// [`encode_component`] picks are escaped, so the crate escapes one byte at a time here.
fn push_percent_encoded(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(percent_encoding::percent_encode_byte(b));
    }
}

/// Returns the name that `component` encodes (see [`encode_component`]), if and only if
/// `component` ends with `suffix` and is the canonical encoding of that name.
fn decode_component(component: &str, suffix: &str) -> Result<String, String> {
    let stem = component
        .strip_suffix(suffix)
        .ok_or_else(|| format!("{component:?} does not end with {suffix:?}"))?;
    let name = if stem == "%" { String::new() } else { percent_decode(stem)? };
    let canonical = encode_component(&name, suffix);
    if canonical != component {
        return Err(format!(
            "{component:?} is not how mybb-sync writes that name (expected {canonical:?})"
        ));
    }
    Ok(name)
}

fn percent_decode(text: &str) -> Result<String, String> {
    crate::percent::decode(text).map_err(|bad| match bad {
        crate::percent::BadEscape::Malformed => format!("bad percent-escape in {text:?}"),
        crate::percent::BadEscape::NotUtf8 => format!("{text:?} decodes to invalid UTF-8"),
    })
}

/// Returns the item a path names. `relative` is relative to the sync root. Paths outside both
/// layouts, and noise such as temp and swap files, are [`NotAnItem::Ignored`].
pub fn parse(relative: &Path) -> Result<ItemPath, NotAnItem> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => {
                let part = part
                    .to_str()
                    .ok_or(NotAnItem::Invalid("path is not valid UTF-8".to_owned()))?;
                parts.push(part);
            }
            Component::CurDir => {}
            _ => return Err(NotAnItem::Invalid("path leaves the sync root".to_owned())),
        }
    }
    let Some(file_name) = parts.last() else {
        return Err(NotAnItem::Ignored);
    };
    if is_noise(file_name) {
        return Err(NotAnItem::Ignored);
    }
    match parts.as_slice() {
        [TEMPLATE_SETS_DIR, set, group, file] => {
            if !file.ends_with(TEMPLATE_EXT) {
                return Err(NotAnItem::Ignored);
            }
            let group = decode_component(group, "").map_err(NotAnItem::Invalid)?;
            if !group.ends_with(" Templates") {
                return Err(NotAnItem::Ignored);
            }
            let set = decode_component(set, "").map_err(NotAnItem::Invalid)?;
            let title = decode_component(file, TEMPLATE_EXT).map_err(NotAnItem::Invalid)?;
            Ok(ItemPath::Template { set, group, title })
        }
        [STYLES_DIR, theme, THEME_FILE] => {
            let theme = decode_component(theme, "").map_err(NotAnItem::Invalid)?;
            Ok(ItemPath::Theme { theme })
        }
        [STYLES_DIR, theme, name] => {
            let theme = decode_component(theme, "").map_err(NotAnItem::Invalid)?;
            let name = decode_component(name, "").map_err(NotAnItem::Invalid)?;
            if !is_stylesheet_name(&name) {
                return Err(NotAnItem::Invalid(NOT_A_STYLESHEET.to_owned()));
            }
            Ok(ItemPath::Stylesheet { theme, name })
        }
        _ => Err(NotAnItem::Ignored),
    }
}

/// Returns the stylesheet a path in a theme folder names, whatever its name: [`parse`] refuses
/// names the Admin CP's forms would strip, but MyBB's theme import accepts them and serves
/// them (`css.php?stylesheet=SID`), so a row that already has such a name is synced under it
/// (issue 25). None for any other path.
pub fn parse_any_stylesheet(relative: &Path) -> Option<ItemPath> {
    let parts: Vec<&str> = relative
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<Vec<&str>>>()?;
    match parts.as_slice() {
        [STYLES_DIR, theme, name] if !is_noise(name) && *name != THEME_FILE => {
            Some(ItemPath::Stylesheet {
                theme: decode_component(theme, "").ok()?,
                name: decode_component(name, "").ok()?,
            })
        }
        _ => None,
    }
}

/// Why a file in a theme folder is not a stylesheet.
pub const NOT_A_STYLESHEET: &str = "not a stylesheet: MyBB takes only names made of a-z0-9-_. \
     (letters, digits, -, _ and .) ending in .css, as the Admin CP's add_stylesheet and its \
     cache writer do; this file is never written to the database (rename it, or keep it \
     outside the theme folder)";

/// Returns true if and only if MyBB would take `name` as a stylesheet's: the Admin CP's
/// add_stylesheet keeps only `[a-z0-9-_.]` (case-insensitively) and requires the extension
/// `css`, and its cache writer (`cache_stylesheet()`) only writes names ending in `.css`
/// exactly; anything else would be served from the database, or not at all.
pub fn is_stylesheet_name(name: &str) -> bool {
    name.len() > ".css".len()
        && name.ends_with(".css")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Returns the path of the database's copy written beside a file in conflict:
/// `header.html` -> `header.db.html`, `global.css` -> `global.db.css`.
pub fn conflict_copy_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.db.{ext}"),
        _ => format!("{name}.db"),
    };
    path.with_file_name(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(set: &str, title: &str) -> ItemPath {
        ItemPath::Template { set: set.into(), group: UNGROUPED.into(), title: title.into() }
    }

    #[test]
    fn ordinary_names_are_written_as_they_are() {
        let path = template("Default Templates", "header_welcomeblock").to_relative();
        assert_eq!(
            path,
            Path::new(
                "template_sets/Default Templates/Ungrouped Templates/header_welcomeblock.html"
            )
        );
        let css = ItemPath::Stylesheet { theme: "Default".into(), name: "global.css".into() };
        assert_eq!(css.to_relative(), Path::new("styles/Default/global.css"));
    }

    #[test]
    fn hostile_names_stay_one_component_and_round_trip() {
        for name in [
            "../../x",
            "a/b",
            ".hidden",
            "",
            ".",
            "..",
            "a\\b",
            "100%",
            "tab\there",
            "x.tmp",
            "x~",
            "4913",
            "\u{7f}",
            "ünï/cødé",
            "x.db",
            "#x#",
        ] {
            for item in [
                template(name, name),
                ItemPath::Template {
                    set: "s".into(),
                    group: format!("{name} Templates"),
                    title: "t".into(),
                },
                ItemPath::Stylesheet { theme: name.into(), name: "global.css".into() },
            ] {
                let rel = item.to_relative();
                assert!(rel.components().all(|c| matches!(c, Component::Normal(_))), "{rel:?}");
                for c in rel.components() {
                    let s = c.as_os_str().to_str().unwrap();
                    assert!(!s.starts_with('.') && !s.contains('/') && !s.is_empty(), "{s:?}");
                }
                assert_eq!(parse(&rel), Ok(item.clone()), "{rel:?}");
            }
        }
    }

    #[test]
    fn only_names_mybb_takes_are_stylesheets() {
        for good in ["global.css", "color_dawn.css", "a-b.c.css", "Upper.css"] {
            assert!(is_stylesheet_name(good), "{good}");
        }
        for bad in ["README.md", "my style.css", "GLOBAL.CSS", ".css", "x.css.bak", "é.css"] {
            assert!(!is_stylesheet_name(bad), "{bad}");
            let rel = ItemPath::Stylesheet { theme: "Default".into(), name: bad.into() };
            let parsed = parse(&rel.to_relative());
            assert!(matches!(parsed, Err(NotAnItem::Invalid(_))), "{bad}: {parsed:?}");
        }
    }

    #[test]
    fn only_the_canonical_encoding_is_accepted() {
        let rel = Path::new("template_sets/Default Templates/Ungrouped Templates/%61.html");
        assert!(matches!(parse(rel), Err(NotAnItem::Invalid(_))));
        let rel = Path::new("styles/Default/%zz.css");
        assert!(matches!(parse(rel), Err(NotAnItem::Invalid(_))));
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        let rel = Path::new("template_sets/../template_sets/Other/Ungrouped Templates/x.html");
        assert!(matches!(parse(rel), Err(NotAnItem::Invalid(_))));
    }

    #[test]
    fn noise_and_foreign_paths_are_ignored() {
        for p in [
            "template_sets/S/Ungrouped Templates/.x.html.swp",
            "template_sets/S/Ungrouped Templates/x.html~",
            "template_sets/S/Ungrouped Templates/.x.html.mybb-sync-1-2.tmp",
            "template_sets/S/Ungrouped Templates/4913",
            "template_sets/S/Ungrouped Templates/x.txt",
            "template_sets/S/Ungrouped Templates/x.db.html",
            "template_sets/S/x.html",
            "styles/Default/.global.css.swx",
            "README.md",
            ".mybb-sync.lock",
            "other/a/b/c.html",
        ] {
            assert_eq!(parse(Path::new(p)), Err(NotAnItem::Ignored), "{p}");
        }
    }

    #[test]
    fn group_folders_follow_the_admin_cp() {
        let groups = vec![
            ("calendar".to_owned(), "<lang:group_calendar>".to_owned()),
            ("usercp".to_owned(), "<lang:group_usercp>".to_owned()),
            ("myplugin".to_owned(), "My Plugin".to_owned()),
            ("Ärger".to_owned(), "Ärger".to_owned()),
        ];
        assert_eq!(group_folder("calendar_addevent", &groups), "Calendar Templates");
        assert_eq!(group_folder("Calendar", &groups), "Calendar Templates");
        assert_eq!(group_folder("usercp", &groups), "User Control Panel Templates");
        assert_eq!(group_folder("myplugin_box", &groups), "My Plugin Templates");
        assert_eq!(group_folder("headerinclude", &groups), UNGROUPED);
        // A prefix in either case matches, ASCII or not; a group's prefix as stored too.
        assert_eq!(group_folder("MyPlugin_box", &groups), "My Plugin Templates");
        assert_eq!(group_folder("ärger_box", &groups), "Ärger Templates");
        assert_eq!(group_folder("ÄRGER_box", &groups), "Ärger Templates");
        assert_eq!(group_folder("arger_box", &groups), UNGROUPED);
    }

    #[test]
    fn conflict_copies_sit_beside_the_file_and_are_ignored() {
        for (file, copy) in
            [("a/header.html", "a/header.db.html"), ("global.css", "global.db.css"), ("x", "x.db")]
        {
            let got = conflict_copy_path(Path::new(file));
            assert_eq!(got, Path::new(copy));
            assert!(is_noise(got.file_name().unwrap().to_str().unwrap()), "{copy}");
        }
    }
}
