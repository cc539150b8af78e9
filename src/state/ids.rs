//! The agent's identity: the DEVICEID servers know it by (`host-YYYY-MM-DD-HH-MM-SS`, made
//! once) and the GLPI agent id (a UUID), both kept in the vardir and never replaced while
//! they are valid.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::{names, read_small, write_atomic, Vardir};
use crate::core::{random, time};
use crate::sys::{os, tz, Root};

/// The identity cannot be kept: a new one at every run would make the agent look like a new
/// computer to its servers each time, so the run stops instead.
#[derive(Debug)]
pub struct IdError {
    /// What could not be kept: "DEVICEID" or "agent id".
    pub what: &'static str,
    pub file: PathBuf,
    pub why: io::Error,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "cannot keep the {} in {}: {}; give a writable state folder with --vardir \
             (with a new {} at every run, the servers would see a new computer each time)",
            self.what,
            self.file.display(),
            self.why,
            self.what
        )
    }
}

/// Whether `id` has the shape servers accept: `name-YYYY-MM-DD-HH-MM-SS`.
pub fn is_valid_deviceid(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() < 21 || !id.is_ascii() {
        return false;
    }
    let stamp = &b[b.len() - 20..];
    let shape = b"-dddd-dd-dd-dd-dd-dd";
    stamp.iter().zip(shape).all(|(c, s)| {
        if *s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        }
    }) && !id[..id.len() - 20].trim().is_empty()
        && !id.contains(['<', '>', '&', '\n', '/'])
}

impl Vardir {
    /// The DEVICEID: read from the vardir, or made from `hostname` and `stamp`
    /// (`YYYY-MM-DD-HH-MM-SS`, local time) and kept there. A stored one is never replaced,
    /// unless it is not a DEVICEID at all (a damaged file).
    pub fn deviceid(&self, hostname: &str, stamp: &str) -> io::Result<String> {
        let path = self.file(names::DEVICEID);
        let stored = match read_small(&path) {
            // Not a regular file (a FIFO put there): damaged like a file of garbage.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                log::warn!("{}: {e}; making a new DEVICEID", path.display());
                None
            }
            other => other?,
        };
        if let Some(text) = stored {
            let id = text.trim();
            if is_valid_deviceid(id) {
                return Ok(id.to_string());
            }
            log::warn!(
                "{} does not hold a DEVICEID ({:?}): making a new one",
                path.display(),
                id
            );
        }
        let id = new_deviceid(hostname, stamp);
        self.ensure()?;
        write_atomic(&path, format!("{id}\n").as_bytes())?;
        Ok(id)
    }

    /// The agent's GLPI-Agent-ID, made once and kept like the DEVICEID (an existing one is
    /// used even when the vardir cannot be written).
    pub fn agentid(&self) -> Result<String, IdError> {
        let path = self.file(names::AGENTID);
        let fail = |why| IdError {
            what: "agent id",
            file: path.clone(),
            why,
        };
        if let Some(text) = read_small(&path).map_err(fail)? {
            let id = text.trim();
            if id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Ok(id.to_string());
            }
        }
        let id = random::uuid();
        self.ensure()
            .and_then(|_| write_atomic(&path, format!("{id}\n").as_bytes()))
            .map_err(fail)?;
        Ok(id)
    }
}

/// The DEVICEID of the system under `root`, kept in the vardir (an existing one is used even
/// when the vardir cannot be written).
pub fn deviceid(vardir: &Vardir, root: &Root) -> Result<String, IdError> {
    let host = os::hostname(root);
    let now = time::now();
    let local = now + i64::from(tz::zone(&Root::live()).offset_at(now).0);
    let stamp = time::format_deviceid_stamp(local);
    vardir.deviceid(&host, &stamp).map_err(|why| IdError {
        what: "DEVICEID",
        file: vardir.file(names::DEVICEID),
        why,
    })
}

/// `host-YYYY-MM-DD-HH-MM-SS`, with characters a server would choke on replaced.
pub fn new_deviceid(hostname: &str, stamp: &str) -> String {
    let host: String = hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    format!("{host}-{stamp}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    #[test]
    fn deviceid_shape_is_checked() {
        assert!(is_valid_deviceid("mi4a-gw-2026-11-22-00-45-31"));
        assert!(!is_valid_deviceid("mi4a-gw-2026-11-22-00-45"));
        assert!(!is_valid_deviceid("-2026-11-22-00-45-31"));
        assert!(!is_valid_deviceid("x-2026-11-22-00-45-3a"));
        assert_eq!(
            new_deviceid("my host", "2026-01-01-00-00-00"),
            "my_host-2026-01-01-00-00-00"
        );
    }

    #[test]
    fn deviceid_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("uagent-vardir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let v = Vardir::new(&dir);
        let a = v.deviceid("box", "2026-01-01-00-00-00").unwrap();
        let b = v.deviceid("other", "2027-01-01-00-00-00").unwrap();
        assert_eq!(a, "box-2026-01-01-00-00-00");
        assert_eq!(a, b);
        fs::write(dir.join("deviceid"), "garbage").unwrap();
        assert_eq!(
            v.deviceid("box", "2028-01-01-00-00-00").unwrap(),
            "box-2028-01-01-00-00-00"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_identity_that_cannot_be_kept_is_an_error_but_a_kept_one_is_read() {
        let dir = std::env::temp_dir().join(format!("uagent-ro-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        // A file where the vardir should be: nothing can be created under it.
        fs::write(&dir, "not a folder").unwrap();
        let v = Vardir::new(&dir.join("sub"));
        let e = deviceid(&v, &Root::at(Path::new("/nonexistent"))).unwrap_err();
        assert!(e.to_string().contains("--vardir"), "{e}");
        assert!(e.to_string().contains("sub/deviceid"), "{e}");
        assert!(v.agentid().is_err());
        fs::remove_file(&dir).unwrap();
        fs::create_dir_all(&dir).unwrap();
        let kept = Vardir::new(&dir);
        let id = kept.deviceid("box", "2026-01-01-00-00-00").unwrap();
        let agent = kept.agentid().unwrap();
        // Read-only from now on: the kept ones are still used.
        let mut perms = fs::metadata(&dir).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o500);
        fs::set_permissions(&dir, perms.clone()).unwrap();
        assert_eq!(kept.deviceid("other", "2027-01-01-00-00-00").unwrap(), id);
        assert_eq!(kept.agentid().unwrap(), agent);
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        fs::set_permissions(&dir, perms).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
