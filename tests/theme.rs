//! `theme export`, `theme import`, `theme unpack`: MyBB theme files exactly as the Admin CP
//! writes and reads them, and hostile theme files refused (issue 13).
//!
//! The expected outputs under `tests/fixtures/mybb-1.8.37-theme-export/` and
//! `tests/fixtures/mybb-1.8.37-theme-import/` were written by MyBB 1.8.37's own PHP (the Admin
//! CP's export action and `import_theme_xml()`, run by PHP 8.2 on the fixture database); see
//! `tests/fixtures/README.md`.

use std::path::{Path, PathBuf};

use mybb_sync::mybb::theme_xml::{self, ThemeXml};

use crate::export::{sync_cmd, tree};
use crate::util::{self, TestCommand, TestDb, TestDir};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// How long a background step (the watcher starting, a pull) may take before the test fails.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// MyBB's master theme file of 1.8.37.
fn master_xml() -> PathBuf {
    Path::new(FIXTURES).join("mybb-1.8.37-theme.xml")
}

fn fixture(relative: &str) -> Vec<u8> {
    let path = Path::new(FIXTURES).join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A test's database, directory, sync root and MyBB root (with MyBB's own cache files of the
/// fixture install in `cache/themes`).
struct Forum {
    db: TestDb,
    dir: TestDir,
    sync_root: PathBuf,
    mybb_root: PathBuf,
}

impl Forum {
    fn new(name: &str) -> Forum {
        let db = TestDb::new(name);
        let dir = TestDir::new(name);
        let sync_root = dir.join("sync");
        let mybb_root = dir.join("forum");
        let themes = mybb_root.join("cache/themes");
        for (file, content) in tree(&Path::new(FIXTURES).join("mybb-1.8.37-cache-themes")) {
            let path = themes.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        Forum { db, dir, sync_root, mybb_root }
    }

    /// `mybb-sync --db ... --root sync --no-fsync --mybb forum`.
    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    /// Runs `theme export NAME ARGS...` and returns what it wrote, which must be a theme.
    fn export(&self, name: &str, args: &[&str]) -> String {
        let out = self.cmd().args(["theme", "export", name]).args(args).expect_success();
        out.stdout
    }

    fn count(&self, sql: &str) -> u64 {
        self.db.query_one(sql)
    }
}

fn parse(xml: &str) -> ThemeXml {
    theme_xml::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("the export does not parse: {e}"))
}

#[test]
fn theme_export_writes_byte_for_byte_what_the_admin_cp_writes() {
    if util::mysql_only(
        "the oracle is the Admin CP's export on MariaDB, whose sid/title index orders the \
         templates; on SQLite and PostgreSQL MyBB reads them in the table's order, and no oracle was \
         taken there",
    ) {
        return;
    }
    let forum = Forum::new("theme_export_admin_cp_bytes");
    forum.db.load_sql(std::str::from_utf8(&fixture("mybb-1.8.37-theme-export/setup.sql")).unwrap());
    let name = "Default & <Co> \"1\" &#169;";
    let everything = forum.export(name, &[]);
    assert_eq!(
        everything.as_bytes(),
        fixture("mybb-1.8.37-theme-export/default-everything.xml"),
        "theme export differs from the Admin CP's export"
    );
    let custom = forum.export(name, &["--custom-only", "--no-templates"]);
    assert_eq!(
        custom.as_bytes(),
        fixture("mybb-1.8.37-theme-export/default-custom-only-no-templates.xml")
    );
}

#[test]
fn theme_export_of_the_default_theme_has_the_admin_cps_structure_with_each_option() {
    let forum = Forum::new("theme_export_structure");
    let opening = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<theme name=\"Default\" \
                   version=\"1837\">\r\n\t<properties>\r\n\t\t<templateset><![CDATA[1]]>\
                   </templateset>\r\n\t\t<imgdir><![CDATA[images]]></imgdir>\r\n";
    for (args, sheets, templates) in [
        (&[][..], 17, true),
        (&["--custom-only"][..], 10, true),
        (&["--no-templates"][..], 17, false),
        (&["--custom-only", "--no-templates"][..], 10, false),
    ] {
        let xml = forum.export("Default", args);
        assert!(xml.starts_with(opening), "{args:?}: {}", &xml[..200]);
        assert!(xml.ends_with("</theme>"), "{args:?}");
        assert!(!xml.contains("<inherited>"), "{args:?}: inherited is left out");
        assert_eq!(xml.contains("\t<templates>\r\n"), templates, "{args:?}");
        assert!(xml.contains("\t\t<stylesheet name=\"usercp.css\" attachedto=\"usercp.php|private.php\" version=\"1837\"><![CDATA[") != args.contains(&"--custom-only"), "{args:?}");
        let theme = parse(&xml);
        assert_eq!(theme.name, "Default");
        assert_eq!(theme.stylesheets.len(), sheets, "{args:?}");
        assert!(theme.stylesheets.iter().all(|s| s.content.ends_with("\n\t\t")));
        assert!(theme.templates.is_empty(), "the Default set has no templates of its own");
    }
}

#[test]
fn theme_import_of_the_master_theme_file_creates_what_import_theme_xml_creates() {
    let forum = Forum::new("theme_import_master");
    let out = forum
        .cmd()
        .args(["theme", "import"])
        .arg(master_xml())
        .args(["--name", "Imported Master"])
        .expect_success();
    assert_eq!(out.stdout, "3\tImported Master\n");

    let theme: Vec<(u32, String, u32, u32, String)> = forum
        .db
        .query_rows("SELECT tid, name, pid, def, allowedgroups FROM mybb_themes WHERE tid = 3");
    assert_eq!(theme, [(3, "Imported Master".to_owned(), 1, 0, "all".to_owned())]);
    let columns: Vec<(Vec<u8>, Vec<u8>)> =
        forum.db.query_rows("SELECT properties, stylesheets FROM mybb_themes WHERE tid = 3");
    let (properties, stylesheets) = columns[0].clone();
    assert_eq!(properties, fixture("mybb-1.8.37-theme-import/theme3-properties.txt"));
    assert_eq!(stylesheets, fixture("mybb-1.8.37-theme-import/theme3-stylesheets.txt"));

    let sets: Vec<(u32, String)> =
        forum.db.query_rows("SELECT sid, title FROM mybb_templatesets ORDER BY sid");
    assert_eq!(
        sets,
        [(1, "Default Templates".to_owned()), (2, "Imported Master Templates".to_owned())]
    );

    let xml = theme_xml::parse(&fixture("mybb-1.8.37-theme.xml")).unwrap();
    let rows: Vec<(String, Vec<u8>, String, String)> = forum.db.query_rows(
        "SELECT title, template, version, status FROM mybb_templates WHERE sid = 2 ORDER BY tid",
    );
    assert_eq!(rows.len(), 974);
    for (row, template) in rows.iter().zip(&xml.templates) {
        assert_eq!(row.0, template.name);
        assert_eq!(row.1, template.content.as_bytes(), "{}", template.name);
        assert_eq!(row.2, template.version, "{}: the XML's version", template.name);
        assert_eq!(row.3, "");
    }

    let sheets: Vec<(String, String, String, Vec<u8>)> = forum.db.query_rows(
        "SELECT name, attachedto, cachefile, stylesheet FROM mybb_themestylesheets WHERE tid = 3 \
         ORDER BY sid",
    );
    let expected: Vec<(String, String, String, Vec<u8>)> = xml
        .stylesheets
        .iter()
        .map(|s| {
            let attached = s.attachedto.clone().unwrap_or_default();
            (s.name.clone(), attached, s.name.clone(), s.content.as_bytes().to_vec())
        })
        .collect();
    assert_eq!(sheets, expected);

    let written = tree(&forum.mybb_root.join("cache/themes/theme3"));
    let mybb = tree(&Path::new(FIXTURES).join("mybb-1.8.37-theme-import/theme3"));
    assert_eq!(written.keys().collect::<Vec<_>>(), mybb.keys().collect::<Vec<_>>());
    for (file, content) in &mybb {
        assert!(written[file] == *content, "cache file {file} differs from MyBB's");
    }

    // The new theme and set then appear in the sync tree on the next export.
    forum.cmd().arg("export").expect_success();
    let header = forum
        .sync_root
        .join("template_sets/Imported Master Templates/Header Templates/header.html");
    assert!(header.is_file(), "{}", header.display());
    assert!(forum.sync_root.join("styles/Imported Master/global.css").is_file());
}

#[test]
fn a_round_trip_through_export_and_import_changes_only_the_name_and_what_mybb_changes() {
    let forum = Forum::new("theme_round_trip");
    forum.db.exec(
        "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) VALUES \
         ('header', 'my header ]]> end', 1, '1830', '', 1700000000)",
    );
    let first = forum.export("Default", &[]);
    let file = forum.dir.join("default.xml");
    std::fs::write(&file, &first).unwrap();
    forum.cmd().args(["theme", "import"]).arg(&file).args(["--name", "Copy"]).expect_success();
    let second = forum.export("Copy", &[]);

    let (a, b) = (parse(&first), parse(&second));
    assert_eq!((a.name.as_str(), b.name.as_str()), ("Default", "Copy"));
    assert_eq!(a.version, b.version);
    assert_eq!(a.templates, b.templates);
    let props = |t: &ThemeXml| -> Vec<(String, String)> {
        t.properties.iter().filter(|(k, _)| k != "templateset").cloned().collect()
    };
    assert_eq!(props(&a), props(&b));
    assert_eq!(b.properties[0], ("templateset".to_owned(), "2".to_owned()), "the new set");
    // MyBB's reader keeps the "\n\t\t" its export writes before </stylesheet>, so each
    // stylesheet comes back longer by exactly that, as through the Admin CP; the list is
    // rebuilt, so its order may differ.
    let sheets = |t: &ThemeXml| {
        let mut s: Vec<_> = t
            .stylesheets
            .iter()
            .map(|s| (s.name.clone(), s.attachedto.clone(), s.content.clone()))
            .collect();
        s.sort();
        s
    };
    let grown: Vec<_> = sheets(&a).into_iter().map(|(n, at, c)| (n, at, c + "\n\t\t")).collect();
    assert_eq!(sheets(&b), grown);
}

#[test]
fn theme_export_says_so_when_the_sync_root_has_edits_and_exports_them_with_from_files() {
    let forum = Forum::new("theme_export_from_files");
    forum.cmd().arg("export").expect_success();
    let global = forum.sync_root.join("styles/Default/global.css");
    std::fs::write(&global, "body { color: #123456; }\n").unwrap();
    let header =
        forum.sync_root.join("template_sets/Default Templates/Header Templates/header.html");
    std::fs::write(&header, "<div>edited header</div>").unwrap();

    let out = forum.cmd().args(["theme", "export", "Default"]).expect_code(3);
    assert!(out.stderr.contains("global.css"), "{out}");
    assert!(out.stderr.contains("header.html"), "{out}");
    assert!(out.stderr.contains("--from-files"), "{out}");
    let from_db = parse(&out.stdout);
    assert!(!from_db.stylesheets.iter().any(|s| s.content.contains("#123456")));

    let xml = forum.export("Default", &["--from-files"]);
    let theme = parse(&xml);
    let sheet = theme.stylesheets.iter().find(|s| s.name == "global.css").unwrap();
    assert_eq!(sheet.content, "body { color: #123456; }\n\n\t\t");
    assert_eq!(theme.templates.len(), 1);
    assert_eq!(theme.templates[0].name, "header");
    assert_eq!(theme.templates[0].content, "<div>edited header</div>");
    assert_eq!(theme.templates[0].version, "1837");
    // --custom-only now includes the edited global.css: import would copy it into the theme.
    let custom = parse(&forum.export("Default", &["--from-files", "--custom-only"]));
    assert!(custom.stylesheets.iter().any(|s| s.name == "global.css"));
    // Nothing was written to the database.
    assert_eq!(forum.count("SELECT COUNT(*) FROM mybb_templates WHERE sid = 1"), 0);

    std::fs::write(&header, "{$x->y()}").unwrap();
    let refused = forum.cmd().args(["theme", "export", "Default", "--from-files"]).expect_code(3);
    assert!(refused.stdout.is_empty(), "nothing exported: {refused}");
    assert!(refused.stderr.contains("header.html"), "{refused}");
}

/// Runs `theme import FILE ARGS...` expecting a refusal; returns stderr and checks that no
/// theme, set, template or stylesheet was created.
#[track_caller]
fn refused_import(forum: &Forum, file: &Path, args: &[&str]) -> String {
    let counts = |f: &Forum| {
        [
            f.count("SELECT COUNT(*) FROM mybb_themes"),
            f.count("SELECT COUNT(*) FROM mybb_templatesets"),
            f.count("SELECT COUNT(*) FROM mybb_templates"),
            f.count("SELECT COUNT(*) FROM mybb_themestylesheets"),
        ]
    };
    let before = counts(forum);
    let out = forum.cmd().args(["theme", "import"]).arg(file).args(args).expect_code(3);
    assert_eq!(counts(forum), before, "something was written: {out}");
    out.stderr
}

#[test]
fn theme_import_refuses_as_the_admin_cp_refuses() {
    let forum = Forum::new("theme_import_refusals");
    let master = std::fs::read_to_string(master_xml()).unwrap();

    let not_a_theme = forum.dir.join("settings.xml");
    std::fs::write(&not_a_theme, "<?xml version=\"1.0\"?><settings/>").unwrap();
    let err = refused_import(&forum, &not_a_theme, &[]);
    assert!(err.contains("MyBB could not find the theme with the file you uploaded"), "{err}");

    let old = forum.dir.join("old.xml");
    std::fs::write(&old, master.replacen("version=\"1837\"", "version=\"1800\"", 1)).unwrap();
    let err = refused_import(&forum, &old, &["--name", "Old"]);
    assert!(err.contains("This theme has been written for another version of MyBB"), "{err}");
    forum
        .cmd()
        .args(["theme", "import"])
        .arg(&old)
        .args(["--name", "Old", "--version-compat", "--no-templates"])
        .expect_success();

    let err = refused_import(&forum, &master_xml(), &[]);
    assert!(err.contains("A theme with the same name already exists"), "{err}");
    // MySQL compares names as the column's collation does: case-insensitively. (SQLite and
    // PostgreSQL compare them byte for byte, as MyBB's own check does there.)
    if !util::on_sqlite() && !util::on_postgres() {
        let err = refused_import(&forum, &master_xml(), &["--name", "DEFAULT"]);
        assert!(err.contains("already exists"), "{err}");
    }

    let evil = forum.dir.join("evil.xml");
    let template =
        "<template name=\"evil\" version=\"1837\"><![CDATA[${system('id')}]]></template>";
    std::fs::write(&evil, master.replacen("<templates>", &format!("<templates>\n{template}"), 1))
        .unwrap();
    let err = refused_import(&forum, &evil, &["--name", "Evil"]);
    assert!(err.contains("A potential security issue was found in the theme"), "{err}");
    assert!(err.contains("evil"), "{err}");
}

#[test]
fn theme_import_refuses_hostile_xml_without_reading_or_expanding_anything() {
    let forum = Forum::new("theme_import_hostile");

    let mut lol =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 { "lol".to_owned() } else { format!("lol{}", i - 1) };
        lol.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
    }
    lol.push_str("]>\n<theme name=\"&lol9;\" version=\"1837\"><properties/></theme>");
    let bomb = forum.dir.join("lol.xml");
    std::fs::write(&bomb, lol).unwrap();
    let err = refused_import(&forum, &bomb, &[]);
    assert!(err.contains("DOCTYPE"), "{err}");

    let xxe = forum.dir.join("xxe.xml");
    std::fs::write(
        &xxe,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE theme [<!ENTITY passwd SYSTEM \"file:///etc/passwd\">]>\n\
         <theme name=\"XXE\" version=\"1837\"><templates><template name=\"x\" version=\"1\">&passwd;\
         </template></templates></theme>",
    )
    .unwrap();
    let err = refused_import(&forum, &xxe, &[]);
    assert!(!err.contains("root:"), "{err}");
    let undeclared = forum.dir.join("undeclared.xml");
    std::fs::write(
        &undeclared,
        "<theme name=\"U\" version=\"1837\"><properties><logo>&passwd;</logo></properties></theme>",
    )
    .unwrap();
    let err = refused_import(&forum, &undeclared, &[]);
    assert!(err.contains("&passwd;"), "{err}");
    let found: u64 = forum.count(
        "SELECT (SELECT COUNT(*) FROM mybb_templates WHERE template LIKE '%root:%') + \
         (SELECT COUNT(*) FROM mybb_themes WHERE properties LIKE '%root:%')",
    );
    assert_eq!(found, 0);

    let huge = forum.dir.join("huge.xml");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(theme_xml::MAX_BYTES as u64 + 1).unwrap();
    let err = refused_import(&forum, &huge, &[]);
    assert!(err.contains("32 MiB"), "{err}");

    let latin = forum.dir.join("latin1.xml");
    std::fs::write(&latin, b"<theme name=\"Caf\xe9\" version=\"1837\"/>").unwrap();
    let err = refused_import(&forum, &latin, &[]);
    assert!(err.contains("not valid UTF-8") && err.contains("offset 16"), "{err}");
}

#[test]
fn names_with_dot_dot_stay_inside_the_sync_root() {
    let forum = Forum::new("theme_dot_dot_names");
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<theme name=\"../../escape\" version=\"1837\">\
               <properties><imgdir><![CDATA[images]]></imgdir></properties><stylesheets>\
               <stylesheet name=\"../x.css\"><![CDATA[a { color: red; }]]></stylesheet></stylesheets>\
               <templates><template name=\"../../header\" version=\"1837\"><![CDATA[hi]]></template>\
               </templates></theme>";
    let file = forum.dir.join("dots.xml");
    std::fs::write(&file, xml).unwrap();

    let unpacked = forum.dir.join("unpacked");
    TestCommand::new()
        .args(["theme", "unpack"])
        .arg(&file)
        .arg("--root")
        .arg(&unpacked)
        .arg("--no-fsync")
        .expect_success();
    let files: Vec<String> = tree(&unpacked).into_keys().filter(|f| !f.starts_with('.')).collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| !f.contains("../")), "{files:?}");

    // MyBB caches "../x.css" as theme{tid}/x.css (basename()); pages link css.php for it,
    // since MyBB looks for the file under the name as stored.
    forum.cmd().args(["theme", "import"]).arg(&file).expect_success();
    let list: Vec<u8> = forum.db.query_one("SELECT stylesheets FROM mybb_themes WHERE tid = 3");
    assert!(String::from_utf8_lossy(&list).contains("css.php?stylesheet="));
    // A row named "../x.css" is not a name the Admin CP's forms take, but MyBB serves it: export
    // writes it under its reversible file name, inside the theme's folder (issue 25).
    forum.cmd().arg("export").expect_success();
    forum.cmd().arg("status").expect_success();
    let mut top: Vec<String> = std::fs::read_dir(forum.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["dots.xml", "forum", "sync", "unpacked"]);
    let exported: Vec<String> =
        tree(&forum.sync_root).into_keys().filter(|f| f.contains("escape")).collect();
    assert!(exported.iter().any(|f| f.starts_with("styles/")), "{exported:?}");
    assert!(exported.iter().all(|f| !f.contains("../")), "{exported:?}");
    let cached: Vec<String> = tree(&forum.mybb_root).into_keys().collect();
    assert!(cached.iter().all(|f| f.starts_with("cache/themes/theme")), "{cached:?}");
    assert!(forum.mybb_root.join("cache/themes/theme3/x.css").is_file());
}

