//! Hashes and HMAC, written here rather than taken from a crate: MD5 and SHA-1 (what OCS
//! packages name, and SNMPv3's oldest authentication), SHA-224/256 and SHA-384/512 (GLPI's parts,
//! SNMPv3's RFC 7860 authentication), and HMAC over any of them. Each is a page of code, about
//! 1 KB (MD5, SHA-1) to 2 KB (SHA-512) of mipsel code, where the RustCrypto crates bring their
//! trait layers (digest, generic-array, block-buffer) for the same functions; ring, which the TLS
//! stack carries, has no MD5 nor SHA-224 and is not in the builds without TLS. They are checked
//! against the published test vectors (RFC 1321, FIPS 180-2, RFC 4231) in `digest_tests.rs`.
//!
//! Deployment checks its downloads with them; the SNMP client's USM authenticates with them.

/// A streaming hash: update with pieces, then take the digest.
pub trait Hasher {
    fn update(&mut self, data: &[u8]);
    /// The digest (16, 20 or 64 bytes).
    fn finish(&mut self) -> Vec<u8>;
}

/// The 64-byte block machinery shared by MD5 and SHA-1 (little- or big-endian length).
struct Block64 {
    buf: [u8; 64],
    fill: usize,
    len: u64,
}

impl Block64 {
    const fn new() -> Self {
        Block64 {
            buf: [0; 64],
            fill: 0,
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8], compress: &mut dyn FnMut(&[u8; 64])) {
        self.len = self.len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let n = (64 - self.fill).min(data.len());
            self.buf[self.fill..self.fill + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == 64 {
                compress(&self.buf);
                self.fill = 0;
            }
        }
    }

    /// Pads with the bit length (little-endian for MD5, big-endian for SHA-1).
    fn pad(&mut self, little: bool, compress: &mut dyn FnMut(&[u8; 64])) {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 72];
        tail[0] = 0x80;
        let zeros = (119 - self.fill % 64) % 64;
        let n = 1 + zeros;
        tail[n..n + 8].copy_from_slice(&if little {
            bits.to_le_bytes()
        } else {
            bits.to_be_bytes()
        });
        let len = self.len;
        self.update(&tail[..n + 8], compress);
        self.len = len;
    }
}

pub struct Md5 {
    s: [u32; 4],
    b: Block64,
}

const MD5_K: [u32; 64] = {
    // floor(abs(sin(i + 1)) * 2^32), as RFC 1321 tabulates it.
    [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ]
};
const MD5_R: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

fn md5_block(s: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (i, w) in m.iter_mut().enumerate() {
        *w = u32::from_le_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
    }
    let [mut a, mut b, mut c, mut d] = *s;
    for i in 0..64 {
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let t = d;
        d = c;
        c = b;
        let sum = a.wrapping_add(f).wrapping_add(MD5_K[i]).wrapping_add(m[g]);
        b = b.wrapping_add(sum.rotate_left(MD5_R[(i / 16) * 4 + i % 4]));
        a = t;
    }
    s[0] = s[0].wrapping_add(a);
    s[1] = s[1].wrapping_add(b);
    s[2] = s[2].wrapping_add(c);
    s[3] = s[3].wrapping_add(d);
}

