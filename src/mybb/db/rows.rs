//! The row reader SQLite and PostgreSQL share: every answer's columns become values here,
//! fallibly, each bad value an error naming table, row and column (never a panic). An engine
//! hands its rows over as [`Cells`]; the MySQL engine keeps its own reader (`mysql/rows.rs`),
//! built on the `mysql` crate's typed conversions. Both serve the structs' one mapping
//! (`decode.rs`) through [`ReadRow`].

use crate::error::{Error, Result};
use crate::mybb::db::decode::{Integer, ReadRow};

/// One value of a row, as an engine holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    /// Text or binary: the bytes as stored (PostgreSQL's text form of any value too).
    Bytes(&'a [u8]),
}

/// A row of an answer, as an engine hands it to [`Reader`].
pub(crate) trait Cells {
    /// Returns column `index`, or None if the answer has no such column.
    fn cell(&self, index: usize) -> Option<Cell<'_>>;
    /// Returns the position of the column named `name` (for a `SELECT *`).
    fn column_index(&self, name: &str) -> Option<usize>;
}

/// Reads the columns of one row fallibly: a value that does not convert is an error naming
/// table, row and column. Text is read as bytes whatever the engine's storage.
pub(crate) struct Reader<'r, R: ?Sized> {
    row: &'r R,
    table: &'r str,
    /// How the row is named in errors: "tid 5", or "row 3" until its id is known.
    id: String,
}

impl<'r, R: Cells + ?Sized> Reader<'r, R> {
    /// Returns a reader of `row`, the `position`th (from 0) of an answer from `table`.
    pub(crate) fn new(row: &'r R, table: &'r str, position: usize) -> Reader<'r, R> {
        Reader { row, table, id: format!("row {}", position + 1) }
    }

    /// Returns column `index`, named `column`, as the engine holds it.
    fn value(&self, index: usize, column: &str) -> Result<Cell<'r>> {
        self.row.cell(index).ok_or_else(|| self.bad(column, "nothing: no such column"))
    }

    /// Returns column `index`, named `column`, as bytes (text or binary; a number as written).
    pub(crate) fn bytes(&self, index: usize, column: &str) -> Result<Vec<u8>> {
        match self.value(index, column)? {
            Cell::Bytes(b) => Ok(b.to_vec()),
            // A number in a text column (SQLite's affinity may have made `'1800'` one).
            Cell::Int(n) => Ok(n.to_string().into_bytes()),
            Cell::Real(x) => Ok(x.to_string().into_bytes()),
            Cell::Null => Err(self.bad(column, "NULL")),
        }
    }

    /// Returns column `index`, named `column`, as UTF-8 text.
    pub(crate) fn text(&self, index: usize, column: &str) -> Result<String> {
        String::from_utf8(self.bytes(index, column)?).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            self.bad(column, &format!("text that is not valid UTF-8 (at byte {at})"))
        })
    }

    /// Returns column `index`, named `column`, as an integer of type `T` (a number stored as
    /// text converts, as MySQL converts it; so does PostgreSQL's `numeric` with no fraction).
    pub(crate) fn int<T: TryFrom<i64>>(&self, index: usize, column: &str) -> Result<T> {
        let value = self.value(index, column)?;
        let n = match value {
            Cell::Int(n) => Some(n),
            Cell::Bytes(t) => std::str::from_utf8(t).ok().and_then(|t| t.trim().parse().ok()),
            _ => None,
        };
        match n.map(T::try_from) {
            Some(Ok(value)) => Ok(value),
            Some(Err(_)) => Err(self.bad(column, &format!("the number {}", n.unwrap_or(0)))),
            None => Err(self.bad(column, &describe(value))),
        }
    }

    /// Takes column `index` as the row's id, named `column`, for the errors that follow.
    pub(crate) fn id<T: TryFrom<i64> + std::fmt::Display>(
        &mut self,
        index: usize,
        column: &str,
    ) -> Result<T> {
        let id: T = Reader::int(self, index, column)?;
        self.id = format!("{column} {id}");
        Ok(id)
    }

    /// Sets how the row is named in errors, once its key is known.
    pub(crate) fn name_row(&mut self, id: String) {
        self.id = id;
    }

    /// Returns the position of column `column` in the answer (for a `SELECT *`).
    pub(crate) fn index_of(&self, column: &str) -> Result<usize> {
        self.row
            .column_index(column)
            .ok_or_else(|| self.bad(column, "nothing: the answer has no such column"))
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

/// Returns a database value in words, clipped, for an error message.
fn describe(value: Cell<'_>) -> String {
    match value {
        Cell::Null => "NULL".to_owned(),
        Cell::Int(n) => format!("the number {n}"),
        Cell::Real(x) => format!("the number {x}"),
        Cell::Bytes(b) => format!("{:?}", String::from_utf8_lossy(&b[..b.len().min(40)])),
    }
}

/// The shared reader as the structs' mappings (`decode.rs`) read a row: each method is this
/// reader's own, its conversions and errors unchanged.
impl<R: Cells + ?Sized> ReadRow for Reader<'_, R> {
    fn bytes(&mut self, index: usize, column: &str) -> Result<Vec<u8>> {
        Reader::bytes(self, index, column)
    }

    fn text(&mut self, index: usize, column: &str) -> Result<String> {
        Reader::text(self, index, column)
    }

    fn int<T: Integer>(&mut self, index: usize, column: &str) -> Result<T> {
        Reader::int(self, index, column)
    }

    fn id<T: Integer>(&mut self, index: usize, column: &str) -> Result<T> {
        Reader::id(self, index, column)
    }

    fn index_of(&self, column: &str) -> Result<usize> {
        Reader::index_of(self, column)
    }
}
