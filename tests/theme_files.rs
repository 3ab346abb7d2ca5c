//! A whole theme in files, `styles/<theme>/theme.json` (issue 28): exported, synced, and written
//! as the Admin CP's Edit Theme, stylesheet properties and Save Orders forms write it, compared
//! byte for byte with what MyBB 1.8.37's Admin CP wrote for the same posts on a real board
//! (`tests/fixtures/mybb-1.8.37-theme-forms/`, made by `scripts/theme-oracle/forms.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::export::sync_cmd;
use crate::util::{
    TestCommand, TestDb, TestDir, admin_cp_default_theme, admin_cp_list, start_watching,
    stop_watching, wait_until,
};

/// What MyBB 1.8.37's Admin CP wrote, step by step.
const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-theme-forms");
/// MyBB 1.8.37's own cache files for the fixture.
const FIXTURE_CACHE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-cache-themes");

/// A test's board: its database, a sync root (exported) and a MyBB root holding MyBB's cache
/// files of the fresh install and the editor themes the Edit Theme form offers.
struct Board {
    db: TestDb,
    _dir: TestDir,
    sync_root: PathBuf,
    mybb_root: PathBuf,
}

impl Board {
    fn new(name: &str) -> Board {
        let db = TestDb::new(name);
        // The rows older than the cache files copied now, as on the oracle's board.
        db.exec("UPDATE mybb_themestylesheets SET lastmodified = UNIX_TIMESTAMP() - 7200");
        let dir = TestDir::new(name);
        let sync_root = dir.join("sync");
        let mybb_root = dir.join("forum");
        for tid in [1, 2] {
            let to = mybb_root.join(format!("cache/themes/theme{tid}"));
            std::fs::create_dir_all(&to).unwrap();
            for entry in std::fs::read_dir(format!("{FIXTURE_CACHE}/theme{tid}")).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        let editor = mybb_root.join("jscripts/sceditor/themes");
        std::fs::create_dir_all(&editor).unwrap();
        for css in ["mybb.css", "office.css"] {
            std::fs::write(editor.join(css), "/* an editor theme */\n").unwrap();
        }
        let board = Board { db, _dir: dir, sync_root, mybb_root };
        board.cmd().arg("export").expect_success();
        board
    }

    /// `mybb-sync --db ... --root sync --no-fsync --mybb forum`.
    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    fn theme_file(&self, theme: &str) -> PathBuf {
        self.sync_root.join("styles").join(theme).join("theme.json")
    }

    fn read(&self, theme: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.theme_file(theme)).unwrap()).unwrap()
    }

    /// Writes `value` as theme `theme`'s file, laid out otherwise than export lays it out.
    fn write(&self, theme: &str, value: &Value) {
        let mut text = serde_json::to_vec(value).unwrap();
        text.push(b'\n');
        write_later(&self.theme_file(theme), &text);
    }

    /// Makes the folder of a theme the board does not have, `theme`, child of `parent`: the
    /// Default theme's file under another name and parent.
    fn new_theme_folder(&self, theme: &str, parent: &str) {
        let mut file = self.read("Default");
        file["name"] = json!(theme);
        file["parent"] = json!(parent);
        std::fs::create_dir_all(self.sync_root.join("styles").join(theme)).unwrap();
        self.write(theme, &file);
    }

    /// Returns what the tests compare of the board: theme 2's row, columns as stored, the
    /// `default_theme` cache and every stylesheet row's `tid, name, attachedto, cachefile`.
    fn snapshot(&self) -> Snapshot {
        let (name, pid, def, allowedgroups, properties, stylesheets): (
            String,
            u32,
            u32,
            String,
            String,
            String,
        ) = self
            .db
            .query_rows(
                "SELECT name, pid, def, allowedgroups, properties, stylesheets FROM mybb_themes \
                 WHERE tid = 2",
            )
            .remove(0);
        let default_theme: String =
            self.db.query_one("SELECT cache FROM mybb_datacache WHERE title = 'default_theme'");
        let rows: Vec<(u32, String, String, String)> = self.db.query_rows(
            "SELECT tid, name, attachedto, cachefile FROM mybb_themestylesheets ORDER BY sid",
        );
        let rows = rows.iter().map(|(t, n, a, c)| format!("{t}\t{n}\t{a}\t{c}\n")).collect();
        Snapshot {
            theme: format!("{name}|{pid}|{def}|{allowedgroups}"),
            properties,
            stylesheets,
            default_theme,
            rows,
        }
    }
}

