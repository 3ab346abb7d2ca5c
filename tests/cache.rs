//! MyBB's stylesheet cache: an edit goes live as the Admin CP makes it, and `cache rebuild`
//! writes what MyBB itself writes (issue 4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use mybb_sync::mybb::db::PhpRows;
use mybb_sync::mybb::stylecache;
use mybb_sync::php::serialize::{self as phpser, Value};

use crate::export::{sync_cmd, tree};
use crate::util::{TestCommand, TestDb, TestDir, on_sqlite, wait_until};

/// MyBB 1.8.37's own cache files for the fixture.
const FIXTURE_CACHE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-cache-themes");

/// An edit of the inherited `global.css` that exercises both transforms.
const NEW_GLOBAL: &str = "body {\n\tbackground: #ffffff url(images/bg.png);\n}\n\
                          /* logo */\n#logo { background: url('{theme}/logo.png') ; }\n";

/// A test's database, directory, sync root (exported) and MyBB root.
struct Forum {
    db: TestDb,
    _dir: TestDir,
    sync_root: PathBuf,
    mybb_root: PathBuf,
}

impl Forum {
    /// Returns a fresh fixture database with an export in `sync/` and an empty MyBB root in
    /// `forum/`. Every stylesheet row is dated two hours ago, so cache files written now are
    /// new enough for it whatever the machine's clock says about the fixture's dates.
    fn new(name: &str) -> Forum {
        let db = TestDb::new(name);
        db.exec("UPDATE mybb_themestylesheets SET lastmodified = UNIX_TIMESTAMP() - 7200");
        let dir = TestDir::new(name);
        let sync_root = dir.join("sync");
        let mybb_root = dir.join("forum");
        std::fs::create_dir_all(&mybb_root).unwrap();
        sync_cmd(&db, &sync_root).arg("export").expect_success();
        Forum { db, _dir: dir, sync_root, mybb_root }
    }

    /// Returns a fixture forum whose cache `cache rebuild` has written, with every cache file
    /// dated an hour ago: older than any edit the test makes, newer than every row.
    fn cached(name: &str) -> Forum {
        let forum = Forum::new(name);
        forum.cmd().args(["cache", "rebuild"]).expect_success();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for file in tree(&forum.cache_dir()).keys() {
            let file = std::fs::File::options().append(true).open(forum.cache_dir().join(file));
            file.unwrap().set_modified(an_hour_ago).unwrap();
        }
        forum
    }

    /// `mybb-sync --db ... --root sync --no-fsync --mybb forum`.
    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    fn cache_dir(&self) -> PathBuf {
        self.mybb_root.join("cache/themes")
    }

    fn global_css(&self) -> PathBuf {
        self.sync_root.join("styles/Default/global.css")
    }

    /// Returns theme `tid`'s `(properties, stylesheets)` columns.
    fn theme(&self, tid: u32) -> (String, String) {
        self.db
            .query_rows_with(
                "SELECT properties, stylesheets FROM mybb_themes WHERE tid = ?",
                (tid,),
            )
            .remove(0)
    }

    /// Returns the sids of theme `tid`'s rows named `name`.
    fn sids(&self, tid: u32, name: &str) -> Vec<u32> {
        self.db.query_rows_with(
            "SELECT sid FROM mybb_themestylesheets WHERE tid = ? AND name = ? ORDER BY sid",
            (tid, name),
        )
    }
}

/// Returns theme stylesheet list `column` as script -> action -> URLs, without `inherited`.
fn links(column: &str) -> BTreeMap<(String, String), Vec<String>> {
    let list = phpser::parse(column).unwrap();
    let mut out = BTreeMap::new();
    for (script, actions) in list.as_array().unwrap() {
        if script.to_string() == "inherited" {
            continue;
        }
        for (action, urls) in actions.as_array().unwrap() {
            let urls = urls.as_array().unwrap().iter().map(|(_, u)| u.as_str().unwrap().to_owned());
            out.insert((script.to_string(), action.to_string()), urls.collect());
        }
    }
    out
}

