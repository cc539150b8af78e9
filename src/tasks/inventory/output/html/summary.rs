//! The machine at a glance: the few facts the page shows first (name, system, processor,
//! memory, addresses, serial numbers), kept as they stream past in their sections.

use std::io::{self, Write};

use super::columns::write_size;
use crate::core::markup::write_xml_text;
use crate::tasks::inventory::sink::{Section, Value};

/// Longest fact kept, in bytes (a model name, a serial number).
const MAX_FACT: usize = 256;
/// Addresses listed in the summary; the rest are counted.
const MAX_ADDRESSES: usize = 8;

/// A fact of the summary, by where it comes from.
#[derive(Clone, Copy)]
enum Fact {
    Name,
    Fqdn,
    OsFull,
    OsName,
    OsVersion,
    Kernel,
    Arch,
    Booted,
    SysVendor,
    SysModel,
    BoardVendor,
    BoardModel,
    SysSerial,
    BoardSerial,
    ChassisSerial,
    AssetTag,
    Uuid,
    Virtualization,
    MainAddress,
    Gateway,
    Dns,
    Version,
}

const FACTS: usize = Fact::Version as usize + 1;

#[derive(Default)]
pub struct Summary {
    facts: [Option<String>; FACTS],
    memory_mib: Option<i64>,
    swap_mib: Option<i64>,
    cpu_name: Option<String>,
    cpu_speed: Option<i64>,
    cpus: i64,
    cores: i64,
    logical: i64,
    /// (interface, address), from NETWORKS.
    addresses: Vec<(String, String)>,
    more_addresses: usize,
    /// The interface of the NETWORKS entry being read, and its addresses.
    iface: Option<String>,
    pending: Vec<String>,
}

