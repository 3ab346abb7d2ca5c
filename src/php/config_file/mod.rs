//! Reads a board's database credentials from MyBB's `inc/config.php`, so that a user with a forum
//! at /var/www/forum is spared typing a password.
//!
//! There is no PHP interpreter here: this is a small, strict reader of the statements MyBB's
//! installer writes (`install/index.php`, `create_tables()`):
//!
//! ```php
//! $config['database']['type'] = 'mysqli';
//! $config['database']['hostname'] = 'localhost';
//! ```
//!
//! with PHP's own rules for both kinds of string literal, comments, array keys and the
//! `<?php`/`?>` tags. Other `$config[...]` settings (`admin_dir`, `log_pruning = array(...)`, ...)
//! are skipped. Anything it cannot evaluate exactly (a variable, a function call, an `if`,
//! concatenation, an interpolating double-quoted string, the `array(...)` form of the database
//! settings) is refused with its line number rather than guessed at. The values of skipped
//! settings are only checked for balanced brackets and a closing `;` (and for a missing `;`
//! before the next statement), not for full PHP syntax: a file PHP itself would reject for an
//! error inside such a value can still be read, but then the board cannot run either.
//!
//! Which server: MyBB can list several (`$config['database']['read'][n]`/`['write'][n]`). The
//! settings returned are those of the server MyBB *writes* to, chosen the way `connect()` does in
//! `inc/db_mysqli.php` (and `inc/AbstractPdoDbDriver.php` for `mysql_pdo`); see
//! [`BoardConfig`].
//!
//! Errors never contain the password: they name keys and describe tokens, and never quote the
//! text of a string literal or of an unquoted value.

use std::fmt;
use std::path::{Path, PathBuf};

mod eval;
// Shared with the language-file reader (`php/lang_file.rs`), which reads the same literals.
pub(crate) mod lexer;
mod servers;
#[cfg(test)]
mod tests;

/// The table prefix assumed when `inc/config.php` does not set one: the installer's default.
///
/// MyBB itself would run such a board with no prefix at all (`define("TABLE_PREFIX",
/// $config['database']['table_prefix'])` in `inc/init.php` defines it as null). The installer
/// always writes the line, so only a hand-edited file lacks it.
pub const DEFAULT_TABLE_PREFIX: &str = "mybb_";

/// The connection character set assumed when `inc/config.php` does not set one: the default of
/// MyBB's database drivers (`public $db_encoding = "utf8";` in `inc/db_mysqli.php`).
pub const DEFAULT_ENCODING: &str = "utf8";

/// The database settings of a MyBB board, as MyBB itself would connect for a write.
///
/// `hostname`, `port`, `username` and `password` are those of the server MyBB writes to,
/// following `connect()` in `inc/db_mysqli.php` (MyBB 1.8):
/// - `$config['database']['hostname']` set: one server, these settings.
/// - else no `['read']` list: the integer-keyed entries (`$config['database'][0]`, ...) are
///   servers for reads and writes alike ("Specified multiple servers, but no specific
///   read/write servers"); the first is used.
/// - else the `['write']` server if there is one (`['write']['hostname']`, or the first of
///   `['write'][n]`); with no `write` key MyBB mirrors the read link for writes ("No write
///   server was specified ... - mirror write link"), so the read server is used.
///
/// MyBB shuffles a list of servers and takes the first that answers; this takes the first one
/// listed (PHP's array order) and does not fail over. `database`, `table_prefix` and `encoding`
/// are always the top-level ones, as in MyBB (`select_db($config['database'])` in `connect()`,
/// `define("TABLE_PREFIX", $config['database']['table_prefix'])` in `inc/init.php`): per-server
/// copies of them, which MyBB's upgrade script writes, are ignored by MyBB and here.
#[derive(Clone, PartialEq, Eq)]
pub struct BoardConfig {
    /// `$config['database']['type']`: `mysqli`, `mysql`, `mysql_pdo`, `pgsql`, `pgsql_pdo` or
    /// `sqlite`, as written. See [`BoardConfig::is_mysql`] and [`BoardConfig::is_sqlite`]; the
    /// caller refuses the others.
    pub db_type: String,
    /// The database (schema) name; for SQLite boards, a file path.
    pub database: String,
    /// The table prefix, e.g. `mybb_`; may be empty. Always passes [`validate_table_prefix`].
    pub table_prefix: String,
    /// The server's host name or IP address, without brackets or port (`::1` for `[::1]:3307`).
    /// For types other than MySQL, the `hostname` setting as written.
    pub hostname: String,
    /// The TCP port when `hostname` carried one (`localhost:3307`); `None` means the default.
    pub port: Option<u16>,
    /// The Unix socket path when `hostname` named one (`localhost:/run/mysqld/mysqld.sock`, the
    /// form MyBB's old `mysql` driver passed to `mysql_connect()`); then `port` is `None`.
    pub socket: Option<String>,
    /// The user name to connect as.
    pub username: String,
    /// The password; empty when `inc/config.php` sets none. `Debug` prints it as `***`.
    pub password: String,
    /// The connection character set (`SET NAMES`), e.g. `utf8mb4`. Empty means the board asked
    /// for none, and MyBB then leaves the server's default in place.
    pub encoding: String,
}

impl BoardConfig {
    /// Returns true if and only if the board runs on MySQL or MariaDB, through any of MyBB's
    /// three MySQL drivers (`mysqli`, `mysql`, `mysql_pdo`).
    pub fn is_mysql(&self) -> bool {
        matches!(self.db_type.as_str(), "mysqli" | "mysql" | "mysql_pdo")
    }

