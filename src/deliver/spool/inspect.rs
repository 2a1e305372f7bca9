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
            let scan = match recover::scan(&fs::real(), seg, limit) {
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
    /// stop early.
    pub fn for_each_record(&self, mut f: impl FnMut(u64, &Record, usize) -> bool) -> Result<(), SpoolError> {
        let mut buf = Vec::new();
        for view in &self.segments {
            let file = match File::open(&view.seg.path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // delivered meanwhile
                Err(e) => return Err(io_err("open", &view.seg.path)(e)),
            };
            let mut reader = BufReader::with_capacity(256 * 1024, file);
            for piece in &view.pieces {
                reader
                    .seek(SeekFrom::Start(piece.offset))
                    .map_err(io_err("seek", &view.seg.path))?;
                for _ in piece.first..piece.next {
                    let frame =
                        log::read_frame(&mut reader, &mut buf).map_err(io_err("read", &view.seg.path))?;
                    let ReadFrame::Record { seq, record, len } = frame else {
                        break; // changed since it was scanned
                    };
                    if !f(seq, &record, len) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Damage an operator must look at: anything but a tail in the newest segment, which a
    /// running bridge may be writing right now.
    pub fn damaged(&self) -> impl Iterator<Item = (&SegmentView, &Damage)> {
        self.segments
            .iter()
            .flat_map(|v| v.damage.iter().map(move |d| (v, d)))
    }
}
