//! HTTP/1.1 for the agent: its own small parser ([`parse`], shared with the daemon's server),
//! URLs and proxy rules ([`url`]), an async client on smol ([`Client`]) and, with the `tls`
//! feature, rustls on top ([`tls`]).
//!
//! The parser is separate from the client so that the server and the fuzz targets use the
//! very code the client does; the client adds sockets, timeouts, proxies and authentication.

mod client;
pub mod parse;
#[cfg(feature = "tls")]
pub mod tls;
pub mod url;

pub use client::{
    Client, ClientOptions, Download, HttpError, Phase, ProxySettings, Response, DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
};
#[cfg(feature = "tls")]
pub use tls::TlsOptions;
pub use url::{Scheme, Url, UrlError};

/// Standard base64 with padding (RFC 4648 §4), for Basic credentials.
pub fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "base64({input:?})");
        }
    }

    #[test]
    fn base64_encodes_basic_credentials_and_high_bytes() {
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
