//! A newcomer's first hour and output for scripts (issue 15): help and completions from one
//! table, errors as sentences, selection, `--json`, `.mybb-syncignore`, progress, the demo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::export::{exported, sync_cmd};
use crate::util::{TestCommand, TestDb, TestDir, wait_until};

const HEADER: &str = "template_sets/Default Templates/Header Templates/header.html";
const FOOTER: &str = "template_sets/Default Templates/Footer Templates/footer.html";
const GLOBAL_CSS: &str = "styles/Default/global.css";

/// Returns the JSON lines of `stdout`, each parsed (panicking on a line that is not JSON).
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Returns the items (all lines but the summary) and the summary of `--json` output.
fn items_and_summary(stdout: &str) -> (Vec<Value>, Value) {
    let mut lines = json_lines(stdout);
    let summary = lines.pop().expect("a summary line");
    assert!(summary.get("summary").is_some(), "the last line is no summary: {summary}");
    assert!(lines.iter().all(|l| l.get("action").is_some()), "{stdout}");
    (lines, summary)
}

// --- help and completions -------------------------------------------------------------------

#[test]
fn help_command_and_command_help_print_the_same_text() {
    let general = TestCommand::new().arg("--help").expect_success().stdout;
    assert_eq!(TestCommand::new().arg("help").expect_success().stdout, general);
    let commands = [
        "export",
        "import",
        "watch",
        "status",
        "cache",
        "theme",
        "outdated",
        "diff",
        "merge",
        "revert",
        "completions",
        "help",
    ];
    for command in commands {
        let a = TestCommand::new().args(["help", command]).expect_success().stdout;
        let b = TestCommand::new().args([command, "--help"]).expect_success().stdout;
        assert_eq!(a, b, "{command}");
        assert!(a.starts_with(&format!("mybb-sync {command}")), "{a}");
        if command == "theme" {
            // A group of actions: their index, and how to ask for one.
            assert!(a.contains("theme unpack FILE") && a.contains("help theme ACTION"), "{a}");
        } else {
            assert!(a.contains("GLOBAL OPTIONS:") && a.contains("EXIT CODES:"), "{a}");
        }
    }
    let a = TestCommand::new().args(["help", "theme", "export"]).expect_success().stdout;
    let b = TestCommand::new().args(["theme", "export", "--help"]).expect_success().stdout;
    assert_eq!(a, b);
    assert!(a.starts_with("mybb-sync theme export: "), "{a}");
    let export = TestCommand::new().args(["help", "export"]).expect_success().stdout;
    for flag in
        ["--set NAME", "--theme NAME", "--dry-run", "--prefer disk|db", "--json", "--db URL"]
    {
        assert!(export.contains(flag), "{flag}:\n{export}");
    }
    let out = TestCommand::new().args(["help", "frobnicate"]).expect_code(2);
    assert!(out.stderr.contains("frobnicate"), "{}", out.stderr);
}

#[test]
fn bash_completion_loads_and_completes_commands_flags_and_values() {
    let script = TestCommand::new().args(["completions", "bash"]).expect_success().stdout;
    let dir = TestDir::new("completions_bash");
    dir.write("mybb-sync.bash", &script);
    let file = dir.join("mybb-sync.bash");
    TestCommand::program("bash").arg("-n").arg(&file).expect_success();
    // Loads, registers, and completes as the table says.
    let probe = r#"
        source "$1"
        complete -p mybb-sync
        complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _mybb_sync; echo "${COMPREPLY[*]}"; }
        complete_words mybb-sync ex
        complete_words mybb-sync export --
        complete_words mybb-sync --root /tmp import --prefer ''
        complete_words mybb-sync export --prefer ''
        complete_words mybb-sync cache ''
        complete_words mybb-sync completions ''
        complete_words mybb-sync status --p
    "#;
    let out = TestCommand::program("bash")
        .args(["-c", probe, "probe"])
        .arg(&file)
        .expect_success()
        .stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "complete -o default -F _mybb_sync mybb-sync", "{out}");
    assert_eq!(lines[1], "export");
    for flag in ["--set", "--theme", "--dry-run", "--prefer", "--json", "--db", "--quiet"] {
        assert!(lines[2].split(' ').any(|w| w == flag), "{flag}: {}", lines[2]);
    }
    assert!(!lines[2].contains("--porcelain"), "{}", lines[2]);
    assert_eq!(lines[3], "disk db");
    assert_eq!(lines[4], "disk db");
    assert_eq!(lines[5], "rebuild");
    assert_eq!(lines[6], "bash zsh fish");
    assert_eq!(lines[7], "--porcelain --prefix");
}

