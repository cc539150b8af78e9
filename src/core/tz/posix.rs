//! POSIX TZ strings (`std offset [dst [offset] [,start[/time],end[/time]]]`) and the offset
//! they give at an instant.

use super::{MAX_OFFSET, MAX_TZ_STRING};
use crate::core::time::{civil_from_days, days_from_civil};

/// Largest transition time of day in a rule (RFC 9636 allows -167 to 167 hours).
const MAX_RULE_TIME: i32 = 167 * 3600 + 59 * 60 + 59;

/// When a POSIX rule switches, in the year it is evaluated for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DateRule {
    /// `Jn`: day 1 to 365, February 29 never counted.
    NoLeap(u16),
    /// `n`: day 0 to 365, February 29 counted.
    Zero(u16),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { month: u8, week: u8, weekday: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Change {
    date: DateRule,
    /// Local time of day of the switch, in seconds (may be negative or past 24 h).
    time: i32,
}

#[derive(Clone, Debug, PartialEq)]
struct Dst {
    name: String,
    offset: i32,
    start: Change,
    end: Change,
}

/// A POSIX TZ rule. Offsets are kept east-positive (the string has them west-positive).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    std_name: String,
    std_offset: i32,
    dst: Option<Dst>,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    /// `<+03>` (letters, digits, signs) or three or more letters.
    fn name(&mut self) -> Option<String> {
        let start = self.i;
        let text = if self.eat(b'<') {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-')
            {
                self.i += 1;
            }
            let text = &self.b[start + 1..self.i];
            if !self.eat(b'>') {
                return None;
            }
            text
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.i += 1;
            }
            &self.b[start..self.i]
        };
        if text.len() < 3 {
            return None;
        }
        Some(String::from_utf8_lossy(text).into_owned())
    }

    fn number(&mut self, max_digits: usize) -> Option<i32> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) && self.i - start < max_digits {
            self.i += 1;
        }
        if self.i == start {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours up to `max_hours`.
    fn hms(&mut self, max: i32) -> Option<i32> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let h = self.number(3)?;
        let mut secs = h * 3600;
        if self.eat(b':') {
            let m = self.number(2).filter(|m| *m < 60)?;
            secs += m * 60;
            if self.eat(b':') {
                secs += self.number(2).filter(|s| *s < 60)?;
            }
        }
        if secs > max {
            return None;
        }
        Some(if negative { -secs } else { secs })
    }

    fn starts_offset(&self) -> bool {
        self.peek()
            .is_some_and(|c| c.is_ascii_digit() || c == b'+' || c == b'-')
    }

    fn date(&mut self) -> Option<DateRule> {
        if self.eat(b'J') {
            let n = self.number(3).filter(|n| (1..=365).contains(n))?;
            Some(DateRule::NoLeap(n as u16))
        } else if self.eat(b'M') {
            let month = self.number(2).filter(|m| (1..=12).contains(m))?;
            let week = self
                .eat(b'.')
                .then(|| self.number(1))?
                .filter(|w| (1..=5).contains(w))?;
            let weekday = self
                .eat(b'.')
                .then(|| self.number(1))?
                .filter(|d| (0..=6).contains(d))?;
            Some(DateRule::Month {
                month: month as u8,
                week: week as u8,
                weekday: weekday as u8,
            })
        } else {
            let n = self.number(3).filter(|n| (0..=365).contains(n))?;
            Some(DateRule::Zero(n as u16))
        }
    }

    fn change(&mut self) -> Option<Change> {
        let date = self.date()?;
        let time = if self.eat(b'/') {
            self.hms(MAX_RULE_TIME)?
        } else {
            2 * 3600
        };
        Some(Change { date, time })
    }
}

/// Parses `std offset [dst [offset] [,start[/time],end[/time]]]`. As in musl, a lone name
/// (`UTC`, OpenWrt's default) is that name at offset zero. Without rules, DST follows the
/// US rules (`M3.2.0,M11.1.0`), as glibc and tzcode do.
pub fn parse_posix(s: &str) -> Option<Rule> {
    let s = s.trim();
    if s.len() > MAX_TZ_STRING {
        return None;
    }
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let std_name = c.name()?;
    if c.at_end() {
        return Some(Rule {
            std_name,
            std_offset: 0,
            dst: None,
        });
    }
    let std_offset = -c.hms(MAX_OFFSET)?;
    if c.at_end() {
        return Some(Rule {
            std_name,
            std_offset,
            dst: None,
        });
    }
    let dst_name = c.name()?;
    let dst_offset = if c.starts_offset() {
        -c.hms(MAX_OFFSET)?
    } else {
        std_offset + 3600
    };
    let (start, end) = if c.at_end() {
        let us = |month, week| Change {
            date: DateRule::Month {
                month,
                week,
                weekday: 0,
            },
            time: 2 * 3600,
        };
        (us(3, 2), us(11, 1))
    } else {
        if !c.eat(b',') {
            return None;
        }
        let start = c.change()?;
        if !c.eat(b',') {
            return None;
        }
        (start, c.change()?)
    };
    if !c.at_end() {
        return None;
    }
    Some(Rule {
        std_name,
        std_offset,
        dst: Some(Dst {
            name: dst_name,
            offset: dst_offset,
            start,
            end,
        }),
    })
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

impl DateRule {
    /// The day (since the epoch) this rule names in `year`.
    fn day(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        match self {
            DateRule::NoLeap(n) => {
                let n = i64::from(n);
                jan1 + n - 1 + i64::from(is_leap(year) && n >= 60)
            }
            DateRule::Zero(n) => jan1 + i64::from(n),
            DateRule::Month {
                month,
                week,
                weekday,
            } => {
                let m = u32::from(month);
                let first = days_from_civil(year, m, 1);
                let next = if m == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, m + 1, 1)
                };
                // 1970-01-01 was a Thursday (weekday 4).
                let first_wd = (first + 4).rem_euclid(7);
                let mut day = first
                    + (i64::from(weekday) - first_wd).rem_euclid(7)
                    + 7 * (i64::from(week) - 1);
                while day >= next {
                    day -= 7;
                }
                day
            }
        }
    }
}

impl Change {
    /// The UTC instant of this change in `year`, the offset `before` being in force up to it.
    fn utc(self, year: i64, before: i32) -> i64 {
        self.date.day(year) * 86_400 + i64::from(self.time) - i64::from(before)
    }
}

impl Rule {
    /// UTC all year.
    pub fn utc() -> Rule {
        Rule {
            std_name: "UTC".into(),
            std_offset: 0,
            dst: None,
        }
    }

    pub fn offset_at(&self, utc: i64) -> (i32, String) {
        let Some(d) = &self.dst else {
            return (self.std_offset, self.std_name.clone());
        };
        let (year, _, _) = civil_from_days((utc + i64::from(self.std_offset)).div_euclid(86_400));
        // The switches of the neighbouring years too: with times past 24 h or before 0 h,
        // or in the southern hemisphere, the one in force may belong to another year.
        let mut events = [(0i64, false); 6];
        for (k, y) in (year - 1..=year + 1).enumerate() {
            events[2 * k] = (d.start.utc(y, self.std_offset), true);
            events[2 * k + 1] = (d.end.utc(y, d.offset), false);
        }
        events.sort_by_key(|e| e.0);
        let mut dst = !events[0].1;
        for (t, state) in events {
            if t <= utc {
                dst = state;
            }
        }
        if dst {
            (d.offset, d.name.clone())
        } else {
            (self.std_offset, self.std_name.clone())
        }
    }
}
