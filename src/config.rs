//! Turns [`ConnectionArgs`] (the global options as typed) plus the environment plus MyBB's own `inc/config.php` into a checked
//! [`Config`]. Precedence: flags, then environment variables, then `inc/config.php`.
//!
//! The database password lives only in [`DbTarget`], whose `Display` and `Debug` redact it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::php::{config_file, mysqli};
use crate::root::{self, RootSource};

/// Environment variable for the database URL.
pub const ENV_DATABASE_URL: &str = "MYBB_DATABASE_URL";
/// Environment variable for MyBB's root directory.
pub const ENV_MYBB_ROOT: &str = "MYBB_ROOT";
/// Environment variable for the sync root.
pub const ENV_SYNC_ROOT: &str = "MYBB_SYNC_ROOT";
/// Environment variable for the table prefix.
pub const ENV_TABLE_PREFIX: &str = "MYBB_TABLE_PREFIX";
/// The sync root when none is given.
pub const DEFAULT_SYNC_ROOT: &str = "mybb_sync";

/// The global options as the user typed them: where the database, MyBB and the sync root are.
/// The command line fills it in; [`resolve`] checks it against the world.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConnectionArgs {
    pub db_url: Option<String>,
    pub mybb_root: Option<PathBuf>,
    pub sync_root: Option<PathBuf>,
    pub prefix: Option<String>,
    pub no_fsync: bool,
    /// `--rebind`: the sync root moves to this board on purpose (see `sync/own_dir.rs`).
    pub rebind: bool,
}

/// Everything a command needs to know about the world, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: DbTarget,
    pub prefix: String,
    pub sync_root: PathBuf,
    /// MyBB's root directory, when known: where `cache/themes` lives.
    pub mybb_root: Option<PathBuf>,
    /// Whether files are made durable (fsync) as well as atomic.
    pub durable: bool,
    /// Whether a sync root stamped with another board may be taken over (`--rebind`).
    pub rebind: bool,
}

impl Config {
    /// Returns `path` relative to the sync root when it lies under it (as every message shows
    /// paths), else as given.
    pub fn relative(&self, path: &std::path::Path) -> PathBuf {
        if let Ok(rel) = path.strip_prefix(&self.sync_root) {
            return rel.to_path_buf();
        }
        match (std::path::absolute(path), std::path::absolute(&self.sync_root)) {
            (Ok(path), Ok(root)) => match path.strip_prefix(&root) {
                Ok(rel) => rel.to_path_buf(),
                Err(_) => path,
            },
            _ => path.to_path_buf(),
        }
    }

    /// Returns `path` as messages show it: relative to the sync root.
    pub fn shown(&self, path: &std::path::Path) -> String {
        self.relative(path).display().to_string()
    }
}

/// The database engine a board is on: which module of `mybb::db` speaks to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// MySQL or MariaDB (`mysqli`, `mysql`, `mysql_pdo` in `inc/config.php`): a server.
    #[default]
    MySql,
    /// PostgreSQL (`pgsql`, `pgsql_pdo`): a server; `socket` is the directory of its Unix
    /// socket (or the socket file), as libpq takes it.
    Postgres,
    /// SQLite (`sqlite`): a database file, named by [`DbTarget::database`]; the server fields
    /// (host, port, user, password, socket, encoding) are unused.
    Sqlite,
}

/// Where the database is. The password never leaves this struct in text form.
#[derive(Clone, PartialEq, Eq)]
pub struct DbTarget {
    /// The engine; the fields below are a server's, except `database`, which for SQLite is
    /// the database file's path.
    pub engine: EngineKind,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    /// A Unix socket path, used instead of TCP when given.
    pub socket: Option<String>,
    /// The connection's character set (`SET NAMES`), from `inc/config.php`'s `encoding` as
    /// MyBB applies it; None keeps the client's own (utf8mb4).
    pub encoding: Option<String>,
}

impl fmt::Display for DbTarget {
    /// Writes the target as a URL with the password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.engine == EngineKind::Sqlite {
            return write!(f, "sqlite:{}", self.database);
        }
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let scheme = if self.engine == EngineKind::Postgres { "postgres" } else { "mysql" };
        write!(f, "{scheme}://{}", self.user)?;
        if !self.password.is_empty() {
            write!(f, ":***")?;
        }
        write!(f, "@{host}:{}/{}", self.port, self.database)?;
        if let Some(socket) = &self.socket {
            write!(f, "?socket={socket}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbTarget({self})")
    }
}

