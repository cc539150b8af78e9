//! What the collectors' tests share: a sink that keeps what it is given, and the runner that
//! feeds it one collector's output.

use std::io;

use crate::tasks::inventory::cpu::CpuInfo;
use crate::tasks::inventory::sink::{Section, Sink, Value};
use crate::tasks::inventory::smbios::Tables;
use crate::tasks::inventory::{Category, Context, Facts, Options, Root};

/// Runs one collector over `root` and keeps what it writes.
pub fn run(
    root: Root,
    skip: Vec<Category>,
    smbios: Option<Tables>,
    collect: fn(&mut Context, &mut dyn Sink) -> io::Result<()>,
) -> Recorder {
    let opts = Options {
        root,
        deviceid: "test-2024-01-01-00-00-00".into(),
        accountinfo: Vec::new(),
        skip,
        previous: None,
        digests: false,
        itemtype: Default::default(),
        asset_name: Default::default(),
        additional: Default::default(),
        keep: None,
        download_history: Vec::new(),
        ipdiscover: None,
    };
    let mut ctx = Context {
        opts: &opts,
        root: &opts.root,
        facts: Facts::default(),
        cpuinfo: CpuInfo::default(),
        smbios,
    };
    let mut rec = Recorder::default();
    collect(&mut ctx, &mut rec).unwrap();
    rec
}

#[derive(Default)]
pub struct Recorder {
    pub entries: Vec<(Section, Vec<(String, String)>)>,
}

impl Recorder {
    /// The entries of one section, in order.
    pub fn section(&self, section: Section) -> Vec<&Vec<(String, String)>> {
        self.entries
            .iter()
            .filter(|(s, _)| *s == section)
            .map(|(_, f)| f)
            .collect()
    }

    pub fn sections(&self) -> Vec<Section> {
        self.entries.iter().map(|(s, _)| *s).collect()
    }
}

/// The value of `key` in an entry.
pub fn get<'a>(entry: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

impl Sink for Recorder {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.entries.push((section, Vec::new()));
        Ok(())
    }
    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        let text = match value {
            Value::Str(s) => s.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        };
        if let Some((_, fields)) = self.entries.last_mut() {
            fields.push((key.to_string(), text));
        }
        Ok(())
    }
    fn open(&mut self, _key: &'static str) -> io::Result<()> {
        Ok(())
    }
    fn close(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn download_history(&mut self, _ids: &[String]) -> io::Result<()> {
        Ok(())
    }

    fn scalar(&mut self, _key: &'static str, _value: &str) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
