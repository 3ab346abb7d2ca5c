//! The reads of a PostgreSQL board: template sets and groups, templates, themes, stylesheets,
//! key-value rows, the theme export's reads, the upgrade commands' reads, the fingerprint and
//! digest, and which server this is. Each is the statement the MySQL engine issues where
//! PostgreSQL has the same words; a list of ids or titles is one array parameter.

use super::{Postgres, number_array, text_array};
use crate::error::{Error, Result};
use crate::mybb::db::{
    ExportTemplate, Lookup, Oversize, StylesheetRow, TemplateRow, ThemeRow, VersionedTemplate,
};
use crate::mybb::db::{decode, sql};

/// A 32-bit hash of the text `expression`, as a bigint: the first 8 hex digits of its MD5
/// (PostgreSQL has no CRC32). Summed per group, it is the fingerprint's and digest's figure.
fn hash32(expression: &str) -> String {
    format!("('x' || substr(md5({expression}), 1, 8))::bit(32)::bigint")
}

impl Postgres {
    /// Returns the template sets as `(sid, title)`, by sid.
    pub(crate) fn template_sets(&self) -> Result<Vec<(i32, String)>> {
        let sql = format!("SELECT sid, title FROM {} ORDER BY sid", self.table("templatesets"));
        self.rows(&sql, &[], "read the template sets", "templatesets", |row| {
            decode::template_set(row)
        })
    }

