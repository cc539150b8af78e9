//! Inventories a server could not take yet: the newest one per target, kept compressed in the
//! target's folder and sent first at the next successful contact, so a network outage loses
//! nothing but the older copies.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{names, write_atomic};

/// Largest inventory kept (compressed); a bigger one is dropped with a warning.
pub const MAX_SPOOLED: u64 = 16 * 1024 * 1024;

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

    /// The spooled inventory, if any.
    pub fn get(&self) -> Option<(Kind, Vec<u8>)> {
        for kind in [Kind::Xml, Kind::Json] {
            let path = self.dir.join(kind.file());
            let Ok(f) = fs::File::open(&path) else {
                continue;
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
}
