//! The one error type of mybb-sync, and the mapping from errors to exit codes.
//!
//! Every variant names what we were doing and to what (a file, a template, a query), so the one
//! line `main` prints is enough to act on. Database URLs are always shown redacted.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can stop a command.
#[derive(Debug)]
pub enum Error {
    /// The command line or the configuration is wrong; nothing was touched.
    Usage { message: String },
    /// MyBB's `inc/config.php` could not be read or understood.
    BoardConfig(crate::php::config_file::ConfigPhpError),
    /// Connecting to the database failed. `url` is already redacted.
    Connect { url: String, source: mysql::Error },
    /// A query failed. `what` says which one, in words.
    Query { what: String, source: mysql::Error },
    /// Connecting to a PostgreSQL server failed, or the connection was lost under a statement
    /// (timed out, cut, the server shutting down): the server is unreachable. `url` is
    /// redacted; `code` is the server's SQLSTATE when it answered.
    PgConnect { url: String, message: String, code: Option<String> },
    /// A statement on a PostgreSQL server failed; the connection is still usable. `what` says
    /// which statement, in words; `code` is the server's SQLSTATE.
    PgQuery { what: String, message: String, code: Option<String> },
    /// A statement on a SQLite board's database file `file` failed (or opening it did).
    /// `what` says which, in words.
    Sqlite { what: String, file: String, source: rusqlite::Error },
    /// A SQLite database file stayed locked by another writer for `waited`, so statement
    /// `what` gave up; nothing of it was written.
    SqliteBusy { what: String, file: String, waited: std::time::Duration },
    /// The database holds something we cannot work with (a missing table, a malformed row).
    Data { what: String },
    /// A set or theme asked for by name does not exist.
    UnknownItem { kind: &'static str, name: String, known: Vec<String> },
    /// File I/O. `fs_err` already names the operation and the path.
    Io(io::Error),
    /// I/O on a path, where the error does not come from `fs_err`.
    IoAt { path: PathBuf, action: &'static str, source: io::Error },
    /// The sync root's `.mybb-syncignore` has a line that is not a gitignore pattern.
    IgnoreFile { message: String },
    /// Starting the file watcher failed.
    Watch { source: notify::Error },
    /// The live-reload server cannot listen on its address.
    Listen { addr: std::net::SocketAddr, source: io::Error },
    /// A batch command finished, but some items were refused or in conflict (each already
    /// reported on stderr).
    Incomplete { refused: usize },
    /// `status` found items that are not in sync (each printed).
    Pending { count: usize },
    /// `outdated` found custom templates behind their master (each printed).
    Outdated { count: usize },
    /// `check` found errors (each printed).
    Findings { errors: usize },
}

impl Error {
    /// Returns the process exit code for this error: 2 for usage and configuration errors caught
    /// before anything was touched (a refused login or an unknown database among them), 3 when a batch finished with refused items, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. }
            | Error::BoardConfig(_)
            | Error::UnknownItem { .. }
            | Error::IgnoreFile { .. } => 2,
            Error::Connect { source, .. } if is_wrong_setting(source) => 2,
            Error::PgConnect { code: Some(code), .. } if is_wrong_pg_setting(code) => 2,
            Error::Incomplete { .. }
            | Error::Pending { .. }
            | Error::Outdated { .. }
            | Error::Findings { .. } => 3,
            _ => 1,
        }
    }

