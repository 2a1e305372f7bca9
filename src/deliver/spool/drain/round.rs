//! A lane's rounds, named. Order is the point: a record that failed goes again before
//! anything newer of its topic, and newer records wait until the re-sent round is through, so
//! none of them reaches Kafka ahead of an older one that fails again.

use std::collections::BTreeSet;
use std::time::Instant;

/// Where the drain is between sending new records and sending failed ones again.
#[derive(Debug, Default)]
pub(super) enum Round {
    /// New records are taken into the window as room allows.
    #[default]
    Sending,
    /// Some records failed: they go again, in spool order, once every report of the round
    /// is back and the pause is over. Newer records queue behind them.
    Waiting(Retry),
    /// A re-sent round is out: newer records wait until every report of it is back.
    Resending,
}

/// The records waiting to go again, and how.
#[derive(Debug)]
pub(super) struct Retry {
    /// Their seqs, sent again in this order.
    pub seqs: BTreeSet<u64>,
    /// Not before this, so a broker that refuses everything is not hammered (now, for a
    /// record that goes again alone or was only purged).
    pub until: Instant,
    /// The producer's queue was purged after this round's first timeout.
    pub purged: bool,
}

impl Round {
    /// The round's retry list, started empty if the round was not waiting yet. Put the round
    /// back with `Round::Waiting` once the record is added.
    pub fn take_retry(&mut self) -> Retry {
        match std::mem::take(self) {
            Round::Waiting(retry) => retry,
            Round::Sending | Round::Resending => Retry {
                seqs: BTreeSet::new(),
                until: Instant::now(),
                purged: false,
            },
        }
    }

    pub fn is_waiting(&self) -> bool {
        matches!(self, Round::Waiting(_))
    }
}
