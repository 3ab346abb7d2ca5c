//! Existence is part of the three-way state (issue 25): what the Admin CP deletes goes from the
//! tree, what is deleted from the tree goes from the database as the Admin CP would do it, and
//! a deletion on one side with an edit on the other is a conflict that deletes nothing.
//! See: issue 25.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::export::{exported, sync_cmd};
use crate::util::{TestDb, start_watching, stop_watching, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);
const THEME: &str = "styles/Default";
const SET: &str = "template_sets/Default Templates";

fn sheet(root: &Path, name: &str) -> PathBuf {
    root.join(THEME).join(name)
}

fn header(root: &Path) -> PathBuf {
    root.join(SET).join("Header Templates/header.html")
}

/// Returns the copy kept of a removed file, relative to the root as `relative`.
fn kept_copy(root: &Path, relative: &str) -> PathBuf {
    root.join(".mybb-sync/deleted").join(relative)
}

/// Returns how many stylesheet rows theme `tid` has named `name`.
fn sheet_rows(db: &TestDb, tid: u32, name: &str) -> u64 {
    db.query_one(&format!(
        "SELECT COUNT(*) FROM mybb_themestylesheets WHERE tid = {tid} AND name = '{name}'"
    ))
}

/// Returns how many template rows set `sid` has titled `title`.
fn template_rows(db: &TestDb, sid: i32, title: &str) -> u64 {
    db.query_one(&format!(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = {sid} AND title = '{title}'"
    ))
}

#[test]
fn a_stylesheet_deleted_in_the_admin_cp_takes_its_unchanged_file_with_it_once() {
    let (db, _dir, root) = exported("exist_sheet_deleted");
    let before = std::fs::read(sheet(&root, "color_black.css")).unwrap();
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");

    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(
        status
            .stdout
            .starts_with("to-disk\tstyles/Default/color_black.css\tdeleted in the database"),
        "{}",
        status.stdout
    );
    // import carries files to the database: the file is kept, and no row comes back.
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    assert!(sheet(&root, "color_black.css").exists());

    let out = sync_cmd(&db, &root).args(["export", "--json"]).expect_success();
    assert!(!sheet(&root, "color_black.css").exists());
    let copy = kept_copy(&root, "styles/Default/color_black.css");
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    assert!(
        out.stderr.contains(".mybb-sync/deleted/styles/Default/color_black.css"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("\"action\":\"removed\""), "{}", out.stdout);

    // Reported once: nothing more to do, on any side.
    sync_cmd(&db, &root).arg("status").expect_success();
    let again = sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!again.stderr.contains("color_black.css"), "{}", again.stderr);
}

#[test]
fn a_stylesheet_deleted_in_the_admin_cp_and_edited_on_disk_is_a_conflict_never_a_new_row() {
    let (db, _dir, root) = exported("exist_sheet_deleted_edited");
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    std::fs::write(sheet(&root, "color_black.css"), "a { color: red }").unwrap();

    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(
        status.stdout,
        "conflict\tstyles/Default/color_black.css\tdeleted in the database, edited on disk\n\
         to-disk\tstyles/Default/theme.json\n"
    );
    sync_cmd(&db, &root).arg("import").expect_code(3);
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    assert_eq!(std::fs::read(sheet(&root, "color_black.css")).unwrap(), b"a { color: red }");

    // Asked for, the item comes back.
    sync_cmd(&db, &root).args(["import", "--prefer", "disk"]).expect_success();
    assert_eq!(db.stylesheet(2, "color_black.css").unwrap(), b"a { color: red }");
}

