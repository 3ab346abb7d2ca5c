//! What a watcher's pull compares: only the sets and themes whose rows changed since the last
//! pull, told apart by the database's fingerprint (per set and per theme, a count and a
//! checksum of its rows), so that an Admin CP edit in one set of thirty costs one set (issue 32).

use std::collections::{BTreeMap, BTreeSet};

use crate::mybb::board::{Board, GLOBAL_SID, MASTER_SID};
use crate::sync::plan::Scope;

/// Narrows `scope` (every set and theme) to those whose rows differ between the fingerprints
/// `last` and `now` ([`Db::fingerprint`]: per set and per theme, a count and a checksum of its
/// rows): a changed master or global row changes what every set renders, a changed theme what
/// every theme below it serves; a set or theme added or deleted keeps the whole scope.
pub(super) fn changed_only(scope: &mut Scope, board: &Board, last: &[u64], now: &[u64]) {
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
    for (part, id) in changed {
        match part {
            0 if id == i64::from(MASTER_SID) || id == i64::from(GLOBAL_SID) => return,
            0 => {
                sets.insert(id);
            }
            1 => {
                themes.insert(id);
            }
            _ => return,
        }
    }
    scope.sets.retain(|(sid, _)| sets.contains(&i64::from(*sid)));
    scope
        .themes
        .retain(|(tid, _)| board.theme_chain(*tid).iter().any(|t| themes.contains(&i64::from(*t))));
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

    /// A fingerprint as `Db::fingerprint` returns it: masters, sets 1..3, themes 1..4, counts.
    fn fingerprint(changed: &[(u64, i64)]) -> Vec<u64> {
        let mut rows: Vec<(u64, i64)> = vec![(0, -2), (0, 1), (0, 2), (0, 3)];
        rows.extend([(1, 1), (1, 2), (1, 3), (1, 4)]);
        let mut out = Vec::new();
        for (part, id) in rows {
            let crc = if changed.contains(&(part, id)) { 7 } else { 1 };
            out.extend([part, id as u64, 10, crc]);
        }
        out.extend([2, 0, 3, 4]);
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
        let n = now.len();
        now[n - 2] = 4; // one more template set
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
