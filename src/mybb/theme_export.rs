//! Writes a theme file exactly as the Admin CP's "Export Theme" does (admin/modules/style/
//! themes.php, action `export`), byte for byte: plain string building, as MyBB does it.
//!
//! Two steps, because MyBB's export reads the database in between: [`plan`] reads the theme's
//! row and says which themes' stylesheet rows and which template set to read; [`write`] turns the
//! rows read into the XML. What MyBB does, and so what this does:
//! - `<?xml version="1.0" encoding="UTF-8"?>`, every line ending `\r\n`, tabs for indentation,
//!   no line end after `</theme>`;
//! - `<theme name="...">` with the name through `htmlspecialchars_uni()`, `version` = the board's
//!   version code; no other name or attribute is escaped (MyBB escapes none);
//! - the properties in the column's order minus `inherited`, arrays PHP-serialized, scalars as
//!   PHP prints them;
//! - the stylesheets the theme's `stylesheets` list links, in the list's order of first mention,
//!   each resolved to a row of the theme or of a theme the list says it inherits from (rows read
//!   `ORDER BY tid DESC`, the first row of each `cachefile` wins); with "custom only" those of
//!   other themes are left out; `attachedto` only when truthy in PHP's sense (not `""`, not
//!   `"0"`); `version` = the board's version code; the content followed by `]]>\r\n\t\t` and
//!   the closing tag on its own line;
//! - the templates of the theme's own set (`properties['templateset']`), in the server's order,
//!   each with its row's `version`, unless templates are left out;
//! - `]]>` inside any content written as `]]]]><![CDATA[>`.
//!
//! One thing MyBB does that this does not: before writing a stylesheet the Admin CP calls
//! `resync_stylesheet()`, which writes a cache file that is missing. Exporting changes nothing.

use crate::mybb::db::{ExportTemplate, StylesheetRow, ThemeRow};
use crate::php::serialize::{self, Value};

/// The Admin CP's export options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// "Include customized items only?" (`custom_theme`): leave out inherited stylesheets.
    pub custom_only: bool,
    /// "Include templates in the export as well?" (`include_templates`).
    pub include_templates: bool,
}

/// What the export must read, decided from the theme's row.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPlan {
    /// The parsed `properties` column.
    properties: Value,
    /// The stylesheet URLs of the theme's list, in order of first mention.
    urls: Vec<String>,
    /// The themes whose stylesheet rows the export reads (the theme and those its list says it
    /// inherits from), for [`crate::mybb::db::Db::stylesheets_for_export`].
    pub stylesheet_tids: Vec<u32>,
    /// The template set the export reads (`(int)$properties['templateset']`).
    pub template_sid: i64,
}

impl ExportPlan {
    /// Returns the parsed `properties` column the export writes.
    pub fn properties(&self) -> &Value {
        &self.properties
    }

    /// Replaces the properties the export writes: `theme export --from-files` writes those the
    /// theme file would store (issue 28).
    pub fn set_properties(&mut self, properties: Value) {
        self.properties = properties;
    }

    /// Takes the stylesheets, and their order, from the stylesheet list `list` (a parsed
    /// `stylesheets` column) instead of the theme's: `theme export --from-files` writes the
    /// list the theme forms would rebuild (issue 28).
    /// The rows read are then those of theme `tid` and the themes that list inherits from.
    pub fn relist(&mut self, list: &Value, tid: u32) {
        let (urls, mut tids) = list_urls(list);
        tids.push(tid);
        self.urls = urls;
        self.stylesheet_tids.clear();
        for tid in tids {
            if !self.stylesheet_tids.contains(&tid) {
                self.stylesheet_tids.push(tid);
            }
        }
    }
}

/// Returns the URLs of stylesheet list `list` in order of first mention, and the tids its
/// `inherited` map names for them.
fn list_urls(list: &Value) -> (Vec<String>, Vec<u32>) {
    let inherited = list.get("inherited");
    let mut urls: Vec<String> = Vec::new();
    let mut tids: Vec<u32> = Vec::new();
    for (file, actions) in list.as_array().unwrap_or_default() {
        if file.matches("inherited") || actions.as_array().is_none() {
            continue;
        }
        for (action, sheets) in actions.as_array().unwrap_or_default() {
            for (_, url) in sheets.as_array().unwrap_or_default() {
                let url = php_string(url);
                if !urls.contains(&url) {
                    urls.push(url.clone());
                }
                let key = format!("{file}_{action}");
                if let Some(from) = inherited.and_then(|i| i.get(&key))
                    && from.get(&url).is_some()
                {
                    for (_, tid) in from.as_array().unwrap_or_default() {
                        if let Ok(tid) = u32::try_from(php_intval(&php_string(tid))) {
                            tids.push(tid);
                        }
                    }
                }
            }
        }
    }
    (urls, tids)
}

