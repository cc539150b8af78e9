//! How each type of setting is read from its text, and written back.

use std::path::PathBuf;

use super::Kind;

pub trait Value: Sized {
    const KIND: Kind = Kind::Single;
    fn parse(text: &str) -> Result<Self, String>;
    fn show(&self) -> String;
}

/// Text of a setting: one line (a newline would forge lines in the files it is written to).
fn one_line(text: &str) -> Result<&str, String> {
    if text.contains(['\n', '\r', '\0']) {
        return Err("a value must be one line".into());
    }
    Ok(text.trim())
}

impl Value for bool {
    const KIND: Kind = Kind::Switch;
    fn parse(text: &str) -> Result<bool, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "1" | "yes" | "true" | "on" => Ok(true),
            "0" | "no" | "false" | "off" => Ok(false),
            _ => Err(format!("{text:?} is not a yes/no value")),
        }
    }
    fn show(&self) -> String {
        if *self { "1" } else { "0" }.into()
    }
}

impl Value for u64 {
    fn parse(text: &str) -> Result<u64, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number"))
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Value for u16 {
    fn parse(text: &str) -> Result<u16, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a port"))
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

/// A level that `--debug` counts up on the command line.
impl Value for u8 {
    const KIND: Kind = Kind::Counter;
    fn parse(text: &str) -> Result<u8, String> {
        let n = u64::parse(text)?;
        Ok(n.min(u64::from(u8::MAX)) as u8)
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Value for String {
    fn parse(text: &str) -> Result<String, String> {
        Ok(one_line(text)?.to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl Value for Option<String> {
    fn parse(text: &str) -> Result<Option<String>, String> {
        let t = one_line(text)?;
        Ok((!t.is_empty()).then(|| t.to_string()))
    }
    fn show(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl Value for PathBuf {
    fn parse(text: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(one_line(text)?))
    }
    fn show(&self) -> String {
        self.to_string_lossy().into_owned()
    }
}

impl Value for Option<PathBuf> {
    fn parse(text: &str) -> Result<Option<PathBuf>, String> {
        let t = one_line(text)?;
        Ok((!t.is_empty()).then(|| PathBuf::from(t)))
    }
    fn show(&self) -> String {
        self.as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Comma-separated; blanks dropped.
impl Value for Vec<String> {
    const KIND: Kind = Kind::List;
    fn parse(text: &str) -> Result<Vec<String>, String> {
        Ok(one_line(text)?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect())
    }
    fn show(&self) -> String {
        self.join(",")
    }
}

/// A yes/no setting given with its value (`--deploy-exec no`, `deploy-exec = no`), for the
/// switches whose default is yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YesNo(pub bool);

impl Value for YesNo {
    fn parse(text: &str) -> Result<YesNo, String> {
        bool::parse(text).map(YesNo)
    }
    fn show(&self) -> String {
        if self.0 { "yes" } else { "no" }.into()
    }
}
