//! What a sync root remembers of a development copy (issue 29), in
//! `.mybb-sync/dev/theme-TID.json` (TID: the live theme's): which theme is the copy, its
//! template set and allowed groups, and the base: what the live theme rendered when the copy
//! was made or last published, item by item. Written only through the atomic writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::disk::atomic;
use crate::error::{Error, Result};
use crate::sync::own_dir;

/// The folder of `.mybb-sync/` that holds the records.
const DEV_DIR: &str = "dev";

/// Content of a theme's templates (by title) and stylesheets (by name), and the theme
/// fields publish carries (`props.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items {
    pub templates: BTreeMap<String, String>,
    pub stylesheets: BTreeMap<String, String>,
    /// None in a record made before publish carried theme fields: it has no base for them.
    pub theme: Option<BTreeMap<String, String>>,
}

/// A development copy and its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevRecord {
    /// The live theme.
    pub theme_tid: u32,
    pub theme_name: String,
    /// The copy: its theme and template set.
    pub copy_tid: u32,
    pub copy_name: String,
    pub copy_sid: i32,
    pub copy_set_title: String,
    /// Its `allowedgroups`.
    pub groups: String,
    /// What the live theme and the copy last agreed on.
    pub base: Items,
}

/// Returns the folder of the records in sync root `root`.
pub fn dir(root: &Path) -> PathBuf {
    own_dir::path(root).join(DEV_DIR)
}

/// Returns the path of the record of live theme `tid` in sync root `root`.
pub fn path(root: &Path, tid: u32) -> PathBuf {
    dir(root).join(format!("theme-{tid}.json"))
}

/// Returns the path of the journal of an unfinished publish of live theme `tid`.
pub fn journal_path(root: &Path, tid: u32) -> PathBuf {
    dir(root).join(format!("theme-{tid}.publish.json"))
}

impl DevRecord {
    /// Reads the record of live theme `tid`, if there is one.
    pub fn load(root: &Path, tid: u32) -> Result<Option<DevRecord>> {
        read_json(&path(root, tid))?.map(|v| from_json(&v, &path(root, tid))).transpose()
    }

    /// Reads every record of the sync root, by live tid.
    pub fn all(root: &Path) -> Result<Vec<DevRecord>> {
        let dir = dir(root);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::IoAt { path: dir, action: "read", source: e }),
        };
        let mut records = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::IoAt { path: dir.clone(), action: "read", source: e })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let tid = name.strip_prefix("theme-").and_then(|n| n.strip_suffix(".json"));
            if let Some(tid) = tid.and_then(|t| t.parse::<u32>().ok())
                && let Some(record) = DevRecord::load(root, tid)?
            {
                records.push(record);
            }
        }
        records.sort_by_key(|r| r.theme_tid);
        Ok(records)
    }

    /// Writes the record, atomically, creating `.mybb-sync/dev/` if need be.
    pub fn save(&self, root: &Path, durable: bool) -> Result<()> {
        own_dir::ensure(root)?;
        let target = path(root, self.theme_tid);
        let value = json!({
            "format": 1,
            "theme": {"tid": self.theme_tid, "name": self.theme_name},
            "copy": {
                "tid": self.copy_tid,
                "name": self.copy_name,
                "set_sid": self.copy_sid,
                "set_title": self.copy_set_title,
                "groups": self.groups,
            },
            "base": items_json(&self.base),
        });
        write_json(&target, &value, durable)
    }

    /// Removes the record (after `publish --drop`).
    pub fn remove(root: &Path, tid: u32) -> Result<()> {
        let target = path(root, tid);
        match std::fs::remove_file(&target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::IoAt { path: target, action: "remove", source: e }),
        }
    }
}

/// Returns `items` as JSON: `{"templates": {...}, "stylesheets": {...}, "theme": {...}}`.
pub fn items_json(items: &Items) -> Value {
    let map = |m: &BTreeMap<String, String>| {
        Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    };
    let mut value =
        json!({"templates": map(&items.templates), "stylesheets": map(&items.stylesheets)});
    if let Some(theme) = &items.theme {
        value["theme"] = map(theme);
    }
    value
}

