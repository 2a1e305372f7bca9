//! Where the drain sends: the producer, behind the four calls the drain makes of it, so a test
//! can answer each record as a broker would (a batch refused for its size, a topic deleted, a
//! partition without a leader) without one.

use crate::publish::{Ack, Publisher, SendError};
use crate::record::Record;

pub trait Sink: Send {
    /// Enqueues without waiting; the report goes to `ack`.
    fn send(&self, record: &Record, ack: Ack) -> Result<(), SendError>;
    /// Fails everything queued or in flight now; each gets its report.
    fn purge(&self);
    /// Replaces a fenced producer; called only with nothing of the drain's outstanding.
    fn renew(&self) -> Result<(), String>;
    /// The largest record the producer sends (`message.max.bytes`).
    fn max_record_bytes(&self) -> usize;
}

impl Sink for Publisher {
    fn send(&self, record: &Record, ack: Ack) -> Result<(), SendError> {
        Publisher::send(self, record, ack)
    }

    fn purge(&self) {
        Publisher::purge(self);
    }

    fn renew(&self) -> Result<(), String> {
        // Dropping the old producer may block: this thread may, and nothing of ours is in it.
        Publisher::renew(self).map(drop).map_err(|e| e.to_string())
    }

    fn max_record_bytes(&self) -> usize {
        Publisher::max_record_bytes(self)
    }
}
