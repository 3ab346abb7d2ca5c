//! The one mapping from a row to each of the facade's structs, shared by the three engines:
//! an engine reads a row through [`ReadRow`] (MySQL's `mysql/rows.rs` reader, SQLite's and
//! PostgreSQL's `rows.rs` reader), and the columns become a struct here, in one place. Each
//! engine's reader keeps its own conversions and its own errors; only the mapping is shared.

use std::fmt::Display;

use mysql::prelude::FromValue;

use crate::error::Result;
use crate::mybb::db::{
    ExportTemplate, StylesheetRow, TemplateRow, ThemeForm, ThemeRow, VersionedTemplate,
};

/// An integer type a row's column can be read as, by either reader: MySQL's through the
/// `mysql` crate's conversions, SQLite's and PostgreSQL's from an `i64`.
pub(crate) trait Integer: TryFrom<i64> + FromValue + Display {}

impl<T: TryFrom<i64> + FromValue + Display> Integer for T {}

/// Reads the columns of one row, fallibly: a value that does not convert is an error naming
/// table, row and column, as each engine's reader words it.
pub(crate) trait ReadRow {
    /// Returns column `index`, named `column`, as bytes (text or binary).
    fn bytes(&mut self, index: usize, column: &str) -> Result<Vec<u8>>;
    /// Returns column `index`, named `column`, as UTF-8 text.
    fn text(&mut self, index: usize, column: &str) -> Result<String>;
    /// Returns column `index`, named `column`, as an integer of type `T`.
    fn int<T: Integer>(&mut self, index: usize, column: &str) -> Result<T>;
    /// Takes column `index` as the row's id, named `column`, for the errors that follow.
    fn id<T: Integer>(&mut self, index: usize, column: &str) -> Result<T>;
    /// Returns the position of column `column` in the answer (for a `SELECT *`).
    fn index_of(&self, column: &str) -> Result<usize>;
}

/// Decodes a `templatesets` row `SELECT sid, title` as `(sid, title)`.
pub(crate) fn template_set(row: &mut impl ReadRow) -> Result<(i32, String)> {
    Ok((row.id(0, "sid")?, row.text(1, "title")?))
}

/// Decodes a `templategroups` row `SELECT prefix, title, gid` as `(prefix, title)`.
pub(crate) fn template_group(row: &mut impl ReadRow) -> Result<(String, String)> {
    let _: u64 = row.id(2, "gid")?;
    Ok((row.text(0, "prefix")?, row.text(1, "title")?))
}

/// Decodes a `templates` row `SELECT tid, sid, title, template, dateline`.
pub(crate) fn template_row(row: &mut impl ReadRow) -> Result<TemplateRow> {
    Ok(TemplateRow {
        tid: row.id(0, "tid")?,
        sid: row.int(1, "sid")?,
        title: row.text(2, "title")?,
        template: row.bytes(3, "template")?,
        dateline: row.int(4, "dateline")?,
    })
}

/// Decodes a `templates` row `SELECT tid, sid, title, version, template, dateline`.
pub(crate) fn versioned_template(row: &mut impl ReadRow) -> Result<VersionedTemplate> {
    Ok(VersionedTemplate {
        tid: row.id(0, "tid")?,
        sid: row.int(1, "sid")?,
        title: row.text(2, "title")?,
        version: row.text(3, "version")?,
        template: row.bytes(4, "template")?,
        dateline: row.int(5, "dateline")?,
    })
}

/// Decodes a `templates` row of a `SELECT *`, its columns found by name, as the export reads it.
pub(crate) fn export_template(row: &mut impl ReadRow) -> Result<ExportTemplate> {
    let mut named = |column: &str| {
        let index = row.index_of(column)?;
        row.bytes(index, column)
    };
    Ok(ExportTemplate {
        title: named("title")?,
        template: named("template")?,
        version: named("version")?,
    })
}

/// Decodes a `themes` row `SELECT tid, name, pid, def, properties, stylesheets`.
pub(crate) fn theme_row(row: &mut impl ReadRow) -> Result<ThemeRow> {
    Ok(ThemeRow {
        tid: row.id(0, "tid")?,
        name: row.text(1, "name")?,
        pid: row.int(2, "pid")?,
        def: row.int::<i64>(3, "def")? == 1,
        properties: row.text(4, "properties")?,
        stylesheets: row.text(5, "stylesheets")?,
    })
}

/// Decodes a `themes` row `SELECT tid, name, pid, allowedgroups, properties` as
/// `(tid, Edit Theme fields)`.
pub(crate) fn theme_form(row: &mut impl ReadRow) -> Result<(u32, ThemeForm)> {
    Ok((
        row.id(0, "tid")?,
        ThemeForm {
            name: row.text(1, "name")?,
            pid: row.int(2, "pid")?,
            allowedgroups: row.text(3, "allowedgroups")?,
            properties: row.text(4, "properties")?,
        },
    ))
}

/// The columns of a [`StylesheetRow`], in the struct's order.
pub(crate) const STYLESHEET_COLUMNS: [&str; 7] =
    ["sid", "name", "tid", "attachedto", "stylesheet", "cachefile", "lastmodified"];

/// The positions of [`STYLESHEET_COLUMNS`] in a statement that names them in that order.
pub(crate) const IN_ORDER: [usize; 7] = [0, 1, 2, 3, 4, 5, 6];

/// Returns the positions of [`STYLESHEET_COLUMNS`] in a `SELECT *` answer (the table's own
/// order, which a board's history may have changed), found by name.
pub(crate) fn by_name(row: &impl ReadRow) -> Result<[usize; 7]> {
    let mut at = [0; 7];
    for (index, name) in at.iter_mut().zip(STYLESHEET_COLUMNS) {
        *index = row.index_of(name)?;
    }
    Ok(at)
}

/// Decodes a `themestylesheets` row whose columns are at `at`, in [`STYLESHEET_COLUMNS`]' order:
/// the one decoder of [`StylesheetRow`], for every read.
pub(crate) fn stylesheet_row(row: &mut impl ReadRow, at: [usize; 7]) -> Result<StylesheetRow> {
    Ok(StylesheetRow {
        sid: row.id(at[0], "sid")?,
        name: row.text(at[1], "name")?,
        tid: row.int(at[2], "tid")?,
        attachedto: row.text(at[3], "attachedto")?,
        stylesheet: row.bytes(at[4], "stylesheet")?,
        cachefile: row.text(at[5], "cachefile")?,
        lastmodified: row.int(at[6], "lastmodified")?,
    })
}
