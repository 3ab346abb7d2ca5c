//! The reads of a SQLite board: template sets and groups, templates, themes, stylesheets,
//! key-value rows, the theme export's reads, the upgrade commands' reads, and the fingerprint
//! and digest, each the statement the MySQL engine issues where SQLite has the same words.

use std::collections::BTreeMap;

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::{FNV_START, Reader, Sqlite, fnv1a, placeholders};
use crate::error::{Error, Result};
use crate::mybb::db::{
    ExportTemplate, Lookup, Oversize, StylesheetRow, TemplateRow, ThemeRow, VersionedTemplate,
};
use crate::mybb::db::{decode, sql};

impl Sqlite {
    /// Runs `sql` with `params` (`what` names it for errors) and decodes each row of table
    /// `table` (unprefixed, or a name for computed rows) with `decode`: the one place a
    /// query's rows become values.
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: Vec<Value>,
        what: &str,
        table: &str,
        mut decode: impl FnMut(&mut Reader<'_, '_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let shown = self.name(table);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(|e| self.error(what, e))?;
        let mut rows = stmt.query(params_from_iter(params)).map_err(|e| self.error(what, e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.error(what, e))? {
            out.push(decode(&mut Reader::new(row, &shown, out.len()))?);
        }
        Ok(out)
    }

    /// Returns the template sets as `(sid, title)`, by sid.
    pub(crate) fn template_sets(&self) -> Result<Vec<(i32, String)>> {
        let sql = format!("SELECT sid, title FROM {} ORDER BY sid", self.table("templatesets"));
        self.rows(&sql, vec![], "read the template sets", "templatesets", |row| {
            decode::template_set(row)
        })
    }

    /// Returns the template groups as `(prefix, title)`, by gid.
    pub(crate) fn template_groups(&self) -> Result<Vec<(String, String)>> {
        let sql =
            format!("SELECT prefix, title, gid FROM {} ORDER BY gid", self.table("templategroups"));
        self.rows(&sql, vec![], "read the template groups", "templategroups", |row| {
            decode::template_group(row)
        })
    }

    /// Returns the templates of the sets `sids` (optionally only those titled one of `titles`),
    /// ordered by tid, so that among duplicates of one (sid, title) the last one wins.
    /// Neither list is empty: `Db::templates` asks nothing of the engine then.
    pub(crate) fn templates(
        &self,
        sids: &[i32],
        titles: Option<&[String]>,
    ) -> Result<Vec<TemplateRow>> {
        let mut params: Vec<Value> = sids.iter().map(|&s| Value::from(s)).collect();
        let mut sql = format!(
            "SELECT tid, sid, title, template, dateline FROM {} WHERE sid IN ({})",
            self.table("templates"),
            placeholders(sids.len())
        );
        if let Some(titles) = titles {
            sql.push_str(&format!(" AND title IN ({})", placeholders(titles.len())));
            params.extend(titles.iter().map(|t| Value::from(t.clone())));
        }
        sql.push_str(" ORDER BY tid");
        let what = format!("read the templates of sets {sids:?}");
        self.rows(&sql, params, &what, "templates", |row| decode::template_row(row))
    }

    /// Returns every theme, by tid.
    pub(crate) fn themes(&self) -> Result<Vec<ThemeRow>> {
        let sql = format!(
            "SELECT tid, name, pid, def, properties, stylesheets FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.rows(&sql, vec![], "read the themes", "themes", |row| decode::theme_row(row))
    }

    /// Returns every stylesheet row, by sid, and none too big to read: SQLite hands a value of
    /// any size its limit allows (1e9 bytes), with no packet between (issue 26 is MySQL's).
    pub(crate) fn stylesheets_within_packet(&self) -> Result<(Vec<StylesheetRow>, Vec<Oversize>)> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY sid",
            decode::STYLESHEET_COLUMNS.join(", "),
            self.table("themestylesheets")
        );
        let rows = self.rows(&sql, vec![], "read the stylesheets", "themestylesheets", |row| {
            decode::stylesheet_row(row, decode::IN_ORDER)
        })?;
        Ok((rows, Vec::new()))
    }

