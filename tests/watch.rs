//! `watch`: saved files reach the database whole, and exports never race the watcher.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mybb_sync::cli::ExportArgs;
use mybb_sync::commands::export::{self, Mode};
use mybb_sync::config::Config;
use mybb_sync::disk::gate::Gate;
use mybb_sync::mybb::db::Db;
use mybb_sync::sync::watcher::{self as watch, WatchOptions};

use crate::export::sync_cmd;
use crate::util::library_config as config;
use crate::util::stop_watching as stop;
use crate::util::{self, Running, TestDb, TestDir, start_watching, wait_until};

const SET: &str = "template_sets/Default Templates";
const DEADLINE: Duration = Duration::from_secs(30);

fn header(root: &Path) -> PathBuf {
    root.join(SET).join("Header Templates/header.html")
}

/// Exports a fresh fixture database and starts `watch` on it; returns once it is watching.
fn watching(name: &str, extra: &[&str]) -> (TestDb, TestDir, PathBuf, Running) {
    let db = TestDb::new(name);
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let run = start(&db, &root, extra);
    (db, dir, root, run)
}

fn start(db: &TestDb, root: &Path, extra: &[&str]) -> Running {
    let args: Vec<&str> = ["--debounce", "30"].into_iter().chain(extra.iter().copied()).collect();
    start_watching(sync_cmd(db, root), &args)
}

fn wait_for_template(db: &TestDb, title: &str, want: &[u8]) {
    wait_until(
        &format!("template {title} to be {:?}", String::from_utf8_lossy(want)),
        DEADLINE,
        || db.template(1, title).as_deref() == Some(want),
    );
}

/// A templates row: tid, sid, title, template, dateline.
type TemplateRow = (u32, i32, Vec<u8>, Vec<u8>, u64);
/// A stylesheets row: sid, tid, stylesheet, lastmodified.
type StylesheetRow = (u32, u32, Vec<u8>, u64);

/// Every row of both tables, for before/after comparisons.
fn snapshot(db: &TestDb) -> (Vec<TemplateRow>, Vec<StylesheetRow>) {
    (
        db.query_rows(
            "SELECT tid, sid, title, template, dateline FROM mybb_templates ORDER BY tid",
        ),
        db.query_rows(
            "SELECT sid, tid, stylesheet, lastmodified FROM mybb_themestylesheets ORDER BY sid",
        ),
    )
}

