//! One module per command: each turns its options into engine calls and reports the result.

pub mod cache;
pub mod completions;
pub mod export;
pub mod import;
pub mod output;
pub mod status;
pub mod watch;
