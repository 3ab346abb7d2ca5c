//! The upgrade commands' queries (`outdated`, `merge`, `revert`): custom copies against the
//! masters they came from, MyBB's "Find Updated Templates" condition verbatim, the digest that
//! says when the baseline must be refreshed, and the revert's compare-and-swap DELETE.

use mysql::prelude::Queryable;

use super::MySql;
use crate::error::{Error, Result};
use crate::mybb::db::{VersionedTemplate, decode, sql};

impl MySql {
    /// Returns every master (sid -2), global (sid -1) and set (sid >= 1) template with its
    /// version, ordered by tid (so a later duplicate of one (sid, title) wins, as in MyBB).
    pub(crate) fn versioned_templates(&self, set_bodies: bool) -> Result<Vec<VersionedTemplate>> {
        // Without the sets' bodies, a set's row comes with an empty template.
        let body = if set_bodies { "template" } else { "IF(sid < 0, template, '')" };
        let sql = format!(
            "SELECT tid, sid, title, version, {body}, dateline FROM {} \
             WHERE sid >= -2 AND sid <> 0",
            self.table("templates")
        );
        let mut rows =
            self.query_rows(sql, "read the templates and their versions", "templates", |row| {
                decode::versioned_template(row)
            })?;
        rows.sort_unstable_by_key(|row| row.tid); // here, not in SQL: see `templates`
        Ok(rows)
    }

    /// Returns the tids of the custom rows (set rows, and global rows) that MyBB's "Find Updated
    /// Templates" query finds: a master of the same title has a greater version and other
    /// content. Each tid once, ascending.
    pub(crate) fn find_updated(&self) -> Result<Vec<u32>> {
        let t = self.table("templates");
        self.query_rows(
            sql::find_updated(&t),
            "find the templates an upgrade made outdated",
            "templates",
            |row| row.take(0, "tid"),
        )
    }

    /// Returns a cheap digest of the master templates and of which custom rows exist: it
    /// changes when an upgrade, a plugin or a hand edit changes a master, and when a custom
    /// copy is added or deleted. The baseline is refreshed only when it changes.
    pub(crate) fn templates_digest(&self) -> Result<String> {
        let t = self.table("templates");
        let sql = format!(
            "SELECT CAST(CONCAT_WS(':',
                (SELECT COUNT(*) FROM {t} WHERE sid = -2),
                (SELECT COALESCE(SUM(CRC32(CONCAT_WS(CHAR(0), title, version, template))), 0)
                   FROM {t} WHERE sid = -2),
                (SELECT COALESCE(MAX(tid), 0) FROM {t} WHERE sid = -2),
                (SELECT COUNT(*) FROM {t} WHERE sid <> -2),
                (SELECT COALESCE(SUM(tid), 0) FROM {t} WHERE sid <> -2)) AS CHAR)"
        );
        let digest =
            self.query_computed(sql, "digest the master templates", "the digest", |row| {
                row.text(0, "digest")
            })?;
        digest
            .into_iter()
            .next()
            .ok_or_else(|| Error::Data { what: "the template digest query returned no row".into() })
    }

    /// Deletes custom template row `tid` (a set's or a global row), as the Admin CP's "Revert
    /// to Original" does (`delete_query("templates", "tid=...")`). A master row is never
    /// deleted: the statement itself excludes sid -2. Only if the row still holds `seen` byte
    /// for byte: an Admin CP edit since it was read is not thrown away unseen. Returns true if
    /// and only if a row went.
    pub(crate) fn delete_custom_template(
        &self,
        tid: u32,
        title: &str,
        seen: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE tid = ? AND (sid > 0 OR sid = -1) AND template = BINARY ?",
            self.table("templates")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (tid, seen))
            .map_err(|e| self.query_error(format!("revert template {title:?} (tid {tid})"), e))?;
        Ok(conn.affected_rows() > 0)
    }
}
