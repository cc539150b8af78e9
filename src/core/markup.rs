//! Escaping for the markup this agent writes: XML (protocol messages and inventories), JSON and
//! HTML. One place, so that every writer treats awkward bytes the same way.

use std::io::{self, Write};

// Characters XML 1.0 cannot carry at all (controls but tab and line ends, U+FFFE, U+FFFF)
// are dropped, as the reference agents drop unprintable characters before sending.

/// Writes `s` as XML character data (also valid inside attribute values and HTML). It works
/// on bytes: every character that needs care is ASCII, or U+FFFE/U+FFFF (`EF BF BE/BF`).
pub fn write_xml_text(out: &mut dyn Write, s: &str) -> io::Result<()> {
    let b = s.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        let (rep, len): (&[u8], usize) = match b[i] {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\'' => (b"&#39;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            c if c < b' ' => (b"", 1),
            0xef if b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)) => {
                (b"", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.write_all(&b[last..i])?;
        out.write_all(rep)?;
        i += len;
        last = i;
    }
    out.write_all(&b[last..])
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
        assert_eq!(xml("a\u{fffe}b\u{ffff}c\u{fffd}"), "abc\u{fffd}");
    }

    #[test]
    fn json_escapes_quotes_backslashes_and_controls() {
        assert_eq!(json("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
