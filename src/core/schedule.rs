//! When to call a server next: the reference agents' arithmetic (a period less a random share,
//! a doubling back-off after errors, a random first delay), and the run-now requests that
//! move a date to now.

use std::time::Duration;

use super::random;

/// Least time between two contacts of one target, whatever happens (an expiration of a
/// second, a flood of `/now` from a server's host, a corrupt state file): a hostile or broken
/// server cannot make the daemon loop.
pub const MIN_CONTACT_INTERVAL: u64 = 10;
/// Shortest period a server may ask for (PROLOG_FREQ, CONTACT's expiration); a shorter one is
/// raised to it, with a warning.
pub const MIN_PERIOD: u64 = 60;
/// Longest period between two contacts (a year): a larger number from a server or a state
/// file is cut to it.
pub const MAX_PERIOD: u64 = 365 * 86_400;

/// The date `delay` seconds after `now`, the delay first brought into
/// [`MIN_CONTACT_INTERVAL`]..=[`MAX_PERIOD`]; saturating, so that no number can wrap a date
/// into the past.
pub fn date_after(now: i64, delay: u64) -> i64 {
    let delay = delay.clamp(MIN_CONTACT_INTERVAL, MAX_PERIOD);
    now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX))
}

/// A period in seconds from a number of hours a server sent, within
/// [`MIN_PERIOD`]..=[`MAX_PERIOD`]; `None` for what is not a positive number.
pub fn period_from_hours(hours: f64) -> Option<u64> {
    if hours.is_nan() || hours <= 0.0 {
        return None;
    }
    let secs = hours * 3600.0;
    Some(if secs >= MAX_PERIOD as f64 {
        MAX_PERIOD
    } else {
        (secs as u64).max(MIN_PERIOD)
    })
}

/// When a target that was last contacted at `last` and is due at `next_run` may be contacted,
/// seen at `now`: never sooner than [`MIN_CONTACT_INTERVAL`] after the last contact (a last
/// contact dated in the future, from a corrupt file or a clock set back, counts as now), and
/// never later than [`MAX_PERIOD`] from now (a corrupt date far ahead would silence it).
pub fn due_date(next_run: i64, last: i64, now: i64) -> i64 {
    let floor = last.min(now).saturating_add(MIN_CONTACT_INTERVAL as i64);
    next_run
        .max(floor)
        .min(now.saturating_add(MAX_PERIOD as i64))
}

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
    max_delay.saturating_sub(random::below(spread.saturating_add(1)))
}

/// After `errors` failed contacts in a row: 60 s, doubling each time, up to `cap`.
pub fn retry_delay(errors: u32, cap: u64) -> u64 {
    let doubled = 60u64.saturating_mul(1u64 << errors.saturating_sub(1).min(30));
    doubled.min(cap)
}

/// A daemon's first contact: a random point between 50 % and 100 % of `delaytime`, so that a
/// fleet started together does not call together.
pub fn first_delay(delaytime: u64) -> u64 {
    let delaytime = delaytime.min(MAX_PERIOD);
    delaytime / 2 + random::below(delaytime / 2 + 1)
}

/// The command line's `--wait`: sleep a random part of it before anything else.
pub fn initial_wait(seconds: u64) -> Duration {
    Duration::from_secs(random::below(seconds.saturating_add(1)))
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

    #[test]
    fn no_number_schedules_the_past_or_sooner_than_the_floor() {
        let now = 1_800_000_000;
        assert_eq!(date_after(now, u64::MAX), now + MAX_PERIOD as i64);
        assert_eq!(date_after(now, 0), now + MIN_CONTACT_INTERVAL as i64);
        assert_eq!(date_after(i64::MAX - 5, 3600), i64::MAX);
        assert_eq!(period_from_hours(1e308), Some(MAX_PERIOD));
        assert_eq!(period_from_hours(f64::INFINITY), Some(MAX_PERIOD));
        assert_eq!(period_from_hours(f64::NAN), None);
        assert_eq!(period_from_hours(-1.0), None);
        assert_eq!(period_from_hours(1e-9), Some(MIN_PERIOD));
        assert_eq!(period_from_hours(24.0), Some(86_400));
        // A corrupt next_run far in the past or ahead, a last contact in the future.
        assert_eq!(due_date(-579_010_723_984_328_356, now - 4, now), now + 6);
        assert_eq!(due_date(i64::MAX, now, now), now + MAX_PERIOD as i64);
        assert_eq!(due_date(0, i64::MAX, now), now + 10);
        assert_eq!(due_date(0, i64::MIN, now), 0);
        let _ = next_delay(u64::MAX);
        let _ = first_delay(u64::MAX);
        let _ = initial_wait(u64::MAX);
    }
}
