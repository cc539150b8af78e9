//! The chunked transfer coding (RFC 9112 §7.1), decoded in place as bytes arrive.

use super::{Error, MAX_CHUNK_LINE_BYTES, MAX_CHUNK_SIZE_DIGITS, MAX_TRAILER_BYTES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Hex digits of the chunk size (how many read so far).
    Size(u8),
    /// Whitespace after the size: only `;` or the CR may follow.
    SizeWs,
    /// `;ext` up to the CR, ignored.
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental decoder of a chunked body: feed it whatever arrived, take the data out.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Size of the current chunk while reading it, then what is left of it.
    remaining: u64,
    line_len: usize,
    trailer_len: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size(0),
            remaining: 0,
            line_len: 0,
            trailer_len: 0,
        }
    }

    /// True once the last chunk and the trailers have been read; bytes after that belong to
    /// the next message.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes from the start of `input`. Returns how many bytes were used and the body
    /// data among them (a slice of `input`). It stops after each run of data, so call it
    /// again on `&input[used..]` until `used` reaches the end or the body is done.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), Error> {
        use ChunkState::*;
        let mut i = 0;
        while i < input.len() {
            if self.state == Data {
                let n =
                    (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.state = DataCr;
                }
                return Ok((i + n, &input[i..i + n]));
            }
            let b = input[i];
            i += 1;
            if matches!(self.state, Size(_) | SizeWs | Ext) && b != b'\r' {
                self.line_len += 1;
                if self.line_len > MAX_CHUNK_LINE_BYTES {
                    return Err(Error::BadChunk);
                }
            }
            self.state = match (self.state, b) {
                (Done, _) => return Ok((i - 1, &[])),
                (Size(n), _) if b.is_ascii_hexdigit() => {
                    if n >= MAX_CHUNK_SIZE_DIGITS {
                        return Err(Error::BadChunk);
                    }
                    let d = (b as char).to_digit(16).unwrap_or(0);
                    self.remaining = self.remaining << 4 | u64::from(d);
                    Size(n + 1)
                }
                (Size(n), b' ' | b'\t') if n > 0 => SizeWs,
                (SizeWs, b' ' | b'\t') => SizeWs,
                (Size(n), b';') if n > 0 => Ext,
                (SizeWs, b';') => Ext,
                (Size(n), b'\r') if n > 0 => SizeLf,
                (SizeWs | Ext, b'\r') => SizeLf,
                (Ext, _) if b == b'\t' || (b >= 0x20 && b != 0x7f) => Ext,
                (SizeLf, b'\n') if self.remaining == 0 => TrailerStart,
                (SizeLf, b'\n') => Data,
                (DataCr, b'\r') => DataLf,
                (DataLf, b'\n') => {
                    self.remaining = 0;
                    self.line_len = 0;
                    Size(0)
                }
                (TrailerStart, b'\r') => EndLf,
                (TrailerStart | Trailer, _) if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                    self.trailer_len += 1;
                    if self.trailer_len > MAX_TRAILER_BYTES {
                        return Err(Error::TrailersTooLarge);
                    }
                    Trailer
                }
                (Trailer, b'\r') => TrailerLf,
                (TrailerLf, b'\n') => TrailerStart,
                (EndLf, b'\n') => Done,
                _ => return Err(Error::BadChunk),
            };
            if self.state == Done {
                return Ok((i, &[]));
            }
        }
        Ok((i, &[]))
    }
}
