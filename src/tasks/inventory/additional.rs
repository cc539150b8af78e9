//! `--additional-content FILE`: entries an admin wrote (XML as the Perl agents' `REQUEST/CONTENT`,
//! or GLPI's JSON with its `content`), merged into the inventory as the collectors write it.
//!
//! Entries of list sections are added after the collectors' own entries of that section;
//! fields of a single section (HARDWARE, BIOS, OPERATINGSYSTEM) replace the collectors' fields
//! of the same name. Sections uagent does not write are left out with a warning.

use std::io;

use super::sink::{Section, Sink, Value};

/// Largest additional-content file read.
pub const MAX_FILE: u64 = 1024 * 1024;
/// Most entries taken from it.
pub const MAX_ENTRIES: usize = 10_000;
/// Most fields of one entry.
pub const MAX_FIELDS: usize = 256;
/// Longest field name.
#[cfg(feature = "client")]
const MAX_KEY: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Owned {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Owned {
    fn as_value(&self) -> Value<'_> {
        match self {
            Owned::Str(s) => Value::Str(s),
            Owned::Int(n) => Value::Int(*n),
            Owned::Bool(b) => Value::Bool(*b),
        }
    }
}

/// One entry: its section and its fields (`[A-Z0-9_]+` names; a name may repeat).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub section: Section,
    pub fields: Vec<(String, Owned)>,
}

/// What `--additional-content` gives; empty when not asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Additional {
    pub entries: Vec<Entry>,
}

impl Additional {
    fn of(&self, section: Section) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.section == section)
    }

    /// Whether a single section's extra fields name `key`.
    fn overrides(&self, section: Section, key: &str) -> bool {
        self.of(section)
            .any(|e| e.fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)))
    }
}

/// A field name as the writers take it: upper case, letters, digits and `_`.
#[cfg(feature = "client")]
fn field_name(raw: &str) -> Option<String> {
    let name = raw.trim().to_ascii_uppercase();
    (!name.is_empty()
        && name.len() <= MAX_KEY
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
    .then_some(name)
}

#[cfg(feature = "client")]
fn section_named(name: &str) -> Option<Section> {
    let upper = name.trim().to_ascii_uppercase();
    Section::ALL.into_iter().find(|s| s.xml_name() == upper)
}

/// Reads the file: XML when it starts with `<` (after blanks), JSON otherwise.
#[cfg(feature = "client")]
pub fn load(path: &std::path::Path) -> Result<Additional, String> {
    use std::io::Read;
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut text))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than {MAX_FILE} bytes",
            path.display()
        ));
    }
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = if first == Some(&b'<') {
        from_xml(&String::from_utf8_lossy(&text))
    } else {
        from_json(&text)
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(feature = "client"))]
pub fn load(_: &std::path::Path) -> Result<Additional, String> {
    Err("this build cannot read additional content (built without the client feature)".into())
}

/// Keeps an entry within the bounds, saying what was left out.
#[cfg(feature = "client")]
fn push(out: &mut Additional, section_name: &str, fields: Vec<(String, Owned)>) {
    let Some(section) = section_named(section_name) else {
        log::warn!("additional content: section {section_name:?} is not one uagent writes; left out");
        return;
    };
    if out.entries.len() >= MAX_ENTRIES {
        return;
    }
    let mut fields = fields;
    if fields.len() > MAX_FIELDS {
        log::warn!(
            "additional content: an entry of {section_name} has {} fields; the first {MAX_FIELDS} are kept",
            fields.len()
        );
        fields.truncate(MAX_FIELDS);
    }
    out.entries.push(Entry { section, fields });
}

#[cfg(feature = "client")]
fn from_xml(text: &str) -> Result<Additional, String> {
    let root = crate::protocol::xml::parse(text).map_err(|e| e.to_string())?;
    let content = if root.name.eq_ignore_ascii_case("CONTENT") {
        &root
    } else {
        root.child("CONTENT")
            .ok_or("no REQUEST/CONTENT element")?
    };
    let mut out = Additional::default();
    for section in &content.children {
        let mut fields = Vec::new();
        for f in &section.children {
            match field_name(&f.name) {
                Some(k) => fields.push((k, Owned::Str(f.text.trim().to_string()))),
                None => log::warn!(
                    "additional content: field {:?} of {} is not a valid name; left out",
                    f.name,
                    section.name
                ),
            }
        }
        push(&mut out, &section.name, fields);
    }
    warn_if_cut(&out, content.children.len());
    Ok(out)
}

