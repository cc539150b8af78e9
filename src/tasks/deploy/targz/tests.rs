use super::*;

/// A tar entry for the tests: name, type flag, body, link target.
struct E<'a>(&'a str, u8, &'a [u8], &'a str, u32);

fn header(name: &str, kind: u8, size: usize, link: &str, mode: u32) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mode = format!("{mode:07o}\0");
    h[100..108].copy_from_slice(mode.as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    let size = format!("{size:011o}\0");
    h[124..136].copy_from_slice(size.as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let sum = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(sum.as_bytes());
    h
}

fn tar(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&header(e.0, e.1, e.2.len(), e.3, e.4));
        out.extend_from_slice(e.2);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(b"pkg.tar\0");
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    let mut c = Crc32::default();
    c.update(data);
    out.extend_from_slice(&c.value().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("uagent-targz-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Extracts `data` fed in pieces of `piece` bytes.
fn extract(dir: &Path, data: &[u8], piece: usize) -> Result<(usize, u64), BuildError> {
    let mut ok = |_: u64| Ok(());
    let mut u = Unpacker::new(dir, &mut ok);
    for p in data.chunks(piece) {
        u.feed(p)?;
    }
    let t = u.finish()?;
    Ok((t.files, t.bytes))
}

#[test]
fn a_tar_gz_is_unpacked_in_pieces_of_any_size() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let data = gzip(&tar(&[
        E("./", b'5', b"", "", 0o755),
        E("./run.sh", b'0', b"echo hi\n", "", 0o4755),
        E("sub/", b'5', b"", "", 0o700),
        E("sub/big.bin", b'0', &big, "", 0o644),
        E("sub/empty", b'0', b"", "", 0o600),
        E("sub/link", b'2', b"", "big.bin", 0o777),
        E("hard", b'1', b"", "run.sh", 0o755),
    ]));
    for piece in [1, 7, 511, 4096, 1 << 20] {
        let d = tmp(&format!("ok{piece}"));
        assert_eq!(extract(&d, &data, piece).unwrap(), (3, 200_008));
        assert_eq!(fs::read(d.join("run.sh")).unwrap(), b"echo hi\n");
        assert_eq!(fs::read(d.join("sub/big.bin")).unwrap(), big);
        assert_eq!(fs::read(d.join("sub/link")).unwrap(), big, "the link leads to its target");
        assert_eq!(fs::read(d.join("hard")).unwrap(), b"echo hi\n");
        let mode = fs::metadata(d.join("run.sh")).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "the set-user-ID bit is dropped");
        fs::remove_dir_all(&d).unwrap();
    }
    // A plain tar too, and two gzip members one after the other.
    let d = tmp("plain");
    assert_eq!(extract(&d, &tar(&[E("a", b'0', b"x", "", 0o644)]), 100).unwrap().0, 1);
    fs::remove_dir_all(&d).unwrap();
    let t = tar(&[E("a", b'0', b"xyz", "", 0o644)]);
    let mut two = gzip(&t[..700]);
    two.extend(gzip(&t[700..]));
    let d = tmp("members");
    assert_eq!(extract(&d, &two, 33).unwrap().0, 1);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn hostile_entries_are_refused() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (tar(&[E("../evil", b'0', b"x", "", 0o644)]), "`..`"),
        (tar(&[E("a/../../evil", b'0', b"x", "", 0o644)]), "`..`"),
        (tar(&[E("/etc/evil", b'0', b"x", "", 0o644)]), "absolute"),
        (tar(&[E("dev", b'3', b"", "", 0o644)]), "device"),
        (tar(&[E("dev", b'4', b"", "", 0o644)]), "device"),
        (tar(&[E("fifo", b'6', b"", "", 0o644)]), "FIFO"),
        (tar(&[E("l", b'2', b"", "/etc/passwd", 0o777)]), "outside"),
        (tar(&[E("l", b'2', b"", "../../etc/passwd", 0o777)]), "outside"),
        (tar(&[E("h", b'1', b"", "../../etc/passwd", 0o644)]), "`..`"),
        (tar(&[E("h", b'1', b"", "missing", 0o644)]), "not a file"),
        // Through a link to the folder itself, then up: outside once followed.
        (tar(&[E("s", b'2', b"", ".", 0o777), E("t", b'2', b"", "s/..", 0o777)]), "outside"),
        (tar(&[E("d/", b'5', b"", "", 0o755), E("d/s", b'2', b"", "..", 0o777), E("t", b'2', b"", "d/s/..", 0o777)]), "outside"),
        (tar(&[E("x", b'S', b"", "", 0o644)]), "unknown type"),
    ];
    for (i, (data, why)) in cases.iter().enumerate() {
        let d = tmp(&format!("bad{i}"));
        let e = extract(&d, &gzip(data), 97).unwrap_err();
        assert!(e.to_string().contains(why), "case {i}: {e} should say {why}");
        assert!(!d.parent().unwrap().join("evil").exists());
        fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn broken_archives_are_errors_not_panics() {
    let good = gzip(&tar(&[E("a", b'0', &[7u8; 3000], "", 0o644)]));
    let d = tmp("broken");
    for cut in [1, 5, 12, 40, good.len() - 9, good.len() - 1] {
        assert!(extract(&d, &good[..cut], 64).is_err(), "cut at {cut}");
    }
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 6] ^= 0xff;
    assert!(matches!(extract(&d, &flipped, 64), Err(BuildError::Corrupt(_))));
    assert!(extract(&d, b"PK\x03\x04 a zip file, not a tar at all........", 64).is_err());
    let mut garbage = good.clone();
    garbage.extend_from_slice(b"trailing");
    assert!(extract(&d, &garbage, 64).is_err());
    let mut zeros = good.clone();
    zeros.extend_from_slice(&[0; 100]);
    assert!(extract(&d, &zeros, 64).is_ok());
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_full_disk_stops_the_unpacking_with_its_reason() {
    let d = tmp("space");
    let mut refuse = |n: u64| if n > 100 { Err(BuildError::NoSpace(format!("{n} bytes do not fit"))) } else { Ok(()) };
    let mut u = Unpacker::new(&d, &mut refuse);
    let data = gzip(&tar(&[E("small", b'0', b"x", "", 0o644), E("big", b'0', &[1u8; 1000], "", 0o644)]));
    let e = u.feed(&data).unwrap_err();
    assert!(matches!(e, BuildError::NoSpace(_)), "{e}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn plain_data_passes_through_the_gunzip_of_parts() {
    let mut out = Vec::new();
    let mut g = Gunzip::new(true);
    g.feed(b"not compressed", &mut |d| {
        out.extend_from_slice(d);
        Ok(())
    })
    .unwrap();
    g.finish().unwrap();
    assert_eq!(out, b"not compressed");
    let mut out = Vec::new();
    let mut g = Gunzip::new(true);
    let z = gzip(b"hello parts");
    for b in z.chunks(1) {
        g.feed(b, &mut |d| {
            out.extend_from_slice(d);
            Ok(())
        })
        .unwrap();
    }
    g.finish().unwrap();
    assert_eq!(out, b"hello parts");
}
