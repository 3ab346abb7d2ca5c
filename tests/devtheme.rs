//! `dev THEME` and `publish` (issue 29): a private development copy made as the Admin CP's
//! Duplicate Theme makes it, and its changes merged back onto the live theme.
//!
//! `tests/fixtures/mybb-1.8.37-duplicate-theme/` holds what MyBB 1.8.37's own Admin CP wrote
//! for Duplicate Theme ("duplicate templates" ticked, name "Default (dev)") on a board installed
//! by MyBB's installer, after `setup.sql`; see `tests/fixtures/README.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::export::{sync_cmd, tree};

use crate::util::{TestCommand, TestDb, TestDir, admin_cp_list};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// How long a background step (the watcher starting, a save reaching the database) may take.
const DEADLINE: Duration = Duration::from_secs(30);
/// The copy's name in the fixture.
const COPY: &str = "Default (dev)";
const COPY_SET: &str = "Default (dev) Templates";

fn fixture(relative: &str) -> String {
    let path = Path::new(FIXTURES).join("mybb-1.8.37-duplicate-theme").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A test's board (with the fixture's two customised templates), sync root and MyBB root
/// (with MyBB's own cache files of the fixture install).
struct Forum {
    db: TestDb,
    _dir: TestDir,
    sync_root: PathBuf,
    mybb_root: PathBuf,
}

impl Forum {
    fn new(name: &str) -> Forum {
        let db = TestDb::new(name);
        db.load_sql(&fixture("setup.sql"));
        let dir = TestDir::new(name);
        let sync_root = dir.join("sync");
        let mybb_root = dir.join("forum");
        let themes = mybb_root.join("cache/themes");
        for (file, content) in tree(&Path::new(FIXTURES).join("mybb-1.8.37-cache-themes")) {
            let path = themes.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        // The editor themes the Edit Theme form offers, which a theme file's check looks for.
        let editor = mybb_root.join("jscripts/sceditor/themes");
        std::fs::create_dir_all(&editor).unwrap();
        for css in ["mybb.css", "office.css"] {
            std::fs::write(editor.join(css), "/* an editor theme */\n").unwrap();
        }
        Forum { db, _dir: dir, sync_root, mybb_root }
    }

    /// A test's board as [`Forum::new`] makes it, with the development copy made by
    /// `dev Default --no-watch --no-live-reload`.
    fn with_copy(name: &str) -> Forum {
        let forum = Forum::new(name);
        forum.dev(&["--no-live-reload"]);
        forum
    }

    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    /// Runs `dev Default --no-watch` with the fixture's copy name and `args`.
    fn dev(&self, args: &[&str]) -> crate::util::Output {
        self.cmd()
            .args(["dev", "Default", "--no-watch", "--name", COPY])
            .args(["--live-reload", "127.0.0.1:0"])
            .args(args)
            .expect_success()
    }

    fn copy_tid(&self) -> u32 {
        self.db.query_one("SELECT tid FROM mybb_themes WHERE name = 'Default (dev)'")
    }

    fn copy_sid(&self) -> i32 {
        self.db
            .query_one("SELECT sid FROM mybb_templatesets WHERE title = 'Default (dev) Templates'")
    }

    /// The copy's file of template `title` in group folder `group`.
    fn copy_template(&self, group: &str, title: &str) -> PathBuf {
        self.sync_root
            .join("template_sets")
            .join(COPY_SET)
            .join(group)
            .join(format!("{title}.html"))
    }

    fn copy_stylesheet(&self, name: &str) -> PathBuf {
        self.sync_root.join("styles").join(COPY).join(name)
    }

    /// Saves `content` into a file of the copy and imports it, as the watcher would.
    fn save(&self, path: &Path, content: &str) {
        std::fs::write(path, content).unwrap();
        self.cmd().arg("import").arg(path).expect_success();
    }

    /// Saves `content` into the copy's `header` template, as [`Forum::save`] does.
    fn save_copy_header(&self, content: &str) {
        self.save(&self.copy_template("Header Templates", "header"), content);
    }

    /// Writes `content` into the live theme's (set 1) template `title`, as an Admin CP edit.
    fn edit_live(&self, title: &str, content: &str) {
        self.db.exec_with(
            "UPDATE mybb_templates SET template = ? WHERE sid = 1 AND title = ?",
            (content, title),
        );
    }

    /// Asserts that `publish` finds nothing to do: the copy's base is the live theme.
    #[track_caller]
    fn assert_nothing_to_publish(&self) {
        let out = self.cmd().args(["publish", "--json"]).expect_success();
        assert!(out.stdout.contains("\"planned\":0"), "publish found work left: {out}");
    }

    fn live_template(&self, title: &str) -> Option<String> {
        self.db.template(1, title).map(|b| String::from_utf8(b).unwrap())
    }

    /// A digest of every row of the tables publish writes, and of the cache files.
    fn snapshot(&self) -> Snapshot {
        let templates = self.db.query_rows("SELECT tid, template FROM mybb_templates ORDER BY tid");
        let sheets =
            self.db.query_rows("SELECT sid, stylesheet FROM mybb_themestylesheets ORDER BY sid");
        let themes = self.db.query_rows("SELECT tid, stylesheets FROM mybb_themes ORDER BY tid");
        let files = tree(&self.mybb_root).into_iter().map(|(k, v)| k.len() + v.len()).sum();
        (templates, sheets, themes, files)
    }
}

/// Rows by id (templates, stylesheets, themes' lists) and the cache files' total size.
type Rows = Vec<(u32, Vec<u8>)>;
type Snapshot = (Rows, Rows, Rows, usize);
/// A `templates` row as the fixture lists it: title, template, sid, version, status.
type TemplateLine = (Vec<u8>, Vec<u8>, i32, Vec<u8>, Vec<u8>);

/// MyBB's `is_member($allowedgroups)` for a user of `usergroup` with no additional groups, as
/// `global.php` applies it to a theme: "all", or the group among the listed gids.
fn may_use(allowedgroups: &str, usergroup: u32) -> bool {
    allowedgroups == "all" || allowedgroups.split(',').any(|g| g.trim() == usergroup.to_string())
}

#[test]
fn dev_makes_the_rows_the_admin_cps_duplicate_theme_makes() {
    let forum = Forum::with_copy("dev_duplicate_rows");
    let theme = fixture("theme.tsv");
    let fields: Vec<&str> = theme.trim_end_matches('\n').split('\t').collect();
    let (name, pid, def): (String, u32, u32) = {
        let rows: Vec<(String, u32, u32)> =
            forum.db.query_rows("SELECT name, pid, def FROM mybb_themes WHERE tid = 3");
        rows.into_iter().next().expect("the copy is theme 3, as on the Admin CP's board")
    };
    assert_eq!(
        (name.as_str(), pid.to_string(), def.to_string()),
        (fields[0], fields[1].into(), fields[2].into())
    );
    let properties: Vec<u8> =
        forum.db.query_one("SELECT properties FROM mybb_themes WHERE tid = 3");
    assert_eq!(String::from_utf8(properties).unwrap(), fixture("properties.txt").trim_end());
    let stylesheets: Vec<u8> =
        forum.db.query_one("SELECT stylesheets FROM mybb_themes WHERE tid = 3");
    assert_eq!(String::from_utf8(stylesheets).unwrap(), admin_cp_list(&fixture("stylesheets.txt")));
    let set = fixture("templatesets.tsv");
    assert_eq!(format!("{}\t{COPY_SET}\n", forum.copy_sid()), set);
    let rows: Vec<TemplateLine> = forum.db.query_rows(
        "SELECT title, template, sid, version, status FROM mybb_templates WHERE sid = 2 ORDER BY tid",
    );
    let got: String = rows
        .iter()
        .map(|(title, template, sid, version, status)| {
            let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            format!("{}\t{}\t{sid}\t{}\t{}\n", s(title), s(template), s(version), s(status))
        })
        .collect();
    if crate::util::on_sqlite() || crate::util::on_postgres() {
        // MyBB reads the old set in the engine's order: MariaDB's (sid, title) index gave the
        // oracle's, SQLite's rowid order and PostgreSQL's heap order are the insertion order;
        // the rows are the same.
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&got), sorted(&fixture("templates.tsv")));
    } else {
        assert_eq!(got, fixture("templates.tsv"), "the copied templates, in the Admin CP's order");
    }
}

