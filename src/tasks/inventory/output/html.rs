//! The inventory as one self-contained HTML page for people: a table per single section, and
//! for list sections a table with one row per entry.

use std::io::{self, Write};

use crate::core::markup::write_xml_text;
use crate::tasks::inventory::sink::{Section, Sink, Value};

const STYLE: &str = "body{font-family:sans-serif;margin:1em 2em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ddd;padding:2px 6px;\
text-align:left;vertical-align:top;font-size:.9em}th{background:#f3f3f3}\
span.k{color:#777;font-size:.8em;margin-right:.4em}";

pub struct HtmlWriter<W: Write> {
    out: W,
    list: Option<Section>,
    section: Option<Section>,
}

impl<W: Write> HtmlWriter<W> {
    pub fn new(mut out: W, deviceid: &str) -> io::Result<Self> {
        write!(
            out,
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Inventory of "
        )?;
        write_xml_text(&mut out, deviceid)?;
        write!(
            out,
            "</title><style>{STYLE}</style></head><body>\n<h1>Inventory of "
        )?;
        write_xml_text(&mut out, deviceid)?;
        out.write_all(b"</h1>\n")?;
        Ok(HtmlWriter {
            out,
            list: None,
            section: None,
        })
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn close_list(&mut self) -> io::Result<()> {
        if self.list.take().is_some() {
            self.out.write_all(b"</table>\n")?;
        }
        Ok(())
    }

    fn heading(&mut self, name: &str) -> io::Result<()> {
        write!(self.out, "<h2>{name}</h2>\n<table>\n")
    }
}

impl<W: Write> Sink for HtmlWriter<W> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.section = Some(section);
        if section.is_single() {
            self.close_list()?;
            self.heading(section.xml_name())
        } else {
            if self.list != Some(section) {
                self.close_list()?;
                self.heading(section.xml_name())?;
                self.list = Some(section);
            }
            self.out.write_all(b"<tr>")
        }
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        let single = self.section.is_some_and(Section::is_single);
        // A key from additional content is the admin's text: escaped like any value.
        if single {
            self.out.write_all(b"<tr><th>")?;
            write_xml_text(&mut self.out, key)?;
            self.out.write_all(b"</th><td>")?;
        } else {
            self.out.write_all(b"<td><span class=\"k\">")?;
            write_xml_text(&mut self.out, key)?;
            self.out.write_all(b"</span>")?;
        }
        match value {
            Value::Str(s) => write_xml_text(&mut self.out, s)?,
            Value::Int(n) => write!(self.out, "{n}")?,
            Value::Bool(b) => self.out.write_all(if b { b"yes" } else { b"no" })?,
        }
        self.out
            .write_all(if single { b"</td></tr>\n" } else { b"</td>" })
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        write!(self.out, "<tr><th>{key}</th><td><table>")
    }

    fn close(&mut self) -> io::Result<()> {
        self.out.write_all(b"</table></td></tr>\n")
    }

    fn end(&mut self) -> io::Result<()> {
        match self.section.take() {
            Some(s) if s.is_single() => self.out.write_all(b"</table>\n"),
            _ => self.out.write_all(b"</tr>\n"),
        }
    }

    fn download_history(&mut self, _ids: &[String]) -> io::Result<()> {
        Ok(())
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.close_list()?;
        write!(self.out, "<p><b>{key}</b>: ")?;
        write_xml_text(&mut self.out, value)?;
        self.out.write_all(b"</p>\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.close_list()?;
        self.out.write_all(b"</body></html>\n")?;
        self.out.flush()
    }
}
