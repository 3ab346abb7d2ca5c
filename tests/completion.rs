//! Completion through the shells themselves (issue 27): paths with spaces complete whole, a
//! folder ends in `/` (not a space), and `--set` and `--theme` complete to the names in the
//! sync tree, without a database. Bash is driven by readline in a tmux session (what a user
//! gets when pressing TAB) and by `compgen`; zsh and fish by their own completion engines.
//! A missing shell or tmux fails the test: scripts/test.sh installs them on CI.
//! See: issue 27.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::util::{TestCommand, TestDir, wait_until};

/// A sync tree as export leaves it, without a database: folders with spaces, a set whose name
/// the layout encodes (`A/B` as `A%2FB`), a theme.
fn tree(dir: &TestDir) {
    dir.write("mybb_sync/.mybb-sync/.gitignore", "*\n");
    dir.write("mybb_sync/template_sets/Default Templates/Header Templates/header.html", "h");
    dir.write("mybb_sync/template_sets/A%2FB/Header Templates/header.html", "h");
    dir.write("mybb_sync/styles/My Theme/global.css", "c");
}

/// Writes the completion script of `shell` into `dir` and returns its path.
fn script(dir: &TestDir, shell: &str) -> std::path::PathBuf {
    let text = TestCommand::new().args(["completions", shell]).expect_success().stdout;
    let name = format!("mybb-sync.{shell}");
    dir.write(&name, &text);
    dir.join(&name)
}

/// Fails unless `program` runs here: the test needs it.
fn require(program: &str) {
    let found = std::process::Command::new(program).arg("-V").output().is_ok()
        || std::process::Command::new(program).arg("--version").output().is_ok();
    assert!(
        found,
        "{program} is not installed: scripts/test.sh installs it (apt-get install {program})"
    );
}

#[test]
fn bash_completes_folders_with_spaces_and_set_and_theme_names_by_compgen() {
    require("bash");
    let dir = TestDir::new("completion_bash_compgen");
    tree(&dir);
    let file = script(&dir, "bash");
    let probe = r#"
        source "$1"
        cd "$2"
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _mybb_sync
            printf '%s|' "${COMPREPLY[@]}"; echo
        }
        complete_words mybb-sync diff 'mybb_sync/template_sets/Def'
        complete_words mybb-sync import 'mybb_sync/template_sets/Default\ Templates/He'
        complete_words mybb-sync export --set ''
        complete_words mybb-sync export --theme 'M'
        complete_words mybb-sync --root mybb_sync export --set 'Def'
        complete_words mybb-sync theme ''
        complete_words mybb-sync theme export ''
        cd mybb_sync/template_sets
        complete_words mybb-sync export --set 'A'
    "#;
    let out = TestCommand::program("bash")
        .args(["-c", probe, "probe"])
        .arg(&file)
        .arg(dir.path())
        .expect_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "mybb_sync/template_sets/Default Templates/|", "{out}");
    assert_eq!(lines[1], "mybb_sync/template_sets/Default Templates/Header Templates/|", "{out}");
    assert_eq!(lines[2], "A/B|Default Templates|", "{out}");
    assert_eq!(lines[3], "My Theme|", "{out}");
    assert_eq!(lines[4], "Default Templates|", "{out}");
    assert_eq!(lines[5], "export|import|unpack|", "{out}");
    assert_eq!(lines[6], "My Theme|", "{out}");
    // From inside the root, found as mybb-sync finds it.
    assert_eq!(lines[7], "A/B|", "{out}");
}

