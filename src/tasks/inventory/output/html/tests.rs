use super::columns::write_size;
use super::*;

fn page(f: impl FnOnce(&mut HtmlWriter<Vec<u8>>) -> io::Result<()>) -> String {
    let mut w = HtmlWriter::new(Vec::new(), "box-2026-01-01-00-00-00").unwrap();
    f(&mut w).unwrap();
    w.finish().unwrap();
    String::from_utf8(w.into_inner()).unwrap()
}

/// The table whose id is `t-ID`, from its start to its end.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<table id=\"t-{id}\""))
        .unwrap_or_else(|| panic!("no table {id} in {html}"));
    let end = start + html[start..].find("</table>").unwrap();
    &html[start..end]
}

/// (header cells, cells of each body row).
fn shape(table: &str) -> (usize, Vec<usize>) {
    let (head, body) = table.split_once("</thead>").unwrap();
    let rows = body
        .split("<tr>")
        .skip(1)
        .map(|r| r.matches("<td").count())
        .collect();
    let th = head.matches("<th>").count() + head.matches("<th ").count();
    (th, rows)
}

fn size(bytes: i64) -> String {
    let mut v = Vec::new();
    write_size(&mut v, bytes, 0).unwrap();
    String::from_utf8(v).unwrap()
}

#[test]
fn a_missing_field_leaves_its_cell_empty_instead_of_shifting_the_row() {
    let html = page(|w| {
        w.begin(Section::Networks)?;
        w.text("DESCRIPTION", "eth0")?;
        w.text("DRIVER", "e1000")?;
        w.int("MTU", 1500)?;
        w.end()?;
        w.begin(Section::Networks)?;
        w.text("DESCRIPTION", "lo")?;
        w.int("MTU", 65536)?;
        w.end()
    });
    let t = table(&html, "networks");
    assert_eq!(shape(t), (3, vec![3, 3]));
    assert!(t.contains("<th title=\"DRIVER\">Driver</th>"));
    // lo's MTU sits under MTU, and its missing driver is an empty cell under Driver.
    assert!(t.contains("<th title=\"MTU\">MTU</th><th title=\"DRIVER\">Driver</th>"));
    assert!(t.contains("<tr><td>lo</td><td class=\"n\">65536</td><td></td></tr>"), "{t}");
}

#[test]
fn columns_without_a_value_are_left_out_of_a_short_section() {
    let html = page(|w| {
        w.begin(Section::Storages)?;
        w.text("NAME", "sda")?;
        w.int("DISKSIZE", 20480)?;
        w.end()
    });
    let t = table(&html, "storages");
    assert_eq!(shape(t), (2, vec![2]));
    assert!(t.contains("<td class=\"n\">20 GiB</td>"), "{t}");
    assert!(!t.contains("Serial"));
}

