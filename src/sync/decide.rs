//! The three-way decision for one item: which side changed since the last sync, and so which
//! way it goes. Pure; this table is the heart of conflict detection.

use crate::sync::state::content_hash;

/// Which side wins where file and database differ (`--prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Disk,
    Db,
}

/// The three-way verdict for one item, from the normalized file content, the normalized
/// database content, and the hash recorded at the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    InSync,
    ToDb,
    ToDisk,
    Conflict,
    /// Synced before, the file is gone and the row unchanged since: deleted on disk. Applying
    /// it does what the Admin CP offers for the item (revert, delete, or nothing to delete).
    DeletedOnDisk,
    /// Synced before, the row is gone and the file unchanged since: deleted in the database.
    /// The file goes (a copy is kept).
    DeletedInDb,
    /// One side deleted the item, the other edited it since the last sync (`edited_on_disk`
    /// says which was edited): a conflict; nothing is deleted or recreated.
    DeletedAndEdited {
        edited_on_disk: bool,
    },
    /// The file has no row, and there is no sync state at all to tell a new file from one
    /// whose row was deleted (a clone of the tree without `.mybb-sync/`): nothing is created
    /// unless `--prefer disk` says so.
    Unknown,
    /// Neither side has the item, or the file is gone and the row was never synced from it.
    Nothing,
}

/// Decides the direction of one item. Pure: this table is the heart of conflict detection.
/// Existence is part of it (design.md, "Existence is part of the three-way state"): an item
/// synced before (`synced` is Some) and now absent on one side was deleted there.
/// `recreate_missing` (export) writes a file whose row exists even if the file was deleted.
/// `stateless`: the root has no sync state at all, so a file without a row may be a leftover
/// of a deleted item as well as a new one.
pub fn decide(
    file: Option<&[u8]>,
    db: Option<&[u8]>,
    synced: Option<u64>,
    prefer: Option<Prefer>,
    recreate_missing: bool,
    stateless: bool,
) -> Verdict {
    let changed = |side: &[u8]| synced != Some(content_hash(side));
    match (file, db) {
        (None, None) => Verdict::Nothing,
        // Never synced: new in the database (or in the Admin CP since the export).
        (None, Some(_)) if synced.is_none() => Verdict::ToDisk,
        (None, Some(_)) if recreate_missing || prefer == Some(Prefer::Db) => Verdict::ToDisk,
        (None, Some(d)) if changed(d) => match prefer {
            // Asked to: the deletion on disk wins over the edit in the database.
            Some(Prefer::Disk) => Verdict::DeletedOnDisk,
            _ => Verdict::DeletedAndEdited { edited_on_disk: false },
        },
        (None, Some(_)) => Verdict::DeletedOnDisk,
        (Some(_), None) if prefer == Some(Prefer::Disk) => Verdict::ToDb,
        (Some(_), None) if synced.is_none() => {
            if stateless {
                Verdict::Unknown
            } else {
                Verdict::ToDb
            }
        }
        (Some(_), None) if prefer == Some(Prefer::Db) => Verdict::DeletedInDb,
        (Some(f), None) if changed(f) => Verdict::DeletedAndEdited { edited_on_disk: true },
        (Some(_), None) => Verdict::DeletedInDb,
        (Some(f), Some(d)) if f == d => Verdict::InSync,
        (Some(f), Some(d)) => match prefer {
            Some(Prefer::Disk) => Verdict::ToDb,
            Some(Prefer::Db) => Verdict::ToDisk,
            None => match (synced.is_some() && changed(f), synced.is_some() && changed(d)) {
                (true, false) => Verdict::ToDb,
                (false, true) => Verdict::ToDisk,
                // Both changed, no record, or a record matching neither: don't guess.
                _ => Verdict::Conflict,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(bytes: &[u8]) -> Option<u64> {
        Some(content_hash(bytes))
    }

    #[test]
    fn only_the_side_that_changed_since_the_last_sync_wins() {
        assert_eq!(
            decide(Some(b"new"), Some(b"old"), h(b"old"), None, false, false),
            Verdict::ToDb
        );
        assert_eq!(
            decide(Some(b"old"), Some(b"new"), h(b"old"), None, false, false),
            Verdict::ToDisk
        );
        assert_eq!(
            decide(Some(b"a"), Some(b"b"), h(b"old"), None, false, false),
            Verdict::Conflict
        );
        assert_eq!(
            decide(Some(b"same"), Some(b"same"), h(b"old"), None, false, false),
            Verdict::InSync
        );
    }

    #[test]
    fn without_a_record_a_difference_is_a_conflict_not_a_guess() {
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, None, false, false), Verdict::Conflict);
        assert_eq!(decide(Some(b"a"), Some(b"a"), None, None, false, false), Verdict::InSync);
        assert_eq!(
            decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Disk), false, false),
            Verdict::ToDb
        );
        assert_eq!(
            decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Db), false, false),
            Verdict::ToDisk
        );
    }

    #[test]
    fn an_item_synced_before_and_absent_on_one_side_was_deleted_there() {
        // Deleted on disk: a deletion, unless the row changed (a conflict) or export recreates.
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, false, false), Verdict::DeletedOnDisk);
        assert_eq!(
            decide(None, Some(b"d2"), h(b"d"), None, false, false),
            Verdict::DeletedAndEdited { edited_on_disk: false }
        );
        assert_eq!(
            decide(None, Some(b"d2"), h(b"d"), Some(Prefer::Disk), false, false),
            Verdict::DeletedOnDisk
        );
        assert_eq!(
            decide(None, Some(b"d2"), h(b"d"), Some(Prefer::Db), false, false),
            Verdict::ToDisk
        );
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, true, false), Verdict::ToDisk);
        assert_eq!(
            decide(None, Some(b"new in the Admin CP"), None, None, false, false),
            Verdict::ToDisk
        );
        // Deleted in the database: the file goes, unless it was edited (a conflict).
        assert_eq!(decide(Some(b"f"), None, h(b"f"), None, false, false), Verdict::DeletedInDb);
        assert_eq!(
            decide(Some(b"f2"), None, h(b"f"), None, false, false),
            Verdict::DeletedAndEdited { edited_on_disk: true }
        );
        assert_eq!(
            decide(Some(b"f2"), None, h(b"f"), Some(Prefer::Disk), false, false),
            Verdict::ToDb
        );
        assert_eq!(
            decide(Some(b"f2"), None, h(b"f"), Some(Prefer::Db), false, false),
            Verdict::DeletedInDb
        );
        // Never synced: a new file creates its row, unless there is no state to tell.
        assert_eq!(decide(Some(b"f"), None, None, None, false, false), Verdict::ToDb);
        assert_eq!(decide(Some(b"f"), None, None, None, false, true), Verdict::Unknown);
        assert_eq!(decide(Some(b"f"), None, None, Some(Prefer::Disk), false, true), Verdict::ToDb);
        assert_eq!(decide(None, None, None, None, false, false), Verdict::Nothing);
    }
}