impl DbTarget {
    /// Parses `mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=PATH]`, the same with
    /// `postgres://` (or `postgresql://`) for a PostgreSQL board (`?host=DIR` too, as libpq
    /// writes a socket directory), or `sqlite:PATH` for a SQLite board's database file
    /// (`sqlite:///abs/path` too). User, password and
    /// database may be percent-encoded (a password with `@`, `:` or `/` must be). Errors never
    /// contain the password.
    pub fn parse_url(url: &str) -> Result<DbTarget> {
        let bad = |why: &str| Error::usage(format!("invalid database URL: {why}"));
        if let Some(path) = url.strip_prefix("sqlite:") {
            // `sqlite:///abs` as other tools write it; `sqlite:/abs` and `sqlite:rel` as given.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("no database file after sqlite:"));
            }
            return Ok(DbTarget::sqlite(path));
        }
        let (engine, rest) = if let Some(rest) =
            url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))
        {
            (EngineKind::Postgres, rest)
        } else {
            let rest = url.strip_prefix("mysql://").or_else(|| url.strip_prefix("mariadb://"));
            let rest = rest.ok_or_else(|| {
                bad("it must start with mysql://, postgres:// or sqlite: (for a SQLite board)")
            })?;
            (EngineKind::MySql, rest)
        };
        let default_user = if engine == EngineKind::Postgres { "postgres" } else { "root" };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        // The userinfo ends at the last `@`, so an unencoded `@` in a password still works.
        let (userinfo, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (hostport, database) = hostpart.split_once('/').ok_or_else(|| bad("no /DATABASE"))?;
        let database =
            percent_decode(database).ok_or_else(|| bad("bad %-escape in the database"))?;
        if database.is_empty() {
            return Err(bad("no database name after the host"));
        }
        let (user, password) = match userinfo {
            None => (default_user.to_owned(), String::new()),
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                let user = percent_decode(user).ok_or_else(|| bad("bad %-escape in the user"))?;
                let pass =
                    percent_decode(pass).ok_or_else(|| bad("bad %-escape in the password"))?;
                (user, pass)
            }
        };
        let (host, port) = split_host_port(hostport).map_err(|why| bad(&why))?;
        let mut socket = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                // libpq's form of a socket directory, for PostgreSQL.
                Some(("host", path))
                    if engine == EngineKind::Postgres
                        && (path.starts_with('/') || path.starts_with("%2F")) =>
                {
                    socket = Some(percent_decode(path).ok_or_else(|| bad("bad %-escape in host"))?)
                }
                Some(("socket", path)) => {
                    socket =
                        Some(percent_decode(path).ok_or_else(|| bad("bad %-escape in socket"))?)
                }
                _ => return Err(bad(&format!("unknown parameter {pair:?} (only socket=PATH)"))),
            }
        }
        let default_port = if engine == EngineKind::Postgres { 5432 } else { 3306 };
        Ok(DbTarget {
            engine,
            host: if host.is_empty() { "localhost".to_owned() } else { host },
            port: port.unwrap_or(default_port),
            user,
            password,
            database,
            socket,
            encoding: None,
        })
    }
}

impl DbTarget {
    /// Returns the target of a SQLite board whose database file is `path`.
    pub fn sqlite(path: &str) -> DbTarget {
        DbTarget {
            engine: EngineKind::Sqlite,
            host: String::new(),
            port: 0,
            user: String::new(),
            password: String::new(),
            database: path.to_owned(),
            socket: None,
            encoding: None,
        }
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> std::result::Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed [ in the host")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the host")),
        };
        return Ok((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_owned(), Some(parse_port(port)?))),
        None => Ok((text.to_owned(), None)),
    }
}

/// Returns `text` with `%XX` escapes decoded, or None if an escape is malformed or the result is
/// not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    crate::percent::decode(text).ok()
}

/// Where a value came from: a flag, the environment, or neither.
fn flag_or_env(flag: Option<String>, var: &str) -> Option<String> {
    flag.or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
}

