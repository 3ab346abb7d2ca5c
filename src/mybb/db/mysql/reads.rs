//! The reads every command makes of a board: template sets and groups, templates, themes,
//! stylesheets, key-value rows (`datacache`, `settings`), the columns' character sets, and the
//! fingerprint a watcher compares between pulls.

use mysql::prelude::Queryable;
use mysql::{Params, Row, Value};

use super::MySql;
use super::connection::placeholders;
use super::rows::RowReader;
use crate::error::Result;
use crate::mybb::db::{Lookup, Oversize, StylesheetRow, TemplateRow, ThemeRow, decode};

impl MySql {
    /// Returns the template sets as `(sid, title)`, by sid.
    pub(crate) fn template_sets(&self) -> Result<Vec<(i32, String)>> {
        let sql = format!("SELECT sid, title FROM {} ORDER BY sid", self.table("templatesets"));
        self.query_rows(sql, "read the template sets", "templatesets", |row| {
            decode::template_set(row)
        })
    }

    /// Returns the template groups as `(prefix, title)`.
    pub(crate) fn template_groups(&self) -> Result<Vec<(String, String)>> {
        let sql =
            format!("SELECT prefix, title, gid FROM {} ORDER BY gid", self.table("templategroups"));
        self.query_rows(sql, "read the template groups", "templategroups", |row| {
            decode::template_group(row)
        })
    }

