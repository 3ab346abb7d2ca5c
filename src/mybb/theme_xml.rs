//! Reads a MyBB theme file (the XML that the Admin CP's "Export Theme" writes and "Import a Theme"
//! reads) into a [`ThemeXml`], safely: a theme file is input from strangers.
//!
//! What comes out is what MyBB's own reader (`MyBBXMLParser::get_tree()` in
//! inc/class_xmlparser.php, PHP's expat-based `xml_parse_into_struct` with whitespace kept and
//! case folding off) gives `import_theme_xml()`: an element's value is all of its direct character
//! data joined, CDATA sections byte for byte (MyBB keeps their `\r\n`), other text with line ends
//! normalised to `\n` as XML requires, attribute values with tabs and line ends turned into spaces.
//! Where MyBB's reader would be dangerous we refuse instead: any `<!DOCTYPE` (so no DTD, no
//! external entity, no entity expansion bomb), any entity other than the five predefined ones and
//! numeric character references, a file over [`MAX_BYTES`], invalid UTF-8 (with its byte offset),
//! nesting deeper than [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements and more than
//! [`MAX_ATTRIBUTES`] attributes on one element, so that memory stays a small multiple of the
//! file's size and time stays proportional to it (issue 26: every check here is linear).

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// The largest theme file read, in bytes. MyBB's master theme file is about 620 KB; 32 MiB leaves
/// room for any real theme (every template at the 64 KiB column limit is not a real theme).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// The deepest element nesting accepted. A theme file nests four levels.
pub const MAX_DEPTH: usize = 32;

/// The most elements accepted. MyBB's master theme file has about a thousand.
pub const MAX_ELEMENTS: usize = 200_000;

/// The most attributes accepted on one element. A theme file's elements carry at most five
/// (`<stylesheet name attachedto version disporder lastmodified>`). The cap keeps the duplicate
/// check (each attribute against those before it, as XML requires) linear in the file's size:
/// 80,000 attributes on one element took 11 s of CPU without it (issue 26).
pub const MAX_ATTRIBUTES: usize = 32;

/// A theme file's content, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeXml {
    /// The `<theme name="...">` attribute (empty when absent).
    pub name: String,
    /// The `<theme version="...">` attribute: the exporting board's version code, e.g. `1837`
    /// (empty when absent).
    pub version: String,
    /// Each child of `<properties>`: tag name and value (empty when the element has no text).
    /// Array properties (`disporder`, `colors`) are still PHP-serialized strings here.
    pub properties: Vec<(String, String)>,
    /// The `<stylesheet>` children of `<stylesheets>`.
    pub stylesheets: Vec<XmlStylesheet>,
    /// The `<template>` children of `<templates>`.
    pub templates: Vec<XmlTemplate>,
}

/// One `<stylesheet>` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlStylesheet {
    /// The `name` attribute as written (not yet cut to 30 characters nor checked for `.css`).
    pub name: String,
    /// The `attachedto` attribute, e.g. `usercp.php|private.php`; `None` when absent (global).
    pub attachedto: Option<String>,
    /// The `version` attribute.
    pub version: Option<String>,
    /// The `disporder` attribute (MyBB's master file has it; Admin CP exports do not).
    pub disporder: Option<String>,
    /// The `lastmodified` attribute (rare; MyBB uses it when present).
    pub lastmodified: Option<String>,
    /// The element's character data: for an Admin CP export this ends in the `\n\t\t` that stands
    /// before `</stylesheet>`, exactly as MyBB's reader hands it on.
    pub content: String,
}

/// One `<template>` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlTemplate {
    /// The `name` attribute: the template's title.
    pub name: String,
    /// The `version` attribute (empty when absent).
    pub version: String,
    /// The template's text.
    pub content: String,
}

/// Why a file could not be read as a theme. Each reads as a sentence naming the place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeXmlError {
    /// The file is larger than [`MAX_BYTES`].
    TooLarge { size: usize, limit: usize },
    /// The bytes are not UTF-8; `offset` is that of the first bad byte.
    InvalidUtf8 { offset: usize },
    /// The XML declaration names an encoding other than UTF-8 and the file is not plain ASCII.
    UnsupportedEncoding { encoding: String },
    /// A `<!DOCTYPE`: DTDs are refused outright (external entities, entity bombs).
    Doctype { offset: usize },
    /// An entity reference other than the five predefined ones or a character reference.
    UndefinedEntity { name: String, offset: usize },
    /// A character reference naming no character XML allows.
    BadCharRef { reference: String, offset: usize },
    /// Elements nested deeper than [`MAX_DEPTH`].
    TooDeep { offset: usize },
    /// More than [`MAX_ELEMENTS`] elements.
    TooManyElements,
    /// More than [`MAX_ATTRIBUTES`] attributes on the element `element` at byte `offset`.
    TooManyAttributes { element: String, offset: usize },
    /// Not well-formed XML.
    Malformed { offset: usize, message: String },
    /// Well-formed, but the root element is not `<theme>` (MyBB's import returns -1).
    NotATheme { root: String },
}

