//! The theme file's queries (issue 28): the rows the Admin CP's Edit Theme, stylesheet
//! properties and Save Stylesheet Orders forms read and write (admin/modules/style/themes.php),
//! each write a compare-and-swap in one statement. Kept apart from `themes.rs` (the theme
//! package's) so that each feature's statements stay in one place.

use mysql::prelude::Queryable;

use super::MySql;
use crate::error::Result;
use crate::mybb::db::{ThemeForm, decode};

impl MySql {
    /// Returns every theme's Edit Theme fields, by tid.
    pub(crate) fn theme_forms(&self) -> Result<Vec<(u32, ThemeForm)>> {
        let sql = format!(
            "SELECT tid, name, pid, allowedgroups, properties FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.query_rows(sql, "read the themes' properties", "themes", |row| decode::theme_form(row))
    }

    /// Writes theme `tid`'s Edit Theme fields `new` if the row still holds `seen` (every
    /// field compared byte for byte). Returns false if it does not, or is gone.
    pub(crate) fn update_theme_form(
        &self,
        tid: u32,
        new: &ThemeForm,
        seen: &ThemeForm,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET name = ?, pid = ?, allowedgroups = ?, properties = ? \
             WHERE tid = ? AND name = BINARY ? AND pid = ? AND allowedgroups = BINARY ? \
             AND properties = BINARY ?",
            self.table("themes")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(
            sql,
            (
                &new.name,
                new.pid,
                &new.allowedgroups,
                &new.properties,
                tid,
                &seen.name,
                seen.pid,
                &seen.allowedgroups,
                &seen.properties,
            ),
        )
        .map_err(|e| self.query_error(format!("update the properties of theme {tid}"), e))?;
        // Matched rows, not changed ones: the connection asks for CLIENT_FOUND_ROWS.
        Ok(conn.affected_rows() == 1)
    }

    /// Sets stylesheet row `sid`'s `attachedto` if it still holds `seen`. Returns false if it
    /// does not, or is gone.
    pub(crate) fn update_stylesheet_attachedto(
        &self,
        sid: u32,
        attachedto: &str,
        seen: &str,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET attachedto = ? WHERE sid = ? AND attachedto = BINARY ?",
            self.table("themestylesheets")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (attachedto, sid, seen))
            .map_err(|e| self.query_error(format!("set the pages of stylesheet sid {sid}"), e))?;
        Ok(conn.affected_rows() == 1)
    }
}
