//! What recovery found: the pieces of intact records and the damage in one segment, and the
//! state of the directory once every segment is repaired. Shared by the scan (`recover`), the
//! repair (`repair`) and the tools' view (`inspect`).

use std::path::PathBuf;

use super::dir::SegmentFile;
use super::salvage::Damage;

/// A run of whole frames with consecutive seqs, inside one segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub offset: u64,
    pub len: u64,
    pub first: u64,
    /// The seq after its last record.
    pub next: u64,
}

/// What a full read of one segment found.
#[derive(Debug, Default)]
pub struct Scan {
    pub pieces: Vec<Piece>,
    /// Damage between pieces, and at the end (`tail`): oldest first.
    pub damage: Vec<Damage>,
    /// Where the kept data ends: the last piece's end (bytes after it are cut).
    pub keep_end: u64,
    pub file_len: u64,
    /// Damaged bytes at the very end: torn (last segment) or lost (older ones).
    pub tail: Option<Damage>,
    /// The seq after the last record found (`base` when none).
    pub next: u64,
    /// Records from the next segment's base on, found after the kept data: the rest of this
    /// segment that an interrupted split copied into the next segment. Cut only once that
    /// copy is shown to hold them all (`repair`).
    pub copied: Option<Piece>,
}

/// The state of the directory after recovery.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Live segments, oldest first, with their (possibly cut) lengths.
    pub segments: Vec<(SegmentFile, u64)>,
    /// The seq after every record ever seen or possibly written, so no seq is reused.
    pub next_seq: u64,
    /// The seq the last live segment expects next, if there is one.
    pub tail_next: Option<u64>,
    /// Bytes of torn tail cut from the last segment (kept in a side file).
    pub bytes_cut: u64,
    /// Side files with damaged bytes, and segments moved aside whole.
    pub set_aside: Vec<PathBuf>,
    /// Records known lost to damage.
    pub records_lost: u64,
    pub deleted: usize,
    /// Delivered segments kept for replay (`--spool-retain`): base and length.
    pub retained: Vec<(u64, u64)>,
}
