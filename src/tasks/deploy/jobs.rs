//! GLPI's answer to `getJobs` (glpiinventory's `b/deploy/`, FusionInventory's plugin): the jobs
//! to run and the files they need, checked as the reference agents check it (every key a job
//! and a file must have, actions as one-key objects, a uuid of hex digits and dashes, file names
//! without a folder) and bounded (counts, lengths), so that a hostile or broken answer is one
//! clear error. Numbers may come as strings, as the plugin stores them.

use std::fmt;

use crate::protocol::json::{self, Json};
use crate::state::deploy::valid_sha512;

/// Most jobs in one answer.
pub const MAX_JOBS: usize = 64;
/// Most files in one answer, and per job.
pub const MAX_FILES: usize = 64;
/// Most parts of one file (GLPI parts are about 1 MiB).
pub const MAX_PARTS: usize = 4096;
/// Most checks of a job or an action.
pub const MAX_CHECKS: usize = 64;
/// Most actions of a job.
pub const MAX_ACTIONS: usize = 128;
/// Most mirrors of a file.
pub const MAX_MIRRORS: usize = 16;
/// Most entries of a list (mkdir, delete, retChecks values, envs).
pub const MAX_LIST: usize = 256;
/// Longest string kept (a command, a path, a name).
pub const MAX_STRING: usize = 8192;
/// Longest job uuid.
pub const MAX_UUID: usize = 64;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    pub jobs: Vec<JobSpec>,
    pub files: Vec<FileSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub uuid: String,
    pub checks: Vec<Check>,
    /// The sha512 of the files it needs, each in [`Answer::files`].
    pub files: Vec<String>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub value: Option<String>,
    /// What a failure means: `error`, `ko`, `abort`, `skip`, `startnow`, `info`, `warning`…
    pub on_failure: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetCheck {
    pub kind: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    Cmd {
        exec: String,
        log_line_limit: i64,
        ret_checks: Option<Vec<RetCheck>>,
        envs: Vec<(String, String)>,
    },
    Copy { from: String, to: String },
    Move { from: String, to: String },
    Mkdir(Vec<String>),
    Delete(Vec<String>),
    /// A type this agent does not know (reported as a failure).
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub name: Option<String>,
    /// Checks evaluated before the action.
    pub checks: Option<Vec<Check>>,
    pub log_line_limit: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    pub sha512: String,
    pub name: String,
    pub p2p: bool,
    /// Minutes a part shared with peers is kept (0: the default).
    pub retention_minutes: u64,
    pub uncompress: bool,
    pub mirrors: Vec<String>,
    pub parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobsError(pub String);

impl fmt::Display for JobsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bad job list: {}", self.0)
    }
}

fn bad<T>(s: impl Into<String>) -> Result<T, JobsError> {
    Err(JobsError(s.into()))
}

