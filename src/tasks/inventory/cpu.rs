//! Processors, from `/proc/cpuinfo` (and cpufreq for the speed).
//!
//! x86 and MIPS kernels that report a topology (`physical id`/`package`) give one entry per
//! physical package with its cores and threads; otherwise each `processor` block is one entry.
//! ARM names come from `model name`, else from the CPU implementer/part codes; MIPS names from
//! `cpu model`. cpuinfo also carries the board identity on ARM and MIPS, kept for BIOS.

use std::io::{self, Read};

use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::sys::root::{LineReader, Root};

/// Most processor entries kept; a longer cpuinfo is cut there with a warning.
pub const MAX_CPUS: usize = 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Unknown,
    X86,
    Arm,
    Mips,
}

/// Board identity some kernels put in cpuinfo (ARM `Hardware`/`Revision`/`Serial`/`Model`,
/// MIPS `system type`/`machine`).
#[derive(Debug, Default, Clone)]
pub struct Board {
    pub hardware: Option<String>,
    pub revision: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub machine: Option<String>,
    pub system_type: Option<String>,
}

/// One entry of CPUS.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cpu {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub family_name: Option<String>,
    pub family_number: Option<String>,
    pub model: Option<String>,
    pub stepping: Option<i64>,
    /// Cores in the package (with a topology).
    pub cores: Option<i64>,
    /// Threads per core (with a topology).
    pub threads: Option<i64>,
    /// Logical processors this entry stands for.
    pub logical: i64,
    pub speed: Option<i64>,
}

#[derive(Debug, Default)]
pub struct CpuInfo {
    pub cpus: Vec<Cpu>,
    /// Number of logical processors (processor blocks).
    pub logical: usize,
    pub family: Family,
    pub board: Board,
    /// The `hypervisor` flag of x86 guests.
    pub hypervisor: bool,
    /// x86 long mode (`lm` flag): a 64-bit processor.
    pub long_mode: bool,
    /// ARM `CPU architecture`.
    pub arm_architecture: Option<u32>,
    pub mips64: bool,
}

/// Key/value pairs of one block, as read.
#[derive(Default)]
struct Block {
    processor: Option<u32>,
    processor_name: Option<String>,
    vendor: Option<String>,
    family: Option<String>,
    model: Option<String>,
    model_name: Option<String>,
    stepping: Option<i64>,
    package: Option<u32>,
    core: Option<u32>,
    cpu_cores: Option<i64>,
    siblings: Option<i64>,
    mhz: Option<f64>,
    implementer: Option<u32>,
    part: Option<u32>,
    mips_model: Option<String>,
    board_model: Option<String>,
}

