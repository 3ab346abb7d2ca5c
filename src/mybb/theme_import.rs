//! Creates a theme from a theme file as the Admin CP's "Import a Theme" does:
//! `import_theme_xml()` and `build_new_theme()` (admin/inc/functions_themes.php), with the
//! options the import form sets (`force_name_check` always on, so an existing theme is never
//! overwritten).
//!
//! In MyBB's order: the name check (-3), the version check (-2, unless version compatibility is
//! ignored), `check_template()` over every template (-4); then a template set "NAME Templates"
//! and the templates with their XML versions; the theme row (parent's properties and stylesheet
//! list inherited only when the file has no properties; `{theme}` in the logo replaced); the
//! stylesheets (names cut to 30 characters, only `.css` names, `attachedto` and `lastmodified`
//! from the file), each cached as `cache_stylesheet()` caches it; then the stylesheet list and
//! display order rebuilt as `update_theme_stylesheet_list()` does.
//!
//! Beyond MyBB, and before anything is written: the content goes through the same checks as a
//! file from the sync root (size, NUL bytes; empty content is allowed, as MyBB imports it), and a
//! name that the columns cannot hold is refused rather than cut short by MySQL.

use std::fmt;
use std::path::Path;

use crate::error::Result;
use crate::mybb::cache::{self, WrittenStylesheet};
use crate::mybb::check_template::check_template;
use crate::mybb::db::{self, Db};
use crate::mybb::stylecache;
use crate::mybb::theme_xml::ThemeXml;
use crate::mybb::validate::{ItemKind, Refusal, validate};
use crate::php::serialize::{self, Value};

/// The longest theme name `themes.name` (varchar(100)) holds, in characters.
const MAX_THEME_NAME_CHARS: usize = 100;
/// The longest template title `templates.title` (varchar(120)) holds, in characters.
const MAX_TEMPLATE_TITLE_CHARS: usize = 120;
/// `import_theme_xml()` cuts stylesheet names to this many characters (`themestylesheets.name`).
const MAX_STYLESHEET_NAME_CHARS: usize = 30;

/// The Admin CP's import options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The form's "new name": overrides the file's theme name when given.
    pub name: Option<String>,
    /// The parent theme's tid (the form's "Parent Theme"; MyBB's master style is 1).
    pub parent: u32,
    /// "Import Templates?" no.
    pub no_templates: bool,
    /// "Import Stylesheets?" no.
    pub no_stylesheets: bool,
    /// "Ignore Version Compatibility".
    pub version_compat: bool,
}

/// Why a theme file was not imported. Nothing was written for any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// -1: not a theme (or not readable as one; the reason says which).
    NotATheme { reason: String },
    /// -2: the file is for another MyBB version.
    WrongVersion { file: String, board: String },
    /// -3: a theme of that name exists.
    NameExists { name: String },
    /// -4: a template fails `check_template()`.
    Security { template: String, reason: String },
    /// Refused by mybb-sync's own checks (a name the columns cannot hold, oversized content).
    Invalid { reason: String },
}

impl ImportRefusal {
    /// Returns `import_theme_xml()`'s code for this refusal (-1 to -4), or 0 for mybb-sync's own.
    pub fn code(&self) -> i32 {
        match self {
            ImportRefusal::NotATheme { .. } => -1,
            ImportRefusal::WrongVersion { .. } => -2,
            ImportRefusal::NameExists { .. } => -3,
            ImportRefusal::Security { .. } => -4,
            ImportRefusal::Invalid { .. } => 0,
        }
    }
}

