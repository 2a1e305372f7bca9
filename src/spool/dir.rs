//! The spool directory: segment names, listing, the lock, the watermark file, and directory
//! fsyncs (a created, renamed or deleted file is only durable once its directory is synced).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::{io_err, SpoolError};

const LOCK: &str = "LOCK";
const WATERMARK: &str = "watermark";
const WATERMARK_TMP: &str = "watermark.tmp";
const SEGMENT_EXT: &str = ".log";
/// Prefix of a copy being written: never listed as a segment or a side file, never trusted.
const TEMP_PREFIX: &str = ".tmp-";

/// A segment file: `<base_seq:020>.log`, holding consecutive seqs starting at `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub base: u64,
    pub path: PathBuf,
}

pub fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{SEGMENT_EXT}"))
}

/// Only exact `<20 digits>.log` names: quarantined, temporary and foreign files are ignored.
fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_EXT)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Live segments, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>, SpoolError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if let Some(base) = entry.file_name().to_str().and_then(parse_segment_name) {
            out.push(SegmentFile {
                base,
                path: entry.path(),
            });
        }
    }
    out.sort_by_key(|s| s.base);
    Ok(out)
}

/// Where a copy destined for `target` is written until it is whole and synced.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!("{TEMP_PREFIX}{name}"))
}

/// Copies an interrupted recovery left half-written: the data they were copied from is still
/// in place (nothing is cut before its copy is renamed whole), so they are only removed.
pub fn leftover_temps(dir: &Path) -> Result<Vec<PathBuf>, SpoolError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX))
        {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Side files of damaged bytes and segments moved aside (`*.log.<something>`), with their
/// sizes: counted in the spool's size, so that repeated damage cannot quietly fill the volume.
pub fn set_aside_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, SpoolError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        if entry.file_name().to_str().is_some_and(|n| n.contains(".log.")) {
            out.push((entry.path(), entry.metadata().map_or(0, |m| m.len())));
        }
    }
    out.sort();
    Ok(out)
}

pub fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Takes the exclusive lock. `flock` locks belong to the open file description, so even a
/// second open from this same process is refused, which is what we want.
pub fn lock(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Err(SpoolError::Locked(dir.to_path_buf()));
        }
        return Err(io_err("lock", &path)(e));
    }
    Ok(file)
}

/// The persisted watermark; missing or damaged means 0, which can only cause duplicates.
/// A missing one is only worth a warning when there are segments it should have described.
pub fn read_watermark(dir: &Path, has_segments: bool) -> u64 {
    let path = dir.join(WATERMARK);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !has_segments {
                return 0;
            }
            tracing::warn!(path = %path.display(), "no spool watermark: delivering from the oldest record (duplicates possible)");
            return 0;
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable spool watermark: delivering from the oldest record");
            return 0;
        }
    };
    match decode_watermark(&bytes) {
        Some(w) => w,
        None => {
            tracing::warn!(path = %path.display(), "damaged spool watermark: delivering from the oldest record");
            0
        }
    }
}

fn decode_watermark(bytes: &[u8]) -> Option<u64> {
    let value: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let crc: [u8; 4] = bytes.get(8..12)?.try_into().ok()?;
    (bytes.len() == 12 && crc32c::crc32c(&value) == u32::from_le_bytes(crc))
        .then(|| u64::from_le_bytes(value))
}

/// Replaces the watermark atomically: a crash leaves either the old or the new one.
pub fn write_watermark(dir: &Path, watermark: u64) -> Result<(), SpoolError> {
    let tmp = dir.join(WATERMARK_TMP);
    let value = watermark.to_le_bytes();
    let mut bytes = value.to_vec();
    bytes.extend_from_slice(&crc32c::crc32c(&value).to_le_bytes());
    let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    file.write_all(&bytes).map_err(io_err("write", &tmp))?;
    file.sync_data().map_err(io_err("fdatasync", &tmp))?;
    let path = dir.join(WATERMARK);
    fs::rename(&tmp, &path).map_err(io_err("rename", &path))?;
    sync_dir(dir)
}

/// Moves a damaged segment aside under a name no listing picks up, never overwriting an
/// earlier quarantined file.
pub fn quarantine(seg: &SegmentFile) -> Result<PathBuf, SpoolError> {
    let mut target = seg.path.with_extension("log.corrupt");
    let mut n = 1;
    while target.exists() {
        target = seg.path.with_extension(format!("log.corrupt.{n}"));
        n += 1;
    }
    fs::rename(&seg.path, &target).map_err(io_err("quarantine", &seg.path))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_others_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "00000000000000000007.log",
            "00000000000000000003.log",
            "x.log",
            "00000000000000000001.log.corrupt",
            LOCK,
        ] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let segs = list_segments(dir.path()).unwrap();
        assert_eq!(segs.iter().map(|s| s.base).collect::<Vec<_>>(), [3, 7]);
        assert_eq!(segs[1].path, segment_path(dir.path(), 7));
    }

    #[test]
    fn watermark_round_trips_and_damage_reads_as_zero() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_watermark(dir.path(), true), 0);
        write_watermark(dir.path(), 1234).unwrap();
        assert_eq!(read_watermark(dir.path(), true), 1234);
        let path = dir.path().join(WATERMARK);
        let mut bytes = fs::read(&path).unwrap();
        bytes[0] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert_eq!(read_watermark(dir.path(), true), 0);
    }

    #[test]
    fn quarantine_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let seg = SegmentFile {
            base: 5,
            path: segment_path(dir.path(), 5),
        };
        fs::write(&seg.path, b"a").unwrap();
        let first = quarantine(&seg).unwrap();
        fs::write(&seg.path, b"b").unwrap();
        let second = quarantine(&seg).unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read(first).unwrap(), b"a");
        assert!(list_segments(dir.path()).unwrap().is_empty());
    }
}
