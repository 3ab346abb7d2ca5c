//! The rules that read a template: `template-security`, `html-balance`, `upgrade-variables`,
//! and, with the board, `unknown-lang`, `unknown-setting` and `missing-image` (`<img src>`).
//!
//! Each returns `(byte offset, message)` pairs; the engine (`check/mod.rs`) turns them into
//! findings with a line and column. Where a template has a master, the master is the
//! yardstick: MyBB's own templates are fragments that set variables up in PHP, so what the
//! master does is taken as intended and only what the copy does differently is judged.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::check::board::BoardFacts;
use crate::check::html;
use crate::mybb::check_template::check_template;
use crate::sync::baseline::MasterEntry;

/// A `{$...}` expression as MyBB allows it: a variable with properties and array keys.
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"\{\$[a-zA-Z_][a-zA-Z_0-9]*(?:(?:->|::)\$*[a-zA-Z_][a-zA-Z_0-9]*|\[[^\]{}\n]*\])*\}"#,
    )
    .expect("VARIABLE is a valid regex")
});

/// `{$lang->key}`.
static LANG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\$lang->([a-zA-Z_][a-zA-Z_0-9]*)\}").expect("LANG is a valid regex")
});

/// `{$mybb->settings['name']}`, quoted or not.
static SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{\$mybb->settings\[\s*['"]?([a-zA-Z_0-9 ]+?)['"]?\s*\]\}"#)
        .expect("SETTING is a valid regex")
});

/// `<img ... src="...">`: the value, quoted either way.
static IMG_SRC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)')"#)
        .expect("IMG_SRC is a valid regex")
});

/// `template-security`: what MyBB's `check_template()` refuses, at the offending text.
pub fn security(text: &str) -> Option<(usize, String)> {
    let refusal = check_template(text).err()?;
    // The excerpt is the template's own text (clipped): its first occurrence is where the
    // rule fired, since an earlier copy of the same text would have fired first.
    let excerpt = refusal.excerpt().trim_end_matches('…');
    let at = text.find(excerpt).unwrap_or(0);
    Some((at, format!("{refusal}: the Admin CP, import and watch refuse this template")))
}

/// `html-balance`: the copy's imbalances that its master does not have (or the reverse); a
/// template without a master is judged on its own.
pub fn balance(text: &str, master: Option<&str>) -> Vec<(usize, String)> {
    let mine = html::imbalances(text);
    match master {
        None => mine.iter().map(|i| (i.at, i.describe())).collect(),
        Some(master) => {
            let theirs = html::imbalances(master);
            html::differences(&mine, &theirs)
                .into_iter()
                .map(|(at, message)| (at.unwrap_or(0), message))
                .collect()
        }
    }
}

/// Returns every `{$...}` variable `text` uses, once each.
fn variables(text: &str) -> HashSet<&str> {
    VARIABLE.find_iter(text).map(|m| m.as_str()).collect()
}

/// `upgrade-variables`: in a customised copy, each variable an older master of its title used
/// and the current one (the last of `history`, oldest first) no longer does. Says which
/// version dropped it.
pub fn upgrade_variables(text: &str, history: &[MasterEntry]) -> Vec<(usize, String)> {
    let Some((current, older)) = history.split_last() else { return Vec::new() };
    if older.is_empty() || text.as_bytes() == current.content.as_slice() {
        return Vec::new();
    }
    let current_vars: HashSet<String> = variables(&String::from_utf8_lossy(&current.content))
        .into_iter()
        .map(str::to_owned)
        .collect();
    let older_vars: Vec<HashSet<String>> = older
        .iter()
        .map(|e| {
            variables(&String::from_utf8_lossy(&e.content)).into_iter().map(str::to_owned).collect()
        })
        .collect();
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for m in VARIABLE.find_iter(text) {
        let var = m.as_str();
        if current_vars.contains(var) || !seen.insert(var) {
            continue;
        }
        // The newest older master that used it; the one after it dropped it.
        let Some(last) = older_vars.iter().rposition(|vars| vars.contains(var)) else { continue };
        let dropped_in = history[last + 1].version.as_str();
        found.push((
            m.start(),
            format!(
                "`{var}` was used by master {} and is no longer provided since {dropped_in} \
                 (master {} does not use it): this copy predates the upgrade; see `mybb-sync \
                 upgrade diff` and `upgrade merge`",
                older[last].version, current.version
            ),
        ));
    }
    found
}

