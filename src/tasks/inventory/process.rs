//! Running processes (PROCESSES), read from `/proc/<pid>/{stat,status,cmdline}` rather than
//! from `ps`, whose output differs between procps and busybox: the fields are those of
//! `ps -A -o user,pid,pcpu,pmem,vsz,tty,lstart,command`.

use std::io::{self, Read};

use super::sink::{Section, Sink};
use super::{Category, Context};
use crate::core::time;
use crate::core::tz::Zone;
use crate::sys::Root;

/// Most processes listed; the rest is left out with a warning.
pub const MAX_PROCESSES: usize = 65_536;
/// Longest command line kept; longer ones are cut (as `ps` cuts them to the terminal).
pub const MAX_CMDLINE: usize = 4096;
/// Longest `stat` read: the line is under 1 KiB, its `comm` under 64 bytes.
const MAX_STAT: usize = 4096;
/// Longest part of `status` read; `Uid` comes early, `VmRSS` after a `Groups` line that may
/// be long (then the RSS of `stat` is used).
const MAX_STATUS: usize = 8192;
/// Most accounts taken from `/etc/passwd` to name process owners.
pub const MAX_ACCOUNTS: usize = 65_536;
/// Most terminal names remembered while naming them.
const MAX_TTY_CACHE: usize = 256;
/// Clock ticks per second and page size assumed under a root (the usual Linux values).
const DEFAULT_HZ: u64 = 100;
const DEFAULT_PAGE: u64 = 4096;

/// The fields of `/proc/<pid>/stat` this collector uses.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stat {
    pub comm: String,
    pub tty_nr: u32,
    pub utime: u64,
    pub stime: u64,
    /// Clock ticks after boot.
    pub starttime: u64,
    /// Bytes.
    pub vsize: u64,
    /// Pages.
    pub rss: u64,
    /// `PF_KTHREAD` in the flags: a kernel thread (root's, with an empty command line).
    pub kernel_thread: bool,
}

/// The kernel's `PF_KTHREAD` task flag (include/linux/sched.h), set on every kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

/// Parses a `stat` line. `comm` is in parentheses and may itself hold spaces and `)`, so the
/// fields start after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    // Fields from the third on (state), numbered here from 0.
    let f: Vec<&str> = text[close + 1..].split_whitespace().take(22).collect();
    if f.len() < 22 {
        return None;
    }
    let n = |i: usize| f[i].parse::<u64>().ok();
    Some(Stat {
        comm: text[open + 1..close].to_string(),
        // tty_nr is printed as a signed int.
        tty_nr: f[4].parse::<i64>().ok()? as u32,
        utime: n(11)?,
        stime: n(12)?,
        starttime: n(19)?,
        vsize: n(20)?,
        rss: f[21].parse::<i64>().ok()?.max(0) as u64,
        kernel_thread: n(6)? & PF_KTHREAD != 0,
    })
}

/// Effective uid and resident set size (KiB) from `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> (Option<u32>, Option<u64>) {
    let mut uid = None;
    let mut rss = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Uid:") {
            uid = v.split_whitespace().nth(1).and_then(|u| u.parse().ok());
        } else if let Some(v) = line.strip_prefix("VmRSS:") {
            rss = v.split_whitespace().next().and_then(|k| k.parse().ok());
        }
    }
    (uid, rss)
}

/// A command line: NUL-separated arguments joined with spaces; a kernel thread (empty
/// command line) is shown as `[comm]`, as `ps` does.
pub fn command(cmdline: &[u8], comm: &str) -> String {
    let end = cmdline.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end == 0 {
        return format!("[{comm}]");
    }
    let joined: Vec<u8> = cmdline[..end]
        .iter()
        .map(|&b| if b == 0 { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&joined).into_owned()
}

/// Major and minor numbers of a `tty_nr` (the kernel's `new_encode_dev`).
fn split_dev(tty_nr: u32) -> (u32, u32) {
    (
        (tty_nr >> 8) & 0xfff,
        (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00),
    )
}

/// Names a controlling terminal as `ps` does: `?` for none, `pts/N`, `ttyN`, `ttySN`…
/// `sysfs` names the devices the fixed table does not know (`/sys/dev/char/M:m`).
pub fn tty_name(tty_nr: u32, sysfs: &mut dyn FnMut(u32, u32) -> Option<String>) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let (major, minor) = split_dev(tty_nr);
    match (major, minor) {
        (136..=143, _) => return format!("pts/{}", (major - 136) * 256 + minor),
        (4, 0..=63) => return format!("tty{minor}"),
        (4, _) => return format!("ttyS{}", minor - 64),
        (5, 0) => return "tty".into(),
        (5, 1) => return "console".into(),
        _ => {}
    }
    if let Some(name) = sysfs(major, minor) {
        return name;
    }
    match (major, minor) {
        (188, _) => format!("ttyUSB{minor}"),
        (166, _) => format!("ttyACM{minor}"),
        (204, 64..) => format!("ttyAMA{}", minor - 64),
        _ => format!("{major}:{minor}"),
    }
}

