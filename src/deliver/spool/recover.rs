//! Startup recovery: decide, for every segment, whether it is whole, has a torn tail (a write
//! cut short by a crash: never acknowledged, safe to cut), or is damaged (moved aside).
//!
//! A torn tail is told apart from damage by looking past the first bad frame: a crash only
//! ever leaves a partial *last* write, so if any later offset still starts a frame with a
//! valid checksum, the bad bytes sit in the middle of data and cutting would destroy records.

use std::fs::{self, File, OpenOptions};
use std::io::BufReader;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::log::{self, FrameError, ReadFrame, HEADER_LEN};

/// What a full read of one segment found.
#[derive(Debug)]
pub struct Scan {
    /// Bytes of whole, in-order frames from the start.
    pub valid_len: u64,
    /// The seq after the last valid record (`base` when there is none).
    pub next: u64,
    pub file_len: u64,
    /// Offset and kind of the first bad frame.
    pub damage: Option<(u64, FrameError)>,
}

/// Reads a segment frame by frame. A frame whose seq is not the next expected one is damage
/// too (reported as `BadPayload`): segments hold consecutive seqs from their base.
pub fn scan(seg: &SegmentFile) -> Result<Scan, SpoolError> {
    let file = File::open(&seg.path).map_err(io_err("open", &seg.path))?;
    let file_len = file.metadata().map_err(io_err("stat", &seg.path))?.len();
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::new();
    let (mut valid_len, mut next) = (0u64, seg.base);
    loop {
        let frame = log::read_frame(&mut reader, &mut buf).map_err(io_err("read", &seg.path))?;
        let damage = match frame {
            ReadFrame::End => None,
            ReadFrame::Broken(e) => Some(e),
            ReadFrame::Record { seq, .. } if seq != next => Some(FrameError::BadPayload),
            ReadFrame::Record { len, .. } => {
                valid_len += len as u64;
                next += 1;
                continue;
            }
        };
        return Ok(Scan {
            valid_len,
            next,
            file_len,
            damage: damage.map(|e| (valid_len, e)),
        });
    }
}

