//! The theme file's queries on a PostgreSQL board (issue 28): the rows the Admin CP's Edit
//! Theme, stylesheet properties and Save Stylesheet Orders forms read and write, each write a
//! compare-and-swap in one statement (`COLLATE "C"` compares bytes), as `mysql/theme_forms.rs`
//! has them.

use super::Postgres;
use crate::error::Result;
use crate::mybb::db::{ThemeForm, decode};

impl Postgres {
    /// Returns every theme's Edit Theme fields, by tid.
    pub(crate) fn theme_forms(&self) -> Result<Vec<(u32, ThemeForm)>> {
        let sql = format!(
            "SELECT tid, name, pid, allowedgroups, properties FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.rows(&sql, &[], "read the themes' properties", "themes", |row| decode::theme_form(row))
    }

    /// Writes theme `tid`'s Edit Theme fields `new` if the row still holds `seen`. Returns
    /// false if it does not, or is gone.
    pub(crate) fn update_theme_form(
        &self,
        tid: u32,
        new: &ThemeForm,
        seen: &ThemeForm,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET name = $1, pid = $2, allowedgroups = $3, properties = $4 \
             WHERE tid = $5 AND name COLLATE \"C\" = $6 AND pid = $7 \
             AND allowedgroups COLLATE \"C\" = $8 AND properties COLLATE \"C\" = $9",
            self.table("themes")
        );
        let (pid, tid_text, seen_pid) =
            (new.pid.to_string(), tid.to_string(), seen.pid.to_string());
        let params = [
            Some(new.name.as_bytes()),
            Some(pid.as_bytes()),
            Some(new.allowedgroups.as_bytes()),
            Some(new.properties.as_bytes()),
            Some(tid_text.as_bytes()),
            Some(seen.name.as_bytes()),
            Some(seen_pid.as_bytes()),
            Some(seen.allowedgroups.as_bytes()),
            Some(seen.properties.as_bytes()),
        ];
        let what = format!("update the properties of theme {tid}");
        Ok(self.exec(&what, &sql, &params)?.affected == 1)
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
            "UPDATE {} SET attachedto = $1 WHERE sid = $2 AND attachedto COLLATE \"C\" = $3",
            self.table("themestylesheets")
        );
        let sid_text = sid.to_string();
        let params =
            [Some(attachedto.as_bytes()), Some(sid_text.as_bytes()), Some(seen.as_bytes())];
        let what = format!("set the pages of stylesheet sid {sid}");
        Ok(self.exec(&what, &sql, &params)?.affected == 1)
    }
}