#[test]
fn editor_saves_of_every_kind_end_with_the_whole_final_content() {
    // -v: the watcher logs each event it takes (`changed: PATH`), which the two-chunk save
    // below waits for.
    let (db, dir, root, run) = watching("watch_editor_saves", &["--debounce", "1200", "-v"]);
    let path = header(&root);

    // In place.
    std::fs::write(&path, "in place").unwrap();
    wait_for_template(&db, "header", b"in place");

    // Temp file + rename, as most editors and our own writer do.
    let temp = path.with_file_name(".header.html.tmp");
    std::fs::write(&temp, "renamed into place").unwrap();
    std::fs::rename(&temp, &path).unwrap();
    wait_for_template(&db, "header", b"renamed into place");

    // vim: rename to header.html~, write a new header.html, remove the backup. The file is
    // briefly missing.
    let backup = path.with_file_name("header.html~");
    std::fs::rename(&path, &backup).unwrap();
    std::fs::write(&path, "vim style").unwrap();
    std::fs::remove_file(&backup).unwrap();
    wait_for_template(&db, "header", b"vim style");

    // One save written in two chunks 30 ms apart: only the whole content may land. A thread
    // records every value the row takes meanwhile, so a watcher that read the file between the
    // chunks (a broken debounce or stability check) fails here, not just in its final state.
    let want: &[u8] = b"first half, second half";
    let seen = std::thread::scope(|scope| {
        let observer = scope.spawn(|| {
            let deadline = std::time::Instant::now() + DEADLINE;
            let mut seen = std::collections::BTreeSet::new();
            while std::time::Instant::now() < deadline {
                let value = db.template(1, "header").unwrap_or_default();
                let whole = value == want;
                seen.insert(value);
                if whole {
                    break;
                }
            }
            seen
        });
        {
            // Two opens, as a shell's `>` then `>>` or a slow tool: each chunk is closed, so
            // only the debounce keeps the first one from looking like a whole save.
            use std::io::Write;
            let events_seen = || {
                let log = run.stderr_so_far();
                log.lines()
                    .filter(|l| l.contains("changed: ") && l.ends_with("header.html"))
                    .count()
            };
            let before = events_seen();
            std::fs::write(&path, b"first half, ").unwrap();
            // The slow writer being simulated: the second chunk comes once the watcher has
            // taken the first one's event, so it holds a closed, partial file and its debounce
            // window is running; no sooner (else the scenario did not happen), and not after a
            // blind pause that a loaded machine can stretch past the 1200 ms window.
            wait_until("the watcher to see the first chunk", DEADLINE, || events_seen() > before);
            let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all(b"second half").unwrap();
        }
        observer.join().unwrap()
    });
    let allowed: std::collections::BTreeSet<Vec<u8>> =
        [b"vim style".to_vec(), want.to_vec()].into();
    let shown: Vec<_> = seen.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    assert!(seen.is_subset(&allowed), "the row took a partial value: {shown:?}");
    assert!(seen.contains(want), "the whole content never landed: {shown:?}");

    let log = stop(run);
    // Nothing but whole contents ever reached the row.
    assert!(!log.contains("skipping empty file"), "{log}");
    assert_eq!(db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1"), 1);
    drop(dir);
}

#[test]
fn a_burst_of_every_template_rewritten_at_once_is_applied_once_each() {
    let (db, _dir, root, run) = watching("watch_burst", &[]);
    let mut files = Vec::new();
    for group in std::fs::read_dir(root.join(SET)).unwrap() {
        for file in std::fs::read_dir(group.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    assert_eq!(files.len(), 974);
    // Like a `git checkout`: every file replaced as fast as possible.
    for (n, path) in files.iter().enumerate() {
        std::fs::write(path, format!("<!-- burst {n} -->")).unwrap();
    }
    wait_until("all 974 templates to reach the database", DEADLINE, || {
        db.query_one::<u64>(
            "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND template LIKE '<!-- burst %'",
        ) == 974
    });
    let log = stop(run);
    assert_eq!(
        db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1"),
        974,
        "one row per title"
    );
    assert_eq!(log.matches("copied into the set").count(), 974, "each applied once");
    for (n, path) in files.iter().enumerate() {
        let title = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(db.template(1, title).unwrap(), format!("<!-- burst {n} -->").as_bytes());
    }
}

#[test]
fn exports_in_another_process_while_watching_change_no_row() {
    let (db, _dir, root, run) = watching("watch_export_other_process", &[]);
    let before = snapshot(&db);
    for _ in 0..3 {
        // Remove the files, so each export writes every one of them while the watcher looks.
        std::fs::remove_dir_all(root.join(SET)).unwrap();
        std::fs::remove_dir_all(root.join("styles/Default")).unwrap();
        sync_cmd(&db, &root)
            .args(["export", "--set", "Default Templates", "--theme", "Default"])
            .expect_success();
    }
    // Let the watcher see the last export's echoes, then prove it is still live.
    std::fs::write(root.join(SET).join("Footer Templates/footer.html"), "sentinel").unwrap();
    wait_for_template(&db, "footer", b"sentinel");
    let log = stop(run);
    let (templates, sheets) = snapshot(&db);
    let (mut want_templates, want_sheets) = before;
    assert_eq!(sheets, want_sheets);
    // The sentinel is the only new row; every other row is byte-identical, none empty.
    let sentinel = templates.iter().position(|r| r.2 == b"footer" && r.1 == 1).unwrap();
    let mut templates = templates;
    templates.remove(sentinel);
    want_templates.sort();
    assert_eq!(templates, want_templates);
    assert!(templates.iter().all(|r| !r.3.is_empty()));
    assert!(!log.contains("skipping empty file"), "{log}");
}

/// Starts the library's watcher on a thread, behind `gate`, with a short debounce and no pull.
fn spawn_watcher(
    config: &Config,
    gate: &Arc<Gate>,
    reconcile_at_start: bool,
) -> (watch::Stopper, std::thread::JoinHandle<mybb_sync::error::Result<watch::WatchStats>>) {
    let armed = watch::arm(config).unwrap();
    let stopper = armed.stopper();
    let options = WatchOptions {
        debounce: Duration::from_millis(20),
        reconcile_at_start,
        exit_after: None,
        pull_interval: None,
        live: None,
        max_deletions: 5,
        on_saved: None,
    };
    let (config, gate) = (config.clone(), Arc::clone(gate));
    (stopper, std::thread::spawn(move || armed.run(&config, &options, gate)))
}

#[test]
fn exports_in_the_same_process_while_watching_change_no_row() {
    let db = TestDb::new("watch_export_same_process");
    let dir = TestDir::new("watch_export_same_process");
    let root = dir.join("sync");
    let config = config(&db, &root);
    let conn = Db::connect(&config.db, &config.prefix).unwrap();
    export::export(&conn, &config, &ExportArgs::default(), Mode::default()).unwrap();
    let before = snapshot(&db);

    let gate = Arc::new(Gate::new());
    let (stopper, worker) = spawn_watcher(&config, &gate, true);
    for _ in 0..3 {
        std::fs::remove_dir_all(root.join(SET)).unwrap();
        let _paused = gate.pause_guard();
        let options = ExportArgs {
            sets: vec!["Default Templates".into()],
            themes: vec!["Default".into()],
            ..Default::default()
        };
        export::export(&conn, &config, &options, Mode::default()).unwrap();
    }
    assert!(!gate.is_paused());
    std::fs::write(root.join(SET).join("Footer Templates/footer.html"), "sentinel").unwrap();
    wait_for_template(&db, "footer", b"sentinel");
    stopper.stop();
    let stats = worker.join().unwrap().unwrap();
    assert_eq!((stats.written, stats.refused), (1, 0));
    let (mut templates, sheets) = snapshot(&db);
    templates.retain(|r| !(r.2 == b"footer" && r.1 == 1));
    assert_eq!((templates, sheets), before);
}

#[test]
fn events_queue_while_paused_and_are_applied_on_resume_and_a_failed_export_resumes() {
    let db = TestDb::new("watch_pause_queue");
    let dir = TestDir::new("watch_pause_queue");
    let root = dir.join("sync");
    let config = config(&db, &root);
    let conn = Db::connect(&config.db, &config.prefix).unwrap();
    export::export(&conn, &config, &ExportArgs::default(), Mode::default()).unwrap();

    let gate = Arc::new(Gate::new());
    let (stopper, worker) = spawn_watcher(&config, &gate, false);
    gate.pause();
    gate.pause();
    std::fs::write(header(&root), "written while paused").unwrap();
    // The worker takes the save, waits out its debounce, and is held at the shut gate: it
    // applies nothing while it waits there.
    wait_until("the worker to be held at the gate", DEADLINE, || gate.waiting() == 1);
    assert!(db.template(1, "header").is_none());
    gate.resume();
    wait_for_template(&db, "header", b"written while paused");

    // An export that fails still reopens the gate.
    let failed = {
        let _paused = gate.pause_guard();
        export::export(
            &conn,
            &config,
            &ExportArgs { sets: vec!["No Such Set".into()], ..Default::default() },
            Mode::default(),
        )
    };
    assert!(failed.is_err());
    assert!(!gate.is_paused());
    std::fs::write(header(&root), "after the failed export").unwrap();
    wait_for_template(&db, "header", b"after the failed export");

    // An edit made during an export (the watch --export-first case) is kept and applied.
    {
        let _paused = gate.pause_guard();
        std::fs::write(header(&root), "edited during the export").unwrap();
        let mode = Mode { keep_edits_during_export: true, ..Default::default() };
        export::export(&conn, &config, &ExportArgs::default(), mode).unwrap();
        assert_eq!(std::fs::read(header(&root)).unwrap(), b"edited during the export");
    }
    wait_for_template(&db, "header", b"edited during the export");
    stopper.stop();
    worker.join().unwrap().unwrap();
}

#[test]
fn the_watcher_ignores_temp_swap_and_backup_files() {
    let (db, _dir, root, run) = watching("watch_ignores_temp_files", &[]);
    let group = root.join(SET).join("Header Templates");
    for name in [
        ".header.html.mybb-sync-1-1.tmp",
        "header.html~",
        ".header.html.swp",
        ".header.html.swx",
        "4913",
        "header.db.html",
    ] {
        std::fs::write(group.join(name), "").unwrap();
    }
    std::fs::write(root.join(SET).join("Footer Templates/footer.html"), "real edit").unwrap();
    wait_for_template(&db, "footer", b"real edit");
    let log = stop(run);
    assert!(db.template(1, "header").is_none());
    assert!(!log.contains("skipping empty file"), "{log}");
}

#[test]
fn edits_made_while_no_watcher_ran_are_applied_at_start_up() {
    let db = TestDb::new("watch_start_up_reconcile");
    let dir = TestDir::new("watch_start_up_reconcile");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    std::fs::write(header(&root), "edited offline").unwrap();
    let run = start(&db, &root, &[]);
    wait_for_template(&db, "header", b"edited offline");
    stop(run);
}

#[test]
fn a_directory_moved_in_is_reconciled() {
    let (db, dir, root, run) = watching("watch_directory_moved_in", &[]);
    let group = root.join(SET).join("Header Templates");
    let outside = dir.join("Header Templates");
    std::fs::rename(&group, &outside).unwrap();
    std::fs::write(outside.join("header.html"), "edited outside").unwrap();
    std::fs::rename(&outside, &group).unwrap();
    wait_for_template(&db, "header", b"edited outside");
    stop(run);
}

#[test]
fn a_killed_database_connection_is_reopened_and_the_pending_edit_applied() {
    if util::mysql_only(
        "the connection killed is MariaDB's (a SQLite board has none; tests/postgres.rs ends \
         PostgreSQL's)",
    ) {
        return;
    }
    let (db, _dir, root, run) = watching("watch_connection_killed", &[]);
    let ids: Vec<u64> = db.query_rows(&format!(
        "SELECT id FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
        db.name()
    ));
    assert!(!ids.is_empty());
    for id in ids {
        db.exec(&format!("KILL {id}"));
    }
    std::fs::write(header(&root), "after the kill").unwrap();
    wait_for_template(&db, "header", b"after the kill");
    stop(run);
}

#[test]
fn export_first_exports_then_watches_and_exit_after_stops_it() {
    let db = TestDb::new("watch_export_first");
    let dir = TestDir::new("watch_export_first");
    let root = dir.join("sync");
    let run = sync_cmd(&db, &root)
        .env("MYBB_SYNC_TEST_HOOKS", "exit-after=1")
        .args(["watch", "--export-first", "--debounce", "30"])
        .spawn();
    wait_until("the export to finish and the gate to reopen", DEADLINE, || {
        run.stderr_so_far().contains("watcher resumed")
    });
    assert_eq!(std::fs::read(header(&root)).unwrap(), db.template(-2, "header").unwrap());
    std::fs::write(header(&root), "one edit").unwrap();
    let out = run.wait(DEADLINE);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_eq!(db.template(1, "header").unwrap(), b"one edit");
    // The pause is said by "watching ...; changes wait until the export ends", never as a
    // "watcher paused" before "watching" (issue 27).
    assert!(!out.stderr.contains("watcher paused"), "{}", out.stderr);
    assert!(out.stderr.contains("watcher resumed"), "{}", out.stderr);
}

#[test]
fn a_file_deleted_before_it_is_read_is_skipped_and_the_row_kept() {
    let (db, _dir, root, run) = watching("watch_file_deleted", &[]);
    let path = header(&root);
    std::fs::write(&path, "short-lived").unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(root.join(SET).join("Footer Templates/footer.html"), "sentinel").unwrap();
    wait_for_template(&db, "footer", b"sentinel");
    // Deletions wait until files stop vanishing, then the master's file comes back (issue 25).
    wait_until("the deleted file to come back", DEADLINE, || path.exists());
    let log = stop(run);
    assert!(db.template(1, "header").is_none());
    // A master template has nothing of the set's own to delete: the file comes back (issue 25).
    assert!(
        log.contains("header.html: deleted on disk, but inherited, nothing to delete"),
        "{log}"
    );
    assert!(path.exists());
    assert_eq!(
        db.query_one::<u64>("SELECT COUNT(*) FROM mybb_templates WHERE title = 'header'"),
        1
    );
}

#[test]
fn export_only_ever_renames_whole_files_into_place() {
    use notify::event::{CreateKind, ModifyKind};
    use notify::{EventKind, RecursiveMode, Watcher};
    let db = TestDb::new("watch_export_is_atomic");
    let dir = TestDir::new("watch_export_is_atomic");
    let root = dir.join("sync");
    // An old tree to overwrite, plus directories to write into.
    sync_cmd(&db, &root).arg("export").expect_success();
    db.exec("UPDATE mybb_templates SET template = CONCAT(template, '<!-- new -->') WHERE sid = -2");
    std::fs::remove_dir_all(root.join(SET).join("Calendar Templates")).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })
    .unwrap();
    watcher.watch(&root, RecursiveMode::Recursive).unwrap();
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    let sentinel = root.join("sentinel");
    std::fs::write(&sentinel, "").unwrap();
    let mut renamed = 0;
    let mut seen_sentinel = false;
    while !seen_sentinel {
        let event = rx.recv_timeout(DEADLINE).expect("events").unwrap();
        for path in &event.paths {
            if path == &sentinel {
                seen_sentinel = true;
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            if name.starts_with('.') || path.is_dir() {
                continue; // temp files and directories
            }
            match event.kind {
                EventKind::Create(CreateKind::File) | EventKind::Modify(ModifyKind::Data(_)) => {
                    panic!("{} was written in place: {event:?}", path.display())
                }
                EventKind::Modify(ModifyKind::Name(_)) => renamed += 1,
                _ => {}
            }
        }
    }
    assert!(renamed >= 974, "only {renamed} files renamed into place");
}

/// Returns once the watcher's first pull (which compares every file) is over: it has started
/// once it logged (the watcher must run with its debug log), and is over once the sync lock,
/// which a pull holds shared, can be taken exclusively.
fn first_pull_done(run: &Running, root: &Path) {
    wait_until("the watcher's first pull", DEADLINE, || {
        run.stderr_so_far().contains("the database changed")
    });
    let lock = mybb_sync::sync::own_dir::lock(root).unwrap();
    drop(lock.exclusive().unwrap());
}

/// Exports a fresh fixture database and starts `watch` on it, pulling every 0.1 s, with its
/// debug log and test hook `hook` (one of the `hold-...` hooks) set to a folder of its own;
/// returns once the watcher's first pull is over, with that folder.
fn held_watching(name: &str, hook: &str) -> (TestDb, TestDir, PathBuf, PathBuf, Running) {
    held_watching_with(name, hook, |_| {})
}

/// [`held_watching`], the fixture database first changed by `setup`.
fn held_watching_with(
    name: &str,
    hook: &str,
    setup: impl FnOnce(&TestDb),
) -> (TestDb, TestDir, PathBuf, PathBuf, Running) {
    let db = TestDb::new(name);
    setup(&db);
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let hold = dir.join("hold");
    std::fs::create_dir(&hold).unwrap();
    let cmd = sync_cmd(&db, &root)
        .env("MYBB_SYNC_TEST_HOOKS", format!("{hook}={}", hold.display()))
        .env("RUST_LOG", "mybb_sync::sync::watcher=debug");
    let run = start_watching(cmd, &["--debounce", "30", "--pull-interval", "0.1"]);
    first_pull_done(&run, &root);
    (db, dir, root, hold, run)
}

/// An Admin CP edit that lands while the watcher writes a batch of saves is brought to disk
/// by the next pull, in the set the batch wrote to and in a theme alike: the watcher's own
/// writes never make it take the database's later state for one it has seen. The watcher is
/// held right after the batch's writes (a test hook), and the edits are made then.
#[test]
fn an_admin_cp_edit_made_while_a_batch_is_written_reaches_disk() {
    let (db, _dir, root, hold, run) = held_watching("watch_edit_during_batch", "hold-after-batch");
    std::fs::write(header(&root), "<p>saved</p>").unwrap();
    wait_until("the batch to be held after its writes", DEADLINE, || hold.join("held").exists());
    assert_eq!(db.template(1, "header").unwrap(), b"<p>saved</p>");
    // The Admin CP, meanwhile: a template of the same set, and a stylesheet.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>admin footer</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    db.exec(
        "UPDATE mybb_themestylesheets SET stylesheet = CONCAT(stylesheet, '/* admin */') \
         WHERE tid = 1 AND name = 'global.css'",
    );
    std::fs::write(hold.join("go"), b"").unwrap();
    let footer = root.join(SET).join("Footer Templates/footer.html");
    wait_until("the Admin CP's footer to reach disk", DEADLINE, || {
        std::fs::read(&footer).is_ok_and(|b| b == b"<p>admin footer</p>")
    });
    let css = root.join("styles/Default/global.css");
    wait_until("the Admin CP's stylesheet to reach disk", DEADLINE, || {
        std::fs::read(&css).is_ok_and(|b| b.ends_with(b"/* admin */"))
    });
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>saved</p>");
    assert_eq!(db.template(1, "header").unwrap(), b"<p>saved</p>");
    stop(run);
}

/// A global template `myglobal` (no master) and a child theme "Child" of Default (tid 3).
pub fn with_heirs(db: &TestDb) {
    db.exec(
        "INSERT INTO mybb_themes (tid, name, pid, def, properties, stylesheets, allowedgroups) \
         VALUES (3, 'Child', 2, 0, 'a:1:{s:11:\"templateset\";i:1;}', 'a:0:{}', 'all')",
    );
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('myglobal', '<p>global</p>', -1, '1837', '', UNIX_TIMESTAMP())",
    );
}

