//! Startup recovery: read every segment in full and repair what a crash or a bad disk left.
//!
//! - Zeros after the last segment's data are unused preallocated space: cut silently.
//! - Damage with no intact frame after it, in the last segment, is a torn tail — a group
//!   commit cut short by a crash, never acknowledged — or the last records rotting: the bytes
//!   are kept in a side file, then cut.
//! - Damage followed by intact frames (a multi-page write reaching the disk out of order, a bad
//!   sector, a flipped bit) costs only its own bytes ([`salvage`]): they go to a side file, and
//!   the segment is split at them into pieces, each a segment of its own named by its first
//!   seq, so that every segment still holds consecutive seqs and no seq is ever reused.
//! - A segment that cannot be read at all is moved aside whole, and the seqs it may have held
//!   are never handed out again.
//!
//! Every repair writes its copies durably before it cuts or deletes anything, and doing the
//! same repair twice gives the same files: a crash during recovery is repaired by the next one.

use std::fs;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs::{self as sfs, Fs, FsFile, FsReader, How, SECTOR};
use super::log::{self, FrameError, ReadFrame};
use super::repair::repair;
use super::salvage::{Damage, Search, MIN_FRAME_LEN};
pub use super::scanned::{Piece, Recovered, Scan};

/// Reads of one frame that fail with EIO are tried this many times before its bytes are
/// declared unreadable (a bad sector): a passing error (a busy or remote disk) gets a second
/// and third chance, a dead sector costs three reads, not a stuck start.
pub const READ_TRIES: u32 = 3;

type SegReader = BufReader<FsReader>;

/// Reads a segment frame by frame, resuming after damage at the next intact frame. `limit` is
/// the next segment's base: seqs at or past it belong there.
pub fn scan(fs: &Fs, seg: &SegmentFile, limit: Option<u64>) -> Result<Scan, SpoolError> {
    let file = Arc::new(FsFile::open(fs, &seg.path, How::Read).map_err(io_err("open", &seg.path))?);
    let file_len = file.len().map_err(io_err("stat", &seg.path))?;
    let mut reader = BufReader::with_capacity(256 * 1024, FsReader::new(Arc::clone(&file), 0));
    let mut buf = Vec::new();
    let mut out = Scan {
        file_len,
        next: seg.base,
        ..Scan::default()
    };
    let mut piece = Piece {
        offset: 0,
        len: 0,
        first: seg.base,
        next: seg.base,
    };
    let read = |e| io_err("read", &seg.path)(e);
    loop {
        let at = piece.offset + piece.len;
        let error = match read_frame_retrying(&mut reader, &mut buf, at).map_err(read)? {
            ReadFrame::End => break,
            // The rest was copied into the next segment by an interrupted split.
            ReadFrame::Record { seq, .. } if Some(seq) == limit && seq == piece.next => {
                out.copied = Some(run_at(&mut reader, &mut buf, at, seq).map_err(read)?);
                break;
            }
            ReadFrame::Record { seq, len, .. } if seq == piece.next && limit.map_or(true, |l| seq < l) => {
                piece.len += len as u64;
                piece.next += 1;
                continue;
            }
            ReadFrame::Record { .. } => FrameError::BadPayload,
            ReadFrame::Broken(e) => e,
        };
        out.next = out.next.max(piece.next);
        let expected = piece.next;
        if piece.len > 0 {
            out.pieces.push(piece);
        }
        let end = data_end(&file, at, file_len).map_err(read)?;
        let lost_to = limit.unwrap_or(expected);
        if end <= at && lost_to <= expected {
            break; // only zeros: unused preallocated space
        }
        let mut search = Search::new(expected, limit.unwrap_or(u64::MAX));
        let Some(found) = search.next_frame(&file, at + 1, end).map_err(read)? else {
            if error == FrameError::Unreadable && out.pieces.is_empty() {
                // Not one record read: a disk that cannot read at all, not a bad sector. The
                // segment is not cut on its word (it is set aside whole, as before).
                return Err(read(io::Error::from_raw_os_error(libc::EIO)));
            }
            out.tail = Some(Damage {
                offset: at,
                len: end.saturating_sub(at),
                error,
                first: expected,
                resume: lost_to,
            });
            break;
        };
        out.damage.push(Damage {
            offset: at,
            len: found.offset - at,
            error,
            first: expected,
            resume: found.seq,
        });
        if Some(found.seq) == limit {
            out.copied = Some(run_at(&mut reader, &mut buf, found.offset, found.seq).map_err(read)?);
            break;
        }
        piece = Piece {
            offset: found.offset,
            len: 0,
            first: found.seq,
            next: found.seq,
        };
        reader.seek(SeekFrom::Start(found.offset)).map_err(read)?;
    }
    if piece.len > 0 && out.pieces.last() != Some(&piece) {
        out.pieces.push(piece);
    }
    out.next = out.next.max(piece.next);
    out.keep_end = out.pieces.last().map_or(0, |p| p.offset + p.len);
    Ok(out)
}

