//! The DLQ record: a refused callback, or a record the broker refused for good, kept with why.
//! One type, [`DlqValue`], is both what the bridge writes and what `dlq redrive` reads back;
//! [`Dlq`] builds the whole record (topic, key, headers) no larger than the producer takes.
//! The value's wire format is public API (`schemas/dlq.json`).

use std::collections::BTreeMap;

use base64::Engine;
use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::event::{event_id, Family};
use crate::query::CallbackQuery;
use crate::record::Record;
use crate::refusal::Refusal;
use crate::route::{ce_source, headers, Topics, CE_TYPE_PREFIX};

/// `ce_type` of a DLQ record.
pub const CE_TYPE_DLQ: &str = "com.tencent.cloud.callback.dlq";

/// `error_code` of a DLQ record the broker refused (never an HTTP answer).
pub const BROKER_REFUSED_CODE: u32 = 5041;

/// How much of a refused record's value its DLQ copy keeps. A record refused for its size
/// must not come back too large: 128 KiB stays under Kafka's default 1 MB even if JSON
/// escaping grows every byte sixfold.
pub const DLQ_MAX_KEPT_BYTES: usize = 128 * 1024;

/// The DLQ value: everything needed to understand and replay a refused callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DlqValue {
    /// Absent from no record the bridge wrote; tolerated on read, as redrive always did.
    #[serde(default)]
    pub event_id: String,
    #[serde(default)]
    pub schema_version: u32,
    pub reason: String,
    pub error_code: u32,
    pub sdk_app_id: String,
    pub command: Option<String>,
    /// The query parameters (`Sign` was never kept; first value of a repeat), in their order.
    #[serde(default, serialize_with = "query_out", deserialize_with = "query_in")]
    pub query: Vec<(String, String)>,
    pub body: String,
    /// `utf8` or `base64`.
    pub body_encoding: String,
    pub received_at_ms: i64,
}

fn query_out<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

fn query_in<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    Ok(BTreeMap::<String, String>::deserialize(d)?.into_iter().collect())
}

/// Said in `reason` when the body was cut to fit: redrive knows such a copy cannot be replayed.
fn cut_note(whole: usize, kept: usize) -> String {
    format!(" (body of {whole} bytes, first {kept} kept)")
}

impl DlqValue {
    /// A DLQ record's value as the bridge wrote it.
    pub fn parse(value: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(value)
    }

    /// The callback's body as it came.
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self.body_encoding.as_str() {
            "base64" => base64::engine::general_purpose::STANDARD.decode(&self.body),
            _ => Ok(self.body.clone().into_bytes()),
        }
    }

    /// Only the start of the body was kept (the copy was cut to fit).
    pub fn body_cut(&self) -> bool {
        self.reason.ends_with(" kept)") && self.reason.contains("(body of ")
    }

    /// The broker refused the event (not a decoding refusal).
    pub fn broker_refused(&self) -> bool {
        self.error_code == BROKER_REFUSED_CODE
    }
}

/// Builds DLQ records for one set of topics, each no larger than `max_bytes` (the producer's
/// `message.max.bytes`): a body too big is cut and the reason says how much was kept. A DLQ
/// copy Kafka would refuse is a copy lost.
#[derive(Debug, Clone)]
pub struct Dlq {
    topics: Topics,
    max_bytes: usize,
}

impl Dlq {
    pub fn new(topics: Topics, max_bytes: usize) -> Self {
        Dlq { topics, max_bytes }
    }

    /// The DLQ's topic.
    pub fn topic(&self) -> &std::sync::Arc<str> {
        self.topics.get(Family::Dlq)
    }