/// `unknown-lang`: `{$lang->key}` for a key no language file of the board's language
/// defines and the master does not use either (MyBB's PHP sets some keys at run time).
pub fn unknown_lang(text: &str, master: Option<&str>, board: &BoardFacts) -> Vec<(usize, String)> {
    let Some(keys) = &board.lang_keys else { return Vec::new() };
    let master_keys: HashSet<&str> = master
        .map(|m| LANG.captures_iter(m).filter_map(|c| c.get(1)).map(|k| k.as_str()).collect())
        .unwrap_or_default();
    LANG.captures_iter(text)
        .filter_map(|c| c.get(1).map(|key| (c.get(0).map_or(0, |m| m.start()), key.as_str())))
        .filter(|(_, key)| !keys.contains(*key) && !master_keys.contains(key))
        .map(|(at, key)| {
            (
                at,
                format!(
                    "no language file of `{}` defines `{key}`: it renders as nothing",
                    board.language
                ),
            )
        })
        .collect()
}

/// `unknown-setting`: `{$mybb->settings['name']}` for a setting the board does not have.
pub fn unknown_setting(text: &str, board: &BoardFacts) -> Vec<(usize, String)> {
    let Some(settings) = &board.settings else { return Vec::new() };
    SETTING
        .captures_iter(text)
        .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.as_str())))
        .filter(|(_, name)| !settings.contains(*name))
        .map(|(at, name)| (at, format!("the board has no setting `{name}`: it renders as nothing")))
        .collect()
}

/// `missing-image` in a template: an `<img src>` that resolves under the board root, with
/// `{$theme['imgdir']}` expanded for each theme using `set`, to a file that is missing for
/// every one of them.
pub fn missing_images(text: &str, set: &str, board: &BoardFacts) -> Vec<(usize, String)> {
    let imgdirs = board.imgdirs_of_set(set);
    let mut found = Vec::new();
    for c in IMG_SRC.captures_iter(text) {
        let Some(src) = c.get(1).or_else(|| c.get(2)) else { continue };
        // Markup built in a script (`'<img src="' + url + '">'`) is no address to follow.
        let bare = src
            .as_str()
            .replace("{$theme['imgdir']}", "")
            .replace("{$mybb->settings['bburl']}", "");
        if bare.contains(['"', '\'', '+', ' ', '<']) {
            continue;
        }
        let candidates: Vec<String> = if src.as_str().contains("{$theme['imgdir']}") {
            imgdirs.iter().map(|dir| src.as_str().replace("{$theme['imgdir']}", dir)).collect()
        } else {
            vec![src.as_str().to_owned()]
        };
        let resolved: Vec<String> =
            candidates.iter().filter_map(|c| board.page_relative(c)).collect();
        if resolved.is_empty() || resolved.len() < candidates.len() {
            // Something not resolvable (another variable, a full URL): not ours to judge.
            continue;
        }
        if resolved.iter().all(|path| !board.root.join(path).is_file()) {
            found.push((
                src.start(),
                format!("the image `{}` is not in the board root", resolved[0]),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, content: &str) -> MasterEntry {
        MasterEntry { version: version.into(), content: content.into() }
    }

    #[test]
    fn security_findings_point_at_the_expression() {
        let (at, message) = security("<p>\n{$a->b()}</p>").unwrap();
        assert_eq!(at, 4);
        assert!(message.contains("{$a->b()}"), "{message}");
        assert_eq!(security("{$lang->x}"), None);
    }

    #[test]
    fn a_dropped_variable_is_named_with_the_version_that_dropped_it() {
        let history = [entry("1826", "<b>{$post['icq']}</b>{$x}"), entry("1837", "<b></b>{$x}")];
        let found = upgrade_variables("<i>{$post['icq']}</i>{$x}{$mine}", &history);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 3);
        assert!(found[0].1.contains("since 1837"), "{}", found[0].1);
        // A copy with no history, or equal to the master, has nothing to say.
        assert!(upgrade_variables("{$post['icq']}", &history[1..]).is_empty());
        assert!(upgrade_variables("<b></b>{$x}", &history).is_empty());
    }

    #[test]
    fn images_follow_the_theme_s_folder_but_not_markup_built_in_scripts() {
        let root = crate::test_support::scratch_dir("check_template", "images");
        std::fs::create_dir_all(root.join("images")).unwrap();
        std::fs::write(root.join("images/there.png"), b"x").unwrap();
        let board = BoardFacts {
            root: root.clone(),
            all_imgdirs: vec!["images".into()],
            ..BoardFacts::default()
        };
        let found = missing_images(
            "<img src=\"{$theme['imgdir']}/there.png\"><img alt=\"x\" src=\"{$theme['imgdir']}/gone.png\">\
             <script>x = '<img src=\"' + url + '\">';</script>",
            "Default Templates",
            &board,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("images/gone.png"), "{found:?}");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn balance_is_judged_against_the_master() {
        let master = "<div id=\"container\">\n<div class=\"wrapper\">";
        assert!(balance(master, Some(master)).is_empty());
        let copy = "<div id=\"container\">\n<div class=\"wrapper\">\n<div>";
        let found = balance(copy, Some(master));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, copy.rfind("<div>").unwrap());
        assert_eq!(balance(copy, None).len(), 3);
    }
}
