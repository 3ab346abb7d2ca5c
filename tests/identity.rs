//! A record of the sync state belongs to the row it was synced with, not only to a path: a set
//! or theme deleted and made again under the same name in the Admin CP, or one stylesheet
//! deleted and made again, is a new item. The old item's file is never taken as the base of
//! the new row: its edits are a conflict, its unedited content is kept under
//! `.mybb-sync/deleted/`, and a deletion on disk never deletes a row it never saw.
//! See: issue 25 (records keyed by path only).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::export::{exported, sync_cmd};
use crate::util::{TestDb, TestDir, start_watching, stop_watching, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);
const EXTRA: &str = "template_sets/Extra";

/// Returns how many template rows set `sid` has titled `title`.
fn template_rows(db: &TestDb, sid: i32, title: &str) -> u64 {
    db.query_one(&format!(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = {sid} AND title = '{title}'"
    ))
}

/// Returns how many stylesheet rows theme `tid` has named `name`.
fn sheet_rows(db: &TestDb, tid: u32, name: &str) -> u64 {
    db.query_one(&format!(
        "SELECT COUNT(*) FROM mybb_themestylesheets WHERE tid = {tid} AND name = '{name}'"
    ))
}

/// Returns the fixture with a set "Extra" (sid 2) that has a `header` of its own, exported.
fn exported_with_extra_set(name: &str) -> (TestDb, TestDir, PathBuf) {
    let db = TestDb::new(name);
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (2, 'Extra')");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('header', '<p>extra</p>', 2, '1837', '', UNIX_TIMESTAMP())",
    );
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    (db, dir, root)
}

/// As the Admin CP: set 2 deleted with its templates, then a set of the same title made
/// (sid 3), with `header` as its own template if given.
fn remake_extra_set(db: &TestDb, header: Option<&str>) {
    db.exec("DELETE FROM mybb_templates WHERE sid = 2");
    db.exec("DELETE FROM mybb_templatesets WHERE sid = 2");
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (3, 'Extra')");
    if let Some(header) = header {
        db.exec(&format!(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES ('header', '{header}', 3, '1837', '', UNIX_TIMESTAMP())"
        ));
    }
}

/// As the Admin CP exporting theme 2 (Default) to a file, deleting it, and importing the file
/// again: a new theme (tid 5) of the same name with the same stylesheets.
fn remake_default_theme(db: &TestDb) {
    db.exec(
        "INSERT INTO mybb_themes (tid, name, pid, def, properties, stylesheets, allowedgroups) \
         SELECT 5, name, pid, def, properties, stylesheets, allowedgroups FROM mybb_themes \
         WHERE tid = 2",
    );
    db.exec(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, \
         lastmodified) SELECT name, 5, attachedto, stylesheet, cachefile, lastmodified \
         FROM mybb_themestylesheets WHERE tid = 2",
    );
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2");
    db.exec("DELETE FROM mybb_themes WHERE tid = 2");
}

fn kept_copy(root: &Path, relative: &str) -> PathBuf {
    root.join(".mybb-sync/deleted").join(relative)
}

