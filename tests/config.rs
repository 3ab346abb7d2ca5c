//! Where the database comes from: flags, environment, MyBB's own `inc/config.php`.

use std::path::Path;

use mybb_sync::config::DbTarget;

use crate::util::{TestCommand, TestDb, TestDir};

/// Writes `<dir>/inc/config.php` with `body` after the PHP opener.
fn write_config(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir.join("inc")).unwrap();
    std::fs::write(
        dir.join("inc/config.php"),
        format!("<?php\n/**\n * Database configuration\n */\n{body}\n"),
    )
    .unwrap();
}

/// Returns the installer's form of config.php for `target`, with `table_prefix` `prefix`.
fn installer_config(target: &DbTarget, prefix: &str) -> String {
    format!(
        "$config['database']['type'] = 'mysqli';\n\
         $config['database']['database'] = '{}';\n\
         $config['database']['table_prefix'] = '{prefix}';\n\n\
         $config['database']['hostname'] = '{}:{}';\n\
         $config['database']['username'] = '{}';\n\
         $config['database']['password'] = '{}';\n\n\
         $config['admin_dir'] = 'admin';\n\
         $config['database']['encoding'] = 'utf8mb4';\n",
        target.database, target.host, target.port, target.user, target.password
    )
}

fn export_with_mybb(mybb: &Path, root: &Path) -> TestCommand {
    TestCommand::new().arg("--mybb").arg(mybb).arg("--root").arg(root).args([
        "--no-fsync",
        "export",
        "--set",
        "Default Templates",
    ])
}

fn exported_templates(root: &Path) -> usize {
    crate::export::tree(&root.join("template_sets/Default Templates")).len()
}

#[test]
fn config_php_as_the_installer_writes_it_supplies_the_database() {
    let db = TestDb::new("config_installer_form");
    let dir = TestDir::new("config_installer_form");
    let target = DbTarget::parse_url(&db.url()).unwrap();
    write_config(&dir.join("forum"), &installer_config(&target, "mybb_"));
    export_with_mybb(&dir.join("forum"), &dir.join("sync")).expect_success();
    assert_eq!(exported_templates(&dir.join("sync")), 974);
}

#[test]
fn double_quotes_a_write_server_and_a_table_prefix_are_understood() {
    let db = TestDb::new("config_write_split");
    let dir = TestDir::new("config_write_split");
    let target = DbTarget::parse_url(&db.url()).unwrap();
    for table in [
        "templates",
        "templatesets",
        "templategroups",
        "themes",
        "themestylesheets",
        "settings",
        "datacache",
    ] {
        db.exec(&format!("RENAME TABLE mybb_{table} TO forum_{table}"));
    }
    let body = format!(
        "$config[\"database\"][\"type\"] = \"mysql_pdo\";\n\
         $config[\"database\"][\"database\"] = \"{}\";\n\
         $config[\"database\"][\"table_prefix\"] = \"forum_\";\n\
         $config['database']['read'][0]['hostname'] = 'read-replica.invalid';\n\
         $config['database']['read'][0]['username'] = 'nobody';\n\
         $config['database']['read'][0]['password'] = 'nothing';\n\
         $config['database']['write'][0]['hostname'] = \"{}:{}\";\n\
         $config['database']['write'][0]['username'] = '{}';\n\
         $config['database']['write'][0]['password'] = '{}';\n",
        target.database, target.host, target.port, target.user, target.password
    );
    write_config(&dir.join("forum"), &body);
    export_with_mybb(&dir.join("forum"), &dir.join("sync")).expect_success();
    assert_eq!(exported_templates(&dir.join("sync")), 974);
    // The flag beats config.php: the default prefix finds no tables and says so, naming the
    // prefix that has them (a configuration error).
    let out = export_with_mybb(&dir.join("forum"), &dir.join("sync2"))
        .args(["--prefix", "mybb_"])
        .expect_code(2);
    assert!(out.stderr.contains("with the table prefix \"mybb_\""), "{}", out.stderr);
    assert!(out.stderr.contains("prefixes with a templates table: \"forum_\""), "{}", out.stderr);
}

