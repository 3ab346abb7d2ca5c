//! Development copies of a theme (issue 29): what `dev` records and `publish` merges. A copy
//! is a child theme with its own template set, made as the Admin CP's Duplicate Theme makes
//! it (`mybb/theme_duplicate.rs`); its record (`record.rs`) keeps the base, what the live theme
//! rendered when the copy and it last agreed; `publish.rs` carries what changed in the copy
//! since then onto the live theme, three-way, through compare-and-swap writes.

pub mod livescript;
pub mod props;
pub mod publish;
pub mod record;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::mybb::board::{Board, SetTemplates};
use crate::mybb::db::{Db, ThemeRow};
use crate::php::serialize::{self, Value};
use record::Items;

/// A template as a theme renders it now.
#[derive(Debug, Clone)]
pub struct TemplateNow {
    /// The content rendered (set, else global, else master), as text.
    pub text: String,
    /// The set's own row, `(tid, content as stored)`, the one an edit updates; None when the
    /// set inherits the template (an edit copies it into the set).
    pub own: Option<(u32, Vec<u8>)>,
}

/// A stylesheet as a theme serves it now.
#[derive(Debug, Clone)]
pub struct SheetNow {
    pub text: String,
    /// The theme's own row, `(sid, content as stored)`; None when inherited.
    pub own: Option<(u32, Vec<u8>)>,
    /// The row's `attachedto`, which a copy-on-write keeps.
    pub attachedto: String,
}

/// What a theme renders now, item by item.
#[derive(Debug, Clone, Default)]
pub struct ThemeNow {
    /// The theme's template set.
    pub sid: i32,
    pub templates: BTreeMap<String, TemplateNow>,
    pub stylesheets: BTreeMap<String, SheetNow>,
    /// The theme fields publish carries (`props.rs`).
    pub fields: props::Fields,
}

impl ThemeNow {
    /// Reads what theme `theme` of `board` renders now.
    pub fn read(db: &Db, board: &Board, theme: &ThemeRow) -> Result<ThemeNow> {
        let sid = template_set_of(theme)?;
        let set = SetTemplates::load(db, sid, None)?;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let templates = set
            .all()
            .into_iter()
            .map(|(title, row)| {
                let own = set.own(title).map(|own| (own.tid, own.template.clone()));
                (title.to_owned(), TemplateNow { text: text(&row.template), own })
            })
            .collect();
        let stylesheets = board
            .resolved_stylesheets(theme.tid)
            .into_iter()
            .map(|(name, row)| {
                let own = (row.tid == theme.tid).then(|| (row.sid, row.stylesheet.clone()));
                let sheet = SheetNow {
                    text: text(&row.stylesheet),
                    own,
                    attachedto: row.attachedto.clone(),
                };
                (name.to_owned(), sheet)
            })
            .collect();
        let fields = props::read(db, board, theme.tid)?.unwrap_or_default();
        Ok(ThemeNow { sid, templates, stylesheets, fields })
    }

    /// Returns the content of every item, as a base records it.
    pub fn items(&self) -> Items {
        Items {
            templates: self.templates.iter().map(|(k, v)| (k.clone(), v.text.clone())).collect(),
            stylesheets: self
                .stylesheets
                .iter()
                .map(|(k, v)| (k.clone(), v.text.clone()))
                .collect(),
            theme: Some(self.fields.clone()),
        }
    }
}

/// Returns the template set theme `theme` uses (`properties['templateset']`).
pub fn template_set_of(theme: &ThemeRow) -> Result<i32> {
    let properties = serialize::parse(&theme.properties).map_err(|e| Error::Data {
        what: format!(
            "theme {:?} (tid {}): its properties do not parse: {e}",
            theme.name, theme.tid
        ),
    })?;
    properties
        .get("templateset")
        .and_then(Value::as_int)
        .and_then(|sid| i32::try_from(sid).ok())
        .ok_or_else(|| Error::Data {
            what: format!(
                "theme {:?} (tid {}) names no template set in its properties",
                theme.name, theme.tid
            ),
        })
}
