//! The inventory task: what the machine is made of and what runs on it, read from `/proc`,
//! `/sys`, the device tree and package databases, and streamed to an output format.
//!
//! Collectors (one file per data source) are functions of a [`Root`], so that the same code
//! reads the live system and fixture trees. They push entries into a [`Sink`]; the facts that
//! HARDWARE repeats from other sections are gathered in [`Facts`] on the way, and HARDWARE is
//! written last.

pub mod additional;
mod args;
pub mod battery;
pub mod bios;
pub mod command;
pub mod cpu;
pub mod digest;
pub mod drives;
pub mod hardware;
pub mod logins;
pub mod netdevice;
pub mod network;
pub mod os;
pub mod output;
pub mod partial;
pub mod pci;
pub mod process;
pub mod sink;
pub mod smbios;
pub mod software;
pub mod storage;
#[cfg(test)]
pub(crate) mod test_support;
pub mod usb;
pub mod users;
pub mod vm;

use std::io;

pub use crate::sys::Root;
pub use args::Args;
pub use command::main;
use digest::{Digesting, Digests, Discard};
use partial::{Filter, Keep};
use sink::{Section, Sink};

/// Categories of the Perl agents that uagent does not inventory: `--no-category` accepts them
/// (an `agent.cfg` written for them keeps working) and says they are not collected here.
pub const OTHER_AGENTS_CATEGORIES: &[&str] = &[
    "accesslog",
    "antivirus",
    "bluetooth",
    "camera",
    "database",
    "environment",
    "firewall",
    "input",
    "licenseinfo",
    "lvm",
    "modem",
    "monitor",
    "printer",
    "provider",
    "psu",
    "registry",
    "remote_mgmt",
    "rudder",
    "sound",
    "virtualmachine",
];

/// `--no-category` lists: the categories to leave out, and the other agents' names that were
/// accepted without meaning anything here. An unknown name is an error (a typo would send
/// everything).
pub fn parse_categories(lists: &[String]) -> Result<(Vec<Category>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut others = Vec::new();
    for name in lists
        .iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let norm = name.to_ascii_lowercase().replace('-', "_");
        match Category::from_name(&norm) {
            Some(c) => out.push(c),
            None if OTHER_AGENTS_CATEGORIES.contains(&norm.as_str()) => {
                others.push(name.to_string())
            }
            None => return Err(format!("unknown category {name:?} (see --list-categories)")),
        }
    }
    Ok((out, others))
}

/// A part of the inventory that `--no-category` can switch off (names as in the GLPI agent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Battery,
    Bios,
    Controller,
    Cpu,
    Drive,
    Hardware,
    LocalGroup,
    LocalUser,
    Memory,
    Network,
    Os,
    Port,
    Process,
    Slot,
    Software,
    Storage,
    Usb,
    User,
    Video,
}