#[test]
fn a_password_with_at_colon_and_slash_works_from_config_php_and_from_a_url() {
    let db = TestDb::new("config_password_chars");
    let dir = TestDir::new("config_password_chars");
    let target = DbTarget::parse_url(&db.url()).unwrap();
    let user = format!("u{}", std::process::id());
    let password = "p@ss:w/rd";
    db.exec(&format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"));
    db.exec(&format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", db.name()));
    let as_user = DbTarget { user: user.clone(), password: password.to_owned(), ..target.clone() };
    write_config(&dir.join("forum"), &installer_config(&as_user, "mybb_"));
    let out = export_with_mybb(&dir.join("forum"), &dir.join("sync")).run();
    let url = format!(
        "mysql://{user}:p%40ss%3Aw%2Frd@{}:{}/{}",
        target.host, target.port, target.database
    );
    let by_url = TestCommand::new()
        .args(["--db", &url, "--root"])
        .arg(dir.join("sync2"))
        .args(["--no-fsync", "export", "--set", "Default Templates"])
        .run();
    db.exec(&format!("DROP USER '{user}'@'%'"));
    assert!(out.status.success(), "{}", out.stderr);
    assert!(by_url.status.success(), "{}", by_url.stderr);
    assert!(!out.stderr.contains(password) && !by_url.stderr.contains(password));
    assert_eq!(exported_templates(&dir.join("sync")), 974);

    // A wrong password: a configuration error that shows the user, never the password.
    let wrong = url.replace("p%40ss", "wrong");
    let out = TestCommand::new()
        .args(["--db", &wrong, "--root"])
        .arg(dir.join("sync3"))
        .arg("export")
        .expect_code(2);
    assert!(out.stderr.contains(&format!("mysql://{user}:***@")), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong"), "{}", out.stderr);
}

#[test]
fn flags_and_environment_beat_config_php() {
    let db = TestDb::new("config_precedence");
    let dir = TestDir::new("config_precedence");
    let target = DbTarget::parse_url(&db.url()).unwrap();
    let broken = DbTarget { database: "no_such_database_here".into(), ..target };
    write_config(&dir.join("forum"), &installer_config(&broken, "mybb_"));
    // config.php's database does not exist: a configuration error.
    export_with_mybb(&dir.join("forum"), &dir.join("a")).expect_code(2);
    export_with_mybb(&dir.join("forum"), &dir.join("b")).args(["--db", &db.url()]).expect_success();
    export_with_mybb(&dir.join("forum"), &dir.join("c"))
        .env("MYBB_DATABASE_URL", db.url())
        .expect_success();
    TestCommand::new()
        .env("MYBB_ROOT", dir.join("forum"))
        .env("MYBB_SYNC_ROOT", dir.join("d"))
        .env("MYBB_DATABASE_URL", db.url())
        .args(["export", "--set", "Default Templates"])
        .expect_success();
    assert_eq!(exported_templates(&dir.join("d")), 974);
}

#[test]
fn unsupported_boards_and_bad_configuration_are_usage_errors() {
    let dir = TestDir::new("config_usage_errors");
    write_config(
        &dir.join("mssql"),
        "$config['database']['type'] = 'mssql';\n$config['database']['database'] = 'forum';\n$config['database']['hostname'] = 'localhost';\n$config['database']['username'] = 'forum';\n$config['database']['password'] = 'secret';\n",
    );
    let out = export_with_mybb(&dir.join("mssql"), &dir.join("sync")).expect_code(2);
    assert!(out.stderr.contains("is not supported"), "{}", out.stderr);
    assert!(!out.stderr.contains("secret"), "{}", out.stderr);

    let out = export_with_mybb(&dir.join("nowhere"), &dir.join("sync")).expect_code(2);
    assert!(out.stderr.contains("config.php"), "{}", out.stderr);

    let out = TestCommand::new().arg("export").expect_code(2);
    assert!(out.stderr.contains("no database given"), "{}", out.stderr);

    let out = TestCommand::new()
        .args(["--db", "mysql://u@h/d", "--prefix", "1bad", "export"])
        .expect_code(2);
    assert!(out.stderr.contains("invalid table prefix"), "{}", out.stderr);
}
