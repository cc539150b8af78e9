//! The agent's state on disk: the vardir (what must survive a reboot: the DEVICEID, the agent
//! id, the daemon's lock, the shared files) and the statedir (per-target state and spool; the
//! vardir unless set, and it may be in RAM). This is the one place that knows the names of the
//! files in them, and [`AtomicFile`] the one way they are written: a crash or a full disk
//! leaves the old file, never half a new one.

mod atomic;
pub mod deploy;
pub mod ids;
pub mod lock;
pub mod spool;
pub mod target;

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use atomic::{write_atomic, AtomicFile};

/// Default state directory (the OpenWrt package points it to `/etc/uagent`, on flash).
pub const DEFAULT_VARDIR: &str = "/var/lib/uagent";

/// Largest state file read back.
const MAX_STATE_FILE: u64 = 64 * 1024;

/// The names of the files and folders in the vardir and the statedir.
mod names {
    pub const DEVICEID: &str = "deviceid";
    pub const AGENTID: &str = "agentid";
    pub const LOCK: &str = "uagent.lock";
    pub const SHARED: &str = "shared";
    pub const TARGETS: &str = "targets";
    pub const TARGET_STATE: &str = "state";
    pub const DIGESTS: &str = "digests";
    pub const DIGESTS_NEW: &str = "digests.new";
    pub const SPOOL: &str = "spool";
    pub const SPOOL_XML: &str = "inventory.xml.z";
    pub const SPOOL_JSON: &str = "inventory.json.z";
    /// Folder of the spooled inventories a server refused, kept for the admin.
    pub const SPOOL_REFUSED: &str = "refused";
    // Deployment (src/tasks/deploy): per target, and the work folders of the statedir.
    pub const DEPLOY: &str = "deploy";
    pub const DEPLOY_HISTORY: &str = "history";
    pub const DEPLOY_RESULTS: &str = "results";
    pub const DEPLOY_OCS: &str = "ocs";
    pub const DEPLOY_PARTS: &str = "parts";
    pub const DEPLOY_SINCE: &str = "since";
    pub const DEPLOY_INFO: &str = "info";
    pub const DEPLOY_FRAGMENT: &str = "frag-";
    pub const DEPLOY_PARTIAL: &str = ".part";
    pub const DEPLOY_ERRORS: &str = "errors";
    pub const DEPLOY_WORK: &str = "deploy-work";
    pub const DEPLOY_WORK_OCS: &str = "ocs-";
    pub const DEPLOY_WORK_GLPI: &str = "glpi-";
}

/// The vardir: what must survive a reboot.
#[derive(Debug, Clone)]
pub struct Vardir {
    path: PathBuf,
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

    pub fn ensure(&self) -> io::Result<()> {
        fs::create_dir_all(&self.path)
    }

    /// The folder whose files the daemon's HTTP server may send, and no other.
    pub fn shared_dir(&self) -> PathBuf {
        self.path.join(names::SHARED)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// Reads a small state file; `None` when missing. It is opened without blocking and only if
/// it is a regular file (a FIFO put in its place cannot hang a run: it is an error).
pub fn read_small(path: &Path) -> io::Result<Option<String>> {
    match crate::sys::root::open_regular(path) {
        Ok(f) => {
            let mut s = Vec::new();
            f.take(MAX_STATE_FILE).read_to_end(&mut s)?;
            Ok(Some(String::from_utf8_lossy(&s).into_owned()))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes what an interrupted run may have left in the statedir: the digests of an
/// inventory never delivered, and the temporary files of writes cut short.
pub fn clean_stale(statedir: &Path) {
    let Ok(targets) = fs::read_dir(statedir.join(names::TARGETS)) else {
        return;
    };
    for t in targets.flatten() {
        let _ = fs::remove_file(t.path().join(names::DIGESTS_NEW));
        for dir in [t.path(), t.path().join(names::SPOOL)] {
            if let Ok(files) = fs::read_dir(&dir) {
                for f in files.flatten() {
                    if atomic::is_temporary(&f.file_name().to_string_lossy()) {
                        let _ = fs::remove_file(f.path());
                    }
                }
            }
        }
    }
}
