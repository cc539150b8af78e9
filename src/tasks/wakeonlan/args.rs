//! The command line of the task (`uagent wakeonlan`, the `uagent-wakeonlan` launcher, and
//! `uagent task wakeonlan` as the agent starts it), and the arguments a server's order gives.

use argh::FromArgs;

use super::parse::{parse_methods, parse_ports, parse_targets, Request};
#[cfg(feature = "client")]
use super::{parse_ip, parse_mac, MAX_TARGETS};

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// Wake machines of this machine's LANs with a magic packet (Wake-on-LAN).
#[argh(subcommand, name = "wakeonlan")]
pub struct Args {
    /// MAC address(es) to wake, comma-separated or repeated: 00:11:22:33:44:55, 00-11-22-33-44-55 or 001122334455
    #[argh(option)]
    pub mac: Vec<String>,
    /// IPv4 address of the machine(s), one for all or one per --mac in order (blank for none): the packet goes out of the interface whose subnet holds it, or is sent to it when none does
    #[argh(option)]
    pub ip: Vec<String>,
    /// ways to send, first that works wins: ethernet (raw frame, needs CAP_NET_RAW), udp (default ethernet,udp)
    #[argh(option)]
    pub methods: Vec<String>,
    /// send on this network interface only
    #[argh(option)]
    pub interface: Option<String>,
    /// UDP port(s), comma-separated (default 9; 7 is the other usual one)
    #[argh(option)]
    pub port: Vec<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

impl Args {
    /// Nothing goes on the task's standard input.
    pub fn stdin(&self) -> Option<String> {
        None
    }

    /// The arguments that parse back into these (after `uagent task wakeonlan`).
    pub fn to_argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut each = |name: &str, values: &[String]| {
            for v in values {
                out.push(format!("--{name}"));
                out.push(v.clone());
            }
        };
        each("mac", &self.mac);
        each("ip", &self.ip);
        each("methods", &self.methods);
        each("interface", self.interface.as_slice());
        each("port", &self.port);
        if self.debug {
            out.push("--debug".into());
        }
        out
    }

    /// What to do, checked.
    pub fn request(&self) -> Result<Request, String> {
        Ok(Request {
            targets: parse_targets(&self.mac, &self.ip)?,
            methods: parse_methods(&self.methods)?,
            ports: parse_ports(&self.port)?,
            interface: self.interface.clone().filter(|i| !i.is_empty()),
        })
    }

    /// The task for a server's OPTION WAKEONLAN: a `--mac`/`--ip` pair for each
    /// `PARAM MAC=… IP=…` (IP blank when missing or unusable); bad entries are logged and left
    /// out, and `None` means no valid MAC was named.
    #[cfg(feature = "client")]
    pub fn from_prolog(option: &crate::protocol::messages::OptionBlock) -> Option<Args> {
        let mut args = Args::default();
        for p in option
            .params
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case("PARAM"))
        {
            let mac = match p.attr("MAC").map(parse_mac) {
                Some(Ok(mac)) => mac,
                Some(Err(e)) => {
                    log::error!("WAKEONLAN: {e}, skipped");
                    continue;
                }
                None => {
                    log::error!("WAKEONLAN: a PARAM without MAC, skipped");
                    continue;
                }
            };
            if args.mac.len() == MAX_TARGETS {
                log::error!("WAKEONLAN: more than {MAX_TARGETS} machines, the rest is left out");
                break;
            }
            let ip = match p.attr("IP").map(parse_ip) {
                Some(Ok(Some(ip))) => ip.to_string(),
                Some(Err(e)) => {
                    log::warn!("WAKEONLAN: {e} for {mac}, sending by broadcast");
                    String::new()
                }
                _ => String::new(),
            };
            args.mac.push(mac.to_string());
            args.ip.push(ip);
        }
        (!args.mac.is_empty()).then_some(args)
    }
}
