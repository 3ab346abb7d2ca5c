//! One module per command: each turns its options into engine calls and reports the result.

pub mod cache;
pub mod diff;
pub mod export;
pub mod import;
pub mod merge;
pub mod outdated;
pub mod revert;
pub mod status;
pub mod theme;
pub mod watch;
