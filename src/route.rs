//! route: an event (or a refused callback) becomes a Kafka record — topic, key, CloudEvents
//! binary-mode headers, value. Topics, keys and headers are public API (README, "Contract").

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::event::{event_id, Event, Family};
use crate::query::CallbackQuery;
use crate::record::{Header, Record};
use crate::refusal::Refusal;

mod identity;
pub use identity::{ce_id, fresh_ce_suffix, redrive_ce_suffix, with_ce_suffix};

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

/// Topic names, built once from the prefix.
#[derive(Debug, Clone)]
pub struct Topics {
    names: [Arc<str>; Family::ALL.len()],
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        Topics {
            names: Family::ALL.map(|f| Arc::from(format!("{prefix}{}", f.name()))),
        }
    }

    pub fn get(&self, family: Family) -> &Arc<str> {
        let i = Family::ALL.iter().position(|f| *f == family).unwrap_or(0);
        &self.names[i]
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<str>> {
        self.names.iter()
    }

    /// The topics the bridge can publish to: TRTC's only when it serves TRTC (`trtc`).
    pub fn watched(&self, trtc: bool) -> Vec<Arc<str>> {
        Family::ALL
            .iter()
            .filter(|f| trtc || !matches!(f, Family::TrtcMember | Family::TrtcMedia))
            .map(|f| self.get(*f).clone())
            .collect()
    }
}

/// CloudEvents `ce_type` prefix: reverse-DNS, then the canonical Tencent command.
pub const CE_TYPE_PREFIX: &str = "com.tencent.cloud.callback.";
/// `ce_type` of a DLQ record.
pub const CE_TYPE_DLQ: &str = "com.tencent.cloud.callback.dlq";

fn ce_source(sdk_app_id: &str) -> Vec<u8> {
    format!("tencent-cloud://sdkappid/{sdk_app_id}").into_bytes()
}

fn rfc3339(ms: i64) -> Vec<u8> {
    crate::clock::rfc3339_ms(ms).into_bytes()
}

fn headers(id: &str, source: Vec<u8>, ce_type: String, time_ms: i64, subject: &str) -> Vec<Header> {
    let [specversion, ce_id, ce_source, ce_type_name, ce_time, ce_subject, content_type] = HEADER_NAMES;
    vec![
        (specversion.into(), Cow::Borrowed(b"1.0")),
        (ce_id.into(), id.as_bytes().to_vec().into()),
        (ce_source.into(), source.into()),
        (ce_type_name.into(), ce_type.into_bytes().into()),
        (ce_time.into(), rfc3339(time_ms).into()),
        (ce_subject.into(), subject.as_bytes().to_vec().into()),
        (content_type.into(), Cow::Borrowed(b"application/json")),
    ]
}

/// An accepted event: keyed by room or group (the app id when it has neither), so one room's
/// events land on one partition in order. Its `ce_id` is [`ce_id`]`(event_id, ce_suffix)`,
/// and its Kafka timestamp the event's time (Tencent's `EventTime`, else when it came).
pub fn event_record(
    topics: &Topics,
    family: Family,
    event: &Event<'_>,
    raw_body: &str,
    ce_suffix: Option<&str>,
) -> Record {
    let subject = event.key;
    let time_ms = event.event_time_ms.unwrap_or(event.received_at_ms);
    Record {
        topic: topics.get(family).clone(),
        key: subject.as_bytes().to_vec(),
        timestamp_ms: Some(time_ms),
        headers: headers(
            &ce_id(&event.event_id, ce_suffix),
            ce_source(event.sdk_app_id),
            format!("{CE_TYPE_PREFIX}{}", event.command),
            time_ms,
            subject,
        ),
        value: event.to_json(raw_body),
    }
}

