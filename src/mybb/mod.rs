//! MyBB's rules and data formats.

pub mod theme_xml;