    /// Returns true if and only if the board runs on PostgreSQL, through either of MyBB's
    /// drivers (`pgsql`, `pgsql_pdo`); `hostname` is then as written (`host:port`, a socket
    /// directory, or empty for libpq's default).
    pub fn is_postgres(&self) -> bool {
        matches!(self.db_type.as_str(), "pgsql" | "pgsql_pdo")
    }

    /// Returns true if and only if the board runs on SQLite (`sqlite`): `database` is then the
    /// database file's path, and there is no server.
    pub fn is_sqlite(&self) -> bool {
        self.db_type == "sqlite"
    }
}

/// Written by hand so that the password never reaches a log or a panic message.
impl fmt::Debug for BoardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoardConfig")
            .field("db_type", &self.db_type)
            .field("database", &self.database)
            .field("table_prefix", &self.table_prefix)
            .field("hostname", &self.hostname)
            .field("port", &self.port)
            .field("socket", &self.socket)
            .field("username", &self.username)
            .field("password", &"***")
            .field("encoding", &self.encoding)
            .finish()
    }
}

/// Why a board's settings could not be read from `inc/config.php`.
///
/// Neither variant ever contains the password, in `Display` or in `Debug`.
#[derive(Debug)]
pub enum ConfigPhpError {
    /// The file could not be read; the error (from `fs_err`) names the operation and the path.
    Read(std::io::Error),
    /// The file was read, but it is not what this reader understands, or it lacks a setting that
    /// is needed, or a setting is unusable.
    Invalid {
        /// The file, when it was read from a path.
        path: Option<PathBuf>,
        /// The 1-based line the problem is on, when there is one (a missing key has none).
        line: Option<usize>,
        /// What is wrong, naming the `$config[...]` key concerned.
        reason: String,
    },
}

impl fmt::Display for ConfigPhpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigPhpError::Read(error) => error.fmt(f),
            ConfigPhpError::Invalid { path, line, reason } => match (path, line) {
                (Some(path), Some(line)) => write!(f, "{}:{line}: {reason}", path.display()),
                (Some(path), None) => write!(f, "{}: {reason}", path.display()),
                (None, Some(line)) => write!(f, "line {line}: {reason}"),
                (None, None) => f.write_str(reason),
            },
        }
    }
}

impl std::error::Error for ConfigPhpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // fs_err's error already says what failed; its own source is the OS error.
            ConfigPhpError::Read(error) => error.source(),
            ConfigPhpError::Invalid { .. } => None,
        }
    }
}

/// Reads the board settings from `<mybb_root>/inc/config.php`.
///
/// An error means the file could not be read or understood; its message names the file, the
/// line and the key concerned, so the user can fix it or give the settings another way.
pub fn read(mybb_root: &Path) -> Result<BoardConfig, ConfigPhpError> {
    let path = mybb_root.join("inc").join("config.php");
    let source = fs_err::read_to_string(&path).map_err(ConfigPhpError::Read)?;
    parse_source(&source).map_err(|problem| ConfigPhpError::Invalid {
        path: Some(path),
        line: problem.line,
        reason: problem.reason,
    })
}

/// Reads the board settings from the text of an `inc/config.php`.
///
/// An error means the text is not what MyBB's installer writes (with its line number), or lacks
/// a needed setting (`type`, `database`, `hostname`, `username`), or has an unusable one.
pub fn parse(php_source: &str) -> Result<BoardConfig, ConfigPhpError> {
    parse_source(php_source).map_err(|problem| ConfigPhpError::Invalid {
        path: None,
        line: problem.line,
        reason: problem.reason,
    })
}

/// MyBB's installer rule for a table prefix (`create_tables()` in `install/index.php`):
/// `preg_match("#^[A-Za-z][A-Za-z0-9_]*$#", ...)` unless empty, and `strlen(...) > 40` refused.
/// Checked by hand: compiling the pattern cost every command a few hundred page faults.
///
/// One difference, on purpose: PCRE's `$` also matches before a final newline, so the installer
/// would let `"mybb_\n"` through; here the whole text must match, and a newline can never be part
/// of a table name.
fn is_table_prefix(prefix: &str) -> bool {
    let mut bytes = prefix.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The longest table prefix MyBB's installer accepts: "Needs to be smaller then 64 characters
/// total (MySQL Limit). This allows 24 characters for the actual table name".
const MAX_TABLE_PREFIX_LEN: usize = 40;

/// Checks a table prefix against MyBB's installer rule: empty, or a letter followed by letters,
/// digits and `_`, at most 40 characters.
///
/// An error (the reason, for the caller to prefix with the prefix itself) means MyBB would not
/// have installed a board with this prefix; since prefixes are pasted into SQL as table names,
/// such a prefix must not be used.
pub fn validate_table_prefix(prefix: &str) -> Result<(), String> {
    if !prefix.is_empty() && !is_table_prefix(prefix) {
        return Err(
            "MyBB requires a letter followed by letters, digits and `_` (or no prefix)".to_owned()
        );
    }
    if prefix.len() > MAX_TABLE_PREFIX_LEN {
        return Err(format!(
            "it is {} characters long, and MyBB allows at most {MAX_TABLE_PREFIX_LEN}",
            prefix.len()
        ));
    }
    Ok(())
}

/// A problem found while reading, before the caller attaches the path.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) line: Option<usize>,
    pub(crate) reason: String,
}

impl Problem {
    fn at(line: usize, reason: impl Into<String>) -> Problem {
        Problem { line: Some(line), reason: reason.into() }
    }

    fn missing(reason: impl Into<String>) -> Problem {
        Problem { line: None, reason: reason.into() }
    }
}

fn parse_source(source: &str) -> Result<BoardConfig, Problem> {
    let tokens = lexer::tokenize(source)?;
    let database = eval::evaluate(&tokens)?;
    servers::board_config(database.as_ref())
}
