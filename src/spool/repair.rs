//! Applying a scan at start: damaged bytes go to side files, the segment is split at them into
//! pieces (each a segment of its own, named by its first seq), and what is past the data is
//! cut.
//!
//! Order is what makes a crash at any step harmless: every copy is written under a temporary
//! name, synced and renamed whole ([`salvage::copy_range`]) before the segment it came from is
//! cut, so the bytes are always somewhere whole. A later start that finds the records after the
//! damage already in the next segment (`Scan::copied`) cuts them here only once that segment is
//! shown to hold them byte for byte; otherwise it copies them again.
//!
//! A full disk (ENOSPC) must not turn into a crash loop: side files are skipped, and a split
//! that has no room is put off — the segment stays whole, damage and all, the drain steps over
//! the damage as it does for damage found while running, and a later start with room splits it.

use std::path::Path;

use super::dir::{self, SegmentFile};
use super::error::{io_err, SpoolError};
use super::fs::{self, Fs, FsFile, How};
use super::salvage;
use super::scanned::{Piece, Recovered, Scan};

/// Applies a scan: keeps damaged bytes aside, splits the segment at them, cuts what is past
/// its data. Returns whether the directory changed.
pub fn repair(
    fs: &Fs,
    seg: &SegmentFile,
    scan: &Scan,
    last: bool,
    out: &mut Recovered,
) -> Result<bool, SpoolError> {
    let file = FsFile::open(fs, &seg.path, How::Read).map_err(io_err("open", &seg.path))?;
    let recopied = match &scan.copied {
        Some(copied) => check_copy(fs, &file, seg, copied)?,
        None => false,
    };
    let whole = scan.damage.is_empty() && scan.tail.is_none() && scan.pieces.len() <= 1;
    let starts_at_zero = scan.pieces.first().map_or(true, |p| p.offset == 0);
    if whole && starts_at_zero {
        // The common case: at most zeros (or an interrupted split's copy) past the data.
        let len = scan.keep_end;
        if len < scan.file_len {
            cut(fs, seg, len)?;
        }
        keep_segment(seg.clone(), len, scan, out);
        return Ok(recopied);
    }
    let mut kept_interior = Vec::new();
    for damage in scan.damage.iter().chain(&scan.tail) {
        let kept = salvage::keep(fs, &file, seg, damage)?;
        if Some(damage) != scan.tail.as_ref() {
            kept_interior.push(kept.clone());
        }
        if last && Some(damage) == scan.tail.as_ref() {
            out.bytes_cut += damage.len;
            tracing::warn!(segment = %seg.path.display(), offset = damage.offset, bytes_cut = damage.len,
                error = %damage.error, kept_in = ?kept.as_ref().map(|k| k.display().to_string()),
                "spool: cut a torn tail: a write cut short by a crash (never acknowledged), or damage to the last records");
            out.records_lost += damage.records_lost();
        } else if Some(damage) == scan.tail.as_ref() {
            salvage::report(seg, damage, kept.as_deref());
            out.records_lost += damage.records_lost();
        }
        out.set_aside.extend(kept);
    }
    let mut pieces = scan.pieces.iter();
    let first = if starts_at_zero { pieces.next() } else { None };
    let later = match copy_pieces(fs, &file, seg, pieces) {
        Ok(later) => later,
        Err(e) if is_no_space(&e) => return split_later(fs, seg, scan, out),
        Err(e) => return Err(e),
    };
    for (damage, kept) in scan.damage.iter().zip(&kept_interior) {
        salvage::report(seg, damage, kept.as_deref());
        out.records_lost += damage.records_lost();
    }
    match first {
        Some(p) => {
            cut(fs, seg, p.len)?;
            keep_segment(seg.clone(), p.len, scan, out);
        }
        None if later.is_empty() && last => {
            cut(fs, seg, 0)?; // nothing intact: the writer starts over in it
            keep_segment(seg.clone(), 0, scan, out);
        }
        None => fs.remove(&seg.path).map_err(io_err("delete", &seg.path))?,
    }
    for (piece_seg, p) in later {
        out.tail_next = Some(p.next);
        out.segments.push((piece_seg, p.len));
    }
    Ok(true)
}

fn is_no_space(e: &SpoolError) -> bool {
    matches!(e, SpoolError::Io { source, .. } if fs::is_no_space(source))
}

