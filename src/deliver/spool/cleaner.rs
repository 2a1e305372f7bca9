//! The publisher's side of the directory: persist the delivery watermark and delete segments
//! that hold only delivered records. Runs on another thread while the writer appends.
//!
//! Why this is safe without talking to the writer: the writer only ever creates segments
//! with a higher base than every existing one, and a segment is deleted only when the *next*
//! segment in the listing starts at or below the watermark. The newest listed segment (which
//! the writer may be appending to) therefore always survives, and a deleted segment's records
//! are all below its successor's base, hence all delivered.
//!
//! Segments are deleted *before* the new watermark is persisted: writing `watermark.tmp`
//! needs free space, and a spool that filled its disk must free some first or it never
//! recovers. A crash in between only re-delivers (duplicates), since what was deleted was
//! delivered.
//!
//! With a [`Retention`], delivered segments are kept for `spool replay` instead, for so long
//! or so many bytes, oldest deleted first. They are counted apart from the spool's size (a full
//! retention never refuses a callback), and given up at once when appends fail (a full disk).

/// How long delivered segments are kept for replay. Default: not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep a delivered segment until its last write is this old.
    pub max_age: Option<Duration>,
    /// Keep at most this many bytes of delivered segments.
    pub max_bytes: Option<u64>,
}

impl Retention {
    pub fn is_on(&self) -> bool {
        self.max_age.is_some() || self.max_bytes.is_some()
    }
}

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::dir;
use super::error::{io_err, SpoolError};
use super::stats::SpoolStats;

pub struct Cleaner {
    dir: PathBuf,
    stats: Arc<SpoolStats>,
    /// Serializes watermark writes between cleaners (they share `watermark.tmp`).
    watermark_lock: Arc<Mutex<()>>,
    retention: Retention,
    /// Delivered segments kept for replay, by base: their lengths.
    retained: BTreeMap<u64, u64>,
    /// Keeps the directory lock alive while the publisher still works, even if the `Store`
    /// is dropped first.
    _lock: Arc<File>,
}

impl Cleaner {
    pub(crate) fn new(
        dir: PathBuf,
        stats: Arc<SpoolStats>,
        watermark_lock: Arc<Mutex<()>>,
        lock: Arc<File>,
        retention: Retention,
        retained: &[(u64, u64)],
    ) -> Self {
        Cleaner {
            dir,
            stats,
            watermark_lock,
            retention,
            retained: retained.iter().copied().collect(),
            _lock: lock,
        }
    }

    /// Records that every seq below `watermark` is delivered: deletes the segments it makes
    /// obsolete, then persists it (atomically, durably). A watermark at or below the current
    /// one only retries the deletion; one above the committed seq is refused, because
    /// persisting it would skip records after a restart.
    pub fn advance(&mut self, watermark: u64) -> Result<(), SpoolError> {
        let committed = self.stats.committed();
        if watermark > committed {
            return Err(SpoolError::WatermarkAhead { watermark, committed });
        }
        self.stats.set_delivered(watermark);
        let deleted = self.delete_delivered(self.stats.delivered());
        let _guard = self
            .watermark_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if watermark > self.stats.watermark() {
            dir::write_watermark(&self.dir, watermark)?;
            self.stats.set_watermark(watermark);
        }
        deleted
    }

    fn delete_delivered(&mut self, watermark: u64) -> Result<(), SpoolError> {
        let segs = dir::list_segments(&self.dir)?;
        let mut deleted = false;
        for pair in segs.windows(2) {
            if pair[1].base > watermark {
                break;
            }
            let path = &pair[0].path;
            if self.retained.contains_key(&pair[0].base) {
                continue;
            }
            // NotFound: another cleaner got there first (and counted the bytes).
            let len = match std::fs::metadata(path) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", path)(e)),
            };
            self.stats.sub_bytes(len);
            if self.retention.is_on() {
                self.retained.insert(pair[0].base, len);
                self.stats.add_retained_bytes(len);
                continue;
            }
            deleted |= remove(path, len)?;
        }
        deleted |= self.expire()?;
        if deleted {
            dir::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Deletes retained segments past the retention, oldest first; all of them while appends
    /// fail, since the disk needs the space more than a replay does.
    fn expire(&mut self) -> Result<bool, SpoolError> {
        let disk_trouble = self.stats.write_problem().is_some();
        let mut total: u64 = self.retained.values().sum();
        let mut deleted = false;
        while let Some((&base, &len)) = self.retained.iter().next() {
            let path = dir::segment_path(&self.dir, base);
            let too_old = self.retention.max_age.is_some_and(|age| older_than(&path, age));
            let too_much = self.retention.max_bytes.is_some_and(|max| total > max);
            if !(disk_trouble || too_old || too_much) {
                break;
            }
            remove(&path, len)?;
            self.retained.remove(&base);
            self.stats.sub_retained_bytes(len);
            total -= len;
            deleted = true;
        }
        Ok(deleted)
    }
}

fn remove(path: &std::path::Path, len: u64) -> Result<bool, SpoolError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::debug!(segment = %path.display(), bytes = len, "spool: deleted a delivered segment");
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("delete", path)(e)),
    }
}

/// Whether the file was last written longer than `age` ago (a file that cannot be read is).
fn older_than(path: &std::path::Path, age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map_or(true, |elapsed| elapsed > age)
}
