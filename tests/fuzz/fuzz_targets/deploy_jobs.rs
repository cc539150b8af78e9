#![no_main]
//! GLPI's getJobs answers as the deploy task reads them.
use libfuzzer_sys::fuzz_target;
use uagent::tasks::deploy::jobs;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = jobs::parse(data) {
        assert!(a.jobs.len() <= jobs::MAX_JOBS && a.files.len() <= jobs::MAX_FILES);
        for f in &a.files {
            assert!(jobs::simple_name(&f.name));
            assert!(f.parts.len() <= jobs::MAX_PARTS);
        }
        for j in &a.jobs {
            assert!(j.uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
        }
    }
});
