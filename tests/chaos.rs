//! A bounded, seeded chaos run (issue 10): a watcher runs while another process exports in a
//! loop, a thread edits rows as the Admin CP and plugins do, and a thread saves files as
//! editors do; both also delete (issue 25). Afterwards every item's last edit survives
//! somewhere a person can see it, and no item deleted in the database last comes back.
//! Faults are injected at commit through the test hooks (issue 26): half the exports are
//! killed before a rename or see a rename, `fsync` or `syncfs` fail with EIO, and the watcher
//! is killed before one of its renames, up to three times, and started again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::export::sync_cmd;
use crate::util::{TestDb, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);
/// Rounds of each writer thread: enough for a few hundred races, a modest run on 2 cores.
const ROUNDS: u64 = 60;
/// How many templates the writers fight over.
const TITLES: usize = 10;
/// How many templates of the set's own (no master) join them: deleting one deletes the item.
const CUSTOM: usize = 3;
/// What the log holds for a deletion in the database (a set's copy reverted, or an item gone).
const DELETED_IN_DB: &str = "<deleted in the database>";
/// What the log holds for a file deleted on disk.
const DELETED_ON_DISK: &str = "<deleted on disk>";

/// A small deterministic generator (xorshift64*), so that a failing run can be replayed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Every edit made, in the order made: (title, content). Edits happen while holding it, so
/// its order is the order of the edits.
type Log = Arc<Mutex<Vec<(String, String)>>>;

fn db_edit(db: &TestDb, rng: &mut Rng, title: &str, content: &str) {
    let own: u64 = db.query_rows_with(
        "SELECT COUNT(*) FROM mybb_templates WHERE sid = 1 AND title = ?",
        (title,),
    )[0];
    // A template of the set's own has no master to edit: edited in the set, or made again.
    let stamped = rng.below(2) == 0 || title.starts_with("chaos_custom");
    let stamp = if stamped { ", dateline = UNIX_TIMESTAMP()" } else { "" };
    if own > 0 {
        // The Admin CP's edit (new dateline), or Search & Replace (dateline untouched).
        db.exec_with(
            &format!("UPDATE mybb_templates SET template = ?{stamp} WHERE sid = 1 AND title = ?"),
            (content, title),
        );
    } else if stamped {
        // A copy-on-write into the set; if one appeared meanwhile, edit that instead.
        let inserted = db.exec_with(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             SELECT ?, ?, 1, '1837', '', UNIX_TIMESTAMP() FROM DUAL WHERE NOT EXISTS \
             (SELECT 1 FROM mybb_templates WHERE sid = 1 AND title = ?)",
            (title, content, title),
        );
        if inserted == 0 {
            db.exec_with(
                "UPDATE mybb_templates SET template = ?, dateline = UNIX_TIMESTAMP() \
                 WHERE sid = 1 AND title = ?",
                (content, title),
            );
        }
    } else {
        // find_replace_templatesets() on the master template, dateline untouched.
        db.exec_with(
            "UPDATE mybb_templates SET template = ? WHERE sid = -2 AND title = ?",
            (content, title),
        );
    }
}

fn file_save(rng: &mut Rng, path: &Path, content: &str) {
    use std::io::Write;
    match rng.below(4) {
        0 => std::fs::write(path, content).unwrap(),
        1 => {
            let temp = path.with_file_name(format!(".{}.tmp", rng.below(1 << 30)));
            std::fs::write(&temp, content).unwrap();
            std::fs::rename(&temp, path).unwrap();
        }
        2 => {
            // vim: the file is briefly missing.
            let backup =
                path.with_file_name(format!("{}~", path.file_name().unwrap().to_string_lossy()));
            let _ = std::fs::rename(path, &backup);
            std::fs::write(path, content).unwrap();
            let _ = std::fs::remove_file(&backup);
        }
        _ => {
            let (a, b) = content.split_at(content.len() / 2);
            let mut file = std::fs::File::create(path).unwrap();
            file.write_all(a.as_bytes()).unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(10)); // the slow writer being simulated
            file.write_all(b.as_bytes()).unwrap();
        }
    }
}

