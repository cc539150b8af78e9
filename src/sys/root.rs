//! Reading the system under inventory: the live `/`, or a directory holding another system's
//! files (`--root`, a fixture tree, a mounted firmware image, a container's root).
//!
//! Every read is bounded, tolerates bytes that are not UTF-8, and reports trouble as a warning
//! that names the file: a collector that cannot read something leaves it out and goes on.
//!
//! Every file is opened by [`open_regular`]: without blocking (`O_NONBLOCK`), and refused
//! unless it is a regular file, so that a FIFO, a device or a socket put where a file is
//! expected cannot hang the inventory or feed it without end. Each kind of read has its cap:
//! a `/sys` or `/proc` value [`MAX_VALUE_FILE`], a small text file [`MAX_SMALL_FILE`], tables
//! what their reader asks; big files are streamed line by line with every line bounded.

use std::borrow::Cow;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// Longest file read whole (os-release, passwd…); longer ones are cut there.
pub const MAX_SMALL_FILE: usize = 256 * 1024;
/// Longest `/sys` or `/proc` value read ([`Root::value`]): the kernel's attributes are at
/// most a page (64 KiB on the largest pages); a longer file is not one, and is cut.
pub const MAX_VALUE_FILE: usize = 64 * 1024;
/// Longest line kept by [`LineReader`]; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 8 * 1024;
/// Most entries taken from one directory listing.
pub const MAX_DIR_ENTRIES: usize = 65_536;
/// Most symbolic links followed while resolving one path under a root.
const MAX_SYMLINKS: usize = 40;
/// Largest file that can stand for a symbolic link (see [`Root::link_stub`]).
const MAX_LINK_STUB: u64 = 255;

/// Opens `path` for reading without blocking, and only if it is a regular file: a FIFO would
/// block the reader (no writer) or never end, a device (`/dev/zero`) never ends, a socket
/// cannot be read. `O_NONBLOCK` makes the open itself return at once whatever the file is;
/// on a regular file it changes nothing. The refusal is an `InvalidInput` error that says
/// what the file is.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    ))
}

/// Reads at most `limit` bytes of `file`; the flag says whether there was more.
pub fn read_capped(file: File, limit: usize, buf: &mut Vec<u8>) -> io::Result<bool> {
    file.take(limit as u64 + 1).read_to_end(buf)?;
    let cut = buf.len() > limit;
    buf.truncate(limit);
    Ok(cut)
}

pub struct Root {
    base: PathBuf,
    live: bool,
}

impl Root {
    /// The running system: its files, and the system calls that only it can answer.
    pub fn live() -> Root {
        Root {
            base: PathBuf::from("/"),
            live: true,
        }
    }

    /// Another system's files under `dir`; nothing is asked of the running system.
    pub fn at(dir: &Path) -> Root {
        let base = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Root { base, live: false }
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The host path of `p` (an absolute path on the inventoried system).
    ///
    /// Under a root, symbolic links are followed by hand so that an absolute link target
    /// (`/etc/localtime -> /usr/share/zoneinfo/…`) stays inside the root instead of reaching
    /// the host's own files.
    pub fn path(&self, p: &str) -> PathBuf {
        if self.live {
            return PathBuf::from(p);
        }
        self.resolve(p)
            .unwrap_or_else(|| self.base.join(p.trim_start_matches('/')))
    }

    fn resolve(&self, p: &str) -> Option<PathBuf> {
        // Components still to walk, last one first, and the resolved path relative to base.
        let mut pending: Vec<String> = Vec::new();
        push_components(&mut pending, p);
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            let mut candidate = self.base.clone();
            candidate.extend(&done);
            candidate.push(&c);
            let meta = fs::symlink_metadata(&candidate);
            let target = match &meta {
                Ok(m) if m.file_type().is_symlink() => fs::read_link(&candidate)
                    .ok()
                    .map(|t| t.to_string_lossy().into_owned()),
                Ok(m) if m.is_file() && m.len() <= MAX_LINK_STUB => {
                    self.link_stub(&candidate, &done)
                }
                _ => None,
            };
            if let Some(target) = target {
                links += 1;
                if links > MAX_SYMLINKS {
                    return None;
                }
                if target.starts_with('/') {
                    done.clear();
                }
                push_components(&mut pending, &target);
            } else if meta.is_ok() {
                done.push(c);
            } else {
                // Missing: keep the rest as it is, the caller will get NotFound.
                done.push(c);
                while let Some(rest) = pending.pop() {
                    done.push(rest);
                }
            }
        }
        let mut out = self.base.clone();
        out.extend(&done);
        Some(out)
    }

