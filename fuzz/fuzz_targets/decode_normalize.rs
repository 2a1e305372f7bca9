//! Arbitrary bytes as a callback body, under a command picked from the input (every modelled
//! command, the Live alias, and a few unmodelled ones): decode, normalize, route. Nothing may
//! panic; a refusal must be a 400 with a DLQ record that is JSON; an accepted body must become
//! a record whose value is JSON with `raw` equal to the body and enum fields in snake_case.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tencent_kafka_bridge::query::CallbackQuery;
use tencent_kafka_bridge::callbacks::{Callback, Kind};
use tencent_kafka_bridge::event::{Event, Origin};
use tencent_kafka_bridge::refusal::answer_body;
use tencent_kafka_bridge::dlq::Dlq;
use tencent_kafka_bridge::route::{self, Topics};

const EXTRA_COMMANDS: [&str; 5] = [
    "Live.CallbackMemberStateChanged",
    "Group.CallbackAfterSendMsg",
    "X.Y",
    "",
    "live.callbackafterMemberStateChanged",
];

fn command(selector: u8) -> &'static str {
    let i = usize::from(selector) % (Kind::ALL.len() + EXTRA_COMMANDS.len());
    match Kind::ALL.get(i) {
        Some(k) => k.canonical(),
        None => EXTRA_COMMANDS[i - Kind::ALL.len()],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let command = command(selector);
    let topics = Topics::new("tencent.");
    let raw_query =
        format!("SdkAppid=1400000000&CallbackCommand={command}&contenttype=json&ClientIP=10.0.0.1");
    let query = CallbackQuery::parse(&raw_query).unwrap();

    // The pipeline refuses invalid UTF-8 before decode; its DLQ record must still be JSON.
    let Ok(text) = std::str::from_utf8(body) else {
        let r = tencent_kafka_bridge::refusal::Refusal::NotJson("invalid UTF-8".into());
        let dlq = Dlq::new(topics.clone(), usize::MAX).refused_callback(&query, &r, body, 1);
        serde_json::from_slice::<serde_json::Value>(&dlq.value).unwrap();
        return;
    };

    let kind = Kind::from_name(command);
    match Callback::decode(kind, command, text) {
        Ok(callback) => {
            let facts = callback.facts();
            let origin = Origin {
                sdk_app_id: "1400000000",
                client_ip: Some("10.0.0.1"),
                platform: None,
                received_at_ms: 1_700_000_000_000,
            };
            let canonical = kind.map_or(command, Kind::canonical);
            let event = Event::new(&facts, canonical, origin, body);
            let record = route::event_record(&topics, facts.family, &event, text, Some("fuzz-1"));
            // A consumer can read the event (serde_json: nesting, number range, escapes), and
            // `raw` is the body.
            let body_value: serde_json::Value = serde_json::from_str(text).expect("accepted body parses");
            let v: serde_json::Value = serde_json::from_slice(&record.value).expect("event value parses");
            assert_eq!(v["raw"], body_value);
            assert_eq!(v["command"], canonical);
            assert_eq!(v["event_id"].as_str().map(str::len), Some(32));
            // The schemas' enum alphabet, whatever text Tencent put in the body.
            for f in ["state", "cause", "group_type"] {
                let s = v[f].as_str().unwrap_or("");
                assert!(
                    s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{f}: {s:?}"
                );
            }
            assert!(!record.topic.is_empty());
        }
        Err(refusal) => {
            let (status, code) = refusal.status_and_code();
            assert_eq!(status.as_u16(), 400, "{refusal:?}");
            assert!((4003..=4006).contains(&code), "{refusal:?}");
            assert!(refusal.keeps_on_dlq(), "{refusal:?}");
            let answer: serde_json::Value = serde_json::from_slice(&answer_body(Some(&refusal))).unwrap();
            assert_eq!(answer["ErrorCode"], code);
            let dlq = Dlq::new(topics.clone(), usize::MAX).refused_callback(&query, &refusal, body, 1);
            let v: serde_json::Value = serde_json::from_slice(&dlq.value).unwrap();
            assert_eq!(v["body"], text);
        }
    }
});