const GLOBAL_FILE: &str = "template_sets/Global Templates/Ungrouped Templates/myglobal.html";
const SET_GLOBAL_FILE: &str = "template_sets/Default Templates/Ungrouped Templates/myglobal.html";

/// How many of the pulls of a watcher's log `log` compared `sets` set(s) and `themes` theme(s).
fn pulls_comparing(log: &str, sets: usize, themes: usize) -> usize {
    let line = format!("comparing the files of {sets} set(s) and {themes} theme(s) with it\n");
    log.matches(&line).count()
}

/// A saved Global Templates file makes the next pull compare the global set alone (the batch
/// brought every set's file of the title to disk itself), not every set; an Admin CP edit of
/// another global template made while that batch was written is still brought to disk, in
/// the global set and in every set that inherits it, the pull then comparing every set.
#[test]
fn a_saved_global_template_makes_the_next_pull_compare_the_global_set_alone() {
    let (db, _dir, root, hold, run) =
        held_watching_with("watch_global_narrow", "hold-after-batch", with_heirs);
    let (global, in_set) = (root.join(GLOBAL_FILE), root.join(SET_GLOBAL_FILE));
    std::fs::write(&global, "<p>saved global</p>").unwrap();
    wait_until("the batch to be held after its writes", DEADLINE, || hold.join("held").exists());
    std::fs::write(hold.join("go"), b"").unwrap();
    wait_until("the pull after the batch", DEADLINE, || {
        pulls_comparing(&run.stderr_so_far(), 0, 0) == 1
    });
    let log = run.stderr_so_far();
    assert!(log.contains("the global templates changed; comparing the files of 1 set(s)"), "{log}");
    assert!(!log.contains("comparing every set"), "{log}");
    assert_eq!(std::fs::read(&in_set).unwrap(), b"<p>saved global</p>");
    assert_eq!(db.template(-1, "myglobal").unwrap(), b"<p>saved global</p>");

    // Saved again; the Admin CP, while the batch is written, edits another global template.
    std::fs::remove_file(hold.join("held")).unwrap();
    std::fs::remove_file(hold.join("go")).unwrap();
    std::fs::write(&global, "<p>saved again</p>").unwrap();
    wait_until("the batch to be held after its writes", DEADLINE, || hold.join("held").exists());
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>admin global footer</p>', -1, '1837', '', UNIX_TIMESTAMP())",
    );
    std::fs::write(hold.join("go"), b"").unwrap();
    let footer = root.join(SET).join("Footer Templates/footer.html");
    wait_until("the Admin CP's global footer to reach the set's file", DEADLINE, || {
        std::fs::read(&footer).is_ok_and(|b| b == b"<p>admin global footer</p>")
    });
    let log = stop(run);
    assert!(log.contains("a global template differs from its record; comparing every set"));
    let global_footer = root.join("template_sets/Global Templates/Footer Templates/footer.html");
    assert_eq!(std::fs::read(global_footer).unwrap(), b"<p>admin global footer</p>", "{log}");
    assert_eq!(std::fs::read(&in_set).unwrap(), b"<p>saved again</p>", "{log}");
}

