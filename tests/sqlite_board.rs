//! Builds a SQLite board from a `mariadb-dump` of MyBB's tables: the SQLite form of the bundled
//! fixture (`tests/fixtures/mybb-1.8.37-sync-tables.sql`), generated each time it is needed,
//! never kept as a second copy.
//!
//! The tables are made with MyBB 1.8.37's own SQLite schema (`install/resources/
//! sqlite_db_tables.php`, the seven tables the fixture holds, verbatim), and the dump's rows are
//! inserted as they are, in one transaction. Used by the integration tests (`TestDb` on SQLite)
//! and by `examples/sqlite-board.rs`, which `scripts/demo.sh` runs for its server-less board;
//! hence plain `Result<_, String>` and no test helpers here.
#![allow(dead_code)]

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

/// MyBB 1.8.37's `CREATE TABLE` statements for SQLite (`install/resources/sqlite_db_tables.php`)
/// of the seven tables the fixture holds, verbatim but for the installer's `mybb_` prefix.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE mybb_datacache (
	title varchar(50) NOT NULL default '' PRIMARY KEY,
	cache mediumTEXT NOT NULL
);",
    "CREATE TABLE mybb_settings (
	sid INTEGER PRIMARY KEY,
	name varchar(120) NOT NULL default '',
	title varchar(120) NOT NULL default '',
	description TEXT NOT NULL,
	optionscode TEXT NOT NULL,
	value TEXT NOT NULL,
	disporder smallint NOT NULL default '0',
	gid smallint NOT NULL default '0',
	isdefault tinyint(1) NOT NULL default '0'
);",
    "CREATE TABLE mybb_templategroups (
	gid INTEGER PRIMARY KEY,
	prefix varchar(50) NOT NULL default '',
	title varchar(100) NOT NULL default '',
	isdefault tinyint(1) NOT NULL default '0'
);",
    "CREATE TABLE mybb_templates (
	tid INTEGER PRIMARY KEY,
	title varchar(120) NOT NULL default '',
	template TEXT NOT NULL,
	sid smallint NOT NULL default '0',
	version varchar(20) NOT NULL default '0',
	status varchar(10) NOT NULL default '',
	dateline int(10) NOT NULL default '0'
);",
    "CREATE TABLE mybb_templatesets (
	sid INTEGER PRIMARY KEY,
	title varchar(120) NOT NULL default ''
);",
    "CREATE TABLE mybb_themes (
	tid INTEGER PRIMARY KEY,
	name varchar(100) NOT NULL default '',
	pid smallint NOT NULL default '0',
	def tinyint(1) NOT NULL default '0',
	properties TEXT NOT NULL,
	stylesheets TEXT NOT NULL,
	allowedgroups TEXT NOT NULL
);",
    "CREATE TABLE mybb_themestylesheets(
	sid INTEGER PRIMARY KEY,
	name varchar(30) NOT NULL default '',
	tid smallint NOT NULL default '0',
	attachedto TEXT NOT NULL,
	stylesheet LONGTEXT NOT NULL,
	cachefile varchar(100) NOT NULL default '',
	lastmodified int NOT NULL default '0'
);",
];

/// One table of a dump: its name, its columns in the dump's order, and its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Creates the SQLite database `path` (which must not exist) with MyBB's schema and the rows
/// of `dump`, a `mariadb-dump` of MyBB tables with the `mybb_` prefix.
pub fn build(dump: &str, path: &Path) -> Result<(), String> {
    if path.exists() {
        return Err(format!("{} exists already; not overwriting it", path.display()));
    }
    let tables = parse_dump(dump)?;
    let mut conn = Connection::open(path).map_err(|e| format!("create {}: {e}", path.display()))?;
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    for statement in SCHEMA {
        tx.execute_batch(statement).map_err(|e| format!("MyBB's schema: {e}"))?;
    }
    for table in &tables {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.columns.join(", "),
            vec!["?"; table.columns.len()].join(", ")
        );
        let mut stmt = tx.prepare(&sql).map_err(|e| format!("{sql}: {e}"))?;
        for row in &table.rows {
            stmt.execute(params_from_iter(row.iter()))
                .map_err(|e| format!("a row of {}: {e}", table.name))?;
        }
    }
    tx.commit().map_err(|e| format!("commit {}: {e}", path.display()))
}

