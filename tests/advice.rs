//! Advice that can be followed (issue 27): where a message tells the user what to do, the
//! test runs exactly that and checks that it did it. Also "did you mean", the command list of
//! a bare `mybb-sync`, and the first export naming its root.
//! See: issue 27.

use crate::paths::{TITLE, at, board};
use crate::util::{TestCommand, TestDb};

/// Returns the version of the custom copy of `title` in set `sid`.
fn version(db: &TestDb, sid: i32, title: &str) -> String {
    db.query_rows_with::<String>(
        "SELECT version FROM mybb_templates WHERE sid = ? AND title = ?",
        (sid, title),
    )[0]
    .clone()
}

#[test]
fn already_merged_import_it_is_cleared_by_import() {
    let (db, dir, root, relative) = board("advice_already_merged");
    let out = at(&db, dir.path(), Some(&root)).arg("outdated").expect_code(3);
    let line = format!("{relative}: copy 1800, master 1837; already merged: import it");
    assert!(out.stdout.contains(&line), "{out}");
    // What it says: import it.
    at(&db, dir.path(), Some(&root)).arg("import").expect_success();
    assert_eq!(version(&db, 1, TITLE), "1837", "the Admin CP's save gives the board's version");
    let out = at(&db, dir.path(), Some(&root)).arg("outdated").expect_success();
    assert_eq!(out.stdout, "", "{out}");
    // And the content stayed the copy's.
    let content = db.template(1, TITLE).unwrap();
    assert!(content.starts_with(b"<!-- custom -->"));
}

#[test]
fn already_merged_is_cleared_by_import_of_its_path_alone() {
    let (db, dir, root, relative) = board("advice_already_merged_path");
    at(&db, dir.path(), Some(&root)).args(["import", "--dry-run", &relative]).expect_success();
    assert_eq!(version(&db, 1, TITLE), "1800", "a dry run writes nothing");
    at(&db, dir.path(), Some(&root)).args(["import", &relative]).expect_success();
    assert_eq!(version(&db, 1, TITLE), "1837");
}

/// Makes `relative` a conflict: edited on disk and in the database since the last sync.
/// Returns the warning `import` printed about it.
fn conflict(db: &TestDb, dir: &std::path::Path, root: &std::path::Path, relative: &str) -> String {
    std::fs::write(root.join(relative), "<!-- disk -->").unwrap();
    db.exec(&format!(
        "UPDATE mybb_templates SET template = '<!-- db -->' WHERE sid = 1 AND title = '{TITLE}'"
    ));
    let out = at(db, dir, Some(root)).arg("import").expect_code(3);
    let status = at(db, dir, Some(root)).args(["status", "--porcelain"]).expect_code(3);
    assert!(status.stdout.contains(&format!("conflict\t{relative}")), "{status}");
    out.stderr
}

#[test]
fn prefer_db_and_prefer_disk_resolve_a_conflict_as_the_warning_says() {
    for (side, wins) in [("db", "<!-- db -->"), ("disk", "<!-- disk -->")] {
        let (db, dir, root, relative) = board(&format!("advice_prefer_{side}"));
        let warning = conflict(&db, dir.path(), &root, &relative);
        assert!(
            warning.contains("resolve with import --prefer disk or import --prefer db"),
            "{warning}"
        );
        // What it says.
        at(&db, dir.path(), Some(&root)).args(["import", "--prefer", side]).expect_success();
        assert_eq!(std::fs::read_to_string(root.join(&relative)).unwrap(), wins, "{side}");
        assert_eq!(db.template(1, TITLE).unwrap(), wins.as_bytes(), "{side}");
        at(&db, dir.path(), Some(&root)).arg("status").expect_success();
    }
}

#[test]
fn export_prefer_means_the_same_as_imports() {
    for (side, wins) in [("db", "<!-- db -->"), ("disk", "<!-- disk -->")] {
        let (db, dir, root, relative) = board(&format!("advice_export_prefer_{side}"));
        conflict(&db, dir.path(), &root, &relative);
        at(&db, dir.path(), Some(&root)).args(["export", "--prefer", side]).expect_success();
        assert_eq!(std::fs::read_to_string(root.join(&relative)).unwrap(), wins, "{side}");
        assert_eq!(db.template(1, TITLE).unwrap(), wins.as_bytes(), "{side}");
        at(&db, dir.path(), Some(&root)).arg("status").expect_success();
    }
}

#[test]
fn the_first_export_names_the_sync_root_once() {
    let db = TestDb::new("advice_first_export");
    let dir = crate::util::TestDir::new("advice_first_export");
    let root = dir.join("sync");
    let first = at(&db, dir.path(), Some(&root)).arg("export").expect_success();
    let says = format!("created the sync root {}", root.display());
    assert_eq!(first.stderr.matches(&says).count(), 1, "{first}");
    let again = at(&db, dir.path(), Some(&root)).arg("export").expect_success();
    assert!(!again.stderr.contains("created the sync root"), "{again}");
}

