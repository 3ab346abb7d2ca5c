//! mybb-sync: edit a MyBB forum's templates and stylesheets as files, safely.
//!
//! The binary in `main.rs` is a thin shell over this library; the library exists so that the
//! integration tests can drive the pause gate and the watcher in-process as well as through the
//! binary.

pub mod app;
pub mod atomic;
pub mod board;
pub mod cache;
pub mod check_template;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod gate;
pub mod import;
pub mod layout;
pub mod live;
pub mod mybb_config;
pub mod phpser;
pub mod state;
pub mod status;
pub mod stylecache;
#[cfg(test)]
mod test_support;
pub mod validate;
pub mod watch;
