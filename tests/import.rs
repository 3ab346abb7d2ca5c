//! `import`: which files reach the database, and how (safeguard 1 and the Admin CP's rules).

use std::path::{Path, PathBuf};

use crate::export::{exported, sync_cmd};
use crate::util::{self, TestDb};

const SET: &str = "template_sets/Default Templates";

fn template_path(root: &Path, group: &str, title: &str) -> PathBuf {
    root.join(SET).join(group).join(format!("{title}.html"))
}

fn row_count(db: &TestDb) -> u64 {
    db.query_one("SELECT COUNT(*) FROM mybb_templates")
}

#[test]
fn importing_an_unchanged_export_writes_nothing_even_for_trailing_whitespace() {
    let (db, _dir, root) = exported("import_unchanged");
    // 13 master templates end in whitespace, which the Admin CP would trim: still no echo.
    let trailing: u64 = db.query_one(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = -2 AND template REGEXP '[[:space:]]$'",
    );
    assert!(trailing > 0);
    let out = sync_cmd(&db, &root).arg("import").expect_success();
    assert!(out.stderr.contains("0 written, 992 unchanged, 0 refused"), "{}", out.stderr);
    assert_eq!(row_count(&db), 974);
}

#[test]
fn an_edit_of_a_master_template_is_copied_into_the_set_as_the_admin_cp_does() {
    let (db, _dir, root) = exported("import_copy_on_write");
    let path = template_path(&root, "Header Templates", "header");
    let master = db.template(-2, "header").unwrap();
    std::fs::write(&path, "<div>new header</div>\r\n\r\n  ").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_success();
    assert!(out.stderr.contains("copied into the set (copy-on-write)"), "{}", out.stderr);
    // Right-trimmed like the Admin CP; version is the board's; master untouched.
    assert_eq!(db.template(1, "header").unwrap(), b"<div>new header</div>");
    let (version, status, dateline): (String, String, u64) =
        db.query_rows("SELECT version, status, dateline FROM mybb_templates WHERE sid = 1 AND title = 'header'").remove(0);
    assert_eq!((version.as_str(), status.as_str()), ("1837", ""));
    assert!(dateline > 1_700_000_000);
    assert_eq!(db.template(-2, "header").unwrap(), master);

    // A second edit updates the set's row instead of adding one.
    std::fs::write(&path, "<div>newer</div>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<div>newer</div>");
    assert_eq!(row_count(&db), 975);
    // Saving the same content again changes nothing, not even the dateline.
    db.exec("UPDATE mybb_templates SET dateline = 5 WHERE sid = 1 AND title = 'header'");
    std::fs::write(&path, "<div>newer</div>\n").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    let dateline: u64 =
        db.query_one("SELECT dateline FROM mybb_templates WHERE sid = 1 AND title = 'header'");
    assert_eq!(dateline, 5);
}

#[test]
fn a_new_file_creates_a_template_in_the_set() {
    let (db, _dir, root) = exported("import_new_title");
    std::fs::write(
        template_path(&root, "Ungrouped Templates", "myplugin_box"),
        "<b>{$lang->hello}</b>",
    )
    .unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "myplugin_box").unwrap(), b"<b>{$lang->hello}</b>");
    assert!(db.template(-2, "myplugin_box").is_none());
}

/// Asserts that importing refuses `path` with a message containing `reason`, exits 3, and
/// leaves the templates table as it was.
#[track_caller]
fn assert_refused(db: &TestDb, root: &Path, path: &Path, reason: &str) {
    let before: Vec<(u32, Vec<u8>, u64)> =
        db.query_rows("SELECT tid, template, dateline FROM mybb_templates ORDER BY tid");
    let out = sync_cmd(db, root).arg("import").expect_code(3);
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        out.stderr.lines().any(|l| l.contains(&*name) && l.contains(reason)),
        "wanted {reason:?} for {name}:\n{}",
        out.stderr
    );
    let after: Vec<(u32, Vec<u8>, u64)> =
        db.query_rows("SELECT tid, template, dateline FROM mybb_templates ORDER BY tid");
    assert!(before == after, "the database changed");
}

