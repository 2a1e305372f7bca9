//! What names one accepted callback and places it in time: its `ce_id` (unique per accepted
//! callback, kept by every copy of its record) and, with `event_record`, the record timestamp.

use crate::record::Record;

/// `ce_id`: `<event_id>-<suffix>`, or the `event_id` alone without a suffix (TRTC, whose
/// retries are one event). `event_id` is the content hash: two byte-identical callbacks share
/// it, and CloudEvents consumers may drop a repeated `source` + `id`, so each accepted
/// callback gets a suffix of its own ([`fresh_ce_suffix`]) and every copy of the record
/// (spool re-send, replay) carries the id it was given.
pub fn ce_id(event_id: &str, suffix: Option<&str>) -> String {
    match suffix {
        Some(suffix) => format!("{event_id}-{suffix}"),
        None => event_id.to_owned(),
    }
}

/// A suffix no other accepted callback gets: `<instance>-<n>`, where `instance` is 16 hex
/// digits drawn at random when the process starts and `n` counts, in decimal, the callbacks
/// this process has taken.
pub fn fresh_ce_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::LazyLock;
    static INSTANCE: LazyLock<String> = LazyLock::new(|| format!("{:016x}", instance_nonce()));
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", *INSTANCE)
}

/// `record` (the DLQ copy of a refused callback, whose `ce_id` is its content hash) named as
/// that one callback: `<event_id>-<suffix>`, so two byte-identical refusals are two ids there
/// too.
pub fn with_ce_suffix(mut record: Record, suffix: &str) -> Record {
    if let Some((_, id)) = record.headers.iter_mut().find(|(name, _)| name == "ce_id") {
        let mut named = id.to_vec();
        named.push(b'-');
        named.extend_from_slice(suffix.as_bytes());
        *id = named.into();
    }
    record
}

/// The suffix of an event redriven from the DLQ: named by the DLQ record's place, so the same
/// DLQ record redriven twice gives one id, and two DLQ records two ids.
pub fn redrive_ce_suffix(partition: i32, offset: i64) -> String {
    format!("dlq-{partition}-{offset}")
}

/// 64 random bits: the kernel's, or (should /dev/urandom be unreadable) the standard
/// library's per-process hash keys over the pid and the clock.
fn instance_nonce() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let from_kernel = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_kernel.is_ok() {
        return u64::from_le_bytes(bytes);
    }
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one((
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Family};
    use crate::route::{event_record, Topics};

    /// Each accepted callback its own id, whatever its bytes: `<event_id>-<16 hex>-<n>`.
    #[test]
    fn ce_ids_are_fresh_per_acceptance_and_stable_per_dlq_record() {
        let (a, b) = (fresh_ce_suffix(), fresh_ce_suffix());
        assert_ne!(a, b);
        let (instance, n) = a.split_once('-').unwrap();
        assert!(
            instance.len() == 16 && instance.bytes().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
        assert!(n.parse::<u64>().is_ok(), "{a}");
        assert_eq!(ce_id("abc", Some(&a)), format!("abc-{a}"));
        assert_eq!(ce_id("abc", None), "abc");
        assert_eq!(redrive_ce_suffix(2, 17), redrive_ce_suffix(2, 17));
        assert_ne!(redrive_ce_suffix(2, 17), redrive_ce_suffix(1, 17));
        let q = crate::query::CallbackQuery::parse("SdkAppid=14&CallbackCommand=A.B").unwrap();
        let dead = crate::dlq::Dlq::new(Topics::new("t."), usize::MAX).refused_callback(
            &q,
            &crate::refusal::Refusal::NotObject,
            b"[1]",
            7,
        );
        let named = with_ce_suffix(dead.clone(), "x-1");
        let ce = |r: &Record| r.headers.iter().find(|(n, _)| n == "ce_id").unwrap().1.to_vec();
        assert_eq!(ce(&named), [ce(&dead), b"-x-1".to_vec()].concat());
        assert_eq!(
            named.value, dead.value,
            "event_id in the value stays the content hash"
        );
    }

    #[test]
    fn an_event_record_is_stamped_with_the_event_time_else_its_arrival() {
        use crate::event::{Facts, Origin, Subject};
        let t = Topics::new("t.");
        let origin = Origin {
            sdk_app_id: "14",
            client_ip: None,
            platform: None,
            received_at_ms: 9_000,
        };
        let mut facts = Facts::new(Family::MicSeat, Subject::Room("r"));
        let event = Event::new(&facts, "Mic.X", origin, b"{}");
        let r = event_record(&t, Family::MicSeat, &event, "{}", Some("s-1"));
        assert_eq!((r.timestamp_ms, r.topic.as_ref()), (Some(9_000), "t.mic.seat"));
        let ce = r.headers.iter().find(|(n, _)| n == "ce_id").unwrap();
        assert_eq!(ce.1.as_ref(), format!("{}-s-1", event.event_id).as_bytes());
        facts.event_time_ms = Some(5_000);
        let event = Event::new(&facts, "Mic.X", origin, b"{}");
        assert_eq!(
            event_record(&t, Family::MicSeat, &event, "{}", None).timestamp_ms,
            Some(5_000)
        );
    }
}