/// Returns a configuration error (exit 2) unless `root` looks like MyBB's root directory: a
/// directory with an `inc/config.php`.
fn check_mybb_root(root: &std::path::Path) -> Result<()> {
    let config_php = root.join("inc").join("config.php");
    if config_php.is_file() {
        return Ok(());
    }
    let why = if !root.exists() {
        "no such directory, so no inc/config.php to read the database from"
    } else if !root.is_dir() {
        "not a directory, so no inc/config.php to read the database from"
    } else {
        "not a MyBB directory (no inc/config.php)"
    };
    Err(Error::usage(format!("MyBB root {} (--mybb, MYBB_ROOT): {why}", root.display())))
}

/// Returns the sync root: `flag`, else `MYBB_SYNC_ROOT`, else the enclosing sync root of the
/// current directory, else `./mybb_sync` (`root.rs` decides; this reads the environment).
/// A root found above the current directory is named once, on stderr: the user did not type it.
///
/// # Errors
///
/// A usage error (exit 2) when the root is a file.
pub fn sync_root(flag: Option<&Path>) -> Result<PathBuf> {
    let env = std::env::var_os(ENV_SYNC_ROOT).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cwd = std::env::current_dir().ok();
    let (root, source) =
        root::find(flag, env.as_deref(), cwd.as_deref(), Path::new(DEFAULT_SYNC_ROOT))?;
    if source == RootSource::Found {
        log::info!("using the sync root {} (found above the current directory)", root.display());
    }
    Ok(root)
}

/// Returns the checked configuration for `args`, reading the environment and, when no database
/// URL is given, MyBB's `inc/config.php`.
pub fn resolve(args: &ConnectionArgs) -> Result<Config> {
    let mybb_root = args
        .mybb_root
        .clone()
        .or_else(|| std::env::var_os(ENV_MYBB_ROOT).filter(|v| !v.is_empty()).map(PathBuf::from));
    let sync_root = sync_root(args.sync_root.as_deref())?;

    let url = flag_or_env(args.db_url.clone(), ENV_DATABASE_URL);
    let (db, board_prefix) = match (url, &mybb_root) {
        (Some(url), _) => (DbTarget::parse_url(&url)?, None),
        (None, Some(root)) => {
            check_mybb_root(root)?;
            let board = config_file::read(root)?;
            if board.is_sqlite() {
                let target = DbTarget::sqlite(&sqlite_file(root, &board.database));
                return finish(
                    args,
                    target,
                    Some(board.table_prefix),
                    sync_root,
                    mybb_root.clone(),
                );
            }
            if board.is_postgres() {
                let target = postgres_target(root, &board)?;
                return finish(
                    args,
                    target,
                    Some(board.table_prefix),
                    sync_root,
                    mybb_root.clone(),
                );
            }
            if !board.is_mysql() {
                return Err(Error::usage(format!(
                    "{}: database type {:?} is not supported (only mysqli, mysql, mysql_pdo, \
                     pgsql, pgsql_pdo and sqlite)",
                    root.join("inc/config.php").display(),
                    board.db_type
                )));
            }
            // `localhost` is the Unix socket for PHP's mysqli, port or not (`php/mysqli.rs`).
            let socket = board.socket.clone().or_else(|| {
                if !mysqli::means_socket(&board.hostname) {
                    return None;
                }
                let found = mysqli::default_socket();
                match &found {
                    Some(path) => {
                        log::debug!("localhost: the Unix socket {}, as PHP", path.display())
                    }
                    None => log::debug!("localhost: no Unix socket found; connecting over TCP"),
                }
                found.map(|path| path.to_string_lossy().into_owned())
            });
            let target = DbTarget {
                engine: EngineKind::MySql,
                host: board.hostname.clone(),
                port: board.port.unwrap_or(3306),
                user: board.username.clone(),
                password: board.password.clone(),
                database: board.database.clone(),
                socket,
                // MyBB calls mysqli_set_charset() with it (inc/db_mysqli.php); empty: not at all.
                encoding: Some(board.encoding.clone()).filter(|e| !e.is_empty()),
            };
            (target, Some(board.table_prefix))
        }
        (None, None) => {
            return Err(Error::usage(format!(
                "no database given: use --db URL, {ENV_DATABASE_URL}, or --mybb DIR ({ENV_MYBB_ROOT}) \
                 to read MyBB's inc/config.php"
            )));
        }
    };
    finish(args, db, board_prefix, sync_root, mybb_root)
}

