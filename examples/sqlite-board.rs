//! Builds a SQLite MyBB board from a `mariadb-dump` of MyBB's tables (by default the bundled
//! fixture), and runs SQL on one: the server-less board of `scripts/demo.sh`, which needs
//! cargo and nothing else (no sqlite3 program either).
//!
//!     cargo run --example sqlite-board -- build OUT.db [DUMP.sql]
//!     cargo run --example sqlite-board -- sql BOARD.db 'SELECT ...'
//!
//! The conversion is `tests/sqlite_board.rs`'s, shared with the tests, so the demo's board and
//! the tests' hold the same rows.

#[path = "../tests/sqlite_board.rs"]
mod sqlite_board;

use std::path::PathBuf;
use std::process::ExitCode;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// The dump used when none is named.
const FIXTURE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-sync-tables.sql");

/// How to call this program.
const USAGE: &str = "usage: sqlite-board build OUT.db [DUMP.sql] | sql BOARD.db STATEMENT";

/// Reads the arguments and runs the subcommand; errors go to stderr, prefixed.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build", out] => build(PathBuf::from(out), PathBuf::from(FIXTURE)),
        ["build", out, dump] => build(PathBuf::from(out), PathBuf::from(dump)),
        ["sql", board, statement] => sql(board, statement),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sqlite-board: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds board `out` from the dump `dump`.
fn build(out: PathBuf, dump: PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(&dump)
        .map_err(|e| format!("cannot read {}: {e}", dump.display()))?;
    sqlite_board::build(&text, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("sqlite-board: {} built from {}", out.display(), dump.display());
    Ok(())
}

/// Runs `statement` on `board`; prints the rows it returns, tab-separated under a header line.
fn sql(board: &str, statement: &str) -> Result<(), String> {
    // Opened without CREATE: a mistyped path is an error, not a new empty file.
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
    let conn = Connection::open_with_flags(board, flags).map_err(|e| format!("{board}: {e}"))?;
    let mut stmt = conn.prepare(statement).map_err(|e| format!("{board}: {e}"))?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    if !names.is_empty() {
        println!("{}", names.join("\t"));
    }
    let mut rows = stmt.query([]).map_err(|e| format!("{board}: {e}"))?;
    while let Some(row) = rows.next().map_err(|e| format!("{board}: {e}"))? {
        let cells: Vec<String> = (0..names.len())
            .map(|i| match row.get_ref(i) {
                Ok(ValueRef::Integer(n)) => n.to_string(),
                Ok(ValueRef::Real(x)) => x.to_string(),
                Ok(ValueRef::Text(b) | ValueRef::Blob(b)) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                Ok(ValueRef::Null) | Err(_) => "NULL".to_owned(),
            })
            .collect();
        println!("{}", cells.join("\t"));
    }
    Ok(())
}
