//! The fidelity oracle on SQLite and PostgreSQL boards (issue 31): mybb-sync, from files, makes
//! the writes MyBB 1.8.37's Admin CP made on a board its own installer built on the same engine
//! (`tests/fixtures/mybb-1.8.37-oracle-{sqlite,pgsql}/`, taken by `scripts/engine-oracle/run.sh`),
//! and what it wrote is compared with what the Admin CP wrote, step by step: the rows (values as
//! stored, and on SQLite each value's storage class), the cache files and the `default_theme`
//! datacache row. `dateline` and `lastmodified` are the time of the write: both sides keep them as
//! "now" (at or after the step's start) or "before", as `scripts/engine-oracle/dump.php` does.
//!
//! One body for both engines, run by `scripts/test.sh`'s SQLite and PostgreSQL passes; on MariaDB
//! it says it is skipped (MariaDB's oracle is `theme_files`, `devtheme`, `theme` and `cache`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mybb_sync::php::serialize::{self as phpser, Value as PhpValue};
use serde_json::{Value, json};

use crate::export::{sync_cmd, tree};
use crate::util::{TestCommand, TestDb, TestDir, on_postgres, on_sqlite};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// What the oracle posted, as `scripts/engine-oracle/run.sh` spells it (CRLF, tab, quotes, a
/// backslash, non-ASCII, a 4-byte character, trailing whitespace the Admin CP trims).
const TEMPLATE_1: &str = "<html>\r\n<head><title>{$mybb->settings['bbname']} \\o/ \"caf\u{e9}\" \
                          \u{1F600}</title>\r\n\t{$headerinclude}\r\n</head>\r\n \r\n";
const TEMPLATE_2: &str = "<div id=\"header\">{$lang->welcome_back}</div>\n\t\\n 'quoted' \u{fc}\n";
const STYLESHEET_1: &str = "/* edited on the engine oracle */\r\nbody {\r\n\tbackground: #ffffff \
                            url(images/bg.png);\r\n\tcolor: #333333;\r\n}\r\na:hover { color: \
                            #aa00bb; content: \"\\201C \u{e9}\"; }\r\n.x { background: \
                            url('{theme}/x.png'); }\n\n";
const STYLESHEET_2: &str = ".black { color: #000000; } /* \u{1F600} */\n";

const HEADER: &str = "template_sets/Default Templates/Header Templates/header.html";

/// The oracle of the engine the tests run on, or None on MariaDB.
fn oracle_dir() -> Option<PathBuf> {
    let engine = if on_sqlite() {
        "sqlite"
    } else if on_postgres() {
        "pgsql"
    } else {
        return None;
    };
    Some(Path::new(FIXTURES).join(format!("mybb-1.8.37-oracle-{engine}")))
}

/// A board in the oracle's starting state: the fixture, MyBB's own cache files of the fresh
/// install, and the Default theme's row
/// and `default_theme` cache row as the engine's installer wrote them; exported.
struct Board {
    db: TestDb,
    _dir: TestDir,
    sync_root: PathBuf,
    mybb_root: PathBuf,
    oracle: PathBuf,
    /// The highest stylesheet sid of the fresh install (see dump.php).
    installed_sid: u32,
}

impl Board {
    fn new(name: &str, oracle: PathBuf) -> Board {
        let db = TestDb::new(name);
        let installed = read_json(&oracle.join("0-installed/rows.json"));
        let theme = &installed["themes"][0];
        let cache = &installed["datacache"][0]["cache"];
        db.exec_with(
            "UPDATE mybb_themes SET properties = ?, stylesheets = ? WHERE tid = 2",
            (text(&theme["properties"]), text(&theme["stylesheets"])),
        );
        db.exec_with(
            "UPDATE mybb_datacache SET cache = ? WHERE title = 'default_theme'",
            (text(cache),),
        );
        let dir = TestDir::new(name);
        let (sync_root, mybb_root) = (dir.join("sync"), dir.join("forum"));
        // Dated as the newest row, as the installer leaves them: linked, and older than any
        // write. The rows are not touched (on PostgreSQL an UPDATE moves a row in the heap, and
        // the heap's order is the order MyBB's list query hands ties in).
        let newest: u64 = db.query_one("SELECT MAX(lastmodified) FROM mybb_themestylesheets");
        let installed_at = UNIX_EPOCH + Duration::from_secs(newest);
        let installed_cache = Path::new(FIXTURES).join("mybb-1.8.37-cache-themes");
        for (file, content) in tree(&installed_cache) {
            let to = mybb_root.join("cache/themes").join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(&to, content).unwrap();
            std::fs::File::options()
                .append(true)
                .open(&to)
                .unwrap()
                .set_modified(installed_at)
                .unwrap();
        }
        // The editor themes the Edit Theme form offers.
        let editor = mybb_root.join("jscripts/sceditor/themes");
        std::fs::create_dir_all(&editor).unwrap();
        for css in ["mybb.css", "office.css"] {
            std::fs::write(editor.join(css), "/* an editor theme */\n").unwrap();
        }
        let installed_sid = db.query_one("SELECT MAX(sid) FROM mybb_themestylesheets");
        let board = Board { db, _dir: dir, sync_root, mybb_root, oracle, installed_sid };
        board.cmd().arg("export").expect_success();
        let start = board.snapshot(now());
        assert_same(&start, &installed, "0-installed (the starting state)");
        board
    }

