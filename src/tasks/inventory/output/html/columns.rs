//! What the page calls each section and field, in which order it shows them, and the unit
//! each number is in. The columns of a list section are its known fields: a row that lacks
//! one leaves that cell empty instead of shifting the others.

use std::io::{self, Write};

use crate::core::markup::write_xml_text;
use crate::tasks::inventory::sink::{Section, Value};

/// What a field's number means, and how it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Text,
    /// A plain number (a count, an id): right-aligned.
    Number,
    MiB,
    KiB,
    Bytes,
    MHz,
    /// Megabits per second (`/sys/class/net/*/speed`).
    Mbps,
    /// Milliwatt-hours (battery capacities).
    MilliWh,
    /// Millivolts.
    MilliV,
    /// A share in percent (`0.3`).
    Percent,
}

impl Unit {
    /// Numbers are right-aligned.
    pub fn numeric(self) -> bool {
        self != Unit::Text
    }
}

/// One known field of a section.
#[derive(Debug)]
pub struct Col {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: Unit,
}

const fn c(key: &'static str, label: &'static str, unit: Unit) -> Col {
    Col { key, label, unit }
}

use Unit::*;

const OPERATINGSYSTEM: &[Col] = &[
    c("FULL_NAME", "Name", Text),
    c("NAME", "Distribution", Text),
    c("VERSION", "Version", Text),
    c("KERNEL_NAME", "Kernel", Text),
    c("KERNEL_VERSION", "Kernel version", Text),
    c("ARCH", "Architecture", Text),
    c("FQDN", "Fully qualified name", Text),
    c("DNS_DOMAIN", "DNS domain", Text),
    c("BOOT_TIME", "Booted", Text),
    c("TIMEZONE", "Time zone", Text),
    c("SSH_KEY", "SSH host key", Text),
];

const BIOS: &[Col] = &[
    c("SMANUFACTURER", "System maker", Text),
    c("SMODEL", "System model", Text),
    c("SSN", "System serial", Text),
    c("SKUNUMBER", "SKU", Text),
    c("TYPE", "Chassis", Text),
    c("ENCLOSURESERIAL", "Chassis serial", Text),
    c("ASSETTAG", "Asset tag", Text),
    c("MMANUFACTURER", "Board maker", Text),
    c("MMODEL", "Board model", Text),
    c("MSN", "Board serial", Text),
    c("BMANUFACTURER", "Firmware maker", Text),
    c("BVERSION", "Firmware version", Text),
    c("BDATE", "Firmware date", Text),
];

const HARDWARE: &[Col] = &[
    c("NAME", "Host name", Text),
    c("OSNAME", "Operating system", Text),
    c("OSVERSION", "Kernel", Text),
    c("OSCOMMENTS", "Kernel build", Text),
    c("ARCH", "Architecture", Text),
    c("PROCESSORT", "Processor", Text),
    c("PROCESSORN", "Processors", Number),
    c("PROCESSORS", "Processor speed", MHz),
    c("MEMORY", "Memory", MiB),
    c("SWAP", "Swap", MiB),
    c("UUID", "UUID", Text),
    c("VMSYSTEM", "Virtualization", Text),
    c("CHASSIS_TYPE", "Chassis", Text),
    c("IPADDR", "Main address", Text),
    c("DEFAULTGATEWAY", "Default gateway", Text),
    c("DNS", "DNS servers", Text),
    c("WORKGROUP", "Domain", Text),
    c("LASTLOGGEDUSER", "Last user", Text),
    c("DATELASTLOGGEDUSER", "Last login", Text),
];

const CPUS: &[Col] = &[
    c("NAME", "Name", Text),
    c("MANUFACTURER", "Maker", Text),
    c("ARCH", "Arch.", Text),
    c("SPEED", "Speed", MHz),
    c("CORE", "Cores", Number),
    c("THREAD", "Threads", Number),
    c("LOGICAL_CPUS", "Logical CPUs", Number),
    c("FAMILYNAME", "Family", Text),
    c("FAMILYNUMBER", "Family no.", Text),
    c("MODEL", "Model", Text),
    c("STEPPING", "Stepping", Number),
];

