//! A read-only view of a spool directory, for the operator's `spool inspect | verify | replay`.
//!
//! Takes no lock and writes nothing, so it can look at the spool of a running bridge: it reads
//! what is on disk at that moment. The newest segment may end in a write still in progress,
//! which reads like a torn tail; older segments may be deleted under it (they are skipped).

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs;
use super::log::{self, ReadFrame};
use super::recover::{self, Piece};
use super::salvage::Damage;
use crate::record::Record;

/// One segment file as it is now.
#[derive(Debug)]
pub struct SegmentView {
    pub seg: SegmentFile,
    pub file_bytes: u64,
    /// Runs of intact records (more than one when damage splits them).
    pub pieces: Vec<Piece>,
    /// Damaged bytes between or after intact records. In the newest segment, damage with
    /// nothing intact after it is reported as `tail` instead.
    pub damage: Vec<Damage>,
    pub tail: Option<Damage>,
    /// In the newest segment, bytes that did not read as records but changed between two
    /// reads: a write in progress, not damage.
    pub unsettled: Vec<Damage>,
}

impl SegmentView {
    pub fn records(&self) -> u64 {
        self.pieces.iter().map(|p| p.next - p.first).sum()
    }
    pub fn data_bytes(&self) -> u64 {
        self.pieces.iter().map(|p| p.len).sum()
    }
    pub fn seqs(&self) -> Option<(u64, u64)> {
        Some((self.pieces.first()?.first, self.pieces.last()?.next))
    }
}

/// Reads of the newest segment, at most, to tell a write in progress from damage.
const LIVE_SCANS: usize = 5;

