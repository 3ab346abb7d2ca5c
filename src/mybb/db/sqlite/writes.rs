//! The writes of a SQLite board: the compare-and-swap writes of templates and stylesheets, the
//! caches kept in step, the theme import's inserts and the revert's DELETE. Each compare-and-swap
//! compares `CAST(column AS BLOB)` with the bytes read (see the module above); each
//! check-then-insert is one `BEGIN IMMEDIATE` transaction.

use std::collections::HashMap;

use rusqlite::{Connection, TransactionBehavior, params};

use super::Sqlite;
use crate::error::Result;
use crate::mybb::db::now;

/// What [`Sqlite::statement_budget`] allows a batch: each row is its own statement on SQLite,
/// inside one transaction, so there is no packet to fit; half SQLite's default largest value
/// (1e9 bytes).
const BUDGET: usize = 500_000_000;

impl Sqlite {
    /// Runs `work` in one `BEGIN IMMEDIATE` transaction (the write lock taken at its start, so
    /// that what it reads cannot change before it writes), committed if it succeeds; `what`
    /// names it for errors.
    fn in_transaction<T>(
        &self,
        what: &str,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.error(what, e))?;
        let value = work(&tx).map_err(|e| self.error(what, e))?;
        tx.commit().map_err(|e| self.error(what, e))?;
        Ok(value)
    }

    /// Runs one statement `sql` with `params`; returns the number of rows it changed.
    pub(super) fn run(
        &self,
        what: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<usize> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.error(what, e))?;
        stmt.execute(params).map_err(|e| self.error(what, e))
    }

    /// Inserts a template row unless set `sid` has a row titled `title` by then. Returns the new
    /// tid, or None if such a row exists (another writer got there first).
    pub(crate) fn insert_template(
        &self,
        sid: i32,
        title: &str,
        content: &str,
        version: &str,
    ) -> Result<Option<u64>> {
        let t = self.table("templates");
        let what = format!("insert template {title:?} into set {sid}");
        self.in_transaction(&what, |tx| {
            insert_template_unless_taken(tx, &t, (sid, title, content), version)
        })
    }

    /// Updates template row `tid` if it still holds `seen` byte for byte. Returns false if it
    /// does not (or is gone).
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
             WHERE tid = ? AND CAST(template AS BLOB) = ?",
            self.table("templates")
        );
        let what = format!("update template {title:?} (tid {tid})");
        let changed = self.run(&what, &sql, params![content, version, now() as i64, tid, seen])?;
        Ok(changed == 1)
    }

    /// Updates template rows as [`Sqlite::update_template`] does, all in one transaction (one
    /// fsync instead of one per row). Returns, for each row, whether it was written.
    pub(crate) fn update_templates(
        &self,
        rows: &[(u32, &str, &[u8])],
        version: &str,
        _budget: usize,
    ) -> Result<HashMap<u32, bool>> {
        let sql = format!(
            "UPDATE {} SET template = ?, version = ?, status = '', dateline = ? \
             WHERE tid = ? AND CAST(template AS BLOB) = ?",
            self.table("templates")
        );
        let dateline = now() as i64;
        let what = format!("update {} templates", rows.len());
        self.in_transaction(&what, |tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut done = HashMap::new();
            for (tid, content, seen) in rows {
                let changed = stmt.execute(params![content, version, dateline, tid, seen])?;
                done.insert(*tid, changed == 1);
            }
            Ok(done)
        })
    }

    /// Inserts template rows as [`Sqlite::insert_template`] does, all in one transaction.
    /// Returns, for each `(sid, title)`, whether our row is the one that stays (false: the set
    /// had a row of that title already). Of two rows of one item in `rows`, the first is
    /// inserted and both count as written, as on MySQL.
    pub(crate) fn insert_templates_unless_taken(
        &self,
        rows: &[(i32, &str, &str)],
        version: &str,
        _budget: usize,
    ) -> Result<HashMap<(i32, String), bool>> {
        let t = self.table("templates");
        let what = format!("insert {} templates", rows.len());
        self.in_transaction(&what, |tx| {
            let mut done: HashMap<(i32, String), bool> = HashMap::new();
            for (sid, title, content) in rows {
                let key = (*sid, (*title).to_owned());
                if done.get(&key) == Some(&true) {
                    continue;
                }
                let ours = insert_template_unless_taken(tx, &t, (*sid, title, content), version)?;
                done.insert(key, ours.is_some());
            }
            Ok(done)
        })
    }

    /// Returns the bytes a batch's values may take: see [`BUDGET`].
    pub(crate) fn statement_budget(&self) -> Result<usize> {
        Ok(BUDGET)
    }

    /// Inserts a stylesheet row into theme `tid` as it is, for a theme just created. Returns
    /// the new sid.
    pub(crate) fn insert_new_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<u64> {
        let what = format!("insert stylesheet {name:?} into theme {tid}");
        let s = self.table("themestylesheets");
        self.in_transaction(&what, |tx| {
            insert_stylesheet_row(tx, &s, (tid, name, attachedto, content, lastmodified))
        })
    }

    /// Inserts a stylesheet row into theme `tid`, unless the theme has one named `name` by
    /// then. Returns the new sid, or None if such a row exists.
    pub(crate) fn insert_stylesheet(
        &self,
        tid: u32,
        name: &str,
        attachedto: &str,
        content: &str,
        lastmodified: u64,
    ) -> Result<Option<u64>> {
        let what = format!("insert stylesheet {name:?} into theme {tid}");
        let s = self.table("themestylesheets");
        self.in_transaction(&what, |tx| {
            let taken = format!("SELECT 1 FROM {s} WHERE tid = ? AND name = ? LIMIT 1");
            if tx.prepare_cached(&taken)?.exists(params![tid, name])? {
                return Ok(None);
            }
            insert_stylesheet_row(tx, &s, (tid, name, attachedto, content, lastmodified)).map(Some)
        })
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
             WHERE sid = ? AND CAST(stylesheet AS BLOB) = ?",
            self.table("themestylesheets")
        );
        let what = format!("update stylesheet {name:?} (sid {sid})");
        let changed =
            self.run(&what, &sql, params![content, name, lastmodified as i64, sid, seen])?;
        Ok(changed == 1)
    }

    /// Sets stylesheet row `sid`'s `cachefile`.
    pub(crate) fn set_stylesheet_cachefile(&self, sid: u32, cachefile: &str) -> Result<()> {
        let sql =
            format!("UPDATE {} SET cachefile = ? WHERE sid = ?", self.table("themestylesheets"));
        let what = format!("set the cachefile of stylesheet sid {sid}");
        self.run(&what, &sql, params![cachefile, sid]).map(drop)
    }

    /// Writes theme `tid`'s stylesheet list and, when given, its `properties`, in one statement.
    pub(crate) fn update_theme_lists(
        &self,
        tid: u32,
        properties: Option<&str>,
        stylesheets: &str,
    ) -> Result<()> {
        let what = format!("update the stylesheet list of theme {tid}");
        let themes = self.table("themes");
        match properties {
            Some(properties) => {
                let sql =
                    format!("UPDATE {themes} SET properties = ?, stylesheets = ? WHERE tid = ?");
                self.run(&what, &sql, params![properties, stylesheets, tid])
            }
            None => {
                let sql = format!("UPDATE {themes} SET stylesheets = ? WHERE tid = ?");
                self.run(&what, &sql, params![stylesheets, tid])
            }
        }
        .map(drop)
    }

    /// Stores `value` as datacache row `title`: MyBB's `$cache->update()`, which on SQLite is
    /// `replace_query()`, a `REPLACE INTO` (inc/db_sqlite.php).
    pub(crate) fn update_datacache(&self, title: &str, value: &str) -> Result<()> {
        let sql = format!("REPLACE INTO {} (title, cache) VALUES (?, ?)", self.table("datacache"));
        self.run(&format!("update datacache row {title:?}"), &sql, params![title, value]).map(drop)
    }

    /// Inserts a template set titled `title`. Returns its sid.
    pub(crate) fn insert_template_set(&self, title: &str) -> Result<u64> {
        let sql = format!("INSERT INTO {} (title) VALUES (?)", self.table("templatesets"));
        let what = format!("create the template set {title:?}");
        self.in_transaction(&what, |tx| {
            tx.execute(&sql, params![title])?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    /// Inserts the templates `(title, template, version)` into set `sid`, in order, with
    /// `status` '' and `dateline` now, in one transaction: all or none.
    pub(crate) fn insert_templates(
        &self,
        sid: i32,
        templates: &[(&str, &str, &str)],
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (title, template, sid, version, status, dateline) \
             VALUES (?, ?, ?, ?, '', ?)",
            self.table("templates")
        );
        let dateline = now() as i64;
        self.in_transaction(&format!("insert the templates of set {sid}"), |tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            for (title, template, version) in templates {
                stmt.execute(params![title, template, sid, version, dateline])?;
            }
            Ok(())
        })
    }

    /// Inserts a theme row as `build_new_theme()` does. Returns its tid.
    pub(crate) fn insert_theme(&self, name: &str, pid: u32) -> Result<u64> {
        let sql = format!(
            "INSERT INTO {} (name, pid, def, allowedgroups, properties, stylesheets) \
             VALUES (?, ?, 0, 'all', '', '')",
            self.table("themes")
        );
        self.in_transaction(&format!("create the theme {name:?}"), |tx| {
            tx.execute(&sql, params![name, pid])?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    /// Writes theme `tid`'s `properties` alone.
    pub(crate) fn update_theme_properties(&self, tid: u32, properties: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET properties = ? WHERE tid = ?", self.table("themes"));
        let what = format!("write the properties of theme {tid}");
        self.run(&what, &sql, params![properties, tid]).map(drop)
    }

    /// Deletes custom template row `tid` (never a master row) if it still holds `seen` byte
    /// for byte. Returns true if and only if a row went.
    pub(crate) fn delete_custom_template(
        &self,
        tid: u32,
        title: &str,
        seen: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE tid = ? AND (sid > 0 OR sid = -1) \
             AND CAST(template AS BLOB) = ?",
            self.table("templates")
        );
        let what = format!("revert template {title:?} (tid {tid})");
        Ok(self.run(&what, &sql, params![tid, seen])? > 0)
    }
}

/// Deletions carried from disk to the database (issue 25).
impl Sqlite {
    /// Deletes theme `tid`'s stylesheet row `sid` if it still belongs to that theme and holds
    /// `seen` byte for byte, never a master theme's row (tid 1). Returns true if and only if a
    /// row went.
    pub(crate) fn delete_stylesheet(&self, tid: u32, sid: u32, seen: &[u8]) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE sid = ? AND tid = ? AND tid <> 1 \
             AND CAST(stylesheet AS BLOB) = ?",
            self.table("themestylesheets")
        );
        let what = format!("delete stylesheet sid {sid} of theme {tid}");
        Ok(self.run(&what, &sql, params![sid, tid, seen])? > 0)
    }
}