impl Md5 {
    pub const fn new() -> Self {
        Md5 {
            s: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476],
            b: Block64::new(),
        }
    }
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Hasher for Md5 {
    fn update(&mut self, data: &[u8]) {
        let s = &mut self.s;
        self.b.update(data, &mut |blk| md5_block(s, blk));
    }

    fn finish(&mut self) -> Vec<u8> {
        let s = &mut self.s;
        self.b.pad(true, &mut |blk| md5_block(s, blk));
        self.s.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

pub struct Sha1 {
    s: [u32; 5],
    b: Block64,
}

fn sha1_block(s: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 80];
    for i in 0..16 {
        w[i] = u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *s;
    for (i, wi) in w.iter().enumerate() {
        let (f, k) = match i / 20 {
            0 => ((b & c) | (!b & d), 0x5a827999),
            1 => (b ^ c ^ d, 0x6ed9eba1),
            2 => ((b & c) | (b & d) | (c & d), 0x8f1bbcdc),
            _ => (b ^ c ^ d, 0xca62c1d6u32),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(*wi);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (x, v) in s.iter_mut().zip([a, b, c, d, e]) {
        *x = x.wrapping_add(v);
    }
}

impl Sha1 {
    pub const fn new() -> Self {
        Sha1 {
            s: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0],
            b: Block64::new(),
        }
    }
}

impl Default for Sha1 {
    fn default() -> Self {
        Sha1::new()
    }
}

impl Hasher for Sha1 {
    fn update(&mut self, data: &[u8]) {
        let s = &mut self.s;
        self.b.update(data, &mut |blk| sha1_block(s, blk));
    }

    fn finish(&mut self) -> Vec<u8> {
        let s = &mut self.s;
        self.b.pad(false, &mut |blk| sha1_block(s, blk));
        self.s.iter().flat_map(|w| w.to_be_bytes()).collect()
    }
}

/// SHA-512 (FIPS 180-2): 128-byte blocks, 64-bit words.
pub struct Sha512 {
    s: [u64; 8],
    buf: [u8; 128],
    fill: usize,
    len: u128,
    /// Bytes of the digest: 64, or 48 for SHA-384.
    out: usize,
}

const SHA512_K: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

fn sha512_block(s: &mut [u64; 8], block: &[u8; 128]) {
    let mut w = [0u64; 80];
    for (i, c) in block.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        w[i] = u64::from_be_bytes(b);
    }
    for i in 16..80 {
        let s0 = w[i - 15].rotate_right(1) ^ w[i - 15].rotate_right(8) ^ (w[i - 15] >> 7);
        let s1 = w[i - 2].rotate_right(19) ^ w[i - 2].rotate_right(61) ^ (w[i - 2] >> 6);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let mut v = *s;
    for i in 0..80 {
        let [a, b, c, d, e, f, g, h] = v;
        let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(SHA512_K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
    }
    for (x, y) in s.iter_mut().zip(v) {
        *x = x.wrapping_add(y);
    }
}

impl Sha512 {
    pub const fn new() -> Self {
        Sha512 {
            s: [
                0x6a09e667f3bcc908,
                0xbb67ae8584caa73b,
                0x3c6ef372fe94f82b,
                0xa54ff53a5f1d36f1,
                0x510e527fade682d1,
                0x9b05688c2b3e6c1f,
                0x1f83d9abfb41bd6b,
                0x5be0cd19137e2179,
            ],
            buf: [0; 128],
            fill: 0,
            len: 0,
            out: 64,
        }
    }

    /// SHA-384: SHA-512 with its own initial values, cut to 48 bytes.
    pub const fn new384() -> Self {
        Sha512 {
            s: [
                0xcbbb9d5dc1059ed8,
                0x629a292a367cd507,
                0x9159015a3070dd17,
                0x152fecd8f70e5939,
                0x67332667ffc00b31,
                0x8eb44a8768581511,
                0xdb0c2e0d64f98fa7,
                0x47b5481dbefa4fa4,
            ],
            buf: [0; 128],
            fill: 0,
            len: 0,
            out: 48,
        }
    }

    /// The digest as 128 lower-case hex digits, as GLPI names files and parts.
    pub fn hex_of(data: &[u8]) -> String {
        let mut h = Sha512::new();
        h.update(data);
        hex(&h.finish())
    }
}

impl Default for Sha512 {
    fn default() -> Self {
        Sha512::new()
    }
}

impl Hasher for Sha512 {
    fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u128);
        while !data.is_empty() {
            let n = (128 - self.fill).min(data.len());
            self.buf[self.fill..self.fill + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
            if self.fill == 128 {
                sha512_block(&mut self.s, &self.buf);
                self.fill = 0;
            }
        }
    }

    fn finish(&mut self) -> Vec<u8> {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 144];
        tail[0] = 0x80;
        let zeros = (239 - self.fill % 128) % 128;
        let n = 1 + zeros;
        tail[n..n + 16].copy_from_slice(&bits.to_be_bytes());
        let len = self.len;
        self.update(&tail[..n + 16]);
        self.len = len;
        let mut d: Vec<u8> = self.s.iter().flat_map(|w| w.to_be_bytes()).collect();
        d.truncate(self.out);
        d
    }
}

/// SHA-256 and SHA-224 (FIPS 180-2): 64-byte blocks, 32-bit words.
pub struct Sha256 {
    s: [u32; 8],
    b: Block64,
    /// Bytes of the digest: 32, or 28 for SHA-224.
    out: usize,
}

const SHA256_K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256_block(s: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (i, c) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let mut v = *s;
    for i in 0..64 {
        let [a, b, c, d, e, f, g, h] = v;
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(SHA256_K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        v = [
            t1.wrapping_add(s0.wrapping_add(maj)),
            a,
            b,
            c,
            d.wrapping_add(t1),
            e,
            f,
            g,
        ];
    }
    for (x, y) in s.iter_mut().zip(v) {
        *x = x.wrapping_add(y);
    }
}

impl Sha256 {
    pub const fn new() -> Self {
        Sha256 {
            s: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            b: Block64::new(),
            out: 32,
        }
    }

    /// SHA-224: SHA-256 with its own initial values, cut to 28 bytes.
    pub const fn new224() -> Self {
        Sha256 {
            s: [
                0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7,
                0xbefa4fa4,
            ],
            b: Block64::new(),
            out: 28,
        }
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256::new()
    }
}

impl Hasher for Sha256 {
    fn update(&mut self, data: &[u8]) {
        let s = &mut self.s;
        self.b.update(data, &mut |blk| sha256_block(s, blk));
    }

    fn finish(&mut self) -> Vec<u8> {
        let s = &mut self.s;
        self.b.pad(false, &mut |blk| sha256_block(s, blk));
        let mut d: Vec<u8> = self.s.iter().flat_map(|w| w.to_be_bytes()).collect();
        d.truncate(self.out);
        d
    }
}

/// A hash chosen at run time (SNMPv3's authentication protocols).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Kind {
    pub fn hasher(self) -> Box<dyn Hasher> {
        match self {
            Kind::Md5 => Box::new(Md5::new()),
            Kind::Sha1 => Box::new(Sha1::new()),
            Kind::Sha224 => Box::new(Sha256::new224()),
            Kind::Sha256 => Box::new(Sha256::new()),
            Kind::Sha384 => Box::new(Sha512::new384()),
            Kind::Sha512 => Box::new(Sha512::new()),
        }
    }

    /// Bytes of the digest.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Kind::Md5 => 16,
            Kind::Sha1 => 20,
            Kind::Sha224 => 28,
            Kind::Sha256 => 32,
            Kind::Sha384 => 48,
            Kind::Sha512 => 64,
        }
    }

    /// Bytes of a block (HMAC's key block).
    pub fn block(self) -> usize {
        match self {
            Kind::Sha384 | Kind::Sha512 => 128,
            _ => 64,
        }
    }

    /// The digest of `parts`, one after the other.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut h = self.hasher();
        for p in parts {
            h.update(p);
        }
        h.finish()
    }

    /// HMAC (RFC 2104) of `parts` under `key`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let block = self.block();
        let mut k = if key.len() > block {
            self.digest(&[key])
        } else {
            key.to_vec()
        };
        k.resize(block, 0);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let mut inner = self.hasher();
        inner.update(&ipad);
        for p in parts {
            inner.update(p);
        }
        let inner = inner.finish();
        self.digest(&[&opad, &inner])
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[usize::from(b >> 4)] as char);
        s.push(D[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