/// Reads the theme's `properties` and `stylesheets` columns as the export does.
///
/// An error (a sentence) means the `properties` column is not PHP-serialized data: MyBB would
/// export an empty theme, which is never what anyone wants.
pub fn plan(theme: &ThemeRow) -> Result<ExportPlan, String> {
    let properties = serialize::parse(&theme.properties).map_err(|e| {
        format!("the properties of theme {} ({}) are damaged: {e}", theme.tid, theme.name)
    })?;
    // my_unserialize() of a damaged or empty list gives false, which lists nothing.
    let list = serialize::parse(&theme.stylesheets).unwrap_or(Value::Null);
    let (urls, mut tids) = list_urls(&list);
    tids.push(theme.tid);
    let mut unique = Vec::new();
    for tid in tids {
        if !unique.contains(&tid) {
            unique.push(tid);
        }
    }
    let template_sid = properties.get("templateset").map_or(0, |v| php_intval(&php_string(v)));
    Ok(ExportPlan { properties, urls, stylesheet_tids: unique, template_sid })
}

/// Returns the theme file of `theme`: `sheets` are the rows [`ExportPlan::stylesheet_tids`]
/// names, in the order the database returned them (`ORDER BY tid DESC`); `templates` are the
/// rows of [`ExportPlan::template_sid`], in the database's order.
pub fn write(
    theme: &ThemeRow,
    plan: &ExportPlan,
    version_code: &str,
    options: ExportOptions,
    sheets: &[StylesheetRow],
    templates: &[ExportTemplate],
) -> Vec<u8> {
    let mut xml: Vec<u8> = Vec::with_capacity(
        64 * 1024
            + sheets.iter().map(|s| s.stylesheet.len() + 128).sum::<usize>()
            + templates.iter().map(|t| t.template.len() + 64).sum::<usize>(),
    );
    let put = |xml: &mut Vec<u8>, parts: &[&[u8]]| {
        for part in parts {
            xml.extend_from_slice(part);
        }
    };
    put(&mut xml, &[b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"]);
    put(
        &mut xml,
        &[
            b"<theme name=\"",
            htmlspecialchars_uni(&theme.name).as_bytes(),
            b"\" version=\"",
            version_code.as_bytes(),
            b"\">\r\n\t<properties>\r\n",
        ],
    );
    for (key, value) in plan.properties.as_array().unwrap_or_default() {
        if key.matches("inherited") {
            continue;
        }
        let value = match value {
            Value::Array(_) => serialize::to_string(value),
            scalar => php_string(scalar),
        };
        let key = key.to_string();
        put(
            &mut xml,
            &[
                b"\t\t<",
                key.as_bytes(),
                b"><![CDATA[",
                &split_cdata_end(value.as_bytes()),
                b"]]></",
                key.as_bytes(),
                b">\r\n",
            ],
        );
    }
    put(&mut xml, &[b"\t</properties>\r\n\t<stylesheets>\r\n"]);

    // $theme_stylesheets: the first row of each cachefile, and each such row's sid.
    let mut by_cachefile: Vec<(&str, &StylesheetRow)> = Vec::new();
    for row in sheets {
        if !by_cachefile.iter().any(|(c, _)| *c == row.cachefile) {
            by_cachefile.push((&row.cachefile, row));
        }
    }
    let find =
        |cachefile: &str| by_cachefile.iter().find(|(c, _)| *c == cachefile).map(|(_, r)| *r);
    for url in &plan.urls {
        let filename = match url.contains("css.php?stylesheet=") {
            true => {
                let sid = php_intval(&url.replace("css.php?stylesheet=", ""));
                by_cachefile
                    .iter()
                    .find(|(_, r)| i64::from(r.sid) == sid)
                    .map_or(String::new(), |(c, _)| (*c).to_owned())
            }
            false => basename(url).to_owned(),
        };
        let row = find(&filename);
        if options.custom_only && row.is_none_or(|r| r.tid != theme.tid) {
            continue;
        }
        let Some(row) = row else {
            continue;
        };
        let attachedto = match row.attachedto.as_str() {
            "" | "0" => String::new(),
            a => format!("attachedto=\"{a}\" "),
        };
        put(
            &mut xml,
            &[
                b"\t\t<stylesheet name=\"",
                row.name.as_bytes(),
                b"\" ",
                attachedto.as_bytes(),
                b"version=\"",
                version_code.as_bytes(),
                b"\"><![CDATA[",
                &split_cdata_end(&row.stylesheet),
                b"]]>\r\n\t\t</stylesheet>\r\n",
            ],
        );
    }
    put(&mut xml, &[b"\t</stylesheets>\r\n"]);

    if options.include_templates {
        put(&mut xml, &[b"\t<templates>\r\n"]);
        for template in templates {
            put(
                &mut xml,
                &[
                    b"\t\t<template name=\"",
                    &template.title,
                    b"\" version=\"",
                    &template.version,
                    b"\"><![CDATA[",
                    &split_cdata_end(&template.template),
                    b"]]></template>\r\n",
                ],
            );
        }
        put(&mut xml, &[b"\t</templates>\r\n"]);
    }
    put(&mut xml, &[b"</theme>"]);
    xml
}

/// Returns `text` with each `]]>` written as `]]]]><![CDATA[>`, as MyBB's export does, so that
/// the CDATA section goes on.
pub fn split_cdata_end(text: &[u8]) -> Vec<u8> {
    const END: &[u8] = b"]]>";
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.windows(END.len()).position(|w| w == END) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"]]]]><![CDATA[>");
        rest = &rest[at + END.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// MyBB's `htmlspecialchars_uni()` (inc/functions.php): `&` becomes `&amp;` unless it starts a
/// decimal character reference (`&#123;`), then `<`, `>` and `"` are escaped; `'` is not.
pub fn htmlspecialchars_uni(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            '&' => {
                let rest = &text[i + 1..];
                let digits = rest.strip_prefix('#').map(|r| {
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    (n, r.as_bytes().get(n) == Some(&b';'))
                });
                match digits {
                    Some((n, true)) if n > 0 => out.push('&'),
                    _ => out.push_str("&amp;"),
                }
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Returns a scalar as PHP's string conversion gives it (`true` is `1`, `false` and null are
/// empty); an array (which PHP would print as `Array`) gives `Array`.
fn php_string(value: &Value) -> String {
    match value {
        Value::Null | Value::Bool(false) => String::new(),
        Value::Bool(true) => "1".to_owned(),
        Value::Int(n) => n.to_string(),
        Value::Float(text) => text.clone(),
        Value::Str(s) => s.clone(),
        Value::Array(_) => "Array".to_owned(),
    }
}

/// PHP's `(int)` of a string: leading whitespace, an optional sign, then as many digits as there
/// are (0 when none).
pub fn php_intval(text: &str) -> i64 {
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C']);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative { -n } else { n }
}

/// PHP's `basename()` of a URL path: the part after the last `/`, trailing slashes ignored.
fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htmlspecialchars_uni_keeps_decimal_references() {
        assert_eq!(
            htmlspecialchars_uni("a&b <c> \"d\" 'e' &#123; &#x41; &amp;"),
            "a&amp;b &lt;c&gt; &quot;d&quot; 'e' &#123; &amp;#x41; &amp;amp;"
        );
    }

    #[test]
    fn cdata_ends_are_split_as_mybb_splits_them() {
        assert_eq!(split_cdata_end(b"a]]>b]]>"), b"a]]]]><![CDATA[>b]]]]><![CDATA[>".to_vec());
        assert_eq!(split_cdata_end(b"]]"), b"]]".to_vec());
    }

    #[test]
    fn php_conversions() {
        assert_eq!(php_intval(" 12abc"), 12);
        assert_eq!(php_intval("-3"), -3);
        assert_eq!(php_intval("x"), 0);
        assert_eq!(basename("cache/themes/theme2/global.css"), "global.css");
    }
}
