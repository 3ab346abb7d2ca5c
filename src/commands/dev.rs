//! `dev THEME` (issue 29): makes, or finds again, a private development copy of THEME as the
//! Admin CP's Duplicate Theme does, restricted to administrators (or `--groups`); records the
//! base `publish` merges against; puts the live-reload script into the copy's own
//! `headerinclude`; exports the copy under its own name; and watches with live reload until
//! Ctrl-C, which keeps the copy.

use std::io::Write as _;

use crate::cli::{DevArgs, ExportArgs};
use crate::commands::Context;
use crate::commands::export::{self, Mode};
use crate::commands::watch;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::board::{Board, MASTER_THEME_TID};
use crate::mybb::cache::is_mybb_root;
use crate::mybb::db::{Db, ThemeRow};
use crate::mybb::theme_duplicate::duplicate_theme;
use crate::sync::devtheme::ThemeNow;
use crate::sync::devtheme::livescript;
use crate::sync::devtheme::publish::Writer;
use crate::sync::devtheme::record::DevRecord;
use crate::sync::layout::ItemPath;
use crate::sync::own_dir::{self, Binding};
use crate::sync::watcher::WatchOptions;
use crate::test_hooks::Hooks;

/// The template that carries the live-reload script, as MyBB's own `<head>` includes it.
const HEADERINCLUDE: &str = "headerinclude";

/// Runs `dev` as the command line asks.
pub fn run(ctx: &Context, args: &DevArgs, hooks: &Hooks) -> Result<()> {
    let (db, config) = ctx.connected()?;
    let mybb_root =
        config.mybb_root.as_deref().filter(|root| is_mybb_root(root)).ok_or_else(|| {
            Error::usage(
                "dev needs MyBB's root (--mybb DIR or MYBB_ROOT): the copy's stylesheet lists and \
             cache files are written there, as the Admin CP writes them",
            )
        })?;
    let root = &config.sync_root;
    own_dir::bind(root, config, db, Binding::CheckAndStamp)?;
    let board = Board::load(db)?;
    let theme = live_theme(&board, &args.theme)?;
    let record = match DevRecord::load(root, theme.tid)? {
        Some(record)
            if board.theme(record.copy_tid).is_some_and(|c| c.name == record.copy_name) =>
        {
            log::info!(
                "found the development copy {:?} (tid {}) again, with its edits",
                record.copy_name,
                record.copy_tid
            );
            if args.name.as_ref().is_some_and(|name| *name != record.copy_name) {
                log::warn!(
                    "--name is for a new copy: this one keeps its name {:?}",
                    record.copy_name
                );
            }
            if record.groups != args.groups {
                db.set_theme_allowedgroups(record.copy_tid, &args.groups)?;
            }
            DevRecord { groups: args.groups.clone(), ..record }
        }
        Some(record) => {
            log::warn!(
                "the development copy {:?} (tid {}) is gone from the board; making a new one",
                record.copy_name,
                record.copy_tid
            );
            create(db, config, mybb_root, &board, theme, args)?
        }
        None => create(db, config, mybb_root, &board, theme, args)?,
    };
    record.save(root, config.durable)?;
    let live = match args.live_reload {
        Some(addr) => {
            let (server, sender) = crate::live::start(addr)?;
            put_script(db, config, &record, &server.script_tag())?;
            Some((server, sender))
        }
        None => None,
    };
    let selection = ExportArgs {
        sets: vec![record.copy_set_title.clone()],
        themes: vec![record.copy_name.clone()],
        ..ExportArgs::default()
    };
    export::export(db, config, &selection, Mode::default())?;
    print_start(db, &record, live.as_ref().map(|(server, _)| server.local_addr()));
    if args.no_watch {
        return Ok(());
    }
    let options = WatchOptions {
        debounce: crate::cli::WatchArgs::default().debounce,
        reconcile_at_start: true,
        pull_interval: crate::cli::WatchArgs::default().pull_interval,
        exit_after: hooks.exit_after,
        live: live.map(|(_, sender)| sender),
        max_deletions: crate::cli::WatchArgs::default().max_deletions,
        on_saved: None,
    };
    watch::watch(ctx, options, false)?;
    // For the user, after the watcher's own "stopped" line.
    let _ = writeln!(
        std::io::stdout(),
        "the development copy {:?} (tid {}) is kept: `mybb-sync dev {}` goes on with it, \
         `mybb-sync publish` carries its changes to {:?}",
        record.copy_name,
        record.copy_tid,
        shell_word(&record.theme_name),
        record.theme_name
    );
    Ok(())
}

