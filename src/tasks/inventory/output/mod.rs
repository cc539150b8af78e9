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

/// What a document says of itself before its content.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    pub deviceid: &'a str,
    pub tag: Option<&'a str>,
    /// GLPI's asset type (JSON only): `Computer` or `NetworkEquipment`.
    pub itemtype: &'a str,
    /// Only some categories follow (JSON only: `"partial": true`).
    pub partial: bool,
}

/// A writer of `format` over `out`. `out` is a trait object so that each writer is compiled
/// once, whatever it writes to (stdout, a file, a compressor): one copy per destination type
/// cost about 90 KB on MIPS.
pub fn writer<'a>(
    format: Format,
    out: &'a mut dyn Write,
    head: &Head<'_>,
) -> io::Result<Box<dyn Sink + 'a>> {
    Ok(match format {
        Format::Xml => Box::new(xml::XmlWriter::new(out, head.deviceid)?),
        Format::Json => Box::new(json::JsonWriter::new(
            out,
            head.deviceid,
            head.tag,
            head.itemtype,
            head.partial,
        )?),
        Format::Html => Box::new(html::HtmlWriter::new(out, head.deviceid)?),
    })
}
