//! `watch --live-reload`: a browser hears of each save exactly once, and only once the save is
//! live on the forum; misbehaving clients cannot hold the watcher up (issue 14).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mybb_sync::live;
use mybb_sync::mybb::stylecache;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::export::sync_cmd;
use crate::util::{Running, TestCommand, TestDb, TestDir, wait_until};

const DEADLINE: Duration = Duration::from_secs(30);
const HEADER: &str = "template_sets/Default Templates/Header Templates/header.html";
const FOOTER: &str = "template_sets/Default Templates/Footer Templates/footer.html";
const FOOTER_CONTACT: &str =
    "template_sets/Default Templates/Footer Templates/footer_contactus.html";
/// A stylesheet theme 2 (Default) has a row of its own: saving it changes no stylesheet list.
const COLOR_BLACK: &str = "styles/Default/color_black.css";
/// A stylesheet theme 2 inherits from the master theme: saving it copies it into theme 2.
const GLOBAL: &str = "styles/Default/global.css";
const HELLO: &str =
    r#"{"command":"hello","protocols":["http://livereload.com/protocols/official-7"]}"#;

/// The `reload` the server sends for `path`.
fn reload(path: &str, live_css: bool) -> String {
    format!(r#"{{"command":"reload","path":"{path}","liveCSS":{live_css}}}"#)
}

/// A test's database, directory, exported sync root and MyBB root with its cache written.
pub struct Forum {
    pub db: TestDb,
    pub dir: TestDir,
    pub sync_root: PathBuf,
    pub mybb_root: PathBuf,
}

impl Forum {
    /// Returns a fixture forum, exported, whose stylesheet cache `cache rebuild` has written
    /// (every row dated two hours ago, so the files written now are new enough for them).
    pub fn new(name: &str) -> Forum {
        Forum::with(name, "")
    }

    /// Returns the forum of [`Forum::new`], with `sql` run on its database before the export.
    pub fn with(name: &str, sql: &str) -> Forum {
        let db = TestDb::new(name);
        db.exec("UPDATE mybb_themestylesheets SET lastmodified = UNIX_TIMESTAMP() - 7200");
        if !sql.is_empty() {
            db.exec(sql);
        }
        let dir = TestDir::new(name);
        let sync_root = dir.join("sync");
        let mybb_root = dir.join("forum");
        std::fs::create_dir_all(mybb_root.join("cache/themes")).unwrap();
        let forum = Forum { db, dir, sync_root, mybb_root };
        forum.cmd().arg("export").expect_success();
        forum.cmd().args(["cache", "rebuild"]).expect_success();
        forum
    }

    fn cmd(&self) -> TestCommand {
        sync_cmd(&self.db, &self.sync_root).arg("--mybb").arg(&self.mybb_root)
    }

    /// Starts `watch --live-reload` on a port the system picks; returns once it watches, with
    /// the address it serves browsers on.
    pub fn watch(&self) -> (Running, SocketAddr) {
        let run = self
            .cmd()
            .args(["watch", "--debounce", "30", "--no-pull", "--live-reload", "127.0.0.1:0"])
            .spawn();
        wait_until("the watcher to start watching", DEADLINE, || {
            run.stderr_so_far().contains("watching ")
        });
        let out = run.stdout_so_far();
        let addr = out
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in the watcher's output: {out}"));
        assert!(
            out.contains(&format!("<script src=\"http://{addr}/livereload.js\"></script>")),
            "{out}"
        );
        (run, addr)
    }

    pub fn save(&self, relative: &str, content: &str) {
        std::fs::write(self.sync_root.join(relative), content).unwrap();
    }

    pub fn cache_file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.mybb_root.join("cache/themes").join(name)).unwrap()
    }
}

/// A LiveReload client, as a browser extension is one.
struct Browser {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl Browser {
    /// Connects, says hello and checks the server's answer.
    fn connect(addr: SocketAddr) -> Browser {
        let (mut ws, _) = tungstenite::connect(format!("ws://{addr}/livereload")).unwrap();
        if let MaybeTlsStream::Plain(stream) = ws.get_mut() {
            stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        }
        ws.send(Message::text(HELLO)).unwrap();
        let mut browser = Browser { ws };
        let hello = browser.next();
        assert!(hello.contains(r#""command":"hello""#), "{hello}");
        assert!(hello.contains(live::PROTOCOL_7), "{hello}");
        browser
    }

    /// Returns the next text message, waiting up to [`DEADLINE`].
    #[track_caller]
    fn next(&mut self) -> String {
        let started = Instant::now();
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => return text.as_str().to_owned(),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    assert!(started.elapsed() < DEADLINE, "no message within {DEADLINE:?}");
                }
                Err(e) => panic!("the connection failed: {e}"),
            }
        }
    }