/// Writes `bytes` at `path` with an mtime a second on, so that a rewrite within the same
/// second is still seen as a change by size-and-time checks.
fn write_later(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let later = SystemTime::now() + Duration::from_secs(1);
    std::fs::File::options().append(true).open(path).unwrap().set_modified(later).unwrap();
}

/// Asserts that `status` finds everything in sync.
#[track_caller]
fn assert_in_sync(board: &Board) {
    let out = board.cmd().arg("status").run();
    assert!(out.code() == Some(0) && out.stderr.contains("in sync: nothing to do"), "{out}");
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    theme: String,
    properties: String,
    stylesheets: String,
    default_theme: String,
    rows: String,
}

/// Returns what the oracle's board held after `step`.
fn oracle(step: &str) -> Snapshot {
    let read = |what: &str| {
        std::fs::read_to_string(format!("{ORACLE}/{step}-{what}")).unwrap_or_else(|e| {
            panic!("{ORACLE}/{step}-{what}: {e}");
        })
    };
    Snapshot {
        theme: read("theme.txt"),
        properties: read("properties.txt"),
        stylesheets: admin_cp_list(&read("stylesheets.txt")),
        default_theme: admin_cp_default_theme(&read("default_theme.txt")),
        rows: read("rows.tsv"),
    }
}

#[track_caller]
fn assert_same(got: &Snapshot, step: &str) {
    let want = oracle(step);
    for (what, got, want) in [
        ("themes row", &got.theme, &want.theme),
        ("properties", &got.properties, &want.properties),
        ("stylesheets", &got.stylesheets, &want.stylesheets),
        ("default_theme", &got.default_theme, &want.default_theme),
        ("stylesheet rows", &got.rows, &want.rows),
    ] {
        assert_eq!(got, want, "{what} after {step} differs from MyBB's Admin CP");
    }
}

#[test]
fn export_writes_the_theme_file_as_the_edit_theme_form_shows_the_theme() {
    let board = Board::new("theme_file_export");
    let text = std::fs::read_to_string(board.theme_file("Default")).unwrap();
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    assert!(text.starts_with("{\n  \"allowedgroups\": \"all\",\n  \"name\": \"Default\",\n"));
    let file = board.read("Default");
    assert_eq!(file["parent"], "MyBB Master Style");
    let p = &file["properties"];
    assert_eq!(p["templateset"], "Default Templates");
    assert_eq!((p["tablespace"].clone(), p["borderwidth"].clone()), (json!(5), json!(0)));
    assert_eq!(p["colors"][0], "black=Black");
    assert_eq!(p["colors"].as_array().unwrap().len(), 10);
    let sheets = file["stylesheets"].as_object().unwrap();
    assert_eq!(sheets.len(), 17, "own and inherited stylesheets");
    assert_eq!(
        sheets["usercp.css"],
        json!({"attachedto": ["usercp.php", "private.php"], "disporder": 2})
    );
    assert_eq!(sheets["global.css"], json!({"attachedto": [], "disporder": 1}));
    // Nothing derived: no `inherited`, no list, no cache file names.
    for derived in ["inherited", "cache/themes", "disporder\": {"] {
        assert!(!text.contains(derived), "{derived} in {text}");
    }
    // The master theme has no file unless asked for.
    assert!(!board.sync_root.join("styles/MyBB Master Style").exists());
    assert_in_sync(&board);
}

