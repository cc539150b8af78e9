//! The inventory task: what the machine is made of and what runs on it, read from `/proc`,
//! `/sys`, the device tree and package databases, and streamed to an output format.
//!
//! Collectors (one file per data source) are functions of a [`Root`], so that the same code
//! reads the live system and fixture trees. They push entries into a [`Sink`]; the facts that
//! HARDWARE repeats from other sections are gathered in [`Facts`] on the way, and HARDWARE is
//! written last.

mod args;
pub mod battery;
pub mod bios;
pub mod command;
pub mod cpu;
pub mod digest;
pub mod drives;
pub mod hardware;
pub mod logins;
pub mod network;
pub mod os;
pub mod output;
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
use sink::{Section, Sink};

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
    /// Whether the section digests are wanted (a server target keeps them; a local inventory
    /// says every section changed and skips the hashing).
    pub digests: bool,
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
pub fn run(opts: &Options, out: &mut dyn Sink) -> io::Result<Digests> {
    let root = &opts.root;
    let mut ctx = Context {
        opts,
        root,
        facts: Facts::default(),
        cpuinfo: cpu::CpuInfo::read(root),
        smbios: smbios::Tables::read(root),
    };
    let mut sink = if opts.digests {
        Digesting::new(out)
    } else {
        Digesting::disabled(out)
    };
    let s: &mut dyn Sink = &mut sink;

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
    if let Some((subnet, latency)) = &opts.ipdiscover {
        ipdiscover(root, subnet, latency.as_deref(), s)?;
    }
    if opts.wants(Category::Hardware) {
        hardware::gather(&mut ctx);
    }

    // HARDWARE carries the CHECKSUM of every section including itself, so its own digest is
    // taken first on a dry run (CHECKSUM is not part of any digest).
    let mut discard = Discard;
    let mut dry = Digesting::new(&mut discard);
    hardware::write(&ctx.facts, &mut dry, 0)?;
    let hardware_digest = dry.digests.get(Section::Hardware);
    sink.digests.0[Section::Hardware.index()] = hardware_digest;
    let checksum = sink.digests.changed_since(opts.previous.as_ref());
    hardware::write(&ctx.facts, &mut sink, checksum)?;
    sink.digests.0[Section::Hardware.index()] = hardware_digest;
    sink.scalar("VERSIONCLIENT", &version_client())?;
    sink.finish()?;
    Ok(sink.digests)
}