/// Percent with one decimal, cut rather than rounded, as `ps` prints `%CPU` and `%MEM`.
fn percent(part: f64, whole: f64) -> String {
    let tenths = if whole > 0.0 {
        (part * 1000.0 / whole).floor().max(0.0) as u64
    } else {
        0
    };
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// What every process is measured against.
pub struct Env {
    pub hz: u64,
    pub page: u64,
    /// Seconds since boot, from `/proc/uptime`.
    pub uptime: Option<f64>,
    pub mem_total_kib: Option<u64>,
    /// Boot time (seconds since the epoch) and the zone to show start times in; live only.
    pub boot: Option<(i64, Zone)>,
    /// uid → login, sorted by uid (a sorted list: no hash table code in the binary).
    pub accounts: Vec<(u32, String)>,
}

impl Env {
    pub fn read(root: &Root) -> Env {
        let live = root.is_live();
        let sysconf = |var| {
            if !live {
                return None;
            }
            nix::unistd::sysconf(var)
                .ok()
                .flatten()
                .and_then(|v| u64::try_from(v).ok())
                .filter(|v| *v > 0)
        };
        let hz = sysconf(nix::unistd::SysconfVar::CLK_TCK).unwrap_or(DEFAULT_HZ);
        let page = sysconf(nix::unistd::SysconfVar::PAGE_SIZE).unwrap_or(DEFAULT_PAGE);
        let uptime = root
            .value("/proc/uptime")
            .and_then(|u| crate::core::decimal::parse_f64(u.split_whitespace().next()?))
            .filter(|u| u.is_finite() && *u >= 0.0);
        let mem_total_kib = root.read("/proc/meminfo").and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        });
        // Start times need the running clock.
        let boot = match (live, uptime) {
            (true, Some(up)) => Some((time::now() - up as i64, crate::sys::tz::zone(root))),
            _ => None,
        };
        Env {
            hz,
            page,
            uptime,
            mem_total_kib,
            boot,
            accounts: accounts(root),
        }
    }
}

/// uid → login from the root's `/etc/passwd` (the first line of a uid wins).
fn accounts(root: &Root) -> Vec<(u32, String)> {
    let mut map = Vec::new();
    let Some(mut lines) = root.lines("/etc/passwd") else {
        return map;
    };
    while let Some(line) = lines.next_line() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Ok(uid) = uid.parse::<u32>() else {
            continue;
        };
        if name.is_empty() || name.starts_with(['+', '-']) {
            continue;
        }
        if map.len() >= MAX_ACCOUNTS {
            log::warn!("/etc/passwd has more than {MAX_ACCOUNTS} accounts: the rest is not used to name process owners");
            break;
        }
        map.push((uid, name.to_string()));
    }
    // A stable sort keeps the first line of each uid first; dedup keeps that one.
    map.sort_by_key(|(uid, _)| *uid);
    map.dedup_by_key(|(uid, _)| *uid);
    map
}

/// One PROCESSES entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub user: String,
    pub cpu: Option<String>,
    pub mem: Option<String>,
    pub vsz_kib: u64,
    pub tty: String,
    pub started: Option<String>,
    pub cmd: String,
}

/// Reads at most `limit` bytes of a `/proc` file into `buf`. Any failure means the process is
/// gone (or hidden): not worth a word.
///
/// One read is enough: these files are smaller than the limit and procfs hands them out whole
/// (a read to see EOF would be a second system call per file, twice per process).
fn read_proc(root: &Root, path: &str, limit: usize, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    buf.resize(limit, 0);
    let read = root.open_proc(path).and_then(|mut f| loop {
        match f.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    });
    match read {
        Ok(n) => {
            buf.truncate(n);
            true
        }
        Err(e) => {
            log::debug!("cannot read {path}: {e}");
            false
        }
    }
}

/// Reads the processes one at a time, reusing its buffers.
pub struct Reader<'a> {
    root: &'a Root,
    env: &'a Env,
    buf: Vec<u8>,
    ttys: Vec<(u32, String)>,
}

impl<'a> Reader<'a> {
    pub fn new(root: &'a Root, env: &'a Env) -> Self {
        Reader {
            root,
            env,
            buf: Vec::with_capacity(MAX_CMDLINE),
            ttys: Vec::new(),
        }
    }