/// Changes every Edit Theme field of the Default theme's file as the oracles' Edit Theme step
/// posts them (scripts/theme-oracle/forms.sh, scripts/engine-oracle/run.sh).
pub fn edit_every_field(file: &mut Value) {
    file["name"] = json!("Default Edited");
    file["allowedgroups"] = json!([2, 4]);
    let p = &mut file["properties"];
    p["editortheme"] = json!("office.css");
    p["imgdir"] = json!("images/dark");
    p["logo"] = json!("images/dark/logo.png");
    p["tablespace"] = json!(6);
    p["borderwidth"] = json!(1);
    p["color"] = json!("night");
    p["colors"] = json!(["night=Night", "calm=Calm"]);
}

/// Sets the display orders as the oracles' Save Stylesheet Orders step posts them: css3.css
/// first, global.css last, the others by sid (`sids`: each stylesheet's newest sid and name).
pub fn save_orders(file: &mut Value, sids: Vec<(u32, String)>) {
    for (sid, name) in sids {
        let order = match name.as_str() {
            "css3.css" => 0,
            "global.css" => 99,
            _ => sid,
        };
        file["stylesheets"][name.as_str()]["disporder"] = json!(order);
    }
}

#[test]
fn each_form_writes_what_the_admin_cp_writes_byte_for_byte() {
    let board = Board::new("theme_file_forms");
    assert_eq!(board.snapshot().rows, oracle("0-installed").rows);

    // 1. Edit Theme: every field.
    let mut file = board.read("Default");
    edit_every_field(&mut file);
    board.write("Default", &file);
    let out = board.cmd().arg("import").expect_success();
    assert!(out.stderr.contains("theme.json: theme updated"), "{}", out.stderr);
    assert_same(&board.snapshot(), "1-edit");
    // The rename moves the folder, as a rename in the Admin CP does.
    board.cmd().arg("export").expect_success();
    assert!(board.theme_file("Default Edited").is_file());
    assert!(!board.theme_file("Default").exists());
    assert_in_sync(&board);

    // 2. Stylesheet properties: an inherited sheet attached to a file and to another's actions.
    let mut file = board.read("Default Edited");
    file["stylesheets"]["showthread.css"]["attachedto"] =
        json!(["showthread.php", "newreply.php?newreply,editdraft"]);
    board.write("Default Edited", &file);
    board.cmd().arg("import").expect_success();
    assert_same(&board.snapshot(), "2-attach");

    // 3. Save Stylesheet Orders: css3.css first, global.css last, the others by sid.
    let mut file = board.read("Default Edited");
    let sids: Vec<(u32, String)> = board.db.query_rows(
        "SELECT MAX(sid), name FROM mybb_themestylesheets WHERE tid IN (1, 2) GROUP BY name",
    );
    save_orders(&mut file, sids);
    board.write("Default Edited", &file);
    board.cmd().arg("import").expect_success();
    assert_same(&board.snapshot(), "3-orders");
    assert_in_sync(&board);
}

/// Edits the Default theme's file with `edit`, imports, and returns the refusal printed.
/// Each case starts from `exported`, the file as export wrote it.
fn refused(board: &Board, exported: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut file: Value = serde_json::from_str(exported).unwrap();
    edit(&mut file);
    board.write("Default", &file);
    refused_as_is(board)
}

/// Imports the theme file as it stands; asserts that it was refused with nothing written, and
/// that `check` (with the board) finds the same reason first, as a `theme-file` error.
fn refused_as_is(board: &Board) -> String {
    let file = board.theme_file("Default");
    let out = board.cmd().arg("check").arg(&file).arg("--json").expect_code(3);
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("check found nothing ({e}): {out}"));
    assert_eq!((&first["rule"], &first["severity"]), (&json!("theme-file"), &json!("error")));
    let found = first["message"].as_str().unwrap_or_default().to_owned();
    let before = board.snapshot();
    let out = board.cmd().arg("import").expect_code(3);
    assert_eq!(board.snapshot(), before, "a refused theme file wrote to the board");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("styles/Default/theme.json: refused: "))
        .unwrap_or_else(|| panic!("no refusal in {}", out.stderr));
    let why = line.split_once("refused: ").map(|(_, why)| why.to_owned()).unwrap_or_default();
    assert_eq!(found, why, "check and import give different reasons");
    why
}