#[test]
fn the_copy_is_invisible_to_guests_and_members() {
    let forum = Forum::with_copy("dev_copy_invisible");
    let groups: String = forum.db.query_one("SELECT allowedgroups FROM mybb_themes WHERE tid = 3");
    assert_eq!(groups, "4");
    // MyBB's default groups: 1 guests, 2 registered, 4 administrators.
    assert!(!may_use(&groups, 1) && !may_use(&groups, 2) && may_use(&groups, 4));
    let live: String = forum.db.query_one("SELECT allowedgroups FROM mybb_themes WHERE tid = 2");
    assert_eq!(live, "all", "the live theme is left as it was");
    // --groups on a second run restricts it anew.
    forum.dev(&["--no-live-reload", "--groups", "3,4"]);
    let groups: String = forum.db.query_one("SELECT allowedgroups FROM mybb_themes WHERE tid = 3");
    assert_eq!(groups, "3,4");
    assert!(!may_use(&groups, 2) && may_use(&groups, 3));
}

#[test]
fn the_live_reload_script_goes_only_into_the_copy_and_never_through_publish() {
    let forum = Forum::new("dev_live_script");
    forum.dev(&[]);
    let sid = forum.copy_sid();
    let head = String::from_utf8(forum.db.template(sid, "headerinclude").unwrap()).unwrap();
    assert!(head.contains("/livereload.js"), "{head}");
    let file = forum.copy_template("Ungrouped Templates", "headerinclude");
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("/livereload.js"), "the copy's file holds it too");
    let anywhere: u64 = forum.db.query_one(
        "SELECT COUNT(*) FROM mybb_templates WHERE template LIKE '%livereload.js%' AND sid <> 2",
    );
    assert_eq!(anywhere, 0, "no other set has the script");
    // An edit of the copy's headerinclude is published without the script.
    let edited =
        on_disk.replacen("{$stylesheets}", "{$stylesheets}\n<meta name=\"dev\" content=\"1\">", 1);
    assert_ne!(edited, on_disk);
    forum.save(&file, &edited);
    forum.cmd().arg("publish").expect_success();
    let live = forum.live_template("headerinclude").expect("published into the live set");
    assert!(live.contains("<meta name=\"dev\" content=\"1\">"), "{live}");
    assert!(!live.contains("livereload") && !live.contains("mybb-sync dev"), "{live}");
    // A script pasted outside the block is refused, nothing written.
    let pasted = format!("{edited}\n<script src=\"http://127.0.0.1:1/livereload.js\"></script>");
    forum.save(
        &forum.copy_template("Footer Templates", "footer"),
        &pasted.replace(&edited, "custom footer"),
    );
    let out = forum.cmd().arg("publish").expect_code(3);
    assert!(out.stdout.contains("refused") && out.stdout.contains("footer"), "{out}");
    assert_eq!(forum.live_template("footer").as_deref(), Some("custom footer"));
}

