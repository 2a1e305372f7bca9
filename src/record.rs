//! The record: what every delivery mode, the spool and the producer carry. Made by `route`,
//! it sits at the bottom so that the stages below route (deliver, the spool, publish) need
//! not import it.

use std::borrow::Cow;
use std::sync::Arc;

/// A record ready for any delivery mode. Owned, so a spool can write it and a producer can
/// send it after the request is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: Arc<str>,
    pub key: Vec<u8>,
    pub headers: Vec<Header>,
    pub value: Vec<u8>,
    /// The Kafka record timestamp (ms since the epoch): the event's own time, so stream
    /// processors order a late delivery by when it happened. `None`: the producer stamps it
    /// (records spooled before the timestamp was kept whose value names no time).
    pub timestamp_ms: Option<i64>,
}

impl Record {
    /// Bytes the record takes in a produce request, near enough to compare with
    /// `message.max.bytes` (which librdkafka checks against the same sum).
    pub fn encoded_len(&self) -> usize {
        // librdkafka counts 36 bytes of record overhead, and each header's two length fields.
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len() + 10).sum();
        36 + self.key.len() + self.value.len() + headers
    }
}

/// A record header. Names (and two of the values) are constants, borrowed: that saves nine
/// allocations per event on the request path, and nine frees where the record is dropped
/// (the spool's drain thread, where they showed in the profile).
pub type Header = (Cow<'static, str>, Cow<'static, [u8]>);
