//! A small element tree for the SNMPQUERY and OCS SNMP messages: built per device, written with
//! the keys of each element in alphabetical order (as the reference agents write them; repeated
//! elements keep their order).

use crate::core::markup::write_xml_text;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Leaf(&'static str, String),
    Branch(&'static str, Vec<Node>),
    /// An element whose name comes from outside (OCS's table and label names), checked by
    /// [`safe_name`] before it is made.
    Named(String, Vec<Node>, Option<String>),
}

impl Node {
    pub fn name(&self) -> &str {
        match self {
            Node::Leaf(n, _) | Node::Branch(n, _) => n,
            Node::Named(n, _, _) => n,
        }
    }

    /// A leaf, or nothing for an empty value.
    pub fn leaf(name: &'static str, v: impl Into<String>) -> Option<Node> {
        let v = v.into();
        (!v.is_empty()).then_some(Node::Leaf(name, v))
    }
}

/// Whether `n` may be an element name: a letter or `_`, then letters, digits, `_`, `-`, `.`;
/// at most 64 bytes.
pub fn safe_name(n: &str) -> bool {
    n.len() <= 64
        && n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub fn write(out: &mut Vec<u8>, node: &Node) {
    let (name, children, text): (&str, &[Node], Option<&str>) = match node {
        Node::Leaf(n, v) => (n, &[], Some(v)),
        Node::Branch(n, c) => (n, c, None),
        Node::Named(n, c, v) => (n, c, v.as_deref()),
    };
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    if let Some(t) = text {
        let _ = write_xml_text(out, t);
    }
    let mut order: Vec<&Node> = children.iter().collect();
    order.sort_by(|a, b| a.name().cmp(b.name()));
    for c in order {
        write(out, c);
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
}