    /// A refused but authentic callback, kept because Tencent will never send it again.
    pub fn refused_callback(
        &self,
        query: &CallbackQuery<'_>,
        refusal: &Refusal,
        body: &[u8],
        received_at_ms: i64,
    ) -> Record {
        let sdk_app_id = query.sdk_app_id.as_deref().unwrap_or("");
        let command = query.callback_command.as_deref();
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(query.kept.len());
        for (k, v) in &query.kept {
            if !pairs.iter().any(|(seen, _)| seen == k) {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        let dead = Dead {
            id: event_id(sdk_app_id, command.unwrap_or(""), body),
            ce_id: None,
            sdk_app_id,
            command,
            query: pairs,
            reason: refusal.to_string(),
            error_code: refusal.status_and_code().1,
        };
        dead.record_within(&self.topics, body, received_at_ms, self.max_bytes)
    }

    /// A record the broker refused for good (schema, size, authorization): kept on the DLQ
    /// with the broker's error instead of blocking the records behind it or being dropped.
    pub fn refused_by_broker(&self, record: &Record, error: &str, now_ms: i64) -> Record {
        let header = |name: &str| {
            record
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
        };
        let sdk_app_id = header("ce_source")
            .and_then(|s| s.rsplit('/').next())
            .unwrap_or("");
        let command = header("ce_type").and_then(|t| t.strip_prefix(CE_TYPE_PREFIX));
        let ce_id = header("ce_id").map(str::to_owned);
        let dead = Dead {
            // The refused record's own ids: the DLQ copy of an event names the event (its
            // `event_id` is the part of `ce_id` before the acceptance's suffix).
            id: ce_id.as_deref().map_or_else(
                || event_id(sdk_app_id, "", &record.value),
                |c| c.split('-').next().unwrap_or(c).to_owned(),
            ),
            ce_id,
            sdk_app_id,
            command,
            query: Vec::new(),
            reason: format!("Kafka refused the record for {}: {error}", record.topic),
            error_code: BROKER_REFUSED_CODE,
        };
        dead.record_within(
            &self.topics,
            &record.value,
            now_ms,
            self.max_bytes.min(DLQ_MAX_KEPT_BYTES * 6),
        )
    }
}

/// The first `max` bytes or fewer, never cutting a UTF-8 character in two.
fn utf8_floor(bytes: &[u8], max: usize) -> &[u8] {
    let mut end = bytes.len().min(max);
    while end > 0 && end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// What a DLQ record says before its body is placed.
#[derive(Clone)]
struct Dead<'a> {
    id: String,
    /// The `ce_id` header when it is not `id` (the copy of an accepted event).
    ce_id: Option<String>,
    sdk_app_id: &'a str,
    command: Option<&'a str>,
    query: Vec<(String, String)>,
    reason: String,
    error_code: u32,
}

impl Dead<'_> {
    /// The record, its body cut (halving) until the whole record fits `max_bytes`.
    fn record_within(self, topics: &Topics, body: &[u8], received_at_ms: i64, max_bytes: usize) -> Record {
        let whole = self.clone().record(topics, body, received_at_ms);
        if whole.encoded_len() <= max_bytes {
            return whole;
        }
        // JSON escaping grows a byte at most sixfold.
        let mut keep = body.len().min(max_bytes / 6);
        loop {
            let kept = utf8_floor(body, keep);
            let mut dead = self.clone();
            dead.reason.push_str(&cut_note(body.len(), kept.len()));
            let record = dead.record(topics, kept, received_at_ms);
            if record.encoded_len() <= max_bytes || keep == 0 {
                return record;
            }
            keep /= 2;
        }
    }

    fn record(self, topics: &Topics, body: &[u8], received_at_ms: i64) -> Record {
        let ce_id = self.ce_id.unwrap_or_else(|| self.id.clone());
        let (body, body_encoding) = match std::str::from_utf8(body) {
            Ok(s) => (s.to_owned(), "utf8"),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), "base64"),
        };
        let value = DlqValue {
            event_id: self.id,
            schema_version: crate::event::SCHEMA_VERSION,
            reason: self.reason,
            error_code: self.error_code,
            sdk_app_id: self.sdk_app_id.to_owned(),
            command: self.command.map(str::to_owned),
            query: self.query,
            body,
            body_encoding: body_encoding.to_owned(),
            received_at_ms,
        };
        Record {
            topic: topics.get(Family::Dlq).clone(),
            key: self.sdk_app_id.as_bytes().to_vec(),
            timestamp_ms: Some(received_at_ms),
            headers: headers(
                &ce_id,
                ce_source(self.sdk_app_id),
                CE_TYPE_DLQ.into(),
                received_at_ms,
                self.sdk_app_id,
            ),
            value: serde_json::to_vec(&value).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests;
