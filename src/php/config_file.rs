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
use std::sync::LazyLock;

use regex_lite::Regex;

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
    /// `sqlite`, as written. See [`BoardConfig::is_mysql`]; the caller refuses the others.
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
    /// three MySQL drivers (`mysqli`, `mysql`, `mysql_pdo`). PostgreSQL (`pgsql`, `pgsql_pdo`)
    /// and SQLite (`sqlite`) boards are not supported by this tool.
    pub fn is_mysql(&self) -> bool {
        matches!(self.db_type.as_str(), "mysqli" | "mysql" | "mysql_pdo")
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
///
/// One difference, on purpose: PCRE's `$` also matches before a final newline, so the installer
/// would let `"mybb_\n"` through; regex-lite's `$` is the end of the text, and a newline can never
/// be part of a table name.
static TABLE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z][A-Za-z0-9_]*$").expect("TABLE_PREFIX is a valid regex")
});

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
    if !prefix.is_empty() && !TABLE_PREFIX.is_match(prefix) {
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
struct Problem {
    line: Option<usize>,
    reason: String,
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
    let tokens = tokenize(source)?;
    let database = evaluate(&tokens)?;
    board_config(database.as_ref())
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// One PHP token, as much of PHP's lexer as config files need.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenKind {
    /// `$name`, without the `$`.
    Variable(String),
    /// A string literal, escapes applied. `interpolates` is true for a double-quoted string in
    /// which PHP would substitute a variable (`$name`, `{$`, `${`): its value is not what is
    /// written, so it can only be refused.
    Str { value: String, interpolates: bool },
    /// A number literal, as written.
    Number(String),
    /// A name: `array`, `true`, `define`, ...
    Name(String),
    /// `=>`.
    DoubleArrow,
    /// Any other single punctuation character.
    Punct(char),
    /// `?>`, which ends a statement like `;` and ends the PHP code.
    CloseTag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: TokenKind,
    line: usize,
}

/// 1-based line numbers for byte offsets.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(source: &str) -> Lines {
        let starts =
            std::iter::once(0).chain(source.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Lines { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// True for the bytes PHP allows in a name (`[a-zA-Z0-9_\x80-\xff]`); `first` excludes digits.
/// Bytes of a multi-byte UTF-8 character are all >= 0x80, so a name never ends inside one.
fn is_name_byte(byte: u8, first: bool) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80 || (!first && byte.is_ascii_digit())
}

/// Splits PHP source into tokens, from `<?php` to the end or to `?>`.
fn tokenize(source: &str) -> Result<Vec<Token>, Problem> {
    let lines = Lines::new(source);
    let bytes = source.as_bytes();
    let mut at = 0;

    // Only a BOM and whitespace may precede `<?php` (PHP would print anything else).
    if source.starts_with('\u{FEFF}') {
        at = '\u{FEFF}'.len_utf8();
    }
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    let opener = bytes.get(at..at + 5);
    let after_opener = bytes.get(at + 5);
    if !opener.is_some_and(|tag| tag.eq_ignore_ascii_case(b"<?php"))
        || after_opener.is_some_and(|byte| !byte.is_ascii_whitespace())
    {
        return Err(Problem::at(lines.line(at), "expected the file to start with `<?php`"));
    }
    at += 5;

    let mut tokens = Vec::new();
    loop {
        at = skip_blank(bytes, at, &lines)?;
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        let line = lines.line(at);
        let (kind, next) = match byte {
            b'?' if bytes.get(at + 1) == Some(&b'>') => {
                // After `?>` PHP prints the rest; a config file has nothing there but a newline.
                let rest = &source[at + 2..];
                if let Some(offset) = rest.find(|c: char| !c.is_ascii_whitespace()) {
                    return Err(Problem::at(
                        lines.line(at + 2 + offset),
                        "text after the closing `?>` is not understood",
                    ));
                }
                tokens.push(Token { kind: TokenKind::CloseTag, line });
                break;
            }
            b'$' => {
                let end = name_end(bytes, at + 1);
                if end == at + 1 {
                    (TokenKind::Punct('$'), at + 1)
                } else {
                    (TokenKind::Variable(source[at + 1..end].to_owned()), end)
                }
            }
            b'\'' => single_quoted(source, at, &lines)?,
            b'"' => double_quoted(source, at, &lines)?,
            b'0'..=b'9' => {
                let end = at
                    + bytes[at..]
                        .iter()
                        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
                        .unwrap_or(bytes.len() - at);
                (TokenKind::Number(source[at..end].to_owned()), end)
            }
            b if is_name_byte(b, true) => {
                let end = name_end(bytes, at);
                (TokenKind::Name(source[at..end].to_owned()), end)
            }
            b'<' if bytes[at..].starts_with(b"<<<") => {
                return Err(Problem::at(line, "heredoc/nowdoc strings (`<<<`) are not understood"));
            }
            b'`' => {
                return Err(Problem::at(
                    line,
                    "backtick (shell command) strings are not understood",
                ));
            }
            b'=' if bytes.get(at + 1) == Some(&b'>') => (TokenKind::DoubleArrow, at + 2),
            b if b.is_ascii_punctuation() => (TokenKind::Punct(char::from(b)), at + 1),
            _ => {
                return Err(Problem::at(line, "unexpected control character"));
            }
        };
        tokens.push(Token { kind, line });
        at = next;
    }
    Ok(tokens)
}

/// Returns the offset just past the PHP name starting at `at` (`at` itself if there is none).
fn name_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(&first) if is_name_byte(first, true) => {
            at + 1
                + bytes[at + 1..]
                    .iter()
                    .position(|&b| !is_name_byte(b, false))
                    .unwrap_or(bytes.len() - at - 1)
        }
        _ => at,
    }
}

/// Skips whitespace and comments; returns the offset of the next token (or the end).
fn skip_blank(bytes: &[u8], mut at: usize, lines: &Lines) -> Result<usize, Problem> {
    loop {
        match (bytes.get(at), bytes.get(at + 1)) {
            (Some(byte), _) if byte.is_ascii_whitespace() => at += 1,
            (Some(b'#'), Some(b'[')) => {
                return Err(Problem::at(
                    lines.line(at),
                    "PHP attributes (`#[`) are not understood",
                ));
            }
            (Some(b'#'), _) => at = line_comment_end(bytes, at + 1),
            (Some(b'/'), Some(b'/')) => at = line_comment_end(bytes, at + 2),
            (Some(b'/'), Some(b'*')) => {
                let Some(length) = bytes[at + 2..].windows(2).position(|pair| pair == b"*/") else {
                    return Err(Problem::at(lines.line(at), "`/*` comment is never closed"));
                };
                at += 2 + length + 2;
            }
            _ => return Ok(at),
        }
    }
}

