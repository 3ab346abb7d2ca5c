//! `check [PATH]...`: lints the sync root's templates, stylesheets and theme files (or the named files and
//! folders) and prints one line per finding, `PATH:LINE:COLUMN: RULE: message`, with paths
//! relative to the sync root as `status` prints them. `--json`: one object per finding
//! (`path`, `line`, `column`, `rule`, `severity`, `message`), then a summary. Exit 3 when any
//! error is found; warnings alone exit 0.
//!
//! The tree rules need no database: the master templates come from the baseline that `export`
//! keeps in `.mybb-sync/`. With `--mybb DIR` (or `MYBB_ROOT`) the board rules run too, reading
//! the board's language files and, through its `inc/config.php`, its settings and themes:
//! read-only, once per run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::json;

use crate::check::Checker;
use crate::check::board::BoardFacts;
use crate::check::finding::{Finding, Rule, Severity};
use crate::check::silence::Silence;
use crate::check::theme::ThemeBoard;
use crate::cli::CheckArgs;
use crate::config::{self, Config, ConnectionArgs};
use crate::disk::walk::walk_files;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::baseline::{BASELINE_FILE, Baseline, MasterEntry};
use crate::sync::ignore::IgnoreFile;
use crate::sync::plan::walk_root;
use crate::sync::upgrade::OldMasters;

/// Returns the sync root `args` name, as [`config::resolve`] would (`root.rs` decides: the
/// flag, the environment, the enclosing root, `./mybb_sync`), without needing a database:
/// `check` without `--mybb` reads only files.
///
/// # Errors
///
/// A usage error (exit 2) when the root is a file.
pub fn sync_root(args: &ConnectionArgs) -> Result<PathBuf> {
    config::sync_root(args.sync_root.as_deref())
}

/// Returns `path` relative to `root` when it lies under it (as every message shows paths),
/// else as given.
pub fn relative(root: &Path, path: &Path) -> PathBuf {
    if let Ok(rel) = path.strip_prefix(root) {
        return rel.to_path_buf();
    }
    match (std::path::absolute(path), std::path::absolute(root)) {
        (Ok(path), Ok(root)) => match path.strip_prefix(&root) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => path,
        },
        _ => path.to_path_buf(),
    }
}

/// Loads the baseline of master templates of sync root `root`, or None (with a warning: the
/// masters are unknown, so the rules that compare with them are off) when there is none yet.
pub fn load_baseline(root: &Path) -> Result<Option<Baseline>> {
    let baseline = Baseline::load(root)?;
    if !baseline.exists {
        log::warn!(
            "check: no baseline of master templates in {} (export writes it): html-balance and \
             upgrade-variables are off for this run",
            root.display()
        );
        return Ok(None);
    }
    Ok(Some(baseline))
}

/// Reads the master templates of a release's theme file (`install/resources/mybb_theme.xml`,
/// or an Admin CP export with templates), with the theme file reader `merge --base` uses.
fn read_masters(path: &Path) -> Result<HashMap<String, MasterEntry>> {
    if !path.is_file() {
        return Err(Error::usage(format!(
            "--masters {}: no such file (give a MyBB release's install/resources/mybb_theme.xml)",
            path.display()
        )));
    }
    let old = OldMasters::read(path).map_err(|e| match e {
        Error::Usage { message } => Error::usage(message.replacen("--base", "--masters", 1)),
        other => other,
    })?;
    Ok(old
        .templates
        .into_iter()
        .map(|(title, (version, content))| (title, MasterEntry { version, content }))
        .collect())
}

/// Returns the board's facts when `args` name MyBB's root (`--mybb`, `MYBB_ROOT`): read once,
/// from its files and, through its configuration, its database; and the board as the theme
/// files' checks ask it. None without a board.
pub fn load_board(
    args: &ConnectionArgs,
    sync_root: &Path,
) -> Result<Option<(BoardFacts, ThemeBoard)>> {
    let named = args.mybb_root.clone().or_else(|| {
        std::env::var_os(config::ENV_MYBB_ROOT).filter(|v| !v.is_empty()).map(PathBuf::from)
    });
    let Some(root) = named else { return Ok(None) };
    let config = config::resolve(args)?;
    let db = Db::connect(&config.db, &config.prefix)?;
    let facts = BoardFacts::load(&root, &db)?;
    Ok(Some((facts, ThemeBoard::load(db, &root, sync_root)?)))
}