/// A bash in a tmux session of its own: what a user's TAB does, readline included.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `bash --norc` with the completion script `file` loaded, in `dir`.
    fn bash(dir: &TestDir, file: &Path) -> Tmux {
        let setup = format!(
            "PS1='$ '; bind 'set bell-style none'; source '{}'; cd '{}'; clear",
            file.display(),
            dir.path().display()
        );
        Tmux::start("bash --norc --noprofile", &setup)
    }

    /// Starts `shell` in a tmux session of its own and types `setup` into it.
    fn start(shell: &str, setup: &str) -> Tmux {
        require("tmux");
        // One tmux server per session: tests run in parallel.
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::SeqCst);
        let socket = format!("mybb-sync-test-{}-{n}", std::process::id());
        let tmux = Tmux { socket };
        tmux.run(&["new-session", "-d", "-x", "250", "-y", "20", shell]);
        tmux.line(setup);
        tmux
    }

    /// Runs `tmux ARGS` on this session's server.
    fn run(&self, args: &[&str]) -> String {
        TestCommand::program("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args.iter().copied())
            .expect_success()
            .stdout
    }

    /// Types `text` and Enter.
    fn line(&self, text: &str) {
        self.run(&["send-keys", "-l", text]);
        self.run(&["send-keys", "Enter"]);
    }

    /// Types `text` then TAB, and returns the screen's last prompt line once it shows `want`.
    fn tab(&self, text: &str, want: &str) -> String {
        self.run(&["send-keys", "C-u"]);
        self.run(&["send-keys", "-l", text]);
        self.run(&["send-keys", "Tab"]);
        let mut screen = String::new();
        wait_until(&format!("{want:?} on the screen"), Duration::from_secs(10), || {
            screen = self.run(&["capture-pane", "-p"]);
            screen.lines().any(|l| l.trim_end_matches(' ') == format!("$ {}", want.trim_end()))
        });
        screen.lines().rev().find(|l| l.starts_with("$ ")).unwrap_or("").to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ =
            std::process::Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

#[test]
fn bash_tab_completes_a_path_with_spaces_folder_by_folder() {
    let dir = TestDir::new("completion_bash_tmux");
    tree(&dir);
    let file = script(&dir, "bash");
    let tmux = Tmux::bash(&dir, &file);
    // A folder ends in `/`, its spaces escaped, and TAB goes on into it.
    tmux.tab(
        "mybb-sync diff mybb_sync/template_sets/Def",
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/",
    );
    let line = tmux.tab(
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/",
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/Header\\ Templates/",
    );
    assert!(!line.ends_with("/ "), "no space after a folder: {line:?}");
    tmux.tab(
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/Header\\ Templates/h",
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/Header\\ Templates/header.html",
    );
    tmux.tab("mybb-sync export --set Def", "mybb-sync export --set Default\\ Templates");
    tmux.tab("mybb-sync export --theme M", "mybb-sync export --theme My\\ Theme");
}

#[test]
fn zsh_tab_completes_a_path_with_spaces_and_set_and_theme_names() {
    let dir = TestDir::new("completion_zsh_tmux");
    tree(&dir);
    let file = script(&dir, "zsh");
    require("zsh");
    let setup = format!(
        "PS1='$ '; autoload -U compinit; compinit -u -D; source '{}'; cd '{}'; clear",
        file.display(),
        dir.path().display()
    );
    let tmux = Tmux::start("zsh -f", &setup);
    tmux.tab(
        "mybb-sync diff mybb_sync/template_sets/Def",
        "mybb-sync diff mybb_sync/template_sets/Default\\ Templates/",
    );
    tmux.tab("mybb-sync export --set Def", "mybb-sync export --set Default\\ Templates");
    tmux.tab("mybb-sync export --set A", "mybb-sync export --set A/B");
    tmux.tab("mybb-sync export --theme M", "mybb-sync export --theme My\\ Theme");
    tmux.tab("mybb-sync theme export M", "mybb-sync theme export My\\ Theme");
}

#[test]
fn fish_completes_a_path_with_spaces_and_set_and_theme_names() {
    require("fish");
    let dir = TestDir::new("completion_fish");
    tree(&dir);
    let file = script(&dir, "fish");
    let probe = r#"source $argv[1]
        cd $argv[2]
        complete -C"mybb-sync diff mybb_sync/template_sets/Def"
        echo ==
        complete -C"mybb-sync export --set "
        echo ==
        complete -C"mybb-sync export --theme M"
        echo ==
        complete -C"mybb-sync theme export M"
    "#;
    let out = TestCommand::program("fish")
        .args(["-N", "-c", probe])
        .arg(&file)
        .arg(dir.path())
        .env("HOME", dir.path())
        .expect_success();
    let parts: Vec<Vec<&str>> = out
        .stdout
        .split("==\n")
        .map(|part| part.lines().map(|l| l.split('\t').next().unwrap_or("")).collect())
        .collect();
    assert_eq!(parts[0], ["mybb_sync/template_sets/Default Templates/"], "{out}");
    assert_eq!(parts[1], ["A/B", "Default Templates"], "{out}");
    assert_eq!(parts[2], ["My Theme"], "{out}");
    assert_eq!(parts[3], ["My Theme"], "{out}");
}
