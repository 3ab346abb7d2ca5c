//! Theme packages (issue 13): the queries of the Admin CP's theme export
//! (admin/modules/style/themes.php, action `export`) and the writes of `import_theme_xml()`
//! (admin/inc/functions_themes.php), each the same statement MyBB issues.

use mysql::prelude::Queryable;
use mysql::{Params, Row, Value};

use super::MySql;
use super::connection::placeholders;
use super::rows::first_value;
use crate::error::Result;
use crate::mybb::db::{ExportTemplate, StylesheetRow, decode, now};

/// The theme export's reads and the theme import's writes.
impl MySql {
    /// Returns the stylesheet rows of the themes `tids` as the export reads them:
    /// `SELECT * ... WHERE tid IN (...) ORDER BY tid DESC`, ties in the server's order (the
    /// export keeps the first row of each `cachefile`, so that order decides).
    /// `tids` is not empty: `Db::stylesheets_for_export` asks nothing of the engine then.
    pub(crate) fn stylesheets_for_export(&self, tids: &[u32]) -> Result<Vec<StylesheetRow>> {
        let sql = format!(
            "SELECT * FROM {} WHERE tid IN ({}) ORDER BY tid DESC",
            self.table("themestylesheets"),
            placeholders(tids.len())
        );
        let params: Vec<Value> = tids.iter().map(|&t| Value::from(t)).collect();
        let rows: Vec<Row> = self
            .conn()?
            .exec(sql, Params::Positional(params))
            .map_err(|e| self.query_error(format!("read the stylesheets of themes {tids:?}"), e))?;
        self.decode_rows("themestylesheets", rows, |row| {
            let at = decode::by_name(row)?;
            decode::stylesheet_row(row, at)
        })
    }

    /// Returns the templates of set `sid` as the export reads them: `SELECT * ... WHERE sid=?`,
    /// without ORDER BY, so in the order the server hands them to MyBB too.
    pub(crate) fn templates_for_export(&self, sid: i64) -> Result<Vec<ExportTemplate>> {
        let sql = format!("SELECT * FROM {} WHERE sid = ?", self.table("templates"));
        let rows: Vec<Row> = self
            .conn()?
            .exec(sql, (sid,))
            .map_err(|e| self.query_error(format!("read the templates of set {sid}"), e))?;
        self.decode_rows("templates", rows, |row| decode::export_template(row))
    }

    /// Returns the tid of a theme called `name` (compared as MySQL compares, so in the column's
    /// collation: usually case-insensitive), as `import_theme_xml()`'s name check finds it.
    pub(crate) fn theme_tid_by_name(&self, name: &str) -> Result<Option<u32>> {
        let sql = format!("SELECT tid FROM {} WHERE name = ? LIMIT 1", self.table("themes"));
        let row = self.exec_first_row(&mut *self.conn()?, sql, (name,), || {
            format!("look for a theme named {name:?}")
        })?;
        first_value(row, &self.name("themes"), "tid")
    }

    /// Inserts a template set titled `title`. Returns its sid.
    pub(crate) fn insert_template_set(&self, title: &str) -> Result<u64> {
        let sql = format!("INSERT INTO {} (title) VALUES (?)", self.table("templatesets"));
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (title,))
            .map_err(|e| self.query_error(format!("create the template set {title:?}"), e))?;
        Ok(conn.last_insert_id())
    }

    /// Inserts the templates `(title, template, version)` into set `sid`, in order, with
    /// `status` '' and `dateline` now: the rows `import_theme_xml()` inserts one statement at a
    /// time, sent here in one batch (MariaDB's bulk protocol), which is one round trip instead of
    /// one per template. The tables have no transactions either way: on an error, the rows before
    /// it stay.
    pub(crate) fn insert_templates(
        &self,
        sid: i32,
        templates: &[(&str, &str, &str)],
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (title, template, sid, version, status, dateline) VALUES (?, ?, ?, ?, '', ?)",
            self.table("templates")
        );
        let dateline = now();
        self.conn()?
            .exec_batch(
                sql,
                templates
                    .iter()
                    .map(|(title, template, version)| (title, template, sid, version, dateline)),
            )
            .map_err(|e| self.query_error(format!("insert the templates of set {sid}"), e))
    }

    /// Inserts a theme row as `build_new_theme()` does: `def` 0, `allowedgroups` `all`, empty
    /// `properties` and `stylesheets` (filled in next). Returns its tid.
    pub(crate) fn insert_theme(&self, name: &str, pid: u32) -> Result<u64> {
        let sql = format!(
            "INSERT INTO {} (name, pid, def, allowedgroups, properties, stylesheets) \
             VALUES (?, ?, 0, 'all', '', '')",
            self.table("themes")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (name, pid))
            .map_err(|e| self.query_error(format!("create the theme {name:?}"), e))?;
        Ok(conn.last_insert_id())
    }

    /// Writes theme `tid`'s `properties` alone, as `build_new_theme()` does when the parent has
    /// no stylesheet list to inherit.
    pub(crate) fn update_theme_properties(&self, tid: u32, properties: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET properties = ? WHERE tid = ?", self.table("themes"));
        self.conn()?
            .exec_drop(sql, (properties, tid))
            .map_err(|e| self.query_error(format!("write the properties of theme {tid}"), e))
    }
}
