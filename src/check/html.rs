//! `html-balance`: tags opened and not closed, or closed out of order, in a template.
//!
//! MyBB templates are fragments: `header` opens `<div id="container">` and `footer` closes it.
//! So a template's balance is not judged on its own but against its master's: the scan below
//! turns a template into its *imbalances* (tags left open, closing tags that close nothing),
//! and only an imbalance the copy has and its master has not, or the reverse, is a finding. A
//! template with no master (a plugin's, a new one) is judged on its own.
//!
//! The scan is a tokenizer, not an HTML parser: it knows comments, `<script>`/`<style>`
//! raw text, quoted attribute values (which may hold `>` and `{$...}`), void elements, and the
//! elements whose end tag HTML lets an author leave out (`<li>`, `<td>`, `<p>`, ...), which
//! are never reported as left open.

/// Elements without content or end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose end tag HTML lets an author omit (the parser closes them implicitly).
const OPTIONAL_END: &[&str] = &[
    "body", "colgroup", "dd", "dt", "head", "html", "li", "optgroup", "option", "p", "rp", "rt",
    "tbody", "td", "tfoot", "th", "thead", "tr",
];

/// One imbalance of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imbalance {
    /// Byte offset of the tag in the template.
    pub at: usize,
    /// The element's name, lowercased.
    pub name: String,
    /// True for a tag left open, false for a closing tag that closes nothing open.
    pub open: bool,
}

impl Imbalance {
    /// Returns what the imbalance is, in words, e.g. "`<div>` is never closed".
    pub fn describe(&self) -> String {
        if self.open {
            format!("`<{}>` is never closed", self.name)
        } else {
            format!("`</{}>` closes no open `<{}>`", self.name, self.name)
        }
    }

    /// The key two imbalances are compared by: what and which, not where.
    fn key(&self) -> (bool, &str) {
        (self.open, &self.name)
    }
}

/// Returns the imbalances of `text`, in the order of the tags they concern.
pub fn imbalances(text: &str) -> Vec<Imbalance> {
    let bytes = text.as_bytes();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = memchr(b'<', &bytes[at..]) {
        let start = at + offset;
        let rest = &text[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            at = comment.find("-->").map_or(bytes.len(), |end| start + 4 + end + 3);
            continue;
        }
        let closing = rest.as_bytes().get(1) == Some(&b'/');
        let name_start = start + 1 + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b':')
            .count();
        // `<` not followed by a letter is text (`a < b`, `<!DOCTYPE`, `<{$x}>`).
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            at = start + 1;
            continue;
        }
        let name = text[name_start..name_start + name_len].to_ascii_lowercase();
        let (end, self_closing) = tag_end(bytes, name_start + name_len);
        at = end;
        if closing {
            close(&mut stack, &mut found, start, name);
        } else if !self_closing && !VOID.contains(&name.as_str()) {
            if name == "script" || name == "style" {
                // Raw text up to the matching end tag: a `<` in JavaScript is no tag.
                let needle = format!("</{name}");
                match find_ascii_case_insensitive(&text[at..], &needle) {
                    Some(offset) => {
                        let close_at = at + offset;
                        let (end, _) = tag_end(bytes, close_at + needle.len());
                        at = end;
                        continue;
                    }
                    None => {
                        found.push(Imbalance { at: start, name, open: true });
                        break;
                    }
                }
            }
            stack.push((start, name));
        }
    }
    for (at, name) in stack {
        if !OPTIONAL_END.contains(&name.as_str()) {
            found.push(Imbalance { at, name, open: true });
        }
    }
    found.sort_by_key(|i| i.at);
    found
}

/// Closes `name` at `at`: pops up to the nearest open `name`, reporting what it closes
/// implicitly (unless HTML allows that), or reports a stray end tag.
fn close(stack: &mut Vec<(usize, String)>, found: &mut Vec<Imbalance>, at: usize, name: String) {
    match stack.iter().rposition(|(_, open)| *open == name) {
        Some(index) => {
            for (open_at, open) in stack.drain(index..).skip(1) {
                if !OPTIONAL_END.contains(&open.as_str()) {
                    found.push(Imbalance { at: open_at, name: open, open: true });
                }
            }
        }
        None => found.push(Imbalance { at, name, open: false }),
    }
}

/// Returns the offset just past the `>` ending a tag whose attributes start at `at`, and
/// whether the tag ends `/>`. Quoted attribute values may hold `>`; an unterminated tag runs
/// to the end of the text.
fn tag_end(bytes: &[u8], mut at: usize) -> (usize, bool) {
    let mut quote = None;
    while let Some(&b) = bytes.get(at) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return (at + 1, at > 0 && bytes[at - 1] == b'/'),
            (None, _) => {}
        }
        at += 1;
    }
    (bytes.len(), false)
}

/// Returns the offset of the first byte `needle` in `haystack`.
fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Returns the offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (haystack.as_bytes(), needle.as_bytes());
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

/// What a copy does differently from its master: each imbalance of the copy the master does
/// not have (with its place in the copy), and each imbalance of the master the copy does not
/// have (the copy balances what the master leaves to another template), with no place.
pub fn differences(copy: &[Imbalance], master: &[Imbalance]) -> Vec<(Option<usize>, String)> {
    let mut unmatched: Vec<&Imbalance> = master.iter().collect();
    let mut out = Vec::new();
    for imbalance in copy {
        match unmatched.iter().position(|m| m.key() == imbalance.key()) {
            Some(index) => {
                unmatched.remove(index);
            }
            None => {
                let what = format!("{}, unlike in the master", imbalance.describe());
                out.push((Some(imbalance.at), what));
            }
        }
    }
    for imbalance in unmatched {
        let what = if imbalance.open {
            format!(
                "the master leaves `<{}>` open for another template to close, and this copy \
                 does not: the page's other templates will close one element too many",
                imbalance.name
            )
        } else {
            format!(
                "the master closes a `<{}>` another template opened, and this copy does not: \
                 it stays open on every page",
                imbalance.name
            )
        };
        out.push((None, what));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        imbalances(text)
            .iter()
            .map(|i| if i.open { format!("<{}", i.name) } else { format!("</{}", i.name) })
            .collect()
    }

    #[test]
    fn balanced_markup_has_no_imbalance() {
        assert!(names("<div><span>x</span><br><img src=\"a>b\" /></div>").is_empty());
        assert!(names("<ul><li>a<li>b</ul><p>x").is_empty());
        assert!(names("<!-- <div> --><script>if (a < b) { x('<div>'); }</script>").is_empty());
        assert!(names("<a href=\"{$mybb->settings['bburl']}\">{$lang->home}</a> 1 < 2").is_empty());
    }

    #[test]
    fn unclosed_and_stray_tags_are_found() {
        assert_eq!(names("<div><span>x</div>"), ["<span"]);
        assert_eq!(names("</div><div>"), ["</div", "<div"]);
        assert_eq!(names("<DIV></div></table>"), ["</table"]);
    }

    #[test]
    fn only_differences_from_the_master_count() {
        let master = imbalances("<div id=\"container\"><div>");
        let same = imbalances("<div class=\"x\">\n<div>");
        assert!(differences(&same, &master).is_empty());
        let extra = imbalances("<div id=\"container\"><div><div>");
        let diff = differences(&extra, &master);
        assert_eq!(diff.len(), 1);
        let closed = imbalances("<div></div><div></div>");
        let diff = differences(&closed, &master);
        assert_eq!(diff.len(), 2);
        assert!(diff.iter().all(|(at, _)| at.is_none()));
    }
}