/// A string, number or boolean as text (the plugin writes numbers as strings).
fn scalar(j: &Json) -> Option<String> {
    match j {
        Json::Str(s) if s.len() <= MAX_STRING => Some(s.clone()),
        Json::Num(n) => Some(if n.fract() == 0.0 && n.abs() < 1e15 {
            format!("{}", *n as i64)
        } else {
            format!("{n}")
        }),
        Json::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

/// A number given as a number or as a string.
pub fn number(j: &Json) -> Option<i64> {
    match j {
        Json::Num(n) if n.is_finite() && n.abs() < 1e15 => Some(*n as i64),
        Json::Str(s) => s.trim().parse().ok(),
        Json::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Perl's truth of a value.
fn truthy(j: &Json) -> bool {
    match j {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Num(n) => *n != 0.0,
        Json::Str(s) => !s.is_empty() && s != "0",
        Json::Arr(_) | Json::Obj(_) => true,
    }
}

fn string_list(j: Option<&Json>, what: &str) -> Result<Vec<String>, JobsError> {
    match j {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Arr(a)) => {
            if a.len() > MAX_LIST {
                return bad(format!("more than {MAX_LIST} entries in {what}"));
            }
            a.iter()
                .map(|v| scalar(v).ok_or_else(|| JobsError(format!("a bad entry in {what}"))))
                .collect()
        }
        Some(v) => scalar(v)
            .map(|s| vec![s])
            .ok_or_else(|| JobsError(format!("{what} is not a list"))),
    }
}

fn checks(j: &Json, what: &str) -> Result<Vec<Check>, JobsError> {
    let Some(list) = j.as_array() else {
        return bad(format!("{what} is not a list"));
    };
    if list.len() > MAX_CHECKS {
        return bad(format!("more than {MAX_CHECKS} {what}"));
    }
    let mut out = Vec::new();
    for c in list {
        if !matches!(c, Json::Obj(_)) {
            // The agents skip what is not a check.
            continue;
        }
        let get = |k: &str| c.get(k).and_then(scalar).unwrap_or_default();
        let kind = get("type");
        out.push(Check {
            name: c
                .get("name")
                .and_then(scalar)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| if kind.is_empty() { "unsupported".into() } else { kind.clone() }),
            kind: if kind.is_empty() { "n/a".into() } else { kind },
            path: get("path"),
            value: c.get("value").and_then(scalar),
            on_failure: Some(get("return")).filter(|r| !r.is_empty()).unwrap_or_else(|| "ko".into()),
        });
    }
    Ok(out)
}

fn action(j: &Json) -> Result<Action, JobsError> {
    let Json::Obj(members) = j else {
        return bad("an action is not an object");
    };
    let [(kind, params)] = members.as_slice() else {
        return bad("an action must have exactly one key");
    };
    let get = |k: &str| params.get(k).and_then(scalar).unwrap_or_default();
    let log_line_limit = params.get("logLineLimit").and_then(number).unwrap_or(10);
    let kind = match kind.as_str() {
        "cmd" => {
            let ret_checks = match params.get("retChecks") {
                Some(Json::Arr(list)) => {
                    if list.len() > MAX_LIST {
                        return bad(format!("more than {MAX_LIST} retChecks"));
                    }
                    Some(
                        list.iter()
                            .filter(|r| matches!(r, Json::Obj(_)))
                            .map(|r| {
                                Ok(RetCheck {
                                    kind: r.get("type").and_then(scalar).unwrap_or_default(),
                                    values: string_list(r.get("values"), "retChecks values")?,
                                })
                            })
                            .collect::<Result<Vec<_>, JobsError>>()?,
                    )
                }
                _ => None,
            };
            let envs = match params.get("envs") {
                Some(Json::Obj(e)) => {
                    if e.len() > MAX_LIST {
                        return bad(format!("more than {MAX_LIST} envs"));
                    }
                    e.iter()
                        .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
                        .collect()
                }
                _ => Vec::new(),
            };
            ActionKind::Cmd {
                exec: get("exec"),
                log_line_limit,
                ret_checks,
                envs,
            }
        }
        "copy" => ActionKind::Copy {
            from: get("from"),
            to: get("to"),
        },
        "move" => ActionKind::Move {
            from: get("from"),
            to: get("to"),
        },
        "mkdir" => ActionKind::Mkdir(string_list(params.get("list"), "mkdir list")?),
        "delete" => ActionKind::Delete(string_list(params.get("list"), "delete list")?),
        other => ActionKind::Unknown(other.chars().take(64).collect()),
    };
    Ok(Action {
        kind,
        name: params.get("name").and_then(scalar).filter(|n| !n.is_empty()),
        checks: match params.get("checks") {
            Some(c @ Json::Arr(_)) => Some(checks(c, "action checks")?),
            _ => None,
        },
        log_line_limit,
    })
}

/// A file name as a job may give it: one name, no folder.
pub fn simple_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0', '\\'])
}

/// Reads a getJobs answer. `{}` means nothing to do.
pub fn parse(body: &[u8]) -> Result<Answer, JobsError> {
    let j = json::parse(body).map_err(|e| JobsError(e.to_string()))?;
    let Json::Obj(top) = &j else {
        return bad("not a JSON object");
    };
    if top.is_empty() {
        return Ok(Answer::default());
    }
    let Some(Json::Obj(files_obj)) = j.get("associatedFiles") else {
        return bad(match j.get("associatedFiles") {
            None => "missing associatedFiles key",
            Some(_) => "associatedFiles should be an hash",
        });
    };
    if files_obj.len() > MAX_FILES {
        return bad(format!("more than {MAX_FILES} files"));
    }
    let mut files = Vec::new();
    for (sha512, f) in files_obj {
        if !valid_sha512(sha512) {
            return bad("a file key that is not a sha512");
        }
        for k in ["mirrors", "multiparts", "name", "p2p-retention-duration", "p2p", "uncompress"] {
            if f.get(k).is_none_or(|v| *v == Json::Null) {
                return bad(format!("Missing key `{k}' in associatedFiles"));
            }
        }
        let name = f.get("name").and_then(scalar).unwrap_or_default();
        if !simple_name(&name) {
            return bad("Invalid file name in associatedFiles");
        }
        let mirrors = string_list(f.get("mirrors"), "mirrors")?;
        if mirrors.len() > MAX_MIRRORS {
            return bad(format!("more than {MAX_MIRRORS} mirrors"));
        }
        let Some(Json::Arr(parts)) = f.get("multiparts") else {
            return bad("multiparts is not a list");
        };
        if parts.len() > MAX_PARTS {
            return bad(format!("more than {MAX_PARTS} parts"));
        }
        let parts: Vec<String> = parts.iter().filter_map(scalar).collect();
        if parts.iter().any(|p| !valid_sha512(p)) {
            return bad("a part that is not a sha512");
        }
        files.push(FileSpec {
            sha512: sha512.to_ascii_lowercase(),
            name,
            p2p: f.get("p2p").is_some_and(truthy),
            retention_minutes: f.get("p2p-retention-duration").and_then(number).unwrap_or(0).max(0) as u64,
            uncompress: f.get("uncompress").is_some_and(truthy),
            mirrors,
            parts: parts.iter().map(|p| p.to_ascii_lowercase()).collect(),
        });
    }
    let jobs_json = match j.get("jobs") {
        None | Some(Json::Null) => &[][..],
        Some(Json::Arr(a)) => a.as_slice(),
        Some(_) => return bad("jobs is not a list"),
    };
    if jobs_json.len() > MAX_JOBS {
        return bad(format!("more than {MAX_JOBS} jobs"));
    }
    let mut jobs = Vec::new();
    for job in jobs_json {
        for k in ["uuid", "associatedFiles", "actions", "checks"] {
            if job.get(k).is_none_or(|v| *v == Json::Null) {
                return bad(format!("Missing key `{k}' in jobs"));
            }
        }
        let uuid = job.get("uuid").and_then(scalar).unwrap_or_default();
        if uuid.is_empty()
            || uuid.len() > MAX_UUID
            || !uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        {
            return bad("job/uuid wrong format");
        }
        let Some(Json::Arr(actions)) = job.get("actions") else {
            return bad("jobs/actions must be an array");
        };
        if actions.len() > MAX_ACTIONS {
            return bad(format!("more than {MAX_ACTIONS} actions"));
        }
        let job_files = string_list(job.get("associatedFiles"), "a job's associatedFiles")?;
        if job_files.len() > MAX_FILES {
            return bad(format!("more than {MAX_FILES} files in a job"));
        }
        jobs.push(JobSpec {
            uuid,
            checks: match job.get("checks") {
                Some(c @ Json::Arr(_)) => checks(c, "checks")?,
                _ => Vec::new(),
            },
            files: job_files.iter().map(|f| f.to_ascii_lowercase()).collect(),
            actions: actions.iter().map(action).collect::<Result<_, _>>()?,
        });
    }
    Ok(Answer { jobs, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        c.to_string().repeat(128)
    }

    fn sample() -> String {
        format!(
            r#"{{"jobs":[{{"uuid":"5f0c-aa","requires":{{"softwares-inventory":1}},
              "checks":[{{"name":"tmp exists","type":"directoryExists","path":"/tmp","value":"","return":"error"}},
                        {{"type":"freespaceGreater","path":"/tmp","value":"10","return":"skip"}}, "junk"],
              "associatedFiles":["{a}"],
              "actions":[{{"cmd":{{"exec":"sh run.sh","name":"run","logLineLimit":"5",
                           "retChecks":[{{"type":"okCode","values":["0","3"]}}],"envs":{{"K":"V","N":1}}}}}},
                         {{"move":{{"from":"*","to":"/opt/x/"}}}},
                         {{"copy":{{"from":"a.txt","to":"/opt/x/","checks":[{{"type":"fileMissing","path":"/opt/x/a.txt"}}]}}}},
                         {{"mkdir":{{"list":["/opt/x","/opt/y"]}}}},
                         {{"delete":{{"list":"/opt/old"}}}},
                         {{"reboot":{{}}}}],
              "userinteractions":[{{"type":"before","platform":"win32"}}]}}],
             "associatedFiles":{{"{a}":{{"name":"pkg.tar.gz","p2p":0,"p2p-retention-duration":"0","uncompress":"1",
                 "mirrors":["http://glpi/plugins/glpiinventory/b/deploy/?action=getFilePart&file="],
                 "multiparts":["{b}","{c}"]}}}}}}"#,
            a = sha('a'),
            b = sha('b'),
            c = sha('c')
        )
    }

    #[test]
    fn the_plugins_job_list_is_typed() {
        let a = parse(sample().as_bytes()).unwrap();
        assert_eq!(a.files.len(), 1);
        let f = &a.files[0];
        assert_eq!((f.name.as_str(), f.p2p, f.uncompress, f.parts.len()), ("pkg.tar.gz", false, true, 2));
        let j = &a.jobs[0];
        assert_eq!(j.uuid, "5f0c-aa");
        assert_eq!(j.checks.len(), 2);
        assert_eq!(j.checks[0].name, "tmp exists");
        assert_eq!(j.checks[1].name, "freespaceGreater");
        assert_eq!(j.checks[1].on_failure, "skip");
        assert_eq!(j.actions.len(), 6);
        match &j.actions[0].kind {
            ActionKind::Cmd { exec, log_line_limit, ret_checks, envs } => {
                assert_eq!(exec, "sh run.sh");
                assert_eq!(*log_line_limit, 5);
                assert_eq!(ret_checks.as_ref().unwrap()[0].values, ["0", "3"]);
                assert_eq!(envs, &[("K".to_string(), "V".to_string()), ("N".to_string(), "1".to_string())]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(j.actions[2].checks.as_ref().unwrap()[0].on_failure, "ko");
        assert_eq!(j.actions[4].kind, ActionKind::Delete(vec!["/opt/old".into()]));
        assert_eq!(j.actions[5].kind, ActionKind::Unknown("reboot".into()));
        assert_eq!(parse(b"{}").unwrap(), Answer::default());
    }

    #[test]
    fn bad_job_lists_are_refused_with_the_reference_reasons() {
        let s = sample();
        for (body, why) in [
            (s.replace("\"uuid\":\"5f0c-aa\"", "\"uuid\":\"../../etc\""), "uuid wrong format"),
            (s.replace("pkg.tar.gz", "../pkg.tar.gz"), "Invalid file name"),
            (s.replace("\"p2p\":0,", ""), "Missing key `p2p'"),
            (s.replace("\"checks\":[{\"name\"", "\"x\":[{\"name\""), "Missing key `checks'"),
            ("{\"associatedFiles\":[],\"jobs\":[]}".to_string(), "associatedFiles should be an hash"),
            ("{\"jobs\":[]}".to_string(), "missing associatedFiles"),
            ("[1,2]".to_string(), "not a JSON object"),
            ("{\"jobs\":[}".to_string(), "malformed JSON"),
            ("[".repeat(100) + &"]".repeat(100), "malformed JSON"),
        ] {
            let e = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(why), "{e} should say {why}");
        }
        let many = format!("{{\"associatedFiles\":{{}},\"jobs\":[{}]}}", vec!["{\"uuid\":\"a\",\"associatedFiles\":[],\"actions\":[],\"checks\":[]}"; MAX_JOBS + 1].join(","));
        assert!(parse(many.as_bytes()).unwrap_err().0.contains("jobs"));
    }
}
