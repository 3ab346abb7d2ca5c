//! Where PHP's mysqli connects when MyBB's `hostname` is `localhost`: the Unix socket.
//!
//! For mysqli (mysqlnd), the host `localhost` (any letter case) means the Unix socket, port or
//! no port; `127.0.0.1` means TCP. The socket is `mysqli.default_socket` from PHP's ini files
//! when set, else where the client library looks. MyBB's installer writes `localhost`, and
//! hosting guides grant the forum's user `@'localhost'`: over TCP such a user is refused where
//! the server runs with `skip-name-resolve` or without networking. So mybb-sync, reading
//! `inc/config.php`, connects as PHP would.

use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};

/// Where MariaDB and MySQL put their socket, in the order mybb-sync looks (Debian and
/// Ubuntu, their older path, Red Hat and friends, and the compiled-in default of many builds).
pub const SOCKET_PATHS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/var/lib/mysql/mysql.sock",
    "/tmp/mysql.sock",
];

/// Returns true if and only if mysqli takes `host` for the Unix socket.
pub fn means_socket(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
}

/// Returns the Unix socket mysqli would use for `localhost`: `mysqli.default_socket` from a
/// readable PHP ini file if it names a socket that exists, else the first of [`SOCKET_PATHS`]
/// that exists; None when there is none (the caller then uses TCP).
pub fn default_socket() -> Option<PathBuf> {
    let configured = ini_files().into_iter().find_map(|file| ini_socket(&file));
    configured
        .into_iter()
        .chain(SOCKET_PATHS.iter().map(PathBuf::from))
        .find(|path| is_socket(path))
}

fn is_socket(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// Returns the PHP ini files to read, the one PHP would read first first: `$PHPRC` (a file, or
/// a folder holding `php.ini`), then the PHP-FPM, Apache, CLI and CGI ones of each installed
/// PHP version (Debian's layout), then the single-file layouts of other systems.
fn ini_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(rc) = std::env::var_os("PHPRC").filter(|v| !v.is_empty()) {
        let rc = PathBuf::from(rc);
        files.push(if rc.is_dir() { rc.join("php.ini") } else { rc });
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/etc/php")
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    // The newest version first, as a fresh install would serve the forum with it.
    versions.sort();
    versions.reverse();
    for version in versions {
        for sapi in ["fpm", "apache2", "cli", "cgi"] {
            files.push(version.join(sapi).join("php.ini"));
        }
    }
    files.extend(
        ["/etc/php.ini", "/usr/local/etc/php/php.ini", "/usr/local/lib/php.ini"].map(PathBuf::from),
    );
    files
}

/// Returns `mysqli.default_socket` as `file` sets it (or, after it, the `conf.d` folder beside
/// it, whose files PHP reads next), if the file is readable and the value is not empty.
fn ini_socket(file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut value = ini_value(&text, "mysqli.default_socket");
    if let Some(dir) = file.parent().map(|d| d.join("conf.d"))
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut extra: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        extra.sort();
        for path in extra.iter().filter(|p| p.extension().is_some_and(|e| e == "ini")) {
            if let Some(v) = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| ini_value(&t, "mysqli.default_socket"))
            {
                value = Some(v);
            }
        }
    }
    value.filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Returns the last value of `key` in ini text (`key = value`, optionally quoted; `;` starts a
/// comment), as PHP's parser keeps the last one.
fn ini_value(text: &str, key: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        let Some((k, v)) = line.split_once('=') else { continue };
        if k.trim() != key {
            continue;
        }
        let v = v.trim();
        let v = match v.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or(""),
            None => v.split(';').next().unwrap_or("").trim(),
        };
        found = Some(v.to_owned());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_values_are_read_as_php_reads_them() {
        let text = "[mysqli]\n; mysqli.default_socket = /nope\nmysqli.default_socket =\n\
                    mysqli.default_socket = \"/run/a.sock\" ; quoted\n";
        assert_eq!(ini_value(text, "mysqli.default_socket").as_deref(), Some("/run/a.sock"));
        assert_eq!(
            ini_value("mysqli.default_socket = /b.sock ; x", "mysqli.default_socket").as_deref(),
            Some("/b.sock")
        );
        assert_eq!(ini_value("other = 1", "mysqli.default_socket"), None);
    }

    #[test]
    fn only_localhost_means_the_socket() {
        assert!(means_socket("localhost") && means_socket("LocalHost"));
        assert!(!means_socket("127.0.0.1") && !means_socket("::1") && !means_socket("db"));
    }
}