/// The end of the data in `from..file_len`: just past its last non-zero byte, or `from` when
/// every byte is zero. Zeros at the end of a segment are preallocated space never written
/// (or a write that never reached the disk: unacknowledged either way).
pub fn data_end(file: &File, from: u64, file_len: u64) -> std::io::Result<u64> {
    const CHUNK: u64 = 1024 * 1024;
    let mut chunk = Vec::new();
    let mut end = file_len;
    while end > from {
        let start = end.saturating_sub(CHUNK).max(from);
        chunk.resize((end - start) as usize, 0);
        file.read_exact_at(&mut chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(from)
}

/// Whether any offset in `from..file_len` starts a frame with a valid checksum. Reads the
/// file in chunks and each candidate payload separately, so memory stays bounded.
pub fn later_frame_exists(file: &File, from: u64, file_len: u64) -> std::io::Result<bool> {
    const CHUNK: u64 = 1024 * 1024;
    let mut chunk = Vec::new();
    let mut frame = Vec::new();
    let mut off = from;
    while off + HEADER_LEN as u64 <= file_len {
        let n = CHUNK.min(file_len - off) as usize;
        chunk.resize(n, 0);
        file.read_exact_at(&mut chunk, off)?;
        for (i, window) in chunk.windows(HEADER_LEN).enumerate() {
            let Ok(header) = <[u8; HEADER_LEN]>::try_from(window) else {
                continue;
            };
            let Ok(len) = log::payload_len(&header) else {
                continue;
            };
            let at = off + i as u64;
            if at + (HEADER_LEN + len) as u64 > file_len {
                continue;
            }
            frame.resize(HEADER_LEN + len, 0);
            file.read_exact_at(&mut frame, at)?;
            if matches!(log::decode(&frame), Ok(_) | Err(FrameError::BadPayload)) {
                return Ok(true);
            }
        }
        // Overlap by a header minus one byte so no window is skipped at a chunk boundary.
        off += (n - (HEADER_LEN - 1)) as u64;
    }
    Ok(false)
}

/// The state of the directory after recovery.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Live segments, oldest first, with their (possibly cut) lengths.
    pub segments: Vec<(SegmentFile, u64)>,
    /// The seq after every record ever seen, quarantined ones included, so no seq is reused.
    pub next_seq: u64,
    /// The seq the last live segment expects next, if there is one.
    pub tail_next: Option<u64>,
    pub bytes_cut: u64,
    pub quarantined: Vec<PathBuf>,
    pub deleted: usize,
}

/// Runs recovery over `dir` given the persisted watermark.
pub fn recover(dir_path: &std::path::Path, watermark: u64) -> Result<Recovered, SpoolError> {
    let mut out = Recovered {
        next_seq: watermark,
        ..Recovered::default()
    };
    let segs = delete_delivered(dir::list_segments(dir_path)?, watermark, &mut out)?;
    let count = segs.len();
    for (i, seg) in segs.into_iter().enumerate() {
        let s = scan(&seg)?;
        out.next_seq = out.next_seq.max(s.next).max(seg.base);
        let keep = match s.damage {
            None => Some(s.valid_len),
            Some((offset, error)) if i + 1 == count => cut_torn_tail(&seg, &s, offset, error, &mut out)?,
            Some((offset, error)) => {
                out.quarantined.push(quarantine(&seg, offset, error)?);
                None
            }
        };
        if let Some(len) = keep {
            out.tail_next = Some(s.next);
            out.segments.push((seg, len));
        } else {
            out.tail_next = None;
        }
    }
    if out.deleted > 0 || !out.quarantined.is_empty() || out.bytes_cut > 0 {
        dir::sync_dir(dir_path)?;
    }
    Ok(out)
}

/// Deletes segments whose successor starts at or below the watermark: all their records
/// are delivered. Never the last one, which may be the writer's.
fn delete_delivered(
    segs: Vec<SegmentFile>,
    watermark: u64,
    out: &mut Recovered,
) -> Result<Vec<SegmentFile>, SpoolError> {
    let mut keep = Vec::with_capacity(segs.len());
    for (i, seg) in segs.iter().enumerate() {
        if segs.get(i + 1).is_some_and(|next| next.base <= watermark) {
            fs::remove_file(&seg.path).map_err(io_err("delete", &seg.path))?;
            out.deleted += 1;
        } else {
            keep.push(seg.clone());
        }
    }
    Ok(keep)
}

/// The last segment: cut a torn tail and keep the segment, or quarantine it if the bad
/// bytes are followed by valid frames. Returns the kept length.
fn cut_torn_tail(
    seg: &SegmentFile,
    s: &Scan,
    offset: u64,
    error: FrameError,
    out: &mut Recovered,
) -> Result<Option<u64>, SpoolError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg.path)
        .map_err(io_err("open", &seg.path))?;
    let end = data_end(&file, offset, s.file_len).map_err(io_err("read", &seg.path))?;
    // A bad payload under a valid checksum was written whole: that is not a torn write.
    let damaged = error == FrameError::BadPayload
        || later_frame_exists(&file, offset + 1, end).map_err(io_err("read", &seg.path))?;
    if damaged {
        out.quarantined.push(quarantine(seg, offset, error)?);
        return Ok(None);
    }
    file.set_len(offset).map_err(io_err("truncate", &seg.path))?;
    file.sync_all().map_err(io_err("fsync", &seg.path))?;
    // Only zeros past the data: the unused, preallocated rest of the segment.
    let cut = end - offset;
    if cut > 0 {
        out.bytes_cut += cut;
        tracing::warn!(segment = %seg.path.display(), offset, bytes_cut = cut, error = %error,
            "spool: cut a torn tail left by a crash (those writes were never acknowledged)");
    }
    Ok(Some(offset))
}