    /// Returns a usage error with the given message.
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage { message: message.into() }
    }

    /// Returns a closure that wraps a `mysql::Error` as a failed query described by `what`.
    pub fn query(what: impl Into<String>) -> impl FnOnce(mysql::Error) -> Error {
        let what = what.into();
        move |source| Error::Query { what, source }
    }

    /// Returns true if and only if the error is the server's answer that another transaction
    /// held the row up: a lock wait timeout (1205) or a deadlock (1213, the statement rolled
    /// back). Nothing was written, and the same write may succeed once the other transaction
    /// ends: to be tried again, not refused (issue 26).
    pub fn is_transient(&self) -> bool {
        // PostgreSQL: lock_not_available (lock_timeout), deadlock, serialization failure.
        matches!(
            self,
            Error::Query { source: mysql::Error::MySqlError(e), .. } if matches!(e.code, 1205 | 1213)
        ) || matches!(
            self,
            Error::PgQuery { code: Some(code), .. } if matches!(code.as_str(), "55P03" | "40P01" | "40001")
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message } => write!(f, "{message}"),
            Error::BoardConfig(e) => write!(f, "{e}"),
            Error::Connect { url, source } => {
                write!(f, "cannot connect to the database at {url}: {}", mysql_sentence(source))
            }
            Error::Query { what, source } => {
                write!(f, "database query failed: {what}: {}", mysql_sentence(source))
            }
            Error::PgConnect { url, message, code } => {
                write!(f, "cannot connect to the PostgreSQL database at {url}: {message}")?;
                match code.as_deref() {
                    Some(code) if is_wrong_pg_setting(code) => write!(
                        f,
                        ": check the user, password and database (--db URL, \
                         MYBB_DATABASE_URL, or MyBB's inc/config.php)"
                    ),
                    _ => Ok(()),
                }
            }
            Error::PgQuery { what, message, code } => {
                write!(f, "database query failed: {what}: {message}")?;
                match code {
                    Some(code) => write!(f, " (SQLSTATE {code})"),
                    None => Ok(()),
                }
            }
            Error::SqliteBusy { what, file, waited } => write!(
                f,
                "the SQLite database {file} stayed locked by another writer for {} s, so \
                 mybb-sync could not {what}; nothing of it was written: try again",
                waited.as_secs_f32()
            ),
            Error::Sqlite { what, file, source } => {
                write!(f, "SQLite database {file}: could not {what}: {source}")
            }
            Error::Data { what } => write!(f, "{what}"),
            Error::IgnoreFile { message } => write!(f, "{message}"),
            Error::UnknownItem { kind, name, known } => {
                write!(f, "no {kind} named {name:?}; ")?;
                if known.is_empty() {
                    write!(f, "the database has none")
                } else {
                    let list: Vec<String> = known.iter().map(|k| format!("{k:?}")).collect();
                    write!(f, "known: {}", list.join(", "))
                }
            }
            Error::Io(e) => write!(f, "{e}"),
            Error::IoAt { path, action, .. } => write!(f, "failed to {action} {}", path.display()),
            Error::Watch { .. } => write!(f, "cannot start watching the sync root"),
            Error::Listen { addr, .. } => {
                write!(f, "cannot listen for live-reload browsers on {addr} (see --live-reload)")
            }
            Error::Incomplete { refused } => {
                let s = if *refused == 1 { "" } else { "s" };
                write!(f, "{refused} item{s} refused or in conflict (listed above)")
            }
            Error::Outdated { count } => {
                let s = if *count == 1 { " is" } else { "s are" };
                write!(f, "{count} custom template{s} behind the master (listed above)")
            }
            Error::Findings { errors } => {
                let s = if *errors == 1 { "" } else { "s" };
                write!(f, "check found {errors} error{s} (listed above)")
            }
            Error::Pending { count } => {
                let s = if *count == 1 { "" } else { "s" };
                write!(f, "{count} item{s} not in sync")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The mysql crate's own text is debug-like (`MySqlError { ... }`): Display has
            // already said it in a sentence.
            Error::Connect { .. } | Error::Query { .. } => None,
            Error::IoAt { source, .. } | Error::Listen { source, .. } => Some(source),
            Error::Watch { source } => Some(source),
            Error::BoardConfig(e) => e.source(),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<crate::php::config_file::ConfigPhpError> for Error {
    fn from(e: crate::php::config_file::ConfigPhpError) -> Error {
        Error::BoardConfig(e)
    }
}

/// Returns true if and only if PostgreSQL's SQLSTATE `code` refuses the login or the database
/// (a setting to fix, exit 2): a wrong password (28P01), a user or address the server does not
/// let in (28000), a database that does not exist (3D000).
fn is_wrong_pg_setting(code: &str) -> bool {
    matches!(code, "28P01" | "28000" | "3D000")
}

/// Returns what a `mysql` error means, as a sentence without the crate's debug-like wrapping
/// (`MySqlError { ERROR 1045 (28000): ... }`, `DriverError { ... }`).
pub fn mysql_sentence(error: &mysql::Error) -> String {
    use mysql::{DriverError, Error as E};
    match error {
        E::MySqlError(e) => match e.code {
            // Access denied for user 'u'@'host' (using password: YES)
            1045 | 1698 => {
                let (user, host) = quoted_pair(&e.message).unwrap_or_default();
                let password = if e.message.contains("using password: NO") {
                    " (no password was given)"
                } else {
                    ""
                };
                format!(
                    "the database refused the login for user '{user}' from {host}{password}: \
                     check the user and password (--db URL, MYBB_DATABASE_URL, or MyBB's \
                     inc/config.php), and that the user may log in from {host}"
                )
            }
            1044 => format!("{}: the user may not use this database (grant it access)", e.message),
            1049 => format!(
                "{}: check the database name (--db URL, MYBB_DATABASE_URL, or MyBB's \
                 inc/config.php)",
                e.message
            ),
            _ => format!("the server said: {} (error {})", e.message, e.code),
        },
        E::IoError(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "the connection was refused: is the database server running, and on this host \
                 and port?"
                    .to_owned()
            }
            _ => format!("the connection failed: {}", without_os_error_code(&e.to_string())),
        },
        E::DriverError(DriverError::CouldNotConnect(Some((address, why, _)))) => {
            let why = without_os_error_code(why);
            format!("could not reach {address}: {why}: is the database server running there?")
        }
        E::DriverError(DriverError::ConnectTimeout) => {
            "no answer within the connect timeout: is the host right, and the port open?".to_owned()
        }
        E::DriverError(e) => lowercase_first(&e.to_string()),
        E::UrlError(e) => format!("bad connection settings: {e}"),
        E::CodecError(e) => format!("the connection broke: {}", plain(e)),
        E::FromValueError(_) | E::FromRowError(_) => {
            "the database returned a value of an unexpected type".to_owned()
        }
        #[allow(unreachable_patterns)] // TLS errors, with a TLS feature only
        _ => "the connection failed (TLS)".to_owned(),
    }
}

/// Returns true if the server refused a connection for its settings (user, password, database
/// name, grants, URL): a configuration error, unlike a server that does not answer, which may be
/// back later.
fn is_wrong_setting(error: &mysql::Error) -> bool {
    match error {
        mysql::Error::MySqlError(e) => matches!(e.code, 1044 | 1045 | 1049 | 1698),
        mysql::Error::UrlError(_) => true,
        _ => false,
    }
}

/// Returns the two quoted words of `'user'@'host'` in `message`.
fn quoted_pair(message: &str) -> Option<(String, String)> {
    let start = message.find('\'')? + 1;
    let (user, rest) = message[start..].split_once("'@'")?;
    let host = rest.split('\'').next()?;
    Some((user.to_owned(), host.to_owned()))
}

/// Returns `error`'s text without Rust's " (os error N)", for an error written into a message
/// of our own (a refusal's reason, a warning): messages read as sentences, never errno.
pub fn plain(error: &dyn fmt::Display) -> String {
    without_os_error_code(&error.to_string()).to_owned()
}

/// Drops the " (os error 111)" that Rust appends to an I/O error's text: the words before it
/// already say what happened, and the number means nothing to a reader.
fn without_os_error_code(text: &str) -> &str {
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Returns `error` and all its causes joined by `: `, the form `main` prints.
pub fn chain(error: &dyn std::error::Error) -> String {
    // Every part loses Rust's " (os error N)": the words already say it (see
    // `without_os_error_code`), and this is where every error is printed.
    let mut text = without_os_error_code(&error.to_string()).to_owned();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = without_os_error_code(&e.to_string()).to_owned();
        // fs_err and mysql sometimes repeat their cause in their own message.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

/// The result type of mybb-sync.
pub type Result<T, E = Error> = std::result::Result<T, E>;
