//! `%XX` escapes, decoded: shared by database URLs (`config.rs`) and the sync tree's reversible
//! file names (`sync/layout.rs`), which both percent-encode what may not stand as it is.

/// Why a percent-encoded text does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEscape {
    /// A `%` not followed by two hexadecimal digits.
    Malformed,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

/// Returns `text` with every `%XX` escape decoded.
pub fn decode(text: &str) -> Result<String, BadEscape> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = text
                .get(i + 1..i + 3)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(BadEscape::Malformed)?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| BadEscape::NotUtf8)
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
