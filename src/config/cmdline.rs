//! The command lines of the agent and the injector, read from the settings table: every key of
//! the groups a command takes is its option (`--server URL`, `-s URL`, `--server=URL`), beside
//! the few options of the command itself ([`Opt`]). The help is written from the same rows, so
//! an option, its key in `agent.cfg` and its help never drift apart.

use super::compat::{self, Compat, COMPAT};
use super::{Group, Key, Kind, Settings, KEYS};

/// An option of a command that is not a setting (`--conf-file`, `--version`, `--file`).
pub struct Opt {
    pub name: &'static str,
    pub short: Option<char>,
    /// What the value looks like in the help; empty for a switch.
    pub meta: &'static str,
    pub help: &'static str,
}

/// What a command line gave.
#[derive(Default)]
pub struct Line {
    /// The command's own options, in order: name, and value ("" for a switch).
    pub opts: Vec<(&'static str, String)>,
    /// The settings, in order.
    pub settings: Vec<(&'static Key, String)>,
    /// The reference agents' options that do not apply here: what to tell the user.
    pub notices: Vec<String>,
}

impl Line {
    pub fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }

    /// The last value of an option.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable option.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Applies the settings given over `s`: the values of a list add up, a counter counts, the
    /// last value of any other wins.
    pub fn apply(&self, s: &mut Settings) -> Result<(), String> {
        for k in KEYS {
            let given: Vec<&str> = self
                .settings
                .iter()
                .filter(|(g, _)| std::ptr::eq(*g, k))
                .map(|(_, v)| v.as_str())
                .collect();
            let Some(last) = given.last() else { continue };
            match k.kind {
                Kind::List => k.set(s, &given.join(","))?,
                Kind::Counter => k.set(s, &given.len().to_string())?,
                Kind::Single | Kind::Switch => k.set(s, last)?,
            }
        }
        Ok(())
    }
}

fn keys_of(groups: &[Group]) -> impl Iterator<Item = &'static Key> + '_ {
    KEYS.iter().filter(move |k| groups.contains(&k.group))
}

enum Found {
    Opt(&'static str, bool),
    Key(&'static Key),
    /// A reference agent's option: its name (as the table spells it) and meaning.
    Compat(&'static str, Compat),
}

/// A reference agent's option, when it names a key of the command's groups or means nothing
/// here.
fn compat_found(c: &'static compat::Entry, groups: &[Group]) -> Option<Found> {
    let of_groups = |k: &str| super::key(k).is_some_and(|k| groups.contains(&k.group));
    match c.what {
        Compat::Alias(k) => super::key(k)
            .filter(|k| groups.contains(&k.group))
            .map(Found::Key),
        Compat::Adds(k, _) | Compat::Negates(k) if of_groups(k) => {
            Some(Found::Compat(c.name, c.what))
        }
        Compat::Ignored { .. } => Some(Found::Compat(c.name, c.what)),
        _ => None,
    }
}

/// Reads `args` (without the command's name) against its options and the settings of `groups`.
pub fn parse(args: &[&str], opts: &'static [Opt], groups: &[Group]) -> Result<Line, String> {
    let mut line = Line::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        let (found, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let found = opts
                .iter()
                .find(|o| o.name == name)
                .map(|o| Found::Opt(o.name, !o.meta.is_empty()))
                .or_else(|| keys_of(groups).find(|k| k.name == name).map(Found::Key))
                .or_else(|| {
                    COMPAT
                        .iter()
                        .find(|c| c.name == name)
                        .and_then(|c| compat_found(c, groups))
                });
            match found {
                Some(f) => (f, inline),
                None => return Err(unknown(arg, opts, groups)),
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let c = short.chars().next();
            let found = opts
                .iter()
                .find(|o| o.short == c)
                .map(|o| Found::Opt(o.name, !o.meta.is_empty()))
                .or_else(|| keys_of(groups).find(|k| k.short == c).map(Found::Key))
                .or_else(|| {
                    COMPAT
                        .iter()
                        .find(|e| e.short == c)
                        .and_then(|e| compat_found(e, groups))
                });
            match found {
                Some(f) => (f, None),
                None => return Err(unknown(arg, opts, groups)),
            }
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let takes_value = match &found {
            Found::Opt(_, v) => *v,
            Found::Key(k) => matches!(k.kind, Kind::Single | Kind::List),
            Found::Compat(_, Compat::Ignored { value, .. }) => *value,
            Found::Compat(_, Compat::Negates(_)) => true,
            Found::Compat(..) => false,
        };
        let shown = arg.split('=').next().unwrap_or(arg);
        let value = match (takes_value, inline) {
            (true, Some(v)) => v.to_string(),
            (true, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.to_string()
                }
                None => return Err(format!("{shown} needs a value")),
            },
            (false, None) => String::new(),
            (false, Some(_)) => return Err(format!("{shown}: this option takes no value")),
        };
        match found {
            Found::Opt(name, _) => line.opts.push((name, value)),
            Found::Key(k) => {
                // A value is checked now, so that the error names the option as given.
                if takes_value {
                    k.set(&mut Settings::default(), &value)
                        .map_err(|e| format!("{shown}: {e}"))?;
                }
                line.settings.push((k, value));
            }
            Found::Compat(name, what) => match what {
                Compat::Adds(k, v) => {
                    if let Some(k) = super::key(k) {
                        line.settings.push((k, v.to_string()));
                    }
                }
                Compat::Negates(k) => {
                    let on = <bool as super::value::Value>::parse(&value)
                        .map_err(|e| format!("{shown}: {e}"))?;
                    if let Some(k) = super::key(k) {
                        line.settings.push((k, if on { "0" } else { "1" }.into()));
                    }
                }
                Compat::Ignored { why, .. } => {
                    line.notices
                        .push(format!("{shown}: accepted and ignored: {why}"));
                }
                Compat::Alias(_) => {
                    let _ = name;
                }
            },
        }
    }
    Ok(line)
}

/// The message for an option nobody knows, with the closest known one when there is one.
fn unknown(arg: &str, opts: &[Opt], groups: &[Group]) -> String {
    let given = arg.trim_start_matches('-');
    let given = given.split('=').next().unwrap_or(given);
    let names = opts
        .iter()
        .map(|o| o.name)
        .chain(keys_of(groups).map(|k| k.name));
    match compat::closest(given, names) {
        Some(n) => format!("unknown option {arg} (did you mean --{n}?)"),
        None => format!("unknown option {arg}"),
    }
}

/// The help of a command: its usage and summary, its options, then the settings of `groups`
/// with their defaults.
pub fn help(usage: &str, summary: &str, opts: &[Opt], groups: &[Group]) -> String {
    let mut rows: Vec<(String, String)> = opts
        .iter()
        .map(|o| (left(o.short, o.name, o.meta), o.help.to_string()))
        .collect();
    let defaults = Settings::default();
    for k in keys_of(groups) {
        let d = k.show(&defaults);
        let help = match k.kind {
            Kind::Single if !d.is_empty() => format!("{} (default {d})", k.help),
            _ => k.help.to_string(),
        };
        // A short option the command's own options take is theirs.
        let short = k
            .short
            .filter(|c| !opts.iter().any(|o| o.short == Some(*c)));
        rows.push((left(short, k.name, k.meta), help));
    }
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("Usage: {usage}\n\n{summary}\n\nOptions:\n");
    for (l, h) in rows {
        out.push_str(&format!("  {l:<width$}  {h}\n"));
    }
    out.pop();
    out
}

fn left(short: Option<char>, name: &str, meta: &str) -> String {
    let mut s = match short {
        Some(c) => format!("-{c}, --{name}"),
        None => format!("    --{name}"),
    };
    if !meta.is_empty() {
        s.push(' ');
        s.push_str(meta);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt {
            name: "conf-file",
            short: None,
            meta: "FILE",
            help: "configuration file",
        },
        Opt {
            name: "version",
            short: None,
            meta: "",
            help: "print the version",
        },
    ];
    const ALL: &[Group] = &[
        Group::Targets,
        Group::Schedule,
        Group::Tasks,
        Group::Connection,
        Group::StateDirs,
        Group::Daemon,
        Group::Httpd,
        Group::Deploy,
        Group::Log,
    ];

    fn settings(args: &[&str]) -> Result<Settings, String> {
        let line = parse(args, OPTS, ALL)?;
        let mut s = Settings::default();
        line.apply(&mut s)?;
        Ok(s)
    }

    #[test]
    fn options_take_every_form_and_lists_add_up() {
        let s = settings(&[
            "-s",
            "http://a/",
            "--server=http://b/,http://c/",
            "--tag",
            "x",
            "--tag=y",
            "--lazy",
            "--debug",
            "--debug",
            "--httpd-port",
            "8080",
        ])
        .unwrap();
        assert_eq!(s.targets.servers, ["http://a/", "http://b/", "http://c/"]);
        assert_eq!(s.tasks.tag.as_deref(), Some("y"));
        assert!(s.schedule.lazy);
        assert_eq!(s.log.debug, 2);
        assert_eq!(s.httpd.httpd_port, 8080);
        let line = parse(&["--conf-file", "/f", "--version"], OPTS, ALL).unwrap();
        assert_eq!(line.value("conf-file"), Some("/f"));
        assert!(line.has("version"));
    }

    #[test]
    fn mistakes_are_named_with_a_hint() {
        let e = |args: &[&str]| parse(args, OPTS, ALL).err().unwrap_or_default();
        assert_eq!(
            e(&["--sever", "x"]),
            "unknown option --sever (did you mean --server?)"
        );
        assert_eq!(e(&["--zzzzzzzz"]), "unknown option --zzzzzzzz");
        assert_eq!(e(&["--server"]), "--server needs a value");
        assert_eq!(e(&["--lazy=1"]), "--lazy: this option takes no value");
        assert_eq!(
            e(&["--wait", "soon"]),
            "--wait: wait: \"soon\" is not a number"
        );
        assert_eq!(e(&["stray"]), "unexpected argument \"stray\"");
        // Options of other groups are not this command's.
        assert!(parse(&["--daemon"], OPTS, &[Group::Connection]).is_err());
    }

    #[test]
    fn the_help_lists_every_option_with_its_default() {
        let h = help("uagent [OPTIONS]", "The agent.", OPTS, ALL);
        assert!(h.starts_with("Usage: uagent [OPTIONS]\n\nThe agent.\n\nOptions:\n"));
        for k in KEYS {
            assert!(h.contains(&format!("--{}", k.name)), "{} missing", k.name);
        }
        assert!(h.contains("--httpd-port PORT"));
        assert!(h.contains("(default 62354)"));
        assert!(h.contains("-s, --server URL"));
    }
}