#[test]
fn the_summary_comes_first_with_memory_in_binary_units() {
    let html = page(|w| {
        w.begin(Section::OperatingSystem)?;
        w.text("FULL_NAME", "Debian GNU/Linux 12 (bookworm)")?;
        w.text("KERNEL_VERSION", "6.1.0-18-amd64")?;
        w.open("TIMEZONE")?;
        w.text("NAME", "CET")?;
        w.text("OFFSET", "+0100")?;
        w.close()?;
        w.end()?;
        w.begin(Section::Bios)?;
        w.text("SSN", "PF3ABC12")?;
        w.end()?;
        w.begin(Section::Cpus)?;
        w.text("NAME", "Intel(R) Xeon(R)")?;
        w.int("CORE", 4)?;
        w.int("LOGICAL_CPUS", 8)?;
        w.end()?;
        w.begin(Section::Networks)?;
        w.text("DESCRIPTION", "lo")?;
        w.text("IPADDRESS", "127.0.0.1")?;
        w.end()?;
        w.begin(Section::Networks)?;
        w.text("DESCRIPTION", "eth0")?;
        w.text("IPADDRESS", "192.0.2.7")?;
        w.end()?;
        w.begin(Section::Hardware)?;
        w.text("NAME", "gw-7")?;
        w.int("MEMORY", 24105)?;
        w.text("UUID", "4c4c4544-0042")?;
        w.int("CHECKSUM", 1)?;
        w.end()?;
        w.scalar("VERSIONCLIENT", "uagent_v9")
    });
    let header = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
    assert!(header.contains("style=\"order:1\""));
    assert!(header.contains("<h1>gw-7</h1>"));
    assert!(header.contains("<dd>23.5 GiB</dd>"), "{header}");
    assert!(header.contains("Debian GNU/Linux 12 (bookworm) · Linux 6.1.0-18-amd64"));
    assert!(header.contains("Intel(R) Xeon(R) · 4 cores, 8 threads"));
    assert!(header.contains("192.0.2.7 <span class=\"k\">eth0</span>"));
    assert!(!header.contains("127.0.0.1"), "loopback is not an address to show");
    assert!(header.contains("PF3ABC12 <span class=\"k\">system</span>"));
    assert!(header.contains("4c4c4544-0042"));
    // HARDWARE's own table has units too, and no protocol bookkeeping.
    assert!(html.contains("<th title=\"MEMORY\">Memory</th><td>23.5 GiB</td>"));
    assert!(!html.contains("CHECKSUM"));
    // The nested time zone is one row.
    assert!(html.contains("<th title=\"TIMEZONE\">Time zone</th><td>CET +0100</td>"));
    // The contents list the sections in the order they are shown, HARDWARE near the top.
    let nav = &html[html.find("<nav").unwrap()..];
    let at = |s: &str| nav.find(s).unwrap();
    assert!(at("#s-operatingsystem") < at("#s-hardware"));
    assert!(at("#s-hardware") < at("#s-networks"));
    assert!(nav.contains("Network interfaces</a> <span class=\"k\">2</span>"));
    assert!(html.contains("uagent_v9"));
}

#[test]
fn an_empty_section_writes_no_heading() {
    let html = page(|w| {
        w.begin(Section::Bios)?;
        w.end()?;
        w.begin(Section::Batteries)?;
        w.end()
    });
    assert!(!html.contains("<section"), "{html}");
    assert!(!html.contains("#s-bios"));
}

#[test]
fn everything_from_outside_is_escaped() {
    let html = page(|w| {
        w.begin(Section::Softwares)?;
        w.text("NAME", "<script>alert(1)</script>")?;
        w.text("VERSION", "1\"2'3&")?;
        w.end()?;
        w.begin(Section::Hardware)?;
        w.text("NAME", "<b>host</b>")?;
        w.end()
    });
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("1&quot;2&#39;3&amp;"));
    assert!(html.contains("<h1>&lt;b&gt;host&lt;/b&gt;</h1>"));
    let mut w = HtmlWriter::new(Vec::new(), "<id>").unwrap();
    w.finish().unwrap();
    let s = String::from_utf8(w.into_inner()).unwrap();
    assert!(s.contains("<title>Inventory of &lt;id&gt;</title>"));
}

#[test]
fn a_long_list_is_streamed_folded_and_counted() {
    let n = BUFFER_ROWS * 3;
    let html = page(|w| {
        for i in 0..n {
            w.begin(Section::Softwares)?;
            w.text("NAME", &format!("pkg{i}"))?;
            w.text("VERSION", "1.0")?;
            if i == n - 1 {
                // A field only a late row has still gets its column.
                w.text("PUBLISHER", "Debian")?;
            }
            w.end()?;
        }
        Ok(())
    });
    let t = table(&html, "softwares");
    let (head, rows) = shape(t);
    assert_eq!(head, 2, "the columns the held rows filled");
    assert_eq!(rows.len(), n);
    assert!(rows.iter().all(|r| *r == head));
    assert!(html.contains("<details><summary><h2>Installed software<small>"));
    assert!(html.contains("class=\"filter\""));
    assert!(html.contains(&format!("<p class=\"count\">{n} entries</p>")));
    assert!(html.contains(&format!("Installed software</a> <span class=\"k\">{n}</span>")));
    // A field that only a late row has goes, named, into its last cell.
    assert!(t.contains("<td class=\"w\">1.0; <span class=\"k\">Publisher</span> Debian</td>"), "{t}");
}

