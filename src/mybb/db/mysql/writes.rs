//! The compare-and-swap writes of templates and stylesheets, one statement each or many rows
//! per statement in chunks under the server's `max_allowed_packet`, and the writes that keep
//! MyBB's caches (`themes` stylesheet lists, `datacache`) in step. An `UPDATE` changes a row
//! only where it still holds what was read; an `INSERT` that finds an older row of the same item
//! removes itself again ([`MySql::keep_first`]).

use std::collections::{HashMap, HashSet};

use mysql::prelude::Queryable;
use mysql::{Conn, Row, Value};

use super::MySql;
use super::connection::placeholders;
use super::rows::first_value;
use crate::error::Result;
use crate::mybb::db::batch::{ROW_OVERHEAD, chunks};
use crate::mybb::db::now;

impl MySql {
    /// Inserts a template row, as the Admin CP does for a copy-on-write or a new title, unless
    /// set `sid` has a row titled `title` by then. Returns the new tid, or None if such a row
    /// appeared (see [`MySql::keep_first`]).
    pub(crate) fn insert_template(
        &self,
        sid: i32,
        title: &str,
        content: &str,
        version: &str,
    ) -> Result<Option<u64>> {
        let t = self.table("templates");
        let what = || format!("insert template {title:?} into set {sid}");
        let sql = format!(
            "INSERT INTO {t} (title, template, sid, version, status, dateline) \
             VALUES (?, ?, ?, ?, '', ?)"
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (title, content, sid, version, now()))
            .map_err(|e| self.query_error(what(), e))?;
        let tid = conn.last_insert_id();
        let first = format!("SELECT MIN(tid) FROM {t} WHERE sid = ? AND title = ?");
        let first = self.exec_first_row(&mut conn, first, (sid, title), what)?;
        let first: Option<Option<u64>> = first_value(first, &self.name("templates"), "MIN(tid)")?;
        self.keep_first(&mut conn, &t, "tid", tid, first.flatten())
    }

    /// Checks a copy-on-write after the fact (a conditional `INSERT ... SELECT` on the same
    /// table costs MariaDB a temporary table, ten times the insert): if a row of the same
    /// item with a lower id than ours, `id`, exists, another writer got there first, so ours is
    /// removed again and None returned. Of two writers, exactly one keeps its row.
    fn keep_first(
        &self,
        conn: &mut Conn,
        table: &str,
        key: &str,
        id: u64,
        first: Option<u64>,
    ) -> Result<Option<u64>> {
        if first.is_none_or(|first| first >= id) {
            return Ok(Some(id));
        }
        let sql = format!("DELETE FROM {table} WHERE {key} = ?");
        conn.exec_drop(sql, (id,))
            .map_err(|e| self.query_error(format!("remove the duplicate row {key} {id}"), e))?;
        Ok(None)
    }

