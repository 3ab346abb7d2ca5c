//! [`super::TestDb`] on PostgreSQL (`MYBB_SYNC_TEST_ENGINE=postgres`): a database of its own per
//! test on the server `MYBB_SYNC_TEST_PG_URL` names, built from the fixture by
//! `tests/pg_board.rs`, behind the same helpers as on MariaDB. The tests' statements are
//! MariaDB's: `?` placeholders become `$1`, `$2`..., backquotes double quotes, `REGEXP` `~`;
//! `UNIX_TIMESTAMP()` is a function each test database is given. Values cross as the `mysql`
//! crate's, so that a test's `query_rows::<(u32, Vec<u8>)>` reads the same on every engine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mybb_sync::config::DbTarget;
use mybb_sync::mybb::db::postgres::wire::{Answer, Client, ConnectOptions};
use mysql::consts::ColumnType;
use mysql::{Column, Params, Row};
use mysql_common::row::new_row;

/// The environment variable naming the PostgreSQL test server, a URL without a database
/// (`postgres://postgres@127.0.0.1:5432`). `scripts/test.sh` sets it to a throwaway cluster.
pub const PG_URL_VAR: &str = "MYBB_SYNC_TEST_PG_URL";

/// The functions each test database is given, for the tests' MariaDB statements.
const FUNCTIONS: &str = "CREATE FUNCTION unix_timestamp() RETURNS bigint LANGUAGE sql \
                         AS 'SELECT extract(epoch FROM clock_timestamp())::bigint';";

/// A database of its own for one test, dropped when it drops.
pub struct PgDb {
    name: String,
    server: DbTarget,
    conn: Mutex<Client>,
}

/// Returns the test server from [`PG_URL_VAR`]; panics saying how to set it.
pub fn server() -> DbTarget {
    let url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{PG_URL_VAR} is not set, and this test runs on PostgreSQL \
             (MYBB_SYNC_TEST_ENGINE=postgres).\nRun the tests with scripts/test.sh, which starts a \
             throwaway cluster, or set {PG_URL_VAR}=postgres://postgres@127.0.0.1:5432 (a server \
             where tests may create and drop databases)."
        )
    });
    let url = url.trim_end_matches('/');
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    DbTarget::parse_url(&format!("{base}/postgres{query}"))
        .unwrap_or_else(|e| panic!("{PG_URL_VAR} is not a PostgreSQL server URL: {e}"))
}

/// Returns connection options for database `database` on `server`.
pub fn options(server: &DbTarget, database: &str) -> ConnectOptions {
    let (host, port) = match &server.socket {
        Some(dir) => (dir.clone(), server.port),
        None => (server.host.clone(), server.port),
    };
    ConnectOptions {
        host,
        port,
        user: server.user.clone(),
        password: server.password.clone(),
        database: database.to_owned(),
        timeout: Duration::from_secs(60),
    }
}

/// Connects to database `database` on `server`.
pub fn connect(server: &DbTarget, database: &str) -> Result<Client, String> {
    Client::connect(&options(server, database))
        .map_err(|e| format!("cannot connect to the PostgreSQL test server ({server}): {e}"))
}