/// Inserts template `(sid, title, content)` into table `t` (quoted) unless the set has a row of
/// that title, inside the caller's transaction. Returns the new tid, or None.
fn insert_template_unless_taken(
    tx: &Connection,
    t: &str,
    (sid, title, content): (i32, &str, &str),
    version: &str,
) -> rusqlite::Result<Option<u64>> {
    let taken = format!("SELECT 1 FROM {t} WHERE sid = ? AND title = ? LIMIT 1");
    if tx.prepare_cached(&taken)?.exists(params![sid, title])? {
        return Ok(None);
    }
    let sql = format!(
        "INSERT INTO {t} (title, template, sid, version, status, dateline) \
         VALUES (?, ?, ?, ?, '', ?)"
    );
    tx.prepare_cached(&sql)?.execute(params![title, content, sid, version, now() as i64])?;
    Ok(Some(tx.last_insert_rowid() as u64))
}

/// The one INSERT of a stylesheet row `(tid, name, attachedto, content, lastmodified)` into
/// table `s` (quoted), its `cachefile` its name, as the Admin CP writes it. Returns the new sid.
fn insert_stylesheet_row(
    tx: &Connection,
    s: &str,
    (tid, name, attachedto, content, lastmodified): (u32, &str, &str, &str, u64),
) -> rusqlite::Result<u64> {
    let sql = format!(
        "INSERT INTO {s} (name, tid, attachedto, stylesheet, cachefile, lastmodified) \
         VALUES (?, ?, ?, ?, ?, ?)"
    );
    let row = params![name, tid, attachedto, content, name, lastmodified as i64];
    tx.prepare_cached(&sql)?.execute(row)?;
    Ok(tx.last_insert_rowid() as u64)
}
