//! Shared helpers for the integration tests: a fresh database per test ([`TestDb`]), a
//! temporary directory per test ([`TestDir`]), a builder that runs the `mybb-sync` binary and
//! checks how it ended ([`TestCommand`]), and [`wait_until`] for anything asynchronous.
//!
//! The MariaDB server comes from `MYBB_SYNC_TEST_URL`, a server URL without a database (such as
//! `mysql://root@127.0.0.1:3306`). `scripts/test.sh` sets it, starting a throwaway server when
//! none is reachable. Without it, [`TestDb::new`] panics saying so: a test that needs a database
//! never passes by skipping.
//!
//! Helpers panic on any failure, with a message naming what they were doing, so that a test
//! reads as a list of steps. Everything a test creates is removed again when its value drops,
//! even when the test fails.
//!
//! Each test module uses only part of this file, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod pg_cluster;
pub mod postgres;
mod sqlite;

use std::ffi::{OsStr, OsString};
use std::fmt::{self, Write as _};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mysql::prelude::{FromRow, FromValue, Queryable};
use mysql::{Conn, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, PooledConn, Row};

/// The environment variable naming the test server; see the module documentation.
pub const TEST_URL_VAR: &str = "MYBB_SYNC_TEST_URL";

/// The environment variable choosing the engine [`TestDb`] is on: `sqlite` for a SQLite board
/// file per test (no server needed), `postgres` for a PostgreSQL database per test on the
/// server `MYBB_SYNC_TEST_PG_URL` names, unset or `mysql` for MariaDB. `scripts/test.sh` runs
/// the core modules a second time with `sqlite` and a third with `postgres`.
pub const TEST_ENGINE_VAR: &str = "MYBB_SYNC_TEST_ENGINE";

/// Returns true when the tests run on SQLite or PostgreSQL and the calling test checks what
/// only MariaDB has (`why` says what), printing `SKIPPED on ENGINE: why` so that the skip is
/// never silent; the test then returns early.
pub fn mysql_only(why: &str) -> bool {
    let engine = if on_sqlite() {
        "SQLite"
    } else if on_postgres() {
        "PostgreSQL"
    } else {
        return false;
    };
    eprintln!("SKIPPED on {engine}: {why}");
    true
}

