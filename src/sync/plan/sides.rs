//! Each item's two sides and what their comparison makes of it: what the database holds for
//! it ([`DbSide`]: the rendered content and how a write would go, or why it may not), the hash
//! the last sync recorded, what an empty file means, and the plan a verdict of `decide.rs`
//! becomes.

use std::path::PathBuf;

use crate::disk::atomic::Seen;
use crate::mybb::board::{Board, MASTER_THEME_TID};
use crate::mybb::db::now;
use crate::php::text;
use crate::sync::decide::{Prefer, Verdict};
use crate::sync::layout::ItemPath;
use crate::sync::state::{Identity, Owner, Record, content_hash};
use crate::sync::validate::{self, ItemKind};

use super::{
    Action, Context, DELETED_IN_DB_EDITED_ON_DISK, DELETED_ON_DISK_EDITED_IN_DB, Deletion,
    NO_STATE_NO_ROW, Planned, Syncer, Target, Write, normalized,
};

/// MyBB's `templates.title` is varchar(120).
const MAX_TITLE_CHARS: usize = 120;
/// MyBB's `themestylesheets.name` is varchar(30).
const MAX_STYLESHEET_NAME_CHARS: usize = 30;

/// What the database holds for one item, and how a write to it would go.
pub(super) struct DbSide {
    pub(super) kind: ItemKind,
    /// The rendered content and its stamp, if MyBB renders anything for the item.
    pub(super) rendered: Option<(Vec<u8>, u64)>,
    /// How to write the item, or why it may not be written.
    pub(super) target: std::result::Result<Target, String>,
    /// The pages a theme's own stylesheet row is attached to (`attachedto`), for a deletion
    /// to remember (see [`Deletion::Stylesheet`]); None for anything else.
    pub(super) attachedto: Option<String>,
    /// The row the item is now: its set or theme and its own row there, if any; None when
    /// the set or theme does not exist. Recorded with what is synced.
    pub(super) identity: Option<Identity>,
}

impl Syncer<'_> {
    /// Returns what the database holds for `item`, and how a write to it would go.
    pub(super) fn db_side(&self, item: &ItemPath, ctx: &Context<'_>) -> DbSide {
        match item {
            ItemPath::Template { set, title, .. } => template_side(ctx, set, title),
            ItemPath::Stylesheet { theme, name } => stylesheet_side(ctx.board, theme, name),
            ItemPath::Theme { theme } => self.theme_side(ctx, theme),
        }
    }
}

/// Returns the hash the last sync recorded for an item, given what its file and row hold now.
/// A record with a pending hash was left by a run that stopped (or was killed) between saving
/// the state and renaming files into place: the file holds the old content or the new one,
/// and either is what both sides held, so whichever of the two the file holds counts as
/// synced. A file that holds neither was edited, but on top of which is unknown (the rename
/// may not have happened): None, so that a difference is a conflict, never a local edit that
/// overwrites the row (design.md, invariant 7; issue 26). Without a row, though, None would
/// read as "never synced", a new file whose row is to be made: the item was synced, its row
/// deleted since, and the file edited on top of either content, so the old hash stands, which
/// the file does not hold (a deletion against an edit, a conflict).
pub(super) fn synced_hash(
    record: Option<Record>,
    file: Option<u64>,
    db: Option<u64>,
) -> Option<u64> {
    let record = record?;
    let Some(pending) = record.pending else { return Some(record.hash) };
    match file {
        Some(file) if file == record.hash || file == pending => Some(file),
        Some(_) if db.is_none() => Some(record.hash),
        Some(_) => None,
        // No file: the write that was to bring the pending content may never have happened
        // (a file deleted on disk being brought back, killed before its rename), so a row
        // holding it is no proof the file ever did: the old hash stands, and a row changed
        // since is a deletion against an edit (a conflict), never a revert of that edit.
        None => Some(record.hash),
    }
}