#[test]
fn zsh_and_fish_completions_name_every_command_and_flag() {
    let help = TestCommand::new().arg("--help").expect_success().stdout;
    let flags: Vec<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric()))
        .collect();
    for shell in ["zsh", "fish"] {
        let script = TestCommand::new().args(["completions", shell]).expect_success().stdout;
        for command in ["export", "import", "watch", "status", "cache", "help", "completions"] {
            assert!(script.contains(command), "{shell}: {command}");
        }
        for flag in &flags {
            let name = flag.trim_start_matches('-');
            let present = match shell {
                "zsh" => script.contains(&format!("--{name}[")),
                _ => script.contains(&format!("-l {name}")),
            };
            assert!(present, "{shell}: {flag}");
        }
    }
}

/// Returns true: fails the test when `shell` cannot be run here, rather than passing without
/// it (issue 27). scripts/test.sh installs zsh, fish and tmux on CI.
fn shell_installed(shell: &str, test: &str) -> bool {
    let installed = std::process::Command::new(shell).arg("--version").output().is_ok();
    assert!(
        installed,
        "{test}: {shell} is not installed; install it (apt-get install {shell}), or run \
         scripts/test.sh, which does on CI"
    );
    installed
}

#[test]
fn zsh_loads_the_completion_script_from_fpath_and_when_sourced() {
    if !shell_installed("zsh", "zsh_loads_the_completion_script_from_fpath_and_when_sourced") {
        return;
    }
    let script = TestCommand::new().args(["completions", "zsh"]).expect_success().stdout;
    let dir = TestDir::new("completions_zsh");
    // The README's way: saved as _mybb-sync in a folder of $fpath, found by compinit.
    dir.write("functions/_mybb-sync", &script);
    let file = dir.join("functions/_mybb-sync");
    TestCommand::program("zsh").arg("-n").arg(&file).expect_success();
    let zsh = |setup: &str| {
        let line = format!(
            "{setup}; autoload -U compinit; compinit -u -D; {}; print -r -- \"$_comps[mybb-sync]\"",
            if setup.starts_with("fpath") { ":" } else { "source \"$1\"" }
        );
        TestCommand::program("zsh")
            .args(["-f", "-c", &line, "zsh"])
            .arg(&file)
            .env("HOME", dir.path())
            .expect_success()
    };
    let found = zsh(&format!("fpath=('{}' $fpath)", dir.join("functions").display()));
    assert_eq!((found.stdout.as_str(), found.stderr.as_str()), ("_mybb-sync\n", ""), "{found}");
    // `source <(mybb-sync completions zsh)` in ~/.zshrc, after compinit: registers, runs nothing.
    let sourced = zsh(":");
    assert_eq!(
        (sourced.stdout.as_str(), sourced.stderr.as_str()),
        ("_mybb_sync\n", ""),
        "{sourced}"
    );
}

#[test]
fn fish_loads_the_completion_script_and_completes_commands_flags_and_values() {
    let test = "fish_loads_the_completion_script_and_completes_commands_flags_and_values";
    if !shell_installed("fish", test) {
        return;
    }
    let script = TestCommand::new().args(["completions", "fish"]).expect_success().stdout;
    let dir = TestDir::new("completions_fish");
    dir.write("mybb-sync.fish", &script);
    let file = dir.join("mybb-sync.fish");
    TestCommand::program("fish").arg("-n").arg(&file).expect_success();
    let probe = r#"source $argv[1]
        complete -C"mybb-sync ex"
        echo ==
        complete -C"mybb-sync export --"
        echo ==
        complete -C"mybb-sync --root /tmp import --prefer "
        echo ==
        complete -C"mybb-sync completions "
    "#;
    let out = TestCommand::program("fish")
        .args(["-N", "-c", probe])
        .arg(&file)
        .env("HOME", dir.path())
        .expect_success();
    assert_eq!(out.stderr, "", "{out}");
    let parts: Vec<Vec<&str>> = out
        .stdout
        .split("==\n")
        .map(|part| part.lines().map(|l| l.split('\t').next().unwrap_or("")).collect())
        .collect();
    assert_eq!(parts[0], ["export"], "{out}");
    for flag in ["--set", "--theme", "--dry-run", "--prefer", "--json", "--db", "--quiet"] {
        assert!(parts[1].contains(&flag), "{flag}: {out}");
    }
    assert!(!parts[1].contains(&"--porcelain"), "{out}");
    assert_eq!(parts[2], ["db", "disk"], "{out}");
    assert_eq!(parts[3], ["bash", "fish", "zsh"], "{out}");
    // Descriptions keep their words (no apostrophe or colon dropped for quoting's sake).
    assert!(out.stdout.contains("MyBB's root directory"), "{out}");
}