/// Returns true if and only if the tests run on PostgreSQL (see [`TEST_ENGINE_VAR`]).
pub fn on_postgres() -> bool {
    std::env::var(TEST_ENGINE_VAR).is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// Returns true if and only if the tests run on SQLite (see [`TEST_ENGINE_VAR`]).
pub fn on_sqlite() -> bool {
    std::env::var(TEST_ENGINE_VAR).is_ok_and(|v| v.eq_ignore_ascii_case("sqlite"))
}

/// Returns the MariaDB oracle's stylesheet list `mysql_list` (a theme's `stylesheets` column) as
/// the Admin CP writes it on the engine the tests run on: on SQLite the `inherited` map's theme
/// ids are ints, as MyBB's PDO driver reads them (tests/engine_oracle.rs shows it).
pub fn admin_cp_list(mysql_list: &str) -> String {
    use mybb_sync::mybb::{db::PhpRows, stylecache};
    use mybb_sync::php::serialize;
    if !on_sqlite() {
        return mysql_list.to_owned();
    }
    let mut list = serialize::parse(mysql_list)
        .or_panic(|| format!("parsing the oracle's stylesheet list {mysql_list}"));
    stylecache::inherited_as_read(&mut list, PhpRows::PdoSqlite);
    serialize::to_string(&list)
}

/// Returns the MariaDB oracle's `default_theme` datacache value as the Admin CP writes it on
/// the engine the tests run on (on SQLite: keyed by name and by position, `tid` an int, its
/// stylesheet list as [`admin_cp_list`] gives it).
pub fn admin_cp_default_theme(mysql_cache: &str) -> String {
    use mybb_sync::mybb::{db::PhpRows, stylecache};
    use mybb_sync::php::serialize::{self, Key, Value};
    if !on_sqlite() {
        return mysql_cache.to_owned();
    }
    let row = serialize::parse(mysql_cache)
        .or_panic(|| format!("parsing the oracle's default_theme {mysql_cache}"));
    let column = |name: &str| match &row {
        Value::Array(entries) => entries
            .iter()
            .find_map(|(key, value)| match (key, value) {
                (Key::Str(k), Value::Str(v)) if k == name => Some(v.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("the oracle's default_theme has no {name}")),
        _ => panic!("the oracle's default_theme is not an array: {mysql_cache}"),
    };
    let tid: u32 = column("tid").parse().or_panic(|| "the oracle's default_theme tid".to_owned());
    let stylesheets = admin_cp_list(&column("stylesheets"));
    let value = stylecache::default_theme_cache(
        &column("name"),
        tid,
        &column("properties"),
        &stylesheets,
        PhpRows::PdoSqlite,
    );
    serialize::to_string(&value)
}

/// The binary under test, as cargo built it for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_mybb-sync");

/// The sample data every [`TestDb::new`] starts with: the sync-relevant tables of a fresh
/// MyBB 1.8.37 install (see `tests/fixtures/README.md`).
pub const FIXTURE_SQL: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-sync-tables.sql");

/// Environment variables of the developer's shell that would change what the binary does.
/// [`TestCommand`] removes them from the child's environment; a test that wants one sets it
/// with [`TestCommand::env`].
pub const SCRUBBED_ENV: &[&str] =
    &["MYBB_DATABASE_URL", "MYBB_ROOT", "MYBB_SYNC_ROOT", "MYBB_TABLE_PREFIX", "RUST_LOG"];

/// How long a [`TestCommand`] may run before it is killed and the test fails, unless the test
/// sets another limit with [`TestCommand::timeout`]. Generous: it only turns a hang into a
/// failure instead of a CI run that never ends.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a helper waits for [`TestDb`]'s single connection before concluding that the test
/// itself is holding it (see [`TestDb::conn`]).
const CONN_WAIT: Duration = Duration::from_secs(30);

/// The longest name MariaDB accepts for a database.
const MAX_DB_NAME: usize = 64;

/// Counts the names handed out in this process, so that names never repeat within it.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Unwrapping that blames the test: with `#[track_caller]` all the way up, a failure is
/// reported at the line of the test that called the helper, not inside this file.
trait OrPanic<T> {
    /// Returns the value, or panics with `context()`, `: ` and the error.
    /// An empty context shows the error alone (for `fs_err` errors, which name their path).
    #[track_caller]
    fn or_panic(self, context: impl FnOnce() -> String) -> T;
}

impl<T, E: fmt::Display> OrPanic<T> for Result<T, E> {
    #[track_caller]
    fn or_panic(self, context: impl FnOnce() -> String) -> T {
        match self {
            Ok(value) => value,
            Err(e) => match context() {
                context if context.is_empty() => panic!("{e}"),
                context => panic!("{context}: {e}"),
            },
        }
    }
}

/// Returns a name unique to this process and call, `mst_<pid>_<counter>_<test_name>`, made of
/// `[a-z0-9_]` only and clipped to 64 characters: safe as a database or file name without quoting.
///
/// The process id keeps test runs that share a server (other checkouts, other test binaries)
/// apart; the counter keeps the tests of one run apart.
pub fn unique_name(test_name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("mst_{}_{}_", std::process::id(), n);
    name.extend(test_name.chars().map(|c| match c.to_ascii_lowercase() {
        c @ ('a'..='z' | '0'..='9' | '_') => c,
        _ => '_',
    }));
    // Every character is ASCII, so any byte index is a character boundary.
    name.truncate(MAX_DB_NAME);
    name
}

/// Returns `url` with the password, if any, replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Returns the text of the sample dump, read from disk once per test process.
fn fixture_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        fs_err::read_to_string(FIXTURE_SQL).or_panic(|| "reading the fixture".to_owned())
    })
}

/// A database of its own for one test, on the server named by `MYBB_SYNC_TEST_URL`, dropped
/// again when this value drops.
///
/// Helpers go through a pool of exactly one connection, which is reset between uses: session
/// state such as `SET @x` or `SET sql_mode` does not carry over from one helper call to the
/// next. For that, hold a connection from [`TestDb::conn`].
pub struct TestDb {
    /// The database's name, as made by [`unique_name`].
    name: String,
    /// The server URL, without a database and without a trailing slash (empty on SQLite).
    server_url: String,
    /// One connection to the database, with `prefer_socket` off (None on SQLite).
    pool: Option<Pool>,
    /// The board file, when the tests run on SQLite (see [`TEST_ENGINE_VAR`]).
    sqlite: Option<sqlite::SqliteDb>,
    /// The database, when the tests run on PostgreSQL.
    postgres: Option<postgres::PgDb>,
}

impl TestDb {
    /// Creates a database for the test named `test_name` and loads the MyBB 1.8.37 sample
    /// ([`FIXTURE_SQL`]) into it: 974 master templates (sid -2), the "Default Templates" set,
    /// 42 template groups, the themes "MyBB Master Style" (tid 1) and "Default" (tid 2) with 17
    /// stylesheets, the settings and the `version` and `default_theme` cache rows.
    ///
    /// Panics if `MYBB_SYNC_TEST_URL` is unset, the server does not answer, or the load fails.
    #[track_caller]
    pub fn new(test_name: &str) -> TestDb {
        if on_sqlite() {
            return TestDb::on_sqlite(test_name, Some(fixture_sql()));
        }
        if on_postgres() {
            return TestDb::on_postgres(test_name, Some(fixture_sql()));
        }
        let db = TestDb::empty(test_name);
        db.load_sql(fixture_sql());
        db
    }