const MEMORIES: &[Col] = &[
    c("NUMSLOTS", "Slot", Number),
    c("CAPTION", "Caption", Text),
    c("DESCRIPTION", "Form", Text),
    c("TYPE", "Type", Text),
    c("CAPACITY", "Size", MiB),
    c("SPEED", "Speed", Text),
    c("MANUFACTURER", "Maker", Text),
    c("MODEL", "Part number", Text),
    c("SERIALNUMBER", "Serial", Text),
    c("FORMFACTOR", "Form factor", Text),
    c("MEMORYCORRECTION", "Error correction", Text),
];

const SLOTS: &[Col] = &[
    c("NAME", "Name", Text),
    c("DESIGNATION", "Designation", Text),
    c("DESCRIPTION", "Description", Text),
    c("TYPE", "Type", Text),
    c("STATUS", "Status", Text),
];

const PORTS: &[Col] = &[
    c("NAME", "Name", Text),
    c("CAPTION", "Connector", Text),
    c("DESCRIPTION", "Description", Text),
    c("TYPE", "Type", Text),
];

const CONTROLLERS: &[Col] = &[
    c("NAME", "Name", Text),
    c("MANUFACTURER", "Maker", Text),
    c("TYPE", "Class", Text),
    c("DRIVER", "Driver", Text),
    c("PCISLOT", "PCI slot", Text),
    c("VENDORID", "Vendor id", Text),
    c("PRODUCTID", "Product id", Text),
    c("PCISUBSYSTEMID", "Subsystem", Text),
    c("PCICLASS", "Class id", Text),
    c("REV", "Rev.", Text),
    c("CAPTION", "Caption", Text),
];

const VIDEOS: &[Col] = &[
    c("NAME", "Name", Text),
    c("CHIPSET", "Chipset", Text),
    c("MEMORY", "Memory", MiB),
    c("RESOLUTION", "Resolution", Text),
    c("PCISLOT", "PCI slot", Text),
];

const USBDEVICES: &[Col] = &[
    c("NAME", "Name", Text),
    c("MANUFACTURER", "Maker", Text),
    c("CAPTION", "Caption", Text),
    c("VENDORID", "Vendor id", Text),
    c("PRODUCTID", "Product id", Text),
    c("CLASS", "Class", Text),
    c("SUBCLASS", "Subclass", Text),
    c("SERIAL", "Serial", Text),
];

const STORAGES: &[Col] = &[
    c("NAME", "Name", Text),
    c("TYPE", "Type", Text),
    c("DISKSIZE", "Size", MiB),
    c("MODEL", "Model", Text),
    c("MANUFACTURER", "Maker", Text),
    c("SERIAL", "Serial", Text),
    c("FIRMWARE", "Firmware", Text),
    c("INTERFACE", "Interface", Text),
    c("DESCRIPTION", "Description", Text),
];

const DRIVES: &[Col] = &[
    c("VOLUMN", "Device", Text),
    c("TYPE", "Mounted on", Text),
    c("FILESYSTEM", "Filesystem", Text),
    c("TOTAL", "Size", MiB),
    c("FREE", "Free", MiB),
    c("LABEL", "Label", Text),
    c("SERIAL", "UUID", Text),
];

