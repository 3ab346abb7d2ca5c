//! The writes of a PostgreSQL board: the compare-and-swap writes of templates and stylesheets,
//! the caches kept in step, the theme import's inserts and the deletions. Each compare-and-swap
//! compares `column COLLATE "C"` with the text read (byte equality); each check-then-insert is
//! one transaction that locks the table against other writers first, sent in one round trip.

use std::collections::{HashMap, HashSet};

use super::{Param, Postgres};
use crate::error::{Error, Result};
use crate::mybb::db::batch::{ROW_OVERHEAD, chunks};
use crate::mybb::db::now;

/// What [`Postgres::statement_budget`] allows a batch: PostgreSQL has no packet limit short of
/// its 1 GB message; this keeps one statement's memory, here and on the server, modest.
const BUDGET: usize = 64 << 20;

/// Returns the statements of a transaction that locks `table` against other writers, then runs
/// `sql` with `params`: readers go on, writers (MyBB's too) wait for the commit.
fn locked<'a>(
    lock: &'a str,
    sql: &'a str,
    params: &'a [Param<'a>],
) -> [(&'a str, &'a [Param<'a>]); 4] {
    [("BEGIN", &[]), (lock, &[]), (sql, params), ("COMMIT", &[])]
}

/// Returns the parameters `$1`..`$5` of a template row's INSERT: title, template, sid,
/// version, dateline (the numbers in their text form).
fn template_params<'a>(
    title: &'a str,
    template: &'a str,
    sid: &'a str,
    version: &'a str,
    dateline: &'a str,
) -> [Param<'a>; 5] {
    [title, template, sid, version, dateline].map(|value| Some(value.as_bytes()))
}

/// Runs `insert` with the parameters `$1`..`$5` of [`Postgres::stylesheet_insert`] for a
/// stylesheet row of these values.
fn with_stylesheet_params<T>(
    tid: u32,
    name: &str,
    attachedto: &str,
    content: &str,
    lastmodified: u64,
    insert: impl FnOnce(&[Param<'_>]) -> T,
) -> T {
    let (tid, stamp) = (text(tid), text(lastmodified));
    insert(&[name, &tid, attachedto, content, &stamp].map(|value| Some(value.as_bytes())))
}

/// Returns the text form of `n`, for a parameter.
fn text(n: impl std::fmt::Display) -> String {
    n.to_string()
}

impl Postgres {
    /// Returns `LOCK TABLE` of MyBB table `table` in the mode that keeps other writers out.
    fn lock(&self, table: &str) -> String {
        format!("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE", self.table(table))
    }

    /// Runs the locked transaction `sql` (see [`locked`]) and returns the insert's first column
    /// of its first row, if it returned one.
    fn insert_locked(
        &self,
        what: &str,
        table: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<u64>> {
        let lock = self.lock(table);
        let answers = self.conn()?.run(what, &locked(&lock, sql, params))?;
        let inserted = answers
            .get(2)
            .map(|a| super::decode_answer(a, &self.name(table), |row| row.int::<u64>(0, "id")));
        Ok(inserted.transpose()?.and_then(|ids| ids.into_iter().next()))
    }

    /// Runs `sql` (one statement that returns `RETURNING` an id) and returns the id.
    fn insert_returning(
        &self,
        what: &str,
        table: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64> {
        let answer = self.exec(what, sql, params)?;
        let ids = super::decode_answer(&answer, &self.name(table), |row| row.int::<u64>(0, "id"))?;
        ids.into_iter()
            .next()
            .ok_or_else(|| Error::Data { what: format!("{what}: the server returned no new id") })
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
        let sql = format!(
            "INSERT INTO {t} (title, template, sid, version, status, dateline) \
             SELECT $1::text, $2::text, $3::int, $4::text, '', $5::int \
             WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE sid = $3 AND title = $1) RETURNING tid"
        );
        let (sid_text, dateline) = (text(sid), text(now()));
        let params = template_params(title, content, &sid_text, version, &dateline);
        let what = format!("insert template {title:?} into set {sid}");
        self.insert_locked(&what, "templates", &sql, &params)
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
            "UPDATE {} SET template = $1, version = $2, status = '', dateline = $3 \
             WHERE tid = $4 AND template COLLATE \"C\" = $5",
            self.table("templates")
        );
        let (dateline, tid_text) = (text(now()), text(tid));
        let params = [
            Some(content.as_bytes()),
            Some(version.as_bytes()),
            Some(dateline.as_bytes()),
            Some(tid_text.as_bytes()),
            Some(seen),
        ];
        let what = format!("update template {title:?} (tid {tid})");
        Ok(self.exec(&what, &sql, &params)?.affected == 1)
    }

    /// Updates template rows as [`Postgres::update_template`] does, many per statement (an
    /// `UPDATE ... FROM (VALUES ...)` that returns the rows it wrote). Returns, for each row,
    /// whether it was written.
    pub(crate) fn update_templates(
        &self,
        rows: &[(u32, &str, &[u8])],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<u32, bool>> {
        let t = self.table("templates");
        let dateline = text(now());
        let mut done = HashMap::new();
        let sizes = rows.iter().map(|row| row.1.len() + row.2.len() + ROW_OVERHEAD);
        for chunk in chunks(rows, sizes, budget) {
            let tids: Vec<String> = chunk.iter().map(|(tid, _, _)| text(tid)).collect();
            let mut params: Vec<Param<'_>> =
                vec![Some(version.as_bytes()), Some(dateline.as_bytes())];
            let mut values = Vec::with_capacity(chunk.len());
            for ((_, content, seen), tid) in chunk.iter().zip(&tids) {
                let n = params.len();
                values.push(format!("(${}::int, ${}::text, ${}::text)", n + 1, n + 2, n + 3));
                params.extend([Some(tid.as_bytes()), Some(content.as_bytes()), Some(*seen)]);
            }
            let sql = format!(
                "UPDATE {t} AS t SET template = v.content, version = $1, status = '', \
                 dateline = $2::int FROM (VALUES {}) AS v(tid, content, seen) \
                 WHERE t.tid = v.tid AND t.template COLLATE \"C\" = v.seen RETURNING t.tid",
                values.join(", ")
            );
            let what = format!("update {} templates", chunk.len());
            let answer = self.exec(&what, &sql, &params)?;
            let written: HashSet<u32> =
                super::decode_answer(&answer, &t, |row| row.int(0, "tid"))?.into_iter().collect();
            done.extend(chunk.iter().map(|(tid, _, _)| (*tid, written.contains(tid))));
        }
        Ok(done)
    }

    /// Inserts template rows as [`Postgres::insert_template`] does, many per statement, each
    /// statement one locked transaction. Returns, for each `(sid, title)`, whether our row is
    /// the one that stays (false: the set had a row of that title already). Of two rows of one
    /// item in `rows`, the first is inserted and both count as written, as on MySQL.
    pub(crate) fn insert_templates_unless_taken(
        &self,
        rows: &[(i32, &str, &str)],
        version: &str,
        budget: usize,
    ) -> Result<HashMap<(i32, String), bool>> {
        let t = self.table("templates");
        let mut seen = HashSet::new();
        let firsts: Vec<&(i32, &str, &str)> =
            rows.iter().filter(|(sid, title, _)| seen.insert((*sid, *title))).collect();
        let dateline = text(now());
        let mut done = HashMap::new();
        let sizes = firsts.iter().map(|row| row.1.len() + row.2.len() + ROW_OVERHEAD);
        for chunk in chunks(&firsts, sizes, budget) {
            let sids: Vec<String> = chunk.iter().map(|(sid, _, _)| text(sid)).collect();
            let mut params: Vec<Param<'_>> =
                vec![Some(version.as_bytes()), Some(dateline.as_bytes())];
            let mut values = Vec::with_capacity(chunk.len());
            for ((_, title, content), sid) in chunk.iter().zip(&sids) {
                let n = params.len();
                values.push(format!("(${}::text, ${}::text, ${}::int)", n + 1, n + 2, n + 3));
                params.extend([
                    Some(title.as_bytes()),
                    Some(content.as_bytes()),
                    Some(sid.as_bytes()),
                ]);
            }
            let sql = format!(
                "INSERT INTO {t} (title, template, sid, version, status, dateline) \
                 SELECT v.title, v.template, v.sid, $1::text, '', $2::int \
                 FROM (VALUES {}) AS v(title, template, sid) \
                 WHERE NOT EXISTS (SELECT 1 FROM {t} o WHERE o.sid = v.sid AND o.title = v.title) \
                 RETURNING sid, title",
                values.join(", ")
            );
            let what = format!("insert {} templates", chunk.len());
            let lock = self.lock("templates");
            let answers = self.conn()?.run(&what, &locked(&lock, &sql, &params))?;
            let inserted = match answers.get(2) {
                Some(answer) => super::decode_answer(answer, &t, |row| {
                    Ok((row.int::<i32>(0, "sid")?, row.text(1, "title")?))
                })?,
                None => Vec::new(),
            };
            let inserted: HashSet<(i32, String)> = inserted.into_iter().collect();
            for (sid, title, _) in &chunk {
                let key = (*sid, (*title).to_owned());
                let ours = inserted.contains(&key);
                done.insert(key, ours);
            }
        }
        Ok(done)
    }

    /// Returns the bytes a batch's values may take: see [`BUDGET`].
    pub(crate) fn statement_budget(&self) -> Result<usize> {
        Ok(BUDGET)
    }

    /// The INSERT of a stylesheet row `$1`..`$5` (name, tid, attachedto, content,
    /// lastmodified), its `cachefile` its name, as the Admin CP writes it, under `condition`.
    fn stylesheet_insert(&self, condition: &str) -> String {
        let s = self.table("themestylesheets");
        format!(
            "INSERT INTO {s} (name, tid, attachedto, stylesheet, cachefile, lastmodified) \
             SELECT $1::text, $2::numeric, $3::text, $4::text, $1::text, $5::numeric {condition} RETURNING sid"
        )
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
        let sql = self.stylesheet_insert("");
        with_stylesheet_params(tid, name, attachedto, content, lastmodified, |params| {
            self.insert_returning(&what, "themestylesheets", &sql, params)
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
        let s = self.table("themestylesheets");
        let sql = self.stylesheet_insert(&format!(
            "WHERE NOT EXISTS (SELECT 1 FROM {s} WHERE tid = $2::numeric AND name = $1)"
        ));
        let what = format!("insert stylesheet {name:?} into theme {tid}");
        with_stylesheet_params(tid, name, attachedto, content, lastmodified, |params| {
            self.insert_locked(&what, "themestylesheets", &sql, params)
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
            "UPDATE {} SET stylesheet = $1, cachefile = $2, lastmodified = $3 \
             WHERE sid = $4 AND stylesheet COLLATE \"C\" = $5",
            self.table("themestylesheets")
        );
        let (stamp, sid_text) = (text(lastmodified), text(sid));
        let params = [
            Some(content.as_bytes()),
            Some(name.as_bytes()),
            Some(stamp.as_bytes()),
            Some(sid_text.as_bytes()),
            Some(seen),
        ];
        let what = format!("update stylesheet {name:?} (sid {sid})");
        Ok(self.exec(&what, &sql, &params)?.affected == 1)
    }

    /// Sets stylesheet row `sid`'s `cachefile`.
    pub(crate) fn set_stylesheet_cachefile(&self, sid: u32, cachefile: &str) -> Result<()> {
        let sql =
            format!("UPDATE {} SET cachefile = $1 WHERE sid = $2", self.table("themestylesheets"));
        let what = format!("set the cachefile of stylesheet sid {sid}");
        let sid = text(sid);
        self.exec(&what, &sql, &[Some(cachefile.as_bytes()), Some(sid.as_bytes())]).map(drop)
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
        let tid = text(tid);
        match properties {
            Some(properties) => {
                let sql =
                    format!("UPDATE {themes} SET properties = $1, stylesheets = $2 WHERE tid = $3");
                let params = [
                    Some(properties.as_bytes()),
                    Some(stylesheets.as_bytes()),
                    Some(tid.as_bytes()),
                ];
                self.exec(&what, &sql, &params)
            }
            None => {
                let sql = format!("UPDATE {themes} SET stylesheets = $1 WHERE tid = $2");
                self.exec(&what, &sql, &[Some(stylesheets.as_bytes()), Some(tid.as_bytes())])
            }
        }
        .map(drop)
    }

    /// Stores `value` as datacache row `title`: MyBB's `$cache->update()`, which on PostgreSQL
    /// is `replace_query()` (a count, then an UPDATE or an INSERT: inc/db_pgsql.php), here one
    /// statement to the same effect.
    pub(crate) fn update_datacache(&self, title: &str, value: &str) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (title, cache) VALUES ($1, $2) \
             ON CONFLICT (title) DO UPDATE SET cache = EXCLUDED.cache",
            self.table("datacache")
        );
        let what = format!("update datacache row {title:?}");
        self.exec(&what, &sql, &[Some(title.as_bytes()), Some(value.as_bytes())]).map(drop)
    }

    /// Inserts a template set titled `title`. Returns its sid.
    pub(crate) fn insert_template_set(&self, title: &str) -> Result<u64> {
        let sql =
            format!("INSERT INTO {} (title) VALUES ($1) RETURNING sid", self.table("templatesets"));
        let what = format!("create the template set {title:?}");
        self.insert_returning(&what, "templatesets", &sql, &[Some(title.as_bytes())])
    }

    /// Inserts the templates `(title, template, version)` into set `sid`, in order, with
    /// `status` '' and `dateline` now, in one transaction (all or none) and one round trip.
    pub(crate) fn insert_templates(
        &self,
        sid: i32,
        templates: &[(&str, &str, &str)],
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (title, template, sid, version, status, dateline) \
             VALUES ($1, $2, $3, $4, '', $5)",
            self.table("templates")
        );
        let (sid_text, dateline) = (text(sid), text(now()));
        let params: Vec<[Param<'_>; 5]> = templates
            .iter()
            .map(|(title, template, version)| {
                template_params(title, template, &sid_text, version, &dateline)
            })
            .collect();
        let mut pipeline: Vec<(&str, &[Param<'_>])> = vec![("BEGIN", &[])];
        pipeline.extend(params.iter().map(|p| (sql.as_str(), &p[..])));
        pipeline.push(("COMMIT", &[]));
        self.conn()?.run(&format!("insert the templates of set {sid}"), &pipeline).map(drop)
    }

    /// Inserts a theme row as `build_new_theme()` does. Returns its tid.
    pub(crate) fn insert_theme(&self, name: &str, pid: u32) -> Result<u64> {
        let sql = format!(
            "INSERT INTO {} (name, pid, def, allowedgroups, properties, stylesheets) \
             VALUES ($1, $2, 0, 'all', '', '') RETURNING tid",
            self.table("themes")
        );
        let pid = text(pid);
        let what = format!("create the theme {name:?}");
        self.insert_returning(&what, "themes", &sql, &[Some(name.as_bytes()), Some(pid.as_bytes())])
    }

    /// Writes theme `tid`'s `properties` alone.
    pub(crate) fn update_theme_properties(&self, tid: u32, properties: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET properties = $1 WHERE tid = $2", self.table("themes"));
        let what = format!("write the properties of theme {tid}");
        let tid = text(tid);
        self.exec(&what, &sql, &[Some(properties.as_bytes()), Some(tid.as_bytes())]).map(drop)
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
            "DELETE FROM {} WHERE tid = $1 AND (sid > 0 OR sid = -1) \
             AND template COLLATE \"C\" = $2",
            self.table("templates")
        );
        let what = format!("revert template {title:?} (tid {tid})");
        let tid = text(tid);
        Ok(self.exec(&what, &sql, &[Some(tid.as_bytes()), Some(seen)])?.affected > 0)
    }
}

/// Deletions carried from disk to the database (issue 25).
impl Postgres {
    /// Deletes theme `tid`'s stylesheet row `sid` if it still belongs to that theme and holds
    /// `seen` byte for byte, never a master theme's row (tid 1). Returns true if and only if a
    /// row went.
    pub(crate) fn delete_stylesheet(&self, tid: u32, sid: u32, seen: &[u8]) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE sid = $1 AND tid = $2 AND tid <> 1 \
             AND stylesheet COLLATE \"C\" = $3",
            self.table("themestylesheets")
        );
        let what = format!("delete stylesheet sid {sid} of theme {tid}");
        let (sid, tid) = (text(sid), text(tid));
        let params = [Some(sid.as_bytes()), Some(tid.as_bytes()), Some(seen)];
        Ok(self.exec(&what, &sql, &params)?.affected > 0)
    }
}
