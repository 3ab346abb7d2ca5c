//! `check` (issue 30): each rule on a file that trips it and on a close sibling that does not,
//! the real MyBB 1.8.37 theme clean of errors, the real 1.8.26 -> 1.8.37 upgrade, the board
//! rules against a board root built here with MyBB's own language files, `--json` read back,
//! exit codes, silencing, and `import --strict`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::export::{exported, sync_cmd};
use crate::upgrade::{customise_on_1826, downgrade_to_1826, file_in, file_of, upgrade_to_1837};
use crate::util::{
    Output, TestCommand, TestDb, TestDir, start_watching, stop_watching, wait_until,
};

/// How long a test waits for the watcher to act.
const DEADLINE: Duration = Duration::from_secs(30);

const LANG_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-lang");

/// Runs `mybb-sync --root ROOT check ARGS...`: no database, as a user without `--mybb` runs it.
fn check(root: &Path, args: &[&str]) -> TestCommand {
    TestCommand::new().arg("--root").arg(root).arg("check").args(args.iter().copied())
}

/// Returns the lines of a run's stdout.
fn lines(out: &Output) -> Vec<&str> {
    out.stdout.lines().collect()
}

/// Parses every `--json` line; the last is the summary.
fn json(out: &Output) -> (Vec<Value>, Value) {
    let mut objects: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let summary = objects.pop().expect("a summary line");
    assert_eq!(summary["summary"], "check", "{summary}");
    (objects, summary)
}

/// The file of template `title` of the Default Templates set.
fn template(root: &Path, title: &str) -> PathBuf {
    file_in(root, "Default Templates", title)
}

/// Appends `text` to the file at `path`.
fn append(path: &Path, text: &str) {
    let mut content = std::fs::read_to_string(path).unwrap();
    content.push_str(text);
    std::fs::write(path, content).unwrap();
}

/// Returns `path` relative to `root`, as check prints it.
fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap().display().to_string()
}

#[test]
fn the_real_mybb_1_8_37_theme_checks_clean() {
    let (_db, _dir, root) = exported("check_clean");
    let out = check(&root, &[]).expect_success();
    assert_eq!(lines(&out), Vec::<&str>::new(), "{out}");
    assert!(out.stderr.contains("check: 992 files checked, 0 errors, 0 warnings"), "{out}");
    let (found, summary) = json(&check(&root, &["--json"]).expect_success());
    assert!(found.is_empty());
    assert_eq!((summary["files"].as_u64(), summary["errors"].as_u64()), (Some(992), Some(0)));
}

#[test]
fn html_balance_finds_an_extra_unclosed_div_in_a_copy_of_header_and_nothing_in_the_master() {
    let (_db, _dir, root) = exported("check_html_balance");
    let header = template(&root, "header");
    // The master header leaves its container open for footer: no finding.
    check(&root, &[header.to_str().unwrap()]).expect_success();
    let lines_before = std::fs::read_to_string(&header).unwrap().lines().count();
    append(&header, "\n<div class=\"promo\">\n");
    let out = check(&root, &[header.to_str().unwrap()]).expect_code(3);
    let want = format!(
        "{}:{}:1: html-balance: `<div>` is never closed, unlike in the master",
        rel(&root, &header),
        lines_before + 1
    );
    assert_eq!(lines(&out), [want.as_str()], "{out}");
    // Closing it again makes the copy balanced as the master is.
    append(&header, "</div>\n");
    check(&root, &[header.to_str().unwrap()]).expect_success();
}

#[test]
fn without_a_baseline_html_balance_is_off_unless_a_release_s_theme_file_gives_the_masters() {
    let (_db, _dir, root) = exported("check_no_baseline");
    std::fs::remove_dir_all(root.join(".mybb-sync/baseline")).unwrap();
    let header = template(&root, "header");
    append(&header, "\n<div class=\"promo\">\n");
    let out = check(&root, &[]).expect_success();
    assert!(out.stderr.contains("html-balance and upgrade-variables are off"), "{out}");
    // A CI checkout: MyBB's own theme file stands in for the baseline, and the masters of
    // the whole tree are clean against it.
    let xml = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-theme.xml");
    let out = check(&root, &["--masters", xml]).expect_code(3);
    assert_eq!(lines(&out).len(), 1, "{out}");
    assert!(lines(&out)[0].contains("header.html") && lines(&out)[0].contains("html-balance"));
    let out = check(&root, &["--masters", "/nonexistent.xml"]).expect_code(2);
    assert!(out.stderr.contains("--masters"), "{out}");
}

