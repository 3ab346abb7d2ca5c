//! What MyBB renders: template sets, themes and stylesheets resolved the way MyBB resolves them.
//!
//! Templates: for a title, the set's row beats the global row (sid -1), which beats the master
//! row (sid -2); among duplicate rows of one (sid, title), the highest tid wins
//! (`inc/class_templates.php`). Stylesheets: a name resolves over the theme's chain (itself,
//! its parent, ...) to the row with the highest tid among the chain's rows for that name
//! (`admin/inc/functions_themes.php`). Both export and import ask this module, so the file
//! mybb-sync writes and the content it compares a saved file with are the same thing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::error::Result;

/// The name under which the global templates (sid -1) appear as a set.
pub const GLOBAL_SET_TITLE: &str = "Global Templates";
use crate::mybb::db::{Db, Oversize, StylesheetRow, TemplateRow, ThemeRow, VersionedTemplate};
use crate::mybb::stylecache;

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

/// The sid of the master templates, which only MyBB's installer and upgrades write.
pub const MASTER_SID: i32 = -2;
/// The sid of the global templates, shared by every set.
pub const GLOBAL_SID: i32 = -1;
/// The tid of the master theme, which the Admin CP refuses to edit.
pub const MASTER_THEME_TID: u32 = 1;

/// Returns the sids whose rows set `sid` renders from: its own, the global and the master
/// rows. The global set inherits nothing: its files hold its own rows only.
fn rows_of(sid: i32) -> Vec<i32> {
    if sid == GLOBAL_SID { vec![GLOBAL_SID] } else { vec![MASTER_SID, GLOBAL_SID, sid] }
}

/// Everything about a board except template bodies, which are loaded per set when needed.
#[derive(Debug, Clone)]
pub struct Board {
    /// Real template sets (sid >= 1) as `(sid, title)`.
    pub sets: Vec<(i32, String)>,
    /// Template groups as `(prefix, title)`.
    pub groups: Vec<(String, String)>,
    pub themes: Vec<ThemeRow>,
    /// Every stylesheet row; a row in `oversize` has an empty `stylesheet`.
    pub stylesheets: Vec<StylesheetRow>,
    /// The stylesheet rows too big for the connection to read: their items are refused.
    pub oversize: Vec<Oversize>,
}

impl Board {
    /// Reads sets, groups, themes and stylesheets.
    pub fn load(db: &Db) -> Result<Board> {
        let (stylesheets, oversize) = db.stylesheets_within_packet()?;
        Ok(Board {
            sets: db.template_sets()?,
            groups: db.template_groups()?,
            themes: db.themes()?,
            stylesheets,
            oversize,
        })
    }

    /// Returns why the stylesheet row `row` cannot be synced, if it is too big for the
    /// connection to read: its item is refused, never compared with an empty content.
    pub fn oversize_refusal(&self, row: &StylesheetRow) -> Option<String> {
        let big = self.oversize.iter().find(|big| big.sid == row.sid)?;
        Some(big.describe(&row.name, row.tid))
    }

    /// Returns the sid of the set titled `title`: [`GLOBAL_SID`] for "Global Templates".
    pub fn set_sid(&self, title: &str) -> Option<i32> {
        if title == GLOBAL_SET_TITLE {
            return Some(GLOBAL_SID);
        }
        self.sets.iter().find(|(_, t)| t == title).map(|(sid, _)| *sid)
    }

    /// Returns the theme named `name`, the lowest tid if several share it.
    pub fn theme_by_name(&self, name: &str) -> Option<&ThemeRow> {
        self.themes.iter().find(|t| t.name == name)
    }

    /// Returns the theme with tid `tid`.
    pub fn theme(&self, tid: u32) -> Option<&ThemeRow> {
        self.themes.iter().find(|t| t.tid == tid)
    }

    /// Returns the tids of theme `tid`'s chain: itself, its parent, and so on up, as MyBB's
    /// `make_parent_theme_list()` (empty for an unknown theme). A cycle in `pid` (a damaged
    /// table) ends the chain rather than looping.
    pub fn theme_chain(&self, tid: u32) -> Vec<u32> {
        stylecache::parent_chain(tid, |t| self.theme(t).map(|theme| theme.pid)).unwrap_or_default()
    }

