//! What a watcher's pull compares: only the sets and themes whose rows changed since the last
//! pull, told apart by the database's fingerprint (per set and per theme, a count and a
//! checksum of its rows), so that an Admin CP edit in one set of thirty costs one set (issue 32).

use std::collections::{BTreeMap, BTreeSet};

use crate::mybb::board::{Board, GLOBAL_SID, MASTER_SID};
use crate::sync::plan::Scope;

/// Narrows `scope` (every set and theme) to those whose rows differ between the fingerprints
/// `last` and `now` ([`Db::fingerprint`]: per set and per theme, a count and a checksum of its
/// rows; per theme, its Edit Theme fields): a changed master row changes what every set
/// renders; a changed theme (its stylesheets or its fields) what every theme below it serves;
/// a set or theme added or deleted keeps the whole scope, as do two themes of one name (a
/// rename onto another's folder is for the whole comparison to find).
///
/// Returns true when the global set (sid -1) changed: it is kept in the scope and the other
/// sets are not widened here, since a change of ours (a saved Global Templates file, whose
/// dependants the batch brought to disk itself) changes nothing else. The caller compares the
/// global set first and widens to every set if a global row differs from its record.
pub(super) fn changed_only(scope: &mut Scope, board: &Board, last: &[u64], now: &[u64]) -> bool {
    let parts = |fingerprint: &[u64]| -> BTreeMap<(u64, u64), (u64, u64)> {
        fingerprint.chunks_exact(4).map(|c| ((c[0], c[1]), (c[2], c[3]))).collect()
    };
    let (last, now) = (parts(last), parts(now));
    let keys: BTreeSet<&(u64, u64)> = last.keys().chain(now.keys()).collect();
    let changed: Vec<(u64, i64)> = keys
        .into_iter()
        .filter(|key| last.get(key) != now.get(key))
        .map(|&(part, id)| (part, id as i64))
        .collect();
    let (mut sets, mut themes) = (BTreeSet::new(), BTreeSet::new());
    let mut global = false;
    for (part, id) in changed {
        match part {
            0 if id == i64::from(MASTER_SID) => return false,
            0 => {
                global |= id == i64::from(GLOBAL_SID);
                sets.insert(id);
            }
            1 => {
                themes.insert(id);
            }
            // A theme's fields (name, parent, groups, properties): only where the theme was
            // there before and still is; one made or deleted keeps the whole scope.
            3 if last.contains_key(&(3, id as u64)) && now.contains_key(&(3, id as u64)) => {
                themes.insert(id);
            }
            _ => return false,
        }
    }
    let names: BTreeSet<&str> = board.themes.iter().map(|t| t.name.as_str()).collect();
    if !themes.is_empty() && names.len() != board.themes.len() {
        return false;
    }
    scope.sets.retain(|(sid, _)| sets.contains(&i64::from(*sid)));
    scope
        .themes
        .retain(|(tid, _)| board.theme_chain(*tid).iter().any(|t| themes.contains(&i64::from(*t))));
    global
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mybb::db::ThemeRow;

    fn board() -> Board {
        let theme = |tid, pid| ThemeRow {
            tid,
            name: format!("theme {tid}"),
            pid,
            def: false,
            properties: String::new(),
            stylesheets: String::new(),
        };
        Board {
            sets: vec![(1, "One".into()), (2, "Two".into()), (3, "Three".into())],
            groups: Vec::new(),
            themes: vec![theme(1, 0), theme(2, 1), theme(3, 2), theme(4, 1)],
            stylesheets: Vec::new(),
            oversize: Vec::new(),
        }
    }

    fn scope() -> Scope {
        Scope {
            sets: vec![(1, "One".into()), (2, "Two".into()), (3, "Three".into())],
            themes: vec![(2, "theme 2".into()), (3, "theme 3".into()), (4, "theme 4".into())],
            every_file: false,
        }
    }

    /// A fingerprint as `Db::fingerprint` returns it: masters, globals, sets 1..3, themes 1..4,
    /// the sets' count, the themes' fields.
    fn fingerprint(changed: &[(u64, i64)]) -> Vec<u64> {
        let mut rows: Vec<(u64, i64)> = vec![(0, -2), (0, -1), (0, 1), (0, 2), (0, 3)];
        rows.extend([(1, 1), (1, 2), (1, 3), (1, 4)]);
        let mut out = Vec::new();
        for (part, id) in rows {
            let crc = if changed.contains(&(part, id)) { 7 } else { 1 };
            out.extend([part, id as u64, 10, crc]);
        }
        out.extend([2, 0, 3, 4]);
        for tid in 1..=4 {
            let crc = if changed.contains(&(3, tid)) { 7 } else { 1 };
            out.extend([3, tid as u64, 1, crc]);
        }
        out
    }

    fn narrowed(changed: &[(u64, i64)]) -> Scope {
        let mut scope = scope();
        changed_only(&mut scope, &board(), &fingerprint(&[]), &fingerprint(changed));
        scope
    }

    #[test]
    fn a_pull_compares_only_the_set_whose_rows_changed() {
        let scope = narrowed(&[(0, 2)]);
        assert_eq!(scope.sets, [(2, "Two".to_owned())]);
        assert!(scope.themes.is_empty());
    }

    #[test]
    fn a_changed_master_row_changes_every_set() {
        assert_eq!(narrowed(&[(0, -2)]).sets.len(), 3);
        assert_eq!(narrowed(&[(0, -2)]).themes.len(), 3);
    }

    #[test]
    fn a_changed_global_row_keeps_the_global_set_for_the_caller_to_check_first() {
        let mut scope = scope();
        scope.sets.push((-1, "Global Templates".into()));
        let changed = fingerprint(&[(0, -1)]);
        assert!(changed_only(&mut scope, &board(), &fingerprint(&[]), &changed));
        assert_eq!(scope.sets, [(-1, "Global Templates".to_owned())]);
        assert!(scope.themes.is_empty());
        // With another set changed too, both are kept.
        let mut scope = self::scope();
        scope.sets.push((-1, "Global Templates".into()));
        let changed = fingerprint(&[(0, -1), (0, 3)]);
        assert!(changed_only(&mut scope, &board(), &fingerprint(&[]), &changed));
        assert_eq!(scope.sets.len(), 2);
        // A set's change alone is no global one.
        let mut scope = self::scope();
        assert!(!changed_only(&mut scope, &board(), &fingerprint(&[]), &fingerprint(&[(0, 2)])));
    }

    #[test]
    fn a_themes_changed_fields_change_it_and_the_themes_below_it() {
        let scope = narrowed(&[(3, 2)]);
        assert!(scope.sets.is_empty());
        let tids: Vec<u32> = scope.themes.iter().map(|(tid, _)| *tid).collect();
        assert_eq!(tids, [2, 3]);
        let tids: Vec<u32> = narrowed(&[(3, 4)]).themes.iter().map(|(tid, _)| *tid).collect();
        assert_eq!(tids, [4]);
    }

    #[test]
    fn a_theme_made_or_two_themes_of_one_name_keep_the_whole_scope() {
        let mut scope = scope();
        let last = fingerprint(&[]);
        let mut now = last.clone();
        now.extend([3, 5, 1, 1]); // theme 5 made
        changed_only(&mut scope, &board(), &last, &now);
        assert_eq!((scope.sets.len(), scope.themes.len()), (3, 3));
        let mut board = board();
        board.themes[3].name = "theme 2".into();
        let mut scope = self::scope();
        changed_only(&mut scope, &board, &last, &fingerprint(&[(3, 4)]));
        assert_eq!((scope.sets.len(), scope.themes.len()), (3, 3));
    }

    #[test]
    fn a_changed_theme_changes_the_themes_below_it() {
        let scope = narrowed(&[(1, 2)]);
        assert!(scope.sets.is_empty());
        let tids: Vec<u32> = scope.themes.iter().map(|(tid, _)| *tid).collect();
        assert_eq!(tids, [2, 3]);
        // The master theme: every theme inherits from it.
        assert_eq!(narrowed(&[(1, 1)]).themes.len(), 3);
    }

    #[test]
    fn a_set_added_or_deleted_keeps_the_whole_scope() {
        let mut scope = scope();
        let mut now = fingerprint(&[]);
        let last = now.clone();
        let sets = now.chunks_exact(4).position(|c| c[0] == 2).unwrap();
        now[sets * 4 + 2] = 4; // one more template set
        changed_only(&mut scope, &board(), &last, &now);
        assert_eq!(scope.sets.len(), 3);
        assert_eq!(scope.themes.len(), 3);
    }

    #[test]
    fn nothing_changed_compares_nothing() {
        let scope = narrowed(&[]);
        assert!(scope.sets.is_empty() && scope.themes.is_empty());
    }
}