#[test]
fn publish_carries_clean_template_and_stylesheet_changes_as_the_admin_cp_writes_them() {
    let forum = Forum::with_copy("publish_clean");
    forum.save_copy_header("<div id=\"custom-header\">DEV</div>");
    // index has no row in the live set: publish copies it in (copy-on-write).
    let index = forum.copy_template("Index Page Templates", "index");
    let index_text =
        std::fs::read_to_string(&index).unwrap().replace("</head>", "<!-- dev -->\n</head>");
    forum.save(&index, &index_text);
    let css = forum.copy_stylesheet("global.css");
    let mut sheet = std::fs::read_to_string(&css).unwrap();
    sheet.push_str("\n.dev { color: red; }\n");
    forum.save(&css, &sheet);
    // A stylesheet new in the copy becomes one of the live theme's.
    forum.save(&forum.copy_stylesheet("dev.css"), ".new { margin: 0; }\n");
    let out = forum.cmd().args(["publish", "--json"]).expect_success();
    assert!(out.stdout.contains("\"published\":4"), "{out}");
    assert_eq!(forum.db.stylesheet(2, "dev.css").as_deref(), Some(&b".new { margin: 0; }\n"[..]));
    assert!(forum.mybb_root.join("cache/themes/theme2/dev.css").exists());
    assert_eq!(
        forum.live_template("header").as_deref(),
        Some("<div id=\"custom-header\">DEV</div>")
    );
    let version: String =
        forum.db.query_one("SELECT version FROM mybb_templates WHERE sid = 1 AND title = 'index'");
    assert_eq!(version, "1837", "the board's version, as the Admin CP writes it");
    assert!(forum.live_template("index").unwrap().contains("<!-- dev -->"));
    let live_css = String::from_utf8(forum.db.stylesheet(2, "global.css").unwrap()).unwrap();
    assert!(live_css.contains(".dev { color: red; }"), "copied into the live theme");
    let cached =
        std::fs::read_to_string(forum.mybb_root.join("cache/themes/theme2/global.css")).unwrap();
    assert!(cached.contains(".dev { color: red; }"), "the live theme's cache file is rewritten");
    let list: Vec<u8> = forum.db.query_one("SELECT stylesheets FROM mybb_themes WHERE tid = 2");
    assert!(String::from_utf8(list).unwrap().contains("cache/themes/theme2/global.css"));
    // The base moved: a second publish has nothing to do.
    forum.assert_nothing_to_publish();
}

#[test]
fn an_admin_cp_edit_of_the_same_lines_is_a_conflict_and_nothing_is_published() {
    let forum = Forum::with_copy("publish_conflict");
    forum.save_copy_header("<div id=\"custom-header\">DEV</div>");
    forum.save(&forum.copy_template("Footer Templates", "footer"), "dev footer");
    forum.edit_live("header", "<div>ADMIN</div>");
    let before = forum.snapshot();
    let out = forum.cmd().arg("publish").expect_code(3);
    assert!(out.stdout.contains("conflict  template header"), "{out}");
    assert!(out.stdout.contains("held      template footer"), "{out}");
    assert_eq!(forum.snapshot(), before, "nothing is written");
    // --partial publishes the rest; the conflict stays as it is.
    forum.cmd().args(["publish", "--partial"]).expect_code(3);
    assert_eq!(forum.live_template("footer").as_deref(), Some("dev footer"));
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>ADMIN</div>"));
    // --prefer live settles it: the copy takes the live content, nothing is left to publish.
    let out = forum.cmd().args(["publish", "--prefer", "live"]).expect_success();
    assert!(out.stdout.contains("keep-live template header"), "{out}");
    assert_eq!(
        forum.db.template(forum.copy_sid(), "header").as_deref(),
        Some(&b"<div>ADMIN</div>"[..])
    );
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>ADMIN</div>"));
    forum.assert_nothing_to_publish();
}

#[test]
fn publish_prefer_copy_settles_a_conflict_with_the_copys_content() {
    let forum = Forum::with_copy("publish_prefer_copy");
    forum.save_copy_header("<div>ADMIN and DEV</div>");
    forum.edit_live("header", "<div>ADMIN</div>");
    forum.cmd().arg("publish").expect_code(3);
    forum.cmd().args(["publish", "--prefer", "copy"]).expect_success();
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>ADMIN and DEV</div>"));
}

#[test]
fn an_admin_cp_edit_of_another_template_or_other_lines_is_kept() {
    let forum = Forum::with_copy("publish_both_kept");
    let multi = "line 1\nline 2\nline 3\nline 4\nline 5";
    forum.db.exec_with(
        "UPDATE mybb_templates SET template = ? WHERE sid IN (1, 2) AND title = 'footer'",
        (multi,),
    );
    forum.cmd().arg("export").expect_success();
    // Recreate the copy's record with the multi-line footer as its base.
    forum.cmd().args(["publish", "--drop"]).expect_success();
    forum.dev(&["--no-live-reload"]);
    forum.save_copy_header("<div id=\"custom-header\">DEV</div>");
    forum.save(
        &forum.copy_template("Footer Templates", "footer"),
        "line 1\nDEV 2\nline 3\nline 4\nline 5",
    );
    forum.edit_live("footer", "line 1\nline 2\nline 3\nline 4\nADMIN 5");
    forum
        .db
        .exec("UPDATE mybb_templates SET template = 'admin nav' WHERE sid = -2 AND title = 'nav'");
    let out = forum.cmd().arg("publish").expect_success();
    assert!(out.stdout.contains("merge     template footer"), "{out}");
    assert_eq!(
        forum.live_template("footer").as_deref(),
        Some("line 1\nDEV 2\nline 3\nline 4\nADMIN 5")
    );
    assert_eq!(
        forum.live_template("header").as_deref(),
        Some("<div id=\"custom-header\">DEV</div>")
    );
    assert_eq!(forum.live_template("nav"), None, "an item the copy left alone is not written");
    // The copy gets the merge too, so the next publish has nothing to carry.
    let copy = String::from_utf8(forum.db.template(forum.copy_sid(), "footer").unwrap()).unwrap();
    assert_eq!(copy, "line 1\nDEV 2\nline 3\nline 4\nADMIN 5");
    forum.assert_nothing_to_publish();
}