/// Reads `items_json`'s form back; `file` names the file for errors.
pub fn items_from_json(value: &Value, file: &Path) -> Result<Items> {
    let map = |key: &str| -> Result<BTreeMap<String, String>> {
        let object = value.get(key).and_then(Value::as_object).ok_or_else(|| damaged(file, key))?;
        object
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or_else(|| damaged(file, k))?.to_owned())))
            .collect()
    };
    let theme = value.get("theme").map(|_| map("theme")).transpose()?;
    Ok(Items { templates: map("templates")?, stylesheets: map("stylesheets")?, theme })
}

/// Reads a record from its JSON.
fn from_json(value: &Value, file: &Path) -> Result<DevRecord> {
    let text = |v: &Value, key: &str| -> Result<String> {
        v.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| damaged(file, key))
    };
    let int = |v: &Value, key: &str| -> Result<i64> {
        v.get(key).and_then(Value::as_i64).ok_or_else(|| damaged(file, key))
    };
    let theme = value.get("theme").ok_or_else(|| damaged(file, "theme"))?;
    let copy = value.get("copy").ok_or_else(|| damaged(file, "copy"))?;
    let tid = |n: i64, key: &str| u32::try_from(n).map_err(|_| damaged(file, key));
    Ok(DevRecord {
        theme_tid: tid(int(theme, "tid")?, "theme.tid")?,
        theme_name: text(theme, "name")?,
        copy_tid: tid(int(copy, "tid")?, "copy.tid")?,
        copy_name: text(copy, "name")?,
        copy_sid: i32::try_from(int(copy, "set_sid")?).map_err(|_| damaged(file, "set_sid"))?,
        copy_set_title: text(copy, "set_title")?,
        groups: text(copy, "groups")?,
        base: items_from_json(value.get("base").ok_or_else(|| damaged(file, "base"))?, file)?,
    })
}

/// The error for a record or journal that is not as mybb-sync writes it.
fn damaged(file: &Path, key: &str) -> Error {
    Error::Data {
        what: format!(
            "{}: `{key}` is missing or not as mybb-sync writes it (the file is damaged: restore \
             it, or remove it to start a new development copy)",
            file.display()
        ),
    }
}

/// Reads a JSON file of ours, if it exists.
pub fn read_json(file: &Path) -> Result<Option<Value>> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::IoAt { path: file.to_path_buf(), action: "read", source: e }),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Data {
        what: format!("{}: not JSON as mybb-sync writes it: {e}", file.display()),
    })
}

/// Writes `value` to `file` through the atomic writer.
pub fn write_json(file: &Path, value: &Value, durable: bool) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| Error::Data {
        what: format!("{}: could not write JSON: {e}", file.display()),
    })?;
    if let Some(parent) = file.parent() {
        fs_err::create_dir_all(parent)?;
    }
    atomic::write_file(file, &text, durable)
}

/// An empty JSON object, for callers building one.
pub fn object() -> Map<String, Value> {
    Map::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let root = crate::test_support::scratch_dir("devtheme", "record");
        let mut base = Items::default();
        base.templates.insert("header".into(), "<div>\r\n\"é\"</div>".into());
        base.stylesheets.insert("global.css".into(), "body {}".into());
        base.theme = Some([("properties.logo".to_owned(), "logo.png".to_owned())].into());
        let record = DevRecord {
            theme_tid: 2,
            theme_name: "Default".into(),
            copy_tid: 3,
            copy_name: "Default (development)".into(),
            copy_sid: 2,
            copy_set_title: "Default (development) Templates".into(),
            groups: "3,4".into(),
            base,
        };
        record.save(&root, false).unwrap();
        assert_eq!(DevRecord::load(&root, 2).unwrap(), Some(record.clone()));
        assert_eq!(DevRecord::all(&root).unwrap(), vec![record]);
        assert_eq!(DevRecord::load(&root, 9).unwrap(), None);
        DevRecord::remove(&root, 2).unwrap();
        assert!(DevRecord::all(&root).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(root);
    }
}
