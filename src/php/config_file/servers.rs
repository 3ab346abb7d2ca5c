//! From `$config['database']` to a [`BoardConfig`]: the server MyBB writes to, chosen as
//! `connect()` chooses it in `inc/db_mysqli.php` (and `inc/AbstractPdoDbDriver.php`).

use super::eval::{Key, Node, Scalar, get};
use super::{BoardConfig, DEFAULT_ENCODING, DEFAULT_TABLE_PREFIX, Problem, validate_table_prefix};

/// Returns the text of a setting, as PHP would turn it into a string for the database driver.
pub(super) fn text_of(node: &Node, path: &str) -> Result<String, Problem> {
    match node {
        Node::Leaf { value: Scalar::Str(text) | Scalar::Int(text), .. } => Ok(text.clone()),
        Node::Leaf { line, .. } => {
            Err(Problem::at(*line, format!("`{path}` must be a quoted string")))
        }
        Node::Array { line, .. } => {
            Err(Problem::at(*line, format!("`{path}` is an array, but must be a quoted string")))
        }
    }
}

pub(super) fn required(
    entries: &[(Key, Node)],
    parent: &str,
    name: &str,
    hint: &str,
) -> Result<String, Problem> {
    let path = format!("{parent}['{name}']");
    match get(entries, name) {
        Some(node) => text_of(node, &path),
        None => Err(Problem::missing(format!("`{path}` is not set{hint}"))),
    }
}

pub(super) fn optional(
    entries: &[(Key, Node)],
    parent: &str,
    name: &str,
) -> Result<Option<(String, usize)>, Problem> {
    let path = format!("{parent}['{name}']");
    get(entries, name).map(|node| Ok((text_of(node, &path)?, node.line()))).transpose()
}

/// Builds the board settings from `$config['database']`.
pub(super) fn board_config(database: Option<&Node>) -> Result<BoardConfig, Problem> {
    let entries = match database {
        None => {
            return Err(Problem::missing(
                "no `$config['database'][...]` settings found: is this MyBB's inc/config.php?",
            ));
        }
        Some(Node::Leaf { line, .. }) => {
            return Err(Problem::at(
                *line,
                "`$config['database']` is a single value, not the database settings",
            ));
        }
        Some(Node::Array { entries, .. }) => entries,
    };
    let mut board = board_settings(entries)?;
    let mysql = board.is_mysql();
    let (server, path) = match write_server(entries) {
        Ok(found) => found,
        // The caller refuses other database types with a clearer message than a server error.
        Err(_) if !mysql => return Ok(board),
        Err(problem) => return Err(problem),
    };
    if mysql {
        set_server(&mut board, server, &path)?;
    } else {
        let text = |name: &str| optional(server, &path, name).ok().flatten().map(|(text, _)| text);
        board.hostname = text("hostname").unwrap_or_default();
        board.username = text("username").unwrap_or_default();
        board.password = text("password").unwrap_or_default();
    }
    Ok(board)
}

/// Returns the board-wide settings (type, database, table prefix, encoding), with no server yet.
fn board_settings(entries: &[(Key, Node)]) -> Result<BoardConfig, Problem> {
    const TOP: &str = "$config['database']";
    let db_type = required(entries, TOP, "type", "")?;
    let has_servers = get(entries, "read").is_some() || get(entries, "write").is_some();
    let database = required(
        entries,
        TOP,
        "database",
        if has_servers {
            " (MyBB takes the database name from there even when it lists read/write servers)"
        } else {
            ""
        },
    )?;

    let table_prefix = match optional(entries, TOP, "table_prefix")? {
        Some((prefix, line)) => {
            validate_table_prefix(&prefix).map_err(|reason| {
                Problem::at(line, format!("`{TOP}['table_prefix']` is {prefix:?}: {reason}"))
            })?;
            prefix
        }
        None => DEFAULT_TABLE_PREFIX.to_owned(),
    };

    let encoding = match optional(entries, TOP, "encoding")? {
        // It is sent to the server as `SET NAMES`: only a character set name may pass.
        Some((encoding, line)) => {
            if !encoding.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Problem::at(
                    line,
                    format!("`{TOP}['encoding']` is {encoding:?}, not a character set name"),
                ));
            }
            encoding
        }
        None => DEFAULT_ENCODING.to_owned(),
    };

    Ok(BoardConfig {
        db_type,
        database,
        table_prefix,
        hostname: String::new(),
        port: None,
        socket: None,
        username: String::new(),
        password: String::new(),
        encoding,
    })
}

/// Sets the host, port or socket, user and password of a MySQL board from the server MyBB
/// writes to (`server`, found at `path`).
fn set_server(board: &mut BoardConfig, server: &[(Key, Node)], path: &str) -> Result<(), Problem> {
    let hostname = required(server, path, "hostname", "")?;
    let hostname_line = get(server, "hostname").map(Node::line);
    let endpoint = split_hostname(&hostname).map_err(|why| Problem {
        line: hostname_line,
        reason: format!("`{path}['hostname']` is {hostname:?}: {why}"),
    })?;
    board.hostname = endpoint.host;
    board.port = endpoint.port;
    board.socket = endpoint.socket;
    board.username = required(server, path, "username", "")?;
    // A missing password is PHP's null, which the drivers send as no password.
    board.password =
        optional(server, path, "password")?.map(|(password, _)| password).unwrap_or_default();
    Ok(())
}