    /// Returns true if and only if the server closed the connection (within [`DEADLINE`]).
    fn is_closed_by_server(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < DEADLINE {
            match self.ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

/// A theme inheriting every stylesheet from Default (tid 2), as development themes often do.
const CHILD_THEME: &str = "INSERT INTO mybb_themes (tid, name, pid, def, properties, stylesheets, \
    allowedgroups) SELECT 3, 'Child', 2, 0, properties, '', allowedgroups FROM mybb_themes WHERE tid = 2";

#[test]
fn each_save_is_announced_once_and_only_after_it_is_live() {
    let forum = Forum::with("live_once_when_live", CHILD_THEME);
    let (run, addr) = forum.watch();
    let mut browser = Browser::connect(addr);

    // A stylesheet: swapped in place, once both cache files hold the new bytes.
    let css = ".probe { color: #112233; background: url(images/x.png); }\n";
    forum.save(COLOR_BLACK, css);
    let message = browser.next();
    let (file, min) = (
        forum.cache_file("theme2/color_black.css"),
        forum.cache_file("theme2/color_black.min.css"),
    );
    let path = "cache/themes/theme2/color_black.css";
    assert_eq!(message, reload(path, true));
    let want = stylecache::cache_css(css, 2);
    assert_eq!(String::from_utf8(file).unwrap(), want);
    assert_eq!(String::from_utf8(min).unwrap(), stylecache::minify(&want));
    // The path is what the pages of the theme and of the theme inheriting from it link.
    for tid in [2, 3] {
        let list: String = forum
            .db
            .query_rows_with("SELECT stylesheets FROM mybb_themes WHERE tid = ?", (tid,))
            .remove(0);
        assert!(list.contains(&format!("\"{path}\"")), "theme {tid}: {list}");
    }

    // A template: the page reloads, once its row holds the new content.
    forum.save(HEADER, "<!-- live header -->");
    let message = browser.next();
    let row = forum.db.template(1, "header");
    assert_eq!(message, reload(HEADER, false));
    assert_eq!(row.as_deref(), Some(&b"<!-- live header -->"[..]));

    // An unchanged save (an echo) and a refused file are no news.
    forum.save(COLOR_BLACK, css);
    forum.save(FOOTER, "");
    wait_until("the empty file to be refused", DEADLINE, || {
        run.stderr_so_far().contains("skipping empty file")
    });
    // Anything they had sent would come before the next save's reload.
    forum.save(FOOTER_CONTACT, "<!-- sentinel -->");
    assert_eq!(browser.next(), reload(FOOTER_CONTACT, false));
    assert_ne!(forum.db.template(1, "footer").as_deref(), Some(&b""[..]));
}

#[test]
fn a_copied_stylesheet_reloads_the_page_then_swaps_in_place_under_its_minified_name() {
    let forum = Forum::new("live_copy_on_write");
    forum.db.exec("UPDATE mybb_settings SET value = '1' WHERE name = 'minifycss'");
    let (_run, addr) = forum.watch();
    let mut browser = Browser::connect(addr);

    // The first save copies global.css into theme 2: pages must load again to link its file.
    forum.save(GLOBAL, "body { color: red; }\n");
    let message = browser.next();
    let lists: String = forum.db.query_one("SELECT stylesheets FROM mybb_themes WHERE tid = 2");
    assert_eq!(message, reload("cache/themes/theme2/global.min.css", false));
    assert!(lists.contains("cache/themes/theme2/global.css"), "{lists}");

    // From then on the link stays: swapped in place, by the name pages link with minifycss on.
    forum.save(GLOBAL, "body { color: blue; }\n");
    let message = browser.next();
    let min = forum.cache_file("theme2/global.min.css");
    assert_eq!(message, reload("cache/themes/theme2/global.min.css", true));
    assert_eq!(min, b"body{color:blue}");
}

#[test]
fn a_live_reload_address_in_use_stops_the_watcher_before_it_starts() {
    let forum = Forum::new("live_address_in_use");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = forum.cmd().args(["watch", "--live-reload", &addr]).expect_code(1);
    let want = format!(
        "mybb-sync: cannot listen for live-reload browsers on {addr} (see --live-reload): "
    );
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    assert!(!out.stderr.contains("watching "), "{}", out.stderr);
}

/// Returns the resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

#[test]
fn fifty_browsers_one_of_which_never_reads_hold_up_no_save() {
    let forum = Forum::new("live_fifty_browsers");
    let (run, addr) = forum.watch();
    let mut readers: Vec<Browser> = (0..49).map(|_| Browser::connect(addr)).collect();
    // Says hello, then never reads again.
    let _silent = Browser::connect(addr);

    // The first batches grow the process by what every batch reuses (the database driver's
    // buffers, the allocator's arenas: about 4 MiB, the same after 100 saves or 400), so the
    // baseline is taken after a few; what is measured is growth with the saves after them.
    let (warm_up, saves) = (20, 120);
    let mut before = 0;
    for n in 0..saves {
        if n == warm_up {
            before = rss_kib(run.id());
        }
        let content = format!("<!-- save {n} -->");
        forum.save(HEADER, &content);
        wait_until(&format!("save {n} to reach the database"), DEADLINE, || {
            forum.db.template(1, "header").as_deref() == Some(content.as_bytes())
        });
    }
    for reader in &mut readers {
        for _ in 0..saves {
            assert_eq!(reader.next(), reload(HEADER, false));
        }
    }
    let after = rss_kib(run.id());
    // What waits for the silent client is capped at 64 KiB; 4 MiB leaves room for the
    // allocator, never for a queue that grows with every save.
    assert!(after < before + 4096, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn a_client_that_never_reads_is_dropped_and_the_others_still_hear() {
    let (server, sender) = live::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let mut reader = Browser::connect(addr);
    let _silent = Browser::connect(addr);
    wait_until("both clients to listen", DEADLINE, || server.clients() == 2);

    // Reloads of a long path, until the silent client's queue is full and it is dropped.
    let path = format!("{}.html", "x".repeat(2000));
    let started = Instant::now();
    let mut sent = 0;
    while server.clients() == 2 {
        assert!(started.elapsed() < DEADLINE, "still 2 clients after {sent} reloads");
        sender.reload(&path, false);
        sent += 1;
        // Keep reading, as a browser does; what arrives is only ever a reload of that path.
        if sent % 16 == 0 {
            while let Some(text) = try_next(&mut reader) {
                assert_eq!(text, reload(&path, false));
            }
        }
    }
    sender.reload("after.html", false);
    loop {
        let text = reader.next();
        if text != reload(&path, false) {
            assert_eq!(text, reload("after.html", false));
            break;
        }
    }
    assert_eq!(server.clients(), 1);
}

/// Returns the next text message if one is there now (within the read timeout).
fn try_next(browser: &mut Browser) -> Option<String> {
    match browser.ws.read() {
        Ok(Message::Text(text)) => Some(text.as_str().to_owned()),
        Ok(_) => None,
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(e) => panic!("the connection failed: {e}"),
    }
}

/// Sends `request` on a plain connection and returns the whole response.
fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_server_serves_its_script_and_drops_clients_that_send_commands_or_garbage() {
    let (server, sender) = live::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();

    let script = http(addr, "GET /livereload.js?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(script.starts_with("HTTP/1.1 200 OK\r\n"), "{script:.200}");
    assert!(script.contains("Content-Type: application/javascript"), "{script:.200}");
    assert!(script.contains(live::PROTOCOL_7) && script.contains("new WebSocket"));
    let missing = http(addr, "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
    let garbage = http(addr, "\x00\x01 what\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let no_upgrade = http(addr, "GET /livereload HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(no_upgrade.starts_with("HTTP/1.1 400 "), "{no_upgrade}");

    let mut good = Browser::connect(addr);
    let mut commander = Browser::connect(addr);
    commander.ws.send(Message::text(r#"{"command":"reload","path":"x.css"}"#)).unwrap();
    assert!(commander.is_closed_by_server(), "a client may not send reload");
    let mut binary = Browser::connect(addr);
    binary.ws.send(Message::binary(vec![0u8; 100])).unwrap();
    assert!(binary.is_closed_by_server(), "a binary message closes the connection");
    let mut babbler = Browser::connect(addr);
    babbler.ws.send(Message::text("{not json")).unwrap();
    assert!(babbler.is_closed_by_server(), "garbage closes the connection");
    // Too big for a message a client may send.
    let mut flooder = Browser::connect(addr);
    let _ = flooder.ws.send(Message::text("x".repeat(1 << 20)));
    assert!(flooder.is_closed_by_server(), "an oversized message closes the connection");
    // A client that never says hello gets nothing and is not counted.
    let (_mute, _) = tungstenite::connect(format!("ws://{addr}/livereload")).unwrap();

    good.ws.send(Message::text(r#"{"command":"info","plugins":{},"url":"x"}"#)).unwrap();
    wait_until("one client to listen", DEADLINE, || server.clients() == 1);
    sender.reload("a.css", true);
    assert_eq!(good.next(), reload("a.css", true));
}

/// Returns the Chromium to test with: `MYBB_SYNC_CHROMIUM`, else the first of `chromium`,
/// `chromium-browser`, `google-chrome` on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MYBB_SYNC_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(|name| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Sends `GET path` to `addr` and returns the body (by its Content-Length: DevTools keeps the
/// connection open).
fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the connection closed early: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| body.len() >= len) {
                return body.to_owned();
            }
        }
    }
}

/// A DevTools protocol session with one page.
struct DevTools {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u32,
}

impl DevTools {
    /// Evaluates `expression` in the page and returns its value, which must be a string
    /// without quotes or backslashes.
    fn eval(&mut self, expression: &str) -> String {
        self.next_id += 1;
        let id = self.next_id;
        let request = format!(
            r#"{{"id":{id},"method":"Runtime.evaluate","params":{{"expression":{},"returnByValue":true}}}}"#,
            live_json_string(expression)
        );
        self.ws.send(Message::text(request)).unwrap();
        loop {
            let text = match self.ws.read().unwrap() {
                Message::Text(text) => text.as_str().to_owned(),
                _ => continue,
            };
            if !text.starts_with(&format!(r#"{{"id":{id},"#)) {
                continue; // an event, or the answer to an earlier request
            }
            // {"id":N,"result":{"result":{"type":"string","value":"..."}}}
            return text
                .split_once(r#""value":""#)
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(value, _)| value.to_owned())
                // A page in the middle of loading has no value to give yet.
                .unwrap_or_default();
        }
    }
}

/// Returns `text` as a JSON string (for the expressions of this file: no control characters).
fn live_json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[test]
fn a_real_browser_swaps_a_saved_stylesheet_in_place_and_reloads_for_a_template() {
    if std::env::var("MYBB_SYNC_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SKIPPED: the live-reload browser test (MYBB_SYNC_SKIP_BROWSER=1)");
        return;
    }
    let Some(chromium) = chromium() else {
        panic!(
            "this test needs headless Chromium: install it (Debian: apt-get install chromium; \
             scripts/test.sh does so on CI) or point MYBB_SYNC_CHROMIUM at it; to skip this test \
             knowingly, set MYBB_SYNC_SKIP_BROWSER=1"
        );
    };
    let forum = Forum::new("live_browser");
    let (_run, addr) = forum.watch();
    // The page a forum serves: MyBB's link to a cached stylesheet (with its ?t=mtime), and the
    // line `watch --live-reload` says to add to headerinclude.
    let page = forum.mybb_root.join("index.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html>\n<html><head><title>forum</title>\n\
             <link type=\"text/css\" rel=\"stylesheet\" href=\"cache/themes/theme2/color_black.css?t=1\" />\n\
             <script src=\"http://{addr}/livereload.js\"></script>\n\
             </head><body><div class=\"probe\">probe</div></body></html>\n"
        ),
    )
    .unwrap();
    let profile = forum.dir.join("chromium-profile");
    let _browser = TestCommand::program(&chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .spawn();
    // Chromium writes the port it chose into the profile.
    let active = profile.join("DevToolsActivePort");
    wait_until("Chromium to open its DevTools port", DEADLINE, || {
        std::fs::read_to_string(&active).is_ok_and(|t| t.lines().count() >= 2)
    });
    let port: u16 =
        std::fs::read_to_string(&active).unwrap().lines().next().unwrap().parse().unwrap();
    let devtools_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut page_ws = None;
    wait_until("the page to be listed", DEADLINE, || {
        let list = http_get(devtools_addr, "/json/list");
        page_ws = list
            .split(r#""webSocketDebuggerUrl": ""#)
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(url, _)| url.to_owned()))
            .find(|url| url.contains("/devtools/page/"));
        page_ws.is_some()
    });
    let (ws, _) = tungstenite::connect(page_ws.unwrap()).unwrap();
    let mut devtools = DevTools { ws, next_id: 0 };

    let connected =
        "String(!!(window.__mybbSyncLiveReload && window.__mybbSyncLiveReload.connected))";
    wait_until("the page's live-reload client to connect", DEADLINE, || {
        devtools.eval(connected) == "true"
    });
    let look = "getComputedStyle(document.querySelector('.probe')).color + ' ' + window.__marker \
                + ' ' + document.querySelectorAll('link[rel=stylesheet]').length";
    devtools.eval("window.__marker = 'same-page'; ''");
    assert_eq!(devtools.eval(look), "rgb(0, 0, 0) same-page 1");

    // A stylesheet save: the new style shows on the same page (no navigation: the marker
    // survives), and the old link is gone once the new one loaded.
    forum.save(COLOR_BLACK, ".probe { color: rgb(1, 2, 3); }\n");
    wait_until("the page to show the saved stylesheet", DEADLINE, || {
        devtools.eval(look) == "rgb(1, 2, 3) same-page 1"
    });

    // A template save: the page reloads (the marker is gone), and it connects again.
    forum.save(HEADER, "<!-- reload me -->");
    wait_until("the page to reload", DEADLINE, || {
        devtools.eval("String(window.__marker)") == "undefined"
    });
    wait_until("the reloaded page to connect again", DEADLINE, || {
        devtools.eval(connected) == "true"
    });
    assert_eq!(devtools.eval(look), "rgb(1, 2, 3) undefined 1");
}
