//! The only file with SQL: reads MyBB's tables and performs the few writes mybb-sync makes.
//!
//! MyBB's tables are usually MyISAM: there are no transactions to lean on, so every write is one
//! statement that is safe on its own, and the template and stylesheet writes are
//! compare-and-swap in that one statement (an `UPDATE` only where the row still holds what was
//! read; an `INSERT` that finds an older row of the same item removes itself again). The write functions are `pub(crate)`
//! and called only from `sync/apply.rs`, the one door through which file content reaches the
//! database, and from
//! `cache.rs`, which keeps MyBB's stylesheet lists and `default_theme` cache in step with it.
//! Nothing read is trusted: every row is decoded column by column with the crate's fallible
//! conversions (its `from_row` panics on a NULL or a wrong-typed value), text is read as bytes
//! and checked, and a value that does not convert is an error naming table, row and column.

use std::collections::{HashMap, HashSet};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mysql::consts::CapabilityFlags;
use mysql::prelude::FromValue;
use mysql::prelude::Queryable;
use mysql::{Conn, FromValueError, Opts, OptsBuilder, Params, Row, Value};

use crate::config::DbTarget;
use crate::error::{Error, Result};

/// How long connecting, and each read or write on a connection, may take before the server
/// counts as unreachable. Generous for MyBB's small rows; short enough that a frozen server is
/// noticed (and logged) within seconds.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A row of `templates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub tid: u32,
    pub sid: i32,
    pub title: String,
    pub template: Vec<u8>,
    pub dateline: u64,
}

/// A row of `themes`. `properties` and `stylesheets` are PHP-serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeRow {
    pub tid: u32,
    pub name: String,
    pub pid: u32,
    pub def: bool,
    pub properties: String,
    pub stylesheets: String,
}

/// A row of `themestylesheets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StylesheetRow {
    pub sid: u32,
    pub name: String,
    pub tid: u32,
    pub attachedto: String,
    pub stylesheet: Vec<u8>,
    pub cachefile: String,
    pub lastmodified: u64,
}

/// How long the connection may lie idle before its next use checks, with a ping, that it is
/// still there (the server restarted, or closed it after its `wait_timeout`). A run of queries
/// pings not at all: a pool's ping before every query cost an export 1.5 ms (issue 16).
const IDLE_BEFORE_PING: Duration = Duration::from_millis(250);

/// A connection to a MyBB database: one connection, made again when a ping after a pause or an
/// error on it says that it is gone.
pub struct Db {
    opts: Opts,
    link: Mutex<Link>,
    /// Set when a query failed on the connection itself: the next use makes a new one.
    /// Apart from `link`, which the failing query still holds when its error is mapped.
    broken: AtomicBool,
    prefix: String,
    target: String,
    /// Whether the connection's character set is MySQL's 3-byte `utf8` (config.php's
    /// `encoding`), which cannot carry characters outside the Basic Multilingual Plane.
    three_byte_connection: bool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.target)
    }
}

/// Returns the current Unix time in seconds, as MyBB's `TIME_NOW`, by the clock the kernel
/// stamps files with (Linux's coarse realtime clock, up to a tick behind the precise one).
///
/// A stylesheet's `lastmodified` must not be later than the mtime of the cache file written
/// right after its row, or MyBB's stylesheet list points the page at `css.php` instead of the
/// file. By the precise clock it was, in about one save in 300 that fell in the first
/// milliseconds of a second (MyBB's own `TIME_NOW`, taken when its request starts, is early
/// enough not to).
pub fn now() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut coarse = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `coarse` is a valid timespec for the call to fill.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut coarse) } == 0 {
            return u64::try_from(coarse.tv_sec).unwrap_or(0);
        }
    }
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Decodes the columns of one row, fallibly: a value that does not convert (a NULL, a number
/// out of range, text where a number belongs, invalid UTF-8) is an error naming the table, the
/// row and the column, never a panic (the `mysql` crate's `from_row` panics).
struct RowReader<'a> {
    row: Row,
    table: &'a str,
    /// How the row is named in errors: "tid 5", or "row 3" until its id is known.
    id: String,
}

