//! Nothing from disk, the database or config.php is trusted (issue 11): symlinks, stray files
//! in theme folders, a root of another board, unreadable files, long and clashing names, bad
//! rows, MyBB's default `localhost`, `$mybb->config` in templates, blank templates, and where
//! mybb-sync keeps its own files.
//!
//! See: issue 11.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::export::{exported, sync_cmd};
use crate::util::stop_watching as stop;
use crate::util::{Running, TestCommand, TestDb, TestDir, config_php, wait_until};

const SET: &str = "template_sets/Default Templates";
const DEADLINE: Duration = Duration::from_secs(30);

fn group(root: &Path, group: &str) -> PathBuf {
    root.join(SET).join(group)
}

fn row_count(db: &TestDb) -> u64 {
    db.query_one("SELECT COUNT(*) FROM mybb_templates")
}

fn sheet_count(db: &TestDb) -> u64 {
    db.query_one("SELECT COUNT(*) FROM mybb_themestylesheets")
}

/// Starts `watch` on `root`; returns once it is watching.
fn start_watch(cmd: TestCommand) -> Running {
    crate::util::start_watching(cmd, &["--debounce", "30"])
}

// --- 1. Symlinks -------------------------------------------------------------------------

/// A file outside the root that a link inside it points at.
fn secret(dir: &TestDir) -> PathBuf {
    let path = dir.join("secret.txt");
    std::fs::write(&path, "root:x:0:0:the secret\n").unwrap();
    path
}

#[test]
fn a_symlinked_template_file_is_refused_by_import_import_path_and_status() {
    let (db, dir, root) = exported("trust_symlink_import");
    let secret = secret(&dir);
    let evil = group(&root, "Ungrouped Templates").join("evil.html");
    symlink(&secret, &evil).unwrap();
    let header = group(&root, "Header Templates").join("header.html");
    std::fs::remove_file(&header).unwrap();
    symlink(&secret, &header).unwrap();

    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("evil.html") && out.stderr.contains("symbolic link"), "{out}");
    assert!(out.stderr.contains("header.html"), "{out}");
    let out = sync_cmd(&db, &root).arg("import").arg(&evil).expect_code(3);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    let out = sync_cmd(&db, &root).arg("import").arg(root.join(SET)).expect_code(3);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    let out = sync_cmd(&db, &root).arg("status").expect_code(3);
    assert!(out.stdout.contains("evil.html") && out.stdout.contains("symbolic link"), "{out}");
    assert!(out.stdout.contains("Header Templates/header.html"), "{out}");
    assert!(db.template(1, "evil").is_none());
    assert!(db.template(1, "header").is_none());
    assert_eq!(row_count(&db), 974);
    // Export does not write through the link either: the file it points at is untouched.
    sync_cmd(&db, &root).arg("export").expect_code(3);
    assert_eq!(std::fs::read(&secret).unwrap(), b"root:x:0:0:the secret\n");
}

#[test]
fn diff_and_revert_never_read_or_write_through_a_link() {
    let (db, dir, root) = exported("trust_symlink_revert");
    let header = group(&root, "Header Templates").join("header.html");
    std::fs::write(&header, "customised").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    let secret = secret(&dir);
    std::fs::remove_file(&header).unwrap();
    symlink(&secret, &header).unwrap();
    let out = sync_cmd(&db, &root).arg("diff").arg(&header).run();
    assert!(out.code() != Some(0) && out.stderr.contains("symbolic link"), "{out}");
    assert!(!out.stdout.contains("the secret"), "{out}");
    let out = sync_cmd(&db, &root).args(["revert", "--prefer", "db"]).arg(&header).run();
    assert!(out.code() != Some(0) && out.stderr.contains("symbolic link"), "{out}");
    // Named once, relative to the root, as every other line of revert's report.
    assert!(!out.stderr.contains(&header.display().to_string()), "{out}");
    assert_eq!(db.template(1, "header").unwrap(), b"customised");
    assert_eq!(std::fs::read(&secret).unwrap(), b"root:x:0:0:the secret\n");
}