/// Returns the URLs the `inherited` map of list `column` marks as inherited.
fn inherited_urls(column: &str) -> Vec<String> {
    let list = phpser::parse(column).unwrap();
    let Some(inherited) = list.get("inherited") else { return Vec::new() };
    let mut urls = Vec::new();
    for (_, map) in inherited.as_array().unwrap() {
        urls.extend(map.as_array().unwrap().iter().map(|(url, _)| url.to_string()));
    }
    urls
}

/// Asserts that the `default_theme` datacache row is MyBB's copy of the themes row of tid 2.
#[track_caller]
fn assert_default_theme_cache_matches(forum: &Forum) {
    let (properties, stylesheets) = forum.theme(2);
    // SQLite's PDO hands MyBB the row keyed both ways, tid an int (checked against the Admin CP
    // by tests/engine_oracle.rs).
    let rows = if on_sqlite() { PhpRows::PdoSqlite } else { PhpRows::Strings };
    let want = stylecache::default_theme_cache("Default", 2, &properties, &stylesheets, rows);
    let cached: String =
        forum.db.query_one("SELECT cache FROM mybb_datacache WHERE title = 'default_theme'");
    assert_eq!(cached, phpser::to_string(&want));
}

/// Asserts that list `after` links `now` exactly where list `before` linked `was`, and is the
/// same everywhere else.
#[track_caller]
fn assert_relinked(before: &str, after: &str, was: &str, now: &str) {
    let (before, after) = (links(before), links(after));
    let mut expected = before.clone();
    let mut replaced = 0;
    for urls in expected.values_mut() {
        for url in urls.iter_mut().filter(|u| *u == was) {
            *url = now.to_owned();
            replaced += 1;
        }
    }
    assert!(replaced > 0, "the list never linked {was}");
    assert_eq!(after, expected);
}