/// PHP ends a `//` or `#` comment at a line break or just before `?>`.
fn line_comment_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        if byte == b'\n' || byte == b'\r' || bytes[at..].starts_with(b"?>") {
            break;
        }
        at += 1;
    }
    at
}

/// Reads the single-quoted string starting at `start`: `\\` is `\`, `\'` is `'`, and every
/// other backslash is itself.
fn single_quoted(source: &str, start: usize, lines: &Lines) -> Result<(TokenKind, usize), Problem> {
    let bytes = source.as_bytes();
    let mut value = String::new();
    let mut at = start + 1;
    let mut run = at;
    loop {
        match bytes.get(at) {
            None => {
                return Err(Problem::at(lines.line(start), "single-quoted string is never closed"));
            }
            Some(b'\'') => {
                value.push_str(&source[run..at]);
                return Ok((TokenKind::Str { value, interpolates: false }, at + 1));
            }
            Some(b'\\') if matches!(bytes.get(at + 1), Some(b'\\' | b'\'')) => {
                value.push_str(&source[run..at]);
                at += 1;
                run = at;
                at += 1;
            }
            Some(_) => at += 1,
        }
    }
}

/// Reads the double-quoted string starting at `start`, applying PHP's escapes (`\n \t \r \v \e
/// \f \\ \$ \"`, octal `\0`-`\377`, hex `\x`, `\u{...}`; any other backslash is itself) and
/// noting whether PHP would interpolate a variable into it.
fn double_quoted(source: &str, start: usize, lines: &Lines) -> Result<(TokenKind, usize), Problem> {
    let bytes = source.as_bytes();
    let line = lines.line(start);
    // Octal and hex escapes make arbitrary bytes, so collect bytes and check UTF-8 at the end.
    let mut value: Vec<u8> = Vec::new();
    let mut interpolates = false;
    let mut at = start + 1;
    loop {
        let Some(&byte) = bytes.get(at) else {
            return Err(Problem::at(line, "double-quoted string is never closed"));
        };
        match byte {
            b'"' => break,
            b'$' if bytes.get(at + 1).is_some_and(|&b| is_name_byte(b, true) || b == b'{') => {
                interpolates = true;
                value.push(byte);
                at += 1;
            }
            b'{' if bytes.get(at + 1) == Some(&b'$') => {
                interpolates = true;
                value.push(byte);
                at += 1;
            }
            b'\\' => {
                let Some(&escaped) = bytes.get(at + 1) else {
                    return Err(Problem::at(line, "double-quoted string is never closed"));
                };
                at += 2;
                match escaped {
                    b'n' => value.push(b'\n'),
                    b't' => value.push(b'\t'),
                    b'r' => value.push(b'\r'),
                    b'v' => value.push(0x0B),
                    b'e' => value.push(0x1B),
                    b'f' => value.push(0x0C),
                    b'\\' | b'$' | b'"' => value.push(escaped),
                    b'0'..=b'7' => {
                        let mut code = u32::from(escaped - b'0');
                        for _ in 0..2 {
                            match bytes.get(at) {
                                Some(&digit @ b'0'..=b'7') => {
                                    code = code * 8 + u32::from(digit - b'0');
                                    at += 1;
                                }
                                _ => break,
                            }
                        }
                        // PHP keeps the low byte of `\400`-`\777` (with a warning).
                        value.push((code & 0xFF) as u8);
                    }
                    b'x' if bytes.get(at).is_some_and(u8::is_ascii_hexdigit) => {
                        let digits = bytes[at..]
                            .iter()
                            .take(2)
                            .take_while(|b| b.is_ascii_hexdigit())
                            .count();
                        let code = u8::from_str_radix(&source[at..at + digits], 16)
                            .map_err(|_| Problem::at(line, "invalid `\\x` escape"))?;
                        value.push(code);
                        at += digits;
                    }
                    b'u' if bytes.get(at) == Some(&b'{') => {
                        let Some(length) = bytes[at + 1..].iter().position(|&b| b == b'}') else {
                            return Err(Problem::at(line, "`\\u{` escape is never closed"));
                        };
                        let digits = &source[at + 1..at + 1 + length];
                        let decoded = u32::from_str_radix(digits, 16)
                            .ok()
                            .filter(|_| !digits.is_empty() && !digits.starts_with('+'))
                            .and_then(char::from_u32)
                            .ok_or_else(|| Problem::at(line, "invalid `\\u{...}` escape"))?;
                        let mut buffer = [0; 4];
                        value.extend_from_slice(decoded.encode_utf8(&mut buffer).as_bytes());
                        at += 1 + length + 1;
                    }
                    other => value.extend_from_slice(&[b'\\', other]),
                }
            }
            _ => {
                value.push(byte);
                at += 1;
            }
        }
    }
    let value = String::from_utf8(value)
        .map_err(|_| Problem::at(line, "string escapes make bytes that are not UTF-8"))?;
    Ok((TokenKind::Str { value, interpolates }, at + 1))
}

/// Says what a token is without quoting it: the token might be (part of) a password.
fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Variable(name) => format!("the variable `${name}`"),
        TokenKind::Str { .. } => "a string".to_owned(),
        TokenKind::Number(_) => "a number".to_owned(),
        TokenKind::Name(_) => "a bare name".to_owned(),
        TokenKind::DoubleArrow => "`=>`".to_owned(),
        TokenKind::Punct(c) => format!("`{c}`"),
        TokenKind::CloseTag => "`?>`".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Statements and values
// ---------------------------------------------------------------------------------------------

/// A PHP array key. PHP turns a string key that is a canonical decimal integer into that
/// integer (`['0']` is `[0]`), and so does [`Key::from_php_string`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Str(String),
    Int(i64),
}

impl Key {
    fn from_php_string(text: String) -> Key {
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let canonical = digits == "0"
            || (!digits.is_empty()
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit()));
        match text.parse::<i64>() {
            Ok(number) if canonical && text != "-0" => Key::Int(number),
            _ => Key::Str(text),
        }
    }

    fn is(&self, name: &str) -> bool {
        matches!(self, Key::Str(key) if key == name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(key) => write!(f, "['{key}']"),
            Key::Int(key) => write!(f, "[{key}]"),
        }
    }
}

