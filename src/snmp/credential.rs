//! A credential as the network tasks' jobs carry it: the server's AUTHENTICATION element
//! (`ID`, `VERSION`, `COMMUNITY`, or `USERNAME`, `AUTHPROTOCOL`, `AUTHPASSPHRASE`,
//! `PRIVPROTOCOL`, `PRIVPASSPHRASE`; glpi-agent also reads `AUTHPASSWORD`/`PRIVPASSWORD`), the
//! launchers' `--credentials version:3,username:u,authprotocol:sha,authpassword:…`, and the
//! `key=value` pairs of a job's text. Checked when read: a v1/v2c credential without a
//! community, a v3 one without a user name, an unknown protocol is refused with the reason.

use std::fmt;

use super::message::{AuthProto, Credential, PrivProto, Security, UsmUser, Version};

/// Most bytes of a community, user name or password.
const MAX_SECRET: usize = 256;

#[derive(Clone, PartialEq, Eq)]
pub struct CredentialSpec {
    pub id: String,
    pub version: Version,
    pub community: String,
    pub username: String,
    pub auth_protocol: String,
    pub auth_password: String,
    pub priv_protocol: String,
    pub priv_password: String,
    pub port: Option<u16>,
}

impl Default for CredentialSpec {
    fn default() -> Self {
        CredentialSpec {
            id: String::new(),
            version: Version::V1,
            community: String::new(),
            username: String::new(),
            auth_protocol: String::new(),
            auth_password: String::new(),
            priv_protocol: String::new(),
            priv_password: String::new(),
            port: None,
        }
    }
}

impl fmt::Debug for CredentialSpec {
    /// Without the community and passwords.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "Credential({:?}, v{}, user {:?}, auth {:?}, priv {:?}, port {:?})",
            self.id,
            self.version.name(),
            self.username,
            self.auth_protocol,
            self.priv_protocol,
            self.port
        )
    }
}

fn port_of(v: &str) -> Result<Option<u16>, String> {
    let first = v.split(',').map(str::trim).find(|p| !p.is_empty());
    match first {
        None => Ok(None),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(|| format!("port {p:?} is not a number from 1 to 65535")),
    }
}

impl CredentialSpec {
    /// Sets one key (AUTHENTICATION's attribute names, the launchers' lower-case keys, or the
    /// job text's); `false` for a key it does not know.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let v = value.to_string();
        if value.len() > MAX_SECRET {
            return Err(format!("{key}: longer than {MAX_SECRET} bytes"));
        }
        match key.to_ascii_lowercase().as_str() {
            "id" => self.id = v,
            "version" => {
                self.version = Version::parse(value)
                    .ok_or_else(|| format!("unknown SNMP version {:?}", cut(value)))?
            }
            "community" => self.community = v,
            "username" => self.username = v,
            "authprotocol" => self.auth_protocol = v,
            "authpassphrase" | "authpassword" => self.auth_password = v,
            "privprotocol" => self.priv_protocol = v,
            "privpassphrase" | "privpassword" => self.priv_password = v,
            "port" => self.port = port_of(value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// From a server's AUTHENTICATION element (its attributes by name).
    pub fn from_attrs<'a>(
        attrs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<CredentialSpec, String> {
        let mut c = CredentialSpec::default();
        for (k, v) in attrs {
            // TYPE, PROTOCOL and others are the caller's business.
            c.set(k, v)?;
        }
        c.check()?;
        Ok(c)
    }

    /// `version:3,username:u,authprotocol:sha,authpassword:…` (the launchers' --credentials).
    pub fn from_cli(text: &str, n: usize) -> Result<CredentialSpec, String> {
        let mut c = CredentialSpec {
            id: n.to_string(),
            ..CredentialSpec::default()
        };
        for part in text.split(',') {
            let (k, v) = part.split_once(':').unwrap_or((part, ""));
            if !c.set(k.trim(), v)? {
                return Err(format!(
                    "--credentials: unknown key {:?} (version, community, username, authprotocol, authpassword, privprotocol, privpassword, port)",
                    cut(k)
                ));
            }
        }
        c.check().map_err(|e| format!("--credentials: {e}"))?;
        Ok(c)
    }

    /// What a job's text carries: every key that is set.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("id", self.id.clone()),
            ("version", self.version.name().to_string()),
        ];
        for (k, v) in [
            ("community", &self.community),
            ("username", &self.username),
            ("authprotocol", &self.auth_protocol),
            ("authpassword", &self.auth_password),
            ("privprotocol", &self.priv_protocol),
            ("privpassword", &self.priv_password),
        ] {
            if !v.is_empty() {
                out.push((k, v.clone()));
            }
        }
        if let Some(p) = self.port {
            out.push(("port", p.to_string()));
        }
        out
    }