#[test]
fn publish_dry_run_prints_diffs_and_changes_nothing() {
    let forum = Forum::with_copy("publish_dry_run");
    forum.save_copy_header("<div id=\"custom-header\">DEV</div>");
    let before = forum.snapshot();
    let journal_dir = forum.sync_root.join(".mybb-sync/dev");
    let records = tree(&journal_dir);
    let out = forum.cmd().args(["publish", "--dry-run"]).expect_success();
    assert!(out.stdout.contains("publish   template header (changed in the copy)"), "{out}");
    assert!(
        out.stdout.contains("--- live/template header\n+++ published/template header"),
        "{out}"
    );
    assert!(out.stdout.contains("+<div id=\"custom-header\">DEV</div>"), "{out}");
    let json = forum.cmd().args(["publish", "--dry-run", "--json"]).expect_success();
    assert!(json.stdout.contains("\"diff\":"), "{json}");
    assert_eq!(forum.snapshot(), before);
    assert_eq!(tree(&journal_dir), records, "neither the record nor a journal changed");
}

#[test]
fn publish_drop_deletes_the_copy_as_the_admin_cp_would() {
    let forum = Forum::with_copy("publish_drop");
    let (tid, sid) = (forum.copy_tid(), forum.copy_sid());
    // An edited stylesheet gives the copy rows and cache files of its own.
    let css = forum.copy_stylesheet("global.css");
    let sheet = std::fs::read_to_string(&css).unwrap() + "\n.x { top: 0; }\n";
    forum.save(&css, &sheet);
    assert!(forum.mybb_root.join(format!("cache/themes/theme{tid}/global.css")).exists());
    forum.cmd().args(["publish", "--drop"]).expect_success();
    let count = |sql: &str| forum.db.query_one::<u64>(sql);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM mybb_themes WHERE tid = {tid}")), 0);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM mybb_themestylesheets WHERE tid = {tid}")), 0);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM mybb_templatesets WHERE sid = {sid}")), 0);
    assert_eq!(count(&format!("SELECT COUNT(*) FROM mybb_templates WHERE sid = {sid}")), 0);
    assert!(!forum.mybb_root.join(format!("cache/themes/theme{tid}")).exists());
    assert!(!forum.sync_root.join("styles").join(COPY).exists());
    assert!(!forum.sync_root.join("template_sets").join(COPY_SET).exists());
    assert!(tree(&forum.sync_root.join(".mybb-sync/dev")).is_empty());
    assert!(
        String::from_utf8(forum.db.stylesheet(2, "global.css").unwrap())
            .unwrap()
            .contains(".x { top: 0; }")
    );
}

#[test]
fn a_second_dev_resumes_the_same_copy_with_its_edits() {
    let forum = Forum::new("dev_resumes");
    forum.dev(&[]);
    let tid = forum.copy_tid();
    forum.save_copy_header("<div>kept</div>");
    let out = forum.dev(&[]);
    assert!(out.stdout.contains(&format!("(tid {tid})")), "{out}");
    assert_eq!(forum.db.query_one::<u64>("SELECT COUNT(*) FROM mybb_themes"), 3, "no second copy");
    let header = forum.db.template(forum.copy_sid(), "header").unwrap();
    assert_eq!(header, b"<div>kept</div>");
    let head =
        String::from_utf8(forum.db.template(forum.copy_sid(), "headerinclude").unwrap()).unwrap();
    assert_eq!(head.matches("/livereload.js").count(), 1, "one script, the new address's: {head}");
}

#[test]
fn publish_killed_half_way_is_finished_by_the_next_run_nothing_twice() {
    let forum = Forum::with_copy("publish_killed");
    forum.save_copy_header("<div>one</div>");
    forum.save(&forum.copy_template("Index Page Templates", "index"), "<html>two</html>");
    let css = forum.copy_stylesheet("global.css");
    forum.save(&css, &(std::fs::read_to_string(&css).unwrap() + "\n.three {}\n"));
    let killed = forum.cmd().arg("publish").env("MYBB_SYNC_TEST_HOOKS", "kill-at-publish=1").run();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&killed.status), Some(9), "{killed}");
    assert!(forum.sync_root.join(".mybb-sync/dev/theme-2.publish.json").exists());
    let out = forum.cmd().args(["publish", "--json"]).expect_success();
    assert!(!forum.sync_root.join(".mybb-sync/dev/theme-2.publish.json").exists(), "{out}");
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>one</div>"));
    assert_eq!(forum.live_template("index").as_deref(), Some("<html>two</html>"));
    let css = String::from_utf8(forum.db.stylesheet(2, "global.css").unwrap()).unwrap();
    assert_eq!(css.matches(".three {}").count(), 1);
    let rows: u64 = forum.db.query_one(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND title IN ('header', 'index')",
    );
    assert_eq!(rows, 2, "one row each, none inserted twice");
    forum.assert_nothing_to_publish();
}

