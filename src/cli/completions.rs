//! `completions bash|zsh|fish`: a shell completion script, rendered from the command line's
//! one table (`cli::COMMANDS`, `cli::GLOBAL_FLAGS`), the same table `--help` comes from.
//!
//! Commands are completed by their first word; a first word shared by several commands
//! (`cache rebuild`, and so `theme export`, `theme import`) completes their second words, then
//! the flags of all of them.
//!
//! Paths complete whole, spaces included (every template lives under `template_sets/Default
//! Templates/...`), a folder ending in `/` so TAB goes on into it. Set and theme names
//! (`--set`, `--theme`) complete from the folders of the sync tree, found as mybb-sync finds
//! its root (`--root`, `MYBB_SYNC_ROOT`, the enclosing root, `./mybb_sync`) and decoded as the
//! layout encodes them (`%2F` is `/`): no database is asked on a TAB.

use std::fmt::Write as _;

use crate::cli::spec::{CommandSpec, Flag, Operands, ValueKind};
use crate::cli::table::{COMMAND_WORDS, COMMANDS, GLOBAL_FLAGS};

/// Prints the completion script for `shell` to stdout. Never fails: it returns a result to
/// sit in `app.rs`'s table beside the commands.
pub fn print(shell: &str) -> crate::error::Result<()> {
    print!("{}", script(shell));
    Ok(())
}

/// Returns the completion script for `shell` (`bash`, `zsh` or `fish`).
pub fn script(shell: &str) -> String {
    match shell {
        "zsh" => zsh(),
        "fish" => fish(),
        _ => bash(),
    }
}

/// The commands that share one first word.
struct Group {
    word: &'static str,
    specs: Vec<&'static CommandSpec>,
}

impl Group {
    /// Returns the second words of a group of two-word commands (`rebuild` of `cache`).
    fn actions(&self) -> Vec<&'static str> {
        self.specs.iter().filter_map(|c| c.words.get(1).copied()).collect()
    }

    /// Returns the flags of all the group's commands, each name once.
    fn flags(&self) -> Vec<&'static Flag> {
        let mut flags: Vec<&'static Flag> = Vec::new();
        for flag in self.specs.iter().flat_map(|c| c.flags.iter()) {
            if !flags.iter().any(|f| f.long == flag.long) {
                flags.push(flag);
            }
        }
        flags
    }

    /// Returns the one summary line of the group.
    fn summary(&self) -> String {
        match self.specs.as_slice() {
            [only] => only.summary.to_owned(),
            _ => format!("{}: {}", self.word, self.actions().join(", ")),
        }
    }

    /// Returns what the operands are, when the group is one command of one word.
    fn operands(&self) -> Option<Operands> {
        match self.specs.as_slice() {
            [only] if only.words.len() == 1 => Some(only.operands),
            _ => None,
        }
    }
}

/// Returns the commands grouped by first word, in the order of [`COMMAND_WORDS`].
fn groups() -> Vec<Group> {
    COMMAND_WORDS
        .iter()
        .map(|word| Group {
            word,
            specs: COMMANDS.iter().filter(|c| c.words[0] == *word).collect(),
        })
        .collect()
}

/// Returns every spelling of `flags`: `--db`, `-q`, `--quiet`.
fn spellings<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> Vec<String> {
    let mut words = Vec::new();
    for flag in flags {
        if let Some(short) = flag.short {
            words.push(format!("-{short}"));
        }
        words.push(format!("--{}", flag.long));
    }
    words
}

/// Returns every flag of every table.
fn all_flags() -> impl Iterator<Item = &'static Flag> {
    GLOBAL_FLAGS.iter().chain(COMMANDS.iter().flat_map(|c| c.flags.iter()))
}

/// Returns the first line of a help text, its whitespace collapsed.
fn plain(help: &str) -> String {
    help.lines().next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Returns `word` as one single-quoted zsh word (`'` as `'\''`).
fn zsh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Returns a help text for the brackets of a zsh `_arguments` spec, whose `[`, `]` and `\`
/// would end or change it.
fn zsh_bracketed(help: &str) -> String {
    plain(help).replace('\\', r"\\").replace('[', r"\[").replace(']', r"\]")
}

/// Returns `text` as one single-quoted fish word (`\` and `'` escaped).
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', r"\\").replace('\'', r"\'"))
}