fn quarantine(seg: &SegmentFile, offset: u64, error: FrameError) -> Result<PathBuf, SpoolError> {
    let target = dir::quarantine(seg)?;
    tracing::error!(segment = %seg.path.display(), moved_to = %target.display(), offset, error = %error,
        "spool: damaged segment moved aside; its records will NOT be delivered");
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::spool::testutil::{log_files, read_all, rec, recs, seqs};
    use crate::deliver::spool::Store;

    /// A crash at every byte of the last write: the acknowledged records always survive,
    /// the torn one is cut, and the spool takes appends again.
    #[test]
    fn a_crash_at_every_byte_keeps_every_acknowledged_record() {
        let src = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(src.path(), 1 << 20).unwrap();
        store.append_batch(&recs(0..2)).unwrap();
        let acked = store.stats().bytes();
        store.append_batch(&recs(2..4)).unwrap();
        let data = store.stats().bytes() as usize;
        drop(store);
        let name = log_files(src.path())[0].clone();
        let mut full = fs::read(src.path().join(&name)).unwrap();
        full.truncate(data); // without the preallocated zeros
        for cut in acked as usize..full.len() {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join(&name), &full[..cut]).unwrap();
            let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
            let whole = if cut == full.len() {
                4
            } else {
                2 + u64::from(cut >= frame_end(&full, 3))
            };
            assert_eq!(recovery.next_seq, whole, "cut at {cut}");
            assert!(recovery.segments_quarantined.is_empty());
            assert_eq!(store.append_batch(&[rec(9)]).unwrap(), whole);
            assert_eq!(
                seqs(&read_all(dir.path(), 0, whole + 1)),
                (0..=whole).collect::<Vec<_>>()
            );
        }
    }

    /// End offset of the first `n` frames.
    fn frame_end(buf: &[u8], n: usize) -> usize {
        (0..n).fold(0, |at, _| at + log::decode(&buf[at..]).unwrap().2)
    }

    /// Zeros after the data are the preallocated rest of the segment: cut without a word.
    #[test]
    fn a_zero_filled_tail_is_unused_space_not_damage() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store.append_batch(&recs(0..3)).unwrap();
        drop(store);
        let seg = dir.path().join(&log_files(dir.path())[0]);
        let mut bytes = fs::read(&seg).unwrap();
        bytes.extend_from_slice(&[0; 4096]);
        fs::write(&seg, bytes).unwrap();
        let (_, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!((recovery.bytes_cut, recovery.next_seq), (0, 3));
        assert!(recovery.segments_quarantined.is_empty());
    }

    /// A torn write into preallocated space: the partial frame is cut (and counted), the
    /// zeros after it are not, and the records before it survive.
    #[test]
    fn a_torn_write_before_preallocated_zeros_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store.append_batch(&recs(0..3)).unwrap();
        let data = store.stats().bytes() as usize;
        drop(store);
        let seg = dir.path().join(&log_files(dir.path())[0]);
        let mut bytes = fs::read(&seg).unwrap();
        bytes.truncate(data);
        let mut torn = Vec::new();
        log::encode(3, &rec(3), &mut torn).unwrap();
        let half = &torn[..torn.len() / 2];
        bytes.extend_from_slice(half);
        bytes.extend_from_slice(&[0; 1 << 20]);
        fs::write(&seg, bytes).unwrap();
        let (_, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
        // Zeros that end the torn bytes cannot be told from the preallocated ones.
        let nonzero = half.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        assert!(nonzero > 0);
        assert_eq!((recovery.bytes_cut, recovery.next_seq), (nonzero as u64, 3));
        assert_eq!(seqs(&read_all(dir.path(), 0, 3)), [0, 1, 2]);
    }

    #[test]
    fn data_end_finds_the_last_non_zero_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut bytes = vec![0u8; 3 << 20];
        bytes[5] = 1;
        bytes[(1 << 20) + 7] = 2;
        fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let len = bytes.len() as u64;
        assert_eq!(data_end(&file, 0, len).unwrap(), (1 << 20) + 8);
        assert_eq!(data_end(&file, (1 << 20) + 8, len).unwrap(), (1 << 20) + 8);
        assert_eq!(data_end(&file, 0, 5).unwrap(), 0);
        assert_eq!(data_end(&file, 0, 6).unwrap(), 6);
    }

    #[test]
    fn later_frames_are_found_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut bytes = vec![0x77u8; 1024 * 1024 - 3]; // the frame header straddles a chunk edge
        log::encode(1, &rec(1), &mut bytes).unwrap();
        fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let len = bytes.len() as u64;
        assert!(later_frame_exists(&file, 0, len).unwrap());
        assert!(!later_frame_exists(&file, 1024 * 1024 - 2, len).unwrap());
        assert!(!later_frame_exists(&file, 0, len - 1).unwrap());
    }
}
