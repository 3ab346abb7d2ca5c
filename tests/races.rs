//! Never lose an edit (issue 10): the three writers (the Admin CP, a local editor, mybb-sync
//! itself) racing each other, a killed export, a frozen database, and a paused watcher.
//! Each test is one of the numbered cases; the last is a bounded, seeded chaos run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mybb_sync::disk::gate::Gate;
use mybb_sync::mybb::db::Db;
use mybb_sync::sync::plan::{Flow, Syncer};
use mybb_sync::sync::state::State;
use mybb_sync::sync::watcher::{self, WatchOptions};

use crate::export::{exported, sync_cmd};
use crate::util::library_config as config;
use crate::util::start_watching as start_watch;
use crate::util::{FIXTURE_SQL, TestCommand, TestDb, TestDir, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);
const SET: &str = "template_sets/Default Templates";

fn header(root: &Path) -> PathBuf {
    root.join(SET).join("Header Templates/header.html")
}

fn footer(root: &Path) -> PathBuf {
    root.join(SET).join("Footer Templates/footer.html")
}

/// Every template file of the Default Templates set, sorted.
fn template_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for group in std::fs::read_dir(root.join(SET)).unwrap() {
        for file in std::fs::read_dir(group.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "html") && !is_copy(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_copy(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".db.html")
}

fn title_of(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Stops process `pid` (SIGSTOP) and returns once every thread of it has stopped. The signal
/// only starts a stop: one thread takes it and then stops the others, and until it is
/// scheduled (on a loaded machine, a while) the rest still run: a frozen server would answer.
fn freeze(pid: u32) {
    signal(pid, "STOP");
    wait_until("every thread of the frozen process to stop", DEADLINE, || {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process lives");
        tasks.flatten().all(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // The state follows the command name, which is in parentheses and may hold any.
            let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
            // 'T' stopped; a thread gone meanwhile (no stat) cannot answer either.
            state.is_none_or(|state| state == 'T' || state == 't')
        })
    });
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{name} {pid} failed");
}

/// A small deterministic generator (xorshift64*), so that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Returns the seed from `MYBB_SYNC_TEST_SEED`, or a fresh one; printed either way.
fn seed(test: &str) -> u64 {
    let seed = std::env::var("MYBB_SYNC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            t.as_nanos() as u64 | 1
        });
    eprintln!("{test}: seed {seed} (replay with MYBB_SYNC_TEST_SEED={seed})");
    seed
}

/// Watches the sync root for an export's first rename of a file into place.
struct FirstRename {
    rx: std::sync::mpsc::Receiver<notify::Result<notify::Event>>,
    _watcher: notify::RecommendedWatcher,
}

impl FirstRename {
    fn watch(root: &Path) -> FirstRename {
        use notify::Watcher;
        let (tx, rx) = std::sync::mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |e| {
            let _ = tx.send(e);
        })
        .unwrap();
        watcher.watch(root, notify::RecursiveMode::Recursive).unwrap();
        FirstRename { rx, _watcher: watcher }
    }

    /// Waits until a file (not a temp file) is renamed into place.
    fn wait(&self) {
        loop {
            let event = self.rx.recv_timeout(DEADLINE).expect("an export renames files").unwrap();
            let renamed =
                matches!(event.kind, notify::EventKind::Modify(notify::event::ModifyKind::Name(_)));
            let visible = event
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')));
            if renamed && visible {
                return;
            }
        }
    }
}

// Case 1 ------------------------------------------------------------------------------------

#[test]
fn a_file_saved_while_an_export_runs_is_never_overwritten() {
    let mut rng = Rng(seed("race_export_overwrites_save"));
    let (db, _dir, root) = exported("race_export_overwrites_save");
    let files = template_files(&root);
    for run in 0..12u64 {
        // Every master template changes, so the export rewrites every file.
        db.exec(&format!(
            "UPDATE mybb_templates SET template = CONCAT(template, '<!--{run}-->') WHERE sid = -2"
        ));
        let path = &files[rng.below(files.len() as u64) as usize];
        let renames = FirstRename::watch(&root);
        let export = sync_cmd(&db, &root).arg("export").spawn();
        // The save lands once the export renames files: after it read them all.
        renames.wait();
        std::thread::sleep(Duration::from_millis(rng.below(20))); // jitter, not synchronisation
        let mine = format!("<p>saved during export {run}</p>");
        std::fs::write(path, &mine).unwrap();
        let out = export.wait(DEADLINE);
        assert!(matches!(out.code(), Some(0 | 3)), "{out}");
        assert_eq!(std::fs::read_to_string(path).unwrap(), mine, "run {run}: the save was lost");
    }
}

