//! The writer side: opens (and recovers) the directory, appends batches durably, rolls
//! segments. One `Store` per directory, enforced by the `LOCK` file.
//!
//! A new segment is preallocated to its full size (`fallocate`) and written in place, so an
//! append's `fdatasync` does not have to journal a new file size: on the development VM
//! that made each sync about a third cheaper, in time and in CPU (BENCHMARKS.md). The unused
//! tail reads as zeros; a finished segment is cut to its data before the next one starts,
//! and recovery cuts the zeros off the last one.
//!
//! `fallocate` leaves the space *unwritten* (ext4, XFS): the first write into it changes the
//! extent map, which that append's fdatasync must then write too (and journal, where there is
//! a journal). So the writer also writes real zeros a chunk ([`ZERO_AHEAD`]) past its data
//! whenever it gets near their end: one append in many pays for the extent change, the others
//! sync their data alone. On the development VM a write + fdatasync loop took 25-35 % less
//! time and CPU per sync into zeroed space; in the bridge, with ~40 records a sync, the
//! difference was within the noise (BENCHMARKS.md, session 6). The file reads the same either way.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[cfg(test)]
use super::active::ZERO_AHEAD;
use super::active::{create_segment, open_active, zero_span, Active, ZEROS};
use super::cleaner::{self, Cleaner, RetainedSet, Retention};
use super::dir;
use super::error::{io_err, SpoolError};
use super::fs::{self, Fs};
use super::log;
use super::reader::Reader;
use super::recover;
use super::stats::SpoolStats;
use crate::record::Record;

/// What `open` found and repaired; worth logging at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of torn tail cut from the last segment (kept in a side file).
    pub bytes_cut: u64,
    /// Damaged bytes kept in side files (`*.log.damaged-*`) and unreadable segments moved aside
    /// (`*.log.corrupt`), for an operator.
    pub set_aside: Vec<PathBuf>,
    /// Acknowledged records that damage made unreadable.
    pub records_lost: u64,
    /// Fully delivered segments deleted at open.
    pub segments_deleted: usize,
    /// The oldest seq still on disk (`next_seq` when the spool is empty).
    pub first_seq: u64,
    /// The seq the next append gets.
    pub next_seq: u64,
    pub watermark: u64,
    /// `next_seq - watermark`: records to (re)deliver, roughly.
    pub pending: u64,
}

pub struct Store {
    dir: PathBuf,
    lock: Arc<File>,
    segment_bytes: u64,
    active: Active,
    next_seq: u64,
    /// A failed append whose garbage could not be cut yet: cut before anything else.
    dirty: bool,
    buf: Vec<u8>,
    stats: Arc<SpoolStats>,
    watermark_lock: Arc<Mutex<()>>,
    retention: Retention,
    /// Delivered segments kept for replay, shared with the cleaners.
    retained: RetainedSet,
    fs: Fs,
}

