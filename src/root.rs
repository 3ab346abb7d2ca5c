//! Where the sync root is, and what a PATH on the command line names in it: the one place
//! every command resolves both, so a path round-trips between commands.
//!
//! The root is `--root`, else `MYBB_SYNC_ROOT`, else the nearest ancestor of the current
//! directory that holds mybb-sync's own folder (`.mybb-sync/`, found the way git finds its
//! repository), else `./mybb_sync`. A root that exists but is not a folder is a usage error
//! (exit 2) in every command, before anything is touched.
//!
//! A PATH may be given as `status` prints it (relative to the sync root) or as the shell sees
//! it (relative to the current directory, or absolute). Either way it must name a file or
//! folder that exists under the root; anything else is a usage error (exit 2), so that a
//! mistyped path never looks like "nothing to do".

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The name of mybb-sync's own folder inside a sync root (`sync/own_dir.rs` owns its content).
pub const OWN_DIR: &str = ".mybb-sync";

/// Where the sync root came from, for saying which one was used where that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// `--root`.
    Flag,
    /// `MYBB_SYNC_ROOT`.
    Env,
    /// An ancestor of the current directory holding `.mybb-sync/`.
    Found,
    /// `./mybb_sync`, by default.
    Default,
}

/// Returns the sync root and where it came from: `flag`, else `env`, else the nearest
/// ancestor of `cwd` holding `.mybb-sync/`, else `default` (relative, as given).
///
/// # Errors
///
/// A usage error (exit 2) when the root exists but is not a folder, or lies under a file.
pub fn find(
    flag: Option<&Path>,
    env: Option<&Path>,
    cwd: Option<&Path>,
    default: &Path,
) -> Result<(PathBuf, RootSource)> {
    let (root, source) = match (flag, env) {
        (Some(root), _) => (root.to_path_buf(), RootSource::Flag),
        (None, Some(root)) => (root.to_path_buf(), RootSource::Env),
        (None, None) => match cwd.and_then(enclosing_root) {
            Some(root) => (root, RootSource::Found),
            None => (default.to_path_buf(), RootSource::Default),
        },
    };
    check_folder(&root, source)?;
    Ok((root, source))
}

/// Returns the nearest of `dir` and its ancestors that holds mybb-sync's own folder.
fn enclosing_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(OWN_DIR).is_dir()).map(Path::to_path_buf)
}

/// Returns a usage error when `root` exists but is not a folder (or a file stands on its way).
/// A root that does not exist yet is fine here: `export` and `watch` create it, and the
/// read-only commands say so themselves.
fn check_folder(root: &Path, source: RootSource) -> Result<()> {
    let named = match source {
        RootSource::Flag => " (--root)",
        RootSource::Env => " (MYBB_SYNC_ROOT)",
        RootSource::Found | RootSource::Default => "",
    };
    // A file at the root or above it: metadata says "not a directory" for the latter.
    let blocked = match std::fs::metadata(root) {
        Ok(meta) => !meta.is_dir(),
        Err(e) => e.kind() == std::io::ErrorKind::NotADirectory,
    };
    if blocked {
        return Err(Error::usage(format!(
            "the sync root {}{named} is a file, not a folder: give --root the folder that \
             holds (or will hold) the template_sets and themes folders",
            root.display()
        )));
    }
    Ok(())
}

/// Returns each of `paths` as a path under `root` (`root` joined with the path inside it), so
/// that every command sees one form whatever the user typed.
///
/// A relative path is tried against the current directory first (what a shell completes),
/// then against the root (what `status` prints).
///
/// # Errors
///
/// A usage error (exit 2) for a path that names nothing under the root, or lies outside it.
pub fn operands(root: &Path, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if !paths.is_empty() && !root.is_dir() {
        return Err(Error::usage(format!(
            "the sync root {} does not exist, so {} names nothing (check --root, or run from \
             inside the sync root; export creates it)",
            root.display(),
            paths[0].display()
        )));
    }
    let cwd = std::env::current_dir().ok();
    paths.iter().map(|path| operand(root, cwd.as_deref(), path)).collect()
}

/// Returns `path` as a path under `root`, resolved against `cwd` first, then `root`.
fn operand(root: &Path, cwd: Option<&Path>, path: &Path) -> Result<PathBuf> {
    let absolute_root = absolute(root, cwd);
    let mut joined = Vec::new();
    if path.is_absolute() {
        joined.push(path.to_path_buf());
    } else {
        if let Some(cwd) = cwd {
            joined.push(cwd.join(path));
        }
        joined.push(absolute_root.join(path));
    }
    let mut candidates = Vec::new();
    for path_joined in &joined {
        if let Some(link) = dot_dot_through_link(path_joined) {
            return Err(Error::usage(format!(
                "{}: `..` after the symbolic link {}: nothing is read through a link; give the \
                 path without `..`",
                path.display(),
                link.display()
            )));
        }
        candidates.push(normalize(path_joined));
    }
    let inside: Vec<&PathBuf> =
        candidates.iter().filter(|c| c.starts_with(&absolute_root)).collect();
    if let Some(found) = inside.iter().find(|c| std::fs::symlink_metadata(c).is_ok()) {
        let relative = found.strip_prefix(&absolute_root).unwrap_or(Path::new(""));
        return Ok(join(root, relative));
    }
    if inside.is_empty() {
        return Err(Error::usage(format!(
            "{}: not under the sync root {} (give a path as status prints it, or from the \
             current directory)",
            path.display(),
            root.display()
        )));
    }
    Err(Error::usage(format!(
        "{}: no such file or folder in the sync root {} (give a path as status prints it, or \
         from the current directory)",
        path.display(),
        root.display()
    )))
}

