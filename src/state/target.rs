//! Targets (a server URL or a local folder) and the state each one keeps between runs, in a
//! small `key=value` file of our own, written atomically and only when something changed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{names, read_small, write_atomic};
use crate::core::redact::url_without_userinfo;
use crate::core::schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerKind {
    /// Not known yet: the first PROLOG carries a GLPI-Agent-ID to find out.
    #[default]
    Unknown,
    /// The OCS/FusionInventory XML protocol (OCS server, GLPI plugins, GLPI in XML mode).
    Xml,
    /// GLPI's native JSON protocol (CONTACT, JSON inventories).
    Glpi,
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            ServerKind::Unknown => "unknown",
            ServerKind::Xml => "xml",
            ServerKind::Glpi => "glpi",
        }
    }
}

/// Largest `full-inventory-postpone`: a full inventory at least this often.
pub const MAX_POSTPONE: u64 = 1000;
/// Longest server version kept.
const MAX_VERSION: usize = 64;

/// Most ACCOUNTINFO entries kept for a target.
pub const MAX_ACCOUNTINFO: usize = 64;

/// Longest ACCOUNTINFO key or value kept from a server (OCS stores 255 characters); a longer
/// one is cut there, with a warning.
pub const MAX_ACCOUNTINFO_TEXT: usize = 1024;

/// The ACCOUNTINFO entries kept for a target.
pub type AccountInfo = heapless::Vec<(String, String), MAX_ACCOUNTINFO>;

/// What a target remembers between runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// When the next contact is due (seconds since the epoch; 0: as soon as possible).
    pub next_run: i64,
    /// The period the server asked for (PROLOG_FREQ or CONTACT expiration), seconds.
    pub max_delay: u64,
    pub server: ServerKind,
    /// ACCOUNTINFO the OCS server asked to keep and send back.
    pub accountinfo: AccountInfo,
    /// Failed contacts in a row (for the retry back-off).
    pub errors: u32,
    /// When this target was last contacted (seconds since the epoch; 0: never): the daemon
    /// never calls it again sooner than [`schedule::MIN_CONTACT_INTERVAL`] after.
    pub last_contact: i64,
    /// Partial inventories the server took since the last full one.
    pub partials: u32,
    /// The next inventory must be full: the last one did not get through, or the server
    /// changed.
    pub full_next: bool,
    /// The inventory version GLPI's CONTACT announced (a change means a new server).
    pub server_version: String,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl State {
    /// Keeps the ACCOUNTINFO a server sent, up to [`MAX_ACCOUNTINFO`] entries.
    pub fn set_accountinfo(&mut self, info: Vec<(String, String)>) {
        if info.len() > MAX_ACCOUNTINFO {
            log::warn!(
                "the server sent {} ACCOUNTINFO entries: the first {MAX_ACCOUNTINFO} are kept",
                info.len()
            );
        }
        let cut = |what: &str, mut t: String| {
            if t.len() > MAX_ACCOUNTINFO_TEXT {
                log::warn!(
                    "the server sent an ACCOUNTINFO {what} of {} bytes: cut at {MAX_ACCOUNTINFO_TEXT}",
                    t.len()
                );
                let mut end = MAX_ACCOUNTINFO_TEXT;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.truncate(end);
            }
            t
        };
        self.accountinfo = info
            .into_iter()
            .take(MAX_ACCOUNTINFO)
            .map(|(k, v)| (cut("key", k), cut("value", v)))
            .collect();
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "next_run={}\nmax_delay={}\nserver={}\nerrors={}\n",
            self.next_run,
            self.max_delay,
            self.server.name(),
            self.errors
        );
        if self.last_contact != 0 {
            s.push_str(&format!("last_contact={}\n", self.last_contact));
        }
        if self.partials > 0 {
            s.push_str(&format!("partials={}\n", self.partials));
        }
        if self.full_next {
            s.push_str("full_next=1\n");
        }
        if !self.server_version.is_empty() {
            s.push_str(&format!(
                "server_version={}\n",
                escape(&self.server_version)
            ));
        }
        for (k, v) in &self.accountinfo {
            s.push_str(&format!("accountinfo.{}={}\n", escape(k), escape(v)));
        }
        s
    }

    /// Keeps the version a server announced, cut at a sane length.
    pub fn set_server_version(&mut self, v: &str) {
        self.server_version = v.chars().take(MAX_VERSION).collect();
    }

    /// Reads a state file; lines it does not understand are skipped (a damaged file loses
    /// what it lost, never the run). A period past [`schedule::MAX_PERIOD`] is cut to it; the
    /// dates are taken as they are and brought into range where they are used
    /// ([`schedule::due_date`]).
    pub fn from_text(text: &str) -> State {
        let mut st = State::default();
        for line in text.lines().take(1024) {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "next_run" => st.next_run = v.parse().unwrap_or(0),
                "max_delay" => {
                    st.max_delay = v.parse::<u64>().unwrap_or(0).min(schedule::MAX_PERIOD)
                }
                "last_contact" => st.last_contact = v.parse().unwrap_or(0),
                "errors" => st.errors = v.parse().unwrap_or(0),
                "partials" => st.partials = v.parse().unwrap_or(0),
                "full_next" => st.full_next = v == "1",
                "server_version" => st.set_server_version(&unescape(v)),
                "server" => {
                    st.server = match v {
                        "xml" => ServerKind::Xml,
                        "glpi" => ServerKind::Glpi,
                        _ => ServerKind::Unknown,
                    }
                }
                _ => {
                    if let Some(key) = k.strip_prefix("accountinfo.") {
                        // Past the bound, entries are left out.
                        let _ = st.accountinfo.push((unescape(key), unescape(v)));
                    }
                }
            }
        }
        st
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Server(String),
    /// A folder, or `-` for standard output.
    Local(String),
}