#[test]
fn dev_watches_the_copy_and_ctrl_c_keeps_it() {
    let forum = Forum::new("dev_watches");
    let running = forum
        .cmd()
        .args(["dev", "Default", "--name", COPY, "--live-reload", "127.0.0.1:0"])
        .spawn();
    let started = Instant::now();
    while !running.stderr_so_far().contains("watching") {
        assert!(
            started.elapsed() < DEADLINE,
            "the watcher did not start:\n{}",
            running.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = running.stdout_so_far();
    assert!(
        out.contains(&format!("theme \"{COPY}\" (tid 3)")) && out.contains("index.php?theme=3"),
        "{out}"
    );
    std::fs::write(forum.copy_template("Header Templates", "header"), "<div>watched</div>")
        .unwrap();
    let sid = forum.copy_sid();
    let started = Instant::now();
    while forum.db.template(sid, "header").as_deref() != Some(&b"<div>watched</div>"[..]) {
        assert!(
            started.elapsed() < DEADLINE,
            "the save did not reach the copy:\n{}",
            running.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        forum.live_template("header").as_deref(),
        Some("<div id=\"custom-header\">{$lang->welcome_back}</div>")
    );
    running.interrupt();
    let out = running.wait(DEADLINE);
    assert!(out.status.success(), "{out}");
    assert!(out.stdout.contains("is kept"), "{out}");
    assert_eq!(forum.db.query_one::<u64>("SELECT COUNT(*) FROM mybb_themes WHERE tid = 3"), 1);
}

#[test]
fn an_admin_cp_edit_racing_a_publish_is_never_overwritten() {
    let forum = Forum::with_copy("publish_races_admin_cp");
    forum.save_copy_header("<div>dev header</div>");
    forum.save(&forum.copy_template("Footer Templates", "footer"), "dev footer");
    let hold = forum._dir.join("hold");
    std::fs::create_dir_all(&hold).unwrap();
    let running = forum
        .cmd()
        .arg("publish")
        .env("MYBB_SYNC_TEST_HOOKS", format!("hold-before-write={}", hold.display()))
        .spawn();
    let started = Instant::now();
    while !hold.join("held").exists() {
        assert!(started.elapsed() < DEADLINE, "publish never got to its writes");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The Admin CP saves the header after publish read it, before publish writes it.
    forum.edit_live("header", "<div>admin</div>");
    std::fs::write(hold.join("go"), b"").unwrap();
    let out = running.wait(DEADLINE);
    assert_eq!(out.status.code(), Some(3), "{out}");
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>admin</div>"), "kept");
    assert_eq!(forum.live_template("footer").as_deref(), Some("dev footer"));
    // The next publish sees both edits of the header: a conflict, still nothing lost.
    let out = forum.cmd().arg("publish").expect_code(3);
    assert!(out.stdout.contains("conflict  template header"), "{out}");
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>admin</div>"));
}

/// Runs `curl` with `args` and returns what it printed (the page).
fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl").arg("-s").args(args).output();
    String::from_utf8_lossy(&out.expect("curl runs").stdout).into_owned()
}

/// The real-board oracle (issue 29): on a board MyBB's own installer made
/// (`shared/mybb/install-board.sh DIR DB PORT`, named in `MYBB_SYNC_ORACLE_BOARD=DIR|DB|URL`),
/// MyBB's `global.php` shows the development copy to an administrator who chose it, and falls
/// back to the default theme for a member and a guest who ask for it. Without the variable it
/// says SKIPPED: the suite runs without PHP.
#[test]
fn on_a_real_board_only_administrators_see_the_copy() {
    let Ok(oracle) = std::env::var("MYBB_SYNC_ORACLE_BOARD") else {
        eprintln!(
            "SKIPPED: no real board (MYBB_SYNC_ORACLE_BOARD=DIR|DB|URL, see install-board.sh)"
        );
        return;
    };
    let parts: Vec<&str> = oracle.split('|').collect();
    let [dir, db, url] = parts[..] else { panic!("MYBB_SYNC_ORACLE_BOARD is DIR|DB|URL") };
    let server = crate::util::TestDb::new("oracle_server").server_url().to_owned();
    let board = format!("{}/{db}", server.trim_end_matches('/'));
    let work = TestDir::new("oracle_board");
    let name = format!("Oracle dev {}", std::process::id());
    let cmd = || {
        TestCommand::new()
            .args(["--db", &board, "--mybb", dir, "--no-fsync", "--root"])
            .arg(work.join("sync"))
    };
    cmd()
        .args(["dev", "Default", "--no-watch", "--live-reload", "127.0.0.1:0", "--name", &name])
        .expect_success();
    let header = work
        .join("sync/template_sets")
        .join(format!("{name} Templates/Header Templates/header.html"));
    std::fs::write(&header, "<div>ORACLE-DEV-MARKER</div>").unwrap();
    cmd().arg("import").arg(&header).expect_success();
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&board).unwrap()).unwrap();
    use mysql::prelude::Queryable;
    let tid: u32 =
        conn.exec_first("SELECT tid FROM mybb_themes WHERE name = ?", (&name,)).unwrap().unwrap();
    let shows = |page: &str| page.contains("ORACLE-DEV-MARKER");
    let guest = curl(&["-b", &format!("mybbtheme={tid}"), &format!("{url}/index.php")]);
    assert!(guest.contains("<html") && !shows(&guest), "a guest who asks for the copy");
    let jar = work.join("cookies");
    let jar = jar.to_str().unwrap();
    let login = curl(&["-c", jar, "-b", jar, &format!("{url}/member.php?action=login")]);
    let key = login.split("my_post_key = \"").nth(1).and_then(|k| k.split('"').next()).unwrap();
    let fields =
        ["action=do_login", "username=admin", "password=adminpass1", &format!("my_post_key={key}")];
    let mut post = vec!["-c", jar, "-b", jar];
    for field in &fields {
        post.extend(["-d", field]);
    }
    let login_url = format!("{url}/member.php");
    post.push(&login_url);
    curl(&post);
    conn.exec_drop("UPDATE mybb_users SET style = ?, usergroup = 4 WHERE uid = 1", (tid,)).unwrap();
    let admin = curl(&["-c", jar, "-b", jar, &format!("{url}/index.php")]);
    assert!(admin.contains("action=logout") && shows(&admin), "the administrator who chose it");
    assert!(admin.contains("/livereload.js"), "with the live-reload script");
    conn.exec_drop("UPDATE mybb_users SET usergroup = 2 WHERE uid = 1", ()).unwrap();
    let member = curl(&["-c", jar, "-b", jar, &format!("{url}/index.php")]);
    let style: u32 =
        conn.exec_first("SELECT style FROM mybb_users WHERE uid = 1", ()).unwrap().unwrap();
    conn.exec_drop("UPDATE mybb_users SET usergroup = 4, style = 0 WHERE uid = 1", ()).unwrap();
    assert!(member.contains("action=logout") && !shows(&member), "a member who chose it");
    assert_eq!(style, 0, "MyBB resets a member's style the member may not use");
    cmd().args(["publish", "--drop"]).expect_success();
}

/// A small chaos run around publish (issue 29): while publish writes twenty templates, the
/// Admin CP keeps editing their last lines (each edit made on the row as the admin saw it). Afterwards every template holds the Admin CP's
/// last edit, and a second publish carries what the first could not, the copy's line beside it.
#[test]
fn admin_cp_edits_during_a_publish_all_survive_and_the_next_publish_completes_it() {
    const N: usize = 20;
    let forum = Forum::new("publish_chaos");
    let body = |first: &str, last: &str| format!("{first}\nline 2\nline 3\nline 4\n{last}");
    for i in 0..N {
        forum.db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES (?, ?, 1, '1837', '', 0)",
            (format!("chaos_{i}"), body("line 1", "line 5")),
        );
    }
    forum.dev(&["--no-live-reload"]);
    for i in 0..N {
        let file = forum.copy_template("Ungrouped Templates", &format!("chaos_{i}"));
        std::fs::write(&file, body(&format!("copy {i}"), "line 5")).unwrap();
    }
    forum
        .cmd()
        .arg("import")
        .arg(forum.sync_root.join("template_sets").join(COPY_SET))
        .expect_success();
    let hold = forum._dir.join("chaos-hold");
    std::fs::create_dir_all(&hold).unwrap();
    let mut running = forum
        .cmd()
        .arg("publish")
        .env("MYBB_SYNC_TEST_HOOKS", format!("hold-before-write={}", hold.display()))
        .spawn();
    let started = Instant::now();
    while !hold.join("held").exists() {
        assert!(started.elapsed() < DEADLINE, "publish never got to its writes");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut last = vec![None; N];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut edit = |n: usize, last: &mut Vec<Option<usize>>| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let i = (rng % N as u64) as usize;
        let title = format!("chaos_{i}");
        // An edit of what the admin saw: the last line of the row as it is, written only over
        // that (the test's own compare-and-swap, so its edit never undoes publish's line 1).
        loop {
            let seen = String::from_utf8(forum.db.template(1, &title).unwrap()).unwrap();
            let edited = format!("{}\nadmin {n}", seen.rsplit_once('\n').unwrap().0);
            let sql = "UPDATE mybb_templates SET template = ? WHERE sid = 1 AND title = ? AND template = ?";
            if forum.db.exec_with(sql, (edited, &title, seen)) == 1 {
                break;
            }
        }
        last[i] = Some(n);
    };
    // Edits after publish read the rows and before it writes them, then while it writes.
    for n in 0..N / 2 {
        edit(n, &mut last);
    }
    std::fs::write(hold.join("go"), b"").unwrap();
    let mut n = N / 2;
    while running.is_running() {
        edit(n, &mut last);
        n += 1;
    }
    let out = running.wait(DEADLINE);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{out}");
    let live = |i: usize| forum.live_template(&format!("chaos_{i}")).unwrap();
    for (i, n) in last.iter().enumerate() {
        if let Some(n) = n {
            assert!(
                live(i).ends_with(&format!("admin {n}")),
                "chaos_{i} lost admin {n}: {}",
                live(i)
            );
        }
    }
    // Nothing edits now: the next publish carries the rest, merged with the Admin CP's edits.
    forum.cmd().arg("publish").expect_success();
    for (i, n) in last.iter().enumerate() {
        let last_line = n.map_or("line 5".to_owned(), |n| format!("admin {n}"));
        assert_eq!(live(i), body(&format!("copy {i}"), &last_line), "chaos_{i}");
    }
}