    /// Returns every key of the key-value table `lookup` (every setting's name, for `check`).
    pub(crate) fn keys(&self, lookup: Lookup) -> Result<Vec<String>> {
        let Lookup { table, key_column, shown, .. } = lookup;
        let sql = format!("SELECT {key_column} FROM {}", self.table(table));
        let what = format!("read every {shown}'s {key_column}");
        self.rows(&sql, vec![], &what, table, |row| row.text(0, key_column))
    }

    /// Returns the value of the row keyed `key` in the key-value table `lookup`, if it exists.
    pub(crate) fn lookup(&self, lookup: Lookup, key: &str) -> Result<Option<String>> {
        let Lookup { table, key_column, value_column, shown } = lookup;
        let sql = format!(
            "SELECT {value_column} FROM {} WHERE {key_column} = ? LIMIT 1",
            self.table(table)
        );
        let what = format!("read {shown} {key:?}");
        let values = self.rows(&sql, vec![key.to_owned().into()], &what, table, |row| {
            row.text(0, value_column)
        })?;
        Ok(values.into_iter().next())
    }

    /// Returns true for every column: SQLite stores any UTF-8 text as it is given, so there is
    /// no 3-byte `utf8` column or connection to turn emoji into `?`.
    pub(crate) fn store_four_byte_utf8(&self, columns: &[(&str, &str)]) -> Result<Vec<bool>> {
        Ok(vec![true; columns.len()])
    }

    /// Returns a fingerprint of the templates and stylesheets that changes with any insert,
    /// delete or edit, content included: per template set and per theme, the row count and the
    /// XOR of a hash of each row's id, stamp, name and content; the same of the sets (sid,
    /// title), so a set deleted and made again under its title (a new sid) is seen though no
    /// row of its own changed; and each theme's Edit Theme fields by tid (issue 28) (the MySQL
    /// engine's figures, hashed here: SQLite has no CRC32).
    pub(crate) fn fingerprint(&self) -> Result<Vec<u64>> {
        let (t, s) = (self.table("templates"), self.table("themestylesheets"));
        let (sets, themes) = (self.table("templatesets"), self.table("themes"));
        let sql = format!(
            "SELECT 0, sid, tid, dateline, title, template FROM {t}
             UNION ALL
             SELECT 1, tid, sid, lastmodified, name, attachedto || ':' || stylesheet FROM {s}
             UNION ALL SELECT 2, 0, sid, 0, title, '' FROM {sets}
             UNION ALL
             SELECT 3, tid, pid, 0, name, allowedgroups || ':' || properties FROM {themes}"
        );
        let mut parts: BTreeMap<(u64, i64), (u64, u64)> = BTreeMap::new();
        self.rows(&sql, vec![], "fingerprint the tables", "tables' fingerprint", |row| {
            let key = (row.int(0, "part")?, row.int(1, "group")?);
            let (id, stamp): (i64, i64) = (row.int(2, "id")?, row.int(3, "stamp")?);
            let mut hash = fnv1a(FNV_START, format!("{id}:{stamp}:").as_bytes());
            hash = fnv1a(hash, &row.bytes(4, "name")?);
            hash = fnv1a(hash, b":");
            hash = fnv1a(hash, &row.bytes(5, "content")?);
            let part = parts.entry(key).or_default();
            *part = (part.0 + 1, part.1 ^ hash);
            Ok(())
        })?;
        Ok(parts.into_iter().flat_map(|((p, g), (n, h))| [p, g as u64, n, h]).collect())
    }

    /// Returns the stylesheet rows of the themes `tids` as the export reads them: `SELECT *`,
    /// by tid descending, ties in the table's order.
    /// `tids` is not empty: `Db::stylesheets_for_export` asks nothing of the engine then.
    pub(crate) fn stylesheets_for_export(&self, tids: &[u32]) -> Result<Vec<StylesheetRow>> {
        let sql = format!(
            "SELECT * FROM {} WHERE tid IN ({}) ORDER BY tid DESC",
            self.table("themestylesheets"),
            placeholders(tids.len())
        );
        let params = tids.iter().map(|&t| Value::from(t)).collect();
        let what = format!("read the stylesheets of themes {tids:?}");
        self.rows(&sql, params, &what, "themestylesheets", |row| {
            let at = decode::by_name(row)?;
            decode::stylesheet_row(row, at)
        })
    }

