//! The connection to a MySQL or MariaDB server: how it is made (timeouts, the address the
//! user gave, `CLIENT_FOUND_ROWS`), checked after a pause, and made anew after an error that
//! leaves it unusable, and how the server's errors become mybb-sync's. The statements that use
//! it live beside it, one file per concern.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mysql::consts::CapabilityFlags;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Row};

use super::rows::{RowReader, decode_rows_of};
use crate::config::DbTarget;
use crate::error::{Error, Result, plain};
use crate::mybb::db::TIMEOUT;

/// How long the connection may lie idle before its next use checks, with a ping, that it is
/// still there (the server restarted, or closed it after its `wait_timeout`). A run of queries
/// pings not at all: a pool's ping before every query cost an export 1.5 ms (issue 16).
const IDLE_BEFORE_PING: Duration = Duration::from_millis(250);

/// A connection to a MySQL or MariaDB server holding a MyBB database: one connection, made
/// again when a ping after a pause or an error on it says that it is gone.
pub(crate) struct MySql {
    opts: Opts,
    link: Mutex<Link>,
    /// Set when a query failed on the connection itself: the next use makes a new one.
    /// Apart from `link`, which the failing query still holds when its error is mapped.
    broken: AtomicBool,
    prefix: String,
    target: String,
    /// Whether the connection's character set is MySQL's 3-byte `utf8` (config.php's
    /// `encoding`), which cannot carry characters outside the Basic Multilingual Plane.
    pub(super) three_byte_connection: bool,
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
pub(super) struct Held<'a>(MutexGuard<'a, Link>);

impl Deref for Held<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.0.conn.as_ref().expect("MySql::conn makes the connection before it hands it out")
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.0.conn.as_mut().expect("MySql::conn makes the connection before it hands it out")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.used = Instant::now();
    }
}

impl MySql {
    /// Connects to `target`; `prefix` is the validated table prefix. Honours the address the user
    /// gave: TCP stays TCP unless a socket was asked for.
    pub(crate) fn connect(target: &DbTarget, prefix: &str) -> Result<MySql> {
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
        let db = MySql {
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

    /// Returns the address connected to, its password redacted, for messages.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Returns the validated table prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns a configuration error (exit 2) when the database has no `templates` table under
    /// the prefix, naming the prefixes that have one: a wrong prefix is a setting to fix, not a
    /// failure halfway through a command.
    pub(super) fn check_prefix(&self, database: &str) -> Result<()> {
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
        let prefixes = names.iter().filter_map(|n| n.strip_suffix("templates"));
        let board = format!("the database {database:?}");
        Err(super::super::no_tables_under_prefix(&board, &self.prefix, &wanted, prefixes))
    }

    /// Returns the connection, made anew when there is none, when a query on it failed, or
    /// when it lay idle and no longer answers a ping.
    pub(super) fn conn(&self) -> Result<Held<'_>> {
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
                "the connection to {} no longer answers ({}); connecting again",
                self.target,
                plain(&e)
            );
            link.conn = None;
        }
        if link.conn.is_none() {
            let mut conn = Conn::new(self.opts.clone())
                .map_err(|source| Error::Connect { url: self.target.clone(), source })?;
            shorten_lock_waits(&mut conn);
            link.conn = Some(conn);
        }
        Ok(Held(link))
    }

    /// Returns the prefixed name of MyBB table `table`, unquoted, for messages.
    pub(super) fn name(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    /// Returns the prefixed name of MyBB table `table`. The prefix was validated as MyBB does
    /// (`[A-Za-z][A-Za-z0-9_]*`), so it is safe inside SQL.
    pub(super) fn table(&self, table: &str) -> String {
        format!("`{}{table}`", self.prefix)
    }

    pub(super) fn query_error(&self, what: String, source: mysql::Error) -> Error {
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
    /// its rows with `decode`, as [`MySql::decode_rows`].
    pub(super) fn query_rows<T>(
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
    pub(super) fn decode_rows<T>(
        &self,
        table: &str,
        rows: Vec<Row>,
        decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        decode_rows_of(&self.name(table), rows, decode)
    }

    /// [`MySql::query_rows`] for rows that are no MyBB table's, `shown` naming them for errors.
    pub(super) fn query_computed<T>(
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
    pub(super) fn exec_first_row(
        &self,
        conn: &mut Conn,
        sql: String,
        params: impl Into<Params>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<Row>> {
        let rows: Vec<Row> = conn.exec(sql, params).map_err(|e| self.query_error(what(), e))?;
        Ok(rows.into_iter().next())
    }
}
/// Returns `n` statement placeholders, `?, ?, ...`.
pub(super) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// How long a statement of ours waits for a row another transaction holds (InnoDB's
/// `innodb_lock_wait_timeout`, 50 s by default) before the server answers error 1205: less
/// than [`TIMEOUT`], so that a row held by a plugin's or a backup's transaction is told from a
/// server that froze, and the write is tried again later (issue 26).
const LOCK_WAIT_SECS: u32 = 2;

/// Makes `conn`'s statements wait at most [`LOCK_WAIT_SECS`] for a locked row. A server
/// without the setting (no InnoDB) keeps its own: nothing of ours waits on a row lock there.
fn shorten_lock_waits(conn: &mut Conn) {
    let sql = format!("SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECS}");
    if let Err(e) = conn.query_drop(sql) {
        log::debug!("innodb_lock_wait_timeout is left as the server sets it: {e}");
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
}