#[test]
fn a_symlinked_template_file_is_refused_by_the_watcher() {
    let (db, dir, root) = exported("trust_symlink_watch");
    let secret = secret(&dir);
    let run = start_watch(sync_cmd(&db, &root));
    symlink(&secret, group(&root, "Ungrouped Templates").join("evil.html")).unwrap();
    wait_until("the watcher to refuse the link", DEADLINE, || {
        run.stderr_so_far().contains("symbolic link")
    });
    std::fs::write(group(&root, "Footer Templates").join("footer.html"), "real edit").unwrap();
    wait_until("the real edit to arrive", DEADLINE, || {
        db.template(1, "footer").as_deref() == Some(b"real edit")
    });
    stop(run);
    assert!(db.template(1, "evil").is_none());
}

#[test]
fn export_never_writes_through_a_symlinked_set_or_group_folder() {
    let db = TestDb::new("trust_symlink_export");
    let dir = TestDir::new("trust_symlink_export");
    let root = dir.join("sync");
    let outside_set = dir.join("outside_set");
    let outside_group = dir.join("outside_group");
    std::fs::create_dir_all(&outside_set).unwrap();
    std::fs::create_dir_all(&outside_group).unwrap();
    std::fs::create_dir_all(root.join("template_sets")).unwrap();
    symlink(&outside_set, root.join(SET)).unwrap();
    let out = sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    assert_eq!(std::fs::read_dir(&outside_set).unwrap().count(), 0);
    // Everything else was exported.
    assert!(root.join("styles/Default/global.css").is_file());

    std::fs::remove_file(root.join(SET)).unwrap();
    std::fs::create_dir_all(root.join(SET)).unwrap();
    symlink(&outside_group, group(&root, "Header Templates")).unwrap();
    let out = sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(out.stderr.contains("symbolic link"), "{out}");
    assert_eq!(std::fs::read_dir(&outside_group).unwrap().count(), 0);
    assert!(group(&root, "Footer Templates").join("footer.html").is_file());
    let out = sync_cmd(&db, &root).arg("status").expect_code(3);
    assert!(out.stdout.contains("Header Templates: symbolic link"), "{out}");
}

#[test]
fn the_sync_root_itself_may_be_a_symlink() {
    let db = TestDb::new("trust_symlink_root");
    let dir = TestDir::new("trust_symlink_root");
    std::fs::create_dir_all(dir.join("real")).unwrap();
    symlink(dir.join("real"), dir.join("sync")).unwrap();
    sync_cmd(&db, &dir.join("sync")).arg("export").expect_success();
    assert!(dir.join("real").join(SET).join("Header Templates/header.html").is_file());
    sync_cmd(&db, &dir.join("sync")).arg("status").expect_success();
}

// --- 2. Theme folders hold stylesheets only ---------------------------------------------

#[test]
fn only_names_the_admin_cp_accepts_become_stylesheets() {
    let (db, _dir, root) = exported("trust_theme_files");
    let theme = root.join("styles/Default");
    for name in ["README.md", "my style.css", "GLOBAL.CSS"] {
        std::fs::write(theme.join(name), "body { color: red }").unwrap();
    }
    let before = sheet_count(&db);
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    for name in ["README.md", "my style.css", "GLOBAL.CSS"] {
        let line = out.stderr.lines().find(|l| l.contains(name)).unwrap_or_default();
        assert!(line.contains("not a stylesheet"), "{name}: {out}");
        assert!(line.contains("a-z0-9-_."), "{name}: {out}");
    }
    assert_eq!(sheet_count(&db), before);
    let out = sync_cmd(&db, &root).arg("status").expect_code(3);
    assert!(out.stdout.contains("README.md: not a stylesheet"), "{out}");

    // A valid new name creates a row attached to every page, as add_stylesheet does.
    for name in ["README.md", "my style.css", "GLOBAL.CSS"] {
        std::fs::remove_file(theme.join(name)).unwrap();
    }
    std::fs::write(theme.join("extra-1_a.css"), "p { margin: 0 }").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    let rows: Vec<(Vec<u8>, Vec<u8>)> = db.query_rows(
        "SELECT attachedto, cachefile FROM mybb_themestylesheets WHERE tid = 2 AND name = 'extra-1_a.css'",
    );
    assert_eq!(rows, vec![(b"".to_vec(), b"extra-1_a.css".to_vec())]);
}