impl fmt::Display for ThemeXmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => write!(
                f,
                "the theme file is {size} bytes, more than the {} MiB a theme file may have",
                limit / (1024 * 1024)
            ),
            Self::InvalidUtf8 { offset } => {
                write!(f, "the theme file is not valid UTF-8 (first bad byte at offset {offset})")
            }
            Self::UnsupportedEncoding { encoding } => write!(
                f,
                "the theme file declares the encoding {encoding:?}; only UTF-8 theme files are read"
            ),
            Self::Doctype { offset } => write!(
                f,
                "the theme file has a <!DOCTYPE> at byte {offset}; theme files with a DTD are \
                 refused (a DTD can read local files or expand entities without bound)"
            ),
            Self::UndefinedEntity { name, offset } => write!(
                f,
                "the theme file refers to the entity &{name}; at byte {offset}, which is not one \
                 of XML's predefined entities"
            ),
            Self::BadCharRef { reference, offset } => write!(
                f,
                "the theme file has the character reference &{reference}; at byte {offset}, \
                 which names no character XML allows"
            ),
            Self::TooDeep { offset } => write!(
                f,
                "the theme file nests elements more than {MAX_DEPTH} deep (at byte {offset})"
            ),
            Self::TooManyElements => {
                write!(f, "the theme file has more than {MAX_ELEMENTS} elements")
            }
            Self::TooManyAttributes { element, offset } => write!(
                f,
                "the element <{element}> at byte {offset} of the theme file has more than \
                 {MAX_ATTRIBUTES} attributes; a theme file's elements have at most five"
            ),
            Self::Malformed { offset, message } => {
                write!(f, "the theme file is not well-formed XML at byte {offset}: {message}")
            }
            Self::NotATheme { root } => {
                write!(
                    f,
                    "the file's root element is <{root}>, not <theme>: it is not a MyBB theme"
                )
            }
        }
    }
}

impl std::error::Error for ThemeXmlError {}

/// Reads a theme file. Returns an error, and reads nothing further, at the first thing that makes
/// the file unsafe or not a theme.
pub fn parse(bytes: &[u8]) -> Result<ThemeXml, ThemeXmlError> {
    let root = parse_tree(bytes)?;
    if root.name != "theme" {
        return Err(ThemeXmlError::NotATheme { root: root.name });
    }
    Ok(interpret(root))
}

/// One element as MyBB's reader sees it: attributes in order, its direct character data joined,
/// its child elements in order.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    value: String,
    children: Vec<Element>,
}