/// Returns the checked configuration for database `db`, the table prefix chosen from the flag,
/// the environment and the board's own (`board_prefix`, from `inc/config.php`).
fn finish(
    args: &ConnectionArgs,
    db: DbTarget,
    board_prefix: Option<String>,
    sync_root: PathBuf,
    mybb_root: Option<PathBuf>,
) -> Result<Config> {
    let prefix = flag_or_env(args.prefix.clone(), ENV_TABLE_PREFIX)
        .or(board_prefix)
        .unwrap_or_else(|| "mybb_".to_owned());
    config_file::validate_table_prefix(&prefix)
        .map_err(|why| Error::usage(format!("invalid table prefix {prefix:?}: {why}")))?;
    Ok(Config { db, prefix, sync_root, mybb_root, durable: !args.no_fsync, rebind: args.rebind })
}

/// Returns the server of a PostgreSQL board, as MyBB's `pgsql` driver connects
/// (`inc/db_pgsql.php` builds a libpq string; `pgsql_pdo` a PDO DSN to the same effect): a
/// `hostname` of `host:port` is split at the colon; an empty host is libpq's default, the Unix
/// socket in /var/run/postgresql (Debian's); one that is a path is a socket directory; any
/// other (`localhost` included, unlike mysqli) is TCP.
fn postgres_target(root: &Path, board: &config_file::BoardConfig) -> Result<DbTarget> {
    let written = board.hostname.trim();
    let (host, port) = match written.split_once(':') {
        // As MyBB's explode(':'): a socket directory may carry a port too.
        Some((host, port)) => {
            let port = port.trim().parse::<u16>().map_err(|_| {
                Error::usage(format!(
                    "{}: the hostname {written:?} has no port number after the colon \
                     (MyBB's pgsql driver splits host:port there)",
                    root.join("inc/config.php").display()
                ))
            })?;
            (host, Some(port))
        }
        None => (written, None),
    };
    let socket = if host.is_empty() {
        Some("/var/run/postgresql".to_owned())
    } else if host.starts_with('/') {
        Some(host.to_owned())
    } else {
        None
    };
    Ok(DbTarget {
        engine: EngineKind::Postgres,
        host: if socket.is_some() { "localhost".to_owned() } else { host.to_owned() },
        port: board.port.or(port).unwrap_or(5432),
        user: board.username.clone(),
        password: board.password.clone(),
        database: board.database.clone(),
        socket,
        encoding: None,
    })
}

