//! The statements of `inc/config.php`, evaluated as far as MyBB's installer writes them: what
//! they assign under `$config['database']`, in PHP's array order.

use std::fmt;

use super::Problem;
use super::lexer::{Token, TokenKind, describe};

/// A PHP array key. PHP turns a string key that is a canonical decimal integer into that
/// integer (`['0']` is `[0]`), and so does [`Key::from_php_string`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    Str(String),
    Int(i64),
}

impl Key {
    pub(super) fn from_php_string(text: String) -> Key {
        match crate::php::text::array_key_int(&text) {
            Some(number) => Key::Int(number),
            None => Key::Str(text),
        }
    }

    pub(super) fn is(&self, name: &str) -> bool {
        matches!(self, Key::Str(key) if key == name)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(key) => write!(f, "['{key}']"),
            Key::Int(key) => write!(f, "[{key}]"),
        }
    }
}

/// `$config` followed by `keys`, as written in messages.
pub(super) fn config_path(keys: &[Key]) -> String {
    let mut path = "$config".to_owned();
    for key in keys {
        path.push_str(&key.to_string());
    }
    path
}

/// A literal value assigned under `$config['database']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scalar {
    Str(String),
    /// A decimal integer, as written (PHP turns it into this text when a string is needed).
    Int(String),
    Bool(bool),
    Null,
}

/// `$config['database']` and what is below it, in PHP's array order (insertion order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Leaf { value: Scalar, line: usize },
    Array { entries: Vec<(Key, Node)>, line: usize },
}

impl Node {
    pub(super) fn line(&self) -> usize {
        match self {
            Node::Leaf { line, .. } | Node::Array { line, .. } => *line,
        }
    }
}

pub(super) fn get<'a>(entries: &'a [(Key, Node)], name: &str) -> Option<&'a Node> {
    entries.iter().find(|(key, _)| key.is(name)).map(|(_, node)| node)
}

/// Runs the statements and returns what they assign to `$config['database']`.
pub(super) fn evaluate(tokens: &[Token]) -> Result<Option<Node>, Problem> {
    let mut database: Option<Node> = None;
    let mut at = 0;
    while let Some(token) = tokens.get(at) {
        match &token.kind {
            TokenKind::Punct(';') | TokenKind::CloseTag => at += 1,
            TokenKind::Variable(name) if name == "config" => {
                let (keys, value, next) = assignment(tokens, at)?;
                if keys.first().is_some_and(|key| key.is("database")) {
                    let scalar = database_value(&keys, value, token.line)?;
                    assign(&mut database, &keys, 1, scalar, token.line)?;
                }
                at = next;
            }
            other => {
                return Err(Problem::at(
                    token.line,
                    format!(
                        "only `$config[...] = value;` statements are understood here, found {}",
                        describe(other)
                    ),
                ));
            }
        }
    }
    Ok(database)
}

/// Reads `$config[key]... = value ;` starting at the `$config` token; returns the keys, the
/// value's tokens and the index after the statement.
pub(super) fn assignment(
    tokens: &[Token],
    start: usize,
) -> Result<(Vec<Key>, &[Token], usize), Problem> {
    let line = tokens[start].line;
    let mut at = start + 1;
    let mut keys = Vec::new();
    while let Some(Token { kind: TokenKind::Punct('['), line }) = tokens.get(at) {
        let key = match tokens.get(at + 1).map(|token| &token.kind) {
            Some(TokenKind::Str { value, interpolates: false }) => {
                Key::from_php_string(value.clone())
            }
            Some(TokenKind::Number(digits)) => decimal(digits).map(Key::Int).ok_or_else(|| {
                Problem::at(*line, "only decimal integers are understood as array keys")
            })?,
            Some(TokenKind::Punct(']')) => {
                return Err(Problem::at(
                    *line,
                    format!("`{}[]` (append) is not understood", config_path(&keys)),
                ));
            }
            _ => {
                return Err(Problem::at(
                    *line,
                    format!(
                        "array key after `{}` is not understood: only quoted strings and \
                         integers are",
                        config_path(&keys)
                    ),
                ));
            }
        };
        if !matches!(tokens.get(at + 2).map(|token| &token.kind), Some(TokenKind::Punct(']'))) {
            return Err(Problem::at(*line, format!("expected `]` after `{}`", config_path(&keys))));
        }
        keys.push(key);
        at += 3;
    }
    if keys.is_empty() {
        return Err(Problem::at(
            line,
            "only assignments to `$config[...]` are understood, not to `$config` itself",
        ));
    }
    if !matches!(tokens.get(at).map(|token| &token.kind), Some(TokenKind::Punct('='))) {
        return Err(Problem::at(
            line,
            format!(
                "expected `=` after `{}`: only plain assignments are understood",
                config_path(&keys)
            ),
        ));
    }
    at += 1;

    // The value runs to the `;` (or `?>`) outside any brackets.
    let value_start = at;
    let mut depth: usize = 0;
    loop {
        let Some(token) = tokens.get(at) else {
            return Err(Problem::at(
                line,
                format!("`{} = ...` has no closing `;`", config_path(&keys)),
            ));
        };
        // A complete operand directly followed by another (a variable, a string, a number) is a
        // PHP syntax error, nearly always a missing `;`. Catching it matters: the next
        // statement, possibly a database setting, would otherwise vanish into this value.
        if matches!(
            token.kind,
            TokenKind::Variable(_) | TokenKind::Str { .. } | TokenKind::Number(_)
        ) && at > value_start
            && ends_operand(&tokens[value_start..at])
        {
            let previous = &tokens[at - 1];
            return Err(Problem::at(
                previous.line,
                format!(
                    "expected `;` after the value of `{}`, found {} on line {}",
                    config_path(&keys),
                    describe(&token.kind),
                    token.line
                ),
            ));
        }
        match token.kind {
            TokenKind::Punct('(' | '[' | '{') => depth += 1,
            TokenKind::Punct(')' | ']' | '}') => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    Problem::at(token.line, "closing bracket without an opening one")
                })?;
            }
            TokenKind::Punct(';') | TokenKind::CloseTag if depth == 0 => break,
            TokenKind::CloseTag => {
                return Err(Problem::at(token.line, "`?>` inside an unclosed bracket"));
            }
            _ => {}
        }
        at += 1;
    }
    Ok((keys, &tokens[value_start..at], at + 1))
}