impl Element {
    /// The value of the attribute `name`, if present.
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The only child called `name`. MyBB's reader turns a repeated child into a list, under which
    /// `import_theme_xml()` finds nothing, so a repeated one counts as absent too.
    fn only_child(&self, name: &str) -> Option<&Element> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

/// Turns the `<theme>` element into a [`ThemeXml`].
fn interpret(root: Element) -> ThemeXml {
    let mut theme = ThemeXml {
        name: root.attribute("name").unwrap_or_default().to_owned(),
        version: root.attribute("version").unwrap_or_default().to_owned(),
        ..ThemeXml::default()
    };
    if let Some(properties) = root.only_child("properties") {
        theme.properties =
            properties.children.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
    }
    if let Some(stylesheets) = root.only_child("stylesheets") {
        let owned = |e: &Element, a: &str| e.attribute(a).map(str::to_owned);
        theme.stylesheets = stylesheets
            .children
            .iter()
            .filter(|c| c.name == "stylesheet")
            .map(|s| XmlStylesheet {
                name: s.attribute("name").unwrap_or_default().to_owned(),
                attachedto: owned(s, "attachedto"),
                version: owned(s, "version"),
                disporder: owned(s, "disporder"),
                lastmodified: owned(s, "lastmodified"),
                content: s.value.clone(),
            })
            .collect();
    }
    if let Some(templates) = root.only_child("templates") {
        theme.templates = templates
            .children
            .iter()
            .filter(|c| c.name == "template")
            .map(|t| XmlTemplate {
                name: t.attribute("name").unwrap_or_default().to_owned(),
                version: t.attribute("version").unwrap_or_default().to_owned(),
                content: t.value.clone(),
            })
            .collect();
    }
    theme
}

/// Reads theme file `path`, or refuses it once it is larger than [`MAX_BYTES`]: never more than
/// that is read, whatever the file is (`/dev/zero`, a pipe, a file growing meanwhile).
pub fn read_file(path: &std::path::Path) -> crate::error::Result<Result<Vec<u8>, ThemeXmlError>> {
    use std::io::Read as _;
    let file = fs_err::File::open(path)?;
    let known = file.metadata()?.len();
    if known > MAX_BYTES as u64 {
        let size = usize::try_from(known).unwrap_or(usize::MAX);
        return Ok(Err(ThemeXmlError::TooLarge { size, limit: MAX_BYTES }));
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_BYTES {
        return Ok(Err(ThemeXmlError::TooLarge { size: bytes.len(), limit: MAX_BYTES }));
    }
    Ok(Ok(bytes))
}

/// Checks size, encoding and UTF-8, then reads the document's root element and everything in it.
fn parse_tree(bytes: &[u8]) -> Result<Element, ThemeXmlError> {
    if bytes.len() > MAX_BYTES {
        return Err(ThemeXmlError::TooLarge { size: bytes.len(), limit: MAX_BYTES });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ThemeXmlError::InvalidUtf8 { offset: e.valid_up_to() })?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let text = &text[bom..];
    let at = |pos: u64| usize::try_from(pos).unwrap_or(usize::MAX).saturating_add(bom);

    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let position = at(reader.buffer_position());
        let event = reader.read_event().map_err(|e| ThemeXmlError::Malformed {
            offset: at(reader.error_position()),
            message: e.to_string(),
        })?;
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).into_owned();
                    let utf8 = encoding.eq_ignore_ascii_case("utf-8")
                        || encoding.eq_ignore_ascii_case("utf8");
                    if !utf8 && !text.is_ascii() {
                        return Err(ThemeXmlError::UnsupportedEncoding { encoding });
                    }
                }
            }
            Event::DocType(_) => return Err(ThemeXmlError::Doctype { offset: position }),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(malformed(position, "there is a second root element"));
            }
            Event::Start(start) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(ThemeXmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(ThemeXmlError::TooDeep { offset: position });
                }
                stack.push(element(&start, position)?);
            }
            Event::Empty(start) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(ThemeXmlError::TooManyElements);
                }
                let done = element(&start, position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(malformed(position, "a closing tag has no opening tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(raw) => {
                let raw = std::str::from_utf8(&raw)
                    .map_err(|_| ThemeXmlError::InvalidUtf8 { offset: position })?;
                match stack.last_mut() {
                    Some(open) => push_normalised_eol(&mut open.value, raw),
                    None if raw.trim_matches(XML_SPACE).is_empty() => {}
                    None => return Err(malformed(position, "there is text outside the root")),
                }
            }
            Event::CData(raw) => {
                let raw = std::str::from_utf8(&raw)
                    .map_err(|_| ThemeXmlError::InvalidUtf8 { offset: position })?;
                match stack.last_mut() {
                    Some(open) => open.value.push_str(raw),
                    None => return Err(malformed(position, "there is CDATA outside the root")),
                }
            }
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                let resolved = resolve_reference(&name, position)?;
                match stack.last_mut() {
                    Some(open) => open.value.push_str(&resolved),
                    None => return Err(malformed(position, "there is text outside the root")),
                }
            }
            // Comments and processing instructions carry nothing MyBB reads.
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(at(reader.buffer_position()), "the file ends inside an element"));
    }
    root.ok_or_else(|| malformed(at(reader.buffer_position()), "there is no root element"))
}

/// XML's whitespace characters.
const XML_SPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// A [`ThemeXmlError::Malformed`] at `offset`.
fn malformed(offset: usize, message: &str) -> ThemeXmlError {
    ThemeXmlError::Malformed { offset, message: message.to_owned() }
}