#[test]
fn a_template_deleted_in_the_copy_is_deleted_live_unless_edited_there() {
    let forum = Forum::new("publish_deletion");
    for title in ["devonly_a", "devonly_b"] {
        forum.db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES (?, 'custom', 1, '1837', '', 0)",
            (title,),
        );
    }
    forum.dev(&["--no-live-reload"]);
    for title in ["devonly_a", "devonly_b"] {
        let file = forum.copy_template("Ungrouped Templates", title);
        std::fs::remove_file(&file).unwrap();
        forum.cmd().arg("import").arg(file.parent().unwrap()).expect_success();
        assert_eq!(forum.db.template(forum.copy_sid(), title), None, "deleted in the copy");
    }
    forum.db.exec(
        "UPDATE mybb_templates SET template = 'edited live' WHERE sid = 1 AND title = 'devonly_b'",
    );
    let out = forum.cmd().args(["publish", "--partial"]).expect_code(3);
    assert!(out.stdout.contains("delete    template devonly_a"), "{out}");
    assert!(out.stdout.contains("conflict  template devonly_b"), "{out}");
    assert_eq!(forum.live_template("devonly_a"), None);
    assert_eq!(forum.live_template("devonly_b").as_deref(), Some("edited live"));
}

/// The theme file of theme folder `theme` in `forum`'s sync root.
fn theme_json(forum: &Forum, theme: &str) -> PathBuf {
    forum.sync_root.join("styles").join(theme).join("theme.json")
}