/// `$config` followed by `keys`, as written in messages.
fn config_path(keys: &[Key]) -> String {
    let mut path = "$config".to_owned();
    for key in keys {
        path.push_str(&key.to_string());
    }
    path
}

/// A literal value assigned under `$config['database']`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scalar {
    Str(String),
    /// A decimal integer, as written (PHP turns it into this text when a string is needed).
    Int(String),
    Bool(bool),
    Null,
}

/// `$config['database']` and what is below it, in PHP's array order (insertion order).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Leaf { value: Scalar, line: usize },
    Array { entries: Vec<(Key, Node)>, line: usize },
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Leaf { line, .. } | Node::Array { line, .. } => *line,
        }
    }
}

fn get<'a>(entries: &'a [(Key, Node)], name: &str) -> Option<&'a Node> {
    entries.iter().find(|(key, _)| key.is(name)).map(|(_, node)| node)
}

/// Runs the statements and returns what they assign to `$config['database']`.
fn evaluate(tokens: &[Token]) -> Result<Option<Node>, Problem> {
    let mut database: Option<Node> = None;
    let mut at = 0;
    while let Some(token) = tokens.get(at) {
        match &token.kind {
            TokenKind::Punct(';') | TokenKind::CloseTag => at += 1,
            TokenKind::Variable(name) if name == "config" => {
                let (keys, value, next) = assignment(tokens, at)?;
                if keys.first().is_some_and(|key| key.is("database")) {
                    let scalar = database_value(&keys, value, token.line)?;
                    assign(&mut database, &keys, 1, scalar, token.line)?;
                }
                at = next;
            }
            other => {
                return Err(Problem::at(
                    token.line,
                    format!(
                        "only `$config[...] = value;` statements are understood here, found {}",
                        describe(other)
                    ),
                ));
            }
        }
    }
    Ok(database)
}

/// Reads `$config[key]... = value ;` starting at the `$config` token; returns the keys, the
/// value's tokens and the index after the statement.
fn assignment(tokens: &[Token], start: usize) -> Result<(Vec<Key>, &[Token], usize), Problem> {
    let line = tokens[start].line;
    let mut at = start + 1;
    let mut keys = Vec::new();
    while let Some(Token { kind: TokenKind::Punct('['), line }) = tokens.get(at) {
        let key = match tokens.get(at + 1).map(|token| &token.kind) {
            Some(TokenKind::Str { value, interpolates: false }) => {
                Key::from_php_string(value.clone())
            }
            Some(TokenKind::Number(digits)) => decimal(digits).map(Key::Int).ok_or_else(|| {
                Problem::at(*line, "only decimal integers are understood as array keys")
            })?,
            Some(TokenKind::Punct(']')) => {
                return Err(Problem::at(
                    *line,
                    format!("`{}[]` (append) is not understood", config_path(&keys)),
                ));
            }
            _ => {
                return Err(Problem::at(
                    *line,
                    format!(
                        "array key after `{}` is not understood: only quoted strings and \
                         integers are",
                        config_path(&keys)
                    ),
                ));
            }
        };
        if !matches!(tokens.get(at + 2).map(|token| &token.kind), Some(TokenKind::Punct(']'))) {
            return Err(Problem::at(*line, format!("expected `]` after `{}`", config_path(&keys))));
        }
        keys.push(key);
        at += 3;
    }
    if keys.is_empty() {
        return Err(Problem::at(
            line,
            "only assignments to `$config[...]` are understood, not to `$config` itself",
        ));
    }
    if !matches!(tokens.get(at).map(|token| &token.kind), Some(TokenKind::Punct('='))) {
        return Err(Problem::at(
            line,
            format!(
                "expected `=` after `{}`: only plain assignments are understood",
                config_path(&keys)
            ),
        ));
    }
    at += 1;

    // The value runs to the `;` (or `?>`) outside any brackets.
    let value_start = at;
    let mut depth: usize = 0;
    loop {
        let Some(token) = tokens.get(at) else {
            return Err(Problem::at(
                line,
                format!("`{} = ...` has no closing `;`", config_path(&keys)),
            ));
        };
        // A complete operand directly followed by another (a variable, a string, a number) is a
        // PHP syntax error, nearly always a missing `;`. Catching it matters: the next
        // statement, possibly a database setting, would otherwise vanish into this value.
        if matches!(
            token.kind,
            TokenKind::Variable(_) | TokenKind::Str { .. } | TokenKind::Number(_)
        ) && at > value_start
            && ends_operand(&tokens[value_start..at])
        {
            let previous = &tokens[at - 1];
            return Err(Problem::at(
                previous.line,
                format!(
                    "expected `;` after the value of `{}`, found {} on line {}",
                    config_path(&keys),
                    describe(&token.kind),
                    token.line
                ),
            ));
        }
        match token.kind {
            TokenKind::Punct('(' | '[' | '{') => depth += 1,
            TokenKind::Punct(')' | ']' | '}') => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    Problem::at(token.line, "closing bracket without an opening one")
                })?;
            }
            TokenKind::Punct(';') | TokenKind::CloseTag if depth == 0 => break,
            TokenKind::CloseTag => {
                return Err(Problem::at(token.line, "`?>` inside an unclosed bracket"));
            }
            _ => {}
        }
        at += 1;
    }
    Ok((keys, &tokens[value_start..at], at + 1))
}

/// True if the tokens end with a complete operand (a literal, a variable, an index or a call),
/// after which PHP allows no variable, string or number. `(int)` and the other casts end in `)` too, but are
/// followed by their operand.
fn ends_operand(tokens: &[Token]) -> bool {
    match tokens {
        [.., open, cast, close]
            if open.kind == TokenKind::Punct('(')
                && matches!(cast.kind, TokenKind::Name(_))
                && close.kind == TokenKind::Punct(')') =>
        {
            false
        }
        [.., last] => matches!(
            last.kind,
            TokenKind::Str { .. }
                | TokenKind::Number(_)
                | TokenKind::Variable(_)
                | TokenKind::Punct(']' | ')')
        ),
        [] => false,
    }
}

/// Returns `digits` as an integer if it is a plain decimal literal (`0` or no leading zero: PHP
/// reads `0123` as octal).
fn decimal(digits: &str) -> Option<i64> {
    let plain =
        digits == "0" || (!digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()));
    if plain { digits.parse().ok() } else { None }
}

