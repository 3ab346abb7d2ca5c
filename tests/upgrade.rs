//! Surviving a MyBB upgrade (issue 12): `outdated`, `merge`, `revert` and `diff` on the real
//! fixture, upgraded from MyBB 1.8.26's master templates to 1.8.37's as MyBB's upgrade does it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mybb_sync::mybb::theme_xml;

use crate::export::sync_cmd;
use crate::util::{TestCommand, TestDb, TestDir};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const XML_1826: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.26-theme.xml");

/// Ten templates that changed between 1.8.26 and 1.8.37, customised above upstream's edits
/// (`headerinclude` as a global row, which MyBB's Find Updated never checks).
const CLEAN: [&str; 10] = [
    "codebuttons",
    "contact",
    "forumdisplay_threadlist",
    "headerinclude",
    "misc_smilies_popup",
    "private_quickreply",
    "private_send",
    "showthread",
    "usercp_attachments",
    "usercp_editlists",
];
/// Two that changed too, customised in the very line upstream changed.
const COLLIDING: [&str; 2] = ["modal", "usercp_options"];

/// Returns the master templates of a theme file: title -> (version, content).
pub(crate) fn masters(file: &str) -> BTreeMap<String, (String, String)> {
    let bytes = std::fs::read(Path::new(FIXTURES).join(file)).unwrap();
    let theme = theme_xml::parse(&bytes).unwrap();
    theme.templates.into_iter().map(|t| (t.name, (t.version, t.content))).collect()
}

/// Applies a release's master templates as MyBB's upgrade does (install/upgrade.php): each
/// title's master row updated (content, version as an integer, dateline), or inserted.
fn apply_masters(db: &TestDb, masters: &BTreeMap<String, (String, String)>) {
    for (title, (version, content)) in masters {
        let version: i64 = version.parse().unwrap();
        let updated = db.exec_with(
            "UPDATE mybb_templates SET template = ?, version = ?, dateline = UNIX_TIMESTAMP() \
             WHERE sid = -2 AND title = ?",
            (content, version, title),
        );
        let exists: u64 = db.query_rows_with::<u64>(
            "SELECT COUNT(*) FROM mybb_templates WHERE sid = -2 AND title = ?",
            (title,),
        )[0];
        if updated == 0 && exists == 0 {
            db.exec_with(
                "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
                 VALUES (?, ?, -2, ?, '', UNIX_TIMESTAMP())",
                (title, content, version),
            );
        }
    }
}

/// Sets the board's version code in the `version` datacache row (1.8.26 <-> 1.8.37).
fn set_board_version(db: &TestDb, release: &str, code: &str) {
    db.exec_with(
        "UPDATE mybb_datacache SET cache = ? WHERE title = 'version'",
        (format!("a:2:{{s:7:\"version\";s:6:\"{release}\";s:12:\"version_code\";i:{code};}}"),),
    );
}

/// Turns the fixture board into a MyBB 1.8.26 board: its master templates (the four that
/// 1.8.37 added removed), its version code.
pub(crate) fn downgrade_to_1826(db: &TestDb) {
    let old = masters("mybb-1.8.26-theme.xml");
    for title in masters("mybb-1.8.37-theme.xml").keys().filter(|t| !old.contains_key(*t)) {
        db.exec_with("DELETE FROM mybb_templates WHERE sid = -2 AND title = ?", (title,));
    }
    apply_masters(db, &old);
    set_board_version(db, "1.8.26", "1826");
}

/// The upgrade to 1.8.37: its master templates applied as upgrade.php does, its version code.
pub(crate) fn upgrade_to_1837(db: &TestDb) {
    apply_masters(db, &masters("mybb-1.8.37-theme.xml"));
    set_board_version(db, "1.8.37", "1837");
}

