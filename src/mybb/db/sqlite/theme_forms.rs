//! The theme file's queries on a SQLite board (issue 28): the rows the Admin CP's Edit Theme,
//! stylesheet properties and Save Stylesheet Orders forms read and write, each write a
//! compare-and-swap in one statement (`CAST(column AS BLOB)` compares bytes).

use rusqlite::params;

use super::Sqlite;
use crate::error::Result;
use crate::mybb::db::{ThemeForm, decode};

impl Sqlite {
    /// Returns every theme's Edit Theme fields, by tid.
    pub(crate) fn theme_forms(&self) -> Result<Vec<(u32, ThemeForm)>> {
        let sql = format!(
            "SELECT tid, name, pid, allowedgroups, properties FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.rows(&sql, vec![], "read the themes' properties", "themes", |row| {
            decode::theme_form(row)
        })
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
            "UPDATE {} SET name = ?, pid = ?, allowedgroups = ?, properties = ? \
             WHERE tid = ? AND CAST(name AS BLOB) = ? AND pid = ? \
             AND CAST(allowedgroups AS BLOB) = ? AND CAST(properties AS BLOB) = ?",
            self.table("themes")
        );
        let what = format!("update the properties of theme {tid}");
        let changed = self.run(
            &what,
            &sql,
            params![
                new.name,
                new.pid,
                new.allowedgroups,
                new.properties,
                tid,
                seen.name.as_bytes(),
                seen.pid,
                seen.allowedgroups.as_bytes(),
                seen.properties.as_bytes()
            ],
        )?;
        Ok(changed == 1)
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
            "UPDATE {} SET attachedto = ? WHERE sid = ? AND CAST(attachedto AS BLOB) = ?",
            self.table("themestylesheets")
        );
        let what = format!("set the pages of stylesheet sid {sid}");
        Ok(self.run(&what, &sql, params![attachedto, sid, seen.as_bytes()])? == 1)
    }
}
