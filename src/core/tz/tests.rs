use super::test_data::{at, block, paris_block, tzif_v2, Block};
use super::*;

fn rule(s: &str) -> Rule {
    parse_posix(s).unwrap_or_else(|| panic!("{s} should parse"))
}

fn off(r: &Rule, t: i64) -> (i32, String) {
    r.offset_at(t)
}

#[test]
fn paris_rule_switches_on_the_last_sundays_of_march_and_october() {
    let r = rule("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_eq!(off(&r, at(2024, 1, 15, 12, 0, 0)), (3600, "CET".into()));
    assert_eq!(off(&r, at(2024, 7, 1, 12, 0, 0)), (7200, "CEST".into()));
    // 2024-03-31 02:00 CET is 01:00 UTC; 2024-10-27 03:00 CEST is 01:00 UTC.
    assert_eq!(off(&r, at(2024, 3, 31, 0, 59, 59)).0, 3600);
    assert_eq!(off(&r, at(2024, 3, 31, 1, 0, 0)).0, 7200);
    assert_eq!(off(&r, at(2024, 10, 27, 0, 59, 59)).0, 7200);
    assert_eq!(off(&r, at(2024, 10, 27, 1, 0, 0)).0, 3600);
}

#[test]
fn sydney_rule_keeps_summer_time_across_the_new_year() {
    let r = rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_eq!(off(&r, at(2023, 12, 31, 23, 0, 0)), (39600, "AEDT".into()));
    assert_eq!(off(&r, at(2024, 1, 1, 0, 30, 0)), (39600, "AEDT".into()));
    assert_eq!(off(&r, at(2024, 7, 1, 0, 0, 0)), (36000, "AEST".into()));
    // 2024-04-07 03:00 AEDT = 04-06 16:00 UTC; 2024-10-06 02:00 AEST = 10-05 16:00 UTC.
    assert_eq!(off(&r, at(2024, 4, 6, 15, 59, 59)).0, 39600);
    assert_eq!(off(&r, at(2024, 4, 6, 16, 0, 0)).0, 36000);
    assert_eq!(off(&r, at(2024, 10, 5, 15, 59, 59)).0, 36000);
    assert_eq!(off(&r, at(2024, 10, 5, 16, 0, 0)).0, 39600);
}

#[test]
fn quoted_names_and_minutes_in_offsets() {
    let r = rule("<+0330>-3:30");
    assert_eq!(off(&r, at(2024, 6, 1, 0, 0, 0)), (12600, "+0330".into()));
    let r = rule("<-03>3");
    assert_eq!(off(&r, at(2024, 6, 1, 0, 0, 0)), (-10800, "-03".into()));
    let r = rule("XXX-5:45:30");
    assert_eq!(off(&r, 0), (20730, "XXX".into()));
}

#[test]
fn utc_forms_have_offset_zero() {
    assert_eq!(off(&rule("UTC0"), 1_700_000_000), (0, "UTC".into()));
    assert_eq!(off(&rule("UTC"), 1_700_000_000), (0, "UTC".into()));
    assert_eq!(Zone::utc().offset_at(-5), (0, "UTC".into()));
}

#[test]
fn dst_without_rules_follows_the_us_rules_and_an_hour_ahead() {
    let r = rule("EST5EDT");
    // 2024-03-10 02:00 EST = 07:00 UTC; 2024-11-03 02:00 EDT = 06:00 UTC.
    assert_eq!(off(&r, at(2024, 3, 10, 6, 59, 59)), (-18000, "EST".into()));
    assert_eq!(off(&r, at(2024, 3, 10, 7, 0, 0)), (-14400, "EDT".into()));
    assert_eq!(off(&r, at(2024, 11, 3, 5, 59, 59)).0, -14400);
    assert_eq!(off(&r, at(2024, 11, 3, 6, 0, 0)).0, -18000);
}

#[test]
fn julian_day_rules_count_february_29_only_in_the_zero_based_form() {
    // J60 is March 1 in every year; 59 is February 29 in a leap year.
    let j = rule("AAA0BBB,J60/0,J300/0");
    let z = rule("AAA0BBB,59/0,300/0");
    assert_eq!(off(&j, at(2024, 2, 29, 12, 0, 0)).1, "AAA");
    assert_eq!(off(&j, at(2024, 3, 1, 0, 0, 0)).1, "BBB");
    assert_eq!(off(&z, at(2024, 2, 29, 0, 0, 0)).1, "BBB");
    assert_eq!(off(&z, at(2024, 2, 28, 23, 59, 59)).1, "AAA");
    assert_eq!(off(&z, at(2023, 3, 1, 0, 0, 0)).1, "BBB");
    assert_eq!(off(&z, at(2023, 2, 28, 23, 0, 0)).1, "AAA");
}

#[test]
fn v3_rules_with_negative_times_and_all_year_dst() {
    // Nuuk: switches at -1:00 local standard time on the last Sunday of March.
    let r = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_eq!(off(&r, at(2024, 3, 31, 0, 59, 59)), (-7200, "-02".into()));
    assert_eq!(off(&r, at(2024, 3, 31, 1, 0, 0)), (-3600, "-01".into()));
    // DST the whole year round.
    let r = rule("EST5EDT,0/0,J365/25");
    for t in [
        at(2024, 6, 1, 0, 0, 0),
        at(2024, 12, 31, 23, 0, 0),
        at(2025, 1, 1, 4, 30, 0),
        at(2025, 1, 1, 5, 30, 0),
    ] {
        assert_eq!(off(&r, t), (-14400, "EDT".into()), "at {t}");
    }
}

#[test]
fn garbage_tz_strings_are_refused() {
    for s in [
        "",
        "Europe/Paris",
        "CET-1CEST,M13.5.0,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0",
        "CET-25",
        "CE-1",
        "CET-1CEST,M3.5.0",
        "CET-1CEST,M3.5.0,M10.5.0/3junk",
        "<+03-3",
    ] {
        assert_eq!(parse_posix(s), None, "{s:?}");
    }
}

#[test]
fn tzif_v2_uses_the_64_bit_data_and_the_footer_after_the_last_transition() {
    // The v1 block says something else: only the v2 block must be read.
    let v1 = Block {
        times: vec![],
        idx: vec![],
        types: vec![(-3600, 0, 0)],
        chars: b"XXX\0",
    };
    let z = parse_tzif(&tzif_v2(&v1, &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3")).unwrap();
    assert_eq!(z.offset_at(at(1900, 1, 1, 0, 0, 0)), (561, "LMT".into()));
    assert_eq!(z.offset_at(at(2023, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
    assert_eq!(z.offset_at(at(2023, 12, 1, 0, 0, 0)), (3600, "CET".into()));
    // Past the last transition the footer rule applies.
    assert_eq!(
        z.offset_at(at(2024, 3, 31, 0, 59, 59)),
        (3600, "CET".into())
    );
    assert_eq!(z.offset_at(at(2024, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
    assert_eq!(z.offset_at(at(2100, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
}

#[test]
fn tzif_v1_keeps_the_last_type_after_its_last_transition() {
    let mut data = Vec::new();
    block(&mut data, 0, &paris_block(), 4);
    let z = parse_tzif(&data).unwrap();
    assert_eq!(z.offset_at(at(2023, 7, 1, 0, 0, 0)), (7200, "CEST".into()));
    assert_eq!(z.offset_at(at(2030, 7, 1, 0, 0, 0)), (3600, "CET".into()));
}

#[test]
fn tzif_without_transitions_uses_its_only_type() {
    let utc = Block {
        times: vec![],
        idx: vec![],
        types: vec![(0, 0, 0)],
        chars: b"UTC\0",
    };
    let z = parse_tzif(&tzif_v2(&utc, &utc, "UTC0")).unwrap();
    assert_eq!(z.offset_at(1_700_000_000), (0, "UTC".into()));
    let mut data = Vec::new();
    block(&mut data, 0, &utc, 4);
    assert_eq!(parse_tzif(&data).unwrap().offset_at(0), (0, "UTC".into()));
}

#[test]
fn broken_tzif_files_are_refused() {
    let good = tzif_v2(&paris_block(), &paris_block(), "CET-1CEST,M3.5.0,M10.5.0/3");
    assert!(parse_tzif(&good).is_ok());
    for cut in [0, 10, 43, 60, good.len() - 30] {
        assert!(parse_tzif(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut bad_index = paris_block();
    bad_index.idx = vec![1, 7];
    assert!(parse_tzif(&tzif_v2(&paris_block(), &bad_index, "")).is_err());
    let mut bad_abbr = paris_block();
    bad_abbr.types[0].2 = 200;
    assert!(parse_tzif(&tzif_v2(&paris_block(), &bad_abbr, "")).is_err());
    let mut unordered = paris_block();
    unordered.times.reverse();
    assert!(parse_tzif(&tzif_v2(&paris_block(), &unordered, "")).is_err());
    assert!(parse_tzif(&tzif_v2(&paris_block(), &paris_block(), "C%T")).is_err());
    let mut huge = good.clone();
    huge[20 + 12..24 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(parse_tzif(&huge).is_err());
}