// --- errors a person can read ---------------------------------------------------------------

/// Returns the host:port of the test server, from a test database's URL.
fn server_address(db: &TestDb) -> String {
    let target = mybb_sync::config::DbTarget::parse_url(&db.url()).unwrap();
    format!("{}:{}", target.host, target.port)
}

#[test]
fn a_refused_login_an_unknown_database_and_a_closed_port_read_as_sentences() {
    let db = TestDb::new("errors_connect");
    let dir = TestDir::new("errors_connect");
    let address = server_address(&db);
    let user = format!("nobody_{}", std::process::id());
    // Wrong settings are configuration errors (exit 2); a server that does not answer may be
    // back later (exit 1).
    let cases = [
        (
            format!("mysql://{user}:wrong@{address}/{}", db.name()),
            "the database refused the login for user",
            2,
        ),
        (
            format!("mysql://root@{address}/no_such_db_{}", std::process::id()),
            "Unknown database",
            2,
        ),
        ("mysql://root@127.0.0.1:1/forum".to_owned(), "is the database server running", 1),
    ];
    for (url, needle, code) in cases {
        let out = TestCommand::new()
            .args(["--db", &url, "--root"])
            .arg(dir.join("sync"))
            .arg("export")
            .expect_code(code);
        let line = out.stderr.lines().last().unwrap_or("");
        assert!(line.starts_with("mybb-sync: cannot connect to the database at "), "{out}");
        assert!(line.contains(needle), "{needle}: {out}");
        assert!(!line.contains("wrong"), "a password in a message: {line}");
        assert!(!line.contains("MySqlError") && !line.contains("DriverError"), "{line}");
        assert!(!line.contains("os error"), "an errno for a reader: {line}");
    }
}

#[test]
fn a_mybb_root_without_config_php_and_a_missing_file_are_named() {
    let dir = TestDir::new("errors_paths");
    let out = TestCommand::new().args(["--mybb", "/nowhere", "export"]).expect_code(2);
    assert!(out.stderr.contains("/nowhere (--mybb, MYBB_ROOT): no such directory"), "{out}");
    std::fs::create_dir_all(dir.join("forum")).unwrap();
    let out = TestCommand::new().arg("--mybb").arg(dir.join("forum")).arg("export").expect_code(2);
    assert!(out.stderr.contains("not a MyBB directory (no inc/config.php)"), "{out}");

    let (db, _dir, root) = exported("errors_missing_file");
    let out = sync_cmd(&db, &root).arg("import").arg(root.join("nope.html")).expect_code(2);
    assert!(out.stderr.contains("nope.html: no such file or folder"), "{out}");
    assert!(!out.stderr.contains("metadata"), "{out}");
}

#[test]
fn a_prefix_without_mybb_tables_is_a_configuration_error_listing_those_that_exist() {
    let db = TestDb::new("errors_prefix");
    let dir = TestDir::new("errors_prefix");
    let out =
        sync_cmd(&db, &dir.join("sync")).args(["--prefix", "forum_", "status"]).expect_code(2);
    assert!(out.stderr.contains("no MyBB tables with the table prefix \"forum_\""), "{out}");
    assert!(out.stderr.contains("prefixes with a templates table: \"mybb_\""), "{out}");
    assert!(!dir.join("sync").join(".mybb-sync.state").exists());
}

#[test]
fn warnings_are_said_once_and_name_paths_relative_to_the_sync_root() {
    let (db, dir, root) = exported("warnings_once");
    std::fs::write(root.join(GLOBAL_CSS), "body { color: red; }").unwrap();
    std::fs::write(root.join("styles/Default/css3.css"), "a { color: blue; }").unwrap();
    std::fs::write(root.join(HEADER), "<p>{$a->b()}</p>").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert_eq!(out.stderr.matches("are not live yet").count(), 1, "{out}");
    let refusal = format!("warning: {HEADER}: refused: MyBB's template check: ");
    assert!(out.stderr.contains(&refusal), "{out}");
    assert!(!out.stderr.contains("refused: refused"), "{out}");
    let absolute = dir.path().display().to_string();
    assert!(!out.stderr.contains(&absolute), "an absolute path: {out}");
}