impl fmt::Display for ImportRefusal {
    /// The Admin CP's message (inc/languages/english/admin/style_themes.lang.php), then what
    /// exactly was found.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportRefusal::NotATheme { reason } => write!(
                f,
                "MyBB could not find the theme with the file you uploaded. Please check the file \
                 is the correct and is not corrupt. ({reason})"
            ),
            ImportRefusal::WrongVersion { file, board } => write!(
                f,
                "This theme has been written for another version of MyBB. Please check the \
                 \"Ignore Version Compatibility\" to ignore this error. (the file is for version \
                 {file:?}, the board is {board}; use --version-compat)"
            ),
            ImportRefusal::NameExists { name } => write!(
                f,
                "A theme with the same name already exists. Please specify a different name. \
                 ({name:?}; use --name NAME)"
            ),
            ImportRefusal::Security { template, reason } => write!(
                f,
                "A potential security issue was found in the theme. It was not imported. Please \
                 contact the Author or MyBB Group for support. (template {template:?}: {reason})"
            ),
            ImportRefusal::Invalid { reason } => write!(f, "the theme was not imported: {reason}"),
        }
    }
}

/// What an import created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The new theme.
    pub tid: u32,
    pub name: String,
    /// The new template set `(sid, title)`, when templates were imported.
    pub template_set: Option<(u32, String)>,
    /// How many templates were inserted.
    pub templates: usize,
    /// The stylesheet rows inserted, `(sid, name)`.
    pub stylesheets: Vec<(u32, String)>,
    /// Stylesheet names skipped because they do not end in `.css` (after the cut to 30).
    pub skipped_stylesheets: Vec<String>,
    /// How many stylesheets' cache files could not be written (linked as `css.php` instead).
    pub cache_failures: usize,
}

/// One stylesheet as it will be inserted.
struct NewStylesheet<'a> {
    name: String,
    attachedto: String,
    lastmodified: u64,
    content: &'a str,
}

/// Imports `theme` into the board `db` as `import_theme_xml($xml, $options)` does (see the
/// module documentation), writing cache files under the MyBB root `mybb_root`.
///
/// Returns `Ok(Err(refusal))` when the file is refused (nothing written), `Ok(Ok(imported))` on
/// success. An `Err` means a database query or write failed; rows written before it stay (MyBB's
/// MyISAM tables have no transactions), which the message says.
pub fn import_theme(
    db: &Db,
    theme: &ThemeXml,
    options: &ImportOptions,
    version_code: &str,
    mybb_root: &Path,
    durable: bool,
) -> Result<std::result::Result<Imported, ImportRefusal>> {
    let name = match options.name.as_deref() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => theme.name.clone(),
    };
    if name.is_empty() {
        return Ok(Err(ImportRefusal::Invalid {
            reason: "the file's theme has no name; give one with --name NAME".to_owned(),
        }));
    }
    if name.chars().count() > MAX_THEME_NAME_CHARS {
        return Ok(Err(ImportRefusal::Invalid {
            reason: format!(
                "the theme name {name:?} is longer than the {MAX_THEME_NAME_CHARS} characters \
                 MyBB's themes table holds; give another with --name NAME"
            ),
        }));
    }
    if db.theme_tid_by_name(&name)?.is_some() {
        return Ok(Err(ImportRefusal::NameExists { name }));
    }
    if !options.version_compat && !php_equals_int(version_code, &theme.version) {
        return Ok(Err(ImportRefusal::WrongVersion {
            file: theme.version.clone(),
            board: version_code.to_owned(),
        }));
    }
    let templates = if options.no_templates { &[][..] } else { &theme.templates[..] };
    if let Some(refusal) = check_templates(templates) {
        return Ok(Err(refusal));
    }
    let stylesheets = if options.no_stylesheets { &[][..] } else { &theme.stylesheets[..] };
    let (new_sheets, skipped) = match prepare_stylesheets(stylesheets) {
        Ok(prepared) => prepared,
        Err(refusal) => return Ok(Err(refusal)),
    };

    let mut properties = file_properties(theme);
    let written = |e: crate::error::Error, what: &str| crate::error::Error::Data {
        what: format!(
            "{}; the import stopped after {what} (MyBB's tables have no transactions: remove \
             what was created in the Admin CP, or import again under another name)",
            crate::error::chain(&e)
        ),
    };

    let mut template_set = None;
    if !templates.is_empty() {
        let title = format!("{name} Templates");
        let sid = db.insert_template_set(&title)?;
        let sid32 = i32::try_from(sid).map_err(|_| crate::error::Error::Data {
            what: format!("the new template set's sid {sid} is out of range"),
        })?;
        let rows: Vec<(&str, &str, &str)> = templates
            .iter()
            .map(|t| (t.name.as_str(), t.content.as_str(), t.version.as_str()))
            .collect();
        db.insert_templates(sid32, &rows)
            .map_err(|e| written(e, &format!("creating the template set {title:?}")))?;
        log::info!(
            "created the template set {title:?} (sid {sid}) with {} templates",
            templates.len()
        );
        properties
            .get_or_insert_with(|| Value::Array(Vec::new()))
            .insert("templateset", Value::Int(i64::from(sid32)));
        template_set = Some((sid32.unsigned_abs(), title));
    }

    let tid = build_new_theme(db, &name, properties, options.parent)
        .map_err(|e| written(e, "the templates (if any)"))?;

    let mut inserted = Vec::new();
    for sheet in &new_sheets {
        let sid = db
            .insert_new_stylesheet(
                tid,
                &sheet.name,
                &sheet.attachedto,
                sheet.content,
                sheet.lastmodified,
            )
            .map_err(|e| written(e, &format!("{} stylesheets of theme {tid}", inserted.len())))?;
        let sid = u32::try_from(sid).map_err(|_| crate::error::Error::Data {
            what: format!("the new stylesheet's sid {sid} is out of range"),
        })?;
        inserted.push((sid, sheet.name.clone()));
    }
    let cached: Vec<WrittenStylesheet<'_>> = new_sheets
        .iter()
        .zip(&inserted)
        .map(|(sheet, (sid, name))| WrittenStylesheet {
            tid,
            sid: *sid,
            name,
            content: sheet.content,
        })
        .collect();
    let cache_failures = cache::after_theme_import(db, mybb_root, durable, tid, &cached)
        .map_err(|e| written(e, "creating the theme and its stylesheets"))?;
    Ok(Ok(Imported {
        tid,
        name,
        template_set,
        templates: templates.len(),
        stylesheets: inserted,
        skipped_stylesheets: skipped,
        cache_failures,
    }))
}