/// Returns the live theme named `name`: not MyBB's master, and not a development copy itself.
fn live_theme<'b>(board: &'b Board, name: &str) -> Result<&'b ThemeRow> {
    let theme = board.theme_by_name(name).ok_or_else(|| Error::UnknownItem {
        kind: "theme",
        name: name.to_owned(),
        known: board.themes.iter().map(|t| t.name.clone()).collect(),
    })?;
    if theme.tid == MASTER_THEME_TID {
        return Err(Error::usage(
            "MyBB's master style is never edited; develop a copy of the theme that uses it",
        ));
    }
    Ok(theme)
}

/// Makes the copy of `theme` and its record: the base is read first, so it is what the copy
/// was made from.
fn create(
    db: &Db,
    config: &Config,
    mybb_root: &std::path::Path,
    board: &Board,
    theme: &ThemeRow,
    args: &DevArgs,
) -> Result<DevRecord> {
    let name = args.name.clone().unwrap_or_else(|| format!("{} (development)", theme.name));
    let base = ThemeNow::read(db, board, theme)?.items();
    let copy = duplicate_theme(db, theme, &name, mybb_root, config.durable)?;
    db.set_theme_allowedgroups(copy.tid, &args.groups)?;
    log::info!(
        "made the development copy {name:?} (tid {}) of {:?}, for user groups {} only",
        copy.tid,
        theme.name,
        args.groups
    );
    Ok(DevRecord {
        theme_tid: theme.tid,
        theme_name: theme.name.clone(),
        copy_tid: copy.tid,
        copy_name: name,
        copy_sid: copy.set_sid,
        copy_set_title: copy.set_title,
        groups: args.groups.clone(),
        base,
    })
}

/// Writes the live-reload script `tag` into the copy's own `headerinclude` (replacing an older
/// one), through the compare-and-swap writes; never into any other set.
fn put_script(db: &Db, config: &Config, record: &DevRecord, tag: &str) -> Result<()> {
    let board = Board::load(db)?;
    let Some(copy) = board.theme(record.copy_tid) else { return Ok(()) };
    let now = ThemeNow::read(db, &board, copy)?;
    if now.sid != record.copy_sid {
        return Err(Error::usage(format!(
            "the development copy {:?} uses template set {} instead of its own ({}): the \
             live-reload script goes only into its own set, so it was not written (set it back \
             in the Admin CP, or use --no-live-reload)",
            record.copy_name, now.sid, record.copy_sid
        )));
    }
    let head = now.templates.get(HEADERINCLUDE);
    let text = head.map(|t| t.text.as_str()).unwrap_or_default();
    let content = livescript::with_script(text, tag);
    if content == text {
        return Ok(());
    }
    let writer = Writer { db, config, version: db.version_code()? };
    if !writer.write_template(now.sid, HEADERINCLUDE, &content, head)? {
        log::warn!("headerinclude of the development copy changed meanwhile: no live reload");
    }
    Ok(())
}

/// Prints how to look at the copy, on stdout (for the user to read and copy).
fn print_start(db: &Db, record: &DevRecord, live: Option<std::net::SocketAddr>) {
    let bburl = db.setting("bburl").ok().flatten().unwrap_or_default();
    let bburl = bburl.trim_end_matches('/');
    let set_dir = ItemPath::set_dir(&record.copy_set_title);
    let theme_dir = ItemPath::theme_dir(&record.copy_name);
    let mut out = format!(
        "development copy of {:?}: theme {:?} (tid {}), template set {:?} (sid {}), usable by \
         user groups {} only\n  files: {} and {}\n  to see it: log in as an administrator and \
         choose {:?} in the theme selector at the foot of any page (MyBB's quick theme \
         changer, {bburl}/index.php?theme={}&my_post_key=... with your post key) or in User CP \
         > Edit Options > Board Style\n",
        record.theme_name,
        record.copy_name,
        record.copy_tid,
        record.copy_set_title,
        record.copy_sid,
        record.groups,
        set_dir.display(),
        theme_dir.display(),
        record.copy_name,
        record.copy_tid,
    );
    if let Some(addr) = live {
        out.push_str(&format!(
            "  live reload: listening on {addr}; the script is in the copy's headerinclude only\n"
        ));
    }
    out.push_str(&format!(
        "  publish: `mybb-sync publish {}` (--dry-run first); Ctrl-C stops watching and keeps \
         the copy\n",
        shell_word(&record.theme_name)
    ));
    let _ = std::io::stdout().write_all(out.as_bytes());
    let _ = std::io::stdout().flush();
}

/// Returns `text` as one shell word: quoted unless it is plain.
fn shell_word(text: &str) -> String {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
