//! The segment being appended to: created preallocated, reopened after recovery, and the
//! zeros written ahead of its data (why: the top of `store.rs`).

use std::fs::File;
use std::path::Path;

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs::{Fs, FsFile, How};

/// How far ahead of its data the active segment is filled with written zeros.
pub const ZERO_AHEAD: u64 = 256 << 10;
pub static ZEROS: [u8; ZERO_AHEAD as usize] = [0; ZERO_AHEAD as usize];

/// The segment being appended to.
pub struct Active {
    pub seg: SegmentFile,
    pub file: FsFile,
    /// Bytes known durable; the file is cut back here after a failed append.
    pub len: u64,
    /// The file's size: preallocated, or cut to `len`. Zeros are never written past it.
    pub allocated: u64,
    /// Bytes from the start that hold data or written zeros.
    pub zeroed: u64,
}

impl Active {
    fn new(seg: SegmentFile, file: FsFile, len: u64, allocated: u64) -> Active {
        Active {
            seg,
            file,
            len,
            allocated,
            zeroed: len,
        }
    }
}

/// Reopens the last segment (recovery cut it to its data) and preallocates its rest again.
pub fn open_active(fs: &Fs, seg: SegmentFile, len: u64, size: u64) -> Result<Active, SpoolError> {
    let file = FsFile::open(fs, &seg.path, How::Write).map_err(io_err("open", &seg.path))?;
    if size > len {
        preallocate(file.raw(), size);
        file.sync_all().map_err(io_err("fsync", &seg.path))?;
    }
    let allocated = file.len().map_err(io_err("stat", &seg.path))?;
    Ok(Active::new(seg, file, len, allocated))
}

/// A new, empty segment, preallocated and made durable in the directory before any record
/// goes in. A file left by an earlier attempt whose fsync failed is reused if it holds no
/// data yet (only zeros), so a roll can be retried; one with data is refused rather than
/// written over.
pub fn create_segment(fs: &Fs, dir: &Path, base: u64, size: u64) -> Result<Active, SpoolError> {
    let path = dir::segment_path(dir, base);
    let file = FsFile::open(fs, &path, How::Create).map_err(io_err("create", &path))?;
    if holds_data(&file).map_err(io_err("read", &path))? {
        let source = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "segment already holds data");
        return Err(SpoolError::Io {
            op: "create",
            path,
            source,
        });
    }
    preallocate(file.raw(), size);
    file.sync_all().map_err(io_err("fsync", &path))?;
    dir::sync_dir(dir)?;
    let allocated = file.len().map_err(io_err("stat", &path))?;
    Ok(Active::new(SegmentFile { base, path }, file, 0, allocated))
}

/// The zeros to write after an append ending at `end`: when fewer than half a chunk of
/// written zeros are left past it, the next chunk (cut at the file's size).
pub fn zero_span(end: u64, zeroed: u64, allocated: u64) -> Option<std::ops::Range<u64>> {
    if zeroed >= allocated || zeroed.saturating_sub(end) >= ZERO_AHEAD / 2 {
        return None;
    }
    let start = zeroed.max(end);
    let stop = (start + ZERO_AHEAD).min(allocated);
    (start < stop).then_some(start..stop)
}

/// Whether any byte of the file is not zero.
fn holds_data(file: &FsFile) -> std::io::Result<bool> {
    Ok(super::recover::data_end(file, 0, file.len()?)? > 0)
}

/// Reserves `size` bytes (the file's size becomes `size`). Best effort: where the filesystem
/// cannot (`EOPNOTSUPP`), appends simply grow the file.
fn preallocate(file: &File, size: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(size).unwrap_or(libc::off_t::MAX);
        // SAFETY: a valid open fd; mode 0 allocates and extends, never touches data.
        if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) } != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "spool: cannot preallocate a segment");
        }
    }
}
