//! `outdated`: the custom templates a MyBB upgrade left behind their master, one line each.
//!
//! Human form: `PATH: copy 1826, master 1837; merge base ...`. `--porcelain`:
//! `PATH<TAB>COPY_VERSION<TAB>MASTER_VERSION<TAB>BASE`, BASE one of `baseline`, `xml`,
//! `merged` (already merged, not yet imported) or `none`. `--json`: one object per template
//! (`action` `outdated`, `path`, `kind`, `copy_version`, `master_version`, `base`), then a
//! summary. Exit 3 when anything is outdated.

use std::path::Path;

use crate::cli::OutdatedArgs;
use crate::commands::Context;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sync::own_dir;
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

/// Returns the `--json` object of `item`.
fn json_item(config: &Config, item: &Outdated) -> serde_json::Value {
    let mut object = crate::commands::output::item(config, "outdated", &item.path, None);
    object["copy_version"] = serde_json::json!(item.copy.version);
    object["master_version"] = serde_json::json!(item.master.version);
    object["base"] = serde_json::json!(item.base_word());
    object
}

/// Runs `outdated`: prints every outdated custom template, returns [`Error::Outdated`]
/// (exit 3) when there is any.
pub fn run(ctx: &Context, args: &OutdatedArgs) -> Result<()> {
    if let Some(base) = &args.base {
        crate::root::input_file(base, "outdated --base FILE.xml")?;
    }
    let (db, config) = ctx.connected()?;
    let OutdatedArgs { base, porcelain, json } = args;
    let (base, porcelain, json) = (base.as_deref(), *porcelain, *json);
    own_dir::bind(&config.sync_root, config, db, own_dir::Binding::CheckOnly)?;
    // Read-only: without mybb-sync's folder there is no lock, and no holder.
    let lock = own_dir::lock_if_present(&config.sync_root)?;
    let _held = lock.as_ref().map(|lock| lock.shared()).transpose()?;
    let old = base.map(OldMasters::read).transpose()?;
    let upgrade = Upgrade::load(db, config)?;
    let items = upgrade.outdated(old.as_ref());
    let mut lines: Vec<String> = items
        .iter()
        .map(|i| match json {
            true => json_item(config, i).to_string(),
            false => line(&upgrade.relative(&i.path), i, porcelain),
        })
        .collect();
    if json {
        let without = items.iter().filter(|i| i.base.is_none()).count();
        let summary = serde_json::json!({
            "summary": "outdated",
            "outdated": items.len(),
            "without_base": without,
        });
        lines.push(summary.to_string());
    }
    crate::commands::output::print_lines(&lines);
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
