//! route: an event becomes a Kafka record (a refused callback: `dlq`) — topic, key, CloudEvents
//! binary-mode headers, value. Topics, keys and headers are public API (README, "Contract").

use std::borrow::Cow;
use std::sync::Arc;

use crate::event::{Event, Family};
use crate::record::{Header, Record};

mod identity;
pub use identity::{ce_id, fresh_ce_suffix, redrive_ce_suffix, with_ce_suffix};

pub use crate::record::HEADER_NAMES;

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

pub(crate) fn ce_source(sdk_app_id: &str) -> Vec<u8> {
    format!("tencent-cloud://sdkappid/{sdk_app_id}").into_bytes()
}

fn rfc3339(ms: i64) -> Vec<u8> {
    crate::clock::rfc3339_ms(ms).into_bytes()
}

pub(crate) fn headers(
    id: &str,
    source: Vec<u8>,
    ce_type: String,
    time_ms: i64,
    subject: &str,
) -> Vec<Header> {
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

/// librdkafka's default `message.max.bytes`.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1_000_000;

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ce_time_is_rfc3339_millis() {
        assert_eq!(rfc3339(1703589922780), b"2023-12-26T11:25:22.780Z");
    }
}
