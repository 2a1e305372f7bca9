//! Which spool records a tool works on: by receive time, family, key or event id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::config::TopicPrefixArg;
use crate::event::received_at_ms;
use crate::record::Record;

#[derive(Debug, Clone, Default, Args)]
pub struct Filter {
    /// Only records received at or after this: an RFC 3339 time (2026-11-29T14:00:00Z) or a
    /// duration ago (90m, 2h).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only records received before this (same forms as --since).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Only these families (live.member, room.member, group.member, user.state, mic.seat, other, dlq, ...).
    #[arg(long = "family", value_delimiter = ',')]
    pub families: Vec<String>,
    /// A family's topic is the prefix plus the family.
    #[command(flatten)]
    pub topic: TopicPrefixArg,
    /// Only records with this Kafka key (a room or group id).
    #[arg(long)]
    pub key: Option<String>,
    /// Only the record with this event_id.
    #[arg(long)]
    pub event_id: Option<String>,
}

impl Filter {
    pub fn matches(&self, record: &Record) -> bool {
        let family_ok = self.families.is_empty()
            || record
                .topic
                .strip_prefix(self.topic.topic_prefix.as_str())
                .is_some_and(|family| self.families.iter().any(|f| f == family));
        let key_ok = self
            .key
            .as_ref()
            .map_or(true, |k| k.as_bytes() == record.key.as_slice());
        let id_ok = self
            .event_id
            .as_ref()
            .map_or(true, |id| event_id(record).as_deref() == Some(id.as_str()));
        family_ok && key_ok && id_ok && self.in_window(record)
    }

    fn in_window(&self, record: &Record) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let at = received_at_ms(&record.value);
        self.since.map_or(true, |s| at >= s) && self.until.map_or(true, |u| at < u)
    }
}

/// The record's `ce_id` header: its event_id.
pub fn event_id(record: &Record) -> Option<String> {
    record
        .headers
        .iter()
        .find(|(name, _)| name == "ce_id")
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
}

/// Milliseconds since the epoch from an RFC 3339 time or a duration before now.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let at = match humantime::parse_rfc3339_weak(s) {
        Ok(t) => t,
        Err(_) => {
            let ago = humantime::parse_duration(s)
                .map_err(|_| format!("{s:?} is neither an RFC 3339 time nor a duration like 90m"))?;
            SystemTime::now().checked_sub(ago).unwrap_or(UNIX_EPOCH)
        }
    };
    let ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// `2026-11-29T15:04:05.123Z`, or `-` for no time.
pub fn time(ms: i64) -> String {
    if ms > 0 {
        crate::clock::rfc3339_ms(ms)
    } else {
        "-".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(topic: &str, key: &str, id: &str, ms: i64) -> Record {
        Record {
            topic: Arc::from(topic),
            key: key.as_bytes().to_vec(),
            headers: vec![("ce_id".into(), id.as_bytes().to_vec().into())],
            value: format!("{{\"event_id\":\"{id}\",\"received_at_ms\":{ms}}}").into_bytes(),
            timestamp_ms: Some(ms),
        }
    }

    #[test]
    fn filters_combine() {
        let r = record("tencent.room.member", "room-1", "abc", 5_000);
        assert!(Filter::default().matches(&r));
        let f = |families: &[&str]| Filter {
            families: families.iter().map(|s| s.to_string()).collect(),
            topic: TopicPrefixArg {
                topic_prefix: "tencent.".into(),
            },
            ..Filter::default()
        };
        assert!(f(&["room.member"]).matches(&r));
        assert!(f(&["live.member", "room.member"]).matches(&r));
        assert!(
            !f(&["member"]).matches(&r),
            "a family is whole names after the prefix"
        );
        assert!(!f(&["live.member"]).matches(&r));
        let window = Filter {
            since: Some(5_000),
            until: Some(5_001),
            ..Filter::default()
        };
        assert!(window.matches(&r));
        assert!(!Filter {
            since: Some(5_001),
            ..Filter::default()
        }
        .matches(&r));
        assert!(!Filter {
            until: Some(5_000),
            ..Filter::default()
        }
        .matches(&r));
        assert!(Filter {
            key: Some("room-1".into()),
            event_id: Some("abc".into()),
            ..Filter::default()
        }
        .matches(&r));
        assert!(!Filter {
            key: Some("room-2".into()),
            ..Filter::default()
        }
        .matches(&r));
        assert!(!Filter {
            event_id: Some("abd".into()),
            ..Filter::default()
        }
        .matches(&r));
    }

    #[test]
    fn times_are_rfc3339_or_a_duration_ago() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1000));
        let hour_ago = parse_time("1h").unwrap();
        let now = parse_time("0s").unwrap();
        assert!((now - hour_ago - 3_600_000).abs() < 5_000);
        assert!(parse_time("yesterday").is_err());
    }
}
