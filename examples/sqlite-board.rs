//! Builds a SQLite MyBB board from a `mariadb-dump` of MyBB's tables (by default the bundled
//! fixture), for `scripts/demo.sh`'s server-less board and for trying mybb-sync on SQLite:
//!
//!     cargo run --example sqlite-board -- OUT.db [DUMP.sql]
//!
//! The conversion is `tests/sqlite_board.rs`'s, shared with the tests, so the demo's board and
//! the tests' hold the same rows.

#[path = "../tests/sqlite_board.rs"]
mod sqlite_board;

use std::path::PathBuf;
use std::process::ExitCode;

/// The dump used when none is named.
const FIXTURE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-sync-tables.sql");

/// Reads the arguments, builds the board, and says what it made.
fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), dump) = (args.next().map(PathBuf::from), args.next().map(PathBuf::from)) else {
        eprintln!("usage: sqlite-board OUT.db [DUMP.sql]");
        return ExitCode::from(2);
    };
    let dump = dump.unwrap_or_else(|| PathBuf::from(FIXTURE));
    let text = match std::fs::read_to_string(&dump) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("sqlite-board: cannot read {}: {e}", dump.display());
            return ExitCode::FAILURE;
        }
    };
    match sqlite_board::build(&text, &out) {
        Ok(()) => {
            eprintln!("sqlite-board: {} built from {}", out.display(), dump.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sqlite-board: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