/// An Admin CP edit of a theme's Edit Theme fields makes the pull compare that theme and the
/// themes below it, not every set and theme; the edit reaches its `theme.json`.
#[test]
fn a_themes_changed_fields_make_the_pull_compare_it_and_the_themes_below_it() {
    let (db, _dir, root, _hold, run) =
        held_watching_with("watch_theme_fields_narrow", "hold-nothing", with_heirs);
    let theme_json = root.join("styles/Default/theme.json");
    let before = std::fs::read_to_string(&theme_json).unwrap();
    db.exec("UPDATE mybb_themes SET allowedgroups = '2,4' WHERE tid = 2");
    wait_until("the Admin CP's groups to reach theme.json", DEADLINE, || {
        std::fs::read_to_string(&theme_json).is_ok_and(|t| t != before)
    });
    let log = stop(run);
    assert_eq!(pulls_comparing(&log, 0, 2), 1, "{log}");
    assert_eq!(pulls_comparing(&log, 1, 2), 0, "{log}");
}

/// The first line of the sync state of `root`.
fn state_header(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join(".mybb-sync/state")).unwrap();
    text.lines().next().unwrap_or_default().to_owned()
}

/// A sync state that could not be read is rebuilt partial (untrusted); the watcher's start-up
/// reconcile, which compares every file, completes it when it settles all of them, and when it
/// cannot (an item in conflict) says so, and completes it once a save has settled that item.
#[test]
fn the_watcher_completes_a_rebuilt_state_once_every_file_is_settled() {
    let name = "watch_completes_rebuilt_state";
    let db = TestDb::new(name);
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let state = root.join(".mybb-sync/state");
    let complete = "# mybb-sync state v3: ";
    assert!(state_header(&root).starts_with(complete));

    // Every file as the database has it: the start-up reconcile completes the state.
    std::fs::write(&state, "# not a state this version reads\n").unwrap();
    let run = start(&db, &root, &["--no-pull"]);
    wait_until("the state to be complete", DEADLINE, || {
        run.stderr_so_far().contains("the sync state is complete again")
    });
    assert!(state_header(&root).starts_with(complete), "{}", state_header(&root));
    stop(run);

    // An Admin CP edit meanwhile: without a record, the difference is a conflict, and the
    // state stays partial until it is settled.
    std::fs::write(&state, "# not a state this version reads\n").unwrap();
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>admin header</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    let run = start(&db, &root, &["--no-pull"]);
    wait_until("the watcher to say the state is partial", DEADLINE, || {
        run.stderr_so_far().contains("the sync state is partial")
    });
    assert!(state_header(&root).contains("partial"), "{}", state_header(&root));
    assert!(!run.stderr_so_far().contains("complete again"), "{}", run.stderr_so_far());
    // The user takes the database's side: the item is settled, and the state completed.
    let copy = std::fs::read(header(&root).with_extension("db.html")).unwrap();
    assert_eq!(copy, b"<p>admin header</p>");
    std::fs::write(header(&root), &copy).unwrap();
    wait_until("the state to be complete", DEADLINE, || {
        run.stderr_so_far().contains("the sync state is complete again")
    });
    assert!(state_header(&root).starts_with(complete), "{}", state_header(&root));

    // Made unreadable while the watcher runs (an older mybb-sync's save): the next batch finds
    // it partial, and the watcher compares every file again, which completes it.
    std::fs::write(&state, "# not a state this version reads\n").unwrap();
    std::fs::write(header(&root), &copy).unwrap();
    wait_until("the state to be complete once more", DEADLINE, || {
        run.stderr_so_far().matches("the sync state is complete again").count() == 2
    });
    assert!(state_header(&root).starts_with(complete), "{}", state_header(&root));
    let log = stop(run);
    assert_eq!(db.template(1, "header").unwrap(), b"<p>admin header</p>", "{log}");
}