/// Reads an element's name and attributes. Attribute values have their tabs and line ends turned
/// into spaces (XML's attribute-value normalisation, as expat does) before references resolve.
fn element(start: &BytesStart<'_>, position: usize) -> Result<Element, ThemeXmlError> {
    let name = std::str::from_utf8(start.name().as_ref())
        .map_err(|_| ThemeXmlError::InvalidUtf8 { offset: position })?
        .to_owned();
    let mut attributes: Vec<(String, String)> = Vec::new();
    for (n, attribute) in start.attributes().enumerate() {
        // Before anything else about the attribute: the duplicate checks (quick-xml's and
        // ours) look at every attribute before it, so the cap is what keeps them linear.
        if n >= MAX_ATTRIBUTES {
            return Err(ThemeXmlError::TooManyAttributes { element: name, offset: position });
        }
        let attribute = attribute.map_err(|e| malformed(position, &e.to_string()))?;
        let key = std::str::from_utf8(attribute.key.as_ref())
            .map_err(|_| ThemeXmlError::InvalidUtf8 { offset: position })?
            .to_owned();
        if attributes.iter().any(|(k, _)| *k == key) {
            return Err(malformed(position, &format!("the attribute {key} appears twice")));
        }
        let raw = std::str::from_utf8(&attribute.value)
            .map_err(|_| ThemeXmlError::InvalidUtf8 { offset: position })?;
        if raw.contains('<') {
            return Err(malformed(position, &format!("the attribute {key} contains '<'")));
        }
        let mut spaced = String::with_capacity(raw.len());
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    spaced.push(' ');
                }
                '\n' | '\t' => spaced.push(' '),
                c => spaced.push(c),
            }
        }
        attributes.push((key, unescape(&spaced, position)?));
    }
    Ok(Element { name, attributes, ..Element::default() })
}

/// Resolves the references in an attribute value.
fn unescape(raw: &str, position: usize) -> Result<String, ThemeXmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semicolon) = after.find(';') else {
            return Err(malformed(position, "an attribute has an '&' that starts no reference"));
        };
        out.push_str(&resolve_reference(&after[..semicolon], position)?);
        rest = &after[semicolon + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves `&name;`: the five predefined entities and character references only.
fn resolve_reference(name: &str, position: usize) -> Result<String, ThemeXmlError> {
    let predefined = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    };
    if let Some(c) = predefined {
        return Ok(c.to_string());
    }
    let Some(number) = name.strip_prefix('#') else {
        return Err(ThemeXmlError::UndefinedEntity { name: name.to_owned(), offset: position });
    };
    let code = match number.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => number.parse::<u32>().ok(),
    };
    // XML's Char production: tab, line feed, carriage return, and the rest above U+001F except
    // surrogates (which `char::from_u32` refuses) and U+FFFE/U+FFFF.
    match code.and_then(char::from_u32) {
        Some(c)
            if matches!(c, '\t' | '\n' | '\r')
                || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}') =>
        {
            Ok(c.to_string())
        }
        _ => Err(ThemeXmlError::BadCharRef { reference: name.to_owned(), offset: position }),
    }
}