const NETWORKS: &[Col] = &[
    c("DESCRIPTION", "Interface", Text),
    c("STATUS", "Status", Text),
    c("TYPE", "Type", Text),
    c("MACADDR", "MAC address", Text),
    c("IPADDRESS", "IPv4 address", Text),
    c("IPMASK", "Mask", Text),
    c("IPSUBNET", "Subnet", Text),
    c("IPGATEWAY", "Gateway", Text),
    c("IPADDRESS6", "IPv6 address", Text),
    c("IPMASK6", "Mask (v6)", Text),
    c("IPSUBNET6", "Subnet (v6)", Text),
    c("SPEED", "Speed", Mbps),
    c("MTU", "MTU", Number),
    c("VIRTUALDEV", "Virtual", Text),
    c("DRIVER", "Driver", Text),
    c("PCISLOT", "PCI slot", Text),
    c("SLAVES", "Members", Text),
];

const SOFTWARES: &[Col] = &[
    c("NAME", "Name", Text),
    c("VERSION", "Version", Text),
    c("ARCH", "Arch.", Text),
    c("FROM", "From", Text),
    c("FILESIZE", "Size", Bytes),
    c("INSTALLDATE", "Installed", Text),
    c("SYSTEM_CATEGORY", "Category", Text),
    c("PUBLISHER", "Publisher", Text),
    c("COMMENTS", "Description", Text),
];

const USERS: &[Col] = &[c("LOGIN", "Login", Text)];

const LOCAL_USERS: &[Col] = &[
    c("LOGIN", "Login", Text),
    c("ID", "UID", Number),
    c("NAME", "Name", Text),
    c("HOME", "Home", Text),
    c("SHELL", "Shell", Text),
];

const LOCAL_GROUPS: &[Col] = &[
    c("NAME", "Name", Text),
    c("ID", "GID", Number),
    c("MEMBER", "Members", Text),
];

const BATTERIES: &[Col] = &[
    c("NAME", "Name", Text),
    c("MANUFACTURER", "Maker", Text),
    c("SERIAL", "Serial", Text),
    c("CHEMISTRY", "Chemistry", Text),
    c("CAPACITY", "Design capacity", MilliWh),
    c("REAL_CAPACITY", "Full capacity", MilliWh),
    c("VOLTAGE", "Voltage", MilliV),
    c("DATE", "Made", Text),
];

const PROCESSES: &[Col] = &[
    c("PID", "PID", Number),
    c("USER", "User", Text),
    c("CPUUSAGE", "CPU", Percent),
    c("MEM", "Memory", Percent),
    c("VIRTUALMEMORY", "Virtual size", KiB),
    c("TTY", "TTY", Text),
    c("STARTED", "Started", Text),
    c("CMD", "Command", Text),
];

const ACCOUNTINFO: &[Col] = &[c("KEYNAME", "Key", Text), c("KEYVALUE", "Value", Text)];

const NETWORK_DEVICE: &[Col] = &[
    c("NAME", "Name", Text),
    c("TYPE", "Type", Text),
    c("MANUFACTURER", "Manufacturer", Text),
    c("MODEL", "Model", Text),
    c("SERIAL", "Serial number", Text),
    c("FIRMWARE", "Firmware", Text),
    c("DESCRIPTION", "Description", Text),
    c("MAC", "MAC address", Text),
    c("IPS", "Addresses", Text),
    c("MEMORY", "Memory", MiB),
    c("RAM", "RAM", MiB),
    c("UPTIME", "Uptime", Text),
    c("LOCATION", "Location", Text),
    c("CONTACT", "Contact", Text),
    c("ASSETTAG", "Asset tag", Text),
];

const NETWORK_PORTS: &[Col] = &[
    c("IFNUMBER", "Index", Number),
    c("IFNAME", "Name", Text),
    c("IFDESCR", "Description", Text),
    c("IFALIAS", "Alias", Text),
    c("IFTYPE", "Type", Number),
    c("IFMTU", "MTU", Number),
    c("IFSPEED", "Speed (b/s)", Number),
    c("IFSTATUS", "Status", Number),
    c("IFINTERNALSTATUS", "Admin status", Number),
    c("MAC", "MAC address", Text),
    c("IPS", "Addresses", Text),
];

