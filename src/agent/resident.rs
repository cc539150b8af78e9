//! Keeping the resident process's memory to what it uses. Its code is a file mapping, and the
//! kernel maps a window of pages around each one touched (fault-around), so start-up and each
//! wake-up leave much of the binary counted as resident though the idle daemon runs a small
//! part of it. Going idle, the daemon drops its code mappings: the next instructions it runs
//! come back from the page cache, and only those. Nothing is lost: the code segment is never
//! written (position-independent code has no text relocations), so its pages are the file's.

use std::ffi::c_void;
use std::ptr::NonNull;

use nix::sys::mman::{madvise, MmapAdvise};

/// The address ranges of this process's own read-only mappings, and whether each is code.
fn own_mappings() -> Vec<(usize, usize, bool)> {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    let exe = exe.to_string_lossy().into_owned();
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let path = f.nth(3).unwrap_or("");
        let p = perms.as_bytes();
        // Writable mappings hold the process's own data: never touched here.
        if path != exe || p.get(1) == Some(&b'w') {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
            if b > a {
                out.push((a, b - a, p.get(2) == Some(&b'x')));
            }
        }
    }
    out
}

/// Gives back the binary's resident pages: code mappings are dropped (they are the file's
/// pages, read again on use); read-only data, which holds relocated pages of our own, is only
/// asked to page out what is clean.
pub fn trim() {
    let mappings = own_mappings();
    // Code pages read as single pages on their next use, not in readahead batches.
    for (addr, len, _) in &mappings {
        if let Some(ptr) = NonNull::new(*addr as *mut c_void) {
            // SAFETY: as below; MADV_RANDOM only changes how pages are read in.
            let _ = unsafe { madvise(ptr, *len, MmapAdvise::MADV_RANDOM) };
        }
    }
    for (addr, len, code) in mappings {
        let Some(ptr) = NonNull::new(addr as *mut c_void) else {
            continue;
        };
        let advice = if code {
            MmapAdvise::MADV_DONTNEED
        } else {
            MmapAdvise::MADV_PAGEOUT
        };
        // SAFETY: the range is a whole read-only mapping of this process's own binary, as the
        // kernel lists it. A code mapping is never written, so dropping it only means its
        // pages are read from the file again when executed; MADV_PAGEOUT reclaims only clean
        // pages (relocated read-only data is anonymous and stays). Neither changes what the
        // process sees.
        let _ = unsafe { madvise(ptr, len, advice) };
    }
    // The page cache may hold the binary in large folios (readahead builds them), and a fault
    // maps a whole folio: let the kernel drop the pages no process maps any more, so that
    // what comes back is read page by page.
    if let Ok(exe) = std::fs::File::open("/proc/self/exe") {
        let _ = nix::fcntl::posix_fadvise(
            &exe,
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        );
    }
}
