//! Delivery reports, gathered. librdkafka's polling thread adds each report to one list and
//! wakes the drain only when the list was empty: a burst of reports (one produce response
//! answers for hundreds of records) costs the drain one wake-up, and no callback is
//! allocated per record. On this 2-core VM a thread's wake-up, not its work, was most of
//! the drain's CPU (BENCHMARKS.md, session 6).

use std::sync::{Mutex, PoisonError};

use rdkafka::error::KafkaError;

use crate::publish::Reported;

pub(super) type Report = (u64, Result<(), KafkaError>);

pub(super) struct Inbox {
    reports: Mutex<Vec<Report>>,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl Inbox {
    pub fn new(wake: impl Fn() + Send + Sync + 'static) -> Inbox {
        Inbox {
            reports: Mutex::new(Vec::new()),
            wake: Box::new(wake),
        }
    }

    /// Moves every report received so far into `into` (emptied first), oldest first.
    pub fn take(&self, into: &mut Vec<Report>) {
        into.clear();
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *reports, into);
    }
}

impl Reported for Inbox {
    fn reported(&self, seq: u64, outcome: Result<(), KafkaError>) {
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        let first = reports.is_empty();
        reports.push((seq, outcome));
        drop(reports);
        if first {
            (self.wake)();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_burst_wakes_once_and_arrives_in_order() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakes);
        let inbox = Inbox::new(move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        for seq in 0..100 {
            inbox.reported(seq, Ok(()));
        }
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        let mut got = vec![(99, Ok(()))];
        inbox.take(&mut got);
        assert_eq!(
            got.iter().map(|r| r.0).collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
        inbox.take(&mut got);
        assert!(got.is_empty());
        inbox.reported(100, Err(KafkaError::Canceled));
        assert_eq!(
            wakes.load(Ordering::Relaxed),
            2,
            "the next report after a take wakes again"
        );
    }
}