    /// Returns the templates of set `sid` as the export reads them, in the table's order.
    pub(crate) fn templates_for_export(&self, sid: i64) -> Result<Vec<ExportTemplate>> {
        let sql = format!("SELECT * FROM {} WHERE sid = ?", self.table("templates"));
        let what = format!("read the templates of set {sid}");
        self.rows(&sql, vec![sid.into()], &what, "templates", |row| decode::export_template(row))
    }

    /// Returns the tid of a theme called `name`, compared as SQLite compares (byte for byte:
    /// MyBB's SQLite schema declares no collation), as `import_theme_xml()`'s check finds it.
    pub(crate) fn theme_tid_by_name(&self, name: &str) -> Result<Option<u32>> {
        let sql = format!("SELECT tid FROM {} WHERE name = ? LIMIT 1", self.table("themes"));
        let what = format!("look for a theme named {name:?}");
        let tids = self
            .rows(&sql, vec![name.to_owned().into()], &what, "themes", |row| row.int(0, "tid"))?;
        Ok(tids.into_iter().next())
    }

    /// Returns every master, global and set template with its version, ordered by tid.
    pub(crate) fn versioned_templates(&self, set_bodies: bool) -> Result<Vec<VersionedTemplate>> {
        // Without the sets' bodies, a set's row comes with an empty template.
        let body =
            if set_bodies { "template" } else { "CASE WHEN sid < 0 THEN template ELSE '' END" };
        let sql = format!(
            "SELECT tid, sid, title, version, {body}, dateline FROM {} \
             WHERE sid >= -2 AND sid <> 0 ORDER BY tid",
            self.table("templates")
        );
        self.rows(&sql, vec![], "read the templates and their versions", "templates", |row| {
            decode::versioned_template(row)
        })
    }

    /// Returns the tids of the custom rows that MyBB's "Find Updated Templates" finds, with its
    /// condition verbatim (on SQLite, as MyBB runs it there: versions compared as the column
    /// holds them, bodies byte for byte). Each tid once, ascending.
    pub(crate) fn find_updated(&self) -> Result<Vec<u32>> {
        let t = self.table("templates");
        let sql = sql::find_updated(&t);
        self.rows(&sql, vec![], "find the templates an upgrade made outdated", "templates", |row| {
            row.int(0, "tid")
        })
    }

    /// Returns a digest of the master templates and of which custom rows exist (see
    /// `Db::templates_digest`): the MySQL engine's figures, the masters' content hashed here.
    pub(crate) fn templates_digest(&self) -> Result<String> {
        let t = self.table("templates");
        let sql = format!("SELECT title, version, template, tid FROM {t} WHERE sid = -2");
        let (mut count, mut sum, mut max) = (0u64, 0u64, 0i64);
        self.rows(&sql, vec![], "digest the master templates", "templates", |row| {
            let mut hash = fnv1a(FNV_START, &row.bytes(0, "title")?);
            hash = fnv1a(fnv1a(hash, b"\0"), &row.bytes(1, "version")?);
            hash = fnv1a(fnv1a(hash, b"\0"), &row.bytes(2, "template")?);
            count += 1;
            sum = sum.wrapping_add(hash);
            max = max.max(row.int(3, "tid")?);
            Ok(())
        })?;
        let sql = format!("SELECT COUNT(*), COALESCE(SUM(tid), 0) FROM {t} WHERE sid <> -2");
        let customs =
            self.rows(&sql, vec![], "digest the custom templates", "templates", |row| {
                Ok((row.int::<i64>(0, "count")?, row.int::<i64>(1, "sum")?))
            })?;
        let (customs, tids) = customs.into_iter().next().ok_or_else(|| Error::Data {
            what: "the template digest query returned no row".into(),
        })?;
        Ok(format!("sqlite:{count}:{sum:016x}:{max}:{customs}:{tids}"))
    }
}

/// Which board file this is, however it is named (issue 25).
impl Sqlite {
    /// Returns the database file's canonical path (symbolic links and `..` resolved): the
    /// same through every path that names it, as a server's identity is through every
    /// address. Where it cannot be resolved, the path as given.
    pub(crate) fn server_identity(&self) -> Result<String> {
        let path = std::fs::canonicalize(&self.file)
            .map_or_else(|_| self.file.clone(), |p| p.to_string_lossy().into_owned());
        Ok(format!("sqlite:{path}"))
    }
}
