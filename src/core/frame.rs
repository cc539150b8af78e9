//! Frames on a pipe: how a task hands complete messages to the agent while it works (the
//! network discovery's START, DEVICE, END… documents), so that the agent can send each one to
//! its server as it arrives. A frame is its length in decimal digits, a newline, then that
//! many bytes. The reader is fed whatever the pipe gives and hands back whole frames.

use std::fmt;
use std::io::{self, Write};

/// Largest frame accepted (a discovery message is a few KiB).
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// Most digits of a length line.
const MAX_LENGTH_DIGITS: usize = 10;

/// Writes one frame.
pub fn write_frame(out: &mut dyn Write, body: &[u8]) -> io::Result<()> {
    writeln!(out, "{}", body.len())?;
    out.write_all(body)?;
    out.flush()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The length line is not a number.
    BadLength,
    /// A frame announced larger than MAX_FRAME.
    TooLarge(usize),
    /// The stream ended inside a frame.
    Truncated,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FrameError::BadLength => f.write_str("a frame without a length line"),
            FrameError::TooLarge(n) => write!(f, "a frame of {n} bytes, more than {MAX_FRAME}"),
            FrameError::Truncated => f.write_str("the output ends inside a frame"),
        }
    }
}

/// Gathers bytes and hands out complete frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(nl) = self
            .buf
            .iter()
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|&b| b == b'\n')
        else {
            return if self.buf.len() > MAX_LENGTH_DIGITS {
                Err(FrameError::BadLength)
            } else {
                Ok(None)
            };
        };
        let digits = &self.buf[..nl];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(FrameError::BadLength);
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or(FrameError::BadLength)?;
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge(len));
        }
        if self.buf.len() < nl + 1 + len {
            return Ok(None);
        }
        let body = self.buf[nl + 1..nl + 1 + len].to_vec();
        self.buf.drain(..nl + 1 + len);
        Ok(Some(body))
    }

    /// At the end of the stream: an error when bytes of an unfinished frame are left.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_whatever_the_pipe_cuts() {
        let bodies: Vec<Vec<u8>> = vec![
            b"<REQUEST/>".to_vec(),
            Vec::new(),
            b"12\n34\n".to_vec(),
            vec![0xff; 70_000],
        ];
        let mut stream = Vec::new();
        for b in &bodies {
            write_frame(&mut stream, b).unwrap();
        }
        for chunk in [1, 3, 4096, stream.len()] {
            let mut r = FrameReader::new();
            let mut got = Vec::new();
            for part in stream.chunks(chunk) {
                r.push(part);
                while let Some(f) = r.next_frame().unwrap() {
                    got.push(f);
                }
            }
            r.finish().unwrap();
            assert_eq!(got, bodies, "chunks of {chunk}");
        }
    }

    #[test]
    fn bad_frames_are_errors_not_waits() {
        let mut r = FrameReader::new();
        r.push(b"12x\nabc");
        assert_eq!(r.next_frame(), Err(FrameError::BadLength));
        let mut r = FrameReader::new();
        r.push(b"99999999999999");
        assert_eq!(r.next_frame(), Err(FrameError::BadLength));
        let mut r = FrameReader::new();
        r.push(b"9999999\n");
        assert_eq!(r.next_frame(), Err(FrameError::TooLarge(9_999_999)));
        let mut r = FrameReader::new();
        r.push(b"5\nab");
        assert_eq!(r.next_frame(), Ok(None));
        assert_eq!(r.finish(), Err(FrameError::Truncated));
    }
}