#[test]
fn chaos_every_last_edit_survives_and_no_row_is_duplicated_or_empty() {
    let seed = std::env::var("MYBB_SYNC_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
            | 1,
    );
    eprintln!("chaos: seed {seed} (replay with MYBB_SYNC_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let db = TestDb::new("chaos");
    for n in 0..CUSTOM {
        db.exec(&format!(
            "INSERT INTO mybb_templates (title, template, sid, version, status, dateline) \
             VALUES ('chaos_custom_{n}', '<p>custom {n}</p>', 1, '1837', '', UNIX_TIMESTAMP())"
        ));
    }
    let dir = crate::util::TestDir::new("chaos");
    let root = dir.join("sync");
    sync_cmd(&db, &root).arg("export").expect_success();
    let db = Arc::new(db);
    let mut all: Vec<PathBuf> = Vec::new();
    for group in std::fs::read_dir(root.join("template_sets/Default Templates")).unwrap() {
        for file in std::fs::read_dir(group.unwrap().path()).unwrap() {
            all.push(file.unwrap().path());
        }
    }
    all.sort();
    all.retain(|p| !p.to_string_lossy().contains("chaos_custom"));
    let mut items: Vec<(String, PathBuf)> = (0..TITLES)
        .map(|_| all.remove(rng.below(all.len() as u64) as usize))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    let custom = root.join("template_sets/Default Templates/Ungrouped Templates");
    items.extend(
        (0..CUSTOM)
            .map(|n| (format!("chaos_custom_{n}"), custom.join(format!("chaos_custom_{n}.html")))),
    );

    let log: Log = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    // Issue 26: the watcher is killed before one of its renames (a pull's, or the state's),
    // a few times, and started again each time, as a service manager would.
    let watchers = {
        let (db, root, done) = (Arc::clone(&db), root.clone(), Arc::clone(&done));
        let mut rng = Rng(rng.below(u64::MAX) | 1);
        let watch = move |hook: Option<String>| {
            let mut cmd = sync_cmd(&db, &root);
            if let Some(hook) = hook {
                cmd = cmd.env("MYBB_SYNC_TEST_HOOKS", hook);
            }
            cmd.args(["watch", "--debounce", "50", "--pull-interval", "0.2"]).spawn()
        };
        let mut kills = 0;
        let mut hooked = true;
        let mut watcher = watch(Some(format!("kill-at-rename={}", 1 + rng.below(12))));
        // Or to be killed by its hook already: its start-up may rename (the state, recording
        // the files the export wrote), and the loop below starts it again.
        wait_until("the watcher to start", DEADLINE, || {
            watcher.stderr_so_far().contains("watching ") || !watcher.is_running()
        });
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if !watcher.is_running() {
                    kills += 1;
                    hooked = kills < 3;
                    let hook = hooked.then(|| format!("kill-at-rename={}", 1 + rng.below(12)));
                    watcher = watch(hook);
                }
                std::thread::sleep(Duration::from_millis(20)); // polling a child's exit
            }
            // The quiet end needs a watcher that lives: one still set to be killed is
            // stopped (or found killed) and replaced.
            if hooked {
                if watcher.is_running() {
                    watcher.interrupt();
                }
                match watcher.wait(DEADLINE).code() {
                    None => kills += 1,
                    code => assert_eq!(code, Some(0), "the watcher stopped badly"),
                }
                watcher = watch(None);
            }
            (watcher, kills)
        })
    };
    let exporter = {
        let (db, root, done) = (Arc::clone(&db), root.clone(), Arc::clone(&done));
        let mut rng = Rng(rng.below(u64::MAX) | 1);
        std::thread::spawn(move || {
            let (mut runs, mut faulted) = (0, 0);
            while !done.load(Ordering::SeqCst) {
                // Issue 26: every other export meets a fault at commit (killed before a rename,
                // a rename or a sync failing with EIO), injected through the test hooks.
                let fault = commit_fault(&mut rng);
                let mut cmd = match fault {
                    Some((_, true)) => durable_cmd(&db, &root),
                    _ => sync_cmd(&db, &root),
                };
                if let Some((hook, _)) = &fault {
                    cmd = cmd.env("MYBB_SYNC_TEST_HOOKS", hook);
                }
                let out = cmd.arg("export").run();
                match fault {
                    None => assert!(matches!(out.code(), Some(0 | 3)), "{out}"),
                    // Killed, failed, or the fault's point never reached.
                    Some(_) => assert!(matches!(out.code(), None | Some(0 | 1 | 3)), "{out}"),
                }
                runs += 1;
                faulted += usize::from(fault.is_some() && !matches!(out.code(), Some(0 | 3)));
            }
            (runs, faulted)
        })
    };
    let writer = |side: &'static str, mut rng: Rng| {
        let (db, log, items) = (Arc::clone(&db), Arc::clone(&log), items.clone());
        std::thread::spawn(move || {
            for round in 0..ROUNDS {
                std::thread::sleep(Duration::from_millis(rng.below(40))); // pacing
                let (title, path) = &items[rng.below(items.len() as u64) as usize];
                let mut content = format!("<p>{side} {title} {round}</p>");
                let delete = rng.below(6) == 0;
                let mut log = log.lock().unwrap();
                match side {
                    // The Admin CP's Revert to Original / Delete: the set's row goes.
                    "db" if delete => {
                        db.exec_with(
                            "DELETE FROM mybb_templates WHERE sid = 1 AND title = ?",
                            (title,),
                        );
                        content = DELETED_IN_DB.to_owned();
                    }
                    "db" => db_edit(&db, &mut rng, title, &content),
                    _ if delete => {
                        let _ = std::fs::remove_file(path);
                        content = DELETED_ON_DISK.to_owned();
                    }
                    _ => file_save(&mut rng, path, &content),
                }
                log.push((title.clone(), content));
            }
        })
    };
    let db_thread = writer("db", Rng(rng.below(u64::MAX) | 1));
    let file_thread = writer("file", Rng(rng.below(u64::MAX) | 1));
    db_thread.join().unwrap();
    file_thread.join().unwrap();
    done.store(true, Ordering::SeqCst);
    let (exports, faulted) = exporter.join().unwrap();
    let (watcher, kills) = watchers.join().unwrap();

    // Quiet: a sentinel save reaches the database, then a pull has had its turn.
    let sentinel = all.pop().unwrap();
    std::fs::write(&sentinel, "<p>sentinel</p>").unwrap();
    let sentinel_title = sentinel.file_stem().unwrap().to_string_lossy().into_owned();
    wait_until("the watcher to catch up", DEADLINE, || {
        db.template(1, &sentinel_title).as_deref() == Some(b"<p>sentinel</p>")
    });
    watcher.interrupt();
    let watched = watcher.wait(DEADLINE);
    assert_eq!(watched.code(), Some(0), "{watched}");
    for command in ["import", "export"] {
        let out = sync_cmd(&db, &root).arg(command).run();
        assert!(matches!(out.code(), Some(0 | 3)), "{out}");
    }

    let log = log.lock().unwrap();
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for (title, content) in log.iter() {
        last.insert(title, content);
    }
    for (title, path) in &items {
        let Some(want) = last.get(title.as_str()) else { continue };
        let own = db.template(1, title).map(|b| String::from_utf8(b).unwrap());
        match *want {
            // A set's copy deleted last in the database is a revert: the item lives on (the
            // master), and a file edit saved before it may still reach it as a new copy.
            DELETED_IN_DB if !title.starts_with("chaos_custom") => continue,
            // A template of the set's own deleted last in the database: nothing made it again
            // (an edit saved before the deletion is a conflict on disk, never a row).
            DELETED_IN_DB => {
                assert_eq!(own, None, "seed {seed}: {title}, deleted in the database, came back");
                continue;
            }
            // Deleted last on disk: a concurrent export may bring the file back (asked for).
            DELETED_ON_DISK => continue,
            _ => {}
        }
        let file = std::fs::read_to_string(path).ok();
        // The conflict copies: `title.db.html`, and later ones beside a copy taken for the
        // user's (one not recorded as written, after a kill: issue 26).
        let copies = conflict_copies(path);
        let master = db.template(-2, title).map(|b| String::from_utf8(b).unwrap());
        let kept = [&file, &own, &master].iter().any(|v| v.as_deref() == Some(*want))
            || copies.iter().any(|c| c == want);
        assert!(
            kept,
            "seed {seed}: the last edit of {title} ({want:?}) is lost: file {file:?}, \
             conflict copies {copies:?}, set row {own:?}, master row {master:?}\n{}",
            watched.stderr
        );
    }
    let empty: u64 = db.query_one("SELECT COUNT(*) FROM mybb_templates WHERE template = ''");
    assert_eq!(empty, 0, "seed {seed}: an empty row");
    let doubled: Vec<(i32, Vec<u8>)> = db.query_rows(
        "SELECT sid, title FROM mybb_templates GROUP BY sid, title HAVING COUNT(*) > 1",
    );
    assert!(doubled.is_empty(), "seed {seed}: two rows for {doubled:?}");
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "sync")
        .collect();
    assert!(outside.is_empty(), "seed {seed}: written outside the sync root: {outside:?}");
    eprintln!(
        "chaos: {} edits, {exports} concurrent exports, {faulted} of them stopped by a fault, \
         the watcher killed {kills} time(s)",
        log.len()
    );
}