/// The copy of `title` an admin made on the 1.8.26 board: the master with a line added on top
/// (clean) or with upstream's first changed line edited (colliding). Stored right-trimmed with
/// version 1826, as the Admin CP saves it.
pub(crate) fn customise_on_1826(db: &TestDb, title: &str) {
    let old = masters("mybb-1.8.26-theme.xml");
    let new = masters("mybb-1.8.37-theme.xml");
    let base = &old[title].1;
    let content = if COLLIDING.contains(&title) {
        let (b, n): (Vec<&str>, Vec<&str>) =
            (base.lines().collect(), new[title].1.lines().collect());
        let first = b.iter().zip(&n).position(|(x, y)| x != y).unwrap();
        let mut lines: Vec<String> = b.iter().map(|l| (*l).to_owned()).collect();
        lines[first] = format!("{} <!-- mine -->", lines[first]);
        lines.join("\n")
    } else {
        format!("<!-- custom: {title} -->\n{base}")
    };
    let sid = if title == "headerinclude" { -1 } else { 1 };
    db.exec_with(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES (?, ?, ?, '1826', '', UNIX_TIMESTAMP())",
        (title, content.trim_end(), sid),
    );
}

/// MyBB's Find Updated Templates query, verbatim (admin/modules/style/templates.php).
fn mybb_find_updated(db: &TestDb) -> BTreeSet<String> {
    let rows: Vec<(u32, Vec<u8>, i32, Vec<u8>)> = db.query_rows(
        "SELECT t.tid, t.title, t.sid, t.version
         FROM mybb_templates t
         LEFT JOIN mybb_templates m ON (m.title=t.title AND m.sid=-2 AND m.version > t.version)
         WHERE t.sid > 0 AND m.template != t.template
         ORDER BY t.sid ASC, t.title ASC",
    );
    rows.into_iter().map(|(_, title, _, _)| String::from_utf8(title).unwrap()).collect()
}

/// Returns the file of `title` (set 1, or the global set for `headerinclude`) under `root`.
pub(crate) fn file_of(root: &Path, title: &str) -> PathBuf {
    let set = if title == "headerinclude" { "Global Templates" } else { "Default Templates" };
    file_in(root, set, title)
}

/// Returns the file of `title` in set `set` under `root`, whatever its group folder.
pub(crate) fn file_in(root: &Path, set: &str, title: &str) -> PathBuf {
    let dir = root.join("template_sets").join(set);
    for group in std::fs::read_dir(&dir).unwrap() {
        let path = group.unwrap().path().join(format!("{title}.html"));
        if path.exists() {
            return path;
        }
    }
    panic!("no file for {title} under {}", dir.display());
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap().display().to_string()
}

/// `outdated --porcelain`, as path -> (copy version, master version, base).
fn outdated(
    db: &TestDb,
    root: &Path,
    extra: &[&str],
) -> BTreeMap<String, (String, String, String)> {
    let out =
        sync_cmd(db, root).args(["outdated", "--porcelain"]).args(extra.iter().copied()).run();
    assert!(matches!(out.code(), Some(0 | 3)), "{out}");
    out.stdout
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 4, "{line}");
            (f[0].to_owned(), (f[1].to_owned(), f[2].to_owned(), f[3].to_owned()))
        })
        .collect()
}

/// A 1.8.26 board with the dozen customised templates, plus `footer` customised (its master
/// does not change).
fn customised_1826_board(name: &str) -> (TestDb, TestDir, PathBuf) {
    let db = TestDb::new(name);
    downgrade_to_1826(&db);
    for title in CLEAN.iter().chain(&COLLIDING) {
        customise_on_1826(&db, title);
    }
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         SELECT title, CONCAT('<!-- custom footer -->', template), 1, '1826', '', UNIX_TIMESTAMP() \
         FROM mybb_templates WHERE sid = -2 AND title = 'footer'",
    );
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    (db, dir, root)
}

/// A line added to a file before `merge`: the merge keeps it (the file is "ours").
const LOCAL_EDIT: &str = "\n<!-- edited locally, not imported yet -->";

/// Checks the files `merge` wrote: each clean one is the new master with the customisation on
/// top; each colliding one holds both sides between labelled markers.
fn check_merged_files(root: &Path, edited_locally: Option<&str>) {
    let new = masters("mybb-1.8.37-theme.xml");
    for title in CLEAN {
        let file = std::fs::read_to_string(file_of(root, title)).unwrap();
        let mut want = format!("<!-- custom: {title} -->\n{}", new[title].1.trim_end());
        if edited_locally == Some(title) {
            want.push_str(LOCAL_EDIT);
        }
        assert_eq!(file, want, "{title}");
    }
    for title in COLLIDING {
        let file = std::fs::read_to_string(file_of(root, title)).unwrap();
        assert!(file.contains("\n<<<<<<< Default Templates: your copy (version 1826)\n"), "{file}");
        let theirs = format!("\n>>>>>>> master {} (new)\n", new[title].0);
        assert!(file.contains(&theirs), "{file}");
        assert!(file.contains(" <!-- mine -->"), "{file}");
    }
}

