//! How the agent hands a task its arguments: on the task's standard input, not its command
//! line. A command line is readable by every user of the machine (`/proc/PID/cmdline`) and
//! limited in size (E2BIG past 128 KiB per argument), and a task's arguments may hold secrets
//! (SNMP communities, deployment jobs) or be large (a TAG, a server's job). The arguments are
//! netstrings (`5:hello,`): first the count, then each argument; whatever follows on standard
//! input is the task's own.

use std::fmt;
use std::io::{self, Read};

/// Most bytes of arguments read.
pub const MAX_ARGS_BYTES: usize = 8 * 1024 * 1024;
/// Most arguments read.
pub const MAX_ARGS: usize = 65_536;
/// Longest length prefix (digits) of a netstring.
const MAX_DIGITS: usize = 10;

#[derive(Debug)]
pub enum ArgsError {
    Io(io::Error),
    /// The stream ended inside the arguments.
    Truncated,
    /// Not a netstring where one was expected.
    Malformed,
    TooMany(usize),
    TooLarge(usize),
    NotUtf8,
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ArgsError::Io(e) => write!(f, "cannot read the arguments on standard input: {e}"),
            ArgsError::Truncated => f.write_str("the arguments on standard input end too early"),
            ArgsError::Malformed => f.write_str("the arguments on standard input are malformed"),
            ArgsError::TooMany(n) => write!(f, "{n} arguments: at most {MAX_ARGS}"),
            ArgsError::TooLarge(n) => write!(f, "{n} bytes of arguments: at most {MAX_ARGS_BYTES}"),
            ArgsError::NotUtf8 => f.write_str("an argument on standard input is not UTF-8"),
        }
    }
}

/// The arguments as the task reads them.
pub fn encode(argv: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |b: &[u8]| {
        out.extend_from_slice(b.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(b);
        out.push(b',');
    };
    put(argv.len().to_string().as_bytes());
    for a in argv {
        put(a.as_bytes());
    }
    out
}

/// One netstring, read without going past its end (the rest of the stream is the task's).
fn netstring(r: &mut impl Read, budget: &mut usize) -> Result<Vec<u8>, ArgsError> {
    let mut len: usize = 0;
    let mut digits = 0;
    loop {
        let mut b = [0u8];
        match r.read(&mut b) {
            Ok(0) => return Err(ArgsError::Truncated),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArgsError::Io(e)),
        }
        match b[0] {
            b':' if digits > 0 => break,
            d @ b'0'..=b'9' if digits < MAX_DIGITS => {
                // Saturating: ten digits overflow a 32-bit usize; too large is refused below.
                len = len.saturating_mul(10).saturating_add(usize::from(d - b'0'));
                digits += 1;
            }
            _ => return Err(ArgsError::Malformed),
        }
    }
    if len > *budget {
        return Err(ArgsError::TooLarge(
            (MAX_ARGS_BYTES - *budget).saturating_add(len),
        ));
    }
    *budget -= len;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ArgsError::Truncated,
        _ => ArgsError::Io(e),
    })?;
    let mut comma = [0u8];
    r.read_exact(&mut comma).map_err(|_| ArgsError::Truncated)?;
    if comma[0] != b',' {
        return Err(ArgsError::Malformed);
    }
    Ok(data)
}

/// Reads the arguments [`encode`] wrote.
pub fn decode(r: &mut impl Read) -> Result<Vec<String>, ArgsError> {
    let mut budget = MAX_ARGS_BYTES;
    let count = String::from_utf8(netstring(r, &mut budget)?)
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .ok_or(ArgsError::Malformed)?;
    if count > MAX_ARGS {
        return Err(ArgsError::TooMany(count));
    }
    let mut out = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let a = netstring(r, &mut budget)?;
        out.push(String::from_utf8(a).map_err(|_| ArgsError::NotUtf8)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip_and_leave_the_rest_of_the_stream() {
        let argv: Vec<String> = ["inventory", "--tag", "", "a,b:c", "é\0x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut data = encode(&argv);
        data.extend_from_slice(b"the task's own input");
        let mut r = &data[..];
        assert_eq!(decode(&mut r).unwrap(), argv);
        assert_eq!(r, b"the task's own input");
        let big = vec!["x".repeat(300_000)];
        assert_eq!(decode(&mut &encode(&big)[..]).unwrap(), big);
    }

    #[test]
    fn bad_frames_are_refused_without_reading_past_the_bound() {
        let bad: [&[u8]; 7] = [
            b"",
            b"1:1,3:abc",
            b"1:1,3:abc;",
            b"x:1,",
            b"1:2,1:a,",
            b"99999999999:",
            b"1:1,2:\xff\xfe,",
        ];
        for b in bad {
            assert!(decode(&mut &b[..]).is_err(), "{b:?}");
        }
        let huge = format!("{}:", MAX_ARGS_BYTES + 1);
        assert!(matches!(
            decode(&mut huge.as_bytes()),
            Err(ArgsError::TooLarge(_))
        ));
        let many = encode(&[]).len();
        assert!(many > 0);
        let count = format!("6:{:06},", MAX_ARGS + 1);
        assert!(matches!(
            decode(&mut count.as_bytes()),
            Err(ArgsError::TooMany(_))
        ));
    }
}
