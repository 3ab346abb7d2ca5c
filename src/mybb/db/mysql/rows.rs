//! MySQL's row reader: every answer's rows become values here, column by column, with the
//! `mysql` crate's fallible conversions (its `from_row` panics on a NULL or a wrong-typed
//! value). Text is read as bytes and checked; a value that does not convert is an error naming
//! table, row and column.

use mysql::prelude::FromValue;
use mysql::{FromValueError, Row, Value};

use crate::error::{Error, Result};
use crate::mybb::db::decode::{Integer, ReadRow};

/// Decodes the columns of one row, fallibly: a value that does not convert (a NULL, a number
/// out of range, text where a number belongs, invalid UTF-8) is an error naming the table, the
/// row and the column, never a panic (the `mysql` crate's `from_row` panics).
pub(super) struct RowReader<'a> {
    row: Row,
    table: &'a str,
    /// How the row is named in errors: "tid 5", or "row 3" until its id is known.
    id: String,
}

impl<'a> RowReader<'a> {
    /// Returns a reader of `row`, the `position`th (from 0) of an answer from `table`.
    pub(super) fn new(row: Row, table: &'a str, position: usize) -> RowReader<'a> {
        RowReader { row, table, id: format!("row {}", position + 1) }
    }

    /// Returns column `index`, named `column`, as a `T`.
    pub(super) fn take<T: FromValue>(&mut self, index: usize, column: &str) -> Result<T> {
        match self.row.take_opt::<T, usize>(index) {
            Some(Ok(value)) => Ok(value),
            Some(Err(FromValueError(value))) => Err(self.bad(column, &describe(&value))),
            None => Err(self.bad(column, "no value")),
        }
    }

    /// Returns column `index`, named `column`, as UTF-8 text.
    pub(super) fn text(&mut self, index: usize, column: &str) -> Result<String> {
        let bytes: Vec<u8> = self.take(index, column)?;
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            self.bad(column, &format!("text that is not valid UTF-8 (at byte {at})"))
        })
    }

    /// Takes column `index` as the row's id, named `column`, for the errors that follow.
    pub(super) fn id<T: FromValue + std::fmt::Display>(
        &mut self,
        index: usize,
        column: &str,
    ) -> Result<T> {
        let id: T = self.take(index, column)?;
        self.id = format!("{column} {id}");
        Ok(id)
    }

    /// Returns the position of column `column` in the row (for a `SELECT *`, whose order is
    /// the table's), or an error naming it when the answer has no such column.
    pub(super) fn index_of(&self, column: &str) -> Result<usize> {
        let columns = self.row.columns_ref();
        columns
            .iter()
            // As the crate's own lookup by name: the name exactly.
            .position(|c| c.name_ref() == column.as_bytes())
            .ok_or_else(|| self.bad(column, "nothing: the answer has no such column"))
    }

    /// Sets how the row is named in errors, once its key is known.
    pub(super) fn name_row(&mut self, id: String) {
        self.id = id;
    }

    /// Returns the error for column `column` holding `found`, naming table and row.
    fn bad(&self, column: &str, found: &str) -> Error {
        Error::Data {
            what: format!(
                "cannot read {} {}: its column `{column}` holds {found}, which mybb-sync does not \
                 take for what MyBB stores there; fix the row in the database",
                self.table, self.id
            ),
        }
    }
}

/// Decodes `rows`, named `shown` in errors, one by one with `decode`.
pub(super) fn decode_rows_of<T>(
    shown: &str,
    rows: Vec<Row>,
    mut decode: impl FnMut(&mut RowReader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    rows.into_iter()
        .enumerate()
        .map(|(n, row)| decode(&mut RowReader::new(row, shown, n)))
        .collect()
}

/// Returns column 0 of `row`, if there is a row, as a `T` (`shown` and `column` name it for
/// errors).
pub(super) fn first_value<T: FromValue>(
    row: Option<Row>,
    shown: &str,
    column: &str,
) -> Result<Option<T>> {
    row.map(|row| RowReader::new(row, shown, 0).take(0, column)).transpose()
}

/// Returns a database value in words, clipped, for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::NULL => "NULL".to_owned(),
        Value::Bytes(bytes) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            format!("{text:?}")
        }
        Value::Int(n) => format!("the number {n}"),
        Value::UInt(n) => format!("the number {n}"),
        other => format!("{other:?}"),
    }
}

/// MySQL's reader as the structs' mappings (`decode.rs`) read a row: each method is this
/// reader's own, the `mysql` crate's conversions and the errors unchanged.
impl ReadRow for RowReader<'_> {
    fn bytes(&mut self, index: usize, column: &str) -> Result<Vec<u8>> {
        self.take(index, column)
    }

    fn text(&mut self, index: usize, column: &str) -> Result<String> {
        RowReader::text(self, index, column)
    }

    fn int<T: Integer>(&mut self, index: usize, column: &str) -> Result<T> {
        self.take(index, column)
    }

    fn id<T: Integer>(&mut self, index: usize, column: &str) -> Result<T> {
        RowReader::id(self, index, column)
    }

    fn index_of(&self, column: &str) -> Result<usize> {
        RowReader::index_of(self, column)
    }
}
