//! Development themes (issue 29) on SQLite: the statements of the Admin CP's Edit Theme
//! (`allowedgroups`), Delete Theme and Delete Template Set, as `mysql/devtheme.rs` has them.

use rusqlite::params;

use super::Sqlite;
use crate::error::Result;

impl Sqlite {
    /// Writes theme `tid`'s `allowedgroups`. Never the master theme (tid 1).
    pub(crate) fn set_theme_allowedgroups(&self, tid: u32, groups: &str) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET allowedgroups = ? WHERE tid = ? AND tid <> 1",
            self.table("themes")
        );
        let what = format!("restrict theme {tid} to groups {groups}");
        self.run(&what, &sql, params![groups, tid]).map(drop)
    }

    /// Deletes every stylesheet row of theme `tid` (never the master theme's).
    pub(crate) fn delete_theme_stylesheets(&self, tid: u32) -> Result<()> {
        let sql =
            format!("DELETE FROM {} WHERE tid = ? AND tid <> 1", self.table("themestylesheets"));
        self.run(&format!("delete the stylesheets of theme {tid}"), &sql, params![tid]).map(drop)
    }

    /// Sets `users.style` to 0 where it names theme `tid`; nothing without a `users` table.
    pub(crate) fn reset_users_style(&self, tid: u32) -> Result<()> {
        let exists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
        let what = "look for the users table";
        let n: i64 = self
            .conn()
            .query_row(exists, params![self.name("users")], |row| row.get(0))
            .map_err(|e| self.error(what, e))?;
        if n == 0 {
            return Ok(());
        }
        let sql = format!("UPDATE {} SET style = 0 WHERE style = ?", self.table("users"));
        self.run(&format!("reset the users of theme {tid}"), &sql, params![tid]).map(drop)
    }

    /// Moves the children of theme `tid` to parent `pid`.
    pub(crate) fn reparent_children(&self, tid: u32, pid: u32) -> Result<()> {
        let sql = format!("UPDATE {} SET pid = ? WHERE pid = ?", self.table("themes"));
        let what = format!("re-parent the children of theme {tid}");
        self.run(&what, &sql, params![pid, tid]).map(drop)
    }

    /// Deletes the row of theme `tid` (never the master theme).
    pub(crate) fn delete_theme(&self, tid: u32) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE tid = ? AND tid <> 1", self.table("themes"));
        self.run(&format!("delete theme {tid}"), &sql, params![tid]).map(drop)
    }

    /// Deletes template set `sid` (sid >= 1) and its templates, the templates first.
    pub(crate) fn delete_template_set(&self, sid: i32) -> Result<()> {
        let templates =
            format!("DELETE FROM {} WHERE sid = ? AND sid > 0", self.table("templates"));
        let set = format!("DELETE FROM {} WHERE sid = ? AND sid > 0", self.table("templatesets"));
        self.run(&format!("delete the templates of set {sid}"), &templates, params![sid])?;
        self.run(&format!("delete template set {sid}"), &set, params![sid]).map(drop)
    }
}
