//! The info file of an OCS package (`https://<INFO_LOC>/<ID>/info`): one `DOWNLOAD` element whose
//! attributes say what the package is and what to do with it. Every attribute is kept (the
//! Windows agent's NOTIFY_* and the unknown ones too), the ones this agent acts on are checked.

use std::fmt;

use crate::protocol::xml;

/// Most fragments a package may have.
pub const MAX_FRAGMENTS: u32 = 10_000;
/// Highest priority number accepted (OCS uses 0 to 10).
pub const MAX_PRIORITY: u32 = 100;
/// Longest COMMAND, NAME or PATH.
pub const MAX_COMMAND: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Md5,
    Sha1,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "MD5",
            Algo::Sha1 => "SHA1",
        }
    }
}

/// What to do once the package is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Copy the content to PATH.
    Store(String),
    /// Run COMMAND in the extracted folder.
    Execute(String),
    /// Run the package's file NAME (its first word) in the extracted folder.
    Launch(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub id: String,
    pub priority: u32,
    pub act: Act,
    /// `None` when the algorithm is not one this agent knows (the package fails its digest).
    pub algo: Option<Algo>,
    pub digest: String,
    pub base64: bool,
    /// Fragments over HTTPS (PROTO=HTTPS) rather than HTTP.
    pub https: bool,
    pub fragments: u32,
    /// Every attribute, in order.
    pub attrs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InfoError(pub String);

impl fmt::Display for InfoError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "not a valid info file: {}", self.0)
    }
}

fn number(node: &xml::Node, name: &str, max: u32) -> Result<u32, InfoError> {
    let v = node.attr(name).unwrap_or("").trim();
    match v.parse::<u32>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(InfoError(format!("{name}={v:?} (a number up to {max})"))),
    }
}

fn text(node: &xml::Node, name: &str) -> Result<String, InfoError> {
    let v = node.attr(name).unwrap_or("").trim();
    if v.is_empty() {
        return Err(InfoError(format!("no {name}")));
    }
    if v.len() > MAX_COMMAND || v.contains(['\0', '\n', '\r']) {
        return Err(InfoError(format!("{name} too long or with control characters")));
    }
    Ok(v.to_string())
}

/// Reads an info file.
pub fn parse(body: &[u8]) -> Result<Info, InfoError> {
    let text_body = std::str::from_utf8(body).map_err(|_| InfoError("not UTF-8".into()))?;
    let root = xml::parse(text_body).map_err(|e| InfoError(e.to_string()))?;
    if !root.name.eq_ignore_ascii_case("DOWNLOAD") {
        return Err(InfoError(format!("<{}> instead of <DOWNLOAD>", root.name)));
    }
    let id = root.attr("ID").unwrap_or("").trim().to_string();
    if !crate::state::deploy::valid_package_id(&id) {
        return Err(InfoError(format!("ID={id:?}")));
    }
    let act = match root.attr("ACT").unwrap_or("").trim().to_ascii_uppercase().as_str() {
        "STORE" => Act::Store(text(&root, "PATH")?),
        "EXECUTE" => Act::Execute(text(&root, "COMMAND")?),
        "LAUNCH" => Act::Launch(text(&root, "NAME")?),
        other => return Err(InfoError(format!("ACT={other:?} (STORE, EXECUTE or LAUNCH)"))),
    };
    let fragments = number(&root, "FRAGS", MAX_FRAGMENTS)?;
    let algo = match root.attr("DIGEST_ALGO").unwrap_or("").trim().to_ascii_uppercase().as_str() {
        "MD5" => Some(Algo::Md5),
        "SHA1" | "SHA-1" => Some(Algo::Sha1),
        _ => None,
    };
    let encode = root.attr("DIGEST_ENCODE").unwrap_or("").trim().to_ascii_lowercase();
    let base64 = encode.contains("base64");
    let digest = root.attr("DIGEST").unwrap_or("").trim().to_string();
    if fragments > 0 && (digest.is_empty() || digest.len() > 256) {
        return Err(InfoError("no usable DIGEST".into()));
    }
    Ok(Info {
        id,
        priority: number(&root, "PRI", MAX_PRIORITY).unwrap_or(5),
        act,
        algo: if base64 || encode.contains("hex") { algo } else { None },
        digest,
        base64,
        https: root.attr("PROTO").is_some_and(|p| p.trim().eq_ignore_ascii_case("HTTPS")),
        fragments,
        attrs: root.attrs.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> Option<Vec<u8>> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/peer-outputs/deploy/ocs")
                .join(name),
        )
        .ok()
    }

    #[test]
    fn the_captured_info_files_are_read() {
        let Some(exec) = shared("info-1764620001.xml") else {
            panic!("../shared/peer-outputs/deploy/ocs/info-1764620001.xml is missing");
        };
        let i = parse(&exec).unwrap();
        assert_eq!(i.id, "1764620001");
        assert_eq!(i.act, Act::Execute("sh run.sh".into()));
        assert_eq!((i.fragments, i.priority, i.algo, i.base64, i.https), (2, 5, Some(Algo::Md5), false, false));
        assert_eq!(i.digest, "3daffc5ac6e3c20041200a6e598705d3");
        assert!(i.attrs.iter().any(|(k, v)| k == "GARDEFOU" && v == "rien"));
        let store = parse(&shared("info-1764620002-store.xml").unwrap()).unwrap();
        assert_eq!(store.act, Act::Store("/tmp/ocsdep/stored".into()));
        let launch = parse(&shared("info-1764620004-launch.xml").unwrap()).unwrap();
        assert_eq!(launch.act, Act::Launch("run.sh".into()));
    }

    #[test]
    fn bad_info_files_say_why() {
        for (body, why) in [
            (&b"not xml at all"[..], "no XML element"),
            (b"<html><body>404</body></html>", "<html>"),
            (b"<DOWNLOAD ID=\"../1\" ACT=\"STORE\" PATH=\"/x\"/>", "ID="),
            (b"<DOWNLOAD ID=\"1\" ACT=\"RM\" FRAGS=\"0\"/>", "ACT="),
            (b"<DOWNLOAD ID=\"1\" ACT=\"EXECUTE\" FRAGS=\"0\"/>", "no COMMAND"),
            (b"<DOWNLOAD ID=\"1\" ACT=\"EXECUTE\" COMMAND=\"x\" FRAGS=\"99999999\"/>", "FRAGS"),
            (b"<DOWNLOAD ID=\"1\" ACT=\"EXECUTE\" COMMAND=\"x\" FRAGS=\"2\"/>", "DIGEST"),
            (b"\xff\xfe<DOWNLOAD/>", "UTF-8"),
        ] {
            let e = parse(body).unwrap_err().to_string();
            assert!(e.contains(why), "{e} should say {why}");
        }
        let weird = parse(b"<DOWNLOAD ID=\"1\" ACT=\"EXECUTE\" COMMAND=\"x\" FRAGS=\"1\" DIGEST=\"ab\" DIGEST_ALGO=\"SHA256\" DIGEST_ENCODE=\"Hexa\"/>").unwrap();
        assert_eq!(weird.algo, None);
    }
}