#[test]
fn watch_names_paths_relative_to_the_sync_root() {
    let (db, dir, root) = exported("watch_relative");
    let run = sync_cmd(&db, &root).args(["watch", "--debounce", "20", "--no-pull"]).spawn();
    wait_until("the watcher to start", Duration::from_secs(30), || {
        run.stderr_so_far().contains("watching ")
    });
    std::fs::write(root.join(FOOTER), "<p>new footer</p>").unwrap();
    wait_until("the footer to be written", Duration::from_secs(30), || {
        run.stderr_so_far().contains(&format!("{FOOTER}: copied into the set"))
    });
    run.interrupt();
    let out = run.wait(Duration::from_secs(30));
    let absolute = dir.path().display().to_string();
    let footer_lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains("footer")).collect();
    assert!(footer_lines.iter().all(|l| !l.contains(&absolute)), "{out}");
}

#[test]
fn status_export_diff_and_outdated_name_paths_relative_to_the_sync_root() {
    let (db, dir, root) = exported("paths_relative");
    let absolute = dir.path().display().to_string();
    std::fs::write(root.join(HEADER), "<p>edited header</p>").unwrap();
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>old custom</p>', 1, '1800', '', 1)",
    );
    let runs = [
        (sync_cmd(&db, &root).arg("status").expect_code(3), format!("to-db     {HEADER}")),
        (sync_cmd(&db, &root).arg("export").expect_success(), format!("{HEADER}: edited since")),
        (
            sync_cmd(&db, &root).arg("diff").arg(root.join(HEADER)).expect_success(),
            format!("--- {HEADER} (database)"),
        ),
        (sync_cmd(&db, &root).arg("outdated").expect_code(3), FOOTER.to_owned()),
    ];
    for (out, relative) in runs {
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(&relative), "{relative}: {out}");
        assert!(!all.contains(&absolute), "an absolute path: {out}");
    }
}

#[test]
fn theme_export_and_unpack_name_paths_relative_to_the_sync_root() {
    let (db, dir, root) = exported("theme_relative");
    let absolute = dir.path().display().to_string();
    std::fs::write(root.join(HEADER), "<p>edited header</p>").unwrap();
    std::fs::write(root.join(FOOTER), "").unwrap();
    let out = sync_cmd(&db, &root).args(["theme", "export", "Default"]).expect_code(3);
    assert!(out.stderr.contains(&format!("warning: {HEADER}: edited, not yet")), "{out}");
    assert!(!out.stderr.contains(&absolute), "an absolute path: {out}");
    let out =
        sync_cmd(&db, &root).args(["theme", "export", "Default", "--from-files"]).expect_code(3);
    assert!(out.stderr.contains(&format!("warning: {FOOTER}: refused: empty file")), "{out}");
    assert!(!out.stderr.contains(&absolute), "an absolute path: {out}");

    std::fs::write(root.join(FOOTER), "<p>footer</p>").unwrap();
    std::fs::write(root.join(GLOBAL_CSS), "body { color: red; }").unwrap();
    let theme = sync_cmd(&db, &root).args(["theme", "export", "Default"]).expect_code(3).stdout;
    dir.write("default.xml", &theme);
    let out =
        sync_cmd(&db, &root).args(["theme", "unpack"]).arg(dir.join("default.xml")).expect_code(3);
    let in_the_way = format!("warning: {GLOBAL_CSS}: a different file is in the way");
    assert!(out.stderr.contains(&in_the_way), "{out}");
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains("in the way")).collect();
    assert!(lines.iter().all(|l| !l.contains(&absolute)), "an absolute path: {out}");
}

// --- selection means selection --------------------------------------------------------------

/// Returns the top folders (`template_sets/X`, `styles/Y`) that hold files under `root`.
fn exported_parts(root: &Path) -> Vec<String> {
    let mut parts: Vec<String> = crate::export::tree(root)
        .keys()
        .filter(|p| !p.starts_with('.'))
        .map(|p| p.split('/').take(2).collect::<Vec<_>>().join("/"))
        .collect();
    parts.dedup();
    parts
}

#[test]
fn export_selectors_select_alone_and_together() {
    let db = TestDb::new("select");
    let dir = TestDir::new("select");
    let run = |name: &str, args: &[&str]| {
        let root = dir.join(name);
        sync_cmd(&db, &root).arg("export").args(args).expect_success();
        exported_parts(&root)
    };
    assert_eq!(run("theme", &["--theme", "Default"]), ["styles/Default"]);
    assert_eq!(run("master", &["--theme", "MyBB Master Style"]), ["styles/MyBB Master Style"]);
    assert_eq!(run("set", &["--set", "Default Templates"]), ["template_sets/Default Templates"]);
    assert_eq!(
        run("both", &["--set", "Default Templates", "--theme", "Default"]),
        ["styles/Default", "template_sets/Default Templates"]
    );
    assert_eq!(run("all", &[]), ["styles/Default", "template_sets/Default Templates"]);
}