#[test]
fn a_template_set_deleted_and_made_again_under_its_title_is_a_new_set_not_the_old_one() {
    let (db, _dir, root) = exported_with_extra_set("ident_set_remade");
    let header = root.join(EXTRA).join("Header Templates/header.html");
    let index = root.join(EXTRA).join("Index Page Templates/index.html");
    // An edit of the old set's inherited index, not yet imported.
    std::fs::write(&index, "<p>my index</p>").unwrap();
    remake_extra_set(&db, None);

    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(
        status.stdout.contains(&format!("conflict\t{EXTRA}/Index Page Templates/index.html")),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains(&format!("to-disk\t{EXTRA}/Header Templates/header.html")),
        "{}",
        status.stdout
    );
    // The old set's edit is not the new set's: it never lands there unasked.
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(template_rows(&db, 3, "index"), 0);
    // The old set's own header, on no side but this file, is kept before the new one's comes.
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(std::fs::read(&header).unwrap(), db.template(-2, "header").unwrap());
    let copy = kept_copy(&root, &format!("{EXTRA}/Header Templates/header.html"));
    assert_eq!(std::fs::read(copy).unwrap(), b"<p>extra</p>");
    assert_eq!(std::fs::read(&index).unwrap(), b"<p>my index</p>");
    // Once settled, the new set's files are synced as any others.
    sync_cmd(&db, &root).args(["import", "--prefer", "disk"]).arg(&index).expect_success();
    assert_eq!(db.template(3, "index").unwrap(), b"<p>my index</p>");
    std::fs::write(&header, "<p>new header</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(3, "header").unwrap(), b"<p>new header</p>");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_file_deleted_while_its_set_was_made_again_with_the_same_content_deletes_no_row() {
    let (db, _dir, root) = exported_with_extra_set("ident_set_remade_deleted");
    let header = root.join(EXTRA).join("Header Templates/header.html");
    std::fs::remove_file(&header).unwrap();
    remake_extra_set(&db, Some("<p>extra</p>"));
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(!status.stdout.contains("deleted\t"), "{}", status.stdout);
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(3, "header").unwrap(), b"<p>extra</p>");
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(&header).unwrap(), b"<p>extra</p>");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn a_file_deleted_while_its_theme_was_made_again_with_the_same_content_deletes_no_row() {
    let (db, _dir, root) = exported("ident_theme_remade");
    let sheet = root.join("styles/Default/color_black.css");
    let before = std::fs::read(&sheet).unwrap();
    std::fs::remove_file(&sheet).unwrap();
    remake_default_theme(&db);
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(status.stdout.contains("to-disk\tstyles/Default/color_black.css"), "{}", status.stdout);
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(sheet_rows(&db, 5, "color_black.css"), 1);
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(&sheet).unwrap(), before);
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn an_edit_of_a_theme_deleted_and_made_again_is_a_conflict_not_an_edit_of_the_new_one() {
    let (db, _dir, root) = exported("ident_theme_remade_edited");
    let sheet = root.join("styles/Default/color_calm.css");
    let before = std::fs::read(&sheet).unwrap();
    std::fs::write(&sheet, "a { color: edited }").unwrap();
    remake_default_theme(&db);
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(status.stdout, "conflict\tstyles/Default/color_calm.css\n");
    sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(db.stylesheet(5, "color_calm.css").unwrap(), before);
    assert_eq!(std::fs::read(&sheet).unwrap(), b"a { color: edited }");
}

#[test]
fn a_file_deleted_while_its_stylesheet_was_made_again_with_the_same_content_deletes_no_row() {
    let (db, _dir, root) = exported("ident_sheet_remade");
    let sheet = root.join("styles/Default/color_black.css");
    std::fs::remove_file(&sheet).unwrap();
    // Deleted and added again in the Admin CP (a new sid), with the same content and pages.
    db.exec(
        "INSERT INTO mybb_themestylesheets (name, tid, attachedto, stylesheet, cachefile, \
         lastmodified) SELECT name, tid, attachedto, stylesheet, cachefile, lastmodified \
         FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'",
    );
    let old: u64 = db.query_one(
        "SELECT MIN(sid) FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'",
    );
    db.exec(&format!("DELETE FROM mybb_themestylesheets WHERE sid = {old}"));
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 1);
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(sheet.exists());
}

