//! Development themes (issue 29) on PostgreSQL: the statements of the Admin CP's Edit Theme
//! (`allowedgroups`), Delete Theme and Delete Template Set, as `mysql/devtheme.rs` has them.

use super::Postgres;
use crate::error::Result;

impl Postgres {
    /// Writes theme `tid`'s `allowedgroups`. Never the master theme (tid 1).
    pub(crate) fn set_theme_allowedgroups(&self, tid: u32, groups: &str) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET allowedgroups = $1 WHERE tid = $2 AND tid <> 1",
            self.table("themes")
        );
        let what = format!("restrict theme {tid} to groups {groups}");
        let tid = tid.to_string();
        self.exec(&what, &sql, &[Some(groups.as_bytes()), Some(tid.as_bytes())]).map(drop)
    }

    /// Deletes every stylesheet row of theme `tid` (never the master theme's).
    pub(crate) fn delete_theme_stylesheets(&self, tid: u32) -> Result<()> {
        let sql = format!(
            "DELETE FROM {} WHERE tid = $1::numeric AND tid <> 1",
            self.table("themestylesheets")
        );
        let what = format!("delete the stylesheets of theme {tid}");
        let tid = tid.to_string();
        self.exec(&what, &sql, &[Some(tid.as_bytes())]).map(drop)
    }

    /// Sets `users.style` to 0 where it names theme `tid`; nothing without a `users` table.
    pub(crate) fn reset_users_style(&self, tid: u32) -> Result<()> {
        let exists = "SELECT COUNT(*) FROM information_schema.tables \
                      WHERE table_schema = ANY (current_schemas(false)) AND table_name = $1";
        let users = self.name("users").to_ascii_lowercase();
        let found = self.rows(
            exists,
            &[Some(users.as_bytes())],
            "look for the users table",
            "tables",
            |row| row.int::<i64>(0, "count"),
        )?;
        if found.first().copied().unwrap_or(0) == 0 {
            return Ok(());
        }
        let sql = format!("UPDATE {} SET style = 0 WHERE style = $1", self.table("users"));
        let what = format!("reset the users of theme {tid}");
        let tid = tid.to_string();
        self.exec(&what, &sql, &[Some(tid.as_bytes())]).map(drop)
    }

    /// Moves the children of theme `tid` to parent `pid`.
    pub(crate) fn reparent_children(&self, tid: u32, pid: u32) -> Result<()> {
        let sql = format!("UPDATE {} SET pid = $1 WHERE pid = $2", self.table("themes"));
        let what = format!("re-parent the children of theme {tid}");
        let (pid, tid) = (pid.to_string(), tid.to_string());
        self.exec(&what, &sql, &[Some(pid.as_bytes()), Some(tid.as_bytes())]).map(drop)
    }

    /// Deletes the row of theme `tid` (never the master theme).
    pub(crate) fn delete_theme(&self, tid: u32) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE tid = $1 AND tid <> 1", self.table("themes"));
        let what = format!("delete theme {tid}");
        let tid = tid.to_string();
        self.exec(&what, &sql, &[Some(tid.as_bytes())]).map(drop)
    }

    /// Deletes template set `sid` (sid >= 1) and its templates, the templates first, in one
    /// transaction.
    pub(crate) fn delete_template_set(&self, sid: i32) -> Result<()> {
        let templates =
            format!("DELETE FROM {} WHERE sid = $1 AND sid > 0", self.table("templates"));
        let set = format!("DELETE FROM {} WHERE sid = $1 AND sid > 0", self.table("templatesets"));
        let sid_text = sid.to_string();
        let params = [Some(sid_text.as_bytes())];
        let pipeline: [(&str, &[super::Param<'_>]); 4] =
            [("BEGIN", &[]), (&templates, &params), (&set, &params), ("COMMIT", &[])];
        self.conn()?.run(&format!("delete template set {sid}"), &pipeline).map(drop)
    }
}