#[test]
fn the_watcher_reports_a_stray_file_in_a_theme_folder_once() {
    let (db, _dir, root) = exported("trust_theme_files_watch");
    let run = start_watch(sync_cmd(&db, &root).args(["--pull-interval", "1"]));
    std::fs::write(root.join("styles/Default/README.md"), "# notes").unwrap();
    wait_until("the stray file to be reported", DEADLINE, || {
        run.stderr_so_far().contains("README.md")
    });
    // Changes in the database make the watcher look at every file again.
    for n in 0..2 {
        let body = format!("from the Admin CP {n}");
        db.exec_with(
            "REPLACE INTO mybb_templates (tid, title, template, sid, version, status, dateline) \
             VALUES (5000, 'footer', ?, 1, '1837', '', UNIX_TIMESTAMP())",
            (body.as_str(),),
        );
        let footer = group(&root, "Footer Templates").join("footer.html");
        wait_until("the Admin CP edit to reach the disk", DEADLINE, || {
            std::fs::read(&footer).is_ok_and(|b| b == body.as_bytes())
        });
    }
    let log = stop(run);
    assert_eq!(log.matches("README.md").count(), 1, "{log}");
    assert_eq!(sheet_count(&db), 17);
}

// --- 3. A root belongs to one board -----------------------------------------------------

#[test]
fn a_root_of_another_board_is_a_config_error_unless_rebound() {
    let (a, _dir, root) = exported("trust_root_board_a");
    let b = TestDb::new("trust_root_board_b");
    std::fs::write(group(&root, "Header Templates").join("header.html"), "edited for A").unwrap();
    for command in ["import", "status", "export"] {
        let out = sync_cmd(&b, &root).arg(command).expect_code(2);
        assert!(out.stderr.contains(a.name()) && out.stderr.contains(b.name()), "{out}");
        assert!(out.stderr.contains("--rebind"), "{out}");
    }
    let out = sync_cmd(&b, &root).arg("watch").expect_code(2);
    assert!(out.stderr.contains(a.name()), "{out}");
    assert!(b.template(1, "header").is_none());
    assert_eq!(
        std::fs::read(group(&root, "Header Templates").join("header.html")).unwrap(),
        b"edited for A"
    );
    // Board A still works; board B with --rebind takes the root over.
    sync_cmd(&a, &root).arg("import").expect_success();
    assert_eq!(a.template(1, "header").unwrap(), b"edited for A");
    // Rebinding forgets what was synced with A: every difference is a conflict, nothing is
    // overwritten either way; status shows it so before anything is rebound.
    let out = sync_cmd(&b, &root).args(["--rebind", "status", "--porcelain"]).expect_code(3);
    assert!(
        out.stdout
            .contains("conflict\ttemplate_sets/Default Templates/Header Templates/header.html"),
        "{out}"
    );
    sync_cmd(&b, &root).arg("status").expect_code(2);
    let out = sync_cmd(&b, &root).args(["--rebind", "import"]).expect_code(3);
    assert!(out.stderr.contains("conflict"), "{out}");
    assert!(b.template(1, "header").is_none());
    sync_cmd(&b, &root).arg("status").expect_code(3);
    let out = sync_cmd(&a, &root).arg("status").expect_code(2);
    assert!(out.stderr.contains(b.name()), "{out}");
}

#[test]
fn status_and_import_never_create_a_missing_root() {
    let db = TestDb::new("trust_missing_root");
    let dir = TestDir::new("trust_missing_root");
    let root = dir.join("mistyped");
    for command in ["status", "import"] {
        let out = sync_cmd(&db, &root).arg(command).expect_code(2);
        assert!(out.stderr.contains("mistyped") && out.stderr.contains("does not exist"), "{out}");
        assert!(!root.exists(), "{command} created the root");
    }
}

// --- 4. Unreadable files and folders ----------------------------------------------------

const NOBODY: u32 = 65534;

/// Returns `mybb-sync` run as the unprivileged user `nobody` (the tests run as root, who
/// reads everything).
fn as_nobody(db: &TestDb, root: &Path) -> TestCommand {
    TestCommand::program("setpriv")
        .args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string(), "--clear-groups"])
        .arg(crate::util::BIN)
        .arg("--db")
        .arg(db.url())
        .arg("--root")
        .arg(root)
        .arg("--no-fsync")
}

