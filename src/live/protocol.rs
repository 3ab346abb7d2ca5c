//! The LiveReload protocol 7 messages: what a browser may send (`hello`, `info`) and what the
//! server sends (`hello`, `reload`), as JSON text frames.
//!
//! The protocol (<http://livereload.com/protocols/official-7>) is tiny: the browser opens a
//! WebSocket at `/livereload` and sends `{"command":"hello","protocols":[...]}`; the server
//! answers with its own `hello` naming the protocol it picked, then sends
//! `{"command":"reload","path":...,"liveCSS":true}` whenever something changed. `info` messages
//! (the plugins a client has) need no answer. Browsers never send anything that makes the server
//! act, so incoming JSON is only read for those two commands; everything else closes the
//! connection. The JSON reader here is a small, bounded one: a dependency for two fields of
//! untrusted input would be more code to trust, not less.

/// The protocol mybb-sync speaks, as its `hello` names it.
pub const PROTOCOL_7: &str = "http://livereload.com/protocols/official-7";

/// What a browser's message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// `hello`: true if and only if the client offered protocol 7.
    Hello { speaks_7: bool },
    /// `info`: what the client has; nothing to answer.
    Info,
}

/// Why a browser's message was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUnderstood(pub String);

/// Returns the server's `hello`, sent in answer to the client's.
pub fn server_hello() -> String {
    format!(r#"{{"command":"hello","protocols":["{PROTOCOL_7}"],"serverName":"mybb-sync"}}"#)
}

/// Returns a `reload` command for `path`. With `live_css`, a browser swaps the stylesheet whose
/// URL ends with `path` in place; without it (or for a path that is not a stylesheet) it reloads
/// the page.
pub fn reload(path: &str, live_css: bool) -> String {
    format!(r#"{{"command":"reload","path":{},"liveCSS":{live_css}}}"#, json_string(path))
}

/// Parses a message a browser sent.
pub fn parse_client(text: &str) -> Result<ClientMessage, NotUnderstood> {
    let value = Reader { text: text.as_bytes(), at: 0 }
        .document()
        .map_err(|why| NotUnderstood(format!("not JSON: {why}")))?;
    let Value::Object(fields) = value else {
        return Err(NotUnderstood("not a JSON object".to_owned()));
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    match field("command") {
        Some(Value::String(c)) if c == "hello" => {
            let speaks_7 = matches!(field("protocols"), Some(Value::Array(list))
                if list.iter().any(|p| matches!(p, Value::String(s) if s == PROTOCOL_7)));
            Ok(ClientMessage::Hello { speaks_7 })
        }
        Some(Value::String(c)) if c == "info" => Ok(ClientMessage::Info),
        Some(Value::String(c)) => Err(NotUnderstood(format!("a client may not send {c:?}"))),
        _ => Err(NotUnderstood("no command".to_owned())),
    }
}

/// Returns `text` as a JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` too, so that the text is also safe inside an HTML <script>.
            c if (c as u32) < 0x20 || c == '<' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A parsed JSON value; numbers are kept only as "a number".
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// How deeply arrays and objects may nest: a hello has depth 2; a deeper message is garbage,
/// and the limit keeps a hostile one from exhausting the stack.
const MAX_DEPTH: usize = 16;

/// A recursive-descent JSON reader (RFC 8259) over the bytes of one message.
struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn document(mut self) -> Result<Value, String> {
        let value = self.value(0)?;
        self.skip_space();
        if self.at != self.text.len() {
            return Err(format!("unexpected text at byte {}", self.at));
        }
        Ok(value)
    }

    fn skip_space(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", byte as char, self.at))
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(format!("unexpected text at byte {}", self.at))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".to_owned());
        }
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Value::Object(fields));
                }
                loop {
                    let key = self.string()?;
                    self.expect(b':')?;
                    fields.push((key, self.value(depth + 1)?));
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        _ => break,
                    }
                }
                self.expect(b'}')?;
                Ok(Value::Object(fields))
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        _ => break,
                    }
                }
                self.expect(b']')?;
                Ok(Value::Array(items))
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool),
            Some(b'f') => self.literal("false", Value::Bool),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(format!("unexpected text at byte {}", self.at)),
            None => Err("unexpected end".to_owned()),
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.at;
        while matches!(self.text.get(self.at), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
        match digits.parse::<f64>() {
            Ok(n) if n.is_finite() && !digits.starts_with('+') && !digits.starts_with('.') => {
                Ok(Value::Number)
            }
            _ => Err(format!("bad number at byte {start}")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while let Some(&b) = self.text.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The message came from a text frame, which tungstenite checked is UTF-8, and a
            // run between ASCII delimiters stays valid.
            out.push_str(std::str::from_utf8(&self.text[start..self.at]).map_err(|_| "not UTF-8")?);
            match self.text.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escape = self.text.get(self.at).copied().ok_or("unexpected end")?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&high) {
                                if !self.text[self.at..].starts_with(b"\\u") {
                                    return Err("lone surrogate".to_owned());
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err("lone surrogate".to_owned());
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            out.push(char::from_u32(c).ok_or("lone surrogate")?);
                        }
                        _ => return Err(format!("bad escape at byte {}", self.at - 1)),
                    }
                }
                Some(_) => return Err(format!("control character at byte {}", self.at)),
                None => return Err("unterminated string".to_owned()),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.text.get(self.at..self.at + 4).ok_or("unexpected end")?;
        let digits = std::str::from_utf8(digits).map_err(|_| "bad \\u escape")?;
        let n = u32::from_str_radix(digits, 16).map_err(|_| "bad \\u escape")?;
        self.at += 4;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_offering_protocol_7_is_recognised_as_livereload_js_sends_it() {
        let hello = r#"{"command":"hello","protocols":["http://livereload.com/protocols/official-7",
            "http://livereload.com/protocols/2.x-origin-version-negotiation"],"ver":"4.0.2"}"#;
        assert_eq!(parse_client(hello), Ok(ClientMessage::Hello { speaks_7: true }));
        // Escaped slashes are the same string.
        let escaped = r#"{"protocols":["http:\/\/livereload.com\/protocols\/official-7"],
            "command":"hello"}"#;
        assert_eq!(parse_client(escaped), Ok(ClientMessage::Hello { speaks_7: true }));
        let old =
            r#"{"command":"hello","protocols":["http://livereload.com/protocols/official-6"]}"#;
        assert_eq!(parse_client(old), Ok(ClientMessage::Hello { speaks_7: false }));
        let info =
            r#"{"command":"info","plugins":{"less":{"disable":false,"version":"1.0"}},"url":"x"}"#;
        assert_eq!(parse_client(info), Ok(ClientMessage::Info));
    }

    #[test]
    fn commands_a_client_may_not_send_and_garbage_are_not_understood() {
        for text in [
            r#"{"command":"reload","path":"x.css"}"#,
            r#"{"path":"x.css"}"#,
            r#"["hello"]"#,
            "hello",
            r#"{"command":"hello""#,
            r#"{"command":"hello"} trailing"#,
            r#"{"command":"\ud800"}"#,
            &"[".repeat(10_000),
        ] {
            assert!(parse_client(text).is_err(), "{text:.40}");
        }
    }

    #[test]
    fn outgoing_messages_are_json_with_every_string_escaped() {
        assert_eq!(
            reload("cache/themes/theme3/global.css", true),
            r#"{"command":"reload","path":"cache/themes/theme3/global.css","liveCSS":true}"#
        );
        assert_eq!(json_string("a\"b\\c\n</script>"), r#""a\"b\\c\n\u003c/script>""#);
        let hello = server_hello();
        assert!(hello.contains(PROTOCOL_7), "{hello}");
        // What we send parses back as what it says.
        let round = Reader { text: reload("a\"\u{1F600}", false).as_bytes(), at: 0 }.document();
        let Ok(Value::Object(fields)) = round else { panic!("{round:?}") };
        assert_eq!(fields[1], ("path".to_owned(), Value::String("a\"\u{1F600}".to_owned())));
    }
}