    /// `mybb-sync --db ... --root sync --no-fsync --mybb forum`.
    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    /// Edits theme `theme`'s `theme.json` with `edit` and imports it; returns the step's start.
    fn import_theme_file(&self, theme: &str, edit: impl FnOnce(&mut Value)) -> u64 {
        let relative = format!("styles/{theme}/theme.json");
        let mut file: Value = read_json(&self.sync_root.join(&relative));
        edit(&mut file);
        let mut text = serde_json::to_vec_pretty(&file).unwrap();
        text.push(b'\n');
        self.import(&relative, std::str::from_utf8(&text).unwrap())
    }

    /// Writes `content` into the sync root's file `relative` and imports it; returns the
    /// step's start (Unix seconds).
    fn import(&self, relative: &str, content: &str) -> u64 {
        let since = next_second();
        let path = self.sync_root.join(relative);
        assert!(path.is_file(), "{relative} was not exported");
        std::fs::write(&path, content).unwrap();
        self.cmd().arg("import").expect_success();
        since
    }

    /// Returns the rows `dump.php` keeps, the same way, from this board.
    fn snapshot(&self, since: u64) -> Value {
        let when = |v: Option<String>| match v {
            Some(t) if t.parse::<u64>().is_ok_and(|t| t >= since) => json!("now"),
            Some(_) => json!("before"),
            None => Value::Null,
        };
        let templates: Vec<Vec<Option<String>>> = self.rows(
            "tid, title, template, sid, version, status, dateline",
            "mybb_templates WHERE sid <> -2 ORDER BY tid",
        );
        let sheets: Vec<Vec<Option<String>>> = self.rows(
            "sid, name, tid, attachedto, stylesheet, cachefile, lastmodified",
            "mybb_themestylesheets WHERE tid <> 1 ORDER BY sid",
        );
        let themes = self.rows(
            "tid, name, pid, def, properties, stylesheets, allowedgroups",
            "mybb_themes WHERE tid = 2 ORDER BY tid",
        );
        let datacache = self
            .rows("title, cache", "mybb_datacache WHERE title = 'default_theme' ORDER BY title");
        let object = |columns: &str, row: Vec<Option<String>>, volatile: &str| -> Value {
            let mut object = serde_json::Map::new();
            let names: Vec<&str> = columns.split(", ").collect();
            for (name, value) in names.iter().zip(row) {
                let value = if *name == volatile { when(value) } else { json!(value) };
                object.insert((*name).to_owned(), value);
            }
            Value::Object(object)
        };
        let mut out = serde_json::Map::new();
        let columns = "tid, title, template, sid, version, status, dateline";
        out.insert(
            "templates".into(),
            templates.into_iter().map(|r| object(columns, r, "dateline")).collect(),
        );
        let columns = "sid, name, tid, attachedto, stylesheet, cachefile, lastmodified";
        out.insert(
            "themestylesheets".into(),
            sheets
                .into_iter()
                .map(|r| object(columns, r, "lastmodified"))
                .map(|mut r| {
                    // A row of the install no step wrote: its content left out, as dump.php does.
                    let sid: u32 = text(&r["sid"]).parse().unwrap();
                    if r["lastmodified"] == "before" && sid <= self.installed_sid {
                        r["stylesheet"] = json!("(as installed)");
                    }
                    r
                })
                .collect(),
        );
        let columns = "tid, name, pid, def, properties, stylesheets, allowedgroups";
        out.insert("themes".into(), themes.into_iter().map(|r| object(columns, r, "")).collect());
        out.insert(
            "datacache".into(),
            datacache.into_iter().map(|r| object("title, cache", r, "")).collect(),
        );
        if on_sqlite() {
            self.add_storage(&mut out);
        }
        Value::Object(out)
    }