/// Returns the symbolic link a `..` of `path` would climb out of, if any: there the folder
/// `..` reaches is the link target's parent, not the one the words name, so the words cannot
/// be normalized (and the engine never reads through a link anyway).
fn dot_dot_through_link(path: &Path) -> Option<PathBuf> {
    let mut walked = PathBuf::new();
    for component in path.components() {
        if component == Component::ParentDir
            && std::fs::symlink_metadata(&walked).is_ok_and(|m| m.file_type().is_symlink())
        {
            return Some(walked);
        }
        walked.push(component.as_os_str());
    }
    None
}

/// Returns a usage error (exit 2) unless `path`, a file given on the command line outside the
/// sync tree (a theme file, `--base FILE.xml`), exists and is not a folder: a mistyped name is
/// said as such before anything is read or connected, as for a PATH in the tree.
pub fn input_file(path: &Path, what: &str) -> Result<()> {
    match std::fs::metadata(path) {
        // A pipe or a device reads as a file (`<(curl ...)`), and is read up to a cap later.
        Ok(meta) if !meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::usage(format!("{}: a folder, not a file ({what})", path.display()))),
        Err(_) => Err(Error::usage(format!("{}: no such file ({what})", path.display()))),
    }
}

/// Returns `root` joined with `relative`, `root` itself for an empty `relative`.
fn join(root: &Path, relative: &Path) -> PathBuf {
    if relative.as_os_str().is_empty() { root.to_path_buf() } else { root.join(relative) }
}

/// Returns `path` made absolute against `cwd`, normalized.
fn absolute(path: &Path, cwd: Option<&Path>) -> PathBuf {
    match (path.is_absolute(), cwd) {
        (false, Some(cwd)) => normalize(&cwd.join(path)),
        _ => normalize(path),
    }
}

/// Returns `path` with `.` dropped and `..` applied to the words before it, without touching
/// the filesystem: a path is judged by what it names, not by where a link would lead (links
/// inside the tree are refused later, by the engine).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree: `root/.mybb-sync/`, `root/a b/x.html`, `root/sub/`.
    fn tree(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mybb_sync_root_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/.mybb-sync")).unwrap();
        std::fs::create_dir_all(dir.join("root/a b")).unwrap();
        std::fs::create_dir_all(dir.join("root/sub")).unwrap();
        std::fs::write(dir.join("root/a b/x.html"), "x").unwrap();
        std::fs::write(dir.join("file"), "x").unwrap();
        dir
    }

    #[test]
    fn the_root_is_the_flag_then_the_env_then_the_enclosing_root_then_the_default() {
        let dir = tree("find");
        let default = Path::new("mybb_sync");
        let inside = dir.join("root/a b");
        let found = find(None, None, Some(&inside), default).unwrap();
        assert_eq!(found, (dir.join("root"), RootSource::Found));
        let flag = find(Some(Path::new("r")), Some(Path::new("e")), Some(&inside), default);
        assert_eq!(flag.unwrap(), (PathBuf::from("r"), RootSource::Flag));
        let env = find(None, Some(Path::new("e")), Some(&inside), default).unwrap();
        assert_eq!(env, (PathBuf::from("e"), RootSource::Env));
        let none = find(None, None, Some(&dir), default).unwrap();
        assert_eq!(none, (default.to_path_buf(), RootSource::Default));
    }

    #[test]
    fn a_root_that_is_a_file_is_one_usage_error() {
        let dir = tree("file");
        for root in [dir.join("file"), dir.join("file/below")] {
            let err = find(Some(&root), None, None, Path::new("x")).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains("is a file, not a folder"), "{err}");
        }
    }

    #[test]
    fn a_path_resolves_from_the_current_directory_or_the_root() {
        let dir = tree("operand");
        let root = dir.join("root");
        let want = root.join("a b/x.html");
        assert_eq!(operand(&root, Some(&dir), Path::new("a b/x.html")).unwrap(), want);
        assert_eq!(operand(&root, Some(&dir), Path::new("root/a b/x.html")).unwrap(), want);
        assert_eq!(
            operand(&root, Some(&root.join("sub")), Path::new("../a b/x.html")).unwrap(),
            want
        );
        assert_eq!(operand(&root, Some(&root.join("a b")), Path::new("x.html")).unwrap(), want);
        assert_eq!(operand(&root, Some(&root), Path::new(".")).unwrap(), root);
        // A relative root stays relative: messages and the engine see the root as given.
        let relative = operand(Path::new("root"), Some(&dir), Path::new("a b")).unwrap();
        assert_eq!(relative, Path::new("root/a b"));
    }

    #[test]
    fn dot_dot_after_a_link_is_refused() {
        let dir = tree("link");
        let root = dir.join("root");
        std::os::unix::fs::symlink(&dir, root.join("sub/link")).unwrap();
        let err = operand(&root, Some(&dir), Path::new("root/sub/link/../a b/x.html")).unwrap_err();
        assert!(err.to_string().contains("after the symbolic link"), "{err}");
        let fine = operand(&root, Some(&dir), Path::new("root/sub/../a b/x.html")).unwrap();
        assert_eq!(fine, root.join("a b/x.html"));
    }

    #[test]
    fn a_path_naming_nothing_or_outside_the_root_is_a_usage_error() {
        let dir = tree("missing");
        let root = dir.join("root");
        for (path, says) in
            [("nope.html", "no such file or folder"), ("file", "no such"), ("/etc", "not under")]
        {
            let err = operand(&root, Some(&dir), Path::new(path)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{path}");
            assert!(err.to_string().contains(says), "{path}: {err}");
        }
    }
}
