//! `revert PATH...`: the Admin CP's "Revert to Original" for each template file: the custom
//! row is deleted (never a master row) and the file rewritten with what MyBB renders now.
//! A file with edits not yet in the database is a conflict unless `--prefer db`.

use std::path::PathBuf;

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::state::State;
use crate::sync::upgrade::{Reverted, Upgrade};

/// Runs `revert`. Returns [`Error::Incomplete`] (exit 3) when a path was refused or in
/// conflict.
pub fn revert(db: &Db, config: &Config, paths: &[PathBuf], discard_local: bool) -> Result<()> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.exclusive()?;
    let mut upgrade = Upgrade::load(db, config)?;
    let mut state = State::load(&config.sync_root)?;
    let (mut done, mut problems) = (0, 0);
    for path in paths {
        let shown = upgrade.relative(path).display().to_string();
        match upgrade.revert(path, discard_local, &mut state) {
            Ok(Reverted::Done { tid, now_from }) => {
                log::info!(
                    "{shown}: reverted: the custom copy (tid {tid}) was deleted; the file now holds {now_from}"
                );
                done += 1;
            }
            Ok(Reverted::Conflict) => {
                log::warn!(
                    "{shown}: not reverted: the file has edits that are not in the database \
                     (revert --prefer db discards them)"
                );
                problems += 1;
            }
            Ok(Reverted::Refused(why)) => {
                log::warn!("{shown}: not reverted: {why}");
                problems += 1;
            }
            Err(e @ Error::Connect { .. }) => return Err(e),
            Err(e) => {
                log::warn!("{shown}: not reverted: {}", crate::error::chain(&e));
                problems += 1;
            }
        }
    }
    state.save(config.durable)?;
    upgrade.baseline.save(config.durable)?;
    log::info!("revert: {done} reverted, {problems} not");
    if problems > 0 {
        return Err(Error::Incomplete { refused: problems });
    }
    Ok(())
}