/// One edit of a theme file.
type Edit = Box<dyn FnOnce(&mut Value)>;

#[test]
fn the_admin_cps_refusals_name_the_field_and_write_nothing() {
    let board = Board::new("theme_file_refusals");
    let exported = std::fs::read_to_string(board.theme_file("Default")).unwrap();
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|f| f["properties"]["colors"] = json!(["night=Night", "sun_2=Sun Two"])),
            "properties.colors: The defined color set \"sun_2=Sun Two\" either has invalid",
        ),
        (
            Box::new(|f| f["properties"]["templateset"] = json!("Missing Templates")),
            "properties.templateset: The selected template set does not exist.",
        ),
        (
            Box::new(|f| f["name"] = json!("MyBB Master Style")),
            "name: A theme with the same name already exists.",
        ),
        (Box::new(|f| f["name"] = json!("")), "name: Please enter a name for this theme."),
        (
            Box::new(|f| f["parent"] = json!("Nowhere")),
            "parent: The selected parent theme does not exist.",
        ),
        (Box::new(|f| f["parent"] = json!("Default")), "parent: \"Default\" is this theme"),
        (
            Box::new(|f| f["properties"]["editortheme"] = json!("missing.css")),
            "properties.editortheme: The selected editor theme does not exist.",
        ),
        (
            Box::new(|f| f["stylesheets"]["global.css"]["attachedto"] = json!(["a.php|b.php"])),
            "stylesheets.global.css.attachedto[0]: the page \"a.php|b.php\" holds '|'",
        ),
        (
            Box::new(|f| f["stylesheets"]["nosuch.css"] = json!({"attachedto": []})),
            "stylesheets.nosuch.css: the theme has no stylesheet of that name",
        ),
        (
            Box::new(|f| f["properties"]["tablespace"] = json!("5")),
            "properties.tablespace: expected a whole number",
        ),
    ];
    for (edit, want) in cases {
        let why = refused(&board, &exported, edit);
        assert!(why.starts_with(want), "refusal {why:?} does not start with {want:?}");
    }
}

#[test]
fn a_json_error_is_refused_with_its_line_and_column() {
    let board = Board::new("theme_file_json_error");
    let path = board.theme_file("Default");
    let text = std::fs::read_to_string(&path).unwrap();
    write_later(
        &path,
        text.replacen("\"name\": \"Default\",", "\"name\": \"Default\"", 1).as_bytes(),
    );
    let why = refused_as_is(&board);
    assert!(why.starts_with("not valid JSON at line 4 column 3: expected `,` or `}`"), "{why}");
}

#[test]
fn an_edit_on_both_sides_is_a_conflict_that_writes_neither() {
    let board = Board::new("theme_file_conflict");
    let mut file = board.read("Default");
    file["properties"]["logo"] = json!("images/mine.png");
    board.write("Default", &file);
    // The Admin CP's side: another group list.
    board.db.exec("UPDATE mybb_themes SET allowedgroups = '2' WHERE tid = 2");
    let before = board.snapshot();
    let out = board.cmd().arg("import").expect_code(3);
    assert!(out.stderr.contains("theme.json: conflict"), "{}", out.stderr);
    assert_eq!(board.snapshot(), before);
    let theirs = board.sync_root.join("styles/Default/theme.db.json");
    let theirs: Value = serde_json::from_slice(&std::fs::read(theirs).unwrap()).unwrap();
    assert_eq!(theirs["allowedgroups"], json!([2]));
    assert_eq!(board.read("Default")["properties"]["logo"], "images/mine.png");
}

