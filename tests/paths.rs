//! Paths that round-trip (issue 27): every command that takes a PATH accepts it as `status`
//! prints it (relative to the sync root), from the current directory, and from inside the
//! root (found as git finds its repository); a PATH naming nothing is exit 2 everywhere; a
//! `--root` that is a file is one sentence and exit 2 in every command.
//! See: issue 27.

use std::path::{Path, PathBuf};

use crate::util::{TestCommand, TestDb, TestDir};

/// The title of the template customised in "Default Templates" (sid 1), behind its master.
pub const TITLE: &str = "footer";

/// A fixture board whose "Default Templates" holds a custom copy of [`TITLE`], exported into
/// `<dir>/sync`, then given an old version (1800, behind its master's 1837) as a theme import
/// that keeps old versions gives it: `outdated` lists it as already merged. Returns the board,
/// the dir, the root and the copy's path relative to the root.
pub fn board(name: &str) -> (TestDb, TestDir, PathBuf, String) {
    let db = TestDb::new(name);
    db.exec(&format!(
        "UPDATE mybb_templates SET version = '1837' WHERE sid = -2 AND title = '{TITLE}'"
    ));
    db.exec(&format!(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         SELECT title, CONCAT('<!-- custom -->', template), 1, '1837', '', UNIX_TIMESTAMP() \
         FROM mybb_templates WHERE sid = -2 AND title = '{TITLE}'"
    ));
    let dir = TestDir::new(name);
    let root = dir.join("sync");
    at(&db, dir.path(), Some(&root)).arg("export").expect_success();
    db.exec(&format!(
        "UPDATE mybb_templates SET version = '1800' WHERE sid = 1 AND title = '{TITLE}'"
    ));
    let file = file_in(&root, "Default Templates", TITLE);
    let relative = file.strip_prefix(&root).unwrap().display().to_string();
    (db, dir, root, relative)
}

/// Returns the file of `title` in set `set` under `root`, whatever its group folder.
pub fn file_in(root: &Path, set: &str, title: &str) -> PathBuf {
    let dir = root.join("template_sets").join(set);
    for group in std::fs::read_dir(&dir).unwrap() {
        let path = group.unwrap().path().join(format!("{title}.html"));
        if path.exists() {
            return path;
        }
    }
    panic!("no file for {title} under {}", dir.display());
}

/// mybb-sync against `db`, run in `cwd`, with `--root` when given (else found from `cwd`).
pub fn at(db: &TestDb, cwd: &Path, root: Option<&Path>) -> TestCommand {
    let command = TestCommand::new().arg("--db").arg(db.url()).arg("--no-fsync").current_dir(cwd);
    match root {
        Some(root) => command.arg("--root").arg(root),
        None => command,
    }
}

/// The three forms of one PATH: (where to run, --root, the PATH as typed, what the form is).
fn forms<'a>(
    dir: &'a Path,
    root: &'a Path,
    relative: &str,
) -> Vec<(PathBuf, Option<&'a Path>, String, &'static str)> {
    let (group, name) = relative.rsplit_once('/').unwrap();
    vec![
        (dir.to_path_buf(), Some(root), relative.to_owned(), "as status prints it"),
        (dir.to_path_buf(), Some(root), format!("sync/{relative}"), "from the current directory"),
        (root.join(group), None, name.to_owned(), "from inside the root"),
    ]
}

#[test]
fn diff_takes_each_form_of_a_path() {
    let (db, dir, root, relative) = board("paths_diff");
    let file = root.join(&relative);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n<!-- edited -->");
    std::fs::write(&file, text).unwrap();
    for (cwd, given_root, path, form) in forms(dir.path(), &root, &relative) {
        let out = at(&db, &cwd, given_root).args(["diff", &path]).expect_success();
        assert!(out.stdout.contains("+<!-- edited -->"), "{form}: {out}");
        assert!(out.stdout.contains(&format!("{relative} (file)")), "{form}: {out}");
        let out = at(&db, &cwd, given_root).args(["diff", "--master", &path]).expect_success();
        assert!(
            out.stdout.contains("-<!-- custom -->") || out.stdout.contains("+<!-- custom -->"),
            "{form}: {out}"
        );
        if given_root.is_none() {
            assert!(out.stderr.contains("using the sync root"), "{form}: {out}");
        }
    }
}

#[test]
fn import_takes_each_form_of_a_path() {
    let (db, dir, root, relative) = board("paths_import");
    for (n, (cwd, given_root, path, form)) in
        forms(dir.path(), &root, &relative).into_iter().enumerate()
    {
        let content = format!("<!-- import {n} -->");
        std::fs::write(root.join(&relative), &content).unwrap();
        at(&db, &cwd, given_root).args(["import", &path]).expect_success();
        assert_eq!(db.template(1, TITLE).unwrap(), content.as_bytes(), "{form}");
    }
    // A folder, as status would print it: the whole set.
    std::fs::write(root.join(&relative), "<!-- the folder -->").unwrap();
    at(&db, dir.path(), Some(&root)).args(["import", "template_sets"]).expect_success();
    assert_eq!(db.template(1, TITLE).unwrap(), b"<!-- the folder -->");
}

