//! Walking a subtree: GETBULK where the agent takes it (v2c), else GETNEXT, one OID after the
//! other until the answers leave the subtree. Answers that do not move forward end the walk
//! with an error rather than looping.

use super::message::Version;
use super::transport::Session;
use super::{Oid, SnmpError, Value};

/// Every value under `root`, at most `max` of them.
pub async fn walk(s: &mut Session, root: &Oid, max: usize) -> Result<Vec<(Oid, Value)>, SnmpError> {
    let mut out: Vec<(Oid, Value)> = Vec::new();
    let mut last = root.clone();
    while out.len() < max {
        let batch = if s.version() != Version::V1 && s.bulk != Some(false) {
            let reps = s.opts.max_repetitions.clamp(1, 100);
            match s.get_bulk(std::slice::from_ref(&last), 0, reps).await {
                Ok(b) => {
                    s.bulk = Some(true);
                    b
                }
                Err(e) if s.bulk.is_none() => {
                    log::debug!("{}: GETBULK failed ({e}), walking with GETNEXT", s.peer());
                    s.bulk = Some(false);
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            s.get_next(std::slice::from_ref(&last)).await?
        };
        if batch.is_empty() {
            break;
        }
        for (oid, value) in batch {
            if !oid.starts_with(root) || value == Value::EndOfMibView {
                return Ok(out);
            }
            if oid <= last {
                return Err(SnmpError::Unexpected("the agent's OIDs do not increase"));
            }
            last = oid.clone();
            out.push((oid, value));
            if out.len() >= max {
                break;
            }
        }
    }
    Ok(out)
}
