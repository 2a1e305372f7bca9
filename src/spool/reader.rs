//! The publisher's read side: streams durable records from a seq forward, on its own thread,
//! while the writer appends.
//!
//! Segments hold consecutive seqs from their base, so the reader always knows the seq of the
//! frame at its offset *before* reading it, and reads it only if that seq is below
//! `committed`. Bytes past `committed` may belong to an append still in flight (or one that
//! failed and will be cut back), so they are never looked at — and every call re-seeks to
//! the last consumed offset, so no stale read-ahead outlives a cut-back either.
//!
//! A read error leaves the position where it was: the records before it in the batch are
//! handed out, the failed one is read again on the next call, and nothing is skipped — until
//! EIO on the same record has lasted [`READ_TRIES`] reads and [`SECTOR_GRACE`]: then its bytes
//! are a bad sector, handled as damage. A damaged frame below `committed` (the disk changed
//! under us; a length running past the end of the file too) is handled as at start: the next
//! intact frame is found, the bad bytes are kept in a side file, and reading goes on.

use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs::{self, Fs, FsFile, FsReader, How};
use super::log::{self, FrameError, ReadFrame};
use super::recover::{data_end, READ_TRIES};
use super::salvage::{self, Damage, Search};
use super::stats::SpoolStats;
use crate::record::Record;

/// A read error must last this long (and [`READ_TRIES`] reads) before the bytes are declared
/// unreadable: the drain retries every 100 ms or sooner, and a disk that is only busy or
/// briefly away (a network volume failing over) must not cost records.
pub const SECTOR_GRACE: Duration = Duration::from_secs(2);

/// Where the reader is inside one segment.
struct Position {
    seg: SegmentFile,
    file: BufReader<FsReader>,
    /// Offset of the next unconsumed frame.
    offset: u64,
    /// Seq of the frame at `offset`.
    next: u64,
}

impl Position {
    fn new(seg: SegmentFile, file: FsFile, offset: u64, next: u64) -> Position {
        Position {
            seg,
            file: BufReader::with_capacity(64 * 1024, FsReader::new(Arc::new(file), offset)),
            offset,
            next,
        }
    }
}

pub struct Reader {
    dir: PathBuf,
    /// The next seq to hand out; records below it are skipped.
    pos: u64,
    at: Option<Position>,
    buf: Vec<u8>,
    /// Where damage found while running is counted.
    stats: Arc<SpoolStats>,
    fs: Fs,
    /// Reads of the frame with this seq that failed with EIO in a row, since when: after
    /// [`READ_TRIES`] of them over at least `grace`, its bytes are declared unreadable and
    /// stepped over like any damage.
    failures: (u64, u32, Instant),
    grace: Duration,
}

enum Step {
    Got(u64, Record, usize),
    /// Nothing more is readable now.
    Stop,
}

impl Reader {
    pub fn new(dir: &Path, from_seq: u64) -> Reader {
        Reader {
            dir: dir.to_path_buf(),
            pos: from_seq,
            at: None,
            buf: Vec::new(),
            stats: Arc::default(),
            fs: fs::real(),
            failures: (0, 0, Instant::now()),
            grace: SECTOR_GRACE,
        }
    }

    /// How long a read error must last before a sector is declared bad (tests shorten it).
    #[cfg(test)]
    pub(crate) fn with_grace(mut self, grace: Duration) -> Reader {
        self.grace = grace;
        self
    }

    /// Reads through `fs` (a test's faulty disk).
    pub fn with_fs(mut self, fs: Fs) -> Reader {
        self.fs = fs;
        self
    }

    /// Counts damage found while reading (records lost, bytes set aside) in `stats`.
    pub fn with_stats(mut self, stats: Arc<SpoolStats>) -> Reader {
        self.stats = stats;
        self
    }

    /// The next seq this reader will hand out (or the first one after it, across a gap).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Closes the segment it holds open if the cleaner deleted it: an open file keeps its
    /// space on disk, which a full disk needs back. The next read opens the right one.
    pub fn forget_deleted(&mut self) {
        if self.at.as_ref().is_some_and(|at| !at.seg.path.exists()) {
            self.at = None;
        }
    }

    /// Re-reads from `seq`, e.g. to resend records whose delivery failed.
    pub fn rewind(&mut self, seq: u64) {
        self.pos = seq;
        self.at = None;
    }