// Case 2 ------------------------------------------------------------------------------------

#[test]
fn a_pull_never_writes_a_pending_file_to_the_database_before_its_debounce() {
    let (db, _dir, root) = exported("race_pull_bypasses_debounce");
    let run = start_watch(sync_cmd(&db, &root), &["--debounce", "3000", "--pull-interval", "0.1"]);
    std::fs::write(header(&root), "<p>half-written save</p>").unwrap();
    // An unrelated Admin CP edit triggers a pull, well within the debounce window.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>admin footer</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    wait_until("the pull to bring the footer to disk", DEADLINE, || {
        std::fs::read(footer(&root)).is_ok_and(|b| b == b"<p>admin footer</p>")
    });
    assert_eq!(db.template(1, "header"), None, "the pending save skipped its debounce");
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>half-written save</p>");
    // After its quiet window it is written as usual.
    wait_until("the header to reach the database", DEADLINE, || {
        db.template(1, "header").as_deref() == Some(b"<p>half-written save</p>")
    });
    run.interrupt();
    run.wait(DEADLINE).expect_success();
}

// Case 3 ------------------------------------------------------------------------------------

#[test]
fn a_row_changed_between_plan_and_write_is_not_overwritten_but_a_conflict() {
    let (db, _dir, root) = exported("race_blind_row_writes");
    let config = config(&db, &root);
    let conn = Db::connect(&config.db, &config.prefix).unwrap();
    // An own row in set 1 for header, as synced; none yet for footer.
    std::fs::write(header(&root), "<p>synced</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();

    std::fs::write(header(&root), "<p>my header</p>").unwrap();
    std::fs::write(footer(&root), "<p>my footer</p>").unwrap();
    let syncer = Syncer::new(&conn, &config, None).unwrap();
    let mut state = State::load(&root).unwrap();
    let plan = syncer.plan_paths(&[header(&root), footer(&root)], &state).unwrap();
    // The Admin CP saves both between the plan and the write (a copy-on-write for footer).
    db.exec(
        "UPDATE mybb_templates SET template = '<p>admin header</p>', dateline = dateline + 1 \
         WHERE sid = 1 AND title = 'header'",
    );
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>admin footer</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    let report = syncer.apply(plan, Flow::IMPORT, &mut state, &Default::default()).unwrap();
    assert!(report.written.is_empty(), "{report:?}");
    assert_eq!(report.conflicts.len(), 2, "{report:?}");
    for (title, path) in [("header", header(&root)), ("footer", footer(&root))] {
        assert_eq!(db.template(1, title).unwrap(), format!("<p>admin {title}</p>").as_bytes());
        assert_eq!(std::fs::read(&path).unwrap(), format!("<p>my {title}</p>").as_bytes());
        let copy = std::fs::read(path.with_extension("db.html")).unwrap();
        assert_eq!(copy, format!("<p>admin {title}</p>").as_bytes());
    }
    let rows: u64 = db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1");
    assert_eq!(rows, 2, "one row per title");
}

/// Appends `marker` to every template file of the set, as an editor would; returns their paths.
fn edit_every_template(root: &Path, marker: &str) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = crate::export::tree(&root.join(SET))
        .into_keys()
        .filter(|p| p.ends_with(".html"))
        .map(|p| root.join(SET).join(p))
        .collect();
    for path in &paths {
        let mut content = std::fs::read(path).unwrap();
        content.extend_from_slice(format!("\n{marker}").as_bytes());
        std::fs::write(path, content).unwrap();
    }
    paths
}