    /// `None` when the process vanished or its files make no sense.
    pub fn process(&mut self, pid: u32) -> Option<Process> {
        let dir = format!("/proc/{pid}");
        if !read_proc(self.root, &format!("{dir}/stat"), MAX_STAT, &mut self.buf) {
            return None;
        }
        let Some(stat) = parse_stat(&String::from_utf8_lossy(&self.buf)) else {
            log::debug!("{dir}/stat cannot be parsed: process skipped");
            return None;
        };
        // On a live system the owner of /proc/PID is the process's effective user, and stat's
        // RSS field is enough: /proc/PID/status costs the kernel far more to write out (it
        // made up a third of a whole inventory's time). Fixture trees are plain files: their
        // status file says it.
        // Kernel threads are most of a router's processes: their owner is root and their
        // command line empty, so on a live system neither is asked for (two fewer files to
        // open per thread, about a fifth of an inventory's system calls).
        let kernel_thread = stat.kernel_thread && self.root.is_live();
        let (uid, rss_kib) = if kernel_thread {
            (0, None)
        } else if self.root.is_live() {
            use std::os::unix::fs::MetadataExt;
            let Ok(meta) = std::fs::metadata(&dir) else {
                return None;
            };
            (meta.uid(), None)
        } else {
            if !read_proc(
                self.root,
                &format!("{dir}/status"),
                MAX_STATUS,
                &mut self.buf,
            ) {
                return None;
            }
            let (uid, rss_kib) = parse_status(&String::from_utf8_lossy(&self.buf));
            (uid?, rss_kib)
        };
        if kernel_thread {
            self.buf.clear();
        } else if !read_proc(
            self.root,
            &format!("{dir}/cmdline"),
            MAX_CMDLINE,
            &mut self.buf,
        ) {
            return None;
        }
        let cmd = command(&self.buf, &stat.comm);

        let env = self.env;
        let hz = env.hz as f64;
        let cpu = env.uptime.map(|up| {
            let used = (stat.utime + stat.stime) as f64 / hz;
            percent(used, up - stat.starttime as f64 / hz)
        });
        let rss_kib = rss_kib.unwrap_or(stat.rss.saturating_mul(env.page) / 1024);
        let mem = env
            .mem_total_kib
            .map(|total| percent(rss_kib as f64, total as f64));
        let started = env.boot.as_ref().map(|(boot, zone)| {
            let t = boot + (stat.starttime / env.hz) as i64;
            time::format_datetime(t + i64::from(zone.offset_at(t).0))
        });
        let user = match env.accounts.binary_search_by_key(&uid, |(u, _)| *u) {
            Ok(i) => env.accounts[i].1.clone(),
            Err(_) => uid.to_string(),
        };
        let tty = self.tty(stat.tty_nr);
        Some(Process {
            pid,
            user,
            cpu,
            mem,
            vsz_kib: stat.vsize / 1024,
            tty,
            started,
            cmd,
        })
    }

    fn tty(&mut self, tty_nr: u32) -> String {
        if let Some((_, name)) = self.ttys.iter().find(|(n, _)| *n == tty_nr) {
            return name.clone();
        }
        let root = self.root;
        let name = tty_name(tty_nr, &mut |major, minor| {
            let uevent = root.read(&format!("/sys/dev/char/{major}:{minor}/uevent"))?;
            uevent
                .lines()
                .find_map(|l| l.strip_prefix("DEVNAME="))
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
        });
        if self.ttys.len() < MAX_TTY_CACHE {
            self.ttys.push((tty_nr, name.clone()));
        }
        name
    }
}

/// The process ids in `/proc`, in numeric order.
pub fn pids(root: &Root) -> Vec<u32> {
    let mut pids: Vec<u32> = root
        .list("/proc")
        .iter()
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|n| n.parse().ok())
        .collect();
    pids.sort_unstable();
    if pids.len() > MAX_PROCESSES {
        log::warn!("more than {MAX_PROCESSES} processes: the rest is left out");
        pids.truncate(MAX_PROCESSES);
    }
    pids
}

pub fn write(p: &Process, sink: &mut dyn Sink) -> io::Result<()> {
    sink.begin(Section::Processes)?;
    sink.text("USER", &p.user)?;
    sink.int("PID", i64::from(p.pid))?;
    sink.opt_text("CPUUSAGE", p.cpu.as_deref())?;
    sink.opt_text("MEM", p.mem.as_deref())?;
    sink.int("VIRTUALMEMORY", p.vsz_kib as i64)?;
    sink.text("TTY", &p.tty)?;
    sink.opt_text("STARTED", p.started.as_deref())?;
    sink.text("CMD", &p.cmd)?;
    sink.end()
}

/// Streams every process of `root` into `sink`.
pub fn write_all(root: &Root, sink: &mut dyn Sink) -> io::Result<()> {
    let env = Env::read(root);
    let mut reader = Reader::new(root, &env);
    for pid in pids(root) {
        if let Some(p) = reader.process(pid) {
            write(&p, sink)?;
        }
    }
    Ok(())
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    if !ctx.opts.wants(Category::Process) {
        return Ok(());
    }
    write_all(ctx.root, sink)
}

#[cfg(test)]
mod tests;
