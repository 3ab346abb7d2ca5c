//! Prints the SQL that builds a PostgreSQL MyBB board from a `mariadb-dump` of MyBB's tables (by
//! default the bundled fixture), for `psql` to run into an empty database: the PostgreSQL board
//! of `scripts/bench.sh --engines`.
//!
//!     cargo run --example pg-board -- [DUMP.sql] | psql -X -q -1 -v ON_ERROR_STOP=1 URL
//!
//! The conversion is `tests/pg_board.rs`'s, shared with the tests, so the bench's board and the
//! tests' hold the same rows.

#[path = "../tests/pg_board.rs"]
mod pg_board;
#[path = "../tests/sqlite_board.rs"]
mod sqlite_board;

use std::io::Write;
use std::process::ExitCode;

/// The dump used when none is named.
const FIXTURE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mybb-1.8.37-sync-tables.sql");

/// Reads the dump named (or the fixture) and prints its load script; errors go to stderr.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = match args.as_slice() {
        [] => FIXTURE.to_owned(),
        [dump] => dump.clone(),
        _ => {
            eprintln!("usage: pg-board [DUMP.sql]");
            return ExitCode::from(2);
        }
    };
    let script = std::fs::read_to_string(&dump)
        .map_err(|e| format!("cannot read {dump}: {e}"))
        .and_then(|text| pg_board::load_script(&text).map_err(|e| format!("{dump}: {e}")))
        .and_then(|sql| {
            std::io::stdout()
                .lock()
                .write_all(sql.as_bytes())
                .map_err(|e| format!("cannot write the script: {e}"))
        });
    match script {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pg-board: {e}");
            ExitCode::FAILURE
        }
    }
}