#[test]
fn export_prefer_db_removes_a_file_edited_after_its_row_was_deleted() {
    let (db, _dir, root) = exported("exist_sheet_deleted_prefer_db");
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    std::fs::write(sheet(&root, "color_black.css"), "a { color: red }").unwrap();
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    assert!(!sheet(&root, "color_black.css").exists());
    let copy = kept_copy(&root, "styles/Default/color_black.css");
    assert_eq!(std::fs::read(copy).unwrap(), b"a { color: red }");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_leftover_saved_after_an_admin_cp_deletion_does_not_bring_the_item_back() {
    let (db, _dir, root) = exported("exist_leftover");
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!sheet(&root, "color_black.css").exists());
    // An editor still holding the buffer saves it again.
    std::fs::write(sheet(&root, "color_black.css"), "a { color: black }").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("deleted in the database"), "{}", out.stderr);
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    // A stylesheet of that name made again in the Admin CP is a new item: it comes to disk.
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    db.exec(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, \
         lastmodified) VALUES ('color_black.css', 2, '', 'b { }', 'color_black.css', UNIX_TIMESTAMP())",
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(sheet(&root, "color_black.css")).unwrap(), b"b { }");
}

#[test]
fn a_clone_of_the_tree_without_its_state_does_not_recreate_deleted_rows() {
    let (db, dir, root) = exported("exist_clone");
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    let clone = dir.join("clone");
    let copied =
        std::process::Command::new("cp").arg("-a").arg(&root).arg(&clone).status().unwrap();
    assert!(copied.success());
    std::fs::remove_dir_all(clone.join(".mybb-sync")).unwrap();
    let status = sync_cmd(&db, &clone).args(["status", "--porcelain"]).expect_code(3);
    assert!(
        status.stdout.contains("conflict\tstyles/Default/color_black.css\tno row"),
        "{}",
        status.stdout
    );
    sync_cmd(&db, &clone).arg("import").expect_code(3);
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
}

