//! The catch-up reader's state (the reading is in `window.rs`).

use super::lanes::Lane;
use crate::spool::reader::Reader;

/// A second reader over records the main reader left to deferred lanes: it offered every
/// record from `from` to its position to them.
pub(super) struct CatchUp {
    pub reader: Reader,
    pub from: u64,
    /// This run's number (from 1), as marked on a lane it passed over.
    pub scan: u64,
}

impl CatchUp {
    /// It reads every deferred record of `lane` in order: none was passed over.
    pub fn serves(&self, lane: &Lane) -> bool {
        lane.deferred_from.is_some_and(|d| d >= self.from) && lane.passed_in_scan != self.scan
    }
}