#[cfg(feature = "client")]
fn from_json(text: &[u8]) -> Result<Additional, String> {
    use crate::protocol::json::{self, Json};
    let doc = json::parse(text).map_err(|e| e.to_string())?;
    let Some(Json::Obj(sections)) = doc.get("content") else {
        return Err("no \"content\" object".into());
    };
    let fields_of = |section: &str, obj: &Json| -> Vec<(String, Owned)> {
        let mut fields = Vec::new();
        let Json::Obj(members) = obj else {
            return fields;
        };
        for (k, v) in members {
            let Some(name) = field_name(k) else {
                log::warn!("additional content: field {k:?} of {section} is not a valid name; left out");
                continue;
            };
            let scalar = |v: &Json| match v {
                Json::Str(s) => Some(Owned::Str(s.clone())),
                Json::Bool(b) => Some(Owned::Bool(*b)),
                Json::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(Owned::Int(*n as i64)),
                Json::Num(n) => Some(Owned::Str(n.to_string())),
                _ => None,
            };
            match v {
                // A list of values (`members`, `ips`) is the field repeated.
                Json::Arr(items) => {
                    fields.extend(items.iter().filter_map(scalar).map(|o| (name.clone(), o)))
                }
                other => match scalar(other) {
                    Some(o) => fields.push((name, o)),
                    None => log::warn!(
                        "additional content: field {k:?} of {section} is neither text, a number nor a list of them; left out"
                    ),
                },
            }
        }
        fields
    };
    let mut out = Additional::default();
    let mut count = 0;
    for (name, value) in sections {
        match value {
            Json::Arr(items) => {
                for item in items {
                    count += 1;
                    push(&mut out, name, fields_of(name, item));
                }
            }
            Json::Obj(_) => {
                count += 1;
                push(&mut out, name, fields_of(name, value));
            }
            // versionclient and the like: the agent writes its own.
            _ => log::warn!("additional content: {name:?} is not a section; left out"),
        }
    }
    warn_if_cut(&out, count);
    Ok(out)
}

#[cfg(feature = "client")]
fn warn_if_cut(out: &Additional, given: usize) {
    if out.entries.len() >= MAX_ENTRIES && given > MAX_ENTRIES {
        log::warn!("additional content: more than {MAX_ENTRIES} entries; the rest is left out");
    }
}

const SECTIONS: usize = Section::ALL.len();

/// Passes the inventory on to `inner` with the additional entries merged in (see the module).
pub struct Merge<'a, S: Sink + ?Sized> {
    extra: &'a Additional,
    inner: &'a mut S,
    /// The section whose entry is being written.
    current: Option<Section>,
    /// Nested objects open in it (TIMEZONE).
    nested: usize,
    /// The list section whose entries came last: its extra entries go before the next one.
    last_list: Option<Section>,
    seen: [bool; SECTIONS],
}

impl<'a, S: Sink + ?Sized> Merge<'a, S> {
    pub fn new(extra: &'a Additional, inner: &'a mut S) -> Self {
        Merge {
            extra,
            inner,
            current: None,
            nested: 0,
            last_list: None,
            seen: [false; SECTIONS],
        }
    }

    pub fn inner(&self) -> &S {
        self.inner
    }

    fn fields(&mut self, e: &Entry) -> io::Result<()> {
        for (k, v) in &e.fields {
            self.inner.field(k, v.as_value())?;
        }
        Ok(())
    }

