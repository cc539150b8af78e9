//! When to call a server next: the reference agents' arithmetic (a period less a random share,
//! a doubling back-off after errors, a random first delay), and the run-now requests that
//! move a date to now.

use std::time::Duration;

use super::random;

/// A run-now request (the HTTP server's `/now`): `Target(i)` when the caller is the host of
/// server target `i`, `All` for another trusted caller; `Partial` for an event asking for a
/// partial inventory of some categories (`/now?partial=yes&category=software`), which runs
/// at once and leaves the schedule as it was.
#[derive(Debug, Clone, PartialEq)]
pub enum NowRequest {
    Target(usize),
    All,
    Partial {
        target: usize,
        /// Category names, comma-separated, already checked.
        categories: String,
    },
}

/// The reference formula: the period less a random amount (up to a sixth below 6 h, an hour
/// up to 24 h, a 24th above).
pub fn next_delay(max_delay: u64) -> u64 {
    let spread = if max_delay < 6 * 3600 {
        max_delay / 6
    } else if max_delay <= 24 * 3600 {
        3600
    } else {
        max_delay / 24
    };
    max_delay - random::below(spread + 1)
}

/// After `errors` failed contacts in a row: 60 s, doubling each time, up to `cap`.
pub fn retry_delay(errors: u32, cap: u64) -> u64 {
    let doubled = 60u64.saturating_mul(1u64 << errors.saturating_sub(1).min(30));
    doubled.min(cap)
}

/// A daemon's first contact: a random point between 50 % and 100 % of `delaytime`, so that a
/// fleet started together does not call together.
pub fn first_delay(delaytime: u64) -> u64 {
    delaytime / 2 + random::below(delaytime / 2 + 1)
}

/// The command line's `--wait`: sleep a random part of it before anything else.
pub fn initial_wait(seconds: u64) -> Duration {
    Duration::from_secs(random::below(seconds + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_the_reference_formulas() {
        for _ in 0..200 {
            let d = next_delay(24 * 3600);
            assert!((23 * 3600..=24 * 3600).contains(&d));
            let d = next_delay(3600);
            assert!((3000..=3600).contains(&d));
            let d = next_delay(48 * 3600);
            assert!((46 * 3600..=48 * 3600).contains(&d));
            let d = first_delay(3600);
            assert!((1800..=3600).contains(&d));
        }
        assert_eq!(retry_delay(1, 86_400), 60);
        assert_eq!(retry_delay(2, 86_400), 120);
        assert_eq!(retry_delay(5, 86_400), 960);
        assert_eq!(retry_delay(40, 3600), 3600);
    }
}