/// Returns the refusal for the first template `check_template()` refuses (-4), else for the
/// first that mybb-sync's content checks refuse, else None.
fn check_templates(templates: &[crate::mybb::theme_xml::XmlTemplate]) -> Option<ImportRefusal> {
    for template in templates {
        if let Err(refusal) = check_template(&template.content) {
            return Some(ImportRefusal::Security {
                template: template.name.clone(),
                reason: refusal.to_string(),
            });
        }
    }
    for template in templates {
        if template.name.chars().count() > MAX_TEMPLATE_TITLE_CHARS {
            return Some(ImportRefusal::Invalid {
                reason: format!(
                    "the template title {:?} is longer than the {MAX_TEMPLATE_TITLE_CHARS} \
                     characters MyBB's templates table holds",
                    template.name
                ),
            });
        }
        if let Some(reason) = content_refusal(ItemKind::Template, &template.content) {
            return Some(ImportRefusal::Invalid {
                reason: format!("template {:?}: {reason}", template.name),
            });
        }
    }
    None
}

/// Returns the stylesheets to insert, as `import_theme_xml()` prepares them, and the names it
/// skips; or the refusal of one whose content mybb-sync's checks refuse.
fn prepare_stylesheets(
    sheets: &[crate::mybb::theme_xml::XmlStylesheet],
) -> std::result::Result<(Vec<NewStylesheet<'_>>, Vec<String>), ImportRefusal> {
    let now = db::now();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for sheet in sheets {
        let Some(name) = stored_stylesheet_name(&sheet.name) else {
            skipped.push(sheet.name.clone());
            continue;
        };
        if let Some(reason) = content_refusal(ItemKind::Stylesheet, &sheet.content) {
            return Err(ImportRefusal::Invalid {
                reason: format!("stylesheet {name:?}: {reason}"),
            });
        }
        // empty() is true for "" and "0", which both mean "not given" here.
        let given = |v: &Option<String>| {
            v.as_deref().filter(|v| !matches!(*v, "" | "0")).map(str::to_owned)
        };
        let lastmodified = given(&sheet.lastmodified)
            .map_or(now, |v| u64::try_from(crate::mybb::theme_export::php_intval(&v)).unwrap_or(0));
        out.push(NewStylesheet {
            name,
            attachedto: given(&sheet.attachedto).unwrap_or_default(),
            lastmodified,
            content: &sheet.content,
        });
    }
    Ok((out, skipped))
}