/// True if the tokens end with a complete operand (a literal, a variable, an index or a call),
/// after which PHP allows no variable, string or number. `(int)` and the other casts end in `)` too, but are
/// followed by their operand.
pub(super) fn ends_operand(tokens: &[Token]) -> bool {
    match tokens {
        [.., open, cast, close]
            if open.kind == TokenKind::Punct('(')
                && matches!(cast.kind, TokenKind::Name(_))
                && close.kind == TokenKind::Punct(')') =>
        {
            false
        }
        [.., last] => matches!(
            last.kind,
            TokenKind::Str { .. }
                | TokenKind::Number(_)
                | TokenKind::Variable(_)
                | TokenKind::Punct(']' | ')')
        ),
        [] => false,
    }
}

/// Returns `digits` as an integer if it is a plain decimal literal (`0` or no leading zero: PHP
/// reads `0123` as octal).
pub(super) fn decimal(digits: &str) -> Option<i64> {
    // The literal has no sign of its own; otherwise this is PHP's integer-key rule.
    if digits.starts_with('-') { None } else { crate::php::text::array_key_int(digits) }
}

/// Turns the value tokens of an assignment under `$config['database']` into a literal, or
/// refuses them.
pub(super) fn database_value(
    keys: &[Key],
    value: &[Token],
    line: usize,
) -> Result<Scalar, Problem> {
    let path = config_path(keys);
    match value {
        [token] => match &token.kind {
            TokenKind::Str { value, interpolates: false } => Ok(Scalar::Str(value.clone())),
            TokenKind::Str { interpolates: true, .. } => Err(Problem::at(
                token.line,
                format!(
                    "`{path}` is a double-quoted string with a `$` variable in it, which PHP \
                     replaces with the variable's value; write the value in single quotes, or \
                     escape the `$` as `\\$`"
                ),
            )),
            TokenKind::Number(digits) => match decimal(digits) {
                Some(_) => Ok(Scalar::Int(digits.clone())),
                None => Err(Problem::at(
                    token.line,
                    format!("`{path}`: only plain decimal numbers are understood"),
                )),
            },
            TokenKind::Name(name) if name.eq_ignore_ascii_case("true") => Ok(Scalar::Bool(true)),
            TokenKind::Name(name) if name.eq_ignore_ascii_case("false") => Ok(Scalar::Bool(false)),
            TokenKind::Name(name) if name.eq_ignore_ascii_case("null") => Ok(Scalar::Null),
            _ => Err(not_a_literal(&path, token.line)),
        },
        [first, ..]
            if matches!(&first.kind, TokenKind::Name(name) if name.eq_ignore_ascii_case("array"))
                || first.kind == TokenKind::Punct('[') =>
        {
            Err(Problem::at(
                first.line,
                format!(
                    "`{path}` is set with an array, which is not understood: write one \
                     `$config['database']['KEY'] = value;` line per setting"
                ),
            ))
        }
        [first, ..] => Err(not_a_literal(&path, first.line)),
        [] => Err(Problem::at(line, format!("`{path} =` has no value"))),
    }
}

pub(super) fn not_a_literal(path: &str, line: usize) -> Problem {
    Problem::at(
        line,
        format!(
            "`{path}` is not set to a plain quoted string or number, so its value cannot be \
             known without running PHP"
        ),
    )
}

/// Stores `value` at `keys[depth..]` below `node`, as PHP's nested assignment does: missing
/// arrays are created, and a later assignment replaces an earlier one in place.
pub(super) fn assign(
    node: &mut Option<Node>,
    keys: &[Key],
    depth: usize,
    value: Scalar,
    line: usize,
) -> Result<(), Problem> {
    if depth == keys.len() {
        *node = Some(Node::Leaf { value, line });
        return Ok(());
    }
    // PHP turns an unset, null or false value into an array when it is indexed.
    if matches!(node, None | Some(Node::Leaf { value: Scalar::Null | Scalar::Bool(false), .. })) {
        *node = Some(Node::Array { entries: Vec::new(), line });
    }
    match node {
        Some(Node::Array { entries, .. }) => {
            let key = &keys[depth];
            let index = match entries.iter().position(|(existing, _)| existing == key) {
                Some(index) => index,
                None => {
                    entries.push((key.clone(), Node::Array { entries: Vec::new(), line }));
                    entries.len() - 1
                }
            };
            let mut child = Some(entries[index].1.clone());
            assign(&mut child, keys, depth + 1, value, line)?;
            if let Some(child) = child {
                entries[index].1 = child;
            }
            Ok(())
        }
        Some(Node::Leaf { line: set_on, .. }) => Err(Problem::at(
            line,
            format!(
                "`{}` was set to a single value on line {set_on}, so PHP cannot set `{}`",
                config_path(&keys[..depth]),
                config_path(keys)
            ),
        )),
        None => Ok(()),
    }
}
