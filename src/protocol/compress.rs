//! zlib bodies, as both the OCS server and GLPI read them, and replies in whatever form a
//! server sends them back (zlib with any header level, gzip, or plain text), inflated with a
//! limit so that a compression bomb costs nothing.

use std::fmt;
use std::io::{self, Write};

use miniz_oxide::deflate::compress_to_vec_zlib;
use miniz_oxide::deflate::core::{compress, CompressorOxide, TDEFLFlush, TDEFLStatus};
use miniz_oxide::inflate::{
    decompress_to_vec_with_limit, decompress_to_vec_zlib_with_limit, TINFLStatus,
};
use miniz_oxide::DataFormat;

/// zlib (RFC 1950) of `data`, at the level Perl's Compress::Zlib uses by default.
pub fn zlib(data: &[u8]) -> Vec<u8> {
    compress_to_vec_zlib(data, 6)
}

/// A zlib stream written as it goes: what a task writes on its standard output, so that
/// neither it nor the agent ever holds the whole uncompressed inventory.
pub struct ZlibWriter<W: Write> {
    inner: W,
    state: Box<CompressorOxide>,
    buf: Vec<u8>,
}

const ZLIB_OUT_CHUNK: usize = 16 * 1024;

impl<W: Write> ZlibWriter<W> {
    pub fn new(inner: W) -> Self {
        let mut state = Box::<CompressorOxide>::default();
        state.set_format_and_level(DataFormat::Zlib, 6);
        ZlibWriter {
            inner,
            state,
            buf: vec![0; ZLIB_OUT_CHUNK],
        }
    }

    fn pump(&mut self, mut input: &[u8], flush: TDEFLFlush) -> io::Result<()> {
        loop {
            let (status, read, written) = compress(&mut self.state, input, &mut self.buf, flush);
            self.inner.write_all(&self.buf[..written])?;
            input = &input[read..];
            match status {
                TDEFLStatus::Done => return Ok(()),
                TDEFLStatus::Okay if input.is_empty() && written < self.buf.len() => return Ok(()),
                TDEFLStatus::Okay => {}
                _ => return Err(io::Error::other("zlib compression failed")),
            }
        }
    }

    /// Ends the stream and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.pump(&[], TDEFLFlush::Finish)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ZlibWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.pump(data, TDEFLFlush::None)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body inflates past the limit.
    TooLarge(usize),
    /// Looked compressed but is not a valid stream (truncated or garbage).
    Corrupt(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            DecodeError::TooLarge(limit) => write!(f, "reply inflates past {limit} bytes"),
            DecodeError::Corrupt(kind) => write!(
                f,
                "reply is not a valid {kind} stream (truncated or damaged)"
            ),
        }
    }
}

/// The first `n` bytes (or fewer) of what a zlib stream inflates to; empty when it is not
/// one. For a look at the head of a compressed document without inflating all of it.
pub fn zlib_head(body: &[u8], n: usize) -> Vec<u8> {
    if !is_zlib(body) {
        return Vec::new();
    }
    match decompress_to_vec_zlib_with_limit(body, n) {
        Ok(all) => all,
        Err(e) => {
            let mut out = e.output;
            out.truncate(n);
            out
        }
    }
}

/// Whether `b` starts with a zlib header: deflate method, a window size deflate allows, and
/// the header checksum (`78 01`, `78 5E`, `78 9C`, `78 DA`, and the rarer window sizes).
pub fn is_zlib(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0] & 0x0f == 8
        && b[0] >> 4 <= 7
        && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

pub fn is_gzip(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8
}

/// The plain bytes of a reply body: zlib and gzip are inflated (at most `limit` bytes), anything
/// else is returned as it is.
pub fn decode_reply(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if is_zlib(body) {
        return decompress_to_vec_zlib_with_limit(body, limit).map_err(|e| match e.status {
            TINFLStatus::HasMoreOutput => DecodeError::TooLarge(limit),
            _ => DecodeError::Corrupt("zlib"),
        });
    }
    if is_gzip(body) {
        let start = gzip_payload(body).ok_or(DecodeError::Corrupt("gzip"))?;
        return decompress_to_vec_with_limit(&body[start..], limit).map_err(|e| match e.status {
            TINFLStatus::HasMoreOutput => DecodeError::TooLarge(limit),
            _ => DecodeError::Corrupt("gzip"),
        });
    }
    if body.len() > limit {
        return Err(DecodeError::TooLarge(limit));
    }
    Ok(body.to_vec())
}

