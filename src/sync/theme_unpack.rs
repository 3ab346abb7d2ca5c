//! Lays a theme file out as a sync tree, without a database: what `theme import` then `export`
//! would write, so a downloaded theme can be reviewed or diffed as files.
//!
//! Templates go under `template_sets/NAME Templates/<group>/`, grouped by the template groups a
//! fresh MyBB 1.8.37 board has (its `templategroups` rows, `mybb::board::DEFAULT_TEMPLATE_GROUPS`), else "Ungrouped Templates";
//! stylesheets under `styles/NAME/`, with the names `import_theme_xml()` would store (cut to 30
//! characters; names not ending in `.css` skipped). Every name goes through the layout's
//! reversible path encoding, so a name such as `../x` stays inside the tree.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::mybb::board::DEFAULT_TEMPLATE_GROUPS;
use crate::mybb::theme_file::{self, AllowedGroups, Sheet, ThemeFile};
use crate::mybb::theme_forms::{disporder_of, properties_of};
use crate::mybb::theme_import::{file_properties, stored_stylesheet_name};
use crate::php::serialize;

/// The master theme's name on a fresh board: the parent `theme import` gives by default.
const MASTER_THEME_NAME: &str = "MyBB Master Style";
use crate::mybb::theme_xml::ThemeXml;
use crate::sync::layout::{self, ItemPath};

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
    // Where each path is in `out.files`: a lookup per item, where a scan of the files so far
    // made 40,000 templates take 29 s (issue 26).
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut put = |path: PathBuf, content: &str| match index.get(&path) {
        Some(&at) => out.files[at].1 = content.to_owned(),
        None => {
            index.insert(path.clone(), out.files.len());
            out.files.push((path, content.to_owned()));
        }
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
        let Some(sheet_name) = stored_stylesheet_name(&sheet.name) else {
            skipped.push(sheet.name.clone());
            continue;
        };
        let item = ItemPath::Stylesheet { theme: name.to_owned(), name: sheet_name };
        put(item.to_relative(), &sheet.content);
    }
    out.skipped = skipped;
    out.files
        .push((ItemPath::Theme { theme: name.to_owned() }.to_relative(), theme_file(theme, name)));
    out
}

/// Returns the theme file (issue 28) of the theme `theme` would become, imported as `name`
/// with the Admin CP's defaults: its own template set "NAME Templates", the master style as
/// parent, every group allowed; the file's properties, each stylesheet's pages and order.
fn theme_file(theme: &ThemeXml, name: &str) -> String {
    let properties = file_properties(theme).unwrap_or(serialize::Value::Null);
    let mut stylesheets: BTreeMap<String, Sheet> = BTreeMap::new();
    let mut unordered = Vec::new();
    for sheet in &theme.stylesheets {
        let Some(sheet_name) = stored_stylesheet_name(&sheet.name) else { continue };
        // As the import stores it: "" and "0" are no pages (PHP's empty()).
        let given = sheet.attachedto.as_deref().filter(|a| !matches!(*a, "" | "0"));
        let attachedto = Sheet::split_attachedto(given.unwrap_or_default());
        let disporder = disporder_of(&properties, &sheet_name);
        if disporder.is_none() && !stylesheets.contains_key(&sheet_name) {
            unordered.push(sheet_name.clone());
        }
        stylesheets.insert(sheet_name, Sheet { attachedto, disporder });
    }
    // The import's list rebuild appends the names the order lacks, in the rows' order.
    let mut last = stylesheets.values().filter_map(|s| s.disporder).max().unwrap_or(0);
    for name in unordered {
        if let Some(sheet) = stylesheets.get_mut(&name) {
            last += 1;
            sheet.disporder = Some(last);
        }
    }
    let file = ThemeFile {
        name: name.to_owned(),
        parent: Some(MASTER_THEME_NAME.to_owned()),
        allowedgroups: AllowedGroups::All,
        properties: properties_of(&properties, Some(format!("{name} Templates"))),
        stylesheets,
    };
    theme_file::render(&file)
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
        // A template, a stylesheet and the theme's file (issue 28).
        assert_eq!(unpacked.files.len(), 3);
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
    fn a_file_of_the_most_elements_allowed_is_unpacked() {
        // See: issue 26. A theme file at the element limit, every template named twice (the
        // later one wins): with a scan of the files so far for each template, this did not
        // finish; with the index, each element costs the same whatever the file's size.
        let templates = crate::mybb::theme_xml::MAX_ELEMENTS - 2;
        let mut xml = String::from("<theme name=\"Big\"><templates>");
        for i in 0..templates {
            xml.push_str(&format!("<template name=\"t{}\">{i}</template>", i % (templates / 2)));
        }
        xml.push_str("</templates></theme>");
        let theme = crate::mybb::theme_xml::parse(xml.as_bytes()).unwrap();
        assert_eq!(theme.templates.len(), templates);
        let unpacked = unpack(&theme, None);
        assert_eq!(unpacked.files.len(), templates / 2 + 1, "the templates and theme.json");
        let (path, content) = &unpacked.files[0];
        assert_eq!(path.file_name().unwrap(), "t0.html");
        assert_eq!(*content, (templates / 2).to_string());
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
                "template_sets/T Templates/Ungrouped Templates/headerinclude.html",
                "styles/T/theme.json"
            ]
        );
    }
}
