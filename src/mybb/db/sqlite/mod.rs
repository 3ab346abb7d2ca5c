//! SQLite: the SQL of every question [`crate::mybb::db::Db`] asks of a board whose
//! `inc/config.php` says `type` `sqlite`, over one connection to its database file. Only this
//! folder names the `rusqlite` crate or writes a SQLite statement.
//!
//! What differs from MySQL, and why:
//!
//! - **Locking.** SQLite locks the whole file for a write. MyBB opens it through PDO, whose
//!   SQLite driver waits 60 s for a busy file; a save here waits too, up to [`busy_wait`], and
//!   then fails saying the file stayed locked. The journal mode is the board's: nothing here
//!   sets it (WAL or not is the board owner's choice, and switching it needs every other
//!   connection closed).
//! - **Transactions.** Unlike MyISAM, SQLite has them. A check-then-insert (a copy-on-write that
//!   must not duplicate a row another writer just made) runs in one `BEGIN IMMEDIATE`
//!   transaction, which holds the write lock from its first statement: atomic, not checked
//!   after the fact as on MySQL.
//! - **Byte-exact compare-and-swap.** MyBB's schema declares the bodies `TEXT`, but a value's
//!   type is the value's own in SQLite: a body may be stored as TEXT or as a BLOB, and TEXT
//!   compares under the column's collation. Every compare-and-swap compares
//!   `CAST(column AS BLOB)` with the bytes read, bound as a BLOB: byte for byte, whatever the
//!   storage class.
//! - **Character sets.** Not applicable: SQLite stores any UTF-8 text as given, so there is no
//!   3-byte `utf8` to refuse emoji (MyBB's SQLite driver sets no encoding either).
//! - **Fingerprint and digest.** SQLite has no CRC32 or BIT_XOR; the rows are read and hashed
//!   here (FNV-1a), which for a local file is a few milliseconds. `PRAGMA data_version` was
//!   not taken: it changes with every commit to any table (MyBB writes its sessions table on
//!   every page view) and never with this connection's own writes.

mod devtheme;
mod reads;
mod theme_forms;
mod writes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::config::DbTarget;
use crate::error::{Error, Result};
use crate::mybb::db::rows::{Cell, Cells};

/// How long a statement waits for a database file another writer holds, unless a test sets
/// another (the test hook `sqlite-busy-ms`). Longer than MySQL's read timeout: a busy file is
/// not an outage, only a writer (MyBB's own request, a backup) that will let go.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// The test hook that shortens [`BUSY_WAIT`], in milliseconds.
pub(crate) const BUSY_HOOK: &str = "sqlite-busy-ms";

/// The busy wait in force, in milliseconds: read by [`on_busy`], a plain function that SQLite
/// calls and that can capture nothing.
static BUSY_MS: AtomicU64 = AtomicU64::new(BUSY_WAIT.as_millis() as u64);

/// How long a statement waits for a busy database file.
fn busy_wait() -> Duration {
    Duration::from_millis(BUSY_MS.load(Ordering::Relaxed))
}

/// The pause between two tries at a busy file.
const BUSY_STEP: Duration = Duration::from_millis(5);

/// SQLite's busy handler: called with the number of times it was called for this statement;
/// returns true to try again (after a pause), false to give up with `SQLITE_BUSY`. Says once
/// that it waits, so that a user (and a test) sees why a save takes long.
fn on_busy(tries: i32) -> bool {
    let tries = u64::try_from(tries).unwrap_or(0);
    if tries == 0 {
        log::info!(
            "the board's SQLite database file is busy (another writer holds it); waiting up to \
             {} s",
            busy_wait().as_secs_f32()
        );
    }
    if tries.saturating_mul(BUSY_STEP.as_millis() as u64) >= BUSY_MS.load(Ordering::Relaxed) {
        return false;
    }
    std::thread::sleep(BUSY_STEP);
    true
}

/// A connection to a MyBB board's SQLite database file.
pub(crate) struct Sqlite {
    conn: Mutex<Connection>,
    prefix: String,
    /// The database file, as given, for messages.
    file: String,
    /// `sqlite:` and the file, for messages.
    target: String,
}

