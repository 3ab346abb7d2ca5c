//! The items that inherit what a round wrote or deleted: a parent theme's stylesheet in its
//! descendant themes, a global template in every set. Their files are brought to disk in the
//! same batch, through the same compare-and-swap as any pull.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::sync::plan::{Action, Planned, Syncer};

use super::{Round, ToWrite};

impl Syncer<'_> {
    /// Brings to disk, in the same batch, the files of the themes and sets that inherit what
    /// the round wrote or deleted (design.md: a write of ours that changes what another theme
    /// or set renders re-plans every dependant). Each goes through the same compare-and-swap as
    /// any pull: a file edited locally meanwhile becomes a conflict, never a loss.
    pub(super) fn refresh_dependants(&self, round: &mut Round<'_>) -> Result<()> {
        if round.inherited.is_empty() {
            return Ok(());
        }
        let written = std::mem::take(&mut round.inherited);
        let board = crate::mybb::board::Board::load(self.db)?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for path in &written {
            for dependant in self.dependants(&board, path) {
                if !round.planned.contains(&dependant) && !paths.contains(&dependant) {
                    paths.push(dependant);
                }
            }
        }
        if paths.is_empty() {
            return Ok(());
        }
        for planned in self.plan_paths(&paths, round.state)? {
            match planned.action {
                Action::ToDisk(bytes) => {
                    log::info!(
                        "{}: inherits what was just written; brought to disk",
                        self.config.shown(&planned.path)
                    );
                    let Planned { path, sync, seen, .. } = planned;
                    round.to_write.push(ToWrite { path, bytes, seen, sync });
                }
                Action::Conflict(_) => self.apply_item(round, planned)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Returns the files of the items that inherit the item at `path` (whose row was just
    /// written or deleted), where they exist: for a stylesheet, the same name in every
    /// descendant theme, and the theme files of its theme and of those; for a theme file, the
    /// descendants' theme files; for a global template, the same title in every set. Those with a row
    /// of their own are planned too, and found in sync.
    pub(super) fn dependants(
        &self,
        board: &crate::mybb::board::Board,
        path: &Path,
    ) -> Vec<PathBuf> {
        use crate::sync::layout::{self, GLOBAL_SET_TITLE, ItemPath};
        let root = &self.config.sync_root;
        let relative = self.config.relative(path);
        let items: Vec<ItemPath> = match layout::parse(&relative) {
            Ok(ItemPath::Stylesheet { theme, name }) => {
                let Some(tid) = board.theme_by_name(&theme).map(|t| t.tid) else {
                    return Vec::new();
                };
                let descendants = board
                    .themes
                    .iter()
                    .filter(|t| t.tid != tid && board.theme_chain(t.tid).contains(&tid));
                let sheets = descendants
                    .clone()
                    .map(|t| ItemPath::Stylesheet { theme: t.name.clone(), name: name.clone() });
                // The theme files list every stylesheet a theme has: a row made or deleted
                // changes the theme's own file and its descendants' (issue 28).
                let theme_files = std::iter::once(theme.clone())
                    .chain(descendants.map(|t| t.name.clone()))
                    .map(|theme| ItemPath::Theme { theme });
                sheets.chain(theme_files).collect()
            }
            // A theme renamed through its file is its children's parent by name.
            Ok(ItemPath::Theme { theme }) => {
                let Some(tid) = board.theme_by_name(&theme).map(|t| t.tid) else {
                    return Vec::new();
                };
                board
                    .themes
                    .iter()
                    .filter(|t| t.tid != tid && board.theme_chain(t.tid).contains(&tid))
                    .map(|t| ItemPath::Theme { theme: t.name.clone() })
                    .collect()
            }
            Ok(ItemPath::Template { set, title, .. }) if set == GLOBAL_SET_TITLE => board
                .sets
                .iter()
                .map(|(_, set)| ItemPath::Template {
                    set: set.clone(),
                    group: layout::group_folder(&title, &board.groups),
                    title: title.clone(),
                })
                .collect(),
            _ => return Vec::new(),
        };
        items
            .into_iter()
            .map(|item| root.join(item.to_relative()))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect()
    }
}
