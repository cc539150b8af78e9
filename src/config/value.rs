//! How each type of setting is read from its text, and written back. A key of the table names
//! its field by offset and type ([`Ty`]); [`set`] and [`show`] are the only code that touches a
//! field through them, one match for every key, instead of a function per key.

use std::path::PathBuf;

use super::{Kind, Settings};

/// The types a setting can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    YesNo,
    U64,
    U16,
    Level,
    Text,
    OptText,
    Path,
    OptPath,
    List,
}

pub trait Value: Sized {
    const KIND: Kind = Kind::Single;
    const TY: Ty;
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
    const TY: Ty = Ty::Bool;
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
    const TY: Ty = Ty::U64;
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
    const TY: Ty = Ty::U16;
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
    const TY: Ty = Ty::Level;
    fn parse(text: &str) -> Result<u8, String> {
        let n = u64::parse(text)?;
        Ok(n.min(u64::from(u8::MAX)) as u8)
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Value for String {
    const TY: Ty = Ty::Text;
    fn parse(text: &str) -> Result<String, String> {
        Ok(one_line(text)?.to_string())
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl Value for Option<String> {
    const TY: Ty = Ty::OptText;
    fn parse(text: &str) -> Result<Option<String>, String> {
        let t = one_line(text)?;
        Ok((!t.is_empty()).then(|| t.to_string()))
    }
    fn show(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl Value for PathBuf {
    const TY: Ty = Ty::Path;
    fn parse(text: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(one_line(text)?))
    }
    fn show(&self) -> String {
        self.to_string_lossy().into_owned()
    }
}

impl Value for Option<PathBuf> {
    const TY: Ty = Ty::OptPath;
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
    const TY: Ty = Ty::List;
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
    const TY: Ty = Ty::YesNo;
    fn parse(text: &str) -> Result<YesNo, String> {
        bool::parse(text).map(YesNo)
    }
    fn show(&self) -> String {
        if self.0 { "yes" } else { "no" }.into()
    }
}

/// The field of type `T` at `offset` in `s`.
///
/// # Safety
/// `offset` must be the offset of a field of type `T` in [`Settings`]: the table of keys is
/// made by `settings!`, which takes both from the same field declaration.
unsafe fn field_mut<T>(s: &mut Settings, offset: usize) -> &mut T {
    // SAFETY: as the caller promises, a `T` lives at `offset` within `*s`, properly aligned
    // (it is a field), and the borrow of `s` covers it.
    unsafe { &mut *(s as *mut Settings).cast::<u8>().add(offset).cast::<T>() }
}

/// # Safety
/// As [`field_mut`].
unsafe fn field<T>(s: &Settings, offset: usize) -> &T {
    // SAFETY: as in `field_mut`.
    unsafe { &*(s as *const Settings).cast::<u8>().add(offset).cast::<T>() }
}

/// Parses `text` as the field's type and stores it: numbers bounded by `min` and `max`, texts
/// and lists by `max` bytes.
pub(super) fn set(
    s: &mut Settings,
    offset: usize,
    ty: Ty,
    text: &str,
    min: u64,
    max: u64,
) -> Result<(), String> {
    if matches!(ty, Ty::Text | Ty::OptText | Ty::List) && text.len() as u64 > max {
        return Err(format!(
            "{} bytes, longer than the {max} this setting may have",
            text.len()
        ));
    }
    // SAFETY (every arm): `offset` and `ty` come from one row of the table, which takes both
    // from the same field declaration (see `settings!`).
    unsafe {
        match ty {
            Ty::Bool => *field_mut::<bool>(s, offset) = bool::parse(text)?,
            Ty::YesNo => *field_mut::<YesNo>(s, offset) = YesNo::parse(text)?,
            Ty::U64 => *field_mut::<u64>(s, offset) = u64::parse(text)?.clamp(min, max),
            Ty::U16 => *field_mut::<u16>(s, offset) = u16::parse(text)?,
            Ty::Level => {
                let n = u64::from(u8::parse(text)?).clamp(min, max);
                *field_mut::<u8>(s, offset) = n as u8
            }
            Ty::Text => *field_mut::<String>(s, offset) = String::parse(text)?,
            Ty::OptText => *field_mut::<Option<String>>(s, offset) = Option::<String>::parse(text)?,
            Ty::Path => *field_mut::<PathBuf>(s, offset) = PathBuf::parse(text)?,
            Ty::OptPath => {
                *field_mut::<Option<PathBuf>>(s, offset) = Option::<PathBuf>::parse(text)?
            }
            Ty::List => *field_mut::<Vec<String>>(s, offset) = Vec::<String>::parse(text)?,
        }
    }
    Ok(())
}

/// The field's value, as the configuration file would spell it.
pub(super) fn show(s: &Settings, offset: usize, ty: Ty) -> String {
    // SAFETY (every arm): as in `set`.
    unsafe {
        match ty {
            Ty::Bool => field::<bool>(s, offset).show(),
            Ty::YesNo => field::<YesNo>(s, offset).show(),
            Ty::U64 => field::<u64>(s, offset).show(),
            Ty::U16 => field::<u16>(s, offset).show(),
            Ty::Level => field::<u8>(s, offset).show(),
            Ty::Text => field::<String>(s, offset).show(),
            Ty::OptText => field::<Option<String>>(s, offset).show(),
            Ty::Path => field::<PathBuf>(s, offset).show(),
            Ty::OptPath => field::<Option<PathBuf>>(s, offset).show(),
            Ty::List => field::<Vec<String>>(s, offset).show(),
        }
    }
}
