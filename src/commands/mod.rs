//! One module per command: each turns its options into engine calls and reports the result.

pub mod cache;
pub mod export;
pub mod import;
pub mod status;
pub mod watch;
