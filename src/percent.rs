//! `%XX` escapes, decoded: shared by database URLs (`config.rs`) and the sync tree's reversible
//! file names (`sync/layout.rs`), which both percent-encode what may not stand as it is.
//!
//! The decoding is the `percent-encoding` crate's. Our rule differs from it in one way: the
//! crate passes a `%` that is not followed by two hexadecimal digits through as it is, and we
//! refuse it. In a file name it could not have come from our encoder (which writes `%` as
//! `%25`), so taking it would let two names (`100%`, `100%25`) stand for one title; in a URL,
//! RFC 3986 allows `%` only as the start of an escape, so a stray one is a typo to report.

/// Why a percent-encoded text does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEscape {
    /// A `%` not followed by two hexadecimal digits.
    Malformed,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Returns `text` with every `%XX` escape decoded; an error when a `%` does not start one, or
/// when the decoded bytes are not UTF-8.
pub fn decode(text: &str) -> Result<String, BadEscape> {
    let malformed = text.match_indices('%').any(|(at, _)| {
        !text.get(at + 1..at + 3).is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if malformed {
        return Err(BadEscape::Malformed);
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| BadEscape::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_bad_ones_are_refused() {
        assert_eq!(decode("a%20b%E2%82%AC"), Ok("a b€".to_owned()));
        assert_eq!(decode("100%"), Err(BadEscape::Malformed));
        assert_eq!(decode("%4"), Err(BadEscape::Malformed));
        assert_eq!(decode("%+1"), Err(BadEscape::Malformed));
        assert_eq!(decode("%FF"), Err(BadEscape::NotUtf8));
    }
}
