//! How the batched template writes of every engine split their rows into statements: by a
//! byte budget (MySQL's `max_allowed_packet`) and by a count of rows (a statement's
//! parameters are limited, and a server caches each statement shape it saw).

/// The bytes a row of a batched write (`Db::update_templates`) adds to a statement besides its content.
pub(crate) const ROW_OVERHEAD: usize = 96;

/// The most rows one statement of a batched write (`Db::update_templates`) carries: a prepared statement has at
/// most 65,535 parameters, and the server caches each size it saw.
const MAX_CHUNK_ROWS: usize = 256;

/// Splits `rows` into statements of at most [`MAX_CHUNK_ROWS`] rows whose `sizes` add up to at
/// most `budget` bytes each; a row larger than `budget` alone is left out (for the one-row
/// statement, which has the whole packet).
pub(crate) fn chunks<T>(
    rows: &[T],
    sizes: impl Iterator<Item = usize>,
    budget: usize,
) -> Vec<Vec<&T>> {
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    let mut size = 0;
    for (row, bytes) in rows.iter().zip(sizes) {
        if bytes > budget {
            continue;
        }
        if size + bytes > budget || chunk.len() == MAX_CHUNK_ROWS {
            all.push(std::mem::take(&mut chunk));
            size = 0;
        }
        chunk.push(row);
        size += bytes;
    }
    if !chunk.is_empty() {
        all.push(chunk);
    }
    all
}
