//! Our own streaming `.tar.gz` reader: gzip members are inflated (miniz_oxide) and the tar
//! stream is cut into entries as the bytes arrive, so a package is never held whole in memory
//! nor written out compressed a second time. The system `tar` is never called.
//!
//! What it refuses (the whole archive fails, [`BuildError`]): absolute names, `..` anywhere in a
//! name, device nodes and FIFOs, links whose target leaves the extraction folder (hard links must
//! name an entry already extracted; symbolic links are created last, once no other entry can be
//! written through them, and their targets are resolved inside the folder, following the links
//! already made), unknown entry types. Set-user-ID, set-group-ID and sticky bits are dropped;
//! owners are not restored (the files belong to the agent's user).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::digest::Crc32;

/// Longest entry name or link target (GNU long names, pax `path`).
pub const MAX_NAME: usize = 4096;
/// Most entries in one archive.
pub const MAX_ENTRIES: usize = 100_000;
/// Longest gzip header (its optional name, comment and extra fields).
const MAX_GZIP_HEADER: usize = 64 * 1024;
/// Largest pax extended header read.
const MAX_PAX: u64 = 64 * 1024;
/// Deepest chain of symbolic links followed when checking a link's target.
const MAX_LINK_HOPS: usize = 40;
/// Inflated bytes handed on at a time.
const OUT_CHUNK: usize = 32 * 1024;

#[derive(Debug)]
pub enum BuildError {
    /// Not gzip or tar, or damaged.
    Corrupt(String),
    /// An entry this reader refuses (the reason names it).
    Refused(String),
    /// Writing failed with no space left (or under the reserve `deploy-min-free` keeps).
    NoSpace(String),
    Io(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BuildError::Corrupt(s) => write!(f, "not a valid archive: {s}"),
            BuildError::Refused(s) => write!(f, "refused: {s}"),
            BuildError::NoSpace(s) => write!(f, "out of space: {s}"),
            BuildError::Io(s) => f.write_str(s),
        }
    }
}

/// An I/O error as a build error: ENOSPC and EDQUOT are "out of space".
pub fn io_error(what: &str, e: &io::Error) -> BuildError {
    if is_no_space(e) {
        BuildError::NoSpace(format!("{what}: {e}"))
    } else {
        BuildError::Io(format!("{what}: {e}"))
    }
}

/// ENOSPC or EDQUOT (their numbers differ between architectures: MIPS has its own).
pub fn is_no_space(e: &io::Error) -> bool {
    use nix::errno::Errno;
    e.kind() == io::ErrorKind::StorageFull
        || e.raw_os_error()
            .is_some_and(|n| n == Errno::ENOSPC as i32 || n == Errno::EDQUOT as i32)
}

// ---------------------------------------------------------------- gzip

enum GzState {
    /// Deciding: gzip, or (when allowed) plain data.
    Start,
    Header,
    Body,
    Trailer,
    /// After at least one member: another member, or zero padding.
    Between,
    Plain,
}

/// A push decoder of gzip data (one or more members, as `gzip -c a b` or GLPI's parts write
/// them), or of plain data when `plain_ok` (GLPI parts that were stored uncompressed).
pub struct Gunzip {
    state: GzState,
    plain_ok: bool,
    head: Vec<u8>,
    inflater: Box<InflateState>,
    out: Vec<u8>,
    crc: Crc32,
    size: u32,
    members: u32,
}

