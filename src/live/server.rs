//! The live-reload server thread: one `poll(2)` loop over the listener, the wake-up socket and
//! every browser connection, all non-blocking.
//!
//! One thread rather than one per client: an idle server sleeps in `poll` with no timer at all
//! (no CPU while nothing happens), and no client can hold a lock or a thread hostage. Each
//! connection starts as HTTP: `GET /livereload.js` gets the embedded client, `GET /livereload`
//! with an upgrade becomes a WebSocket (tungstenite does the handshake's checks and all the
//! framing), anything else a 4xx. Every buffer is bounded: a request head (8 KiB), an incoming
//! message (16 KiB), and what waits to be sent to one client (64 KiB in ours, a small kernel
//! send buffer below it). A client that stops reading fills them and is dropped; a connection
//! that never finishes its HTTP request or `hello` is dropped after a timeout; past
//! [`MAX_CONNECTIONS`] the oldest connection makes way.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::{Request, create_response, write_response};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, Utf8Bytes, WebSocket};

use super::protocol::{self, ClientMessage};

/// The browser client, served at `/livereload.js`.
const CLIENT_JS: &str = include_str!("client.js");

/// At most this many connections at once; a new one beyond it closes the oldest.
const MAX_CONNECTIONS: usize = 256;
/// The longest HTTP request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// How long a connection may take to send its request and, as a WebSocket, its `hello`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes waiting in our buffer for one client: some 400 reloads.
const MAX_QUEUED: usize = 64 * 1024;
/// The kernel send buffer asked for per connection (Linux doubles it): enough for hundreds of
/// reloads, and it keeps the kernel's memory for a client that never reads small as well.
const SEND_BUFFER: usize = 32 * 1024;
/// How long to stop accepting after `accept` failed (out of file descriptors, say), so the
/// still-readable listener does not spin the loop.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

const TEXT: &str = "text/plain; charset=utf-8";
const JAVASCRIPT: &str = "application/javascript; charset=utf-8";

fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        // Each reload is written at once; what the kernel does not take waits, up to the cap.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_QUEUED)
        .max_message_size(Some(16 * 1024))
        .max_frame_size(Some(16 * 1024))
}

/// Serves browsers until every sender is gone: accepts connections, answers them, and sends
/// each message from `rx` to every client that said `hello`. `clients` is kept at that number.
pub(super) fn serve(
    listener: TcpListener,
    rx: Receiver<Utf8Bytes>,
    mut wake: UnixStream,
    clients: Arc<AtomicUsize>,
) {
    let mut conns: Vec<Conn> = Vec::new();
    let mut accept_paused_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        conns.retain(|c| {
            let expired = c.deadline.is_some_and(|d| d <= now);
            if expired {
                log::debug!("live reload: {}: handshake timed out", c.peer);
            }
            !expired && !matches!(c.state, State::Closed)
        });
        clients.store(conns.iter().filter(|c| c.is_listening()).count(), Ordering::Relaxed);
        if accept_paused_until.is_some_and(|t| t <= now) {
            accept_paused_until = None;
        }

        let next = conns.iter().filter_map(|c| c.deadline).chain(accept_paused_until).min();
        let accepting = accept_paused_until.is_none();
        let timeout = next.map(|t| t.saturating_duration_since(now));
        let ready = match poll(&listener, accepting, &wake, &conns, timeout) {
            Ok(ready) => ready,
            Err(e) => {
                log::error!("live reload stopped: poll failed: {e}");
                return;
            }
        };

        if ready.wake {
            drain(&mut wake);
        }
        loop {
            match rx.try_recv() {
                Ok(message) => broadcast(&mut conns, &message),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    log::debug!("live reload: the watcher stopped; closing");
                    return;
                }
            }
        }
        for (conn, revents) in conns.iter_mut().zip(ready.conns) {
            if !revents.is_empty() {
                conn.ready(revents);
            }
        }
        if ready.listener {
            accept(&listener, &mut conns, &mut accept_paused_until);
        }
    }
}

/// What one `poll` found ready.
struct Ready {
    /// The listener has a connection to accept.
    listener: bool,
    /// The wake-up socket has bytes: a message waits in the channel.
    wake: bool,
    /// What each connection is ready for, in the order of the connections polled (empty for
    /// none, and for a closed one).
    conns: Vec<PollFlags>,
}

