//! The command line of the inventory (`uagent inventory`, the `uagent-inventory` launcher, and
//! `uagent task inventory` as the agent starts it, with the options only the agent gives).

use argh::FromArgs;

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// Write one inventory of this machine (or of a system under --root), XML to stdout by default.
#[argh(subcommand, name = "inventory")]
pub struct Args {
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
    /// only these categories, comma-separated, as a partial inventory (GLPI's JSON); BIOS and
    /// hardware come with them, and the OS with software
    #[argh(option)]
    pub partial: Vec<String>,
    /// GLPI asset type: Computer (default), NetworkEquipment (a router filed with the
    /// switches, JSON only), or auto (NetworkEquipment on OpenWrt)
    #[argh(option)]
    pub itemtype: Option<String>,
    /// merge the sections of FILE (XML REQUEST/CONTENT, or JSON with "content") into the
    /// inventory
    #[argh(option)]
    pub additional_content: Option<String>,
    /// HARDWARE/NAME: 1 short host name (default), 2 FQDN, 3 as the system has it
    #[argh(option)]
    pub assetname_support: Option<u64>,
    /// credentials for categories that need them (accepted as the GLPI agent's launcher
    /// does; no category of uagent uses any)
    #[argh(option)]
    pub credentials: Vec<String>,
    /// state directory (holds the DEVICEID); default /var/lib/uagent
    #[argh(option)]
    pub vardir: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
    /// the DEVICEID to use (the agent gives its own)
    #[argh(option, hidden_help)]
    pub deviceid: Option<String>,
    /// an ACCOUNTINFO entry KEY=VALUE (repeatable)
    #[argh(option, hidden_help)]
    pub accountinfo: Vec<String>,
    /// file of the section digests the server last accepted
    #[argh(option, hidden_help)]
    pub digests: Option<String>,
    /// where to leave the digests of this inventory, when they differ from --digests
    #[argh(option, hidden_help)]
    pub digests_out: Option<String>,
    /// file of the OCS packages deployed here, sent as DOWNLOAD/HISTORY
    #[argh(option, hidden_help)]
    pub download_history: Option<String>,
    /// zlib-compress what goes to stdout
    #[argh(switch, hidden_help)]
    pub compress: bool,
    /// the Perl agents' option: uagent does not look for software in home folders
    #[argh(switch, hidden_help)]
    pub scan_homedirs: bool,
    /// the Perl agents' option: uagent does not look for software in user profiles
    #[argh(switch, hidden_help)]
    pub scan_profiles: bool,
    /// the Perl agents' time limit per module: the agent's --task-timeout limits the task
    #[argh(option, hidden_help)]
    pub backend_collect_timeout: Option<String>,
    /// with --digests: only the categories that changed, as a partial inventory (JSON)
    #[argh(switch, hidden_help)]
    pub changed_only: bool,
    /// OCS IpDiscover: sweep this subnet (as the server names it) and add IPDISCOVER
    #[argh(option, hidden_help)]
    pub ipdiscover: Option<String>,
    /// OCS IpDiscover: milliseconds between two ARP requests (the server's IPDISC_LAT)
    #[argh(option, hidden_help)]
    pub ipdisc_lat: Option<String>,
}

impl Args {
    /// The inventory is ordered by the PROLOG reply's RESPONSE, not by an OPTION.
    #[cfg(feature = "client")]
    pub fn from_prolog(_: &crate::protocol::messages::OptionBlock) -> Option<Args> {
        None
    }

    /// The arguments that parse back into these (after `uagent task inventory`).
    pub fn to_argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut each = |name: &str, values: &[String]| {
            for v in values {
                out.push(format!("--{name}"));
                out.push(v.clone());
            }
        };
        each("root", self.root.as_slice());
        each("format", self.format.as_slice());
        each("output", self.output.as_slice());
        each("tag", self.tag.as_slice());
        each("no-category", &self.no_category);
        each("vardir", self.vardir.as_slice());
        each("deviceid", self.deviceid.as_slice());
        each("accountinfo", &self.accountinfo);
        each("digests", self.digests.as_slice());
        each("digests-out", self.digests_out.as_slice());
        each(
            "backend-collect-timeout",
            self.backend_collect_timeout.as_slice(),
        );
        each("partial", &self.partial);
        each("itemtype", self.itemtype.as_slice());
        each("additional-content", self.additional_content.as_slice());
        let asset: Vec<String> = self.assetname_support.iter().map(u64::to_string).collect();
        each("assetname-support", &asset);
        each("credentials", &self.credentials);
        each("download-history", self.download_history.as_slice());
        each("ipdiscover", self.ipdiscover.as_slice());
        each("ipdisc-lat", self.ipdisc_lat.as_slice());
        for (on, name) in [
            (self.json, "--json"),
            (self.html, "--html"),
            (self.list_categories, "--list-categories"),
            (self.debug, "--debug"),
            (self.compress, "--compress"),
            (self.scan_homedirs, "--scan-homedirs"),
            (self.scan_profiles, "--scan-profiles"),
            (self.changed_only, "--changed-only"),
        ] {
            if on {
                out.push(name.into());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_command_line_round_trips() {
        let full = Args {
            root: Some("/mnt/fw".into()),
            format: Some("json".into()),
            json: true,
            html: true,
            output: Some("/tmp/a b.xml".into()),
            tag: Some("--not-an-option".into()),
            no_category: vec!["software,process".into(), "user".into()],
            list_categories: true,
            vardir: Some("/etc/uagent".into()),
            debug: true,
            deviceid: Some("box-2026-01-01-00-00-00".into()),
            accountinfo: vec!["TAG=a=b".into(), "X=".into()],
            digests: Some("/s/digests".into()),
            digests_out: Some("/s/digests.new".into()),
            download_history: Some("/s/deploy/history".into()),
            compress: true,
            scan_homedirs: true,
            scan_profiles: true,
            backend_collect_timeout: Some("30".into()),
            partial: vec!["software".into(), "cpu,os".into()],
            itemtype: Some("NetworkEquipment".into()),
            additional_content: Some("/etc/uagent/extra.xml".into()),
            assetname_support: Some(2),
            credentials: vec!["type:db,login:x".into()],
            changed_only: true,
            ipdiscover: Some("192.168.1.0".into()),
            ipdisc_lat: Some("100".into()),
        };
        for a in [Args::default(), full] {
            let argv = a.to_argv();
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let back = Args::from_args(&["uagent", "task", "inventory"], &argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {}", e.output));
            assert_eq!(back, a);
        }
    }
}