/// Returns the path of a SQLite board's database file, `database` as `inc/config.php` names it.
/// MyBB hands it to PDO as it is (`new PDO("sqlite:{$config['database']}")` in
/// `inc/db_sqlite.php`), so a relative path is relative to whichever directory the PHP script
/// runs in; MyBB's installer refuses `./` and `../` for that reason. Here a relative path is
/// taken from MyBB's root, where the forum's own pages run.
fn sqlite_file(root: &std::path::Path, database: &str) -> String {
    let path = std::path::Path::new(database);
    if path.is_absolute() {
        return database.to_owned();
    }
    root.join(path).to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_parses() {
        let t = DbTarget::parse_url("mysql://forum:s3cret@db.example:3307/board").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("db.example", 3307));
        assert_eq!(
            (t.user.as_str(), t.password.as_str(), t.database.as_str()),
            ("forum", "s3cret", "board")
        );
    }

    #[test]
    fn a_password_with_at_colon_and_slash_works_encoded_or_not() {
        let t = DbTarget::parse_url("mysql://u:p%40ss%3Aw%2Frd@127.0.0.1/d").unwrap();
        assert_eq!(t.password, "p@ss:w/rd");
        let t = DbTarget::parse_url("mysql://u:p@ss:word@127.0.0.1/d").unwrap();
        assert_eq!((t.password.as_str(), t.host.as_str()), ("p@ss:word", "127.0.0.1"));
    }

    #[test]
    fn the_password_never_shows() {
        let t = DbTarget::parse_url("mysql://u:hunter2@h:1/d").unwrap();
        assert_eq!(t.to_string(), "mysql://u:***@h:1/d");
        assert!(!format!("{t:?}").contains("hunter2"));
        let err = DbTarget::parse_url("mysql://u:hunter2@h:notaport/d").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn ipv6_hosts_and_sockets_parse() {
        let t = DbTarget::parse_url("mysql://u@[::1]:3308/d").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 3308));
        let t =
            DbTarget::parse_url("mysql://u@localhost/d?socket=/run/mysqld/mysqld.sock").unwrap();
        assert_eq!(t.socket.as_deref(), Some("/run/mysqld/mysqld.sock"));
    }

    #[test]
    fn a_sqlite_url_names_the_database_file() {
        for (url, path) in [
            ("sqlite:/srv/forum/mybb.db", "/srv/forum/mybb.db"),
            ("sqlite:///srv/forum/mybb.db", "/srv/forum/mybb.db"),
            ("sqlite:board.db", "board.db"),
        ] {
            let t = DbTarget::parse_url(url).unwrap();
            assert_eq!((t.engine, t.database.as_str()), (EngineKind::Sqlite, path), "{url}");
        }
        assert_eq!(
            DbTarget::parse_url("sqlite:/a b/x.db").unwrap().to_string(),
            "sqlite:/a b/x.db"
        );
        assert_eq!(DbTarget::parse_url("sqlite:").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_postgres_url_names_a_server_or_a_socket_directory() {
        let t = DbTarget::parse_url("postgres://forum:s3cret@db.example/board").unwrap();
        assert_eq!((t.engine, t.host.as_str(), t.port), (EngineKind::Postgres, "db.example", 5432));
        assert_eq!((t.user.as_str(), t.database.as_str()), ("forum", "board"));
        assert_eq!(t.to_string(), "postgres://forum:***@db.example:5432/board");
        let t =
            DbTarget::parse_url("postgresql://u@localhost:5433/d?host=/run/postgresql").unwrap();
        assert_eq!((t.port, t.socket.as_deref()), (5433, Some("/run/postgresql")));
        let t = DbTarget::parse_url("postgres://localhost/d").unwrap();
        assert_eq!(t.user, "postgres");
    }

    /// A pgsql board's `hostname` as MyBB's drivers read it: `host:port`, a socket directory
    /// (with a port or not), empty for libpq's default socket, `localhost` over TCP.
    #[test]
    fn a_pgsql_hostname_is_read_as_mybb_reads_it() {
        let board = |hostname: &str| config_file::BoardConfig {
            db_type: "pgsql".into(),
            database: "forum".into(),
            table_prefix: "mybb_".into(),
            hostname: hostname.into(),
            port: None,
            socket: None,
            username: "bb".into(),
            password: "pw".into(),
            encoding: String::new(),
        };
        let root = Path::new("/srv/forum");
        let target = |hostname: &str| postgres_target(root, &board(hostname)).unwrap();
        let t = target("db.example:5433");
        assert_eq!((t.host.as_str(), t.port, t.socket.as_deref()), ("db.example", 5433, None));
        let t = target("localhost");
        assert_eq!((t.host.as_str(), t.port, t.socket.as_deref()), ("localhost", 5432, None));
        let t = target("");
        assert_eq!((t.port, t.socket.as_deref()), (5432, Some("/var/run/postgresql")));
        let t = target("/run/pg:5434");
        assert_eq!((t.port, t.socket.as_deref()), (5434, Some("/run/pg")));
        assert_eq!(
            (t.engine, t.user.as_str(), t.database.as_str()),
            (EngineKind::Postgres, "bb", "forum")
        );
        let err = postgres_target(root, &board("db:x")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(!err.to_string().contains("pw"), "{err}");
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for url in [
            "postgres://u@h",
            "pgsql://u@h/d",
            "mysql://u@h",
            "mysql://u@h/",
            "mysql://u@h:99999/d",
            "mysql://u@h/d?x=1",
        ] {
            let err = DbTarget::parse_url(url).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{url}");
        }
    }
}