#[test]
fn check_takes_each_form_of_a_path() {
    let (db, dir, root, relative) = board("paths_check");
    for (cwd, given_root, path, form) in forms(dir.path(), &root, &relative) {
        let out = at(&db, &cwd, given_root).args(["check", &path]).expect_success();
        assert!(out.stderr.contains("check: 1 file checked"), "{form}: {out}");
    }
}

#[test]
fn merge_takes_each_form_of_a_path_and_finds_the_outdated_copy() {
    let (db, dir, root, relative) = board("paths_merge");
    let listed = at(&db, dir.path(), Some(&root)).args(["outdated", "--porcelain"]).expect_code(3);
    assert!(listed.stdout.contains(&relative), "{listed}");
    for (cwd, given_root, path, form) in forms(dir.path(), &root, &relative) {
        let out = at(&db, &cwd, given_root).args(["merge", "--dry-run", &path]).run();
        assert!(!out.stderr.contains("nothing outdated"), "{form}: {out}");
        assert!(out.stderr.contains("1 outdated"), "{form}: {out}");
    }
}

#[test]
fn revert_takes_each_form_of_a_path() {
    for (n, form) in ["as status prints it", "from the current directory", "from inside the root"]
        .into_iter()
        .enumerate()
    {
        let (db, dir, root, relative) = board(&format!("paths_revert_{n}"));
        let (cwd, given_root, path, _) = forms(dir.path(), &root, &relative).swap_remove(n);
        at(&db, &cwd, given_root).args(["revert", &path]).expect_success();
        assert_eq!(db.template(1, TITLE), None, "{form}");
    }
}

#[test]
fn a_path_that_names_nothing_is_exit_2_in_every_command() {
    let (db, dir, root, relative) = board("paths_missing");
    let missing = relative.replace(".html", "_nope.html");
    for args in [
        &["import", missing.as_str()][..],
        &["diff", missing.as_str()],
        &["diff", "--master", missing.as_str()],
        &["merge", missing.as_str()],
        &["revert", missing.as_str()],
        &["check", missing.as_str()],
        &["import", "/etc/hostname"],
    ] {
        let out = at(&db, dir.path(), Some(&root)).args(args.iter().copied()).expect_code(2);
        let says = if args.contains(&"/etc/hostname") {
            "not under the sync root"
        } else {
            "no such file or folder"
        };
        assert!(out.stderr.contains(says), "{args:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "one sentence: {out}");
    }
    // Files outside the tree, too: a theme file, old masters.
    for args in [
        &["theme", "unpack", "nope.xml"][..],
        &["theme", "import", "nope.xml"],
        &["outdated", "--base", "nope.xml"],
        &["merge", "--base", "nope.xml"],
    ] {
        let out = at(&db, dir.path(), Some(&root)).args(args.iter().copied()).expect_code(2);
        assert!(out.stderr.contains("nope.xml: no such file"), "{args:?}: {out}");
    }
}

#[test]
fn a_root_that_is_a_file_is_one_sentence_and_exit_2_in_every_command() {
    let db = TestDb::new("paths_root_file");
    let dir = TestDir::new("paths_root_file");
    dir.write("x.xml", "<theme/>");
    let file = dir.join("x.xml");
    for args in [
        &["export"][..],
        &["import"],
        &["import", "a.html"],
        &["watch"],
        &["status"],
        &["cache", "rebuild"],
        &["outdated"],
        &["diff", "a.html"],
        &["merge"],
        &["revert", "a.html"],
        &["theme", "export", "Default"],
        &["theme", "import", "x.xml"],
        &["theme", "unpack", "x.xml"],
        &["check"],
        &["check", "a.html"],
    ] {
        for root in [file.clone(), file.join("below")] {
            let out = at(&db, dir.path(), Some(&root)).args(args.iter().copied()).expect_code(2);
            assert!(out.stderr.contains("is a file, not a folder"), "{args:?}: {out}");
            assert!(!out.stderr.contains("os error"), "{args:?}: {out}");
            assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out}");
        }
        // The environment's root too.
        let out = TestCommand::new()
            .arg("--db")
            .arg(db.url())
            .env("MYBB_SYNC_ROOT", &file)
            .current_dir(dir.path())
            .args(args.iter().copied())
            .expect_code(2);
        assert!(out.stderr.contains("MYBB_SYNC_ROOT"), "{args:?}: {out}");
    }
}

#[test]
fn status_run_inside_the_root_finds_it_and_says_so() {
    let (db, _dir, root, _) = board("paths_status_inside");
    let out = at(&db, &root.join("template_sets"), None).arg("status").expect_success();
    assert!(out.stderr.contains(&format!("using the sync root {}", root.display())), "{out}");
}