    /// Returns every stylesheet name theme `tid` has, own or inherited, with the row MyBB serves
    /// for it (see [`stylecache::effective_stylesheets`]).
    pub fn resolved_stylesheets(&self, tid: u32) -> BTreeMap<&str, &StylesheetRow> {
        let chain = self.theme_chain(tid);
        stylecache::effective_stylesheets(&chain, &self.stylesheets)
            .into_iter()
            .map(|row| (row.name.as_str(), row))
            .collect()
    }
}

/// The rows every set inherits where it has none of its own: the global row of a title, else
/// its master row. Loaded once and shared by the sets of a run (an `Arc`), so a board of many
/// sets holds one copy of the masters, not one per set (issue 32).
pub type Inherited = Arc<HashMap<String, TemplateRow>>;

/// Template rows by title.
type ByTitle = HashMap<String, TemplateRow>;

/// Splits rows ordered by tid into set `sid`'s own rows and the rows it inherits (global, else
/// master), each by title.
fn split_rows(sid: Option<i32>, rows: Vec<TemplateRow>) -> (ByTitle, ByTitle) {
    let (mut own, mut inherited, mut global) = (HashMap::new(), HashMap::new(), HashMap::new());
    for row in rows {
        // Rows come by ascending tid, so a later duplicate replaces an earlier one.
        match row.sid {
            s if Some(s) == sid => own.insert(row.title.clone(), row),
            GLOBAL_SID => global.insert(row.title.clone(), row),
            MASTER_SID => inherited.insert(row.title.clone(), row),
            _ => None,
        };
    }
    inherited.extend(global);
    (own, inherited)
}

/// The templates one set renders, with the row each title comes from.
#[derive(Debug, Clone, Default)]
pub struct SetTemplates {
    /// The set's own rows, by title (the highest tid of duplicates).
    own: HashMap<String, TemplateRow>,
    /// What the set inherits where it has no row of its own: global, else master.
    inherited: Inherited,
}

impl SetTemplates {
    /// Loads set `sid`'s templates (all titles, or only `titles`). The global set inherits
    /// nothing: its files hold its own rows only.
    pub fn load(db: &Db, sid: i32, titles: Option<&[String]>) -> Result<SetTemplates> {
        Ok(SetTemplates::from_rows(sid, db.templates(&rows_of(sid), titles)?))
    }

    /// Loads the rows every set inherits (see [`Inherited`]).
    pub fn load_inherited(db: &Db) -> Result<Inherited> {
        Ok(Arc::new(split_rows(None, db.templates(&[MASTER_SID, GLOBAL_SID], None)?).1))
    }

    /// Builds the rows every set inherits (see [`Inherited`]) from `rows`, every template row
    /// by tid as [`Db::versioned_templates`] returns them: only masters and global rows are
    /// taken (a set's own rows may come without their bodies).
    pub fn inherited_from_versioned(rows: Vec<VersionedTemplate>) -> Inherited {
        // Moved, not copied: the masters' text is held once (issue 32).
        let rows = rows
            .into_iter()
            .filter(|row| row.sid == MASTER_SID || row.sid == GLOBAL_SID)
            .map(|row| TemplateRow {
                tid: row.tid,
                sid: row.sid,
                title: row.title,
                template: row.template,
                dateline: row.dateline,
            })
            .collect();
        Arc::new(split_rows(None, rows).1)
    }

    /// Loads set `sid`'s own rows, inheriting `inherited` (see [`Inherited`]); the global set
    /// inherits nothing, as in [`SetTemplates::load`].
    pub fn load_own(db: &Db, sid: i32, inherited: &Inherited) -> Result<SetTemplates> {
        if sid == GLOBAL_SID {
            return SetTemplates::load(db, sid, None);
        }
        let mut set = SetTemplates::from_rows(sid, db.templates(&[sid], None)?);
        set.inherited = Arc::clone(inherited);
        Ok(set)
    }

    /// Builds the set from rows ordered by tid.
    pub fn from_rows(sid: i32, rows: Vec<TemplateRow>) -> SetTemplates {
        let (own, inherited) = split_rows(Some(sid), rows);
        SetTemplates { own, inherited: Arc::new(inherited) }
    }