    /// Records up to `seq` were handed over in memory ([`super::writer::Durable`]): carry on
    /// at the frame of `seq`, which starts at byte `offset` of the segment based at `segment`.
    /// Nothing before it is read back. If that segment cannot be opened, the reader finds
    /// `seq` the slow way (reading the segment from its start).
    pub fn skip_to(&mut self, seq: u64, segment: u64, offset: u64) {
        self.pos = seq;
        if let Some(at) = self.at.as_mut().filter(|at| at.seg.base == segment) {
            at.offset = offset;
            at.next = seq;
            return;
        }
        let path = dir::segment_path(&self.dir, segment);
        self.at = FsFile::open(&self.fs, &path, How::Read)
            .ok()
            .map(|file| Position::new(SegmentFile { base: segment, path }, file, offset, seq));
    }

    /// Up to `max_records` records with seq in `position()..committed`, in order, totalling at
    /// most `max_bytes` of frames (a single larger record still comes alone, so nothing is
    /// ever stuck). Empty when nothing durable is left to read.
    pub fn next_batch(
        &mut self,
        committed: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Record)>, SpoolError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        self.resync()?;
        while out.len() < max_records {
            let step = match self.step(committed) {
                Ok(step) => step,
                Err(e) => {
                    // What was read is handed out; the failed frame is read again next time,
                    // through a fresh open (the file may have been replaced or repaired).
                    self.at = None;
                    if out.is_empty() {
                        return Err(e);
                    }
                    break;
                }
            };
            let Step::Got(seq, record, len) = step else {
                break;
            };
            if !out.is_empty() && bytes + len > max_bytes {
                // Not consumed: the next call re-seeks to this frame.
                break;
            }
            self.consume(len);
            if seq < self.pos {
                continue;
            }
            bytes += len;
            self.pos = seq + 1;
            out.push((seq, record));
        }
        Ok(out)
    }

    /// Reads the frame at the current offset, moving to newer segments as needed.
    fn step(&mut self, committed: u64) -> Result<Step, SpoolError> {
        loop {
            if self.at.is_none() && !self.locate()? {
                return Ok(Step::Stop);
            }
            let Some(at) = self.at.as_mut() else {
                return Ok(Step::Stop);
            };
            if at.next >= committed {
                return Ok(Step::Stop);
            }
            let frame = match log::read_frame(&mut at.file, &mut self.buf) {
                Ok(frame) => frame,
                Err(e) if fs::is_unreadable(&e) => {
                    let (seq, tries, since) = &mut self.failures;
                    if *seq == at.next && *tries > 0 {
                        *tries += 1;
                    } else {
                        (*seq, *tries, *since) = (at.next, 1, Instant::now());
                    }
                    if *tries < READ_TRIES || since.elapsed() < self.grace {
                        return Err(io_err("read", &at.seg.path)(e));
                    }
                    tracing::warn!(segment = %at.seg.path.display(), offset = at.offset, seq = at.next, error = %e,
                        "spool: a record the disk cannot read, {READ_TRIES} tries or more over {SECTOR_GRACE:?}: handled as damage");
                    ReadFrame::Broken(FrameError::Unreadable)
                }
                Err(e) => return Err(io_err("read", &at.seg.path)(e)),
            };
            let error = match frame {
                ReadFrame::Record { seq, record, len } if seq == at.next => {
                    if self.failures.0 <= seq {
                        self.failures.1 = 0;
                    }
                    return Ok(Step::Got(seq, record, len));
                }
                ReadFrame::Record { .. } => FrameError::BadPayload,
                // The file ends at a frame boundary: the durable record `next` is in a newer
                // segment (this one was finished and cut to its data).
                ReadFrame::End => {
                    if self.next_segment()? {
                        continue;
                    }
                    return Ok(Step::Stop);
                }
                // A frame that runs past the end of the file is damage, as at start: `next`
                // is durable, and a durable frame is always whole (a damaged length field
                // reads like this).
                ReadFrame::Broken(e) => e,
            };
            if !self.salvage(committed, error)? {
                let Some(at) = self.at.as_ref() else {
                    return Ok(Step::Stop);
                };
                return Err(SpoolError::Corrupt {
                    path: at.seg.path.clone(),
                    offset: at.offset,
                    error,
                });
            }
        }
    }

    /// Damage at the current frame: skips to the next intact one, keeping the bad bytes in a
    /// side file. False when no intact frame follows yet (the damage reaches the end of what
    /// the writer made durable: a later append gives a resume point).
    fn salvage(&mut self, committed: u64, error: FrameError) -> Result<bool, SpoolError> {
        let newer = self.newer_segment()?;
        let newer_reads = error != FrameError::Unreadable || newer.map_or(true, |b| self.reads(b));
        let Some(at) = self.at.as_mut() else {
            return Ok(false);
        };
        let file = at.file.get_ref().file();
        let path = at.seg.path.clone();
        let len = file.len().map_err(io_err("stat", &path))?;
        let end = data_end(file, at.offset, len).map_err(io_err("read", &path))?;
        let max_seq = newer.unwrap_or(committed.saturating_sub(1));
        let mut search = Search::new(at.next, max_seq);
        let found = search
            .next_frame(file, at.offset + 1, end)
            .map_err(io_err("read", &path))?;
        let resume = match (found, newer) {
            (Some(found), _) => found,
            // Nothing readable found may mean the whole disk is failing, not one sector: the
            // rest of the segment is only given up if the newer segment reads.
            (None, Some(_)) if !newer_reads => return Ok(false),
            (None, Some(base)) => salvage::Found {
                offset: end,
                seq: base,
            },
            (None, None) => return Ok(false),
        };
        let damage = Damage {
            offset: at.offset,
            len: resume.offset - at.offset,
            error,
            first: at.next,
            resume: resume.seq,
        };
        let kept = salvage::keep(&self.fs, file, &at.seg, &damage)?;
        salvage::report(&at.seg, &damage, kept.as_deref());
        self.stats.add_records_lost(damage.records_lost());
        self.stats.add_bytes(damage.len);
        if Some(resume.seq) == newer {
            return self.next_segment();
        }
        at.offset = resume.offset;
        at.next = resume.seq;
        at.file
            .seek(SeekFrom::Start(resume.offset))
            .map_err(io_err("seek", &path))?;
        Ok(true)
    }

    /// The base of the segment after the current one, if the writer has started one.
    fn newer_segment(&self) -> Result<Option<u64>, SpoolError> {
        let current = self.at.as_ref().map_or(0, |at| at.seg.base);
        let segs = dir::list_segments(&self.dir)?;
        Ok(segs.iter().map(|s| s.base).find(|&b| b > current))
    }

    /// Whether the first bytes of the segment based at `base` can be read.
    fn reads(&self, base: u64) -> bool {
        let path = dir::segment_path(&self.dir, base);
        let mut head = [0u8; log::HEADER_LEN];
        FsFile::open(&self.fs, &path, How::Read).is_ok_and(|f| f.read_exact_at(&mut head, 0).is_ok())
    }

    fn consume(&mut self, len: usize) {
        if let Some(at) = self.at.as_mut() {
            at.offset += len as u64;
            at.next += 1;
        }
    }

    /// Drops any read-ahead: the next read starts exactly at the last consumed frame.
    fn resync(&mut self) -> Result<(), SpoolError> {
        if let Some(at) = self.at.as_mut() {
            at.file
                .seek(SeekFrom::Start(at.offset))
                .map_err(io_err("seek", &at.seg.path))?;
        }
        Ok(())
    }

    /// Opens the segment holding `pos`: the newest with base <= pos, else the oldest (a gap).
    fn locate(&mut self) -> Result<bool, SpoolError> {
        let segs = dir::list_segments(&self.dir)?;
        let start = segs.iter().rposition(|s| s.base <= self.pos).unwrap_or(0);
        self.open_first(segs.into_iter().skip(start))
    }

    /// Moves to the oldest segment newer than the current one, if any.
    fn next_segment(&mut self) -> Result<bool, SpoolError> {
        let current = self.at.as_ref().map_or(0, |at| at.seg.base);
        let segs = dir::list_segments(&self.dir)?;
        self.open_first(segs.into_iter().filter(|s| s.base > current))
    }

    /// Opens the first candidate that still exists (the cleaner may delete old ones).
    fn open_first(&mut self, candidates: impl Iterator<Item = SegmentFile>) -> Result<bool, SpoolError> {
        for seg in candidates {
            match FsFile::open(&self.fs, &seg.path, How::Read) {
                Ok(file) => {
                    let next = seg.base;
                    self.at = Some(Position::new(seg, file, 0, next));
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("open", &seg.path)(e)),
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod damage_tests;