#[test]
fn theme_unpack_lays_a_theme_file_out_as_a_sync_tree_without_a_database() {
    let dir = TestDir::new("theme_unpack_master");
    let root = dir.join("tree");
    let unpack = || {
        TestCommand::new()
            .args(["theme", "unpack"])
            .arg(master_xml())
            .arg("--root")
            .arg(&root)
            .arg("--no-fsync")
    };
    unpack().expect_success();
    let files = tree(&root);
    let xml = theme_xml::parse(&fixture("mybb-1.8.37-theme.xml")).unwrap();
    let set = "template_sets/MyBB Master Style Templates";
    assert_eq!(files.keys().filter(|f| f.starts_with(set)).count(), 974);
    assert_eq!(files.keys().filter(|f| f.starts_with("styles/MyBB Master Style/")).count(), 8);
    let header = &files[&format!("{set}/Header Templates/header.html")];
    let expected = xml.templates.iter().find(|t| t.name == "header").unwrap();
    assert_eq!(header, expected.content.as_bytes());
    assert!(files.contains_key(&format!("{set}/Ungrouped Templates/headerinclude.html")));
    assert_eq!(files["styles/MyBB Master Style/global.css"], xml.stylesheets[0].content.as_bytes());

    // Again: nothing to do. With a file edited: nothing overwritten, exit 3.
    unpack().expect_success();
    let edited = root.join(format!("{set}/Header Templates/header.html"));
    std::fs::write(&edited, "my edit").unwrap();
    let out = unpack().expect_code(3);
    assert!(out.stderr.contains("header.html"), "{out}");
    assert_eq!(std::fs::read(&edited).unwrap(), b"my edit");
}

