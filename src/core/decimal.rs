//! Decimal numbers read from text (`/proc/uptime`, `cpu MHz`, JSON replies) without std's
//! float parser: that one is exact to the last bit, and its tables and code cost about 17 KB
//! on MIPS. Every number the agent reads this way is a measurement or a period of a few
//! significant digits, where an error in the last bit of an `f64` changes nothing.

/// Most significant digits kept: more would overflow the `u64` mantissa; the rest only move
/// the exponent.
const MAX_DIGITS: u32 = 19;

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]`, with digits on at least one side of the
/// point, as Rust's and JSON's number syntaxes allow. No surrounding spaces, no `inf`/`nan`.
pub fn parse_f64(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    let negative = sign(b, &mut i);
    let mut mantissa: u64 = 0;
    let mut kept = 0u32;
    let mut exponent: i64 = 0;
    let mut digits = 0usize;
    let mut seen_point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if mantissa == 0 && c == b'0' {
                    // A leading zero: only its place after the point counts.
                    if seen_point {
                        exponent -= 1;
                    }
                } else if kept < MAX_DIGITS {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                    kept += 1;
                    if seen_point {
                        exponent -= 1;
                    }
                } else if !seen_point {
                    // A digit beyond what the mantissa holds: dropped, but its place counts
                    // before the point.
                    exponent += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(&(b'e' | b'E')) = b.get(i) {
        i += 1;
        let exp_negative = sign(b, &mut i);
        let start = i;
        let mut e: i64 = 0;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            e = (e * 10 + i64::from(c - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += if exp_negative { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    let mut value = mantissa as f64;
    if mantissa != 0 {
        // Two steps keep 10^e inside f64's range for the extreme but valid cases
        // (many digits with a large negative exponent).
        let e = exponent.clamp(-800, 800) as i32;
        let half = e / 2;
        value = value * 10f64.powi(half) * 10f64.powi(e - half);
    }
    Some(if negative { -value } else { value })
}

/// An optional `+` or `-` at `b[*i]`, stepped over; true for `-`.
fn sign(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(&c @ (b'-' | b'+')) => {
            *i += 1;
            c == b'-'
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_f64;

    #[test]
    fn reads_what_the_agent_meets() {
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("150", 150.0),
            ("1200.000", 1200.0),
            ("2399.998", 2399.998),
            ("12345.67", 12345.67),
            ("0.5", 0.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("-3.25", -3.25),
            ("+7", 7.0),
            ("1e3", 1000.0),
            ("2.5E-3", 0.0025),
            ("1e+2", 100.0),
            ("0.000", 0.0),
            ("007", 7.0),
            ("24", 24.0),
        ];
        for (text, want) in cases {
            let got = parse_f64(text).unwrap_or_else(|| panic!("{text:?} refused"));
            let err = (got - want).abs();
            assert!(err <= want.abs() * 1e-15, "{text:?}: {got} != {want}");
            let std: f64 = text.parse().unwrap();
            assert!(
                (got - std).abs() <= std.abs() * 1e-15,
                "{text:?}: {got} vs std {std}"
            );
        }
    }

    #[test]
    fn long_and_extreme_numbers_stay_close_to_std() {
        for text in [
            "123456789012345678901234567890",
            "0.1234567890123456789012345",
            "98765.4321098765432109876",
            "1e300",
            "1e-300",
            "123456789012345678901234567890e-320",
            "0.00000000000000000000000000001234",
        ] {
            let got = parse_f64(text).unwrap();
            let std: f64 = text.parse().unwrap();
            assert!(
                (got - std).abs() <= std.abs() * 1e-13,
                "{text}: {got} vs std {std}"
            );
        }
        assert_eq!(parse_f64("1e99999"), Some(f64::INFINITY));
        assert_eq!(parse_f64("1e-99999"), Some(0.0));
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for text in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "12a", " 1", "1 ", "inf", "NaN", "0x10",
            "--1", "1..",
        ] {
            assert_eq!(parse_f64(text), None, "{text:?}");
        }
    }
}
