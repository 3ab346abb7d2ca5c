//! The sync state and three-way decisions: an Admin CP edit is never clobbered (issue 5).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::export::{exported, sync_cmd};
use crate::util::{TestDb, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);

fn header(root: &Path) -> PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.html")
}

/// Edits template `title` as the Admin CP would: a row in set 1 (copy-on-write from master)
/// with a fresh dateline.
fn admin_cp_edit(db: &TestDb, title: &str, content: &str) {
    let exists: u64 = db.query_one(&format!(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND title = '{title}'"
    ));
    if exists == 0 {
        db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) VALUES (?, ?, 1, '1837', '', UNIX_TIMESTAMP())",
            (title, content),
        );
    } else {
        db.exec_with(
            "UPDATE mybb_templates SET template = ?, dateline = UNIX_TIMESTAMP() WHERE sid = 1 AND title = ?",
            (content, title),
        );
    }
}

#[test]
fn an_admin_cp_edit_and_a_different_local_edit_are_a_conflict_that_touches_neither() {
    let (db, _dir, root) = exported("sync_conflict");
    admin_cp_edit(&db, "header", "<p>from the Admin CP</p>");
    std::fs::write(header(&root), "<p>from my editor</p>").unwrap();

    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(
        status.stdout,
        "conflict\ttemplate_sets/Default Templates/Header Templates/header.html\n"
    );

    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("conflict"), "{}", out.stderr);
    let copy = root.join("template_sets/Default Templates/Header Templates/header.db.html");
    let shown = copy.strip_prefix(&root).unwrap().display().to_string();
    assert!(out.stderr.contains(&shown), "{}", out.stderr);
    assert_eq!(std::fs::read(&copy).unwrap(), b"<p>from the Admin CP</p>");
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>from my editor</p>");
    assert_eq!(db.template(1, "header").unwrap(), b"<p>from the Admin CP</p>");

    // Export leaves both sides alone too.
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>from my editor</p>");

    // An explicit choice resolves it, and the copy goes away.
    sync_cmd(&db, &root).args(["import", "--prefer", "disk"]).expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>from my editor</p>");
    assert!(!copy.exists());
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn prefer_db_resolves_a_conflict_in_favour_of_the_database() {
    let (db, _dir, root) = exported("sync_prefer_db");
    admin_cp_edit(&db, "header", "admin");
    std::fs::write(header(&root), "mine").unwrap();
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"admin");
    assert_eq!(db.template(1, "header").unwrap(), b"admin");
}

#[test]
fn a_local_edit_only_reaches_the_database_and_a_second_run_does_nothing() {
    let (db, _dir, root) = exported("sync_local_edit");
    std::fs::write(header(&root), "local").unwrap();
    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(out.stdout, "to-db\ttemplate_sets/Default Templates/Header Templates/header.html\n");
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"local");
    let dateline: u64 =
        db.query_one("SELECT dateline FROM mybb_templates WHERE sid = 1 AND title = 'header'");
    let out = sync_cmd(&db, &root).arg("import").expect_success();
    assert!(out.stderr.contains("0 written"), "{}", out.stderr);
    let again: u64 =
        db.query_one("SELECT dateline FROM mybb_templates WHERE sid = 1 AND title = 'header'");
    assert_eq!(again, dateline);
    let out = sync_cmd(&db, &root).arg("status").expect_success();
    assert_eq!(out.stdout, "");
}

#[test]
fn an_admin_cp_edit_only_is_exported_and_a_local_edit_is_never_overwritten() {
    let (db, _dir, root) = exported("sync_export_direction");
    admin_cp_edit(&db, "header", "admin edit");
    std::fs::write(
        root.join("template_sets/Default Templates/Footer Templates/footer.html"),
        "local edit",
    )
    .unwrap();
    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(
        out.stdout
            .contains("to-disk\ttemplate_sets/Default Templates/Header Templates/header.html\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("to-db\ttemplate_sets/Default Templates/Footer Templates/footer.html\n"),
        "{}",
        out.stdout
    );

    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"admin edit");
    let footer = root.join("template_sets/Default Templates/Footer Templates/footer.html");
    assert_eq!(
        std::fs::read(&footer).unwrap(),
        b"local edit",
        "export never overwrites a local edit"
    );
    assert!(db.template(1, "footer").is_none());
}

#[test]
fn a_revert_in_the_admin_cp_brings_the_master_content_back_to_the_file() {
    let (db, _dir, root) = exported("sync_revert");
    std::fs::write(header(&root), "custom").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    db.exec("DELETE FROM mybb_templates WHERE sid = 1 AND title = 'header'");
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(header(&root)).unwrap(), db.template(-2, "header").unwrap());
}

#[test]
fn dry_runs_print_the_plan_and_change_nothing() {
    let (db, _dir, root) = exported("sync_dry_run");
    admin_cp_edit(&db, "header", "admin edit");
    let footer = root.join("template_sets/Default Templates/Footer Templates/footer.html");
    std::fs::write(&footer, "local edit").unwrap();
    let out = sync_cmd(&db, &root).args(["import", "--dry-run"]).expect_success();
    assert_eq!(
        out.stdout,
        "to-db     template_sets/Default Templates/Footer Templates/footer.html\n"
    );
    let out = sync_cmd(&db, &root).args(["export", "--dry-run"]).expect_success();
    assert_eq!(
        out.stdout,
        "to-disk   template_sets/Default Templates/Header Templates/header.html\n"
    );
    assert!(db.template(1, "footer").is_none());
    assert_ne!(std::fs::read(header(&root)).unwrap(), b"admin edit");
}

