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
