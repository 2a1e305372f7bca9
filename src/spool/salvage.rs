//! Salvage: after damage, find the next intact record, so that a damaged record costs only its
//! own bytes instead of its whole segment.
//!
//! A candidate frame is checked the way the reader checks any frame (length, CRC, payload), but
//! only after two cheap filters that random bytes almost never pass: its length fits in the
//! bytes left, and its seq (the payload's first 8 bytes) is one the damaged span could have
//! held — at least the seq expected at the damage, at most one more per minimal frame of
//! damaged bytes. So each byte is looked at a bounded number of times and the CRC runs only on
//! real frames: the search is linear in the bytes searched (`Search::hashed` counts the work,
//! for the tests that hold it to that).

use std::path::{Path, PathBuf};

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs::{self, Fs, FsFile, How};
use super::log::{self, FrameError, HEADER_LEN, MIN_PAYLOAD_LEN};

/// The smallest frame on disk: a damaged span of `n` bytes held at most `n / MIN_FRAME_LEN`
/// records.
pub const MIN_FRAME_LEN: u64 = (HEADER_LEN + MIN_PAYLOAD_LEN) as u64;
const CHUNK: u64 = 1024 * 1024;

/// The next intact frame after damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub offset: u64,
    pub seq: u64,
}

/// Where to look and which seqs an intact frame there may carry.
pub struct Search {
    /// The seq the damaged frame should have had.
    pub expected: u64,
    /// The largest seq a resumed frame may carry (inclusive): the next segment's base, or the
    /// last durable seq.
    pub max_seq: u64,
    /// Bytes run through the CRC so far (the tests check it stays linear).
    pub hashed: u64,
    /// Bytes that could not be read (unreadable sectors, searched as zeros).
    pub unreadable: u64,
}

impl Search {
    pub fn new(expected: u64, max_seq: u64) -> Search {
        Search {
            expected,
            max_seq,
            hashed: 0,
            unreadable: 0,
        }
    }

    /// The first offset in `from..end` where an intact frame with a plausible seq starts.
    /// Unreadable sectors read as zeros (which never start a frame), and a candidate frame
    /// that cannot be read whole is not one.
    pub fn next_frame(&mut self, file: &FsFile, from: u64, end: u64) -> std::io::Result<Option<Found>> {
        let mut chunk = Vec::new();
        let mut off = from;
        let probe = HEADER_LEN + 8; // header and seq
        while off + MIN_FRAME_LEN <= end {
            let n = CHUNK.min(end - off) as usize;
            chunk.resize(n, 0);
            self.unreadable += fs::read_around_holes(file, &mut chunk, off)?;
            for (i, window) in chunk.windows(probe).enumerate() {
                let at = off + i as u64;
                if let Some(found) = self.check(file, window, at, from, end)? {
                    return Ok(Some(found));
                }
            }
            if n < probe {
                break;
            }
            // Overlap by a probe minus one byte so no candidate is skipped at a chunk edge.
            off += (n - (probe - 1)) as u64;
        }
        Ok(None)
    }

