//! MyBB's rules and data, reproduced: its tables (the only SQL), how a board resolves
//! templates and stylesheets, its template check, and its stylesheet cache files.

pub mod board;
pub mod cache;
pub mod check_template;
pub mod db;
pub mod stylecache;
