//! What differs between the engines a board may be on (issue 31): the SQLite form of the
//! fixture holds the MySQL load's rows, a save waits for a busy SQLite file (and says so when it
//! stays busy), `inc/config.php` of each type is read or refused clearly.
//!
//! These tests make their SQLite boards themselves (with `tests/sqlite_board.rs`), so they run
//! the same in the MariaDB pass and the SQLite pass of `scripts/test.sh`.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::export::set_files;
use crate::sqlite_board;
use crate::util::{self, FIXTURE_SQL, TestCommand, TestDb, TestDir, config_php, wait_until};

/// Builds the fixture's SQLite board at `path`.
fn sqlite_fixture(path: &Path) {
    let dump = std::fs::read_to_string(FIXTURE_SQL).unwrap();
    sqlite_board::build(&dump, path).unwrap();
}

/// `mybb-sync --db sqlite:BOARD --root ROOT --no-fsync`.
fn on_board(board: &Path, root: &Path) -> TestCommand {
    TestCommand::new()
        .arg("--db")
        .arg(format!("sqlite:{}", board.display()))
        .arg("--root")
        .arg(root)
        .arg("--no-fsync")
}

/// The seven tables of the fixture, each with the column it is ordered by.
const TABLES: [(&str, &str); 7] = [
    ("mybb_templates", "tid"),
    ("mybb_templatesets", "sid"),
    ("mybb_templategroups", "gid"),
    ("mybb_themes", "tid"),
    ("mybb_themestylesheets", "sid"),
    ("mybb_settings", "sid"),
    ("mybb_datacache", "title"),
];

#[test]
fn the_sqlite_fixture_holds_the_same_rows_as_the_mysql_load() {
    if util::on_sqlite() {
        eprintln!("SKIPPED on SQLite: this test compares with the MariaDB load (the first pass)");
        return;
    }
    let db = TestDb::new("engines_fixture_rows");
    let dir = TestDir::new("engines_fixture_rows");
    let board = dir.join("board.db");
    sqlite_fixture(&board);
    let conn = Connection::open(&board).unwrap();
    for (table, key) in TABLES {
        let sql = format!("SELECT * FROM {table} ORDER BY {key}");
        let mysql: Vec<mysql::Row> = db.query_rows(&sql);
        let mysql: Vec<Vec<Vec<u8>>> = mysql
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(as_text_mysql).collect())
            .collect();
        let mut stmt = conn.prepare(&sql).unwrap();
        let width = stmt.column_count();
        let sqlite: Vec<Vec<Vec<u8>>> = stmt
            .query_map([], |row| (0..width).map(|i| row.get_ref(i).map(as_text_sqlite)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!mysql.is_empty(), "{table} is empty in the fixture");
        assert_eq!(mysql.len(), sqlite.len(), "{table}: row counts differ");
        for (m, s) in mysql.iter().zip(&sqlite) {
            assert_eq!(m, s, "{table}: a row differs");
        }
    }
}

