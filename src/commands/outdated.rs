//! `outdated`: the custom templates a MyBB upgrade left behind their master, one line each.
//!
//! Human form: `PATH: copy 1826, master 1837; merge base ...`. `--porcelain`:
//! `PATH<TAB>COPY_VERSION<TAB>MASTER_VERSION<TAB>BASE`, BASE one of `baseline`, `xml`,
//! `merged` (already merged, not yet imported) or `none`. Exit 3 when anything is outdated.

use std::path::Path;

use crate::config::Config;
use crate::disk::gate::SyncLock;
use crate::error::{Error, Result};
use crate::mybb::db::Db;
use crate::sync::upgrade::{BaseSource, OldMasters, Outdated, Upgrade};

/// Returns the line `outdated` prints for `item`.
pub fn line(relative: &Path, item: &Outdated, porcelain: bool) -> String {
    let (copy, master) = (&item.copy.version, &item.master.version);
    if porcelain {
        return format!("{}\t{copy}\t{master}\t{}", relative.display(), item.base_word());
    }
    let base = match &item.base {
        _ if item.already_merged() => "already merged: import it".to_owned(),
        Some(b) => match &b.source {
            BaseSource::Baseline => format!("merge base: master {} (baseline)", b.version),
            BaseSource::Xml(file) => format!("merge base: master {} ({file})", b.version),
        },
        None => "no merge base: use merge --base FILE.xml of the release it was made on".to_owned(),
    };
    let unlisted = if item.listed_by_mybb { "" } else { " (master changed, same version)" };
    format!("{}: copy {copy}, master {master}{unlisted}; {base}", relative.display())
}

/// Runs `outdated`: prints every outdated custom template, returns [`Error::Outdated`]
/// (exit 3) when there is any.
pub fn outdated(db: &Db, config: &Config, base: Option<&Path>, porcelain: bool) -> Result<()> {
    let lock = SyncLock::new(&config.sync_root)?;
    let _held = lock.shared()?;
    let old = base.map(OldMasters::read).transpose()?;
    let upgrade = Upgrade::load(db, config)?;
    let items = upgrade.outdated(old.as_ref());
    let lines: Vec<String> =
        items.iter().map(|i| line(&upgrade.relative(&i.path), i, porcelain)).collect();
    crate::commands::status::print_lines(&lines);
    if items.is_empty() {
        log::info!("nothing outdated: every custom template builds on its current master");
        return Ok(());
    }
    let without = items.iter().filter(|i| i.base.is_none()).count();
    log::info!(
        "{} outdated: {} with a merge base, {without} without{}",
        items.len(),
        items.len() - without,
        if without > 0 { " (merge --base FILE.xml gives one)" } else { "" }
    );
    Err(Error::Outdated { count: items.len() })
}
