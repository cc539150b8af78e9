//! The stream an inventory is written to.
//!
//! Collectors never build the whole inventory in memory: they push entries, one field at a time,
//! into a [`Sink`], which is an output format (XML, JSON, HTML) or a wrapper around one (digests).
//! Every entry of a section must be pushed in one contiguous run, so that JSON can group them.

use std::io;

/// A field value. Numbers stay numbers so that JSON can type them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

/// The inventory sections this agent produces, in the order they are written.
///
/// HARDWARE comes last because it carries facts from the other sections and the CHECKSUM of
/// what changed in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    OperatingSystem,
    Bios,
    Cpus,
    Memories,
    Slots,
    Ports,
    Controllers,
    Videos,
    UsbDevices,
    Storages,
    Drives,
    Networks,
    /// GLPI's network ports of a network device (`--itemtype NetworkEquipment`).
    NetworkPorts,
    /// Firmware of a network device: the OS release.
    Firmwares,
    Softwares,
    Users,
    LocalUsers,
    LocalGroups,
    Batteries,
    Processes,
    AccountInfo,
    /// GLPI's description of a network device, written with HARDWARE.
    NetworkDevice,
    /// OCS IpDiscover's result (`IPDISCOVER/H{I,M,N}`): the hosts of the subnet the server
    /// elected this agent to scan.
    IpDiscover,
    Hardware,
}

impl Section {
    pub const ALL: [Section; 24] = [
        Section::OperatingSystem,
        Section::Bios,
        Section::Cpus,
        Section::Memories,
        Section::Slots,
        Section::Ports,
        Section::Controllers,
        Section::Videos,
        Section::UsbDevices,
        Section::Storages,
        Section::Drives,
        Section::Networks,
        Section::NetworkPorts,
        Section::Firmwares,
        Section::Softwares,
        Section::Users,
        Section::LocalUsers,
        Section::LocalGroups,
        Section::Batteries,
        Section::Processes,
        Section::AccountInfo,
        Section::NetworkDevice,
        Section::IpDiscover,
        Section::Hardware,
    ];

    /// Element name in the XML protocol.
    pub fn xml_name(self) -> &'static str {
        match self {
            Section::OperatingSystem => "OPERATINGSYSTEM",
            Section::Bios => "BIOS",
            Section::Cpus => "CPUS",
            Section::Memories => "MEMORIES",
            Section::Slots => "SLOTS",
            Section::Ports => "PORTS",
            Section::Controllers => "CONTROLLERS",
            Section::Videos => "VIDEOS",
            Section::UsbDevices => "USBDEVICES",
            Section::Storages => "STORAGES",
            Section::Drives => "DRIVES",
            Section::Networks => "NETWORKS",
            Section::NetworkPorts => "NETWORK_PORTS",
            Section::Firmwares => "FIRMWARES",
            Section::NetworkDevice => "NETWORK_DEVICE",
            Section::Softwares => "SOFTWARES",
            Section::Users => "USERS",
            Section::LocalUsers => "LOCAL_USERS",
            Section::LocalGroups => "LOCAL_GROUPS",
            Section::Batteries => "BATTERIES",
            Section::Processes => "PROCESSES",
            Section::AccountInfo => "ACCOUNTINFO",
            Section::IpDiscover => "IPDISCOVER",
            Section::Hardware => "HARDWARE",
        }
    }

    /// Key in GLPI's JSON format (`None`: the section has no place there).
    pub fn json_name(self) -> Option<&'static str> {
        Some(match self {
            Section::OperatingSystem => "operatingsystem",
            Section::Bios => "bios",
            Section::Cpus => "cpus",
            Section::Memories => "memories",
            Section::Slots => "slots",
            Section::Ports => "ports",
            Section::Controllers => "controllers",
            Section::Videos => "videos",
            Section::UsbDevices => "usbdevices",
            Section::Storages => "storages",
            Section::Drives => "drives",
            Section::Networks => "networks",
            Section::NetworkPorts => "network_ports",
            Section::Firmwares => "firmwares",
            Section::NetworkDevice => "network_device",
            Section::Softwares => "softwares",
            Section::Users => "users",
            Section::LocalUsers => "local_users",
            Section::LocalGroups => "local_groups",
            Section::Batteries => "batteries",
            Section::Processes => "processes",
            Section::AccountInfo | Section::IpDiscover => return None,
            Section::Hardware => "hardware",
        })
    }

    /// A single object rather than a list of entries.
    pub fn is_single(self) -> bool {
        matches!(
            self,
            Section::OperatingSystem | Section::Bios | Section::Hardware | Section::NetworkDevice
        )
    }

    /// Bit of this section in HARDWARE/CHECKSUM, as the OCS server reads it (0: not tracked).
    pub fn checksum_bit(self) -> u32 {
        match self {
            Section::Hardware => 1,
            Section::Bios => 2,
            Section::Memories => 4,
            Section::Slots => 8,
            Section::Controllers => 32,
            Section::Ports => 128,
            Section::Storages => 256,
            Section::Drives => 512,
            Section::Networks => 4096,
            Section::Videos => 32768,
            Section::Softwares => 65536,
            Section::Cpus => 262144,
            Section::Batteries => 1048576,
            _ => 0,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Every bit the OCS server knows, set: what a first inventory (no previous state) sends.
pub const CHECKSUM_ALL: u32 = 1_572_863;

/// Where entries go. Errors are those of the output (a closed pipe, a full disk), never of the
/// data: collectors deal with bad input themselves.
pub trait Sink {
    /// Starts one entry of `section` (or the single object of a single section).
    fn begin(&mut self, section: Section) -> io::Result<()>;
    /// A field of the current entry. Collectors give static names; additional content (a
    /// file the admin wrote) gives names it checked to be `[A-Z0-9_]+`.
    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()>;
    /// Opens a nested object inside the current entry (OPERATINGSYSTEM/TIMEZONE).
    fn open(&mut self, key: &'static str) -> io::Result<()>;
    fn close(&mut self) -> io::Result<()>;
    /// Ends the current entry.
    fn end(&mut self) -> io::Result<()>;
    /// Writes a top-level scalar (VERSIONCLIENT).
    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()>;
    /// Called once when everything was written.
    fn finish(&mut self) -> io::Result<()>;

    /// The OCS packages this agent deployed, as the OCS server reads them
    /// (`<DOWNLOAD><HISTORY><PACKAGE ID="…"/>…</HISTORY></DOWNLOAD>`); only the XML format has a
    /// place for them. No default: a sink that wraps another must pass them on.
    fn download_history(&mut self, ids: &[String]) -> io::Result<()>;

    /// A text field; empty text is left out.
    fn text(&mut self, key: &str, value: &str) -> io::Result<()> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(());
        }
        self.field(key, Value::Str(value))
    }

    fn opt_text(&mut self, key: &str, value: Option<&str>) -> io::Result<()> {
        match value {
            Some(v) => self.text(key, v),
            None => Ok(()),
        }
    }

    fn int(&mut self, key: &str, value: i64) -> io::Result<()> {
        self.field(key, Value::Int(value))
    }

    fn opt_int(&mut self, key: &str, value: Option<i64>) -> io::Result<()> {
        match value {
            Some(v) => self.int(key, v),
            None => Ok(()),
        }
    }

    fn flag(&mut self, key: &str, value: bool) -> io::Result<()> {
        self.field(key, Value::Bool(value))
    }
}