fn chown_nobody(path: &Path) {
    let status = std::process::Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_unreadable_file_is_reported_never_taken_as_missing_or_in_sync() {
    let (db, dir, root) = exported("trust_unreadable_file");
    chown_nobody(dir.path());
    let header = group(&root, "Header Templates").join("header.html");
    std::fs::write(&header, "edited, then made unreadable").unwrap();
    std::fs::set_permissions(&header, std::fs::Permissions::from_mode(0o222)).unwrap();
    let out = as_nobody(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("header.html") && out.stderr.contains("ermission denied"), "{out}");
    assert!(out.stderr.contains("1 refused"), "{out}");
    let out = as_nobody(&db, &root).arg("status").expect_code(3);
    assert!(out.stdout.contains("header.html") && out.stdout.contains("ermission denied"), "{out}");
    assert!(db.template(1, "header").is_none());
}

#[test]
fn an_unreadable_folder_does_not_end_the_watcher() {
    let (db, dir, root) = exported("trust_unreadable_dir");
    chown_nobody(dir.path());
    let closed = group(&root, "Calendar Templates");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = as_nobody(&db, &root).arg("status").expect_code(3);
    assert!(out.stdout.contains("Calendar Templates") && out.stdout.contains("ermission"), "{out}");
    let run = start_watch(as_nobody(&db, &root));
    std::fs::write(group(&root, "Footer Templates").join("footer.html"), "still watching").unwrap();
    wait_until("the edit to arrive", DEADLINE, || {
        db.template(1, "footer").as_deref() == Some(b"still watching")
    });
    let log = stop(run);
    assert!(log.contains("Calendar Templates") && log.contains("cannot read this folder"), "{log}");
    assert!(log.contains("folder by folder"), "{log}");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// --- 5. Long and clashing names ---------------------------------------------------------

#[test]
fn a_set_with_a_name_too_long_for_a_file_is_refused_and_the_rest_exported() {
    let db = TestDb::new("trust_long_name");
    let long = "€".repeat(100);
    db.exec_with("INSERT INTO mybb_templatesets (title) VALUES (?)", (long.as_str(),));
    db.exec_with("INSERT INTO mybb_themes (name, pid, def, properties, stylesheets, allowedgroups) VALUES (?, 1, 0, '', '', 'all')", (long.as_str(),));
    let dir = TestDir::new("trust_long_name");
    let root = dir.join("sync");
    let out = sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(out.stderr.contains("too long"), "{out}");
    assert!(group(&root, "Header Templates").join("header.html").is_file());
    assert!(root.join("styles/Default/global.css").is_file());
}

#[test]
fn a_title_differing_only_in_case_is_refused() {
    let (db, _dir, root) = exported("trust_case_title");
    std::fs::write(group(&root, "Header Templates").join("Header.html"), "<b>x</b>").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("Header.html") && out.stderr.contains("case"), "{out}");
    assert_eq!(row_count(&db), 974);
}

#[test]
fn two_sets_with_one_title_are_reported_never_silently_dropped() {
    let db = TestDb::new("trust_duplicate_set");
    db.exec("INSERT INTO mybb_templatesets (title) VALUES ('Default Templates')");
    let dir = TestDir::new("trust_duplicate_set");
    let root = dir.join("sync");
    let out = sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(out.stderr.contains("Default Templates") && out.stderr.contains("sid 2"), "{out}");
    assert!(group(&root, "Header Templates").join("header.html").is_file());
}

// --- 6. Bad rows ------------------------------------------------------------------------

#[test]
fn a_bad_value_in_any_column_read_is_reported_never_a_panic() {
    // (table, column, id column, id, a wrong-typed value in SQL)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("templates", "tid", "tid", "1", "'x'"),
        ("templates", "sid", "tid", "1", "'-2x'"),
        ("templates", "title", "tid", "1", "x'ff'"),
        ("templates", "template", "tid", "1", "NULL"),
        ("templates", "dateline", "tid", "1", "'-1'"),
        ("templatesets", "sid", "sid", "1", "'x'"),
        ("templatesets", "title", "sid", "1", "x'ff'"),
        ("templategroups", "prefix", "gid", "1", "x'ff'"),
        ("templategroups", "title", "gid", "1", "NULL"),
        ("themes", "tid", "tid", "2", "'x'"),
        ("themes", "name", "tid", "2", "NULL"),
        ("themes", "pid", "tid", "2", "'-5'"),
        ("themes", "def", "tid", "2", "'x'"),
        ("themes", "properties", "tid", "2", "NULL"),
        ("themes", "stylesheets", "tid", "2", "x'ff'"),
        ("themestylesheets", "sid", "sid", "1", "'x'"),
        ("themestylesheets", "name", "sid", "1", "NULL"),
        ("themestylesheets", "tid", "sid", "1", "'x'"),
        ("themestylesheets", "attachedto", "sid", "1", "NULL"),
        ("themestylesheets", "stylesheet", "sid", "1", "NULL"),
        ("themestylesheets", "cachefile", "sid", "1", "NULL"),
        ("themestylesheets", "lastmodified", "sid", "1", "'-1'"),
        ("datacache", "cache", "title", "'version'", "NULL"),
    ];
    for (table, column, id_column, id, value) in cases {
        let db = TestDb::new("trust_bad_row");
        // Make room for the bad value: a column of text that accepts NULL (a primary key
        // cannot be NULL, and an indexed column cannot be a BLOB).
        let kind = match *column {
            _ if column == id_column => "VARCHAR(20) NOT NULL",
            "template" | "stylesheet" | "properties" | "stylesheets" | "attachedto" | "cache" => {
                "LONGBLOB NULL"
            }
            _ => "VARBINARY(255) NULL",
        };
        db.exec(&format!(
            "ALTER TABLE mybb_{table} MODIFY `{column}` {kind}; \
             UPDATE mybb_{table} SET `{column}` = {value} WHERE `{id_column}` = {id}"
        ));
        let dir = TestDir::new("trust_bad_row");
        let out = sync_cmd(&db, &dir.join("sync")).arg("export").run();
        let code = out.code();
        assert!(matches!(code, Some(1 | 3)), "{table}.{column} = {value}: {out}");
        assert!(!out.stderr.contains("panicked"), "{table}.{column} = {value}: {out}");
        assert!(
            out.stderr.contains(&format!("mybb_{table} ")) && out.stderr.contains(column),
            "{table}.{column} = {value}: {out}"
        );
    }
    // A NULL dateline on a template, the case that was seen.
    let db = TestDb::new("trust_null_dateline");
    db.exec(
        "ALTER TABLE mybb_templates MODIFY dateline INT UNSIGNED NULL; \
         UPDATE mybb_templates SET dateline = NULL WHERE tid = 5",
    );
    let dir = TestDir::new("trust_null_dateline");
    let out = sync_cmd(&db, &dir.join("sync")).arg("export").run();
    assert!(matches!(out.code(), Some(1 | 3)), "{out}");
    assert!(out.stderr.contains("tid 5") && out.stderr.contains("dateline"), "{out}");
}

