#![no_main]
//! The job the agent hands the deploy task on its standard input; what parses writes back the
//! same.
use libfuzzer_sys::fuzz_target;
use uagent::tasks::deploy::job::Job;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(job) = Job::from_text(text) {
        let again = Job::from_text(&job.to_text()).expect("a job written back reads back");
        assert_eq!(again, job);
    }
});