/// Returns the stylesheet URLs theme 2's list links for `script` and `action`.
fn linked(board: &Board, script: &str, action: &str) -> Vec<String> {
    let list = mybb_sync::php::serialize::parse(&board.snapshot().stylesheets).unwrap();
    let Some(urls) = list.get(script).and_then(|a| a.get(action)) else { return Vec::new() };
    urls.as_array().unwrap().iter().map(|(_, u)| u.as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_new_stylesheet_listed_in_the_theme_file_is_linked_only_on_its_pages() {
    let board = Board::new("theme_file_new_sheet");
    write_later(&board.sync_root.join("styles/Default/member.css"), b".member { color: red; }\n");
    let mut file = board.read("Default");
    file["stylesheets"]["member.css"] =
        json!({"attachedto": ["member.php?profile"], "disporder": 3});
    board.write("Default", &file);
    let out = board.cmd().arg("import").expect_success();
    assert!(!out.stderr.contains("linked on every page"), "{}", out.stderr);
    let attachedto: String = board
        .db
        .query_one("SELECT attachedto FROM mybb_themestylesheets WHERE name = 'member.css'");
    assert_eq!(attachedto, "member.php?profile");
    let url = "cache/themes/theme2/member.css".to_owned();
    assert_eq!(linked(&board, "member.php", "profile"), vec![url.clone()]);
    assert!(!linked(&board, "global", "global").contains(&url));
    // Its order is the file's, and the theme file is in sync with the board.
    assert_eq!(board.read("Default")["stylesheets"]["member.css"]["disporder"], json!(3));
    assert_in_sync(&board);

    // Unlisted, a new stylesheet is linked on every page: status and the import say so.
    write_later(&board.sync_root.join("styles/Default/extra.css"), b".extra { color: blue; }\n");
    let out = board.cmd().args(["status", "--porcelain"]).run();
    let said = "to-db\tstyles/Default/extra.css\ta new stylesheet: MyBB links it on every page";
    assert!(out.stdout.contains(said), "{out}");
    let out = board.cmd().arg("import").expect_success();
    assert!(
        out.stderr.contains("styles/Default/extra.css: created, and linked on every page"),
        "{}",
        out.stderr
    );
    assert!(linked(&board, "global", "global").contains(&"cache/themes/theme2/extra.css".into()));
}

#[test]
fn theme_unpack_writes_the_theme_file_that_import_then_export_writes() {
    let board = Board::new("theme_file_unpack");
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mybb-1.8.37-theme.xml"
    ))
    .unwrap()
    .replacen("<theme name=\"MyBB Master Style\"", "<theme name=\"Imported Master\"", 1);
    let file = board.sync_root.parent().unwrap().join("imported.xml");
    std::fs::write(&file, xml).unwrap();
    let unpacked = board.sync_root.parent().unwrap().join("unpacked");
    TestCommand::new()
        .args(["theme", "unpack"])
        .arg(&file)
        .arg("--root")
        .arg(&unpacked)
        .arg("--no-fsync")
        .expect_success();
    let from_unpack = std::fs::read_to_string(unpacked.join("styles/Imported Master/theme.json"));
    board.cmd().args(["theme", "import"]).arg(&file).expect_success();
    board.cmd().arg("export").expect_success();
    let from_board = std::fs::read_to_string(board.theme_file("Imported Master"));
    assert_eq!(from_unpack.unwrap(), from_board.unwrap());
    let file = board.read("Imported Master");
    assert_eq!(file["properties"]["templateset"], "Imported Master Templates");
    assert_eq!(
        file["stylesheets"]["usercp.css"]["attachedto"],
        json!(["usercp.php", "private.php"])
    );
}

#[test]
fn theme_export_from_files_writes_the_theme_as_the_forms_will_store_it() {
    let board = Board::new("theme_file_export_from_files");
    let mut file = board.read("Default");
    file["properties"]["logo"] = json!("images/other.png");
    file["properties"]["colors"] = json!(["calm=Calm", "night=Night"]);
    file["stylesheets"]["showthread.css"]["attachedto"] = json!(["showthread.php?thread"]);
    file["stylesheets"]["usercp.css"]["attachedto"] = json!(["usercp.php"]);
    file["stylesheets"]["css3.css"]["disporder"] = json!(0);
    board.write("Default", &file);
    let export = |from_files: bool| {
        let cmd = board.cmd().args(["theme", "export", "Default"]);
        let cmd = if from_files { cmd.arg("--from-files") } else { cmd };
        cmd.expect_success().stdout
    };
    let from_files = export(true);
    assert!(from_files.contains("images/other.png"), "the file's properties are exported");
    board.cmd().arg("import").expect_success();
    assert_eq!(from_files, export(false), "the export of the imported theme differs");
}

