//! `cache rebuild`: MyBB's stylesheet cache files and lists, rewritten from the database.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::mybb::{cache, db::Db};

/// Runs `cache rebuild` for the themes named (every theme when none is).
pub fn rebuild(config: &Config, themes: &[String]) -> Result<()> {
    if config.mybb_root.is_none() {
        return Err(Error::usage(
            "`cache rebuild` writes MyBB's cache files, so it needs MyBB's root directory: use \
             --mybb DIR or MYBB_ROOT",
        ));
    }
    let db = Db::connect(&config.db, &config.prefix)?;
    cache::rebuild(&db, config, themes)
}