/// Returns the findings in `files` (paths under sync root `root`), sorted by path and place.
/// A file that cannot be read, or is not UTF-8, is skipped with a warning: `import` refuses it
/// with its reason, and `check` judges text.
pub fn check_files(checker: &Checker<'_>, root: &Path, files: &[PathBuf]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for path in files {
        let rel = relative(root, path);
        // Links are never followed, as everywhere in the sync root.
        if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
            continue;
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    log::warn!("{}: not UTF-8 text; not checked", rel.display());
                    continue;
                }
            },
            // Deleted since it was listed (a save's batch holds deletions too).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                log::warn!("{}: cannot read it ({e}); not checked", rel.display());
                continue;
            }
        };
        findings.extend(checker.check(&rel, &text));
    }
    findings.sort();
    findings
}

/// Returns the files `check` looks at: every file under the sync root's two layouts, or under
/// `paths`, less those `.mybb-syncignore` ignores.
fn files_to_check(root: &Path, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if paths.is_empty() {
        files = walk_root(root)?;
    }
    for path in paths {
        if relative(root, path).has_root() {
            return Err(Error::usage(format!(
                "{}: not under the sync root {} (check takes its files and folders)",
                path.display(),
                root.display()
            )));
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => files.extend(walk_files(path)?),
            Ok(_) => files.push(path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::usage(format!(
                    "{}: no such file or folder (check takes files and folders under the sync \
                     root {})",
                    path.display(),
                    root.display()
                )));
            }
            Err(source) => return Err(Error::IoAt { path: path.clone(), action: "read", source }),
        }
    }
    let ignore = IgnoreFile::load(root)?;
    files.retain(|path| !ignore.is_ignored(&relative(root, path)));
    Ok(files)
}

/// Runs `check` as the command line asks: with the global options `args` (the sync root, and
/// the board for `--mybb`) and its own `options`. Prints every finding and returns
/// [`Error::Findings`] (exit 3) when any is an error.
pub fn run(args: &ConnectionArgs, options: &CheckArgs) -> Result<()> {
    let root = sync_root(args)?;
    crate::sync::own_dir::require_root(&root)?;
    // As every command takes a PATH: as `status` prints it, or from the current directory.
    let paths = crate::root::operands(&root, &options.paths)?;
    let silence = Silence::load(&root, &options.allow)?;
    let xml_masters = options.masters.as_deref().map(read_masters).transpose()?;
    let baseline = match xml_masters {
        // The theme file stands in for a missing baseline: no warning then.
        Some(_) => Some(Baseline::load(&root)?).filter(|b| b.exists),
        None => load_baseline(&root)?,
    };
    let (board, themes) = load_board(args, &root)?.unzip();
    let checker = Checker {
        baseline: baseline.as_ref(),
        xml_masters: xml_masters.as_ref(),
        board: board.as_ref(),
        silence: &silence,
        root: Some(&root),
        themes: themes.as_ref(),
    };
    let files = files_to_check(&root, &paths)?;
    let findings = check_files(&checker, &root, &files);
    let errors = findings.iter().filter(|f| f.severity() == Severity::Error).count();
    let warnings = findings.len() - errors;
    if options.json {
        let mut lines: Vec<String> = findings.iter().map(|f| f.to_json().to_string()).collect();
        let mut rules = serde_json::Map::new();
        for rule in Rule::ALL {
            let count = findings.iter().filter(|f| f.rule == rule).count();
            if count > 0 {
                rules.insert(rule.name().to_owned(), json!(count));
            }
        }
        let summary = json!({
            "summary": "check",
            "files": files.len(),
            "errors": errors,
            "warnings": warnings,
            "rules": rules,
            "board": board.is_some(),
        });
        lines.push(summary.to_string());
        crate::commands::output::print_lines(&lines);
    } else {
        crate::commands::output::print_lines(&findings);
    }
    log::info!(
        "check: {} file{} checked, {errors} error{}, {warnings} warning{}{}",
        files.len(),
        plural(files.len()),
        plural(errors),
        plural(warnings),
        if board.is_some() { "" } else { " (board rules off: give --mybb DIR)" }
    );
    if errors > 0 {
        return Err(Error::Findings { errors });
    }
    Ok(())
}