/// Where a gzip header ends, or `None` if more bytes are needed; an error if it is not one.
fn gzip_header_len(h: &[u8]) -> Result<Option<usize>, BuildError> {
    if h.len() < 10 {
        return Ok(None);
    }
    if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 {
        return Err(BuildError::Corrupt("no gzip header".into()));
    }
    let flags = h[3];
    if flags & 0xe0 != 0 {
        return Err(BuildError::Corrupt("reserved gzip flags set".into()));
    }
    let mut at = 10;
    if flags & 4 != 0 {
        if h.len() < at + 2 {
            return Ok(None);
        }
        at += 2 + usize::from(u16::from_le_bytes([h[at], h[at + 1]]));
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            match h.get(at..).and_then(|r| r.iter().position(|&b| b == 0)) {
                Some(n) => at += n + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    Ok((h.len() >= at).then_some(at))
}

impl Gunzip {
    pub fn new(plain_ok: bool) -> Gunzip {
        Gunzip {
            state: GzState::Start,
            plain_ok,
            head: Vec::new(),
            inflater: InflateState::new_boxed(DataFormat::Raw),
            out: vec![0; OUT_CHUNK],
            crc: Crc32::default(),
            size: 0,
            members: 0,
        }
    }

    /// Decodes `input`, handing what it inflates to `sink`.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<(), BuildError>,
    ) -> Result<(), BuildError> {
        while !input.is_empty() {
            match self.state {
                GzState::Start => {
                    // Two bytes decide; one byte alone waits for the next piece.
                    let have: Vec<u8> = self.head.iter().chain(input).take(2).copied().collect();
                    if have.len() < 2 && have.first() == Some(&0x1f) {
                        self.head.extend_from_slice(input);
                        return Ok(());
                    }
                    if have.starts_with(&[0x1f, 0x8b]) {
                        self.state = GzState::Header;
                    } else if self.plain_ok {
                        self.state = GzState::Plain;
                        let held = std::mem::take(&mut self.head);
                        if !held.is_empty() {
                            sink(&held)?;
                        }
                    } else {
                        return Err(BuildError::Corrupt("not gzip data".into()));
                    }
                }
                GzState::Plain => {
                    sink(input)?;
                    return Ok(());
                }
                GzState::Header => {
                    let take = input.len().min(MAX_GZIP_HEADER + 1 - self.head.len().min(MAX_GZIP_HEADER));
                    let before = self.head.len();
                    self.head.extend_from_slice(&input[..take]);
                    match gzip_header_len(&self.head)? {
                        Some(len) => {
                            // What followed the header in this piece is body.
                            let used = len - before;
                            input = &input[used..];
                            self.head.clear();
                            self.inflater.reset(DataFormat::Raw);
                            self.crc = Crc32::default();
                            self.size = 0;
                            self.state = GzState::Body;
                        }
                        None if self.head.len() > MAX_GZIP_HEADER => {
                            return Err(BuildError::Corrupt(format!(
                                "gzip header longer than {MAX_GZIP_HEADER} bytes"
                            )))
                        }
                        None => input = &input[take..],
                    }
                }
                GzState::Body => {
                    let r = inflate(&mut self.inflater, input, &mut self.out, MZFlush::None);
                    input = &input[r.bytes_consumed..];
                    if r.bytes_written > 0 {
                        let data = &self.out[..r.bytes_written];
                        self.crc.update(data);
                        self.size = self.size.wrapping_add(r.bytes_written as u32);
                        sink(data)?;
                    }
                    match r.status {
                        Ok(MZStatus::StreamEnd) => self.state = GzState::Trailer,
                        Ok(_) | Err(MZError::Buf) => {
                            if r.bytes_consumed == 0 && r.bytes_written == 0 {
                                if input.is_empty() {
                                    return Ok(());
                                }
                                return Err(BuildError::Corrupt("deflate data makes no progress".into()));
                            }
                        }
                        Err(_) => return Err(BuildError::Corrupt("damaged deflate data".into())),
                    }
                }
                GzState::Trailer => {
                    let take = (8 - self.head.len()).min(input.len());
                    self.head.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if self.head.len() == 8 {
                        let crc = u32::from_le_bytes([self.head[0], self.head[1], self.head[2], self.head[3]]);
                        let size = u32::from_le_bytes([self.head[4], self.head[5], self.head[6], self.head[7]]);
                        if crc != self.crc.value() || size != self.size {
                            return Err(BuildError::Corrupt("gzip checksum or length mismatch".into()));
                        }
                        self.head.clear();
                        self.members += 1;
                        self.state = GzState::Between;
                    }
                }
                GzState::Between => {
                    if input[0] == 0x1f {
                        self.state = GzState::Header;
                    } else if input.iter().all(|&b| b == 0) {
                        return Ok(());
                    } else {
                        return Err(BuildError::Corrupt("data after the gzip stream".into()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that the data ended where a stream may end.
    pub fn finish(&self) -> Result<(), BuildError> {
        match self.state {
            GzState::Between | GzState::Plain => Ok(()),
            GzState::Start if self.plain_ok && self.head.is_empty() => Ok(()),
            _ => Err(BuildError::Corrupt("the gzip stream is cut short".into())),
        }
    }
}

// ---------------------------------------------------------------- tar

/// What a tar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// GNU long name or link ('L', 'K'), pax header ('x', 'g'): metadata for the next entry.
    LongName,
    LongLink,
    Pax,
    GlobalPax,
}

enum TarState {
    Header,
    /// Writing a file's data.
    Data { left: u64, pad: u64 },
    /// Collecting a long name or pax header.
    Meta { kind: Kind, left: u64, pad: u64 },
    /// Skipping padding after an entry.
    Skip { left: u64 },
    /// Two zero blocks seen (or one and the end).
    End,
}

/// Free-space check called before each file: `size` bytes are about to be written.
pub type SpaceCheck<'a> = &'a mut dyn FnMut(u64) -> Result<(), BuildError>;

/// Extracts a tar stream pushed to it into `root` (which must exist and be empty of links).
pub struct Untar<'a> {
    root: PathBuf,
    state: TarState,
    block: Vec<u8>,
    zero_blocks: u32,
    meta: Vec<u8>,
    long_name: Option<String>,
    long_link: Option<String>,
    file: Option<File>,
    entries: usize,
    links: Vec<(PathBuf, PathBuf)>,
    space: SpaceCheck<'a>,
    /// Bytes of file data written.
    pub bytes: u64,
    /// Regular files written.
    pub files: usize,
}

fn octal(field: &[u8]) -> Result<u64, BuildError> {
    // GNU base-256 for sizes past the 11 octal digits.
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or_else(|| BuildError::Corrupt("number too large in a tar header".into()))?;
        }
        return Ok(v);
    }
    let mut v: u64 = 0;
    for &b in field.iter().skip_while(|b| **b == b' ') {
        match b {
            b'0'..=b'7' => {
                v = v
                    .checked_mul(8)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    .ok_or_else(|| BuildError::Corrupt("number too large in a tar header".into()))?
            }
            0 | b' ' => break,
            _ => return Err(BuildError::Corrupt("bad number in a tar header".into())),
        }
    }
    Ok(v)
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Whether a 512-byte block is a tar header with a right checksum.
pub fn is_tar_header(b: &[u8]) -> bool {
    if b.len() < 512 {
        return false;
    }
    let Ok(want) = octal(&b[148..156]) else {
        return false;
    };
    let sum: u64 = b[..512]
        .iter()
        .enumerate()
        .map(|(i, &x)| if (148..156).contains(&i) { 32 } else { u64::from(x) })
        .sum();
    sum == want && b.iter().take(512).any(|&x| x != 0)
}

/// The relative path of an entry name: `./` and empty parts dropped; absolute names and `..`
/// refused. `None` for the root itself (`./`).
pub fn safe_relative(name: &str) -> Result<Option<PathBuf>, BuildError> {
    if name.len() > MAX_NAME {
        return Err(BuildError::Refused(format!("a name longer than {MAX_NAME} bytes")));
    }
    if name.starts_with('/') {
        return Err(BuildError::Refused(format!("absolute name {name:?}")));
    }
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(BuildError::Refused(format!("name with `..`: {name:?}")))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(BuildError::Refused(format!("absolute name {name:?}")))
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

impl<'a> Untar<'a> {
    pub fn new(root: &Path, space: SpaceCheck<'a>) -> Untar<'a> {
        Untar {
            root: root.to_path_buf(),
            state: TarState::Header,
            block: Vec::with_capacity(512),
            zero_blocks: 0,
            meta: Vec::new(),
            long_name: None,
            long_link: None,
            file: None,
            entries: 0,
            links: Vec::new(),
            space,
            bytes: 0,
            files: 0,
        }
    }

    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), BuildError> {
        while !input.is_empty() {
            match &mut self.state {
                TarState::End => return Ok(()),
                TarState::Header => {
                    let take = (512 - self.block.len()).min(input.len());
                    self.block.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if self.block.len() == 512 {
                        let block = std::mem::take(&mut self.block);
                        self.header(&block)?;
                        self.block = block;
                        self.block.clear();
                    }
                }
                TarState::Data { left, pad } => {
                    let n = (*left).min(input.len() as u64) as usize;
                    if let Some(f) = &mut self.file {
                        f.write_all(&input[..n])
                            .map_err(|e| io_error("writing an extracted file", &e))?;
                    }
                    self.bytes += n as u64;
                    *left -= n as u64;
                    input = &input[n..];
                    if *left == 0 {
                        let pad = *pad;
                        self.file = None;
                        self.state = TarState::Skip { left: pad };
                    }
                }
                TarState::Meta { kind, left, pad } => {
                    let n = (*left).min(input.len() as u64) as usize;
                    self.meta.extend_from_slice(&input[..n]);
                    *left -= n as u64;
                    input = &input[n..];
                    if *left == 0 {
                        let (kind, pad) = (*kind, *pad);
                        self.end_meta(kind)?;
                        self.state = TarState::Skip { left: pad };
                    }
                }
                TarState::Skip { left } => {
                    let n = (*left).min(input.len() as u64) as usize;
                    *left -= n as u64;
                    input = &input[n..];
                    if *left == 0 {
                        self.state = TarState::Header;
                    }
                }
            }
        }
        Ok(())
    }

    fn header(&mut self, b: &[u8]) -> Result<(), BuildError> {
        if b.iter().all(|&x| x == 0) {
            self.zero_blocks += 1;
            if self.zero_blocks == 2 {
                self.state = TarState::End;
            }
            return Ok(());
        }
        if self.zero_blocks > 0 || !is_tar_header(b) {
            return Err(BuildError::Corrupt("bad tar header checksum".into()));
        }
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(BuildError::Refused(format!("more than {MAX_ENTRIES} entries")));
        }
        let size = octal(&b[124..136])?;
        let pad = (512 - size % 512) % 512;
        let mode = octal(&b[100..108])? as u32;
        let kind = match b[156] {
            b'0' | 0 | b'7' => Kind::File,
            b'5' => Kind::Dir,
            b'2' => Kind::Symlink,
            b'1' => Kind::Hardlink,
            b'L' => Kind::LongName,
            b'K' => Kind::LongLink,
            b'x' => Kind::Pax,
            b'g' => Kind::GlobalPax,
            b'3' | b'4' => return Err(BuildError::Refused("a device node".into())),
            b'6' => return Err(BuildError::Refused("a FIFO".into())),
            t => return Err(BuildError::Refused(format!("an entry of unknown type {:?}", t as char))),
        };
        if matches!(kind, Kind::LongName | Kind::LongLink | Kind::Pax | Kind::GlobalPax) {
            let limit = if matches!(kind, Kind::Pax | Kind::GlobalPax) { MAX_PAX } else { MAX_NAME as u64 + 1 };
            if size > limit {
                return Err(BuildError::Refused(format!("a {size}-byte extended header")));
            }
            self.meta.clear();
            self.state = TarState::Meta { kind, left: size, pad };
            if size == 0 {
                self.end_meta(kind)?;
                self.state = TarState::Skip { left: pad };
            }
            return Ok(());
        }
        let mut name = match self.long_name.take() {
            Some(n) => n,
            None => {
                let base = c_string(&b[0..100]);
                let prefix = if &b[257..262] == b"ustar" { c_string(&b[345..500]) } else { String::new() };
                if prefix.is_empty() { base } else { format!("{prefix}/{base}") }
            }
        };
        let link = self.long_link.take().unwrap_or_else(|| c_string(&b[157..257]));
        if kind == Kind::Dir {
            while name.ends_with('/') {
                name.pop();
            }
        }
        let Some(rel) = safe_relative(&name)? else {
            // `./` itself.
            self.state = TarState::Skip { left: size + pad };
            return Ok(());
        };
        let path = self.root.join(&rel);
        match kind {
            Kind::Dir => {
                fs::create_dir_all(&path).map_err(|e| io_error(&format!("creating {name}"), &e))?;
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode((mode & 0o777) | 0o700));
                self.state = TarState::Skip { left: size + pad };
            }
            Kind::File => {
                (self.space)(size)?;
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|e| io_error(&format!("creating the folder of {name}"), &e))?;
                }
                let _ = fs::remove_file(&path);
                let f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode & 0o777)
                    .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
                    .open(&path)
                    .map_err(|e| io_error(&format!("creating {name}"), &e))?;
                // The mode given at creation is masked by the umask: set it as the archive says
                // (less the set-ID and sticky bits).
                let _ = f.set_permissions(fs::Permissions::from_mode(mode & 0o777));
                self.files += 1;
                self.file = Some(f);
                if size == 0 {
                    self.file = None;
                    self.state = TarState::Skip { left: pad };
                } else {
                    self.state = TarState::Data { left: size, pad };
                }
            }
            Kind::Hardlink => {
                let Some(target) = safe_relative(&link)? else {
                    return Err(BuildError::Refused(format!("hard link {name:?} to the folder itself")));
                };
                let target = self.root.join(target);
                if !fs::symlink_metadata(&target).is_ok_and(|m| m.is_file()) {
                    return Err(BuildError::Refused(format!("hard link {name:?} to {link:?}, not a file of the archive")));
                }
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(|e| io_error(&format!("creating the folder of {name}"), &e))?;
                }
                let _ = fs::remove_file(&path);
                fs::hard_link(&target, &path).map_err(|e| io_error(&format!("linking {name}"), &e))?;
                self.state = TarState::Skip { left: size + pad };
            }
            Kind::Symlink => {
                if link.is_empty() || link.len() > MAX_NAME || link.starts_with('/') {
                    return Err(BuildError::Refused(format!("symbolic link {name:?} to {link:?}, outside the package")));
                }
                self.links.push((rel, PathBuf::from(link)));
                self.state = TarState::Skip { left: size + pad };
            }
            _ => unreachable!("metadata kinds return above"),
        }
        Ok(())
    }

    fn end_meta(&mut self, kind: Kind) -> Result<(), BuildError> {
        let text = String::from_utf8_lossy(&self.meta).into_owned();
        match kind {
            Kind::LongName => self.long_name = Some(text.trim_end_matches('\0').to_string()),
            Kind::LongLink => self.long_link = Some(text.trim_end_matches('\0').to_string()),
            Kind::Pax => {
                // Records "LEN key=value\n"; only path and linkpath matter here.
                let mut rest = self.meta.as_slice();
                while !rest.is_empty() {
                    let sp = rest.iter().position(|&b| b == b' ').ok_or_else(|| BuildError::Corrupt("bad pax record".into()))?;
                    let len: usize = std::str::from_utf8(&rest[..sp])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .filter(|&l| l > sp + 1 && l <= rest.len())
                        .ok_or_else(|| BuildError::Corrupt("bad pax record length".into()))?;
                    let rec = String::from_utf8_lossy(&rest[sp + 1..len]);
                    let rec = rec.trim_end_matches('\n');
                    if let Some((k, v)) = rec.split_once('=') {
                        match k {
                            "path" => self.long_name = Some(v.to_string()),
                            "linkpath" => self.long_link = Some(v.to_string()),
                            "size" => return Err(BuildError::Refused("a pax size (files over 8 GiB)".into())),
                            _ => {}
                        }
                    }
                    rest = &rest[len..];
                }
            }
            _ => {}
        }
        self.meta.clear();
        Ok(())
    }

    /// Ends the archive: checks it was complete, then makes the symbolic links, each checked to
    /// stay inside the folder. Returns the number of links made.
    pub fn finish(&mut self) -> Result<usize, BuildError> {
        match self.state {
            TarState::End | TarState::Header if self.entries > 0 || self.zero_blocks > 0 => {}
            _ => return Err(BuildError::Corrupt("the tar stream is cut short".into())),
        }
        if !self.block.is_empty() {
            return Err(BuildError::Corrupt("the tar stream ends inside a header".into()));
        }
        let links = std::mem::take(&mut self.links);
        for (rel, target) in &links {
            let at = self.root.join(rel);
            let parent = rel.parent().unwrap_or(Path::new(""));
            if !self.resolves_inside(parent, target, 0) {
                return Err(BuildError::Refused(format!(
                    "symbolic link {} to {}, outside the package",
                    rel.display(),
                    target.display()
                )));
            }
            if let Some(p) = at.parent() {
                fs::create_dir_all(p).map_err(|e| io_error("creating a link's folder", &e))?;
            }
            let _ = fs::remove_file(&at);
            std::os::unix::fs::symlink(target, &at)
                .map_err(|e| io_error(&format!("linking {}", rel.display()), &e))?;
        }
        Ok(links.len())
    }

    /// Whether `target`, read from the folder `dir` (relative to the root), stays inside the
    /// root when walked component by component, following the links that exist.
    fn resolves_inside(&self, dir: &Path, target: &Path, hops: usize) -> bool {
        if hops > MAX_LINK_HOPS {
            return false;
        }
        let mut at: Vec<std::ffi::OsString> = dir.iter().map(|c| c.to_os_string()).collect();
        for c in target.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    if at.pop().is_none() {
                        return false;
                    }
                }
                Component::Normal(p) => {
                    at.push(p.to_os_string());
                    let rel: PathBuf = at.iter().collect();
                    if let Ok(next) = fs::read_link(self.root.join(&rel)) {
                        if next.is_absolute() {
                            return false;
                        }
                        at.pop();
                        let here: PathBuf = at.iter().collect();
                        if !self.resolves_inside(&here, &next, hops + 1) {
                            return false;
                        }
                        // Continue from where that link leads, resolved lexically (its own
                        // links were checked by the recursive call).
                        for n in next.components() {
                            if let Component::Normal(q) = n {
                                at.push(q.to_os_string());
                            } else if n == Component::ParentDir && at.pop().is_none() {
                                return false;
                            }
                        }
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

/// Extracts a `.tar.gz` (or plain `.tar`) stream pushed piece by piece into a folder.
pub struct Unpacker<'a> {
    gz: Option<Gunzip>,
    decided: bool,
    start: Vec<u8>,
    pub tar: Untar<'a>,
}

impl<'a> Unpacker<'a> {
    pub fn new(root: &Path, space: SpaceCheck<'a>) -> Unpacker<'a> {
        Unpacker {
            gz: None,
            decided: false,
            start: Vec::new(),
            tar: Untar::new(root, space),
        }
    }

    pub fn feed(&mut self, input: &[u8]) -> Result<(), BuildError> {
        if !self.decided {
            // gzip by its magic; else a plain tar, recognised by its first header.
            self.start.extend_from_slice(input);
            if self.start.len() < 2 || (self.start[..2] != [0x1f, 0x8b] && self.start.len() < 512) {
                return Ok(());
            }
            self.decided = true;
            let held = std::mem::take(&mut self.start);
            if held[..2] == [0x1f, 0x8b] {
                self.gz = Some(Gunzip::new(false));
            } else if !is_tar_header(&held) {
                return Err(BuildError::Corrupt("neither gzip nor tar".into()));
            }
            return self.push(&held);
        }
        self.push(input)
    }

    fn push(&mut self, input: &[u8]) -> Result<(), BuildError> {
        let tar = &mut self.tar;
        match &mut self.gz {
            Some(gz) => gz.feed(input, &mut |d| tar.feed(d)),
            None => tar.feed(input),
        }
    }

    pub fn finish(mut self) -> Result<Untar<'a>, BuildError> {
        if !self.decided {
            return Err(BuildError::Corrupt("too short to be an archive".into()));
        }
        if let Some(gz) = &self.gz {
            gz.finish()?;
        }
        self.tar.finish()?;
        Ok(self.tar)
    }
}

/// Removes a folder and everything under it, without following links out of it.
pub fn remove_tree(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests;
