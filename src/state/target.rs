//! Targets (a server URL or a local folder) and the state each one keeps between runs, in a
//! small `key=value` file of our own, written atomically and only when something changed.

use std::fs;
use std::path::{Path, PathBuf};

use super::{names, read_small, write_atomic};

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

/// Most ACCOUNTINFO entries kept for a target.
pub const MAX_ACCOUNTINFO: usize = 64;

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
        self.accountinfo = info.into_iter().take(MAX_ACCOUNTINFO).collect();
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "next_run={}\nmax_delay={}\nserver={}\nerrors={}\n",
            self.next_run,
            self.max_delay,
            self.server.name(),
            self.errors
        );
        for (k, v) in &self.accountinfo {
            s.push_str(&format!("accountinfo.{}={}\n", escape(k), escape(v)));
        }
        s
    }

    /// Reads a state file; lines it does not understand are skipped (a damaged file loses
    /// what it lost, never the run).
    pub fn from_text(text: &str) -> State {
        let mut st = State::default();
        for line in text.lines().take(1024) {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "next_run" => st.next_run = v.parse().unwrap_or(0),
                "max_delay" => st.max_delay = v.parse().unwrap_or(0),
                "errors" => st.errors = v.parse().unwrap_or(0),
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
}

/// A file name for a target: the URL or path with every character but letters, digits, `.`
/// and `-` turned into `_`, as the reference agents name their target folders.
pub fn dir_name(dest: &Destination) -> String {
    let (prefix, s) = match dest {
        Destination::Server(u) => ("", u.as_str()),
        Destination::Local(p) => ("local_", p.as_str()),
    };
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

/// The folder of a target's state in the statedir.
pub fn target_dir(statedir: &Path, dest: &Destination) -> PathBuf {
    statedir.join(names::TARGETS).join(dir_name(dest))
}

impl Target {
    pub fn new(dest: Destination, statedir: &Path) -> Target {
        let dir = target_dir(statedir, &dest);
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
        Target {
            dest,
            dir,
            saved: state.clone(),
            state,
        }
    }

    pub fn name(&self) -> &str {
        match &self.dest {
            Destination::Server(u) => u,
            Destination::Local(p) => p,
        }
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
        };
        assert_eq!(State::from_text(&st.to_text()), st);
        let many: String = (0..100).map(|i| format!("accountinfo.K{i}=v\n")).collect();
        assert_eq!(State::from_text(&many).accountinfo.len(), MAX_ACCOUNTINFO);
        let damaged = State::from_text("next_run=zz\n\u{0}garbage\nserver=xml\n");
        assert_eq!(damaged.next_run, 0);
        assert_eq!(damaged.server, ServerKind::Xml);
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