/// Imports the merged files: the marked ones are refused, the others written with the board's
/// version code, so MyBB's Find Updated lists only the two unresolved ones afterwards.
fn import_and_check(db: &TestDb, root: &Path) {
    let out = sync_cmd(db, root).arg("import").expect_code(3);
    for title in COLLIDING {
        let path = file_of(root, title);
        let shown = path.strip_prefix(root).unwrap().display();
        assert!(out.stderr.contains(&format!("{shown}: refused: line")), "{out}");
        assert!(out.stderr.contains("merge conflict marker"), "{out}");
    }
    for title in CLEAN {
        let sid = if title == "headerinclude" { -1 } else { 1 };
        let row = db.template(sid, title).unwrap();
        assert_eq!(row, std::fs::read(file_of(root, title)).unwrap(), "{title}");
        let version: String = db.query_rows_with::<String>(
            "SELECT version FROM mybb_templates WHERE sid = ? AND title = ?",
            (sid, title),
        )[0]
        .clone();
        assert_eq!(version, "1837", "{title}");
    }
    let listed = mybb_find_updated(db);
    assert_eq!(listed, COLLIDING.iter().map(|t| (*t).to_owned()).collect::<BTreeSet<_>>());
}

#[test]
fn an_upgrade_from_1_8_26_is_merged_from_the_baseline_and_only_collisions_are_left() {
    let (db, _dir, root) = customised_1826_board("upgrade_baseline");
    // `header` is customised too; after the upgrade its master is edited by hand, without a new
    // version: only the baseline can tell.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         SELECT title, CONCAT('<!-- custom: header -->\n', template), 1, '1826', '', UNIX_TIMESTAMP() \
         FROM mybb_templates WHERE sid = -2 AND title = 'header'",
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    let baseline = root.join(".mybb-sync/baseline/masters");
    assert!(baseline.is_file());
    assert_eq!(std::fs::read(root.join(".mybb-sync/.gitignore")).unwrap(), b"*\n");
    let before = std::fs::metadata(&baseline).unwrap().len();
    // Nothing is outdated on the board the copies were made on.
    sync_cmd(&db, &root).arg("outdated").expect_success();

    upgrade_to_1837(&db);
    db.exec(
        "UPDATE mybb_templates SET template = CONCAT(template, '\n<!-- hand edit -->') \
         WHERE sid = -2 AND title = 'header'",
    );

    let found = outdated(&db, &root, &[]);
    let new = masters("mybb-1.8.37-theme.xml");
    let mut want = BTreeMap::new();
    for title in CLEAN.iter().chain(&COLLIDING).chain(&["header"]) {
        let master = &new[*title].0;
        let path = rel(&root, &file_of(&root, title));
        want.insert(path, ("1826".to_owned(), master.to_owned(), "baseline".to_owned()));
    }
    assert_eq!(found, want);
    // It covers every row MyBB's own query finds, and MyBB's finds every versioned one.
    let mybb = mybb_find_updated(&db);
    let ours: BTreeSet<String> = CLEAN
        .iter()
        .chain(&COLLIDING)
        .filter(|t| **t != "headerinclude")
        .map(|t| (*t).to_owned())
        .collect();
    assert_eq!(mybb, ours);
    let after = std::fs::metadata(&baseline).unwrap().len();
    eprintln!("baseline: {before} bytes on 1.8.26, {after} bytes after the upgrade");

    let dry = sync_cmd(&db, &root).args(["merge", "--dry-run"]).expect_code(3);
    assert!(
        dry.stderr.contains("13 outdated: 11 would merge cleanly, 2 would have conflicts"),
        "{dry}"
    );
    assert!(!std::fs::read_to_string(file_of(&root, "modal")).unwrap().contains("<<<<<<<"));

    let human = sync_cmd(&db, &root).arg("outdated").expect_code(3);
    assert!(
        human.stdout.contains(": copy 1826, master 1820 (master changed, same version)"),
        "{human}"
    );
    assert!(human.stderr.contains("13 outdated: 13 with a merge base, 0 without"), "{human}");
    let out = sync_cmd(&db, &root).arg("merge").expect_code(3);
    let conflicted: Vec<String> =
        COLLIDING.iter().map(|t| rel(&root, &file_of(&root, t))).collect();
    let summary = format!(
        "13 outdated: 11 merged cleanly, 2 with conflicts to resolve in: {}",
        conflicted.join(", ")
    );
    assert!(out.stderr.contains(&summary), "{out}");
    check_merged_files(&root, None);
    let header = std::fs::read_to_string(file_of(&root, "header")).unwrap();
    assert!(
        header.starts_with("<!-- custom: header -->\n") && header.ends_with("<!-- hand edit -->")
    );

    // Nothing reached the database: status shows local edits, and refuses the marked files.
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    for title in CLEAN {
        let line = format!("to-db\t{}\n", rel(&root, &file_of(&root, title)));
        assert!(status.stdout.contains(&line), "{line}{status}");
    }
    for title in COLLIDING {
        let line = format!("refused\t{}\tline", rel(&root, &file_of(&root, title)));
        assert!(status.stdout.contains(&line), "{line}{status}");
    }
    assert_eq!(db.template(1, "modal").unwrap(), {
        let rows: Vec<Vec<u8>> = db.query_rows(
            "SELECT template FROM mybb_templates WHERE sid = 1 AND title = 'modal' AND version = '1826'",
        );
        rows[0].clone()
    });

    import_and_check(&db, &root);
    // The merged copies build on the new masters now; the two unresolved ones wait for import.
    let left = outdated(&db, &root, &[]);
    let paths: BTreeSet<&String> = left.keys().collect();
    assert_eq!(paths, conflicted.iter().collect::<BTreeSet<_>>());
    assert!(left.values().all(|(_, _, base)| base == "merged"), "{left:?}");
}

