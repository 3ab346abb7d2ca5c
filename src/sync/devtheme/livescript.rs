//! The live-reload `<script>` of a development copy (issue 29): written into the copy's own
//! `headerinclude` between two marker comments, so that it can be taken out again, whole, before
//! anything of the copy is compared with its base or published.

/// The line that opens the block.
pub const BEGIN: &str = "<!-- mybb-sync dev: live reload (never published) -->";
/// The line that closes the block.
pub const END: &str = "<!-- /mybb-sync dev -->";
/// What a LiveReload script loads: found outside the block, it is refused by publish.
pub const SCRIPT_MARK: &str = "/livereload.js";

/// Returns `text` without its live-reload blocks (from a [`BEGIN`] line to the next [`END`]
/// line, both included) and without the line break left before where a block stood.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else { break };
        let before = rest[..start].trim_end_matches(['\r', '\n']);
        out.push_str(before);
        rest = &rest[start + len + END.len()..];
        // The line break after the block goes with it only where the block ended the text or
        // sat on lines of its own; the text that follows keeps its own line break.
        if rest.trim_end().is_empty() {
            rest = "";
        } else if !before.is_empty() {
            rest = rest.strip_prefix("\r\n").or_else(|| rest.strip_prefix('\n')).unwrap_or(rest);
            out.push_str(if text.contains("\r\n") { "\r\n" } else { "\n" });
        } else {
            rest = rest.trim_start_matches(['\r', '\n']);
        }
    }
    out.push_str(rest);
    out
}

/// Returns true if and only if `text` holds a live-reload block.
pub fn has_block(text: &str) -> bool {
    text.contains(BEGIN)
}

/// Returns `text` with exactly one live-reload block, holding `tag`, at its end (an older
/// block, of another address say, is replaced).
pub fn with_script(text: &str, tag: &str) -> String {
    let stripped = strip(text);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let body = crate::php::text::rtrim(&stripped);
    let sep = if body.is_empty() { "" } else { eol };
    format!("{body}{sep}{BEGIN}{eol}{tag}{eol}{END}")
}

/// Returns `result` with the live-reload block of `copy` carried over, if it had one: what a
/// copy's template becomes when publish writes a merged result back into it.
pub fn carry_block(copy: &str, result: &str) -> String {
    let Some(start) = copy.find(BEGIN) else { return result.to_owned() };
    let Some(len) = copy[start..].find(END) else { return result.to_owned() };
    let block = &copy[start..start + len + END.len()];
    let eol = if copy.contains("\r\n") { "\r\n" } else { "\n" };
    format!("{}{eol}{block}", crate::php::text::rtrim(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_added_then_stripped_leaves_the_text_as_it_was() {
        let tag = "<script src=\"http://127.0.0.1:35729/livereload.js\"></script>";
        for text in ["<link rel=\"x\">\n<script>a</script>", "", "one\r\ntwo"] {
            let with = with_script(text, tag);
            assert!(with.contains(tag) && has_block(&with));
            assert_eq!(strip(&with), crate::php::text::rtrim(text), "{text:?}");
            assert_eq!(with_script(&with, "other"), with_script(text, "other"));
        }
    }

    #[test]
    fn a_block_in_the_middle_goes_with_its_lines() {
        let text = format!("a\n{BEGIN}\n<script></script>\n{END}\nb\n");
        assert_eq!(strip(&text), "a\nb\n");
        let merged = carry_block(&text, "a\nc\nb");
        assert_eq!(strip(&merged), "a\nc\nb");
        assert!(has_block(&merged));
    }
}
