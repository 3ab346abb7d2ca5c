//! A small synchronous PostgreSQL client: the frontend/backend protocol of `postgres-protocol`
//! (which does no I/O of its own) over std's `TcpStream` or `UnixStream`, with read and write
//! timeouts. No async runtime and no thread: the `postgres` crate runs tokio inside, which this
//! tool promises its users it does not (see docs/engines.md for the sizes measured).
//!
//! It speaks what mybb-sync needs and no more: trust, cleartext, md5 and SCRAM-SHA-256 logins
//! without TLS; the simple query protocol for setup statements; the extended protocol with text
//! parameters and text results for everything else. Values cross as bytes, exactly as the
//! server holds them in the UTF-8 the connection asks for.
//!
//! Public (not `pub(crate)`) so that the integration tests load their boards through the same
//! client; it holds no SQL of its own.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::IsNull;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;

/// Where and as whom to connect.
#[derive(Clone)]
pub struct ConnectOptions {
    /// A host name or address for TCP, or a directory holding the server's Unix socket (a path
    /// starting with `/`, as libpq takes it).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    /// How long connecting, and each read or write, may take.
    pub timeout: Duration,
}

/// Why a statement or a connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    /// The server's SQLSTATE (`28P01`, `55P03`, ...), when the server answered with an error.
    pub code: Option<String>,
    /// The server's message, or what failed on the connection.
    pub message: String,
    /// True when the connection can take no further statement (it timed out, was cut, or the
    /// server said it is ending it).
    pub lost: bool,
}

impl PgError {
    /// Returns the error of the connection itself failing with `error` while `doing`.
    fn io(doing: &str, error: &io::Error) -> PgError {
        let why = match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                "the server did not answer in time".to_owned()
            }
            io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
            _ => error.to_string(),
        };
        PgError { code: None, message: format!("{doing}: {why}"), lost: true }
    }

    /// Returns a protocol error: the server said something this client does not expect.
    fn protocol(what: impl Into<String>) -> PgError {
        PgError { code: None, message: what.into(), lost: true }
    }

    /// Returns the server's error `fields`.
    fn server(mut fields: ErrorFields<'_>) -> PgError {
        let (mut code, mut message, mut detail) = (None, String::new(), None);
        while let Ok(Some(field)) = fields.next() {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'C' => code = Some(value),
                b'M' => message = value,
                b'D' => detail = Some(value),
                _ => {}
            }
        }
        if let Some(detail) = detail {
            message = format!("{message} ({detail})");
        }
        // Class 57 (operator intervention: shutdown, terminated) and 08 (connection
        // exception) end the session.
        let lost = code.as_deref().is_some_and(|c| c.starts_with("57P") || c.starts_with("08"));
        PgError { code, message, lost }
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} (SQLSTATE {code})", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for PgError {}

type PgResult<T> = std::result::Result<T, PgError>;

/// The answer to one statement: its columns' names, its rows (each value the server's text
/// form, None for NULL), and how many rows it changed or returned.
#[derive(Debug, Default)]
pub struct Answer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<Vec<u8>>>>,
    pub affected: u64,
}

/// The socket to the server.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// One connection to a PostgreSQL server.
pub struct Client {
    stream: Stream,
    /// Bytes read from the server and not yet parsed into messages.
    input: BytesMut,
    /// Messages to send, written out at once.
    output: BytesMut,
    /// The server's `server_version` and other parameters it reported.
    parameters: Vec<(String, String)>,
}

impl Client {
    /// Connects and logs in as `options` says (trust, cleartext, md5 or SCRAM-SHA-256), asking
    /// for UTF-8 on the connection.
    pub fn connect(options: &ConnectOptions) -> PgResult<Client> {
        let stream = open(options).map_err(|e| PgError::io("connect", &e))?;
        let mut client = Client {
            stream,
            input: BytesMut::with_capacity(16 * 1024),
            output: BytesMut::new(),
            parameters: Vec::new(),
        };
        let startup = [
            ("user", options.user.as_str()),
            ("database", options.database.as_str()),
            ("client_encoding", "UTF8"),
            ("application_name", "mybb-sync"),
        ];
        frontend::startup_message(startup, &mut client.output)
            .map_err(|e| PgError::io("start the session", &e))?;
        client.flush("start the session")?;
        client.authenticate(options)?;
        Ok(client)
    }

