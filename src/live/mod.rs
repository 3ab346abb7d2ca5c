//! Live reload: tells browsers the moment a save is live on the forum, over LiveReload
//! protocol 7, so a page shows a saved stylesheet in place and reloads for a saved template.
//!
//! ```text
//! watcher's worker --Change list--> Sender::publish --bounded channel + wake-up--> server thread
//!   (never waits)                    (reload JSON)                                 (poll loop)
//! ```
//! The worker learns what it made live from `sync/apply/`'s report ([`Change`]: a stylesheet whose
//! cache files were renamed into place, a template whose row was written) and hands it to a
//! [`Sender`], which never blocks: a full channel drops the message. One server thread
//! (`server.rs`) multiplexes every browser connection with `poll(2)`, serves `/livereload.js`
//! (`client.js`, embedded) and the WebSocket at `/livereload`; a client that stops reading is
//! dropped once its small bounded queue is full, so no client can stall the worker or grow the
//! watcher's memory.

mod protocol;
mod server;

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};

use tungstenite::Utf8Bytes;

use crate::error::{Error, Result};
use crate::mybb::db::Db;

pub use protocol::PROTOCOL_7;

/// The LiveReload port the browser extensions connect to.
pub const DEFAULT_PORT: u16 = 35729;

/// Where `--live-reload` listens without an address: this machine only.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT);

/// How many reloads may wait for the server thread; more are dropped (the thread drains the
/// channel within microseconds, so only a stuck thread would lose any).
const CHANNEL_CAPACITY: usize = 1024;

/// Something a sync made live on the forum, as `sync/apply/` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The cache files of stylesheet `name` of theme `tid` hold its new content (renamed into
    /// place). With `relinked`, the themes' stylesheet lists changed too (a copy-on-write, a
    /// new name, a fallback to `css.php`): open pages link another URL now, so they reload.
    Stylesheet { tid: u32, name: String, relinked: bool },
    /// A template row was written; `path` is its file, relative to the sync root.
    Template { path: String },
}

/// Returns the URL path, relative to MyBB's root, that forum pages link for stylesheet `name`
/// of theme `tid`, as `global.php` builds it: the list entry `cache/themes/theme{tid}/{name}`,
/// with every `.css` replaced by `.min.css` when the `minifycss` setting is on. Pages of themes
/// that inherit the stylesheet link the same file, so they match too.
pub fn stylesheet_link(tid: u32, name: &str, minify: bool) -> String {
    let link = format!("{}/{name}", crate::mybb::stylecache::theme_dir(tid));
    if minify { link.replace(".css", ".min.css") } else { link }
}

/// Returns true if and only if PHP reads the setting `value` as true, as `global.php`'s
/// `if($mybb->settings['minifycss'])` does.
fn php_truthy(value: &str) -> bool {
    !value.is_empty() && value != "0"
}

/// The watcher's end: hands reloads to the server thread without ever waiting for it.
#[derive(Debug, Clone)]
pub struct Sender {
    tx: SyncSender<Utf8Bytes>,
    /// Written one byte to wake the server thread's `poll`; non-blocking, and a full pipe
    /// means the thread is awake already.
    wake: Arc<UnixStream>,
}

impl Sender {
    /// Tells every connected browser about `changes`: a `reload` per change, in order. Reads
    /// the `minifycss` setting when a stylesheet changed (a failed read is logged and taken as
    /// off: a swap then matches no link, and nothing worse happens).
    pub fn publish(&self, db: &Db, changes: &[Change]) {
        let stylesheets = changes.iter().any(|c| matches!(c, Change::Stylesheet { .. }));
        let minify = stylesheets
            && match db.setting("minifycss") {
                Ok(value) => value.as_deref().is_some_and(php_truthy),
                Err(e) => {
                    log::debug!("live reload: {}", crate::error::chain(&e));
                    false
                }
            };
        for change in changes {
            let (path, live_css) = match change {
                Change::Stylesheet { tid, name, relinked } => {
                    (stylesheet_link(*tid, name, minify), !relinked)
                }
                Change::Template { path } => (path.clone(), false),
            };
            self.reload(&path, live_css);
        }
    }

    /// Queues a `reload` of `path` for every browser (see [`Change`] for `live_css`); drops it
    /// if the channel is full.
    pub fn reload(&self, path: &str, live_css: bool) {
        match self.tx.try_send(Utf8Bytes::from(protocol::reload(path, live_css))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => log::debug!("live reload: channel full, reload dropped"),
            // The server thread has ended (its error is logged): nobody to tell.
            Err(TrySendError::Disconnected(_)) => return,
        }
        let _ = (&*self.wake).write(&[1]);
    }
}

/// A running live-reload server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    clients: Arc<AtomicUsize>,
}

impl Server {
    /// Returns the address it listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns how many browsers have completed the `hello` handshake and are listening.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Returns the line to add to a template set's `headerinclude` so that every page of the
    /// forum loads the client. For an address that means "every interface", the page asks the
    /// server it came from (`location.hostname`), as LiveReload's own snippet does.
    pub fn script_tag(&self) -> String {
        if self.addr.ip().is_unspecified() {
            format!(
                "<script>document.write('<script src=\"//' + location.hostname + ':{}/livereload.js\"><\\/script>')</script>",
                self.addr.port()
            )
        } else {
            format!("<script src=\"http://{}/livereload.js\"></script>", self.addr)
        }
    }
}

/// Starts listening on `addr` and serving browsers on a thread of its own. The server runs
/// until every [`Sender`] is dropped.
///
/// # Errors
///
/// [`Error::Listen`] when the address cannot be bound (in use, not this machine's).
pub fn start(addr: SocketAddr) -> Result<(Server, Sender)> {
    let listen = |source| Error::Listen { addr, source };
    let listener = TcpListener::bind(addr).map_err(listen)?;
    listener.set_nonblocking(true).map_err(listen)?;
    let local = listener.local_addr().map_err(listen)?;
    let (wake_tx, wake_rx) = UnixStream::pair().map_err(listen)?;
    wake_tx.set_nonblocking(true).map_err(listen)?;
    wake_rx.set_nonblocking(true).map_err(listen)?;
    let (tx, rx) = mpsc::sync_channel(CHANNEL_CAPACITY);
    let clients = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&clients);
    std::thread::Builder::new()
        .name("live-reload".to_owned())
        .spawn(move || server::serve(listener, rx, wake_rx, counter))
        .map_err(listen)?;
    log::debug!("live reload: listening on {local}");
    Ok((Server { addr: local, clients }, Sender { tx, wake: Arc::new(wake_tx) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stylesheet_is_named_as_the_forum_links_it() {
        assert_eq!(stylesheet_link(3, "global.css", false), "cache/themes/theme3/global.css");
        assert_eq!(stylesheet_link(3, "global.css", true), "cache/themes/theme3/global.min.css");
        // str_replace replaces every occurrence, as global.php does to the URL.
        assert_eq!(stylesheet_link(2, "a.css.css", true), "cache/themes/theme2/a.min.css.min.css");
        assert!(php_truthy("1") && !php_truthy("0") && !php_truthy(""));
    }
}
