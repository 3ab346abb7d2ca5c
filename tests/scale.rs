//! Big boards in small memory (issue 32): a board of many sets is exported part by part, and a
//! watcher's pull compares only what changed. Asserted from what the runs log at debug level
//! (how many items each part held, how many sets a pull compared), never from timing.

use std::path::Path;
use std::time::Duration;

use crate::export::sync_cmd;
use crate::util::{TestDb, TestDir, start_watching, stop_watching, wait_until};

/// The fixture's templates: one set renders this many.
const TEMPLATES: usize = 974;

/// Returns the fixture with two more template sets: "Second" (inheriting everything) and
/// "Third" (with a header of its own).
fn three_sets(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.exec(
        "INSERT INTO mybb_templatesets (sid, title) VALUES (2, 'Second'), (3, 'Third');
         INSERT INTO mybb_templates (title, template, sid, version, status, dateline)
             VALUES ('header', '<div>third header</div>', 3, '1837', '', 1700000000)",
    );
    db
}

/// Returns the number of `.html` files under `dir`, at any depth.
fn html_files(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .count()
}

/// Returns the item counts of the parts an export logged ("planned part N (K items)").
fn parts(log: &str) -> Vec<usize> {
    log.lines()
        .filter_map(|line| line.split_once("planned part ")?.1.split_once(" (")?.1.split_once(' '))
        .filter_map(|(n, _)| n.parse().ok())
        .collect()
}

#[test]
fn a_board_of_many_sets_is_exported_part_by_part_and_completely() {
    let db = three_sets("export_part_by_part");
    let dir = TestDir::new("export_part_by_part");
    let root = dir.join("sync");
    let out = sync_cmd(&db, &root)
        .env("MYBB_SYNC_TEST_HOOKS", "part-items=100")
        .env("RUST_LOG", "mybb_sync::sync::plan=debug")
        .arg("export")
        .expect_success();
    // One set at a time: no part holds more than one set's templates (and the few themes'
    // stylesheets of the last), while the board has three sets.
    let sizes = parts(&out.stderr);
    assert!(sizes.len() >= 3, "expected a part per set: {sizes:?}\n{}", out.stderr);
    assert!(sizes.iter().all(|&n| n <= TEMPLATES + 50), "a part held more than a set: {sizes:?}");
    assert!(sizes.iter().sum::<usize>() >= 3 * TEMPLATES, "{sizes:?}");
    // Every file of every set, each set's own content where it has its own row.
    for set in ["Default Templates", "Second", "Third"] {
        assert_eq!(html_files(&root.join("template_sets").join(set)), TEMPLATES, "{set}");
    }
    let header = std::fs::read(root.join("template_sets/Third/Header Templates/header.html"))
        .expect("the header of Third");
    assert_eq!(header, b"<div>third header</div>");
    // Each part's state was kept: a second export finds every file in sync.
    let again = sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!again.stderr.contains("written from the database"), "{}", again.stderr);
    for line in again.stderr.lines().filter(|l| l.contains(" written, ")) {
        assert!(line.contains(": 0 written, "), "the second export rewrote files: {line}");
    }
}

#[test]
fn a_pull_compares_only_the_set_whose_rows_changed() {
    let db = three_sets("pull_only_what_changed");
    let dir = TestDir::new("pull_only_what_changed");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let cmd = sync_cmd(&db, &root).env("RUST_LOG", "mybb_sync::sync::watcher=debug");
    let run = start_watching(cmd, &["--debounce", "30", "--pull-interval", "0.1"]);
    // The first pull has nothing to compare with: it compares every set.
    let deadline = Duration::from_secs(30);
    wait_until("the first pull", deadline, || run.stderr_so_far().contains("debug: pulled: "));
    assert!(run.stderr_so_far().contains("comparing the files of 3 set(s)"));
    db.exec("UPDATE mybb_templates SET template = '<div>edited</div>' WHERE sid = 3 AND title = 'header'");
    let header = root.join("template_sets/Third/Header Templates/header.html");
    wait_until("the edit to reach the file", deadline, || {
        std::fs::read(&header).is_ok_and(|b| b == b"<div>edited</div>")
    });
    let log = stop_watching(run);
    assert!(
        log.contains("comparing the files of 1 set(s) and 0 theme(s)"),
        "the pull compared more than the changed set:\n{log}"
    );
}

/// Returns how many files a run's plans read and how many they knew unchanged without reading
/// them, summed over its "compared files: R read, K known unchanged ..." lines.
fn reads(log: &str) -> (usize, usize) {
    log.lines()
        .filter_map(|line| line.split_once("compared files: ")?.1.split_once(" read, "))
        .filter_map(|(read, rest)| {
            Some((read.parse().ok()?, rest.split_once(' ')?.0.parse().ok()?))
        })
        .fold((0, 0), |(r, k), (read, known): (usize, usize)| (r + read, k + known))
}

#[test]
fn a_start_up_with_unchanged_files_reads_only_what_changed() {
    let db = TestDb::new("startup_reads_what_changed");
    let dir = TestDir::new("startup_reads_what_changed");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let debug = |cmd: crate::util::TestCommand| cmd.env("RUST_LOG", "mybb_sync::sync::plan=debug");
    // The first comparison after the export reads every file, and records each one's size and
    // times with the content it found.
    let first = debug(sync_cmd(&db, &root)).arg("import").expect_success();
    let (read, known) = reads(&first.stderr);
    assert!(read >= TEMPLATES && known == 0, "read {read}, known {known}:\n{}", first.stderr);
    // One file edited since, keeping its size; one whose time is ahead of the clock (written
    // in the same tick as a comparison, for all the state can tell: never known unchanged by
    // its times, git's racily clean entry).
    let header = root.join("template_sets/Default Templates/Header Templates/header.html");
    let mut bytes = std::fs::read(&header).expect("the header");
    let last = bytes.iter().rposition(|b| b.is_ascii_alphabetic()).expect("a letter");
    bytes[last] = if bytes[last] == b'x' { b'y' } else { b'x' };
    std::fs::write(&header, &bytes).unwrap();
    let footer = root.join("template_sets/Default Templates/Footer Templates/footer.html");
    let ahead = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&footer).unwrap().set_modified(ahead).unwrap();
    // A watcher's start-up and its first pull (which compares every set) read those two only
    // (the edit goes to the database), and the theme's theme.json (compared in its canonical
    // form, so always read): three files each.
    let cmd = sync_cmd(&db, &root)
        .env("RUST_LOG", "mybb_sync::sync::plan=debug,mybb_sync::sync::watcher=debug");
    let run = start_watching(cmd, &["--debounce", "30", "--pull-interval", "0.1"]);
    wait_until("the first pull", Duration::from_secs(30), || {
        run.stderr_so_far().contains("debug: pulled: ")
    });
    let log = stop_watching(run);
    assert_eq!(db.template(1, "header").as_deref(), Some(&bytes[..]), "{log}");
    let (read, known) = reads(&log);
    assert!(known >= 2 * (TEMPLATES - 2), "known {known}:\n{log}");
    assert!(read <= 6, "read {read} files where two changed:\n{log}");
}