/// Turns the value tokens of an assignment under `$config['database']` into a literal, or
/// refuses them.
fn database_value(keys: &[Key], value: &[Token], line: usize) -> Result<Scalar, Problem> {
    let path = config_path(keys);
    match value {
        [token] => match &token.kind {
            TokenKind::Str { value, interpolates: false } => Ok(Scalar::Str(value.clone())),
            TokenKind::Str { interpolates: true, .. } => Err(Problem::at(
                token.line,
                format!(
                    "`{path}` is a double-quoted string with a `$` variable in it, which PHP \
                     replaces with the variable's value; write the value in single quotes, or \
                     escape the `$` as `\\$`"
                ),
            )),
            TokenKind::Number(digits) => match decimal(digits) {
                Some(_) => Ok(Scalar::Int(digits.clone())),
                None => Err(Problem::at(
                    token.line,
                    format!("`{path}`: only plain decimal numbers are understood"),
                )),
            },
            TokenKind::Name(name) if name.eq_ignore_ascii_case("true") => Ok(Scalar::Bool(true)),
            TokenKind::Name(name) if name.eq_ignore_ascii_case("false") => Ok(Scalar::Bool(false)),
            TokenKind::Name(name) if name.eq_ignore_ascii_case("null") => Ok(Scalar::Null),
            _ => Err(not_a_literal(&path, token.line)),
        },
        [first, ..]
            if matches!(&first.kind, TokenKind::Name(name) if name.eq_ignore_ascii_case("array"))
                || first.kind == TokenKind::Punct('[') =>
        {
            Err(Problem::at(
                first.line,
                format!(
                    "`{path}` is set with an array, which is not understood: write one \
                     `$config['database']['KEY'] = value;` line per setting"
                ),
            ))
        }
        [first, ..] => Err(not_a_literal(&path, first.line)),
        [] => Err(Problem::at(line, format!("`{path} =` has no value"))),
    }
}

fn not_a_literal(path: &str, line: usize) -> Problem {
    Problem::at(
        line,
        format!(
            "`{path}` is not set to a plain quoted string or number, so its value cannot be \
             known without running PHP"
        ),
    )
}

