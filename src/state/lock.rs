//! One daemon per vardir: the lock it holds while it runs.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use super::{names, Vardir};

/// The single-instance lock: a file of the vardir, flocked, holding the pid.
pub struct Lock {
    file: Flock<File>,
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
            Ok(locked) => {
                let mut lock = Lock { file: locked, path };
                lock.write_pid();
                Ok(lock)
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

impl Lock {
    /// Writes this process's pid in the lock file (again after the daemon forked: the lock
    /// goes with the open file to the child).
    pub fn write_pid(&mut self) {
        let f: &mut File = &mut self.file;
        let _ = f.set_len(0);
        let _ = f.seek(SeekFrom::Start(0));
        let _ = writeln!(f, "{}", std::process::id());
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
