//! `css-syntax`: what a browser's CSS parser would stumble on in a stylesheet, and the
//! `url(...)` targets `missing-image` resolves.
//!
//! The tokens and blocks come from `cssparser`, Servo's (Firefox's) implementation of CSS
//! Syntax Level 3, so strings, escapes, comments, `url()` and nesting are read exactly as a
//! browser reads them. On top of its token stream this module walks rules and declarations
//! the way the spec's "consume a list of rules / declarations" does, and reports what the spec
//! turns into a parse error and a browser therefore drops or repairs silently:
//! - a `}` that closes no block (a browser ignores it; often a rule above lost its `{`);
//! - a block still open at the end of the file (a browser closes it there, swallowing every
//!   rule after the missing `}`);
//! - a string or comment never closed (a string runs to the line's end and the declaration is
//!   dropped; a comment swallows the rest of the file), a bad `url(...)`;
//! - a declaration with no `:`, no value, or not starting with a property name (`*zoom: 1`,
//!   `color red;`), which a browser drops;
//! - a rule whose selector holds a `;` (`a {}; b {}` makes `; b` the selector), or with no block.
//!
//! What the parser cannot know without a table of properties (an unknown property, a value of
//! the wrong type) is not reported: that needs a browser's property database, not a syntax.
//! The text is checked as written in the file, before MyBB's cache writer rewrites `url()`s
//! and minifies: neither changes what is found here.

use cssparser::{Parser, SourcePosition, Token};

/// What one stylesheet holds that `check` reports or follows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CssScan {
    /// Syntax problems: byte offset and message.
    pub problems: Vec<(usize, String)>,
    /// `url(...)` targets: byte offset of the `url` and the target as written.
    pub urls: Vec<(usize, String)>,
    /// The length of the text: a block whose walk ends there was never closed.
    len: usize,
}

/// Scans stylesheet `text`.
pub fn scan(text: &str) -> CssScan {
    let mut parser = Parser::new(text);
    let mut scan = CssScan { len: text.len(), ..CssScan::default() };
    rule_list(&mut parser, &mut scan, true);
    scan.problems.sort_by_key(|(at, _)| *at);
    scan
}

/// Returns the byte offset of `position`.
fn offset(position: SourcePosition) -> usize {
    position.byte_index()
}

/// Which at-rules hold rules rather than declarations.
fn holds_rules(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let name = name.trim_start_matches("-webkit-").trim_start_matches("-moz-");
    matches!(
        name,
        "media"
            | "supports"
            | "document"
            | "layer"
            | "container"
            | "keyframes"
            | "scope"
            | "starting-style"
    )
}

/// Reads the next token (comments and whitespace included), noting problems in the token
/// itself; returns it with its start, or None at the end of the input or block.
fn next<'i>(p: &mut Parser<'i>, scan: &mut CssScan) -> Option<(usize, Token<'i>)> {
    let start = p.position();
    let token = p.next_including_whitespace_and_comments().ok()?.clone();
    let at = offset(start);
    match &token {
        Token::Comment(_)
            if !p.slice_from(start).ends_with("*/") || p.slice_from(start).len() < 4 =>
        {
            scan.problems
                .push((at, "comment is never closed: it hides the rest of the file".into()))
        }
        Token::QuotedString(_) => {
            let raw = p.slice_from(start);
            let quote = raw.chars().next().unwrap_or('"');
            if raw.len() < 2 || !raw.ends_with(quote) || raw.ends_with(&format!("\\{quote}")) {
                scan.problems.push((at, "string is never closed".into()));
            }
        }
        Token::BadString(_) => scan.problems.push((
            at,
            "string is never closed on its line: the browser drops the declaration".into(),
        )),
        Token::BadUrl(_) => scan.problems.push((
            at,
            "bad `url(...)` (a quote, space or `(` inside an unquoted url): the browser drops \
             the declaration"
                .into(),
        )),
        Token::UnquotedUrl(url) => scan.urls.push((at, url.to_string())),
        _ => {}
    }
    Some((at, token))
}

