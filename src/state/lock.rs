//! One daemon per vardir: the lock it holds while it runs.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use super::{names, Vardir};

/// The single-instance lock: a file of the vardir, flocked, holding the pid.
pub struct Lock {
    _file: Flock<File>,
    path: PathBuf,
}

impl Lock {
    pub fn take(vardir: &Vardir) -> Result<Lock, String> {
        let vardir = vardir.path();
        fs::create_dir_all(vardir)
            .map_err(|e| format!("cannot create {}: {e}", vardir.display()))?;
        let path = vardir.join(names::LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // Without blocking, and only a regular file: a FIFO put there cannot hang the start.
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(format!("{}: not a regular file", path.display()));
        }
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut locked) => {
                let _ = locked.set_len(0);
                let _ = writeln!(&mut *locked, "{}", std::process::id());
                Ok(Lock {
                    _file: locked,
                    path,
                })
            }
            Err((mut file, _)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Err(format!(
                    "another uagent daemon is running on {} (pid {}); stop it first",
                    vardir.display(),
                    pid.trim()
                ))
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
