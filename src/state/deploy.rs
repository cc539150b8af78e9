//! Where deployment keeps what must survive between runs, and the files it writes: per server
//! target, `deploy/` (0700) holds the history of OCS packages done (sent in every inventory as
//! `DOWNLOAD/HISTORY`), the results not delivered yet, each OCS package in progress (`ocs/<ID>/`:
//! when it was first seen, its info file, the fragments fetched) and GLPI's file parts
//! (`parts/<c>/<cc>/<sha512>`); the statedir's `deploy-work/` (0700) holds the folders where
//! packages are unpacked and run, removed after each one. Parts a job shares with peer agents go
//! to the vardir's `shared/<c>/<cc>/<sha512>`, the one folder the daemon's HTTP server serves.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{names, read_small, write_atomic};

/// Most package ids kept in the history (the oldest are forgotten first).
pub const MAX_HISTORY: usize = 4096;
/// Most undelivered results kept.
pub const MAX_RESULTS: usize = 1024;
/// Longest OCS package id (a FILEID is a number of about ten digits).
pub const MAX_PACKAGE_ID: usize = 32;

/// Whether `id` is an OCS package id: digits only (it names a folder).
pub fn valid_package_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_PACKAGE_ID && id.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `hex` is a SHA-512 in hex (it names a file part).
pub fn valid_sha512(hex: &str) -> bool {
    hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The deployment folders of one target.
#[derive(Debug, Clone)]
pub struct DeployDirs {
    /// `<target dir>/deploy`
    root: PathBuf,
    /// `<statedir>/deploy-work`
    work: PathBuf,
    /// `<vardir>/shared`
    shared: PathBuf,
}

/// Creates `dir` (and its parents) and makes it 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

impl DeployDirs {
    /// `target_dir` is the target's folder in the statedir (`Target::dir`).
    pub fn new(target_dir: &Path, statedir: &Path, vardir: &Path) -> DeployDirs {
        DeployDirs {
            root: target_dir.join(names::DEPLOY),
            work: statedir.join(names::DEPLOY_WORK),
            shared: vardir.join(names::SHARED),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn history(&self) -> PathBuf {
        self.root.join(names::DEPLOY_HISTORY)
    }

    pub fn results(&self) -> PathBuf {
        self.root.join(names::DEPLOY_RESULTS)
    }

    /// `ocs/`, where OCS packages in progress are.
    pub fn ocs(&self) -> PathBuf {
        self.root.join(names::DEPLOY_OCS)
    }

    /// The folder of an OCS package in progress (`id` checked by [`valid_package_id`]).
    pub fn package(&self, id: &str) -> PathBuf {
        self.ocs().join(id)
    }

    pub fn since(&self, id: &str) -> PathBuf {
        self.package(id).join(names::DEPLOY_SINCE)
    }

    pub fn info(&self, id: &str) -> PathBuf {
        self.package(id).join(names::DEPLOY_INFO)
    }

    /// Failed fetches of a package's fragments so far.
    pub fn errors(&self, id: &str) -> PathBuf {
        self.package(id).join(names::DEPLOY_ERRORS)
    }

    /// Fragment `n` (1-based) of a package, complete.
    pub fn fragment(&self, id: &str, n: u32) -> PathBuf {
        self.package(id)
            .join(format!("{}{n}", names::DEPLOY_FRAGMENT))
    }

    /// Fragment `n` while it is being fetched (resumed with a Range request).
    pub fn fragment_partial(&self, id: &str, n: u32) -> PathBuf {
        self.package(id).join(format!(
            "{}{n}{}",
            names::DEPLOY_FRAGMENT,
            names::DEPLOY_PARTIAL
        ))
    }

    /// Where a GLPI file part is kept: `shared` (served to peers) or private.
    pub fn part(&self, sha512: &str, shared: bool) -> PathBuf {
        let base = if shared {
            self.shared.clone()
        } else {
            self.root.join(names::DEPLOY_PARTS)
        };
        base.join(&sha512[..1]).join(&sha512[..2]).join(sha512)
    }

    /// A part while it is being fetched.
    pub fn part_partial(&self, sha512: &str, shared: bool) -> PathBuf {
        let mut p = self.part(sha512, shared).into_os_string();
        p.push(names::DEPLOY_PARTIAL);
        PathBuf::from(p)
    }

    /// Whether a file name in a parts folder is a part or a partial one (the only files the
    /// clean-up removes: `shared/` may hold other files the daemon serves).
    pub fn is_part_name(name: &str) -> bool {
        valid_sha512(name.strip_suffix(names::DEPLOY_PARTIAL).unwrap_or(name))
    }

    /// The private parts folder and the shared one (for clean-ups).
    pub fn part_roots(&self) -> [PathBuf; 2] {
        [self.root.join(names::DEPLOY_PARTS), self.shared.clone()]
    }

    /// The statedir's work folder (each job gets a folder inside).
    pub fn work(&self) -> &Path {
        &self.work
    }

    /// The work folder of an OCS package (`id` checked by [`valid_package_id`]).
    pub fn work_ocs(&self, id: &str) -> PathBuf {
        self.work.join(format!("{}{id}", names::DEPLOY_WORK_OCS))
    }

    /// The work folder of a GLPI job (its uuid is hex digits and dashes).
    pub fn work_glpi(&self, uuid: &str) -> PathBuf {
        self.work.join(format!("{}{uuid}", names::DEPLOY_WORK_GLPI))
    }
}

/// The package ids of a history file, in order (bad lines skipped, at most [`MAX_HISTORY`]).
pub fn read_history(path: &Path) -> Vec<String> {
    let text = read_small(path).ok().flatten().unwrap_or_default();
    let mut ids: Vec<String> = Vec::new();
    for line in text.lines() {
        let id = line.trim();
        if valid_package_id(id) && !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    let extra = ids.len().saturating_sub(MAX_HISTORY);
    ids.drain(..extra);
    ids
}

/// Adds `id` to the history (written only when it was not there).
pub fn add_history(path: &Path, id: &str) -> io::Result<()> {
    let mut ids = read_history(path);
    if ids.iter().any(|i| i == id) {
        return Ok(());
    }
    ids.push(id.to_string());
    let extra = ids.len().saturating_sub(MAX_HISTORY);
    ids.drain(..extra);
    let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
    write_atomic(path, text.as_bytes())
}

/// Results not delivered yet: `(id, code)`.
pub fn read_results(path: &Path) -> Vec<(String, String)> {
    let text = read_small(path).ok().flatten().unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (id, code) = l.trim().split_once(' ')?;
            (valid_package_id(id) && valid_code(code)).then(|| (id.to_string(), code.to_string()))
        })
        .take(MAX_RESULTS)
        .collect()
}

/// A result code: upper-case letters, digits and `_`, as the OCS codes are.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Replaces the undelivered results (the file is removed when there are none).
pub fn write_results(path: &Path, results: &[(String, String)]) -> io::Result<()> {
    if results.is_empty() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let text: String = results
        .iter()
        .take(MAX_RESULTS)
        .map(|(i, c)| format!("{i} {c}\n"))
        .collect();
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_and_results_round_trip_and_refuse_junk() {
        let dir = std::env::temp_dir().join(format!("uagent-deploy-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        private_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let h = dir.join("history");
        assert!(read_history(&h).is_empty());
        add_history(&h, "1764620001").unwrap();
        add_history(&h, "1764620002").unwrap();
        add_history(&h, "1764620001").unwrap();
        fs::write(
            &h,
            format!("{}../x\n\n12a\n", fs::read_to_string(&h).unwrap()),
        )
        .unwrap();
        assert_eq!(read_history(&h), ["1764620001", "1764620002"]);
        let r = dir.join("results");
        write_results(
            &r,
            &[
                ("1".into(), "ERR_TIMEOUT".into()),
                ("2".into(), "SUCCESS".into()),
            ],
        )
        .unwrap();
        fs::write(
            &r,
            format!("{}3 bad code\n4 x\n", fs::read_to_string(&r).unwrap()),
        )
        .unwrap();
        assert_eq!(read_results(&r).len(), 2);
        write_results(&r, &[]).unwrap();
        assert!(!r.exists());
        assert!(valid_sha512(&"a".repeat(128)) && !valid_sha512("../x"));
        let d = DeployDirs::new(&dir.join("t"), &dir, &dir.join("var"));
        assert!(d
            .part(&"ab".repeat(64), true)
            .ends_with(format!("shared/a/ab/{}", "ab".repeat(64))));
        assert!(d
            .fragment_partial("7", 2)
            .ends_with("deploy/ocs/7/frag-2.part"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
