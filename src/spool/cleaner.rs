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
use super::fs::Fs;
use super::stats::SpoolStats;

/// Delivered segments kept for replay, by base: their lengths. Shared by the cleaners and the
/// writer, which gives them all up when an append meets a full disk.
pub(crate) type RetainedSet = Arc<Mutex<BTreeMap<u64, u64>>>;

pub struct Cleaner {
    dir: PathBuf,
    stats: Arc<SpoolStats>,
    /// Serializes watermark writes between cleaners (they share `watermark.tmp`).
    watermark_lock: Arc<Mutex<()>>,
    retention: Retention,
    retained: RetainedSet,
    fs: Fs,
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
        retained: RetainedSet,
        fs: Fs,
    ) -> Self {
        Cleaner {
            dir,
            stats,
            watermark_lock,
            retention,
            retained,
            fs,
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
            if lock(&self.retained).contains_key(&pair[0].base) {
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
                lock(&self.retained).insert(pair[0].base, len);
                self.stats.add_retained_bytes(len);
                continue;
            }
            deleted |= remove(&self.fs, path, len)?;
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
        let mut retained = lock(&self.retained);
        let mut total: u64 = retained.values().sum();
        let mut deleted = false;
        while let Some((&base, &len)) = retained.iter().next() {
            let path = dir::segment_path(&self.dir, base);
            let too_old = self.retention.max_age.is_some_and(|age| older_than(&path, age));
            let too_much = self.retention.max_bytes.is_some_and(|max| total > max);
            if !(disk_trouble || too_old || too_much) {
                break;
            }
            remove(&self.fs, &path, len)?;
            retained.remove(&base);
            self.stats.sub_retained_bytes(len);
            total -= len;
            deleted = true;
        }
        Ok(deleted)
    }
}

fn lock(set: &RetainedSet) -> std::sync::MutexGuard<'_, BTreeMap<u64, u64>> {
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Deletes every retained segment (a full disk needs the space more than a replay does).
/// Returns whether any went.
pub(crate) fn give_up_retained(
    fs: &Fs,
    dir_path: &std::path::Path,
    set: &RetainedSet,
    stats: &SpoolStats,
) -> Result<bool, SpoolError> {
    let mut retained = lock(set);
    if retained.is_empty() {
        return Ok(false);
    }
    let bytes: u64 = retained.values().sum();
    tracing::warn!(
        segments = retained.len(),
        bytes,
        "spool: the disk is full: giving up the delivered segments kept for replay (--spool-retain)"
    );
    while let Some((base, len)) = retained.pop_first() {
        remove(fs, &dir::segment_path(dir_path, base), len)?;
        stats.sub_retained_bytes(len);
    }
    dir::sync_dir(dir_path)?;
    Ok(true)
}

fn remove(fs: &Fs, path: &std::path::Path, len: u64) -> Result<bool, SpoolError> {
    match fs.remove(path) {
        Ok(()) => {
            tracing::debug!(segment = %path.display(), bytes = len, "spool: deleted a delivered segment");
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("delete", path)(e)),
    }
}

/// Whether the file was last written longer than `age` ago (a file that cannot be read is).
/// A clock stepped back puts the time of writing in the future: that is no age at all, so
/// retention is not expired at once (it is bounded by its size and by a full disk anyway).
fn older_than(path: &std::path::Path, age: Duration) -> bool {
    let Ok(written) = std::fs::metadata(path).and_then(|m| m.modified()) else {
        return true;
    };
    SystemTime::now()
        .duration_since(written)
        .is_ok_and(|elapsed| elapsed > age)
}