#[test]
fn status_says_deleted_for_a_deleted_file_and_export_brings_it_back() {
    let (db, _dir, root) = exported("deleted_file");
    std::fs::remove_file(root.join(HEADER)).unwrap();
    // Existence is part of the state (issue 25): `deleted`, no longer `to-disk` for ever.
    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert_eq!(
        out.stdout,
        format!("deleted\t{HEADER}\tinherited, nothing to delete: the file comes back\n")
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(root.join(HEADER).exists());
    sync_cmd(&db, &root).arg("status").expect_success();
}

// --- output for scripts ---------------------------------------------------------------------

#[test]
fn json_lines_of_status_import_and_export_parse_back() {
    let db = TestDb::new("json");
    let dir = TestDir::new("json");
    let root = dir.join("sync");
    let out = sync_cmd(&db, &root).args(["export", "--json"]).expect_success();
    let (items, summary) = items_and_summary(&out.stdout);
    assert_eq!(items.len(), 992);
    assert!(items.iter().all(|i| i["action"] == "written" && i["to"] == "disk"));
    let css = items.iter().find(|i| i["path"] == GLOBAL_CSS).expect("global.css");
    assert_eq!(css["kind"], "stylesheet");
    assert_eq!(
        (summary["summary"].as_str(), summary["written"].as_u64()),
        (Some("export"), Some(992))
    );

    std::fs::write(root.join(HEADER), "<p>new header</p>").unwrap();
    std::fs::write(root.join(FOOTER), "").unwrap();
    let out = sync_cmd(&db, &root).args(["status", "--json"]).expect_code(3);
    let (items, summary) = items_and_summary(&out.stdout);
    assert_eq!(items.len(), 2, "{}", out.stdout);
    let header = items.iter().find(|i| i["path"] == HEADER).expect("the header");
    assert_eq!(
        (header["action"].as_str(), header["kind"].as_str()),
        (Some("to-db"), Some("template"))
    );
    assert!(header.get("reason").is_none());
    let footer = items.iter().find(|i| i["path"] == FOOTER).expect("the footer");
    assert_eq!(
        (footer["action"].as_str(), footer["reason"].as_str()),
        (Some("refused"), Some("empty file"))
    );
    assert_eq!((summary["to-db"].as_u64(), summary["refused"].as_u64()), (Some(1), Some(1)));

    let out = sync_cmd(&db, &root).args(["import", "--dry-run", "--json"]).expect_code(3);
    let (items, summary) = items_and_summary(&out.stdout);
    assert_eq!(items.len(), 2);
    assert_eq!(summary["dry_run"], true);

    let out = sync_cmd(&db, &root).args(["import", "--json"]).expect_code(3);
    let (items, summary) = items_and_summary(&out.stdout);
    let written: Vec<&Value> = items.iter().filter(|i| i["action"] == "written").collect();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["path"], HEADER);
    assert_eq!(written[0]["change"], "copied into the set (copy-on-write)");
    assert!(items.iter().any(|i| i["action"] == "refused" && i["path"] == FOOTER));
    assert_eq!((summary["written"].as_u64(), summary["refused"].as_u64()), (Some(1), Some(1)));
    assert_eq!(db.template(1, "header").unwrap(), b"<p>new header</p>");

    // A conflict carries its reason and the database's copy.
    std::fs::write(root.join(FOOTER), "<p>mine</p>").unwrap();
    db.exec("INSERT INTO mybb_templates (title, template, sid, version, status, dateline) VALUES ('footer', '<p>theirs</p>', 1, '1837', '', 1)");
    let out = sync_cmd(&db, &root).args(["import", "--json"]).expect_code(3);
    let (items, summary) = items_and_summary(&out.stdout);
    let conflict = items.iter().find(|i| i["action"] == "conflict").expect("a conflict");
    assert_eq!(conflict["path"], FOOTER);
    assert!(conflict["reason"].as_str().unwrap().contains("changed on disk and in the database"));
    assert_eq!(conflict["copy"], FOOTER.replace(".html", ".db.html"));
    assert_eq!(summary["conflicts"], 1);
}

