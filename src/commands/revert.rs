//! `revert PATH...`: the Admin CP's "Revert to Original" for each template file: the custom
//! row is deleted (never a master row) and the file rewritten with what MyBB renders now.
//! A file with edits not yet in the database is a conflict unless `--prefer db`.

use crate::cli::{Prefer, RevertArgs};
use crate::commands::{Context, output};
use crate::error::{Error, Result};
use crate::sync::own_dir;
use crate::sync::state::State;
use crate::sync::upgrade::{Reverted, Upgrade};

/// Runs `revert`. Returns [`Error::Incomplete`] (exit 3) when a path was refused or in
/// conflict.
/// With `json`, prints one object per path on stdout (`action` one of `reverted`, `conflict`,
/// `refused`), then a summary.
pub fn run(ctx: &Context, args: &RevertArgs) -> Result<()> {
    let paths = ctx.paths(&args.paths)?;
    let (db, config) = ctx.connected()?;
    let RevertArgs { prefer, json, .. } = args;
    let (discard_local, json) = (*prefer == Some(Prefer::Db), *json);
    own_dir::require_root(&config.sync_root)?;
    own_dir::bind(&config.sync_root, config, db, own_dir::Binding::CheckAndStamp)?;
    let lock = own_dir::lock(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let mut upgrade = Upgrade::load(db, config)?;
    let mut state = State::load(&config.sync_root)?;
    let (mut done, mut conflicts, mut refused) = (0, 0, 0);
    let mut lines = Vec::new();
    for path in &paths {
        let shown = upgrade.relative(path).display().to_string();
        match upgrade.revert(path, discard_local, &mut state) {
            Ok(Reverted::Done { tid, now_from }) => {
                log::info!(
                    "{shown}: reverted: the custom copy (tid {tid}) was deleted; the file now holds {now_from}"
                );
                let mut object = output::item(config, "reverted", path, None);
                object["tid"] = serde_json::json!(tid);
                object["now_from"] = serde_json::json!(now_from);
                lines.push(object);
                done += 1;
            }
            Ok(Reverted::Conflict) => {
                let why = "the file has edits that are not in the database (revert --prefer db \
                           discards them)";
                log::warn!("{shown}: not reverted: {why}");
                lines.push(output::item(config, "conflict", path, Some(why)));
                conflicts += 1;
            }
            Ok(Reverted::Refused(why)) => {
                log::warn!("{shown}: not reverted: {why}");
                lines.push(output::item(config, "refused", path, Some(&why)));
                refused += 1;
            }
            Err(
                e @ (Error::Connect { .. } | Error::PgConnect { .. } | Error::SqliteBusy { .. }),
            ) => return Err(e),
            Err(e) => {
                let why = crate::error::chain(&e);
                log::warn!("{shown}: not reverted: {why}");
                lines.push(output::item(config, "refused", path, Some(&why)));
                refused += 1;
            }
        }
    }
    let problems = conflicts + refused;
    if json {
        lines.push(serde_json::json!({
            "summary": "revert",
            "reverted": done,
            "conflicts": conflicts,
            "refused": refused,
        }));
        output::print_lines(&lines);
    }
    state.save(config.durable)?;
    upgrade.baseline.save(config.durable)?;
    log::info!("revert: {done} reverted, {problems} not");
    if problems > 0 {
        return Err(Error::Incomplete { refused: problems });
    }
    Ok(())
}
