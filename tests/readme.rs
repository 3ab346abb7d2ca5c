//! The README cannot drift: every command it shows parses, and it documents every command and
//! flag of `--help`.

use mybb_sync::cli;

const README: &str = include_str!("../README.md");

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