impl PgDb {
    /// Creates database `name`, with the fixture's rows when `fixture` is given (else empty).
    pub fn create(name: &str, fixture: Option<&str>) -> Result<PgDb, String> {
        let server = server();
        let mut admin = connect(&server, "postgres")?;
        // Left over only from a killed run of a process with the same pid.
        admin
            .batch(&format!("DROP DATABASE IF EXISTS {name}"))
            .map_err(|e| format!("drop {name}: {e}"))?;
        admin
            .batch(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
                 LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .map_err(|e| format!("create {name}: {e}"))?;
        drop(admin);
        let mut conn = connect(&server, name)?;
        let mut script = String::from("BEGIN;\n");
        script.push_str(FUNCTIONS);
        if let Some(dump) = fixture {
            script.push_str(&crate::pg_board::load_script(dump)?);
        }
        script.push_str("COMMIT;");
        conn.batch(&script).map_err(|e| format!("load the fixture into {name}: {e}"))?;
        Ok(PgDb { name: name.to_owned(), server, conn: Mutex::new(conn) })
    }

    /// Returns the database's URL for `--db`.
    pub fn url(&self) -> String {
        let mut target = self.server.clone();
        target.database = self.name.clone();
        let auth = if target.password.is_empty() {
            target.user.clone()
        } else {
            format!("{}:{}", target.user, target.password)
        };
        let socket = target.socket.as_ref().map(|s| format!("?host={s}")).unwrap_or_default();
        format!("postgres://{auth}@{}:{}/{}{socket}", target.host, target.port, target.database)
    }

    /// Returns the connection (a test that panicked holding it left nothing half read).
    fn conn(&self) -> std::sync::MutexGuard<'_, Client> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the statements in `sql`.
    pub fn exec_batch(&self, sql: &str) -> Result<(), String> {
        self.conn().batch(&translate(sql)).map(drop).map_err(|e| e.to_string())
    }

    /// Runs one statement with `params`; returns the number of rows it changed.
    pub fn exec_with(&self, sql: &str, params: Params) -> Result<u64, String> {
        Ok(self.run(sql, params)?.affected)
    }

    /// Returns the rows `sql` selects with `params`, as the `mysql` crate's rows.
    pub fn rows(&self, sql: &str, params: Params) -> Result<Vec<Row>, String> {
        let answer = self.run(sql, params)?;
        let columns: Arc<[Column]> = answer
            .columns
            .iter()
            .map(|name| Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(name.as_bytes()))
            .collect();
        Ok(answer
            .rows
            .into_iter()
            .map(|values| {
                let values = values
                    .into_iter()
                    .map(|v| v.map_or(mysql::Value::NULL, mysql::Value::Bytes))
                    .collect();
                new_row(values, columns.clone())
            })
            .collect())
    }

    /// Runs `sql` with `params` bound as text.
    fn run(&self, sql: &str, params: Params) -> Result<Answer, String> {
        let values = match params {
            Params::Empty => Vec::new(),
            Params::Positional(values) => values,
            Params::Named(_) => panic!("named parameters are not supported by TestDb"),
        };
        let texts: Vec<Option<Vec<u8>>> = values.into_iter().map(to_text).collect();
        let params: Vec<Option<&[u8]>> = texts.iter().map(|v| v.as_deref()).collect();
        self.conn().query(&translate(sql), &params).map_err(|e| e.to_string())
    }
}

impl Drop for PgDb {
    /// Drops the database, unless the test is failing: kept for a look.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("note: kept the failing test's PostgreSQL database {}", self.name);
            return;
        }
        let dropped = connect(&self.server, "postgres").and_then(|mut admin| {
            admin
                .batch(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                .map_err(|e| e.to_string())
        });
        if let Err(e) = dropped {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Returns a `mysql` value as a text parameter.
fn to_text(value: mysql::Value) -> Option<Vec<u8>> {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(bytes),
        mysql::Value::Int(n) => Some(n.to_string().into_bytes()),
        mysql::Value::UInt(n) => Some(n.to_string().into_bytes()),
        mysql::Value::Float(x) => Some(x.to_string().into_bytes()),
        mysql::Value::Double(x) => Some(x.to_string().into_bytes()),
        other => panic!("TestDb on PostgreSQL cannot bind {other:?}"),
    }
}

/// Returns a test's MariaDB statement in PostgreSQL's words: `?` outside quotes numbered,
/// backquoted names double-quoted, ` REGEXP ` as ` ~ `.
pub fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '\'') => {
                quote = Some('\'');
                out.push(c);
            }
            (Some('\''), '\'') => {
                quote = None;
                out.push(c);
            }
            (None, '`') => out.push('"'),
            (None, '?') => {
                n += 1;
                out.push_str(&format!("${n}"));
            }
            _ => out.push(c),
        }
    }
    out.replace(" REGEXP ", " ~ ")
}
