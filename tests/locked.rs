//! Issue 26, part 3: on an InnoDB board, a row another transaction holds (`SELECT ... FOR
//! UPDATE` by a plugin or a backup) makes a save wait, then fail with error 1205 (lock wait
//! timeout). That is no refusal: the watcher keeps trying, says so once, and the save lands as
//! soon as the row is free; a one-shot `import` tries a few times, then refuses the item.
// See: issue 26

use std::path::{Path, PathBuf};
use std::time::Duration;

use mysql::prelude::Queryable;

use crate::export::{exported, sync_cmd};
use crate::util::{TestDb, start_watching, stop_watching, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

fn header(root: &Path) -> PathBuf {
    root.join("template_sets/Default Templates/Header Templates/header.html")
}

/// Returns an exported fixture board whose templates table is InnoDB, where set 1 has a row
/// of its own for `header` holding `<p>first</p>` (so a save is an UPDATE of that row).
fn innodb_board(name: &str) -> (TestDb, crate::util::TestDir, PathBuf) {
    let (db, dir, root) = exported(name);
    db.exec("ALTER TABLE mybb_templates ENGINE=InnoDB");
    std::fs::write(header(&root), "<p>first</p>").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>first</p>");
    (db, dir, root)
}

/// Opens a connection of its own (the test database's helpers keep theirs) and locks set 1's
/// `header` row in a transaction, as a plugin's `SELECT ... FOR UPDATE` would.
fn hold_header_row(db: &TestDb) -> mysql::Conn {
    let opts = mysql::Opts::from_url(&db.url()).unwrap();
    let mut conn = mysql::Conn::new(mysql::OptsBuilder::from_opts(opts).prefer_socket(false))
        .expect("a second connection to the test database");
    conn.query_drop("START TRANSACTION").unwrap();
    let held: Vec<u32> = conn
        .query("SELECT tid FROM mybb_templates WHERE sid = 1 AND title = 'header' FOR UPDATE")
        .unwrap();
    assert_eq!(held.len(), 1, "set 1 has its own header row");
    conn
}

#[test]
fn a_watchers_save_to_a_row_another_transaction_holds_lands_once_it_is_free() {
    let (db, _dir, root) = innodb_board("locked_watch");
    // -v: each attempt is logged at debug level, so the test sees the watcher keep trying.
    let watcher = start_watching(sync_cmd(&db, &root).arg("-v"), &["--debounce", "30"]);
    let mut held = hold_header_row(&db);
    std::fs::write(header(&root), "<p>second</p>").unwrap();
    let attempts = |log: &str| log.matches("not written yet").count();
    wait_until("three attempts at the held row", DEADLINE, || {
        attempts(&watcher.stderr_so_far()) >= 3
    });
    assert_eq!(db.template(1, "header").unwrap(), b"<p>first</p>", "written through a lock?");
    held.query_drop("ROLLBACK").unwrap();
    wait_until("the save to land once the row is free", DEADLINE, || {
        db.template(1, "header").as_deref() == Some(b"<p>second</p>")
    });
    let log = stop_watching(watcher);
    let said = log.matches("trying again until it is free").count();
    assert_eq!(said, 1, "said once, not at each attempt: {log}");
    assert!(log.contains("Lock wait timeout"), "{log}");
    assert!(log.contains("free again"), "{log}");
    assert!(!log.contains("refused"), "{log}");
}

#[test]
fn an_import_of_a_row_another_transaction_holds_refuses_it_after_a_few_tries() {
    let (db, _dir, root) = innodb_board("locked_import");
    let mut held = hold_header_row(&db);
    std::fs::write(header(&root), "<p>second</p>").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("header.html: not written"), "{out}");
    assert!(out.stderr.contains("another transaction holds the row"), "{out}");
    assert!(out.stderr.contains("not written after 3 tries"), "{out}");
    held.query_drop("ROLLBACK").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"<p>second</p>");
}
