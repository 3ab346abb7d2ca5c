//! `export`: what lands on disk, against the real MyBB 1.8.37 fixture.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::util::{TestCommand, TestDb, TestDir};

/// Runs `mybb-sync --db <db> --root <dir> <args>`.
pub fn sync_cmd(db: &TestDb, root: &Path) -> TestCommand {
    TestCommand::new().arg("--db").arg(db.url()).arg("--root").arg(root).arg("--no-fsync")
}

/// Returns a fresh fixture database exported into `<dir>/sync`, with the dir and the root.
pub fn exported(name: &str) -> (TestDb, TestDir, std::path::PathBuf) {
    let db = TestDb::new(name);
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    (db, dir, root)
}

/// Returns every file under `dir` (recursively) as relative path -> content.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Returns template file name stem -> content for every file of a set folder.
pub fn set_files(root: &Path, set: &str) -> BTreeMap<String, Vec<u8>> {
    let mut titles = BTreeMap::new();
    for (rel, body) in tree(&root.join("template_sets").join(set)) {
        let name = rel.rsplit('/').next().unwrap().strip_suffix(".html").unwrap().to_owned();
        assert!(titles.insert(name.clone(), body).is_none(), "{name} appears twice");
    }
    titles
}

#[test]
fn default_templates_export_one_file_per_title_with_the_rendered_content() {
    let db = TestDb::new("export_default_templates");
    let dir = TestDir::new("export_default_templates");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();

    let master: Vec<(String, Vec<u8>)> =
        db.query_rows("SELECT title, template FROM mybb_templates WHERE sid = -2");
    assert_eq!(master.len(), 974);
    let files = set_files(&root, "Default Templates");
    assert_eq!(files.len(), 974);
    for (title, body) in master {
        assert_eq!(files.get(&title), Some(&body), "template {title}");
    }
    // The Admin CP's groups, with their English names.
    for rel in [
        "template_sets/Default Templates/Calendar Templates/calendar.html",
        "template_sets/Default Templates/Ungrouped Templates/headerinclude.html",
        "template_sets/Default Templates/User Control Panel Templates/usercp.html",
        "template_sets/Default Templates/Who's Online Templates/online.html",
    ] {
        assert!(root.join(rel).is_file(), "{rel}");
    }

    // "Default" (tid 2) has 10 colour sheets of its own and inherits 7 from the master theme.
    let mut sheets = tree(&root.join("styles/Default"));
    assert!(sheets.remove("theme.json").is_some(), "the theme's own file (issue 28)");
    assert_eq!(sheets.len(), 17);
    let rows: Vec<(String, Vec<u8>)> =
        db.query_rows("SELECT name, stylesheet FROM mybb_themestylesheets WHERE tid IN (1, 2)");
    for (name, css) in rows {
        assert_eq!(sheets.get(&name), Some(&css), "stylesheet {name}");
    }
    // The master theme is exported only when named.
    assert!(!root.join("styles/MyBB Master Style").exists());
    sync_cmd(&db, &root).args(["export", "--theme", "MyBB Master Style"]).expect_success();
    assert_eq!(tree(&root.join("styles/MyBB Master Style")).len(), 7 + 1);
}

#[test]
fn a_custom_row_beats_a_global_row_which_beats_master() {
    let db = TestDb::new("export_custom_beats_global");
    let dir = TestDir::new("export_custom_beats_global");
    let root = dir.join("sync");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) VALUES
         ('header', 'global header', -1, '1837', '', 1),
         ('header', 'custom header', 1, '1837', '', 1),
         ('footer', 'global footer', -1, '1837', '', 1),
         ('footer', 'older duplicate', -1, '1837', '', 1)",
    );
    // Duplicate rows of one (sid, title): the highest tid wins.
    db.exec("UPDATE mybb_templates SET template = 'newest global footer' WHERE tid = (SELECT MAX(tid) FROM (SELECT tid FROM mybb_templates WHERE title = 'footer' AND sid = -1) t)");
    sync_cmd(&db, &root).args(["export", "--set", "Default Templates"]).expect_success();
    let files = set_files(&root, "Default Templates");
    assert_eq!(files["header"], b"custom header");
    assert_eq!(files["footer"], b"newest global footer");
    assert_eq!(files.len(), 974);

    // The global set is exported on its own, with its own rows only, when it has rows.
    sync_cmd(&db, &root).arg("export").expect_success();
    let global = set_files(&root, "Global Templates");
    assert_eq!(global.keys().collect::<Vec<_>>(), ["footer", "header"]);
    assert_eq!(global["header"], b"global header");
}