impl Category {
    pub const ALL: [Category; 19] = [
        Category::Battery,
        Category::Bios,
        Category::Controller,
        Category::Cpu,
        Category::Drive,
        Category::Hardware,
        Category::LocalGroup,
        Category::LocalUser,
        Category::Memory,
        Category::Network,
        Category::Os,
        Category::Port,
        Category::Process,
        Category::Slot,
        Category::Software,
        Category::Storage,
        Category::Usb,
        Category::User,
        Category::Video,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Battery => "battery",
            Category::Bios => "bios",
            Category::Controller => "controller",
            Category::Cpu => "cpu",
            Category::Drive => "drive",
            Category::Hardware => "hardware",
            Category::LocalGroup => "local_group",
            Category::LocalUser => "local_user",
            Category::Memory => "memory",
            Category::Network => "network",
            Category::Os => "os",
            Category::Port => "port",
            Category::Process => "process",
            Category::Slot => "slot",
            Category::Software => "software",
            Category::Storage => "storage",
            Category::Usb => "usb",
            Category::User => "user",
            Category::Video => "video",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Category::Battery => "batteries (BATTERIES)",
            Category::Bios => "firmware, board and system identity (BIOS)",
            Category::Controller => "PCI controllers (CONTROLLERS)",
            Category::Cpu => "processors (CPUS)",
            Category::Drive => "mounted filesystems (DRIVES)",
            Category::Hardware => "memory, swap, DNS, gateway, virtualization in HARDWARE",
            Category::LocalGroup => "groups of /etc/group (LOCAL_GROUPS)",
            Category::LocalUser => "accounts of /etc/passwd (LOCAL_USERS)",
            Category::Memory => "memory modules from SMBIOS (MEMORIES)",
            Category::Network => "network interfaces and addresses (NETWORKS)",
            Category::Os => "operating system (OPERATINGSYSTEM)",
            Category::Port => "external ports from SMBIOS (PORTS)",
            Category::Process => "running processes (PROCESSES)",
            Category::Slot => "expansion slots from SMBIOS (SLOTS)",
            Category::Software => "installed packages (SOFTWARES)",
            Category::Storage => "disks and raw flash (STORAGES)",
            Category::Usb => "USB devices (USBDEVICES)",
            Category::User => "logged-in users (USERS)",
            Category::Video => "graphics adapters (VIDEOS)",
        }
    }

    /// Plural spelling, also accepted by `--no-category` (`softwares`, `batteries`…).
    fn plural(self) -> &'static str {
        match self {
            Category::Battery => "batteries",
            Category::Memory => "memories",
            Category::Process => "processes",
            Category::Controller => "controllers",
            Category::Cpu => "cpus",
            Category::Drive => "drives",
            Category::LocalGroup => "local_groups",
            Category::LocalUser => "local_users",
            Category::Network => "networks",
            Category::Port => "ports",
            Category::Slot => "slots",
            Category::Software => "softwares",
            Category::Storage => "storages",
            Category::Usb => "usbdevices",
            Category::User => "users",
            Category::Video => "videos",
            Category::Bios | Category::Hardware | Category::Os => self.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        Category::ALL
            .into_iter()
            .find(|c| c.name() == name || c.plural() == name)
    }
}

/// Facts HARDWARE repeats from other sections (OSNAME, PROCESSORT, IPADDR…), gathered on the way.
#[derive(Debug, Default)]
pub struct Facts {
    pub hostname: String,
    pub domain: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub os_full_name: Option<String>,
    pub kernel_release: Option<String>,
    pub kernel_build: Option<String>,
    pub arch: Option<String>,
    pub cpu_name: Option<String>,
    pub cpu_packages: usize,
    pub cpu_speed: Option<i64>,
    pub memory_mib: Option<i64>,
    pub swap_mib: Option<i64>,
    pub uuid: Option<String>,
    pub vmsystem: Option<String>,
    pub chassis_type: Option<String>,
    pub dns: Option<String>,
    pub workgroup: Option<String>,
    pub default_gateway: Option<String>,
    /// The address of the interface that carries the default route, else the first one found.
    pub ipaddr: Option<String>,
    pub last_user: Option<String>,
    pub last_user_date: Option<String>,
    /// HARDWARE/NAME as `--assetname-support` wants it.
    pub asset_name: Option<String>,
    /// System model, maker and serial, as BIOS gives them (a network device repeats them).
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    /// Seconds since boot (live systems only).
    pub uptime: Option<i64>,
    /// MAC of the interface of the default route (else the first one with a MAC), and every
    /// address but loopback's: what a network device is known by.
    pub mac: Option<String>,
    pub ips: Vec<String>,
}

/// The asset type GLPI files the inventory under (`--itemtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ItemType {
    #[default]
    Computer,
    /// A router or access point, filed with the switches: `network_device`, `network_ports`
    /// and `firmwares` in GLPI's JSON.
    NetworkEquipment,
}