#[test]
fn a_stylesheet_renamed_in_the_admin_cp_moves_its_file() {
    let (db, _dir, root) = exported("exist_sheet_renamed");
    let before = std::fs::read(sheet(&root, "color_black.css")).unwrap();
    db.exec(
        "UPDATE mybb_themestylesheets SET name = 'color_noir.css', cachefile = 'color_noir.css' \
         WHERE tid = 2 AND name = 'color_black.css'",
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!sheet(&root, "color_black.css").exists());
    assert_eq!(std::fs::read(sheet(&root, "color_noir.css")).unwrap(), before);
    sync_cmd(&db, &root).arg("status").expect_success();
    // The history follows: an edit of the new file is an edit, not a conflict.
    std::fs::write(sheet(&root, "color_noir.css"), "a { color: #000 }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.stylesheet(2, "color_noir.css").unwrap(), b"a { color: #000 }");
}

#[test]
fn a_theme_deleted_in_the_admin_cp_takes_its_folder_unless_something_in_it_is_edited() {
    let (db, _dir, root) = exported("exist_theme_deleted");
    // As the Admin CP's delete: its stylesheets, then the theme (children re-parented).
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2");
    db.exec("UPDATE mybb_themes SET pid = 1 WHERE pid = 2");
    db.exec("DELETE FROM mybb_themes WHERE tid = 2");
    std::fs::write(sheet(&root, "color_calm.css"), "edited").unwrap();
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(!sheet(&root, "color_black.css").exists());
    assert!(!sheet(&root, "global.css").exists());
    assert_eq!(std::fs::read(sheet(&root, "color_calm.css")).unwrap(), b"edited");
    // Once the edit is given up, the folder goes.
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    assert!(!root.join(THEME).exists());
}

#[test]
fn a_template_set_deleted_in_the_admin_cp_takes_its_folder() {
    let db = TestDb::new("exist_set_deleted");
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (2, 'Extra')");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>extra</p>', 2, '1837', '', UNIX_TIMESTAMP())",
    );
    let dir = crate::util::TestDir::new("exist_set_deleted");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let extra = root.join("template_sets/Extra");
    assert!(extra.join("Header Templates/header.html").exists());
    db.exec("DELETE FROM mybb_templates WHERE sid = 2");
    db.exec("DELETE FROM mybb_templatesets WHERE sid = 2");
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!extra.exists());
    assert!(kept_copy(&root, "template_sets/Extra/Header Templates/header.html").exists());
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_plugin_uninstalled_takes_its_master_templates_files_and_an_edited_one_is_a_conflict() {
    let db = TestDb::new("exist_plugin");
    for title in ["hello_index", "hello_post"] {
        db.exec(&format!(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES ('{title}', '<p>{title}</p>', -2, '1837', '', UNIX_TIMESTAMP())"
        ));
    }
    let dir = crate::util::TestDir::new("exist_plugin");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let index = root.join(SET).join("Ungrouped Templates/hello_index.html");
    let post = root.join(SET).join("Ungrouped Templates/hello_post.html");
    assert!(index.exists() && post.exists());
    std::fs::write(&post, "<p>my post</p>").unwrap();
    // inc/plugins/hello.php's uninstall.
    db.exec("DELETE FROM mybb_templates WHERE title = 'hello' OR title LIKE 'hello_%'");
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(!index.exists());
    assert_eq!(std::fs::read(&post).unwrap(), b"<p>my post</p>");
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(template_rows(&db, 1, "hello_post"), 0);
    assert_eq!(template_rows(&db, -2, "hello_post"), 0);
}

#[test]
fn deleting_files_under_import_does_what_the_admin_cp_offers_for_each_kind() {
    let (db, _dir, root) = exported("exist_disk_deletions");
    // A set's customised copy, a template of the set's own, an own and an inherited
    // stylesheet, a master template.
    std::fs::write(header(&root), "<p>mine</p>").unwrap();
    let own = root.join(SET).join("Ungrouped Templates/zzown.html");
    std::fs::write(&own, "<p>own</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>mine</p>");
    let master_header: Vec<u8> = db.template(-2, "header").unwrap();
    let index = root.join(SET).join("Index Page Templates/index.html");
    let index_before = std::fs::read(&index).unwrap();
    let global_before = std::fs::read(sheet(&root, "global.css")).unwrap();

    for path in [
        header(&root),
        own.clone(),
        sheet(&root, "color_black.css"),
        sheet(&root, "global.css"),
        index.clone(),
    ] {
        std::fs::remove_file(path).unwrap();
    }
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    for relative in [
        "template_sets/Default Templates/Header Templates/header.html",
        "template_sets/Default Templates/Ungrouped Templates/zzown.html",
        "styles/Default/color_black.css",
        "styles/Default/global.css",
        "template_sets/Default Templates/Index Page Templates/index.html",
    ] {
        assert!(
            status.stdout.contains(&format!("deleted\t{relative}\t")),
            "{relative}: {}",
            status.stdout
        );
    }
    let json = sync_cmd(&db, &root).args(["status", "--json"]).expect_code(3);
    assert!(json.stdout.contains("\"deleted\":5"), "{}", json.stdout);

    sync_cmd(&db, &root).arg("import").expect_success();
    // Reverted: the copy is gone, the file shows the master again.
    assert_eq!(template_rows(&db, 1, "header"), 0);
    assert_eq!(std::fs::read(header(&root)).unwrap(), master_header);
    // Deleted: no master to go back to.
    assert_eq!(template_rows(&db, 1, "zzown"), 0);
    assert!(!own.exists());
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    assert!(!sheet(&root, "color_black.css").exists());
    // Nothing of the theme's or set's own: the files come back.
    assert_eq!(std::fs::read(sheet(&root, "global.css")).unwrap(), global_before);
    assert_eq!(sheet_rows(&db, 1, "global.css"), 1);
    assert_eq!(std::fs::read(&index).unwrap(), index_before);
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_file_deleted_on_disk_whose_row_changed_since_is_a_conflict_that_deletes_nothing() {
    let (db, _dir, root) = exported("exist_disk_deleted_db_edited");
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    db.exec(
        "UPDATE mybb_themestylesheets SET stylesheet = 'a { }', lastmodified = UNIX_TIMESTAMP() \
         WHERE tid = 2 AND name = 'color_black.css'",
    );
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(
        status.stdout,
        "conflict\tstyles/Default/color_black.css\tdeleted on disk, edited in the database\n"
    );
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(db.stylesheet(2, "color_black.css").unwrap(), b"a { }");
}

#[test]
fn the_watcher_deletes_a_file_deleted_on_disk_once_it_stays_gone() {
    let (db, _dir, root) = exported("exist_watch_delete");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    // An editor's delete-and-rename save: the file is briefly missing, then back.
    let path = sheet(&root, "color_calm.css");
    let aside = sheet(&root, "color_calm.css~");
    std::fs::rename(&path, &aside).unwrap();
    std::fs::write(&path, "a { color: calm }").unwrap();
    std::fs::remove_file(&aside).unwrap();
    wait_until("the save to reach the database", DEADLINE, || {
        db.stylesheet(2, "color_calm.css").as_deref() == Some(b"a { color: calm }")
    });
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    wait_until("the deletion to reach the database", DEADLINE, || {
        sheet_rows(&db, 2, "color_black.css") == 0
    });
    let log = stop_watching(run);
    assert!(log.contains("color_black.css: deleted on disk"), "{log}");
    assert_eq!(sheet_rows(&db, 2, "color_calm.css"), 1);
}

#[test]
fn the_watcher_holds_a_mass_deletion_for_an_explicit_import() {
    let (db, _dir, root) = exported("exist_watch_mass");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    std::fs::remove_dir_all(root.join(THEME)).unwrap();
    wait_until("the watcher to hold the deletion", DEADLINE, || {
        run.stderr_so_far().contains("nothing is deleted from the database")
    });
    let log = stop_watching(run);
    assert!(log.contains("styles/Default was deleted"), "{log}");
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 1);
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(status.stdout.contains("deleted\tstyles/Default/color_black.css"), "{}", status.stdout);
    // An explicit import carries it out.
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
}

#[test]
fn the_watcher_removes_the_file_of_a_stylesheet_deleted_in_the_admin_cp_and_says_so_once() {
    let (db, _dir, root) = exported("exist_watch_pull");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--pull-interval", "0.1"]);
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    wait_until("the file to be removed", DEADLINE, || !sheet(&root, "color_black.css").exists());
    // Another Admin CP change makes the watcher compare every file again.
    db.exec(
        "UPDATE mybb_themestylesheets SET stylesheet = 'a { }', lastmodified = UNIX_TIMESTAMP() \
         WHERE tid = 2 AND name = 'color_calm.css'",
    );
    wait_until("the next pull", DEADLINE, || {
        std::fs::read(sheet(&root, "color_calm.css")).is_ok_and(|b| b == b"a { }")
    });
    let log = stop_watching(run);
    assert_eq!(log.lines().filter(|l| l.contains("color_black.css")).count(), 1, "{log}");
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
}

#[test]
fn a_second_watcher_of_one_root_is_refused_and_names_the_first() {
    let (db, _dir, root) = exported("exist_two_watchers");
    let first = start_watching(sync_cmd(&db, &root), &["--no-pull"]);
    let second = sync_cmd(&db, &root).args(["watch", "--no-pull"]).expect_code(2);
    assert!(second.stderr.contains(&format!("process {}", first.id())), "{}", second.stderr);
    stop_watching(first);
    // Once the first stops, the root is free again.
    let again = start_watching(sync_cmd(&db, &root), &["--no-pull"]);
    stop_watching(again);
}

/// Returns the URL of `db` through the server's Unix socket instead of TCP.
fn socket_url(db: &TestDb) -> String {
    let socket: String = db.query_one("SELECT @@socket");
    format!("mysql://root@localhost/{}?socket={socket}", db.name())
}

#[test]
fn one_root_is_one_board_through_the_socket_and_through_tcp() {
    if crate::util::mysql_only(
        "the socket and TCP of one server are MariaDB's here (a SQLite board has no server; \
         PostgreSQL's socket is tested by tests/postgres.rs)",
    ) {
        return;
    }
    let (db, _dir, root) = exported("exist_socket_tcp");
    let socket = |root: &Path| {
        crate::util::TestCommand::new()
            .arg("--db")
            .arg(socket_url(&db))
            .arg("--root")
            .arg(root)
            .arg("--no-fsync")
    };
    // Exported over TCP, used over the socket, and the other way round.
    socket(&root).arg("status").expect_success();
    std::fs::write(header(&root), "<p>through the socket</p>").unwrap();
    socket(&root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>through the socket</p>");
    let other = _dir.join("socket-first");
    socket(&other).arg("export").expect_success();
    sync_cmd(&db, &other).arg("status").expect_success();
    // Another database on the same server is another board.
    let elsewhere = TestDb::new("exist_socket_tcp_other");
    let out = sync_cmd(&elsewhere, &root).arg("status").expect_code(2);
    assert!(out.stderr.contains("belongs to another board"), "{}", out.stderr);
}

/// Returns a fixture database with a child theme "Child" of Default (tid 3) and a global
/// template `myglobal` (no master), exported into `<dir>/sync`.
fn exported_with_heirs(name: &str) -> (TestDb, crate::util::TestDir, PathBuf) {
    let db = TestDb::new(name);
    crate::watch::with_heirs(&db);
    let dir = crate::util::TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    (db, dir, root)
}

const GLOBAL_FILE: &str = "template_sets/Global Templates/Ungrouped Templates/myglobal.html";
const SET_GLOBAL_FILE: &str = "template_sets/Default Templates/Ungrouped Templates/myglobal.html";

#[test]
fn saving_a_parent_stylesheet_brings_the_child_themes_file_to_disk_in_the_same_import() {
    let (db, _dir, root) = exported_with_heirs("exist_heir_sheet");
    let child = root.join("styles/Child/color_black.css");
    assert_eq!(
        std::fs::read(&child).unwrap(),
        std::fs::read(sheet(&root, "color_black.css")).unwrap()
    );
    std::fs::write(sheet(&root, "color_black.css"), "a { color: #111 }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(std::fs::read(&child).unwrap(), b"a { color: #111 }");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_child_file_edited_while_its_parent_is_saved_is_a_conflict_not_a_loss() {
    let (db, _dir, root) = exported_with_heirs("exist_heir_conflict");
    let child = root.join("styles/Child/color_black.css");
    std::fs::write(&child, "a { color: child }").unwrap();
    std::fs::write(sheet(&root, "color_black.css"), "a { color: #222 }").unwrap();
    // Only the parent is imported; the child's edit is not part of it.
    sync_cmd(&db, &root).arg("import").arg(sheet(&root, "color_black.css")).expect_code(3);
    assert_eq!(db.stylesheet(2, "color_black.css").unwrap(), b"a { color: #222 }");
    assert_eq!(std::fs::read(&child).unwrap(), b"a { color: child }");
    let copy = root.join("styles/Child/color_black.db.css");
    assert_eq!(std::fs::read(copy).unwrap(), b"a { color: #222 }");
}

#[test]
fn saving_a_global_template_brings_every_sets_file_to_disk() {
    let (db, _dir, root) = exported_with_heirs("exist_heir_global");
    assert_eq!(std::fs::read(root.join(SET_GLOBAL_FILE)).unwrap(), b"<p>global</p>");
    std::fs::write(root.join(GLOBAL_FILE), "<p>global 2</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(-1, "myglobal").unwrap(), b"<p>global 2</p>");
    assert_eq!(std::fs::read(root.join(SET_GLOBAL_FILE)).unwrap(), b"<p>global 2</p>");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn the_watcher_brings_heirs_to_disk_with_the_parents_save() {
    let (db, _dir, root) = exported_with_heirs("exist_heir_watch");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    std::fs::write(sheet(&root, "color_black.css"), "a { color: #333 }").unwrap();
    let child = root.join("styles/Child/color_black.css");
    wait_until("the child theme's file to follow", DEADLINE, || {
        std::fs::read(&child).is_ok_and(|b| b == b"a { color: #333 }")
    });
    stop_watching(run);
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn revert_of_a_global_template_is_reverted_and_refreshes_every_sets_file() {
    let db = TestDb::new("exist_revert_global");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>global header</p>', -1, '1837', '', UNIX_TIMESTAMP())",
    );
    let dir = crate::util::TestDir::new("exist_revert_global");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let global = root.join("template_sets/Global Templates/Header Templates/header.html");
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>global header</p>");
    let out = sync_cmd(&db, &root).args(["revert", "--json"]).arg(&global).expect_success();
    assert!(out.stdout.contains("\"reverted\":1"), "{}", out.stdout);
    assert_eq!(template_rows(&db, -1, "header"), 0);
    assert!(!global.exists());
    assert_eq!(std::fs::read(header(&root)).unwrap(), db.template(-2, "header").unwrap());
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_stylesheet_name_mybb_serves_but_its_forms_would_strip_round_trips() {
    let db = TestDb::new("exist_unicode_sheet");
    // As the Admin CP's theme import stores a theme file's `ünï.css`.
    db.exec(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, \
         lastmodified) VALUES ('ünï.css', 2, '', 'u { }', 'ünï.css', UNIX_TIMESTAMP())",
    );
    let dir = crate::util::TestDir::new("exist_unicode_sheet");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let file = sheet(&root, "ünï.css");
    assert_eq!(std::fs::read(&file).unwrap(), b"u { }");
    sync_cmd(&db, &root).arg("status").expect_success();
    std::fs::write(&file, "u { color: red }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.stylesheet(2, "ünï.css").unwrap(), b"u { color: red }");
    sync_cmd(&db, &root).arg("status").expect_success();
    // A new file of such a name is still refused: the Admin CP would not take it.
    std::fs::write(sheet(&root, "ñew.css"), "n { }").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("not a stylesheet"), "{}", out.stderr);
    assert_eq!(sheet_rows(&db, 2, "ñew.css"), 0);
}

#[test]
fn the_watcher_reverts_a_deleted_set_copy_and_deletes_a_template_of_the_sets_own() {
    let (db, _dir, root) = exported("exist_watch_templates");
    let own = root.join(SET).join("Ungrouped Templates/zzown.html");
    std::fs::write(header(&root), "<p>mine</p>").unwrap();
    std::fs::write(&own, "<p>own</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    std::fs::remove_file(header(&root)).unwrap();
    std::fs::remove_file(&own).unwrap();
    wait_until("both deletions to reach the database", DEADLINE, || {
        template_rows(&db, 1, "header") == 0 && template_rows(&db, 1, "zzown") == 0
    });
    let master = db.template(-2, "header").unwrap();
    wait_until("the reverted file to come back", DEADLINE, || {
        std::fs::read(header(&root)).is_ok_and(|b| b == master)
    });
    stop_watching(run);
    assert!(!own.exists());
    sync_cmd(&db, &root).arg("status").expect_success();
}

/// Reads stylesheet `name` of theme `tid` as the Admin CP would show it: (attachedto, content).
fn sheet_row(db: &TestDb, tid: u32, name: &str) -> Option<(String, Vec<u8>)> {
    db.query_rows_with(
        "SELECT attachedto, stylesheet FROM mybb_themestylesheets WHERE tid = ? AND name = ?",
        (tid, name),
    )
    .into_iter()
    .next()
}

#[test]
fn an_item_deleted_on_both_sides_then_made_again_in_the_admin_cp_is_not_deleted() {
    // The file is removed (a branch switch) and the theme's stylesheet deleted in the Admin CP;
    // a run sees neither side. Then the Admin CP imports the same theme file again: the row
    // is back with the content last synced. It is a new item, not a file deleted on disk.
    let (db, _dir, root) = exported("exist_both_deleted_remade");
    let (attachedto, content) = sheet_row(&db, 2, "color_black.css").unwrap();
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    sync_cmd(&db, &root).arg("import").expect_success();
    db.exec_with(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, \
         lastmodified) VALUES ('color_black.css', 2, ?, ?, 'color_black.css', UNIX_TIMESTAMP())",
        (&attachedto, &content),
    );
    sync_cmd(&db, &root).arg("import").run();
    assert_eq!(sheet_row(&db, 2, "color_black.css"), Some((attachedto, content.clone())));
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(sheet(&root, "color_black.css")).unwrap(), content);
}

#[test]
fn a_stylesheet_file_back_after_the_watcher_deleted_its_row_keeps_its_attachments() {
    // A writer slower than the watcher's deletion window (an unlink, then the new content
    // written on a loaded machine): the row goes, then the file is back. The stylesheet must
    // come back as it was attached ('black': the colour scheme), not linked on every page.
    let (db, _dir, root) = exported("exist_watch_slow_writer");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    wait_until("the deletion to reach the database", DEADLINE, || {
        sheet_rows(&db, 2, "color_black.css") == 0
    });
    std::fs::write(sheet(&root, "color_black.css"), "a { color: #111 }").unwrap();
    wait_until("the file to be back in the database", DEADLINE, || {
        sheet_rows(&db, 2, "color_black.css") == 1
    });
    let log = stop_watching(run);
    assert_eq!(
        sheet_row(&db, 2, "color_black.css"),
        Some(("black".to_owned(), b"a { color: #111 }".to_vec())),
        "{log}"
    );
}

#[test]
fn a_file_deleted_while_no_watcher_ran_is_deleted_by_watch_no_pull_as_by_a_pull() {
    // The start-up reconcile walks the tree, which cannot find a file that is gone: without
    // pulls, the watcher never saw it, and `status` said `deleted` for ever.
    let (db, _dir, root) = exported("exist_watch_deleted_while_off");
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    wait_until("the deletion to reach the database", DEADLINE, || {
        sheet_rows(&db, 2, "color_black.css") == 0
    });
    stop_watching(run);
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_folder_deleted_while_no_watcher_ran_is_held_by_watch_no_pull() {
    let (db, _dir, root) = exported("exist_watch_folder_gone_while_off");
    std::fs::remove_dir_all(root.join(THEME)).unwrap();
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    wait_until("the watcher to hold the deletion", DEADLINE, || {
        run.stderr_so_far().contains("nothing is deleted from the database")
    });
    stop_watching(run);
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 1);
}

#[test]
fn the_watcher_holds_the_deletion_of_a_whole_group_folder_however_few_its_files() {
    // `rm -rf` of one group folder with the set's own copies in it: two files, under the
    // count threshold, but a folder gone is an rm -rf, not a wish to revert each file.
    let (db, _dir, root) = exported("exist_watch_group_gone");
    let group = root.join(SET).join("Post Icon Templates");
    std::fs::write(group.join("posticons.html"), "<p>icons</p>").unwrap();
    std::fs::write(group.join("posticons_icon.html"), "<p>icon</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(template_rows(&db, 1, "posticons"), 1);
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--no-pull"]);
    std::fs::remove_dir_all(&group).unwrap();
    wait_until("the watcher to hold the deletion", DEADLINE, || {
        run.stderr_so_far().contains("nothing is deleted from the database")
    });
    let log = stop_watching(run);
    assert!(log.contains("Post Icon Templates was deleted"), "{log}");
    assert_eq!(db.template(1, "posticons").as_deref(), Some(&b"<p>icons</p>"[..]));
    assert_eq!(db.template(1, "posticons_icon").as_deref(), Some(&b"<p>icon</p>"[..]));
}

#[test]
fn a_row_deleted_because_its_file_was_is_kept_under_mybb_sync_deleted() {
    // An accidental rm: the set's copy and a template of the set's own go from the database
    // as the Admin CP would; their content, on neither side any more, is kept.
    let (db, _dir, root) = exported("exist_deleted_row_kept");
    let own = root.join(SET).join("Ungrouped Templates/zzown.html");
    std::fs::write(header(&root), "<p>mine</p>").unwrap();
    std::fs::write(&own, "<p>own</p>").unwrap();
    std::fs::write(sheet(&root, "color_black.css"), "a { color: #010101 }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    std::fs::remove_file(header(&root)).unwrap();
    std::fs::remove_file(&own).unwrap();
    std::fs::remove_file(sheet(&root, "color_black.css")).unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(template_rows(&db, 1, "header"), 0);
    assert_eq!(template_rows(&db, 1, "zzown"), 0);
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    let kept = |relative: &str| std::fs::read(kept_copy(&root, relative)).ok();
    let header_copy = kept(&format!("{SET}/Header Templates/header.html"));
    assert_eq!(header_copy.as_deref(), Some(&b"<p>mine</p>"[..]));
    let own_copy = kept(&format!("{SET}/Ungrouped Templates/zzown.html"));
    assert_eq!(own_copy.as_deref(), Some(&b"<p>own</p>"[..]));
    let sheet_copy = kept(&format!("{THEME}/color_black.css"));
    assert_eq!(sheet_copy.as_deref(), Some(&b"a { color: #010101 }"[..]));
}