#[test]
fn bytes_are_written_exactly_as_stored() {
    let db = TestDb::new("export_bytes_exact");
    let dir = TestDir::new("export_bytes_exact");
    let root = dir.join("sync");
    db.exec_with(
        "UPDATE mybb_templates SET template = ? WHERE title = 'index' AND sid = -2",
        ("line one\r\nline two\r\n\t ",),
    );
    sync_cmd(&db, &root).args(["export", "--set", "Default Templates"]).expect_success();
    assert_eq!(set_files(&root, "Default Templates")["index"], b"line one\r\nline two\r\n\t ");
}

#[test]
fn hostile_names_create_nothing_outside_the_root_and_round_trip() {
    let db = TestDb::new("export_hostile_names");
    let dir = TestDir::new("export_hostile_names");
    let root = dir.join("sync");
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (2, '../../x'), (3, '.hidden')");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) VALUES
         ('../../escape', 'a', 2, '1837', '', 1), ('a/b', 'b', 2, '1837', '', 1),
         ('.hidden', 'c', 2, '1837', '', 1), ('', 'd', 2, '1837', '', 1), ('x', 'e', 3, '1837', '', 1)",
    );
    db.exec(
        "INSERT INTO mybb_themes (tid, name, pid, def, properties, stylesheets, allowedgroups)
         VALUES (3, '../evil', 2, 0, 'a:0:{}', 'a:0:{}', 'all')",
    );
    db.exec(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, lastmodified)
         VALUES ('x.css', 3, '', 'evil {}', 'x.css', 1)",
    );
    sync_cmd(&db, &root).arg("export").expect_success();

    // Only the sync root was created beside nothing else, and every name inside is visible.
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["sync"]);
    let files = tree(&root);
    // mybb-sync's own folder (the baseline of the masters) may hold hidden names.
    for rel in files.keys().filter(|rel| !rel.starts_with(".mybb-sync/")) {
        for part in rel.split('/') {
            assert!(!part.starts_with('.'), "hidden or escaping component in {rel:?}");
        }
    }
    // Exactly the unsafe characters are encoded: `/`, and a leading `.`.
    let set = "template_sets/%2E.%2F..%2Fx/Ungrouped Templates";
    for rel in [
        format!("{set}/%2E.%2F..%2Fescape.html"),
        format!("{set}/a%2Fb.html"),
        format!("{set}/%2Ehidden.html"),
        format!("{set}/%.html"),
        "template_sets/%2Ehidden/Ungrouped Templates/x.html".to_owned(),
        "styles/%2E.%2Fevil/x.css".to_owned(),
    ] {
        assert!(files.contains_key(&rel), "{rel} missing");
    }

    // Round trip: importing the export changes nothing; an edit goes back to the right row.
    sync_cmd(&db, &root).arg("import").expect_success();
    std::fs::write(root.join(set).join("a%2Fb.html"), "edited").unwrap();
    std::fs::write(root.join(set).join("%.html"), "edited empty title").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(2, "a/b").unwrap(), b"edited");
    assert_eq!(db.template(2, "").unwrap(), b"edited empty title");
    assert_eq!(db.template(2, ".hidden").unwrap(), b"c");
}

