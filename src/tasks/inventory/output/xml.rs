//! The inventory as the XML `REQUEST` document that OCS Inventory NG and GLPI accept
//! (QUERY INVENTORY): one element per section entry, one child element per field.

use std::io::{self, Write};

use crate::core::markup::write_xml_text;
use crate::tasks::inventory::sink::{Section, Sink, Value};

pub struct XmlWriter<W: Write> {
    out: W,
    deviceid: String,
    depth: usize,
    open: Vec<&'static str>,
}

impl<W: Write> XmlWriter<W> {
    pub fn new(mut out: W, deviceid: &str) -> io::Result<Self> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <CONTENT>\n")?;
        Ok(XmlWriter {
            out,
            deviceid: deviceid.to_string(),
            depth: 2,
            open: Vec::new(),
        })
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn indent(&mut self) -> io::Result<()> {
        const SPACES: &[u8] = b"                                ";
        self.out
            .write_all(&SPACES[..(2 * self.depth).min(SPACES.len())])
    }

    fn open_tag(&mut self, name: &'static str) -> io::Result<()> {
        self.indent()?;
        writeln!(self.out, "<{name}>")?;
        self.open.push(name);
        self.depth += 1;
        Ok(())
    }

    fn close_tag(&mut self) -> io::Result<()> {
        if let Some(name) = self.open.pop() {
            self.depth -= 1;
            self.indent()?;
            writeln!(self.out, "</{name}>")?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for XmlWriter<W> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.open_tag(section.xml_name())
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        // Plain writes rather than format strings: this runs once per field of every package.
        self.indent()?;
        self.out.write_all(b"<")?;
        self.out.write_all(key.as_bytes())?;
        self.out.write_all(b">")?;
        match value {
            Value::Str(s) => write_xml_text(&mut self.out, s)?,
            Value::Int(n) => write!(self.out, "{n}")?,
            Value::Bool(b) => self.out.write_all(if b { b"1" } else { b"0" })?,
        }
        self.out.write_all(b"</")?;
        self.out.write_all(key.as_bytes())?;
        self.out.write_all(b">\n")
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        self.open_tag(key)
    }

    fn close(&mut self) -> io::Result<()> {
        self.close_tag()
    }

    fn end(&mut self) -> io::Result<()> {
        self.close_tag()
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.field(key, Value::Str(value))
    }

    fn download_history(&mut self, ids: &[String]) -> io::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.open_tag("DOWNLOAD")?;
        self.open_tag("HISTORY")?;
        for id in ids {
            self.indent()?;
            self.out.write_all(b"<PACKAGE ID=\"")?;
            write_xml_text(&mut self.out, id)?;
            self.out.write_all(b"\"/>\n")?;
        }
        self.close_tag()?;
        self.close_tag()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(b"  </CONTENT>\n  <DEVICEID>")?;
        let deviceid = std::mem::take(&mut self.deviceid);
        write_xml_text(&mut self.out, &deviceid)?;
        self.out
            .write_all(b"</DEVICEID>\n  <QUERY>INVENTORY</QUERY>\n</REQUEST>\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_history_is_written_as_the_ocs_server_reads_it() {
        let mut w = XmlWriter::new(Vec::new(), "b-2026-01-01-00-00-00").unwrap();
        w.download_history(&[]).unwrap();
        w.download_history(&["1764620001".into(), "1764620002".into()])
            .unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(text.matches("<DOWNLOAD>").count(), 1, "{text}");
        assert!(text.contains(
            "    <DOWNLOAD>\n      <HISTORY>\n        <PACKAGE ID=\"1764620001\"/>\n        <PACKAGE ID=\"1764620002\"/>\n      </HISTORY>\n    </DOWNLOAD>\n"
        ), "{text}");
        #[cfg(feature = "client")]
        {
            let root = crate::protocol::xml::parse(&text).unwrap();
            let h = root.child("CONTENT").unwrap().child("DOWNLOAD").unwrap().child("HISTORY").unwrap();
            assert_eq!(h.children_named("PACKAGE").filter_map(|p| p.attr("ID")).collect::<Vec<_>>(), ["1764620001", "1764620002"]);
        }
    }
}
