//! The machine at a glance: the few facts the page shows first (name, system, processor,
//! memory, addresses, serial numbers), kept as they stream past in their sections.

use std::io::{self, Write};

use super::columns::write_mib;
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

/// The text facts, by the section and field they come from.
const TEXT_FACTS: [(Section, &str, Fact); 21] = [
    (Section::OperatingSystem, "FULL_NAME", Fact::OsFull),
    (Section::OperatingSystem, "NAME", Fact::OsName),
    (Section::OperatingSystem, "VERSION", Fact::OsVersion),
    (Section::OperatingSystem, "KERNEL_VERSION", Fact::Kernel),
    (Section::OperatingSystem, "ARCH", Fact::Arch),
    (Section::OperatingSystem, "FQDN", Fact::Fqdn),
    (Section::OperatingSystem, "BOOT_TIME", Fact::Booted),
    (Section::Bios, "SMANUFACTURER", Fact::SysVendor),
    (Section::Bios, "SMODEL", Fact::SysModel),
    (Section::Bios, "MMANUFACTURER", Fact::BoardVendor),
    (Section::Bios, "MMODEL", Fact::BoardModel),
    (Section::Bios, "SSN", Fact::SysSerial),
    (Section::Bios, "MSN", Fact::BoardSerial),
    (Section::Bios, "ENCLOSURESERIAL", Fact::ChassisSerial),
    (Section::Bios, "ASSETTAG", Fact::AssetTag),
    (Section::Hardware, "NAME", Fact::Name),
    (Section::Hardware, "UUID", Fact::Uuid),
    (Section::Hardware, "VMSYSTEM", Fact::Virtualization),
    (Section::Hardware, "IPADDR", Fact::MainAddress),
    (Section::Hardware, "DEFAULTGATEWAY", Fact::Gateway),
    (Section::Hardware, "DNS", Fact::Dns),
];

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