#[test]
fn a_failed_export_leaves_only_whole_files_and_the_next_one_repairs_and_cleans_up() {
    let db = TestDb::new("export_failure_repair");
    let dir = TestDir::new("export_failure_repair");
    let root = dir.join("sync");
    // A temp file left by an export that was killed.
    let group = root.join("template_sets/Default Templates/Calendar Templates");
    std::fs::create_dir_all(&group).unwrap();
    let leftover = group.join(".calendar.html.mybb-sync-4242-7.tmp");
    std::fs::write(&leftover, "half a templ").unwrap();

    let out = sync_cmd(&db, &root)
        .env("MYBB_SYNC_TEST_HOOKS", "fail-after=100")
        .args(["export"])
        .expect_code(1);
    assert!(out.stderr.contains("injected failure"), "{}", out.stderr);
    let master: BTreeMap<String, Vec<u8>> = db
        .query_rows::<(String, Vec<u8>)>(
            "SELECT title, template FROM mybb_templates WHERE sid = -2",
        )
        .into_iter()
        .collect();
    let files = set_files(&root, "Default Templates");
    assert_eq!(files.len(), 100, "exactly the files renamed before the failure");
    for (title, body) in &files {
        assert_eq!(Some(body), master.get(title), "{title} is whole");
    }
    // No temp file remains: neither the failed run's own nor the killed run's leftover.
    let temps: Vec<String> = tree(&root).into_keys().filter(|k| k.ends_with(".tmp")).collect();
    assert!(temps.is_empty(), "{temps:?}");

    let out = sync_cmd(&db, &root).arg("export").expect_success();
    assert!(out.stderr.contains("874 written, 100 unchanged"), "{}", out.stderr);
    assert_eq!(set_files(&root, "Default Templates"), master);
    assert!(!leftover.exists());
}

#[test]
fn a_second_export_of_an_unchanged_board_rewrites_nothing() {
    let db = TestDb::new("export_idempotent");
    let dir = TestDir::new("export_idempotent");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    // The synced files; mybb-sync's own folder aside: this second comparison records each
    // file's size and times in the state (issue 32), which the first, writing them, did not.
    let stamp = |root: &Path| -> BTreeMap<String, (u64, i64, i64)> {
        tree(root)
            .into_keys()
            .filter(|rel| !rel.starts_with(".mybb-sync/"))
            .map(|rel| {
                let m = std::fs::metadata(root.join(&rel)).unwrap();
                (rel, (m.ino(), m.mtime(), m.mtime_nsec()))
            })
            .collect()
    };
    let before = stamp(&root);
    let out = sync_cmd(&db, &root).arg("export").expect_success();
    assert!(out.stderr.contains("0 written, 974 unchanged"), "{}", out.stderr);
    assert!(out.stderr.contains("0 written, 18 unchanged"), "{}", out.stderr);
    assert_eq!(stamp(&root), before);
}