/// Returns `s` unless `n` is 1.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `watch`'s use of `check`: on a save, warns once of each finding the file did not have when
/// this watcher last looked at it (a file saved for the first time: each of its findings).
/// Warnings only: a save is never held for them (what MyBB itself refuses,
/// `template-security`, the watcher refuses already, with its own message). Nothing is read
/// before the first save, so an idle watcher holds none of it.
pub struct SaveWarnings {
    config: Config,
    /// What the rules need, read at the first save (the board's tables once per run).
    rules: Option<SaveRules>,
    baseline: Option<Baseline>,
    /// The baseline file's modification time when read: a pull that refreshed it is reread.
    baseline_stamp: Option<SystemTime>,
    /// Per file (relative to the sync root), the findings it had: (rule, message).
    known: HashMap<PathBuf, HashSet<(Rule, String)>>,
}

/// The silencing and the board's facts, read once by [`SaveWarnings`].
struct SaveRules {
    silence: Silence,
    board: Option<BoardFacts>,
}

impl SaveWarnings {
    /// Prepares the warnings of a watcher of `config`'s sync root; reads nothing yet.
    pub fn new(config: &Config) -> SaveWarnings {
        SaveWarnings {
            config: config.clone(),
            rules: None,
            baseline: None,
            baseline_stamp: None,
            known: HashMap::new(),
        }
    }

    /// Reads the silencing and, when the configuration names MyBB's root and its database
    /// answers, the board's facts. A problem turns the part off with a warning, never the
    /// watcher.
    fn load_rules(config: &Config) -> SaveRules {
        let silence = Silence::load(&config.sync_root, &[]).unwrap_or_else(|e| {
            log::warn!("check: {}; nothing silenced", crate::error::chain(&e));
            Silence::default()
        });
        let board = config.mybb_root.as_ref().and_then(|mybb_root| {
            let facts = Db::connect(&config.db, &config.prefix)
                .and_then(|db| BoardFacts::load(mybb_root, &db));
            facts
                .map_err(|e| log::warn!("check: board rules off: {}", crate::error::chain(&e)))
                .ok()
        });
        SaveRules { silence, board }
    }

    /// Rereads the baseline when its file changed since it was read.
    fn reload_baseline(&mut self) {
        let root = &self.config.sync_root;
        let stamp = std::fs::metadata(root.join(BASELINE_FILE)).and_then(|m| m.modified()).ok();
        if stamp.is_some() && stamp == self.baseline_stamp {
            return;
        }
        self.baseline_stamp = stamp;
        self.baseline = Baseline::load(root).ok().filter(|b| b.exists);
    }

    /// Warns of each finding in the saved `files` that the file did not have before.
    pub fn saved(&mut self, files: &[PathBuf]) {
        self.reload_baseline();
        let rules = self.rules.get_or_insert_with(|| SaveWarnings::load_rules(&self.config));
        let checker = Checker {
            baseline: self.baseline.as_ref(),
            xml_masters: None,
            board: rules.board.as_ref(),
            silence: &rules.silence,
            // The watcher refuses a theme file itself, with the same reasons.
            root: None,
            themes: None,
        };
        let root = &self.config.sync_root;
        let mut found = check_files(&checker, root, files);
        found.retain(|f| f.rule != Rule::TemplateSecurity);
        for path in files {
            let rel = relative(root, path);
            let now: Vec<&Finding> = found.iter().filter(|f| f.path == rel).collect();
            let before = self.known.remove(&rel).unwrap_or_default();
            for finding in &now {
                if !before.contains(&key(finding)) {
                    log::warn!("{finding}");
                }
            }
            if !now.is_empty() {
                self.known.insert(rel, now.iter().map(|f| key(f)).collect());
            }
        }
    }
}

/// What makes a finding the same one after a save: its rule and message, not its line (a
/// line added above it moves it without making it new).
fn key(finding: &Finding) -> (Rule, String) {
    (finding.rule, finding.message.clone())
}