impl Sqlite {
    /// Opens the database file `target` names, for reading and writing; `prefix` is the
    /// validated table prefix. A file that does not exist is a configuration error (exit 2),
    /// never created: an empty new database is not a board.
    pub(crate) fn open(target: &DbTarget, prefix: &str) -> Result<Sqlite> {
        let file = target.database.clone();
        if let Some(ms) = crate::test_hooks::number(BUSY_HOOK) {
            BUSY_MS.store(ms as u64, Ordering::Relaxed);
        }
        match std::fs::metadata(&file) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(Error::usage(format!(
                    "the SQLite database {file} is not a file; name the board's database file \
                     (inc/config.php's database setting, or --db sqlite:PATH)"
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::usage(format!(
                    "the SQLite database file {file} does not exist; name the board's database \
                     file (inc/config.php's database setting, or --db sqlite:PATH)"
                )));
            }
            Err(e) => return Err(Error::IoAt { path: file.into(), action: "open", source: e }),
        }
        // No CREATE: never make a new, empty database where a board was expected.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened =
            |source| Error::Sqlite { what: "open it".to_owned(), file: file.clone(), source };
        let mut conn = Connection::open_with_flags(&file, flags).map_err(opened)?;
        conn.busy_handler(Some(on_busy)).map_err(opened)?;
        let db = Sqlite {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
            target: target.to_string(),
            file,
        };
        log::debug!("opened {}", db.target);
        db.check_prefix()?;
        Ok(db)
    }

    /// Returns the database file, as `sqlite:PATH`, for messages.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Returns the validated table prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns the connection, held by one caller at a time. A thread that panicked holding it
    /// left no half-read answer behind (rusqlite finishes or resets each statement), so a
    /// poisoned lock is taken over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| {
            self.conn.clear_poison();
            poisoned.into_inner()
        })
    }

    /// Returns the prefixed name of MyBB table `table`, unquoted, for messages.
    fn name(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    /// Returns the prefixed name of MyBB table `table`, quoted. The prefix was validated as
    /// MyBB does (`[A-Za-z][A-Za-z0-9_]*`), so it is safe inside SQL.
    fn table(&self, table: &str) -> String {
        format!("\"{}{table}\"", self.prefix)
    }

    /// Returns the error of statement `what` failing with `source`.
    fn error(&self, what: impl Into<String>, source: rusqlite::Error) -> Error {
        let (what, file) = (what.into(), self.file.clone());
        if is_busy(&source) {
            return Error::SqliteBusy { what, file, waited: busy_wait() };
        }
        Error::Sqlite { what, file, source }
    }

    /// Returns a configuration error (exit 2) when the database has no `templates` table under
    /// the prefix, naming the prefixes that have one.
    fn check_prefix(&self) -> Result<()> {
        let sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%templates' \
                   ORDER BY name";
        let conn = self.conn();
        let names: Vec<String> = conn
            .prepare(sql)
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get::<_, String>(0))?.collect::<Result<_, _>>()
            })
            .map_err(|e| self.error("list the tables", e))?;
        let wanted = self.name("templates");
        // SQLite's table names are case-insensitive, as its LIKE is.
        if names.iter().any(|n| n.eq_ignore_ascii_case(&wanted)) {
            return Ok(());
        }
        let prefixes = names.iter().filter_map(|n| n.get(..n.len() - "templates".len()));
        let board = format!("the SQLite database {}", self.file);
        Err(super::no_tables_under_prefix(&board, &self.prefix, &wanted, prefixes))
    }
}

/// Returns true if and only if `error` says that the database file stayed locked (busy) past
/// the busy wait.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// SQLite's rows, as the shared decoder reads them: a value as its storage class holds it.
impl Cells for rusqlite::Row<'_> {
    fn cell(&self, index: usize) -> Option<Cell<'_>> {
        Some(match self.get_ref(index).ok()? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Real(x) => Cell::Real(x),
            ValueRef::Text(b) | ValueRef::Blob(b) => Cell::Bytes(b),
        })
    }

    fn column_index(&self, name: &str) -> Option<usize> {
        self.as_ref().column_index(name).ok()
    }
}

/// A row of a SQLite answer, in the shared decoder.
pub(super) type Reader<'r, 's> = crate::mybb::db::rows::Reader<'r, rusqlite::Row<'s>>;

/// Returns `n` statement placeholders, `?, ?, ...`.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Feeds `bytes` into the FNV-1a hash `hash`, the digest of [`Sqlite::fingerprint`] and
/// [`Sqlite::templates_digest`]: stable across runs and versions (a digest is kept on disk).
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// FNV-1a's starting value.
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is FNV-1a 64 as published: a digest kept on disk must mean the same next run.
    #[test]
    fn the_digest_is_fnv1a_64() {
        assert_eq!(fnv1a(FNV_START, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_START, b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