/// Returns the name under which `import_theme_xml()` stores a stylesheet of the theme file named
/// `name`: cut to [`MAX_STYLESHEET_NAME_CHARS`] characters; None when MyBB skips it because the
/// cut name does not end in `.css`.
pub fn stored_stylesheet_name(name: &str) -> Option<String> {
    let name: String = name.chars().take(MAX_STYLESHEET_NAME_CHARS).collect();
    name.ends_with(".css").then_some(name)
}

/// Returns why `content` may not be stored as an item of `kind`, if it may not. Empty and blank
/// content pass: a theme file's empty template is deliberate, and MyBB imports it.
fn content_refusal(kind: ItemKind, content: &str) -> Option<String> {
    match validate(kind, content.as_bytes()) {
        Ok(_) | Err(Refusal::Empty | Refusal::Blank) => None,
        // The template check already ran, with MyBB's own code (-4).
        Err(Refusal::Template(_)) => None,
        Err(refusal) => Some(refusal.to_string()),
    }
}

/// Returns the file's properties as `import_theme_xml()` collects them: each as a string, but
/// `colors` and `disporder` unserialized (dropped when they are not arrays). None when the file
/// has none (MyBB's `$properties` is then unset, and the new theme inherits its parent's).
pub(crate) fn file_properties(theme: &ThemeXml) -> Option<Value> {
    let mut properties: Option<Value> = None;
    for (key, value) in &theme.properties {
        if key == "tag" || key == "value" {
            continue;
        }
        let value = if key == "colors" || key == "disporder" {
            match serialize::parse(value) {
                Ok(array @ Value::Array(_)) => array,
                _ => continue,
            }
        } else {
            Value::Str(value.clone())
        };
        properties.get_or_insert_with(|| Value::Array(Vec::new())).insert(key.as_str(), value);
    }
    properties
}

/// `build_new_theme($name, $properties, $parent)`: inserts the theme row, inherits the parent's
/// properties when none are given (marking each as inherited), replaces `{theme}` in the logo of
/// a theme with its own properties, and writes the `properties` column. The parent's stylesheet
/// list, which MyBB copies here too, is left to the rebuild that follows, which replaces it
/// with the same list. Returns the new tid.
pub(crate) fn build_new_theme(
    db: &Db,
    name: &str,
    properties: Option<Value>,
    parent: u32,
) -> Result<u32> {
    let tid = db.insert_theme(name, parent)?;
    let tid = u32::try_from(tid).map_err(|_| crate::error::Error::Data {
        what: format!("the new theme's tid {tid} is out of range"),
    })?;
    let given = properties.as_ref().and_then(Value::as_array).is_some_and(|p| !p.is_empty());
    let mut properties = properties.unwrap_or(Value::Array(Vec::new()));
    let mut inherited = false;
    if parent > 0 && !given {
        let themes = db.themes()?;
        if let Some(parent_row) = themes.iter().find(|t| t.tid == parent)
            && let Ok(parent_properties) = serialize::parse(&parent_row.properties)
            && let Some(entries) = parent_properties.as_array().filter(|e| !e.is_empty())
        {
            let marks = parent_properties.get("inherited");
            for (key, value) in entries {
                if key.matches("inherited") {
                    continue;
                }
                properties.insert(key.clone(), value.clone());
                let key_text = key.to_string();
                let from = match marks.and_then(|m| m.get(&key_text)) {
                    Some(mark) if php_truthy(mark) => mark.clone(),
                    _ => Value::Int(i64::from(parent)),
                };
                let mut map =
                    properties.get("inherited").cloned().unwrap_or(Value::Array(Vec::new()));
                map.insert(key.clone(), from);
                properties.insert("inherited", map);
            }
            inherited = true;
        }
    }
    if !inherited {
        let logo = properties.get("logo").map(php_text).unwrap_or_default();
        let logo = logo.replace("{theme}", &stylecache::theme_dir(tid));
        properties.insert("logo", Value::Str(logo));
    }
    db.update_theme_properties(tid, &serialize::to_string(&properties))?;
    log::info!("created the theme {name:?} (tid {tid}, parent {parent})");
    Ok(tid)
}

