//! The inventory in GLPI's native JSON format (`inventory.schema.json`): lower-case keys,
//! typed values, one array per list section. Fields the schema does not know are left out.

use std::io::{self, Write};

use crate::core::markup::write_json_string;
use crate::tasks::inventory::sink::{Section, Sink, Value};

/// How a field is typed in the schema.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Str,
    Int,
    Bool,
    /// A string, lower-cased (NETWORKS/STATUS).
    Lower,
    /// A string, upper-cased (STORAGES/INTERFACE).
    Upper,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
    DateOrTime,
    /// `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// Repeated XML field gathered into an array of strings.
    StrList,
}

use Kind::*;

/// JSON name and type of an XML field, or `None` when the schema has no place for it.
fn field_spec(
    section: Option<Section>,
    nested: Option<&str>,
    key: &str,
) -> Option<(&'static str, Kind)> {
    if nested == Some("TIMEZONE") {
        return match key {
            "NAME" => Some(("name", Str)),
            "OFFSET" => Some(("offset", Str)),
            _ => None,
        };
    }
    let spec = match (section?, key) {
        (Section::Hardware, k) => match k {
            "NAME" => ("name", Str),
            "MEMORY" => ("memory", Int),
            "SWAP" => ("swap", Int),
            "UUID" => ("uuid", Str),
            "DNS" => ("dns", Str),
            "WORKGROUP" => ("workgroup", Str),
            "DEFAULTGATEWAY" => ("defaultgateway", Str),
            "VMSYSTEM" => ("vmsystem", Str),
            "CHASSIS_TYPE" => ("chassis_type", Str),
            "LASTLOGGEDUSER" => ("lastloggeduser", Str),
            "DATELASTLOGGEDUSER" => ("datelastloggeduser", Str),
            "DESCRIPTION" => ("description", Str),
            _ => return None,
        },
        (Section::Bios, k) => match k {
            "SMANUFACTURER" => ("smanufacturer", Str),
            "SMODEL" => ("smodel", Str),
            "SSN" => ("ssn", Str),
            "BMANUFACTURER" => ("bmanufacturer", Str),
            "BVERSION" => ("bversion", Str),
            "BDATE" => ("bdate", DateOrTime),
            "MMANUFACTURER" => ("mmanufacturer", Str),
            "MMODEL" => ("mmodel", Str),
            "MSN" => ("msn", Str),
            "ASSETTAG" => ("assettag", Str),
            "SKUNUMBER" => ("skunumber", Str),
            "BIOSSERIAL" => ("biosserial", Str),
            "ENCLOSURESERIAL" => ("enclosureserial", Str),
            _ => return None,
        },
        (Section::OperatingSystem, k) => match k {
            "NAME" => ("name", Str),
            "VERSION" => ("version", Str),
            "FULL_NAME" => ("full_name", Str),
            "KERNEL_NAME" => ("kernel_name", Str),
            "KERNEL_VERSION" => ("kernel_version", Str),
            "ARCH" => ("arch", Str),
            "BOOT_TIME" => ("boot_time", DateTime),
            "INSTALL_DATE" => ("install_date", DateOrTime),
            "FQDN" => ("fqdn", Str),
            "DNS_DOMAIN" => ("dns_domain", Str),
            "HOSTID" => ("hostid", Str),
            "SSH_KEY" => ("ssh_key", Str),
            "TIMEZONE" => ("timezone", Str),
            _ => return None,
        },
        (Section::Cpus, k) => match k {
            "NAME" => ("name", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "ARCH" => ("arch", Str),
            "SPEED" => ("speed", Int),
            "CORE" => ("core", Int),
            "CORECOUNT" => ("corecount", Int),
            "THREAD" => ("thread", Int),
            "FAMILYNAME" => ("familyname", Str),
            "FAMILYNUMBER" => ("familynumber", Str),
            "MODEL" => ("model", Str),
            "STEPPING" => ("stepping", Int),
            "ID" => ("id", Str),
            "SERIAL" => ("serial", Str),
            "EXTERNAL_CLOCK" => ("external_clock", Int),
            "DESCRIPTION" => ("description", Str),
            _ => return None,
        },
        (Section::Memories, k) => match k {
            "CAPACITY" => ("capacity", Int),
            "CAPTION" => ("caption", Str),
            "DESCRIPTION" => ("description", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "MODEL" => ("model", Str),
            "NUMSLOTS" => ("numslots", Int),
            "SERIALNUMBER" => ("serialnumber", Str),
            "SPEED" => ("speed", Str),
            "TYPE" => ("type", Str),
            "FORMFACTOR" => ("formfactor", Str),
            "MEMORYCORRECTION" => ("memorycorrection", Str),
            "REMOVABLE" => ("removable", Bool),
            _ => return None,
        },
        (Section::Slots, k) => match k {
            "NAME" => ("name", Str),
            "DESCRIPTION" => ("description", Str),
            "DESIGNATION" => ("designation", Str),
            "STATUS" => ("status", Lower),
            _ => return None,
        },
        (Section::Ports, k) => match k {
            "NAME" => ("name", Str),
            "CAPTION" => ("caption", Str),
            "DESCRIPTION" => ("description", Str),
            "TYPE" => ("type", Str),
            _ => return None,
        },
        (Section::Controllers, k) => match k {
            "NAME" => ("name", Str),
            "CAPTION" => ("caption", Str),
            "DRIVER" => ("driver", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "PCICLASS" => ("pciclass", Str),
            "PCISLOT" => ("pcislot", Str),
            "PCISUBSYSTEMID" => ("pcisubsystemid", Str),
            "PRODUCTID" => ("productid", Str),
            "VENDORID" => ("vendorid", Str),
            "REV" => ("rev", Str),
            "TYPE" => ("type", Str),
            _ => return None,
        },
        (Section::Videos, k) => match k {
            "NAME" => ("name", Str),
            "CHIPSET" => ("chipset", Str),
            "MEMORY" => ("memory", Int),
            "RESOLUTION" => ("resolution", Str),
            "PCISLOT" => ("pcislot", Str),
            _ => return None,
        },
        (Section::UsbDevices, k) => match k {
            "NAME" => ("name", Str),
            "CAPTION" => ("caption", Str),
            "CLASS" => ("class", Str),
            "SUBCLASS" => ("subclass", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "PRODUCTID" => ("productid", Str),
            "VENDORID" => ("vendorid", Str),
            "SERIAL" => ("serial", Str),
            _ => return None,
        },
        (Section::Storages, k) => match k {
            "NAME" => ("name", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "MODEL" => ("model", Str),
            "DESCRIPTION" => ("description", Str),
            "TYPE" => ("type", Str),
            "DISKSIZE" => ("disksize", Int),
            "SERIAL" => ("serial", Str),
            "FIRMWARE" => ("firmware", Str),
            "INTERFACE" => ("interface", Upper),
            "WWN" => ("wwn", Str),
            _ => return None,
        },
        (Section::Drives, k) => match k {
            "VOLUMN" => ("volumn", Str),
            "TYPE" => ("type", Str),
            "FILESYSTEM" => ("filesystem", Str),
            "TOTAL" => ("total", Int),
            "FREE" => ("free", Int),
            "LABEL" => ("label", Str),
            "SERIAL" => ("serial", Str),
            "DESCRIPTION" => ("description", Str),
            _ => return None,
        },
        (Section::Networks, k) => match k {
            "DESCRIPTION" => ("description", Str),
            // MAC: the JSON name upper-cased, as additional content may give it.
            "MACADDR" | "MAC" => ("mac", Str),
            "IPADDRESS" => ("ipaddress", Str),
            "IPMASK" => ("ipmask", Str),
            "IPSUBNET" => ("ipsubnet", Str),
            "IPADDRESS6" => ("ipaddress6", Str),
            "IPMASK6" => ("ipmask6", Str),
            "IPSUBNET6" => ("ipsubnet6", Str),
            "IPGATEWAY" => ("ipgateway", Str),
            "IPDHCP" => ("ipdhcp", Str),
            "STATUS" => ("status", Lower),
            "TYPE" => ("type", Str),
            "VIRTUALDEV" => ("virtualdev", Bool),
            "DRIVER" => ("driver", Str),
            "PCISLOT" => ("pcislot", Str),
            "PCIID" => ("pciid", Str),
            "SPEED" => ("speed", Str),
            "MTU" => ("mtu", Int),
            "SLAVES" => ("slaves", Str),
            "BASE" => ("base", Str),
            "WIFI_SSID" => ("wifi_ssid", Str),
            "WIFI_MODE" => ("wifi_mode", Str),
            _ => return None,
        },
        (Section::Softwares, k) => match k {
            "NAME" => ("name", Str),
            "VERSION" => ("version", Str),
            "ARCH" => ("arch", Str),
            "FROM" => ("from", Str),
            "FILESIZE" => ("filesize", Int),
            "PUBLISHER" => ("publisher", Str),
            "COMMENTS" => ("comments", Str),
            "INSTALLDATE" | "INSTALL_DATE" => ("install_date", DateOrTime),
            "SYSTEM_CATEGORY" => ("system_category", Str),
            _ => return None,
        },
        (Section::Users, k) => match k {
            "LOGIN" => ("login", Str),
            "DOMAIN" => ("domain", Str),
            _ => return None,
        },
        (Section::LocalUsers, k) => match k {
            "LOGIN" => ("login", Str),
            "ID" => ("id", Str),
            "NAME" => ("name", Str),
            "HOME" => ("home", Str),
            "SHELL" => ("shell", Str),
            _ => return None,
        },
        (Section::LocalGroups, k) => match k {
            "ID" => ("id", Str),
            "NAME" => ("name", Str),
            "MEMBER" | "MEMBERS" => ("members", StrList),
            _ => return None,
        },
        (Section::Batteries, k) => match k {
            "NAME" => ("name", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "SERIAL" => ("serial", Str),
            "CHEMISTRY" => ("chemistry", Str),
            "CAPACITY" => ("capacity", Int),
            "REAL_CAPACITY" => ("real_capacity", Int),
            "VOLTAGE" => ("voltage", Int),
            "DATE" => ("date", Date),
            _ => return None,
        },
        (Section::Processes, k) => match k {
            "USER" => ("user", Str),
            "PID" => ("pid", Int),
            "CPUUSAGE" => ("cpuusage", Str),
            "MEM" => ("mem", Str),
            "VIRTUALMEMORY" => ("virtualmemory", Int),
            "TTY" => ("tty", Str),
            "STARTED" => ("started", DateTime),
            "CMD" => ("cmd", Str),
            _ => return None,
        },
        (Section::NetworkDevice, k) => match k {
            "TYPE" => ("type", Str),
            "NAME" => ("name", Str),
            "DESCRIPTION" => ("description", Str),
            "FIRMWARE" => ("firmware", Str),
            "MODEL" => ("model", Str),
            "MANUFACTURER" => ("manufacturer", Str),
            "SERIAL" => ("serial", Str),
            "MAC" => ("mac", Str),
            "IPS" => ("ips", StrList),
            "MEMORY" => ("memory", Int),
            "RAM" => ("ram", Int),
            "UPTIME" => ("uptime", Str),
            "LOCATION" => ("location", Str),
            "CONTACT" => ("contact", Str),
            "ASSETTAG" => ("assettag", Str),
            _ => return None,
        },
        (Section::NetworkPorts, k) => match k {
            "IFNUMBER" => ("ifnumber", Int),
            "IFNAME" => ("ifname", Str),
            "IFDESCR" => ("ifdescr", Str),
            "IFALIAS" => ("ifalias", Str),
            "IFTYPE" => ("iftype", Int),
            "IFMTU" => ("ifmtu", Int),
            "IFSPEED" => ("ifspeed", Int),
            "IFSTATUS" => ("ifstatus", Int),
            "IFINTERNALSTATUS" => ("ifinternalstatus", Int),
            "MAC" => ("mac", Str),
            "IPS" => ("ips", StrList),
            _ => return None,
        },
        (Section::Firmwares, k) => match k {
            "NAME" => ("name", Str),
            "DESCRIPTION" => ("description", Str),
            "TYPE" => ("type", Str),
            "VERSION" => ("version", Str),
            "DATE" => ("date", Date),
            "MANUFACTURER" => ("manufacturer", Str),
            _ => return None,
        },
        (Section::AccountInfo | Section::IpDiscover, _) => return None,
    };
    Some(spec)
}

/// Turns `MM/DD/YYYY`, `YYYY/MM/DD` or `YYYY-MM-DD` (with an optional time) into the schema's
/// form; `None` when the text is not a date.
fn normalize_date(s: &str, want_time: Option<bool>) -> Option<String> {
    let s = s.trim();
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split(['/', '-', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (parts[0], parts[1], parts[2])
    } else if parts[2].len() == 4 {
        (parts[2], parts[0], parts[1])
    } else {
        return None;
    };
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut out = format!("{y}-{m:02}-{d:02}");
    let time_ok = time.filter(|t| {
        let b = t.as_bytes();
        b.len() == 8
            && b[2] == b':'
            && b[5] == b':'
            && t.bytes().filter(u8::is_ascii_digit).count() == 6
    });
    match (want_time, time_ok) {
        (Some(false), _) => {}
        (_, Some(t)) => {
            out.push(' ');
            out.push_str(t);
        }
        (Some(true), None) => out.push_str(" 00:00:00"),
        (None, None) => {}
    }
    Some(out)
}

pub struct JsonWriter<W: Write> {
    out: W,
    /// The list section whose array is open, if any.
    list: Option<Section>,
    section: Option<Section>,
    nested: Option<&'static str>,
    /// Whether the next member at each nesting level needs a comma before it.
    comma: [bool; 6],
    depth: usize,
    /// A repeated field gathered into an array that is still open.
    open_list_field: Option<&'static str>,
}

impl<W: Write> JsonWriter<W> {
    /// Starts the document: `itemtype` is GLPI's asset type (`Computer`, `NetworkEquipment`),
    /// `partial` says that only some categories follow.
    pub fn new(
        mut out: W,
        deviceid: &str,
        tag: Option<&str>,
        itemtype: &str,
        partial: bool,
    ) -> io::Result<Self> {
        out.write_all(b"{\"action\":\"inventory\",\"deviceid\":")?;
        write_json_string(&mut out, deviceid)?;
        out.write_all(b",\"itemtype\":")?;
        write_json_string(&mut out, itemtype)?;
        out.write_all(b",")?;
        if partial {
            out.write_all(b"\"partial\":true,")?;
        }
        if let Some(tag) = tag {
            out.write_all(b"\"tag\":")?;
            write_json_string(&mut out, tag)?;
            out.write_all(b",")?;
        }
        out.write_all(b"\"content\":{")?;
        Ok(JsonWriter {
            out,
            list: None,
            section: None,
            nested: None,
            comma: [false; 6],
            depth: 0,
            open_list_field: None,
        })
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn separator(&mut self) -> io::Result<()> {
        if self.comma[self.depth] {
            self.out.write_all(b",")?;
        }
        self.comma[self.depth] = true;
        Ok(())
    }

    fn key(&mut self, key: &str) -> io::Result<()> {
        self.separator()?;
        write_json_string(&mut self.out, key)?;
        self.out.write_all(b":")
    }

    fn push(&mut self, byte: &[u8]) -> io::Result<()> {
        self.out.write_all(byte)?;
        self.depth += 1;
        self.comma[self.depth] = false;
        Ok(())
    }

    fn pop(&mut self, byte: &[u8]) -> io::Result<()> {
        self.out.write_all(byte)?;
        self.depth -= 1;
        Ok(())
    }

    fn close_list_field(&mut self) -> io::Result<()> {
        if self.open_list_field.take().is_some() {
            self.pop(b"]")?;
        }
        Ok(())
    }

    fn close_list(&mut self) -> io::Result<()> {
        if self.list.take().is_some() {
            self.pop(b"]")?;
        }
        Ok(())
    }

    fn write_value(&mut self, kind: Kind, value: Value<'_>) -> io::Result<bool> {
        let text_owned;
        let text = match value {
            Value::Str(s) => s,
            Value::Int(n) => {
                text_owned = n.to_string();
                &text_owned
            }
            Value::Bool(b) => {
                if b {
                    "1"
                } else {
                    "0"
                }
            }
        };
        match kind {
            Str | StrList => write_json_string(&mut self.out, text)?,
            Lower => write_json_string(&mut self.out, &text.to_ascii_lowercase())?,
            Upper => write_json_string(&mut self.out, &text.to_ascii_uppercase())?,
            Int => match value {
                Value::Int(n) => write!(self.out, "{n}")?,
                _ => match text.trim().parse::<i64>() {
                    Ok(n) => write!(self.out, "{n}")?,
                    Err(_) => return Ok(false),
                },
            },
            Bool => {
                let b = match value {
                    Value::Bool(b) => b,
                    Value::Int(n) => n != 0,
                    Value::Str(s) => matches!(s.trim(), "1" | "true" | "yes" | "Yes" | "TRUE"),
                };
                self.out.write_all(if b { b"true" } else { b"false" })?;
            }
            Date | DateOrTime | DateTime => {
                let want = match kind {
                    Date => Some(false),
                    DateTime => Some(true),
                    _ => None,
                };
                match normalize_date(text, want) {
                    Some(d) => write_json_string(&mut self.out, &d)?,
                    None => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// Whether a value can be written for that kind; checked before the key goes out.
    fn acceptable(kind: Kind, value: Value<'_>) -> bool {
        match (kind, value) {
            (Int, Value::Str(s)) => s.trim().parse::<i64>().is_ok(),
            (Date, Value::Str(s)) => normalize_date(s, Some(false)).is_some(),
            (DateTime, Value::Str(s)) => normalize_date(s, Some(true)).is_some(),
            (DateOrTime, Value::Str(s)) => normalize_date(s, None).is_some(),
            (Date | DateTime | DateOrTime, _) => false,
            _ => true,
        }
    }
}

impl<W: Write> Sink for JsonWriter<W> {
    fn begin(&mut self, section: Section) -> io::Result<()> {
        self.section = Some(section);
        let Some(name) = section.json_name() else {
            return Ok(());
        };
        if section.is_single() {
            self.close_list()?;
            self.key(name)?;
        } else if self.list != Some(section) {
            self.close_list()?;
            self.key(name)?;
            self.push(b"[")?;
            self.list = Some(section);
        }
        if !section.is_single() {
            self.separator()?;
        }
        self.push(b"{")
    }

    fn field(&mut self, key: &str, value: Value<'_>) -> io::Result<()> {
        let Some((name, kind)) = field_spec(self.section, self.nested, key) else {
            return Ok(());
        };
        if self.section.and_then(Section::json_name).is_none() {
            return Ok(());
        }
        if kind == StrList {
            if self.open_list_field != Some(name) {
                self.close_list_field()?;
                self.key(name)?;
                self.push(b"[")?;
                self.open_list_field = Some(name);
            }
            self.separator()?;
            self.write_value(kind, value)?;
            return Ok(());
        }
        self.close_list_field()?;
        if !Self::acceptable(kind, value) {
            return Ok(());
        }
        self.key(name)?;
        self.write_value(kind, value)?;
        Ok(())
    }

    fn open(&mut self, key: &'static str) -> io::Result<()> {
        self.close_list_field()?;
        let name = match field_spec(self.section, None, key) {
            Some((name, _)) => name,
            None => return Ok(()),
        };
        self.nested = Some(key);
        self.key(name)?;
        self.push(b"{")
    }

    fn close(&mut self) -> io::Result<()> {
        if self.nested.take().is_some() {
            self.pop(b"}")?;
        }
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        self.close_list_field()?;
        let section = self.section.take();
        if section.and_then(Section::json_name).is_some() {
            self.pop(b"}")?;
        }
        Ok(())
    }

    /// GLPI's JSON has no place for OCS's package history.
    fn download_history(&mut self, _ids: &[String]) -> io::Result<()> {
        Ok(())
    }

    fn scalar(&mut self, key: &'static str, value: &str) -> io::Result<()> {
        self.close_list()?;
        let name = key.to_ascii_lowercase();
        self.key(&name)?;
        write_json_string(&mut self.out, value)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.close_list()?;
        self.out.write_all(b"}}\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_normalized_to_the_schema_forms() {
        assert_eq!(
            normalize_date("04/01/2014", Some(false)).unwrap(),
            "2014-04-01"
        );
        assert_eq!(
            normalize_date("2024/05/01 10:22:33", None).unwrap(),
            "2024-05-01 10:22:33"
        );
        assert_eq!(
            normalize_date("2024-05-01", Some(true)).unwrap(),
            "2024-05-01 00:00:00"
        );
        assert!(normalize_date("garbage", None).is_none());
        assert!(normalize_date("2024-13-01", None).is_none());
    }

    #[test]
    fn sections_become_arrays_and_fields_are_typed() {
        let mut w =
            JsonWriter::new(Vec::new(), "host-2024-01-01-00-00-00", Some("lab"), "Computer", false)
                .unwrap();
        w.begin(Section::Networks).unwrap();
        w.text("DESCRIPTION", "eth0").unwrap();
        w.text("MTU", "1500").unwrap();
        w.text("STATUS", "Up").unwrap();
        w.flag("VIRTUALDEV", false).unwrap();
        w.text("NOT_IN_SCHEMA", "x").unwrap();
        w.end().unwrap();
        w.begin(Section::Networks).unwrap();
        w.text("DESCRIPTION", "lo").unwrap();
        w.end().unwrap();
        w.begin(Section::LocalGroups).unwrap();
        w.text("ID", "0").unwrap();
        w.text("MEMBER", "a").unwrap();
        w.text("MEMBER", "b").unwrap();
        w.text("NAME", "root").unwrap();
        w.end().unwrap();
        w.begin(Section::Hardware).unwrap();
        w.int("MEMORY", 512).unwrap();
        w.end().unwrap();
        w.scalar("VERSIONCLIENT", "uagent").unwrap();
        w.finish().unwrap();
        let s = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            s,
            "{\"action\":\"inventory\",\"deviceid\":\"host-2024-01-01-00-00-00\",\"itemtype\":\"Computer\",\
             \"tag\":\"lab\",\"content\":{\"networks\":[{\"description\":\"eth0\",\"mtu\":1500,\"status\":\"up\",\
             \"virtualdev\":false},{\"description\":\"lo\"}],\"local_groups\":[{\"id\":\"0\",\"members\":[\"a\",\"b\"],\
             \"name\":\"root\"}],\"hardware\":{\"memory\":512},\"versionclient\":\"uagent\"}}\n"
        );
    }
}