impl ItemType {
    /// `Computer`, `NetworkEquipment`, or `auto`: a network device when the system is OpenWrt
    /// (whose role is a router or access point), else a computer.
    pub fn parse(text: &str, root: &Root) -> Result<ItemType, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "computer" => Ok(ItemType::Computer),
            "networkequipment" => Ok(ItemType::NetworkEquipment),
            "auto" => Ok(if root.exists("/etc/openwrt_release") {
                ItemType::NetworkEquipment
            } else {
                ItemType::Computer
            }),
            other => Err(format!(
                "unknown itemtype {other:?} (Computer, NetworkEquipment or auto)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ItemType::Computer => "Computer",
            ItemType::NetworkEquipment => "NetworkEquipment",
        }
    }
}

/// What HARDWARE/NAME is (`--assetname-support`, as the GLPI agent numbers them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AssetName {
    /// 1: the short host name.
    #[default]
    Short,
    /// 2: the fully qualified name.
    Fqdn,
    /// 3: the host name as the system has it.
    AsIs,
}

impl AssetName {
    pub fn from_number(n: u64) -> Result<AssetName, String> {
        match n {
            1 => Ok(AssetName::Short),
            2 => Ok(AssetName::Fqdn),
            3 => Ok(AssetName::AsIs),
            _ => Err(format!(
                "assetname-support {n}: 1 (short name), 2 (FQDN) or 3 (as is)"
            )),
        }
    }
}

/// What one inventory run needs to know.
pub struct Options {
    pub root: Root,
    pub deviceid: String,
    /// ACCOUNTINFO entries (`TAG` and whatever the OCS server asked to keep).
    pub accountinfo: Vec<(String, String)>,
    pub skip: Vec<Category>,
    /// Digests of the last inventory a server accepted, for HARDWARE/CHECKSUM.
    pub previous: Option<Digests>,
    /// OCS packages deployed here, for `DOWNLOAD/HISTORY` (XML only).
    pub download_history: Vec<String>,
    /// Whether the section digests are wanted (a server target keeps them; a local inventory
    /// says every section changed and skips the hashing).
    pub digests: bool,
    pub itemtype: ItemType,
    pub asset_name: AssetName,
    /// Entries of `--additional-content`, merged in as the collectors write.
    pub additional: additional::Additional,
    /// The sections written (a partial inventory); `None`: all.
    pub keep: Option<Keep>,
    /// OCS IpDiscover: the subnet to sweep and the milliseconds between requests.
    pub ipdiscover: Option<(String, Option<String>)>,
}

impl Options {
    pub fn wants(&self, c: Category) -> bool {
        !self.skip.contains(&c)
    }

    /// The TAG of ACCOUNTINFO, if any.
    pub fn tag(&self) -> Option<&str> {
        self.accountinfo
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("TAG"))
            .map(|(_, v)| v.as_str())
    }
}

/// State shared by collectors during one run: the root, the facts, and data several of them read.
pub struct Context<'a> {
    pub opts: &'a Options,
    pub root: &'a Root,
    pub facts: Facts,
    pub cpuinfo: cpu::CpuInfo,
    pub smbios: Option<smbios::Tables>,
}

/// The agent's self-description, VERSIONCLIENT in every inventory.
pub fn version_client() -> String {
    format!("uagent_v{}", env!("CARGO_PKG_VERSION"))
}

/// OCS IpDiscover's sweep of `subnet`, written as IPDISCOVER/H entries (none when the sweep
/// cannot run: the reason is logged, and the server de-elects an agent that sends none).
#[cfg(feature = "netdiscovery")]
fn ipdiscover(root: &Root, subnet: &str, latency: Option<&str>, s: &mut dyn Sink) -> io::Result<()> {
    use crate::tasks::netdiscovery::ipdiscover::{run, Order};
    let result = Order::parse(subnet, latency).and_then(|o| run(&o, root));
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            log::error!("{e}");
            return Ok(());
        }
    };
    log::info!(
        "IPDISCOVER: {} host(s) on {}/{} ({})",
        result.hosts.len(),
        result.subnet,
        result.mask,
        result.interface
    );
    s.begin(Section::IpDiscover)?;
    for h in &result.hosts {
        s.open("H")?;
        s.text("I", &h.ip.to_string())?;
        s.text("M", &h.mac)?;
        s.text("N", &h.name)?;
        s.close()?;
    }
    s.end()
}