#[test]
fn template_security_gives_the_line_and_column_of_what_mybb_refuses() {
    let (_db, _dir, root) = exported("check_security");
    let index = template(&root, "index");
    append(&index, "\n<p>\n  {$mybb->user['uid']}{$db->query('x')}</p>");
    let out = check(&root, &[index.to_str().unwrap()]).expect_code(3);
    let found = lines(&out);
    assert_eq!(found.len(), 1, "{out}");
    let lines_before = std::fs::read_to_string(&index).unwrap().lines().count() - 2;
    let place = format!("{}:{}:23: template-security: ", rel(&root, &index), lines_before + 2);
    assert!(found[0].starts_with(&place), "{out}\nwanted {place}");
    assert!(found[0].contains("{$db->query('x')}"), "{out}");
    // The sibling: a plain array access passes, as in the Admin CP.
    let text = std::fs::read_to_string(&index).unwrap().replace("{$db->query('x')}", "{$db['x']}");
    std::fs::write(&index, text).unwrap();
    check(&root, &[index.to_str().unwrap()]).expect_success();
}

#[test]
fn css_syntax_finds_what_a_browser_drops_with_its_place() {
    let (_db, _dir, root) = exported("check_css");
    let css = root.join("styles/Default/global.css");
    let lines_before = std::fs::read_to_string(&css).unwrap().lines().count();
    append(&css, "\n.promo {\n  color red;\n  background: url(\"x.png\" }\n");
    let styles = root.join("styles");
    let styles = styles.to_str().unwrap();
    let out = check(&root, &[styles]).expect_code(3);
    let (found, summary) = json(&check(&root, &[styles, "--json"]).expect_code(3));
    assert_eq!(summary["errors"].as_u64(), Some(found.len() as u64));
    // The file ends with a newline: `.promo {` is two lines below its last line.
    let at = |f: &Value| (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap());
    let promo = lines_before as u64 + 2;
    let colon = found.iter().find(|f| at(f) == (promo + 1, 3)).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(colon["path"], "styles/Default/global.css", "{out}");
    assert_eq!((&colon["rule"], &colon["severity"]), (&"css-syntax".into(), &"error".into()));
    assert!(colon["message"].as_str().unwrap().contains("`color` has no `:`"), "{out}");
    // `url("x.png" }` never closes its `(`, so the rule's block is never closed either.
    let block = found.iter().find(|f| at(f) == (promo, 8)).unwrap_or_else(|| panic!("{out}"));
    assert!(block["message"].as_str().unwrap().contains("never closed"), "{out}");
    // The sibling: the same rule written right.
    let text = std::fs::read_to_string(&css).unwrap();
    let fixed =
        text.replace("color red;", "color: red;").replace("url(\"x.png\" }", "url(\"x.png\") }");
    std::fs::write(&css, fixed).unwrap();
    check(&root, &[styles]).expect_success();
}

#[test]
fn upgrade_variables_names_what_1_8_37_dropped_from_a_copy_made_on_1_8_26() {
    let db = TestDb::new("check_upgrade_variables");
    let dir = TestDir::new("check_upgrade_variables");
    let root = dir.join("sync");
    downgrade_to_1826(&db);
    // `misc_smilies_popup` lost `{$pid}` in 1.8.34; `footer` is customised too, and its master
    // did not change: the close sibling.
    customise_on_1826(&db, "misc_smilies_popup");
    db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
         SELECT title, CONCAT('<!-- custom footer -->', template), 1, '1826', '', UNIX_TIMESTAMP() \
         FROM mybb_templates WHERE sid = -2 AND title = 'footer'",
    );
    sync_cmd(&db, &root).arg("export").expect_success();
    check(&root, &[]).expect_success();
    upgrade_to_1837(&db);
    // The export after the upgrade records the new masters in the baseline, keeping the old
    // one the copy was made from.
    sync_cmd(&db, &root).arg("export").expect_success();
    let out = check(&root, &["--json"]).expect_success();
    let (found, summary) = json(&out);
    let popup = rel(&root, &file_of(&root, "misc_smilies_popup"));
    let upgrade: Vec<&Value> = found.iter().filter(|f| f["rule"] == "upgrade-variables").collect();
    assert_eq!(upgrade.len(), 1, "{out}");
    assert_eq!(upgrade[0]["path"], popup.as_str());
    assert_eq!(upgrade[0]["severity"], "warning");
    let message = upgrade[0]["message"].as_str().unwrap();
    assert!(message.contains("`{$pid}`") && message.contains("since 1834"), "{message}");
    assert_eq!(summary["errors"].as_u64(), Some(0), "{out}");
    // Silenced by rule in the tree's config file: nothing left.
    std::fs::write(root.join(".mybb-sync-check"), "allow upgrade-variables\n").unwrap();
    let (found, _) = json(&check(&root, &["--json"]).expect_success());
    assert!(found.is_empty(), "{found:?}");
}