#[test]
fn a_mistyped_command_or_flag_gets_did_you_mean_and_no_command_lists_them_all() {
    let out = TestCommand::new().arg("exprot").expect_code(2);
    assert!(out.stderr.contains("did you mean `export`?"), "{out}");
    let out = TestCommand::new().args(["import", "--dry-rn"]).expect_code(2);
    assert!(out.stderr.contains("did you mean --dry-run?"), "{out}");
    let out = TestCommand::new().args(["help", "stauts"]).expect_code(2);
    assert!(out.stderr.contains("did you mean `status`?"), "{out}");
    let out = TestCommand::new().expect_code(2);
    for command in ["theme export", "theme import", "theme unpack", "help", "completions"] {
        assert!(out.stderr.contains(command), "{command}: {out}");
    }
}

#[test]
fn under_watch_a_conflict_is_warned_about_once() {
    let (db, dir, root, relative) = board("advice_watch_conflict_once");
    conflict(&db, dir.path(), &root, &relative);
    let cmd = at(&db, dir.path(), Some(&root)).arg("-v");
    let run = crate::util::start_watching(cmd, &["--pull-interval", "0.1"]);
    // The first pull compares every file with the database (it has no fingerprint yet)...
    crate::util::wait_until("the first pull", std::time::Duration::from_secs(30), || {
        run.stderr_so_far().contains("the database changed; comparing the files of")
    });
    // ...and a batch after it takes whatever the pull queued: a save elsewhere marks it.
    let other = crate::paths::file_in(&root, "Default Templates", "header");
    std::fs::write(&other, "<!-- marker -->").unwrap();
    let shown = other.strip_prefix(&root).unwrap().display().to_string();
    crate::util::wait_until("the marker's batch", std::time::Duration::from_secs(30), || {
        run.stderr_so_far().lines().any(|l| l.starts_with(&shown) && !l.contains("debug"))
    });
    let stderr = crate::util::stop_watching(run);
    let warned = format!("{relative}: conflict:");
    assert_eq!(stderr.matches(&warned).count(), 1, "{stderr}");
}

#[test]
fn watch_export_first_says_watching_before_anything_paused() {
    let db = TestDb::new("advice_watch_export_first");
    let dir = crate::util::TestDir::new("advice_watch_export_first");
    let root = dir.join("sync");
    let cmd = at(&db, dir.path(), Some(&root));
    let run = crate::util::start_watching(cmd, &["--export-first", "--no-pull"]);
    crate::util::wait_until("the export", std::time::Duration::from_secs(60), || {
        run.stderr_so_far().contains("watcher resumed")
    });
    let stderr = crate::util::stop_watching(run);
    let watching = stderr.find("watching ").unwrap();
    assert!(!stderr[..watching].contains("watcher paused"), "{stderr}");
}

#[test]
fn run_export_to_fetch_it_fetches_it() {
    let (db, dir, root, relative) = board("advice_export_fetches");
    db.exec(&format!(
        "UPDATE mybb_templates SET template = '<!-- admin cp -->' WHERE sid = 1 AND title = '{TITLE}'"
    ));
    let out = at(&db, dir.path(), Some(&root)).arg("import").expect_success();
    assert!(
        out.stderr
            .contains(&format!("{relative}: changed in the database; run export to fetch it")),
        "{out}"
    );
    // What it says.
    at(&db, dir.path(), Some(&root)).arg("export").expect_success();
    assert_eq!(std::fs::read_to_string(root.join(&relative)).unwrap(), "<!-- admin cp -->");
    at(&db, dir.path(), Some(&root)).arg("status").expect_success();
}

#[test]
fn kept_import_it_or_prefer_db_does_either() {
    for (follow, wins) in
        [(&["import"][..], "<!-- mine -->"), (&["export", "--prefer", "db"][..], "")]
    {
        let (db, dir, root, relative) = board(&format!("advice_kept_{}", follow.len()));
        let before = db.template(1, TITLE).unwrap();
        std::fs::write(root.join(&relative), "<!-- mine -->").unwrap();
        let out = at(&db, dir.path(), Some(&root)).arg("export").expect_success();
        let says =
            format!("{relative}: edited since the last sync; kept (import it, or --prefer db)");
        assert!(out.stderr.contains(&says), "{out}");
        // What it says: either way, file and row agree afterwards.
        at(&db, dir.path(), Some(&root)).args(follow.iter().copied()).expect_success();
        let want = if wins.is_empty() { before } else { wins.as_bytes().to_vec() };
        assert_eq!(db.template(1, TITLE).unwrap(), want, "{follow:?}");
        assert_eq!(std::fs::read(root.join(&relative)).unwrap(), want, "{follow:?}");
        at(&db, dir.path(), Some(&root)).arg("status").expect_success();
    }
}
