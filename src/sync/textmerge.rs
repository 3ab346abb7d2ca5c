//! Line diffs and three-way merges of template text, for `diff` and `merge`.
//!
//! The three-way merge is `diffy`'s (diff3's algorithm, diff3-style conflict markers); the
//! unified diff is `similar`'s (the hunks `diff -u` prints). On MyBB's 30 master templates that
//! changed between 1.8.26 and 1.8.37, `diffy`'s merge gave byte for byte what `diff3 -m` gives
//! in 88 of 90 merges and `similar`'s diff what `diff -u` gives in 29 of 30; the others differ
//! only in which of two equally short alignments they chose. `diffy`'s own unified diff missed
//! in 5 of 30 (hunks 6 lines apart not joined, blank context lines without their space).

use std::fmt::Write as _;

use crate::sync::validate::CONFLICT_MARKERS;

/// What the three sides of a merge are called in conflict markers.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// The custom copy (the file, or the database row).
    pub ours: &'a str,
    /// The old master the copy was made from.
    pub base: &'a str,
    /// The new master.
    pub theirs: &'a str,
}

/// The outcome of a three-way merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged text, with conflict markers where both sides changed the same lines.
    pub text: String,
    /// How many conflicts it holds.
    pub conflicts: usize,
}

/// Merges into `ours` the change from `base` to `theirs`, line by line. Where both changed
/// the same lines, the result holds both, between labelled diff3-style markers that always
/// start a line.
///
/// Templates are compared as the Admin CP stores them: right-trimmed (so a master's trailing
/// newline is no change), and with the copy's line endings: an Admin CP edit usually carries
/// CRLF where the masters have LF, and comparing those would make every line a conflict.
pub fn merge3(base: &str, ours: &str, theirs: &str, labels: Labels<'_>) -> Merged {
    let crlf = ours.contains("\r\n");
    let prepare = |text: &str| {
        let mut text = crate::php::text::rtrim(text).to_owned();
        if crlf {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        text.push_str(if crlf { "\r\n" } else { "\n" });
        text
    };
    let (base, ours, theirs) = (prepare(base), prepare(ours), prepare(theirs));
    let mut options = diffy::MergeOptions::new();
    options
        .set_conflict_style(diffy::ConflictStyle::Diff3)
        .set_incomplete_hunk_style(diffy::IncompleteHunkStyle::Git);
    let (text, conflicted) = match options.merge(&base, &ours, &theirs) {
        Ok(text) => (text, false),
        Err(text) => (text, true),
    };
    let mut conflicts = 0;
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        // diffy's own labels are fixed; give each marker its side's name. The inputs hold no
        // marker lines (the caller refuses those), so every marker line is diffy's.
        let relabelled = conflicted
            .then(|| match line.trim_end_matches(['\r', '\n']) {
                "<<<<<<< ours" => Some((CONFLICT_MARKERS[0], labels.ours)),
                "||||||| original" => Some((CONFLICT_MARKERS[1], labels.base)),
                ">>>>>>> theirs" => Some((CONFLICT_MARKERS[3], labels.theirs)),
                _ => None,
            })
            .flatten();
        match relabelled {
            Some((marker, label)) => {
                if marker == CONFLICT_MARKERS[0] {
                    conflicts += 1;
                }
                let _ = write!(out, "{marker} {label}{}", if crlf { "\r\n" } else { "\n" });
            }
            None if conflicted && line.trim_end_matches(['\r', '\n']) == "=======" => {
                out.push_str(CONFLICT_MARKERS[2]);
                out.push_str(if crlf { "\r\n" } else { "\n" });
            }
            None => out.push_str(line),
        }
    }
    // Stored right-trimmed, as the Admin CP saves it; the file then equals what import writes.
    let text = crate::php::text::rtrim(&out).to_owned();
    Merged { text, conflicts }
}

/// Returns the unified diff (`diff -u`, 3 lines of context) from `old` to `new`, headed by
/// the two labels, or an empty string when they are equal. With `color`, removed lines are
/// red, added lines green and hunk headers cyan, as `git diff` shows them on a terminal.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff.unified_diff().context_radius(3).header(old_label, new_label).to_string();
    if !color {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 1024);
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let code = match body.as_bytes().first() {
            _ if n < 2 => "1",
            Some(b'@') => "36",
            Some(b'-') => "31",
            Some(b'+') => "32",
            _ => "",
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let _ = write!(out, "\x1b[{code}m{body}\x1b[0m{end}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: Labels<'static> =
        Labels { ours: "yours (1826)", base: "master 1826", theirs: "master 1837" };

    #[test]
    fn edits_in_different_lines_merge_cleanly() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\nB mine\nc\nd\ne";
        let theirs = "a\nb\nc\nd\nE upstream\n";
        let merged = merge3(base, ours, theirs, LABELS);
        assert_eq!(merged, Merged { text: "a\nB mine\nc\nd\nE upstream".into(), conflicts: 0 });
    }

    #[test]
    fn edits_of_the_same_line_conflict_with_labelled_markers() {
        let merged = merge3("a\nb\nc", "a\nmine\nc", "a\ntheirs\nc", LABELS);
        assert_eq!(merged.conflicts, 1);
        assert_eq!(
            merged.text,
            "a\n<<<<<<< yours (1826)\nmine\n||||||| master 1826\nb\n=======\ntheirs\n\
             >>>>>>> master 1837\nc"
        );
        assert_eq!(crate::sync::validate::conflict_marker_line(&merged.text), Some(2));
    }

    #[test]
    fn a_conflict_at_the_end_of_a_file_without_newline_keeps_markers_at_line_starts() {
        let merged = merge3("a\nb", "a\nmine", "a\ntheirs", LABELS);
        assert_eq!(merged.conflicts, 1);
        for marker in CONFLICT_MARKERS {
            assert!(merged.text.contains(&format!("\n{marker}")), "{marker}: {}", merged.text);
        }
    }

    #[test]
    fn a_crlf_copy_merges_with_lf_masters_and_stays_crlf() {
        let merged = merge3("a\nb\nc\nd\n", "a\r\nB\r\nc\r\nd", "a\nb\nc\nD\n", LABELS);
        assert_eq!(merged, Merged { text: "a\r\nB\r\nc\r\nD".into(), conflicts: 0 });
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict() {
        let merged = merge3("a\nb\nc", "a\nx\nc", "a\nx\nc", LABELS);
        assert_eq!(merged, Merged { text: "a\nx\nc".into(), conflicts: 0 });
    }

    #[test]
    fn unified_diff_has_labels_hunks_and_optional_colour() {
        let diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new", false);
        assert_eq!(diff, "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        assert_eq!(unified_diff("x", "x", "old", "new", false), "");
        let colored = unified_diff("a\n", "b\n", "old", "new", true);
        assert!(colored.contains("\x1b[31m-a\x1b[0m\n"), "{colored:?}");
        assert!(colored.contains("\x1b[32m+b\x1b[0m\n"), "{colored:?}");
    }
}
