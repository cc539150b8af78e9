//! Batteries (BATTERIES) from the kernel's power supply class, `/sys/class/power_supply/*`
//! whose `type` is `Battery`. Batteries of peripherals (a wireless mouse: `scope` `Device`)
//! are not the machine's and are left out.

use std::io;

use super::bios::clean;
use super::sink::{Section, Sink};
use super::Context;
use crate::sys::Root;

const POWER_SUPPLY: &str = "/sys/class/power_supply";
/// Most power supplies looked at.
pub const MAX_SUPPLIES: usize = 64;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Battery {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub chemistry: Option<String>,
    /// Design capacity, mWh.
    pub capacity: Option<i64>,
    /// Capacity when last full, mWh.
    pub real_capacity: Option<i64>,
    /// Design voltage, mV.
    pub voltage: Option<i64>,
    /// Manufacture date, `YYYY-MM-DD`.
    pub date: Option<String>,
}

/// mWh from an energy attribute (µWh), or from a charge one (µAh) times the design voltage
/// (µV): µAh × µV = 10⁻¹² Wh.
fn capacity(energy_uwh: Option<i64>, charge_uah: Option<i64>, uv: Option<i64>) -> Option<i64> {
    if let Some(e) = energy_uwh.filter(|e| *e > 0) {
        return Some(e / 1000);
    }
    let (c, v) = (charge_uah.filter(|c| *c > 0)?, uv.filter(|v| *v > 0)?);
    // Real values (up to ~10⁸ µAh and ~10⁸ µV) fit an i64 product; absurd ones from a broken
    // driver lose precision instead of overflowing (i128 would pull in 2 KB of division code).
    Some(match c.checked_mul(v) {
        Some(p) => p / 1_000_000_000,
        None => (c / 1000).saturating_mul(v / 1000) / 1000,
    })
}

/// Reads one power supply; `None` when it is not a battery of this machine.
pub fn read_battery(root: &Root, name: &str) -> Option<Battery> {
    let dir = format!("{POWER_SUPPLY}/{name}");
    let value = |attr: &str| root.value(&format!("{dir}/{attr}"));
    let number = |attr: &str| root.number(&format!("{dir}/{attr}"));
    if value("type").as_deref() != Some("Battery") {
        return None;
    }
    if value("scope").is_some_and(|s| s.eq_ignore_ascii_case("device")) {
        return None;
    }
    let text = |attr: &str| value(attr).and_then(|v| clean(&v));
    let uv = number("voltage_min_design").filter(|v| *v > 0);
    let date = match (
        number("manufacture_year"),
        number("manufacture_month"),
        number("manufacture_day"),
    ) {
        (Some(y), Some(m), Some(d))
            if (1970..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d) =>
        {
            Some(format!("{y:04}-{m:02}-{d:02}"))
        }
        _ => None,
    };
    Some(Battery {
        name: text("model_name"),
        manufacturer: text("manufacturer"),
        serial: text("serial_number"),
        chemistry: text("technology"),
        capacity: capacity(
            number("energy_full_design"),
            number("charge_full_design"),
            uv,
        ),
        real_capacity: capacity(number("energy_full"), number("charge_full"), uv),
        voltage: uv.map(|v| v / 1000),
        date,
    })
}

/// Every battery of the machine, in the order of their names.
pub fn batteries(root: &Root) -> Vec<Battery> {
    let mut names = root.list(POWER_SUPPLY);
    if names.len() > MAX_SUPPLIES {
        log::warn!("more than {MAX_SUPPLIES} entries in {POWER_SUPPLY}: the rest is left out");
        names.truncate(MAX_SUPPLIES);
    }
    names
        .iter()
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| read_battery(root, n))
        .collect()
}

pub fn write(b: &Battery, sink: &mut dyn Sink) -> io::Result<()> {
    sink.begin(Section::Batteries)?;
    sink.opt_text("NAME", b.name.as_deref())?;
    sink.opt_text("MANUFACTURER", b.manufacturer.as_deref())?;
    sink.opt_text("SERIAL", b.serial.as_deref())?;
    sink.opt_text("CHEMISTRY", b.chemistry.as_deref())?;
    sink.opt_int("CAPACITY", b.capacity)?;
    sink.opt_int("REAL_CAPACITY", b.real_capacity)?;
    sink.opt_int("VOLTAGE", b.voltage)?;
    sink.opt_text("DATE", b.date.as_deref())?;
    sink.end()
}

pub fn collect(ctx: &mut Context, sink: &mut dyn Sink) -> io::Result<()> {
    for b in batteries(ctx.root) {
        write(&b, sink)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::inventory::output::json::JsonWriter;
    use std::path::Path;

    #[test]
    fn capacity_from_charge_and_voltage() {
        // 4,400 mAh at 11.1 V = 48.84 Wh.
        assert_eq!(
            capacity(None, Some(4_400_000), Some(11_100_000)),
            Some(48_840)
        );
        assert_eq!(capacity(Some(50_000_000), Some(1), Some(1)), Some(50_000));
        assert_eq!(capacity(None, Some(0), Some(11_100_000)), None);
        // A broken driver's values neither panic nor wrap to a negative capacity.
        let huge = capacity(None, Some(i64::MAX), Some(i64::MAX)).unwrap();
        assert!(huge > 0);
    }

    fn root() -> Root {
        Root::at(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/battery"))
    }

    #[test]
    fn laptop_battery_reports_energy_in_mwh_and_its_date() {
        let b = read_battery(&root(), "BAT0").unwrap();
        assert_eq!(
            b,
            Battery {
                name: Some("5B10W13930".into()),
                manufacturer: Some("SMP".into()),
                serial: Some("1234".into()),
                chemistry: Some("Li-poly".into()),
                capacity: Some(57_000),
                real_capacity: Some(50_630),
                voltage: Some(15_440),
                date: Some("2021-03-09".into()),
            }
        );
    }

    #[test]
    fn charge_only_battery_is_converted_with_the_design_voltage() {
        let b = read_battery(&root(), "BAT1").unwrap();
        // 4000 mAh at 3.7 V = 14800 mWh; 3500 mAh = 12950 mWh.
        assert_eq!(b.capacity, Some(14_800));
        assert_eq!(b.real_capacity, Some(12_950));
        assert_eq!(b.voltage, Some(3_700));
        // Placeholder strings and an incomplete date are left out.
        assert_eq!((b.manufacturer, b.serial, b.date), (None, None, None));
        assert_eq!(b.chemistry.as_deref(), Some("Li-ion"));
    }

    #[test]
    fn mains_and_peripheral_batteries_are_not_listed() {
        let list = batteries(&root());
        assert_eq!(list.len(), 2);
        assert_eq!(read_battery(&root(), "AC"), None);
        assert_eq!(read_battery(&root(), "hid-mouse-battery"), None);
    }

    #[test]
    fn missing_power_supply_class_gives_no_battery() {
        assert!(batteries(&Root::at(Path::new("/nonexistent"))).is_empty());
    }

    #[test]
    fn batteries_are_written_with_typed_json_fields() {
        let mut w = JsonWriter::new(Vec::new(), "d", None, "Computer", false).unwrap();
        for b in batteries(&root()) {
            write(&b, &mut w).unwrap();
        }
        w.finish().unwrap();
        let s = String::from_utf8(w.into_inner()).unwrap();
        assert!(s.contains("\"capacity\":57000,"), "{s}");
        assert!(s.contains("\"date\":\"2021-03-09\""), "{s}");
        assert!(s.contains("\"voltage\":3700"), "{s}");
    }
}
