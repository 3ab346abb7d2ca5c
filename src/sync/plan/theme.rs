//! Planning a theme's own file, `styles/<theme>/theme.json` (issue 28): what the board makes
//! of it, the file read into its canonical form (so that a file laid out differently but
//! meaning the same is in sync), the Admin CP's checks of an edit, and the pages a new
//! stylesheet file takes from it.

use std::path::Path;

use crate::mybb::board::MASTER_THEME_TID;
use crate::mybb::theme_file::{self, ThemeFile, attachment_problem};
use crate::mybb::theme_forms::{self, Checks};
use crate::sync::layout::{ItemPath, THEME_FILE};
use crate::sync::state::{Identity, Owner};
use crate::sync::validate::{self, ItemKind};

use super::sides::DbSide;
use super::{Action, Context, Planned, Syncer, Target, Write};

impl Syncer<'_> {
    /// Returns what the database holds for the file of theme `theme`: the file its rows make,
    /// and how an edit of it would be written.
    pub(super) fn theme_side(&self, ctx: &Context<'_>, theme: &str) -> DbSide {
        let kind = ItemKind::Theme;
        let Some(row) = ctx.board.theme_by_name(theme) else {
            let why = format!(
                "no theme named {theme:?}: a new theme is made from its folder only when asked, \
                 by `import --new-themes` (see `import --new-themes --dry-run`)"
            );
            return DbSide {
                kind,
                rendered: None,
                target: Err(why),
                attachedto: None,
                identity: None,
            };
        };
        let forms = ctx.forms.as_deref().unwrap_or_default();
        let Some(file) = theme_forms::render_theme(ctx.board, forms, row.tid) else {
            let why = format!("theme {theme:?} vanished while being read");
            return DbSide {
                kind,
                rendered: None,
                target: Err(why),
                attachedto: None,
                identity: None,
            };
        };
        let rendered = Some((theme_file::render(&file).into_bytes(), 0));
        let target = if row.tid == MASTER_THEME_TID {
            Err("the master theme is read-only, as in the Admin CP; edit a child theme".to_owned())
        } else {
            let new_sheets = self.new_sheets(ctx, theme, &file);
            Ok(Target::Theme { tid: row.tid, seen: Box::new(file), new_sheets })
        };
        // The theme row is the item's own: a theme deleted and made again is another one.
        let identity = Some(Identity { owner: Owner::Theme(row.tid), row: None });
        DbSide { kind, rendered, target, attachedto: None, identity }
    }

    /// Returns the stylesheet files in the folder of theme `theme` that the theme has no row
    /// of yet (`file` is what its rows make): they are created in the same run.
    fn new_sheets(&self, _ctx: &Context<'_>, theme: &str, file: &ThemeFile) -> Vec<String> {
        let dir = self.config.sync_root.join(ItemPath::theme_dir(theme));
        let mut names = crate::sync::new_themes::sheet_files(&dir);
        names.retain(|n| !file.stylesheets.contains_key(n));
        names
    }

    /// Refuses a planned write of a theme file (`parsed`) that the Admin CP's forms would
    /// refuse, in their words, naming the field: nothing is written then.
    pub(super) fn check_theme_write(
        &self,
        ctx: &Context<'_>,
        planned: &mut Planned,
        parsed: &ThemeFile,
    ) {
        let Action::ToDb(Write { target: Target::Theme { tid, seen, new_sheets }, .. }) =
            &planned.action
        else {
            return;
        };
        let checks = Checks { mybb_root: self.config.mybb_root.as_deref(), new_sheets };
        if let Err(why) = theme_forms::check(self.db, ctx.board, *tid, seen, parsed, checks) {
            planned.action = Action::Refused(why);
            planned.sync = None;
        }
    }
}

/// Returns a theme file's bytes in canonical form, with what they say, or why they cannot be
/// read: the checks every file passes (size, UTF-8, NUL, blank, conflict markers), then JSON
/// (an error names line and column).
pub(super) fn canonical(bytes: &[u8]) -> Result<(Vec<u8>, ThemeFile), String> {
    let text = validate::validate(ItemKind::Theme, bytes).map_err(|r| r.to_string())?;
    let parsed = theme_file::parse(text)?;
    Ok((theme_file::render(&parsed).into_bytes(), parsed))
}

/// Returns the pages (`attachedto`) that the theme file beside a new stylesheet file gives it,
/// if the theme file lists it with well-formed pages: a stylesheet created from a file is
/// attached as its theme file says, not linked on every page.
pub(super) fn pages_from_theme_file(root: &Path, theme: &str, name: &str) -> Option<String> {
    let path = root.join(ItemPath::theme_dir(theme)).join(THEME_FILE);
    let bytes = std::fs::read(path).ok()?;
    let (_, parsed) = canonical(&bytes).ok()?;
    let sheet = parsed.stylesheets.get(name)?;
    if sheet.attachedto.iter().any(|e| attachment_problem(e).is_some()) {
        return None;
    }
    Some(sheet.attachedto_column())
}