/// Waits until the listener (only while `accepting`), the wake-up socket `wake` or one of
/// `conns` is ready, or `timeout` passes (forever without one). An interrupted wait returns
/// early, as if it timed out.
fn poll(
    listener: &TcpListener,
    accepting: bool,
    wake: &UnixStream,
    conns: &[Conn],
    timeout: Option<Duration>,
) -> io::Result<Ready> {
    let mut fds = Vec::with_capacity(conns.len() + 2);
    fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
    // Which entry of `fds` is each connection's: a closed one has none.
    let entries: Vec<Option<usize>> = conns
        .iter()
        .map(|conn| {
            conn.fd().map(|fd| {
                fds.push(PollFd::new(fd, conn.events()));
                fds.len() - 1
            })
        })
        .collect();
    // A paused listener is left out of the set, so it cannot wake the loop.
    let listener_entry = accepting.then(|| {
        fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
        fds.len() - 1
    });
    // Rounded up, so a deadline is not woken for a millisecond early and polled again.
    let timeout = timeout.map_or(PollTimeout::NONE, |t| {
        PollTimeout::try_from(t.as_micros().div_ceil(1000)).unwrap_or(PollTimeout::MAX)
    });
    match nix::poll::poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(errno) => return Err(errno.into()),
    }
    // Bits nix does not name still mean the kernel has news: the connection finds out what
    // by reading.
    let revents = |entry: usize| fds[entry].revents().unwrap_or(PollFlags::all());
    Ok(Ready {
        listener: listener_entry.is_some_and(|entry| !revents(entry).is_empty()),
        wake: !revents(0).is_empty(),
        conns: entries.into_iter().map(|e| e.map_or(PollFlags::empty(), revents)).collect(),
    })
}

/// Reads the wake-up bytes, so that `poll` sleeps again.
fn drain(wake: &mut UnixStream) {
    let mut buf = [0u8; 256];
    while matches!(wake.read(&mut buf), Ok(n) if n > 0) {}
}

/// Accepts every waiting connection.
fn accept(listener: &TcpListener, conns: &mut Vec<Conn>, paused_until: &mut Option<Instant>) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nonblocking(true) {
                    log::debug!("live reload: {peer}: {e}");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                limit_send_buffer(&stream);
                if conns.len() >= MAX_CONNECTIONS {
                    let oldest = conns.remove(0);
                    log::warn!(
                        "live reload: {MAX_CONNECTIONS} browser connections open; closed the \
                         oldest ({})",
                        oldest.peer
                    );
                }
                log::debug!("live reload: {peer}: connected");
                conns.push(Conn {
                    peer,
                    deadline: Some(Instant::now() + HANDSHAKE_TIMEOUT),
                    state: State::Head { stream, buf: Vec::new() },
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::warn!("live reload: cannot accept a connection: {e}");
                *paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                return;
            }
        }
    }
}

/// Asks the kernel for a small send buffer on `stream` (see [`SEND_BUFFER`]); a refusal only
/// leaves the default.
fn limit_send_buffer(stream: &TcpStream) {
    // Ignored: the buffer is a bound on memory, not something the connection needs to work.
    let _ = socket2::SockRef::from(stream).set_send_buffer_size(SEND_BUFFER);
}

/// Sends `message` to every client that said `hello`, dropping those that cannot take it.
fn broadcast(conns: &mut [Conn], message: &Utf8Bytes) {
    let mut sent = 0;
    for conn in conns.iter_mut() {
        if let State::Socket { ws, hello: true, flushing } = &mut conn.state {
            match after_write(ws.write(Message::Text(message.clone()))) {
                Ok(pending) => {
                    // An eager write sends whatever waited before it too.
                    *flushing = pending;
                    sent += 1;
                }
                Err(why) => {
                    log::debug!("live reload: {}: dropped ({why})", conn.peer);
                    conn.state = State::Closed;
                }
            }
        }
    }
    log::debug!("live reload: {message} sent to {sent} browser(s)");
}

