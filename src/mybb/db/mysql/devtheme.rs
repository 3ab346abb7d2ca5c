//! Development themes (issue 29): the statements of the Admin CP's Edit Theme (`allowedgroups`)
//! and of its Delete Theme and Delete Template Set (admin/modules/style/themes.php action
//! `delete`, templates.php action `delete_set`), each the same statement MyBB issues. Kept
//! apart from the other writes so the engines' files merge without touching each other.

use mysql::prelude::Queryable;

use super::MySql;
use super::rows::first_value;
use crate::error::Result;

impl MySql {
    /// Writes theme `tid`'s `allowedgroups` (`all`, or gids joined by commas), as Edit Theme's
    /// "Allowed User Groups" does. Never the master theme (tid 1).
    pub(crate) fn set_theme_allowedgroups(&self, tid: u32, groups: &str) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET allowedgroups = ? WHERE tid = ? AND tid <> 1",
            self.table("themes")
        );
        self.conn()?
            .exec_drop(sql, (groups, tid))
            .map_err(|e| self.query_error(format!("restrict theme {tid} to groups {groups}"), e))
    }

    /// Deletes every stylesheet row of theme `tid` (never the master theme's), as Delete Theme.
    pub(crate) fn delete_theme_stylesheets(&self, tid: u32) -> Result<()> {
        let sql =
            format!("DELETE FROM {} WHERE tid = ? AND tid <> 1", self.table("themestylesheets"));
        self.conn()?
            .exec_drop(sql, (tid,))
            .map_err(|e| self.query_error(format!("delete the stylesheets of theme {tid}"), e))
    }

    /// Sets `users.style` to 0 where it names theme `tid`, as Delete Theme does; a board whose
    /// prefix has no `users` table (a dump of the theme tables only) has no one to reset.
    pub(crate) fn reset_users_style(&self, tid: u32) -> Result<()> {
        let exists = "SELECT COUNT(*) AS n FROM information_schema.tables \
                      WHERE table_schema = DATABASE() AND table_name = ?";
        let row = self.exec_first_row(
            &mut *self.conn()?,
            exists.to_owned(),
            (self.name("users"),),
            || "look for the users table".to_owned(),
        )?;
        let n: Option<u64> = first_value(row, "information_schema.tables", "n")?;
        if n.unwrap_or(0) == 0 {
            return Ok(());
        }
        let sql = format!("UPDATE {} SET style = 0 WHERE style = ?", self.table("users"));
        self.conn()?
            .exec_drop(sql, (tid,))
            .map_err(|e| self.query_error(format!("reset the users of theme {tid}"), e))
    }

    /// Moves the children of theme `tid` to parent `pid`, as Delete Theme does.
    pub(crate) fn reparent_children(&self, tid: u32, pid: u32) -> Result<()> {
        let sql = format!("UPDATE {} SET pid = ? WHERE pid = ?", self.table("themes"));
        self.conn()?
            .exec_drop(sql, (pid, tid))
            .map_err(|e| self.query_error(format!("re-parent the children of theme {tid}"), e))
    }

    /// Deletes the row of theme `tid` (never the master theme), as Delete Theme does.
    pub(crate) fn delete_theme(&self, tid: u32) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE tid = ? AND tid <> 1", self.table("themes"));
        self.conn()?
            .exec_drop(sql, (tid,))
            .map_err(|e| self.query_error(format!("delete theme {tid}"), e))
    }

    /// Deletes template set `sid` (a real set, sid >= 1) and its templates, as Delete Template
    /// Set does: the templates first, so a kill in between leaves an empty set, not orphans.
    pub(crate) fn delete_template_set(&self, sid: i32) -> Result<()> {
        let templates =
            format!("DELETE FROM {} WHERE sid = ? AND sid > 0", self.table("templates"));
        let set = format!("DELETE FROM {} WHERE sid = ? AND sid > 0", self.table("templatesets"));
        let mut conn = self.conn()?;
        conn.exec_drop(templates, (sid,))
            .map_err(|e| self.query_error(format!("delete the templates of set {sid}"), e))?;
        conn.exec_drop(set, (sid,))
            .map_err(|e| self.query_error(format!("delete template set {sid}"), e))
    }
}
