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

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::dir;
use super::error::{io_err, SpoolError};
use super::stats::SpoolStats;

pub struct Cleaner {
    dir: PathBuf,
    stats: Arc<SpoolStats>,
    /// Serializes watermark writes between cleaners (they share `watermark.tmp`).
    watermark_lock: Arc<Mutex<()>>,
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
    ) -> Self {
        Cleaner {
            dir,
            stats,
            watermark_lock,
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

    fn delete_delivered(&self, watermark: u64) -> Result<(), SpoolError> {
        let segs = dir::list_segments(&self.dir)?;
        let mut deleted = false;
        for pair in segs.windows(2) {
            if pair[1].base > watermark {
                break;
            }
            let path = &pair[0].path;
            // NotFound: another cleaner got there first (and counted the bytes).
            let len = match std::fs::metadata(path) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("stat", path)(e)),
            };
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("delete", path)(e)),
            }
            self.stats.sub_bytes(len);
            deleted = true;
            tracing::debug!(segment = %path.display(), bytes = len, "spool: deleted a delivered segment");
        }
        if deleted {
            dir::sync_dir(&self.dir)?;
        }
        Ok(())
    }
}