    /// The checks every credential passes.
    pub fn check(&self) -> Result<(), String> {
        match self.version {
            Version::V1 | Version::V2c if self.community.is_empty() => Err(format!(
                "credential {}: SNMP v{} without COMMUNITY",
                self.id,
                self.version.name()
            )),
            Version::V3 => self.usm().map(|_| ()),
            _ => Ok(()),
        }
    }

    fn usm(&self) -> Result<UsmUser, String> {
        if self.username.is_empty() {
            return Err(format!("credential {}: SNMPv3 without USERNAME", self.id));
        }
        let auth = match (self.auth_protocol.as_str(), self.auth_password.as_str()) {
            ("", "") => None,
            (p, pass) => {
                let proto = if p.is_empty() {
                    AuthProto::Md5
                } else {
                    AuthProto::parse(p).ok_or_else(|| {
                        format!(
                            "credential {}: unknown authentication protocol {:?} (md5, sha, sha224, sha256, sha384, sha512)",
                            self.id,
                            cut(p)
                        )
                    })?
                };
                Some((proto, pass.to_string()))
            }
        };
        let privacy = match (self.priv_protocol.as_str(), self.priv_password.as_str()) {
            ("", "") => None,
            (p, pass) => {
                let proto = if p.is_empty() {
                    PrivProto::Des
                } else {
                    PrivProto::parse(p).ok_or_else(|| {
                        format!(
                            "credential {}: unknown privacy protocol {:?} (des, 3des, aes, aes192, aes256, aes192c, aes256c)",
                            self.id,
                            cut(p)
                        )
                    })?
                };
                Some((proto, pass.to_string()))
            }
        };
        Ok(UsmUser {
            name: self.username.clone(),
            auth,
            privacy,
            context: String::new(),
        })
    }

    /// The credential the SNMP client uses.
    pub fn credential(&self) -> Result<Credential, String> {
        Ok(match self.version {
            Version::V3 => Credential {
                version: Version::V3,
                security: Security::Usm(Box::new(self.usm()?)),
            },
            v => Credential::community(v, &self.community),
        })
    }
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_read_from_servers_and_command_lines() {
        let c = CredentialSpec::from_attrs(
            [
                ("ID", "4"),
                ("VERSION", "3"),
                ("USERNAME", "u"),
                ("AUTHPROTOCOL", "SHA256"),
                ("AUTHPASSPHRASE", "auth-secret"),
                ("PRIVPROTOCOL", "AES256C"),
                ("PRIVPASSPHRASE", "priv-secret"),
            ]
            .into_iter(),
        )
        .unwrap();
        let Security::Usm(u) = c.credential().unwrap().security else {
            panic!()
        };
        assert_eq!(u.auth, Some((AuthProto::Sha256, "auth-secret".into())));
        assert_eq!(u.privacy, Some((PrivProto::Aes256C, "priv-secret".into())));
        assert!(!format!("{c:?}").contains("secret"));
        let back = c.pairs();
        let mut again = CredentialSpec::default();
        for (k, v) in &back {
            assert!(again.set(k, v).unwrap());
        }
        assert_eq!(again, c);
        let cli = CredentialSpec::from_cli("version:2c,community:public,port:1161", 1).unwrap();
        assert_eq!((cli.version, cli.port), (Version::V2c, Some(1161)));
        for bad in [
            "version:2c",
            "version:3",
            "version:3,username:u,authprotocol:sha999,authpassword:x",
            "version:9,community:x",
            "colour:blue",
        ] {
            assert!(CredentialSpec::from_cli(bad, 1).is_err(), "{bad}");
        }
    }
}