fn bounded(s: &str) -> String {
    let mut end = s.len().min(MAX_FACT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Loopback and link-local addresses say nothing about where the machine is.
fn worth_showing(ip: &str) -> bool {
    !(ip.starts_with("127.")
        || ip == "::1"
        || ip.to_ascii_lowercase().starts_with("fe80:")
        || ip.is_empty())
}

impl Summary {
    fn set(&mut self, f: Fact, v: &str) {
        let v = v.trim();
        if !v.is_empty() && self.facts[f as usize].is_none() {
            self.facts[f as usize] = Some(bounded(v));
        }
    }

    fn get(&self, f: Fact) -> Option<&str> {
        self.facts[f as usize].as_deref()
    }

    /// Keeps what the summary needs of one field.
    pub fn field(&mut self, section: Section, nested: bool, key: &str, value: Value<'_>) {
        if nested {
            return;
        }
        let text = match value {
            Value::Str(s) => s,
            _ => "",
        };
        let int = match value {
            Value::Int(n) => Some(n),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Bool(_) => None,
        };
        use Fact::*;
        match (section, key) {
            (Section::OperatingSystem, "FULL_NAME") => self.set(OsFull, text),
            (Section::OperatingSystem, "NAME") => self.set(OsName, text),
            (Section::OperatingSystem, "VERSION") => self.set(OsVersion, text),
            (Section::OperatingSystem, "KERNEL_VERSION") => self.set(Kernel, text),
            (Section::OperatingSystem, "ARCH") => self.set(Arch, text),
            (Section::OperatingSystem, "FQDN") => self.set(Fqdn, text),
            (Section::OperatingSystem, "BOOT_TIME") => self.set(Booted, text),
            (Section::Bios, "SMANUFACTURER") => self.set(SysVendor, text),
            (Section::Bios, "SMODEL") => self.set(SysModel, text),
            (Section::Bios, "MMANUFACTURER") => self.set(BoardVendor, text),
            (Section::Bios, "MMODEL") => self.set(BoardModel, text),
            (Section::Bios, "SSN") => self.set(SysSerial, text),
            (Section::Bios, "MSN") => self.set(BoardSerial, text),
            (Section::Bios, "ENCLOSURESERIAL") => self.set(ChassisSerial, text),
            (Section::Bios, "ASSETTAG") => self.set(AssetTag, text),
            (Section::Hardware, "NAME") => self.set(Name, text),
            (Section::Hardware, "UUID") => self.set(Uuid, text),
            (Section::Hardware, "VMSYSTEM") => self.set(Virtualization, text),
            (Section::Hardware, "IPADDR") => self.set(MainAddress, text),
            (Section::Hardware, "DEFAULTGATEWAY") => self.set(Gateway, text),
            (Section::Hardware, "DNS") => self.set(Dns, text),
            (Section::Hardware, "MEMORY") => self.memory_mib = self.memory_mib.or(int),
            (Section::Hardware, "SWAP") => self.swap_mib = self.swap_mib.or(int),
            (Section::Cpus, "NAME") if self.cpu_name.is_none() => {
                self.cpu_name = Some(bounded(text));
            }
            (Section::Cpus, "SPEED") => self.cpu_speed = self.cpu_speed.or(int),
            (Section::Cpus, "CORE") => self.cores = self.cores.saturating_add(int.unwrap_or(0)),
            (Section::Cpus, "LOGICAL_CPUS") => {
                self.logical = self.logical.saturating_add(int.unwrap_or(0))
            }
            (Section::Networks, "DESCRIPTION") => self.iface = Some(bounded(text)),
            (Section::Networks, "IPADDRESS" | "IPADDRESS6")
                if worth_showing(text.trim()) && self.pending.len() < MAX_ADDRESSES =>
            {
                self.pending.push(bounded(text.trim()));
            }
            _ => {}
        }
    }

    /// The end of an entry of `section`.
    pub fn end(&mut self, section: Section) {
        if section == Section::Cpus {
            self.cpus += 1;
        }
        if section != Section::Networks {
            return;
        }
        let iface = self.iface.take().unwrap_or_default();
        for ip in self.pending.drain(..) {
            if self.addresses.iter().any(|(_, a)| *a == ip) {
                continue;
            }
            if self.addresses.len() < MAX_ADDRESSES {
                self.addresses.push((iface.clone(), ip));
            } else {
                self.more_addresses += 1;
            }
        }
    }

    pub fn version(&mut self, v: &str) {
        self.set(Fact::Version, v);
    }

    /// The host name the page is about.
    pub fn name(&self) -> Option<&str> {
        self.get(Fact::Name).or(self.get(Fact::Fqdn))
    }

    /// The summary block: a heading and the facts, as a definition list.
    pub fn write(&self, out: &mut dyn Write, deviceid: &str) -> io::Result<()> {
        use Fact::*;
        out.write_all(b"<header class=\"top\" style=\"order:1\">\n<h1>")?;
        write_xml_text(out, self.name().unwrap_or(deviceid))?;
        if let Some(fqdn) = self.get(Fqdn).filter(|f| Some(*f) != self.get(Name)) {
            out.write_all(b" <small>")?;
            write_xml_text(out, fqdn)?;
            out.write_all(b"</small>")?;
        }
        out.write_all(b"</h1>\n<dl class=\"facts\">\n")?;

        let os = self
            .get(OsFull)
            .map(str::to_string)
            .or_else(|| join(&[self.get(OsName), self.get(OsVersion)], " "));
        let kernel = self.get(Kernel).map(|k| format!("Linux {k}"));
        let system = join(&[os.as_deref(), kernel.as_deref(), self.get(Arch)], " · ");
        fact(out, "Operating system", system.as_deref())?;

        let model = join(&[self.get(SysVendor), self.get(SysModel)], " ")
            .or_else(|| join(&[self.get(BoardVendor), self.get(BoardModel)], " "));
        fact(out, "Model", model.as_deref())?;

        let cpu = self.cpu_name.as_deref().map(|name| {
            let mut s = String::new();
            if self.cpus > 1 {
                s.push_str(&format!("{} × ", self.cpus));
            }
            s.push_str(name);
            if self.cores > 0 {
                s.push_str(&format!(" · {} cores", self.cores));
            }
            if self.logical > 0 {
                s.push_str(&format!(", {} threads", self.logical));
            }
            if let Some(mhz) = self.cpu_speed.filter(|m| *m > 0) {
                s.push_str(&format!(" · {mhz} MHz"));
            }
            s
        });
        fact(out, "Processor", cpu.as_deref())?;

        if let Some(mib) = self.memory_mib {
            fact_start(out, "Memory")?;
            write_size(out, i128::from(mib) << 20)?;
            if let Some(swap) = self.swap_mib.filter(|s| *s > 0) {
                out.write_all(" · swap ".as_bytes())?;
                write_size(out, i128::from(swap) << 20)?;
            }
            fact_end(out)?;
        } else {
            fact(out, "Memory", None)?;
        }

        fact_start(out, "IP addresses")?;
        if self.addresses.is_empty() {
            match self.get(MainAddress) {
                Some(ip) => write_xml_text(out, ip)?,
                None => out.write_all(b"<span class=\"none\">none found</span>")?,
            }
        }
        for (i, (iface, ip)) in self.addresses.iter().enumerate() {
            if i > 0 {
                out.write_all(b"<br>")?;
            }
            write_xml_text(out, ip)?;
            if !iface.is_empty() {
                out.write_all(b" <span class=\"k\">")?;
                write_xml_text(out, iface)?;
                out.write_all(b"</span>")?;
            }
        }
        if self.more_addresses > 0 {
            write!(
                out,
                "<br><span class=\"k\">and {} more (see Network interfaces)</span>",
                self.more_addresses
            )?;
        }
        fact_end(out)?;
        let route = join(&[self.get(Gateway), self.get(Dns)], " · DNS ");
        if route.is_some() {
            let label = if self.get(Gateway).is_some() {
                "Gateway"
            } else {
                "DNS"
            };
            fact(out, label, route.as_deref())?;
        }

        fact_start(out, "Serial numbers")?;
        let serials = [
            ("system", self.get(SysSerial)),
            ("board", self.get(BoardSerial)),
            ("chassis", self.get(ChassisSerial)),
            ("asset tag", self.get(AssetTag)),
        ];
        let mut any = false;
        for (what, v) in serials {
            let Some(v) = v else { continue };
            if any {
                out.write_all(b"<br>")?;
            }
            any = true;
            write_xml_text(out, v)?;
            write!(out, " <span class=\"k\">{what}</span>")?;
        }
        if !any {
            out.write_all(b"<span class=\"none\">none readable</span>")?;
        }
        fact_end(out)?;
        fact(out, "UUID", self.get(Uuid))?;
        if let Some(vm) = self.get(Virtualization).filter(|v| *v != "Physical") {
            fact(out, "Virtualization", Some(vm))?;
        }
        if let Some(boot) = self.get(Booted) {
            fact(out, "Booted", Some(boot))?;
        }
        out.write_all(b"</dl>\n</header>\n")
    }

    /// The page's footer: who wrote it, for which DEVICEID.
    pub fn write_footer(&self, out: &mut dyn Write, deviceid: &str) -> io::Result<()> {
        out.write_all(b"<footer style=\"order:99\">Inventory written by ")?;
        write_xml_text(out, self.get(Fact::Version).unwrap_or("uagent"))?;
        out.write_all(" · DEVICEID ".as_bytes())?;
        write_xml_text(out, deviceid)?;
        out.write_all(b"</footer>\n")
    }
}

fn join(parts: &[Option<&str>], sep: &str) -> Option<String> {
    let parts: Vec<&str> = parts.iter().flatten().copied().collect();
    (!parts.is_empty()).then(|| parts.join(sep))
}

fn fact_start(out: &mut dyn Write, label: &str) -> io::Result<()> {
    write!(out, "<div><dt>{label}</dt><dd>")
}

fn fact_end(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"</dd></div>\n")
}

fn fact(out: &mut dyn Write, label: &str, value: Option<&str>) -> io::Result<()> {
    fact_start(out, label)?;
    match value {
        Some(v) => write_xml_text(out, v)?,
        None => out.write_all(b"<span class=\"none\">unknown</span>")?,
    }
    fact_end(out)
}
