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
    /// The file is gone, the row unchanged since the last sync: keep the row, write nothing.
    Missing,
    /// The row is gone, the file unchanged since the last sync: keep the file, write nothing.
    GoneFromDb,
    /// Neither side has the item.
    Nothing,
}

/// Decides the direction of one item. Pure: this table is the heart of conflict detection.
/// `recreate_missing` (export) writes a file whose row exists even if the file was deleted.
pub fn decide(
    file: Option<&[u8]>,
    db: Option<&[u8]>,
    synced: Option<u64>,
    prefer: Option<Prefer>,
    recreate_missing: bool,
) -> Verdict {
    let changed = |side: &[u8]| synced != Some(content_hash(side));
    match (file, db) {
        (None, None) => Verdict::Nothing,
        (None, Some(d)) => {
            if recreate_missing || synced.is_none() || changed(d) {
                Verdict::ToDisk
            } else {
                Verdict::Missing
            }
        }
        (Some(f), None) => {
            if synced.is_some() && !changed(f) && prefer != Some(Prefer::Disk) {
                Verdict::GoneFromDb
            } else {
                Verdict::ToDb
            }
        }
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
        assert_eq!(decide(Some(b"new"), Some(b"old"), h(b"old"), None, false), Verdict::ToDb);
        assert_eq!(decide(Some(b"old"), Some(b"new"), h(b"old"), None, false), Verdict::ToDisk);
        assert_eq!(decide(Some(b"a"), Some(b"b"), h(b"old"), None, false), Verdict::Conflict);
        assert_eq!(decide(Some(b"same"), Some(b"same"), h(b"old"), None, false), Verdict::InSync);
    }

    #[test]
    fn without_a_record_a_difference_is_a_conflict_not_a_guess() {
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, None, false), Verdict::Conflict);
        assert_eq!(decide(Some(b"a"), Some(b"a"), None, None, false), Verdict::InSync);
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Disk), false), Verdict::ToDb);
        assert_eq!(decide(Some(b"a"), Some(b"b"), None, Some(Prefer::Db), false), Verdict::ToDisk);
    }

    #[test]
    fn missing_sides() {
        // A deleted file keeps its row, unless the row changed or export recreates it.
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, false), Verdict::Missing);
        assert_eq!(decide(None, Some(b"d2"), h(b"d"), None, false), Verdict::ToDisk);
        assert_eq!(decide(None, Some(b"d"), h(b"d"), None, true), Verdict::ToDisk);
        assert_eq!(decide(None, Some(b"new in the Admin CP"), None, None, false), Verdict::ToDisk);
        // A new file creates its row; a file whose row was deleted is kept.
        assert_eq!(decide(Some(b"f"), None, None, None, false), Verdict::ToDb);
        assert_eq!(decide(Some(b"f"), None, h(b"f"), None, false), Verdict::GoneFromDb);
        assert_eq!(decide(Some(b"f2"), None, h(b"f"), None, false), Verdict::ToDb);
        assert_eq!(decide(None, None, None, None, false), Verdict::Nothing);
    }
}