/// A board root with MyBB's own English `index` and `global` language files and one image.
fn board(dir: &TestDir) -> PathBuf {
    let board = dir.join("forum");
    let lang = board.join("inc/languages/english");
    std::fs::create_dir_all(&lang).unwrap();
    for file in ["index.lang.php", "global.lang.php"] {
        std::fs::copy(Path::new(LANG_FIXTURES).join("english").join(file), lang.join(file))
            .unwrap();
    }
    std::fs::create_dir_all(board.join("images")).unwrap();
    std::fs::write(board.join("images/there.png"), b"\x89PNG").unwrap();
    board
}

/// Runs `check` with the board: `--mybb BOARD --db URL`.
fn board_check(db: &TestDb, root: &Path, board: &Path, args: &[&str]) -> TestCommand {
    sync_cmd(db, root).arg("--mybb").arg(board).arg("check").args(args.iter().copied())
}

#[test]
fn the_board_rules_find_unknown_keys_settings_images_and_pages_and_not_their_siblings() {
    let (db, dir, root) = exported("check_board");
    let board = board(&dir);
    // MyBB's own theme has no error by the board rules either (its images and scripts are not
    // in this board root: warnings).
    let (_, summary) = json(&board_check(&db, &root, &board, &["--json"]).expect_success());
    assert_eq!(summary["errors"].as_u64(), Some(0), "{summary}");
    let index = template(&root, "index");
    let css = root.join("styles/Default/global.css");
    append(
        &index,
        "\n{$lang->welcome_bakc} {$mybb->settings['bbnmae']}\n<img src=\"{$theme['imgdir']}/nothere.png\" />",
    );
    append(&css, "\n.promo { background: url(images/nothere.png); }\n");
    let targets = [index.to_str().unwrap(), css.to_str().unwrap()];
    let out = board_check(&db, &root, &board, &[&targets[..], &["--json"]].concat()).expect_code(3);
    let (found, summary) = json(&out);
    let rules: Vec<&str> = found.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(summary["board"].as_bool().unwrap());
    for rule in ["unknown-lang", "unknown-setting", "missing-image"] {
        assert!(rules.contains(&rule), "{rule}: {out}");
    }
    let by = |rule: &str, path: &str| -> Vec<&Value> {
        found.iter().filter(|f| f["rule"] == rule && f["path"] == path).collect()
    };
    let (index_rel, css_rel) = (rel(&root, &index), rel(&root, &css));
    assert!(
        by("unknown-lang", &index_rel)[0]["message"].as_str().unwrap().contains("welcome_bakc")
    );
    assert!(by("unknown-setting", &index_rel)[0]["message"].as_str().unwrap().contains("bbnmae"));
    let mentions = |found: Vec<&Value>, what: &str| {
        found.iter().any(|f| f["message"].as_str().unwrap().contains(what))
    };
    assert!(mentions(by("missing-image", &index_rel), "`images/nothere.png`"), "{out}");
    // MyBB's own global.css points at images this board root lacks too (warnings).
    assert!(mentions(by("missing-image", &css_rel), "url(images/nothere.png)"), "{out}");
    // global.css is attached to every page; usercp.css to usercp.php and private.php, which
    // this board root does not have.
    let usercp = root.join("styles/Default/usercp.css");
    let out = board_check(&db, &root, &board, &[usercp.to_str().unwrap()]).expect_success();
    assert!(out.stdout.contains("unknown-page: attached to `usercp.php`"), "{out}");
    // A colour stylesheet is attached to a colour (`black`), not a page: no finding.
    let black = root.join("styles/Default/color_black.css");
    let out = board_check(&db, &root, &board, &[black.to_str().unwrap()]).expect_success();
    assert!(!out.stdout.contains("unknown-page"), "{out}");
    std::fs::write(board.join("usercp.php"), "<?php\n").unwrap();
    std::fs::write(board.join("private.php"), "<?php\n").unwrap();

    // The siblings: a key global.lang.php defines, a real setting, an image that exists.
    let text = std::fs::read_to_string(&index)
        .unwrap()
        .replace("welcome_bakc", "welcome_back")
        .replace("bbnmae", "bbname")
        .replace("nothere.png", "there.png");
    std::fs::write(&index, text).unwrap();
    let text = std::fs::read_to_string(&css).unwrap().replace("nothere.png", "there.png");
    std::fs::write(&css, text).unwrap();
    let out =
        board_check(&db, &root, &board, &[&targets[..], &[usercp.to_str().unwrap()]].concat())
            .expect_success();
    // Left: only the images of MyBB's own stylesheets, which this board root does not hold.
    let left: Vec<&str> = lines(&out)
        .into_iter()
        .filter(|l| !l.contains(": missing-image: `url(images/") || l.contains("there.png"))
        .collect();
    assert_eq!(left, Vec::<&str>::new(), "{out}");
}

