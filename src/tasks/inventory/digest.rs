//! Section digests: what lets a run tell the OCS server which sections changed since the last
//! inventory it accepted (HARDWARE/CHECKSUM), and lets GLPI runs skip unchanged sections.
//!
//! The digest is a 64-bit multiply-rotate hash over the fields as written: cheap, stable across
//! builds and machines, and a collision only costs a section that is not resent.

use std::io;

use super::sink::{Section, Sink, Value};

const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const K: u64 = 0x517c_c1b7_2722_0a95;

/// Mixes `bytes` into `h` eight bytes at a time (little-endian words, so the digest is the
/// same on every machine).
fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(K);
    }
    for &b in words.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// Digest of every section, `None` for those not written in this run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digests(pub [Option<u64>; Section::ALL.len()]);

impl Digests {
    pub fn get(&self, s: Section) -> Option<u64> {
        self.0[s.index()]
    }

    /// HARDWARE/CHECKSUM: the bits of the sections whose digest differs from `previous`
    /// (every bit when there is no previous state).
    pub fn changed_since(&self, previous: Option<&Digests>) -> u32 {
        let Some(prev) = previous else {
            return super::sink::CHECKSUM_ALL;
        };
        Section::ALL
            .iter()
            .filter(|s| s.checksum_bit() != 0 && self.get(**s) != prev.get(**s))
            .fold(0, |mask, s| mask | s.checksum_bit())
    }

    /// `name=hex` lines, one per written section, for the state file.
    pub fn to_lines(&self) -> String {
        let mut out = String::new();
        for s in Section::ALL {
            if let Some(d) = self.get(s) {
                out.push_str(&format!("{}={:016x}\n", s.xml_name(), d));
            }
        }
        out
    }

    pub fn from_lines(text: &str) -> Digests {
        let mut d = Digests::default();
        for line in text.lines() {
            let Some((name, hex)) = line.split_once('=') else {
                continue;
            };
            let Some(s) = Section::ALL.iter().find(|s| s.xml_name() == name.trim()) else {
                continue;
            };
            if let Ok(v) = u64::from_str_radix(hex.trim(), 16) {
                d.0[s.index()] = Some(v);
            }
        }
        d
    }
}

/// Passes everything on to `inner` and digests it on the way.
pub struct Digesting<'a> {
    inner: &'a mut dyn Sink,
    current: Option<Section>,
    /// Off when nobody will compare the digests (a local inventory): nothing is hashed.
    enabled: bool,
    pub digests: Digests,
}

impl<'a> Digesting<'a> {
    pub fn new(inner: &'a mut dyn Sink) -> Self {
        Digesting {
            inner,
            current: None,
            enabled: true,
            digests: Digests::default(),
        }
    }

    /// Passes everything on without hashing.
    pub fn disabled(inner: &'a mut dyn Sink) -> Self {
        Digesting {
            enabled: false,
            ..Digesting::new(inner)
        }
    }

    fn mix(&mut self, bytes: &[u8]) {
        if !self.enabled {
            return;
        }
        if let Some(s) = self.current {
            let slot = &mut self.digests.0[s.index()];
            *slot = Some(mix_bytes(slot.unwrap_or(SEED), bytes));
        }
    }
}

impl Sink for Digesting<'_> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.current = Some(section);
        self.mix(b"\x01");
        self.inner.begin(section)
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        // CHECKSUM describes the other sections; it must not change HARDWARE's own digest.
        if !(self.current == Some(Section::Hardware) && key == "CHECKSUM") {
            self.mix(key.as_bytes());
            self.mix(b"=");
            match value {
                Value::Str(s) => self.mix(s.as_bytes()),
                Value::Int(n) => self.mix(n.to_string().as_bytes()),
                Value::Bool(b) => self.mix(if b { b"1" } else { b"0" }),
            }
            self.mix(b"\x00");
        }
        self.inner.field(key, value)
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        self.mix(key.as_bytes());
        self.mix(b"{");
        self.inner.open(key)
    }

    fn close(&mut self) -> io::Result<()> {
        self.mix(b"}");
        self.inner.close()
    }

    fn end(&mut self) -> io::Result<()> {
        self.mix(b"\x02");
        self.current = None;
        self.inner.end()
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.inner.scalar(key, value)
    }

    fn download_history(&mut self, ids: &[String]) -> io::Result<()> {
        self.inner.download_history(ids)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// A sink that writes nothing (to digest without output).
pub struct Discard;

impl Sink for Discard {
    fn begin(&mut self, _: Section) -> io::Result<()> {
        Ok(())
    }
    fn field(&mut self, _: &str, _: Value<'_>) -> io::Result<()> {
        Ok(())
    }
    fn open(&mut self, _: &'static str) -> io::Result<()> {
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

    fn scalar(&mut self, _: &'static str, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(f: impl Fn(&mut dyn Sink)) -> Digests {
        let mut discard = Discard;
        let mut d = Digesting::new(&mut discard);
        f(&mut d);
        d.digests
    }

    #[test]
    fn unchanged_sections_clear_their_bit_and_changed_ones_set_it() {
        let a = digest_of(|s| {
            s.begin(Section::Cpus).unwrap();
            s.text("NAME", "cpu").unwrap();
            s.end().unwrap();
            s.begin(Section::Softwares).unwrap();
            s.text("NAME", "bash").unwrap();
            s.end().unwrap();
        });
        let b = digest_of(|s| {
            s.begin(Section::Cpus).unwrap();
            s.text("NAME", "cpu").unwrap();
            s.end().unwrap();
            s.begin(Section::Softwares).unwrap();
            s.text("NAME", "zsh").unwrap();
            s.end().unwrap();
        });
        assert_eq!(a.changed_since(Some(&a)), 0);
        assert_eq!(b.changed_since(Some(&a)), Section::Softwares.checksum_bit());
        assert_eq!(a.changed_since(None), super::super::sink::CHECKSUM_ALL);
        assert_eq!(Digests::from_lines(&a.to_lines()), a);
    }

    #[test]
    fn the_checksum_field_does_not_change_the_hardware_digest() {
        let with = |n: i64| {
            digest_of(move |s| {
                s.begin(Section::Hardware).unwrap();
                s.text("NAME", "h").unwrap();
                s.int("CHECKSUM", n).unwrap();
                s.end().unwrap();
            })
        };
        assert_eq!(with(1), with(2));
    }
}
