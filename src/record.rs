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

/// The header names the bridge writes (CloudEvents binary mode), in the order it writes them.
pub const HEADER_NAMES: [&str; 7] = [
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "content-type",
];

/// The envelope's `received_at_ms` (events and DLQ records carry it as a bare number; every
/// string before it is JSON-escaped, so the first match followed by a digit is the envelope's).
/// 0 when absent.
pub fn received_at_ms(value: &[u8]) -> i64 {
    const FIELD: &[u8] = b"\"received_at_ms\":";
    let mut rest = value;
    while let Some(at) = memchr::memmem::find(rest, FIELD) {
        rest = &rest[at + FIELD.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let parsed = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse().ok());
        if let Some(ms) = parsed {
            return ms;
        }
    }
    0
}

/// The time a stored record stands for, read from its value: the envelope's `event_time_ms`
/// when it is a number, else `received_at_ms` (a DLQ record has only that). For records kept
/// before the record timestamp was. The first `"event_time_ms":` is the envelope's: it comes
/// before `raw`, and strings elsewhere are JSON-escaped.
pub fn record_time_ms(value: &[u8]) -> Option<i64> {
    const FIELD: &[u8] = b"\"event_time_ms\":";
    let event_time = memchr::memmem::find(value, FIELD).and_then(|at| {
        let rest = &value[at + FIELD.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
    });
    event_time.or(match received_at_ms(value) {
        0 => None,
        ms => Some(ms),
    })
}