#[test]
fn a_language_file_that_is_more_than_assignments_is_refused_not_run() {
    let (db, dir, root) = exported("check_lang_refused");
    let board = board(&dir);
    std::fs::write(
        board.join("inc/languages/english/evil.lang.php"),
        "<?php\nsystem('touch pwned');\n",
    )
    .unwrap();
    let index = template(&root, "index");
    append(&index, "\n{$lang->welcome_bakc}");
    let out = board_check(&db, &root, &board, &[index.to_str().unwrap()]).expect_success();
    assert!(
        out.stderr.contains("evil.lang.php: line 2") && out.stderr.contains("unknown-lang is off"),
        "{out}"
    );
    assert!(!out.stdout.contains("unknown-lang"), "{out}");
}

#[test]
fn findings_are_silenced_by_flag_by_rule_and_by_path() {
    let (_db, _dir, root) = exported("check_silence");
    let header = template(&root, "header");
    append(&header, "\n<div>");
    append(&root.join("styles/Default/global.css"), "\na { color red }");
    assert_eq!(lines(&check(&root, &[]).expect_code(3)).len(), 2);
    // A path outside the sync root is a usage error, as for import.
    let out = check(&root, &["/etc"]).expect_code(2);
    assert!(out.stderr.contains("not under the sync root"), "{out}");
    // An unknown rule is a usage error, before anything is read.
    let out = check(&root, &["--allow", "html"]).expect_code(2);
    assert!(out.stderr.contains("no check rule named \"html\""), "{out}");
    // By flag: warnings and silenced findings exit 0.
    let out = check(&root, &["--allow", "html-balance"]).expect_code(3);
    assert_eq!(lines(&out).len(), 1);
    check(&root, &["--allow", "html-balance", "--allow", "css-syntax"]).expect_success();
    // By rule and path, in the tree's config file.
    std::fs::write(
        root.join(".mybb-sync-check"),
        "# silenced on purpose\nskip template_sets/Default Templates/Header Templates/\nallow css-syntax styles/Default/\n",
    )
    .unwrap();
    check(&root, &[]).expect_success();
    std::fs::write(root.join(".mybb-sync-check"), "allow css-syntax styles/Other/\n").unwrap();
    let out = check(&root, &[]).expect_code(3);
    assert_eq!(lines(&out).len(), 2, "{out}");
}

#[test]
fn import_strict_refuses_files_with_errors_and_imports_the_rest() {
    let (db, _dir, root) = exported("check_import_strict");
    let header = template(&root, "header");
    let footer = template(&root, "footer");
    append(&header, "\n<div>");
    append(&footer, "\n<!-- fine -->");
    let out = sync_cmd(&db, &root).args(["import", "--strict"]).expect_code(3);
    assert!(
        out.stderr.contains("--strict: check finds errors") && out.stderr.contains("html-balance"),
        "{out}"
    );
    assert_eq!(db.template(1, "header"), None, "the header copy must not be written");
    let footer_row = db.template(1, "footer").expect("footer imported");
    assert!(String::from_utf8(footer_row).unwrap().ends_with("<!-- fine -->"));
    // Without --strict, check's findings are not import's business.
    sync_cmd(&db, &root).arg("import").expect_success();
    assert!(db.template(1, "header").is_some());
}