#[test]
fn a_state_file_of_the_previous_format_is_trusted_and_rewritten_in_the_new_one() {
    let (db, _dir, root) = exported("ident_old_state");
    let state = root.join(".mybb-sync/state");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("# mybb-sync state v3"), "{text}");
    // A format before the previous one: no identity column (nor file stat, issue 32).
    let mut old = String::from(
        "# mybb-sync state v1: hash, database stamp, item. Written by mybb-sync; do not edit.\n",
    );
    // Its records: the header and the v3 trailer (the count of records) aside.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        old.push_str(&format!("{}\t{}\t{}\n", fields[0], fields[1], fields[4]));
    }
    std::fs::write(&state, old).unwrap();
    // Trusted as it was: an edit is an edit, a deletion a deletion, nothing a conflict.
    sync_cmd(&db, &root).arg("status").expect_success();
    let sheet = root.join("styles/Default/color_calm.css");
    std::fs::write(&sheet, "a { color: calm }").unwrap();
    std::fs::remove_file(root.join("styles/Default/color_black.css")).unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.stylesheet(2, "color_calm.css").unwrap(), b"a { color: calm }");
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0);
    // Written again in the new format; the record written gains its row's identity.
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.starts_with("# mybb-sync state v3"), "{text}");
    let calm = text.lines().find(|l| l.ends_with("\tstyles/Default/color_calm.css")).unwrap();
    assert!(calm.split('\t').nth(2).is_some_and(|id| id.starts_with("t2/")), "{calm}");
    sync_cmd(&db, &root).arg("status").expect_success();
}

#[test]
fn the_watcher_keeps_the_old_sets_file_when_the_admin_cp_makes_the_set_again() {
    let (db, _dir, root) = exported_with_extra_set("ident_watch_set_remade");
    let header = root.join(EXTRA).join("Header Templates/header.html");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--pull-interval", "0.1"]);
    // The Admin CP's statements are several: a pull between two of them would see set 2's
    // header deleted (a revert to the master) before the set is made again. The sync root's
    // lock, which a pull holds shared, keeps the pulls out until all are done.
    let lock = mybb_sync::sync::own_dir::lock(&root).unwrap();
    let exclusive = lock.exclusive().unwrap();
    remake_extra_set(&db, None);
    drop(exclusive);
    let master = db.template(-2, "header").unwrap();
    wait_until("the new set's header to come to disk", DEADLINE, || {
        std::fs::read(&header).is_ok_and(|b| b == master)
    });
    let log = stop_watching(run);
    let copy = kept_copy(&root, &format!("{EXTRA}/Header Templates/header.html"));
    assert_eq!(std::fs::read(copy).unwrap(), b"<p>extra</p>", "{log}");
    assert_eq!(template_rows(&db, 3, "header"), 0);
    sync_cmd(&db, &root).arg("status").expect_success();
}

/// A template new in the Admin CP (no file yet, so only a pull brings it), made before the
/// watcher starts: the watcher's first pull reads a fingerprint that already holds it.
fn new_template_before_watching(db: &TestDb) {
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('reviewsentinel', 'sentinel', 1, '1837', '', UNIX_TIMESTAMP())",
    );
}

/// Waits until the watcher's first pull has brought that template to disk: its fingerprint
/// of the tables is taken and current, and the pull is over.
fn first_pull_done(run: &crate::util::Running) {
    wait_until("the first pull to bring the new template", DEADLINE, || {
        run.stderr_so_far().contains("brought to disk from the database")
    });
}

/// Review (issue 25): the watcher's fingerprint counts sets and themes but does not name them,
/// so a set with no templates of its own (or a theme with no stylesheets of its own), deleted
/// and made again under its name, changes nothing the watcher looks at. Its records keep the
/// old sid, and every later save in that set is taken for an edit of the old set: a conflict,
/// never written, though the watcher was watching when the set was made again.
#[test]
fn review_the_watcher_sees_a_set_without_own_templates_made_again_and_a_later_save_reaches_it() {
    let name = "review_watch_pristine_set";
    let db = TestDb::new(name);
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (2, 'Extra')");
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let index = root.join(EXTRA).join("Index Page Templates/index.html");
    let state = root.join(".mybb-sync/state");
    new_template_before_watching(&db);
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "50", "--pull-interval", "0.1"]);
    first_pull_done(&run);
    // As the Admin CP: the set deleted, and a set of the same title made (sid 3).
    db.exec("DELETE FROM mybb_templatesets WHERE sid = 2");
    db.exec("INSERT INTO mybb_templatesets (sid, title) VALUES (3, 'Extra')");
    wait_until("the watcher to record the index of the new set (sid 3)", DEADLINE, || {
        // A line `hash, stamp, identity, file stat, path`: identity s3, for the index.
        std::fs::read_to_string(&state).is_ok_and(|text| {
            let path = format!("{EXTRA}/index.html");
            text.lines().any(|line| {
                let fields: Vec<&str> = line.splitn(5, '\t').collect();
                fields.get(2) == Some(&"s3") && fields.get(4) == Some(&path.as_str())
            })
        })
    });
    std::fs::write(&index, "<p>saved after the set was made again</p>").unwrap();
    wait_until("the save to reach the new set", DEADLINE, || {
        db.template(3, "index").is_some_and(|b| b == b"<p>saved after the set was made again</p>")
    });
    stop_watching(run);
}

