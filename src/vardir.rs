//! The agent's state directory: the one place that knows its layout, and how files in it are
//! written (atomically: a crash or a full disk leaves the old file, never half a new one).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Default state directory (the OpenWrt package points it to `/etc/uagent`, on flash).
pub const DEFAULT_VARDIR: &str = "/var/lib/uagent";

/// Largest state file read back.
const MAX_STATE_FILE: u64 = 64 * 1024;

pub struct Vardir {
    path: PathBuf,
}

/// Writes `data` to `path` through a temporary file in the same directory: write, fsync,
/// rename, then fsync the directory so that the rename itself survives a power cut.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a small state file; `None` when missing.
pub fn read_small(path: &Path) -> io::Result<Option<String>> {
    use std::io::Read;
    match File::open(path) {
        Ok(f) => {
            let mut s = Vec::new();
            f.take(MAX_STATE_FILE).read_to_end(&mut s)?;
            Ok(Some(String::from_utf8_lossy(&s).into_owned()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
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
    pub fn new(path: &Path) -> Vardir {
        Vardir {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn ensure(&self) -> io::Result<()> {
        fs::create_dir_all(&self.path)
    }

    /// The DEVICEID: read from the vardir, or made from `hostname` and `stamp`
    /// (`YYYY-MM-DD-HH-MM-SS`, local time) and kept there. A stored one is never replaced,
    /// unless it is not a DEVICEID at all (a damaged file).
    pub fn deviceid(&self, hostname: &str, stamp: &str) -> io::Result<String> {
        let path = self.file("deviceid");
        if let Some(text) = read_small(&path)? {
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
}