#[test]
fn an_empty_file_is_skipped_with_a_warning_and_a_one_byte_file_is_accepted() {
    let (db, _dir, root) = exported("import_empty_file");
    let path = template_path(&root, "Header Templates", "header");
    std::fs::write(&path, "").unwrap();
    assert_refused(&db, &root, &path, "empty file");
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(
        out.stderr.contains(&format!(
            "warning: skipping empty file: {}",
            path.strip_prefix(&root).unwrap().display()
        )),
        "{}",
        out.stderr
    );

    std::fs::write(&path, "x").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"x");
}

#[test]
fn whitespace_only_invalid_utf8_nul_and_oversize_files_are_refused() {
    let (db, _dir, root) = exported("import_bad_bytes");
    let path = template_path(&root, "Header Templates", "header");
    std::fs::write(&path, " \r\n\t\n").unwrap();
    assert_refused(&db, &root, &path, "blank");
    std::fs::write(&path, b"abc\xff\xfedef").unwrap();
    assert_refused(&db, &root, &path, "invalid UTF-8 at byte 3");
    std::fs::write(&path, b"ab\0c").unwrap();
    assert_refused(&db, &root, &path, "NUL byte");
    std::fs::write(&path, "x".repeat(65_536)).unwrap();
    assert_refused(&db, &root, &path, "65536 bytes");
    // Exactly what a TEXT column holds is fine.
    std::fs::write(&path, "x".repeat(65_535)).unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap().len(), 65_535);
}

#[test]
fn templates_that_the_admin_cp_would_refuse_are_refused() {
    let (db, _dir, root) = exported("import_check_template");
    let path = template_path(&root, "Header Templates", "header");
    for (content, reason) in [
        ("<p>${phpinfo()}</p>", "${"),
        ("{$config['database']['password']}", "database"),
        ("<p>{$mybb->user['uid']()}</p>", "{$mybb->user['uid']()}"),
        ("{$x[$y[1]]}", "{$x[$y[1]]}"),
    ] {
        std::fs::write(&path, content).unwrap();
        assert_refused(&db, &root, &path, reason);
    }
    std::fs::write(&path, "{$mybb->settings['bbname']} {$lang->welcome}").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
}

#[test]
fn the_same_title_in_two_group_folders_is_refused_naming_both() {
    let (db, _dir, root) = exported("import_duplicate_title");
    let first = template_path(&root, "Header Templates", "header");
    let second = template_path(&root, "Ungrouped Templates", "header");
    std::fs::write(&first, "one").unwrap();
    std::fs::write(&second, "two").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    for (path, other) in [(&first, &second), (&second, &first)] {
        let line = out
            .stderr
            .lines()
            .find(|l| {
                l.starts_with(&format!("warning: {}", path.strip_prefix(&root).unwrap().display()))
            })
            .unwrap_or_else(|| panic!("{}", out.stderr));
        let other = other.strip_prefix(&root).unwrap();
        assert!(line.contains(&other.display().to_string()), "{line}");
    }
    assert!(db.template(1, "header").is_none());
}

#[test]
fn a_path_with_dot_dot_cannot_reach_another_set_or_leave_the_root() {
    let (db, dir, root) = exported("import_dot_dot");
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (2, 'Other')");
    let sneaky = root.join(SET).join("Header Templates/../../Other/Header Templates/header.html");
    std::fs::create_dir_all(root.join("template_sets/Other/Header Templates")).unwrap();
    std::fs::write(root.join("template_sets/Other/Header Templates/header.html"), "sneaky")
        .unwrap();
    // A PATH names the file it reaches (issue 27: one resolution for every command): the words
    // `A/../../Other/x` are the Other set's file, so it goes to the Other set and no other.
    // (a file never synced that differs from what the set inherits: a conflict, there.)
    let out = sync_cmd(&db, &root).arg("import").arg(&sneaky).expect_code(3);
    assert!(
        out.stderr.contains("template_sets/Other/Header Templates/header.html: conflict"),
        "{out}"
    );
    assert!(db.template(1, "header").is_none());
    // Through a link, `..` would reach the target's parent: refused, before anything is read.
    std::os::unix::fs::symlink(dir.path(), root.join(SET).join("link")).unwrap();
    let through = root.join(SET).join("link/../Header Templates/header.html");
    let out = sync_cmd(&db, &root).arg("import").arg(&through).expect_code(2);
    assert!(out.stderr.contains("after the symbolic link"), "{}", out.stderr);
    let outside = dir.join("elsewhere.html");
    std::fs::write(&outside, "x").unwrap();
    let out = sync_cmd(&db, &root).arg("import").arg(&outside).expect_code(2);
    assert!(out.stderr.contains("not under the sync root"), "{}", out.stderr);
    assert!(db.template(2, "header").is_none());
}