/// Review (issue 25): an older mybb-sync reads a v2 state as unreadable. Its next save
/// re-reads the file, fails to parse it, starts from nothing, and writes a v1 state holding
/// only what it recorded, trusted from then on. An item it could not decide (a file whose row
/// was deleted in the Admin CP: "no sync state to tell") has no record there, so the next
/// import takes the file for a new one and makes the deleted row again. The same happens
/// with this version after any unreadable state, which is what the emulation below uses.
#[test]
fn review_a_row_deleted_in_the_admin_cp_stays_deleted_after_an_unreadable_state_is_rebuilt() {
    let (db, _dir, root) = exported("review_rebuilt_state");
    let sheet = root.join("styles/Default/color_black.css");
    // As the Admin CP: the stylesheet deleted from the theme.
    db.exec("DELETE FROM mybb_themestylesheets WHERE tid = 2 AND name = 'color_black.css'");
    // What an older mybb-sync makes of the v2 state file (its header is not the v1 one).
    std::fs::write(root.join(".mybb-sync/state"), "# not a state this version reads\n").unwrap();
    // The rebuild does not guess for that file (no state to tell), as documented.
    let out = sync_cmd(&db, &root).arg("export").run();
    assert!(sheet.exists(), "{}", out.stderr);
    // Nor may the next run: the row stays deleted.
    let out = sync_cmd(&db, &root).arg("import").run();
    assert_eq!(sheet_rows(&db, 2, "color_black.css"), 0, "{}", out.stderr);
}

/// Review (issue 25): `import` holds an unedited file of a set made again since, saying so (the
/// row was not deleted: a new set took the old one's name), and `--prefer disk` does not write
/// the old set's file into the new set: an unedited file is no edit, so there is nothing for
/// the disk to win. `export` then brings the new set's content, the old file kept.
#[test]
fn an_unedited_file_of_a_set_made_again_is_held_by_import_even_with_prefer_disk() {
    let (db, _dir, root) = exported_with_extra_set("ident_set_remade_prefer_disk");
    let header = root.join(EXTRA).join("Header Templates/header.html");
    remake_extra_set(&db, None);
    for args in [&["import"][..], &["import", "--prefer", "disk"]] {
        let out = sync_cmd(&db, &root).args(args).run();
        assert!(out.stderr.contains("made again in the database"), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("recreates the item"), "{args:?}: {}", out.stderr);
        assert_eq!(template_rows(&db, 3, "header"), 0, "{args:?}: {}", out.stderr);
        assert_eq!(std::fs::read(&header).unwrap(), b"<p>extra</p>");
    }
    sync_cmd(&db, &root).arg("export").expect_success();
    assert_eq!(std::fs::read(&header).unwrap(), db.template(-2, "header").unwrap());
    let copy = kept_copy(&root, &format!("{EXTRA}/Header Templates/header.html"));
    assert_eq!(std::fs::read(copy).unwrap(), b"<p>extra</p>");
    sync_cmd(&db, &root).arg("status").expect_success();
}
