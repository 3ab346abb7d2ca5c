//! Issue 26, part 5: a stylesheet (a LONGTEXT) too big for the connection to read with its row
//! in one packet is refused by name, with the server setting to raise, and the rest of the
//! board still syncs (exit 3), where every command failed with "Packet is larger than
//! max_allowed_packet" (exit 1). No server setting is changed: a stylesheet a few bytes under
//! the server's own `max_allowed_packet` makes its row, with the other columns, too big.
// See: issue 26

use crate::export::sync_cmd;
use crate::util::{TestDb, TestDir};

#[test]
fn a_stylesheet_too_big_for_the_packet_is_refused_by_name_and_the_rest_syncs() {
    let db = TestDb::new("oversize_stylesheet");
    let dir = TestDir::new("oversize_stylesheet");
    let root = dir.join("sync");
    let limit: u64 = db.query_one("SELECT @@max_allowed_packet");
    assert!(
        limit <= 64 << 20,
        "the test server's max_allowed_packet is {limit} bytes; this test writes a row of that \
         size, and expects at most 64 MiB (MariaDB's default is 16 MiB)"
    );
    // Built by the server, under its limit: the master theme's global.css, which Default
    // inherits.
    db.exec(&format!(
        "UPDATE mybb_themestylesheets SET stylesheet = REPEAT('a', {}) \
         WHERE tid = 1 AND name = 'global.css'",
        limit - 16
    ));

    let out = sync_cmd(&db, &root).arg("export").expect_code(3);
    assert!(out.stderr.contains("styles/Default/global.css: refused"), "{out}");
    assert!(out.stderr.contains("\"global.css\" (sid 1, theme tid 1)"), "{out}");
    assert!(out.stderr.contains("raise max_allowed_packet"), "{out}");
    assert!(!out.stderr.contains("Packet is larger"), "{out}");
    assert!(!root.join("styles/Default/global.css").exists());
    assert!(root.join("styles/Default/usercp.css").is_file(), "the rest is exported");
    assert!(root.join("template_sets/Default Templates/Header Templates/header.html").is_file());

    let out = sync_cmd(&db, &root).args(["status", "--porcelain"]).expect_code(3);
    assert!(out.stdout.starts_with("refused\tstyles/Default/global.css\t"), "{out}");

    // A file of the refused item is never compared with an empty row, nor written over it; a
    // local edit elsewhere still goes through.
    std::fs::write(root.join("styles/Default/global.css"), "body { color: red }").unwrap();
    std::fs::write(root.join("styles/Default/usercp.css"), "body { color: blue }").unwrap();
    let out = sync_cmd(&db, &root).arg("import").expect_code(3);
    assert!(out.stderr.contains("styles/Default/global.css: refused"), "{out}");
    assert_eq!(db.stylesheet(2, "usercp.css").unwrap(), b"body { color: blue }", "{out}");
    let size: u64 = db.query_one(
        "SELECT LENGTH(stylesheet) FROM mybb_themestylesheets WHERE tid = 1 AND name = 'global.css'",
    );
    assert_eq!(size, limit - 16);
    let copies: u64 = db.query_one(
        "SELECT COUNT(*) FROM mybb_themestylesheets WHERE tid = 2 AND name = 'global.css'",
    );
    assert_eq!(copies, 0, "no copy-on-write of a row that was not read");
}