/// A sync state replaced while the watcher's reconcile compares every file (lost, or made
/// unreadable by another program: a save sets it aside) is not completed by that reconcile:
/// it lacks the records of the files the reconcile settled, and completed it would take a
/// file whose row the Admin CP deletes for a new one. The watcher compares every file again,
/// which completes it with every record.
#[test]
fn a_state_replaced_while_the_reconcile_compares_is_not_completed_without_its_records() {
    let name = "watch_state_replaced_in_reconcile";
    let db = TestDb::new(name);
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let state = root.join(".mybb-sync/state");
    let records = std::fs::read_to_string(&state).unwrap().lines().count();
    std::fs::write(&state, "# not a state this version reads\n").unwrap();
    let hold = dir.join("hold");
    std::fs::create_dir(&hold).unwrap();
    let cmd = sync_cmd(&db, &root)
        .env("MYBB_SYNC_TEST_HOOKS", format!("hold-before-completion={}", hold.display()));
    // Not `start_watching`: the reconcile is held before the watcher says it is watching.
    let run = cmd.args(["watch", "--no-pull", "--debounce", "30"]).spawn();
    wait_until("the reconcile to be held before it completes", DEADLINE, || {
        hold.join("held").exists()
    });
    std::fs::write(&state, "# not a state this version reads\n").unwrap();
    std::fs::remove_file(hold.join("held")).unwrap();
    std::fs::write(hold.join("go"), b"").unwrap();
    wait_until("the state to be complete", DEADLINE, || {
        run.stderr_so_far().contains("the sync state is complete again")
    });
    let log = stop(run);
    let text = std::fs::read_to_string(&state).unwrap();
    let first = text.lines().next().unwrap_or_default();
    assert!(first.starts_with("# mybb-sync state v") && !first.contains("partial"), "{log}");
    assert!(text.lines().count() >= records, "{} of {records} lines\n{log}", text.lines().count());
}

/// A file saved while a pull is about to bring the Admin CP's edit of it to disk is never
/// overwritten: the pull leaves it (it changed since it was planned), and the watcher's batch
/// finds both sides changed, a conflict that keeps each (the database's beside the file). The
/// pull is held after its plan and before its write (a test hook), and the save is made then.
#[test]
fn a_file_saved_while_a_pull_writes_it_is_kept_and_the_edit_is_a_conflict() {
    let (db, _dir, root, hold, run) =
        held_watching("watch_save_during_pull", "hold-before-pull-write");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>admin header</p>', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    wait_until("the pull to be held before its write", DEADLINE, || hold.join("held").exists());
    std::fs::write(header(&root), "<p>saved</p>").unwrap();
    std::fs::write(hold.join("go"), b"").unwrap();
    let copy = header(&root).with_extension("db.html");
    wait_until("the conflict's copy of the database's side", DEADLINE, || {
        std::fs::read(&copy).is_ok_and(|b| b == b"<p>admin header</p>")
    });
    let log = stop(run);
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>saved</p>", "{log}");
    assert_eq!(db.template(1, "header").unwrap(), b"<p>admin header</p>", "{log}");
}
