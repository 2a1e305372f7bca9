//! Persisting the drain's watermark: at most every `PERSIST_EVERY` (more often only saves
//! duplicates after a crash), and a disk that refuses is logged once, not every round.

use std::time::{Duration, Instant};

use crate::spool::cleaner::Cleaner;
use crate::spool::reader::Reader;

/// Persisting the watermark more often only saves duplicates after a crash.
const PERSIST_EVERY: Duration = Duration::from_millis(200);

pub(super) struct Persisted {
    /// The highest watermark persisted.
    pub upto: u64,
    last: Instant,
    /// Persisting fails (a full disk): logged once, not every round.
    failing: bool,
}

impl Persisted {
    pub fn new(upto: u64) -> Self {
        Persisted {
            upto,
            last: Instant::now(),
            failing: false,
        }
    }

    /// Persists `watermark` (and deletes what it passed) if due, or now when `force`d.
    pub fn advance(&mut self, watermark: u64, cleaner: &mut Cleaner, reader: &mut Reader, force: bool) {
        // Also when nothing new was delivered: a deletion the disk refused is retried.
        if !force && self.last.elapsed() < PERSIST_EVERY {
            return;
        }
        self.last = Instant::now();
        let result = cleaner.advance(watermark);
        reader.forget_deleted();
        match result {
            Ok(()) => {
                if std::mem::take(&mut self.failing) {
                    tracing::info!("the spool watermark is persisted again");
                }
                self.upto = self.upto.max(watermark);
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::error!(error = %e, "cannot persist the spool watermark (delivered segments are still deleted); retrying");
                }
            }
        }
    }
}