#[test]
fn import_of_named_paths_touches_only_those() {
    let (db, _dir, root) = exported("import_named_paths");
    let a = template_path(&root, "Header Templates", "header");
    let b = template_path(&root, "Footer Templates", "footer");
    std::fs::write(&a, "A").unwrap();
    std::fs::write(&b, "B").unwrap();
    sync_cmd(&db, &root).arg("import").arg(&a).expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"A");
    assert!(db.template(1, "footer").is_none());
    let out = sync_cmd(&db, &root).arg("import").arg(root.join("nope.html")).expect_code(2);
    assert!(out.stderr.contains("nope.html"), "{}", out.stderr);
}

#[test]
fn deleting_a_file_deletes_nothing() {
    let (db, _dir, root) = exported("import_deleted_file");
    std::fs::remove_file(template_path(&root, "Header Templates", "header")).unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(row_count(&db), 974);
}

#[test]
fn an_inherited_stylesheet_is_copied_into_the_theme_and_the_master_theme_is_read_only() {
    let (db, _dir, root) = exported("import_stylesheet_copy_on_write");
    std::fs::write(root.join("styles/Default/usercp.css"), ".usercp { color: red }").unwrap();
    std::fs::write(root.join("styles/Default/color_black.css"), "body { color: black }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    let rows: Vec<(u32, String, String, u64)> = db.query_rows(
        "SELECT tid, attachedto, cachefile, lastmodified FROM mybb_themestylesheets WHERE name = 'usercp.css' ORDER BY tid",
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1].0, rows[1].1.as_str(), rows[1].2.as_str()),
        (2, "usercp.php|private.php", "usercp.css")
    );
    assert_eq!(db.stylesheet(2, "usercp.css").unwrap(), b".usercp { color: red }");
    assert_ne!(db.stylesheet(1, "usercp.css").unwrap(), b".usercp { color: red }");
    assert_eq!(db.stylesheet(2, "color_black.css").unwrap(), b"body { color: black }");

    sync_cmd(&db, &root).args(["export", "--theme", "MyBB Master Style"]).expect_success();
    let master = db.stylesheet(1, "global.css").unwrap();
    std::fs::write(root.join("styles/MyBB Master Style/global.css"), "body {}").unwrap();
    assert_refused(
        &db,
        &root,
        &root.join("styles/MyBB Master Style/global.css"),
        "master theme is read-only",
    );
    assert_eq!(db.stylesheet(1, "global.css").unwrap(), master);
}

#[test]
fn four_byte_characters_are_refused_where_the_table_would_store_question_marks() {
    if util::mysql_only("the 3-byte utf8 column or connection to refuse is MySQL's") {
        return;
    }
    let (db, _dir, root) = exported("import_utf8mb3");
    let path = template_path(&root, "Header Templates", "header");
    std::fs::write(&path, "<p>caf\u{e9} \u{1F600}</p>").unwrap();
    db.exec("ALTER TABLE mybb_templates MODIFY template TEXT CHARACTER SET utf8mb3 NOT NULL");
    assert_refused(&db, &root, &path, "(U+1F600) at byte 9");
    // On utf8mb4 tables (MyBB's default) the same file is fine.
    db.exec("ALTER TABLE mybb_templates MODIFY template TEXT CHARACTER SET utf8mb4 NOT NULL");
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), "<p>caf\u{e9} \u{1F600}</p>".as_bytes());
}
