//! TODO (stub until the real module lands)
pub struct Value(i64);
impl Value {
    pub fn get(&self, _k: &str) -> Option<&Value> {
        Some(self)
    }
    pub fn as_int(&self) -> Option<i64> {
        Some(self.0)
    }
}
pub fn parse(s: &str) -> Result<Value, String> {
    let i = s.find("version_code\";i:").ok_or("no")?;
    let rest = &s[i + 16..];
    let end = rest.find(';').ok_or("no")?;
    rest[..end].parse().map(Value).map_err(|_| "bad".to_string())
}