/// PHP's truthiness of a scalar, for `!empty(...)`.
pub(crate) fn php_truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Int(n) => *n != 0,
        Value::Str(s) => !(s.is_empty() || s == "0"),
        Value::Float(f) => f.parse::<f64>().is_ok_and(|f| f != 0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Bool(true) => true,
    }
}

/// A scalar as PHP prints it.
fn php_text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.clone(),
        Value::Bool(true) => "1".to_owned(),
        _ => String::new(),
    }
}

/// PHP 8's `$int == $string` for the version check (`$mybb->version_code != $version`): a
/// numeric string (surrounding whitespace allowed) compares as a number, anything else as text.
fn php_equals_int(code: &str, text: &str) -> bool {
    let trimmed = text.trim_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let numeric = !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && trimmed.bytes().any(|b| b.is_ascii_digit());
    match (numeric, trimmed.parse::<f64>(), code.parse::<f64>()) {
        (true, Ok(a), Ok(b)) => a == b,
        _ => text == code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_check_compares_as_php_does() {
        assert!(php_equals_int("1837", "1837"));
        assert!(php_equals_int("1837", " 1837 "));
        assert!(php_equals_int("1837", "1837.0"));
        assert!(!php_equals_int("1837", "1836"));
        assert!(!php_equals_int("1837", ""));
        assert!(!php_equals_int("1837", "1837abc"));
    }

    #[test]
    fn properties_are_collected_as_import_theme_xml_collects_them() {
        let theme = ThemeXml {
            properties: vec![
                ("templateset".into(), "1".into()),
                ("disporder".into(), "a:1:{s:10:\"global.css\";i:1;}".into()),
                ("colors".into(), "not serialized".into()),
                ("tag".into(), "x".into()),
            ],
            ..ThemeXml::default()
        };
        let properties = file_properties(&theme).expect("some");
        let keys: Vec<String> =
            properties.as_array().unwrap().iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["templateset", "disporder"]);
        assert_eq!(properties.get("templateset"), Some(&Value::Str("1".into())));
        assert!(file_properties(&ThemeXml::default()).is_none());
    }

    #[test]
    fn stylesheets_are_cut_to_30_characters_and_only_css_kept() {
        let sheet = |name: &str| crate::mybb::theme_xml::XmlStylesheet {
            name: name.to_owned(),
            attachedto: Some("0".into()),
            content: "a{}".into(),
            ..Default::default()
        };
        let sheets =
            [sheet("global.css"), sheet("evil.php"), sheet(&format!("{}.css", "x".repeat(27)))];
        let (kept, skipped) = prepare_stylesheets(&sheets).map_err(|e| e.to_string()).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].attachedto, "");
        assert_eq!(skipped, ["evil.php".to_owned(), format!("{}.css", "x".repeat(27))]);
    }
}