/// Stores `value` at `keys[depth..]` below `node`, as PHP's nested assignment does: missing
/// arrays are created, and a later assignment replaces an earlier one in place.
fn assign(
    node: &mut Option<Node>,
    keys: &[Key],
    depth: usize,
    value: Scalar,
    line: usize,
) -> Result<(), Problem> {
    if depth == keys.len() {
        *node = Some(Node::Leaf { value, line });
        return Ok(());
    }
    // PHP turns an unset, null or false value into an array when it is indexed.
    if matches!(node, None | Some(Node::Leaf { value: Scalar::Null | Scalar::Bool(false), .. })) {
        *node = Some(Node::Array { entries: Vec::new(), line });
    }
    match node {
        Some(Node::Array { entries, .. }) => {
            let key = &keys[depth];
            let index = match entries.iter().position(|(existing, _)| existing == key) {
                Some(index) => index,
                None => {
                    entries.push((key.clone(), Node::Array { entries: Vec::new(), line }));
                    entries.len() - 1
                }
            };
            let mut child = Some(entries[index].1.clone());
            assign(&mut child, keys, depth + 1, value, line)?;
            if let Some(child) = child {
                entries[index].1 = child;
            }
            Ok(())
        }
        Some(Node::Leaf { line: set_on, .. }) => Err(Problem::at(
            line,
            format!(
                "`{}` was set to a single value on line {set_on}, so PHP cannot set `{}`",
                config_path(&keys[..depth]),
                config_path(keys)
            ),
        )),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// From `$config['database']` to a BoardConfig
// ---------------------------------------------------------------------------------------------

/// Returns the text of a setting, as PHP would turn it into a string for the database driver.
fn text_of(node: &Node, path: &str) -> Result<String, Problem> {
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

fn required(
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

fn optional(
    entries: &[(Key, Node)],
    parent: &str,
    name: &str,
) -> Result<Option<(String, usize)>, Problem> {
    let path = format!("{parent}['{name}']");
    get(entries, name).map(|node| Ok((text_of(node, &path)?, node.line()))).transpose()
}

/// Builds the board settings from `$config['database']`.
fn board_config(database: Option<&Node>) -> Result<BoardConfig, Problem> {
    const TOP: &str = "$config['database']";
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

    let mut board = BoardConfig {
        db_type,
        database,
        table_prefix,
        hostname: String::new(),
        port: None,
        socket: None,
        username: String::new(),
        password: String::new(),
        encoding,
    };
    let mysql = board.is_mysql();

    let (server, path) = match write_server(entries) {
        Ok(found) => found,
        // The caller refuses other database types with a clearer message than a server error.
        Err(_) if !mysql => return Ok(board),
        Err(problem) => return Err(problem),
    };
    if !mysql {
        let text = |name: &str| optional(server, &path, name).ok().flatten().map(|(text, _)| text);
        board.hostname = text("hostname").unwrap_or_default();
        board.username = text("username").unwrap_or_default();
        board.password = text("password").unwrap_or_default();
        return Ok(board);
    }

    let hostname = required(server, &path, "hostname", "")?;
    let hostname_line = get(server, "hostname").map(Node::line);
    let endpoint = split_hostname(&hostname).map_err(|why| Problem {
        line: hostname_line,
        reason: format!("`{path}['hostname']` is {hostname:?}: {why}"),
    })?;
    board.hostname = endpoint.host;
    board.port = endpoint.port;
    board.socket = endpoint.socket;
    board.username = required(server, &path, "username", "")?;
    // A missing password is PHP's null, which the drivers send as no password.
    board.password =
        optional(server, &path, "password")?.map(|(password, _)| password).unwrap_or_default();
    Ok(board)
}

/// One server's settings (`hostname`, `username`, `password`) and their path, for messages.
type Server<'a> = (&'a [(Key, Node)], String);

/// Finds the settings of the server MyBB writes to, and their path for messages; see
/// [`BoardConfig`] for the rules and their source.
fn write_server(entries: &[(Key, Node)]) -> Result<Server<'_>, Problem> {
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
fn first_server<'a>(node: &'a Node, path: &str) -> Result<Server<'a>, Problem> {
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
struct Endpoint {
    host: String,
    port: Option<u16>,
    socket: Option<String>,
}

/// Splits MyBB's `hostname` setting: `host`, `host:port`, `[v6]`, `[v6]:port`, or
/// `host:/path/to/socket`.
///
/// MyBB's mysqli driver splits at the first `:` (`explode(":", $hostname, 2)`), so it cannot
/// take a bracketed IPv6 address; its PDO driver can (`parseHostname()`), and so can this. The
/// socket form is the one `mysql_connect()` understood, which MyBB's `mysql` driver passes the
/// hostname to unchanged (`inc/db_mysql.php`); an empty host before it means `localhost`, as
/// there. (mysqli and PDO would take the path for a port number, and fail or ignore it.)
fn split_hostname(hostname: &str) -> Result<Endpoint, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `inc/config.php` as MyBB 1.8's installer writes it (`create_tables()` in
    /// `install/index.php`), for a MySQLi board. The installer puts the password through
    /// `addslashes()` and into single quotes.
    const INSTALLER_OUTPUT: &str = r#"<?php
/**
 * Database configuration
 *
 * Please see the MyBB Docs for advanced
 * database configuration for larger installations
 * https://docs.mybb.com/
 */

$config['database']['type'] = 'mysqli';
$config['database']['database'] = 'mybb';
$config['database']['table_prefix'] = 'mybb_';

$config['database']['hostname'] = 'localhost';
$config['database']['username'] = 'mybbuser';
$config['database']['password'] = 's3cr\'et';

/**
 * Admin CP directory
 *  For security reasons, it is recommended you
 *  rename your Admin CP directory. You then need
 *  to adjust the value below to point to the
 *  new directory.
 */

$config['admin_dir'] = 'admin';

/**
 * Hide all Admin CP links
 *  If you wish to hide all Admin CP links
 *  on the front end of the board after
 *  renaming your Admin CP directory, set this
 *  to 1.
 */

$config['hide_admin_links'] = 0;

/**
 * Data-cache configuration
 *  The data cache is a temporary cache
 *  of the most commonly accessed data in MyBB.
 *  By default, the database is used to store this data.
 *
 *  If you wish to use the file system (cache/ directory), MemCache (or MemCached), xcache, APC, APCu, eAccelerator or Redis
 *  you can change the value below to 'files', 'memcache', 'memcached', 'xcache', 'apc', 'apcu', 'eaccelerator' or 'redis' from 'db'.
 */

$config['cache_store'] = 'db';

/**
 * Memcache configuration
 *  If you are using memcache or memcached as your
 *  data-cache, you need to configure the hostname
 *  and port of your memcache server below.
 *
 * If not using memcache, ignore this section.
 */

$config['memcache']['host'] = 'localhost';
$config['memcache']['port'] = 11211;

/**
 * Redis configuration
 *  If you are using Redis as your data-cache
 *  you need to configure the hostname and port
 *  of your redis server below. If you want
 *  to connect via unix sockets, use the full
 *  path to the unix socket as host and leave
 *  the port setting unconfigured or false.
 */

$config['redis']['host'] = 'localhost';
$config['redis']['port'] = 6379;

/**
 * Super Administrators
 *  A comma separated list of user IDs who cannot
 *  be edited, deleted or banned in the Admin CP.
 *  The administrator permissions for these users
 *  cannot be altered either.
 */

$config['super_admins'] = '1';

/**
 * Database Encoding
 *  If you wish to set an encoding for MyBB uncomment
 *  the line below (if it isn't already) and change
 *  the current value to the mysql charset:
 *  http://dev.mysql.com/doc/refman/5.1/en/charset-mysql.html
 */

$config['database']['encoding'] = 'utf8mb4';

/**
 * Automatic Log Pruning
 *  The MyBB task system can automatically prune
 *  various log files created by MyBB.
 *  To enable this functionality for the logs below, set the
 *  the number of days before each log should be pruned.
 *  If you set the value to 0, the logs will not be pruned.
 */

$config['log_pruning'] = array(
	'admin_logs' => 365, // Administrator logs
	'mod_logs' => 365, // Moderator logs
	'task_logs' => 30, // Scheduled task logs
	'mail_logs' => 180, // Mail error logs
	'user_mail_logs' => 180, // User mail logs
	'promotion_logs' => 180 // Promotion logs
);

/**
 * Disallowed Remote Hosts
 *  List of hosts the fetch_remote_file() function will not
 *  perform requests to.
 *  It is recommended that you enter hosts resolving to the
 *  forum server here to prevent Server Side Request
 *  Forgery attacks.
 */

$config['disallowed_remote_hosts'] = array(
	'localhost',
);

/**
 * Disallowed Remote Addresses
 *  List of IPv4 addresses the fetch_remote_file() function
 *  will not perform requests to.
 *  It is recommended that you enter addresses resolving to
 *  the forum server here to prevent Server Side Request
 *  Forgery attacks.
 *  Removing all values disables resolving hosts in that
 *  function.
 */

$config['disallowed_remote_addresses'] = array(
	'127.0.0.1',
	'10.0.0.0/8',
	'172.16.0.0/12',
	'192.168.0.0/16',
);

"#;

    #[track_caller]
    fn parsed(source: &str) -> BoardConfig {
        match parse(source) {
            Ok(board) => board,
            Err(error) => panic!("should parse, but: {error}"),
        }
    }

    #[track_caller]
    fn refused(source: &str) -> (Option<usize>, String) {
        match parse(source) {
            Ok(board) => panic!("should be refused, but parsed {board:?}"),
            Err(ConfigPhpError::Invalid { line, reason, .. }) => (line, reason),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    /// A minimal board with `lines` added after the type and database lines.
    fn board_with(lines: &str) -> String {
        format!(
            "<?php\n$config['database']['type'] = 'mysqli';\n\
             $config['database']['database'] = 'forum';\n{lines}\n"
        )
    }

    #[test]
    fn reads_the_installers_own_output() {
        let board = parsed(INSTALLER_OUTPUT);
        assert_eq!(
            board,
            BoardConfig {
                db_type: "mysqli".into(),
                database: "mybb".into(),
                table_prefix: "mybb_".into(),
                hostname: "localhost".into(),
                port: None,
                socket: None,
                username: "mybbuser".into(),
                password: "s3cr'et".into(),
                encoding: "utf8mb4".into(),
            }
        );
        assert!(board.is_mysql());
    }

    #[test]
    fn reads_the_double_quoted_form() {
        let board = parsed(
            "<?php\n$config[\"database\"][\"type\"] = \"mysql_pdo\";\n\
             $config[\"database\"][\"database\"] = \"forum\";\n\
             $config[\"database\"][\"hostname\"] = \"db.example.org\";\n\
             $config[\"database\"][\"username\"] = \"bb\";\n\
             $config[\"database\"][\"password\"] = \"p\\\"w\\\\d\\$x\\x41\\101\\u{e9}\\q\";\n",
        );
        assert_eq!(board.db_type, "mysql_pdo");
        assert_eq!(board.hostname, "db.example.org");
        assert_eq!(board.password, "p\"w\\d$xAAé\\q");
        assert!(board.is_mysql());
    }

    #[test]
    fn passwords_keep_every_punctuation_character() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = 'a@b:c/d\\'e\"f\\\\g#h//i';",
        ));
        assert_eq!(board.password, "a@b:c/d'e\"f\\g#h//i");
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = \"a@b:c/d'e\\\"f\";",
        ));
        assert_eq!(board.password, "a@b:c/d'e\"f");
    }

    #[test]
    fn single_quotes_keep_backslashes_that_escape_nothing() {
        // The installer's addslashes() turns `"` into `\"`, and PHP keeps both characters
        // inside single quotes: MyBB itself then uses `a\"b`, so must this.
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['password'] = 'a\\\"b\\n';",
        ));
        assert_eq!(board.password, "a\\\"b\\n");
    }

    #[test]
    fn hostname_may_carry_a_port() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'localhost:3307';\n\
             $config['database']['username'] = 'u';",
        ));
        assert_eq!((board.hostname.as_str(), board.port), ("localhost", Some(3307)));
        assert_eq!(board.password, "");
    }

    #[test]
    fn ipv6_hostname_in_brackets_may_carry_a_port() {
        let tcp = |host: &str, port| Ok(Endpoint { host: host.into(), port, socket: None });
        assert_eq!(split_hostname("[::1]:3307"), tcp("::1", Some(3307)));
        assert_eq!(split_hostname("[::1]"), tcp("::1", None));
        assert_eq!(split_hostname("[2001:db8::7]:3306"), tcp("2001:db8::7", Some(3306)));
        assert_eq!(split_hostname("10.0.0.5"), tcp("10.0.0.5", None));
        let board = parsed(&board_with(
            "$config['database']['hostname'] = '[::1]:3307';\n\
             $config['database']['username'] = 'u';",
        ));
        assert_eq!((board.hostname.as_str(), board.port), ("::1", Some(3307)));
    }

    #[test]
    fn unusable_hostnames_are_refused_with_their_line() {
        for (hostname, expected) in [
            ("::1", "brackets"),
            ("fe80::1:3306", "brackets"),
            ("[::1", "closing `]`"),
            ("[::1]3306", "after `]`"),
            ("/run/mysqld/mysqld.sock", "socket path must follow a host"),
            ("localhost:", "port"),
            ("localhost:0", "port"),
            ("localhost:70000", "port"),
            ("localhost:+3306", "port"),
            (":3306", "no host name"),
            ("", "empty"),
        ] {
            let (line, reason) = refused(&board_with(&format!(
                "$config['database']['username'] = 'u';\n\
                 $config['database']['hostname'] = '{hostname}';"
            )));
            assert_eq!(line, Some(5), "{hostname}");
            assert!(reason.contains(expected), "{hostname}: {reason}");
            assert!(reason.contains("$config['database']['hostname']"), "{reason}");
        }
    }

    #[test]
    fn hostname_may_name_a_unix_socket() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'localhost:/run/mysqld/mysqld.sock';\n\
             $config['database']['username'] = 'u';",
        ));
        assert_eq!(
            (board.hostname.as_str(), board.port, board.socket.as_deref()),
            ("localhost", None, Some("/run/mysqld/mysqld.sock"))
        );
        assert_eq!(
            split_hostname(":/tmp/my:sql.sock"),
            Ok(Endpoint {
                host: "localhost".into(),
                port: None,
                socket: Some("/tmp/my:sql.sock".into())
            })
        );
    }

    #[test]
    fn writes_go_to_the_write_server() {
        let board = parsed(&board_with(
            "$config['database']['read']['hostname'] = 'replica';\n\
             $config['database']['read']['username'] = 'reader';\n\
             $config['database']['read']['password'] = 'r';\n\
             $config['database']['write']['hostname'] = 'primary:3307';\n\
             $config['database']['write']['username'] = 'writer';\n\
             $config['database']['write']['password'] = 'w';",
        ));
        assert_eq!(
            (board.hostname.as_str(), board.port, board.username.as_str(), board.password.as_str()),
            ("primary", Some(3307), "writer", "w")
        );
        assert_eq!(board.database, "forum");
    }

    #[test]
    fn writes_go_to_the_first_of_a_list_of_write_servers() {
        let board = parsed(&board_with(
            "$config['database']['read'][0]['hostname'] = 'replica1';\n\
             $config['database']['read'][0]['username'] = 'reader';\n\
             $config['database']['write'][0]['hostname'] = 'primary1';\n\
             $config['database']['write'][0]['username'] = 'writer1';\n\
             $config['database']['write'][0]['password'] = 'w1';\n\
             $config['database']['write']['1']['hostname'] = 'primary2';\n\
             $config['database']['write']['1']['username'] = 'writer2';\n\
             // Per-server copies of these are ignored, as MyBB ignores them.\n\
             $config['database']['write'][0]['database'] = 'elsewhere';\n\
             $config['database']['write'][0]['table_prefix'] = 'other_';",
        ));
        assert_eq!(
            (board.hostname.as_str(), board.username.as_str(), board.password.as_str()),
            ("primary1", "writer1", "w1")
        );
        assert_eq!(board.database, "forum");
        assert_eq!(board.table_prefix, "mybb_");
    }

    #[test]
    fn without_a_write_server_writes_go_to_the_read_server() {
        let board = parsed(&board_with(
            "$config['database']['read'][0]['hostname'] = 'only';\n\
             $config['database']['read'][0]['username'] = 'reader';\n\
             $config['database']['read'][0]['password'] = 'r';",
        ));
        assert_eq!((board.hostname.as_str(), board.username.as_str()), ("only", "reader"));
    }

    #[test]
    fn integer_keyed_servers_serve_reads_and_writes() {
        let board = parsed(&board_with(
            "$config['database'][0]['hostname'] = 'first';\n\
             $config['database'][0]['username'] = 'a';\n\
             $config['database'][1]['hostname'] = 'second';\n\
             $config['database'][1]['username'] = 'b';",
        ));
        assert_eq!((board.hostname.as_str(), board.username.as_str()), ("first", "a"));
    }

    #[test]
    fn a_top_level_hostname_wins_over_server_lists() {
        // connect(): `if(array_key_exists('hostname', $config))` comes first.
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'plain';\n\
             $config['database']['username'] = 'u';\n\
             $config['database']['write']['hostname'] = 'ignored';\n\
             $config['database']['write']['username'] = 'ignored';",
        ));
        assert_eq!(board.hostname, "plain");
    }

    #[test]
    fn missing_database_key_is_an_error() {
        let error = parse(
            "<?php\n$config['database']['type'] = 'mysqli';\n\
             $config['database']['hostname'] = 'localhost';\n\
             $config['database']['username'] = 'u';\n",
        )
        .expect_err("no database name");
        assert_eq!(error.to_string(), "`$config['database']['database']` is not set");
    }

    #[test]
    fn missing_settings_are_named() {
        let (_, reason) = refused("<?php\n$config['admin_dir'] = 'admin';\n");
        assert!(reason.contains("no `$config['database'][...]` settings"), "{reason}");
        let (_, reason) = refused(&board_with("$config['database']['username'] = 'u';"));
        assert!(reason.contains("`$config['database']['hostname']` is not set"), "{reason}");
        let (_, reason) = refused(&board_with("$config['database']['hostname'] = 'h';"));
        assert_eq!(reason, "`$config['database']['username']` is not set");
        let (_, reason) = refused(
            "<?php\n$config['database']['database'] = 'd';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
        );
        assert_eq!(reason, "`$config['database']['type']` is not set");
        let (_, reason) = refused(&board_with(
            "$config['database']['write']['hostname'] = 'h';\n\
             $config['database']['write']['username'] = 'u';",
        ));
        assert!(reason.contains("`$config['database']['read']` is not"), "{reason}");
    }

    #[test]
    fn defaults_apply_when_prefix_and_encoding_are_missing() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             // $config['database']['encoding'] = 'latin1';",
        ));
        assert_eq!(board.table_prefix, DEFAULT_TABLE_PREFIX);
        assert_eq!(board.encoding, DEFAULT_ENCODING);
    }

    #[test]
    fn empty_prefix_is_allowed_and_bad_prefixes_are_refused() {
        let board = parsed(&board_with(
            "$config['database']['table_prefix'] = '';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
        ));
        assert_eq!(board.table_prefix, "");
        let (line, reason) = refused(&board_with(
            "$config['database']['table_prefix'] = 'my-bb_';\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
        ));
        assert_eq!(line, Some(4));
        assert!(reason.contains("table_prefix"), "{reason}");
    }

    #[test]
    fn encoding_must_be_a_character_set_name() {
        let (line, reason) = refused(&board_with(
            "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['encoding'] = \"utf8'; DROP\";",
        ));
        assert_eq!(line, Some(6));
        assert!(reason.contains("not a character set name"), "{reason}");
    }

    #[test]
    fn validate_table_prefix_follows_the_installer() {
        for good in ["", "mybb_", "a", "A1_", &"a".repeat(40)] {
            assert_eq!(validate_table_prefix(good), Ok(()), "{good}");
        }
        for bad in ["1mybb", "_mybb", "my-bb", "my bb", "mybb_\n", "é", &"a".repeat(41)] {
            assert!(validate_table_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn postgresql_boards_are_parsed_for_the_caller_to_refuse() {
        let board = parsed(
            "<?php\n$config['database']['type'] = 'pgsql';\n\
             $config['database']['database'] = 'forum';\n\
             $config['database']['table_prefix'] = 'mybb_';\n\
             $config['database']['hostname'] = 'pg.example.org';\n\
             $config['database']['username'] = 'bb';\n\
             $config['database']['password'] = 'pw';\n",
        );
        assert_eq!(board.db_type, "pgsql");
        assert_eq!(board.hostname, "pg.example.org");
        assert!(!board.is_mysql());
    }

    #[test]
    fn sqlite_boards_are_parsed_for_the_caller_to_refuse() {
        // The installer writes empty server settings for SQLite.
        let board = parsed(
            "<?php\n$config['database']['type'] = 'sqlite';\n\
             $config['database']['database'] = '/var/db/forum.sqlite';\n\
             $config['database']['table_prefix'] = 'mybb_';\n\
             $config['database']['hostname'] = '';\n\
             $config['database']['username'] = '';\n\
             $config['database']['password'] = '';\n",
        );
        assert_eq!(board.db_type, "sqlite");
        assert!(!board.is_mysql());
    }

    #[test]
    fn malformed_syntax_is_refused_with_its_line() {
        for (source, line, expected) in [
            (
                "<?php\n$config['database']['type'] = 'mysqli'\n$config['x'] = 1;",
                2,
                "expected `;` after the value of `$config['database']['type']`",
            ),
            ("<?php\n\n$config['database']['type'] = 'mysqli;\n", 3, "never closed"),
            ("<?php\n/* open\n\n", 2, "never closed"),
            ("<?php\n$config['a'] = 1;\ndefine('X', 1);\n", 3, "found a bare name"),
            ("<?php\n$db = 'x';\n", 2, "the variable `$db`"),
            ("<?php\n$config['a'] .= 'x';\n", 2, "plain assignments"),
            ("<?php\n$config = array();\n", 2, "`$config` itself"),
            ("<?php\n$config[] = 'x';\n", 2, "append"),
            ("<?php\n$config[FOO] = 'x';\n", 2, "array key"),
            ("<?php\n$config['a'] = <<<EOT\nx\nEOT;\n", 2, "heredoc"),
            ("<?php\n$config['a'] = `id`;\n", 2, "backtick"),
            ("\n\nhello <?php\n", 3, "<?php"),
            ("<?php\n$config['a'] = 1;\n?>\n<p>html</p>\n", 4, "after the closing"),
            ("<?php\n\n#[Attr]\n", 3, "attributes"),
            ("<?php\n$config['a'] = (1;\n", 2, "closing `;`"),
            // Without the `;`, the database setting would vanish into the skipped value.
            (
                "<?php\n$config['a'] = array(1)\n$config['database']['password'] = 'p';\n",
                2,
                "expected `;` after the value of `$config['a']`, found the variable `$config` on \
                 line 3",
            ),
            ("<?php\n$config['a'] = 'x' 'y';\n", 2, "found a string on line 2"),
            ("<?php\n$config['a'] = (int) 'x' 1;\n", 2, "found a number"),
        ] {
            let (found_line, reason) = refused(source);
            assert_eq!(found_line, Some(line), "{source:?}: {reason}");
            assert!(reason.contains(expected), "{source:?}: {reason}");
        }
    }

    #[test]
    fn database_values_must_be_literals() {
        for (value, expected) in [
            ("$password", "not set to a plain"),
            ("getenv('DB_PASSWORD')", "not set to a plain"),
            ("'a' . 'b'", "not set to a plain"),
            ("\"pa$word\"", "double-quoted string with a `$` variable"),
            ("\"pa{$x}\"", "double-quoted string with a `$` variable"),
            ("\"pa${x}\"", "double-quoted string with a `$` variable"),
            ("0123", "decimal"),
            ("array('a')", "array"),
            ("['a']", "array"),
        ] {
            let (line, reason) = refused(&board_with(&format!(
                "$config['database']['hostname'] = 'h';\n\
                 $config['database']['username'] = 'u';\n\
                 $config['database']['password'] = {value};"
            )));
            assert_eq!(line, Some(6), "{value}");
            assert!(reason.contains(expected), "{value}: {reason}");
            assert!(reason.contains("$config['database']['password']"), "{reason}");
        }
    }

    #[test]
    fn literal_dollars_in_double_quotes_are_not_interpolation() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['password'] = \"a$ b$1 c$\";",
        ));
        assert_eq!(board.password, "a$ b$1 c$");
    }

    #[test]
    fn numbers_and_booleans_are_literals() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';\n\
             $config['database']['password'] = 12345;\n\
             $config['database']['pconnect'] = TRUE;",
        ));
        assert_eq!(board.password, "12345");
    }

    #[test]
    fn comments_and_whitespace_go_anywhere() {
        let board = parsed(
            "\u{FEFF}  <?PHP # a comment\n\
             /* block\n comment */ $config /* here */ [ 'database' ]\n\
             [\n'type'\n] =\n'mysqli' ;;\n\
             $config['database']['database']='d';$config['database']['hostname']='h'#\n\
             ;$config['database']['username'] = 'u'; // trailing ?>",
        );
        assert_eq!(
            (board.db_type.as_str(), board.database.as_str(), board.username.as_str()),
            ("mysqli", "d", "u")
        );
    }

    #[test]
    fn a_line_comment_ends_at_the_closing_tag() {
        // PHP leaves PHP mode at `?>` even inside a `//` comment: the text after it is output.
        let (line, reason) = refused("<?php\n// note ?> then text\n");
        assert_eq!(line, Some(2));
        assert!(reason.contains("after the closing `?>`"), "{reason}");
        let board = parsed(&format!(
            "{}?>\n",
            board_with(
                "$config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u'"
            )
        ));
        assert_eq!(board.username, "u");
    }

    #[test]
    fn later_assignments_replace_earlier_ones() {
        let board = parsed(&board_with(
            "$config['database']['hostname'] = 'old';\n$config['database']['username'] = 'u';\n\
             $config['database']['hostname'] = 'new';",
        ));
        assert_eq!(board.hostname, "new");
    }

    #[test]
    fn indexing_into_a_value_is_refused() {
        let (line, reason) = refused(&board_with(
            "$config['database']['write'] = 'x';\n\
             $config['database']['write']['hostname'] = 'h';",
        ));
        assert_eq!(line, Some(5));
        assert!(reason.contains("single value on line 4"), "{reason}");
    }

    #[test]
    fn other_config_settings_are_skipped_whatever_they_hold() {
        let board = parsed(&board_with(
            "$config['x'] = array('a' => [1, 2.5, -3], 'b' => null, \"c$d\" => 'e');\n\
             $config['y']['z'] = 0x1F;\n\
             $config['database']['hostname'] = 'h';\n$config['database']['username'] = 'u';",
        ));
        assert_eq!(board.hostname, "h");
    }

    #[test]
    fn string_keys_that_are_integers_are_integers() {
        assert_eq!(Key::from_php_string("0".into()), Key::Int(0));
        assert_eq!(Key::from_php_string("12".into()), Key::Int(12));
        assert_eq!(Key::from_php_string("-3".into()), Key::Int(-3));
        assert_eq!(Key::from_php_string("012".into()), Key::Str("012".into()));
        assert_eq!(Key::from_php_string("-0".into()), Key::Str("-0".into()));
        assert_eq!(Key::from_php_string("1e3".into()), Key::Str("1e3".into()));
        assert_eq!(Key::from_php_string("".into()), Key::Str(String::new()));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let board = parsed(INSTALLER_OUTPUT);
        let debug = format!("{board:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        assert!(debug.contains("password: \"***\""), "{debug}");
        let pretty = format!("{board:#?}");
        assert!(!pretty.contains("s3cr"), "{pretty}");
    }

    #[test]
    fn errors_never_show_the_password() {
        for value in [
            "hunter2secret",
            "\"hunter2secret$x\"",
            "'hunter2secret' . 'x'",
            "\"hunter2secret\\u{zz}\"",
            "'hunter2secret",
        ] {
            let source = board_with(&format!(
                "$config['database']['hostname'] = 'h';\n\
                 $config['database']['username'] = 'u';\n\
                 $config['database']['password'] = {value};"
            ));
            let error = parse(&source).expect_err("refused");
            assert!(!error.to_string().contains("hunter2"), "{error}");
            assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
        }
    }

    #[test]
    fn read_names_the_file_in_errors() {
        let root = std::env::temp_dir()
            .join(format!("mybb-sync-mybb-config-{}-read_names_the_file", std::process::id()));
        let inc = root.join("inc");
        std::fs::create_dir_all(&inc).expect("temp dir");
        let config = inc.join("config.php");

        std::fs::write(&config, INSTALLER_OUTPUT).expect("write config");
        let board = read(&root).expect("reads the installer's output");
        assert_eq!(board.username, "mybbuser");

        std::fs::write(&config, "<?php\n$config['database']['type'] = ;\n").expect("write");
        let error = read(&root).expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!("{}:2: `$config['database']['type'] =` has no value", config.display())
        );

        std::fs::remove_file(&config).expect("remove config");
        let error = read(&root).expect_err("missing file");
        assert!(matches!(error, ConfigPhpError::Read(_)));
        assert!(error.to_string().contains(&config.display().to_string()), "{error}");

        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