impl<'a> RowReader<'a> {
    fn new(row: Row, table: &'a str, position: usize) -> RowReader<'a> {
        RowReader { row, table, id: format!("row {}", position + 1) }
    }

    /// Returns column `index`, named `column`, as a `T`.
    fn take<T: FromValue>(&mut self, index: usize, column: &str) -> Result<T> {
        match self.row.take_opt::<T, usize>(index) {
            Some(Ok(value)) => Ok(value),
            Some(Err(FromValueError(value))) => Err(self.bad(column, &describe(&value))),
            None => Err(self.bad(column, "no value")),
        }
    }

    /// Returns column `index`, named `column`, as UTF-8 text.
    fn text(&mut self, index: usize, column: &str) -> Result<String> {
        let bytes: Vec<u8> = self.take(index, column)?;
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            self.bad(column, &format!("text that is not valid UTF-8 (at byte {at})"))
        })
    }

    /// Takes column `index` as the row's id, named `column`, for the errors that follow.
    fn id<T: FromValue + std::fmt::Display>(&mut self, index: usize, column: &str) -> Result<T> {
        let id: T = self.take(index, column)?;
        self.id = format!("{column} {id}");
        Ok(id)
    }

    fn bad(&self, column: &str, found: &str) -> Error {
        Error::Data {
            what: format!(
                "cannot read {} {}: its column `{column}` holds {found}, which mybb-sync does not \
                 take for what MyBB stores there; fix the row in the database",
                self.table, self.id
            ),
        }
    }
}

/// Returns `bytes` as text, or an error saying that `what` is not valid UTF-8.
fn text(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| Error::Data {
        what: format!("{what} is not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Decodes `rows`, named `shown` in errors, one by one with `decode`.
fn decode_rows_of<T>(
    shown: &str,
    rows: Vec<Row>,
    mut decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    rows.into_iter()
        .enumerate()
        .map(|(n, row)| decode(&mut RowReader::new(row, shown, n)))
        .collect()
}

/// Returns column 0 of `row`, if there is a row, as a `T` (`shown` and `column` name it for
/// errors).
fn first_value<T: FromValue>(row: Option<Row>, shown: &str, column: &str) -> Result<Option<T>> {
    row.map(|row| RowReader::new(row, shown, 0).take(0, column)).transpose()
}

/// Returns a database value in words, clipped, for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::NULL => "NULL".to_owned(),
        Value::Bytes(bytes) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            format!("{text:?}")
        }
        Value::Int(n) => format!("the number {n}"),
        Value::UInt(n) => format!("the number {n}"),
        other => format!("{other:?}"),
    }
}

/// Whether the connection can take another query after a query failed with `error`. Only an
/// answer the server gave in full leaves it usable. After anything else (a read timed out: a
/// codec error; a dropped link) a late answer may still come, and would be read as the next
/// query's; and some of the server's answers say that it is closing the connection.
fn leaves_connection_usable(error: &mysql::Error) -> bool {
    match error {
        mysql::Error::MySqlError(e) => !CONNECTION_ENDING_ERRORS.contains(&e.code),
        mysql::Error::FromRowError(_)
        | mysql::Error::FromValueError(_)
        | mysql::Error::UrlError(_) => true,
        _ => false,
    }
}

/// Server errors sent just before the server closes the connection: shutting down (1053), a
/// packet too big or a network read or write cut short (1153, 1158-1161), the connection
/// aborted or killed (1184, 1927), and MySQL's idle timeout (4031).
const CONNECTION_ENDING_ERRORS: [u16; 9] = [1053, 1153, 1158, 1159, 1160, 1161, 1184, 1927, 4031];

/// The connection, once made, and when it was last handed back.
struct Link {
    conn: Option<Conn>,
    used: Instant,
}

/// The connection, held by one caller at a time (as a pool of one would).
struct Held<'a>(MutexGuard<'a, Link>);

impl Deref for Held<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.0.conn.as_ref().expect("Db::conn makes the connection before it hands it out")
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.0.conn.as_mut().expect("Db::conn makes the connection before it hands it out")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.used = Instant::now();
    }
}