/// Interprets the result of a write or flush: Ok(true) if bytes still wait for the socket to
/// become writable, Ok(false) if all went out, or why the client must be dropped.
fn after_write(result: tungstenite::Result<()>) -> Result<bool, String> {
    match result {
        Ok(()) => Ok(false),
        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
        Err(tungstenite::Error::WriteBufferFull(_)) => {
            Err(format!("it stopped reading: {MAX_QUEUED} bytes wait for it"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// One browser connection.
struct Conn {
    peer: SocketAddr,
    /// Until when the HTTP exchange or the `hello` may take; None once the client listens.
    deadline: Option<Instant>,
    state: State,
}

enum State {
    /// Reading the HTTP request head.
    Head {
        stream: TcpStream,
        buf: Vec<u8>,
    },
    /// Writing an HTTP response; then becoming a WebSocket with `upgrade` (the bytes read past
    /// the request head), or closing.
    Respond {
        stream: TcpStream,
        out: Vec<u8>,
        done: usize,
        upgrade: Option<Vec<u8>>,
    },
    /// A WebSocket: `hello` once the client said hello (only then it gets reloads), `flushing`
    /// while bytes wait for the socket to become writable.
    Socket {
        ws: Box<WebSocket<TcpStream>>,
        hello: bool,
        flushing: bool,
    },
    Closed,
}

impl Conn {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.state {
            State::Head { stream, .. } | State::Respond { stream, .. } => Some(stream.as_fd()),
            State::Socket { ws, .. } => Some(ws.get_ref().as_fd()),
            State::Closed => None,
        }
    }

    fn events(&self) -> PollFlags {
        match &self.state {
            State::Head { .. } => PollFlags::POLLIN,
            State::Respond { .. } => PollFlags::POLLOUT,
            State::Socket { flushing: true, .. } => PollFlags::POLLIN | PollFlags::POLLOUT,
            State::Socket { .. } => PollFlags::POLLIN,
            State::Closed => PollFlags::empty(),
        }
    }

    /// Returns true if and only if this client gets reloads.
    fn is_listening(&self) -> bool {
        matches!(self.state, State::Socket { hello: true, .. })
    }

    /// Moves the connection on after `poll` reported `revents` for it.
    fn ready(&mut self, revents: PollFlags) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = match state {
            State::Head { stream, buf } => self.read_head(stream, buf),
            State::Respond { stream, out, done, upgrade } => {
                self.respond(stream, out, done, upgrade)
            }
            State::Socket { ws, hello, flushing } => {
                let writable = revents.contains(PollFlags::POLLOUT);
                self.socket(ws, hello, flushing && writable)
            }
            State::Closed => State::Closed,
        };
    }

    fn read_head(&mut self, mut stream: TcpStream, mut buf: Vec<u8>) -> State {
        let mut chunk = [0u8; 2048];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => return State::Closed,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > MAX_HEAD {
                        return self.reply(stream, "431 Request Header Fields Too Large", TEXT, "");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return State::Closed,
            }
        }
        let (len, request) = match Request::try_parse(&buf) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return State::Head { stream, buf },
            Err(e) => return self.reply(stream, "400 Bad Request", TEXT, &format!("{e}\n")),
        };
        match request.uri().path() {
            "/livereload.js" => self.reply(stream, "200 OK", JAVASCRIPT, CLIENT_JS),
            "/livereload" => match create_response(&request) {
                Ok(response) => {
                    let mut out = Vec::new();
                    if write_response(&mut out, &response).is_err() {
                        return State::Closed;
                    }
                    let upgrade = Some(buf.split_off(len));
                    self.respond(stream, out, 0, upgrade)
                }
                Err(e) => self.reply(
                    stream,
                    "400 Bad Request",
                    TEXT,
                    &format!("/livereload takes a WebSocket handshake: {e}\n"),
                ),
            },
            _ => self.reply(
                stream,
                "404 Not Found",
                TEXT,
                "mybb-sync serves /livereload.js and the WebSocket /livereload\n",
            ),
        }
    }

    /// Starts sending a plain HTTP response with `body` of type `kind`, then closes.
    fn reply(&mut self, stream: TcpStream, status: &str, kind: &str, body: &str) -> State {
        let out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
             Cache-Control: no-cache\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        self.respond(stream, out.into_bytes(), 0, None)
    }

    fn respond(
        &mut self,
        mut stream: TcpStream,
        out: Vec<u8>,
        mut done: usize,
        upgrade: Option<Vec<u8>>,
    ) -> State {
        while done < out.len() {
            match stream.write(&out[done..]) {
                Ok(0) => return State::Closed,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return State::Respond { stream, out, done, upgrade };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return State::Closed,
            }
        }
        match upgrade {
            None => State::Closed,
            Some(part) => {
                log::debug!("live reload: {}: WebSocket open", self.peer);
                let ws = WebSocket::from_partially_read(
                    stream,
                    part,
                    Role::Server,
                    Some(websocket_config()),
                );
                // The hello may already be in `part`, where poll cannot see it: read now.
                self.socket(Box::new(ws), false, false)
            }
        }
    }

    /// Reads what the client sent (answering its `hello`), then writes what waits.
    fn socket(&mut self, mut ws: Box<WebSocket<TcpStream>>, mut hello: bool, flush: bool) -> State {
        let mut pending = flush;
        loop {
            match ws.read() {
                Ok(Message::Text(text)) => match protocol::parse_client(&text) {
                    Ok(ClientMessage::Hello { speaks_7: true }) if !hello => {
                        hello = true;
                        self.deadline = None;
                        log::debug!("live reload: {}: hello", self.peer);
                        let answer = Message::text(protocol::server_hello());
                        match after_write(ws.write(answer)) {
                            Ok(waiting) => pending |= waiting,
                            Err(why) => return self.drop_client(&why),
                        }
                    }
                    Ok(ClientMessage::Hello { speaks_7: true } | ClientMessage::Info) => {}
                    Ok(ClientMessage::Hello { speaks_7: false }) => {
                        return self.drop_client("it does not speak LiveReload protocol 7");
                    }
                    Err(protocol::NotUnderstood(why)) => return self.drop_client(&why),
                },
                Ok(Message::Binary(_)) => return self.drop_client("it sent a binary message"),
                // Pings are answered by tungstenite; a close is answered, then reads fail.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_)) => {
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    log::debug!("live reload: {}: closed", self.peer);
                    return State::Closed;
                }
                Err(e) => return self.drop_client(&e.to_string()),
            }
        }
        // Pongs and close replies queued by reads, and anything left from before.
        if pending || ws.can_write() {
            match after_write(ws.flush()) {
                Ok(waiting) => pending = waiting,
                Err(why) => return self.drop_client(&why),
            }
        }
        State::Socket { ws, hello, flushing: pending }
    }

    fn drop_client(&self, why: &str) -> State {
        log::debug!("live reload: {}: dropped ({why})", self.peer);
        State::Closed
    }
}