/// The bash functions the completion calls: dequoting, the root, paths and names.
const BASH_PRELUDE: &str = r#"# The word being completed without its shell quoting (a leading quote, backslashes), in REPLY.
_mybb_sync_dequote() {
    local w=$1 c
    REPLY=
    case $w in
        \'*) w=${w#\'}; REPLY=${w%\'}; return ;;
        \"*) w=${w#\"}; w=${w%\"} ;;
    esac
    while [[ -n $w ]]; do
        c=${w:0:1}; w=${w:1}
        if [[ $c == \\ ]]; then c=${w:0:1}; w=${w:1}; fi
        REPLY+=$c
    done
}
# The sync root as mybb-sync finds it, in REPLY.
_mybb_sync_root() {
    local i d
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --root ]]; then _mybb_sync_dequote "${COMP_WORDS[i+1]}"; return; fi
    done
    if [[ -n ${MYBB_SYNC_ROOT:-} ]]; then REPLY=$MYBB_SYNC_ROOT; return; fi
    d=$PWD
    while :; do
        if [[ -d $d/.mybb-sync ]]; then REPLY=${d:-/}; return; fi
        [[ -z $d || $d == / ]] && break
        d=${d%/*}
    done
    REPLY=mybb_sync
}
# Files (-f) or folders (-d) completing the current word, each whole, a folder with its /.
_mybb_sync_paths() {
    local IFS=$'\n' f
    _mybb_sync_dequote "$cur"
    COMPREPLY=()
    for f in $(compgen "$1" -- "$REPLY"); do
        [[ -d $f ]] && f+=/
        COMPREPLY+=("$f")
    done
    # Quoted as file names (spaces escaped), a folder followed by no space.
    compopt -o filenames 2>/dev/null
    return 0
}
# The names of the sets (template_sets) or themes (styles) in the sync tree.
_mybb_sync_names() {
    local d n
    _mybb_sync_root
    local root=$REPLY
    _mybb_sync_dequote "$cur"
    COMPREPLY=()
    for d in "$root/$1"/*/; do
        [[ -d $d ]] || continue
        n=${d%/}; n=${n##*/}
        printf -v n '%b' "${n//\%/\\x}"
        [[ $n == "$REPLY"* ]] && COMPREPLY+=("$n")
    done
    compopt -o filenames 2>/dev/null
    return 0
}
"#;

/// The zsh functions the completion calls: the root and the names of sets and themes.
const ZSH_PRELUDE: &str = r#"# The sync root as mybb-sync finds it, in REPLY.
_mybb_sync_root() {
    local -a w; w=(${(z)BUFFER})
    local i=${w[(i)--root]} d
    if (( i < $#w )); then REPLY=${(Q)w[i+1]}; return; fi
    if [[ -n $MYBB_SYNC_ROOT ]]; then REPLY=$MYBB_SYNC_ROOT; return; fi
    d=$PWD
    while true; do
        if [[ -d $d/.mybb-sync ]]; then REPLY=${d:-/}; return; fi
        [[ -z $d || $d == / ]] && break
        d=${d%/*}
    done
    REPLY=mybb_sync
}
# The names of the sets (template_sets) or themes (styles) in the sync tree, in reply.
_mybb_sync_names() {
    local d REPLY
    reply=()
    _mybb_sync_root
    for d in $REPLY/$1/*(N/); do reply+=("${(g::)${${d:t}//\%/\\x}}"); done
}
_mybb_sync_sets() { local -a reply; _mybb_sync_names template_sets; compadd -a reply }
_mybb_sync_themes() { local -a reply; _mybb_sync_names styles; compadd -a reply }
"#;

/// The fish functions the completion calls: the root and the names of sets and themes.
const FISH_PRELUDE: &str = r#"# The sync root as mybb-sync finds it.
function __mybb_sync_root
    set -l tokens (commandline -opc)
    set -l i (contains -i -- --root $tokens)
    if test -n "$i"; and test (count $tokens) -gt $i
        echo $tokens[(math $i + 1)]
        return
    end
    if test -n "$MYBB_SYNC_ROOT"
        echo $MYBB_SYNC_ROOT
        return
    end
    set -l d $PWD
    while true
        if test -d "$d/.mybb-sync"
            echo $d
            return
        end
        if test -z "$d"; or test "$d" = /
            break
        end
        set d (string replace -r '/[^/]*$' '' -- $d)
    end
    echo mybb_sync
end
# The names of the sets (template_sets) or themes (styles) in the sync tree, decoded.
function __mybb_sync_names
    set -l root (__mybb_sync_root)
    for d in $root/$argv[1]/*/
        printf (string replace -a '%' '\\x' -- (basename $d))'\n'
    end
end
"#;

/// Returns the bash completion script.
fn bash() -> String {
    let mut out = format!(
        "# bash completion for mybb-sync, from `mybb-sync completions bash`.\n{BASH_PRELUDE}"
    );
    out.push_str(
        "_mybb_sync() {\n\
         \x20   local cur prev cmd i\n\
         \x20   cur=${COMP_WORDS[COMP_CWORD]}\n\
         \x20   prev=${COMP_WORDS[COMP_CWORD-1]}\n",
    );
    // The command: the first word that is not a flag or the value of one. (A flag whose value
    // is optional takes none here: the completion cannot know.)
    let valued: Vec<String> = all_flags()
        .filter(|f| f.value.is_some() && !f.optional)
        .map(|f| format!("--{}", f.long))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let _ = write!(
        out,
        "    cmd=\n\
         \x20   for ((i = 1; i < COMP_CWORD; i++)); do\n\
         \x20       case ${{COMP_WORDS[i]}} in\n\
         \x20           {}) ((i++)) ;;\n\
         \x20           -*) ;;\n\
         \x20           *) cmd=${{COMP_WORDS[i]}}; break ;;\n\
         \x20       esac\n\
         \x20   done\n",
        valued.join("|")
    );
    // Flags that take a value: their value is completed (or not) by kind, and choices by the
    // command (export's --prefer takes fewer than import's).
    out.push_str("    case $prev in\n");
    let mut texts = Vec::new();
    let mut done = Vec::new();
    for flag in all_flags().filter(|f| f.value.is_some() && !f.optional) {
        if done.contains(&flag.long) {
            continue;
        }
        done.push(flag.long);
        let word = format!("--{}", flag.long);
        match flag.kind {
            ValueKind::Text => texts.push(word),
            ValueKind::Dir => {
                let _ = writeln!(out, "        {word}) _mybb_sync_paths -d; return ;;");
            }
            ValueKind::File => {
                let _ = writeln!(out, "        {word}) _mybb_sync_paths -f; return ;;");
            }
            ValueKind::SetName => {
                let _ = writeln!(out, "        {word}) _mybb_sync_names template_sets; return ;;");
            }
            ValueKind::ThemeName => {
                let _ = writeln!(out, "        {word}) _mybb_sync_names styles; return ;;");
            }
            ValueKind::Choice(_) => {
                let _ = write!(out, "        {word}) case $cmd in");
                for group in groups() {
                    for f in group.flags().into_iter().filter(|f| f.long == flag.long) {
                        if let ValueKind::Choice(words) = f.kind {
                            let _ = write!(
                                out,
                                " {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;",
                                group.word,
                                words.join(" ")
                            );
                        }
                    }
                }
                out.push_str(" esac; return ;;\n");
            }
        }
    }
    if !texts.is_empty() {
        let _ = writeln!(out, "        {}) return ;;", texts.join("|"));
    }
    out.push_str("    esac\n");
    let global = spellings(GLOBAL_FLAGS).join(" ");
    out.push_str("    case $cmd in\n");
    let _ = writeln!(
        out,
        "        '') COMPREPLY=($(compgen -W \"{} {global}\" -- \"$cur\")) ;;",
        COMMAND_WORDS.join(" ")
    );
    for group in groups() {
        let flags = format!("{} {global}", spellings(group.flags()).join(" "));
        let _ = writeln!(
            out,
            "        {}) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); \
             else {}; fi ;;",
            group.word,
            flags.trim(),
            bash_operands(&group)
        );
    }
    out.push_str(
        "    esac\n\
         }\n\
         complete -o default -F _mybb_sync mybb-sync\n",
    );
    out
}

/// Returns the bash statement completing the operands of `group` (files fall back to
/// `complete -o default`). A group of two-word commands completes its actions, then the
/// operand of the action given (`theme export NAME`: the tree's theme names).
fn bash_operands(group: &Group) -> String {
    let words: Vec<&str> = match group.operands() {
        Some(operands) => return bash_operand(operands),
        None => group.actions(),
    };
    let actions = format!("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words.join(" "));
    let mut per_action = String::new();
    for spec in &group.specs {
        if let Some(action) = spec.words.get(1) {
            let _ = write!(per_action, " {action}) {} ;;", bash_operand(spec.operands));
        }
    }
    // `i` is the command's index in COMP_WORDS (the loop at the top stops there).
    format!(
        "if ((COMP_CWORD == i + 1)); then {actions}; else case ${{COMP_WORDS[i+1]}} in{per_action} esac; fi"
    )
}

/// Returns the bash statement completing `operands`.
fn bash_operand(operands: Operands) -> String {
    let words: Vec<&str> = match operands {
        Operands::Paths { .. } | Operands::One(ValueKind::File | ValueKind::Dir) => {
            return "_mybb_sync_paths -f".to_owned();
        }
        Operands::One(ValueKind::ThemeName) => return "_mybb_sync_names styles".to_owned(),
        Operands::One(ValueKind::SetName) => return "_mybb_sync_names template_sets".to_owned(),
        Operands::One(ValueKind::Choice(words)) | Operands::Optional(ValueKind::Choice(words)) => {
            words.to_vec()
        }
        _ => Vec::new(),
    };
    format!("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words.join(" "))
}

/// Returns one `_arguments` spec per spelling of `flag`, for zsh.
fn zsh_flag(flag: &Flag) -> Vec<String> {
    let help = zsh_bracketed(flag.help);
    let colon = if flag.optional { "::" } else { ":" };
    let action = match (flag.value, flag.kind) {
        (None, _) => String::new(),
        (Some(value), ValueKind::Dir) => format!("{colon}{value}:_directories"),
        (Some(value), ValueKind::File) => format!("{colon}{value}:_files"),
        (Some(value), ValueKind::Choice(words)) => format!("{colon}{value}:({})", words.join(" ")),
        (Some(value), ValueKind::Text) => format!("{colon}{value}: "),
        (Some(value), ValueKind::SetName) => format!("{colon}{value}:_mybb_sync_sets"),
        (Some(value), ValueKind::ThemeName) => format!("{colon}{value}:_mybb_sync_themes"),
    };
    let repeat = if flag.repeatable { "*" } else { "" };
    let mut specs = vec![zsh_quote(&format!("{repeat}--{}[{help}]{action}", flag.long))];
    if let Some(short) = flag.short {
        specs.push(zsh_quote(&format!("{repeat}-{short}[{help}]{action}")));
    }
    specs
}

/// Returns the zsh completion script.
fn zsh() -> String {
    let mut out = format!(
        "#compdef mybb-sync\n# zsh completion for mybb-sync, from `mybb-sync completions zsh`.\n\
         {ZSH_PRELUDE}"
    );
    // A group's operand follows its action: `theme export NAME`, `theme import FILE`.
    for group in groups().iter().filter(|g| g.operands().is_none()) {
        let mut cases = String::new();
        for spec in &group.specs {
            let Some(action) = spec.words.get(1) else { continue };
            let call = match spec.operands {
                Operands::One(ValueKind::ThemeName) => "_mybb_sync_themes",
                Operands::One(ValueKind::SetName) => "_mybb_sync_sets",
                Operands::One(ValueKind::File | ValueKind::Dir) | Operands::Paths { .. } => {
                    "_files"
                }
                _ => continue,
            };
            let _ = write!(cases, " {action}) {call} ;;");
        }
        let _ = writeln!(
            out,
            "_mybb_sync_{}_operand() {{ case $words[2] in{cases} esac }}",
            group.word
        );
    }
    out.push_str(
        "_mybb_sync() {\n\
         \x20   local -a global commands\n",
    );
    let global: Vec<String> = GLOBAL_FLAGS.iter().flat_map(zsh_flag).collect();
    let _ = writeln!(out, "    global=(\n        {}\n    )", global.join("\n        "));
    let commands: Vec<String> = groups()
        .iter()
        .map(|g| zsh_quote(&format!("{}:{}", g.word, plain(&g.summary()))))
        .collect();
    let _ = writeln!(out, "    commands=(\n        {}\n    )", commands.join("\n        "));
    out.push_str(
        "    local curcontext=$curcontext state line\n\
         \x20   _arguments -C $global '1:command:->command' '*::argument:->argument'\n\
         \x20   case $state in\n\
         \x20       command) _describe -t commands 'mybb-sync command' commands ;;\n\
         \x20       argument)\n\
         \x20           case $words[1] in\n",
    );
    for group in groups() {
        let mut specs: Vec<String> = group.flags().into_iter().flat_map(zsh_flag).collect();
        match group.operands() {
            Some(Operands::Paths { .. }) => specs.push("'*:path:_files'".to_owned()),
            Some(Operands::One(ValueKind::File | ValueKind::Dir)) => {
                specs.push("'1:file:_files'".to_owned())
            }
            Some(
                Operands::One(ValueKind::Choice(words))
                | Operands::Optional(ValueKind::Choice(words)),
            ) => specs.push(format!("'1:word:({})'", words.join(" "))),
            Some(_) => {}
            None => {
                specs.push(format!("'1:action:({})'", group.actions().join(" ")));
                specs.push(format!("'*:operand:_mybb_sync_{}_operand'", group.word));
            }
        }
        let _ = writeln!(
            out,
            "                {}) _arguments $global {} ;;",
            group.word,
            specs.join(" ")
        );
    }
    out.push_str(
        "            esac ;;\n\
         \x20   esac\n\
         }\n\
         # Autoloaded from $fpath as _mybb-sync: complete now; sourced: register for later.\n\
         if [[ $funcstack[1] == _mybb-sync ]]; then\n\
         \x20   _mybb_sync \"$@\"\n\
         else\n\
         \x20   compdef _mybb_sync mybb-sync\n\
         fi\n",
    );
    out
}

/// Returns the `complete` line of `flag` under `condition`, for fish.
fn fish_flag(flag: &Flag, condition: &str) -> String {
    let mut line = format!("complete -c mybb-sync -n '{condition}' -l {}", flag.long);
    if let Some(short) = flag.short {
        let _ = write!(line, " -s {short}");
    }
    match (flag.value, flag.kind) {
        (None, _) => {}
        (Some(_), ValueKind::Dir) => line.push_str(" -r -a '(__fish_complete_directories)'"),
        (Some(_), ValueKind::File) => line.push_str(" -r -F"),
        (Some(_), ValueKind::Choice(words)) => {
            let _ = write!(line, " -x -a '{}'", words.join(" "));
        }
        (Some(_), ValueKind::Text) => line.push_str(" -x"),
        (Some(_), ValueKind::SetName) => {
            line.push_str(" -x -a '(__mybb_sync_names template_sets)'")
        }
        (Some(_), ValueKind::ThemeName) => line.push_str(" -x -a '(__mybb_sync_names styles)'"),
    }
    let _ = write!(line, " -d {}", fish_quote(&plain(flag.help)));
    line
}

/// Returns the fish completion script.
fn fish() -> String {
    let mut out = format!(
        "# fish completion for mybb-sync, from `mybb-sync completions fish`.\n{FISH_PRELUDE}\
         complete -c mybb-sync -f\n"
    );
    let words = COMMAND_WORDS.join(" ");
    for flag in GLOBAL_FLAGS {
        out.push_str(&fish_flag(flag, "true"));
        out.push('\n');
    }
    for group in groups() {
        let _ = writeln!(
            out,
            "complete -c mybb-sync -n 'not __fish_seen_subcommand_from {words}' -a {} -d {}",
            group.word,
            fish_quote(&plain(&group.summary()))
        );
        let condition = format!("__fish_seen_subcommand_from {}", group.word);
        for flag in group.flags() {
            out.push_str(&fish_flag(flag, &condition));
            out.push('\n');
        }
        match group.operands() {
            Some(Operands::Paths { .. } | Operands::One(ValueKind::File | ValueKind::Dir)) => {
                let _ = writeln!(out, "complete -c mybb-sync -n '{condition}' -F");
            }
            Some(
                Operands::One(ValueKind::Choice(words))
                | Operands::Optional(ValueKind::Choice(words)),
            ) => {
                let _ = writeln!(
                    out,
                    "complete -c mybb-sync -n '{condition}' -a '{}'",
                    words.join(" ")
                );
            }
            Some(_) => {}
            None => {
                let actions = group.actions().join(" ");
                let _ = writeln!(
                    out,
                    "complete -c mybb-sync -n '{condition}; and not __fish_seen_subcommand_from \
                     {actions}' -a '{actions}'"
                );
                // The action's operand: `theme export NAME` completes the tree's theme names.
                for spec in &group.specs {
                    let Some(action) = spec.words.get(1) else { continue };
                    let what = match spec.operands {
                        Operands::One(ValueKind::ThemeName) => "-a '(__mybb_sync_names styles)'",
                        Operands::One(ValueKind::SetName) => {
                            "-a '(__mybb_sync_names template_sets)'"
                        }
                        Operands::One(ValueKind::File | ValueKind::Dir)
                        | Operands::Paths { .. } => "-F",
                        _ => continue,
                    };
                    let _ = writeln!(
                        out,
                        "complete -c mybb-sync -n '{condition}; and __fish_seen_subcommand_from \
                         {action}' {what}"
                    );
                }
            }
        }
    }
    out
}