#[test]
fn a_row_changed_in_the_middle_of_a_grouped_update_is_the_only_conflict() {
    let (db, _dir, root) = exported("race_grouped_update");
    let config = config(&db, &root);
    let conn = Db::connect(&config.db, &config.prefix).unwrap();
    // Every template gets an own row in set 1, so the next import updates 974 rows (more than
    // one statement's worth).
    edit_every_template(&root, "<!-- first -->");
    sync_cmd(&db, &root).arg("import").expect_success();

    let paths = edit_every_template(&root, "<!-- second -->");
    assert_eq!(paths.len(), 974);
    let syncer = Syncer::new(&conn, &config, None).unwrap();
    let mut state = State::load(&root).unwrap();
    let plan = syncer.plan_paths(&paths, &state).unwrap();
    // The Admin CP saves one of them between the plan and the write.
    db.exec(
        "UPDATE mybb_templates SET template = '<p>admin header</p>', dateline = dateline + 1 \
         WHERE sid = 1 AND title = 'header'",
    );
    let report = syncer.apply(plan, Flow::IMPORT, &mut state, &Default::default()).unwrap();
    assert_eq!(report.written.len(), 973, "{:?}", report.conflicts);
    let conflicts: Vec<&PathBuf> = report.conflicts.iter().map(|(path, _)| path).collect();
    assert_eq!(conflicts, [&header(&root)]);
    assert_eq!(db.template(1, "header").unwrap(), b"<p>admin header</p>");
    let second: u64 = db.query_one(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '%<!-- second -->'",
    );
    assert_eq!(second, 973);
}

#[test]
fn a_copy_made_in_the_middle_of_a_grouped_copy_on_write_is_the_only_conflict() {
    let (db, _dir, root) = exported("race_grouped_insert");
    let config = config(&db, &root);
    let conn = Db::connect(&config.db, &config.prefix).unwrap();
    // No template has an own row in set 1 yet: the import makes 974 copy-on-writes (more than
    // one statement's worth).
    let paths = edit_every_template(&root, "<!-- first -->");
    let syncer = Syncer::new(&conn, &config, None).unwrap();
    let mut state = State::load(&root).unwrap();
    let plan = syncer.plan_paths(&paths, &state).unwrap();
    // The Admin CP copies one of them into the set between the plan and the write.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>admin header</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    let report = syncer.apply(plan, Flow::IMPORT, &mut state, &Default::default()).unwrap();
    assert_eq!(report.written.len(), 973, "{:?}", report.conflicts);
    let conflicts: Vec<&PathBuf> = report.conflicts.iter().map(|(path, _)| path).collect();
    assert_eq!(conflicts, [&header(&root)]);
    let rows: u64 = db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1");
    assert_eq!(rows, 974, "one row per title, the admin's header kept");
    assert_eq!(db.template(1, "header").unwrap(), b"<p>admin header</p>");
    let first: u64 = db.query_one(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '%<!-- first -->'",
    );
    assert_eq!(first, 973);
}

#[test]
fn import_takes_the_sync_lock_exclusively() {
    let (db, _dir, root) = exported("race_import_lock");
    std::fs::write(header(&root), "<p>imported</p>").unwrap();
    let lock = mybb_sync::sync::own_dir::lock(&root).unwrap();
    let watcher_batch = lock.shared().unwrap();
    let import = sync_cmd(&db, &root).arg("import").spawn();
    wait_until("import to wait for the watcher's batch", DEADLINE, || {
        import.stderr_so_far().contains("waiting for another mybb-sync run")
    });
    assert_eq!(db.template(1, "header"), None);
    drop(watcher_batch);
    import.wait(DEADLINE).expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>imported</p>");
}

// Case 4 ------------------------------------------------------------------------------------

/// After an interrupted export and a revert in the database, the next export brings every
/// file back to the database's content and nothing counts as edited on disk.
fn assert_reverted_cleanly(db: &TestDb, root: &Path) {
    db.exec(
        "UPDATE mybb_templates SET template = REPLACE(template, '<!--new-->', '') WHERE sid = -2",
    );
    let out = sync_cmd(db, root).arg("export").expect_success();
    assert!(!out.stderr.contains("kept"), "{out}");
    let status = sync_cmd(db, root).args(["status", "--porcelain"]).expect_success();
    assert_eq!(status.stdout, "", "nothing is edited on disk");
    let out = sync_cmd(db, root).arg("import").expect_success();
    assert!(out.stderr.contains("0 written"), "{out}");
    for path in template_files(root) {
        let master = db.template(-2, &title_of(&path)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), master, "{}", path.display());
    }
}