// --- 7. `localhost` is the Unix socket, as in PHP ---------------------------------------

#[test]
fn localhost_connects_through_the_socket_as_php_does() {
    let db = TestDb::new("trust_localhost_socket");
    let user = crate::util::unique_name("sock");
    let user = &user[..user.len().min(32)];
    let socket: String = db.query_one("SELECT @@socket");
    db.exec(&format!(
        "CREATE USER '{user}'@'localhost' IDENTIFIED BY 'pw-{user}'; \
         GRANT ALL ON `{}`.* TO '{user}'@'localhost'",
        db.name()
    ));
    struct DropUser<'a>(&'a TestDb, String);
    impl Drop for DropUser<'_> {
        fn drop(&mut self) {
            self.0.exec(&format!("DROP USER IF EXISTS '{}'@'localhost'", self.1));
        }
    }
    let _drop = DropUser(&db, user.to_owned());
    let dir = TestDir::new("trust_localhost_socket");
    dir.write(
        "forum/inc/config.php",
        config_php(&[
            ("type", "mysqli"),
            ("database", db.name()),
            ("table_prefix", "mybb_"),
            ("hostname", "localhost"),
            ("username", user),
            ("password", &format!("pw-{user}")),
            ("encoding", "utf8mb4"),
        ]),
    );
    // Where the test server's socket is not where Debian puts it, PHP would be told by php.ini.
    dir.write("php/php.ini", format!("[mysqli]\nmysqli.default_socket = {socket}\n"));
    TestCommand::new()
        .env("PHPRC", dir.join("php"))
        .arg("--mybb")
        .arg(dir.join("forum"))
        .arg("--root")
        .arg(dir.join("sync"))
        .arg("export")
        .expect_success();
    assert!(dir.join("sync").join(SET).join("Header Templates/header.html").is_file());
}

