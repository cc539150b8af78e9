//! The inventory as one self-contained HTML page for people: the machine's summary and a table
//! of contents first, then one table per section with a header row and a column per known
//! field, numbers in their units, long lists folded (`<details>`) with a filter box.
//!
//! The collectors stream the sections in a fixed order, HARDWARE (which carries most of the
//! summary) last. Rather than hold the inventory or read the system twice, the writer keeps the
//! few summary facts as they pass and writes the summary, the contents and the footer at the end
//! of the document; the page is a flex column whose CSS `order` shows them first, and sets the
//! sections in reading order (identity, hardware, people, then the long lists). What it holds:
//! the summary facts, and the first rows of the list section being written (at most
//! [`BUFFER_ROWS`] rows and [`BUFFER_BYTES`] bytes), which decide its columns (only those with
//! a value) and whether it is folded. A longer section is streamed with all its known columns.

mod columns;
mod summary;
#[cfg(test)]
mod tests;

use std::io::{self, Write};

use crate::core::markup::write_xml_text;
use crate::tasks::inventory::sink::{Section, Sink, Value};
use columns::{columns, position, repeated, title, write_value, Col, Unit};
use summary::Summary;

/// Rows of a list section held before it is written; past this it is streamed.
const BUFFER_ROWS: usize = 100;
/// Bytes of cells held before a list section is streamed.
const BUFFER_BYTES: usize = 48 * 1024;
/// Sections with more rows than this are folded.
const FOLD_ROWS: usize = 30;
/// Longest value shown, in bytes; a longer one is cut with an ellipsis.
const MAX_VALUE: usize = 2048;
/// Longest cell, in bytes of markup: a field repeated many times (group members) stops there.
const MAX_CELL: usize = 8192;
/// A cell up to this many bytes of markup stays on one line (a MAC address, a version); a
/// longer one wraps, anywhere if it must.
const SHORT_CELL: usize = 20;
/// A table with more columns than this is set smaller and every cell may wrap, so that it
/// fits the width of the page.
const WIDE_COLUMNS: usize = 14;

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d2430;\
background:#fff;margin:0 auto;padding:1em 1.5em 2em;max-width:1280px;display:flex;flex-direction:column}\
body>*{min-width:0}\
h1{font-size:1.7em;margin:.2em 0 .5em}h1 small{font-size:.55em;font-weight:normal;color:#5a6575;margin-left:.6em}\
h2{display:inline;font-size:1.15em;margin:0}h2 small{font-size:.7em;font-weight:normal;color:#7a8594;margin-left:.5em}\
h2 .c{font-weight:normal;color:#5a6575}\
dl.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(24em,1fr));gap:0 2em;margin:0}\
dl.facts div{display:flex;gap:.8em;padding:.3em 0;border-bottom:1px solid #e4e8ee}\
dt{flex:0 0 9em;color:#4a5565;font-weight:600}dd{margin:0;min-width:0;overflow-wrap:anywhere}\
nav.toc{margin:1em 0 .5em;padding:.5em 1em;background:#f4f6f9;border-radius:4px}\
nav.toc h2{font-size:1em}nav.toc ol{columns:4 13em;margin:.4em 0 .2em;padding-left:1.6em}\
nav.toc li{break-inside:avoid}\
section{margin-top:1em}\
summary{cursor:pointer;padding:.35em 0;border-bottom:2px solid #d5dce5}\
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}\
th,td{border:1px solid #dde3ea;padding:.2em .45em;text-align:left;vertical-align:top}\
td{white-space:nowrap}td.w{white-space:normal;overflow-wrap:anywhere}\
table.wide{font-size:.8em}table.wide td{white-space:normal;overflow-wrap:anywhere}\
thead th{background:#e9eef4;position:sticky;top:0}\
tbody tr:nth-child(even){background:#f7f9fb}\
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums;width:1%}\
table.kv tbody th{width:13em;background:#f4f6f9;font-weight:600}\
.k{color:#6a7584;font-size:.85em;margin-left:.3em}.none{color:#8a94a2;font-style:italic}\
input.filter{margin:.5em 0 0;padding:.25em .5em;width:22em;max-width:100%;font:inherit}\
p.count{margin:.2em 0;color:#5a6575}\
footer{margin-top:2em;padding-top:.5em;border-top:1px solid #dde3ea;color:#5a6575;font-size:.85em}\
@page{margin:12mm}\
@media print{body{font-size:9pt;padding:0;max-width:none}\
nav.toc{background:none;border:1px solid #ccc}\
summary{list-style:none;border-bottom:1px solid #888}summary::-webkit-details-marker{display:none}\
input.filter{display:none}thead th{position:static}tbody tr:nth-child(even){background:none}\
tr,dl.facts div{break-inside:avoid}summary,h1{break-after:avoid}\
a{color:inherit;text-decoration:none}}";

/// The filter boxes of folded sections: hidden without scripts, they hide the rows that do
/// not contain what is typed.
const SCRIPT: &str = "<script>\n\
document.querySelectorAll('input.filter').forEach(function(i){i.hidden=false;\
i.oninput=function(){var q=i.value.toLowerCase();\
document.getElementById(i.dataset.t).querySelectorAll('tbody tr').forEach(function(r){\
r.hidden=q!==''&&r.textContent.toLowerCase().indexOf(q)<0;});};});\n</script>\n";

/// The entry being written.
struct Entry {
    section: Section,
    cols: &'static [Col],
    /// One cell per column, then one for fields the page does not know.
    cells: Vec<Vec<u8>>,
    /// The single sections' fields in arrival order: (column, or the key when unknown; value).
    pairs: Vec<(Label, Vec<u8>)>,
    /// The cell an open nested object (OPERATINGSYSTEM/TIMEZONE) writes into.
    nested: Option<usize>,
}

#[derive(Clone)]
enum Label {
    /// A column of the section's table, by index.
    Known(usize),
    /// A field with no column (additional content's keys are the admin's text: escaped).
    Key(String),
}

/// The list section being written: its first rows, until it ends or outgrows the buffer.
struct Table {
    section: Section,
    cols: &'static [Col],
    rows: Vec<Vec<Vec<u8>>>,
    bytes: usize,
    /// The header went out with every column: rows are written as they come.
    streaming: bool,
    /// Cells shown, by column (the last one: fields the page does not know).
    shown: Vec<bool>,
    count: usize,
}

pub struct HtmlWriter<W: Write> {
    out: W,
    deviceid: String,
    entry: Option<Entry>,
    table: Option<Table>,
    summary: Summary,
    /// The sections written, with their entry counts (list sections), for the contents.
    contents: Vec<(Section, Option<usize>)>,
}

impl<W: Write> HtmlWriter<W> {
    pub fn new(mut out: W, deviceid: &str) -> io::Result<Self> {
        out.write_all(
            b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
              <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>Inventory of ",
        )?;
        write_xml_text(&mut out, deviceid)?;
        write!(out, "</title>\n<style>{STYLE}</style>\n</head>\n<body>\n")?;
        Ok(HtmlWriter {
            out,
            deviceid: summary::bounded(deviceid),
            entry: None,
            table: None,
            summary: Summary::default(),
            contents: Vec::new(),
        })
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Ends the list section being written, if any.
    fn close_table(&mut self) -> io::Result<()> {
        let Some(t) = self.table.take() else {
            return Ok(());
        };
        if t.streaming {
            write!(
                self.out,
                "</tbody></table>\n<p class=\"count\">{} {}</p>\n</details></section>\n",
                t.count,
                if t.count == 1 { "entry" } else { "entries" }
            )?;
        } else if !t.rows.is_empty() {
            self.write_table_start(&t, Some(t.count))?;
            for row in &t.rows {
                write_row(&mut self.out, &t, row)?;
            }
            self.out.write_all(b"</tbody></table>\n</details></section>\n")?;
        } else {
            return Ok(());
        }
        self.contents.push((t.section, Some(t.count)));
        Ok(())
    }

    /// The section's opening, its heading, and its table's header row.
    fn write_table_start(&mut self, t: &Table, count: Option<usize>) -> io::Result<()> {
        let folded = count.is_none_or(|n| n > FOLD_ROWS);
        let mut h = section_start(t.section, !folded, count);
        let id = |h: &mut Vec<u8>| {
            h.extend_from_slice(b"t-");
            lower(h, t.section.xml_name());
        };
        if folded {
            h.extend_from_slice(
                b"<input class=\"filter\" type=\"search\" hidden placeholder=\"Filter rows\" data-t=\"",
            );
            id(&mut h);
            h.extend_from_slice(b"\">\n");
        }
        h.extend_from_slice(b"<table id=\"");
        id(&mut h);
        let wide = t.shown.iter().filter(|s| **s).count() > WIDE_COLUMNS;
        h.extend_from_slice(if wide { b"\" class=\"wide\">" } else { b"\">" });
        h.extend_from_slice(b"<thead><tr>");
        for (i, col) in t.cols.iter().enumerate() {
            if t.shown[i] {
                header_cell(&mut h, col);
                h.extend_from_slice(b"</th>");
            }
        }
        if t.shown[t.cols.len()] {
            h.extend_from_slice(b"<th>Other</th>");
        }
        h.extend_from_slice(b"</tr></thead><tbody>\n");
        self.out.write_all(&h)
    }

    /// Writes a single section (OPERATINGSYSTEM, BIOS, HARDWARE) as a two-column table.
    fn write_single(&mut self, e: &Entry) -> io::Result<()> {
        if e.pairs.is_empty() {
            return Ok(());
        }
        let mut h = section_start(e.section, true, None);
        h.extend_from_slice(
            b"<table class=\"kv\"><thead><tr><th>Field</th><th>Value</th></tr></thead><tbody>\n",
        );
        // In the order of the section's known fields, then the others as they came.
        let known = (0..e.cols.len()).flat_map(|i| {
            e.pairs
                .iter()
                .filter(move |(l, _)| matches!(l, Label::Known(j) if *j == i))
        });
        let others = e.pairs.iter().filter(|(l, _)| matches!(l, Label::Key(_)));
        for (label, value) in known.chain(others) {
            h.extend_from_slice(b"<tr>");
            match label {
                Label::Known(i) => header_cell(&mut h, &e.cols[*i]),
                Label::Key(k) => {
                    h.extend_from_slice(b"<th>");
                    write_xml_text(&mut h, k)?;
                }
            }
            h.extend_from_slice(if value.len() > SHORT_CELL {
                b"</th><td class=\"w\">"
            } else {
                b"</th><td>"
            });
            h.extend_from_slice(value);
            h.extend_from_slice(b"</td></tr>\n");
        }
        h.extend_from_slice(b"</tbody></table>\n</details></section>\n");
        self.contents.push((e.section, None));
        self.out.write_all(&h)
    }

    /// A finished row of the current list section: held, or written when streaming.
    fn push_row(&mut self, cells: Vec<Vec<u8>>) -> io::Result<()> {
        let Some(t) = self.table.as_mut() else {
            return Ok(());
        };
        if cells.iter().all(Vec::is_empty) {
            return Ok(());
        }
        t.count += 1;
        if t.streaming {
            return write_row(&mut self.out, t, &cells);
        }
        for (i, c) in cells.iter().enumerate() {
            t.shown[i] |= !c.is_empty();
        }
        t.bytes += cells.iter().map(Vec::len).sum::<usize>();
        t.rows.push(cells);
        if t.rows.len() <= BUFFER_ROWS && t.bytes <= BUFFER_BYTES {
            return Ok(());
        }
        // Too long to hold: the columns the rows so far filled (a later row's field without a
        // column goes, named, into its last cell), and those rows.
        let mut t = match self.table.take() {
            Some(t) => t,
            None => return Ok(()),
        };
        t.streaming = true;
        self.write_table_start(&t, None)?;
        for row in std::mem::take(&mut t.rows) {
            write_row(&mut self.out, &t, &row)?;
        }
        t.bytes = 0;
        self.table = Some(t);
        Ok(())
    }
}

/// The opening of a section and its heading (with the entry count when known).
fn section_start(s: Section, open: bool, count: Option<usize>) -> Vec<u8> {
    let mut h = Vec::with_capacity(1024);
    h.extend_from_slice(b"<section id=\"s-");
    lower(&mut h, s.xml_name());
    let _ = write!(h, "\" style=\"order:{}\"><details", position(s));
    h.extend_from_slice(if open { b" open><summary><h2>" } else { b"><summary><h2>" });
    h.extend_from_slice(title(s).as_bytes());
    if let Some(n) = count {
        let _ = write!(h, " <span class=\"c\">({n})</span>");
    }
    h.extend_from_slice(b"<small>");
    h.extend_from_slice(s.xml_name().as_bytes());
    h.extend_from_slice(b"</small></h2></summary>\n");
    h
}

/// `<th title="KEY">Label` (the caller closes it).
fn header_cell(h: &mut Vec<u8>, c: &Col) {
    h.extend_from_slice(b"<th title=\"");
    h.extend_from_slice(c.key.as_bytes());
    h.extend_from_slice(b"\">");
    h.extend_from_slice(c.label.as_bytes());
}

/// Appends `name` in lower case (the sections' ids).
fn lower(h: &mut Vec<u8>, name: &str) {
    h.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
}

/// Writes one row with the table's shown columns. A field the table has no column for (one
/// the page does not know, or one that no earlier row of a long section had) goes, named, into
/// the last cell: the columns stay aligned and nothing is lost.
fn write_row(out: &mut dyn Write, t: &Table, cells: &[Vec<u8>]) -> io::Result<()> {
    let other = t.cols.len();
    let mut extra = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if t.shown[i] || cell.is_empty() {
            continue;
        }
        if !extra.is_empty() {
            extra.extend_from_slice(b"; ");
        }
        if let Some(c) = t.cols.get(i) {
            write!(extra, "<span class=\"k\">{}</span> ", c.label)?;
        }
        extra.extend_from_slice(cell);
    }
    let last_shown = (0..=other).rev().find(|i| t.shown[*i]);
    out.write_all(b"<tr>")?;
    for (i, cell) in cells.iter().enumerate() {
        if !t.shown[i] {
            continue;
        }
        let mut cell: &[u8] = cell;
        let joined;
        if Some(i) == last_shown && !extra.is_empty() {
            joined = [cell, if cell.is_empty() { b"" } else { b"; " }, &extra[..]].concat();
            cell = &joined;
        }
        let numeric = t.cols.get(i).is_some_and(|c| c.unit.numeric()) && extra.is_empty();
        out.write_all(if numeric {
            b"<td class=\"n\">"
        } else if cell.len() > SHORT_CELL {
            b"<td class=\"w\">"
        } else {
            b"<td>"
        })?;
        out.write_all(cell)?;
        out.write_all(b"</td>")?;
    }
    out.write_all(b"</tr>\n")
}

/// Appends `value` to a cell after `sep` (repeated fields are joined with commas; a nested
/// object's fields with spaces), cut at the named limits.
fn append(
    cell: &mut Vec<u8>,
    sep: &[u8],
    key: Option<&str>,
    unit: Unit,
    value: Value<'_>,
) -> io::Result<()> {
    if cell.len() >= MAX_CELL {
        if !cell.ends_with("…".as_bytes()) {
            cell.extend_from_slice("…".as_bytes());
        }
        return Ok(());
    }
    if !cell.is_empty() {
        cell.extend_from_slice(sep);
    }
    if let Some(k) = key {
        cell.extend_from_slice(b"<span class=\"k\">");
        write_xml_text(&mut *cell, k)?;
        cell.extend_from_slice(b"</span> ");
    }
    match value {
        Value::Str(s) if s.len() > MAX_VALUE => {
            let mut end = MAX_VALUE;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            write_value(cell, unit, Value::Str(&s[..end]))?;
            cell.extend_from_slice("…".as_bytes());
            Ok(())
        }
        v => write_value(cell, unit, v),
    }
}

impl<W: Write> Sink for HtmlWriter<W> {
    /// The page has no place for OCS's package history.
    fn download_history(&mut self, _ids: &[String]) -> io::Result<()> {
        Ok(())
    }

    fn begin(&mut self, section: Section) -> io::Result<()> {
        let cols = columns(section);
        if section.is_single() || self.table.as_ref().is_some_and(|t| t.section != section) {
            self.close_table()?;
        }
        if !section.is_single() && self.table.is_none() {
            self.table = Some(Table {
                section,
                cols,
                rows: Vec::new(),
                bytes: 0,
                streaming: false,
                shown: vec![false; cols.len() + 1],
                count: 0,
            });
        }
        self.entry = Some(Entry {
            section,
            cols,
            cells: if section.is_single() {
                Vec::new()
            } else {
                vec![Vec::new(); cols.len() + 1]
            },
            pairs: Vec::new(),
            nested: None,
        });
        Ok(())
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        let Some(e) = self.entry.as_mut() else {
            return Ok(());
        };
        self.summary
            .field(e.section, e.nested.is_some(), key, value);
        if let Some(i) = e.nested {
            // A nested object's fields share its cell: "CET +0100".
            let cell = if e.section.is_single() {
                e.pairs.get_mut(i).map(|p| &mut p.1)
            } else {
                e.cells.get_mut(i)
            };
            if let Some(cell) = cell {
                append(cell, b" ", None, Unit::Text, value)?;
            }
            return Ok(());
        }
        if repeated(e.section, key) {
            return Ok(());
        }
        let known = e.cols.iter().position(|c| c.key == key);
        if e.section.is_single() {
            let (label, unit) = match known {
                Some(i) => (Label::Known(i), e.cols[i].unit),
                None => (Label::Key(key.to_string()), Unit::Text),
            };
            let mut cell = Vec::new();
            append(&mut cell, b"", None, unit, value)?;
            e.pairs.push((label, cell));
            return Ok(());
        }
        match known {
            Some(i) => append(&mut e.cells[i], b", ", None, e.cols[i].unit, value),
            None => {
                let other = e.cols.len();
                append(&mut e.cells[other], b"; ", Some(key), Unit::Text, value)
            }
        }
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        let Some(e) = self.entry.as_mut() else {
            return Ok(());
        };
        let known = e.cols.iter().position(|c| c.key == key);
        if e.section.is_single() {
            let label = match known {
                Some(i) => Label::Known(i),
                None => Label::Key(key.to_string()),
            };
            e.pairs.push((label, Vec::new()));
            e.nested = Some(e.pairs.len() - 1);
        } else {
            e.nested = Some(known.unwrap_or(e.cols.len()));
        }
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        if let Some(e) = self.entry.as_mut() {
            if let Some(i) = e.nested.take() {
                if e.section.is_single() && e.pairs.get(i).is_some_and(|p| p.1.is_empty()) {
                    e.pairs.truncate(i);
                }
            }
        }
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        let Some(e) = self.entry.take() else {
            return Ok(());
        };
        self.summary.end(e.section);
        if e.section.is_single() {
            self.write_single(&e)
        } else {
            self.push_row(e.cells)
        }
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.close_table()?;
        if key == "VERSIONCLIENT" {
            self.summary.version(value);
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.close_table()?;
        self.summary.write(&mut self.out, &self.deviceid)?;
        self.write_contents()?;
        self.summary.write_footer(&mut self.out, &self.deviceid)?;
        self.out.write_all(SCRIPT.as_bytes())?;
        self.out.write_all(b"</body></html>\n")?;
        self.out.flush()
    }
}

impl<W: Write> HtmlWriter<W> {
    /// The table of contents, in the order the sections are shown, with their entry counts.
    #[inline(never)]
    fn write_contents(&mut self) -> io::Result<()> {
        // In the order they are shown; a section written twice is listed once.
        let shown = columns::ORDER
            .iter()
            .filter_map(|s| self.contents.iter().find(|(c, _)| c == s));
        let mut h = Vec::with_capacity(2048);
        h.extend_from_slice(b"<nav class=\"toc\" style=\"order:2\"><h2>Contents</h2><ol>\n");
        for &(s, count) in shown {
            h.extend_from_slice(b"<li><a href=\"#s-");
            lower(&mut h, s.xml_name());
            h.extend_from_slice(b"\">");
            h.extend_from_slice(title(s).as_bytes());
            h.extend_from_slice(b"</a>");
            if let Some(n) = count {
                let _ = write!(h, " <span class=\"k\">{n}</span>");
            }
            h.extend_from_slice(b"</li>\n");
        }
        h.extend_from_slice(b"</ol></nav>\n");
        self.out.write_all(&h)
    }
}