/// Edits theme folder `theme`'s file with `edit` and imports it, as a save in the watcher
/// would.
fn edit_theme_file(forum: &Forum, theme: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = theme_json(forum, theme);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut file);
    forum.save(&path, &format!("{}\n", serde_json::to_string_pretty(&file).unwrap()));
}

/// The look a development copy is given: every carried Edit Theme field, an inherited
/// stylesheet's pages and two orders.
fn restyle(file: &mut serde_json::Value) {
    let p = &mut file["properties"];
    p["editortheme"] = serde_json::json!("office.css");
    p["imgdir"] = serde_json::json!("images/dark");
    p["logo"] = serde_json::json!("images/dark/logo.png");
    p["tablespace"] = serde_json::json!(6);
    p["borderwidth"] = serde_json::json!(1);
    p["color"] = serde_json::json!("night");
    p["colors"] = serde_json::json!(["night=Night", "calm=Calm"]);
    file["stylesheets"]["showthread.css"]["attachedto"] =
        serde_json::json!(["showthread.php", "newreply.php?newreply,editdraft"]);
    file["stylesheets"]["css3.css"]["disporder"] = serde_json::json!(0);
    file["stylesheets"]["global.css"]["disporder"] = serde_json::json!(99);
}

/// A `themes` row: name, pid, allowedgroups, properties, stylesheets.
type ThemeRowText = (String, u32, String, String, String);

/// The live theme (tid 2) as its forms store it: its row, its own stylesheet rows (`name,
/// attachedto, content`) and the `default_theme` cache.
fn live_theme(forum: &Forum) -> (Vec<ThemeRowText>, Vec<String>, String) {
    let row = forum.db.query_rows(
        "SELECT name, pid, allowedgroups, properties, stylesheets FROM mybb_themes WHERE tid = 2",
    );
    let sheets: Vec<(String, String, String)> = forum.db.query_rows(
        "SELECT name, attachedto, stylesheet FROM mybb_themestylesheets WHERE tid = 2 ORDER BY \
         name",
    );
    let sheets = sheets.into_iter().map(|(n, a, c)| format!("{n}|{a}|{c}")).collect();
    let cache =
        forum.db.query_one("SELECT cache FROM mybb_datacache WHERE title = 'default_theme'");
    (row, sheets, cache)
}

#[test]
fn publish_carries_theme_properties_as_the_admin_cps_edit_theme_writes_them() {
    // What the Admin CP's forms write for the look (the writer `theme_files::` compares with
    // MyBB's own Admin CP byte for byte), made on the live theme directly...
    let want = Forum::new("publish_props_want");
    want.cmd().arg("export").expect_success();
    edit_theme_file(&want, "Default", restyle);
    // ...and the same look made in a development copy, then published.
    let forum = Forum::with_copy("publish_props");
    edit_theme_file(&forum, COPY, restyle);
    let dry = forum.cmd().args(["publish", "--dry-run"]).expect_success();
    assert!(dry.stdout.contains("publish   theme properties.logo (changed in the copy)"), "{dry}");
    assert!(dry.stdout.contains("+images/dark/logo.png"), "{dry}");
    assert!(dry.stdout.contains("theme stylesheets.showthread.css.attachedto"), "{dry}");
    assert!(!dry.stdout.contains("properties.templateset"), "{dry}");
    let out = forum.cmd().args(["publish", "--json"]).expect_success();
    assert!(out.stdout.contains("\"kind\":\"theme\",\"name\":\"properties.imgdir\""), "{out}");
    assert_eq!(live_theme(&forum), live_theme(&want), "the live theme as Edit Theme writes it");
    let cache = |f: &Forum| tree(&f.mybb_root.join("cache/themes/theme2"));
    assert_eq!(cache(&forum), cache(&want), "the live theme's cache files as the forms write them");
    // The base moved: nothing is left to publish.
    forum.assert_nothing_to_publish();
}

#[test]
fn a_theme_property_edited_in_the_admin_cp_since_the_base_is_a_conflict() {
    let forum = Forum::with_copy("publish_props_conflict");
    edit_theme_file(&forum, COPY, |file| {
        file["properties"]["logo"] = serde_json::json!("images/dev.png");
        file["properties"]["imgdir"] = serde_json::json!("images/dev");
    });
    // The Admin CP changes the live logo meanwhile; its imgdir is left alone.
    forum.cmd().arg("export").expect_success();
    edit_theme_file(&forum, "Default", |file| {
        file["properties"]["logo"] = serde_json::json!("images/admin.png");
    });
    let props =
        || -> String { forum.db.query_one("SELECT properties FROM mybb_themes WHERE tid = 2") };
    let before = props();
    let out = forum.cmd().arg("publish").expect_code(3);
    assert!(out.stdout.contains("conflict  theme properties.logo"), "{out}");
    assert!(out.stdout.contains("held      theme properties.imgdir"), "{out}");
    assert_eq!(props(), before, "nothing is written");
    // --partial carries the other field; the conflicting one keeps the Admin CP's value.
    forum.cmd().args(["publish", "--partial"]).expect_code(3);
    let after = props();
    assert!(after.contains("images/dev\"") && after.contains("images/admin.png"), "{after}");
    // --prefer live gives the copy the live value: nothing is left to publish.
    forum.cmd().args(["publish", "--prefer", "live"]).expect_success();
    let copy: String = forum
        .db
        .query_one(&format!("SELECT properties FROM mybb_themes WHERE tid = {}", forum.copy_tid()));
    assert!(copy.contains("images/admin.png"), "{copy}");
    forum.assert_nothing_to_publish();
}

