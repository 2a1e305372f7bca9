//! The spool's series, mirrored from one [`SpoolSnapshot`] at each scrape (spool mode only;
//! outside it they stay at 0).

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::clock::now_ms;
use crate::spool::SpoolSnapshot;

#[derive(Debug, Default)]
pub struct SpoolMetrics {
    bytes: Gauge,
    records: Gauge,
    oldest_age: Gauge<f64, AtomicU64>,
    records_lost: Counter,
    retained_bytes: Gauge,
    read_errors: Counter,
    read_failing: Gauge,
    write_failing: Gauge,
    max_bytes: Gauge,
}

impl SpoolMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "spool_bytes",
            "Size of the spool's segment files and set-aside bytes, as counted against --spool-max-bytes (a fully delivered segment being written is not)",
            self.bytes.clone(),
        );
        r.register(
            "spool_records",
            "Records in the spool not yet delivered",
            self.records.clone(),
        );
        r.register(
            "spool_oldest_undelivered_age_seconds",
            "Age of the oldest record in the spool not yet delivered (0 when none)",
            self.oldest_age.clone(),
        );
        r.register(
            "spool_retained_bytes",
            "Delivered spool segments kept for replay (--spool-retain), not counted in spool_bytes",
            self.retained_bytes.clone(),
        );
        r.register(
            "spool_records_lost",
            "Acknowledged records made unreadable by damage to the spool since start (0 in normal life: alert on any)",
            self.records_lost.clone(),
        );
        r.register(
            "spool_read_errors",
            "Failed reads of the spool by the drain since start; each is retried from the same record",
            self.read_errors.clone(),
        );
        r.register(
            "spool_read_failing",
            "1 while the drain cannot read the spool (it retries), else 0",
            self.read_failing.clone(),
        );
        r.register(
            "spool_write_failing",
            "1 while appends to the spool fail and callbacks are answered 503, else 0",
            self.write_failing.clone(),
        );
    }

    /// Registered apart: it sits with the health series in the exposition.
    pub fn register_limit(&self, r: &mut Registry) {
        r.register(
            "spool_max_bytes",
            "The spool's size limit (--spool-max-bytes; 0 outside spool mode): at it callbacks get 503",
            self.max_bytes.clone(),
        );
    }

    /// The series from `spool`, read now; `None` outside spool mode.
    pub fn read(&self, spool: Option<&SpoolSnapshot>) {
        self.max_bytes.set(clamp(spool.map_or(0, |s| s.max_bytes)));
        let Some(spool) = spool else { return };
        self.bytes.set(clamp(spool.bytes));
        self.records.set(clamp(spool.records));
        let age = spool.oldest_age(now_ms()).unwrap_or_default();
        self.oldest_age.set(age.as_millis() as f64 / 1000.0);
        mirror(&self.records_lost, spool.records_lost);
        self.retained_bytes.set(clamp(spool.retained_bytes));
        mirror(&self.read_errors, spool.read_errors);
        self.read_failing.set(i64::from(spool.read_problem.is_some()));
        self.write_failing.set(i64::from(spool.write_problem.is_some()));
    }
}

/// Brings a counter up to a total kept elsewhere (the spool counts; this only exports).
fn mirror(counter: &Counter, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