    /// Returns the templates of the sets `sids` (optionally only those titled one of `titles`),
    /// ordered by tid, so that among duplicates of one (sid, title) the last one wins, as in MyBB.
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
            params.extend(titles.iter().map(|t| Value::from(t.as_str())));
        }
        let rows: Vec<Row> = self
            .conn()?
            .exec(sql, Params::Positional(params))
            .map_err(|e| self.query_error(format!("read the templates of sets {sids:?}"), e))?;
        let mut rows = self.decode_rows("templates", rows, |row| decode::template_row(row))?;
        // Sorted here, not with ORDER BY: on rows with a TEXT column, MariaDB's sort writes them
        // out and reads each one again, two thirds of the read's time (issue 16); tids are unique.
        rows.sort_unstable_by_key(|row| row.tid);
        Ok(rows)
    }

    /// Returns every theme, by tid.
    pub(crate) fn themes(&self) -> Result<Vec<ThemeRow>> {
        let sql = format!(
            "SELECT tid, name, pid, def, properties, stylesheets FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.query_rows(sql, "read the themes", "themes", |row| decode::theme_row(row))
    }

    /// Returns every stylesheet row, by sid.
    pub(crate) fn stylesheets_within_packet(&self) -> Result<(Vec<StylesheetRow>, Vec<Oversize>)> {
        // A content that would not fit one packet with the row's other columns and the
        // packet's framing (at most the 64 KiB of attachedto, a TEXT, a name, a cache file
        // name, three numbers) is left out by the server: reading it failed the whole query
        // with "Packet is larger than max_allowed_packet" (issue 26).
        let sql = format!(
            "SELECT sid, name, tid, attachedto, \
             IF(LENGTH(stylesheet) + LENGTH(attachedto) + 1024 <= @@max_allowed_packet, \
             stylesheet, ''), cachefile, lastmodified, LENGTH(stylesheet), @@max_allowed_packet \
             FROM {} ORDER BY sid",
            self.table("themestylesheets")
        );
        let mut oversize = Vec::new();
        let rows = self.query_rows(sql, "read the stylesheets", "themestylesheets", |row| {
            let sheet = decode::stylesheet_row(row, decode::IN_ORDER)?;
            let bytes: u64 = row.take(7, "LENGTH(stylesheet)")?;
            if sheet.stylesheet.is_empty() && bytes > 0 {
                let limit = row.take(8, "@@max_allowed_packet")?;
                oversize.push(Oversize { sid: sheet.sid, bytes, limit });
            }
            Ok(sheet)
        })?;
        Ok((rows, oversize))
    }

    /// Returns every key of the key-value table `lookup` (every setting's name, for `check`).
    pub(crate) fn keys(&self, lookup: Lookup) -> Result<Vec<String>> {
        let Lookup { table, key_column, shown, .. } = lookup;
        let sql = format!("SELECT {key_column} FROM {}", self.table(table));
        let what = format!("read every {shown}'s {key_column}");
        self.query_rows(sql, &what, table, |row| row.text(0, key_column))
    }

    /// Returns the value of the row keyed `key` in the key-value table `lookup` (a `datacache`
    /// row's serialized value, a setting's value), if the row exists.
    pub(crate) fn lookup(&self, lookup: Lookup, key: &str) -> Result<Option<String>> {
        let Lookup { table, key_column, value_column, shown } = lookup;
        let sql =
            format!("SELECT {value_column} FROM {} WHERE {key_column} = ?", self.table(table));
        let row = self
            .exec_first_row(&mut *self.conn()?, sql, (key,), || format!("read {shown} {key:?}"))?;
        let table = self.name(table);
        row.map(|row| {
            let mut row = RowReader::new(row, &table, 0);
            row.name_row(format!("{key_column} {key:?}"));
            row.text(0, value_column)
        })
        .transpose()
    }

    /// Returns, for each `(table, column)` of `columns` (a MyBB table, unprefixed), whether it
    /// can store characters outside the Basic Multilingual Plane (emoji) through this
    /// connection: false for MySQL's 3-byte `utf8`, in the column or as the connection's
    /// character set (config.php's `encoding`), where MySQL would silently turn them into `?`.
    /// One query for all (issue 16: the two every command asks took 0.8 ms as two, 0.4 as one).
    pub(crate) fn store_four_byte_utf8(&self, columns: &[(&str, &str)]) -> Result<Vec<bool>> {
        // A plain query, not a prepared statement: MariaDB 10.11 was seen to crash freeing the
        // temporary table of an information_schema statement executed as a prepared one, with
        // other databases being dropped meanwhile. The names are safe inside quotes: the prefix
        // is validated (`[A-Za-z][A-Za-z0-9_]*`), tables and columns are this crate's own.
        let mut sql = "SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME \
                       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND ("
            .to_owned();
        for (n, (table, column)) in columns.iter().enumerate() {
            sql.push_str(if n == 0 { "" } else { " OR " });
            sql.push_str(&format!(
                "(TABLE_NAME = '{}' AND COLUMN_NAME = '{column}')",
                self.name(table)
            ));
        }
        sql.push(')');
        let described = || {
            let names: Vec<String> = columns.iter().map(|(t, c)| format!("{t}.{c}")).collect();
            format!("read the character sets of {}", names.join(" and "))
        };
        let rows = self.query_computed(sql, &described(), "information_schema.COLUMNS", |row| {
            Ok((
                row.text(0, "TABLE_NAME")?,
                row.text(1, "COLUMN_NAME")?,
                row.take(2, "CHARACTER_SET_NAME")?,
            ))
        });
        let rows: Vec<(String, String, Option<String>)> = rows?;
        Ok(columns
            .iter()
            .map(|(table, column)| {
                let charset = rows
                    .iter()
                    // As the query's own comparison: names without regard to case.
                    .find(|(t, c, _)| {
                        t.eq_ignore_ascii_case(&self.name(table)) && c.eq_ignore_ascii_case(column)
                    })
                    .and_then(|(_, _, charset)| charset.as_deref())
                    .unwrap_or_default();
                !(charset == "utf8" || charset == "utf8mb3" || self.three_byte_connection)
            })
            .collect())
    }

    /// Returns a cheap fingerprint of the templates and stylesheets that changes with any
    /// insert, delete or edit, content included: per template set and per theme, the row count
    /// and the XOR of a CRC-32 of each row's id, stamp, name and content (so a Search & Replace
    /// that leaves `dateline` alone is seen too); the same of the sets (sid, title), so a set
    /// deleted and made again under its title (a new sid) is seen though no row of its own
    /// changed; and a CRC-32 of each theme's Edit Theme fields by tid (issue 28: an Admin CP
    /// edit of a theme reaches its `theme.json`; a theme made again has a new tid). One scan of
    /// the tables; see scripts/bench.sh for its cost.
    pub(crate) fn fingerprint(&self) -> Result<Vec<u64>> {
        let (t, s) = (self.table("templates"), self.table("themestylesheets"));
        let (sets, themes) = (self.table("templatesets"), self.table("themes"));
        let sql = format!(
            "SELECT 0, sid, COUNT(*), BIT_XOR(CRC32(CONCAT_WS(':', tid, dateline, title, template)))
               FROM {t} GROUP BY sid
             UNION ALL
             SELECT 1, tid, COUNT(*),
                    BIT_XOR(CRC32(CONCAT_WS(':', sid, lastmodified, name, attachedto, stylesheet)))
               FROM {s} GROUP BY tid
             UNION ALL
             SELECT 2, 0, COUNT(*), BIT_XOR(CRC32(CONCAT_WS(':', sid, title))) FROM {sets}
             UNION ALL
             SELECT 3, tid, 1, CRC32(CONCAT_WS(':', pid, name, allowedgroups, properties))
               FROM {themes}
             ORDER BY 1, 2"
        );
        let rows =
            self.query_computed(sql, "fingerprint the tables", "the tables' fingerprint", |row| {
                let id: i64 = row.take(1, "id")?;
                Ok([row.take(0, "part")?, id as u64, row.take(2, "count")?, row.take(3, "crc")?])
            })?;
        Ok(rows.into_iter().flatten().collect())
    }
}

/// Which server this is, however it is reached (issue 25).
impl MySql {
    /// Returns a name of the server that is the same through every address it answers on:
    /// MySQL's `@@server_uuid` (made once per data directory, in `auto.cnf`); on MariaDB, which
    /// has no such variable, its host name, port and data directory together, which no two
    /// servers running at once share.
    pub(crate) fn server_identity(&self) -> Result<String> {
        let sql = "SELECT @@hostname, @@port, @@datadir, @@version".to_owned();
        let rows = self.query_computed(sql, "identify the server", "the server", |row| {
            Ok((
                format!(
                    "{}:{}:{}",
                    row.text(0, "@@hostname")?,
                    row.text(1, "@@port")?,
                    row.text(2, "@@datadir")?
                ),
                row.text(3, "@@version")?,
            ))
        })?;
        let Some((instance, version)) = rows.into_iter().next() else {
            return Err(crate::error::Error::Data {
                what: "the server did not say which it is".to_owned(),
            });
        };
        if version.contains("MariaDB") {
            return Ok(instance);
        }
        let sql = "SELECT @@server_uuid".to_owned();
        let uuid = self.query_computed(sql, "read the server's uuid", "the server", |row| {
            row.text(0, "@@server_uuid")
        })?;
        Ok(uuid.into_iter().next().unwrap_or(instance))
    }
}
