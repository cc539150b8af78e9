#![no_main]
//! GLPI's JSON replies as the agent reads them: any bytes give a value or an error, never a
//! panic, and a value never holds more than the reader's bound of values.
use libfuzzer_sys::fuzz_target;
use uagent::protocol::json::{self, Json, MAX_DEPTH, MAX_VALUES};

/// Values in `j` and its depth.
fn size(j: &Json, depth: usize) -> (usize, usize) {
    let children: Vec<&Json> = match j {
        Json::Arr(items) => items.iter().collect(),
        Json::Obj(members) => members.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    children.iter().fold((1, depth), |(n, d), c| {
        let (cn, cd) = size(c, depth + 1);
        (n + cn, d.max(cd))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(j) = json::parse(data) {
        let (values, depth) = size(&j, 0);
        assert!(values <= MAX_VALUES, "{values} values");
        assert!(depth <= MAX_DEPTH + 1, "depth {depth}");
    }
});