    /// Creates an empty database for the test named `test_name`, for tests of what happens
    /// without MyBB's tables, or that load their own SQL with [`TestDb::load_sql`].
    ///
    /// Panics if `MYBB_SYNC_TEST_URL` is unset or the server does not answer.
    #[track_caller]
    pub fn empty(test_name: &str) -> TestDb {
        if on_sqlite() {
            return TestDb::on_sqlite(test_name, None);
        }
        if on_postgres() {
            return TestDb::on_postgres(test_name, None);
        }
        let server_url = server_url();
        let name = unique_name(test_name);
        let server_opts = connect_opts(&server_url, None);

        // A database of this name can only be left over from a killed run of a process that
        // had the same pid; no live process can be using it.
        let mut conn = Conn::new(server_opts).or_panic(|| {
            format!(
                "cannot connect to the test server {} (run the tests with scripts/test.sh, \
                 which finds or starts a server, or fix {TEST_URL_VAR})",
                redact_url(&server_url)
            )
        });
        conn.query_drop(format!(
            "DROP DATABASE IF EXISTS `{name}`; \
             CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        ))
        .or_panic(|| format!("creating the test database {name}"));
        drop(conn);

        let pool_opts = PoolOpts::default()
            .with_constraints(PoolConstraints::new(1, 1).expect("1..=1 is a valid pool size"));
        let opts =
            OptsBuilder::from_opts(connect_opts(&server_url, Some(&name))).pool_opts(pool_opts);
        let pool = Pool::new(opts).or_panic(|| format!("connecting to the test database {name}"));
        TestDb { name, server_url, pool: Some(pool), sqlite: None, postgres: None }
    }

    /// Creates a SQLite board file for the test named `test_name`, with the rows of the dump
    /// `fixture` (converted by `tests/sqlite_board.rs`) or empty.
    #[track_caller]
    fn on_sqlite(test_name: &str, fixture: Option<&str>) -> TestDb {
        let name = unique_name(test_name);
        let board = sqlite::SqliteDb::create(&name, fixture)
            .or_panic(|| format!("creating the SQLite test board {name}"));
        TestDb { name, server_url: String::new(), pool: None, sqlite: Some(board), postgres: None }
    }

    /// Creates a PostgreSQL database for the test named `test_name`, with the rows of the dump
    /// `fixture` (converted by `tests/pg_board.rs`) or empty.
    #[track_caller]
    fn on_postgres(test_name: &str, fixture: Option<&str>) -> TestDb {
        let mut name = unique_name(test_name);
        // PostgreSQL's names are at most 63 bytes (longer ones are cut, unlike in a login).
        name.truncate(63);
        let db = postgres::PgDb::create(&name, fixture)
            .or_panic(|| format!("creating the PostgreSQL test database {name}"));
        TestDb { name, server_url: String::new(), pool: None, sqlite: None, postgres: Some(db) }
    }

    /// Returns the pool of the MariaDB database; panics on SQLite, saying the helper is
    /// MariaDB's only.
    #[track_caller]
    fn pool(&self) -> &Pool {
        self.pool.as_ref().unwrap_or_else(|| {
            panic!(
                "this test uses a MariaDB-only helper of TestDb (a connection of its own or the \
                 server); run it without {TEST_ENGINE_VAR}=sqlite or postgres"
            )
        })
    }

    /// Returns the SQLite board file's path, when the tests run on SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite.as_ref().map(|board| board.path())
    }

    /// Returns the URL of this database, for the binary's `--db`: the server URL, `/`, the
    /// database name, then the server URL's `?options` if it had any.
    pub fn url(&self) -> String {
        if let Some(board) = &self.sqlite {
            return board.url();
        }
        if let Some(db) = &self.postgres {
            return db.url();
        }
        match self.server_url.split_once('?') {
            Some((base, options)) => format!("{base}/{}?{options}", self.name),
            None => format!("{}/{}", self.server_url, self.name),
        }
    }

    /// Returns the database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the URL of the server, without a database.
    #[track_caller]
    pub fn server_url(&self) -> &str {
        let _ = self.pool();
        &self.server_url
    }

    /// Returns this database's one connection, for transactions, session variables or anything
    /// the other helpers don't offer.
    ///
    /// While the test holds it, the other helpers wait for it: drop it before calling them, or
    /// they panic after 30 s saying so.
    #[track_caller]
    pub fn conn(&self) -> PooledConn {
        self.pool().try_get_conn(CONN_WAIT).or_panic(|| {
            format!(
                "no connection to {} within {CONN_WAIT:?} (TestDb has one connection; \
                 is the test still holding the one from TestDb::conn()?)",
                self.name
            )
        })
    }

    /// Runs `sql`, which may hold several statements separated by `;` (such as a dump from
    /// `mariadb-dump`), and checks the outcome of every statement.
    ///
    /// Panics naming the database if any statement fails.
    #[track_caller]
    pub fn load_sql(&self, sql: &str) {
        if let Some(db) = &self.postgres {
            let loaded = db.exec_batch(sql);
            return loaded
                .or_panic(|| format!("loading SQL ({} bytes) into {}", sql.len(), self.name));
        }
        if let Some(board) = &self.sqlite {
            let loaded = board.exec_batch(sql);
            return loaded
                .or_panic(|| format!("loading SQL ({} bytes) into {}", sql.len(), self.name));
        }
        if let Err(e) = self.run_all(sql) {
            panic!("loading SQL ({} bytes) into {}: {e}", sql.len(), self.name);
        }
    }

    /// Runs the statement or statements in `sql`, such as
    /// `db.exec("UPDATE mybb_templates SET template = 'x' WHERE tid = 1")`.
    ///
    /// Panics showing `sql` if one fails.
    #[track_caller]
    pub fn exec(&self, sql: &str) {
        if let Some(board) = &self.sqlite {
            return board.exec_batch(sql).or_panic(|| format!("in {}: {sql}", self.name));
        }
        if let Some(db) = &self.postgres {
            return db.exec_batch(sql).or_panic(|| format!("in {}: {sql}", self.name));
        }
        if let Err(e) = self.run_all(sql) {
            panic!("in {}: {sql}: {e}", self.name);
        }
    }

    /// Runs the statements in `sql` and returns the first error of any of them.
    /// (`query_drop` reports only the first statement's error and drops the rest unseen.)
    #[track_caller]
    fn run_all(&self, sql: &str) -> mysql::Result<()> {
        let mut conn = self.conn();
        let mut result = conn.query_iter(sql)?;
        while let Some(set) = result.iter() {
            for row in set {
                row?;
            }
        }
        Ok(())
    }

    /// Runs one statement with `?` placeholders bound to `params`, as in
    /// `db.exec_with("UPDATE mybb_templates SET template = ? WHERE tid = ?", (body, 1))`.
    /// Returns the number of rows it changed.
    ///
    /// Panics showing `sql` if it fails.
    #[track_caller]
    pub fn exec_with(&self, sql: &str, params: impl Into<Params>) -> u64 {
        if let Some(board) = &self.sqlite {
            return board
                .exec_with(sql, params.into())
                .or_panic(|| format!("in {}: {sql}", self.name));
        }
        if let Some(db) = &self.postgres {
            return db
                .exec_with(sql, params.into())
                .or_panic(|| format!("in {}: {sql}", self.name));
        }
        let mut conn = self.conn();
        conn.exec_drop(sql, params).or_panic(|| format!("in {}: {sql}", self.name));
        conn.affected_rows()
    }

    /// Returns every row `sql` selects, each converted to `T` (a tuple, a scalar, or
    /// [`mysql::Row`]). Read text columns as `Vec<u8>`: converting a value that is not UTF-8
    /// into `String` panics.
    ///
    /// Panics showing `sql` if the query fails.
    #[track_caller]
    pub fn query_rows<T: FromRow>(&self, sql: &str) -> Vec<T> {
        if self.sqlite.is_some() || self.postgres.is_some() {
            return self.query_rows_with(sql, Params::Empty);
        }
        self.conn().query(sql).or_panic(|| format!("in {}: {sql}", self.name))
    }

    /// Like [`TestDb::query_rows`], with `?` placeholders bound to `params`.
    #[track_caller]
    pub fn query_rows_with<T: FromRow>(&self, sql: &str, params: impl Into<Params>) -> Vec<T> {
        let params: Params = params.into();
        let engine_rows = match (&self.sqlite, &self.postgres) {
            (Some(board), _) => Some(board.rows(sql, params.clone())),
            (_, Some(db)) => Some(db.rows(sql, params.clone())),
            _ => None,
        };
        if let Some(rows) = engine_rows {
            let rows = rows.or_panic(|| format!("in {}: {sql}", self.name));
            return rows
                .into_iter()
                .map(|row| T::from_row_opt(row).or_panic(|| format!("in {}: {sql}", self.name)))
                .collect();
        }
        self.conn().exec(sql, params).or_panic(|| format!("in {}: {sql}", self.name))
    }

    /// Returns the first column of the one row `sql` selects, such as
    /// `db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates")`.
    ///
    /// Panics showing `sql` if the query fails, selects no row or several, or the value does
    /// not convert to `T` (a NULL converts only to an `Option`).
    #[track_caller]
    pub fn query_one<T: FromValue>(&self, sql: &str) -> T {
        let rows: Vec<Row> = self.query_rows(sql);
        let count = rows.len();
        let Ok([mut row]) = <[Row; 1]>::try_from(rows) else {
            panic!("in {}: {sql}: expected one row, got {count}", self.name);
        };
        match row.take_opt::<T, _>(0) {
            Some(Ok(value)) => value,
            Some(Err(e)) => panic!("in {}: {sql}: {e}", self.name),
            None => panic!("in {}: {sql}: the row has no columns", self.name),
        }
    }

    /// Returns the body of template `title` in template set `sid` (-2 for MyBB's master
    /// templates), or None if there is no such row. Panics if there are several.
    #[track_caller]
    pub fn template(&self, sid: i32, title: &str) -> Option<Vec<u8>> {
        let mut bodies: Vec<Vec<u8>> = self.query_rows_with(
            "SELECT template FROM mybb_templates WHERE sid = ? AND title = ?",
            (sid, title),
        );
        assert!(
            bodies.len() <= 1,
            "in {}: {} templates titled {title:?} in set {sid}",
            self.name,
            bodies.len()
        );
        bodies.pop()
    }

    /// Returns the CSS of stylesheet `name` (such as `global.css`) in theme `tid`, or None if
    /// there is no such row. Panics if there are several.
    #[track_caller]
    pub fn stylesheet(&self, tid: u32, name: &str) -> Option<Vec<u8>> {
        let mut bodies: Vec<Vec<u8>> = self.query_rows_with(
            "SELECT stylesheet FROM mybb_themestylesheets WHERE tid = ? AND name = ?",
            (tid, name),
        );
        assert!(
            bodies.len() <= 1,
            "in {}: {} stylesheets named {name:?} in theme {tid}",
            self.name,
            bodies.len()
        );
        bodies.pop()
    }
}

impl Drop for TestDb {
    /// Drops the database. A failure is printed, not raised: panicking here would abort a test
    /// that is already panicking and hide its real failure.
    fn drop(&mut self) {
        // A SQLite board removes itself.
        let Some(pool) = &self.pool else { return };
        let outcome = pool.try_get_conn(CONN_WAIT).and_then(|mut conn| {
            conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
        });
        if let Err(e) = outcome {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Returns the test server's URL from `MYBB_SYNC_TEST_URL`, without a trailing slash.
///
/// Panics if it is unset, is not a URL, or names a database.
#[track_caller]
fn server_url() -> String {
    let Some(url) = std::env::var_os(TEST_URL_VAR) else {
        panic!(
            "{TEST_URL_VAR} is not set, and this test needs a MariaDB server.\n\
             Run the tests with scripts/test.sh, which finds or starts one, or set \
             {TEST_URL_VAR}=mysql://root@127.0.0.1:3306 (a server where tests may create and drop \
             databases)."
        );
    };
    let Some(url) = url.to_str() else {
        panic!("{TEST_URL_VAR} is not UTF-8: {url:?}");
    };
    let url = match url.split_once('?') {
        Some((base, options)) => format!("{}?{options}", base.trim_end_matches('/')),
        None => url.trim_end_matches('/').to_owned(),
    };
    let opts = Opts::from_url(&url)
        .or_panic(|| format!("{TEST_URL_VAR}={} is not a server URL", redact_url(&url)));
    if let Some(db) = opts.get_db_name() {
        panic!(
            "{TEST_URL_VAR}={} names the database {db}; it must name only a server: the tests \
             create a database of their own for each test",
            redact_url(&url)
        );
    }
    url
}

/// Returns connection options for `server_url`, with database `db` if given.
///
/// `prefer_socket` is turned off: by default the crate silently follows a TCP connection to
/// 127.0.0.1 with a second one over the server's unix socket, so the session would log in as
/// another account (`root@localhost`, which may be unix_socket-only) than the URL names, and
/// every connection would cost two handshakes.
fn connect_opts(server_url: &str, db: Option<&str>) -> OptsBuilder {
    let opts = Opts::from_url(server_url).expect("server_url() checked the URL");
    OptsBuilder::from_opts(opts).prefer_socket(false).db_name(db)
}

/// A directory of its own for one test, under cargo's `target/tmp`, removed when this value
/// drops unless the test is failing: then it is kept, and its path printed, for a look.
pub struct TestDir {
    /// The directory's absolute path.
    path: PathBuf,
}

impl TestDir {
    /// Creates an empty directory named after the test.
    ///
    /// Panics if it cannot be created.
    #[track_caller]
    pub fn new(test_name: &str) -> TestDir {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique_name(test_name));
        // Left over from a killed run of a process with the same pid, if it exists at all.
        if path.exists() {
            fs_err::remove_dir_all(&path).or_panic(String::new);
        }
        fs_err::create_dir_all(&path).or_panic(String::new);
        TestDir { path }
    }

    /// Returns the directory's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the absolute path of `relative` inside the directory.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.path.join(relative)
    }

    /// Writes `contents` to the file `relative`, creating its parent directories.
    ///
    /// Panics if that fails.
    #[track_caller]
    pub fn write(&self, relative: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).or_panic(String::new);
        }
        fs_err::write(&path, contents).or_panic(String::new);
    }