    /// Returns the row MyBB renders for `title` in this set.
    pub fn rendered(&self, title: &str) -> Option<&TemplateRow> {
        self.own.get(title).or_else(|| self.inherited.get(title))
    }

    /// Returns the set's own row for `title`, the one an edit updates.
    pub fn own(&self, title: &str) -> Option<&TemplateRow> {
        self.own.get(title)
    }

    /// Returns another title this set renders that equals `title` but for letter case, if
    /// any: `templates.title`'s collation is case-insensitive, so MySQL takes them for one.
    pub fn other_case(&self, title: &str) -> Option<&str> {
        let lower = title.to_lowercase();
        self.own
            .keys()
            .chain(self.inherited.keys())
            .find(|t| t.as_str() != title && t.to_lowercase() == lower)
            .map(String::as_str)
    }

    /// Returns every rendered title with its row, sorted by title.
    pub fn all(&self) -> Vec<(&str, &TemplateRow)> {
        let mut all: Vec<(&str, &TemplateRow)> = self
            .inherited
            .iter()
            .filter(|(t, _)| !self.own.contains_key(*t))
            .map(|(t, r)| (t.as_str(), r))
            .collect();
        all.extend(self.own.iter().map(|(t, r)| (t.as_str(), r)));
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tid: u32, sid: i32, title: &str, body: &str) -> TemplateRow {
        TemplateRow { tid, sid, title: title.into(), template: body.into(), dateline: 0 }
    }

    #[test]
    fn set_beats_global_beats_master_and_the_highest_tid_wins() {
        let set = SetTemplates::from_rows(
            1,
            vec![
                row(1, MASTER_SID, "a", "master a"),
                row(2, MASTER_SID, "b", "master b"),
                row(3, MASTER_SID, "c", "master c"),
                row(4, GLOBAL_SID, "b", "global b"),
                row(5, GLOBAL_SID, "c", "global c"),
                row(6, 1, "c", "set c old"),
                row(7, 1, "c", "set c new"),
                row(8, 2, "a", "other set"),
            ],
        );
        let body = |t: &str| String::from_utf8(set.rendered(t).unwrap().template.clone()).unwrap();
        assert_eq!(body("a"), "master a");
        assert_eq!(body("b"), "global b");
        assert_eq!(body("c"), "set c new");
        assert_eq!(set.own("c").unwrap().tid, 7);
        assert!(set.own("b").is_none());
        assert_eq!(set.all().iter().map(|(t, _)| *t).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    fn theme(tid: u32, pid: u32) -> ThemeRow {
        ThemeRow {
            tid,
            name: format!("theme {tid}"),
            pid,
            def: false,
            properties: String::new(),
            stylesheets: String::new(),
        }
    }

    fn sheet(sid: u32, tid: u32, name: &str) -> StylesheetRow {
        StylesheetRow {
            sid,
            name: name.into(),
            tid,
            attachedto: String::new(),
            stylesheet: format!("sheet {sid}").into_bytes(),
            cachefile: name.into(),
            lastmodified: 0,
        }
    }

    /// MyBB's `update_theme_stylesheet_list()` reads the chain's rows `ORDER BY tid DESC` and
    /// keeps the first of each name: the nearest theme's copy, and of two same-name rows in one
    /// theme the older (lower sid), which is the one the forum's list links.
    #[test]
    fn the_stylesheet_mybb_links_is_the_one_a_file_syncs_with() {
        let board = Board {
            sets: Vec::new(),
            groups: Vec::new(),
            oversize: Vec::new(),
            themes: vec![theme(1, 0), theme(2, 1), theme(3, 2)],
            stylesheets: vec![
                sheet(1, 1, "global.css"),
                sheet(2, 1, "usercp.css"),
                sheet(3, 2, "global.css"),
                sheet(4, 2, "extra.css"),
                sheet(5, 2, "extra.css"),
                sheet(6, 9, "global.css"),
            ],
        };
        assert_eq!(board.theme_chain(3), [3, 2, 1]);
        let resolved = board.resolved_stylesheets(3);
        let sids: Vec<(&str, u32)> = resolved.iter().map(|(name, row)| (*name, row.sid)).collect();
        assert_eq!(sids, [("extra.css", 4), ("global.css", 3), ("usercp.css", 2)]);
        assert!(board.resolved_stylesheets(7).is_empty());
    }
}