const FIRMWARES: &[Col] = &[
    c("NAME", "Name", Text),
    c("TYPE", "Type", Text),
    c("VERSION", "Version", Text),
    c("DATE", "Date", Text),
    c("MANUFACTURER", "Manufacturer", Text),
    c("DESCRIPTION", "Description", Text),
];

const IPDISCOVER: &[Col] = &[
    c("I", "Address", Text),
    c("M", "MAC address", Text),
    c("N", "Name", Text),
];

/// The known fields of `section` (those the collectors write), in the order the page shows
/// them. A field missing here is still shown, named, in the row's last cell.
pub fn columns(section: Section) -> &'static [Col] {
    match section {
        Section::OperatingSystem => OPERATINGSYSTEM,
        Section::Bios => BIOS,
        Section::Hardware => HARDWARE,
        Section::Cpus => CPUS,
        Section::Memories => MEMORIES,
        Section::Slots => SLOTS,
        Section::Ports => PORTS,
        Section::Controllers => CONTROLLERS,
        Section::Videos => VIDEOS,
        Section::UsbDevices => USBDEVICES,
        Section::Storages => STORAGES,
        Section::Drives => DRIVES,
        Section::Networks => NETWORKS,
        Section::Softwares => SOFTWARES,
        Section::Users => USERS,
        Section::LocalUsers => LOCAL_USERS,
        Section::LocalGroups => LOCAL_GROUPS,
        Section::Batteries => BATTERIES,
        Section::Processes => PROCESSES,
        Section::AccountInfo => ACCOUNTINFO,
        Section::NetworkDevice => NETWORK_DEVICE,
        Section::NetworkPorts => NETWORK_PORTS,
        Section::Firmwares => FIRMWARES,
        Section::IpDiscover => IPDISCOVER,
    }
}

/// Fields written twice for the OCS server's tables (CPUS/CORES beside CORE) or for the
/// protocol alone (HARDWARE/CHECKSUM): the page shows them once, or not at all.
pub fn repeated(section: Section, key: &str) -> bool {
    matches!(
        (section, key),
        (
            Section::Cpus,
            "TYPE" | "CORES" | "THREADS" | "CPUARCH" | "CURRENT_SPEED"
        ) | (Section::Storages, "SERIALNUMBER")
            | (Section::Hardware, "ARCHNAME" | "CHECKSUM")
    )
}

/// The section's heading for people.
pub fn title(section: Section) -> &'static str {
    match section {
        Section::OperatingSystem => "Operating system",
        Section::Bios => "System, board and firmware",
        Section::Hardware => "Host",
        Section::Cpus => "Processors",
        Section::Memories => "Memory modules",
        Section::Slots => "Expansion slots",
        Section::Ports => "Ports",
        Section::Controllers => "Controllers",
        Section::Videos => "Graphics",
        Section::UsbDevices => "USB devices",
        Section::Storages => "Disks and flash",
        Section::Drives => "Filesystems",
        Section::Networks => "Network interfaces",
        Section::Softwares => "Installed software",
        Section::Users => "Logged-in users",
        Section::LocalUsers => "Local accounts",
        Section::LocalGroups => "Local groups",
        Section::Batteries => "Batteries",
        Section::Processes => "Processes",
        Section::AccountInfo => "Account information",
        Section::NetworkDevice => "Network device",
        Section::NetworkPorts => "Network ports",
        Section::Firmwares => "Firmware",
        Section::IpDiscover => "Hosts found on the LAN (IpDiscover)",
    }
}

/// The order of the sections on the page: who the machine is, then what it is made of, then
/// who uses it, and the long lists last.
pub const ORDER: [Section; 24] = [
    Section::OperatingSystem,
    Section::Bios,
    Section::Hardware,
    Section::NetworkDevice,
    Section::Firmwares,
    Section::Cpus,
    Section::Memories,
    Section::Storages,
    Section::Drives,
    Section::Networks,
    Section::NetworkPorts,
    Section::Controllers,
    Section::Videos,
    Section::UsbDevices,
    Section::Slots,
    Section::Ports,
    Section::Batteries,
    Section::AccountInfo,
    Section::Users,
    Section::LocalUsers,
    Section::LocalGroups,
    Section::Softwares,
    Section::Processes,
    Section::IpDiscover,
];