#[test]
fn watch_warns_once_of_a_save_s_new_findings_and_still_saves() {
    let (db, _dir, root) = exported("check_watch");
    // Edited before the watcher starts: its reconcile sends it, and says nothing of it (that
    // is `check`'s job): only saves are news.
    append(&template(&root, "footer"), "\n<span>");
    let run = start_watching(sync_cmd(&db, &root), &["--debounce", "30"]);
    let header = template(&root, "header");
    append(&header, "\n<div class=\"promo\">");
    let saved = |tail: &str| {
        let tail = tail.to_owned();
        let db = &db;
        move || db.template(1, "header").is_some_and(|row| row.ends_with(tail.as_bytes()))
    };
    wait_until("the header with the open div saved", DEADLINE, saved("<div class=\"promo\">"));
    wait_until("the html-balance warning", DEADLINE, || {
        run.stderr_so_far().contains("html-balance")
    });
    // The same finding after another save of the file is not news.
    append(&header, "\n<!-- more -->");
    wait_until("the second save", DEADLINE, saved("<!-- more -->"));
    let log = stop_watching(run);
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("html-balance")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].starts_with("warning: template_sets/Default Templates/Header"), "{log}");
}

/// Returns the 1-based line of the first `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {text}"));
    text[..at].matches('\n').count() + 1
}

// See: issue 28 (check does not lint theme.json).
#[test]
fn theme_json_is_checked_as_the_import_refuses_it_each_finding_at_its_field() {
    let (_db, _dir, root) = exported("check_theme_json");
    let path = root.join("styles/Default/theme.json");
    let arg = path.to_str().unwrap();
    let exported = std::fs::read_to_string(&path).unwrap();
    // The sibling: an edit the import takes.
    std::fs::write(&path, exported.replace("\"tablespace\": 5", "\"tablespace\": 6")).unwrap();
    let out = check(&root, &[arg]).expect_success();
    assert_eq!(lines(&out), Vec::<&str>::new(), "{out}");

    // Not JSON: the parser's line and column.
    std::fs::write(&path, exported.replacen("\"name\": \"Default\",", "\"name\": \"Default\"", 1))
        .unwrap();
    let out = check(&root, &[arg]).expect_code(3);
    assert_eq!(
        lines(&out),
        ["styles/Default/theme.json:4:3: theme-file: not valid JSON at line 4 column 3: \
          expected `,` or `}`"],
        "{out}"
    );

    // An unknown field, at its line.
    let text = exported.replace("\"imgdir\"", "\"imagedir\"");
    std::fs::write(&path, &text).unwrap();
    let (found, summary) = json(&check(&root, &[arg, "--json"]).expect_code(3));
    assert_eq!(summary["rules"]["theme-file"], 1, "{summary}");
    assert_eq!(found[0]["line"], line_of(&text, "\"imagedir\""), "{found:?}");
    assert!(found[0]["message"].as_str().unwrap().starts_with("properties: unknown field"));

    // Several refusals at once, each at its field: a colour line, a page, an order, an empty
    // name, and an entry for a stylesheet the folder has no file of.
    let mut value: Value = serde_json::from_str(&exported).unwrap();
    value["name"] = "".into();
    value["properties"]["colors"] = serde_json::json!(["night=Night", "sun=Sun Two"]);
    value["stylesheets"]["usercp.css"]["attachedto"] = serde_json::json!(["usercp.php?a?b"]);
    value["stylesheets"]["global.css"]["disporder"] = (-1).into();
    value["stylesheets"]["ghost.css"] = serde_json::json!({"attachedto": []});
    let text = serde_json::to_string_pretty(&value).unwrap();
    std::fs::write(&path, &text).unwrap();
    let out = check(&root, &[arg]).expect_code(3);
    let want = [
        (line_of(&text, "\"name\""), "name: Please enter a name for this theme."),
        (line_of(&text, "\"colors\""), "properties.colors: The defined color set \"sun=Sun Two\""),
        (line_of(&text, "\"ghost.css\""), "stylesheets.ghost.css: the theme's folder has no file"),
        (line_of(&text, "\"disporder\": -1"), "stylesheets.global.css.disporder: must be 0 or"),
        (line_of(&text, "\"usercp.php?a?b\""), "stylesheets.usercp.css.attachedto[0]: the"),
    ];
    for (line, message) in want {
        let prefix = format!("styles/Default/theme.json:{line}:");
        assert!(
            lines(&out).iter().any(|l| l.starts_with(&prefix) && l.contains(message)),
            "no `{prefix} ... {message}` in {out}"
        );
    }
    assert_eq!(lines(&out).len(), 5, "{out}");

    // A stylesheet file deleted while theme.json still lists it.
    std::fs::write(&path, &exported).unwrap();
    std::fs::remove_file(root.join("styles/Default/usercp.css")).unwrap();
    let out = check(&root, &[]).expect_code(3);
    assert_eq!(lines(&out).len(), 1, "{out}");
    assert!(out.stdout.contains("theme-file: stylesheets.usercp.css: the theme's folder"), "{out}");
}