/// One server's settings (`hostname`, `username`, `password`) and their path, for messages.
type Server<'a> = (&'a [(Key, Node)], String);

/// Finds the settings of the server MyBB writes to, and their path for messages; see
/// [`BoardConfig`] for the rules and their source.
pub(super) fn write_server(entries: &[(Key, Node)]) -> Result<Server<'_>, Problem> {
    const TOP: &str = "$config['database']";
    if get(entries, "hostname").is_some() {
        return Ok((entries, TOP.to_owned()));
    }
    let Some(read) = get(entries, "read") else {
        if get(entries, "write").is_some() {
            // connect() only looks at `write` in the branch where `read` exists.
            return Err(Problem::missing(format!(
                "`{TOP}['write']` is set but `{TOP}['read']` is not: MyBB uses write servers \
                 only alongside read servers"
            )));
        }
        // "Specified multiple servers, but no specific read/write servers": integer keys only.
        return match entries.iter().find(|(key, _)| matches!(key, Key::Int(_))) {
            Some((key, Node::Array { entries, .. })) => {
                Ok((entries.as_slice(), format!("{TOP}{key}")))
            }
            Some((key, node)) => Err(Problem::at(
                node.line(),
                format!("`{TOP}{key}` must be an array of server settings"),
            )),
            None => Err(Problem::missing(format!(
                "`{TOP}['hostname']` is not set (nor are read/write servers)"
            ))),
        };
    };
    // MyBB connects to the read servers first and fails without them, even when writes go to
    // the write servers.
    let Node::Array { .. } = read else {
        return Err(Problem::at(
            read.line(),
            format!("`{TOP}['read']` must be an array of server settings"),
        ));
    };
    match get(entries, "write") {
        Some(write) => first_server(write, &format!("{TOP}['write']")),
        None => first_server(read, &format!("{TOP}['read']")),
    }
}

/// A `read` or `write` entry is one server (`['write']['hostname']`) or a list of them
/// (`['write'][0]['hostname']`); returns the first server.
pub(super) fn first_server<'a>(node: &'a Node, path: &str) -> Result<Server<'a>, Problem> {
    let Node::Array { entries, line } = node else {
        return Err(Problem::at(
            node.line(),
            format!("`{path}` must be an array of server settings"),
        ));
    };
    if get(entries, "hostname").is_some() {
        return Ok((entries.as_slice(), path.to_owned()));
    }
    match entries.first() {
        Some((key, Node::Array { entries, .. })) => {
            Ok((entries.as_slice(), format!("{path}{key}")))
        }
        Some((key, node)) => Err(Problem::at(
            node.line(),
            format!("`{path}{key}` must be an array of server settings"),
        )),
        None => Err(Problem::at(*line, format!("`{path}` lists no server"))),
    }
}

/// Where MyBB's `hostname` setting points: a host and maybe a port, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) socket: Option<String>,
}

/// Splits MyBB's `hostname` setting: `host`, `host:port`, `[v6]`, `[v6]:port`, or
/// `host:/path/to/socket`.
///
/// MyBB's mysqli driver splits at the first `:` (`explode(":", $hostname, 2)`), so it cannot
/// take a bracketed IPv6 address; its PDO driver can (`parseHostname()`), and so can this. The
/// socket form is the one `mysql_connect()` understood, which MyBB's `mysql` driver passes the
/// hostname to unchanged (`inc/db_mysql.php`); an empty host before it means `localhost`, as
/// there. (mysqli and PDO would take the path for a port number, and fail or ignore it.)
pub(super) fn split_hostname(hostname: &str) -> Result<Endpoint, String> {
    if hostname.is_empty() {
        return Err("it is empty (MyBB's installer writes e.g. 'localhost')".to_owned());
    }
    if hostname.starts_with('/') {
        return Err(
            "a socket path must follow a host and `:`, e.g. localhost:/run/mysqld/mysqld.sock"
                .to_owned(),
        );
    }
    let (host, port) = if let Some(bracketed) = hostname.strip_prefix('[') {
        let Some((host, rest)) = bracketed.split_once(']') else {
            return Err("the IPv6 address has no closing `]`".to_owned());
        };
        if rest.is_empty() {
            (host, None)
        } else if let Some(port) = rest.strip_prefix(':') {
            (host, Some(port))
        } else {
            return Err("expected `:port` or nothing after `]`".to_owned());
        }
    } else {
        match hostname.split_once(':') {
            None => (hostname, None),
            // Checked before the IPv6 test: a socket path may itself contain `:`.
            Some((host, path)) if path.starts_with('/') => {
                let host = if host.is_empty() { "localhost" } else { host };
                return Ok(Endpoint {
                    host: host.to_owned(),
                    port: None,
                    socket: Some(path.to_owned()),
                });
            }
            Some((_, port)) if port.contains(':') => {
                return Err(
                    "an IPv6 address must be written in brackets, e.g. [::1]:3306".to_owned()
                );
            }
            Some((host, port)) => (host, Some(port)),
        }
    };
    if host.is_empty() {
        return Err("there is no host name before the port".to_owned());
    }
    let port = match port {
        None => None,
        Some(port) => {
            let number = port
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| port.parse::<u16>().ok())
                .flatten()
                .filter(|&number| number != 0)
                .ok_or_else(|| format!("the port {port:?} is not a number from 1 to 65535"))?;
            Some(number)
        }
    };
    Ok(Endpoint { host: host.to_owned(), port, socket: None })
}
