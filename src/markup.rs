//! Escaping for the markup this agent writes: XML (protocol messages and inventories), JSON and
//! HTML. One place, so that every writer treats awkward bytes the same way.

use std::io::{self, Write};

/// Characters XML 1.0 cannot carry at all. They are dropped, as the reference agents drop
/// unprintable characters before sending.
fn xml_forbidden(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// Writes `s` as XML character data (also valid inside attribute values and HTML).
pub fn write_xml_text(out: &mut dyn Write, s: &str) -> io::Result<()> {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            c if xml_forbidden(c) => "",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[last..i])?;
        out.write_all(rep.as_bytes())?;
        last = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[last..])
}

/// Writes `s` as a JSON string, quotes included.
pub fn write_json_string(out: &mut dyn Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let simple = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c < ' ' || c == '\u{7f}' => "",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[last..i])?;
        if simple.is_empty() {
            write!(out, "\\u{:04x}", c as u32)?;
        } else {
            out.write_all(simple.as_bytes())?;
        }
        last = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[last..])?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(s: &str) -> String {
        let mut v = Vec::new();
        write_xml_text(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    fn json(s: &str) -> String {
        let mut v = Vec::new();
        write_json_string(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(xml("bell\u{7}tab\there"), "belltab\there");
        assert_eq!(xml("caf\u{e9}"), "caf\u{e9}");
    }

    #[test]
    fn json_escapes_quotes_backslashes_and_controls() {
        assert_eq!(json("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