fn collapse(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hex(v: &str) -> Option<u32> {
    u32::from_str_radix(
        v.trim().trim_start_matches("0x").trim_start_matches("0X"),
        16,
    )
    .ok()
}

/// Processor packages being gathered (x86/MIPS topology).
struct Package {
    id: u32,
    first: Block,
    logical: i64,
    core_ids: Vec<u32>,
}

impl CpuInfo {
    pub fn read(root: &Root) -> CpuInfo {
        let mut info = match root.open("/proc/cpuinfo") {
            Some(f) => CpuInfo::parse(f, "/proc/cpuinfo"),
            None => {
                if !root.exists("/proc/cpuinfo") {
                    log::warn!("cannot read /proc/cpuinfo: no such file");
                }
                CpuInfo::default()
            }
        };
        // cpufreq knows the real maximum; cpuinfo's MHz is the current clock.
        if let Some(khz) = root.number("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") {
            for cpu in &mut info.cpus {
                cpu.speed = Some(khz / 1000);
            }
        }
        info
    }

    pub fn parse<R: Read>(input: R, name: &str) -> CpuInfo {
        let mut info = CpuInfo::default();
        let mut lines = LineReader::new(input, name);
        let mut block = Block::default();
        let mut packages: Vec<Package> = Vec::new();
        let mut plain: Vec<Block> = Vec::new();
        let mut truncated = false;
        loop {
            let line = lines.next_line();
            let done = line.is_none();
            let line = line.map(|l| l.into_owned()).unwrap_or_default();
            if done || line.trim().is_empty() {
                let b = std::mem::take(&mut block);
                if b.processor.is_some() || b.processor_name.is_some() {
                    info.logical += 1;
                    if let Some(m) = b.board_model.clone() {
                        info.board.model.get_or_insert(m);
                    }
                    if packages.len() + plain.len() >= MAX_CPUS {
                        truncated = true;
                    } else if let Some(id) = b.package {
                        match packages.iter_mut().find(|p| p.id == id) {
                            Some(p) => {
                                p.logical += 1;
                                if let Some(c) = b.core {
                                    if !p.core_ids.contains(&c) && p.core_ids.len() < MAX_CPUS {
                                        p.core_ids.push(c);
                                    }
                                }
                            }
                            None => packages.push(Package {
                                id,
                                logical: 1,
                                core_ids: b.core.into_iter().collect(),
                                first: b,
                            }),
                        }
                    } else {
                        plain.push(b);
                    }
                } else if let Some(m) = b.board_model {
                    info.board.model.get_or_insert(m);
                }
                if done {
                    break;
                }
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = collapse(value);
            info.note(&key, &value, &mut block);
        }
        if truncated {
            log::warn!("{name} describes more than {MAX_CPUS} processors: the rest is left out");
        }
        // Blocks without a package id next to packaged ones (rare) are listed alone.
        let family = info.family;
        for p in packages {
            let cores = p
                .first
                .cpu_cores
                .unwrap_or(p.core_ids.len().max(1) as i64)
                .max(1);
            let threads = match (p.first.siblings, p.first.cpu_cores) {
                (Some(s), Some(c)) if c > 0 && s >= c => s / c,
                _ => (p.logical / cores).max(1),
            };
            let mut cpu = cpu_from_block(&p.first, family);
            cpu.cores = Some(cores);
            cpu.threads = Some(threads);
            cpu.logical = p.logical;
            info.cpus.push(cpu);
        }
        for b in plain {
            let mut cpu = cpu_from_block(&b, family);
            cpu.logical = 1;
            info.cpus.push(cpu);
        }
        info
    }

    fn note(&mut self, key: &str, value: &str, b: &mut Block) {
        let v = || Some(value.to_string());
        match key {
            "processor" => match value.parse() {
                Ok(n) => b.processor = Some(n),
                // Old ARM kernels: `Processor : ARMv7 Processor rev 4 (v7l)`.
                Err(_) => b.processor_name = v(),
            },
            "vendor_id" => {
                self.family = Family::X86;
                b.vendor = v();
            }
            "cpu family" => b.family = v(),
            "model" => {
                if self.family == Family::X86 || value.bytes().all(|c| c.is_ascii_digit()) {
                    b.model = v();
                } else {
                    b.board_model = v();
                }
            }
            "model name" => b.model_name = v(),
            "stepping" => b.stepping = value.parse().ok(),
            "physical id" | "package" => b.package = value.parse().ok(),
            "core id" | "core" => b.core = value.parse().ok(),
            "cpu cores" => b.cpu_cores = value.parse().ok(),
            "siblings" => b.siblings = value.parse().ok(),
            "cpu mhz" => b.mhz = crate::core::decimal::parse_f64(value),
            "flags" => {
                let mut words = value.split(' ');
                if words.clone().any(|w| w == "lm") {
                    self.long_mode = true;
                }
                if words.any(|w| w == "hypervisor") {
                    self.hypervisor = true;
                }
            }
            "cpu implementer" => {
                self.family = Family::Arm;
                b.implementer = hex(value);
            }
            "cpu part" => b.part = hex(value),
            "cpu architecture" => {
                self.family = Family::Arm;
                if let Some(n) = value
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse().ok())
                {
                    self.arm_architecture = Some(n);
                }
            }
            "cpu model" => {
                self.family = Family::Mips;
                b.mips_model = v();
            }
            "isa" if value.contains("mips64") => self.mips64 = true,
            "hardware" => self.board.hardware = v(),
            "revision" => self.board.revision = v(),
            "serial" => self.board.serial = v(),
            "machine" => self.board.machine = v(),
            "system type" => {
                self.family = Family::Mips;
                self.board.system_type = v()
            }
            _ => {}
        }
    }

    /// Architecture name as GLPI spells it, inferred from cpuinfo.
    pub fn arch(&self) -> Option<&'static str> {
        match self.family {
            Family::X86 => Some(if self.long_mode { "x86_64" } else { "i386" }),
            Family::Arm => Some(if self.arm_architecture.unwrap_or(0) >= 8 {
                "aarch64"
            } else {
                "arm"
            }),
            Family::Mips => Some(if self.mips64 { "mips64" } else { "mips" }),
            Family::Unknown => None,
        }
    }
}

