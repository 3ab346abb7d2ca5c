//! One module per command: each owns `run(context, its args)`, turning the options the command
//! line parsed (`cli`'s structs, used as given) into engine calls, and reports the result.
//! [`Context`] is the one place a command's configuration is resolved and its database
//! connected.

use std::cell::OnceCell;
use std::path::PathBuf;

use crate::config::{self, Config, ConnectionArgs};
use crate::error::Result;
use crate::mybb::db::Db;

pub mod cache;
pub mod check;
pub mod dev;
pub mod diff;
pub mod export;
pub mod import;
pub mod merge;
pub mod outdated;
pub mod output;
pub mod publish;
pub mod revert;
pub mod status;
pub mod theme;
pub mod watch;

/// What a command runs against: the resolved configuration, and the database, connected on
/// first use (so a command that checks its options first reports them before any connection
/// error, and `watch` connects only when it exports).
pub struct Context {
    pub config: Config,
    db: OnceCell<Db>,
}

impl Context {
    /// Resolves the configuration from the global options and the environment.
    ///
    /// # Errors
    ///
    /// A configuration error (exit 2) when the options, the environment and `inc/config.php`
    /// do not name a database.
    pub fn resolve(connection: &ConnectionArgs) -> Result<Context> {
        Ok(Context::new(config::resolve(connection)?))
    }

    /// Returns a context for `config`, not connected yet.
    pub fn new(config: Config) -> Context {
        Context { config, db: OnceCell::new() }
    }

    /// Returns the database, connecting on the first call.
    ///
    /// # Errors
    ///
    /// A connection error when the database cannot be reached or refuses us.
    pub fn db(&self) -> Result<&Db> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = Db::connect(&self.config.db, &self.config.prefix)?;
        Ok(self.db.get_or_init(|| db))
    }

    /// Returns the PATH operands `paths` as paths under the sync root, whichever form the user
    /// typed (as `status` prints them, or from the current directory): `root.rs` resolves
    /// them, the same for every command.
    ///
    /// # Errors
    ///
    /// A usage error (exit 2) for a path that names nothing in the sync root.
    pub fn paths(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
        crate::root::operands(&self.config.sync_root, paths)
    }

    /// Returns the context connected: the database and the configuration, for commands that
    /// need both from the start.
    pub fn connected(&self) -> Result<(&Db, &Config)> {
        Ok((self.db()?, &self.config))
    }
}