/// `s` cut at [`MAX_FACT`] bytes, on a character boundary.
pub fn bounded(s: &str) -> String {
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
        if let Some((_, _, fact)) = TEXT_FACTS
            .iter()
            .find(|(s, k, _)| *s == section && *k == key)
        {
            self.set(*fact, text);
            return;
        }
        let int = || match value {
            Value::Int(n) => n,
            Value::Str(s) => s.trim().parse().unwrap_or(0),
            Value::Bool(_) => 0,
        };
        match (section, key) {
            (Section::Hardware, "MEMORY") if self.memory_mib.is_none() => {
                self.memory_mib = Some(int())
            }
            (Section::Hardware, "SWAP") if self.swap_mib.is_none() => self.swap_mib = Some(int()),
            (Section::Cpus, "NAME") if self.cpu_name.is_none() => {
                self.cpu_name = Some(bounded(text));
            }
            (Section::Cpus, "SPEED") if self.cpu_speed.is_none() => self.cpu_speed = Some(int()),
            (Section::Cpus, "CORE") => self.cores = self.cores.saturating_add(int()),
            (Section::Cpus, "LOGICAL_CPUS") => self.logical = self.logical.saturating_add(int()),
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
        // Made in memory (a few hundred bytes), then written once: no error to handle at
        // every step.
        let mut buf = Vec::with_capacity(2048);
        self.render(&mut buf, deviceid);
        out.write_all(&buf)
    }

    fn render(&self, out: &mut Vec<u8>, deviceid: &str) {
        use Fact::*;
        out.extend_from_slice(b"<header class=\"top\" style=\"order:1\">\n<h1>");
        text(out, self.name().unwrap_or(deviceid));
        if let Some(fqdn) = self.get(Fqdn).filter(|f| Some(*f) != self.get(Name)) {
            out.extend_from_slice(b" <small>");
            text(out, fqdn);
            out.extend_from_slice(b"</small>");
        }
        out.extend_from_slice(b"</h1>\n<dl class=\"facts\">\n");

        let os = match self.get(OsFull) {
            Some(full) => [("", Some(full)), ("", None)],
            None => [("", self.get(OsName)), (" ", self.get(OsVersion))],
        };
        fact_parts(
            out,
            "Operating system",
            &[
                os[0],
                os[1],
                (" · Linux ", self.get(Kernel)),
                (" · ", self.get(Arch)),
            ],
        );
        if self.get(SysVendor).is_some() || self.get(SysModel).is_some() {
            fact_parts(
                out,
                "Model",
                &[("", self.get(SysVendor)), (" ", self.get(SysModel))],
            );
        } else {
            fact_parts(
                out,
                "Model",
                &[("", self.get(BoardVendor)), (" ", self.get(BoardModel))],
            );
        }

        fact_start(out, "Processor");
        match &self.cpu_name {
            Some(name) => {
                if self.cpus > 1 {
                    let _ = write!(out, "{} × ", self.cpus);
                }
                text(out, name);
                if self.cores > 0 {
                    let _ = write!(out, " · {} cores", self.cores);
                }
                if self.logical > 0 {
                    let _ = write!(out, ", {} threads", self.logical);
                }
                if let Some(mhz) = self.cpu_speed.filter(|m| *m > 0) {
                    let _ = write!(out, " · {mhz} MHz");
                }
            }
            None => out.extend_from_slice(UNKNOWN),
        }
        fact_end(out);

        fact_start(out, "Memory");
        match self.memory_mib {
            Some(mib) => {
                let _ = write_mib(out, mib);
                if let Some(swap) = self.swap_mib.filter(|s| *s > 0) {
                    out.extend_from_slice(" · swap ".as_bytes());
                    let _ = write_mib(out, swap);
                }
            }
            None => out.extend_from_slice(UNKNOWN),
        }
        fact_end(out);

        fact_start(out, "IP addresses");
        if self.addresses.is_empty() {
            match self.get(MainAddress) {
                Some(ip) => text(out, ip),
                None => out.extend_from_slice(b"<span class=\"none\">none found</span>"),
            }
        }
        for (i, (iface, ip)) in self.addresses.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"<br>");
            }
            text(out, ip);
            if !iface.is_empty() {
                out.extend_from_slice(b" <span class=\"k\">");
                text(out, iface);
                out.extend_from_slice(b"</span>");
            }
        }
        if self.more_addresses > 0 {
            let _ = write!(
                out,
                "<br><span class=\"k\">and {} more (see Network interfaces)</span>",
                self.more_addresses
            );
        }
        fact_end(out);
        match (self.get(Gateway), self.get(Dns)) {
            (None, None) => {}
            (None, dns) => fact_parts(out, "DNS", &[("", dns)]),
            (gw, dns) => fact_parts(out, "Gateway", &[("", gw), (" · DNS ", dns)]),
        }

        fact_start(out, "Serial numbers");
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
                out.extend_from_slice(b"<br>");
            }
            any = true;
            text(out, v);
            let _ = write!(out, " <span class=\"k\">{what}</span>");
        }
        if !any {
            out.extend_from_slice(b"<span class=\"none\">none readable</span>");
        }
        fact_end(out);
        fact(out, "UUID", self.get(Uuid));
        if let Some(vm) = self.get(Virtualization).filter(|v| *v != "Physical") {
            fact(out, "Virtualization", Some(vm));
        }
        if let Some(boot) = self.get(Booted) {
            fact(out, "Booted", Some(boot));
        }
        out.extend_from_slice(b"</dl>\n</header>\n");
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

const UNKNOWN: &[u8] = b"<span class=\"none\">unknown</span>";

/// Escaped text (a `Vec` takes every write).
fn text(out: &mut Vec<u8>, s: &str) {
    let _ = write_xml_text(out, s);
}

/// A fact made of parts, each after its separator when present ("unknown" when none is).
fn fact_parts(out: &mut Vec<u8>, label: &str, parts: &[(&str, Option<&str>)]) {
    fact_start(out, label);
    let mut any = false;
    for (sep, part) in parts {
        let Some(part) = part else { continue };
        if any {
            out.extend_from_slice(sep.as_bytes());
        }
        any = true;
        text(out, part);
    }
    if !any {
        out.extend_from_slice(UNKNOWN);
    }
    fact_end(out)
}

fn fact_start(out: &mut Vec<u8>, label: &str) {
    out.extend_from_slice(b"<div><dt>");
    out.extend_from_slice(label.as_bytes());
    out.extend_from_slice(b"</dt><dd>");
}

fn fact_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</dd></div>\n");
}

fn fact(out: &mut Vec<u8>, label: &str, value: Option<&str>) {
    fact_parts(out, label, &[("", value)])
}
