//! PostgreSQL: the SQL of every question [`crate::mybb::db::Db`] asks of a board whose
//! `inc/config.php` says `type` `pgsql` or `pgsql_pdo`, over one connection made by [`wire`]
//! (the protocol crate `postgres-protocol` over std's sockets: no async runtime, no thread).
//! Only this folder writes a PostgreSQL statement.
//!
//! What differs from MySQL, and why:
//!
//! - **Transactions.** MyBB's PostgreSQL tables are transactional. A check-then-insert (a
//!   copy-on-write that must not duplicate a row another writer just made) runs in one
//!   transaction that first takes `LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE`: other writers
//!   of that table (MyBB's own included) wait for it, readers do not, and the check and the
//!   insert are atomic, not checked after the fact as on MyISAM. The statements of such a
//!   transaction go in one round trip (a pipeline).
//! - **Locking.** Each connection sets `lock_timeout` to [`LOCK_WAIT`]: a row or table held by
//!   another transaction makes a write fail (SQLSTATE 55P03, tried again later, see
//!   `Error::is_transient`) well before [`TIMEOUT`] says the server froze.
//! - **Byte-exact compare-and-swap.** Every compare-and-swap compares `column COLLATE "C"` with
//!   the text read: the C collation is deterministic, so equality is byte equality whatever
//!   collation the database was made with.
//! - **Character sets.** A database in UTF-8 (or `SQL_ASCII`, which stores bytes as given) keeps
//!   any character; another server encoding (LATIN1, ...) cannot hold emoji.
//! - **Fingerprint and digest.** PostgreSQL has no CRC32 or BIT_XOR (before 14): each row's
//!   `md5()`, cut to 32 bits, is summed per template set and per theme, one scan as on MySQL.
//! - **Types.** MyBB's schema makes `themestylesheets.tid` and `lastmodified` `numeric`; every
//!   value is read in its text form and converted here, so they read as any integer does.

mod devtheme;
mod reads;
mod theme_forms;
pub mod wire;
mod writes;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::DbTarget;
use crate::error::{Error, Result};
use crate::mybb::db::TIMEOUT;
use crate::mybb::db::rows::{Cell, Cells, Reader};
use wire::{Answer, Client, ConnectOptions, PgError};

/// How long a statement of ours waits for a row or table another transaction holds: less than
/// [`TIMEOUT`], so that a lock held by MyBB's request or a backup is told from a frozen server
/// and the write is tried again later (as MySQL's `innodb_lock_wait_timeout`, issue 26).
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// How long the connection may lie idle before its next use checks that it is still there (the
/// server restarted, or an admin ended the session). A run of statements checks not at all.
const IDLE_BEFORE_PING: Duration = Duration::from_millis(250);

/// A statement's parameter: text, or None for NULL.
pub(super) type Param<'a> = Option<&'a [u8]>;

/// A connection to a PostgreSQL server holding a MyBB database: one connection, made again
/// when a check after a pause or an error on it says that it is gone.
pub(crate) struct Postgres {
    options: ConnectOptions,
    link: Mutex<Link>,
    prefix: String,
    /// The address, its password redacted, for messages.
    target: String,
}

/// The connection, once made, and when it was last used.
struct Link {
    client: Option<Client>,
    used: Instant,
}

/// The connection, held by one caller at a time.
pub(super) struct Held<'a> {
    link: MutexGuard<'a, Link>,
    target: &'a str,
}

