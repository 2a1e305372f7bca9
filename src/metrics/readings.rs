//! What the scrape-time gauges show: plain values read at scrape time by whoever owns the
//! state. `lib.rs` hands the admin listener a closure that reads the producer, the spool and
//! health into these, so metrics holds none of them.

/// One scrape's readings.
#[derive(Debug, Clone, Default)]
pub struct Readings {
    /// Records in the producer's queue.
    pub queue_depth: i32,
    /// Spool mode only.
    pub spool: Option<SpoolReadings>,
    /// The spool's size limit (0 outside spool mode).
    pub spool_max_bytes: u64,
    pub ready: bool,
    pub kafka_reachable: bool,
    /// Topics the last check of the cluster found missing.
    pub missing_topics: Vec<String>,
}

/// The spool's counters at one scrape.
#[derive(Debug, Clone, Default)]
pub struct SpoolReadings {
    pub bytes: u64,
    /// Records not yet delivered.
    pub records: u64,
    /// `received_at_ms` of the oldest record not yet delivered; 0 when none.
    pub oldest_undelivered_ms: i64,
    pub records_lost: u64,
    pub retained_bytes: u64,
    pub read_errors: u64,
    pub read_failing: bool,
    pub write_failing: bool,
}
