//! The digests deployment checks, computed as the data streams by: MD5 and SHA-1 (what OCS info
//! files name; both are weak, and the log says so), SHA-512 (GLPI parts and files), all three
//! from [`crate::core::digest`], which the SNMP client shares, and CRC-32 (the gzip trailer).

pub use crate::core::digest::{hex, Hasher, Md5, Sha1, Sha512};

/// CRC-32 (IEEE 802.3, reflected), as gzip's trailer carries it; bitwise, no table (gzip
/// checking is not the slow part of a download).
#[derive(Clone, Copy, Default)]
pub struct Crc32(u32);

impl Crc32 {
    pub fn update(&mut self, data: &[u8]) {
        let mut c = !self.0;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xedb8_8320 } else { c >> 1 };
            }
        }
        self.0 = !c;
    }

    pub fn value(&self) -> u32 {
        self.0
    }
}

/// Whether `given` (hex in any case, or base64 with or without padding, as `encoding` says)
/// names `digest`.
pub fn matches(digest: &[u8], given: &str, base64: bool) -> bool {
    let given = given.trim();
    if base64 {
        crate::http::base64(digest).trim_end_matches('=') == given.trim_end_matches('=')
    } else {
        hex(digest).eq_ignore_ascii_case(given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_and_digest_encodings() {
        let mut c = Crc32::default();
        c.update(b"123456789");
        assert_eq!(c.value(), 0xcbf4_3926);
        let mut m = Md5::new();
        m.update(b"abc");
        let d = m.finish();
        assert!(matches(&d, "900150983CD24FB0D6963F7D28E17F72", false));
        // Perl's b64digest has no padding; both spellings are accepted.
        assert!(matches(&d, "kAFQmDzST7DWlj99KOF/cg", true));
        assert!(matches(&d, "kAFQmDzST7DWlj99KOF/cg==", true));
        assert!(!matches(&d, "kAFQmDzST7DWlj99KOF/cx", true));
        assert!(!matches(&d, "", false));
    }
}
