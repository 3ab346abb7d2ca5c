//! TODO (stub until the real module lands)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Template,
    Stylesheet,
}
#[derive(Debug)]
pub enum Refusal {
    Empty,
}
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "empty file")
    }
}
impl std::error::Error for Refusal {}
pub fn validate(_kind: ItemKind, bytes: &[u8]) -> Result<&str, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    std::str::from_utf8(bytes).map_err(|_| Refusal::Empty)
}
