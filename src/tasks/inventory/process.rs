//! Running processes (PROCESSES), read from `/proc/<pid>/{stat,status,cmdline}` rather than
//! from `ps`, whose output differs between procps and busybox: the fields are those of
//! `ps -A -o user,pid,pcpu,pmem,vsz,tty,lstart,command`.

use std::fs::File;
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
    let read = File::open(root.path(path)).and_then(|mut f| loop {
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
mod tests {
    use super::*;
    use crate::tasks::inventory::output::xml::XmlWriter;
    use std::fs;
    use std::path::PathBuf;

    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            // Tests run in parallel: each tree gets its own directory.
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("uagent-proc-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn write(&self, path: &str, data: &[u8]) {
            let p = self.0.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        }

        /// A process whose stat line has `comm`, 10 s of user + stime ticks (at 100 Hz),
        /// started 100 s after boot, 8 MiB virtual, 256 resident pages.
        fn process(&self, pid: u32, comm: &str, uid: u32, tty_nr: u32, cmdline: &[u8]) {
            let stat = format!(
                "{pid} ({comm}) S 1 {pid} {pid} {tty_nr} -1 4194560 100 0 0 0 600 400 0 0 20 0 1 0 \
                 10000 8388608 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
            );
            self.write(&format!("proc/{pid}/stat"), stat.as_bytes());
            let status = format!(
                "Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n\
                 Gid:\t0\t0\t0\t0\n"
            );
            self.write(&format!("proc/{pid}/status"), status.as_bytes());
            self.write(&format!("proc/{pid}/cmdline"), cmdline);
        }

        fn root(&self) -> Root {
            Root::at(&self.0)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn fixture() -> Tree {
        let t = Tree::new("tree");
        t.write("proc/uptime", b"1100.50 2000.00\n");
        t.write(
            "proc/meminfo",
            b"MemTotal:         102400 kB\nMemFree: 1 kB\n",
        );
        t.write(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
        );
        t.write("proc/self", b"");
        t.write("proc/sys/kernel/hostname", b"box\n");
        t.process(1, "init", 0, 0, b"/sbin/init\0splash\0");
        t.process(2, "kthreadd", 0, 0, b"");
        t.process(
            10,
            "tmux: server (1) )",
            1000,
            0x8803,
            b"tmux\0new\0-s\0a b\0",
        );
        t.process(9, "dropbear", 65534, 0x0440, b"/usr/sbin/dropbear\0-F\0");
        t.write("proc/11/stat", b"11 (broken S 1 2 3\n");
        t.write("proc/11/status", b"Uid:\t0\t0\t0\t0\n");
        t.write("proc/11/cmdline", b"x\0");
        // Listed but gone before it could be read.
        fs::create_dir_all(t.0.join("proc/12")).unwrap();
        t
    }

    #[test]
    fn comm_with_spaces_and_parentheses_is_split_at_the_last_one() {
        let s = parse_stat(
            "42 (a) b (c)) R 1 42 42 34817 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 500 1024 5 0\n",
        )
        .unwrap();
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!((s.tty_nr, s.utime, s.stime), (34817, 7, 3));
        assert_eq!((s.starttime, s.vsize, s.rss), (500, 1024, 5));
        assert!(!s.kernel_thread);
        let k = parse_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 1 0 0 20 0 1 0 5 0 0 0\n")
            .unwrap();
        assert!(k.kernel_thread, "flags 0x208040 have PF_KTHREAD");
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
        assert_eq!(
            parse_stat("1 )x( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"),
            None
        );
    }

    #[test]
    fn terminals_are_named_like_ps_names_them() {
        let mut none = |_, _| None;
        assert_eq!(tty_name(0, &mut none), "?");
        assert_eq!(tty_name(0x8803, &mut none), "pts/3");
        // pts/300: major 137, minor 44.
        assert_eq!(tty_name((137 << 8) | 44, &mut none), "pts/300");
        assert_eq!(tty_name(0x0401, &mut none), "tty1");
        assert_eq!(tty_name(0x0440, &mut none), "ttyS0");
        assert_eq!(tty_name(0x0501, &mut none), "console");
        assert_eq!(tty_name((204 << 8) | 64, &mut none), "ttyAMA0");
        assert_eq!(tty_name((250 << 8) | 1, &mut none), "250:1");
        let mut sysfs = |ma, mi| (ma == 250 && mi == 1).then(|| "ttyMSM0".to_string());
        assert_eq!(tty_name((250 << 8) | 1, &mut sysfs), "ttyMSM0");
    }

    #[test]
    fn fixture_tree_gives_users_ttys_commands_and_usage() {
        let t = fixture();
        let root = t.root();
        assert_eq!(pids(&root), [1, 2, 9, 10, 11, 12]);
        let env = Env::read(&root);
        assert_eq!((env.hz, env.page), (100, 4096));
        assert!(env.boot.is_none(), "no start time without the live clock");
        let mut r = Reader::new(&root, &env);
        let init = r.process(1).unwrap();
        assert_eq!(init.user, "root");
        assert_eq!(init.cmd, "/sbin/init splash");
        // 10 s of CPU over 1000.5 s of life (0.9995 %, cut like ps); 1 MiB resident of 100 MiB.
        assert_eq!(init.cpu.as_deref(), Some("0.9"));
        assert_eq!(init.mem.as_deref(), Some("1.0"));
        assert_eq!(init.vsz_kib, 8192);
        assert_eq!(init.tty, "?");
        assert_eq!(r.process(2).unwrap().cmd, "[kthreadd]");
        let tmux = r.process(10).unwrap();
        assert_eq!(tmux.user, "1000");
        assert_eq!(tmux.tty, "pts/3");
        assert_eq!(tmux.cmd, "tmux new -s a b");
        assert_eq!(r.process(9).unwrap().user, "nobody");
        assert_eq!(r.process(11), None);
        assert_eq!(r.process(12), None);
    }

    #[test]
    fn processes_are_written_in_pid_order_and_bad_ones_skipped() {
        let t = fixture();
        let mut w = XmlWriter::new(Vec::new(), "d").unwrap();
        write_all(&t.root(), &mut w).unwrap();
        let xml = String::from_utf8(w.into_inner()).unwrap();
        let pids: Vec<&str> = xml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<PID>")?.strip_suffix("</PID>"))
            .collect();
        assert_eq!(pids, ["1", "2", "9", "10"]);
        assert!(xml.contains("<CMD>[kthreadd]</CMD>"));
        assert!(xml.contains("<TTY>ttyS0</TTY>"));
        assert!(!xml.contains("<STARTED>"));
    }

    #[test]
    fn status_rss_is_preferred_to_stat_pages() {
        assert_eq!(
            parse_status("Uid:\t1\t2\t3\t4\nVmRSS:\t  2164 kB\n"),
            (Some(2), Some(2164))
        );
        let t = fixture();
        t.write("proc/1/status", b"Uid:\t0\t0\t0\t0\nVmRSS:\t    5120 kB\n");
        let root = t.root();
        let env = Env::read(&root);
        assert_eq!(
            Reader::new(&root, &env).process(1).unwrap().mem.as_deref(),
            Some("5.0")
        );
    }

    #[test]
    fn start_time_is_boot_plus_starttime_in_local_time() {
        let t = fixture();
        let root = t.root();
        let mut env = Env::read(&root);
        // Booted 2024-07-01 00:00:00 UTC, zone UTC+2.
        let zone = crate::core::tz::parse_posix("XXX-2").unwrap();
        let boot = time::days_from_civil(2024, 7, 1) * 86_400;
        env.boot = Some((boot, Zone::from_rule(zone)));
        let p = Reader::new(&root, &env).process(1).unwrap();
        assert_eq!(p.started.as_deref(), Some("2024-07-01 02:01:40"));
    }

    #[test]
    fn long_command_lines_are_cut_at_the_limit() {
        let t = fixture();
        t.write("proc/1/cmdline", &vec![b'a'; MAX_CMDLINE * 2]);
        let root = t.root();
        let env = Env::read(&root);
        assert_eq!(
            Reader::new(&root, &env).process(1).unwrap().cmd.len(),
            MAX_CMDLINE
        );
    }
}