#[test]
fn without_a_baseline_merge_takes_the_old_masters_from_the_old_release_theme_file() {
    let (db, _dir, root) = customised_1826_board("upgrade_base_xml");
    // mybb-sync arrives after the upgrade: its first export sees only the new masters.
    upgrade_to_1837(&db);
    sync_cmd(&db, &root).arg("export").expect_success();
    let edited = file_of(&root, "private_send");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str(LOCAL_EDIT);
    std::fs::write(&edited, text).unwrap();

    let found = outdated(&db, &root, &[]);
    assert_eq!(found.len(), 12, "{found:?}");
    assert!(found.values().all(|(copy, _, base)| copy == "1826" && base == "none"), "{found:?}");
    let out = sync_cmd(&db, &root).arg("merge").expect_code(3);
    assert!(out.stderr.contains("12 without a merge base (give merge --base FILE.xml"), "{out}");

    let with_xml = outdated(&db, &root, &["--base", XML_1826]);
    assert!(with_xml.values().all(|(_, _, base)| base == "xml"), "{with_xml:?}");
    let out = sync_cmd(&db, &root).args(["merge", "--base", XML_1826]).expect_code(3);
    assert!(
        out.stderr.contains("12 outdated: 10 merged cleanly, 2 with conflicts to resolve in"),
        "{out}"
    );
    let modal = std::fs::read_to_string(file_of(&root, "modal")).unwrap();
    assert!(modal.contains("(the merge base, from mybb-1.8.26-theme.xml)"), "{modal}");
    check_merged_files(&root, Some("private_send"));
    import_and_check(&db, &root);
}

#[test]
fn a_bad_base_file_is_a_usage_error() {
    let (db, dir, root) = customised_1826_board("upgrade_bad_base");
    dir.write("not-a-theme.xml", "<?xml version=\"1.0\"?><settings/>");
    let out = sync_cmd(&db, &root)
        .args(["outdated", "--base"])
        .arg(dir.join("not-a-theme.xml"))
        .expect_code(2);
    assert!(out.stderr.contains("not a MyBB theme file"), "{out}");
    // A file that never ends is read up to the cap only.
    let out = sync_cmd(&db, &root).args(["outdated", "--base", "/dev/zero"]).expect_code(2);
    assert!(out.stderr.contains("more than the 32 MiB"), "{out}");
}