#[test]
fn outdated_lists_its_items_as_json_too() {
    let (db, _dir, root) = exported("json_outdated");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         VALUES ('footer', '<p>old custom</p>', 1, '1800', '', 1)",
    );
    let out = sync_cmd(&db, &root).args(["outdated", "--json"]).expect_code(3);
    let (items, summary) = items_and_summary(&out.stdout);
    assert_eq!(items.len(), 1, "{out}");
    let item = &items[0];
    assert_eq!((item["action"].as_str(), item["path"].as_str()), (Some("outdated"), Some(FOOTER)));
    assert_eq!(
        (item["copy_version"].as_str(), item["base"].as_str()),
        (Some("1800"), Some("none"))
    );
    assert_eq!(
        (summary["summary"].as_str(), summary["outdated"].as_u64()),
        (Some("outdated"), Some(1))
    );
}

// --- .mybb-syncignore -----------------------------------------------------------------------

#[test]
fn the_ignore_file_is_honoured_by_status_import_export_and_watch() {
    let (db, _dir, root) = exported("ignore_file");
    let scss = root.join("styles/Default/main.scss");
    std::fs::write(&scss, "$red: #f00; body { color: $red; }").unwrap();
    std::fs::write(root.join("styles/Default/README.md"), "notes").unwrap();
    // Without the ignore file each is reported as not a stylesheet, on every run.
    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(out.stdout.contains("refused\tstyles/Default/main.scss\tnot a stylesheet"), "{out}");

    std::fs::write(
        root.join(".mybb-syncignore"),
        "# build sources and notes\n*.scss\nREADME.md\n/styles/Default/global.css\n",
    )
    .unwrap();
    // status
    sync_cmd(&db, &root).arg("status").expect_success();
    // import: nothing written, not even with the file named
    let out = sync_cmd(&db, &root).arg("import").arg(&scss).expect_success();
    assert!(out.stderr.contains("0 written"), "{out}");
    assert_eq!(db.stylesheet(2, "main.scss"), None);
    // export: an ignored item is not written back either
    std::fs::remove_file(root.join(GLOBAL_CSS)).unwrap();
    sync_cmd(&db, &root).arg("export").expect_success();
    assert!(!root.join(GLOBAL_CSS).exists());
    assert!(scss.exists());
    // watch: an ignored file saved beside a real edit stays out of the database
    let run = sync_cmd(&db, &root).args(["watch", "--debounce", "20", "--no-pull"]).spawn();
    wait_until("the watcher to start", Duration::from_secs(30), || {
        run.stderr_so_far().contains("watching ")
    });
    std::fs::write(&scss, "body { color: green; }").unwrap();
    std::fs::write(root.join(FOOTER), "<p>watched</p>").unwrap();
    wait_until("the footer to reach the database", Duration::from_secs(30), || {
        db.template(1, "footer").is_some_and(|t| t == b"<p>watched</p>")
    });
    run.interrupt();
    let out = run.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(db.stylesheet(2, "main.scss"), None);
    assert!(!out.stderr.contains("main.scss"), "{out}");

    // A bad pattern is a configuration error naming its line.
    std::fs::write(root.join(".mybb-syncignore"), "*.scss\n[z-a]\n").unwrap();
    let out = sync_cmd(&db, &root).arg("status").expect_code(2);
    assert!(out.stderr.contains(".mybb-syncignore:2: "), "{out}");
}

#[test]
fn a_watcher_waits_for_a_broken_ignore_file_to_be_fixed() {
    let (db, _dir, root) = exported("ignore_file_watch");
    let run = sync_cmd(&db, &root).args(["watch", "--debounce", "20", "--no-pull"]).spawn();
    wait_until("the watcher to start", Duration::from_secs(30), || {
        run.stderr_so_far().contains("watching ")
    });
    std::fs::write(root.join(".mybb-syncignore"), "[z-a]\n").unwrap();
    std::fs::write(root.join(FOOTER), "<p>waits</p>").unwrap();
    wait_until("the warning", Duration::from_secs(30), || {
        run.stderr_so_far().contains(".mybb-syncignore:1: not a gitignore pattern")
    });
    assert_eq!(db.template(1, "footer"), None);
    std::fs::write(root.join(".mybb-syncignore"), "*.scss\n").unwrap();
    wait_until("the footer to reach the database", Duration::from_secs(30), || {
        db.template(1, "footer").is_some_and(|t| t == b"<p>waits</p>")
    });
    run.interrupt();
    let out = run.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stderr.matches("not a gitignore pattern").count(), 1, "{out}");
}

// --- progress -------------------------------------------------------------------------------