    /// Answers the server's login requests until it says the session is ready.
    fn authenticate(&mut self, options: &ConnectOptions) -> PgResult<()> {
        let mut scram: Option<ScramSha256> = None;
        let password = options.password.as_bytes();
        // As the server's own refusal of a wrong password (28P01): a setting to fix.
        let no_password = || PgError {
            code: Some("28P01".to_owned()),
            message: "the server asks for a password and none was given (add it to the URL or \
                      to inc/config.php)"
                .to_owned(),
            lost: true,
        };
        loop {
            match self.receive("log in")? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    if password.is_empty() {
                        return Err(no_password());
                    }
                    frontend::password_message(password, &mut self.output)
                        .map_err(|e| PgError::io("log in", &e))?;
                    self.flush("log in")?;
                }
                Message::AuthenticationMd5Password(body) => {
                    if password.is_empty() {
                        return Err(no_password());
                    }
                    let hash = md5_hash(options.user.as_bytes(), password, body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.output)
                        .map_err(|e| PgError::io("log in", &e))?;
                    self.flush("log in")?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut offered = false;
                    while let Ok(Some(mechanism)) = mechanisms.next() {
                        offered |= mechanism == SCRAM_SHA_256;
                    }
                    if !offered {
                        return Err(PgError::protocol(
                            "the server offers no SASL mechanism this client speaks \
                             (only SCRAM-SHA-256 without channel binding)",
                        ));
                    }
                    if password.is_empty() {
                        return Err(no_password());
                    }
                    let state = ScramSha256::new(password, ChannelBinding::unsupported());
                    frontend::sasl_initial_response(
                        SCRAM_SHA_256,
                        state.message(),
                        &mut self.output,
                    )
                    .map_err(|e| PgError::io("log in", &e))?;
                    scram = Some(state);
                    self.flush("log in")?;
                }
                Message::AuthenticationSaslContinue(body) => {
                    let state = scram.as_mut().ok_or_else(|| {
                        PgError::protocol("the server continued a SASL login never begun")
                    })?;
                    state.update(body.data()).map_err(|e| PgError::io("log in (SCRAM)", &e))?;
                    frontend::sasl_response(state.message(), &mut self.output)
                        .map_err(|e| PgError::io("log in", &e))?;
                    self.flush("log in")?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let state = scram.as_mut().ok_or_else(|| {
                        PgError::protocol("the server ended a SASL login never begun")
                    })?;
                    // Checks the server's signature: it knows the password too.
                    state.finish(body.data()).map_err(|e| PgError::io("log in (SCRAM)", &e))?;
                }
                Message::ParameterStatus(body) => {
                    if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
                        self.parameters.push((name.to_owned(), value.to_owned()));
                    }
                }
                Message::BackendKeyData(_) | Message::NoticeResponse(_) => {}
                Message::ReadyForQuery(_) => return Ok(()),
                Message::ErrorResponse(body) => {
                    let mut error = PgError::server(body.fields());
                    error.lost = true;
                    return Err(error);
                }
                _ => {
                    return Err(PgError::protocol(
                        "the server asked for a login method this client does not speak (only \
                         trust, password, md5 and scram-sha-256 without TLS)",
                    ));
                }
            }
        }
    }

    /// Returns the value of server parameter `name` as the server reported it at login
    /// (`server_version`, `server_encoding`, ...).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Runs `sql`, which may hold several statements separated by `;`, with the simple query
    /// protocol; returns the last statement's answer, or the first error.
    pub fn batch(&mut self, sql: &str) -> PgResult<Answer> {
        frontend::query(sql, &mut self.output).map_err(|e| PgError::io("send a statement", &e))?;
        self.flush("send a statement")?;
        self.answers(1).map(|mut answers| answers.pop().unwrap_or_default())
    }

    /// Runs one statement `sql` with `$1`, `$2`... bound to `params` (text, or None for NULL;
    /// the server infers each type from the statement), and returns its answer.
    pub fn query(&mut self, sql: &str, params: &[Option<&[u8]>]) -> PgResult<Answer> {
        self.pipeline(&[(sql, params)]).map(|mut answers| answers.pop().unwrap_or_default())
    }

    /// Runs the statements `statements`, each with its parameters, in one round trip and in
    /// order, and returns their answers. The first error stops the rest (the server skips
    /// them up to the end of the pipeline); a pipeline outside a transaction block runs as one
    /// implicit transaction, so on an error none of its statements stays.
    pub fn pipeline(&mut self, statements: &[(&str, &[Option<&[u8]>])]) -> PgResult<Vec<Answer>> {
        for (sql, params) in statements {
            self.send_extended(sql, params)?;
        }
        frontend::sync(&mut self.output);
        self.flush("send a statement")?;
        self.answers(statements.len())
    }

    /// Queues Parse, Bind, Describe and Execute of one statement.
    fn send_extended(&mut self, sql: &str, params: &[Option<&[u8]>]) -> PgResult<()> {
        let failed = |e: io::Error| PgError::io("send a statement", &e);
        frontend::parse("", sql, std::iter::empty(), &mut self.output).map_err(failed)?;
        let bound = frontend::bind(
            "",
            "",
            [0i16], // every parameter in text format
            params.iter().copied(),
            |value, out| match value {
                Some(bytes) => {
                    out.extend_from_slice(bytes);
                    Ok(IsNull::No)
                }
                None => Ok(IsNull::Yes),
            },
            [0i16], // every result column in text format
            &mut self.output,
        );
        bound.map_err(|_| PgError::protocol("a statement's parameters could not be encoded"))?;
        frontend::describe(b'P', "", &mut self.output).map_err(failed)?;
        frontend::execute("", 0, &mut self.output).map_err(failed)
    }

    /// Reads the answers of `count` statements up to ReadyForQuery.
    fn answers(&mut self, count: usize) -> PgResult<Vec<Answer>> {
        let mut answers: Vec<Answer> = Vec::with_capacity(count);
        let mut current = Answer::default();
        let mut error: Option<PgError> = None;
        loop {
            match self.receive("read the answer")? {
                Message::RowDescription(body) => {
                    let mut fields = body.fields();
                    current.columns.clear();
                    while let Ok(Some(field)) = fields.next() {
                        current.columns.push(field.name().to_owned());
                    }
                }
                Message::DataRow(body) => {
                    let buffer = body.buffer();
                    let mut ranges = body.ranges();
                    let mut row = Vec::with_capacity(current.columns.len());
                    while let Some(range) =
                        ranges.next().map_err(|e| PgError::io("read a row", &e))?
                    {
                        row.push(range.map(|r| buffer[r].to_vec()));
                    }
                    current.rows.push(row);
                }
                Message::CommandComplete(body) => {
                    // `UPDATE 3`, `INSERT 0 1`, `SELECT 5`: the count is the last word.
                    let tag = body.tag().unwrap_or_default();
                    current.affected =
                        tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    answers.push(std::mem::take(&mut current));
                }
                Message::EmptyQueryResponse => answers.push(std::mem::take(&mut current)),
                Message::ErrorResponse(body) => {
                    error.get_or_insert(PgError::server(body.fields()));
                }
                Message::ReadyForQuery(body) => {
                    let Some(error) = error else { return Ok(answers) };
                    // An error inside `BEGIN` leaves the transaction open and failed: ended
                    // here, so that the connection's next statement starts clean.
                    if body.status() != b'I' && !error.lost {
                        frontend::query("ROLLBACK", &mut self.output)
                            .map_err(|e| PgError::io("roll back", &e))?;
                        self.flush("roll back")?;
                        self.answers(1)?;
                    }
                    return Err(error);
                }
                Message::ParameterStatus(body) => {
                    if let (Ok(name), Ok(value)) = (body.name(), body.value()) {
                        self.parameters.retain(|(n, _)| n != name);
                        self.parameters.push((name.to_owned(), value.to_owned()));
                    }
                }
                Message::CopyInResponse(_) | Message::CopyOutResponse(_) => {
                    return Err(PgError::protocol("COPY is not supported by this client"));
                }
                // ParseComplete, BindComplete, NoData, notices, notifications.
                _ => {}
            }
        }
    }

    /// Writes out the queued messages.
    fn flush(&mut self, doing: &str) -> PgResult<()> {
        let sent = self.stream.write_all(&self.output).and_then(|()| self.stream.flush());
        self.output.clear();
        sent.map_err(|e| PgError::io(doing, &e))
    }

    /// Reads the next message from the server.
    fn receive(&mut self, doing: &str) -> PgResult<Message> {
        loop {
            if let Some(message) =
                Message::parse(&mut self.input).map_err(|e| PgError::io(doing, &e))?
            {
                return Ok(message);
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = self.stream.read(&mut chunk).map_err(|e| PgError::io(doing, &e))?;
            if read == 0 {
                let closed = io::Error::from(io::ErrorKind::UnexpectedEof);
                return Err(PgError::io(doing, &closed));
            }
            self.input.extend_from_slice(&chunk[..read]);
        }
    }
}

impl Drop for Client {
    /// Says goodbye, so that the server logs no "unexpected EOF"; a failure is of no interest.
    fn drop(&mut self) {
        frontend::terminate(&mut self.output);
        let _ = self.stream.write_all(&self.output);
    }
}

/// Opens the socket `options` names, with its timeouts: a Unix socket in directory `host`
/// (libpq's `.s.PGSQL.PORT`), else TCP to the first address of `host` that answers.
fn open(options: &ConnectOptions) -> io::Result<Stream> {
    let timeout = Some(options.timeout);
    if options.host.starts_with('/') {
        let path = format!("{}/.s.PGSQL.{}", options.host.trim_end_matches('/'), options.port);
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        return Ok(Stream::Unix(stream));
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for address in (options.host.as_str(), options.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, options.timeout) {
            Ok(stream) => {
                stream.set_read_timeout(timeout)?;
                stream.set_write_timeout(timeout)?;
                stream.set_nodelay(true)?;
                return Ok(Stream::Tcp(stream));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
