//! Inventories a server could not take yet: the newest one per target, kept compressed in the
//! target's folder and sent first at the next successful contact, so a network outage loses
//! nothing but the older copies.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{names, write_atomic};

/// Largest inventory kept (compressed); a bigger one is dropped with a warning.
pub const MAX_SPOOLED: u64 = 16 * 1024 * 1024;
/// Refused inventories kept aside for the admin (the newest ones; older ones are removed).
pub const MAX_REFUSED: usize = 3;

/// What a spooled file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xml,
    Json,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Xml => names::SPOOL_XML,
            Kind::Json => names::SPOOL_JSON,
        }
    }
}

pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    pub fn new(target_dir: &Path) -> Spool {
        Spool {
            dir: target_dir.join(names::SPOOL),
        }
    }

    /// Keeps `body` (zlib-compressed), replacing any older one.
    pub fn put(&self, kind: Kind, body: &[u8]) -> Result<PathBuf, String> {
        if body.len() as u64 > MAX_SPOOLED {
            return Err(format!(
                "the inventory ({} bytes) is larger than the spool limit ({MAX_SPOOLED} bytes)",
                body.len()
            ));
        }
        fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let path = self.dir.join(kind.file());
        write_atomic(&path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        for other in [Kind::Xml, Kind::Json].into_iter().filter(|k| *k != kind) {
            let _ = fs::remove_file(self.dir.join(other.file()));
        }
        Ok(path)
    }

    /// The spooled inventory, if any. A spool file that is not a regular file (a FIFO) is
    /// dropped, never waited on.
    pub fn get(&self) -> Option<(Kind, Vec<u8>)> {
        for kind in [Kind::Xml, Kind::Json] {
            let path = self.dir.join(kind.file());
            let f = match crate::sys::root::open_regular(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    log::warn!("cannot read {}: {e}; dropped", path.display());
                    let _ = fs::remove_file(&path);
                    continue;
                }
            };
            let mut body = Vec::new();
            match f.take(MAX_SPOOLED + 1).read_to_end(&mut body) {
                Ok(n) if n as u64 <= MAX_SPOOLED => return Some((kind, body)),
                Ok(_) => log::warn!("{} is larger than the spool limit: dropped", path.display()),
                Err(e) => log::warn!("cannot read {}: {e}; dropped", path.display()),
            }
            let _ = fs::remove_file(&path);
        }
        None
    }

    pub fn remove(&self, kind: Kind) {
        let _ = fs::remove_file(self.dir.join(kind.file()));
    }

    /// Moves a spooled inventory the server refused out of the way (into `refused/`, named by
    /// `stamp`), so that it no longer blocks delivery; the newest [`MAX_REFUSED`] are kept
    /// for the admin, older ones removed. Returns where it went.
    pub fn set_aside(&self, kind: Kind, stamp: &str) -> Result<PathBuf, String> {
        let from = self.dir.join(kind.file());
        let aside = self.dir.join(names::SPOOL_REFUSED);
        let result = fs::create_dir_all(&aside)
            .map_err(|e| format!("cannot create {}: {e}", aside.display()))
            .and_then(|_| {
                let to = aside.join(format!("{stamp}-{}", kind.file()));
                fs::rename(&from, &to)
                    .map(|_| to)
                    .map_err(|e| format!("cannot move {}: {e}", from.display()))
            });
        if result.is_err() {
            // Delivery must go on: a file that cannot be kept aside is dropped.
            let _ = fs::remove_file(&from);
        }
        if let Ok(entries) = fs::read_dir(&aside) {
            let mut kept: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            kept.sort();
            let extra = kept.len().saturating_sub(MAX_REFUSED);
            for old in &kept[..extra] {
                let _ = fs::remove_file(old);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_keeps_the_newest_inventory_only() {
        let dir = std::env::temp_dir().join(format!("uagent-spool-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = Spool::new(&dir);
        assert!(s.get().is_none());
        s.put(Kind::Xml, b"old").unwrap();
        s.put(Kind::Json, b"new").unwrap();
        assert_eq!(s.get(), Some((Kind::Json, b"new".to_vec())));
        s.remove(Kind::Json);
        assert!(s.get().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refused_inventories_are_set_aside_and_bounded() {
        let dir = std::env::temp_dir().join(format!("uagent-spool-aside-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = Spool::new(&dir);
        for i in 0..5 {
            s.put(Kind::Xml, format!("inv {i}").as_bytes()).unwrap();
            let to = s.set_aside(Kind::Xml, &format!("2026010{i}")).unwrap();
            assert!(to.exists());
            assert!(s.get().is_none());
        }
        let kept: Vec<_> = fs::read_dir(dir.join("spool/refused"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(kept.len(), MAX_REFUSED);
        assert!(dir.join("spool/refused/20260104-inventory.xml.z").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_in_the_spool_is_dropped_not_waited_on() {
        let dir = std::env::temp_dir().join(format!("uagent-spool-fifo-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("spool")).unwrap();
        nix::unistd::mkfifo(
            &dir.join("spool/inventory.xml.z"),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        assert!(Spool::new(&dir).get().is_none());
        assert!(!dir.join("spool/inventory.xml.z").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
