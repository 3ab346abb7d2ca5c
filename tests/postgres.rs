//! PostgreSQL boards (issue 31): the fixture's PostgreSQL form, `inc/config.php` of type `pgsql`
//! and `pgsql_pdo`, the logins PostgreSQL asks for, and a server stopped, frozen, restarted or
//! ending the connection, each on a cluster of the test's own (`util/pg_cluster.rs`), never
//! the shared one. The suite's core runs on PostgreSQL in `scripts/test.sh`'s third pass
//! (`MYBB_SYNC_TEST_ENGINE=postgres`).

use std::path::Path;
use std::time::Duration;

use mybb_sync::config::DbTarget;
use mybb_sync::mybb::db::Db;

use crate::util::pg_cluster::{PASSWORD, PgCluster, signal};
use crate::util::start_watching as start_watch;
use crate::util::{self, TestCommand, TestDb, TestDir, config_php, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);

/// The header template of the Default set, as exported under `root`.
fn header(root: &Path) -> std::path::PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.html")
}

/// `mybb-sync --db URL --root ROOT --no-fsync`.
fn on(url: &str, root: &Path) -> TestCommand {
    TestCommand::new().args(["--db", url, "--root"]).arg(root).arg("--no-fsync")
}

/// Returns how many files `export` wrote for the Default Templates set under `root`.
fn set_files(root: &Path) -> usize {
    walkdir::WalkDir::new(root.join("template_sets/Default Templates"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

/// Returns the header row of set 1 on `cluster`'s database `mybb`, if there is one.
fn header_row(cluster: &PgCluster) -> Option<Vec<u8>> {
    let sql = "SELECT template FROM mybb_templates WHERE sid = 1 AND title = 'header'";
    let answer = cluster.admin("mybb").query(sql, &[]).ok()?;
    answer.rows.into_iter().next().and_then(|mut row| row.remove(0))
}

/// Stops every process of the server (SIGSTOP) and returns once each has stopped: the
/// postmaster alone stopped would leave the session serving us running.
fn freeze(cluster: &PgCluster) {
    let pids = cluster.pids();
    for pid in &pids {
        signal(*pid, "STOP");
    }
    wait_until("every process of the server to stop", DEADLINE, || {
        pids.iter().all(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
            // A backend that exited as the postmaster stopped stays a zombie (Z): it serves
            // nothing, and nobody reaps it until the postmaster runs again.
            state.is_none_or(|state| matches!(state, 'T' | 't' | 'Z' | 'X'))
        })
    });
}

/// Lets every process of the server run again.
fn thaw(cluster: &PgCluster) {
    for pid in cluster.pids() {
        signal(pid, "CONT");
    }
}

#[test]
fn the_postgres_fixture_holds_the_same_rows_as_the_mysql_load() {
    if util::on_sqlite() || util::on_postgres() {
        eprintln!(
            "SKIPPED: compares the MariaDB load with the PostgreSQL form; runs in the first pass"
        );
        return;
    }
    let mysql = TestDb::new("pg_fixture_rows");
    let cluster = PgCluster::start("pg_fixture_rows");
    cluster.load_fixture("mybb");
    let mut pg = cluster.admin("mybb");
    for (table, key) in [
        ("mybb_datacache", "title"),
        ("mybb_settings", "sid"),
        ("mybb_templategroups", "gid"),
        ("mybb_templates", "tid"),
        ("mybb_templatesets", "sid"),
        ("mybb_themes", "tid"),
        ("mybb_themestylesheets", "sid"),
    ] {
        let mysql_rows: Vec<mysql::Row> =
            mysql.query_rows(&format!("SELECT * FROM {table} ORDER BY {key}"));
        let answer = pg.query(&format!("SELECT * FROM {table} ORDER BY {key}"), &[]).unwrap();
        assert_eq!(mysql_rows.len(), answer.rows.len(), "{table}: row counts differ");
        for (m, p) in mysql_rows.iter().zip(&answer.rows) {
            for (column, value) in answer.columns.iter().zip(p) {
                let in_mysql: Option<Vec<u8>> = m.get(column.as_str()).unwrap();
                assert_eq!(&in_mysql, value, "{table}.{column} differs");
            }
        }
    }
}

#[test]
fn config_php_of_type_pgsql_and_pgsql_pdo_is_read_over_tcp_and_the_unix_socket() {
    let cluster = PgCluster::start("pg_config_php");
    cluster.load_fixture("mybb");
    let dir = TestDir::new("pg_config_php");
    let forum = dir.join("forum");
    std::fs::create_dir_all(forum.join("inc")).unwrap();
    let port = cluster.port;
    let local = cluster.options("postgres", "mybb", true).host;
    for (n, (db_type, hostname)) in [
        ("pgsql", format!("127.0.0.1:{port}")),
        ("pgsql_pdo", format!("127.0.0.1:{port}")),
        ("pgsql", format!("{local}:{port}")),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(
            forum.join("inc/config.php"),
            config_php(&[
                ("type", db_type),
                ("database", "mybb"),
                ("table_prefix", "mybb_"),
                ("hostname", &hostname),
                ("username", "scramuser"),
                ("password", PASSWORD),
                ("encoding", "utf8"),
            ]),
        )
        .unwrap();
        let root = dir.join(format!("sync-{n}"));
        let out = TestCommand::new()
            .arg("--mybb")
            .arg(&forum)
            .arg("--root")
            .arg(&root)
            .args(["--no-fsync", "export", "--set", "Default Templates"])
            .expect_success();
        assert_eq!(set_files(&root), 974, "{db_type} {hostname}: {out}");
    }

    // A wrong password is a setting to fix (exit 2), and is never shown.
    std::fs::write(
        forum.join("inc/config.php"),
        config_php(&[
            ("type", "pgsql"),
            ("database", "mybb"),
            ("table_prefix", "mybb_"),
            ("hostname", &format!("127.0.0.1:{port}")),
            ("username", "scramuser"),
            ("password", "hunter2"),
        ]),
    )
    .unwrap();
    let out = TestCommand::new()
        .arg("--mybb")
        .arg(&forum)
        .arg("--root")
        .arg(dir.join("sync-wrong"))
        .arg("export")
        .expect_code(2);
    assert!(out.stderr.contains("password authentication failed"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

#[test]
fn logins_by_trust_md5_and_scram_sha_256_each_reach_the_board() {
    let cluster = PgCluster::start("pg_logins");
    cluster.load_fixture("mybb");
    let dir = TestDir::new("pg_logins");
    let port = cluster.port;
    let password = PASSWORD.replace(' ', "%20");
    for (n, user) in ["trusted", "md5user", "scramuser"].into_iter().enumerate() {
        let url = format!("postgres://{user}:{password}@127.0.0.1:{port}/mybb");
        let root = dir.join(format!("sync-{n}"));
        on(&url, &root).args(["export", "--set", "Default Templates"]).expect_success();
        assert_eq!(set_files(&root), 974, "{user}");
    }
    for user in ["md5user", "scramuser"] {
        let url = format!("postgres://{user}:wrong@127.0.0.1:{port}/mybb");
        let out = on(&url, &dir.join("sync-wrong")).arg("export").expect_code(2);
        assert!(out.stderr.contains("password authentication failed"), "{user}: {}", out.stderr);
    }
    let url = format!("postgres://scramuser@127.0.0.1:{port}/mybb");
    let out = on(&url, &dir.join("sync-none")).arg("export").expect_code(2);
    assert!(out.stderr.contains("none was given"), "{}", out.stderr);
}

#[test]
fn a_frozen_postgres_server_is_an_outage_survived_and_sigterm_still_stops_the_watcher() {
    let cluster = PgCluster::start("pg_frozen");
    cluster.load_fixture("mybb");
    let dir = TestDir::new("pg_frozen_root");
    let root = dir.join("sync");
    let url = cluster.url("mybb");
    on(&url, &root).arg("export").expect_success();
    let run = start_watch(on(&url, &root), &["--debounce", "30", "--pull-interval", "0.2"]);

    freeze(&cluster);
    std::fs::write(header(&root), "<p>saved while frozen</p>").unwrap();
    wait_until("the outage to be logged", DEADLINE, || {
        run.stderr_so_far().contains("keeping") && run.stderr_so_far().contains("retrying")
    });
    thaw(&cluster);
    wait_until("the pending save to be applied after the thaw", DEADLINE, || {
        header_row(&cluster).as_deref() == Some(b"<p>saved while frozen</p>")
    });
    wait_until("the watcher to see the database again", DEADLINE, || {
        run.stderr_so_far().contains("reachable again")
    });
    let log = run.stderr_so_far();
    assert_eq!(log.matches("retrying").count(), 1, "an outage is logged once:\n{log}");

    // Frozen again: SIGTERM ends the watcher at once, not when the server thaws.
    freeze(&cluster);
    std::fs::write(header(&root), "<p>saved while frozen again</p>").unwrap();
    wait_until("the second outage to be logged", DEADLINE, || {
        run.stderr_so_far().matches("retrying").count() == 2
    });
    signal(run.id(), "TERM");
    let out = run.wait(Duration::from_secs(5));
    assert_eq!(out.code(), Some(0), "{out}");
    thaw(&cluster);
}

#[test]
fn a_save_made_while_postgres_is_stopped_is_applied_once_it_is_restarted() {
    let mut cluster = PgCluster::start("pg_stopped");
    cluster.load_fixture("mybb");
    let dir = TestDir::new("pg_stopped_root");
    let root = dir.join("sync");
    let url = cluster.url("mybb");
    on(&url, &root).arg("export").expect_success();
    let run = start_watch(on(&url, &root), &["--debounce", "30", "--pull-interval", "0.2"]);

    cluster.stop();
    std::fs::write(header(&root), "<p>saved while stopped</p>").unwrap();
    wait_until("the outage to be logged", DEADLINE, || {
        run.stderr_so_far().contains("keeping") && run.stderr_so_far().contains("retrying")
    });
    cluster.restart();
    wait_until("the pending save to be applied after the restart", DEADLINE, || {
        header_row(&cluster).as_deref() == Some(b"<p>saved while stopped</p>")
    });
    wait_until("the watcher to see the database again", DEADLINE, || {
        run.stderr_so_far().contains("reachable again")
    });
    run.interrupt();
    run.wait(DEADLINE).expect_success();
}

#[test]
fn a_postgres_query_that_timed_out_never_hands_its_late_answer_to_the_next_query() {
    let cluster = PgCluster::start("pg_late_answer");
    cluster.load_fixture("mybb");
    let target = DbTarget::parse_url(&cluster.url("mybb")).unwrap();
    let db = Db::connect(&target, "mybb_").unwrap();
    let fingerprint = db.fingerprint().unwrap();

    freeze(&cluster);
    assert!(db.fingerprint().is_err(), "a frozen server answered");
    thaw(&cluster);
    assert_eq!(db.store_four_byte_utf8(&[("templates", "template")]).unwrap(), [true]);
    assert_eq!(db.fingerprint().unwrap(), fingerprint);
    assert_eq!(db.template_sets().unwrap().len(), 1);
}

#[test]
fn a_postgres_connection_the_server_ended_is_made_anew_for_the_next_query() {
    let mut cluster = PgCluster::start("pg_killed_connection");
    cluster.load_fixture("mybb");
    let target = DbTarget::parse_url(&cluster.url("mybb")).unwrap();
    let db = Db::connect(&target, "mybb_").unwrap();
    let fingerprint = db.fingerprint().unwrap();
    let end_sessions = |cluster: &PgCluster| {
        let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                   WHERE usename = 'trusted' AND pid <> pg_backend_pid()";
        cluster.admin("postgres").batch(sql).unwrap();
    };

    // An admin ends the session (pg_terminate_backend): the query that meets it may fail, the
    // next must not.
    end_sessions(&cluster);
    let _ = db.fingerprint();
    assert_eq!(db.fingerprint().unwrap(), fingerprint);

    // The server restarted between two queries: the connection is made anew.
    cluster.stop();
    cluster.restart();
    let _ = db.fingerprint();
    assert_eq!(db.fingerprint().unwrap(), fingerprint);

    // Waiting on a lock another session holds: the lock timeout answers, the write is not
    // lost for good (a transient error, tried again by the callers), and the connection lives.
    let mut locker = cluster.admin("mybb");
    locker.batch("BEGIN; LOCK TABLE mybb_templates IN ACCESS EXCLUSIVE MODE").unwrap();
    let err = db.fingerprint().unwrap_err();
    assert!(err.is_transient(), "{err}");
    locker.batch("ROLLBACK").unwrap();
    assert_eq!(db.fingerprint().unwrap(), fingerprint);
}