    /// Returns the bytes of the file `relative`.
    ///
    /// Panics if it cannot be read.
    #[track_caller]
    pub fn read(&self, relative: impl AsRef<Path>) -> Vec<u8> {
        fs_err::read(self.join(relative)).or_panic(String::new)
    }

    /// Returns the paths, relative to the directory and sorted, of every file below it
    /// (not directories), with `/` as the separator.
    ///
    /// Panics if the tree cannot be read.
    #[track_caller]
    pub fn files(&self) -> Vec<String> {
        let mut files = Vec::new();
        let mut pending = vec![self.path.clone()];
        while let Some(dir) = pending.pop() {
            for entry in fs_err::read_dir(&dir).or_panic(String::new) {
                let entry = entry.or_panic(|| format!("listing {}", dir.display()));
                let path = entry.path();
                if entry.file_type().or_panic(String::new).is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&self.path).expect("below the root");
                    let parts: Vec<_> =
                        relative.components().map(|c| c.as_os_str().to_string_lossy()).collect();
                    files.push(parts.join("/"));
                }
            }
        }
        files.sort();
        files
    }
}

impl Drop for TestDir {
    /// Removes the directory, or keeps it when the test is failing. A failure to remove it is
    /// printed, not raised.
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("note: kept the failing test's directory {}", self.path.display());
            return;
        }
        if let Err(e) = fs_err::remove_dir_all(&self.path) {
            eprintln!("warning: {e}");
        }
    }
}