/// The DLQ value: everything needed to understand and replay a refused callback.
#[derive(Serialize)]
struct DlqValue<'a> {
    event_id: &'a str,
    schema_version: u32,
    reason: String,
    error_code: u32,
    sdk_app_id: &'a str,
    command: Option<&'a str>,
    query: QueryMap<'a>,
    body: String,
    body_encoding: &'static str,
    received_at_ms: i64,
}

/// The query parameters as a JSON object (`Sign` was never kept; first value of a repeat).
struct QueryMap<'a>(&'a CallbackQuery<'a>);

impl Serialize for QueryMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut seen: Vec<&str> = Vec::with_capacity(self.0.kept.len());
        for (k, v) in &self.0.kept {
            if !seen.contains(&k.as_ref()) {
                seen.push(k);
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// A refused but authentic callback, kept because Tencent will never send it again.
pub fn dlq_record(
    topics: &Topics,
    query: &CallbackQuery<'_>,
    refusal: &Refusal,
    body: &[u8],
    received_at_ms: i64,
) -> Record {
    dlq_record_within(topics, query, refusal, body, received_at_ms, usize::MAX)
}

/// [`dlq_record`] no larger than `max_bytes` (the producer's `message.max.bytes`): a body too
/// big for it is cut, and the reason says how much was kept. A DLQ copy Kafka would refuse
/// is a copy lost.
pub fn dlq_record_within(
    topics: &Topics,
    query: &CallbackQuery<'_>,
    refusal: &Refusal,
    body: &[u8],
    received_at_ms: i64,
    max_bytes: usize,
) -> Record {
    let sdk_app_id = query.sdk_app_id.as_deref().unwrap_or("");
    let command = query.callback_command.as_deref();
    let dead = Dead {
        id: event_id(sdk_app_id, command.unwrap_or(""), body),
        ce_id: None,
        sdk_app_id,
        command,
        query,
        reason: refusal.to_string(),
        error_code: refusal.status_and_code().1,
    };
    dead.record_within(topics, body, received_at_ms, max_bytes)
}

/// A record the broker refused for good (schema, size, authorization): kept on the DLQ with
/// the broker's error instead of blocking the records behind it or being dropped.
pub fn broker_refused_record(topics: &Topics, record: &Record, error: &str, now_ms: i64) -> Record {
    broker_refused_record_within(topics, record, error, now_ms, DEFAULT_MAX_RECORD_BYTES)
}

/// librdkafka's default `message.max.bytes`.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1_000_000;

/// [`broker_refused_record`] no larger than `max_bytes`.
pub fn broker_refused_record_within(
    topics: &Topics,
    record: &Record,
    error: &str,
    now_ms: i64,
    max_bytes: usize,
) -> Record {
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
    let empty = CallbackQuery::default();
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
        query: &empty,
        reason: format!("Kafka refused the record for {}: {error}", record.topic),
        error_code: BROKER_REFUSED_CODE,
    };
    dead.record_within(
        topics,
        &record.value,
        now_ms,
        max_bytes.min(DLQ_MAX_KEPT_BYTES * 6),
    )
}

/// How much of a refused record's value its DLQ copy keeps. A record refused for its size
/// must not come back too large: 128 KiB stays under Kafka's default 1 MB even if JSON
/// escaping grows every byte sixfold.
pub const DLQ_MAX_KEPT_BYTES: usize = 128 * 1024;

/// The first `max` bytes or fewer, never cutting a UTF-8 character in two.
fn utf8_floor(bytes: &[u8], max: usize) -> &[u8] {
    let mut end = bytes.len().min(max);
    while end > 0 && end < bytes.len() && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// `error_code` of a DLQ record the broker refused (never an HTTP answer).
pub const BROKER_REFUSED_CODE: u32 = 5041;

#[derive(Clone)]
struct Dead<'a> {
    id: String,
    /// The `ce_id` header when it is not `id` (the copy of an accepted event).
    ce_id: Option<String>,
    sdk_app_id: &'a str,
    command: Option<&'a str>,
    query: &'a CallbackQuery<'a>,
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
            dead.reason.push_str(&format!(
                " (body of {} bytes, first {} kept)",
                body.len(),
                kept.len()
            ));
            let record = dead.record(topics, kept, received_at_ms);
            if record.encoded_len() <= max_bytes || keep == 0 {
                return record;
            }
            keep /= 2;
        }
    }

    fn record(self, topics: &Topics, body: &[u8], received_at_ms: i64) -> Record {
        let id = self.id;
        let ce_id = self.ce_id.unwrap_or_else(|| id.clone());
        let (body, body_encoding) = match std::str::from_utf8(body) {
            Ok(s) => (s.to_owned(), "utf8"),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), "base64"),
        };
        let value = DlqValue {
            event_id: &id,
            schema_version: crate::event::SCHEMA_VERSION,
            reason: self.reason,
            error_code: self.error_code,
            sdk_app_id: self.sdk_app_id,
            command: self.command,
            query: QueryMap(self.query),
            body,
            body_encoding,
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
mod tests {
    use super::*;

    fn v_of(r: &Record) -> serde_json::Value {
        serde_json::from_slice(&r.value).unwrap()
    }

    #[test]
    fn topics_follow_the_prefix() {
        let t = Topics::new("x.");
        let names: Vec<&str> = t.all().map(|s| s.as_ref()).collect();
        assert_eq!(
            names,
            [
                "x.live.member",
                "x.group.member",
                "x.room.member",
                "x.user.state",
                "x.trtc.member",
                "x.trtc.media",
                "x.mic.seat",
                "x.other",
                "x.dlq"
            ]
        );
        assert_eq!(t.get(Family::Dlq).as_ref(), "x.dlq");
    }

    #[test]
    fn dlq_keeps_binary_bodies_as_base64_and_never_the_sign() {
        let q = CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B&Sign=secret&RequestTime=1").unwrap();
        let r = dlq_record(
            &Topics::new("t."),
            &q,
            &Refusal::NotJson("x".into()),
            &[0xff, 0x00],
            7,
        );
        let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
        assert_eq!(v["body_encoding"], "base64");
        assert_eq!(v["body"], "/wA=");
        assert_eq!(v["error_code"], 4003);
        assert_eq!(v["query"]["RequestTime"], "1");
        assert!(v["query"].get("Sign").is_none());
        assert!(!String::from_utf8_lossy(&r.value).contains("secret"));
        assert_eq!(r.key, b"14");
    }

    #[test]
    fn broker_refused_records_keep_the_original_value() {
        let t = Topics::new("t.");
        let q = CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B").unwrap();
        let original = dlq_record(&t, &q, &Refusal::NotObject, b"[1]", 7);
        let mut event = original.clone();
        event.headers[3].1 = format!("{CE_TYPE_PREFIX}Live.X").into_bytes().into();
        let id = v_of(&original)["event_id"].as_str().unwrap().to_owned();
        event.headers[1].1 = format!("{id}-0123456789abcdef-7").into_bytes().into();
        let r = broker_refused_record(&t, &event, "INVALID_RECORD", 9);
        let v = v_of(&r);
        assert_eq!(
            v["event_id"], id,
            "the event's content hash, as the DLQ schema wants"
        );
        assert_eq!(
            r.headers[1].1.as_ref(),
            event.headers[1].1.as_ref(),
            "the event's ce_id"
        );
        assert_eq!(v["error_code"], BROKER_REFUSED_CODE);
        assert_eq!(v["sdk_app_id"], "14");
        assert_eq!(v["command"], "Live.X");
        assert_eq!(v["body"], String::from_utf8(event.value).unwrap());
        assert!(v["reason"].as_str().unwrap().contains("INVALID_RECORD"));
    }

    #[test]
    fn ce_time_is_rfc3339_millis() {
        assert_eq!(rfc3339(1703589922780), b"2023-12-26T11:25:22.780Z");
    }
}
