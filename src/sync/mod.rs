//! The sync engine: for each item, what the file holds, what MyBB renders, what they were at
//! the last sync, and so what to do (`plan`); then doing it through the only doors to the
//! database and the disk (`apply`). The watcher runs the same engine continuously.

pub mod apply;
pub mod baseline;
pub mod decide;
pub mod devtheme;
pub mod ignore;
pub mod inspect;
pub mod layout;
pub mod merged;
pub mod new_themes;
pub mod own_dir;
pub mod plan;
pub mod recovery;
pub mod state;
pub mod textmerge;
pub mod theme_unpack;
pub mod upgrade;
/// Safeguard 1 lives with MyBB's rules (`mybb/validate.rs`): MyBB's own theme import needs the
/// same checks, and MyBB's layer must not reach up into the engine. The engine's callers name it
/// here, as they always have.
pub use crate::mybb::validate;
pub mod watcher;