#[test]
fn watch_brings_an_admin_cp_edit_to_disk_and_applies_a_saved_theme_file() {
    let board = Board::new("theme_file_watch");
    let run = start_watching(board.cmd(), &["--debounce", "50", "--pull-interval", "0.2"]);
    // The Admin CP's side: the groups change; the file follows.
    board.db.exec("UPDATE mybb_themes SET allowedgroups = '4' WHERE tid = 2");
    wait_until("the Admin CP's edit to reach the file", Duration::from_secs(30), || {
        board.read("Default")["allowedgroups"] == json!([4])
    });
    let mut file = board.read("Default");
    file["properties"]["logo"] = json!("images/watched.png");
    file["stylesheets"]["modcp.css"]["attachedto"] = json!(["modcp.php?manage"]);
    board.write("Default", &file);
    wait_until("the theme file to reach the database", Duration::from_secs(30), || {
        run.stderr_so_far().contains("theme.json: theme updated")
    });
    let log = stop_watching(run);
    assert!(board.snapshot().properties.contains("images/watched.png"), "{log}");
    let attachedto: String = board.db.query_one(
        "SELECT attachedto FROM mybb_themestylesheets WHERE tid = 2 AND name = 'modcp.css'",
    );
    assert_eq!(attachedto, "modcp.php?manage", "copied into the theme with its new pages");
    assert_in_sync(&board);
}

#[test]
fn import_new_themes_creates_a_theme_and_its_set_from_their_folders() {
    let board = Board::new("theme_file_new_theme");
    let mut file = board.read("Default");
    file["name"] = json!("Night");
    file["parent"] = json!("Default");
    file["allowedgroups"] = json!([2, 4]);
    file["properties"]["templateset"] = json!("Night Templates");
    file["properties"]["logo"] = json!("images/night/logo.png");
    file["stylesheets"]["night.css"] = json!({"attachedto": ["index.php"], "disporder": 18});
    let dir = board.sync_root.join("styles/Night");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("night.css"), "body { background: black; }\n").unwrap();
    let header = board.sync_root.join("template_sets/Night Templates/Header Templates/header.html");
    std::fs::create_dir_all(header.parent().unwrap()).unwrap();
    std::fs::write(&header, "<div id=\"night\">{$header}</div>").unwrap();
    board.write("Night", &file);
    let themes = || -> u64 { board.db.query_one("SELECT COUNT(*) FROM mybb_themes") };
    let sets = || -> u64 { board.db.query_one("SELECT COUNT(*) FROM mybb_templatesets") };

    // Never without asking; and --dry-run says what it would create, and writes nothing.
    board.cmd().arg("import").expect_code(3);
    let out = board.cmd().args(["import", "--new-themes", "--dry-run", "--prefer", "disk"]).run();
    assert!(out.stderr.contains("would create the template set \"Night Templates\""), "{out}");
    assert!(out.stderr.contains("would create the theme \"Night\", child of \"Default\""), "{out}");
    // Its folder holds the theme's inherited stylesheets too, as an export from another board
    // writes them.
    std::fs::copy(board.sync_root.join("styles/Default/global.css"), dir.join("global.css"))
        .unwrap();
    assert_eq!((themes(), sets()), (2, 1));

    let out = board.cmd().args(["import", "--new-themes", "--prefer", "disk"]).expect_success();
    assert!(out.stderr.contains("created the theme \"Night\""), "{out}");
    let (tid, pid, groups, properties): (u32, u32, String, String) = board
        .db
        .query_rows(
            "SELECT tid, pid, allowedgroups, properties FROM mybb_themes WHERE name = 'Night'",
        )
        .remove(0);
    assert_eq!((pid, groups.as_str()), (2, "2,4"));
    assert!(properties.contains("images/night/logo.png"), "{properties}");
    let sid: i32 =
        board.db.query_one("SELECT sid FROM mybb_templatesets WHERE title = 'Night Templates'");
    assert!(properties.contains(&format!("s:11:\"templateset\";i:{sid};")), "{properties}");
    let template: String = board.db.query_one(&format!(
        "SELECT template FROM mybb_templates WHERE sid = {sid} AND title = 'header'"
    ));
    assert_eq!(template, "<div id=\"night\">{$header}</div>");
    let attachedto: String = board.db.query_one(&format!(
        "SELECT attachedto FROM mybb_themestylesheets WHERE tid = {tid} AND name = 'night.css'"
    ));
    assert_eq!(attachedto, "index.php");
    // What the board now makes of the theme is the folder's file.
    board.cmd().arg("export").expect_success();
    assert_eq!(board.read("Night"), file);
    assert_in_sync(&board);
}