/// Scans the newest segment, which a running bridge may be writing: damage is only damage if
/// a second read finds it at the same place (a frame being written reads as damage for the
/// moment it takes, then as a record). Damage that moved is returned apart, as unsettled.
/// A scan that fails (the segment cut under it by a roll) is tried again too.
fn scan_live(seg: &SegmentFile) -> Result<(recover::Scan, Vec<Damage>), SpoolError> {
    let fs = fs::real();
    // The last read, its damage split into what the read before it also found, and the rest.
    let mut prev: Option<(recover::Scan, Vec<Damage>)> = None;
    let mut last_err = None;
    for _ in 0..LIVE_SCANS {
        let mut scan = match recover::scan(&fs, seg, None) {
            Ok(scan) => scan,
            Err(SpoolError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(io_err("open", &seg.path)(source))
            }
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        let all = std::mem::take(&mut scan.damage);
        let (settled, unsettled): (Vec<_>, Vec<_>) = all.iter().cloned().partition(|d| {
            prev.as_ref()
                .is_some_and(|(p, _)| p.damage.iter().any(|q| q.offset == d.offset))
        });
        if unsettled.is_empty() {
            scan.damage = settled;
            return Ok((scan, unsettled));
        }
        scan.damage = all;
        prev = Some((scan, unsettled));
    }
    let Some((mut last, unsettled)) = prev else {
        return Err(last_err.unwrap_or_else(|| io_err("read", &seg.path)(std::io::Error::other("changing"))));
    };
    // Out of reads: what the last two agree on is damage, the rest was still moving.
    last.damage.retain(|d| !unsettled.contains(d));
    Ok((last, unsettled))
}

/// What [`SpoolView::walk_records`] read, and what it could not.
#[derive(Debug, Default)]
pub struct Walk {
    pub records: u64,
    /// Segments deleted since the scan, with the records the scan saw in them.
    pub gone: Vec<(PathBuf, u64)>,
    /// Records that no longer read as scanned: the segment, and the seqs `from..to` not read.
    pub changed: Vec<(PathBuf, u64, u64)>,
}

/// The whole directory.
#[derive(Debug)]
pub struct SpoolView {
    pub dir: PathBuf,
    /// The next seq not yet delivered, as persisted.
    pub watermark: u64,
    pub segments: Vec<SegmentView>,
    /// Side files and segments moved aside, with their sizes.
    pub set_aside: Vec<(PathBuf, u64)>,
}

impl SpoolView {
    /// Reads every segment in full.
    pub fn read(dir_path: &Path) -> Result<SpoolView, SpoolError> {
        let segs = dir::list_segments(dir_path)?;
        let watermark = dir::read_watermark(dir_path, !segs.is_empty());
        let mut segments = Vec::with_capacity(segs.len());
        for (i, seg) in segs.iter().enumerate() {
            let limit = segs.get(i + 1).map(|s| s.base);
            let scanned = match limit {
                Some(_) => recover::scan(&fs::real(), seg, limit).map(|s| (s, Vec::new())),
                None => scan_live(seg),
            };
            let (scan, unsettled) = match scanned {
                Ok(scan) => scan,
                Err(SpoolError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    continue
                }
                Err(e) => return Err(e),
            };
            let mut damage = scan.damage;
            let tail = match scan.tail {
                Some(t) if limit.is_none() => Some(t),
                Some(t) => {
                    damage.push(t);
                    None
                }
                None => None,
            };
            segments.push(SegmentView {
                seg: seg.clone(),
                file_bytes: scan.file_len,
                pieces: scan.pieces,
                damage,
                tail,
                unsettled,
            });
        }
        Ok(SpoolView {
            dir: dir_path.to_path_buf(),
            watermark,
            segments,
            set_aside: dir::set_aside_files(dir_path)?,
        })
    }

    /// Every intact record in spool order, with its seq and frame size; `f` returns false to
    /// stop early. See [`Self::walk_records`] for what could not be read.
    pub fn for_each_record(&self, f: impl FnMut(u64, &Record, usize) -> bool) -> Result<(), SpoolError> {
        self.walk_records(f).map(|_| ())
    }

    /// As [`Self::for_each_record`], and says what it could not read: records that changed
    /// since the scan (a segment cut or repaired under it) or whose segment was deleted (the
    /// bridge delivered it meanwhile).
    pub fn walk_records(&self, mut f: impl FnMut(u64, &Record, usize) -> bool) -> Result<Walk, SpoolError> {
        let mut walk = Walk::default();
        let mut buf = Vec::new();
        for view in &self.segments {
            let file = match File::open(&view.seg.path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    walk.gone.push((view.seg.path.clone(), view.records()));
                    continue;
                }
                Err(e) => return Err(io_err("open", &view.seg.path)(e)),
            };
            let mut reader = BufReader::with_capacity(256 * 1024, file);
            for piece in &view.pieces {
                reader
                    .seek(SeekFrom::Start(piece.offset))
                    .map_err(io_err("seek", &view.seg.path))?;
                for want in piece.first..piece.next {
                    let frame =
                        log::read_frame(&mut reader, &mut buf).map_err(io_err("read", &view.seg.path))?;
                    let ReadFrame::Record { seq, record, len } = frame else {
                        walk.changed.push((view.seg.path.clone(), want, piece.next));
                        break;
                    };
                    walk.records += 1;
                    if !f(seq, &record, len) {
                        return Ok(walk);
                    }
                }
            }
        }
        Ok(walk)
    }

    /// Bytes at the end of the newest segment that are not (yet) a whole record: a write in
    /// progress on a live spool, or a torn tail that the next start cuts.
    pub fn in_flight(&self) -> Vec<(&SegmentView, &Damage)> {
        self.segments
            .iter()
            .flat_map(|v| v.unsettled.iter().chain(&v.tail).map(move |t| (v, t)))
            .collect()
    }

    /// Damage an operator must look at: anything but a tail in the newest segment, which a
    /// running bridge may be writing right now.
    pub fn damaged(&self) -> impl Iterator<Item = (&SegmentView, &Damage)> {
        self.segments
            .iter()
            .flat_map(|v| v.damage.iter().map(move |d| (v, d)))
    }
}

#[cfg(test)]
mod tests;