#[test]
fn a_short_list_is_open_and_a_medium_one_folded() {
    let rows = |n: usize| {
        page(move |w| {
            for i in 0..n {
                w.begin(Section::Processes)?;
                w.int("PID", i as i64 + 1)?;
                w.text("CMD", "init")?;
                w.int("VIRTUALMEMORY", 2048)?;
                w.text("CPUUSAGE", "0.5")?;
                w.end()?;
            }
            Ok(())
        })
    };
    let short = rows(3);
    assert!(short.contains("<details open><summary><h2>Processes <span class=\"c\">(3)</span>"));
    assert!(short.contains("<td class=\"n\">2 MiB</td>"));
    assert!(short.contains("<td class=\"n\">0.5 %</td>"));
    let medium = rows(FOLD_ROWS + 1);
    assert!(medium.contains(&format!(
        "<details><summary><h2>Processes <span class=\"c\">({})</span>",
        FOLD_ROWS + 1
    )));
}

#[test]
fn unknown_fields_keep_their_name_and_the_columns_aligned() {
    let html = page(|w| {
        w.begin(Section::Users)?;
        w.text("LOGIN", "root")?;
        w.text("NEW_FIELD", "x")?;
        w.end()?;
        w.begin(Section::Users)?;
        w.text("LOGIN", "admin")?;
        w.end()
    });
    let t = table(&html, "users");
    assert_eq!(shape(t), (2, vec![2, 2]));
    assert!(t.contains("<th>Other</th>"));
    assert!(t.contains("<span class=\"k\">NEW_FIELD</span> x"));
}

#[test]
fn repeated_fields_share_a_cell_and_huge_values_are_cut() {
    let long = "é".repeat(MAX_VALUE);
    let html = page(|w| {
        w.begin(Section::LocalGroups)?;
        w.text("NAME", "adm")?;
        w.text("MEMBER", "alice")?;
        w.text("MEMBER", "bob")?;
        w.end()?;
        w.begin(Section::LocalGroups)?;
        w.text("NAME", &long)?;
        for _ in 0..10_000 {
            w.text("MEMBER", "someone")?;
        }
        w.end()
    });
    assert!(html.contains("<td>alice, bob</td>"));
    let t = table(&html, "local_groups");
    assert!(t.len() < 3 * MAX_CELL, "cells stop at their limit: {}", t.len());
    assert!(t.contains("…"));
}

#[test]
fn sizes_read_in_binary_units() {
    assert_eq!(size(700), "700 B");
    assert_eq!(size(24105 << 20), "23.5 GiB");
    assert_eq!(size(16 << 30), "16 GiB");
    assert_eq!(size(512 << 20), "512 MiB");
    assert_eq!(size(1536), "1.5 KiB");
    assert_eq!(size(-1), "-1 B");
    let mib = |n| {
        let mut v = Vec::new();
        write_size(&mut v, n, 2).unwrap();
        String::from_utf8(v).unwrap()
    };
    assert_eq!(mib(24105), "23.5 GiB");
    assert_eq!(mib(1023), "1023 MiB");
    assert!(mib(i64::MAX).ends_with(" EiB"), "no overflow at the top");
}

#[test]
fn other_units_are_named() {
    let show = |unit, v| {
        let mut out = Vec::new();
        write_value(&mut out, unit, v).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert_eq!(show(Unit::Mbps, Value::Int(1000)), "1 Gb/s");
    assert_eq!(show(Unit::Mbps, Value::Int(100)), "100 Mb/s");
    assert_eq!(show(Unit::MilliWh, Value::Int(50_000)), "50 Wh");
    assert_eq!(show(Unit::MilliV, Value::Int(11_100)), "11.1 V");
    assert_eq!(show(Unit::MHz, Value::Str("2400")), "2400 MHz");
    assert_eq!(show(Unit::MiB, Value::Str("n/a")), "n/a");
    assert_eq!(show(Unit::Text, Value::Bool(true)), "yes");
}

#[test]
fn the_summary_counts_processors_and_says_what_it_could_not_read() {
    let html = page(|w| {
        for _ in 0..2 {
            w.begin(Section::Cpus)?;
            w.text("NAME", "Xeon")?;
            w.int("CORE", 8)?;
            w.end()?;
        }
        Ok(())
    });
    let header = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
    assert!(header.contains("2 × Xeon · 16 cores"), "{header}");
    assert!(header.contains("<h1>box-2026-01-01-00-00-00</h1>"), "no host name: the DEVICEID");
    assert!(header.contains("<dt>Serial numbers</dt><dd><span class=\"none\">none readable</span>"));
    assert!(header.contains("<dt>Memory</dt><dd><span class=\"none\">unknown</span>"));
}