#[test]
fn cache_rebuild_writes_every_fixture_stylesheet_as_mybb_does_byte_for_byte() {
    let forum = Forum::new("cache_rebuild_fixture");
    let master = forum.theme(1);
    let installer = forum.theme(2).1;
    let out = forum.cmd().args(["cache", "rebuild"]).expect_success();
    assert!(
        out.stderr
            .contains("17 stylesheets written, 0 unchanged, 0 failed; 1 stylesheet list updated"),
        "{}",
        out.stderr
    );

    let written = tree(&forum.cache_dir());
    let mut expected = tree(Path::new(FIXTURE_CACHE));
    assert_eq!(expected.len(), 34, "17 stylesheets, .css and .min.css");
    // MyBB creates each theme directory with an empty index.html.
    expected.insert("theme1/index.html".into(), Vec::new());
    expected.insert("theme2/index.html".into(), Vec::new());
    assert_eq!(written.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (file, content) in &expected {
        assert!(written[file] == *content, "{file} differs from MyBB's");
    }

    // The master theme's row is never written (and MyBB would write the same list); Default's
    // list links the same files as the installer's, per script and action (MyBB's rebuild
    // orders the scripts differently), and the datacache copy follows it.
    assert_eq!(forum.theme(1), master);
    assert_eq!(links(&forum.theme(2).1), links(&installer));
    assert_default_theme_cache_matches(&forum);

    // Running it again finds everything in place and writes nothing.
    let themes = (forum.theme(1), forum.theme(2));
    let out = forum.cmd().args(["cache", "rebuild"]).expect_success();
    assert!(out.stderr.contains("0 stylesheets written, 17 unchanged"), "{}", out.stderr);
    assert!(out.stderr.contains("0 stylesheet lists updated"), "{}", out.stderr);
    assert_eq!((forum.theme(1), forum.theme(2)), themes);
}

#[test]
fn cache_rebuild_recreates_a_deleted_cache_directory_byte_identically() {
    let forum = Forum::new("cache_rebuild_deleted");
    forum.cmd().args(["cache", "rebuild"]).expect_success();
    let first = tree(&forum.cache_dir());
    let themes = (forum.theme(1), forum.theme(2));

    std::fs::remove_dir_all(forum.cache_dir().join("theme2")).unwrap();
    forum.cmd().args(["cache", "rebuild", "--theme", "Default"]).expect_success();
    assert_eq!(tree(&forum.cache_dir()), first);

    std::fs::remove_dir_all(forum.mybb_root.join("cache")).unwrap();
    forum.cmd().args(["cache", "rebuild"]).expect_success();
    assert_eq!(tree(&forum.cache_dir()), first);
    assert_eq!((forum.theme(1), forum.theme(2)), themes);
}

#[test]
fn cache_rebuild_of_one_theme_writes_only_that_themes_files() {
    let forum = Forum::new("cache_rebuild_one_theme");
    let out = forum.cmd().args(["cache", "rebuild", "--theme", "Default"]).expect_success();
    assert!(out.stderr.contains("10 stylesheets written"), "{}", out.stderr);
    let files = tree(&forum.cache_dir());
    assert_eq!(files.len(), 21, "{:?}", files.keys());
    assert!(files.keys().all(|f| f.starts_with("theme2/")));
    // No theme1 files on this node: Default's inherited sheets are linked through css.php.
    let default = links(&forum.theme(2).1);
    assert_eq!(
        default[&("global".into(), "global".into())],
        ["css.php?stylesheet=1", "css.php?stylesheet=7"]
    );
    assert_default_theme_cache_matches(&forum);
}

#[test]
fn cache_rebuild_needs_a_mybb_root_and_a_known_theme() {
    let db = TestDb::new("cache_rebuild_usage");
    let dir = TestDir::new("cache_rebuild_usage");
    let out = sync_cmd(&db, &dir.join("sync")).args(["cache", "rebuild"]).expect_code(2);
    assert!(out.stderr.contains("--mybb DIR or MYBB_ROOT"), "{}", out.stderr);

    std::fs::create_dir_all(dir.join("forum")).unwrap();
    let out = sync_cmd(&db, &dir.join("sync"))
        .args(["--mybb".as_ref(), dir.join("forum").as_os_str()])
        .args(["cache", "rebuild", "--theme", "Nope"])
        .expect_code(2);
    assert!(out.stderr.contains("no theme named \"Nope\""), "{}", out.stderr);
    assert!(!dir.join("forum/cache").exists());

    let out = sync_cmd(&db, &dir.join("sync"))
        .env("MYBB_ROOT", dir.join("missing"))
        .args(["cache", "rebuild"])
        .expect_code(2);
    assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
    assert!(!dir.join("missing").exists());
}

#[test]
fn editing_an_inherited_stylesheet_of_default_copies_it_and_makes_it_live() {
    let forum = Forum::cached("cache_edit_inherited");
    let master_row = forum.db.stylesheet(1, "global.css").unwrap();
    let master_theme = forum.theme(1);
    let (properties, before) = forum.theme(2);
    let theme1_global = std::fs::read(forum.cache_dir().join("theme1/global.css")).unwrap();

    std::fs::write(forum.global_css(), NEW_GLOBAL).unwrap();
    let out = forum.cmd().arg("import").expect_success();
    assert!(out.stderr.contains("copied into the theme (copy-on-write)"), "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);

    // One new row in tid 2, saved as the Admin CP saves it.
    let sids = forum.sids(2, "global.css");
    assert_eq!(sids.len(), 1);
    let (cachefile, lastmodified): (String, u64) = forum
        .db
        .query_rows_with(
            "SELECT cachefile, lastmodified FROM mybb_themestylesheets WHERE sid = ?",
            (sids[0],),
        )
        .remove(0);
    assert_eq!(cachefile, "global.css");
    assert!(lastmodified + 60 > mybb_sync::mybb::db::now());

    // Its cache files, through MyBB's transforms.
    let theme2 = forum.cache_dir().join("theme2");
    let css = std::fs::read_to_string(theme2.join("global.css")).unwrap();
    assert_eq!(css, stylecache::cache_css(NEW_GLOBAL, 2));
    assert!(css.contains("url(../../../images/bg.png)"), "{css}");
    assert!(css.contains("url(../../../cache/themes/theme2/logo.png)"), "{css}");
    assert_eq!(
        std::fs::read_to_string(theme2.join("global.min.css")).unwrap(),
        "body{background:#fff url(../../../images/bg.png)}#logo{background:url(../../../cache/themes/theme2/logo.png)}"
    );

    // The master theme is untouched, rows, list and files.
    assert_eq!(forum.db.stylesheet(1, "global.css").unwrap(), master_row);
    assert_eq!(forum.theme(1), master_theme);
    assert_eq!(std::fs::read(forum.cache_dir().join("theme1/global.css")).unwrap(), theme1_global);

    // Default's list links its own file wherever it linked the master's; nothing else moved;
    // the display order is kept; the datacache copy follows.
    let (properties_after, after) = forum.theme(2);
    assert_relinked(
        &before,
        &after,
        "cache/themes/theme1/global.css",
        "cache/themes/theme2/global.css",
    );
    assert!(inherited_urls(&before).contains(&"cache/themes/theme1/global.css".to_owned()));
    assert!(!inherited_urls(&after).iter().any(|u| u.ends_with("/global.css")));
    assert_eq!(properties_after, properties);
    assert_default_theme_cache_matches(&forum);

    // A second edit updates that row and its files; the list already links them.
    std::fs::write(forum.global_css(), "body { color: #000000; }\n").unwrap();
    forum.cmd().arg("import").expect_success();
    assert_eq!(forum.sids(2, "global.css"), sids);
    assert_eq!(std::fs::read_to_string(theme2.join("global.min.css")).unwrap(), "body{color:#000}");
    assert_eq!(forum.theme(2), (properties_after, after));
}

#[test]
fn a_new_stylesheet_is_cached_appended_to_the_display_order_and_linked_everywhere() {
    let forum = Forum::cached("cache_new_name");
    std::fs::write(forum.sync_root.join("styles/Default/extra.css"), ".x { color: red; }").unwrap();
    forum.cmd().arg("import").expect_success();
    let sid = forum.sids(2, "extra.css")[0];
    assert_eq!(
        std::fs::read_to_string(forum.cache_dir().join("theme2/extra.min.css")).unwrap(),
        ".x{color:red}"
    );
    let (properties, stylesheets) = forum.theme(2);
    let disporder = phpser::parse(&properties).unwrap().get("disporder").cloned().unwrap();
    assert_eq!(disporder.get("extra.css"), Some(&Value::Int(18)));
    assert_eq!(disporder.as_array().unwrap().len(), 18);
    let global = &links(&stylesheets)[&("global".into(), "global".into())];
    assert!(global.contains(&"cache/themes/theme2/extra.css".to_owned()), "{global:?}");
    assert_eq!(
        forum.db.query_one::<String>(&format!(
            "SELECT cachefile FROM mybb_themestylesheets WHERE sid = {sid}"
        )),
        "extra.css"
    );
    assert_default_theme_cache_matches(&forum);
}

#[test]
fn an_unwritable_cache_directory_links_css_php_and_warns_naming_it() {
    let forum = Forum::cached("cache_unwritable");
    let (properties, before) = forum.theme(2);
    // Tests run as root, which ignores permission bits: a regular file where the theme
    // directory should be makes it unwritable for anyone.
    let theme2 = forum.cache_dir().join("theme2");
    std::fs::remove_dir_all(&theme2).unwrap();
    std::fs::write(&theme2, "not a directory").unwrap();

    std::fs::write(forum.global_css(), NEW_GLOBAL).unwrap();
    let out = forum.cmd().arg("import").expect_success();
    let sid = forum.sids(2, "global.css")[0];
    let fallback = format!("css.php?stylesheet={sid}");
    let path = theme2.join("global.css");
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with("warning:") && l.contains(&path.display().to_string()))
        .unwrap_or_else(|| panic!("no warning naming {}:\n{}", path.display(), out.stderr));
    assert!(warning.contains("not a directory"), "{warning}");
    assert!(warning.contains(&fallback), "{warning}");

    // The edit is live all the same: pages get it from css.php, as MyBB would arrange; so do
    // Default's colour sheets, whose files vanished with the directory. The rest is as it was.
    let own: Vec<(String, u32)> =
        forum.db.query_rows("SELECT name, sid FROM mybb_themestylesheets WHERE tid = 2");
    let relink = |url: &str| {
        let own = own.iter().find(|(name, _)| {
            url == format!("cache/themes/theme2/{name}")
                || (name == "global.css" && url == "cache/themes/theme1/global.css")
        });
        own.map_or(url.to_owned(), |(_, sid)| format!("css.php?stylesheet={sid}"))
    };
    let mut expected = links(&before);
    for urls in expected.values_mut() {
        *urls = urls.iter().map(|u| relink(u)).collect();
    }
    let (_, after) = forum.theme(2);
    assert_eq!(links(&after), expected);
    assert_eq!(links(&after)[&("global".into(), "global".into())][0], fallback);
    let cachefile: String = forum
        .db
        .query_one(&format!("SELECT cachefile FROM mybb_themestylesheets WHERE sid = {sid}"));
    assert_eq!(cachefile, fallback);
    assert_eq!(forum.theme(2).0, properties);
    assert_eq!(std::fs::read(&theme2).unwrap(), b"not a directory");
    assert_default_theme_cache_matches(&forum);

    // Once the directory is back, `cache rebuild` writes the files and links them again.
    std::fs::remove_file(&theme2).unwrap();
    forum.cmd().args(["cache", "rebuild", "--theme", "Default"]).expect_success();
    assert_eq!(
        std::fs::read_to_string(theme2.join("global.css")).unwrap(),
        stylecache::cache_css(NEW_GLOBAL, 2)
    );
    let global = &links(&forum.theme(2).1)[&("global".into(), "global".into())];
    assert_eq!(global[0], "cache/themes/theme2/global.css");
}

#[test]
fn without_a_mybb_root_the_row_is_saved_and_a_warning_says_how_to_go_live() {
    let forum = Forum::new("cache_no_root");
    let themes = (forum.theme(1), forum.theme(2));
    std::fs::write(forum.global_css(), NEW_GLOBAL).unwrap();
    let out = sync_cmd(&forum.db, &forum.sync_root).arg("import").expect_success();
    assert!(
        out.stderr.contains(
            "the forum keeps serving the old files until `mybb-sync --mybb DIR cache rebuild` runs"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(forum.db.stylesheet(2, "global.css").unwrap(), NEW_GLOBAL.as_bytes());
    assert_eq!((forum.theme(1), forum.theme(2)), themes);

    // A --mybb without cache/themes is not MyBB's root: nothing is created there, and the lists
    // are not rebuilt from a directory without cache files (which would link css.php for all).
    std::fs::write(forum.global_css(), "body { margin: 0; }").unwrap();
    let out = forum.cmd().arg("import").expect_success();
    assert!(out.stderr.contains("does not look like MyBB's root"), "{}", out.stderr);
    assert_eq!(forum.db.stylesheet(2, "global.css").unwrap(), b"body { margin: 0; }");
    assert_eq!((forum.theme(1), forum.theme(2)), themes);
    assert!(tree(&forum.mybb_root).is_empty());
}

#[test]
fn a_stylesheet_saved_while_watching_goes_live() {
    let forum = Forum::cached("cache_watch");
    let run = forum.cmd().args(["watch", "--debounce", "30", "--no-pull"]).spawn();
    wait_until("the watcher to start", Duration::from_secs(30), || {
        run.stderr_so_far().contains("watching ")
    });
    std::fs::write(forum.global_css(), NEW_GLOBAL).unwrap();
    let css = forum.cache_dir().join("theme2/global.css");
    wait_until("the cache file", Duration::from_secs(30), || {
        std::fs::read_to_string(&css).is_ok_and(|c| c == stylecache::cache_css(NEW_GLOBAL, 2))
    });
    wait_until("the list to link it", Duration::from_secs(30), || {
        forum.theme(2).1.contains("\"cache/themes/theme2/global.css\"")
    });
    run.interrupt();
    let out = run.wait(Duration::from_secs(30));
    assert_eq!(out.code(), Some(0), "{out}");
}