impl Db {
    /// Connects to `target`; `prefix` is the validated table prefix. Honours the address the user
    /// gave: TCP stays TCP unless a socket was asked for.
    pub fn connect(target: &DbTarget, prefix: &str) -> Result<Db> {
        let mut opts = OptsBuilder::new()
            .ip_or_hostname(Some(target.host.clone()))
            .tcp_port(target.port)
            .user(Some(target.user.clone()))
            .pass(Some(target.password.clone()))
            .db_name(Some(target.database.clone()))
            .prefer_socket(false)
            // A frozen server (stopped, or a dead link) is an outage, not a hang.
            .tcp_connect_timeout(Some(TIMEOUT))
            .read_timeout(Some(TIMEOUT))
            .write_timeout(Some(TIMEOUT))
            // Affected rows count matched rows: a compare-and-swap UPDATE that matched but
            // changed nothing (same content, same second) is a success, not a lost race.
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS);
        if let Some(socket) = &target.socket {
            opts = opts.socket(Some(socket.clone()));
        }
        if let Some(encoding) = &target.encoding {
            // As MyBB's mysqli_set_charset(), on every connection made. config.php
            // parsing allows only `[A-Za-z0-9_]` here, so it is safe inside SQL.
            opts = opts.init(vec![format!("SET NAMES {encoding}")]);
        }
        let three_byte_connection = target
            .encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf8mb3"));
        let db = Db {
            opts: opts.into(),
            link: Mutex::new(Link { conn: None, used: Instant::now() }),
            broken: AtomicBool::new(false),
            prefix: prefix.to_owned(),
            target: target.to_string(),
            three_byte_connection,
        };
        // Connecting now surfaces errors (refused, bad password) here, as a connection error.
        drop(db.conn()?);
        log::debug!("connected to {}", db.target);
        db.check_prefix(&target.database)?;
        Ok(db)
    }

    /// Returns a configuration error (exit 2) when the database has no `templates` table under
    /// the prefix, naming the prefixes that have one: a wrong prefix is a setting to fix, not a
    /// failure halfway through a command.
    fn check_prefix(&self, database: &str) -> Result<()> {
        // The table itself first: a quarter of the listing's time (issue 16), which is needed
        // only to say which prefixes there are.
        let probe = format!("SELECT 1 FROM {} LIMIT 0", self.table("templates"));
        match self.conn()?.query_drop(probe) {
            Ok(()) => return Ok(()),
            // The server's answer: no such table (or none to read); the listing says which.
            Err(mysql::Error::MySqlError(_)) => {}
            // No answer (a timeout, a dropped link): not a question of prefixes.
            Err(e) => return Err(self.query_error("look for the templates table".to_owned(), e)),
        }
        let sql = "SELECT TABLE_NAME FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '%templates' \
                   ORDER BY TABLE_NAME";
        let names: Vec<Vec<u8>> = self
            .conn()?
            .query(sql)
            .map_err(|e| self.query_error("listing the tables".to_owned(), e))?;
        let names: Vec<String> =
            names.into_iter().map(|n| String::from_utf8_lossy(&n).into_owned()).collect();
        let wanted = format!("{}templates", self.prefix);
        if names.contains(&wanted) {
            return Ok(());
        }
        let prefixes: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix("templates"))
            .map(|p| format!("{p:?}"))
            .collect();
        let known = if prefixes.is_empty() {
            "no prefix has one: is this MyBB's database?".to_owned()
        } else {
            format!("prefixes with a templates table: {}", prefixes.join(", "))
        };
        Err(Error::usage(format!(
            "the database {database:?} has no MyBB tables with the table prefix {:?} (no table \
             {wanted}); {known}; set the prefix with --prefix, MYBB_TABLE_PREFIX or \
             inc/config.php's table_prefix",
            self.prefix
        )))
    }

    /// Returns the connection, made anew when there is none, when a query on it failed, or
    /// when it lay idle and no longer answers a ping.
    fn conn(&self) -> Result<Held<'_>> {
        let mut link = match self.link.lock() {
            Ok(link) => link,
            Err(poisoned) => {
                // A thread panicked holding the connection, perhaps halfway through an answer.
                self.link.clear_poison();
                let mut link = poisoned.into_inner();
                link.conn = None;
                link
            }
        };
        if self.broken.swap(false, Ordering::Relaxed) {
            link.conn = None;
        }
        let idle = link.used.elapsed() >= IDLE_BEFORE_PING;
        if idle
            && let Some(conn) = link.conn.as_mut()
            && let Err(e) = conn.ping()
        {
            log::debug!(
                "the connection to {} no longer answers ({e}); connecting again",
                self.target
            );
            link.conn = None;
        }
        if link.conn.is_none() {
            let conn = Conn::new(self.opts.clone())
                .map_err(|source| Error::Connect { url: self.target.clone(), source })?;
            link.conn = Some(conn);
        }
        Ok(Held(link))
    }

    /// Returns the prefixed name of MyBB table `table`, unquoted, for messages.
    fn name(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    /// Returns the prefixed name of MyBB table `table`. The prefix was validated as MyBB does
    /// (`[A-Za-z][A-Za-z0-9_]*`), so it is safe inside SQL.
    fn table(&self, table: &str) -> String {
        format!("`{}{table}`", self.prefix)
    }

    fn query_error(&self, what: String, source: mysql::Error) -> Error {
        if let mysql::Error::MySqlError(e) = &source
            && e.code == 1146
        {
            return Error::Data {
                what: format!(
                    "{what}: {} (is the table prefix {:?} right? see --prefix)",
                    e.message, self.prefix
                ),
            };
        }
        if !leaves_connection_usable(&source) {
            self.broken.store(true, Ordering::Relaxed);
        }
        if matches!(source, mysql::Error::IoError(_) | mysql::Error::DriverError(_)) {
            return Error::Connect { url: self.target.clone(), source };
        }
        Error::Query { what, source }
    }

    /// Runs `sql` (which reads table `table`, unprefixed; `what` names it for errors) and decodes
    /// its rows with `decode`, as [`Db::decode_rows`].
    fn query_rows<T>(
        &self,
        sql: String,
        what: &str,
        table: &str,
        decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows: Vec<Row> =
            self.conn()?.query(sql).map_err(|e| self.query_error(what.to_owned(), e))?;
        self.decode_rows(table, rows, decode)
    }

    /// Decodes `rows` of table `table` (unprefixed) one by one with `decode`: the one place a
    /// query's rows become values, each bad value an error naming table, row and column.
    fn decode_rows<T>(
        &self,
        table: &str,
        rows: Vec<Row>,
        decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        decode_rows_of(&self.name(table), rows, decode)
    }

    /// [`Db::query_rows`] for rows that are no MyBB table's, `shown` naming them for errors.
    fn query_computed<T>(
        &self,
        sql: String,
        what: &str,
        shown: &str,
        decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let rows: Vec<Row> =
            self.conn()?.query(sql).map_err(|e| self.query_error(what.to_owned(), e))?;
        decode_rows_of(shown, rows, decode)
    }

    /// Returns the first row of statement `sql` run with `params` on `conn` (`what` names the
    /// read for errors), having read the whole answer: the crate's `exec_first` drops the rest
    /// of an answer unread, and any error met doing so, which would leave the connection with
    /// half an answer for the next query.
    fn exec_first_row(
        &self,
        conn: &mut Conn,
        sql: String,
        params: impl Into<Params>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<Row>> {
        let rows: Vec<Row> = conn.exec(sql, params).map_err(|e| self.query_error(what(), e))?;
        Ok(rows.into_iter().next())
    }

    /// Returns the template sets as `(sid, title)`, by sid.
    pub fn template_sets(&self) -> Result<Vec<(i32, String)>> {
        let sql = format!("SELECT sid, title FROM {} ORDER BY sid", self.table("templatesets"));
        self.query_rows(sql, "read the template sets", "templatesets", |row| {
            Ok((row.id(0, "sid")?, row.text(1, "title")?))
        })
    }

    /// Returns the template groups as `(prefix, title)`.
    pub fn template_groups(&self) -> Result<Vec<(String, String)>> {
        let sql =
            format!("SELECT prefix, title, gid FROM {} ORDER BY gid", self.table("templategroups"));
        self.query_rows(sql, "read the template groups", "templategroups", |row| {
            let _: u64 = row.id(2, "gid")?;
            Ok((row.text(0, "prefix")?, row.text(1, "title")?))
        })
    }

    /// Returns the templates of the sets `sids` (optionally only those titled one of `titles`),
    /// ordered by tid, so that among duplicates of one (sid, title) the last one wins, as in MyBB.
    pub fn templates(&self, sids: &[i32], titles: Option<&[String]>) -> Result<Vec<TemplateRow>> {
        if sids.is_empty() || titles.is_some_and(|t| t.is_empty()) {
            return Ok(Vec::new());
        }
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
        let mut rows = self.decode_rows("templates", rows, |row| {
            Ok(TemplateRow {
                tid: row.id(0, "tid")?,
                sid: row.take(1, "sid")?,
                title: row.text(2, "title")?,
                template: row.take(3, "template")?,
                dateline: row.take(4, "dateline")?,
            })
        })?;
        // Sorted here, not with ORDER BY: on rows with a TEXT column, MariaDB's sort writes them
        // out and reads each one again, two thirds of the read's time (issue 16); tids are unique.
        rows.sort_unstable_by_key(|row| row.tid);
        Ok(rows)
    }

    /// Returns every theme, by tid.
    pub fn themes(&self) -> Result<Vec<ThemeRow>> {
        let sql = format!(
            "SELECT tid, name, pid, def, properties, stylesheets FROM {} ORDER BY tid",
            self.table("themes")
        );
        self.query_rows(sql, "read the themes", "themes", |row| {
            Ok(ThemeRow {
                tid: row.id(0, "tid")?,
                name: row.text(1, "name")?,
                pid: row.take(2, "pid")?,
                def: row.take::<i64>(3, "def")? == 1,
                properties: row.text(4, "properties")?,
                stylesheets: row.text(5, "stylesheets")?,
            })
        })
    }

    /// Returns every stylesheet row, by sid.
    pub fn stylesheets(&self) -> Result<Vec<StylesheetRow>> {
        let sql = format!(
            "SELECT sid, name, tid, attachedto, stylesheet, cachefile, lastmodified FROM {} ORDER BY sid",
            self.table("themestylesheets")
        );
        self.query_rows(sql, "read the stylesheets", "themestylesheets", |row| {
            Ok(StylesheetRow {
                sid: row.id(0, "sid")?,
                name: row.text(1, "name")?,
                tid: row.take(2, "tid")?,
                attachedto: row.text(3, "attachedto")?,
                stylesheet: row.take(4, "stylesheet")?,
                cachefile: row.text(5, "cachefile")?,
                lastmodified: row.take(6, "lastmodified")?,
            })
        })
    }

    /// Returns a `datacache` row's serialized value, if the row exists.
    pub fn datacache(&self, title: &str) -> Result<Option<String>> {
        let sql = format!("SELECT cache FROM {} WHERE title = ?", self.table("datacache"));
        let row = self.exec_first_row(&mut *self.conn()?, sql, (title,), || {
            format!("read datacache row {title:?}")
        })?;
        let table = self.name("datacache");
        row.map(|row| {
            let mut row = RowReader::new(row, &table, 0);
            row.id = format!("title {title:?}");
            row.text(0, "cache")
        })
        .transpose()
    }

    /// Returns the value of MyBB setting `name` (a `settings` row, which MyBB copies into
    /// `inc/settings.php`), if the row exists.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        let sql = format!("SELECT value FROM {} WHERE name = ?", self.table("settings"));
        let row = self.exec_first_row(&mut *self.conn()?, sql, (name,), || {
            format!("read setting {name:?}")
        })?;
        let table = self.name("settings");
        row.map(|row| {
            let mut row = RowReader::new(row, &table, 0);
            row.id = format!("name {name:?}");
            row.text(0, "value")
        })
        .transpose()
    }

    /// Returns the board's version code (1837 for MyBB 1.8.37), which the Admin CP writes into
    /// every template it saves, read from the `version` datacache row.
    pub fn version_code(&self) -> Result<String> {
        let missing = || Error::Data {
            what: format!(
                "{}datacache has no readable `version` row: is this a MyBB 1.8 database?",
                self.prefix
            ),
        };
        let cache = self.datacache("version")?.ok_or_else(missing)?;
        let value = crate::php::serialize::parse(&cache).map_err(|e| Error::Data {
            what: format!("{}datacache row `version`: {e}", self.prefix),
        })?;
        value
            .get("version_code")
            .and_then(|v| v.as_int())
            .map(|code| code.to_string())
            .ok_or_else(missing)
    }

    /// Returns, for each `(table, column)` of `columns` (a MyBB table, unprefixed), whether it
    /// can store characters outside the Basic Multilingual Plane (emoji) through this
    /// connection: false for MySQL's 3-byte `utf8`, in the column or as the connection's
    /// character set (config.php's `encoding`), where MySQL would silently turn them into `?`.
    /// One query for all (issue 16: the two every command asks took 0.8 ms as two, 0.4 as one).
    pub fn store_four_byte_utf8(&self, columns: &[(&str, &str)]) -> Result<Vec<bool>> {
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
    /// that leaves `dateline` alone is seen too), plus the counts of sets and themes. One scan
    /// of both tables; see scripts/bench.sh for its cost.
    pub fn fingerprint(&self) -> Result<Vec<u64>> {
        let (t, s) = (self.table("templates"), self.table("themestylesheets"));
        let (sets, themes) = (self.table("templatesets"), self.table("themes"));
        let sql = format!(
            "SELECT 0, sid, COUNT(*), BIT_XOR(CRC32(CONCAT_WS(':', tid, dateline, title, template)))
               FROM {t} GROUP BY sid
             UNION ALL
             SELECT 1, tid, COUNT(*),
                    BIT_XOR(CRC32(CONCAT_WS(':', sid, lastmodified, name, attachedto, stylesheet)))
               FROM {s} GROUP BY tid
             UNION ALL SELECT 2, 0, (SELECT COUNT(*) FROM {sets}), (SELECT COUNT(*) FROM {themes})
             ORDER BY 1, 2"
        );
        let rows =
            self.query_computed(sql, "fingerprint the tables", "the tables' fingerprint", |row| {
                let id: i64 = row.take(1, "id")?;
                Ok([row.take(0, "part")?, id as u64, row.take(2, "count")?, row.take(3, "crc")?])
            })?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// Inserts a template row, as the Admin CP does for a copy-on-write or a new title, unless
    /// set `sid` has a row titled `title` by then. Returns the new tid, or None if such a row
    /// appeared (see [`Db::keep_first`]).
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

    /// Updates template rows as [`Db::update_template`] does, many per statement: each row
    /// `(tid, content, seen)` gets `content` if it still holds `seen` byte for byte. Returns,
    /// for each row written here, whether it was written (false: someone else wrote it since it
    /// was read, or it is gone). Rows too large to share a statement under the server's
    /// `max_allowed_packet` are left out, for [`Db::update_template`]. One statement is atomic
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

    /// Inserts template rows as [`Db::insert_template`] does, many per statement: one row
    /// `(sid, title, content)` each for copy-on-writes and new titles. Returns, for each
    /// `(sid, title)` written here, whether our row is the one that stays (false: another row
    /// of that item appeared meanwhile and ours was removed again, as [`Db::keep_first`] does).
    /// Rows too large to share a statement are left out, for [`Db::insert_template`].
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

    /// One statement of [`Db::insert_templates_unless_taken`], then the check of
    /// [`Db::keep_first`] for all its rows at once. The statement's first new id is known
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

    /// The bytes one statement's values may take (`budget` of [`Db::update_templates`] and
    /// [`Db::insert_templates_unless_taken`]): half the server's `max_allowed_packet`, leaving
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

    /// One statement of [`Db::update_templates`].
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
        let sql = format!(
            "INSERT INTO {} (name, tid, attachedto, stylesheet, cachefile, lastmodified) \
             VALUES (?, ?, ?, ?, ?, ?)",
            self.table("themestylesheets")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (name, tid, attachedto, content, name, lastmodified)).map_err(|e| {
            self.query_error(format!("insert stylesheet {name:?} into theme {tid}"), e)
        })?;
        Ok(conn.last_insert_id())
    }

    /// Inserts a stylesheet row into theme `tid`, unless the theme has one named `name` by
    /// then. Returns the new sid, or None if such a row appeared (see [`Db::keep_first`]).
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
        let sql = format!(
            "INSERT INTO {s} (name, tid, attachedto, stylesheet, cachefile, lastmodified) \
             VALUES (?, ?, ?, ?, ?, ?)"
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (name, tid, attachedto, content, name, lastmodified))
            .map_err(|e| self.query_error(what(), e))?;
        let sid = conn.last_insert_id();
        let first = format!("SELECT MIN(sid) FROM {s} WHERE tid = ? AND name = ?");
        let first = self.exec_first_row(&mut conn, first, (tid, name), what)?;
        let first: Option<Option<u64>> =
            first_value(first, &self.name("themestylesheets"), "MIN(sid)")?;
        self.keep_first(&mut conn, &s, "sid", sid, first.flatten())
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

/// The bytes a row of [`Db::update_templates`] adds to a statement besides its content.
const ROW_OVERHEAD: usize = 96;

/// The most rows one statement of [`Db::update_templates`] carries: a prepared statement has at
/// most 65,535 parameters, and the server caches each size it saw.
const MAX_CHUNK_ROWS: usize = 256;

/// Splits `rows` into statements of at most [`MAX_CHUNK_ROWS`] rows whose `sizes` add up to at
/// most `budget` bytes each; a row larger than `budget` alone is left out (for the one-row
/// statement, which has the whole packet).
fn chunks<T>(rows: &[T], sizes: impl Iterator<Item = usize>, budget: usize) -> Vec<Vec<&T>> {
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    let mut size = 0;
    for (row, bytes) in rows.iter().zip(sizes) {
        if bytes > budget {
            continue;
        }
        if size + bytes > budget || chunk.len() == MAX_CHUNK_ROWS {
            all.push(std::mem::take(&mut chunk));
            size = 0;
        }
        chunk.push(row);
        size += bytes;
    }
    if !chunk.is_empty() {
        all.push(chunk);
    }
    all
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// A `templates` row as the Admin CP's theme export reads it: raw bytes, written out as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTemplate {
    pub title: Vec<u8>,
    pub template: Vec<u8>,
    pub version: Vec<u8>,
}

/// Theme packages (issue 13): the queries of the Admin CP's theme export
/// (admin/modules/style/themes.php, action `export`) and the writes of `import_theme_xml()`
/// (admin/inc/functions_themes.php), each the same statement MyBB issues.
impl Db {
    /// Returns the stylesheet rows of the themes `tids` as the export reads them:
    /// `SELECT * ... WHERE tid IN (...) ORDER BY tid DESC`, ties in the server's order (the
    /// export keeps the first row of each `cachefile`, so that order decides).
    pub fn stylesheets_for_export(&self, tids: &[u32]) -> Result<Vec<StylesheetRow>> {
        if tids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT * FROM {} WHERE tid IN ({}) ORDER BY tid DESC",
            self.table("themestylesheets"),
            placeholders(tids.len())
        );
        let params: Vec<Value> = tids.iter().map(|&t| Value::from(t)).collect();
        let what = || format!("read the stylesheets of themes {tids:?}");
        let rows: Vec<mysql::Row> = self
            .conn()?
            .exec(sql, Params::Positional(params))
            .map_err(|e| self.query_error(what(), e))?;
        rows.into_iter()
            .map(|row| {
                let sid: u32 = column(&row, "sid", &what)?;
                let field = |name: &str| -> Result<String> {
                    text(column(&row, name, &what)?, &format!("{name} of stylesheet sid {sid}"))
                };
                Ok(StylesheetRow {
                    sid,
                    name: field("name")?,
                    tid: column(&row, "tid", &what)?,
                    attachedto: field("attachedto")?,
                    stylesheet: column(&row, "stylesheet", &what)?,
                    cachefile: field("cachefile")?,
                    lastmodified: column(&row, "lastmodified", &what)?,
                })
            })
            .collect()
    }

    /// Returns the templates of set `sid` as the export reads them: `SELECT * ... WHERE sid=?`,
    /// without ORDER BY, so in the order the server hands them to MyBB too.
    pub fn templates_for_export(&self, sid: i64) -> Result<Vec<ExportTemplate>> {
        let sql = format!("SELECT * FROM {} WHERE sid = ?", self.table("templates"));
        let what = || format!("read the templates of set {sid}");
        let rows: Vec<mysql::Row> =
            self.conn()?.exec(sql, (sid,)).map_err(|e| self.query_error(what(), e))?;
        rows.into_iter()
            .map(|row| {
                Ok(ExportTemplate {
                    title: column(&row, "title", &what)?,
                    template: column(&row, "template", &what)?,
                    version: column(&row, "version", &what)?,
                })
            })
            .collect()
    }

    /// Returns the tid of a theme called `name` (compared as MySQL compares, so in the column's
    /// collation: usually case-insensitive), as `import_theme_xml()`'s name check finds it.
    pub fn theme_tid_by_name(&self, name: &str) -> Result<Option<u32>> {
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

/// Reads column `name` of a `SELECT *` row, or says which query's row lacked it.
fn column<T: mysql::prelude::FromValue>(
    row: &mysql::Row,
    name: &str,
    what: &impl Fn() -> String,
) -> Result<T> {
    match row.get_opt::<T, &str>(name) {
        Some(Ok(value)) => Ok(value),
        _ => {
            Err(Error::Data { what: format!("{}: column {name} is missing or unreadable", what()) })
        }
    }
}

/// A `templates` row with its `version`, for the upgrade commands (`outdated`, `merge`,
/// `revert`), which compare custom copies with the master they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedTemplate {
    pub tid: u32,
    pub sid: i32,
    pub title: String,
    /// MyBB's version code when the row was written (varchar: plugins write `1`, `0`, ...).
    pub version: String,
    pub template: Vec<u8>,
    pub dateline: u64,
}

/// The condition of MyBB's "Find Updated Templates" (`admin/modules/style/templates.php`,
/// action `find_updated`), verbatim, so that the database compares the varchar versions exactly
/// as it does for MyBB. MyBB checks only set rows (`t.sid > 0`); mybb-sync checks global rows
/// (sid -1) too, which the Admin CP never does.
const FIND_UPDATED_JOIN: &str =
    "LEFT JOIN {t} m ON (m.title=t.title AND m.sid=-2 AND m.version > t.version)
        WHERE (t.sid > 0 OR t.sid = -1) AND m.template != t.template";

impl Db {
    /// Returns every master (sid -2), global (sid -1) and set (sid >= 1) template with its
    /// version, ordered by tid (so a later duplicate of one (sid, title) wins, as in MyBB).
    pub fn versioned_templates(&self) -> Result<Vec<VersionedTemplate>> {
        let sql = format!(
            "SELECT tid, sid, title, version, template, dateline FROM {} \
             WHERE sid >= -2 AND sid <> 0",
            self.table("templates")
        );
        let mut rows =
            self.query_rows(sql, "read the templates and their versions", "templates", |row| {
                Ok(VersionedTemplate {
                    tid: row.id(0, "tid")?,
                    sid: row.take(1, "sid")?,
                    title: row.text(2, "title")?,
                    version: row.text(3, "version")?,
                    template: row.take(4, "template")?,
                    dateline: row.take(5, "dateline")?,
                })
            })?;
        rows.sort_unstable_by_key(|row| row.tid); // here, not in SQL: see `templates`
        Ok(rows)
    }

    /// Returns the tids of the custom rows (set rows, and global rows) that MyBB's "Find Updated
    /// Templates" query finds: a master of the same title has a greater version and other
    /// content. Each tid once, ascending.
    pub fn find_updated(&self) -> Result<Vec<u32>> {
        let t = self.table("templates");
        let sql = format!(
            "SELECT DISTINCT t.tid FROM {t} t {} ORDER BY t.tid",
            FIND_UPDATED_JOIN.replace("{t}", &t)
        );
        self.query_rows(sql, "find the templates an upgrade made outdated", "templates", |row| {
            row.take(0, "tid")
        })
    }

    /// Returns a cheap digest of the master templates and of which custom rows exist: it
    /// changes when an upgrade, a plugin or a hand edit changes a master, and when a custom
    /// copy is added or deleted. The baseline is refreshed only when it changes.
    pub fn templates_digest(&self) -> Result<String> {
        let t = self.table("templates");
        let sql = format!(
            "SELECT CAST(CONCAT_WS(':',
                (SELECT COUNT(*) FROM {t} WHERE sid = -2),
                (SELECT COALESCE(SUM(CRC32(CONCAT_WS(CHAR(0), title, version, template))), 0)
                   FROM {t} WHERE sid = -2),
                (SELECT COALESCE(MAX(tid), 0) FROM {t} WHERE sid = -2),
                (SELECT COUNT(*) FROM {t} WHERE sid <> -2),
                (SELECT COALESCE(SUM(tid), 0) FROM {t} WHERE sid <> -2)) AS CHAR)"
        );
        let digest =
            self.query_computed(sql, "digest the master templates", "the digest", |row| {
                row.text(0, "digest")
            })?;
        digest
            .into_iter()
            .next()
            .ok_or_else(|| Error::Data { what: "the template digest query returned no row".into() })
    }

    /// Deletes custom template row `tid` (a set's or a global row), as the Admin CP's "Revert
    /// to Original" does (`delete_query("templates", "tid=...")`). A master row is never
    /// deleted: the statement itself excludes sid -2. Only if the row still holds `seen` byte
    /// for byte: an Admin CP edit since it was read is not thrown away unseen. Returns true if
    /// and only if a row went.
    pub(crate) fn delete_custom_template(
        &self,
        tid: u32,
        title: &str,
        seen: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "DELETE FROM {} WHERE tid = ? AND (sid > 0 OR sid = -1) AND template = BINARY ?",
            self.table("templates")
        );
        let mut conn = self.conn()?;
        conn.exec_drop(sql, (tid, seen))
            .map_err(|e| self.query_error(format!("revert template {title:?} (tid {tid})"), e))?;
        Ok(conn.affected_rows() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(code: u16) -> mysql::Error {
        let message = format!("error {code}");
        mysql::Error::MySqlError(mysql::MySqlError { state: "HY000".into(), message, code })
    }

    /// An error the server sends as it hangs up (MySQL's idle timeout, a kill, a shutdown)
    /// leaves no connection to reuse; a refused statement or a missing table does.
    #[test]
    fn a_server_error_that_ends_the_connection_has_it_made_anew() {
        for code in [1053, 1153, 1159, 1184, 1927, 4031] {
            assert!(!leaves_connection_usable(&server_error(code)), "error {code}");
        }
        for code in [1146, 1064, 1062, 1317] {
            assert!(leaves_connection_usable(&server_error(code)), "error {code}");
        }
        let timed_out = mysql::Error::IoError(std::io::ErrorKind::TimedOut.into());
        assert!(!leaves_connection_usable(&timed_out));
    }

    /// A row stamped with `now()` and a file written right after: the file's mtime (seconds)
    /// is never earlier than the row's stamp. Sampled in the first milliseconds after two
    /// second boundaries, where the precise clock and the file clock disagree.
    #[test]
    fn a_stamp_from_now_is_never_later_than_a_file_written_after_it() {
        let dir = crate::test_support::scratch_dir("db", "now-and-mtime");
        let file = dir.join("cache.css");
        let precise = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut second = precise().as_secs();
        let mut sampled = 0;
        while sampled < 2 {
            // Polled, not slept: the new second is seen within microseconds of its start.
            let at = precise();
            if at.as_secs() == second {
                continue;
            }
            second = at.as_secs();
            sampled += 1;
            for _ in 0..20 {
                let stamp = now();
                std::fs::write(&file, b"body {}").unwrap();
                let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
                let mtime = mtime.duration_since(UNIX_EPOCH).unwrap().as_secs();
                assert!(mtime >= stamp, "a file written after the stamp {stamp} has mtime {mtime}");
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