    /// Returns the template groups as `(prefix, title)`, by gid.
    pub(crate) fn template_groups(&self) -> Result<Vec<(String, String)>> {
        let sql =
            format!("SELECT prefix, title, gid FROM {} ORDER BY gid", self.table("templategroups"));
        self.rows(&sql, &[], "read the template groups", "templategroups", |row| {
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
        let t = self.table("templates");
        let sids_param = number_array(sids);
        let titles_param = titles.map(text_array);
        let mut params = vec![Some(sids_param.as_bytes())];
        let sql = match &titles_param {
            Some(titles) => {
                params.push(Some(titles.as_bytes()));
                format!(
                    "SELECT tid, sid, title, template, dateline FROM {t} \
                     WHERE sid = ANY ($1::int[]) AND title = ANY ($2::text[]) ORDER BY tid"
                )
            }
            None => format!(
                "SELECT tid, sid, title, template, dateline FROM {t} \
                 WHERE sid = ANY ($1::int[]) ORDER BY tid"
            ),
        };
        let what = format!("read the templates of sets {sids:?}");
        self.rows(&sql, &params, &what, "templates", |row| decode::template_row(row))
    }

    /// Returns every theme, by tid.
    pub(crate) fn themes(&self) -> Result<Vec<ThemeRow>> {
        let sql = format!(
            "SELECT tid, name, pid, def, properties, stylesheets FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.rows(&sql, &[], "read the themes", "themes", |row| decode::theme_row(row))
    }

    /// Returns every stylesheet row, by sid, and none too big to read: PostgreSQL hands a value
    /// of any size its limit allows (1 GB), with no packet limit between (issue 26 is MySQL's).
    pub(crate) fn stylesheets_within_packet(&self) -> Result<(Vec<StylesheetRow>, Vec<Oversize>)> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY sid",
            decode::STYLESHEET_COLUMNS.join(", "),
            self.table("themestylesheets")
        );
        let rows = self.rows(&sql, &[], "read the stylesheets", "themestylesheets", |row| {
            decode::stylesheet_row(row, decode::IN_ORDER)
        })?;
        Ok((rows, Vec::new()))
    }

    /// Returns every key of the key-value table `lookup` (every setting's name, for `check`).
    pub(crate) fn keys(&self, lookup: Lookup) -> Result<Vec<String>> {
        let Lookup { table, key_column, shown, .. } = lookup;
        let sql = format!("SELECT {key_column} FROM {}", self.table(table));
        let what = format!("read every {shown}'s {key_column}");
        self.rows(&sql, &[], &what, table, |row| row.text(0, key_column))
    }

    /// Returns the value of the row keyed `key` in the key-value table `lookup`, if it exists.
    pub(crate) fn lookup(&self, lookup: Lookup, key: &str) -> Result<Option<String>> {
        let Lookup { table, key_column, value_column, shown } = lookup;
        let sql = format!(
            "SELECT {value_column} FROM {} WHERE {key_column} = $1 LIMIT 1",
            self.table(table)
        );
        let what = format!("read {shown} {key:?}");
        let values = self.rows(&sql, &[Some(key.as_bytes())], &what, table, |row| {
            row.name_row(format!("{key_column} {key:?}"));
            row.text(0, value_column)
        })?;
        Ok(values.into_iter().next())
    }

    /// Returns, for each column, whether it can store characters outside the Basic Multilingual
    /// Plane: every column can in a UTF-8 database (and in `SQL_ASCII`, which stores the bytes
    /// as given); none can in a database of another encoding (LATIN1, ...), where the server
    /// refuses what it cannot convert.
    pub(crate) fn store_four_byte_utf8(&self, columns: &[(&str, &str)]) -> Result<Vec<bool>> {
        let encoding = self.parameter("server_encoding")?.unwrap_or_default();
        let any = matches!(encoding.as_str(), "UTF8" | "SQL_ASCII" | "");
        Ok(vec![any; columns.len()])
    }

    /// Returns a fingerprint of the templates and stylesheets that changes with any insert,
    /// delete or edit, content included: per template set and per theme, the row count and the
    /// sum of a 32-bit hash of each row's id, stamp, name and content (the MySQL engine's
    /// figures, with MD5 for CRC32); the same of the sets (sid, title), so a set deleted and
    /// made again under its title (a new sid) is seen though no row of its own changed; and
    /// each theme's Edit Theme fields by tid (issue 28). One scan of each table.
    pub(crate) fn fingerprint(&self) -> Result<Vec<u64>> {
        let (t, s) = (self.table("templates"), self.table("themestylesheets"));
        let (sets, themes) = (self.table("templatesets"), self.table("themes"));
        let template = hash32("concat_ws(':', tid, dateline, title, template)");
        let sheet = hash32("concat_ws(':', sid, lastmodified, name, attachedto, stylesheet)");
        // The sets by sid and title: a set made again under its title has a new sid.
        let set = hash32("concat_ws(':', sid, title)");
        // Each theme's Edit Theme fields: an Admin CP edit reaches its theme.json (issue 28).
        let theme = hash32("concat_ws(':', pid, name, allowedgroups, properties)");
        let sql = format!(
            "SELECT 0, sid::bigint, COUNT(*), SUM({template}) FROM {t} GROUP BY sid
             UNION ALL
             SELECT 1, tid::bigint, COUNT(*), SUM({sheet}) FROM {s} GROUP BY tid
             UNION ALL SELECT 2, 0, COUNT(*), COALESCE(SUM({set}), 0) FROM {sets}
             UNION ALL
             SELECT 3, tid::bigint, COUNT(*), SUM({theme}) FROM {themes} GROUP BY tid
             ORDER BY 1, 2"
        );
        let rows =
            self.rows(&sql, &[], "fingerprint the tables", "tables' fingerprint", |row| {
                let id: i64 = row.int(1, "id")?;
                Ok([row.int(0, "part")?, id as u64, row.int(2, "count")?, row.int(3, "sum")?])
            })?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Returns the stylesheet rows of the themes `tids` as the export reads them: `SELECT *`,
    /// by tid descending, ties in the server's order.
    /// `tids` is not empty: `Db::stylesheets_for_export` asks nothing of the engine then.
    pub(crate) fn stylesheets_for_export(&self, tids: &[u32]) -> Result<Vec<StylesheetRow>> {
        let sql = format!(
            "SELECT * FROM {} WHERE tid = ANY ($1::numeric[]) ORDER BY tid DESC",
            self.table("themestylesheets")
        );
        let tids_param = number_array(tids);
        let what = format!("read the stylesheets of themes {tids:?}");
        self.rows(&sql, &[Some(tids_param.as_bytes())], &what, "themestylesheets", |row| {
            let at = decode::by_name(row)?;
            decode::stylesheet_row(row, at)
        })
    }

    /// Returns the templates of set `sid` as the export reads them, in the server's order.
    pub(crate) fn templates_for_export(&self, sid: i64) -> Result<Vec<ExportTemplate>> {
        let sql = format!("SELECT * FROM {} WHERE sid = $1", self.table("templates"));
        let what = format!("read the templates of set {sid}");
        let sid = sid.to_string();
        self.rows(&sql, &[Some(sid.as_bytes())], &what, "templates", |row| {
            decode::export_template(row)
        })
    }

    /// Returns the tid of a theme called `name`, compared as PostgreSQL compares text (exactly,
    /// case included), as `import_theme_xml()`'s check finds it on this engine.
    pub(crate) fn theme_tid_by_name(&self, name: &str) -> Result<Option<u32>> {
        let sql = format!("SELECT tid FROM {} WHERE name = $1 LIMIT 1", self.table("themes"));
        let what = format!("look for a theme named {name:?}");
        let tids =
            self.rows(&sql, &[Some(name.as_bytes())], &what, "themes", |row| row.int(0, "tid"))?;
        Ok(tids.into_iter().next())
    }

    /// Returns every master, global and set template with its version, ordered by tid; without
    /// `set_bodies`, a set's row comes with an empty template (issue 32).
    pub(crate) fn versioned_templates(&self, set_bodies: bool) -> Result<Vec<VersionedTemplate>> {
        let body =
            if set_bodies { "template" } else { "CASE WHEN sid < 0 THEN template ELSE '' END" };
        let sql = format!(
            "SELECT tid, sid, title, version, {body}, dateline FROM {} \
             WHERE sid >= -2 AND sid <> 0 ORDER BY tid",
            self.table("templates")
        );
        self.rows(&sql, &[], "read the templates and their versions", "templates", |row| {
            decode::versioned_template(row)
        })
    }

    /// Returns the tids of the custom rows that MyBB's "Find Updated Templates" finds, with its
    /// condition verbatim (on PostgreSQL, as MyBB runs it there: versions compared as text).
    /// Each tid once, ascending.
    pub(crate) fn find_updated(&self) -> Result<Vec<u32>> {
        let t = self.table("templates");
        let sql = sql::find_updated(&t);
        self.rows(&sql, &[], "find the templates an upgrade made outdated", "templates", |row| {
            row.int(0, "tid")
        })
    }

    /// Returns a digest of the master templates and of which custom rows exist (see
    /// `Db::templates_digest`): the MySQL engine's figures, with MD5 for CRC32.
    pub(crate) fn templates_digest(&self) -> Result<String> {
        let t = self.table("templates");
        let hash = hash32("concat_ws(chr(1), title, version, template)");
        let sql = format!(
            "SELECT concat_ws(':', 'pg',
                (SELECT COUNT(*) FROM {t} WHERE sid = -2),
                (SELECT COALESCE(SUM({hash}), 0) FROM {t} WHERE sid = -2),
                (SELECT COALESCE(MAX(tid), 0) FROM {t} WHERE sid = -2),
                (SELECT COUNT(*) FROM {t} WHERE sid <> -2),
                (SELECT COALESCE(SUM(tid), 0) FROM {t} WHERE sid <> -2))"
        );
        let digest = self.rows(&sql, &[], "digest the master templates", "the digest", |row| {
            row.text(0, "digest")
        })?;
        digest
            .into_iter()
            .next()
            .ok_or_else(|| Error::Data { what: "the template digest query returned no row".into() })
    }
}

/// Which server this is, however it is reached (issue 25).
impl Postgres {
    /// Returns a name of the server that is the same through every address it answers on: its
    /// cluster's system identifier (made once by `initdb`, kept across restarts). Where the
    /// user may not read it, the data directory's path, then the address as given.
    pub(crate) fn server_identity(&self) -> Result<String> {
        let asks = [
            ("SELECT system_identifier::text FROM pg_control_system()", "pg-system"),
            ("SELECT current_setting('data_directory')", "pg-datadir"),
        ];
        for (sql, kind) in asks {
            match self
                .rows(sql, &[], "identify the server", "the server", |row| row.text(0, "identity"))
            {
                Ok(found) => {
                    if let Some(id) = found.into_iter().next() {
                        return Ok(format!("{kind}:{id}"));
                    }
                }
                // Refused (a permission): the next way; the connection itself failing is not.
                Err(e @ Error::PgConnect { .. }) => return Err(e),
                Err(e) => log::debug!("the server's {kind} is not readable: {e}"),
            }
        }
        let (host, port) = (&self.options.host, self.options.port);
        Ok(format!("pg-address:{host}:{port}"))
    }
}
