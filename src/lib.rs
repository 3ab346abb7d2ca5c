//! mybb-sync: edit a MyBB forum's templates and stylesheets as files, safely.
//!
//! The binary in `main.rs` is a thin shell over this library; the library exists so that the
//! integration tests can drive the pause gate and the watcher in-process as well as through the
//! binary. The layers, each depending only on those below it:
//!
//! - [`commands`]: one module per command: options in, engine calls, report out.
//! - [`check`]: the lint rules of `check` (and of `watch`, `import --strict`) over the files.
//! - [`sync`]: the engine: where a file and a row are compared, planned and applied.
//! - [`live`]: live reload: tells browsers what the engine made live (`watch --live-reload`).
//! - [`mybb`]: MyBB's rules and data: the only SQL, the board's shape, its caches.
//! - [`php`]: PHP's semantics MyBB relies on (serialize, config.php, trimming).
//! - [`disk`]: the only file writer, the pause gate and lock, the tree walker.
//!
//! Beside them, [`config`] and [`root`] resolve the configuration, the sync root and every
//! PATH of the command line, once, for every command.

pub mod app;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod disk;
pub mod error;
pub mod live;
pub mod mybb;
pub mod percent;
pub mod php;
pub mod progress;
pub mod root;
pub mod sync;
pub mod test_hooks;
#[cfg(test)]
mod test_support;