/// Returns a fault to inject at an export's commit, half the time: the test hook's setting,
/// and whether the export must be durable for the fault's point to exist (fsync, syncfs).
fn commit_fault(rng: &mut Rng) -> Option<(String, bool)> {
    if rng.below(2) == 0 {
        return None;
    }
    let n = 1 + rng.below(6);
    Some(match rng.below(4) {
        0 => (format!("kill-at-rename={n}"), false),
        1 => (format!("eio-at-rename={n}"), false),
        2 => (format!("eio-at-fsync={n}"), true),
        _ => (format!("eio-at-syncfs={}", 1 + n % 2), true),
    })
}

/// Runs mybb-sync durably (no `--no-fsync`), for the faults at `fsync` and `syncfs`.
fn durable_cmd(db: &TestDb, root: &Path) -> crate::util::TestCommand {
    crate::util::TestCommand::new().arg("--db").arg(db.url()).arg("--root").arg(root)
}

/// Returns the contents of every conflict copy of the file `path`, the first copy first.
fn conflict_copies(path: &Path) -> Vec<String> {
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{stem}.")) && n.ends_with(".db.html"))
        .collect();
    names.sort_by_key(|n| n.len());
    names.iter().filter_map(|n| std::fs::read_to_string(path.with_file_name(n)).ok()).collect()
}
