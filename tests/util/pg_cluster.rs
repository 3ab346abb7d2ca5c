//! A PostgreSQL cluster of a test's own: `initdb` into a temporary directory, `postgres` on a
//! free port, to stop, freeze, thaw and restart, and to try logins on. Never the shared server.
//! The programs come from Debian's `postgresql` package (`/usr/lib/postgresql/*/bin`). As root
//! (CI), they run as the `postgres` user, which `initdb` requires.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mybb_sync::mybb::db::postgres::wire::{Client, ConnectOptions};

/// The password of every role of a cluster that asks for one.
pub const PASSWORD: &str = "s3cret pw";

/// `pg_hba.conf`: trust over the Unix socket (the test's own admin connection) and for the
/// role `trusted`; md5 for the role `md5user`; SCRAM-SHA-256 for every other role over TCP.
const HBA: &str = "local all all trust\n\
                   host all trusted 127.0.0.1/32 trust\n\
                   host all md5user 127.0.0.1/32 md5\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";

/// A running (or stopped) cluster, removed when it drops.
pub struct PgCluster {
    child: Option<Child>,
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
}

/// Returns the directory of the newest PostgreSQL's programs; panics saying what to install.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server programs in /usr/lib/postgresql/*/bin: this test needs a \
             private cluster (apt-get install postgresql; scripts/test.sh does so on CI)"
        ),
    }
}

/// Returns true if and only if this process runs as root.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Sends signal `name` (`STOP`, `INT`, ...) to process `pid`; a process gone is no error.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status();
}

/// Returns a command running `program` of `bin`, as the `postgres` user when we are root.
fn as_owner(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

impl PgCluster {
    /// Makes and starts a cluster for the test named `name`, with the roles `trusted`,
    /// `md5user` and `scramuser` (password [`PASSWORD`]) besides `postgres`.
    pub fn start(name: &str) -> PgCluster {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(super::unique_name(name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let owned = Command::new("chown").arg("postgres:").arg(&dir).status();
            assert!(
                owned.is_ok_and(|s| s.success()),
                "running as root, and the cluster's directory cannot be given to the `postgres` \
                 user that initdb must run as"
            );
        }
        let data = dir.join("data");
        let out = as_owner(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--auth=trust", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = PgCluster { child: None, port: 0, bin, dir };
        cluster.launch(None);
        std::fs::write(data.join("pg_hba.conf"), HBA).unwrap();
        let mut admin = cluster.admin("postgres");
        admin
            .batch(&format!(
                "SELECT pg_reload_conf();
                 CREATE ROLE trusted LOGIN SUPERUSER;
                 SET password_encryption = 'md5';
                 CREATE ROLE md5user LOGIN SUPERUSER PASSWORD '{PASSWORD}';
                 SET password_encryption = 'scram-sha-256';
                 CREATE ROLE scramuser LOGIN SUPERUSER PASSWORD '{PASSWORD}';"
            ))
            .unwrap();
        cluster
    }

    /// Starts `postgres` on `port`, or on a free one: a port free a moment ago is tried, and
    /// another if someone took it meanwhile. Returns once it accepts connections.
    fn launch(&mut self, port: Option<u16>) {
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        for attempt in 1.. {
            let port = port.unwrap_or_else(|| {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            });
            let log_file = std::fs::File::create(&log).unwrap();
            let child = as_owner(&self.bin, "postgres")
                .arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-c")
                .arg(format!("unix_socket_directories={}", self.dir.display()))
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "shared_buffers=16MB", "-c", "max_connections=30"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap();
            self.child = Some(child);
            self.port = port;
            let started = Instant::now();
            loop {
                if let Some(exited) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                    let said = std::fs::read_to_string(&log).unwrap_or_default();
                    assert!(
                        attempt < 5 && said.contains("could not bind"),
                        "the private postgres exited ({exited}) on port {port}:\n{said}"
                    );
                    break;
                }
                if Client::connect(&self.options("postgres", "postgres", true)).is_ok() {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "timed out waiting for the private postgres to accept connections"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Returns connection options for `user` on database `database`, over the Unix socket
    /// (`local`) or TCP.
    pub fn options(&self, user: &str, database: &str, local: bool) -> ConnectOptions {
        let host = if local { self.dir.display().to_string() } else { "127.0.0.1".to_owned() };
        ConnectOptions {
            host,
            port: self.port,
            user: user.to_owned(),
            password: PASSWORD.to_owned(),
            database: database.to_owned(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Returns a connection of the test's own, as `postgres`, over the Unix socket.
    pub fn admin(&self, database: &str) -> Client {
        Client::connect(&self.options("postgres", database, true)).unwrap()
    }

    /// Creates database `name` with the fixture's rows.
    pub fn load_fixture(&self, name: &str) {
        self.admin("postgres").batch(&format!("CREATE DATABASE {name}")).unwrap();
        let dump = std::fs::read_to_string(super::FIXTURE_SQL).unwrap();
        let script = crate::pg_board::load_script(&dump).unwrap();
        self.admin(name).batch(&format!("BEGIN;\n{script}COMMIT;")).unwrap();
    }

    /// Returns the URL of database `database` as `trusted` over TCP (no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://trusted@127.0.0.1:{}/{database}", self.port)
    }

    /// Returns the process ids of the server: the postmaster and every process it started.
    pub fn pids(&self) -> Vec<u32> {
        let Some(child) = &self.child else { return Vec::new() };
        let parent = child.id();
        let mut pids = vec![parent];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // The parent's pid is the second field after the parenthesised command name.
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Stops the server (a fast shutdown: sessions ended) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "INT");
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again, on the same port.
    pub fn restart(&mut self) {
        self.launch(Some(self.port));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for pid in self.pids() {
            signal(pid, "CONT");
        }
        if let Some(mut child) = self.child.take() {
            // An immediate shutdown: nothing of a throwaway cluster needs keeping.
            signal(child.id(), "QUIT");
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("note: kept the failing test's cluster {}", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
