//! Builds a PostgreSQL board from a `mariadb-dump` of MyBB's tables: the PostgreSQL form of
//! the bundled fixture (`tests/fixtures/mybb-1.8.37-sync-tables.sql`), generated each time it is
//! needed, never kept as a second copy.
//!
//! The tables are made with MyBB 1.8.37's own PostgreSQL schema (`install/resources/
//! pgsql_db_tables.php`, the seven tables the fixture holds, verbatim), the dump's rows are
//! inserted as they are (read by `tests/sqlite_board.rs`'s dump reader), and each `serial`
//! column's sequence is set past the highest id, as MyBB's installer leaves it. Used by the
//! integration tests (`TestDb` on PostgreSQL); hence plain `Result<_, String>` here.
#![allow(dead_code)]

use rusqlite::types::Value;

use crate::sqlite_board::parse_dump;

/// MyBB 1.8.37's `CREATE TABLE` statements for PostgreSQL (`install/resources/
/// pgsql_db_tables.php`) of the seven tables the fixture holds, verbatim.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE mybb_datacache (
  title varchar(50) NOT NULL default '',
  cache text NOT NULL default '',
  PRIMARY KEY (title)
);",
    "CREATE TABLE mybb_settings (
  sid serial,
  name varchar(120) NOT NULL default '',
  title varchar(120) NOT NULL default '',
  description text NOT NULL default '',
  optionscode text NOT NULL default '',
  value text NOT NULL default '',
  disporder smallint NOT NULL default '0',
  gid smallint NOT NULL default '0',
  isdefault smallint NOT NULL default '0',
  PRIMARY KEY (sid)
);",
    "CREATE TABLE mybb_templategroups (
  gid serial,
  prefix varchar(50) NOT NULL default '',
  title varchar(100) NOT NULL default '',
  isdefault smallint NOT NULL default '0',
  PRIMARY KEY (gid)
);",
    "CREATE TABLE mybb_templates (
  tid serial,
  title varchar(120) NOT NULL default '',
  template text NOT NULL default '',
  sid smallint NOT NULL default '0',
  version varchar(20) NOT NULL default '0',
  status varchar(10) NOT NULL default '',
  dateline int NOT NULL default '0',
  PRIMARY KEY (tid)
);",
    "CREATE TABLE mybb_templatesets (
  sid serial,
  title varchar(120) NOT NULL default '',
  PRIMARY KEY (sid)
);",
    "CREATE TABLE mybb_themes (
  tid serial,
  name varchar(100) NOT NULL default '',
  pid smallint NOT NULL default '0',
  def smallint NOT NULL default '0',
  properties text NOT NULL default '',
  stylesheets text NOT NULL default '',
  allowedgroups text NOT NULL default '',
  PRIMARY KEY (tid)
);",
    "CREATE TABLE mybb_themestylesheets(
	sid serial,
	name varchar(30) NOT NULL default '',
	tid numeric(10,0) NOT NULL default '0',
	attachedto text NOT NULL,
	stylesheet text NOT NULL,
	cachefile varchar(100) NOT NULL default '',
	lastmodified numeric(30,0) NOT NULL default '0',
	PRIMARY KEY(sid)
);",
];

/// The `serial` column of each table that has one: its sequence is set past the dump's ids.
const SERIALS: &[(&str, &str)] = &[
    ("mybb_settings", "sid"),
    ("mybb_templategroups", "gid"),
    ("mybb_templates", "tid"),
    ("mybb_templatesets", "sid"),
    ("mybb_themes", "tid"),
    ("mybb_themestylesheets", "sid"),
];

/// How many rows one INSERT carries.
const ROWS_PER_INSERT: usize = 200;

/// Returns the SQL that makes MyBB's tables and loads the rows of `dump`, a `mariadb-dump` of
/// MyBB tables with the `mybb_` prefix, into an empty PostgreSQL database: one script, run in
/// one transaction by the caller.
pub fn load_script(dump: &str) -> Result<String, String> {
    let tables = parse_dump(dump)?;
    let mut sql = String::with_capacity(dump.len() + 4096);
    for statement in SCHEMA {
        sql.push_str(statement);
        sql.push('\n');
    }
    for table in &tables {
        for rows in table.rows.chunks(ROWS_PER_INSERT) {
            sql.push_str(&format!(
                "INSERT INTO {} ({}) VALUES ",
                table.name,
                table.columns.join(", ")
            ));
            let rows: Vec<String> = rows
                .iter()
                .map(|row| format!("({})", row.iter().map(literal).collect::<Vec<_>>().join(", ")))
                .collect();
            sql.push_str(&rows.join(",\n"));
            sql.push_str(";\n");
        }
    }
    for (table, column) in SERIALS {
        sql.push_str(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             (SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false);\n"
        ));
    }
    Ok(sql)
}

/// Returns `value` as a PostgreSQL literal (standard strings: a quote doubled, a backslash as
/// it is).
fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(text) => format!("'{}'", text.replace('\'', "''")),
        Value::Blob(bytes) => format!("'{}'", String::from_utf8_lossy(bytes).replace('\'', "''")),
    }
}
