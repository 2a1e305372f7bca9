//! What the scrape-time gauges show: plain values read at scrape time by whoever owns the
//! state. `lib.rs` hands the admin listener a closure that reads the producer, the spool and
//! health into these, so metrics holds none of them.

use crate::spool::SpoolSnapshot;

/// One scrape's readings.
#[derive(Debug, Clone, Default)]
pub struct Readings {
    /// Records in the producer's queue.
    pub queue_depth: i32,
    /// Spool mode only: the spool's numbers and its limit.
    pub spool: Option<SpoolSnapshot>,
    pub ready: bool,
    pub kafka_reachable: bool,
    /// Topics the last check of the cluster found missing.
    pub missing_topics: Vec<String>,
}
