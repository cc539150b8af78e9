//! Local time zone. (Placeholder: being written.)

use super::root::Root;

pub struct Zone;

impl Zone {
    pub fn load(_root: &Root) -> Zone {
        Zone
    }

    /// Offset east of UTC in seconds and abbreviation in force at `utc` (seconds since epoch).
    pub fn offset_at(&self, _utc: i64) -> (i32, String) {
        (0, "UTC".to_string())
    }
}