/// The first (at most) `n` bytes a zlib stream inflates to, without inflating the rest: enough
/// to tell what it holds at a cost that does not depend on what it would inflate to.
pub fn inflate_prefix(body: &[u8], n: usize) -> Result<Vec<u8>, DecodeError> {
    match decompress_to_vec_zlib_with_limit(body, n) {
        Ok(all) => Ok(all),
        Err(e) if e.status == TINFLStatus::HasMoreOutput => Ok(e.output),
        Err(_) => Err(DecodeError::Corrupt("zlib")),
    }
}

/// Offset of the deflate data in a gzip member (RFC 1952 header with its optional fields).
fn gzip_payload(b: &[u8]) -> Option<usize> {
    let flags = *b.get(3)?;
    let mut i = 10;
    if flags & 0x04 != 0 {
        let xlen = usize::from(*b.get(i)?) | usize::from(*b.get(i + 1)?) << 8;
        i += 2 + xlen;
    }
    for bit in [0x08, 0x10] {
        if flags & bit != 0 {
            i += b.get(i..)?.iter().position(|&c| c == 0)? + 1;
        }
    }
    if flags & 0x02 != 0 {
        i += 2;
    }
    (i <= b.len()).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trips_and_every_header_level_is_recognised() {
        let data = b"<REPLY><RESPONSE>SEND</RESPONSE></REPLY>".repeat(50);
        let z = zlib(&data);
        assert!(is_zlib(&z));
        assert_eq!(decode_reply(&z, 1 << 20).unwrap(), data);
        for header in [[0x78, 0x01], [0x78, 0x5e], [0x78, 0x9c], [0x78, 0xda]] {
            assert!(is_zlib(&header), "{header:02x?}");
        }
        assert!(!is_zlib(b"<?"));
        assert!(!is_zlib(b"{\""));
    }

    #[test]
    fn the_streaming_writer_makes_a_valid_zlib_stream() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut w = ZlibWriter::new(Vec::new());
        for piece in data.chunks(7_777) {
            w.write_all(piece).unwrap();
        }
        let z = w.finish().unwrap();
        assert!(is_zlib(&z));
        assert_eq!(decode_reply(&z, 10 << 20).unwrap(), data);
    }

    #[test]
    fn plain_replies_pass_through_and_gzip_is_inflated() {
        assert_eq!(decode_reply(b"<REPLY/>", 100).unwrap(), b"<REPLY/>");
        // gzip of "hi\n" with a file name field.
        let raw = miniz_oxide::deflate::compress_to_vec(b"hi\n", 6);
        let mut gz = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(b"name\0");
        gz.extend_from_slice(&raw);
        gz.extend_from_slice(&[0; 8]);
        assert_eq!(decode_reply(&gz, 100).unwrap(), b"hi\n");
    }

    #[test]
    fn bombs_truncation_and_garbage_are_refused() {
        let bomb = zlib(&vec![0u8; 10 * 1024 * 1024]);
        assert_eq!(
            decode_reply(&bomb, 1 << 20),
            Err(DecodeError::TooLarge(1 << 20))
        );
        let z = zlib(&b"some reply text that is long enough".repeat(20));
        assert_eq!(
            decode_reply(&z[..z.len() / 2], 1 << 20),
            Err(DecodeError::Corrupt("zlib"))
        );
        let mut garbage = vec![0x78, 0x9c];
        garbage.extend_from_slice(&[0xff; 64]);
        assert_eq!(
            decode_reply(&garbage, 1 << 20),
            Err(DecodeError::Corrupt("zlib"))
        );
        assert_eq!(
            decode_reply(&[0u8; 200], 100),
            Err(DecodeError::TooLarge(100))
        );
    }
}