#[test]
fn an_export_that_fails_part_way_leaves_a_state_that_takes_no_file_for_an_edit() {
    let (db, _dir, root) = exported("race_failed_export_state");
    db.exec("UPDATE mybb_templates SET template = CONCAT(template, '<!--new-->') WHERE sid = -2");
    sync_cmd(&db, &root).env("MYBB_SYNC_TEST_HOOKS", "fail-after=300").arg("export").expect_code(1);
    assert_reverted_cleanly(&db, &root);
}

#[test]
fn an_export_killed_at_random_points_leaves_a_state_that_takes_no_file_for_an_edit() {
    let mut rng = Rng(seed("race_killed_export_state"));
    let (db, _dir, root) = exported("race_killed_export_state");
    for _ in 0..4 {
        db.exec(
            "UPDATE mybb_templates SET template = CONCAT(template, '<!--new-->') WHERE sid = -2",
        );
        let renames = FirstRename::watch(&root);
        let export = sync_cmd(&db, &root).arg("export").spawn();
        // A random point among the renames, where the state and the files part ways.
        renames.wait();
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        signal(export.id(), "KILL");
        let _ = export.wait(DEADLINE);
        assert_reverted_cleanly(&db, &root);
    }
}

// Case 5 ------------------------------------------------------------------------------------

/// A mariadbd of the test's own on a free port, to freeze and thaw. Never the shared server.
struct PrivateServer {
    child: Child,
    port: u16,
    _dir: TestDir,
}