#[test]
fn a_theme_imported_while_watching_appears_in_the_sync_tree() {
    let forum = Forum::new("theme_import_while_watching");
    forum.cmd().arg("export").expect_success();
    let run = forum.cmd().args(["watch", "--debounce", "30", "--pull-interval", "0.2"]).spawn();
    crate::util::wait_until("the watcher to start watching", DEADLINE, || {
        run.stderr_so_far().contains("watching ")
    });
    forum
        .cmd()
        .args(["theme", "import"])
        .arg(master_xml())
        .args(["--name", "Live"])
        .expect_success();
    let header = forum.sync_root.join("template_sets/Live Templates/Header Templates/header.html");
    let global = forum.sync_root.join("styles/Live/global.css");
    crate::util::wait_until("the new set and theme on disk", DEADLINE, || {
        header.is_file() && global.is_file()
    });
    run.interrupt();
    let out = run.wait(DEADLINE);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
}

#[test]
fn theme_unpack_never_writes_through_a_link_in_an_existing_root() {
    let dir = TestDir::new("theme_unpack_link");
    let root = dir.join("tree");
    let outside = dir.join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("styles")).unwrap();
    let out = TestCommand::new()
        .args(["theme", "unpack"])
        .arg(master_xml())
        .arg("--root")
        .arg(&root)
        .arg("--no-fsync")
        .expect_code(3);
    assert!(out.stderr.contains("link"), "{out}");
    let escaped: Vec<String> = tree(&outside).into_keys().collect();
    assert!(escaped.is_empty(), "written through the link: {escaped:?}");
}