    /// A tree copied or checked out where symbolic links are not supported (git with
    /// `core.symlinks=false`, some archive tools) holds each link as a small file containing
    /// its target. Under a root, such a file is followed like the link it stands for when its
    /// one line is a path and that path exists in the root.
    fn link_stub(&self, file: &Path, dir: &[String]) -> Option<String> {
        let bytes = fs::read(file).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let looks_like_path =
            (text.starts_with('/') || text.starts_with("./") || text.starts_with("../"))
                && !text.contains(['\n', '\0', ' ']);
        if !looks_like_path {
            return None;
        }
        let mut target = if text.starts_with('/') {
            self.base.clone()
        } else {
            let mut d = self.base.clone();
            d.extend(dir);
            d
        };
        target.push(text.trim_start_matches('/'));
        let resolved = lexical_normalize(&target);
        (resolved.starts_with(&self.base) && fs::symlink_metadata(&resolved).is_ok())
            .then(|| text.to_string())
    }

    /// Reads a whole small file as text (lossy UTF-8, cut at `MAX_SMALL_FILE`).
    /// A missing file is `None` without a word; any other failure is also `None`, with a warning.
    pub fn read(&self, p: &str) -> Option<String> {
        let bytes = self.read_bytes(p, MAX_SMALL_FILE)?;
        Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("{p} is not valid UTF-8: the invalid bytes were replaced");
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        })
    }

    /// Like [`read`](Self::read), but a missing file is worth a warning: the system should have it.
    pub fn read_expected(&self, p: &str) -> Option<String> {
        if !self.exists(p) {
            log::warn!("cannot read {p}: no such file");
            return None;
        }
        self.read(p)
    }

    /// The first line of a small file, trimmed (`/sys` attributes). Errors are not worth a
    /// warning here: sysfs answers EINVAL or ENODEV for attributes that do not apply
    /// (the speed of a link that is down).
    pub fn value(&self, p: &str) -> Option<String> {
        let mut buf = Vec::new();
        let read =
            open_regular(&self.path(p)).and_then(|f| read_capped(f, MAX_VALUE_FILE, &mut buf));
        match read {
            Ok(true) => {
                log::warn!("{p} is longer than {MAX_VALUE_FILE} bytes: only the beginning was read")
            }
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                log::warn!("cannot read {p}: {e}");
                return None;
            }
            Err(e) => {
                if !missing(&e) {
                    log::debug!("cannot read {p}: {e}");
                }
                return None;
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.lines().next().unwrap_or("").trim();
        if line.is_empty() {
            None
        } else {
            Some(line.to_string())
        }
    }

    /// A `/sys` attribute parsed as a number.
    pub fn number(&self, p: &str) -> Option<i64> {
        self.value(p)?.parse().ok()
    }

    pub fn read_bytes(&self, p: &str, limit: usize) -> Option<Vec<u8>> {
        self.read_limited(p, limit, false)
    }

    /// Reads at most `limit` bytes of `p`, with a warning when there was more. With `quiet`,
    /// a file this user may not read is left out without a warning (SMBIOS tables and
    /// serial numbers are root's only, and other sources stand in for them).
    pub fn read_limited(&self, p: &str, limit: usize, quiet: bool) -> Option<Vec<u8>> {
        let file = match open_regular(&self.path(p)) {
            Ok(f) => f,
            Err(e) if missing(&e) => return None,
            Err(e) if quiet && e.kind() == io::ErrorKind::PermissionDenied => {
                log::debug!("cannot read {p}: {e}");
                return None;
            }
            Err(e) => {
                log::warn!("cannot read {p}: {e}");
                return None;
            }
        };
        // Room for the whole of most files at once: one read, then the one that says EOF
        // (growing from empty costs a read per doubling, and /proc files say their size is 0).
        let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
        let mut buf = Vec::with_capacity(size.clamp(4096, limit.saturating_add(1)));
        match file.take(limit as u64 + 1).read_to_end(&mut buf) {
            Ok(_) => {}
            Err(e) => {
                log::warn!("cannot read {p}: {e}");
                return None;
            }
        }
        if buf.len() > limit {
            log::warn!("{p} is longer than {limit} bytes: only the beginning was read");
            buf.truncate(limit);
        }
        Some(buf)
    }

    /// Opens a file for streaming; same error policy as [`read`](Self::read).
    pub fn open(&self, p: &str) -> Option<File> {
        let path = self.path(p);
        match open_regular(&path) {
            Ok(f) => Some(f),
            Err(e) if missing(&e) => None,
            Err(e) => {
                log::warn!("cannot read {p}: {e}");
                None
            }
        }
    }

    /// Opens a `/proc` file on the hot path of the process list: without blocking, and under
    /// a root (where anything may stand in for it) only a regular file. The live `/proc` holds
    /// only procfs files, so the check of [`open_regular`] is spared there.
    pub fn open_proc(&self, p: &str) -> io::Result<File> {
        if self.live {
            OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_NONBLOCK)
                .open(p)
        } else {
            open_regular(&self.path(p))
        }
    }

    /// A line reader over a file, for the big ones (cpuinfo, package databases).
    pub fn lines(&self, p: &str) -> Option<LineReader<File>> {
        Some(LineReader::new(self.open(p)?, p))
    }

    pub fn exists(&self, p: &str) -> bool {
        fs::symlink_metadata(self.path(p)).is_ok()
    }

    pub fn metadata(&self, p: &str) -> Option<Metadata> {
        fs::metadata(self.path(p)).ok()
    }

    /// Target of a symbolic link, as written in the link.
    pub fn read_link(&self, p: &str) -> Option<String> {
        // Resolve the parent only: the link itself must not be followed.
        let (dir, name) = p.rsplit_once('/')?;
        let parent = if dir.is_empty() {
            self.path("/")
        } else {
            self.path(dir)
        };
        let file = parent.join(name);
        if let Ok(target) = fs::read_link(&file) {
            return Some(target.to_string_lossy().into_owned());
        }
        if self.live {
            return None;
        }
        let rel = parent.strip_prefix(&self.base).ok()?;
        let dir: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        self.link_stub(&file, &dir)
    }

    /// Names in a directory, sorted; empty when it cannot be read (with a warning unless missing).
    pub fn list(&self, p: &str) -> Vec<String> {
        let dir = match fs::read_dir(self.path(p)) {
            Ok(d) => d,
            Err(e) => {
                if !missing(&e) {
                    log::warn!("cannot list {p}: {e}");
                }
                return Vec::new();
            }
        };
        let mut names = Vec::new();
        for entry in dir.flatten() {
            if names.len() >= MAX_DIR_ENTRIES {
                log::warn!("{p} has more than {MAX_DIR_ENTRIES} entries: the rest is left out");
                break;
            }
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort_unstable();
        names
    }
}