// See: issue 28 (a new theme whose parent is also new needed two imports).
#[test]
fn import_new_themes_creates_a_parent_before_its_child_in_one_run_and_refuses_a_cycle() {
    let board = Board::new("theme_file_new_parent");
    // "Ash" sorts before its parent "Birch", whose parent is the board's Default.
    board.new_theme_folder("Ash", "Birch");
    board.new_theme_folder("Birch", "Default");
    let out = board.cmd().args(["import", "--new-themes", "--dry-run", "--prefer", "disk"]).run();
    let birch = out.stderr.find("would create the theme \"Birch\", child of \"Default\"");
    let ash = out.stderr.find("would create the theme \"Ash\", child of \"Birch\"");
    assert!(birch.is_some() && ash.is_some() && birch < ash, "parent first: {out}");
    let out = board.cmd().args(["import", "--new-themes", "--prefer", "disk"]).expect_success();
    let tid_of = |name: &str| -> u32 {
        board.db.query_one(&format!("SELECT tid FROM mybb_themes WHERE name = '{name}'"))
    };
    let pid: u32 = board.db.query_one("SELECT pid FROM mybb_themes WHERE name = 'Ash'");
    assert_eq!(pid, tid_of("Birch"), "{out}");
    assert!(out.stderr.contains("created the theme \"Ash\""), "{out}");

    // Two new themes naming each other as parent: both refused, saying so; nothing created.
    board.new_theme_folder("Cedar", "Dogwood");
    board.new_theme_folder("Dogwood", "Cedar");
    let themes = || -> u64 { board.db.query_one("SELECT COUNT(*) FROM mybb_themes") };
    let before = themes();
    let out = board.cmd().args(["import", "--new-themes", "--prefer", "disk"]).run();
    assert_eq!(themes(), before, "{out}");
    for theme in ["Cedar", "Dogwood"] {
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(&format!("styles/{theme}/theme.json: refused: not created")))
            .unwrap_or_else(|| panic!("{theme} not refused: {out}"));
        assert!(
            line.contains("parent: \"Cedar\" -> \"Dogwood\" -> \"Cedar\"")
                || line.contains("parent: \"Dogwood\" -> \"Cedar\" -> \"Dogwood\""),
            "{line}"
        );
    }
}

// See: issue 28 (`theme unpack` left a literal `{theme}` in the logo, which then went to the
// board as it was). MyBB's import_theme_xml() -> build_new_theme() replaces `{theme}` in a new
// theme's logo with its cache folder; `import --new-themes`, which makes the theme an unpacked
// folder describes, does the same, and its folder's file then says what the board stores.
#[test]
fn a_theme_unpacked_with_theme_in_its_logo_is_made_with_its_cache_folder_there() {
    let board = Board::new("theme_file_unpack_logo");
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mybb-1.8.37-theme.xml"
    ))
    .unwrap()
    .replacen("<theme name=\"MyBB Master Style\"", "<theme name=\"Logo Theme\"", 1)
    .replacen("<![CDATA[images/logo.png]]>", "<![CDATA[{theme}/logo.png]]>", 1);
    let file = board.sync_root.parent().unwrap().join("logo.xml");
    std::fs::write(&file, xml).unwrap();
    board.cmd().args(["theme", "unpack"]).arg(&file).expect_success();
    assert_eq!(board.read("Logo Theme")["properties"]["logo"], "{theme}/logo.png");
    board.cmd().args(["import", "--new-themes", "--prefer", "disk"]).expect_success();
    let (tid, properties): (u32, String) = board
        .db
        .query_rows("SELECT tid, properties FROM mybb_themes WHERE name = 'Logo Theme'")
        .remove(0);
    let logo = format!("cache/themes/theme{tid}/logo.png");
    assert!(properties.contains(&format!("\"{logo}\"")), "{properties}");
    assert_eq!(board.read("Logo Theme")["properties"]["logo"], json!(logo));
    assert_in_sync(&board);
}