/// A command to run for a test: the `mybb-sync` binary ([`TestCommand::new`]) or, for testing
/// these helpers, any program ([`TestCommand::program`]).
///
/// The child gets no stdin, and none of the [`SCRUBBED_ENV`] variables unless the test sets
/// them. [`TestCommand::run`] waits for it (up to [`DEFAULT_COMMAND_TIMEOUT`]);
/// [`TestCommand::spawn`] leaves it running, for watch mode.
#[must_use = "a TestCommand does nothing until it is run"]
pub struct TestCommand {
    /// The command as it will be spawned.
    command: Command,
    /// The program and arguments as the test gave them, for messages.
    shown: Vec<OsString>,
    /// Environment settings the test made, for messages.
    shown_env: Vec<(OsString, Option<OsString>)>,
    /// How long [`TestCommand::run`] waits before killing the child.
    timeout: Duration,
    /// Whether the child is mybb-sync, whose messages are checked for Rust debug text.
    is_mybb_sync: bool,
}

impl TestCommand {
    /// Starts a command line for the `mybb-sync` binary under test.
    pub fn new() -> TestCommand {
        let mut command = TestCommand::program(BIN);
        command.shown[0] = "mybb-sync".into();
        command.is_mybb_sync = true;
        command
    }

    /// Starts a command line for `program`, with the same scrubbed environment.
    pub fn program(program: impl AsRef<OsStr>) -> TestCommand {
        let mut command = Command::new(program.as_ref());
        for name in SCRUBBED_ENV {
            command.env_remove(name);
        }
        command.stdin(Stdio::null());
        TestCommand {
            command,
            shown: vec![program.as_ref().to_owned()],
            shown_env: Vec::new(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
            is_mybb_sync: false,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> TestCommand {
        self.command.arg(arg.as_ref());
        self.shown.push(arg.as_ref().to_owned());
        self
    }

    /// Adds several arguments.
    pub fn args<I>(mut self, args: I) -> TestCommand
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> TestCommand {
        self.command.env(name.as_ref(), value.as_ref());
        self.shown_env.push((name.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> TestCommand {
        self.command.env_remove(name.as_ref());
        self.shown_env.push((name.as_ref().to_owned(), None));
        self
    }

    /// Runs the child in `dir` instead of the test's working directory (the crate root).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> TestCommand {
        self.command.current_dir(dir.as_ref());
        self
    }

    /// Sets how long [`TestCommand::run`] and its `expect_` forms wait before they kill the
    /// child and fail the test.
    pub fn timeout(mut self, timeout: Duration) -> TestCommand {
        self.timeout = timeout;
        self
    }

    /// Returns the underlying command, to inspect what will be run.
    pub fn command(&self) -> &Command {
        &self.command
    }

    /// Runs the command to completion and returns how it ended, whatever that was.
    ///
    /// Panics if it cannot be started or is still running after the timeout (then it is killed).
    #[track_caller]
    pub fn run(self) -> Output {
        let timeout = self.timeout;
        self.spawn().wait(timeout)
    }

    /// Runs the command and returns its output if it exited with status 0.
    ///
    /// Panics showing the command, status, stdout and stderr otherwise.
    #[track_caller]
    pub fn expect_success(self) -> Output {
        self.run().expect_success()
    }

    /// Runs the command and returns its output if it exited with status `code`.
    ///
    /// Panics showing the command, status, stdout and stderr otherwise.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Output {
        self.run().expect_code(code)
    }

    /// Starts the command and returns at once, collecting its stdout and stderr in the
    /// background. Dropping the [`Running`] kills the child if it is still running.
    ///
    /// Panics if it cannot be started.
    #[track_caller]
    pub fn spawn(mut self) -> Running {
        let shown = self.to_string();
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .or_panic(|| format!("cannot start `{shown}`"));
        let stdout = Collector::start(child.stdout.take().expect("stdout is piped"));
        let stderr = Collector::start(child.stderr.take().expect("stderr is piped"));
        Running { child, shown, stdout, stderr, check_messages: self.is_mybb_sync }
    }
}

impl Default for TestCommand {
    /// The `mybb-sync` binary, as [`TestCommand::new`].
    fn default() -> TestCommand {
        TestCommand::new()
    }
}

impl fmt::Display for TestCommand {
    /// Shows the command as a shell line: environment settings, program, arguments, directory.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        for (name, value) in &self.shown_env {
            match value {
                Some(value) => write!(line, "{}={} ", shell_quote(name), shell_quote(value))?,
                None => write!(line, "-u {} ", shell_quote(name))?,
            }
        }
        let words: Vec<String> = self.shown.iter().map(|w| shell_quote(w)).collect();
        line.push_str(&words.join(" "));
        if let Some(dir) = self.command.get_current_dir() {
            write!(line, "  (in {})", dir.display())?;
        }
        f.write_str(&line)
    }
}

/// Returns `word` as a shell would need it: unchanged if it is plain, else in single quotes.
fn shell_quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// Reads one of a child's output pipes to the end on a thread of its own, so that the child
/// never blocks on a full pipe, and lets the test look at what has arrived so far.
struct Collector {
    /// Everything read so far.
    buffer: Arc<Mutex<Vec<u8>>>,
    /// The reading thread, finished once the pipe is closed.
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Starts reading `pipe`.
    fn start(mut pipe: impl Read + Send + 'static) -> Collector {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let thread = thread::spawn(move || {
            let mut chunk = [0; 8192];
            // A read error ends the output like an end of file: the child is gone.
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
            }
        });
        Collector { buffer, thread: Some(thread) }
    }

    /// A collector of nothing, left behind in a [`Running`] whose output was taken.
    fn empty() -> Collector {
        Collector { buffer: Arc::default(), thread: None }
    }

    /// Returns what has arrived so far, with invalid UTF-8 replaced.
    fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Waits for the pipe to close and returns everything, with invalid UTF-8 replaced.
    fn finish(mut self) -> String {
        if let Some(thread) = self.thread.take() {
            // The thread itself never panics; joining only waits for the end of the pipe.
            let _ = thread.join();
        }
        self.so_far()
    }
}

