//! Lays a theme file out as a sync tree, without a database: what `theme import` then `export`
//! would write, so a downloaded theme can be reviewed or diffed as files.
//!
//! Templates go under `template_sets/NAME Templates/<group>/`, grouped by the template groups a
//! fresh MyBB 1.8.37 board has (its `templategroups` rows, below), else "Ungrouped Templates";
//! stylesheets under `styles/NAME/`, with the names `import_theme_xml()` would store (cut to 30
//! characters; names not ending in `.css` skipped). Every name goes through the layout's
//! reversible path encoding, so a name such as `../x` stays inside the tree.

use std::path::PathBuf;

use crate::mybb::theme_xml::ThemeXml;
use crate::sync::layout::{self, ItemPath};

/// The `(prefix, title)` rows of `templategroups` on a fresh MyBB 1.8.37 install (gid order).
pub const DEFAULT_TEMPLATE_GROUPS: &[(&str, &str)] = &[
    ("calendar", "<lang:group_calendar>"),
    ("editpost", "<lang:group_editpost>"),
    ("forumbit", "<lang:group_forumbit>"),
    ("forumjump", "<lang:group_forumjump>"),
    ("forumdisplay", "<lang:group_forumdisplay>"),
    ("index", "<lang:group_index>"),
    ("error", "<lang:group_error>"),
    ("memberlist", "<lang:group_memberlist>"),
    ("multipage", "<lang:group_multipage>"),
    ("private", "<lang:group_private>"),
    ("portal", "<lang:group_portal>"),
    ("postbit", "<lang:group_postbit>"),
    ("posticons", "<lang:group_posticons>"),
    ("showthread", "<lang:group_showthread>"),
    ("usercp", "<lang:group_usercp>"),
    ("online", "<lang:group_online>"),
    ("moderation", "<lang:group_moderation>"),
    ("nav", "<lang:group_nav>"),
    ("search", "<lang:group_search>"),
    ("showteam", "<lang:group_showteam>"),
    ("reputation", "<lang:group_reputation>"),
    ("newthread", "<lang:group_newthread>"),
    ("newreply", "<lang:group_newreply>"),
    ("member", "<lang:group_member>"),
    ("warnings", "<lang:group_warning>"),
    ("global", "<lang:group_global>"),
    ("header", "<lang:group_header>"),
    ("managegroup", "<lang:group_managegroup>"),
    ("misc", "<lang:group_misc>"),
    ("modcp", "<lang:group_modcp>"),
    ("announcement", "<lang:group_announcement>"),
    ("polls", "<lang:group_polls>"),
    ("post", "<lang:group_post>"),
    ("printthread", "<lang:group_printthread>"),
    ("report", "<lang:group_report>"),
    ("smilieinsert", "<lang:group_smilieinsert>"),
    ("stats", "<lang:group_stats>"),
    ("xmlhttp", "<lang:group_xmlhttp>"),
    ("footer", "<lang:group_footer>"),
    ("video", "<lang:group_video>"),
    ("sendthread", "<lang:group_sendthread>"),
    ("mycode", "<lang:group_mycode>"),
];

/// The longest stylesheet name `import_theme_xml()` stores, in characters.
const MAX_STYLESHEET_NAME_CHARS: usize = 30;

/// The files of an unpacked theme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// `(path relative to the sync root, content)`, templates first, in the file's order.
    pub files: Vec<(PathBuf, String)>,
    /// Stylesheet names left out because they do not end in `.css` (after the cut to 30).
    pub skipped: Vec<String>,
}

/// Returns the sync-tree files of `theme`, named `name` (the file's own name when None).
/// A later template or stylesheet of the same name replaces an earlier one, as the database's
/// "last row wins" does.
pub fn unpack(theme: &ThemeXml, name: Option<&str>) -> Unpacked {
    let name = name.unwrap_or(&theme.name);
    let groups: Vec<(String, String)> =
        DEFAULT_TEMPLATE_GROUPS.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect();
    let set = format!("{name} Templates");
    let mut out = Unpacked::default();
    let mut put =
        |path: PathBuf, content: &str| match out.files.iter_mut().find(|(p, _)| *p == path) {
            Some(slot) => slot.1 = content.to_owned(),
            None => out.files.push((path, content.to_owned())),
        };
    for template in &theme.templates {
        let item = ItemPath::Template {
            set: set.clone(),
            group: layout::group_folder(&template.name, &groups),
            title: template.name.clone(),
        };
        put(item.to_relative(), &template.content);
    }
    let mut skipped = Vec::new();
    for sheet in &theme.stylesheets {
        let sheet_name: String = sheet.name.chars().take(MAX_STYLESHEET_NAME_CHARS).collect();
        if !sheet_name.ends_with(".css") {
            skipped.push(sheet.name.clone());
            continue;
        }
        let item = ItemPath::Stylesheet { theme: name.to_owned(), name: sheet_name };
        put(item.to_relative(), &sheet.content);
    }
    out.skipped = skipped;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mybb::theme_xml::{XmlStylesheet, XmlTemplate};

    #[test]
    fn hostile_names_stay_inside_the_tree() {
        let theme = ThemeXml {
            name: "../../etc".into(),
            templates: vec![XmlTemplate {
                name: "../x".into(),
                version: "1".into(),
                content: "a".into(),
            }],
            stylesheets: vec![XmlStylesheet {
                name: "../../y.css".into(),
                content: "b".into(),
                ..XmlStylesheet::default()
            }],
            ..ThemeXml::default()
        };
        let unpacked = unpack(&theme, None);
        assert_eq!(unpacked.files.len(), 2);
        for (path, _) in &unpacked.files {
            assert!(
                path.components().all(|c| matches!(c, std::path::Component::Normal(_))),
                "{}",
                path.display()
            );
            // A name MyBB would not take as a stylesheet's stays a file that is never a row.
            let parsed = layout::parse(path);
            let not_a_stylesheet = matches!(&parsed,
                Err(layout::NotAnItem::Invalid(why)) if why == layout::NOT_A_STYLESHEET);
            assert!(parsed.is_ok() || not_a_stylesheet, "{}", path.display());
        }
    }

    #[test]
    fn templates_are_grouped_as_a_fresh_board_groups_them() {
        let theme = ThemeXml {
            name: "T".into(),
            templates: vec![
                XmlTemplate { name: "header_welcomeblock".into(), ..XmlTemplate::default() },
                XmlTemplate { name: "headerinclude".into(), ..XmlTemplate::default() },
            ],
            ..ThemeXml::default()
        };
        let paths: Vec<String> =
            unpack(&theme, None).files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "template_sets/T Templates/Header Templates/header_welcomeblock.html",
                "template_sets/T Templates/Ungrouped Templates/headerinclude.html"
            ]
        );
    }
}