fn cpu_from_block(b: &Block, family: Family) -> Cpu {
    let arm_part = match (b.implementer, b.part) {
        (Some(i), Some(p)) => arm_part_name(i, p),
        _ => None,
    };
    let manufacturer = match family {
        Family::X86 => b.vendor.as_deref().map(x86_vendor),
        Family::Arm => b.implementer.and_then(arm_implementer).map(str::to_string),
        Family::Mips => b
            .mips_model
            .as_deref()
            .and_then(mips_vendor)
            .map(str::to_string),
        Family::Unknown => None,
    };
    let name = match family {
        Family::Mips => b.mips_model.clone(),
        _ => None,
    }
    .or_else(|| b.model_name.clone())
    .or_else(|| b.processor_name.clone())
    .or_else(|| {
        arm_part.map(|p| match &manufacturer {
            Some(m) => format!("{m} {p}"),
            None => p.to_string(),
        })
    });
    let speed = name
        .as_deref()
        .and_then(speed_from_name)
        .or_else(|| b.mhz.map(|m| m.round() as i64))
        .filter(|s| *s > 0);
    Cpu {
        name,
        manufacturer,
        family_name: arm_part.map(str::to_string),
        family_number: b.family.clone(),
        model: b.model.clone(),
        stepping: b.stepping,
        cores: None,
        threads: None,
        logical: 1,
        speed,
    }
}

/// `… @ 2.30GHz` in x86 model names.
fn speed_from_name(name: &str) -> Option<i64> {
    let at = name.rfind('@')?;
    let rest = name[at + 1..].trim();
    let (num, mult) = if let Some(n) = rest.strip_suffix("GHz") {
        (n, 1000.0)
    } else if let Some(n) = rest.strip_suffix("MHz") {
        (n, 1.0)
    } else {
        return None;
    };
    let v = crate::core::decimal::parse_f64(num.trim())?;
    Some((v * mult).round() as i64)
}

fn x86_vendor(id: &str) -> String {
    match id {
        "GenuineIntel" => "Intel",
        "AuthenticAMD" => "AMD",
        "HygonGenuine" => "Hygon",
        "CentaurHauls" => "VIA",
        "  Shanghai  " | "Shanghai" => "Zhaoxin",
        "CyrixInstead" => "Cyrix",
        "GenuineTMx86" | "TransmetaCPU" => "Transmeta",
        other => other,
    }
    .to_string()
}

fn arm_implementer(code: u32) -> Option<&'static str> {
    Some(match code {
        0x41 => "ARM",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x4e => "NVIDIA",
        0x50 => "APM",
        0x51 => "Qualcomm",
        0x53 => "Samsung",
        0x56 => "Marvell",
        0x61 => "Apple",
        0x66 => "Faraday",
        0x69 => "Intel",
        0x6d => "Microsoft",
        0x70 => "Phytium",
        0xc0 => "Ampere",
        _ => return None,
    })
}