/// Copies every piece into a segment of its own; on failure removes the ones already made, so
/// that no seq is in two live segments.
fn copy_pieces<'a>(
    fs: &Fs,
    file: &FsFile,
    seg: &SegmentFile,
    pieces: impl Iterator<Item = &'a Piece>,
) -> Result<Vec<(SegmentFile, Piece)>, SpoolError> {
    let mut done = Vec::new();
    for p in pieces {
        match copy_piece(fs, file, seg, p) {
            Ok(made) => done.push(made),
            Err(e) => {
                for (made, _) in &done {
                    let _ = fs.remove(&made.path);
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// No room to split: the segment stays as it is up to its last intact record (only what is
/// past it is cut, which needs no space). The damage inside is counted when the drain steps
/// over it, not here.
fn split_later(fs: &Fs, seg: &SegmentFile, scan: &Scan, out: &mut Recovered) -> Result<bool, SpoolError> {
    tracing::error!(segment = %seg.path.display(), damaged_spans = scan.damage.len(),
        "spool: no space to split a damaged segment; left whole: the drain skips its damaged bytes \
         (counted then), and a start with free space splits it");
    if scan.keep_end < scan.file_len {
        cut(fs, seg, scan.keep_end)?;
    }
    out.tail_next = Some(scan.pieces.last().map_or(seg.base, |p| p.next));
    out.segments.push((seg.clone(), scan.keep_end));
    Ok(true)
}

fn keep_segment(seg: SegmentFile, len: u64, scan: &Scan, out: &mut Recovered) {
    let next = scan
        .pieces
        .first()
        .filter(|p| p.offset == 0)
        .map_or(seg.base, |p| p.next);
    out.tail_next = Some(next);
    out.segments.push((seg, len));
}

/// Writes one piece as a segment of its own (replacing the same copy from an interrupted
/// recovery), durably and whole.
fn copy_piece(
    fs: &Fs,
    file: &FsFile,
    seg: &SegmentFile,
    p: &Piece,
) -> Result<(SegmentFile, Piece), SpoolError> {
    let dir_path = seg.path.parent().unwrap_or(Path::new("."));
    let target = SegmentFile {
        base: p.first,
        path: dir::segment_path(dir_path, p.first),
    };
    salvage::copy_range(fs, file, p.offset, p.len, &target.path)?;
    tracing::warn!(from = %seg.path.display(), to = %target.path.display(), records = p.next - p.first,
        "spool: intact records after damage moved into a segment of their own");
    Ok((target, *p))
}

/// An interrupted split left the records from `copied.first` on both here and in the next
/// segment. They are cut here only if the next segment holds these very bytes; a shorter or
/// different copy that cannot hold more (a copy cut short by a crash, left by an older version
/// that wrote copies under their final name) is made again. Returns whether it was.
fn check_copy(fs: &Fs, file: &FsFile, seg: &SegmentFile, copied: &Piece) -> Result<bool, SpoolError> {
    let dir_path = seg.path.parent().unwrap_or(Path::new("."));
    let next_path = dir::segment_path(dir_path, copied.first);
    let next_len = match FsFile::open(fs, &next_path, How::Read).and_then(|next| Ok((next.len()?, next))) {
        Ok((len, next)) if len >= copied.len && same_bytes(file, copied.offset, &next, copied.len)? => {
            return Ok(false)
        }
        Ok((len, _)) => len,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => {
            // It cannot be read: its own scan sets it aside (and bounds its seqs).
            tracing::error!(segment = %seg.path.display(), next = %next_path.display(), error = %e,
                "spool: cannot check the copy in the next segment; trusting it as written");
            return Ok(false);
        }
    };
    if next_len > copied.len {
        // More than a copy: records were appended after it, so it is the writer's segment;
        // its own scan handles its damage.
        tracing::error!(segment = %seg.path.display(), next = %next_path.display(),
            "spool: the next segment does not match the records copied into it; trusting it as written");
        return Ok(false);
    }
    tracing::warn!(segment = %seg.path.display(), copy = %next_path.display(), copy_bytes = next_len,
        want_bytes = copied.len, "spool: a copy made by an interrupted recovery is not whole; copying again");
    salvage::copy_range(fs, file, copied.offset, copied.len, &next_path)?;
    Ok(true)
}

/// Whether `len` bytes at `offset` of `a` equal the first `len` of `b`.
fn same_bytes(a: &FsFile, offset: u64, b: &FsFile, len: u64) -> Result<bool, SpoolError> {
    const CHUNK: u64 = 1 << 20;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut done = 0;
    while done < len {
        let n = CHUNK.min(len - done) as usize;
        x.resize(n, 0);
        y.resize(n, 0);
        a.read_exact_at(&mut x, offset + done)
            .map_err(io_err("read", a.path()))?;
        if b.read_exact_at(&mut y, done).is_err() || x != y {
            return Ok(false);
        }
        done += n as u64;
    }
    Ok(true)
}

fn cut(fs: &Fs, seg: &SegmentFile, len: u64) -> Result<(), SpoolError> {
    let file = FsFile::open(fs, &seg.path, How::Write).map_err(io_err("open", &seg.path))?;
    file.set_len(len).map_err(io_err("truncate", &seg.path))?;
    file.sync_all().map_err(io_err("fsync", &seg.path))
}

#[cfg(test)]
mod tests;