/// Returns `mybb-sync ARGS` run under `script`, so that its stderr is a terminal.
fn on_a_terminal(db: &TestDb, root: &Path, args: &str) -> String {
    let line = format!(
        "{} --db '{}' --root '{}' --no-fsync {args}",
        crate::util::BIN,
        db.url(),
        root.display()
    );
    TestCommand::program("script")
        .args(["-qec", &line, "/dev/null"])
        .env("MYBB_SYNC_TEST_HOOKS", "progress-after-ms=0")
        .expect_success()
        .stdout
}

#[test]
fn progress_shows_on_a_terminal_only_and_not_with_quiet() {
    // `script` (util-linux) gives the command a terminal; without it there is none to test on.
    if std::process::Command::new("script").arg("--version").output().is_err() {
        println!("SKIPPED progress_shows_on_a_terminal_only_and_not_with_quiet: no `script`");
        return;
    }
    let (db, dir, root) = exported("progress");
    let piped = sync_cmd(&db, &root)
        .arg("status")
        .env("MYBB_SYNC_TEST_HOOKS", "progress-after-ms=0")
        .expect_success();
    assert!(!piped.stderr.contains('\r') && !piped.stderr.contains("comparing"), "{piped}");
    let shown = on_a_terminal(&db, &root, "status");
    assert!(shown.contains("comparing: ") && shown.contains("/992 files"), "{shown}");
    assert!(shown.contains("in sync: nothing to do"), "{shown}");
    let quiet = on_a_terminal(&db, &root, "-q status");
    assert!(!quiet.contains("comparing"), "{quiet}");
    drop(dir);
}

// --- the README's first run and the demo ----------------------------------------------------

#[test]
fn the_readme_says_how_to_install_and_where_the_binary_goes() {
    let readme = include_str!("../README.md");
    assert!(readme.contains("cargo install --locked --path ."), "no install command");
    assert!(readme.contains("~/.cargo/bin/mybb-sync"), "no install location");
    let rust = env!("CARGO_PKG_RUST_VERSION");
    assert!(readme.contains(&format!("Rust {rust}")), "the README does not say Rust {rust}");
}

/// Returns the demo script run with the binary under test, the sync root `root` and `env`.
fn demo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> TestCommand {
    let mut command = TestCommand::program("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/demo.sh"))
        .args(args)
        .env("MYBB_SYNC_DEMO_BIN", crate::util::BIN)
        .env("MYBB_SYNC_DEMO_ROOT", root)
        .timeout(Duration::from_secs(300));
    for (name, value) in env {
        command = command.env(name, value);
    }
    command
}

#[test]
fn the_demo_tours_a_throwaway_server_and_keep_leaves_it_running_with_a_way_to_stop_it() {
    let dir = TestDir::new("demo_throwaway");
    let root = dir.join("sync");
    // A relative sync root is the caller's, as any path on a command line.
    let out = demo(Path::new("sync"), &["--keep"], &[("MYBB_SYNC_FORCE_THROWAWAY", "1")])
        .env_remove("MYBB_SYNC_TEST_URL")
        .current_dir(dir.path())
        .expect_success();
    let tour = &out.stdout;
    // Stopped however this test ends.
    let stop = tour
        .lines()
        .find_map(|l| l.trim().strip_prefix("bash ").filter(|p| p.ends_with("stop.sh")))
        .unwrap_or_else(|| panic!("no stop command:\n{out}"));
    let guard = StopOnDrop(PathBuf::from(stop));
    for needle in [
        "== 1. Export",
        "$ mybb-sync status",
        &format!("to-db     {HEADER}"),
        &format!("{HEADER}: copied into the set (copy-on-write)"),
        "|   1 | header |",
        &format!("warning: {HEADER}: conflict: "),
        "header.db.html",
        "$ mybb-sync import --prefer disk",
        "conflict resolved; removed",
        "in sync: nothing to do",
        "Try next",
        "The throwaway MariaDB keeps running (--keep)",
    ] {
        assert!(tour.contains(needle), "{needle:?} missing:\n{out}");
    }
    assert!(root.join(HEADER).exists());
    // The server is still there; its stop script stops it and removes its data.
    let url = tour
        .lines()
        .find_map(|l| l.split(" at ").nth(1).and_then(|r| r.split(", data").next()))
        .filter(|u| u.starts_with("mysql://"))
        .unwrap_or_else(|| panic!("no server URL:\n{out}"))
        .to_owned();
    sync_at(&url, &root).arg("status").expect_success();
    // The commands to try next work as pasted, from anywhere (watch aside: it runs until ^C).
    let next: Vec<&str> = tour
        .lines()
        .skip_while(|l| !l.starts_with("Try next"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("    ") && !l.starts_with("     ") && !l.ends_with(" watch"))
        .collect();
    assert_eq!(next.len(), 3, "{out}");
    for line in next {
        let ran = TestCommand::program("bash").args(["-c", line]).current_dir("/").run();
        assert_eq!(ran.code(), Some(0), "{line}: {ran}");
    }
    TestCommand::program("bash").arg(stop).expect_success();
    assert!(!Path::new(stop).exists(), "{stop} is still there");
    drop(guard);
    let out = sync_at(&url, &root).arg("status").expect_code(1);
    assert!(out.stderr.contains("is the database server running"), "{out}");
}

#[test]
fn the_demo_without_keep_says_its_throwaway_server_is_gone_and_removes_it() {
    let dir = TestDir::new("demo_gone");
    let root = dir.join("sync");
    let out = demo(&root, &[], &[("MYBB_SYNC_FORCE_THROWAWAY", "1")])
        .env_remove("MYBB_SYNC_TEST_URL")
        .expect_success();
    assert!(out.stdout.contains("in sync: nothing to do"), "{out}");
    assert!(out.stdout.contains("The throwaway MariaDB and its demo database are gone"), "{out}");
    assert!(out.stdout.contains("scripts/demo.sh --keep"), "{out}");
    let data = out
        .stderr
        .split("(data in ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no data directory:\n{out}"));
    assert!(!Path::new(data).exists(), "{data} is still there");
    assert!(root.join(HEADER).exists(), "the files stay");
}