#[derive(Debug, Clone)]
pub struct Target {
    pub dest: Destination,
    /// Folder of this target's state and spool.
    pub dir: PathBuf,
    pub state: State,
    /// The state as last read or written, to write only when it changed.
    saved: State,
    /// What logs and pages call it: the URL without its userinfo, or the path.
    label: String,
}

/// A file name for a target: the URL (without its userinfo: a password never names a file)
/// or path with every character but letters, digits, `.` and `-` turned into `_`, as the
/// reference agents name their target folders.
pub fn dir_name(dest: &Destination) -> String {
    match dest {
        Destination::Server(u) => file_name_of("", &url_without_userinfo(u)),
        Destination::Local(p) => file_name_of("local_", p),
    }
}

/// The folder name of earlier versions, which kept a URL's userinfo: read once to move an
/// existing folder to its new name.
fn legacy_dir_name(dest: &Destination) -> Option<String> {
    match dest {
        Destination::Server(u) if url_without_userinfo(u) != u.as_str() => {
            Some(file_name_of("", u))
        }
        _ => None,
    }
}

fn file_name_of(prefix: &str, s: &str) -> String {
    let mut name: String = prefix.to_string();
    name.extend(s.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    name.truncate(200);
    name
}

/// Moves the folder an earlier version named after a URL with its password to the name
/// without it, once: a rename, so that the state and spool move whole or not at all. When
/// both exist, the new one is kept and the old one (whose name holds the password) removed.
fn migrate_legacy_dir(dest: &Destination, targets: &Path, dir: &Path) {
    let Some(old) = legacy_dir_name(dest).map(|n| targets.join(n)) else {
        return;
    };
    if old == dir || fs::symlink_metadata(&old).is_err() {
        return;
    }
    if fs::symlink_metadata(dir).is_err() {
        match fs::rename(&old, dir) {
            Ok(()) => log::info!(
                "the state folder of a target was renamed to {} (its old name held the URL's credentials)",
                dir.display()
            ),
            Err(e) => log::warn!("cannot rename a state folder to {}: {e}", dir.display()),
        }
    } else {
        log::warn!(
            "removing an old state folder whose name held the URL's credentials ({} is kept)",
            dir.display()
        );
        let _ = fs::remove_dir_all(&old);
    }
}

/// The folder of a target's state in the statedir.
pub fn target_dir(statedir: &Path, dest: &Destination) -> PathBuf {
    statedir.join(names::TARGETS).join(dir_name(dest))
}

impl Target {
    pub fn new(dest: Destination, statedir: &Path) -> Target {
        let targets = statedir.join(names::TARGETS);
        let dir = target_dir(statedir, &dest);
        migrate_legacy_dir(&dest, &targets, &dir);
        let state = match read_small(&dir.join(names::TARGET_STATE)) {
            Ok(Some(text)) => State::from_text(&text),
            Ok(None) => State::default(),
            Err(e) => {
                log::warn!(
                    "cannot read {}: {e}; starting this target afresh",
                    dir.join(names::TARGET_STATE).display()
                );
                State::default()
            }
        };
        let label = match &dest {
            Destination::Server(u) => url_without_userinfo(u).into_owned(),
            Destination::Local(p) => p.clone(),
        };
        Target {
            dest,
            dir,
            saved: state.clone(),
            state,
            label,
        }
    }

    /// The target as logs and pages show it: a server URL without its userinfo.
    pub fn name(&self) -> &str {
        &self.label
    }

    /// Writes the state if it changed since it was read (flash is not written for nothing).
    pub fn save(&mut self) {
        if self.state == self.saved {
            return;
        }
        let result = fs::create_dir_all(&self.dir).and_then(|_| {
            write_atomic(
                &self.dir.join(names::TARGET_STATE),
                self.state.to_text().as_bytes(),
            )
        });
        match result {
            Ok(()) => self.saved = self.state.clone(),
            Err(e) => log::warn!(
                "cannot keep the state of {} in {}: {e}",
                self.name(),
                self.dir.display()
            ),
        }
    }

    /// File of the section digests of the last inventory this target accepted.
    pub fn digests_file(&self) -> PathBuf {
        self.dir.join(names::DIGESTS)
    }

    /// Where the inventory task leaves the digests of the inventory it made, until the server
    /// accepts it.
    pub fn new_digests_file(&self) -> PathBuf {
        self.dir.join(names::DIGESTS_NEW)
    }

    /// Makes the digests a task left beside the old ones the current ones (after the server
    /// accepted the inventory they describe).
    pub fn commit_digests(&self) {
        let new = self.new_digests_file();
        if new.exists() {
            if let Err(e) = fs::rename(&new, self.digests_file()) {
                log::warn!(
                    "cannot keep the section digests in {}: {e}",
                    self.dir.display()
                );
            }
        }
    }

    /// The OCS packages deployed for this target (`DOWNLOAD/HISTORY` in its inventories).
    pub fn deploy_history_file(&self) -> PathBuf {
        super::deploy::DeployDirs::new(&self.dir, Path::new(""), Path::new("")).history()
    }

    /// Results of OCS packages the server could not be told yet.
    pub fn deploy_results_file(&self) -> PathBuf {
        super::deploy::DeployDirs::new(&self.dir, Path::new(""), Path::new("")).results()
    }

    /// Drops digests a task left when the inventory did not get through.
    pub fn discard_digests(&self) {
        let _ = fs::remove_file(self.new_digests_file());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_survives_damage() {
        let st = State {
            next_run: 1_700_000_000,
            max_delay: 86_400,
            server: ServerKind::Glpi,
            accountinfo: [("TAG".into(), "site=a\nb".into())].into_iter().collect(),
            errors: 2,
            last_contact: 1_699_999_000,
            partials: 13,
            full_next: true,
            server_version: "10.0.16".into(),
        };
        assert_eq!(State::from_text(&st.to_text()), st);
        let many: String = (0..100).map(|i| format!("accountinfo.K{i}=v\n")).collect();
        assert_eq!(State::from_text(&many).accountinfo.len(), MAX_ACCOUNTINFO);
        let damaged = State::from_text("next_run=zz\n\u{0}garbage\nserver=xml\n");
        assert_eq!(damaged.next_run, 0);
        assert_eq!(damaged.server, ServerKind::Xml);
        let corrupt =
            State::from_text("max_delay=18446744073709551615\nnext_run=-579010723984328356\n");
        assert_eq!(corrupt.max_delay, schedule::MAX_PERIOD);
    }

    #[test]
    fn long_accountinfo_from_a_server_is_cut() {
        let mut st = State::default();
        st.set_accountinfo(vec![("TAG".into(), "é".repeat(200_000))]);
        assert!(st.accountinfo[0].1.len() <= MAX_ACCOUNTINFO_TEXT);
    }

    #[test]
    fn credentials_never_name_a_folder_and_old_folders_move_once() {
        let url = "http://admin:s3cret@127.0.0.1/ocsinventory";
        let dest = Destination::Server(url.into());
        assert_eq!(dir_name(&dest), "http___127.0.0.1_ocsinventory");
        let statedir = std::env::temp_dir().join(format!("uagent-migrate-{}", std::process::id()));
        let _ = fs::remove_dir_all(&statedir);
        let old = statedir
            .join("targets")
            .join("http___admin_s3cret_127.0.0.1_ocsinventory");
        fs::create_dir_all(old.join("spool")).unwrap();
        fs::write(old.join("state"), "next_run=123\nserver=xml\n").unwrap();
        fs::write(old.join("spool/inventory.xml.z"), "kept").unwrap();
        let t = Target::new(dest.clone(), &statedir);
        assert_eq!(t.state.next_run, 123);
        assert_eq!(t.name(), "http://127.0.0.1/ocsinventory");
        assert!(!old.exists());
        assert_eq!(
            fs::read(t.dir.join("spool/inventory.xml.z")).unwrap(),
            b"kept"
        );
        // A second start finds nothing to move and the same state.
        assert_eq!(Target::new(dest, &statedir).state.next_run, 123);
        fs::remove_dir_all(&statedir).unwrap();
    }

    #[test]
    fn target_folders_are_named_after_the_url() {
        assert_eq!(
            dir_name(&Destination::Server("http://127.0.0.1/ocsinventory".into())),
            "http___127.0.0.1_ocsinventory"
        );
        assert_eq!(
            dir_name(&Destination::Local("/tmp/x".into())),
            "local__tmp_x"
        );
    }
}
