//! The sync engine: for each item, what the file holds, what MyBB renders, what they were at
//! the last sync, and so what to do (`plan`); then doing it through the only doors to the
//! database and the disk (`apply`). The watcher runs the same engine continuously.

pub mod apply;
pub mod baseline;
pub mod decide;
pub mod layout;
pub mod plan;
pub mod state;
pub mod textmerge;
pub mod upgrade;
pub mod validate;
pub mod watcher;