    /// Updates the content of template row `tid`, with the version, status and dateline the
    /// Admin CP writes, if the row still holds `seen` byte for byte (compare-and-swap). Returns
    /// false if it does not (or is gone): someone else wrote it since it was read.
    pub(crate) fn update_template(
        &self,
        tid: u32,
        title: &str,
        content: &str,
        version: &str,
        seen: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET template = ?, version = ?, status = '', dateline = ? \
             WHERE tid = ? AND template = BINARY ?",
            self.table("templates")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (content, version, now(), tid, seen))
            .map_err(|e| self.query_error(format!("update template {title:?} (tid {tid})"), e))?;
        Ok(conn.affected_rows() == 1)
    }

    /// Updates template rows as [`MySql::update_template`] does, many per statement: each row
    /// `(tid, content, seen)` gets `content` if it still holds `seen` byte for byte. Returns,
    /// for each row written here, whether it was written (false: someone else wrote it since it
    /// was read, or it is gone). Rows too large to share a statement under the server's
    /// `max_allowed_packet` are left out, for [`MySql::update_template`]. One statement is atomic
    /// on MyISAM (it holds the table lock), so each row's compare-and-swap holds as alone; when
    /// fewer rows matched than were sent, one SELECT finds which hold our content.
    pub(crate) fn update_templates(
        &self,
        rows: &[(u32, &str, &[u8])],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<u32, bool>> {
        let t = self.table("templates");
        let mut conn = self.conn()?;
        let mut done = HashMap::new();
        let sizes = rows.iter().map(|row| row.1.len() + row.2.len() + ROW_OVERHEAD);
        for chunk in chunks(rows, sizes, budget) {
            self.update_chunk(&mut conn, &t, &chunk, version, &mut done)?;
        }
        Ok(done)
    }

    /// Inserts template rows as [`MySql::insert_template`] does, many per statement: one row
    /// `(sid, title, content)` each for copy-on-writes and new titles. Returns, for each
    /// `(sid, title)` written here, whether our row is the one that stays (false: another row
    /// of that item appeared meanwhile and ours was removed again, as [`MySql::keep_first`] does).
    /// Rows too large to share a statement are left out, for [`MySql::insert_template`].
    pub(crate) fn insert_templates_unless_taken(
        &self,
        rows: &[(i32, &str, &str)],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<(i32, String), bool>> {
        let t = self.table("templates");
        let mut conn = self.conn()?;
        let mut done = HashMap::new();
        let sizes = rows.iter().map(|row| row.1.len() + row.2.len() + ROW_OVERHEAD);
        for chunk in chunks(rows, sizes, budget) {
            self.insert_chunk(&mut conn, &t, &chunk, version, &mut done)?;
        }
        Ok(done)
    }

    /// One statement of [`MySql::insert_templates_unless_taken`], then the check of
    /// [`MySql::keep_first`] for all its rows at once. The statement's first new id is known
    /// (`LAST_INSERT_ID()`); its other ids are above it, consecutive on MyISAM but not on every
    /// InnoDB setting, so our row of an item is told by being at or above that id and holding
    /// our content. An item whose lowest
    /// row is not such a row was taken by another writer first: our rows of it are deleted.
    /// Rows at or above that id with our content that are not ours hold what ours holds, so
    /// removing one of them loses nothing.
    fn insert_chunk(
        &self,
        conn: &mut Conn,
        t: &str,
        chunk: &[&(i32, &str, &str)],
        version: &str,
        done: &mut HashMap<(i32, String), bool>,
    ) -> Result<()> {
        let what = || format!("insert {} templates", chunk.len());
        let values = vec!["(?, ?, ?, ?, '', ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO {t} (title, template, sid, version, status, dateline) VALUES {values}"
        );
        let dateline = now();
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for (sid, title, content) in chunk {
            params.extend([(*title).into(), (*content).into(), (*sid).into()]);
            params.extend([version.into(), dateline.into()]);
        }
        conn.exec_drop(sql, params).map_err(|e| self.query_error(what(), e))?;
        let first = conn.last_insert_id();

        let sids: HashSet<i32> = chunk.iter().map(|(sid, _, _)| *sid).collect();
        let titles: HashSet<&str> = chunk.iter().map(|(_, title, _)| *title).collect();
        let sql = format!(
            "SELECT tid, sid, title, template FROM {t} WHERE sid IN ({}) AND title IN ({})",
            placeholders(sids.len()),
            placeholders(titles.len())
        );
        let mut params: Vec<Value> = sids.iter().map(|sid| (*sid).into()).collect();
        params.extend(titles.iter().map(|title| (*title).into()));
        let found: Vec<Row> = conn.exec(sql, params).map_err(|e| self.query_error(what(), e))?;
        let mut found = self.decode_rows("templates", found, |row| {
            let tid: u64 = row.take(0, "tid")?;
            let sid: i32 = row.take(1, "sid")?;
            let title: Vec<u8> = row.take(2, "title")?;
            let template: Vec<u8> = row.take(3, "template")?;
            Ok((tid, sid, title, template))
        })?;
        found.sort_unstable_by_key(|row| row.0); // here, not in SQL: see `templates`
        // Each item's rows, in tid order: one pass, not one scan of `found` per item.
        type Found = (u64, i32, Vec<u8>, Vec<u8>);
        let mut rows_of: HashMap<(i32, &[u8]), Vec<&Found>> = HashMap::new();
        for row in &found {
            rows_of.entry((row.1, row.2.as_slice())).or_default().push(row);
        }
        let mut remove = Vec::new();
        for (sid, title, content) in chunk {
            let item = rows_of.get(&(*sid, title.as_bytes())).map_or(&[][..], Vec::as_slice);
            let is_ours = |(tid, _, _, template): &Found| {
                *tid >= first && template.as_slice() == content.as_bytes()
            };
            // `found` is ordered by tid: the first row of the item is the one that stays.
            let kept = item.first().is_some_and(|row| is_ours(row));
            let duplicates = item.iter().skip(usize::from(kept)).filter(|row| is_ours(row));
            remove.extend(duplicates.map(|row| row.0));
            done.insert((*sid, (*title).to_owned()), kept);
        }
        if !remove.is_empty() {
            let sql = format!("DELETE FROM {t} WHERE tid IN ({})", placeholders(remove.len()));
            let params: Vec<Value> = remove.iter().map(|tid| (*tid).into()).collect();
            conn.exec_drop(sql, params)
                .map_err(|e| self.query_error("remove duplicate template rows".to_owned(), e))?;
        }
        Ok(())
    }

    /// The bytes one statement's values may take (`budget` of [`MySql::update_templates`] and
    /// [`MySql::insert_templates_unless_taken`]): half the server's `max_allowed_packet`, leaving
    /// room for the protocol's own bytes and the statement text. Asked anew by each caller's
    /// round, not kept: an admin may lower it while a watcher runs.
    pub(crate) fn statement_budget(&self) -> Result<usize> {
        let sql = "SELECT @@max_allowed_packet".to_owned();
        let packet: Vec<u64> =
            self.query_computed(sql, "read max_allowed_packet", "the server's settings", |row| {
                row.take(0, "@@max_allowed_packet")
            })?;
        let packet = packet.first().copied().unwrap_or(1 << 20);
        Ok(usize::try_from(packet / 2).unwrap_or(usize::MAX))
    }

    /// One statement of [`MySql::update_templates`].
    fn update_chunk(
        &self,
        conn: &mut Conn,
        t: &str,
        chunk: &[&(u32, &str, &[u8])],
        version: &str,
        done: &mut HashMap<u32, bool>,
    ) -> Result<()> {
        let what = || format!("update {} templates", chunk.len());
        let cases = " WHEN ? THEN ?".repeat(chunk.len());
        let matches = vec!["(tid = ? AND template = BINARY ?)"; chunk.len()].join(" OR ");
        let sql = format!(
            "UPDATE {t} SET template = CASE tid{cases} ELSE template END, version = ?, \
             status = '', dateline = ? WHERE {matches}"
        );
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 4 + 2);
        for (tid, content, _) in chunk {
            params.push((*tid).into());
            params.push((*content).into());
        }
        params.push(version.into());
        params.push(now().into());
        for (tid, _, seen) in chunk {
            params.push((*tid).into());
            params.push((*seen).into());
        }
        conn.exec_drop(sql, params).map_err(|e| self.query_error(what(), e))?;
        if conn.affected_rows() == chunk.len() as u64 {
            done.extend(chunk.iter().map(|(tid, _, _)| (*tid, true)));
            return Ok(());
        }
        // Some rows changed since they were read: ours are those holding our content now (a
        // row someone else set to the same content counts as ours, which it is).
        let sql = format!(
            "SELECT tid FROM {t} WHERE tid IN ({}) AND template = BINARY CASE tid{cases} END",
            placeholders(chunk.len())
        );
        let mut params: Vec<Value> = chunk.iter().map(|(tid, _, _)| (*tid).into()).collect();
        for (tid, content, _) in chunk {
            params.push((*tid).into());
            params.push((*content).into());
        }
        let ours: Vec<u32> = conn.exec(sql, params).map_err(|e| self.query_error(what(), e))?;
        let ours: HashSet<u32> = ours.into_iter().collect();
        done.extend(chunk.iter().map(|(tid, _, _)| (*tid, ours.contains(tid))));
        Ok(())
    }

    /// Inserts a stylesheet row into theme `tid` as it is, for a theme just created (by
    /// `theme import`, as MyBB's `import_theme_xml()` does, duplicates of a name included).
    /// Returns the new sid.
    pub(crate) fn insert_new_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<u64> {
        let row = (tid, name, attachedto, content, lastmodified);
        self.insert_stylesheet_row(&mut *self.conn()?, row)
    }

    /// Inserts a stylesheet row into theme `tid`, unless the theme has one named `name` by
    /// then. Returns the new sid, or None if such a row appeared (see [`MySql::keep_first`]).
    pub(crate) fn insert_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<Option<u64>> {
        let s = self.table("themestylesheets");
        let what = || format!("insert stylesheet {name:?} into theme {tid}");
        let mut conn = self.conn()?;
        let sid =
            self.insert_stylesheet_row(&mut conn, (tid, name, attachedto, content, lastmodified))?;
        let first = format!("SELECT MIN(sid) FROM {s} WHERE tid = ? AND name = ?");
        let first = self.exec_first_row(&mut conn, first, (tid, name), what)?;
        let first: Option<Option<u64>> =
            first_value(first, &self.name("themestylesheets"), "MIN(sid)")?;
        self.keep_first(&mut conn, &s, "sid", sid, first.flatten())
    }

    /// The one INSERT of a stylesheet row `(tid, name, attachedto, content, lastmodified)`,
    /// its `cachefile` its name, as the Admin CP writes it. Returns the new sid.
    fn insert_stylesheet_row(
        &self,
        conn: &mut Conn,
        (tid, name, attachedto, content, lastmodified): (u32, &str, &str, &str, u64),
    ) -> Result<u64> {
        let sql = format!(
            "INSERT INTO {} (name, tid, attachedto, stylesheet, cachefile, lastmodified) \
             VALUES (?, ?, ?, ?, ?, ?)",
            self.table("themestylesheets")
        );
        conn.exec_drop(sql, (name, tid, attachedto, content, name, lastmodified)).map_err(|e| {
            self.query_error(format!("insert stylesheet {name:?} into theme {tid}"), e)
        })?;
        Ok(conn.last_insert_id())
    }

    /// Updates stylesheet row `sid`: its content, `cachefile` = its name, and `lastmodified`,
    /// if the row still holds `seen` byte for byte. Returns false if it does not (or is gone).
    pub(crate) fn update_stylesheet(
        &self,
        sid: u32,
        name: &str,
        content: &str,
        lastmodified: u64,
        seen: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET stylesheet = ?, cachefile = ?, lastmodified = ? \
             WHERE sid = ? AND stylesheet = BINARY ?",
            self.table("themestylesheets")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (content, name, lastmodified, sid, seen))
            .map_err(|e| self.query_error(format!("update stylesheet {name:?} (sid {sid})"), e))?;
        Ok(conn.affected_rows() == 1)
    }

    /// Sets stylesheet row `sid`'s `cachefile`, as the Admin CP does (to
    /// `css.php?stylesheet={sid}`) when it could not write the row's cache file.
    pub(crate) fn set_stylesheet_cachefile(&self, sid: u32, cachefile: &str) -> Result<()> {
        let sql =
            format!("UPDATE {} SET cachefile = ? WHERE sid = ?", self.table("themestylesheets"));
        self.conn()?
            .exec_drop(sql, (cachefile, sid))
            .map_err(|e| self.query_error(format!("set the cachefile of stylesheet sid {sid}"), e))
    }

    /// Writes theme `tid`'s rebuilt stylesheet list and, when given, its `properties` (whose
    /// `disporder` the rebuild keeps in step), both PHP-serialized, in one statement: a reader
    /// sees both old or both new columns, with or without transactions.
    pub(crate) fn update_theme_lists(
        &self,
        tid: u32,
        properties: Option<&str>,
        stylesheets: &str,
    ) -> Result<()> {
        let what = || format!("update the stylesheet list of theme {tid}");
        let mut conn = self.conn()?;
        match properties {
            Some(properties) => {
                let sql = format!(
                    "UPDATE {} SET properties = ?, stylesheets = ? WHERE tid = ?",
                    self.table("themes")
                );
                conn.exec_drop(sql, (properties, stylesheets, tid))
            }
            None => {
                let sql =
                    format!("UPDATE {} SET stylesheets = ? WHERE tid = ?", self.table("themes"));
                conn.exec_drop(sql, (stylesheets, tid))
            }
        }
        .map_err(|e| self.query_error(what(), e))
    }

    /// Stores `value` (PHP-serialized) as datacache row `title`, creating the row if need be:
    /// MyBB's `$cache->update()`, a `REPLACE`, which is one statement.
    pub(crate) fn update_datacache(&self, title: &str, value: &str) -> Result<()> {
        let sql = format!("REPLACE INTO {} (title, cache) VALUES (?, ?)", self.table("datacache"));
        self.conn()?
            .exec_drop(sql, (title, value))
            .map_err(|e| self.query_error(format!("update datacache row {title:?}"), e))
    }
}
/// Deletions carried from disk to the database (issue 25).
impl MySql {
    /// Deletes theme `tid`'s stylesheet row `sid` if it still belongs to that theme and holds
    /// `seen` byte for byte, never a master theme's row (tid 1), as [`Db::delete_stylesheet`]
    /// says. Returns true if and only if a row went.
    ///
    /// [`Db::delete_stylesheet`]: crate::mybb::db::Db::delete_stylesheet
    pub(crate) fn delete_stylesheet(&self, tid: u32, sid: u32, seen: &[u8]) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE sid = ? AND tid = ? AND tid <> 1 AND stylesheet = BINARY ?",
            self.table("themestylesheets")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (sid, tid, seen)).map_err(|e| {
            self.query_error(format!("delete stylesheet sid {sid} of theme {tid}"), e)
        })?;
        Ok(conn.affected_rows() > 0)
    }
}
