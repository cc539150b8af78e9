//! Output formats of an inventory.

pub mod html;
pub mod json;
pub mod xml;

use std::io::{self, Write};

use super::sink::Sink;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    Html,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "xml" => Some(Format::Xml),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// A writer of `format` over `out`. `out` is a trait object so that each writer is compiled
/// once, whatever it writes to (stdout, a file, a compressor): one copy per destination type
/// cost about 90 KB on MIPS.
pub fn writer<'a>(
    format: Format,
    out: &'a mut dyn Write,
    deviceid: &str,
    tag: Option<&str>,
) -> io::Result<Box<dyn Sink + 'a>> {
    Ok(match format {
        Format::Xml => Box::new(xml::XmlWriter::new(out, deviceid)?),
        Format::Json => Box::new(json::JsonWriter::new(out, deviceid, tag)?),
        Format::Html => Box::new(html::HtmlWriter::new(out, deviceid)?),
    })
}