// See: issue 28 (`theme export --from-files` did not follow a parent changed in theme.json).
#[test]
fn theme_export_from_files_follows_a_parent_changed_in_the_theme_file() {
    let board = Board::new("theme_file_export_parent");
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mybb-1.8.37-theme.xml"
    ))
    .unwrap()
    .replacen("<theme name=\"MyBB Master Style\"", "<theme name=\"Night\"", 1);
    let file = board.sync_root.parent().unwrap().join("night.xml");
    std::fs::write(&file, xml).unwrap();
    // Night, a child of Default with one stylesheet of its own; Default's are inherited.
    // Changed to the master style, it inherits the master's instead, and its display orders
    // lose Default's colour stylesheets, as MyBB's list rebuild drops them.
    board
        .cmd()
        .args(["theme", "import"])
        .arg(&file)
        .args(["--parent", "Default", "--no-stylesheets"])
        .expect_success();
    let night = board.sync_root.join("styles/Night");
    std::fs::create_dir_all(&night).unwrap();
    std::fs::write(night.join("night.css"), "body { color: navy; }\n").unwrap();
    board.cmd().arg("import").arg(night.join("night.css")).run();
    board.cmd().arg("export").expect_success();
    let export = |from_files: bool| {
        let cmd = board.cmd().args(["theme", "export", "Night"]);
        let cmd = if from_files { cmd.arg("--from-files") } else { cmd };
        cmd.expect_success().stdout
    };
    let before = export(false);
    let mut file = board.read("Night");
    file["parent"] = json!("MyBB Master Style");
    board.write("Night", &file);
    let from_files = export(true);
    assert_ne!(from_files, before, "the parent changed what Night inherits");
    board.cmd().arg("import").arg(board.theme_file("Night")).expect_success();
    let pid: u32 = board.db.query_one("SELECT pid FROM mybb_themes WHERE name = 'Night'");
    assert_eq!(pid, 1);
    assert_eq!(from_files, export(false), "the export of the imported theme differs");
}

// See: issue 28. `check` with the board lints a new theme's folder as `import --new-themes`
// checks it: a parent that is another new folder is fine, one that is nowhere is refused by
// both, in the same words.
#[test]
fn check_lints_a_new_themes_folder_as_import_new_themes_refuses_it() {
    let board = Board::new("theme_file_check_new");
    board.new_theme_folder("Ash", "Birch");
    board.new_theme_folder("Birch", "Default");
    let styles = board.sync_root.join("styles");
    let out = board.cmd().arg("check").arg(&styles).run();
    assert!(!out.stdout.contains("theme-file"), "{out}");
    board.new_theme_folder("Elm", "Nowhere");
    let out = board.cmd().arg("check").arg(&styles).expect_code(3);
    let found: Vec<&str> = out.stdout.lines().filter(|l| l.contains("theme-file")).collect();
    assert_eq!(found.len(), 1, "{out}");
    let why = found[0].split_once("theme-file: ").unwrap().1;
    assert!(why.starts_with("parent: The selected parent theme does not exist."), "{why}");
    assert!(found[0].starts_with("styles/Elm/theme.json:"), "{out}");
    let out = board.cmd().args(["import", "--new-themes", "--dry-run"]).run();
    assert!(
        out.stderr.contains(&format!("styles/Elm/theme.json: refused: not created: {why}")),
        "{out}"
    );
}