/// Walks a nested block, reporting it when the input ends before its `}`.
fn block(
    p: &mut Parser<'_>,
    scan: &mut CssScan,
    open_at: usize,
    what: &str,
    inner: fn(&mut Parser<'_>, &mut CssScan, bool),
) {
    let closed = p
        .parse_nested_block(|p| -> Result<bool, cssparser::ParseError<()>> {
            inner(p, scan, false);
            // The walk stops before the block's own `}`, or at the end of the input.
            Ok(offset(p.position()) < scan.len)
        })
        .unwrap_or(true);
    if !closed {
        scan.problems.push((
            open_at,
            format!(
                "{what} is never closed: the browser closes it at the end of the file, so \
                 every rule after the missing `}}` is inside it"
            ),
        ));
    }
}

/// Walks the contents of a function or `(`/`[` block, for its strings and urls.
fn skip_nested(p: &mut Parser<'_>, scan: &mut CssScan, _top: bool) {
    while let Some((at, token)) = next(p, scan) {
        match token {
            Token::Function(name) if name.eq_ignore_ascii_case("url") => url_function(p, scan, at),
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock => {
                let _ = p.parse_nested_block(|p| -> Result<(), cssparser::ParseError<()>> {
                    skip_nested(p, scan, false);
                    Ok(())
                });
            }
            Token::CurlyBracketBlock => block(p, scan, at, "`{` block", skip_nested),
            _ => {}
        }
    }
}

/// Reads `url("...")` (a function when quoted), noting its target.
fn url_function(p: &mut Parser<'_>, scan: &mut CssScan, at: usize) {
    let _ = p.parse_nested_block(|p| -> Result<(), cssparser::ParseError<()>> {
        while let Some((_, token)) = next(p, scan) {
            if let Token::QuotedString(target) = token {
                scan.urls.push((at, target.to_string()));
            }
        }
        Ok(())
    });
}

/// Walks a list of rules: the stylesheet (`top`) or an at-rule's block.
fn rule_list(p: &mut Parser<'_>, scan: &mut CssScan, top: bool) {
    while let Some((at, token)) = next(p, scan) {
        match token {
            Token::WhiteSpace(_) | Token::Comment(_) | Token::CDO | Token::CDC => {}
            Token::CloseCurlyBracket => scan
                .problems
                .push((at, "`}` closes no block: a rule above may have lost its `{`".into())),
            Token::AtKeyword(name) => at_rule(p, scan, &name),
            Token::Semicolon if top => scan.problems.push((
                at,
                "`;` between rules: the browser reads it as the start of the next rule's \
                 selector and drops that rule"
                    .into(),
            )),
            first => qualified_rule(p, scan, at, first),
        }
    }
}

/// Walks an at-rule after its keyword: its prelude, then `;` or a block.
fn at_rule(p: &mut Parser<'_>, scan: &mut CssScan, name: &str) {
    while let Some((open_at, token)) = next(p, scan) {
        match token {
            Token::Semicolon => return,
            Token::CurlyBracketBlock => {
                let what = format!("the block of `@{name}`");
                if holds_rules(name) {
                    block(p, scan, open_at, &what, rule_list);
                } else {
                    block(p, scan, open_at, &what, declaration_list);
                }
                return;
            }
            Token::Function(f) if f.eq_ignore_ascii_case("url") => url_function(p, scan, open_at),
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock => {
                let _ = p.parse_nested_block(|p| -> Result<(), cssparser::ParseError<()>> {
                    skip_nested(p, scan, false);
                    Ok(())
                });
            }
            _ => {}
        }
    }
}

/// Walks a qualified (style) rule whose first token is `first`: the selector, then its block.
fn qualified_rule(p: &mut Parser<'_>, scan: &mut CssScan, at: usize, first: Token<'_>) {
    let mut token = first;
    let mut token_at = at;
    let mut semicolon = None;
    loop {
        match token {
            Token::CurlyBracketBlock => {
                if let Some(semi) = semicolon {
                    scan.problems.push((
                        semi,
                        "`;` in a selector: the browser drops this whole rule (a stray `;` after \
                         the `}` above?)"
                            .into(),
                    ));
                }
                block(p, scan, token_at, "the rule's block", declaration_list);
                return;
            }
            Token::Semicolon => semicolon = semicolon.or(Some(token_at)),
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock => {
                let _ = p.parse_nested_block(|p| -> Result<(), cssparser::ParseError<()>> {
                    skip_nested(p, scan, false);
                    Ok(())
                });
            }
            Token::CloseCurlyBracket => scan
                .problems
                .push((token_at, "`}` closes no block: a rule above may have lost its `{`".into())),
            _ => {}
        }
        match next(p, scan) {
            Some((next_at, next_token)) => (token_at, token) = (next_at, next_token),
            None => break,
        }
    }
    scan.problems.push((at, "a selector with no `{` block after it: the browser drops it".into()));
}

/// One item of a declaration list, as read so far.
#[derive(Default)]
struct Item {
    /// Where it starts.
    at: usize,
    /// The property name, when it starts with an identifier.
    name: Option<String>,
    /// Where the first token that is neither the name, whitespace nor a comment is, and what.
    after_name: Option<(usize, bool)>,
    /// Whether a `:` follows the name.
    colon: bool,
    /// Whether anything other than whitespace, comments and `!important` follows the `:`.
    value: bool,
    /// Whether it held a `{}` block (a nested rule): judged as a rule, not a declaration.
    nested: bool,
    /// Whether anything at all was read.
    started: bool,
}

/// Walks a block's declarations (and nested rules).
fn declaration_list(p: &mut Parser<'_>, scan: &mut CssScan, _top: bool) {
    let mut item = Item::default();
    while let Some((at, token)) = next(p, scan) {
        match token {
            Token::WhiteSpace(_) | Token::Comment(_) => continue,
            Token::Semicolon => {
                finish(scan, &item);
                item = Item::default();
                continue;
            }
            Token::CurlyBracketBlock => {
                // A nested rule (CSS nesting) or an at-rule's block: its own list.
                block(p, scan, at, "a nested block", declaration_list);
                item = Item::default();
                continue;
            }
            Token::Function(ref name) if name.eq_ignore_ascii_case("url") => {
                url_function(p, scan, at)
            }
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock => {
                let _ = p.parse_nested_block(|p| -> Result<(), cssparser::ParseError<()>> {
                    skip_nested(p, scan, false);
                    Ok(())
                });
            }
            _ => {}
        }
        if !item.started {
            item = Item { at, started: true, ..Item::default() };
            if let Token::Ident(name) = &token {
                item.name = Some(name.to_string());
                continue;
            }
            if let Token::AtKeyword(_) = &token {
                // A nested at-rule: its prelude runs to its block or `;`.
                item.nested = true;
            }
        }
        if item.name.is_some() && item.after_name.is_none() {
            item.colon = matches!(token, Token::Colon);
            item.after_name = Some((at, item.colon));
            continue;
        }
        if item.colon && !matches!(token, Token::Delim('!')) && !is_important(&token) {
            item.value = true;
        }
    }
    finish(scan, &item);
}

/// Returns true if and only if `token` is the `important` of `!important`.
fn is_important(token: &Token<'_>) -> bool {
    matches!(token, Token::Ident(word) if word.eq_ignore_ascii_case("important"))
}

/// Reports what is wrong with a finished declaration-list item, if anything.
fn finish(scan: &mut CssScan, item: &Item) {
    if !item.started || item.nested {
        return;
    }
    let message = match (&item.name, item.colon) {
        (None, _) => "not a declaration (it does not start with a property name): the browser \
                      drops it"
            .to_owned(),
        (Some(name), false) => {
            format!("the declaration `{name}` has no `:` after its name: the browser drops it")
        }
        (Some(name), true) if !item.value && !name.starts_with("--") => {
            format!("the declaration `{name}` has no value: the browser drops it")
        }
        _ => return,
    };
    scan.problems.push((item.at, message));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(css: &str) -> Vec<(usize, String)> {
        scan(css).problems
    }

    #[test]
    fn clean_css_has_no_problem() {
        for css in [
            "body { color: red; background: url(images/x.png) no-repeat; }",
            "@media (max-width: 10px) { a:hover { color: #fff !important } }",
            "@font-face { font-family: x; src: url('a.woff') }",
            "@import url(\"x.css\");\n/* comment */ a { --x: ; b: c }",
            ".a { &:hover { color: red } }",
            "@charset \"UTF-8\"; a{}",
        ] {
            assert_eq!(problems(css), [], "{css}");
        }
    }

    #[test]
    fn unbalanced_braces_are_found() {
        let css = "a { color: red; }\n}\nb { color: blue; }";
        assert_eq!(problems(css).len(), 1);
        assert_eq!(problems(css)[0].0, 18);
        let css = "a { color: red;\nb { color: blue; }";
        let found = problems(css);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.contains("never closed"), "{found:?}");
    }

    #[test]
    fn unterminated_strings_and_comments_are_found() {
        // The `}` is inside the string: the block runs on to the end, too.
        let found = problems("a { content: \"x; }\nb { c: d }");
        assert!(found.iter().any(|(at, m)| *at == 13 && m.contains("string")), "{found:?}");
        assert!(found.iter().any(|(at, m)| *at == 2 && m.contains("never closed")), "{found:?}");
        assert!(problems("a { c: d } /* b { c: d }")[0].1.contains("comment"));
        assert!(problems("a { content: 'x").iter().any(|(_, m)| m.contains("string")));
    }

    #[test]
    fn declarations_a_browser_drops_are_found() {
        for css in ["a { color red; }", "a { color: ; }", "a { *zoom: 1; }", "a {}; b {}"] {
            assert_eq!(problems(css).len(), 1, "{css}: {:?}", problems(css));
        }
    }

    #[test]
    fn urls_are_collected_quoted_or_not() {
        let found = scan("a { b: url(x.png) } c { d: url( \"y.gif\" ) }").urls;
        let targets: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(targets, ["x.png", "y.gif"]);
    }
}