/// Runs the demo's stop script when dropped, if it is still there, so that a failing test
/// leaves no server behind.
struct StopOnDrop(PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::process::Command::new("bash").arg(&self.0).status();
        }
    }
}

/// Runs mybb-sync against the demo database of the server at `server`.
fn sync_at(server: &str, root: &Path) -> TestCommand {
    TestCommand::new().arg("--db").arg(format!("{server}/mybb_sync_demo")).arg("--root").arg(root)
}

#[test]
fn a_second_demo_run_names_the_flag_that_resets_it() {
    let name = crate::util::unique_name("demo_again");
    let dir = TestDir::new("demo_again");
    let root: PathBuf = dir.join("sync");
    // A test database handle on the same server, to drop the demo's database at the end.
    let keeper = TestDb::empty("demo_again_keeper");
    let env = [("MYBB_SYNC_DEMO_DB", name.as_str()), ("MYBB_SYNC_TEST_URL", keeper.server_url())];
    let first = demo(&root, &[], &env).expect_success();
    assert!(first.stdout.contains("Try next"), "{first}");
    assert!(!first.stdout.contains("throwaway"), "{first}");
    let again = demo(&root, &[], &env).expect_code(1);
    assert!(again.stderr.contains("scripts/demo.sh --reset"), "{again}");
    std::fs::remove_dir_all(&root).unwrap();
    let again = demo(&root, &[], &env).expect_code(1);
    assert!(again.stderr.contains(&format!("the database {name} exists already")), "{again}");
    assert!(again.stderr.contains("scripts/demo.sh --reset"), "{again}");
    let reset = demo(&root, &["--reset"], &env).expect_success();
    assert!(reset.stdout.contains("in sync: nothing to do"), "{reset}");
    keeper.exec(&format!("DROP DATABASE `{name}`"));
}

#[test]
fn the_readmes_install_command_puts_the_binary_in_the_bin_folder_of_its_root() {
    // The README's command, with --root for a scratch place instead of ~/.cargo, --debug and this
    // build's own target directory so that it reuses what cargo test just built.
    let dir = TestDir::new("install");
    let target = Path::new(crate::util::BIN).parent().and_then(Path::parent).unwrap();
    let out = TestCommand::program(env!("CARGO"))
        .args(["install", "--locked", "--path", env!("CARGO_MANIFEST_DIR"), "--debug", "--offline"])
        .arg("--root")
        .arg(dir.path())
        .arg("--target-dir")
        .arg(target)
        .timeout(Duration::from_secs(600))
        .expect_success();
    let installed = dir.join("bin/mybb-sync");
    assert!(out.stderr.contains(&format!("Installing {}", installed.display())), "{out}");
    let version = TestCommand::program(&installed).arg("--version").expect_success().stdout;
    assert_eq!(version, format!("mybb-sync {}\n", env!("CARGO_PKG_VERSION")));
}
