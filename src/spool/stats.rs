//! What the spool tells the rest of the bridge: sizes, positions, losses and disk problems.
//! Shared (behind an `Arc`) by the writer, the drain, health and metrics; whoever only reads
//! takes one [`SpoolSnapshot`] (as Vector's buffer usage handle), so a new spool number is a
//! field here and a line where it is shown. "Full" is decided here, once.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The spool's numbers and its limit at one moment: what readiness, `/metrics` and the
/// outage log read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolSnapshot {
    /// What counts against the limit ([`SpoolStats::counted_bytes`]): the alert compares it
    /// with `max_bytes`.
    pub bytes: u64,
    /// `--spool-max-bytes`.
    pub max_bytes: u64,
    /// Records not yet delivered.
    pub records: u64,
    /// `received_at_ms` of the oldest record not yet delivered; 0 when none.
    pub oldest_undelivered_ms: i64,
    pub records_lost: u64,
    pub retained_bytes: u64,
    pub read_errors: u64,
    /// Why the drain cannot read the spool, while it cannot.
    pub read_problem: Option<String>,
    /// Why appends fail, while they do.
    pub write_problem: Option<String>,
}

impl SpoolSnapshot {
    /// At the limit: appends are refused (503) and readiness says no.
    pub fn full(&self) -> bool {
        full(self.bytes, self.max_bytes)
    }

    /// Age of the oldest record not yet delivered at `now_ms`; `None` when there is none.
    pub fn oldest_age(&self, now_ms: i64) -> Option<Duration> {
        match self.oldest_undelivered_ms {
            0 => None,
            oldest => Some(Duration::from_millis((now_ms - oldest).max(0) as u64)),
        }
    }
}

/// A soft limit: the spool may pass it by one batch, then refuses until the drain has
/// delivered enough for delivered segments to be deleted.
fn full(counted_bytes: u64, max_bytes: u64) -> bool {
    counted_bytes >= max_bytes
}

/// Counters updated only after the fact they describe is durable, so a reader of `committed`
/// never sees a seq that could be lost.
#[derive(Debug, Default)]
pub struct SpoolStats {
    bytes: AtomicU64,
    /// `--spool-max-bytes`, set once when the writer starts.
    max_bytes: AtomicU64,
    committed: AtomicU64,
    watermark: AtomicU64,
    /// Delivered below this, as the drain knows it (persisted or not yet).
    delivered: AtomicU64,
    /// `received_at_ms` of the oldest record read but not delivered; 0 when none.
    oldest_ms: AtomicI64,
    records_lost: AtomicU64,
    retained_bytes: AtomicU64,
    /// Data in the writer's segment (part of `bytes`).
    active_bytes: AtomicU64,
    read_errors: AtomicU64,
    /// The drain cannot read the spool right now (and keeps retrying): why.
    read_problem: Mutex<Option<String>>,
    /// Appends fail right now (and are answered 503): why.
    write_problem: Mutex<Option<String>>,
}

impl SpoolStats {
    /// The numbers now, for whoever shows them.
    pub fn snapshot(&self) -> SpoolSnapshot {
        SpoolSnapshot {
            bytes: self.counted_bytes(),
            max_bytes: self.max_bytes(),
            // Approximate: gaps count too.
            records: self.committed().saturating_sub(self.watermark()),
            oldest_undelivered_ms: self.oldest_ms.load(Ordering::Relaxed),
            records_lost: self.records_lost(),
            retained_bytes: self.retained_bytes(),
            read_errors: self.read_errors.load(Ordering::Relaxed),
            read_problem: self.read_problem.lock().map_or(None, |p| p.clone()),
            write_problem: self.write_problem(),
        }
    }
    /// At the limit (see [`SpoolSnapshot::full`]), without taking a whole snapshot.
    pub fn full(&self) -> bool {
        full(self.counted_bytes(), self.max_bytes())
    }
    /// The spool's size limit.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.load(Ordering::Relaxed)
    }
    /// Total size of the spool's files: live segments and damaged bytes set aside.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Acquire)
    }
    /// The next seq to be assigned: every seq below it is durable (exclusive upper bound).
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }
    /// The next seq not yet delivered, as last persisted.
    pub fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Acquire)
    }
    /// Every seq below this is delivered (it may not be persisted yet).
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Acquire).max(self.watermark())
    }
    /// What counts against `--spool-max-bytes`: [`Self::bytes`], less the writer's segment
    /// when everything in it is delivered. The cleaner never deletes that segment (the writer
    /// may be appending to it), so counting it would keep a small, fully delivered spool full
    /// for good; the writer rolls it away at the next append instead.
    pub fn counted_bytes(&self) -> u64 {
        let bytes = self.bytes();
        if self.delivered() >= self.committed() {
            bytes.saturating_sub(self.active_bytes.load(Ordering::Acquire))
        } else {
            bytes
        }
    }
    /// Acknowledged records that damage made unreadable, since start. 0 in normal life.
    pub fn records_lost(&self) -> u64 {
        self.records_lost.load(Ordering::Relaxed)
    }
    /// Delivered segments kept for replay (`--spool-retain`), not counted in [`Self::bytes`].
    pub fn retained_bytes(&self) -> u64 {
        self.retained_bytes.load(Ordering::Relaxed)
    }
    /// Why appends fail, while they do.
    pub fn write_problem(&self) -> Option<String> {
        self.write_problem.lock().map_or(None, |p| p.clone())
    }

    pub(crate) fn set_max_bytes(&self, n: u64) {
        self.max_bytes.store(n, Ordering::Relaxed);
    }
    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::AcqRel);
    }
    pub(crate) fn sub_bytes(&self, n: u64) {
        sub_saturating(&self.bytes, n);
    }
    pub(crate) fn set_active_bytes(&self, n: u64) {
        self.active_bytes.store(n, Ordering::Release);
    }
    pub(crate) fn set_committed(&self, seq: u64) {
        self.committed.store(seq, Ordering::Release);
    }
    pub(crate) fn set_oldest_undelivered_ms(&self, ms: i64) {
        self.oldest_ms.store(ms, Ordering::Relaxed);
    }
    pub(crate) fn set_watermark(&self, w: u64) {
        self.watermark.store(w, Ordering::Release);
    }
    pub(crate) fn set_delivered(&self, w: u64) {
        self.delivered.fetch_max(w, Ordering::AcqRel);
    }
    pub(crate) fn add_retained_bytes(&self, n: u64) {
        self.retained_bytes.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn sub_retained_bytes(&self, n: u64) {
        sub_saturating(&self.retained_bytes, n);
    }
    pub(crate) fn add_records_lost(&self, n: u64) {
        self.records_lost.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn count_read_error(&self) {
        self.read_errors.fetch_add(1, Ordering::Relaxed);
    }
    /// Sets or clears the read problem; true when that changed it (worth a log line).
    pub(crate) fn set_read_problem(&self, problem: Option<String>) -> bool {
        replace(&self.read_problem, problem)
    }
    /// Sets or clears the write problem; true when that changed it (worth a log line).
    pub(crate) fn set_write_problem(&self, problem: Option<String>) -> bool {
        replace(&self.write_problem, problem)
    }
}

/// Saturating: a miscount must never wrap into an absurd "disk full" figure.
fn sub_saturating(counter: &AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| Some(b.saturating_sub(n)));
}

fn replace(slot: &Mutex<Option<String>>, value: Option<String>) -> bool {
    let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let changed = slot.is_some() != value.is_some();
    *slot = value;
    changed
}