/// Gives set 1 custom copies of `header` and `footer` holding `content`, as of MyBB 1.8.26.
fn copy_header_and_footer_into_set_1(db: &TestDb, content: &str) {
    db.exec(&format!(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         SELECT title, '{content}', 1, '1826', '', UNIX_TIMESTAMP() FROM mybb_templates \
         WHERE sid = -2 AND title IN ('header', 'footer')"
    ));
}

#[test]
fn revert_deletes_the_custom_row_and_the_file_becomes_the_master() {
    let db = TestDb::new("upgrade_revert");
    let dir = TestDir::new("upgrade_revert");
    let root = dir.join("sync");
    copy_header_and_footer_into_set_1(&db, "my header");
    sync_cmd(&db, &root).arg("export").expect_success();
    let header = file_of(&root, "header");
    let footer = file_of(&root, "footer");
    let masters_before: u64 = db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE sid = -2");

    let out = sync_cmd(&db, &root).arg("revert").arg(&header).expect_success();
    assert!(out.stderr.contains("reverted: the custom copy"), "{out}");
    assert_eq!(db.template(1, "header"), None);
    let master = db.template(-2, "header").unwrap();
    assert_eq!(std::fs::read(&header).unwrap(), master);
    // What the forum renders for the set is the master again: no set row, no global row.
    let rows: u64 =
        db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE title = 'header' AND sid <> -2");
    assert_eq!(rows, 0);
    sync_cmd(&db, &root).arg("status").expect_success();

    // A file edited since the last sync is a conflict, unless --prefer db discards the edit.
    std::fs::write(&footer, "edited, not imported").unwrap();
    let out = sync_cmd(&db, &root).arg("revert").arg(&footer).expect_code(3);
    assert!(out.stderr.contains("revert --prefer db discards them"), "{out}");
    assert_eq!(db.template(1, "footer").unwrap(), b"my header");
    sync_cmd(&db, &root).args(["revert", "--prefer", "db"]).arg(&footer).expect_success();
    assert_eq!(db.template(1, "footer"), None);
    assert_eq!(std::fs::read(&footer).unwrap(), db.template(-2, "footer").unwrap());

    // Never a master: a file that only shows the master is refused, and no row goes.
    let out = sync_cmd(&db, &root).arg("revert").arg(&header).expect_code(3);
    assert!(out.stderr.contains("not customised in this set"), "{out}");
    // Nor a template that has no master: deleting it would delete the template.
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('myplugin_box', 'box', 1, '1837', '', UNIX_TIMESTAMP())",
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    let plugin = file_of(&root, "myplugin_box");
    let out = sync_cmd(&db, &root).arg("revert").arg(&plugin).expect_code(3);
    assert!(out.stderr.contains("it has no master"), "{out}");
    assert_eq!(db.template(1, "myplugin_box").unwrap(), b"box");
    let masters_after: u64 = db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE sid = -2");
    assert_eq!(masters_after, masters_before);
    sync_cmd(&db, &root).arg("status").expect_success();
}

/// Runs `diff -u` on two texts with the given labels (so it prints no timestamps).
fn gnu_diff(dir: &TestDir, old: &[u8], new: &[u8], old_label: &str, new_label: &str) -> String {
    dir.write("old", old);
    dir.write("new", new);
    let out = TestCommand::program("diff")
        .args(["-u", "--label", old_label, "--label", new_label])
        .arg(dir.join("old"))
        .arg(dir.join("new"))
        .run();
    assert!(matches!(out.code(), Some(0 | 1)), "{out}");
    out.stdout
}