/// Appends character data with XML's line-end normalisation (`\r\n` and a lone `\r` become
/// `\n`), which expat applies to text outside CDATA sections.
fn push_normalised_eol(out: &mut String, raw: &str) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    #[test]
    fn reads_the_1_8_37_master_theme() {
        let theme = parse(&fixture("mybb-1.8.37-theme.xml")).expect("the fixture parses");
        assert_eq!(theme.name, "MyBB Master Style");
        assert_eq!(theme.version, "1837");
        let names: Vec<&str> = theme.properties.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["templateset", "imgdir", "logo", "tablespace", "borderwidth", "editortheme"]
        );
        assert_eq!(theme.properties[1].1, "images");
        let sheets: Vec<&str> = theme.stylesheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            sheets,
            [
                "global.css",
                "usercp.css",
                "modcp.css",
                "star_ratings.css",
                "showthread.css",
                "thread_status.css",
                "css3.css"
            ]
        );
        let global = &theme.stylesheets[0];
        assert_eq!(global.version.as_deref(), Some("1827"));
        assert_eq!(global.disporder.as_deref(), Some("1"));
        assert_eq!(global.attachedto, None);
        assert!(global.content.starts_with("body {\n\tbackground: #fff;"));
        assert!(global.content.ends_with("/** Impromptu End */\n"), "{:?}", &global.content);
        assert_eq!(theme.stylesheets[1].attachedto.as_deref(), Some("usercp.php|private.php"));
        assert_eq!(theme.templates.len(), 974);
        let header = theme.templates.iter().find(|t| t.name == "header").expect("header");
        assert!(header.content.contains("{$mybb->settings['bbname']}"));
        assert!(!header.version.is_empty());
    }

    #[test]
    fn reads_the_1_8_26_and_1_8_30_master_themes() {
        for (file, version, templates) in
            [("mybb-1.8.26-theme.xml", "1824", 970), ("mybb-1.8.30-theme.xml", "1828", 974)]
        {
            let theme = parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(theme.name, "MyBB Master Style", "{file}");
            assert_eq!(theme.version, version, "{file}");
            assert_eq!(theme.templates.len(), templates, "{file}");
            assert_eq!(theme.stylesheets.len(), 7, "{file}");
        }
    }

    #[test]
    fn keeps_cdata_bytes_and_normalises_text_and_attributes_as_expat_does() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<theme name=\"a&amp;b\tc\r\nd\" \
                   version=\"1837\">\r\n\t<stylesheets>\r\n\t\t<stylesheet name=\"x.css\" \
                   attachedto=\"a.php|b.php\"><![CDATA[a\r\nb\rc]]>\r\n\t\t</stylesheet>\r\n\t\
                   </stylesheets>\r\n\t<templates>\r\n\t\t<template name=\"t\" version=\"1\">x&#13;y \
                   &lt; <![CDATA[a]]]]><![CDATA[>b]]></template>\r\n\t</templates>\r\n</theme>";
        let theme = parse(xml.as_bytes()).expect("parses");
        assert_eq!(theme.name, "a&b c d");
        assert_eq!(theme.stylesheets[0].content, "a\r\nb\rc\n\t\t");
        assert_eq!(theme.templates[0].content, "x\ry < a]]>b");
    }

    #[test]
    fn refuses_a_billion_laughs_file_at_its_doctype() {
        let mut xml =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let prev = if i == 1 { "lol".to_owned() } else { format!("lol{}", i - 1) };
            xml.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
        }
        xml.push_str("]>\n<theme name=\"&lol9;\"/>");
        assert!(matches!(parse(xml.as_bytes()), Err(ThemeXmlError::Doctype { offset: 22 })));
    }

    #[test]
    fn refuses_an_external_entity_without_reading_it() {
        let xml = "<!DOCTYPE t [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><theme name=\"&x;\"/>";
        let err = parse(xml.as_bytes()).expect_err("refused");
        assert!(matches!(err, ThemeXmlError::Doctype { offset: 0 }), "{err}");
        let undeclared = parse(b"<theme>&x;</theme>").expect_err("refused");
        assert_eq!(undeclared, ThemeXmlError::UndefinedEntity { name: "x".to_owned(), offset: 7 });
    }

    #[test]
    fn refuses_invalid_utf8_with_its_offset() {
        let err = parse(b"<theme name=\"caf\xe9\"/>").expect_err("refused");
        assert_eq!(err, ThemeXmlError::InvalidUtf8 { offset: 16 });
        assert!(err.to_string().contains("offset 16"), "{err}");
    }

    #[test]
    fn refuses_a_file_over_the_size_cap() {
        let big = vec![b' '; MAX_BYTES + 1];
        let err = parse(&big).expect_err("refused");
        assert!(matches!(err, ThemeXmlError::TooLarge { .. }));
        assert!(err.to_string().contains("32 MiB"), "{err}");
    }

    #[test]
    fn refuses_what_is_not_a_theme() {
        assert_eq!(
            parse(b"<settings/>"),
            Err(ThemeXmlError::NotATheme { root: "settings".to_owned() })
        );
        assert!(matches!(parse(b"<theme>"), Err(ThemeXmlError::Malformed { .. })));
        assert!(matches!(parse(b"<theme></them>"), Err(ThemeXmlError::Malformed { .. })));
        assert!(matches!(parse(b""), Err(ThemeXmlError::Malformed { .. })));
        assert!(matches!(parse(b"<theme>&#0;</theme>"), Err(ThemeXmlError::BadCharRef { .. })));
        let deep = "<theme>".to_owned() + &"<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(matches!(parse(deep.as_bytes()), Err(ThemeXmlError::TooDeep { .. })));
    }

    #[test]
    fn refuses_an_element_with_too_many_attributes_naming_it() {
        // See: issue 26 (80,000 attributes on one element took 11 s of CPU).
        let attributes = |n: usize| (0..n).map(|i| format!(" a{i}=\"{i}\"")).collect::<String>();
        let file = |n: usize| {
            format!("<theme><templates><template{}/></templates></theme>", attributes(n))
        };
        assert!(parse(file(MAX_ATTRIBUTES).as_bytes()).is_ok());
        let err = parse(file(80_000).as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ThemeXmlError::TooManyAttributes { element: "template".to_owned(), offset: 18 }
        );
        assert!(err.to_string().contains("<template> at byte 18"), "{err}");
    }

    #[test]
    fn refuses_a_declared_legacy_encoding_with_non_ascii_bytes() {
        let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><theme name=\"é\"/>";
        assert!(matches!(parse(xml.as_bytes()), Err(ThemeXmlError::UnsupportedEncoding { .. })));
        let ascii = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><theme name=\"e\"/>";
        assert_eq!(parse(ascii.as_bytes()).map(|t| t.name), Ok("e".to_owned()));
    }
}
