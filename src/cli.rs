//! Command line: the `uagent` binary and its subcommands. The launchers named after the Perl
//! agents' (`uagent-inventory`, `uagent-injector`) are links to the same binary, recognised
//! by their name.

use argh::FromArgs;

use crate::exit;

#[derive(FromArgs, Debug)]
/// uagent: inventory and management agent for OCS Inventory NG and GLPI servers.
pub struct Cli {
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,

    #[argh(subcommand)]
    pub command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Inventory(InventoryArgs),
}

#[derive(FromArgs, Debug, Default)]
/// Write one inventory of this machine (or of a system under --root), XML to stdout by default.
#[argh(subcommand, name = "inventory")]
pub struct InventoryArgs {
    /// read every file under DIR instead of / and ask the running system nothing
    #[argh(option)]
    pub root: Option<String>,
    /// output format: xml (default), json or html
    #[argh(option)]
    pub format: Option<String>,
    /// same as --format json
    #[argh(switch)]
    pub json: bool,
    /// same as --format html
    #[argh(switch)]
    pub html: bool,
    /// write to FILE (or into DIR as <deviceid>.<format>) instead of stdout
    #[argh(option, short = 'o')]
    pub output: Option<String>,
    /// the TAG sent in ACCOUNTINFO
    #[argh(option, short = 't')]
    pub tag: Option<String>,
    /// categories to leave out, comma-separated (see --list-categories); may be repeated
    #[argh(option)]
    pub no_category: Vec<String>,
    /// list the categories and exit
    #[argh(switch)]
    pub list_categories: bool,
    /// state directory (holds the DEVICEID); default /var/lib/uagent
    #[argh(option)]
    pub vardir: Option<String>,
    /// more log lines (twice: even more)
    #[argh(switch)]
    pub debug: bool,
}

/// Subcommand implied by the name the binary was called by.
fn implied_subcommand(argv0: &str) -> Option<&'static str> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    match name {
        "uagent-inventory" => Some("inventory"),
        "uagent-injector" => Some("inject"),
        "uagent-wakeonlan" => Some("wakeonlan"),
        _ => None,
    }
}

pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| "uagent".into());
    let mut rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    if let Some(sub) = implied_subcommand(&argv0) {
        rest.insert(0, sub);
    }
    let cmd_name = argv0.rsplit('/').next().unwrap_or("uagent");
    let cli = match Cli::from_args(&[cmd_name], &rest) {
        Ok(cli) => cli,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    println!("{}", early.output);
                    exit::OK
                }
                Err(()) => {
                    eprintln!(
                        "{}\nRun {cmd_name} --help for more information.",
                        early.output
                    );
                    exit::USAGE
                }
            };
        }
    };
    if cli.version {
        println!("uagent {}", env!("CARGO_PKG_VERSION"));
        return exit::OK;
    }
    match cli.command {
        Some(Command::Inventory(a)) => crate::tasks::inventory::command::run(&a),
        None => {
            eprintln!("{cmd_name}: nothing to do: give a subcommand (see {cmd_name} --help)");
            exit::USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_names_imply_their_subcommand() {
        assert_eq!(
            implied_subcommand("/usr/bin/uagent-inventory"),
            Some("inventory")
        );
        assert_eq!(implied_subcommand("uagent-injector"), Some("inject"));
        assert_eq!(implied_subcommand("/usr/bin/uagent"), None);
    }
}