    /// Selects `columns` (`a, b, c`) from `from` (a table and the rest of the query), each in
    /// its text form as stored.
    fn rows(&self, columns: &str, from: &str) -> Vec<Vec<Option<String>>> {
        let texts: Vec<String> =
            // Named apart from the columns: PostgreSQL would name `CAST(sid AS TEXT)` `sid`, and
            // sort `ORDER BY sid` by that text.
            (0..).zip(columns.split(", ")).map(|(i, c)| format!("CAST({c} AS TEXT) AS c{i}")).collect();
        let sql = format!("SELECT {} FROM {from}", texts.join(", "));
        let rows: Vec<mysql::Row> = self.db.query_rows(&sql);
        rows.into_iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let bytes: Option<Vec<u8>> = row.get(i).unwrap();
                        bytes.map(|b| String::from_utf8(b).unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    /// Adds each kept row's storage classes (SQLite's `typeof()`), as `dump.php` does.
    fn add_storage(&self, out: &mut serde_json::Map<String, Value>) {
        let tables = [
            (
                "templates",
                "mybb_templates",
                "tid",
                "tid, title, template, sid, version, status, dateline",
            ),
            (
                "themestylesheets",
                "mybb_themestylesheets",
                "sid",
                "sid, name, tid, attachedto, stylesheet, cachefile, lastmodified",
            ),
            (
                "themes",
                "mybb_themes",
                "tid",
                "tid, name, pid, def, properties, stylesheets, allowedgroups",
            ),
            ("datacache", "mybb_datacache", "title", "title, cache"),
        ];
        for (key, table, id, columns) in tables {
            let types: Vec<String> = columns.split(", ").map(|c| format!("typeof({c})")).collect();
            for row in out[key].as_array_mut().unwrap() {
                let sql = format!(
                    "SELECT {} FROM {table} WHERE CAST({id} AS TEXT) = ?",
                    types.join(" || ' ' || ")
                );
                let storage: String = self.db.query_rows_with(&sql, (text(&row[id]),)).remove(0);
                row["storage"] = json!(storage);
            }
        }
    }

    /// Asserts that the board and its cache files are what the Admin CP left after `step`.
    #[track_caller]
    fn assert_step(&self, step: &str, since: u64) {
        let want = read_json(&self.oracle.join(step).join("rows.json"));
        assert_same(&self.snapshot(since), &want, step);
        let oracle_cache = self.oracle.join(step).join("cache");
        let want: BTreeMap<String, Vec<u8>> =
            if oracle_cache.is_dir() { tree(&oracle_cache) } else { BTreeMap::new() };
        let cache = self.mybb_root.join("cache/themes");
        let written: BTreeMap<String, Vec<u8>> = tree(&cache)
            .into_iter()
            .filter(|(file, _)| !file.ends_with("index.html"))
            .filter(|(file, _)| {
                let modified = std::fs::metadata(cache.join(file)).unwrap().modified().unwrap();
                modified.duration_since(UNIX_EPOCH).unwrap().as_secs() >= since
            })
            .collect();
        assert_eq!(
            written.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "the cache files written in {step} differ from the Admin CP's"
        );
        for (file, content) in want {
            assert!(
                written[&file] == content,
                "cache/themes/{file} after {step} differs from the Admin CP's:\n{}\n--- the Admin \
                 CP's:\n{}",
                String::from_utf8_lossy(&written[&file]),
                String::from_utf8_lossy(&content)
            );
        }
    }
}

/// Returns the next whole second once the clock reaches it, as `run.sh`'s `begin` does: the
/// writes of the step before are then all "before".
fn next_second() -> u64 {
    let next = now() + 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while now() < next {
        assert!(std::time::Instant::now() < deadline, "the clock did not reach {next}");
        std::thread::sleep(Duration::from_millis(20));
    }
    next
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_owned()
}

/// Returns `value` (JSON from a snapshot) with, on PostgreSQL, every stylesheet list in it (the
/// Default theme's `stylesheets` column, and the copy inside `default_theme`) in a canonical
/// order: each map by key, each list of URLs sorted. MyBB's list query leaves the order of one
/// theme's rows open and PostgreSQL's sort follows where the rows lie in the table, so the
/// Admin CP's order there is not a function of the rows (docs/engines.md); mybb-sync's is by
/// sid. Which files each page links, and every other byte, are still compared exactly.
fn lists_in_canonical_order(mut value: Value) -> Value {
    if !on_postgres() {
        return value;
    }
    if let Some(list) = value["themes"][0].get_mut("stylesheets") {
        *list = json!(canonical_list(list.as_str().unwrap()));
    }
    if let Some(cache) = value["datacache"][0].get_mut("cache") {
        let mut row = phpser::parse(cache.as_str().unwrap()).unwrap();
        let Some(PhpValue::Str(list)) = row.get("stylesheets").cloned() else {
            panic!("default_theme without a stylesheet list: {cache}")
        };
        if let PhpValue::Array(entries) = &mut row {
            for (key, entry) in entries.iter_mut() {
                if key.to_string() == "stylesheets" {
                    *entry = PhpValue::Str(canonical_list(&list));
                }
            }
        }
        *cache = json!(phpser::to_string(&row));
    }
    value
}

/// Returns serialized list `list` with each map ordered by key and each list of URLs sorted.
fn canonical_list(list: &str) -> String {
    fn canonical(value: &mut PhpValue) {
        let PhpValue::Array(entries) = value else { return };
        entries.iter_mut().for_each(|(_, v)| canonical(v));
        if entries.iter().all(|(k, _)| matches!(k, phpser::Key::Int(_))) {
            let mut values: Vec<PhpValue> = entries.drain(..).map(|(_, v)| v).collect();
            values.sort_by_key(phpser::to_string);
            entries.extend((0..).zip(values).map(|(i, v)| (phpser::Key::Int(i), v)));
        } else {
            entries.sort_by_key(|(k, _)| k.to_string());
        }
    }
    let mut value = phpser::parse(list).unwrap();
    canonical(&mut value);
    phpser::to_string(&value)
}

/// Asserts `got` equals the oracle's `want`, naming the first table, row and column that differ.
#[track_caller]
fn assert_same(got: &Value, want: &Value, step: &str) {
    let (got, want) =
        (&lists_in_canonical_order(got.clone()), &lists_in_canonical_order(want.clone()));
    for table in ["templates", "themestylesheets", "themes", "datacache"] {
        let (got, want) = (got[table].as_array().unwrap(), want[table].as_array().unwrap());
        assert_eq!(
            got.len(),
            want.len(),
            "{table} rows after {step}: got {got:#?}\nwant {want:#?}"
        );
        for (g, w) in got.iter().zip(want) {
            for (column, w) in w.as_object().unwrap() {
                assert!(
                    &g[column] == w,
                    "{table}.{column} after {step} differs from the Admin CP's:\n     got {}\n    want {w}",
                    g[column]
                );
            }
        }
    }
}

#[test]
fn mybb_sync_writes_what_the_admin_cp_writes_on_this_engine() {
    let Some(oracle) = oracle_dir() else {
        eprintln!(
            "SKIPPED on MariaDB: the engine oracle is SQLite's and PostgreSQL's (MariaDB's: \
             theme_files, devtheme, theme, cache)"
        );
        return;
    };
    let board = Board::new("engine_oracle", oracle);

    // 1. A master template edited in the set: a row inserted (copy-on-write).
    let since = board.import(HEADER, TEMPLATE_1);
    board.assert_step("1-template-copy", since);
    // 2. The set's own row edited: updated in place.
    let since = board.import(HEADER, TEMPLATE_2);
    board.assert_step("2-template-edit", since);
    // 3. Revert to Original: the row deleted.
    let since = next_second();
    board.cmd().arg("revert").arg(board.sync_root.join(HEADER)).expect_success();
    board.assert_step("3-template-revert", since);
    // 4. The inherited global.css edited in theme 2: copied, cached, lists rebuilt.
    let since = board.import("styles/Default/global.css", STYLESHEET_1);
    board.assert_step("4-stylesheet-copy", since);
    // 5. Theme 2's own color_black.css edited: updated in place.
    let since = board.import("styles/Default/color_black.css", STYLESHEET_2);
    board.assert_step("5-stylesheet-edit", since);

    // 6. Edit Theme, every field (the theme file's fields, as tests/theme_files.rs edits them).
    let since = board.import_theme_file("Default", crate::theme_files::edit_every_field);
    board.assert_step("6-edit-theme", since);
    // The rename moves the theme's folder.
    board.cmd().arg("export").expect_success();
    // 7. Stylesheet properties: the inherited showthread.css attached to two pages.
    let since = board.import_theme_file("Default Edited", |file| {
        file["stylesheets"]["showthread.css"]["attachedto"] =
            json!(["showthread.php", "newreply.php?newreply,editdraft"]);
    });
    board.assert_step("7-attach", since);
    // 8. Save Stylesheet Orders: css3.css first, global.css last, the others by sid.
    let sids: Vec<(u32, String)> = board.db.query_rows(
        "SELECT MAX(sid), name FROM mybb_themestylesheets WHERE tid IN (1, 2) GROUP BY name",
    );
    let since = board
        .import_theme_file("Default Edited", |file| crate::theme_files::save_orders(file, sids));
    board.assert_step("8-orders", since);
}