/// Core names for the implementer/part codes found on routers, boards and servers.
fn arm_part_name(implementer: u32, part: u32) -> Option<&'static str> {
    Some(match (implementer, part) {
        (0x41, 0x926) => "ARM926EJ-S",
        (0x41, 0xb02) => "ARM11 MPCore",
        (0x41, 0xb36) => "ARM1136",
        (0x41, 0xb56) => "ARM1156",
        (0x41, 0xb76) => "ARM1176",
        (0x41, 0xc05) => "Cortex-A5",
        (0x41, 0xc07) => "Cortex-A7",
        (0x41, 0xc08) => "Cortex-A8",
        (0x41, 0xc09) => "Cortex-A9",
        (0x41, 0xc0d) => "Cortex-A12",
        (0x41, 0xc0e) => "Cortex-A17",
        (0x41, 0xc0f) => "Cortex-A15",
        (0x41, 0xc14) => "Cortex-R4",
        (0x41, 0xc15) => "Cortex-R5",
        (0x41, 0xd01) => "Cortex-A32",
        (0x41, 0xd03) => "Cortex-A53",
        (0x41, 0xd04) => "Cortex-A35",
        (0x41, 0xd05) => "Cortex-A55",
        (0x41, 0xd06) => "Cortex-A65",
        (0x41, 0xd07) => "Cortex-A57",
        (0x41, 0xd08) => "Cortex-A72",
        (0x41, 0xd09) => "Cortex-A73",
        (0x41, 0xd0a) => "Cortex-A75",
        (0x41, 0xd0b) => "Cortex-A76",
        (0x41, 0xd0c) => "Neoverse-N1",
        (0x41, 0xd0d) => "Cortex-A77",
        (0x41, 0xd0e) => "Cortex-A76AE",
        (0x41, 0xd40) => "Neoverse-V1",
        (0x41, 0xd41) => "Cortex-A78",
        (0x41, 0xd42) => "Cortex-A78AE",
        (0x41, 0xd44) => "Cortex-X1",
        (0x41, 0xd46) => "Cortex-A510",
        (0x41, 0xd47) => "Cortex-A710",
        (0x41, 0xd48) => "Cortex-X2",
        (0x41, 0xd49) => "Neoverse-N2",
        (0x41, 0xd4a) => "Neoverse-E1",
        (0x41, 0xd4b) => "Cortex-A78C",
        (0x41, 0xd4d) => "Cortex-A715",
        (0x41, 0xd4e) => "Cortex-X3",
        (0x41, 0xd4f) => "Neoverse-V2",
        (0x41, 0xd80) => "Cortex-A520",
        (0x41, 0xd81) => "Cortex-A720",
        (0x41, 0xd82) => "Cortex-X4",
        (0x42, 0x00f) => "Brahma-B15",
        (0x42, 0x100) => "Brahma-B53",
        (0x43, 0x0a1) => "ThunderX",
        (0x43, 0x0af) => "ThunderX2",
        (0x48, 0xd01) => "TaiShan-v110",
        (0x51, 0x00f) => "Scorpion",
        (0x51, 0x02d) => "Scorpion",
        (0x51, 0x04d) => "Krait",
        (0x51, 0x06f) => "Krait",
        (0x51, 0x201) => "Kryo",
        (0x51, 0x205) => "Kryo",
        (0x51, 0x211) => "Kryo",
        (0x51, 0x800) => "Kryo-2XX-Gold",
        (0x51, 0x801) => "Kryo-2XX-Silver",
        (0x51, 0x803) => "Kryo-3XX-Silver",
        (0x51, 0x804) => "Kryo-4XX-Gold",
        (0x51, 0x805) => "Kryo-4XX-Silver",
        (0x56, 0x131) => "Feroceon-88FR131",
        (0x56, 0x581) => "PJ4/PJ4b",
        (0x56, 0x584) => "PJ4B-MP",
        (0xc0, 0xac3) => "Ampere-1",
        _ => return None,
    })
}

