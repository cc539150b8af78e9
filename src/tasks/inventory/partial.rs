//! Partial inventories (GLPI's `"partial": true`): only some categories are sent, and GLPI
//! keeps what it has for the others.
//!
//! Two ways to choose them: categories named by the caller (`--partial software`, a `/now`
//! event), or the categories whose digest changed since the last inventory the server took
//! (`--changed-only`, what `full-inventory-postpone` asks for). Either way BIOS and HARDWARE
//! (and a network device's description) are always sent, and OPERATINGSYSTEM whenever
//! SOFTWARES is, as GLPI needs them to find the asset and file its software.

use std::io;

use super::digest::Digests;
use super::sink::{Section, Sink, Value};
use super::Category;

const SECTIONS: usize = Section::ALL.len();

/// The category a section belongs to (`None`: not one `--no-category` or a partial names).
pub fn category_of(s: Section) -> Option<Category> {
    Some(match s {
        Section::OperatingSystem | Section::Firmwares => Category::Os,
        Section::Bios => Category::Bios,
        Section::Cpus => Category::Cpu,
        Section::Memories => Category::Memory,
        Section::Slots => Category::Slot,
        Section::Ports => Category::Port,
        Section::Controllers => Category::Controller,
        Section::Videos => Category::Video,
        Section::UsbDevices => Category::Usb,
        Section::Storages => Category::Storage,
        Section::Drives => Category::Drive,
        Section::Networks | Section::NetworkPorts => Category::Network,
        Section::Softwares => Category::Software,
        Section::Users => Category::User,
        Section::LocalUsers => Category::LocalUser,
        Section::LocalGroups => Category::LocalGroup,
        Section::Batteries => Category::Battery,
        Section::Processes => Category::Process,
        Section::Hardware | Section::NetworkDevice => Category::Hardware,
        Section::AccountInfo | Section::IpDiscover => return None,
    })
}

/// Sections every partial inventory carries.
const ALWAYS: [Section; 4] = [
    Section::Bios,
    Section::Hardware,
    Section::NetworkDevice,
    Section::AccountInfo,
];

/// The sections a partial inventory writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep([bool; SECTIONS]);

impl Keep {
    fn with_always(mut self) -> Keep {
        for s in ALWAYS {
            self.0[s.index()] = true;
        }
        if self.contains(Section::Softwares) {
            self.0[Section::OperatingSystem.index()] = true;
        }
        self
    }

    /// The sections of `categories`, and those every partial carries.
    pub fn categories(categories: &[Category]) -> Keep {
        let mut k = Keep([false; SECTIONS]);
        for s in Section::ALL {
            if category_of(s).is_some_and(|c| categories.contains(&c)) {
                k.0[s.index()] = true;
            }
        }
        k.with_always()
    }

    pub fn contains(&self, s: Section) -> bool {
        self.0[s.index()]
    }

    /// The sections kept, by their JSON names (for logs and tests).
    pub fn names(&self) -> Vec<&'static str> {
        Section::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .filter_map(Section::json_name)
            .collect()
    }
}

/// What to send, given the digests of the last inventory the server took and of this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Everything, and why.
    Full(&'static str),
    Partial(Keep),
}

/// The changed sections and those always sent; a full inventory when a section disappeared
/// (a partial cannot say so) or when every section changed anyway.
pub fn plan(previous: &Digests, now: &Digests) -> Plan {
    let mut keep = Keep([false; SECTIONS]);
    for s in Section::ALL {
        match (previous.get(s), now.get(s)) {
            (Some(_), None) if s.json_name().is_some() => {
                return Plan::Full("a category disappeared since the last inventory")
            }
            (p, Some(n)) if p != Some(n) => keep.0[s.index()] = true,
            _ => {}
        }
    }
    let keep = keep.with_always();
    let everything = Section::ALL
        .into_iter()
        .all(|s| now.get(s).is_none() || keep.contains(s));
    if everything {
        Plan::Full("every category changed")
    } else {
        Plan::Partial(keep)
    }
}