/// Returns the plan of an item from its verdict (path and `seen` are filled in by the caller).
/// `db_hash` is the hash of the database's side as [`Syncer::plan_one`] took it.
pub(super) fn outcome(
    verdict: Verdict,
    db: DbSide,
    db_hash: Option<u64>,
    content: Option<&str>,
    key: String,
) -> Planned {
    let plain = |action| Planned { path: PathBuf::new(), action, sync: None, seen: Seen::Absent };
    let stamp = db.rendered.as_ref().map_or(0, |(_, stamp)| *stamp);
    let identity = db.identity;
    let synced = |hash| Record { hash, stamp, pending: None, identity, stat: None };
    let record = |bytes: &[u8]| Some((key.clone(), synced(content_hash(bytes))));
    let file_norm = content.map(|c| normalized(db.kind, c.as_bytes()));
    match verdict {
        Verdict::Nothing => plain(Action::Missing),
        // The key goes with the action, for the record to be dropped once it is carried out.
        Verdict::DeletedInDb => Planned {
            sync: Some((key, synced(0))),
            ..plain(Action::RemoveFile { owner_gone: false, then_write: None })
        },
        Verdict::DeletedAndEdited { edited_on_disk: true } => {
            plain(Action::DeletedConflict(DELETED_IN_DB_EDITED_ON_DISK))
        }
        Verdict::DeletedAndEdited { edited_on_disk: false } => {
            plain(Action::DeletedConflict(DELETED_ON_DISK_EDITED_IN_DB))
        }
        Verdict::Unknown => plain(Action::DeletedConflict(NO_STATE_NO_ROW)),
        Verdict::DeletedOnDisk => {
            let rendered = db.rendered.map(|(bytes, _)| bytes).unwrap_or_default();
            let deletion = match db.target {
                Ok(Target::UpdateTemplate { tid, title, seen }) => {
                    Deletion::Template { tid, title, seen }
                }
                Ok(Target::UpdateStylesheet { tid, sid, name, seen }) => {
                    let attachedto = db.attachedto.unwrap_or_default();
                    Deletion::Stylesheet { tid, sid, name, seen, attachedto }
                }
                // Rendered from a master, the global set or a parent theme (or a read-only
                // theme): nothing here to delete.
                _ => {
                    let sync = match db_hash {
                        Some(hash) => Some((key, synced(hash))),
                        None => record(normalized(db.kind, &rendered)),
                    };
                    return Planned { sync, ..plain(Action::Delete(Deletion::Nothing(rendered))) };
                }
            };
            // The key goes with the action, for the record to be dropped once the row is gone.
            let sync = Some((key, synced(0)));
            Planned { sync, ..plain(Action::Delete(deletion)) }
        }
        Verdict::InSync => Planned { sync: file_norm.and_then(record), ..plain(Action::InSync) },
        Verdict::Conflict => {
            let theirs = db.rendered.map(|(bytes, _)| bytes).unwrap_or_default();
            plain(Action::Conflict(theirs))
        }
        Verdict::ToDisk => {
            let (bytes, _) = db.rendered.unwrap_or_default();
            // The very bytes `db_hash` hashed: not hashed twice (issue 16, a 600 KB pass).
            let sync = match db_hash {
                Some(hash) => Some((key, synced(hash))),
                None => record(normalized(db.kind, &bytes)),
            };
            Planned { sync, ..plain(Action::ToDisk(bytes)) }
        }
        Verdict::ToDb => match (db.target, content) {
            (Err(why), _) => plain(Action::Refused(why)),
            (Ok(target), Some(content)) => {
                let content = match db.kind {
                    ItemKind::Template => text::rtrim(content).to_owned(),
                    ItemKind::Stylesheet | ItemKind::Theme => content.to_owned(),
                };
                let hash = content_hash(content.as_bytes());
                let sync = Some((key, Record { stamp: now(), ..synced(hash) }));
                Planned { sync, ..plain(Action::ToDb(Write { target, content })) }
            }
            (Ok(_), None) => plain(Action::Missing),
        },
    }
}

