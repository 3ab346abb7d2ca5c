//! SQL text the engines share: statements that read the same in every dialect, written once.
//! Only engine-neutral text lives here; a statement with a dialect piece (placeholders `?` or
//! `$1`, a byte-exact comparison, CRC32, quoting) stays whole in its engine's folder, where the
//! statement an engine sends can be read in one place with the code that binds its parameters.

/// Returns MyBB's "Find Updated Templates" query (`admin/modules/style/templates.php`, action
/// `find_updated`) over the templates table `t` (prefixed): the tids of the custom rows whose
/// master of the same title has a greater version and other content, each once, ascending.
/// The condition is MyBB's verbatim, so that each database compares the varchar versions as it
/// does for MyBB. MyBB checks only set rows (`t.sid > 0`); mybb-sync checks global rows (sid
/// -1) too, which the Admin CP never does.
pub(crate) fn find_updated(t: &str) -> String {
    format!(
        "SELECT DISTINCT t.tid FROM {t} t
             LEFT JOIN {t} m ON (m.title=t.title AND m.sid=-2 AND m.version > t.version)
             WHERE (t.sid > 0 OR t.sid = -1) AND m.template != t.template ORDER BY t.tid"
    )
}
