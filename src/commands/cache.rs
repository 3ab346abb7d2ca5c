//! `cache rebuild`: MyBB's stylesheet cache files and lists, rewritten from the database.

use crate::cli::CacheArgs;
use crate::commands::Context;
use crate::error::{Error, Result};
use crate::mybb::cache;

/// Runs `cache rebuild` for the themes named (every theme when none is). Without MyBB's root
/// it stops before connecting: there would be nothing to write to.
pub fn run(ctx: &Context, args: &CacheArgs) -> Result<()> {
    let config = &ctx.config;
    if config.mybb_root.is_none() {
        return Err(Error::usage(
            "`cache rebuild` writes MyBB's cache files, so it needs MyBB's root directory: use \
             --mybb DIR or MYBB_ROOT",
        ));
    }
    cache::rebuild(ctx.db()?, config, &args.themes)
}