impl Store {
    /// Locks, recovers and opens `dir` (created if missing). `segment_bytes` is the size at
    /// which the next batch goes to a new segment file.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<(Store, Recovery), SpoolError> {
        Self::open_retaining(dir, segment_bytes, Retention::default())
    }

    /// As [`Store::open`], keeping delivered segments for replay as `retention` says.
    pub fn open_retaining(
        dir: &Path,
        segment_bytes: u64,
        retention: Retention,
    ) -> Result<(Store, Recovery), SpoolError> {
        Self::open_with(dir, segment_bytes, retention, fs::real())
    }

    /// As [`Store::open_retaining`], every file operation going through `fs` (the tests'
    /// faulty disk).
    pub(crate) fn open_with(
        dir: &Path,
        segment_bytes: u64,
        retention: Retention,
        fs: Fs,
    ) -> Result<(Store, Recovery), SpoolError> {
        create_dir(dir)?;
        let lock = dir::lock(dir)?;
        let watermark = dir::read_watermark(dir, !dir::list_segments(dir)?.is_empty());
        let rec = recover::recover(&fs, dir, watermark, retention.is_on())?;
        let stats = Arc::new(SpoolStats::default());
        stats.add_bytes(rec.segments.iter().map(|(_, len)| len).sum());
        stats.add_bytes(dir::set_aside_files(dir)?.iter().map(|(_, len)| len).sum());
        stats.add_records_lost(rec.records_lost);
        stats.add_retained_bytes(rec.retained.iter().map(|(_, len)| len).sum());
        stats.set_committed(rec.next_seq);
        stats.set_watermark(watermark);
        let first_seq = rec.segments.first().map_or(rec.next_seq, |(s, _)| s.base);
        let active = match rec.segments.last() {
            // Appending keeps a segment's seqs consecutive only if it ends right before next_seq.
            Some((seg, len)) if rec.tail_next == Some(rec.next_seq) => {
                open_active(&fs, seg.clone(), *len, segment_bytes)?
            }
            _ => create_segment(&fs, dir, rec.next_seq, segment_bytes)?,
        };
        stats.set_active_bytes(active.len);
        let recovery = Recovery {
            bytes_cut: rec.bytes_cut,
            set_aside: rec.set_aside,
            records_lost: rec.records_lost,
            segments_deleted: rec.deleted,
            first_seq,
            next_seq: rec.next_seq,
            watermark,
            pending: rec.next_seq.saturating_sub(watermark),
        };
        let store = Store {
            dir: dir.to_path_buf(),
            lock: Arc::new(lock),
            segment_bytes,
            active,
            next_seq: rec.next_seq,
            dirty: false,
            buf: Vec::new(),
            stats,
            watermark_lock: Arc::new(Mutex::new(())),
            retention,
            retained: Arc::new(Mutex::new(rec.retained.iter().copied().collect())),
            fs,
        };
        Ok((store, recovery))
    }

    /// Appends `records` durably (one write, one fdatasync) and returns the seq of the first.
    /// On `Err` nothing was appended: the caller may answer 503 and retry later.
    pub fn append_batch(&mut self, records: &[Record]) -> Result<u64, SpoolError> {
        let first = self.next_seq;
        if records.is_empty() {
            return Ok(first);
        }
        self.buf.clear();
        for (seq, record) in (first..).zip(records) {
            log::encode(seq, record, &mut self.buf)?;
        }
        let result = match self.try_append() {
            // A full disk gives up the segments kept for replay before it refuses a callback.
            Err(e) if is_no_space(&e) && self.give_up_retained() => self.try_append(),
            result => result,
        };
        if let Err(e) = result {
            self.roll_if_full_and_delivered(&e);
            return Err(e);
        }
        self.next_seq = first + records.len() as u64;
        self.stats.set_committed(self.next_seq);
        Ok(first)
    }

    /// Cuts back a failed append, rolls a full segment, writes the batch.
    fn try_append(&mut self) -> Result<(), SpoolError> {
        self.repair()?;
        if self.active.len >= self.segment_bytes && self.active.len > 0 {
            self.roll()?;
        }
        self.write_buf()
    }

    /// Whether any retained segment was given up (so a retry may find room).
    fn give_up_retained(&mut self) -> bool {
        match cleaner::give_up_retained(&self.fs, &self.dir, &self.retained, &self.stats) {
            Ok(freed) => freed,
            Err(e) => {
                tracing::error!(error = %e, "spool: cannot give up the retained segments");
                false
            }
        }
    }

    /// One write (two when zeros go ahead) and one fdatasync; on failure cuts the file back
    /// so no garbage precedes the next successful append.
    fn write_buf(&mut self) -> Result<(), SpoolError> {
        let end = self.active.len + self.buf.len() as u64;
        let zeros = zero_span(end, self.active.zeroed, self.active.allocated);
        let path = &self.active.seg.path;
        let file = &self.active.file;
        let result = file
            .write_all_at(&self.buf, self.active.len)
            .and_then(|()| match &zeros {
                Some(span) => file.write_all_at(&ZEROS[..(span.end - span.start) as usize], span.start),
                None => Ok(()),
            })
            .map_err(io_err("write", path))
            .and_then(|()| file.sync_data().map_err(io_err("fdatasync", path)));
        if let Err(e) = result {
            self.dirty = true;
            if let Err(cut) = self.repair() {
                tracing::error!(error = %cut, "spool: cannot cut back a failed append; will retry");
            }
            return Err(e);
        }
        self.active.len = end;
        self.active.zeroed = zeros.map_or(self.active.zeroed, |span| span.end).max(end);
        self.stats.add_bytes(self.buf.len() as u64);
        self.stats.set_active_bytes(end);
        Ok(())
    }

    /// A full disk with everything in the active segment delivered: only a new segment lets
    /// the cleaner delete this one (it never deletes the newest), and cutting this one to its
    /// data already frees its preallocated rest. Without this, a disk the spool filled would
    /// stay full after Kafka took everything.
    fn roll_if_full_and_delivered(&mut self, error: &SpoolError) {
        if is_no_space(error) && self.active.len > 0 && self.stats.delivered() >= self.next_seq {
            if let Err(e) = self.roll() {
                tracing::debug!(error = %e, "spool: cannot start a new segment on a full disk yet");
            }
        }
    }

    /// Cuts the active file back to its durable length after a failed append.
    fn repair(&mut self) -> Result<(), SpoolError> {
        if !self.dirty {
            return Ok(());
        }
        self.cut_to_data()?;
        self.dirty = false;
        Ok(())
    }

    /// Truncates the active file to its durable length, durably (also drops preallocation).
    fn cut_to_data(&mut self) -> Result<(), SpoolError> {
        let path = &self.active.seg.path;
        self.active
            .file
            .set_len(self.active.len)
            .map_err(io_err("truncate", path))?;
        self.active.allocated = self.active.len;
        self.active.zeroed = self.active.len;
        self.active.file.sync_all().map_err(io_err("fsync", path))
    }

    /// Cuts the finished segment to its data (durably, before its successor exists, so only
    /// the last segment can ever end in preallocated zeros), then starts the next one.
    fn roll(&mut self) -> Result<(), SpoolError> {
        self.cut_to_data()?;
        self.active = create_segment(&self.fs, &self.dir, self.next_seq, self.segment_bytes)?;
        self.stats.set_active_bytes(0);
        Ok(())
    }

    /// Starts a new segment when everything in this one is delivered, so that the cleaner can
    /// delete it: called when the spool is at its size limit.
    /// Returns whether it did.
    pub fn roll_if_delivered(&mut self) -> bool {
        if self.active.len == 0 || self.stats.delivered() < self.next_seq {
            return false;
        }
        match self.roll() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "spool: cannot start a new segment");
                false
            }
        }
    }

    /// Where the next frame will start: the active segment's base seq and its length. Right
    /// after an append this is the end of the batch just written.
    pub fn end(&self) -> (u64, u64) {
        (self.active.seg.base, self.active.len)
    }

    /// The next seq to be assigned.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn stats(&self) -> Arc<SpoolStats> {
        Arc::clone(&self.stats)
    }

    /// A handle for the publisher to persist the watermark and delete delivered segments.
    pub fn cleaner(&self) -> Cleaner {
        Cleaner::new(
            self.dir.clone(),
            Arc::clone(&self.stats),
            Arc::clone(&self.watermark_lock),
            Arc::clone(&self.lock),
            self.retention,
            Arc::clone(&self.retained),
            Arc::clone(&self.fs),
        )
    }

    /// A reader starting at `from_seq`.
    pub fn reader(&self, from_seq: u64) -> Reader {
        Reader::new(&self.dir, from_seq)
            .with_stats(Arc::clone(&self.stats))
            .with_fs(Arc::clone(&self.fs))
    }
}

fn is_no_space(e: &SpoolError) -> bool {
    matches!(e, SpoolError::Io { source, .. } if fs::is_no_space(source))
}

/// Creates the spool directory durably: without a parent fsync, a power cut could lose the
/// directory entry, and with it every acknowledged record inside.
fn create_dir(dir: &Path) -> Result<(), SpoolError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => dir::sync_dir(parent),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
