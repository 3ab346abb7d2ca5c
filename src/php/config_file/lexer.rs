//! The tokens of `inc/config.php`: PHP's two string literals, comments, names, numbers and
//! punctuation, with line numbers for messages.

use super::Problem;

/// One PHP token, as much of PHP's lexer as config files need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// `$name`, without the `$`.
    Variable(String),
    /// A string literal, escapes applied. `interpolates` is true for a double-quoted string in
    /// which PHP would substitute a variable (`$name`, `{$`, `${`): its value is not what is
    /// written, so it can only be refused.
    Str { value: String, interpolates: bool },
    /// A number literal, as written.
    Number(String),
    /// A name: `array`, `true`, `define`, ...
    Name(String),
    /// `=>`.
    DoubleArrow,
    /// Any other single punctuation character.
    Punct(char),
    /// `?>`, which ends a statement like `;` and ends the PHP code.
    CloseTag,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) line: usize,
}

/// 1-based line numbers for byte offsets.
pub(crate) struct Lines {
    pub(crate) starts: Vec<usize>,
}

impl Lines {
    fn new(source: &str) -> Lines {
        let starts =
            std::iter::once(0).chain(source.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Lines { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// True for the bytes PHP allows in a name (`[a-zA-Z0-9_\x80-\xff]`); `first` excludes digits.
/// Bytes of a multi-byte UTF-8 character are all >= 0x80, so a name never ends inside one.
pub(crate) fn is_name_byte(byte: u8, first: bool) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80 || (!first && byte.is_ascii_digit())
}

/// Splits PHP source into tokens, from `<?php` to the end or to `?>`.
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, Problem> {
    let lines = Lines::new(source);
    let bytes = source.as_bytes();
    let mut at = 0;

    // Only a BOM and whitespace may precede `<?php` (PHP would print anything else).
    if source.starts_with('\u{FEFF}') {
        at = '\u{FEFF}'.len_utf8();
    }
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    let opener = bytes.get(at..at + 5);
    let after_opener = bytes.get(at + 5);
    if !opener.is_some_and(|tag| tag.eq_ignore_ascii_case(b"<?php"))
        || after_opener.is_some_and(|byte| !byte.is_ascii_whitespace())
    {
        return Err(Problem::at(lines.line(at), "expected the file to start with `<?php`"));
    }
    at += 5;

    let mut tokens = Vec::new();
    loop {
        at = skip_blank(bytes, at, &lines)?;
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        let line = lines.line(at);
        let (kind, next) = match byte {
            b'?' if bytes.get(at + 1) == Some(&b'>') => {
                // After `?>` PHP prints the rest; a config file has nothing there but a newline.
                let rest = &source[at + 2..];
                if let Some(offset) = rest.find(|c: char| !c.is_ascii_whitespace()) {
                    return Err(Problem::at(
                        lines.line(at + 2 + offset),
                        "text after the closing `?>` is not understood",
                    ));
                }
                tokens.push(Token { kind: TokenKind::CloseTag, line });
                break;
            }
            b'$' => {
                let end = name_end(bytes, at + 1);
                if end == at + 1 {
                    (TokenKind::Punct('$'), at + 1)
                } else {
                    (TokenKind::Variable(source[at + 1..end].to_owned()), end)
                }
            }
            b'\'' => single_quoted(source, at, &lines)?,
            b'"' => double_quoted(source, at, &lines)?,
            b'0'..=b'9' => {
                let end = at
                    + bytes[at..]
                        .iter()
                        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
                        .unwrap_or(bytes.len() - at);
                (TokenKind::Number(source[at..end].to_owned()), end)
            }
            b if is_name_byte(b, true) => {
                let end = name_end(bytes, at);
                (TokenKind::Name(source[at..end].to_owned()), end)
            }
            b'<' if bytes[at..].starts_with(b"<<<") => {
                return Err(Problem::at(line, "heredoc/nowdoc strings (`<<<`) are not understood"));
            }
            b'`' => {
                return Err(Problem::at(
                    line,
                    "backtick (shell command) strings are not understood",
                ));
            }
            b'=' if bytes.get(at + 1) == Some(&b'>') => (TokenKind::DoubleArrow, at + 2),
            b if b.is_ascii_punctuation() => (TokenKind::Punct(char::from(b)), at + 1),
            _ => {
                return Err(Problem::at(line, "unexpected control character"));
            }
        };
        tokens.push(Token { kind, line });
        at = next;
    }
    Ok(tokens)
}

/// Returns the offset just past the PHP name starting at `at` (`at` itself if there is none).
pub(crate) fn name_end(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(&first) if is_name_byte(first, true) => {
            at + 1
                + bytes[at + 1..]
                    .iter()
                    .position(|&b| !is_name_byte(b, false))
                    .unwrap_or(bytes.len() - at - 1)
        }
        _ => at,
    }
}

/// Skips whitespace and comments; returns the offset of the next token (or the end).
pub(crate) fn skip_blank(bytes: &[u8], mut at: usize, lines: &Lines) -> Result<usize, Problem> {
    loop {
        match (bytes.get(at), bytes.get(at + 1)) {
            (Some(byte), _) if byte.is_ascii_whitespace() => at += 1,
            (Some(b'#'), Some(b'[')) => {
                return Err(Problem::at(
                    lines.line(at),
                    "PHP attributes (`#[`) are not understood",
                ));
            }
            (Some(b'#'), _) => at = line_comment_end(bytes, at + 1),
            (Some(b'/'), Some(b'/')) => at = line_comment_end(bytes, at + 2),
            (Some(b'/'), Some(b'*')) => {
                let Some(length) = bytes[at + 2..].windows(2).position(|pair| pair == b"*/") else {
                    return Err(Problem::at(lines.line(at), "`/*` comment is never closed"));
                };
                at += 2 + length + 2;
            }
            _ => return Ok(at),
        }
    }
}

/// PHP ends a `//` or `#` comment at a line break or just before `?>`.
pub(crate) fn line_comment_end(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&byte) = bytes.get(at) {
        if byte == b'\n' || byte == b'\r' || bytes[at..].starts_with(b"?>") {
            break;
        }
        at += 1;
    }
    at
}

/// Reads the single-quoted string starting at `start`: `\\` is `\`, `\'` is `'`, and every
/// other backslash is itself.
pub(crate) fn single_quoted(
    source: &str,
    start: usize,
    lines: &Lines,
) -> Result<(TokenKind, usize), Problem> {
    let bytes = source.as_bytes();
    let mut value = String::new();
    let mut at = start + 1;
    let mut run = at;
    loop {
        match bytes.get(at) {
            None => {
                return Err(Problem::at(lines.line(start), "single-quoted string is never closed"));
            }
            Some(b'\'') => {
                value.push_str(&source[run..at]);
                return Ok((TokenKind::Str { value, interpolates: false }, at + 1));
            }
            Some(b'\\') if matches!(bytes.get(at + 1), Some(b'\\' | b'\'')) => {
                value.push_str(&source[run..at]);
                at += 1;
                run = at;
                at += 1;
            }
            Some(_) => at += 1,
        }
    }
}

/// Reads the double-quoted string starting at `start`, applying PHP's escapes (`\n \t \r \v \e
/// \f \\ \$ \"`, octal `\0`-`\377`, hex `\x`, `\u{...}`; any other backslash is itself) and
/// noting whether PHP would interpolate a variable into it.
pub(crate) fn double_quoted(
    source: &str,
    start: usize,
    lines: &Lines,
) -> Result<(TokenKind, usize), Problem> {
    let bytes = source.as_bytes();
    let line = lines.line(start);
    // Octal and hex escapes make arbitrary bytes, so collect bytes and check UTF-8 at the end.
    let mut value: Vec<u8> = Vec::new();
    let mut interpolates = false;
    let mut at = start + 1;
    loop {
        let Some(&byte) = bytes.get(at) else {
            return Err(Problem::at(line, "double-quoted string is never closed"));
        };
        match byte {
            b'"' => break,
            b'$' if bytes.get(at + 1).is_some_and(|&b| is_name_byte(b, true) || b == b'{') => {
                interpolates = true;
                value.push(byte);
                at += 1;
            }
            b'{' if bytes.get(at + 1) == Some(&b'$') => {
                interpolates = true;
                value.push(byte);
                at += 1;
            }
            b'\\' => {
                let Some(&escaped) = bytes.get(at + 1) else {
                    return Err(Problem::at(line, "double-quoted string is never closed"));
                };
                at += 2;
                match escaped {
                    b'n' => value.push(b'\n'),
                    b't' => value.push(b'\t'),
                    b'r' => value.push(b'\r'),
                    b'v' => value.push(0x0B),
                    b'e' => value.push(0x1B),
                    b'f' => value.push(0x0C),
                    b'\\' | b'$' | b'"' => value.push(escaped),
                    b'0'..=b'7' => {
                        let mut code = u32::from(escaped - b'0');
                        for _ in 0..2 {
                            match bytes.get(at) {
                                Some(&digit @ b'0'..=b'7') => {
                                    code = code * 8 + u32::from(digit - b'0');
                                    at += 1;
                                }
                                _ => break,
                            }
                        }
                        // PHP keeps the low byte of `\400`-`\777` (with a warning).
                        value.push((code & 0xFF) as u8);
                    }
                    b'x' if bytes.get(at).is_some_and(u8::is_ascii_hexdigit) => {
                        let digits = bytes[at..]
                            .iter()
                            .take(2)
                            .take_while(|b| b.is_ascii_hexdigit())
                            .count();
                        let code = u8::from_str_radix(&source[at..at + digits], 16)
                            .map_err(|_| Problem::at(line, "invalid `\\x` escape"))?;
                        value.push(code);
                        at += digits;
                    }
                    b'u' if bytes.get(at) == Some(&b'{') => {
                        let Some(length) = bytes[at + 1..].iter().position(|&b| b == b'}') else {
                            return Err(Problem::at(line, "`\\u{` escape is never closed"));
                        };
                        let digits = &source[at + 1..at + 1 + length];
                        let decoded = u32::from_str_radix(digits, 16)
                            .ok()
                            .filter(|_| !digits.is_empty() && !digits.starts_with('+'))
                            .and_then(char::from_u32)
                            .ok_or_else(|| Problem::at(line, "invalid `\\u{...}` escape"))?;
                        let mut buffer = [0; 4];
                        value.extend_from_slice(decoded.encode_utf8(&mut buffer).as_bytes());
                        at += 1 + length + 1;
                    }
                    other => value.extend_from_slice(&[b'\\', other]),
                }
            }
            _ => {
                value.push(byte);
                at += 1;
            }
        }
    }
    let value = String::from_utf8(value)
        .map_err(|_| Problem::at(line, "string escapes make bytes that are not UTF-8"))?;
    Ok((TokenKind::Str { value, interpolates }, at + 1))
}

/// Says what a token is without quoting it: the token might be (part of) a password.
pub(crate) fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Variable(name) => format!("the variable `${name}`"),
        TokenKind::Str { .. } => "a string".to_owned(),
        TokenKind::Number(_) => "a number".to_owned(),
        TokenKind::Name(_) => "a bare name".to_owned(),
        TokenKind::DoubleArrow => "`=>`".to_owned(),
        TokenKind::Punct(c) => format!("`{c}`"),
        TokenKind::CloseTag => "`?>`".to_owned(),
    }
}