/// Returns the plan of a file whose row was deleted and made again since the file was synced,
/// the file as it was then: it goes, kept, and the new row's content comes (see
/// [`Action::RemoveFile`]). Path and `seen` are filled in by the caller.
pub(super) fn replaced(db: DbSide, db_hash: Option<u64>, key: String) -> Planned {
    let (bytes, stamp) = db.rendered.unwrap_or_default();
    let hash = db_hash.unwrap_or_else(|| content_hash(normalized(db.kind, &bytes)));
    let record = Record { hash, stamp, pending: None, identity: db.identity, stat: None };
    Planned {
        path: PathBuf::new(),
        action: Action::RemoveFile { owner_gone: false, then_write: Some(bytes) },
        sync: Some((key, record)),
        seen: Seen::Absent,
    }
}

/// Returns what the database holds for template `title` of set `set`.
fn template_side(ctx: &Context<'_>, set: &str, title: &str) -> DbSide {
    let kind = ItemKind::Template;
    let Some(sid) = ctx.board.set_sid(set) else {
        let why = format!(
            "no template set named {set:?} (create it in the Admin CP first, or name it in a new \
             theme's theme.json and run import --new-themes)"
        );
        return DbSide { kind, rendered: None, target: Err(why), attachedto: None, identity: None };
    };
    let templates = ctx.sets.get(&sid);
    let rendered = templates.and_then(|s| s.rendered(title));
    // Only a new title can clash (and looking costs a pass over the set).
    let other_case =
        rendered.is_none().then(|| templates.and_then(|s| s.other_case(title))).flatten();
    let target = if title.chars().count() > MAX_TITLE_CHARS {
        Err(format!("a template title has at most {MAX_TITLE_CHARS} characters"))
    } else if let (None, Some(other)) = (rendered, other_case) {
        // MySQL's collation takes them for one title: MyBB would go on rendering the other,
        // and the Admin CP refuses such a title as existing.
        Err(format!(
            "{title:?} differs only in case from the template {other:?} of this set, which MySQL \
             and MyBB take for the same title; edit {other}.html instead"
        ))
    } else {
        Ok(match templates.and_then(|s| s.own(title)) {
            Some(own) => Target::UpdateTemplate {
                tid: own.tid,
                title: title.to_owned(),
                seen: own.template.clone(),
            },
            None => Target::InsertTemplate {
                sid,
                title: title.to_owned(),
                new_title: rendered.is_none(),
            },
        })
    };
    let row = templates.and_then(|s| s.own(title)).map(|own| own.tid);
    let identity = Some(Identity { owner: Owner::Set(sid), row });
    let rendered = rendered.map(|r| (r.template.clone(), r.dateline));
    DbSide { kind, rendered, target, attachedto: None, identity }
}

/// Returns what the database holds for stylesheet `name` of theme `theme`.
fn stylesheet_side(board: &Board, theme: &str, name: &str) -> DbSide {
    let kind = ItemKind::Stylesheet;
    let Some(theme_row) = board.theme_by_name(theme) else {
        let why = format!(
            "no theme named {theme:?} (create it in the Admin CP first, or give its folder a \
             theme.json and run import --new-themes)"
        );
        return DbSide { kind, rendered: None, target: Err(why), attachedto: None, identity: None };
    };
    let tid = theme_row.tid;
    let resolved = board.resolved_stylesheets(tid);
    let row = resolved.get(name);
    let name = name.to_owned();
    let target = if tid == MASTER_THEME_TID {
        Err("the master theme is read-only, as in the Admin CP; edit a child theme".to_owned())
    } else if name.chars().count() > MAX_STYLESHEET_NAME_CHARS {
        Err(format!("a stylesheet name has at most {MAX_STYLESHEET_NAME_CHARS} characters"))
    } else {
        Ok(match row {
            Some(row) if row.tid == tid => {
                Target::UpdateStylesheet { tid, sid: row.sid, name, seen: row.stylesheet.clone() }
            }
            Some(row) => Target::InsertStylesheet {
                tid,
                name,
                attachedto: row.attachedto.clone(),
                new_name: false,
            },
            None => {
                Target::InsertStylesheet { tid, name, attachedto: String::new(), new_name: true }
            }
        })
    };
    let own = row.filter(|r| r.tid == tid);
    let attachedto = own.map(|r| r.attachedto.clone());
    let identity = Some(Identity { owner: Owner::Theme(tid), row: own.map(|r| r.sid) });
    let rendered = row.map(|r| (r.stylesheet.clone(), r.lastmodified));
    DbSide { kind, rendered, target, attachedto, identity }
}

