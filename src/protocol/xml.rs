//! Reading the XML servers send (PROLOG and INVENTORY replies) into a small tree, with limits
//! on depth, element count and text, so that a hostile reply costs a clear error and little
//! memory.

use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deepest nesting accepted (real replies use 4).
pub const MAX_DEPTH: usize = 32;
/// Most elements accepted in one reply.
pub const MAX_ELEMENTS: usize = 20_000;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 64;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name.eq_ignore_ascii_case(name))
    }

    /// Trimmed text of a child element.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum XmlError {
    TooDeep,
    TooManyElements,
    Malformed(String),
    Empty,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            XmlError::TooDeep => write!(f, "XML nested deeper than {MAX_DEPTH} levels"),
            XmlError::TooManyElements => write!(f, "XML has more than {MAX_ELEMENTS} elements"),
            XmlError::Malformed(e) => write!(f, "malformed XML: {e}"),
            XmlError::Empty => write!(f, "no XML element in the reply"),
        }
    }
}

fn element(e: &BytesStart) -> Result<Node, XmlError> {
    let mut node = Node {
        name: e.name().as_ref().to_string(),
        ..Node::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|e| XmlError::Malformed(e.to_string()))?;
        if node.attrs.len() >= MAX_ATTRIBUTES {
            return Err(XmlError::Malformed(format!(
                "more than {MAX_ATTRIBUTES} attributes on <{}>",
                node.name
            )));
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        node.attrs
            .push((a.key.as_ref().to_string(), value.into_owned()));
    }
    Ok(node)
}

/// `&name;` and `&#n;` references, as split out by the reader.
fn resolve_ref(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Parses a whole document and returns its root element. Text that is not valid UTF-8 is
/// replaced; the document must already be within the reply size limit.
pub fn parse(text: &str) -> Result<Node, XmlError> {
    // Some servers put an HTML prelude before the XML (the reference agents skip to the first
    // `<?xml` or element).
    let start = text
        .find("<?xml")
        .or_else(|| text.find("<REPLY"))
        .unwrap_or(0);
    let mut reader = Reader::from_str(&text[start..]);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if stack.len() >= MAX_DEPTH => {
                let _ = e;
                return Err(XmlError::TooDeep);
            }
            Event::Start(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooManyElements);
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooManyElements);
                }
                let node = element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(XmlError::Malformed("unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let (Some(top), Some(c)) = (stack.last_mut(), resolve_ref(&r.xml10_content())) {
                    top.text.push(c);
                }
            }
            Event::Eof => {
                return Err(if stack.is_empty() {
                    XmlError::Empty
                } else {
                    XmlError::Malformed("document ends inside an element".into())
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prolog_reply_becomes_a_tree() {
        let t = parse("<?xml version='1.0' encoding='UTF-8'?>\n<REPLY><OPTION><PARAM ON=\"0\" TYPE=\"CONF\"/><NAME>DOWNLOAD</NAME></OPTION>\
                       <RESPONSE>SEND</RESPONSE><PROLOG_FREQ> 24 </PROLOG_FREQ><X>a &amp; b &#x41;</X></REPLY>")
        .unwrap();
        assert_eq!(t.name, "REPLY");
        assert_eq!(t.child_text("RESPONSE"), Some("SEND"));
        assert_eq!(t.child_text("PROLOG_FREQ"), Some("24"));
        assert_eq!(
            t.child("OPTION")
                .unwrap()
                .child("PARAM")
                .unwrap()
                .attr("type"),
            Some("CONF")
        );
        assert_eq!(t.child_text("X"), Some("a & b A"));
    }

    #[test]
    fn hostile_documents_are_refused_with_a_reason() {
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
        let wide = format!("<R>{}</R>", "<x/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(parse(&wide), Err(XmlError::TooManyElements));
        assert!(matches!(parse("<R><x></R>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("<R><x>"), Err(XmlError::Malformed(_))));
        assert_eq!(parse("just text"), Err(XmlError::Empty));
    }

    #[test]
    fn an_html_prelude_is_skipped() {
        let t =
            parse("<html></html><?xml version=\"1.0\"?><REPLY><RESPONSE>SEND</RESPONSE></REPLY>")
                .unwrap();
        assert_eq!(t.child_text("RESPONSE"), Some("SEND"));
    }
}
