//! `.mybb-syncignore`: files in the sync root that are not templates or stylesheets (READMEs,
//! build sources such as `.scss`, editor folders), in gitignore syntax, left alone by every
//! command: `watch`, `import`, `status` and `export` never read, write or report them.
//!
//! The matching is the `ignore` crate's gitignore matcher (ripgrep's), so the file means what
//! it would mean to git: `!` re-includes, a trailing `/` matches directories (and so everything
//! under them), a `/` inside a pattern anchors it to the sync root, `**` spans folders.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::{Error, Result};

/// The ignore file's name, in the sync root.
pub const IGNORE_FILE: &str = ".mybb-syncignore";

/// The patterns of one sync root's ignore file (none when it has no such file).
#[derive(Debug, Clone)]
pub struct IgnoreFile {
    matcher: Option<Gitignore>,
}

impl IgnoreFile {
    /// Reads `root/.mybb-syncignore`. No file means nothing is ignored; a pattern that is not
    /// valid gitignore syntax is [`Error::IgnoreFile`] (exit 2; `watch` waits for a fix),
    /// naming its line.
    pub fn load(root: &Path) -> Result<IgnoreFile> {
        let path = root.join(IGNORE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(IgnoreFile { matcher: None });
            }
            Err(source) => return Err(Error::IoAt { path, action: "read", source }),
        };
        let mut builder = GitignoreBuilder::new(root);
        for (number, line) in text.lines().enumerate() {
            if let Err(e) = builder.add_line(Some(PathBuf::from(IGNORE_FILE)), line) {
                let message = format!("{IGNORE_FILE}:{}: not a gitignore pattern: {e}", number + 1);
                return Err(Error::IgnoreFile { message });
            }
        }
        let matcher = builder
            .build()
            .map_err(|e| Error::IgnoreFile { message: format!("{IGNORE_FILE}: {e}") })?;
        Ok(IgnoreFile { matcher: Some(matcher) })
    }

    /// Returns true if and only if the file at `relative` (relative to the sync root) is
    /// ignored, by its own name or by a folder it is in.
    pub fn is_ignored(&self, relative: &Path) -> bool {
        let Some(matcher) = &self.matcher else { return false };
        // The matcher wants a path below its root; anything else is not ours to ignore.
        if relative.has_root() || relative.as_os_str().is_empty() {
            return false;
        }
        matcher.matched_path_or_any_parents(relative, false).is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &str, text: &str) -> IgnoreFile {
        let dir = crate::test_support::scratch_dir("ignore", name);
        std::fs::write(dir.join(IGNORE_FILE), text).unwrap();
        let ignore = IgnoreFile::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        ignore
    }

    #[test]
    fn patterns_mean_what_they_mean_to_git() {
        let ignore =
            with("git", "*.scss\n/styles/Default/README.md\nnotes/\n!keep.scss\n# a comment\n");
        assert!(ignore.is_ignored(Path::new("styles/Default/main.scss")));
        assert!(!ignore.is_ignored(Path::new("styles/Default/keep.scss")));
        assert!(ignore.is_ignored(Path::new("styles/Default/README.md")));
        assert!(!ignore.is_ignored(Path::new("styles/Other/README.md")));
        assert!(ignore.is_ignored(Path::new("template_sets/notes/x/y.html")));
        assert!(!ignore.is_ignored(Path::new("styles/Default/global.css")));
    }

    #[test]
    fn a_bad_pattern_is_a_configuration_error_naming_its_line() {
        let dir = crate::test_support::scratch_dir("ignore", "bad");
        std::fs::write(dir.join(IGNORE_FILE), "*.scss\n[z-a]\n").unwrap();
        let err = IgnoreFile::load(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with(".mybb-syncignore:2: "), "{err}");
    }

    #[test]
    fn no_file_ignores_nothing() {
        let dir = crate::test_support::scratch_dir("ignore", "none");
        let ignore = IgnoreFile::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!ignore.is_ignored(Path::new("styles/Default/main.scss")));
    }
}