/// Whether an error means the file is not there (a path through a file is not there either).
fn missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
}

/// `a/b/../c` → `a/c`, without touching the filesystem.
fn lexical_normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn push_components(pending: &mut Vec<String>, p: &str) {
    // Pushed in reverse so that pop() walks from the start.
    for c in Path::new(p).components().rev() {
        match c {
            Component::Normal(s) => pending.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => pending.push("..".into()),
            _ => {}
        }
    }
}

/// Where the current line of a [`LineReader`] lives.
#[derive(Clone, Copy)]
enum Line {
    InBuffer(usize, usize),
    Copied,
}

/// Reads text line by line with one reused buffer, whatever the file's size: lines longer than
/// `MAX_LINE` are cut, invalid UTF-8 is replaced. A read error ends the stream with a warning.
pub struct LineReader<R> {
    inner: R,
    name: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line: Vec<u8>,
    warned_long: bool,
    warned_utf8: bool,
}

const READ_CHUNK: usize = 32 * 1024;

impl<R: Read> LineReader<R> {
    /// Long lines are expected in this file (package databases): cut them without a warning.
    pub fn quiet_long_lines(mut self) -> Self {
        self.warned_long = true;
        self
    }

    pub fn new(inner: R, name: &str) -> Self {
        LineReader {
            inner,
            name: name.to_string(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            eof: false,
            line: Vec::with_capacity(256),
            warned_long: false,
            warned_utf8: false,
        }
    }

    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("cannot read {}: {e}", self.name);
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    /// The next line as bytes, without its end of line, or `None` at the end. A line that
    /// sits whole in the read buffer is returned in place, without a copy.
    pub fn next_line_bytes(&mut self) -> Option<&[u8]> {
        let at = self.advance()?;
        Some(self.slice(at))
    }

    fn slice(&self, at: Line) -> &[u8] {
        let line = match at {
            Line::InBuffer(begin, len) => &self.buf[begin..begin + len],
            Line::Copied => &self.line,
        };
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// Moves to the next line and says where it is.
    fn advance(&mut self) -> Option<Line> {
        if let Some(i) = find_newline(&self.buf[self.start..self.end]) {
            let begin = self.start;
            self.start += i + 1;
            if i > MAX_LINE {
                self.warn_long();
            }
            return Some(Line::InBuffer(begin, i.min(MAX_LINE)));
        }
        self.line.clear();
        let mut got_any = false;
        loop {
            if self.start >= self.end && !self.fill() {
                if !got_any {
                    return None;
                }
                break;
            }
            got_any = true;
            let chunk = &self.buf[self.start..self.end];
            let (take, found) = match find_newline(chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&chunk[..take.min(room)]);
            self.start += take + usize::from(found);
            if take > room {
                self.warn_long();
            }
            if found {
                break;
            }
        }
        Some(Line::Copied)
    }

    fn warn_long(&mut self) {
        if !self.warned_long {
            self.warned_long = true;
            log::warn!(
                "{} has lines longer than {MAX_LINE} bytes: they were cut",
                self.name
            );
        }
    }

    /// Skips, from the current line on, the lines that start with `first`, looking only at
    /// their first byte and their end: for the long stretches of a file that a reader does not
    /// want (the devices of vendors nobody has, in pci.ids), at a fraction of the cost of
    /// reading them as lines.
    pub fn skip_lines_starting_with(&mut self, first: u8) {
        loop {
            if self.start >= self.end && !self.fill() {
                return;
            }
            if self.buf[self.start] != first {
                return;
            }
            loop {
                match find_newline(&self.buf[self.start..self.end]) {
                    Some(i) => {
                        self.start += i + 1;
                        break;
                    }
                    None => {
                        self.start = self.end;
                        if !self.fill() {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The next line without its end of line, or `None` at the end.
    pub fn next_line(&mut self) -> Option<Cow<'_, str>> {
        let at = self.advance()?;
        // Validation is cheap; the lossy conversion is slow, and only needed for bad bytes.
        if std::str::from_utf8(self.slice(at)).is_err() {
            self.note_invalid_utf8();
            return Some(Cow::Owned(
                String::from_utf8_lossy(self.slice(at)).into_owned(),
            ));
        }
        Some(Cow::Borrowed(
            std::str::from_utf8(self.slice(at)).unwrap_or_default(),
        ))
    }

    /// Says once that this file holds bytes that are not UTF-8.
    pub fn note_invalid_utf8(&mut self) {
        if !self.warned_utf8 {
            self.warned_utf8 = true;
            log::warn!(
                "{} is not valid UTF-8: the invalid bytes were replaced",
                self.name
            );
        }
    }
}

/// Position of the first `\n`, eight bytes at a time (lines of package databases and
/// cpuinfo are most of an inventory's reading).
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut i = 0;
    while i + 8 <= b.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'\n').map(|p| p + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_lines_are_whole_lines_even_across_reads() {
        let mut data = b"keep 1\n\tskip\n\tskip\nkeep 2\n".to_vec();
        data.extend(
            b"\t"
                .iter()
                .chain(&[b'x'; READ_CHUNK * 2])
                .chain(b"\nkeep 3\n\t\n"),
        );
        let mut r = LineReader::new(&data[..], "test");
        let mut kept = Vec::new();
        loop {
            r.skip_lines_starting_with(b'\t');
            let Some(l) = r.next_line() else { break };
            kept.push(l.into_owned());
        }
        assert_eq!(kept, ["keep 1", "keep 2", "keep 3"]);
        let mut r = LineReader::new(&b"\tonly\n\tskipped"[..], "test");
        r.skip_lines_starting_with(b'\t');
        assert!(r.next_line().is_none());
    }

    fn lines_of(data: &[u8]) -> Vec<String> {
        let mut r = LineReader::new(data, "test");
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            out.push(l.into_owned());
        }
        out
    }

    #[test]
    fn line_reader_splits_lines_and_keeps_a_last_line_without_newline() {
        assert_eq!(lines_of(b"a\nb\r\n\nc"), ["a", "b", "", "c"]);
        assert!(lines_of(b"").is_empty());
    }

    #[test]
    fn line_reader_cuts_overlong_lines_and_goes_on() {
        let mut data = vec![b'x'; MAX_LINE * 3];
        data.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&data);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn newlines_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'\n';
                assert_eq!(find_newline(&v), Some(at), "{len} {at}");
            }
            assert_eq!(find_newline(&vec![0xffu8; len]), None);
        }
    }

    #[test]
    fn line_reader_replaces_invalid_utf8() {
        assert_eq!(lines_of(b"caf\xe9\n"), ["caf\u{fffd}"]);
    }

    #[test]
    fn fifos_devices_and_huge_files_neither_block_nor_explode() {
        let dir = std::env::temp_dir().join(format!("uagent-root-fifo-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
        fs::create_dir_all(dir.join("etc")).unwrap();
        for p in ["proc/uptime", "proc/sys/kernel/hostname", "etc/timezone"] {
            nix::unistd::mkfifo(&dir.join(p), nix::sys::stat::Mode::S_IRWXU).unwrap();
        }
        std::os::unix::fs::symlink("/dev/zero", dir.join("etc/hostname")).unwrap();
        let big = File::create(dir.join("etc/os-release")).unwrap();
        big.set_len(1 << 30).unwrap();
        let root = Root::at(&dir);
        let t0 = std::time::Instant::now();
        assert_eq!(root.value("/proc/uptime"), None);
        assert_eq!(root.value("/proc/sys/kernel/hostname"), None);
        assert_eq!(root.read("/etc/timezone"), None);
        assert!(root.open("/etc/timezone").is_none());
        assert!(root.lines("/proc/uptime").is_none());
        assert!(root.open_proc("/proc/uptime").is_err());
        // /dev/zero outside the root is not reached; a link to a device inside it is refused.
        assert_eq!(root.value("/etc/hostname"), None);
        assert!(open_regular(Path::new("/dev/zero")).is_err());
        assert_eq!(
            root.read("/etc/os-release").map(|t| t.len()),
            Some(MAX_SMALL_FILE)
        );
        assert!(root
            .value("/etc/os-release")
            .is_some_and(|v| v.len() <= MAX_VALUE_FILE));
        assert_eq!(
            root.read_limited("/etc/os-release", 4096, true)
                .map(|t| t.len()),
            Some(4096)
        );
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn absolute_symlinks_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("uagent-root-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("usr/lib")).unwrap();
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::write(dir.join("usr/lib/os-release"), "NAME=Inside\n").unwrap();
        std::os::unix::fs::symlink("/usr/lib/os-release", dir.join("etc/os-release")).unwrap();
        let root = Root::at(&dir);
        assert_eq!(root.read("/etc/os-release").unwrap(), "NAME=Inside\n");
        assert_eq!(
            root.read_link("/etc/os-release").unwrap(),
            "/usr/lib/os-release"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn link_stub_files_are_followed_under_a_root() {
        let dir = std::env::temp_dir().join(format!("uagent-stub-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("usr/lib")).unwrap();
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::create_dir_all(dir.join("proc")).unwrap();
        fs::create_dir_all(dir.join("sys/firmware/devicetree/base")).unwrap();
        fs::write(dir.join("usr/lib/os-release"), "NAME=Inside\n").unwrap();
        fs::write(dir.join("etc/os-release"), "../usr/lib/os-release").unwrap();
        fs::write(dir.join("sys/firmware/devicetree/base/model"), "Board\0").unwrap();
        fs::write(
            dir.join("proc/device-tree"),
            "../sys/firmware/devicetree/base",
        )
        .unwrap();
        // A file whose text is a path that does not exist stays a file.
        fs::write(dir.join("etc/motd"), "/nowhere\n").unwrap();
        let root = Root::at(&dir);
        assert_eq!(root.read("/etc/os-release").unwrap(), "NAME=Inside\n");
        assert_eq!(root.read("/proc/device-tree/model").unwrap(), "Board\0");
        assert_eq!(
            root.read_link("/etc/os-release").unwrap(),
            "../usr/lib/os-release"
        );
        assert_eq!(root.read("/etc/motd").unwrap(), "/nowhere\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