#[test]
fn the_encoding_of_config_php_is_the_connections_character_set() {
    // A board whose config says latin1 holds UTF-8 bytes in latin1 columns, as MyBB wrote them
    // through a latin1 connection: read through a latin1 connection they are the UTF-8 text.
    let db = TestDb::new("trust_encoding");
    db.exec("ALTER TABLE mybb_templates MODIFY template TEXT CHARACTER SET latin1 NOT NULL");
    {
        use mysql::prelude::Queryable;
        let mut conn = db.conn();
        conn.query_drop("SET NAMES latin1").unwrap();
        conn.exec_drop(
            "UPDATE mybb_templates SET template = ? WHERE sid = -2 AND title = 'header'",
            ("<b>café</b>",),
        )
        .unwrap();
    }
    let dir = TestDir::new("trust_encoding");
    let hostport = server_host_port(&db);
    dir.write(
        "forum/inc/config.php",
        config_php(&[
            ("type", "mysqli"),
            ("database", db.name()),
            ("table_prefix", "mybb_"),
            ("hostname", &hostport),
            ("username", "root"),
            ("password", ""),
            ("encoding", "latin1"),
        ]),
    );
    TestCommand::new()
        .arg("--mybb")
        .arg(dir.join("forum"))
        .arg("--root")
        .arg(dir.join("sync"))
        .arg("export")
        .expect_success();
    let file = std::fs::read(dir.join("sync").join(SET).join("Header Templates/header.html"));
    assert_eq!(String::from_utf8_lossy(&file.unwrap()), "<b>café</b>");
}

/// Returns the `host:port` of the test server's URL.
fn server_host_port(db: &TestDb) -> String {
    let url = db.server_url();
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

// --- 8. `$mybb->config` ------------------------------------------------------------------

#[test]
fn a_template_referring_to_mybb_config_is_refused() {
    let (db, _dir, root) = exported("trust_mybb_config");
    let footer = group(&root, "Footer Templates").join("footer.html");
    std::fs::write(&footer, "<p>{$mybb->config['database']['password']}</p>").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("$mybb->config"), "{out}");
    assert!(db.template(1, "footer").is_none());
}

// --- 9. Blank templates -----------------------------------------------------------------

#[test]
fn a_blank_row_with_a_blank_file_is_in_sync_and_prefer_db_refills_an_emptied_file() {
    let db = TestDb::new("trust_blank");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '', 1, '1837', '', 1700000000)",
    );
    let dir = TestDir::new("trust_blank");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let footer = group(&root, "Footer Templates").join("footer.html");
    assert_eq!(std::fs::read(&footer).unwrap(), b"");
    sync_cmd(&db, &root).arg("import").expect_success();
    sync_cmd(&db, &root).arg("status").expect_success();
    sync_cmd(&db, &root).arg("export").expect_success();

    let header = group(&root, "Header Templates").join("header.html");
    let master = db.template(-2, "header").unwrap();
    std::fs::write(&header, "").unwrap();
    sync_cmd(&db, &root).arg("import").expect_code(3);
    sync_cmd(&db, &root).args(["export", "--prefer", "db"]).expect_success();
    assert_eq!(std::fs::read(&header).unwrap(), master);
}

// --- 10. mybb-sync's own files ----------------------------------------------------------

#[test]
fn own_files_live_in_a_folder_git_ignores_and_old_roots_are_migrated() {
    let (db, _dir, root) = exported("trust_own_dir");
    let own = root.join(".mybb-sync");
    assert_eq!(std::fs::read(own.join(".gitignore")).unwrap(), b"*\n");
    assert!(own.join("state").is_file());
    let top: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(top, [".mybb-sync"]);

    // A root of an older mybb-sync: its state moves in, and still says what was synced.
    let state = std::fs::read(own.join("state")).unwrap();
    std::fs::remove_dir_all(&own).unwrap();
    std::fs::write(root.join(".mybb-sync.state"), state).unwrap();
    std::fs::write(root.join(".mybb-sync.lock"), "").unwrap();
    let header = group(&root, "Header Templates").join("header.html");
    std::fs::write(&header, "edited").unwrap();
    sync_cmd(&db, &root).arg("import").expect_success();
    assert_eq!(db.template(1, "header").unwrap(), b"edited");
    assert!(!root.join(".mybb-sync.state").exists());
    assert!(!root.join(".mybb-sync.lock").exists());
    assert!(own.join("state").is_file());
}
