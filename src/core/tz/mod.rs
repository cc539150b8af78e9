//! Time zones without libc: a [`Zone`] is built from a TZif file (RFC 9636, versions 1 to 4,
//! [`tzif`]) or a POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`, [`posix`]), which TZif files of
//! version 2 and later also carry in their footer for the times after their last transition.
//! Finding which zone a system uses is [`crate::sys::tz`]'s job.

mod posix;
mod tzif;

pub use posix::{parse_posix, Rule};
pub use tzif::parse_tzif;

/// Largest TZif file read; real ones are under 4 KiB.
pub const MAX_TZIF: usize = 64 * 1024;
/// Most transitions taken from a TZif file.
pub const MAX_TRANSITIONS: usize = 8192;
/// Most local time types in a TZif file (they are indexed by a byte).
pub const MAX_TYPES: usize = 256;
/// Longest POSIX TZ string or zone name accepted.
pub const MAX_TZ_STRING: usize = 256;
/// Largest UTC offset accepted, in seconds (POSIX allows hours up to 24).
const MAX_OFFSET: i32 = 24 * 3600 + 59 * 60 + 59;

/// One local time type of a TZif file.
#[derive(Clone, Debug, PartialEq)]
struct LocalType {
    /// Seconds east of UTC.
    offset: i32,
    abbr: String,
}

/// The local time zone: TZif transitions, and a rule for the times they do not cover.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    transitions: Vec<i64>,
    /// Local type index of each transition (validated against `types`).
    type_of: Vec<u8>,
    types: Vec<LocalType>,
    rule: Option<Rule>,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::from_rule(Rule::utc())
    }

    /// A zone that follows one POSIX rule at all times.
    pub fn from_rule(rule: Rule) -> Zone {
        Zone {
            transitions: Vec::new(),
            type_of: Vec::new(),
            types: Vec::new(),
            rule: Some(rule),
        }
    }

    /// Offset east of UTC in seconds and abbreviation in force at `utc` (seconds since epoch).
    pub fn offset_at(&self, utc: i64) -> (i32, String) {
        let n = self.transitions.partition_point(|&t| t <= utc);
        let from_type = |i: usize| {
            self.types
                .get(i)
                .map(|t| (t.offset, t.abbr.clone()))
                .unwrap_or_else(|| (0, "UTC".into()))
        };
        if n == 0 && !self.types.is_empty() && (!self.transitions.is_empty() || self.rule.is_none())
        {
            // Before the first transition, or a file without any: the first type.
            return from_type(0);
        }
        if n > 0 && (n < self.transitions.len() || self.rule.is_none()) {
            return from_type(usize::from(self.type_of[n - 1]));
        }
        match &self.rule {
            Some(r) => r.offset_at(utc),
            None => (0, "UTC".into()),
        }
    }
}

#[cfg(test)]
pub(crate) mod test_data;
#[cfg(test)]
mod tests;