/// A command started by [`TestCommand::spawn`]; killed when dropped if still running.
pub struct Running {
    /// The child process.
    child: Child,
    /// The command line, for messages.
    shown: String,
    /// The child's stdout, as it arrives.
    stdout: Collector,
    /// The child's stderr, as it arrives.
    stderr: Collector,
    /// Check its stderr for Rust debug text ([`assert_no_debug_text`]).
    check_messages: bool,
}

impl Running {
    /// Returns the child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Returns what the child has written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        self.stdout.so_far()
    }

    /// Returns what the child has written to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.so_far()
    }

    /// Returns true if and only if the child has not exited yet.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends the child SIGINT, as Ctrl-C in a terminal would (to the child alone, not a group).
    ///
    /// Panics if the signal cannot be sent.
    #[track_caller]
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .or_panic(|| "cannot run kill".to_owned());
        assert!(status.success(), "kill -INT {} failed: {status}", self.child.id());
    }

    /// Waits up to `timeout` for the child to exit and returns how it ended.
    ///
    /// Panics if it is still running then, after killing it, showing what it wrote.
    #[track_caller]
    pub fn wait(mut self, timeout: Duration) -> Output {
        let started = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < timeout => thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let status = self.child.wait();
                    let output = self.into_output(status.or_panic(String::new));
                    panic!("still running after {timeout:?}, so killed:\n{output}");
                }
                Err(e) => panic!("waiting for `{}`: {e}", self.shown),
            }
        };
        self.into_output(status)
    }

    /// Collects the rest of the output of the child, which has exited with `status`.
    fn into_output(mut self, status: ExitStatus) -> Output {
        // Swap the collectors out: Running implements Drop, so its fields can't be moved out.
        let stdout = std::mem::replace(&mut self.stdout, Collector::empty());
        let stderr = std::mem::replace(&mut self.stderr, Collector::empty());
        let output = Output {
            command: std::mem::take(&mut self.shown),
            status,
            stdout: stdout.finish(),
            stderr: stderr.finish(),
        };
        if self.check_messages {
            assert_no_debug_text(&output);
        }
        output
    }
}