#[test]
fn theme_unpack_refuses_a_name_too_long_for_a_file_with_the_reason() {
    let dir = TestDir::new("theme_unpack_long_name");
    let long = "a".repeat(300);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<theme name=\"T\" version=\"1837\">\
         <templates><template name=\"{long}\" version=\"1837\"><![CDATA[x]]></template>\
         <template name=\"header\" version=\"1837\"><![CDATA[h]]></template></templates></theme>"
    );
    let file = dir.join("long.xml");
    std::fs::write(&file, xml).unwrap();
    let root = dir.join("tree");
    let out = TestCommand::new()
        .args(["theme", "unpack"])
        .arg(&file)
        .arg("--root")
        .arg(&root)
        .arg("--no-fsync")
        .expect_code(3);
    assert!(out.stderr.contains("name too long: 305 bytes"), "{out}");
    let written: Vec<String> = tree(&root).into_keys().filter(|f| !f.starts_with('.')).collect();
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn theme_unpack_writes_a_name_just_short_of_the_limit() {
    let dir = TestDir::new("theme_unpack_near_limit");
    // 245 + ".html": 250 bytes, a valid file name; its temp file's name must fit too.
    let name = "b".repeat(245);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<theme name=\"T\" version=\"1837\">\
         <templates><template name=\"{name}\" version=\"1837\"><![CDATA[x]]></template>\
         </templates></theme>"
    );
    let file = dir.join("near.xml");
    std::fs::write(&file, xml).unwrap();
    let root = dir.join("tree");
    TestCommand::new()
        .args(["theme", "unpack"])
        .arg(&file)
        .arg("--root")
        .arg(&root)
        .arg("--no-fsync")
        .expect_success();
    let path = root.join(format!("template_sets/T Templates/Ungrouped Templates/{name}.html"));
    assert_eq!(std::fs::read(path).unwrap(), b"x");
}

#[test]
fn a_theme_file_that_never_ends_is_refused_after_the_size_cap() {
    let dir = TestDir::new("theme_endless_file");
    let out = TestCommand::new()
        .args(["theme", "unpack", "/dev/zero", "--root"])
        .arg(dir.join("tree"))
        .expect_code(3);
    assert!(out.stderr.contains("more than the 32 MiB a theme file may have"), "{out}");
}
