//! [`super::TestDb`] on SQLite (`MYBB_SYNC_TEST_ENGINE=sqlite`): a board file of its own per
//! test, built from the fixture by `tests/sqlite_board.rs`, behind the same helpers as on
//! MariaDB. Values cross as the `mysql` crate's, so that a test's `query_rows::<(u32, Vec<u8>)>`
//! reads the same on either engine.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mysql::consts::ColumnType;
use mysql::{Column, Params, Row};
use mysql_common::row::new_row;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, params_from_iter};

/// A SQLite board file for one test, removed when it drops.
pub struct SqliteDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteDb {
    /// Creates the board file `name`.db under cargo's `target/tmp`, with the fixture's rows
    /// when `fixture` is given (else empty: no tables).
    pub fn create(name: &str, fixture: Option<&str>) -> Result<SqliteDb, String> {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.db"));
        remove(&path);
        match fixture {
            Some(dump) => crate::sqlite_board::build(dump, &path)?,
            None => drop(Connection::open(&path).map_err(|e| e.to_string())?),
        }
        let conn = Connection::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        add_functions(&conn).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(SqliteDb { path, conn: Mutex::new(conn) })
    }

    /// Returns the board's URL for `--db`: `sqlite:` and the file.
    pub fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    /// Returns the board file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the connection (a test that panicked holding it left nothing half done).
    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the statements in `sql`.
    pub fn exec_batch(&self, sql: &str) -> Result<(), String> {
        self.conn().execute_batch(sql).map_err(|e| e.to_string())
    }

    /// Runs one statement with `params`; returns the number of rows it changed.
    pub fn exec_with(&self, sql: &str, params: Params) -> Result<u64, String> {
        let conn = self.conn();
        let changed =
            conn.execute(sql, params_from_iter(to_sqlite(params))).map_err(|e| e.to_string())?;
        Ok(changed as u64)
    }

    /// Returns the rows `sql` selects with `params`, as the `mysql` crate's rows.
    pub fn rows(&self, sql: &str, params: Params) -> Result<Vec<Row>, String> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
        let columns: Arc<[Column]> = stmt
            .column_names()
            .map(|name| Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(name.as_bytes()))
            .collect();
        let mut rows =
            stmt.query(params_from_iter(to_sqlite(params))).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let values = (0..columns.len())
                .map(|i| row.get_ref(i).map(to_mysql).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(new_row(values, columns.clone()));
        }
        Ok(out)
    }
}

impl Drop for SqliteDb {
    /// Removes the board file and its journal, unless the test is failing: kept for a look.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("note: kept the failing test's board {}", self.path.display());
            return;
        }
        remove(&self.path);
    }
}

/// Defines, on the test's own connection, the MariaDB functions the tests' statements use:
/// `UNIX_TIMESTAMP()` and `REGEXP` (SQLite has the operator but no function behind it).
fn add_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function("UNIX_TIMESTAMP", 0, FunctionFlags::SQLITE_UTF8, |_| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Ok(now.map_or(0, |d| d.as_secs() as i64))
    })?;
    let deterministic = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("REGEXP", 2, deterministic, |ctx| {
        let pattern: String = ctx.get(0)?;
        let text: String = ctx.get(1)?;
        let regex = regex::Regex::new(&pattern)
            .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
        Ok(regex.is_match(&text))
    })
}

/// Removes board file `path` and any journal beside it.
fn remove(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// Returns `params` as SQLite values: text where the bytes are UTF-8 (as MyBB stores them),
/// a BLOB otherwise.
fn to_sqlite(params: Params) -> Vec<SqlValue> {
    let values = match params {
        Params::Empty => Vec::new(),
        Params::Positional(values) => values,
        Params::Named(_) => panic!("named parameters are not supported by TestDb on SQLite"),
    };
    values
        .into_iter()
        .map(|value| match value {
            mysql::Value::NULL => SqlValue::Null,
            mysql::Value::Bytes(bytes) => match String::from_utf8(bytes) {
                Ok(text) => SqlValue::Text(text),
                Err(e) => SqlValue::Blob(e.into_bytes()),
            },
            mysql::Value::Int(n) => SqlValue::Integer(n),
            mysql::Value::UInt(n) => SqlValue::Integer(n as i64),
            mysql::Value::Float(x) => SqlValue::Real(f64::from(x)),
            mysql::Value::Double(x) => SqlValue::Real(x),
            other => panic!("TestDb on SQLite cannot bind {other:?}"),
        })
        .collect()
}

/// Returns a SQLite value as the `mysql` crate's.
fn to_mysql(value: ValueRef<'_>) -> mysql::Value {
    match value {
        ValueRef::Null => mysql::Value::NULL,
        ValueRef::Integer(n) => mysql::Value::Int(n),
        ValueRef::Real(x) => mysql::Value::Double(x),
        ValueRef::Text(b) | ValueRef::Blob(b) => mysql::Value::Bytes(b.to_vec()),
    }
}