impl Held<'_> {
    /// Runs the statements of `pipeline` in one round trip; `what` names them for errors. A
    /// failure that leaves the connection unusable drops it, for the next use to make anew.
    pub(super) fn run(
        &mut self,
        what: &str,
        pipeline: &[(&str, &[Param<'_>])],
    ) -> Result<Vec<Answer>> {
        let client = self.link.client.as_mut().ok_or_else(|| lost(self.target))?;
        let answers = client.pipeline(pipeline);
        self.link.used = Instant::now();
        answers.map_err(|e| {
            if e.lost {
                self.link.client = None;
            }
            error(self.target, what, e)
        })
    }
}

/// The error of a connection found missing where one was just made (never expected).
fn lost(target: &str) -> Error {
    Error::PgConnect { url: target.to_owned(), message: "no connection".into(), code: None }
}

/// Returns the error of statement `what` failing with `e` on the server at `target`.
fn error(target: &str, what: &str, e: PgError) -> Error {
    if e.lost {
        return Error::PgConnect { url: target.to_owned(), message: e.message, code: e.code };
    }
    Error::PgQuery { what: what.to_owned(), message: e.message, code: e.code }
}

impl Postgres {
    /// Connects to `target`; `prefix` is the validated table prefix. A host that is a path (or
    /// a socket given) is the directory of the server's Unix socket, as libpq and MyBB take it.
    pub(crate) fn connect(target: &DbTarget, prefix: &str) -> Result<Postgres> {
        let (host, port) = match &target.socket {
            Some(socket) => socket_address(socket, target.port),
            None => (target.host.clone(), target.port),
        };
        let options = ConnectOptions {
            host,
            port,
            user: target.user.clone(),
            password: target.password.clone(),
            database: target.database.clone(),
            timeout: TIMEOUT,
        };
        let db = Postgres {
            options,
            link: Mutex::new(Link { client: None, used: Instant::now() }),
            prefix: prefix.to_owned(),
            target: target.to_string(),
        };
        drop(db.conn()?);
        log::debug!("connected to {}", db.target);
        db.check_prefix()?;
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

    /// Returns the connection, made anew when there is none, when a statement on it failed
    /// the connection, or when it lay idle and no longer answers.
    pub(super) fn conn(&self) -> Result<Held<'_>> {
        let mut link = self.link.lock().unwrap_or_else(|poisoned| {
            // A thread panicked holding the connection, perhaps halfway through an answer.
            self.link.clear_poison();
            let mut link = poisoned.into_inner();
            link.client = None;
            link
        });
        if link.used.elapsed() >= IDLE_BEFORE_PING
            && let Some(client) = link.client.as_mut()
            && let Err(e) = client.batch("")
        {
            log::debug!(
                "the connection to {} no longer answers ({e}); connecting again",
                self.target
            );
            link.client = None;
        }
        if link.client.is_none() {
            let connect_error = |e: PgError| Error::PgConnect {
                url: self.target.clone(),
                message: e.message,
                code: e.code,
            };
            let mut client = Client::connect(&self.options).map_err(connect_error)?;
            let setup = format!("SET lock_timeout = {}", LOCK_WAIT.as_millis());
            client.batch(&setup).map_err(connect_error)?;
            link.client = Some(client);
        }
        link.used = Instant::now();
        Ok(Held { link, target: &self.target })
    }

    /// Returns the server parameter `name` as the server reported it at login.
    pub(super) fn parameter(&self, name: &str) -> Result<Option<String>> {
        let held = self.conn()?;
        Ok(held.link.client.as_ref().and_then(|c| c.parameter(name)).map(str::to_owned))
    }

    /// Returns the prefixed name of MyBB table `table`, for messages.
    pub(super) fn name(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    /// Returns the prefixed name of MyBB table `table` for SQL: unquoted, as MyBB writes it (so
    /// PostgreSQL folds it to lower case, as it did when MyBB made the table). The prefix was
    /// validated as MyBB does (`[A-Za-z][A-Za-z0-9_]*`), so it is safe inside SQL.
    pub(super) fn table(&self, table: &str) -> String {
        self.name(table)
    }

    /// Runs statement `sql` with `params` (`what` names it for errors) and returns its answer.
    pub(super) fn exec(&self, what: &str, sql: &str, params: &[Param<'_>]) -> Result<Answer> {
        let mut answers = self.conn()?.run(what, &[(sql, params)])?;
        Ok(answers.pop().unwrap_or_default())
    }

    /// Runs `sql` with `params` (`what` names it for errors) and decodes each row of table
    /// `table` (unprefixed, or a name for computed rows) with `decode`: the one place a
    /// query's rows become values.
    pub(super) fn rows<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        what: &str,
        table: &str,
        decode: impl FnMut(&mut Reader<'_, PgRow<'_>>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let answer = self.exec(what, sql, params)?;
        decode_answer(&answer, &self.name(table), decode)
    }

    /// Returns a configuration error (exit 2) when the database has no `templates` table under
    /// the prefix, naming the prefixes that have one.
    fn check_prefix(&self) -> Result<()> {
        let sql = "SELECT table_name FROM information_schema.tables \
                   WHERE table_schema = ANY (current_schemas(false)) \
                   AND table_name LIKE '%templates' ORDER BY table_name";
        let names = self.rows(sql, &[], "list the tables", "tables", |row| row.text(0, "name"))?;
        let wanted = self.name("templates").to_ascii_lowercase();
        if names.contains(&wanted) {
            return Ok(());
        }
        let prefixes = names.iter().filter_map(|n| n.strip_suffix("templates"));
        let board = format!("the database {:?}", self.options.database);
        Err(super::no_tables_under_prefix(&board, &self.prefix, &wanted, prefixes))
    }
}

/// Returns the directory and port of Unix socket `socket`: a directory as libpq takes it, or
/// the socket file itself (`/run/postgresql/.s.PGSQL.5432`), whose name holds the port.
fn socket_address(socket: &str, port: u16) -> (String, u16) {
    let path = std::path::Path::new(socket);
    let file_port = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(".s.PGSQL."))
        .and_then(|p| p.parse().ok());
    match (file_port, path.parent()) {
        (Some(port), Some(dir)) => (dir.to_string_lossy().into_owned(), port),
        _ => (socket.to_owned(), port),
    }
}

/// A row of an answer, for the shared decoder.
pub(super) struct PgRow<'a> {
    columns: &'a [String],
    values: &'a [Option<Vec<u8>>],
}

impl Cells for PgRow<'_> {
    fn cell(&self, index: usize) -> Option<Cell<'_>> {
        self.values.get(index).map(|v| v.as_deref().map_or(Cell::Null, Cell::Bytes))
    }

    fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Decodes the rows of `answer`, named `shown` in errors, one by one with `decode`.
pub(super) fn decode_answer<T>(
    answer: &Answer,
    shown: &str,
    mut decode: impl FnMut(&mut Reader<'_, PgRow<'_>>) -> Result<T>,
) -> Result<Vec<T>> {
    answer
        .rows
        .iter()
        .enumerate()
        .map(|(n, values)| {
            let row = PgRow { columns: &answer.columns, values };
            decode(&mut Reader::new(&row, shown, n))
        })
        .collect()
}

/// Returns `values` as a PostgreSQL array literal of text (`{"a","b"}`), for `= ANY($1)`: one
/// statement whatever the list's length.
pub(super) fn text_array<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.as_ref().replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", items.join(","))
}

/// Returns `values` as a PostgreSQL array literal of numbers (`{1,-2}`).
pub(super) fn number_array<N: std::fmt::Display>(values: &[N]) -> String {
    let items: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("{{{}}}", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals_quote_what_needs_it() {
        assert_eq!(text_array(&["a", "b\"c", "d\\e", ""]), r#"{"a","b\"c","d\\e",""}"#);
        assert_eq!(number_array(&[1, -2]), "{1,-2}");
        assert_eq!(number_array::<u32>(&[]), "{}");
    }

    #[test]
    fn a_socket_is_a_directory_or_the_socket_file() {
        assert_eq!(socket_address("/run/postgresql", 5432), ("/run/postgresql".into(), 5432));
        assert_eq!(socket_address("/tmp/pg/.s.PGSQL.5433", 5432), ("/tmp/pg".into(), 5433));
    }
}