impl Drop for Running {
    /// Kills the child if it is still running, so that a failing test leaves no process behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a command ended: its status and everything it wrote (invalid UTF-8 replaced).
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Output {
    /// Returns the exit code, or None if the child was ended by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Returns self if the command exited with status 0.
    ///
    /// Panics showing the command, status, stdout and stderr otherwise.
    #[track_caller]
    pub fn expect_success(self) -> Output {
        if !self.status.success() {
            panic!("expected success:\n{self}");
        }
        self
    }

    /// Returns self if the command exited with status `code`.
    ///
    /// Panics showing the command, status, stdout and stderr otherwise.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Output {
        if self.status.code() != Some(code) {
            panic!("expected exit code {code}:\n{self}");
        }
        self
    }
}

impl fmt::Display for Output {
    /// Shows the command line, status, stdout and stderr, for failure messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(f, "status:  {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// Panics if a message of mybb-sync (its stderr) holds Rust debug text, such as `MySqlError {
/// ERROR ... }`, `Os { code: 2, kind: NotFound }` or `Some(..)`: every run of the binary in the
/// test suite is checked, so any error the suite provokes reads as a sentence (issue 15).
/// Templates and CSS quoted in a message (`{$var}`, `body {`) are not debug text.
#[track_caller]
pub fn assert_no_debug_text(output: &Output) {
    static DEBUG: OnceLock<regex::Regex> = OnceLock::new();
    let debug = DEBUG.get_or_init(|| {
        regex::Regex::new(r"\b[A-Z][A-Za-z]+ ?\{ |\b(Some|Ok|Err)\(|\bkind: [A-Z]|\bcode: [0-9]")
            .expect("a valid pattern")
    });
    for line in output.stderr.lines() {
        assert!(!debug.is_match(line), "Rust debug text in a message: {line}\n{output}");
    }
}

/// Returns an `inc/config.php` as MyBB's installer writes its database part: `<?php`, then
/// `$config['database'][KEY] = 'VALUE';` for each of `database`, in order.
pub fn config_php(database: &[(&str, &str)]) -> String {
    let mut php = "<?php\n".to_owned();
    for (key, value) in database {
        php.push_str(&format!("$config['database']['{key}'] = '{value}';\n"));
    }
    php
}

/// Waits until `cond` returns true, checking every 10 ms, for things that happen in the
/// background (a watcher noticing a file, a row changing). Tests never sleep to synchronise.
///
/// Panics naming `what` if `cond` is still false after `deadline`.
#[track_caller]
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    loop {
        if cond() {
            return;
        }
        if started.elapsed() >= deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// How long the watcher helpers below wait for a watcher to start or stop.
const WATCH_DEADLINE: Duration = Duration::from_secs(30);

/// Spawns `cmd watch ARGS...` and returns once it is watching.
pub fn start_watching(cmd: TestCommand, args: &[&str]) -> Running {
    let run = cmd.arg("watch").args(args.iter().copied()).spawn();
    wait_until("the watcher to start watching", WATCH_DEADLINE, || {
        run.stderr_so_far().contains("watching ")
    });
    run
}

/// Stops a watcher with SIGINT, asserts it exited 0, and returns what it logged.
pub fn stop_watching(run: Running) -> String {
    run.interrupt();
    let out = run.wait(WATCH_DEADLINE);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    out.stderr
}

/// Returns the configuration the binary would build from `--db`, `--root`, `--no-fsync`, for
/// tests that drive the library in-process.
pub fn library_config(db: &TestDb, root: &Path) -> mybb_sync::config::Config {
    mybb_sync::config::Config {
        db: mybb_sync::config::DbTarget::parse_url(&db.url()).unwrap(),
        prefix: "mybb_".to_owned(),
        sync_root: root.to_path_buf(),
        mybb_root: None,
        durable: false,
        rebind: false,
    }
}