/// Reads the tables of a `mariadb-dump`: columns from each `CREATE TABLE`, rows from each
/// `INSERT INTO ... VALUES (...),(...);`, MySQL's string escapes undone. Numbers become
/// integers, quoted strings text, `NULL` null.
pub fn parse_dump(dump: &str) -> Result<Vec<DumpTable>, String> {
    let mut tables: Vec<DumpTable> = Vec::new();
    let mut lines = dump.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("CREATE TABLE `") {
            let name = rest.split('`').next().unwrap_or_default().to_owned();
            let mut columns = Vec::new();
            for line in lines.by_ref() {
                match line.strip_prefix("  `") {
                    Some(column) => {
                        columns.push(column.split('`').next().unwrap_or_default().into())
                    }
                    None if line.starts_with(')') => break,
                    None => {}
                }
            }
            tables.push(DumpTable { name, columns, rows: Vec::new() });
        }
    }
    for (at, _) in dump.match_indices("INSERT INTO `") {
        let rest = &dump[at + "INSERT INTO `".len()..];
        let name = rest.split('`').next().unwrap_or_default();
        let values =
            rest.find(" VALUES").ok_or_else(|| format!("INSERT INTO {name} has no VALUES"))?;
        let rows = parse_rows(&rest[values + " VALUES".len()..])
            .map_err(|e| format!("the rows of {name}: {e}"))?;
        let table = tables
            .iter_mut()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("rows of {name} before its CREATE TABLE"))?;
        table.rows.extend(rows);
    }
    Ok(tables)
}

/// Parses `(v, v, ...),(...);` up to the closing `;`.
fn parse_rows(text: &str) -> Result<Vec<Vec<Value>>, String> {
    let bytes = text.as_bytes();
    let mut rows = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i] as char).is_ascii_whitespace()
            || bytes.get(i) == Some(&b',')
        {
            i += 1;
        }
        match bytes.get(i) {
            Some(b';') => return Ok(rows),
            Some(b'(') => i += 1,
            other => return Err(format!("expected ( or ;, found {other:?} at byte {i}")),
        }
        let mut row = Vec::new();
        loop {
            match bytes.get(i) {
                Some(b'\'') => {
                    let (text, next) = parse_string(bytes, i + 1)?;
                    row.push(Value::Text(text));
                    i = next;
                }
                Some(_) => {
                    let end = i + bytes[i..]
                        .iter()
                        .position(|b| *b == b',' || *b == b')')
                        .ok_or("a row does not end")?;
                    let bare = &text[i..end];
                    row.push(match bare {
                        "NULL" => Value::Null,
                        _ => bare
                            .parse::<i64>()
                            .map(Value::Integer)
                            .unwrap_or(Value::Text(bare.into())),
                    });
                    i = end;
                }
                None => return Err("the dump ends inside a row".into()),
            }
            match bytes.get(i) {
                Some(b',') => i += 1,
                Some(b')') => {
                    i += 1;
                    break;
                }
                other => return Err(format!("expected , or ), found {other:?} at byte {i}")),
            }
        }
        rows.push(row);
    }
}

/// Parses a MySQL string literal's body from `start` (after the opening quote); returns the
/// text and the index after the closing quote.
fn parse_string(bytes: &[u8], start: usize) -> Result<(String, usize), String> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        match bytes.get(i) {
            None => return Err("a string does not end".into()),
            Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            Some(b'\'') => break,
            Some(b'\\') => {
                let escaped = *bytes.get(i + 1).ok_or("a string ends in a backslash")?;
                out.push(match escaped {
                    b'0' => 0,
                    b'b' => 8,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'Z' => 26,
                    other => other,
                });
                i += 2;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).map_err(|e| format!("a string is not UTF-8: {e}"))?;
    Ok((text, i + 1))
}