#[test]
fn publish_never_carries_the_copys_name_parent_groups_or_set() {
    let forum = Forum::with_copy("publish_props_identity");
    let row = || -> Vec<(String, u32, String, String)> {
        forum.db.query_rows(
            "SELECT name, pid, allowedgroups, properties FROM mybb_themes WHERE tid = 2",
        )
    };
    let before = row();
    // The copy's own identity differs from the live theme's by design; edit it further.
    edit_theme_file(&forum, COPY, |file| {
        file["allowedgroups"] = serde_json::json!([4, 3]);
    });
    let out = forum.cmd().args(["publish", "--dry-run", "--json"]).expect_success();
    assert!(out.stdout.contains("\"planned\":0"), "{out}");
    for field in ["name", "parent", "allowedgroups", "templateset"] {
        assert!(!out.stdout.contains(field), "{field} planned: {out}");
    }
    forum.cmd().arg("publish").expect_success();
    assert_eq!(row(), before, "the live theme keeps its name, parent, groups and set");
}

#[test]
fn a_publish_killed_before_its_theme_fields_is_finished_by_the_next_run() {
    let forum = Forum::with_copy("publish_props_killed");
    forum.save_copy_header("<div>one</div>");
    edit_theme_file(&forum, COPY, |file| {
        file["properties"]["logo"] = serde_json::json!("images/dev.png");
    });
    // Killed right after the template: the fields, written last, are still to do.
    let killed = forum.cmd().arg("publish").env("MYBB_SYNC_TEST_HOOKS", "kill-at-publish=1").run();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&killed.status), Some(9), "{killed}");
    let props =
        || -> String { forum.db.query_one("SELECT properties FROM mybb_themes WHERE tid = 2") };
    assert!(!props().contains("images/dev.png"));
    let out = forum.cmd().args(["publish", "--json"]).expect_success();
    assert!(!forum.sync_root.join(".mybb-sync/dev/theme-2.publish.json").exists(), "{out}");
    assert!(props().contains("\"images/dev.png\""), "{}", props());
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>one</div>"));
    forum.assert_nothing_to_publish();
}

// See: issue 29 (a carried field the live theme would refuse was caught at write time).
#[test]
fn a_theme_field_the_live_theme_would_refuse_is_refused_in_the_plan_and_nothing_is_written() {
    let forum = Forum::with_copy("publish_props_refused");
    forum.save_copy_header("<div>two</div>");
    edit_theme_file(&forum, COPY, |file| {
        file["properties"]["editortheme"] = serde_json::json!("office.css");
        file["properties"]["logo"] = serde_json::json!("images/dev.png");
    });
    // The editor theme the copy chose is removed from the board since: Edit Theme would
    // refuse it on the live theme.
    std::fs::remove_file(forum.mybb_root.join("jscripts/sceditor/themes/office.css")).unwrap();
    let before = forum.snapshot();
    let props =
        || -> String { forum.db.query_one("SELECT properties FROM mybb_themes WHERE tid = 2") };
    let props_before = props();
    let dry = forum.cmd().args(["publish", "--dry-run"]).expect_code(3);
    assert!(
        dry.stdout.contains("refused   theme properties.editortheme")
            && dry.stdout.contains("The selected editor theme does not exist"),
        "{dry}"
    );
    assert!(dry.stdout.contains("held      template header"), "{dry}");
    let out = forum.cmd().arg("publish").expect_code(3);
    assert!(out.stdout.contains("refused   theme properties.editortheme"), "{out}");
    assert_eq!(forum.snapshot(), before, "nothing is written");
    assert_eq!(props(), props_before);
    assert!(!forum.sync_root.join(".mybb-sync/dev/theme-2.publish.json").exists());
    // --partial carries the rest; the refused field stays the live theme's.
    forum.cmd().args(["publish", "--partial"]).expect_code(3);
    assert_eq!(forum.live_template("header").as_deref(), Some("<div>two</div>"));
    assert!(props().contains("images/dev.png") && !props().contains("office.css"), "{}", props());
}

// See: issue 29 (a stylesheet deleted in the copy is not carried). The copy is a child of the
// live theme: MyBB gives a child theme every stylesheet of its parent, so deleting the copy's
// own row brings the live one back into the copy (its file included); the copy then renders
// the base, and there is no deletion for publish to carry.
#[test]
fn a_stylesheet_deleted_in_the_copy_comes_back_from_the_live_theme_and_nothing_is_carried() {
    let forum = Forum::with_copy("publish_sheet_deleted");
    forum.save(&forum.copy_stylesheet("dev.css"), ".new { margin: 0; }\n");
    forum.cmd().arg("publish").expect_success();
    let live_sheets = || -> Vec<String> {
        forum.db.query_rows("SELECT name FROM mybb_themestylesheets WHERE tid = 2 ORDER BY name")
    };
    assert!(live_sheets().contains(&"dev.css".to_owned()));
    let copy_sheets = || -> Vec<String> {
        forum.db.query_rows(&format!(
            "SELECT name FROM mybb_themestylesheets WHERE tid = {} ORDER BY name",
            forum.copy_tid()
        ))
    };
    assert!(copy_sheets().contains(&"dev.css".to_owned()), "{:?}", copy_sheets());
    // Deleted in the copy: its own row goes, and the live theme's is what the copy serves.
    std::fs::remove_file(forum.copy_stylesheet("dev.css")).unwrap();
    let out = forum.cmd().arg("import").expect_success();
    assert!(!copy_sheets().contains(&"dev.css".to_owned()), "{out}");
    forum.cmd().arg("export").expect_success();
    assert_eq!(
        std::fs::read_to_string(forum.copy_stylesheet("dev.css")).unwrap(),
        ".new { margin: 0; }\n"
    );
    let out = forum.cmd().args(["publish", "--dry-run", "--json"]).expect_success();
    assert!(out.stdout.contains("\"planned\":0"), "{out}");
    assert!(live_sheets().contains(&"dev.css".to_owned()));
}