#[test]
fn diff_prints_what_diff_u_prints() {
    let db = TestDb::new("upgrade_diff");
    let dir = TestDir::new("upgrade_diff");
    let root = dir.join("sync");
    // Every template that changed from 1.8.26 to 1.8.37 as a copy still holding 1.8.26's text.
    let old = masters("mybb-1.8.26-theme.xml");
    let new = masters("mybb-1.8.37-theme.xml");
    let changed: Vec<&String> =
        new.keys().filter(|t| old.get(*t).is_some_and(|o| o.1 != new[*t].1)).collect();
    assert_eq!(changed.len(), 30);
    for title in &changed {
        db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES (?, ?, 1, '1826', '', UNIX_TIMESTAMP())",
            (title.as_str(), old[*title].1.as_str()),
        );
    }
    sync_cmd(&db, &root).arg("export").expect_success();
    let mut same = 0;
    let mut differ = Vec::new();
    for title in &changed {
        let path = file_in(&root, "Default Templates", title);
        let p = rel(&root, &path);
        let master = db.template(-2, title).unwrap();
        let version: String = db.query_rows_with::<String>(
            "SELECT version FROM mybb_templates WHERE sid = -2 AND title = ?",
            (title.as_str(),),
        )[0]
        .clone();
        let want = gnu_diff(
            &dir,
            &master,
            &std::fs::read(&path).unwrap(),
            &format!("{p} (master, version {version})"),
            &format!("{p} (Default Templates, version 1826)"),
        );
        let got =
            sync_cmd(&db, &root).args(["diff", "--master"]).arg(&path).expect_success().stdout;
        if got == want {
            same += 1;
        } else {
            differ.push(title.to_string());
        }
    }
    // `usercp_options` has two equally short diffs; diff -u and similar pick different ones.
    assert_eq!(differ, ["usercp_options"], "{same} equal");

    // File against database, with a local edit and no newline at the end.
    let header = file_of(&root, "showthread");
    let mut edited = std::fs::read(&header).unwrap();
    edited.extend_from_slice(b"\n<!-- local edit -->");
    edited.splice(0..0, b"<!-- top -->\n".iter().copied());
    std::fs::write(&header, &edited).unwrap();
    let p = rel(&root, &header);
    let want = gnu_diff(
        &dir,
        &db.template(1, "showthread").unwrap(),
        &edited,
        &format!("{p} (database)"),
        &format!("{p} (file)"),
    );
    let got = sync_cmd(&db, &root).arg("diff").arg(&header).expect_success().stdout;
    assert_eq!(got, want);
    // Piped: no colour. In sync: nothing.
    assert!(!got.contains('\x1b'));
    let footer = file_of(&root, "footer");
    assert_eq!(sync_cmd(&db, &root).arg("diff").arg(&footer).expect_success().stdout, "");
}

#[test]
fn the_three_way_merge_agrees_with_diff3_on_the_fixture() {
    use mybb_sync::sync::textmerge::{Labels, merge3};
    let dir = TestDir::new("upgrade_diff3");
    let old = masters("mybb-1.8.26-theme.xml");
    let new = masters("mybb-1.8.37-theme.xml");
    let labels = Labels { ours: "ours", base: "original", theirs: "theirs" };
    let (mut same, mut differ) = (0, Vec::new());
    for (title, (_, theirs)) in &new {
        let Some((_, base)) = old.get(title).filter(|(_, b)| b != theirs) else { continue };
        // Three copies: a line added on top, one at the end, and upstream's first changed line
        // edited (a collision).
        let (b, t): (Vec<&str>, Vec<&str>) = (base.lines().collect(), theirs.lines().collect());
        let first = b.iter().zip(&t).position(|(x, y)| x != y).unwrap_or(0).min(b.len() - 1);
        let mut collide: Vec<String> = b.iter().map(|l| (*l).to_owned()).collect();
        collide[first].push_str(" <!-- mine -->");
        let copies =
            [format!("<!-- top -->\n{base}"), format!("{base}\n<!-- end -->"), collide.join("\n")];
        for (n, ours) in copies.iter().enumerate() {
            let got = merge3(base, ours, theirs, labels);
            // diff3 gets the texts as merge3 compares them: right-trimmed, one final newline.
            for (name, text) in [("o", ours), ("b", base), ("t", theirs)] {
                dir.write(name, format!("{}\n", text.trim_end()));
            }
            let out = TestCommand::program("diff3")
                .args(["-m", "-L", "ours", "-L", "original", "-L", "theirs"])
                .args([dir.join("o"), dir.join("b"), dir.join("t")])
                .run();
            assert!(matches!(out.code(), Some(0 | 1)), "{out}");
            assert_eq!(got.conflicts > 0, out.code() == Some(1), "{title} copy {n}");
            if got.text == out.stdout.trim_end() {
                same += 1;
            } else {
                differ.push(format!("{title} copy {n}"));
            }
        }
    }
    // Where both sides changed the same lines, diff3 and diffy can choose different (equally
    // short) alignments for the conflict's extent.
    assert_eq!(same + differ.len(), 90);
    assert_eq!(differ, ["modal copy 2", "usercp_options copy 2"], "{same} equal");
    eprintln!("merge3 equals diff3 -m in {same} of 90 merges; differs in {differ:?}");
}