fn mips_vendor(model: &str) -> Option<&'static str> {
    let first = model.split(' ').next()?;
    Some(match first {
        "MIPS" => "MIPS",
        "Broadcom" | "BMIPS3300" | "BMIPS4350" | "BMIPS4380" | "BMIPS5000" => "Broadcom",
        "Ingenic" => "Ingenic",
        "Cavium" => "Cavium",
        "Loongson" | "ICT" => "Loongson",
        "Lantiq" => "Lantiq",
        _ => return None,
    })
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    let info = &ctx.cpuinfo;
    if let Some(first) = info.cpus.first() {
        ctx.facts.cpu_name = first.name.clone();
        ctx.facts.cpu_speed = first.speed;
        ctx.facts.cpu_packages = info.cpus.len();
    }
    if !ctx.opts.wants(Category::Cpu) {
        return Ok(());
    }
    let arch = ctx
        .facts
        .arch
        .clone()
        .or_else(|| info.arch().map(str::to_string));
    // GLPI's schema knows i386 and x86_64 for CPUS/ARCH; a kernel's i686 is said i386.
    let arch = arch.map(|a| {
        if a.starts_with('i') && a.ends_with("86") {
            "i386".to_string()
        } else {
            a
        }
    });
    for cpu in &info.cpus {
        sink.begin(Section::Cpus)?;
        sink.opt_text("NAME", cpu.name.as_deref())?;
        sink.opt_text("MANUFACTURER", cpu.manufacturer.as_deref())?;
        sink.opt_text("ARCH", arch.as_deref())?;
        sink.opt_int("SPEED", cpu.speed)?;
        sink.opt_int("CORE", cpu.cores)?;
        sink.opt_int("THREAD", cpu.threads)?;
        sink.opt_text("FAMILYNAME", cpu.family_name.as_deref())?;
        sink.opt_text("FAMILYNUMBER", cpu.family_number.as_deref())?;
        sink.opt_text("MODEL", cpu.model.as_deref())?;
        sink.opt_int("STEPPING", cpu.stepping)?;
        // Names the OCS server's cpus table reads.
        sink.opt_text("TYPE", cpu.name.as_deref())?;
        sink.opt_int("CORES", cpu.cores)?;
        sink.opt_int("THREADS", cpu.threads)?;
        sink.int("LOGICAL_CPUS", cpu.logical)?;
        sink.opt_text("CPUARCH", arch.as_deref())?;
        sink.opt_int("CURRENT_SPEED", cpu.speed)?;
        sink.end()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_cpuinfo_gives_one_entry_per_package_with_cores_and_threads() {
        let mut text = String::new();
        for (p, c) in [
            (0, 0),
            (0, 0),
            (0, 1),
            (0, 1),
            (1, 0),
            (1, 0),
            (1, 1),
            (1, 1),
        ] {
            text.push_str(&format!(
                "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
                 model name\t: Intel(R) Xeon(R) Gold 5118 CPU @ 2.30GHz\nstepping\t: 4\n\
                 physical id\t: {p}\nsiblings\t: 4\ncore id\t\t: {c}\ncpu cores\t: 2\n\
                 flags\t\t: fpu lm hypervisor\n\n"
            ));
        }
        let info = CpuInfo::parse(text.as_bytes(), "t");
        assert_eq!(info.logical, 8);
        assert_eq!(info.cpus.len(), 2);
        let c = &info.cpus[0];
        assert_eq!(c.manufacturer.as_deref(), Some("Intel"));
        assert_eq!((c.cores, c.threads, c.logical), (Some(2), Some(2), 4));
        assert_eq!(c.speed, Some(2300));
        assert_eq!(c.family_number.as_deref(), Some("6"));
        assert_eq!(c.model.as_deref(), Some("85"));
        assert_eq!(c.stepping, Some(4));
        assert!(info.hypervisor);
        assert_eq!(info.arch(), Some("x86_64"));
    }

    #[test]
    fn arm64_without_model_name_is_named_from_implementer_and_part() {
        let text = "processor\t: 0\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n\n\
                    processor\t: 1\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n";
        let info = CpuInfo::parse(text.as_bytes(), "t");
        assert_eq!(info.cpus.len(), 2);
        assert_eq!(info.cpus[0].name.as_deref(), Some("ARM Cortex-A72"));
        assert_eq!(info.arch(), Some("aarch64"));
    }

    #[test]
    fn old_single_cpu_arm_format_counts_one_processor_and_keeps_the_board() {
        let text = "Processor\t: ARM926EJ-S rev 5 (v5l)\nBogoMIPS\t: 131.48\nCPU implementer\t: 0x41\n\
                    CPU architecture: 5TEJ\nCPU part\t: 0x926\n\nHardware\t: Marvell SheevaPlug Reference Board\n\
                    Revision\t: 0000\nSerial\t\t: 0000000000000000\n";
        let info = CpuInfo::parse(text.as_bytes(), "t");
        assert_eq!(info.logical, 1);
        assert_eq!(info.cpus[0].name.as_deref(), Some("ARM926EJ-S rev 5 (v5l)"));
        assert_eq!(
            info.board.hardware.as_deref(),
            Some("Marvell SheevaPlug Reference Board")
        );
        assert_eq!(info.arch(), Some("arm"));
    }

    #[test]
    fn mips_cpu_model_whitespace_is_collapsed_and_board_kept() {
        let text = "system type\t\t: Atheros AR9344 rev 2\nmachine\t\t\t: TP-LINK TL-WR1043ND v2\n\
                    processor\t\t: 0\ncpu model\t\t: MIPS  74Kc   V5.0\n";
        let info = CpuInfo::parse(text.as_bytes(), "t");
        assert_eq!(info.cpus.len(), 1);
        assert_eq!(info.cpus[0].name.as_deref(), Some("MIPS 74Kc V5.0"));
        assert_eq!(info.cpus[0].manufacturer.as_deref(), Some("MIPS"));
        assert_eq!(
            info.board.machine.as_deref(),
            Some("TP-LINK TL-WR1043ND v2")
        );
        assert_eq!(info.arch(), Some("mips"));
    }

    #[test]
    fn garbage_yields_no_cpu_and_no_panic() {
        let info = CpuInfo::parse(&b"\x00\xff:::\n\n:\nprocessor : x\n"[..], "t");
        assert_eq!(info.logical, 1);
        assert_eq!(info.cpus.len(), 1);
    }
}