/// Returns why `item` is refused if it is a stylesheet whose row is too big for the
/// connection to read (issue 26): whatever its file holds, it is never compared with, nor
/// written over, a row not read.
pub(super) fn oversize_refusal(board: &Board, item: &ItemPath) -> Option<String> {
    let ItemPath::Stylesheet { theme, name } = item else { return None };
    if board.oversize.is_empty() {
        return None;
    }
    let resolved = board.resolved_stylesheets(board.theme_by_name(theme)?.tid);
    board.oversize_refusal(resolved.get(name.as_str())?)
}

/// What an empty or blank file means, where it is not simply refused.
pub(super) enum Emptied {
    /// The row is blank too: in sync.
    OverBlankRow,
    /// `--prefer db` and the row has content: the file is rewritten from it.
    RefillFromDb,
}

/// Returns what an empty or blank file (`bytes`; validation refuses both) means instead, if
/// the database side says more (see [`Emptied`]); None for any other file.
pub(super) fn emptied(bytes: &[u8], db: &DbSide, prefer: Option<Prefer>) -> Option<Emptied> {
    if !validate::is_blank(bytes) {
        return None;
    }
    let (row, _) = db.rendered.as_ref()?;
    if row.iter().all(|&b| text::is_php_trim_byte(b)) {
        Some(Emptied::OverBlankRow)
    } else if prefer == Some(Prefer::Db) {
        Some(Emptied::RefillFromDb)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_record_accepts_the_old_or_the_new_content_as_synced() {
        let (old, new, edit) = (1, 2, 3);
        let plain = Record { hash: old, stamp: 0, pending: None, identity: None, stat: None };
        assert_eq!(synced_hash(Some(plain), Some(new), Some(new)), Some(old));
        let pending = Record { pending: Some(new), ..plain };
        // Killed after the rename: the file holds the new content; the row was reverted.
        assert_eq!(synced_hash(Some(pending), Some(new), Some(old)), Some(new));
        // Killed before it: the file holds the old content, the row the new one.
        assert_eq!(synced_hash(Some(pending), Some(old), Some(new)), Some(old));
        // An edit on disk, on top of the old content or the new one: unknown, a conflict
        // whatever the row holds (issue 26: the row holding the new content was taken for
        // "the rename happened", and the edit overwrote the Admin CP's).
        assert_eq!(synced_hash(Some(pending), Some(edit), Some(new)), None);
        assert_eq!(synced_hash(Some(pending), Some(edit), Some(old)), None);
        assert_eq!(synced_hash(Some(pending), Some(edit), Some(edit + 1)), None);
        // An edit on disk of an item whose row was deleted since: synced before, never new
        // (taken for new, the edit made the deleted row again).
        assert_eq!(synced_hash(Some(pending), Some(edit), None), Some(old));
        // No file: the rename may never have happened (a deleted file being brought back),
        // so the row holding the new content is a change since, not "in sync then deleted"
        // (taken for that, the row was deleted: the chaos test, seed 1796695672355907721).
        assert_eq!(synced_hash(Some(pending), None, Some(new)), Some(old));
        assert_eq!(synced_hash(Some(pending), None, Some(edit)), Some(old));
        assert_eq!(synced_hash(None, Some(new), Some(new)), None);
    }
}
