//! Tests of the test helpers in `util.rs`: that a [`TestDb`] holds exactly the MyBB 1.8.37
//! sample and nothing of another test's, that it disappears afterwards, and that
//! [`TestCommand`], [`TestDir`] and [`wait_until`] report failures the way the other tests rely on.
//!
//! The command tests run `sh`, not `mybb-sync`, so that they hold whatever the binary does.

use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{
    SCRUBBED_ENV, TestCommand, TestDb, TestDir, redact_url, unique_name, wait_until,
};

/// Runs `f`, which must panic, and returns its panic message.
#[track_caller]
fn panic_message(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else {
        panic!("a panic without a message")
    }
}

/// Returns true if and only if the server has a database called `name`.
fn database_exists(db: &TestDb, name: &str) -> bool {
    db.query_one::<u64>(&format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
    )) == 1
}

#[test]
fn test_db_holds_the_mybb_1_8_37_sample() {
    let started = Instant::now();
    let db = TestDb::new("test_db_holds_the_mybb_1_8_37_sample");
    eprintln!("TestDb::new took {:?}", started.elapsed());

    assert_eq!(db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates"), 974);
    assert_eq!(db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates WHERE sid = -2"), 974);
    assert_eq!(
        db.query_rows::<(i32, String)>("SELECT sid, title FROM mybb_templatesets"),
        [(1, "Default Templates".to_owned())]
    );
    assert_eq!(db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templategroups"), 42);
    assert_eq!(
        db.query_rows::<(u32, String, i32)>("SELECT tid, name, def FROM mybb_themes ORDER BY tid"),
        [(1, "MyBB Master Style".to_owned(), 0), (2, "Default".to_owned(), 1)]
    );
    assert_eq!(
        db.query_rows::<(u32, u64)>(
            "SELECT tid, COUNT(*) FROM mybb_themestylesheets GROUP BY tid ORDER BY tid"
        ),
        [(1, 7), (2, 10)]
    );
    let version: String = db.query_one("SELECT cache FROM mybb_datacache WHERE title = 'version'");
    assert!(version.contains(r#"s:6:"1.8.37""#), "{version}");

    // Bodies come back byte for byte, multi-line and with the dump's escapes undone.
    let header = db.template(-2, "header").expect("the header template");
    assert!(header.starts_with(b"<div id=\"container\">"), "{header:?}");
    assert!(header.contains(&b'\n'));
    let global = db.stylesheet(1, "global.css").expect("global.css in the master style");
    assert!(global.starts_with(b"body {"), "{global:?}");
    assert_eq!(db.template(-2, "no such template"), None);
    assert_eq!(db.stylesheet(2, "global.css"), None);
}

#[test]
fn test_dbs_in_parallel_get_different_names_and_separate_data() {
    let [a, b] = [1, 2].map(|n| {
        thread::spawn(move || TestDb::new(&format!("parallel_{n}"))).join().expect("TestDb::new")
    });
    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());
    assert!(a.url().ends_with(&format!("/{}", a.name())), "{}", a.url());

    a.exec("DELETE FROM mybb_templates WHERE title = 'header'");
    assert_eq!(a.template(-2, "header"), None);
    assert!(b.template(-2, "header").is_some());
}

#[test]
fn dropping_a_test_db_drops_its_database() {
    let observer = TestDb::empty("dropping_observer");
    let db = TestDb::empty("dropping_a_test_db");
    let name = db.name().to_owned();
    assert!(database_exists(&observer, &name));
    drop(db);
    assert!(!database_exists(&observer, &name));
}

#[test]
fn an_empty_test_db_has_no_tables_until_sql_is_loaded() {
    let db = TestDb::empty("empty_test_db");
    let tables = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()";
    assert_eq!(db.query_one::<u64>(tables), 0);
    db.load_sql("CREATE TABLE t (b BLOB); INSERT INTO t VALUES ('a'), (x'ff00');");
    assert_eq!(db.query_one::<u64>(tables), 1);
    assert_eq!(db.exec_with("UPDATE t SET b = ? WHERE b = ?", (b"\xfe".to_vec(), "a")), 1);
    // Not UTF-8, so read as bytes.
    let mut bodies: Vec<Vec<u8>> = db.query_rows("SELECT b FROM t");
    bodies.sort();
    assert_eq!(bodies, [b"\xfe".to_vec(), b"\xff\x00".to_vec()]);
}

#[test]
fn a_failing_statement_anywhere_in_a_batch_fails_the_test() {
    let db = TestDb::empty("failing_statement");
    let message = panic_message(|| db.exec("SELECT 1; SELECT * FROM no_such_table; SELECT 2"));
    assert!(message.contains("no_such_table"), "{message}");
    let message = panic_message(|| {
        db.query_one::<u64>("SELECT 1 UNION SELECT 2");
    });
    assert!(message.contains("expected one row, got 2"), "{message}");
}

#[test]
fn unique_names_are_safe_database_names() {
    let name = unique_name("Export::writes Every-Set! ünïcode");
    assert!(name.starts_with(&format!("mst_{}_", std::process::id())), "{name}");
    assert!(name.ends_with("_export__writes_every_set___n_code"), "{name}");
    assert!(
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "{name}"
    );
    assert_eq!(unique_name(&"x".repeat(100)).len(), 64);
    assert_ne!(unique_name("same"), unique_name("same"));
}

#[test]
fn urls_are_shown_without_their_password() {
    assert_eq!(redact_url("mysql://root:s3cret@db:3306/forum"), "mysql://root:***@db:3306/forum");
    assert_eq!(redact_url("mysql://root@127.0.0.1:3306"), "mysql://root@127.0.0.1:3306");
    assert_eq!(redact_url("mysql://db/x@y"), "mysql://db/x@y");
}

#[test]
fn test_dir_is_removed_on_drop() {
    let dir = TestDir::new("test_dir_is_removed_on_drop");
    let path = dir.path().to_owned();
    dir.write("a/b/c.txt", "hello");
    dir.write("top.txt", b"\xff");
    assert_eq!(dir.read("a/b/c.txt"), b"hello");
    assert_eq!(dir.files(), ["a/b/c.txt", "top.txt"]);
    assert!(path.is_dir());
    drop(dir);
    assert!(!path.exists());
}

#[test]
fn test_command_reports_status_and_output() {
    let output =
        TestCommand::program("sh").args(["-c", "echo out; echo err >&2; exit 3"]).expect_code(3);
    assert_eq!(output.stdout, "out\n");
    assert_eq!(output.stderr, "err\n");

    let message = panic_message(|| {
        output.clone().expect_success();
    });
    for part in [
        "expected success",
        "sh -c 'echo out; echo err >&2; exit 3'",
        "exit status: 3",
        "out",
        "err",
    ] {
        assert!(message.contains(part), "{part:?} not in:\n{message}");
    }
    let message = panic_message(|| {
        output.expect_code(0);
    });
    assert!(message.contains("expected exit code 0"), "{message}");

    TestCommand::program("true").expect_success();
}

#[test]
fn test_command_keeps_the_developers_settings_out() {
    let command = TestCommand::new();
    for name in SCRUBBED_ENV {
        assert!(
            command.command().get_envs().any(|(key, value)| key == *name && value.is_none()),
            "{name} is not removed"
        );
    }
    // Whatever the shell running the tests has set:
    let output = TestCommand::program("sh")
        .args(["-c", r#"printf '%s' "${MYBB_DATABASE_URL-unset} ${RUST_LOG-unset} $MYBB_X""#])
        .env("MYBB_X", "given")
        .expect_success();
    assert_eq!(output.stdout, "unset unset given");
}

#[test]
fn test_command_runs_in_the_given_directory() {
    let dir = TestDir::new("test_command_runs_in_the_given_directory");
    let output = TestCommand::program("pwd").current_dir(dir.path()).expect_success();
    assert_eq!(output.stdout.trim_end(), dir.path().to_str().unwrap());
}

#[test]
fn a_hanging_command_is_killed_and_fails_the_test() {
    let started = Instant::now();
    let message = panic_message(|| {
        TestCommand::program("sleep").arg("30").timeout(Duration::from_millis(200)).run();
    });
    assert!(message.contains("still running after 200ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_spawned_command_can_be_watched_and_interrupted() {
    let mut running = TestCommand::program("sh").args(["-c", "echo ready; exec sleep 30"]).spawn();
    wait_until("the child to say it is ready", Duration::from_secs(60), || {
        running.stdout_so_far() == "ready\n"
    });
    assert!(running.is_running());
    running.interrupt();
    let output = running.wait(Duration::from_secs(60));
    assert_eq!(output.code(), None, "ended by SIGINT:\n{output}");
}

#[test]
fn wait_until_returns_once_true_and_names_what_timed_out() {
    let mut calls = 0;
    wait_until("three calls", Duration::from_secs(5), || {
        calls += 1;
        calls == 3
    });
    assert_eq!(calls, 3);
    let message =
        panic_message(|| wait_until("the impossible", Duration::from_millis(50), || false));
    assert!(message.contains("waiting for the impossible"), "{message}");
}

#[test]
fn the_mybb_sync_binary_can_be_run() {
    // Only that the binary starts; what it does is for the other test modules.
    let output = TestCommand::new().arg("--help").run();
    assert!(output.code().is_some(), "{output}");
}
