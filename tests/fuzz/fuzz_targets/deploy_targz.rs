#![no_main]
//! tar.gz (and plain tar) archives unpacked by the deploy task's reader, into a folder of its
//! own: whatever the input, nothing is written outside it.
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use uagent::tasks::deploy::targz::{remove_tree, BuildError, Unpacker};

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!("uagent-fuzz-targz-{}", std::process::id()));
    let root: PathBuf = base.join("root");
    remove_tree(&base);
    std::fs::create_dir_all(&root).unwrap();
    let mut written = 0u64;
    let mut space = |n: u64| {
        written += n;
        if written > 4 << 20 {
            Err(BuildError::NoSpace("fuzz limit".into()))
        } else {
            Ok(())
        }
    };
    let mut u = Unpacker::new(&root, &mut space);
    let ok = data.chunks(777).all(|c| u.feed(c).is_ok());
    if ok {
        let _ = u.finish();
    }
    // Nothing beside the extraction folder.
    let beside: Vec<_> = std::fs::read_dir(&base).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(beside, ["root"]);
    remove_tree(&base);
});
