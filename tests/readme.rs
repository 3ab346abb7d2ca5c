//! The README and the guides in `docs/` cannot drift: every `mybb-sync` command they show
//! parses, every source path they name exists, and the README documents every command and flag
//! of `--help`.

use std::path::{Path, PathBuf};

use mybb_sync::cli;

const README: &str = include_str!("../README.md");

/// Returns the README and every `docs/*.md`, as (path relative to the crate, text).
fn docs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![("README.md".to_owned(), README.to_owned())];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    guides.retain(|p| p.extension().is_some_and(|e| e == "md"));
    guides.sort();
    for path in guides {
        let text = std::fs::read_to_string(&path).unwrap();
        docs.push((path.strip_prefix(root).unwrap().display().to_string(), text));
    }
    docs
}

/// Returns the `mybb-sync` command lines a doc shows: `$ mybb-sync ...` transcript lines, and
/// lines of a `sh` block that run it, each cut at the first `>`, `|`, `&&` or `;` (a
/// redirection or the next command), as the words after `mybb-sync`.
fn commands(text: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_sh = trimmed == "```sh" || trimmed == "```console" || trimmed == "```bash";
            continue;
        }
        let command = match trimmed.strip_prefix("$ ") {
            Some(command) => command,
            None if in_sh && !trimmed.starts_with('#') => trimmed,
            None => continue,
        };
        let cut = [" > ", " | ", " && ", "; "].iter().filter_map(|s| command.find(s)).min();
        let command = &command[..cut.unwrap_or(command.len())];
        let words = shell_words(command);
        // Skip leading VAR=value assignments.
        let Some(start) = words.iter().position(|w| !w.contains('=')) else { continue };
        if words[start] == "mybb-sync" {
            found.push((line.to_owned(), words[start + 1..].to_vec()));
        }
    }
    found
}

/// Splits a shell command line into words: whitespace-separated, with "double" and 'single'
/// quotes, which is all the README uses.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
fn every_command_the_readme_shows_parses() {
    let mut seen = 0;
    for line in README.lines() {
        let Some(command) = line.strip_prefix("$ ") else { continue };
        let words = shell_words(command);
        // Skip leading VAR=value assignments.
        let start = words.iter().position(|w| !w.contains('=')).unwrap();
        assert_eq!(words[start], "mybb-sync", "{line}");
        let parsed = cli::parse_from(&words[start + 1..]);
        assert!(parsed.is_ok(), "{line}: {}", parsed.unwrap_err());
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} commands found");
}

#[test]
fn every_mybb_sync_command_a_doc_shows_parses() {
    // See: issue 27.
    let mut seen = 0;
    for (doc, text) in docs() {
        for (line, words) in commands(&text) {
            let parsed = cli::parse_from(&words);
            assert!(parsed.is_ok(), "{doc}: {line}: {}", parsed.unwrap_err());
            seen += 1;
        }
    }
    assert!(seen >= 20, "only {seen} commands found");
}

/// Returns the source paths `text` names: words starting with `src/`, `tests/`, `scripts/`,
/// `docs/` or `.ci/`, up to the first character a path of this crate never holds.
fn source_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for prefix in ["src/", "tests/", "scripts/", "docs/", ".ci/"] {
        for (at, _) in text.match_indices(prefix) {
            // A path starts a word: not `mybb_sync/src/...` nor `cache/themes/...`.
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-' | '.')) {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'))
                .collect();
            paths.push(path.trim_end_matches('.').to_owned());
        }
    }
    paths
}

#[test]
fn every_source_path_a_doc_names_exists() {
    // See: issue 27: the README cited src/import.rs, src/validate.rs, src/board.rs and
    // src/state.rs, none of which existed.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut seen = 0;
    for (doc, text) in docs() {
        for path in source_paths(&text) {
            seen += 1;
            if !root.join(&path).exists() {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "paths the docs name that do not exist:\n{}", missing.join("\n"));
    assert!(seen >= 10, "only {seen} paths found");
}

#[test]
fn the_readme_documents_every_command_and_flag_of_help() {
    let help = cli::help();
    for word in help.split(|c: char| c.is_whitespace() || c == ',') {
        if word.starts_with("--") {
            let flag = word.trim_end_matches(|c: char| !c.is_alphanumeric());
            assert!(README.contains(flag), "README does not mention {flag}");
        }
    }
    let commands = help.split("COMMANDS:").nth(1).unwrap().split("\n\n").next().unwrap();
    for line in commands.lines().filter(|l| !l.trim().is_empty()) {
        let command = line.split_whitespace().next().unwrap();
        assert!(README.contains(&format!("`{command}")), "README has no reference for {command}");
    }
}