#[test]
fn a_watcher_pull_records_the_upgrade_in_the_baseline_and_keeps_the_merge_bases() {
    let (db, _dir, root) = customised_1826_board("upgrade_watch");
    sync_cmd(&db, &root).arg("export").expect_success();
    let baseline = root.join(".mybb-sync/baseline/masters");
    let before = std::fs::read(&baseline).unwrap();
    let run =
        sync_cmd(&db, &root).args(["watch", "--debounce", "30", "--pull-interval", "0.2"]).spawn();
    crate::util::wait_until("the watcher to start", std::time::Duration::from_secs(30), || {
        run.stderr_so_far().contains("watching ")
    });
    upgrade_to_1837(&db);
    let codebuttons = masters("mybb-1.8.37-theme.xml")["codebuttons"].1.clone();
    crate::util::wait_until(
        "the watcher to update the baseline",
        std::time::Duration::from_secs(30),
        || {
            std::fs::read(&baseline).is_ok_and(|now| {
                now != before && now.windows(codebuttons.len()).any(|w| w == codebuttons.as_bytes())
            })
        },
    );
    run.interrupt();
    let out = run.wait(std::time::Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{out}");
    let found = outdated(&db, &root, &[]);
    assert_eq!(found.len(), 12, "{found:?}");
    assert!(found.values().all(|(_, _, base)| base == "baseline"), "{found:?}");
}

const DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `command` held at its hook point right before it writes, runs `meanwhile` there, lets
/// it go on and returns how it ended.
fn held_before_write(
    dir: &TestDir,
    command: TestCommand,
    meanwhile: impl FnOnce(),
) -> crate::util::Output {
    let hold = dir.join("hold");
    std::fs::create_dir_all(&hold).unwrap();
    let _ = std::fs::remove_file(hold.join("held"));
    let _ = std::fs::remove_file(hold.join("go"));
    let hook = format!("hold-before-write={}", hold.display());
    let run = command.env("MYBB_SYNC_TEST_HOOKS", hook).spawn();
    crate::util::wait_until("the command to hold before writing", DEADLINE, || {
        hold.join("held").exists()
    });
    meanwhile();
    std::fs::write(hold.join("go"), b"").unwrap();
    run.wait(DEADLINE)
}

#[test]
fn a_file_saved_while_merge_runs_is_kept_and_the_others_are_merged() {
    let (db, dir, root) = customised_1826_board("upgrade_merge_race");
    sync_cmd(&db, &root).arg("export").expect_success();
    upgrade_to_1837(&db);
    let saved = file_of(&root, "contact");
    let out = held_before_write(&dir, sync_cmd(&db, &root).arg("merge"), || {
        std::fs::write(&saved, "<p>saved during the merge</p>").unwrap();
    });
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "<p>saved during the merge</p>");
    assert!(out.stderr.contains("the file was saved while merging"), "{out}");
    let new = masters("mybb-1.8.37-theme.xml");
    let merged = std::fs::read_to_string(file_of(&root, "showthread")).unwrap();
    assert_eq!(merged, format!("<!-- custom: showthread -->\n{}", new["showthread"].1.trim_end()));
    // The save is an ordinary local edit, and a second merge merges it.
    let status = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(status.stdout.contains(&rel(&root, &saved)), "{status}");
}