/// The frame at `at`; a frame the disk cannot read is retried ([`READ_TRIES`]) and then
/// reported as damage ([`FrameError::Unreadable`]) rather than failing the whole segment.
fn read_frame_retrying(reader: &mut SegReader, buf: &mut Vec<u8>, at: u64) -> io::Result<ReadFrame> {
    let mut tries = 0;
    loop {
        match log::read_frame(reader, buf) {
            Ok(frame) => return Ok(frame),
            Err(e) if sfs::is_unreadable(&e) => {
                tries += 1;
                reader.seek(SeekFrom::Start(at))?;
                // A moment for a disk that is only busy; the start cannot wait longer per sector.
                std::thread::sleep(std::time::Duration::from_millis(50));
                if tries >= READ_TRIES {
                    tracing::warn!(segment = %reader.get_ref().file().path().display(), offset = at, error = %e,
                        "spool: bytes the disk cannot read, {READ_TRIES} tries: handled as damage");
                    return Ok(ReadFrame::Broken(FrameError::Unreadable));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The run of consecutive, whole frames starting at `offset` with seq `first`.
fn run_at(reader: &mut SegReader, buf: &mut Vec<u8>, offset: u64, first: u64) -> io::Result<Piece> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut piece = Piece {
        offset,
        len: 0,
        first,
        next: first,
    };
    while let Ok(ReadFrame::Record { seq, len, .. }) = log::read_frame(reader, buf) {
        if seq != piece.next {
            break;
        }
        piece.len += len as u64;
        piece.next += 1;
    }
    Ok(piece)
}

/// The end of the data in `from..file_len`: just past its last non-zero byte, or `from` when
/// every byte is zero. Zeros at the end of a segment are preallocated space never written
/// (or a write that never reached the disk: unacknowledged either way). A sector the disk
/// cannot read counts as data: it may have held records.
pub fn data_end(file: &FsFile, from: u64, file_len: u64) -> io::Result<u64> {
    const CHUNK: u64 = 1024 * 1024;
    let mut chunk = Vec::new();
    let mut end = file_len;
    while end > from {
        let start = end.saturating_sub(CHUNK).max(from);
        chunk.resize((end - start) as usize, 0);
        match file.read_exact_at(&mut chunk, start) {
            Ok(()) => {
                if let Some(i) = chunk.iter().rposition(|&b| b != 0) {
                    return Ok(start + i as u64 + 1);
                }
            }
            Err(e) if sfs::is_unreadable(&e) => {
                if let Some(found) = data_end_by_sector(file, start, end)? {
                    return Ok(found);
                }
            }
            Err(e) => return Err(e),
        }
        end = start;
    }
    Ok(from)
}

/// [`data_end`] within `start..end`, a sector at a time, after a larger read failed.
fn data_end_by_sector(file: &FsFile, start: u64, mut end: u64) -> io::Result<Option<u64>> {
    let mut sector = Vec::new();
    while end > start {
        let from = ((end - 1) / SECTOR * SECTOR).max(start);
        sector.resize((end - from) as usize, 0);
        match file.read_exact_at(&mut sector, from) {
            Ok(()) => {
                if let Some(i) = sector.iter().rposition(|&b| b != 0) {
                    return Ok(Some(from + i as u64 + 1));
                }
            }
            Err(e) if sfs::is_unreadable(&e) => return Ok(Some(end)),
            Err(e) => return Err(e),
        }
        end = from;
    }
    Ok(None)
}

/// Runs recovery over `dir` given the persisted watermark. Delivered segments are deleted, or
/// with `retain` kept (unread) for the cleaner to expire.
pub fn recover(fs: &Fs, dir_path: &Path, watermark: u64, retain: bool) -> Result<Recovered, SpoolError> {
    let mut out = Recovered {
        next_seq: watermark,
        ..Recovered::default()
    };
    let mut changed = remove_temps(fs, dir_path)?;
    let segs = delete_delivered(dir::list_segments(dir_path)?, watermark, retain, &mut out)?;
    changed |= out.deleted > 0;
    for (i, seg) in segs.iter().enumerate() {
        let limit = segs.get(i + 1).map(|s| s.base);
        out.next_seq = out.next_seq.max(seg.base);
        let scan = match scan_retrying(fs, seg, limit) {
            Ok(scan) => scan,
            Err(e) if is_process_error(&e) => return Err(e),
            Err(e) => {
                set_aside_unreadable(seg, limit, &e, &mut out)?;
                changed = true;
                continue;
            }
        };
        out.next_seq = out.next_seq.max(scan.next);
        changed |= repair(fs, seg, &scan, limit.is_none(), &mut out)?;
    }
    if changed {
        dir::sync_dir(dir_path)?;
    }
    Ok(out)
}

/// A read error may be passing (a network volume, a busy disk): one more try before the
/// segment is given up as unreadable.
fn scan_retrying(fs: &Fs, seg: &SegmentFile, limit: Option<u64>) -> Result<Scan, SpoolError> {
    scan(fs, seg, limit).or_else(|e| {
        if is_process_error(&e) {
            Err(e)
        } else {
            scan(fs, seg, limit)
        }
    })
}

/// Removes the half-written copies of an interrupted recovery (their source is still whole:
/// nothing is cut before its copy is renamed into place). Returns whether there were any.
fn remove_temps(fs: &Fs, dir_path: &Path) -> Result<bool, SpoolError> {
    let temps = dir::leftover_temps(dir_path)?;
    for tmp in &temps {
        tracing::warn!(file = %tmp.display(), "spool: removed a copy an interrupted recovery left half-written; redoing it");
        fs.remove(tmp).map_err(io_err("delete", tmp))?;
    }
    Ok(!temps.is_empty())
}

/// Errors that say nothing about the segment (out of file descriptors or memory): the start
/// fails and is retried, and the segment is left as it is.
fn is_process_error(e: &SpoolError) -> bool {
    let SpoolError::Io { source, .. } = e else {
        return false;
    };
    matches!(
        source.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EINTR)
    )
}

/// A segment that cannot be read: moved aside whole. Its seqs are never reused: the next
/// segment's base bounds them, or for the last one the most records its bytes could hold.
fn set_aside_unreadable(
    seg: &SegmentFile,
    limit: Option<u64>,
    error: &SpoolError,
    out: &mut Recovered,
) -> Result<(), SpoolError> {
    let len = fs::metadata(&seg.path).map_or(0, |m| m.len());
    let bound = limit.unwrap_or(seg.base + len / MIN_FRAME_LEN + 1);
    out.next_seq = out.next_seq.max(bound);
    if limit.is_some() {
        out.records_lost += bound - seg.base;
    }
    let target = dir::quarantine(seg)?;
    tracing::error!(segment = %seg.path.display(), moved_to = %target.display(), error = %error,
        seqs = %format!("{}..{bound}", seg.base),
        "spool: a segment cannot be read; moved aside whole, its records will NOT be delivered");
    out.tail_next = None;
    out.set_aside.push(target);
    Ok(())
}

/// Deletes segments whose successor starts at or below the watermark: all their records
/// are delivered. Never the last one, which may be the writer's.
fn delete_delivered(
    segs: Vec<SegmentFile>,
    watermark: u64,
    retain: bool,
    out: &mut Recovered,
) -> Result<Vec<SegmentFile>, SpoolError> {
    let mut keep = Vec::with_capacity(segs.len());
    for (i, seg) in segs.iter().enumerate() {
        if !segs.get(i + 1).is_some_and(|next| next.base <= watermark) {
            keep.push(seg.clone());
        } else if retain {
            let len = fs::metadata(&seg.path).map_err(io_err("stat", &seg.path))?.len();
            out.retained.push((seg.base, len));
        } else {
            fs::remove_file(&seg.path).map_err(io_err("delete", &seg.path))?;
            out.deleted += 1;
        }
    }
    Ok(keep)
}

#[cfg(test)]
mod tests;
