//! MyBB's rules and data, reproduced: its tables (the only SQL), how a board resolves
//! templates and stylesheets, its template check, its stylesheet cache files, and its theme
//! XML files.

pub mod board;
pub mod cache;
pub mod check_template;
pub mod db;
pub mod stylecache;
pub mod theme_export;
pub mod theme_import;
pub mod theme_unpack;
pub mod theme_xml;