#[test]
fn unknown_sets_and_themes_are_named_with_those_that_exist() {
    let db = TestDb::new("export_unknown_names");
    let dir = TestDir::new("export_unknown_names");
    let out = sync_cmd(&db, &dir.join("sync")).args(["export", "--set", "Nope"]).expect_code(2);
    assert!(
        out.stderr.contains(r#"no template set named "Nope"; known: "Default Templates""#),
        "{}",
        out.stderr
    );
    let out = sync_cmd(&db, &dir.join("sync")).args(["export", "--theme", "Nope"]).expect_code(2);
    assert!(out.stderr.contains(r#"known: "MyBB Master Style", "Default""#), "{}", out.stderr);
}

#[test]
fn an_unreachable_database_is_a_runtime_failure_that_hides_the_password() {
    let dir = TestDir::new("export_unreachable");
    let out = TestCommand::new()
        .args(["--db", "mysql://forum:hunter2@127.0.0.1:1/forum", "--root"])
        .arg(dir.join("sync"))
        .arg("export")
        .expect_code(1);
    assert!(
        out.stderr
            .contains("cannot connect to the database at mysql://forum:***@127.0.0.1:1/forum"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"));
}

/// Runs `mybb-sync --db <db> --root <root> <args>` durably (no `--no-fsync`) under strace, and
/// returns how many `syncfs` and `fsync` calls it made.
fn durable_export(db: &TestDb, root: &Path, trace: &Path, args: &[&str]) -> (usize, usize) {
    TestCommand::program("strace")
        .args(["-f", "-qq", "-e", "trace=syncfs,fsync", "-o"])
        .arg(trace)
        .arg(crate::util::BIN)
        .arg("--db")
        .arg(db.url())
        .arg("--root")
        .arg(root)
        .args(args)
        .expect_success();
    let calls = std::fs::read_to_string(trace).unwrap();
    let count = |call: &str| calls.lines().filter(|l| l.contains(&format!(" {call}("))).count();
    (count("syncfs"), count("fsync"))
}

/// Every other test passes `--no-fsync`; this one runs the durable path both ways the writer
/// makes a batch durable: one `syncfs` for a large batch, one `fsync` per file for a small one.
#[test]
fn a_durable_export_writes_what_a_fast_one_does_and_syncs_it() {
    let db = TestDb::new("export_durable");
    let dir = TestDir::new("export_durable");
    let (fast, durable) = (dir.join("fast"), dir.join("durable"));
    sync_cmd(&db, &fast).arg("export").expect_success();

    let (syncfs, _) = durable_export(&db, &durable, &dir.join("full.trace"), &["export"]);
    assert!(syncfs >= 1, "a 992-file export makes its files durable with syncfs");
    let without_state = |root: &Path| {
        let mut files = crate::export::tree(root);
        files.retain(|path, _| !path.starts_with(".mybb-sync"));
        files
    };
    assert_eq!(without_state(&durable), without_state(&fast));

    db.exec("UPDATE mybb_templates SET template = 'changed' WHERE title IN ('header', 'footer')");
    let (syncfs, fsync) = durable_export(&db, &durable, &dir.join("small.trace"), &["export"]);
    assert_eq!(syncfs, 0, "two files are synced one by one");
    assert!(fsync >= 2, "each of the two files is fsynced ({fsync} fsync calls)");
    let group = durable.join("template_sets/Default Templates/Header Templates");
    assert_eq!(std::fs::read(group.join("header.html")).unwrap(), b"changed");
}

/// Issue 16: an export into an empty root makes, per file, the atomic floor's calls (open the
/// temp file, write, close, rename) and no more: the plan knows every target is absent, so it
/// neither opens nor stats them. The rest of the run (database, lock, state, one `mkdir` per
/// folder) is a constant: 128 covers the fixture's 51 folders, the database and the state files.
#[test]
fn an_export_into_an_empty_root_makes_the_floor_s_calls_per_file() {
    let db = TestDb::new("export_syscalls");
    let dir = TestDir::new("export_syscalls");
    let (root, trace) = (dir.join("sync"), dir.join("export.trace"));
    TestCommand::program("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(crate::util::BIN)
        .arg("--db")
        .arg(db.url())
        .arg("--root")
        .arg(&root)
        .args(["--no-fsync", "export"])
        .expect_success();
    let files = tree(&root).keys().filter(|p| !p.starts_with(".mybb-sync")).count();
    // 974 templates, 17 stylesheets and the theme's file (issue 28).
    assert_eq!(files, 992);
    let calls = std::fs::read_to_string(&trace).unwrap();
    let count = |names: &[&str]| {
        let call = |l: &&str| names.iter().any(|n| l.contains(&format!(" {n}(")));
        calls.lines().filter(call).count()
    };
    const RUN: usize = 128;
    for names in [&["openat"][..], &["write"], &["close"], &["rename", "renameat2"]] {
        let n = count(names);
        assert!(n <= files + RUN, "{n} {names:?} calls for {files} files (floor: 1 each)");
    }
    // Under the root only: the loader's search of the test's library path fails too.
    let under_root = root.to_string_lossy().into_owned();
    let failed = calls.lines().filter(|l| l.contains(" = -1 ") && l.contains(&under_root));
    let failed = failed.count();
    assert!(failed <= RUN, "{failed} failed calls under the root for {files} files");
}