/// The digests the server holds once it took a partial inventory: the new ones of the
/// sections sent, the old ones of the others.
pub fn merged(previous: Option<&Digests>, now: &Digests, keep: Option<Keep>) -> Digests {
    let Some(keep) = keep else {
        return now.clone();
    };
    let mut out = previous.cloned().unwrap_or_default();
    for s in Section::ALL {
        if keep.contains(s) {
            out.0[s.index()] = now.get(s);
        }
    }
    out
}

/// Passes on the sections of `keep` (all with `None`) and drops the others.
pub struct Filter<'a> {
    inner: &'a mut dyn Sink,
    keep: Option<Keep>,
    /// The current entry is dropped.
    dropping: bool,
}

impl<'a> Filter<'a> {
    pub fn new(inner: &'a mut dyn Sink, keep: Option<Keep>) -> Filter<'a> {
        Filter {
            inner,
            keep,
            dropping: false,
        }
    }
}

impl Sink for Filter<'_> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.dropping = self.keep.is_some_and(|k| !k.contains(section));
        if self.dropping {
            return Ok(());
        }
        self.inner.begin(section)
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        if self.dropping {
            return Ok(());
        }
        self.inner.field(key, value)
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        if self.dropping {
            return Ok(());
        }
        self.inner.open(key)
    }

    fn close(&mut self) -> io::Result<()> {
        if self.dropping {
            return Ok(());
        }
        self.inner.close()
    }

    fn end(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.dropping) {
            return Ok(());
        }
        self.inner.end()
    }

    fn download_history(&mut self, ids: &[String]) -> io::Result<()> {
        self.inner.download_history(ids)
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.inner.scalar(key, value)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests(pairs: &[(Section, u64)]) -> Digests {
        let mut d = Digests::default();
        for (s, v) in pairs {
            d.0[s.index()] = Some(*v);
        }
        d
    }

    #[test]
    fn every_section_but_accountinfo_and_ipdiscover_has_a_category() {
        for s in Section::ALL {
            assert_eq!(
                category_of(s).is_none(),
                matches!(s, Section::AccountInfo | Section::IpDiscover),
                "{s:?}"
            );
        }
    }

    #[test]
    fn named_categories_bring_bios_hardware_and_os_with_software() {
        let k = Keep::categories(&[Category::Software]);
        assert_eq!(
            k.names(),
            ["operatingsystem", "bios", "softwares", "network_device", "hardware"]
        );
        let k = Keep::categories(&[Category::Cpu]);
        assert!(!k.contains(Section::OperatingSystem) && k.contains(Section::Cpus));
    }

    #[test]
    fn only_changed_sections_are_planned_and_a_vanished_one_means_full() {
        use Section::*;
        let old = digests(&[(Bios, 1), (Hardware, 2), (Cpus, 3), (Softwares, 4), (OperatingSystem, 5)]);
        let same = plan(&old, &old);
        assert_eq!(same, Plan::Partial(Keep::categories(&[])));
        let soft = digests(&[(Bios, 1), (Hardware, 2), (Cpus, 3), (Softwares, 9), (OperatingSystem, 5)]);
        match plan(&old, &soft) {
            Plan::Partial(k) => {
                assert_eq!(k.names(), ["operatingsystem", "bios", "softwares", "network_device", "hardware"])
            }
            p => panic!("{p:?}"),
        }
        let gone = digests(&[(Bios, 1), (Hardware, 2), (Softwares, 4), (OperatingSystem, 5)]);
        assert!(matches!(plan(&old, &gone), Plan::Full(_)));
        let all = digests(&[(Bios, 7), (Hardware, 8), (Cpus, 9), (Softwares, 10), (OperatingSystem, 11)]);
        assert!(matches!(plan(&old, &all), Plan::Full(_)));
        let m = merged(Some(&old), &soft, Some(Keep::categories(&[Category::Software])));
        assert_eq!(m, soft);
        let only_cpu = merged(Some(&old), &all, Some(Keep::categories(&[Category::Cpu])));
        assert_eq!(only_cpu.get(Cpus), Some(9));
        assert_eq!(only_cpu.get(Softwares), Some(4));
    }
}