    /// The extra entries of the list section that just ended.
    fn flush_list(&mut self) -> io::Result<()> {
        let Some(section) = self.last_list.take() else {
            return Ok(());
        };
        let extra = self.extra;
        for e in extra.of(section) {
            self.inner.begin(section)?;
            self.fields(e)?;
            self.inner.end()?;
        }
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for Merge<'_, S> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        if self.last_list.is_some_and(|l| l != section) {
            self.flush_list()?;
        }
        self.seen[section.index()] = true;
        self.current = Some(section);
        self.nested = 0;
        if !section.is_single() {
            self.last_list = Some(section);
        }
        self.inner.begin(section)
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        if let Some(s) = self.current.filter(|s| s.is_single()) {
            if self.nested == 0 && self.extra.overrides(s, key) {
                return Ok(());
            }
        }
        self.inner.field(key, value)
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        self.nested += 1;
        self.inner.open(key)
    }

    fn close(&mut self) -> io::Result<()> {
        self.nested = self.nested.saturating_sub(1);
        self.inner.close()
    }

    fn end(&mut self) -> io::Result<()> {
        if let Some(s) = self.current.take().filter(|s| s.is_single()) {
            let extra = self.extra;
            for e in extra.of(s) {
                self.fields(e)?;
            }
        }
        self.inner.end()
    }

    fn download_history(&mut self, ids: &[String]) -> io::Result<()> {
        self.inner.download_history(ids)
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.flush_list()?;
        self.inner.scalar(key, value)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush_list()?;
        let extra = self.extra;
        for section in Section::ALL {
            if self.seen[section.index()] || extra.of(section).next().is_none() {
                continue;
            }
            if section.is_single() {
                self.inner.begin(section)?;
                for e in extra.of(section) {
                    self.fields(e)?;
                }
                self.inner.end()?;
            } else {
                for e in extra.of(section) {
                    self.inner.begin(section)?;
                    self.fields(e)?;
                    self.inner.end()?;
                }
            }
        }
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::inventory::output::json::JsonWriter;

    fn extra() -> Additional {
        Additional {
            entries: vec![
                Entry {
                    section: Section::Softwares,
                    fields: vec![("NAME".into(), Owned::Str("custom-app".into()))],
                },
                Entry {
                    section: Section::Hardware,
                    fields: vec![("NAME".into(), Owned::Str("asset-42".into()))],
                },
                Entry {
                    section: Section::Batteries,
                    fields: vec![("NAME".into(), Owned::Str("ups".into()))],
                },
            ],
        }
    }

    #[test]
    fn entries_join_their_section_and_single_fields_replace_the_collected_ones() {
        let extra = extra();
        let mut w = JsonWriter::new(Vec::new(), "d", None, "Computer", false).unwrap();
        {
            let mut m = Merge::new(&extra, &mut w);
            m.begin(Section::Softwares).unwrap();
            m.text("NAME", "bash").unwrap();
            m.end().unwrap();
            m.begin(Section::Processes).unwrap();
            m.int("PID", 1).unwrap();
            m.end().unwrap();
            m.begin(Section::Hardware).unwrap();
            m.text("NAME", "box").unwrap();
            m.int("MEMORY", 64).unwrap();
            m.end().unwrap();
            m.scalar("VERSIONCLIENT", "v").unwrap();
            m.finish().unwrap();
        }
        let s = String::from_utf8(w.into_inner()).unwrap();
        assert!(
            s.contains(r#""softwares":[{"name":"bash"},{"name":"custom-app"}],"processes""#),
            "{s}"
        );
        assert!(s.contains(r#""hardware":{"memory":64,"name":"asset-42"}"#), "{s}");
        assert!(s.contains(r#""batteries":[{"name":"ups"}]"#), "{s}");
        assert_eq!(s.matches("\"softwares\"").count(), 1, "{s}");
    }

    #[cfg(feature = "client")]
    #[test]
    fn xml_and_json_files_give_the_same_entries() {
        let x = from_xml(
            "<REQUEST><CONTENT><SOFTWARES><NAME>custom-app</NAME><VERSION>2</VERSION></SOFTWARES>\
             <NOPE><A>1</A></NOPE><HARDWARE><NAME>asset-42</NAME></HARDWARE></CONTENT></REQUEST>",
        )
        .unwrap();
        let j = from_json(
            br#"{"content":{"softwares":[{"name":"custom-app","version":"2"}],"nope":[{"a":1}],
                "hardware":{"name":"asset-42"},"versionclient":"x"}}"#,
        )
        .unwrap();
        assert_eq!(x, j);
        assert_eq!(x.entries.len(), 2);
        let bad = from_json(br#"{"content":{"local_groups":[{"name":"g","members":["a","b"],"bad key":1}]}}"#)
            .unwrap();
        assert_eq!(
            bad.entries[0].fields,
            vec![
                ("NAME".into(), Owned::Str("g".into())),
                ("MEMBERS".into(), Owned::Str("a".into())),
                ("MEMBERS".into(), Owned::Str("b".into())),
            ]
        );
        assert!(from_json(b"{\"no\":1}").is_err());
    }
}
