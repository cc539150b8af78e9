#![no_main]
//! The configuration file's reader (lines, quotes, comments, every setting's value parser):
//! any text gives settings or an error, never a panic; settings it accepts are written back as
//! text (as the daemon hands them to its passes) that reads back without an error.
use libfuzzer_sys::fuzz_target;
use uagent::config::Settings;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut s = Settings::default();
    if s.load_text(&text, "fuzz").is_ok() {
        let back = s.to_text();
        let mut again = Settings::default();
        if let Err(e) = again.load_text(&back, "fuzz-back") {
            panic!("settings written as {back:?} do not read back: {e}");
        }
    }
});
