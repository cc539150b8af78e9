//! The command line of the task: `uagent task deploy --job -` as the agent starts it (the job
//! on standard input), or `uagent deploy --job FILE` by hand.

use argh::FromArgs;

#[derive(FromArgs, Debug, Default, Clone, PartialEq)]
/// Deploy what a server ordered (OCS packages, GLPI deploy jobs), as a job file describes it.
#[argh(subcommand, name = "deploy")]
pub struct Args {
    /// the job to run: a file the agent wrote, or - for standard input (how the agent hands it
    /// over, since it carries the server's credentials)
    #[argh(option)]
    pub job: Option<String>,
    /// more log lines
    #[argh(switch)]
    pub debug: bool,
}

impl Args {
    /// The arguments that parse back into these (after `uagent task deploy`).
    pub fn to_argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(j) = &self.job {
            out.push("--job".into());
            out.push(j.clone());
        }
        if self.debug {
            out.push("--debug".into());
        }
        out
    }

    /// The task for a PROLOG's DOWNLOAD option: it reads its job (the option, the settings)
    /// on standard input. `None` when the option offers no package (only the CONF every
    /// agent gets).
    #[cfg(feature = "client")]
    pub fn from_prolog(option: &crate::protocol::messages::OptionBlock) -> Option<Args> {
        let packs = option
            .params
            .iter()
            .filter(|p| p.attr("TYPE").is_some_and(|t| t.eq_ignore_ascii_case("PACK")))
            .count();
        (packs > 0).then(|| Args {
            job: Some("-".into()),
            debug: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_command_line_round_trips() {
        for a in [
            Args::default(),
            Args {
                job: Some("-".into()),
                debug: true,
            },
        ] {
            let argv = a.to_argv();
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let back = Args::from_args(&["uagent", "task", "deploy"], &argv).unwrap();
            assert_eq!(back, a);
        }
    }

    #[test]
    fn only_an_option_with_packages_makes_a_task() {
        use crate::protocol::messages::parse_prolog;
        let conf_only = parse_prolog(b"<REPLY><OPTION><NAME>DOWNLOAD</NAME><PARAM TYPE=\"CONF\" ON=\"1\"/></OPTION></REPLY>").unwrap();
        assert_eq!(Args::from_prolog(conf_only.option("DOWNLOAD").unwrap()), None);
        let packs = parse_prolog(b"<REPLY><OPTION><NAME>DOWNLOAD</NAME><PARAM TYPE=\"CONF\" ON=\"1\"/><PARAM TYPE=\"PACK\" ID=\"1\"/></OPTION></REPLY>").unwrap();
        assert_eq!(
            Args::from_prolog(packs.option("DOWNLOAD").unwrap()).and_then(|a| a.job),
            Some("-".into())
        );
    }
}