#[test]
fn revert_keeps_an_admin_cp_edit_or_a_save_made_while_it_runs() {
    let db = TestDb::new("upgrade_revert_race");
    let dir = TestDir::new("upgrade_revert_race");
    let root = dir.join("sync");
    copy_header_and_footer_into_set_1(&db, "my copy");
    sync_cmd(&db, &root).arg("export").expect_success();
    let header = file_of(&root, "header");
    let footer = file_of(&root, "footer");

    // The Admin CP saves the copy after revert read it: the edit is not deleted unseen.
    let out = held_before_write(&dir, sync_cmd(&db, &root).arg("revert").arg(&header), || {
        db.exec(
            "UPDATE mybb_templates SET template = 'admin edit', dateline = dateline + 1 \
             WHERE sid = 1 AND title = 'header'",
        );
    });
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(db.template(1, "header").unwrap(), b"admin edit");
    assert!(out.stderr.contains("changed or deleted in the database"), "{out}");

    // The file is saved after revert planned it (even with --prefer db): kept, row kept.
    let revert = sync_cmd(&db, &root).args(["revert", "--prefer", "db"]).arg(&footer);
    let out = held_before_write(&dir, revert, || {
        std::fs::write(&footer, "<p>saved during revert</p>").unwrap();
    });
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(std::fs::read_to_string(&footer).unwrap(), "<p>saved during revert</p>");
    assert_eq!(db.template(1, "footer").unwrap(), b"my copy");
}

/// Parses `--json` output: the item objects, then the summary.
fn json_lines(stdout: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = lines.pop().unwrap();
    (lines, summary)
}

#[test]
fn merge_and_revert_json_is_one_object_per_template_then_a_summary() {
    let (db, _dir, root) = customised_1826_board("upgrade_json");
    sync_cmd(&db, &root).arg("export").expect_success();
    upgrade_to_1837(&db);

    let dry = sync_cmd(&db, &root).args(["merge", "--dry-run", "--json"]).expect_code(3);
    let (_, summary) = json_lines(&dry.stdout);
    assert_eq!(summary["dry_run"], true, "{dry}");
    assert_eq!(summary["merged"], 10, "{dry}");

    let out = sync_cmd(&db, &root).args(["merge", "--json"]).expect_code(3);
    let (items, summary) = json_lines(&out.stdout);
    let by_action = |action: &str| -> BTreeSet<String> {
        items
            .iter()
            .filter(|i| i["action"] == action)
            .map(|i| i["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let clean: BTreeSet<String> = CLEAN.iter().map(|t| rel(&root, &file_of(&root, t))).collect();
    let colliding: BTreeSet<String> =
        COLLIDING.iter().map(|t| rel(&root, &file_of(&root, t))).collect();
    assert_eq!(by_action("merged"), clean, "{out}");
    assert_eq!(by_action("conflict"), colliding, "{out}");
    assert!(items.iter().all(|i| i["kind"] == "template"), "{out}");
    assert!(items.iter().filter(|i| i["action"] == "conflict").all(|i| i["reason"].is_string()));
    assert_eq!(
        (&summary["summary"], &summary["outdated"], &summary["merged"], &summary["conflicts"]),
        (
            &serde_json::json!("merge"),
            &serde_json::json!(12),
            &serde_json::json!(10),
            &serde_json::json!(2)
        ),
        "{out}"
    );

    // Revert: one reverted, one refused (it shows the master already).
    let modal = file_of(&root, "modal");
    let header = file_of(&root, "header");
    let out = sync_cmd(&db, &root)
        .args(["revert", "--prefer", "db", "--json"])
        .arg(&modal)
        .arg(&header)
        .expect_code(3);
    let (items, summary) = json_lines(&out.stdout);
    assert_eq!(items.len(), 2, "{out}");
    assert_eq!(items[0]["action"], "reverted", "{out}");
    assert_eq!(items[0]["path"], rel(&root, &modal), "{out}");
    assert!(items[0]["tid"].is_u64(), "{out}");
    assert_eq!(items[1]["action"], "refused", "{out}");
    assert!(items[1]["reason"].as_str().unwrap().contains("not customised"), "{out}");
    assert_eq!(
        summary,
        serde_json::json!({"summary": "revert", "reverted": 1, "conflicts": 0, "refused": 1})
    );
}
