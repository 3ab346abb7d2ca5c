//! Issue 26, part 2: a conflict copy (`header.db.html`) edited by the user is the user's: never
//! overwritten, never deleted; the database's version goes to a copy of its own, named in the
//! log and the report.
// See: issue 26

use std::path::{Path, PathBuf};

use crate::export::{exported, sync_cmd};
use crate::util::TestDb;

fn header(root: &Path) -> PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.html")
}

fn copy(root: &Path) -> PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.db.html")
}

fn second_copy(root: &Path) -> PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.2.db.db.html")
}

/// Edits template `header` as the Admin CP would (a row in set 1, fresh dateline).
fn admin_cp_edit(db: &TestDb, content: &str) {
    let updated = db.exec_with(
        "UPDATE mybb_templates SET template = ?, dateline = UNIX_TIMESTAMP() \
         WHERE sid = 1 AND title = 'header'",
        (content,),
    );
    if updated == 0 {
        db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES ('header', ?, 1, '1837', '', UNIX_TIMESTAMP())",
            (content,),
        );
    }
}

#[test]
fn a_hand_merge_in_a_conflict_copy_is_never_overwritten_nor_deleted() {
    let (db, _dir, root) = exported("copies_hand_merge");
    admin_cp_edit(&db, "<p>admin 1</p>");
    std::fs::write(header(&root), "<p>mine 1</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>admin 1</p>");

    // The user merges by hand in the copy, then saves the file again.
    std::fs::write(copy(&root), "<p>admin 1 + mine 1, merged by hand</p>").unwrap();
    std::fs::write(header(&root), "<p>mine 2</p>").unwrap();
    let out = sync_cmd(&db, &root).args(["import", "--json"]).expect_code(3);
    assert_eq!(
        std::fs::read(copy(&root)).unwrap(),
        b"<p>admin 1 + mine 1, merged by hand</p>",
        "the hand-merge was overwritten: {out}"
    );
    assert_eq!(std::fs::read(second_copy(&root)).unwrap(), b"<p>admin 1</p>", "{out}");
    let shown = second_copy(&root).strip_prefix(&root).unwrap().display().to_string();
    assert!(out.stderr.contains(&shown), "the log names where the copy went: {out}");
    assert!(out.stdout.contains(&format!("\"copy\":\"{shown}\"")), "{out}");

    // Another Admin CP edit: the copy mybb-sync wrote is its own, and is brought up to date.
    admin_cp_edit(&db, "<p>admin 2</p>");
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(std::fs::read(second_copy(&root)).unwrap(), b"<p>admin 2</p>");
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>admin 1 + mine 1, merged by hand</p>");

    // Resolved: mybb-sync's own copy goes, the user's stays.
    sync_cmd(&db, &root).args(["import", "--prefer", "disk"]).expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>mine 2</p>");
    assert!(!second_copy(&root).exists());
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>admin 1 + mine 1, merged by hand</p>");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn an_export_keeps_an_edited_copy_and_writes_the_databases_version_beside_it() {
    let (db, _dir, root) = exported("copies_export");
    admin_cp_edit(&db, "<p>admin 1</p>");
    std::fs::write(header(&root), "<p>mine 1</p>").unwrap();
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>admin 1</p>");
    std::fs::write(copy(&root), "<p>my notes</p>").unwrap();
    admin_cp_edit(&db, "<p>admin 2</p>");
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>my notes</p>");
    assert_eq!(std::fs::read(second_copy(&root)).unwrap(), b"<p>admin 2</p>");
    // Resolved the other way: the copy of the user's is kept there too.
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    assert_eq!(std::fs::read(header(&root)).unwrap(), b"<p>admin 2</p>");
    assert_eq!(std::fs::read(copy(&root)).unwrap(), b"<p>my notes</p>");
    assert!(!second_copy(&root).exists());
}
