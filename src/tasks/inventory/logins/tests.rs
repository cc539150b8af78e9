use super::*;
use std::fs;
use std::path::PathBuf;

const MAY_20_2025_10_22: i64 = 1_747_736_520;

/// One record of `layout` (glibc or musl), in the byte order it says.
fn record(layout: Layout, kind: i16, user: &str, line: &str, time: i64) -> Vec<u8> {
    let mut b = vec![0u8; layout.size];
    let kb = if layout.big_endian {
        kind.to_be_bytes()
    } else {
        kind.to_le_bytes()
    };
    b[..2].copy_from_slice(&kb);
    b[4..8].copy_from_slice(&1234i32.to_le_bytes());
    b[LINE_AT..LINE_AT + line.len()].copy_from_slice(line.as_bytes());
    b[USER_AT..USER_AT + user.len()].copy_from_slice(user.as_bytes());
    b[76..76 + 9].copy_from_slice(b"192.0.2.9");
    let at = layout.tv_at;
    if layout.time64 {
        let t = if layout.big_endian {
            time.to_be_bytes()
        } else {
            time.to_le_bytes()
        };
        b[at..at + 8].copy_from_slice(&t);
    } else {
        let t = if layout.big_endian {
            (time as i32).to_be_bytes()
        } else {
            (time as i32).to_le_bytes()
        };
        b[at..at + 4].copy_from_slice(&t);
    }
    b
}

fn sample_file(layout: Layout) -> Vec<u8> {
    let t = MAY_20_2025_10_22;
    let mut f = Vec::new();
    f.extend(record(layout, 2, "reboot", "~", t - 3600));
    f.extend(record(layout, 6, "LOGIN", "tty1", t - 3000));
    f.extend(record(layout, USER_PROCESS, "alice", "pts/0", t - 600));
    f.extend(record(layout, 8, "", "pts/0", t - 300));
    f.extend(record(layout, USER_PROCESS, "bob", "pts/1", t - 60));
    f.extend(record(layout, USER_PROCESS, "alice", "pts/2", t));
    f.extend(record(layout, 8, "", "pts/1", t + 10));
    f
}

struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str) -> Tree {
        let dir =
            std::env::temp_dir().join(format!("uagent-logins-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::create_dir_all(dir.join("var/log")).unwrap();
        Tree(dir)
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

#[test]
fn glibc_utmp_lists_each_logged_in_user_once() {
    let t = Tree::new("glibc");
    fs::write(t.0.join("run/utmp"), sample_file(GLIBC)).unwrap();
    assert_eq!(current_logins(&t.root()), ["alice", "bob"]);
}

#[test]
fn musl_and_big_endian_layouts_are_recognised_under_a_root() {
    let t = Tree::new("musl");
    let be_glibc = Layout {
        big_endian: true,
        ..GLIBC
    };
    let be_musl = Layout {
        big_endian: true,
        ..MUSL
    };
    for layout in [MUSL, be_glibc, be_musl] {
        let data = sample_file(layout);
        fs::write(t.0.join("run/utmp"), &data).unwrap();
        fs::write(t.0.join("var/log/wtmp"), &data).unwrap();
        assert_eq!(current_logins(&t.root()), ["alice", "bob"], "{layout:?}");
        let last = last_login(&t.root()).unwrap();
        assert_eq!(
            (last.user.as_str(), last.time),
            ("alice", MAY_20_2025_10_22),
            "{layout:?}"
        );
    }
}

#[test]
fn layout_is_told_apart_when_the_file_size_fits_both() {
    // 25 glibc records are 9600 bytes, a multiple of 400 too.
    let t = Tree::new("both");
    for layout in [GLIBC, MUSL] {
        let count = 9600 / layout.size;
        let mut data = Vec::new();
        for i in 0..count {
            let user = if i % 2 == 0 { "carol" } else { "dave" };
            data.extend(record(
                layout,
                USER_PROCESS,
                user,
                "pts/3",
                1_700_000_000 + i as i64,
            ));
        }
        assert_eq!(data.len(), 9600);
        fs::write(t.0.join("var/log/wtmp"), &data).unwrap();
        let last = last_login(&t.root()).unwrap();
        assert_eq!(last.time, 1_700_000_000 + count as i64 - 1, "{layout:?}");
    }
}

#[test]
fn wtmp_is_read_from_its_end_within_the_bound() {
    let t = Tree::new("tail");
    // Far more than MAX_WTMP_TAIL of logouts after the one login: it is not reached.
    let mut data = record(GLIBC, USER_PROCESS, "old", "pts/0", 1_600_000_000);
    let logout = record(GLIBC, 8, "", "pts/0", 1_600_000_100);
    for _ in 0..(MAX_WTMP_TAIL as usize / GLIBC.size + 10) {
        data.extend_from_slice(&logout);
    }
    fs::write(t.0.join("var/log/wtmp"), &data).unwrap();
    assert_eq!(last_login(&t.root()), None);
    // Within the bound it is found.
    let mut data = record(GLIBC, USER_PROCESS, "recent", "pts/0", 1_600_000_000);
    for _ in 0..100 {
        data.extend_from_slice(&logout);
    }
    fs::write(t.0.join("var/log/wtmp"), &data).unwrap();
    assert_eq!(last_login(&t.root()).unwrap().user, "recent");
}

#[test]
fn missing_empty_or_foreign_files_give_nothing() {
    let t = Tree::new("none");
    assert!(current_logins(&t.root()).is_empty());
    assert_eq!(last_login(&t.root()), None);
    fs::write(t.0.join("run/utmp"), b"").unwrap();
    assert!(current_logins(&t.root()).is_empty());
    fs::write(t.0.join("var/log/wtmp"), vec![0xffu8; 384 * 3]).unwrap();
    assert_eq!(last_login(&t.root()), None);
}

#[test]
fn last_login_date_is_written_like_last_prints_it() {
    assert_eq!(last_style_date(MAY_20_2025_10_22), "Tue May 20 10:22");
    // 2024-02-01 09:05 UTC, a Thursday: the day is padded with a space.
    assert_eq!(last_style_date(1_706_778_300), "Thu Feb  1 09:05");
}