/// The section's CSS `order` on the page (the summary is 1, the contents 2).
pub fn position(section: Section) -> usize {
    10 + ORDER.iter().position(|s| *s == section).unwrap_or(ORDER.len())
}

/// Writes `value` as the page shows it: escaped, numbers with their unit.
pub fn write_value(out: &mut dyn Write, unit: Unit, value: Value<'_>) -> io::Result<()> {
    let number = match value {
        Value::Int(n) => Some(n),
        Value::Str(s) if unit != Text && unit != Percent => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match (value, number) {
        (Value::Bool(b), _) => out.write_all(if b { b"yes" } else { b"no" }),
        (_, Some(n)) => write_number(out, unit, n),
        (Value::Str(s), None) => {
            write_xml_text(out, s)?;
            let plain_decimal =
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if unit == Percent && plain_decimal {
                out.write_all(b" %")?;
            }
            Ok(())
        }
        (Value::Int(_), None) => Ok(()),
    }
}

fn write_number(out: &mut dyn Write, unit: Unit, n: i64) -> io::Result<()> {
    match unit {
        Text | Number => write!(out, "{n}"),
        MiB => write_mib(out, n),
        KiB if n == 0 => out.write_all(b"0 KiB"),
        KiB => write_size(out, n, 1),
        Bytes => write_size(out, n, 0),
        MHz => write!(out, "{n} MHz"),
        Mbps if n >= 1000 && n % 1000 == 0 => write!(out, "{} Gb/s", n / 1000),
        Mbps => write!(out, "{n} Mb/s"),
        MilliWh => write!(out, "{} Wh", Decimal(n, 1000)),
        MilliV => write!(out, "{} V", Decimal(n, 1000)),
        Percent => write!(out, "{n} %"),
    }
}

/// A size given in MiB, in binary units (`23.5 GiB`; zero is `0 MiB`).
pub fn write_mib(out: &mut dyn Write, mib: i64) -> io::Result<()> {
    if mib == 0 {
        return out.write_all(b"0 MiB");
    }
    write_size(out, mib, 2)
}

/// `n` units of 1024^`scale` bytes in binary units with one decimal at most: `23.5 GiB`,
/// `512 MiB`, `700 B`. A negative count is shown as it is.
pub fn write_size(out: &mut dyn Write, n: i64, scale: usize) -> io::Result<()> {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 0 {
        return write!(out, "{n} {}", UNITS[scale.min(UNITS.len() - 1)]);
    }
    // Tenths of the unit, dividing by 1024 until the number is below 1024 of it.
    let (mut tenths, mut k) = ((n as u64).saturating_mul(10), scale.min(UNITS.len() - 1));
    while k + 1 < UNITS.len() && tenths >= 10 * 1024 {
        tenths = tenths.saturating_add(512) / 1024;
        k += 1;
    }
    if k == 0 || tenths % 10 == 0 || tenths >= 10_000 {
        write!(out, "{} {}", tenths.saturating_add(5) / 10, UNITS[k])
    } else {
        write!(out, "{}.{} {}", tenths / 10, tenths % 10, UNITS[k])
    }
}

/// `n / div` with up to two decimals, trailing zeros dropped (11100 / 1000 = `11.1`).
struct Decimal(i64, i64);

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let div = self.1.max(1).unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        let hundredths = self.0.unsigned_abs().saturating_mul(100).saturating_add(div / 2) / div;
        let (whole, frac) = (hundredths / 100, hundredths % 100);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{sign}{whole}.{}", f10 / 10),
            _ => write!(f, "{sign}{whole}.{frac:02}"),
        }
    }
}
