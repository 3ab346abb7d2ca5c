//! MyBB's rules and data, reproduced: its tables (the only SQL), how a board resolves
//! templates and stylesheets, its template check and what content its tables may receive
//! (safeguard 1), its stylesheet cache files, and its theme XML files. Nothing here uses the
//! sync engine above it.

pub mod board;
pub mod cache;
pub mod check_template;
pub mod db;
pub mod stylecache;
pub mod theme_duplicate;
pub mod theme_export;
pub mod theme_file;
pub mod theme_forms;
pub mod theme_import;
pub mod theme_xml;
pub mod validate;
