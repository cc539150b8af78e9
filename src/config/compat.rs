//! The Perl agents' options and configuration keys that are not uagent's own keys, and what
//! each means here, so that an `agent.cfg`, a cron line or a unit file written for
//! fusioninventory-agent, glpi-agent or ocsinventory-agent works unchanged: another name for a
//! key, a switch that sets a key, or something that does not apply here (accepted, with a
//! notice that says why).

use super::{normalize, Settings};

/// What a reference agent's option or key means to uagent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    /// Another name of a key, with the same meaning.
    Alias(&'static str),
    /// A switch that adds a value to a list key (`--stdout` is `--local -`).
    Adds(&'static str, &'static str),
    /// A yes/no value that is the opposite of a key's (OCS `ssl = 0` is `no-ssl-check`).
    Negates(&'static str),
    /// Accepted and ignored, with the reason; `value` when it takes one on the command line.
    Ignored { value: bool, why: &'static str },
}

/// One option or key of the Perl agents.
pub struct Entry {
    pub name: &'static str,
    pub short: Option<char>,
    pub what: Compat,
}

const fn e(name: &'static str, short: Option<char>, what: Compat) -> Entry {
    Entry { name, short, what }
}

const fn ignored(value: bool, why: &'static str) -> Compat {
    Compat::Ignored { value, why }
}

/// Every option and key of the reference agents that is not a key of uagent's table.
pub static COMPAT: &[Entry] = &[
    // FusionInventory and GLPI agents.
    e(
        "backend-collect-timeout",
        None,
        Compat::Alias("task-timeout"),
    ),
    e("stdout", None, Compat::Adds("local", "-")),
    e(
        "scan-homedirs",
        None,
        ignored(false, "uagent does not look for software in home folders"),
    ),
    e(
        "scan-profiles",
        None,
        ignored(false, "uagent does not look for software in user profiles"),
    ),
    e("color", None, ignored(false, "log lines carry no colour")),
    e(
        "config",
        None,
        ignored(true, "the configuration is always a file (--conf-file)"),
    ),
    e(
        "conf-reload-interval",
        None,
        ignored(
            true,
            "send SIGHUP to the daemon to reload its configuration",
        ),
    ),
    e(
        "set-forcerun",
        None,
        ignored(
            false,
            "ask the daemon for a run with GET /now on its HTTP port",
        ),
    ),
    e(
        "listen",
        None,
        ignored(
            false,
            "the daemon listens whenever it runs with its HTTP server",
        ),
    ),
    e(
        "remote",
        None,
        ignored(
            true,
            "remote inventory over SSH or WinRM is not part of uagent",
        ),
    ),
    e(
        "remote-workers",
        None,
        ignored(
            true,
            "remote inventory over SSH or WinRM is not part of uagent",
        ),
    ),
    e(
        "no-p2p",
        None,
        ignored(false, "deployment fetches from peers only when deploy-p2p = yes"),
    ),
    e(
        "credentials",
        None,
        ignored(
            true,
            "no inventory category of uagent uses credentials (the GLPI agent's database inventory does)",
        ),
    ),
    // OCS Inventory's unix agent.
    e("basevardir", None, Compat::Alias("vardir")),
    e("ca", None, Compat::Alias("ca-cert-file")),
    e("ssl", None, Compat::Negates("no-ssl-check")),
    e("nosoftware", None, Compat::Adds("no-category", "software")),
    e(
        "realm",
        Some('r'),
        ignored(
            true,
            "Basic credentials are sent for whatever realm the server names",
        ),
    ),
    e(
        "info",
        Some('i'),
        ignored(false, "use --debug for more log lines"),
    ),
    e(
        "nolocal",
        None,
        ignored(
            false,
            "uagent writes local inventories only for --local targets",
        ),
    ),
    // `snmp = 0` in an ocsinventory-agent.cfg: no SNMP scan.
    e("snmp", None, Compat::Negates("no-snmp")),
    e(
        "snmptimeout",
        None,
        ignored(true, "SNMP timeouts come with the server's SNMP job"),
    ),
    e(
        "snmpretry",
        None,
        ignored(true, "SNMP retries come with the server's SNMP job"),
    ),
];

/// What `name` (already normalized) means, when it is one of the reference agents' own.
pub fn find(name: &str) -> Option<Compat> {
    COMPAT.iter().find(|c| c.name == name).map(|c| c.what)
}

/// What applying a reference agent's option or key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// Ignored; the notice to log.
    Notice(String),
    /// Not a name of the reference agents either.
    Unknown,
}

/// Applies `name = value` where `name` is one of [`COMPAT`]'s (a key of the table is applied by
/// [`Settings::set`]).
pub fn apply(s: &mut Settings, name: &str, value: &str) -> Result<Applied, String> {
    let name = normalize(name);
    match find(&name) {
        None => Ok(Applied::Unknown),
        Some(Compat::Alias(k)) => s.set(k, value).map(|_| Applied::Done),
        Some(Compat::Adds(k, v)) => {
            let on =
                <bool as super::value::Value>::parse(value).map_err(|e| format!("{name}: {e}"))?;
            if on {
                let key = super::key(k).ok_or_else(|| format!("{name}: no key {k}"))?;
                let mut all = key.show(s);
                if !all.split(',').any(|x| x == v) {
                    if !all.is_empty() {
                        all.push(',');
                    }
                    all.push_str(v);
                }
                s.set(k, &all)?;
            }
            Ok(Applied::Done)
        }
        Some(Compat::Negates(k)) => {
            let on =
                <bool as super::value::Value>::parse(value).map_err(|e| format!("{name}: {e}"))?;
            s.set(k, if on { "0" } else { "1" }).map(|_| Applied::Done)
        }
        Some(Compat::Ignored { why, .. }) => Ok(Applied::Notice(format!(
            "{name}: accepted and ignored: {why}"
        ))),
    }
}

/// The closest key or option name to a mistyped one, for a hint.
pub fn closest<'a>(given: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given = normalize(given);
    names
        .map(|n| (distance(&given, n), n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, n)| *d <= 2.max(n.len() / 4) && given.len() > 1)
        .map(|(_, n)| n)
}

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_is_both_a_key_and_a_compatibility_entry() {
        for c in COMPAT {
            assert!(
                !super::super::KEYS.iter().any(|k| k.name == c.name),
                "{} is a key of the table and of COMPAT",
                c.name
            );
            if let Compat::Alias(k) | Compat::Adds(k, _) | Compat::Negates(k) = c.what {
                assert!(
                    super::super::key(k).is_some(),
                    "{} names no key {k}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn the_reference_agents_names_mean_what_they_meant() {
        let mut s = Settings::default();
        assert_eq!(apply(&mut s, "stdout", "1"), Ok(Applied::Done));
        assert_eq!(apply(&mut s, "stdout", ""), Ok(Applied::Done));
        assert_eq!(s.targets.locals, ["-"]);
        apply(&mut s, "nosoftware", "1").unwrap();
        assert_eq!(s.tasks.no_category, ["software"]);
        apply(&mut s, "SSL", "0").unwrap();
        assert!(s.connection.no_ssl_check);
        apply(&mut s, "ca", "/etc/ocs/cacert.pem").unwrap();
        assert_eq!(
            s.connection.ca_cert_file.as_deref(),
            Some("/etc/ocs/cacert.pem")
        );
        apply(&mut s, "backend_collect_timeout", "30").unwrap();
        assert_eq!(s.tasks.task_timeout, 30);
        match apply(&mut s, "scan-homedirs", "1").unwrap() {
            Applied::Notice(n) => assert!(n.contains("accepted and ignored")),
            other => panic!("{other:?}"),
        }
        assert_eq!(apply(&mut s, "sever", "x"), Ok(Applied::Unknown));
        assert_eq!(
            closest("sever", ["server", "local"].into_iter()),
            Some("server")
        );
        assert_eq!(closest("zzzzzzzz", ["server"].into_iter()), None);
    }
}