#[test]
fn a_lost_or_damaged_state_file_is_rebuilt_and_nothing_is_lost() {
    let (db, _dir, root) = exported("sync_state_damaged");
    let state = root.join(".mybb-sync/state");
    for damage in [None, Some("this is not a state file\n")] {
        match damage {
            None => std::fs::remove_file(&state).unwrap(),
            Some(text) => std::fs::write(&state, text).unwrap(),
        }
        // Differences are conflicts, not guesses: neither side is overwritten.
        admin_cp_edit(&db, "header", "admin while the state was gone");
        let out = sync_cmd(&db, &root).arg("export").expect_code(3);
        let said = if damage.is_some() { "is unreadable" } else { "no sync state in" };
        assert!(
            out.stderr.contains(said) && out.stderr.contains("rebuilding it"),
            "{}",
            out.stderr
        );
        assert_ne!(std::fs::read(header(&root)).unwrap(), b"admin while the state was gone");
        assert_eq!(db.template(1, "header").unwrap(), b"admin while the state was gone");
        // Everything else was in sync and is recorded again; the choice resolves the rest.
        sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
        sync_cmd(&db, &root).arg("status").expect_success();
        db.exec("DELETE FROM mybb_templates WHERE sid = 1");
        sync_cmd(&db, &root).arg("export").expect_success();
    }
}

#[test]
fn an_admin_cp_edit_reaches_the_file_while_watching_and_is_not_written_back() {
    let (db, _dir, root) = exported("sync_watch_pull");
    let run =
        sync_cmd(&db, &root).args(["watch", "--debounce", "30", "--pull-interval", "0.2"]).spawn();
    wait_until("the watcher to start", DEADLINE, || run.stderr_so_far().contains("watching "));
    admin_cp_edit(&db, "header", "<p>edited in the Admin CP</p>");
    wait_until("the Admin CP edit to reach the file", DEADLINE, || {
        std::fs::read(header(&root)).unwrap() == b"<p>edited in the Admin CP</p>"
    });
    // A revert brings the master content back.
    db.exec("DELETE FROM mybb_templates WHERE sid = 1 AND title = 'header'");
    let master = db.template(-2, "header").unwrap();
    wait_until("the revert to reach the file", DEADLINE, || {
        std::fs::read(header(&root)).unwrap() == master
    });
    // The watcher saw its own writes as echoes: it wrote nothing back.
    admin_cp_edit(&db, "footer", "sentinel");
    let footer = root.join("template_sets/Default Templates/Footer Templates/footer.html");
    wait_until("a later edit to arrive too", DEADLINE, || {
        std::fs::read(&footer).unwrap() == b"sentinel"
    });
    run.interrupt();
    let out = run.wait(DEADLINE);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(
        !out.stderr.contains("copied into the set") && !out.stderr.contains(": updated"),
        "{}",
        out.stderr
    );
    let rows: Vec<(u32, u64)> = db
        .query_rows("SELECT tid, dateline FROM mybb_templates WHERE sid = 1 AND title = 'footer'");
    assert_eq!(rows.len(), 1);
    assert!(db.template(1, "header").is_none(), "the revert stands");
}

#[test]
fn an_export_and_a_watcher_updating_the_state_together_keep_it_whole() {
    let (db, _dir, root) = exported("sync_state_concurrent");
    let run = sync_cmd(&db, &root).args(["watch", "--debounce", "20", "--no-pull"]).spawn();
    wait_until("the watcher to start", DEADLINE, || run.stderr_so_far().contains("watching "));
    let group = root.join("template_sets/Default Templates/Post Bit Templates");
    let files: Vec<PathBuf> =
        std::fs::read_dir(&group).unwrap().map(|e| e.unwrap().path()).collect();
    // The watcher records each saved file while exports rewrite and record the theme.
    for round in 0..3 {
        for (n, file) in files.iter().enumerate() {
            std::fs::write(file, format!("round {round} file {n}")).unwrap();
        }
        std::fs::remove_dir_all(root.join("styles/Default")).unwrap();
        sync_cmd(&db, &root)
            .args(["export", "--theme", "Default", "--set", "Default Templates"])
            .run();
    }
    wait_until("every saved file to reach the database", DEADLINE, || {
        files.iter().enumerate().all(|(n, f)| {
            db.template(1, f.file_stem().unwrap().to_str().unwrap()).as_deref()
                == Some(format!("round 2 file {n}").as_bytes())
        })
    });
    run.interrupt();
    run.wait(DEADLINE);
    // Whole: it parses, and it knows every item, so status finds everything in sync.
    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_success();
    assert_eq!(out.stdout, "");
    let state = std::fs::read_to_string(root.join(".mybb-sync/state")).unwrap();
    assert_eq!(
        state.lines().count(),
        1 + 974 + 17 + 1 + 1,
        "a header, one line per item and the count of them"
    );
}
