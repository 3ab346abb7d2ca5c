//! PHP's semantics that MyBB relies on: `serialize()`, the statements of `inc/config.php`, and
//! string functions such as `rtrim()`.

pub mod config_file;
pub mod lang_file;
pub mod mysqli;
pub mod serialize;
pub mod text;