fn find_program(names: &[&str]) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path.split(':').chain(["/usr/sbin", "/usr/local/sbin", "/usr/libexec"]);
    let dirs: Vec<&str> = dirs.collect();
    for name in names {
        for dir in &dirs {
            let candidate = Path::new(dir).join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("none of {names:?} is installed; this test needs a private MariaDB server");
}

impl PrivateServer {
    fn start(name: &str) -> PrivateServer {
        let dir = TestDir::new(name);
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned();
        let data = dir.join("data");
        // The bootstrap failed once in a full run on a loaded machine, with its output
        // discarded: it is kept now, shown if every attempt fails, and a failed attempt's
        // half-made data folder is removed before the next.
        // A temporary folder of its own: bootstraps and servers sharing /tmp lost each other's
        // temporary tables there ("Could not remove temporary table").
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut install_attempts = 0;
        loop {
            install_attempts += 1;
            let installed = Command::new(find_program(&["mariadb-install-db", "mysql_install_db"]))
                .args(["--no-defaults", "--auth-root-authentication-method=normal"])
                .arg("--skip-test-db")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--user={user}"))
                .arg(format!("--tmpdir={}", tmp.display()))
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if installed.status.success() {
                break;
            }
            assert!(
                install_attempts < 3,
                "mariadb-install-db failed ({}) {install_attempts} times; the last said:\n{}{}",
                installed.status,
                String::from_utf8_lossy(&installed.stdout),
                String::from_utf8_lossy(&installed.stderr)
            );
            let _ = std::fs::remove_dir_all(&data);
        }
        // mariadbd cannot be given a listening socket or pick its own port, so a port that was
        // free a moment ago is tried, and another if someone took it meanwhile: a server that
        // cannot bind its port exits, and one that answers on its own Unix socket (a path no
        // one else has) has bound it.
        let socket = dir.join("sock");
        let error_log = dir.join("error.log");
        let mut attempts = 0;
        let (child, port, mut conn) = loop {
            attempts += 1;
            let _ = std::fs::remove_file(&error_log);
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            let port = port.port();
            let mut child = Command::new(find_program(&["mariadbd", "mysqld"]))
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--port={port}"))
                .args(["--bind-address=127.0.0.1", "--skip-log-bin"])
                .arg("--character-set-server=utf8mb4")
                .arg(format!("--log-error={}", error_log.display()))
                .arg(format!("--user={user}"))
                .arg(format!("--tmpdir={}", tmp.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let opts = mysql::OptsBuilder::new()
                .socket(socket.to_str())
                .user(Some("root"))
                .prefer_socket(true);
            let started = Instant::now();
            let (conn, exited) = loop {
                let exited = child.try_wait().unwrap();
                if exited.is_some() {
                    break (None, exited);
                }
                if let Ok(conn) = mysql::Conn::new(opts.clone()) {
                    break (Some(conn), None);
                }
                if started.elapsed() > Duration::from_secs(90) {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("timed out waiting for the private mariadbd to accept connections");
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            if let Some(conn) = conn {
                break (child, port, conn);
            }
            let log = std::fs::read_to_string(&error_log).unwrap_or_default();
            assert!(
                attempts < 5 && log.contains("Address already in use"),
                "the private mariadbd exited ({exited:?}) on port {port}:\n{log}"
            );
        };
        let server = PrivateServer { child, port, _dir: dir };
        use mysql::prelude::Queryable;
        conn.query_drop("CREATE DATABASE mybb CHARACTER SET utf8mb4").unwrap();
        conn.query_drop("USE mybb").unwrap();
        let sql = std::fs::read_to_string(FIXTURE_SQL).unwrap();
        let mut result = conn.query_iter(sql).unwrap();
        while let Some(set) = result.iter() {
            for row in set {
                row.unwrap();
            }
        }
        server
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/mybb", self.port)
    }

    fn cmd(&self, root: &Path) -> TestCommand {
        TestCommand::new().args(["--db", &self.url(), "--root"]).arg(root).arg("--no-fsync")
    }

    /// A connection of the test's own to the board's database.
    fn conn(&self) -> mysql::Conn {
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(&self.url()).unwrap())
            .prefer_socket(false);
        mysql::Conn::new(opts).unwrap()
    }

    /// mybb-sync's connection to the board's database.
    fn db(&self) -> Db {
        let target = mybb_sync::config::DbTarget::parse_url(&self.url()).unwrap();
        Db::connect(&target, "mybb_").unwrap()
    }

    fn query_one(&self, sql: &str) -> Option<Vec<u8>> {
        use mysql::prelude::Queryable;
        self.conn().query_first(sql).unwrap()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        signal(self.child.id(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_frozen_database_is_an_outage_survived_and_sigterm_still_stops_the_watcher() {
    let server = PrivateServer::start("race_frozen_server");
    let dir = TestDir::new("race_frozen_server_root");
    let root = dir.join("sync");
    server.cmd(&root).arg("export").expect_success();
    let run = start_watch(server.cmd(&root), &["--debounce", "30", "--pull-interval", "0.2"]);
    let header_row = "SELECT template FROM mybb_templates WHERE sid = 1 AND title = 'header'";

    freeze(server.child.id());
    std::fs::write(header(&root), "<p>saved while frozen</p>").unwrap();
    wait_until("the outage to be logged", DEADLINE, || {
        run.stderr_so_far().contains("keeping") && run.stderr_so_far().contains("retrying")
    });
    signal(server.child.id(), "CONT");
    wait_until("the pending save to be applied after the thaw", DEADLINE, || {
        server.query_one(header_row).as_deref() == Some(b"<p>saved while frozen</p>")
    });
    // The row is written before the batch's last queries: a freeze between the two would be
    // the same outage to the watcher, never a second one to log.
    wait_until("the watcher to see the database again", DEADLINE, || {
        run.stderr_so_far().contains("reachable again")
    });
    let log = run.stderr_so_far();
    assert_eq!(log.matches("retrying").count(), 1, "an outage is logged once:\n{log}");

    // Frozen again: SIGTERM ends the watcher at once, not when the server thaws.
    freeze(server.child.id());
    std::fs::write(header(&root), "<p>saved while frozen again</p>").unwrap();
    wait_until("the second outage to be logged", DEADLINE, || {
        run.stderr_so_far().matches("retrying").count() == 2
    });
    signal(run.id(), "TERM");
    let out = run.wait(Duration::from_secs(5));
    assert_eq!(out.code(), Some(0), "{out}");
    signal(server.child.id(), "CONT");
}

#[test]
fn a_query_that_timed_out_never_hands_its_late_answer_to_the_next_query() {
    let server = PrivateServer::start("race_late_answer");
    let db = server.db();
    let fingerprint = db.fingerprint().unwrap();

    freeze(server.child.id());
    assert!(db.fingerprint().is_err(), "a frozen server answered");
    signal(server.child.id(), "CONT");
    // Thawed, the server sends the timed-out query's answer after all: once it has, the next
    // query on that connection would read it as its own.
    wait_until("the late answer to be sent", DEADLINE, || {
        let busy = "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                    WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID()";
        server.query_one(busy).as_deref() == Some(b"0")
    });
    assert_eq!(db.store_four_byte_utf8(&[("templates", "template")]).unwrap(), [true]);
    assert_eq!(db.fingerprint().unwrap(), fingerprint);
}

#[test]
fn a_backlog_of_thousands_of_events_does_not_delay_sigterm() {
    let (db, _dir, root) = exported("race_backlog_sigterm");
    let run = start_watch(sync_cmd(&db, &root), &["--debounce", "0", "--no-pull"]);
    let files = template_files(&root);
    for round in 0..4 {
        for path in &files {
            std::fs::write(path, format!("<p>backlog {round}</p>")).unwrap();
        }
    }
    signal(run.id(), "TERM");
    let out = run.wait(Duration::from_secs(10));
    assert_eq!(out.code(), Some(0), "{out}");
}

// Case 6 ------------------------------------------------------------------------------------

#[test]
fn a_content_change_without_a_new_stamp_reaches_disk_while_watching() {
    let (db, _dir, root) = exported("race_search_and_replace");
    // The watcher's debug log says when a pull starts comparing every file.
    let cmd = sync_cmd(&db, &root).env("RUST_LOG", "mybb_sync::sync::watcher=debug");
    let run = start_watch(cmd, &["--debounce", "30", "--pull-interval", "0.1"]);
    // The watcher's first pull compares every file whatever it fingerprinted. Were it to
    // straddle the insert below (fingerprint before, rows after), it would keep a fingerprint
    // without the insert, and the next pull would compare everything again and see what
    // follows without a content-aware check. So the insert waits for that pull to finish: it
    // has started once it logged, and has finished once the sync lock, which a pull holds
    // shared, can be taken exclusively.
    wait_until("the watcher's first pull", DEADLINE, || {
        run.stderr_so_far().contains("the database changed")
    });
    let lock = mybb_sync::sync::own_dir::lock(&root).unwrap();
    drop(lock.exclusive().unwrap());
    // A first pull of a row (a new one, with a stamp as old as the fixture's, so that no stamp
    // is recent), whose fingerprint, taken after the insert, is the one compared with next.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>admin footer</p>', 1, '1837', '', 1000)",
    );
    wait_until("the first pull", DEADLINE, || {
        std::fs::read(footer(&root)).is_ok_and(|b| b == b"<p>admin footer</p>")
    });
    // As the Admin CP's Search & Replace and find_replace_templatesets() do: dateline untouched.
    db.exec(
        "UPDATE mybb_templates SET template = REPLACE(template, '<head>', '<head><!--plugin-->') \
         WHERE sid = -2 AND title = 'headerinclude' OR (sid = -2 AND title = 'index')",
    );
    db.exec(
        "UPDATE mybb_themestylesheets SET stylesheet = CONCAT(stylesheet, '/* plugin */') \
         WHERE tid = 1 AND name = 'global.css'",
    );
    let index = root.join(SET).join("Index Page Templates/index.html");
    wait_until("the replaced template to reach disk", DEADLINE, || {
        std::fs::read(&index).ok() == db.template(-2, "index")
    });
    let css = root.join("styles/Default/global.css");
    wait_until("the replaced stylesheet to reach disk", DEADLINE, || {
        std::fs::read(&css).is_ok_and(|b| b.ends_with(b"/* plugin */"))
    });
    run.interrupt();
    run.wait(DEADLINE).expect_success();
}

// Case 7 ------------------------------------------------------------------------------------

/// Returns the voluntary context switches of this process's threads named `names`.
fn context_switches(names: &[&str]) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !names.contains(&comm.trim()) {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some(n) = line.strip_prefix("voluntary_ctxt_switches:") {
                total += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    total
}

#[test]
fn a_paused_worker_sleeps_on_the_gate_and_applies_queued_events_once_on_resume() {
    let (db, _dir, root) = exported("race_gate_blocks");
    let config = config(&db, &root);
    let gate = Arc::new(Gate::new());
    let armed = watcher::arm(&config).unwrap();
    let stopper = armed.stopper();
    let options = WatchOptions {
        debounce: Duration::from_millis(20),
        reconcile_at_start: false,
        exit_after: None,
        pull_interval: None,
        live: None,
        max_deletions: 5,
        on_saved: None,
    };
    let worker = {
        let (config, gate) = (config.clone(), Arc::clone(&gate));
        std::thread::Builder::new()
            .name("race-gate-run".to_owned())
            .spawn(move || armed.run(&config, &options, gate))
            .unwrap()
    };
    gate.pause();
    for n in 0..3 {
        std::fs::write(header(&root), format!("<p>while paused {n}</p>")).unwrap();
    }
    // The worker (whichever thread runs it) must fall silent: a polling loop never does.
    let threads = ["race-gate-run", "mybb-sync-watch"];
    let mut last = (context_switches(&threads), Instant::now());
    wait_until("the paused worker to stop waking up", DEADLINE, || {
        let now = context_switches(&threads);
        if now != last.0 {
            last = (now, Instant::now());
        }
        last.1.elapsed() >= Duration::from_millis(500)
    });
    assert_eq!(db.template(1, "header"), None);
    gate.resume();
    wait_until("the queued save to be applied", DEADLINE, || {
        db.template(1, "header").as_deref() == Some(b"<p>while paused 2</p>")
    });
    stopper.stop();
    let stats = worker.join().unwrap().unwrap();
    assert_eq!((stats.batches, stats.written), (1, 1), "applied once");
}

#[test]
fn stop_wakes_a_worker_blocked_on_a_paused_gate() {
    let (db, _dir, root) = exported("race_gate_stop");
    let config = config(&db, &root);
    let gate = Arc::new(Gate::new());
    let armed = watcher::arm(&config).unwrap();
    let stopper = armed.stopper();
    let options = WatchOptions {
        debounce: Duration::from_millis(10),
        reconcile_at_start: false,
        exit_after: None,
        pull_interval: Some(Duration::from_millis(10)),
        live: None,
        max_deletions: 5,
        on_saved: None,
    };
    let _paused = gate.pause_guard();
    let worker = {
        let (config, gate) = (config.clone(), Arc::clone(&gate));
        std::thread::spawn(move || armed.run(&config, &options, gate))
    };
    std::fs::write(header(&root), "<p>never applied</p>").unwrap();
    stopper.stop();
    let stats = worker.join().unwrap().unwrap();
    assert_eq!(stats.written, 0);
    assert_eq!(db.template(1, "header"), None);
}

#[test]
fn a_connection_the_server_killed_is_made_anew_for_the_next_query() {
    let server = PrivateServer::start("race_killed_connection");
    let db = server.db();
    let fingerprint = db.fingerprint().unwrap();
    let kill = |state: &str| {
        let ids = format!(
            "SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND USER = 'root' AND STATE LIKE '{state}'"
        );
        let ids = server.query_one(&ids).expect("the connection to kill is listed");
        for id in String::from_utf8(ids).unwrap().split(',') {
            server.query_one(&format!("KILL CONNECTION {id}"));
        }
    };

    // Idle: an admin's KILL closes the connection; the query that meets it fails, the next
    // must not.
    kill("%");
    let _ = db.fingerprint();
    assert_eq!(db.fingerprint().unwrap(), fingerprint);

    // Mid-query: MariaDB hangs up on the query waiting for the table (MySQL may first send an
    // error); the query fails, the next is answered on a new connection.
    let mut locker = server.conn();
    use mysql::prelude::Queryable;
    locker.query_drop("LOCK TABLES mybb_templates WRITE").unwrap();
    let waiting = "Waiting for table%";
    std::thread::scope(|scope| {
        let blocked = scope.spawn(|| db.fingerprint());
        let count = format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE '{waiting}'"
        );
        wait_until("the fingerprint to wait for the table", DEADLINE, || {
            server.query_one(&count).as_deref() == Some(b"1")
        });
        kill(waiting);
        assert!(blocked.join().unwrap().is_err(), "a killed query answered");
    });
    locker.query_drop("UNLOCK TABLES").unwrap();
    assert_eq!(db.fingerprint().unwrap(), fingerprint);
}
