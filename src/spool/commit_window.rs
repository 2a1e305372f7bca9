//! How long a group commit waits for company before its fdatasync.
//!
//! The writer syncs as soon as it has appends, so under load one sync covers only what arrived
//! during the previous one, and each sync costs tens of µs of CPU on top of its wait. When
//! others are already waiting (the spool is busy), a short wait gathers as many again: about
//! one sync's duration, since that is how long the last batch took to gather, and never more
//! than `--spool-commit-window`. A lone append (an idle spool) is synced at once. Like
//! PostgreSQL's `commit_delay` with `commit_siblings`, or Kafka's `linger.ms`; unlike a timer,
//! nothing is answered before its sync. The writer waits on the queue itself, so each append
//! that arrives wakes it and a full batch goes at once.
//!
//! Off by default (`--spool-commit-window 0s`): measured on the development VM, whose
//! fdatasync takes ~0.15 ms, a 1 ms cap cost a quarter of spool mode's requests per second
//! when the writer napped in 50 µs steps (session 5), and half of them when woken by each
//! append instead (session 6): under a closed-loop load every waiting request is a client not
//! sending its next one (BENCHMARKS.md).

use std::time::Duration;

/// A cap that keeps the wait under a millisecond of latency (what `Default` uses).
pub const MAX_WINDOW: Duration = Duration::from_micros(1000);
/// Appends already waiting that show the spool is busy: with fewer, no wait.
pub const SIBLINGS: usize = 2;

/// The recent duration of a sync (write + fdatasync), smoothed.
#[derive(Debug)]
pub struct CommitWindow {
    sync: Duration,
    max: Duration,
}

impl Default for CommitWindow {
    fn default() -> Self {
        CommitWindow::new(MAX_WINDOW)
    }
}

impl CommitWindow {
    /// At most `max` (`--spool-commit-window`; zero: never wait).
    pub fn new(max: Duration) -> Self {
        CommitWindow {
            sync: Duration::ZERO,
            max,
        }
    }

    /// Whether a batch may ever wait (`--spool-commit-window` above zero).
    pub fn is_on(&self) -> bool {
        !self.max.is_zero()
    }

    /// How long a batch of `waiting` appends may wait for more before its sync.
    pub fn wait_for(&self, waiting: usize) -> Duration {
        if waiting < SIBLINGS {
            return Duration::ZERO;
        }
        self.sync.min(self.max)
    }

    /// A sync took `took`: an exponential average, so one slow sync does not set the window.
    pub fn synced(&mut self, took: Duration) {
        self.sync = if self.sync.is_zero() {
            took
        } else {
            (self.sync * 7 + took) / 8
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_append_never_waits_and_a_crowd_waits_about_one_sync() {
        let mut w = CommitWindow::default();
        assert_eq!(w.wait_for(1), Duration::ZERO);
        assert_eq!(w.wait_for(5), Duration::ZERO, "no sync measured yet");
        w.synced(Duration::from_micros(160));
        assert_eq!(w.wait_for(1), Duration::ZERO);
        assert_eq!(w.wait_for(SIBLINGS), Duration::from_micros(160));
        w.synced(Duration::from_micros(800));
        assert_eq!(w.wait_for(9), Duration::from_micros(240));
        for _ in 0..100 {
            w.synced(Duration::from_millis(50)); // a disk in trouble
        }
        assert_eq!(w.wait_for(9), MAX_WINDOW);
        let mut off = CommitWindow::new(Duration::ZERO);
        off.synced(Duration::from_micros(160));
        assert_eq!(off.wait_for(9), Duration::ZERO);
    }
}
