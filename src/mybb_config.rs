//! TODO (stub until the real module lands)
use std::path::Path;
#[derive(Debug)]
pub struct ConfigPhpError(pub String);
impl std::fmt::Display for ConfigPhpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for ConfigPhpError {}
pub struct BoardConfig {
    pub db_type: String,
    pub database: String,
    pub table_prefix: String,
    pub hostname: String,
    pub port: Option<u16>,
    pub username: String,
    pub password: String,
    pub encoding: String,
    pub socket: Option<String>,
}
impl BoardConfig {
    pub fn is_mysql(&self) -> bool {
        true
    }
}
pub fn read(_root: &Path) -> Result<BoardConfig, ConfigPhpError> {
    Err(ConfigPhpError("stub".into()))
}
pub fn validate_table_prefix(_p: &str) -> Result<(), String> {
    Ok(())
}
