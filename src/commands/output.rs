//! What the batch commands print on stdout: `--json` lines (one object per item, then one
//! summary object) and the paths in them, always relative to the sync root.
//!
//! An item object has `action`, `path` (relative to the sync root), `kind` (`template`,
//! `stylesheet` or `file`) and, where refused or in conflict, `reason`. The summary object has
//! `summary` (the command's name) and the counts.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::sync::apply::Report;
use crate::sync::layout::{STYLES_DIR, TEMPLATE_SETS_DIR};

/// Why a conflict is one, in the words the warning uses.
pub const CONFLICT_REASON: &str = "changed on disk and in the database since the last sync";

/// Returns what a path relative to the sync root holds: `template`, `stylesheet` or `file`.
pub fn kind(relative: &Path) -> &'static str {
    match relative.components().next().and_then(|c| c.as_os_str().to_str()) {
        Some(TEMPLATE_SETS_DIR) => "template",
        Some(STYLES_DIR) => "stylesheet",
        _ => "file",
    }
}

/// Returns one item object.
pub fn item(config: &Config, action: &str, path: &Path, reason: Option<&str>) -> Value {
    let rel = config.relative(path);
    let mut object = Map::new();
    object.insert("action".into(), json!(action));
    object.insert("path".into(), json!(rel.to_string_lossy()));
    object.insert("kind".into(), json!(kind(&rel)));
    if let Some(reason) = reason {
        object.insert("reason".into(), json!(reason));
    }
    Value::Object(object)
}

/// Prints `lines` to stdout, one per line, ignoring a closed pipe (`mybb-sync status | head`).
pub fn print_lines<T: std::fmt::Display>(lines: &[T]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

/// Prints a batch command's report as JSON lines: each item written, kept, refused or in
/// conflict, then the summary.
pub fn print_report(config: &Config, command: &str, report: &Report) {
    let mut lines = Vec::new();
    for (path, how) in &report.written {
        let mut object = item(config, "written", path, None);
        object["to"] = json!("db");
        object["change"] = json!(how);
        lines.push(object);
    }
    for path in &report.pulled {
        let mut object = item(config, "written", path, None);
        object["to"] = json!("disk");
        lines.push(object);
    }
    for (path, why) in &report.held {
        lines.push(item(config, "kept", path, Some(why)));
    }
    for (path, copy) in &report.conflicts {
        let mut object = item(config, "conflict", path, Some(CONFLICT_REASON));
        object["copy"] = json!(config.relative(copy).to_string_lossy());
        lines.push(object);
    }
    for (path, why) in &report.deletion_conflicts {
        lines.push(item(config, "conflict", path, Some(why)));
    }
    for (path, copy) in &report.removed {
        let mut object = item(config, "removed", path, Some(crate::sync::plan::REMOVED));
        object["copy"] = json!(config.relative(copy).to_string_lossy());
        lines.push(object);
    }
    for (path, how) in &report.deleted {
        let mut object = item(config, "deleted", path, Some(how));
        object["to"] = json!("db");
        lines.push(object);
    }
    for (path, why) in &report.refused {
        lines.push(item(config, "refused", path, Some(why)));
    }
    lines.push(json!({
        "summary": command,
        "written": report.written.len() + report.pulled.len(),
        "unchanged": report.unchanged.len(),
        "kept": report.held.len(),
        "removed": report.removed.len(),
        "deleted": report.deleted.len(),
        "conflicts": report.conflicts.len() + report.deletion_conflicts.len(),
        "refused": report.refused.len(),
    }));
    print_lines(&lines);
}