/// Returns a MariaDB value as the bytes of its text form.
fn as_text_mysql(value: mysql::Value) -> Vec<u8> {
    match value {
        mysql::Value::Bytes(bytes) => bytes,
        mysql::Value::Int(n) => n.to_string().into_bytes(),
        mysql::Value::UInt(n) => n.to_string().into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

/// Returns a SQLite value as the bytes of its text form.
fn as_text_sqlite(value: rusqlite::types::ValueRef<'_>) -> Vec<u8> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
        ValueRef::Integer(n) => n.to_string().into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

#[test]
fn a_save_waits_for_a_busy_sqlite_board_and_lands_when_it_is_free() {
    let dir = TestDir::new("engines_sqlite_busy");
    let (board, root) = (dir.join("board.db"), dir.join("sync"));
    sqlite_fixture(&board);
    on_board(&board, &root).arg("export").expect_success();
    let header = root.join("template_sets/Default Templates/Header Templates/header.html");
    std::fs::write(&header, "<div>saved while the board was busy</div>").unwrap();

    // Another writer (a MyBB request, say) holds the file's write lock.
    let other = Connection::open(&board).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; UPDATE mybb_settings SET value = value").unwrap();
    let mut import = on_board(&board, &root).arg("import").spawn();
    wait_until("the import says that it waits for the busy file", Duration::from_secs(60), || {
        import.stderr_so_far().contains("is busy")
    });
    assert!(import.is_running(), "{}", import.stderr_so_far());
    other.execute_batch("COMMIT").unwrap();
    let out = import.wait(Duration::from_secs(60)).expect_success();
    assert!(out.stderr.contains("1 written"), "{}", out.stderr);

    let body: String = other
        .query_row(
            "SELECT template FROM mybb_templates WHERE sid = 1 AND title = 'header'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(body, "<div>saved while the board was busy</div>");
    assert_eq!(set_files(&root, "Default Templates")["header"], body.as_bytes());
}

#[test]
fn a_sqlite_board_that_stays_busy_is_an_error_naming_the_file_and_nothing_is_written() {
    let dir = TestDir::new("engines_sqlite_stays_busy");
    let (board, root) = (dir.join("board.db"), dir.join("sync"));
    sqlite_fixture(&board);
    on_board(&board, &root).arg("export").expect_success();
    let header = root.join("template_sets/Default Templates/Header Templates/header.html");
    std::fs::write(&header, "<div>never lands</div>").unwrap();

    let other = Connection::open(&board).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; UPDATE mybb_settings SET value = value").unwrap();
    let out = on_board(&board, &root)
        .arg("import")
        .env("MYBB_SYNC_TEST_HOOKS", "sqlite-busy-ms=200")
        .run();
    assert_ne!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("stayed locked by another writer"), "{}", out.stderr);
    assert!(out.stderr.contains(&board.display().to_string()), "{}", out.stderr);
    other.execute_batch("ROLLBACK").unwrap();
    let rows: i64 = other
        .query_row("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "nothing may have been written");
}

#[test]
fn the_journal_mode_of_a_sqlite_board_is_left_as_it_was() {
    let dir = TestDir::new("engines_sqlite_journal");
    let (board, root) = (dir.join("board.db"), dir.join("sync"));
    sqlite_fixture(&board);
    let mode = |conn: &Connection| -> String {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap()
    };
    let conn = Connection::open(&board).unwrap();
    let wal: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(wal, "wal");
    drop(conn);
    on_board(&board, &root).arg("export").expect_success();
    let header = root.join("template_sets/Default Templates/Header Templates/header.html");
    std::fs::write(&header, "<div>in WAL mode</div>").unwrap();
    on_board(&board, &root).arg("import").expect_success();
    assert_eq!(mode(&Connection::open(&board).unwrap()), "wal");
}

#[test]
fn config_php_of_type_sqlite_names_the_board_file_relative_to_the_mybb_root() {
    let dir = TestDir::new("engines_config_sqlite");
    let forum = dir.join("forum");
    std::fs::create_dir_all(forum.join("inc")).unwrap();
    sqlite_fixture(&forum.join("inc/forum.sqlite"));
    for database in
        ["inc/forum.sqlite".to_owned(), forum.join("inc/forum.sqlite").display().to_string()]
    {
        std::fs::write(
            forum.join("inc/config.php"),
            config_php(&[
                ("type", "sqlite"),
                ("database", &database),
                ("table_prefix", "mybb_"),
                ("hostname", "localhost"),
                ("username", ""),
                ("password", ""),
            ]),
        )
        .unwrap();
        let root = dir.join(format!("sync-{}", database.len()));
        TestCommand::new()
            .arg("--mybb")
            .arg(&forum)
            .arg("--root")
            .arg(&root)
            .args(["--no-fsync", "export", "--set", "Default Templates"])
            .expect_success();
        assert_eq!(set_files(&root, "Default Templates").len(), 974, "{database}");
    }
}

#[test]
fn config_php_of_a_type_still_unsupported_is_refused_naming_it() {
    let dir = TestDir::new("engines_config_unsupported");
    let forum = dir.join("forum");
    for db_type in ["mssql", "oracle"] {
        std::fs::create_dir_all(forum.join("inc")).unwrap();
        std::fs::write(
            forum.join("inc/config.php"),
            config_php(&[
                ("type", db_type),
                ("database", "forum"),
                ("table_prefix", "mybb_"),
                ("hostname", "localhost"),
                ("username", "forum"),
                ("password", "hunter2"),
            ]),
        )
        .unwrap();
        let out = TestCommand::new()
            .arg("--mybb")
            .arg(&forum)
            .arg("--root")
            .arg(dir.join("sync"))
            .arg("export")
            .expect_code(2);
        assert!(
            out.stderr.contains(&format!("database type \"{db_type}\" is not supported")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("sqlite"), "{}", out.stderr);
        assert!(out.stderr.contains("pgsql"), "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
}

#[test]
fn a_missing_sqlite_file_is_a_usage_error_and_is_not_created() {
    let dir = TestDir::new("engines_sqlite_missing");
    let board = dir.join("no-such.db");
    let out = on_board(&board, &dir.join("sync")).arg("export").expect_code(2);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(!board.exists(), "the file must not be created");
}

/// Returns the demo script with the binary under test, the sync root `root`, and the SQLite
/// board tool (examples/sqlite-board.rs) built here, so the demo builds nothing.
fn sqlite_demo(dir: &TestDir) -> TestCommand {
    let target = Path::new(util::BIN).parent().unwrap();
    TestCommand::program(env!("CARGO"))
        .args(["build", "--quiet", "--example", "sqlite-board", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .timeout(Duration::from_secs(600))
        .expect_success();
    TestCommand::program("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh"))
        .env("MYBB_SYNC_DEMO_BIN", util::BIN)
        .env("MYBB_SYNC_DEMO_BOARD_TOOL", target.join("examples/sqlite-board"))
        .env("MYBB_SYNC_DEMO_ROOT", dir.join("sync"))
        .env("MYBB_SYNC_DEMO_BOARD", dir.join("demo.db"))
        .timeout(Duration::from_secs(300))
}

/// Asserts that `out` is the demo's whole tour, on the SQLite board in `dir`.
#[track_caller]
fn assert_sqlite_tour(out: &util::Output, dir: &TestDir) {
    let board = format!("sqlite:{}", dir.join("demo.db").display());
    assert!(out.stdout.contains(&board), "{out}");
    assert!(out.stdout.contains("975\t1\theader"), "the set's copy of header: {out}");
    assert!(out.stdout.contains("in sync: nothing to do"), "{out}");
    assert!(!out.stdout.contains("throwaway"), "{out}");
}

#[test]
fn the_demo_runs_on_a_sqlite_board_when_there_is_no_mariadb_on_path() {
    let dir = TestDir::new("engines_demo_no_mariadb");
    // A PATH of every program here but MariaDB's (client, server, install script).
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let cargo_dir = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    for from in [Path::new("/usr/local/bin"), Path::new("/usr/bin"), Path::new("/bin"), &cargo_dir]
    {
        for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text.starts_with("mariadb") || text.starts_with("mysql") || bin.join(&name).exists()
            {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), bin.join(&name)).unwrap();
        }
    }
    let out = sqlite_demo(&dir)
        .env("PATH", &bin)
        .env("MARIADB_SEARCH_PATH", &bin)
        // No local server either (a port nothing listens on), and a throwaway one asked for.
        .env("MYBB_SYNC_LOCAL_PORT", "9")
        .env("MYBB_SYNC_FORCE_THROWAWAY", "1")
        .env_remove("MYBB_SYNC_TEST_URL")
        .expect_success();
    assert!(out.stderr.contains("the demo runs on a SQLite board"), "{out}");
    assert_sqlite_tour(&out, &dir);
}

#[test]
fn the_demo_with_sqlite_picks_the_embedded_board_even_with_mariadb_present() {
    let dir = TestDir::new("engines_demo_sqlite_flag");
    let out = sqlite_demo(&dir).arg("--sqlite").expect_success();
    assert_sqlite_tour(&out, &dir);
    let again = sqlite_demo(&dir).arg("--sqlite").expect_code(1);
    assert!(again.stderr.contains("--reset"), "{again}");
}

#[test]
fn a_watcher_keeps_a_save_pending_while_the_sqlite_board_stays_busy_and_applies_it_after() {
    let dir = TestDir::new("engines_sqlite_watch_busy");
    let (board, root) = (dir.join("board.db"), dir.join("sync"));
    sqlite_fixture(&board);
    on_board(&board, &root).arg("export").expect_success();
    let watcher = util::start_watching(
        on_board(&board, &root).env("MYBB_SYNC_TEST_HOOKS", "sqlite-busy-ms=100"),
        &[],
    );
    let other = Connection::open(&board).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; UPDATE mybb_settings SET value = value").unwrap();
    let header = root.join("template_sets/Default Templates/Header Templates/header.html");
    std::fs::write(&header, "<div>saved during a long write</div>").unwrap();
    wait_until("the watcher keeps the save pending", Duration::from_secs(60), || {
        watcher.stderr_so_far().contains("retrying")
    });
    other.execute_batch("COMMIT").unwrap();
    let sql = "SELECT template FROM mybb_templates WHERE sid = 1 AND title = 'header'";
    wait_until("the save lands once the board is free", Duration::from_secs(60), || {
        other.query_row(sql, [], |r| r.get::<_, String>(0)).ok().as_deref()
            == Some("<div>saved during a long write</div>")
    });
    util::stop_watching(watcher);
}