    fn check(
        &mut self,
        file: &FsFile,
        window: &[u8],
        at: u64,
        from: u64,
        end: u64,
    ) -> std::io::Result<Option<Found>> {
        let Ok(header) = <[u8; HEADER_LEN]>::try_from(&window[..HEADER_LEN]) else {
            return Ok(None);
        };
        let Ok(len) = log::payload_len(&header) else {
            return Ok(None);
        };
        if at + (HEADER_LEN + len) as u64 > end {
            return Ok(None);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&window[HEADER_LEN..HEADER_LEN + 8]);
        let seq = u64::from_le_bytes(seq);
        // The damaged span (from the damage to here) held at most this many records.
        let span = (at + 1).saturating_sub(from) / MIN_FRAME_LEN + 1;
        let highest = self.expected.saturating_add(span).min(self.max_seq);
        if seq < self.expected || seq > highest {
            return Ok(None);
        }
        let mut frame = vec![0u8; HEADER_LEN + len];
        match file.read_exact_at(&mut frame, at) {
            Ok(()) => {}
            Err(e) if fs::is_unreadable(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
        self.hashed += len as u64;
        Ok(match log::decode(&frame) {
            Ok((s, _, _)) if s == seq => Some(Found { offset: at, seq }),
            _ => None,
        })
    }
}

/// Damaged bytes, set aside for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where the bad bytes start in their segment, and how many there are.
    pub offset: u64,
    pub len: u64,
    pub error: FrameError,
    /// The seqs lost with them: `first..resume`, empty when only non-records were damaged.
    pub first: u64,
    pub resume: u64,
}

impl Damage {
    pub fn records_lost(&self) -> u64 {
        self.resume.saturating_sub(self.first)
    }
}

/// The side file for damage at `offset` of `seg`: named so that finding the same damage again
/// (a restart before recovery finished) writes the same file, never a second one.
pub fn side_path(seg: &SegmentFile, offset: u64) -> PathBuf {
    seg.path.with_extension(format!("log.damaged-{offset:020}"))
}

/// Copies the damaged bytes into their side file, durably, before anything is cut or skipped.
/// `None` when the disk has no room for it: the records are lost either way, and a full disk
/// must not stop the spool from starting or reading (the bytes are not kept then, and the log
/// line says so).
pub fn keep(
    fs: &Fs,
    file: &FsFile,
    seg: &SegmentFile,
    damage: &Damage,
) -> Result<Option<PathBuf>, SpoolError> {
    let target = side_path(seg, damage.offset);
    match copy_range(fs, file, damage.offset, damage.len, &target) {
        Ok(_) => Ok(Some(target)),
        Err(SpoolError::Io { source, .. }) if fs::is_no_space(&source) => {
            tracing::warn!(segment = %seg.path.display(), offset = damage.offset, bytes = damage.len,
                "spool: no space to keep the damaged bytes in a side file; going on without the copy");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Copies `len` bytes at `offset` of `file` into `target`, a chunk at a time so memory stays
/// small: written under a temporary name ([`dir::temp_path`]), synced, and only then renamed
/// into place (and the directory synced), so a file under `target`'s name is always whole — a
/// crash half-way leaves only a temporary file, which the next start removes. Unreadable
/// sectors are copied as zeros; returns how many bytes those were.
pub fn copy_range(fs: &Fs, file: &FsFile, offset: u64, len: u64, target: &Path) -> Result<u64, SpoolError> {
    let tmp = dir::temp_path(target);
    let result = write_copy(fs, file, offset, len, &tmp);
    let holes = match result {
        Ok(holes) => holes,
        Err(e) => {
            let _ = fs.remove(&tmp);
            return Err(e);
        }
    };
    fs.rename(&tmp, target).map_err(io_err("rename", target))?;
    if let Some(parent) = target.parent() {
        dir::sync_dir(parent)?;
    }
    Ok(holes)
}

fn write_copy(fs: &Fs, file: &FsFile, offset: u64, len: u64, tmp: &Path) -> Result<u64, SpoolError> {
    let out = FsFile::open(fs, tmp, How::Fresh).map_err(io_err("create", tmp))?;
    let mut chunk = Vec::new();
    let mut done = 0;
    let mut holes = 0;
    while done < len {
        let n = CHUNK.min(len - done) as usize;
        chunk.resize(n, 0);
        holes +=
            fs::read_around_holes(file, &mut chunk, offset + done).map_err(io_err("read", file.path()))?;
        out.write_all_at(&chunk, done).map_err(io_err("write", tmp))?;
        done += n as u64;
    }
    out.sync_all().map_err(io_err("fsync", tmp))?;
    Ok(holes)
}

/// Logs damage the way an operator needs it: what was lost, between which records, and where
/// the bytes are now.
pub fn report(seg: &SegmentFile, damage: &Damage, kept: Option<&Path>) {
    tracing::error!(
        segment = %seg.path.display(),
        offset = damage.offset,
        bytes_skipped = damage.len,
        error = %damage.error,
        records_lost = damage.records_lost(),
        lost_seqs = %format!("{}..{}", damage.first, damage.resume),
        kept_in = %kept.map_or("nowhere (no space)".into(), |k| k.display().to_string()),
        "spool: damaged bytes skipped; every intact record before and after them is delivered"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::testutil::rec;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, FsFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let file = FsFile::open(&fs::real(), &path, How::Read).unwrap();
        (dir, file)
    }

    #[test]
    fn finds_the_next_frame_across_a_chunk_edge() {
        let mut bytes = vec![0x77u8; CHUNK as usize - 5];
        log::encode(3, &rec(3), &mut bytes).unwrap();
        let (_d, file) = file_with(&bytes);
        let end = bytes.len() as u64;
        let found = Search::new(2, u64::MAX).next_frame(&file, 0, end).unwrap();
        assert_eq!(
            found,
            Some(Found {
                offset: CHUNK - 5,
                seq: 3
            })
        );
        // A seq the damaged span could not have held is not a resume point.
        assert_eq!(Search::new(2, 2).next_frame(&file, 0, end).unwrap(), None);
        assert_eq!(Search::new(4, u64::MAX).next_frame(&file, 0, end).unwrap(), None);
        assert_eq!(
            Search::new(2, u64::MAX).next_frame(&file, 0, end - 1).unwrap(),
            None
        );
    }

    #[test]
    fn random_bytes_are_searched_in_linear_work() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let bytes: Vec<u8> = (0..8 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let (_d, file) = file_with(&bytes);
        let mut search = Search::new(7, u64::MAX);
        assert_eq!(search.next_frame(&file, 0, bytes.len() as u64).unwrap(), None);
        assert!(search.hashed <= bytes.len() as u64, "hashed {}", search.hashed);
    }

    #[test]
    fn random_garbage_is_searched_in_linear_work() {
        // Lengths that all fit and seqs that never do: nothing may be hashed.
        let mut bytes = Vec::new();
        for i in 0..(4u32 << 20) / 4 {
            bytes.extend_from_slice(&(100 + (i % 1000)).to_le_bytes());
        }
        let (_d, file) = file_with(&bytes);
        let mut search = Search::new(0, u64::MAX);
        assert_eq!(search.next_frame(&file, 0, bytes.len() as u64).unwrap(), None);
        assert_eq!(search.hashed, 0);
    }
}