#[cfg(not(feature = "netdiscovery"))]
fn ipdiscover(_: &Root, _: &str, _: Option<&str>, _: &mut dyn Sink) -> io::Result<()> {
    log::warn!("IPDISCOVER: this build has no network discovery (built without the netdiscovery feature)");
    Ok(())
}

/// Runs every wanted collector into `out`, then HARDWARE, and returns the section digests.
///
/// The stream goes through, in order: the additional content merged in, the digests (of
/// every section, sent or not), the partial filter (`opts.keep`), then `out`.
pub fn run(opts: &Options, out: &mut dyn Sink) -> io::Result<Digests> {
    let root = &opts.root;
    let mut ctx = Context {
        opts,
        root,
        facts: Facts::default(),
        cpuinfo: cpu::CpuInfo::read(root),
        smbios: smbios::Tables::read(root),
    };
    let mut filter = Filter::new(out, opts.keep);
    let mut digesting = if opts.digests {
        Digesting::new(&mut filter)
    } else {
        Digesting::disabled(&mut filter)
    };
    let mut merged = additional::Merge::new(&opts.additional, &mut digesting);
    let s: &mut dyn Sink = &mut merged;

    os::collect(&mut ctx, s)?;
    if opts.wants(Category::Bios) {
        bios::collect(&mut ctx, s)?;
    }
    cpu::collect(&mut ctx, s)?;
    smbios::collect(&mut ctx, s)?;
    pci::collect(&mut ctx, s)?;
    if opts.wants(Category::Usb) {
        usb::collect(&mut ctx, s)?;
    }
    if opts.wants(Category::Storage) {
        storage::collect(&mut ctx, s)?;
    }
    if opts.wants(Category::Drive) {
        drives::collect(&mut ctx, s)?;
    }
    network::collect(&mut ctx, s)?;
    if opts.wants(Category::Software) {
        software::collect(&mut ctx, s)?;
    }
    logins::collect(&mut ctx, s)?;
    users::collect(&mut ctx, s)?;
    if opts.wants(Category::Battery) {
        battery::collect(&mut ctx, s)?;
    }
    if opts.wants(Category::Process) {
        process::collect(&mut ctx, s)?;
    }
    for (key, value) in &opts.accountinfo {
        s.begin(Section::AccountInfo)?;
        s.text("KEYNAME", key)?;
        s.text("KEYVALUE", value)?;
        s.end()?;
    }
    s.download_history(&opts.download_history)?;
    if let Some((subnet, latency)) = &opts.ipdiscover {
        ipdiscover(root, subnet, latency.as_deref(), s)?;
    }
    if opts.wants(Category::Hardware) {
        hardware::gather(&mut ctx);
    }
    if opts.itemtype == ItemType::NetworkEquipment {
        netdevice::write_device(&ctx, s)?;
    }

    // HARDWARE carries the CHECKSUM of every section including itself, so its own digest is
    // taken first on a dry run (CHECKSUM is not part of any digest), with the additional
    // content's HARDWARE fields merged in as in the real one.
    let mut discard = Discard;
    let mut dry = Digesting::new(&mut discard);
    hardware::write(
        &ctx.facts,
        &mut additional::Merge::new(&opts.additional, &mut dry),
        0,
    )?;
    let hardware_digest = dry.digests.get(Section::Hardware);
    let mut so_far = merged.inner().digests.clone();
    so_far.0[Section::Hardware.index()] = hardware_digest;
    let checksum = so_far.changed_since(opts.previous.as_ref());
    hardware::write(&ctx.facts, &mut merged, checksum)?;
    merged.scalar("VERSIONCLIENT", &version_client())?;
    merged.finish()?;
    digesting.digests.0[Section::Hardware.index()] = hardware_digest;
    Ok(digesting.digests)
}
