//! Property tests on the library, no broker: every valid callback of every modelled command
//! decodes, normalizes and becomes an event that its topic's JSON Schema accepts; whatever
//! else arrives (bytes, JSON of any shape, a required field of the wrong type) is refused as
//! a 400 the DLQ can keep, and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;
#[path = "properties/roles.rs"]
mod roles;
#[path = "properties/strategies.rs"]
mod strategies;

use proptest::prelude::*;
use serde_json::{json, Value};

use common::assert_schema;
use strategies::{body, field_name, json_value, Field, Generated};
use tencent_kafka_bridge::callbacks::{Callback, Kind};
use tencent_kafka_bridge::dlq::Dlq;
use tencent_kafka_bridge::event::{event_id, snake_case, Event, Origin};
use tencent_kafka_bridge::query::CallbackQuery;
use tencent_kafka_bridge::record::Record;
use tencent_kafka_bridge::refusal::{answer_body, Refusal};
use tencent_kafka_bridge::route::{self, Topics};

const APP: &str = "1400000000";

fn origin() -> Origin<'static> {
    Origin {
        sdk_app_id: APP,
        client_ip: Some("203.0.113.9"),
        platform: Some("iOS"),
        received_at_ms: 1_764_067_200_123,
    }
}

fn query(command: &str) -> String {
    format!("SdkAppid={APP}&CallbackCommand={command}&contenttype=json&ClientIP=203.0.113.9")
}

/// decode → normalize → route, as the pipeline does it.
fn to_record(kind: Option<Kind>, command: &str, body: &str) -> Result<(Record, &'static str), Refusal> {
    let callback = Callback::decode(kind, command, body)?;
    let facts = callback.facts();
    let canonical = kind.map_or(command, |k| k.canonical());
    let event = Event::new(&facts, canonical, origin(), body.as_bytes());
    let family = facts.family.name();
    Ok((
        route::event_record(&Topics::new("tencent."), facts.family, &event, body, Some("p-1")),
        family,
    ))
}

/// A refusal of a body is a 400 whose answer is Tencent-shaped and whose DLQ record is valid.
fn check_refusal(refusal: &Refusal, command: &str, body: &[u8]) {
    let (status, code) = refusal.status_and_code();
    assert_eq!(status.as_u16(), 400, "{refusal:?}");
    assert!((4003..=4006).contains(&code), "{refusal:?}");
    assert!(refusal.keeps_on_dlq(), "{refusal:?}");
    let answer: Value = serde_json::from_slice(&answer_body(Some(refusal))).unwrap();
    assert_eq!(answer["ActionStatus"], "FAIL");
    assert_eq!(answer["ErrorCode"], code);
    let raw_query = query(command);
    let q = CallbackQuery::parse(&raw_query).unwrap();
    let dlq = Dlq::new(Topics::new("tencent."), usize::MAX).refused_callback(&q, refusal, body, 1);
    let v: Value = serde_json::from_slice(&dlq.value).unwrap();
    assert_schema("dlq", &v);
    assert_eq!(v["error_code"], code);
}

/// An accepted body's event is valid JSON, matches its family's schema and carries the body.
fn check_event(record: &Record, family: &str, canonical: &str, body: &str) -> Value {
    let v: Value = serde_json::from_slice(&record.value).unwrap();
    assert_schema(family, &v);
    assert_eq!(record.topic.as_ref(), format!("tencent.{family}"));
    assert_eq!(v["raw"], serde_json::from_str::<Value>(body).unwrap());
    assert_eq!(v["command"], canonical);
    assert_eq!(v["event_id"], event_id(APP, canonical, body.as_bytes()));
    v
}

fn field<'a>(g: &'a Generated, name: &str) -> Option<&'a Value> {
    g.fields.iter().find(|(k, _, _)| *k == name).map(|(_, v, _)| v)
}

fn snake(v: Option<&Value>) -> Value {
    v.and_then(Value::as_str)
        .map_or(Value::Null, |s| Value::from(snake_case(s).into_owned()))
}

fn accounts(v: Option<&Value>) -> Value {
    let list = v.and_then(Value::as_array).cloned().unwrap_or_default();
    list.into_iter()
        .map(|m| {
            if m.is_object() {
                m["Member_Account"].clone()
            } else {
                m
            }
        })
        .collect()
}

/// What normalize must make of each command, field by field.
fn check_facts(g: &Generated, v: &Value) {
    if roles::check_facts(g, v) {
        return;
    }
    let (list, subject) = match g.kind {
        Kind::LiveMemberStateChanged => ("MemberList", ("room_id", "RoomId")),
        Kind::GroupMemberStateChange => ("MemberList", ("group_id", "GroupId")),
        Kind::RoomMemberEnter | Kind::RoomMemberLeave => ("MemberList_Account", ("room_id", "RoomId")),
        Kind::GroupNewMemberJoin => ("NewMemberList", ("group_id", "GroupId")),
        Kind::GroupMemberExit => ("ExitMemberList", ("group_id", "GroupId")),
        other => panic!("no strategy generates {other:?}"),
    };
    assert_eq!(v[subject.0], *field(g, subject.1).unwrap());
    assert_eq!(v["members"], accounts(field(g, list)));
    assert_eq!(
        v["event_time_ms"],
        field(g, "EventTime").cloned().unwrap_or(Value::Null)
    );
    let (state, cause) = match g.kind {
        Kind::LiveMemberStateChanged => (snake(field(g, "EventType")), snake(field(g, "EventCause"))),
        Kind::GroupMemberStateChange => (snake(field(g, "EventType")), snake(field(g, "EventCause"))),
        Kind::RoomMemberEnter => (json!("online"), json!("enter")),
        Kind::RoomMemberLeave => (
            json!("offline"),
            Some(snake(field(g, "Type")))
                .filter(|c| !c.is_null())
                .unwrap_or(json!("leave")),
        ),
        Kind::GroupNewMemberJoin => (json!("joined"), snake(field(g, "JoinType"))),
        Kind::GroupMemberExit => (json!("left"), snake(field(g, "ExitType"))),
        other => panic!("no strategy generates {other:?}"),
    };
    assert_eq!((&v["state"], &v["cause"]), (&state, &cause));
    if matches!(g.kind, Kind::GroupNewMemberJoin | Kind::GroupMemberExit) {
        assert_eq!(v["group_type"], snake(field(g, "Type")));
    }
    if g.kind == Kind::RoomMemberLeave {
        assert_eq!(v["reason"], field(g, "Reason").cloned().unwrap_or(Value::Null));
    }
}

/// Values of every JSON type but the one a field wants.
fn wrong_types(want: &Value) -> Vec<Value> {
    let all = [
        json!(null),
        json!(true),
        json!(7),
        json!(-1.5),
        json!("s"),
        json!([]),
        json!({}),
    ];
    all.into_iter()
        .filter(|v| match want {
            Value::String(_) => !v.is_string(),
            Value::Array(_) => !v.is_array(),
            Value::Number(_) => !v.is_i64(),
            _ => true,
        })
        .filter(|v| !v.is_null() || want.is_string() || want.is_array())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 384,
        // A failure prints its minimal input; integration tests have no src/ to persist beside.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_valid_callback_decodes_normalizes_and_fits_its_schema((g, body) in body()) {
        let kind = Kind::from_name(g.query_command);
        prop_assert_eq!(kind, Some(g.kind));
        let (record, family) = to_record(kind, g.query_command, &body)
            .unwrap_or_else(|r| panic!("{} refused: {r:?}\n{body}", g.query_command));
        let v = check_event(&record, family, g.kind.canonical(), &body);
        check_facts(&g, &v);
        let key = v["room_id"].as_str().or(v["group_id"].as_str()).unwrap();
        prop_assert_eq!(record.key, key.as_bytes().to_vec());
    }

    #[test]
    fn a_required_field_of_any_wrong_type_is_refused_by_name(
        (g, _) in body(),
        pick in any::<proptest::sample::Index>(),
        which in any::<proptest::sample::Index>(),
    ) {
        // CallbackCommand of another type is a 4005 too, but its name check runs first.
        let required: Vec<&Field> = g.fields.iter().filter(|f| f.2 && f.0 != "CallbackCommand").collect();
        let (name, want) = (pick.get(&required).0, &pick.get(&required).1);
        let wrong = wrong_types(want);
        let bad = which.get(&wrong);
        let mut obj = serde_json::Map::new();
        for (k, v, _) in &g.fields {
            obj.insert((*k).to_owned(), if *k == name { bad.clone() } else { v.clone() });
        }
        let body = Value::Object(obj).to_string();
        let refusal = to_record(Some(g.kind), g.query_command, &body).map(|_| ()).unwrap_err();
        prop_assert!(matches!(&refusal, Refusal::BadField(m) if m.starts_with(name)), "{:?} for {}={}", refusal, name, bad);
        check_refusal(&refusal, g.query_command, body.as_bytes());
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), cmd in 0usize..21) {
        let command = command_at(cmd);
        match std::str::from_utf8(&bytes) {
            Err(_) => check_refusal(&Refusal::NotJson("invalid UTF-8".into()), command, &bytes),
            Ok(text) => decode_any(command, text),
        }
    }

    #[test]
    fn decode_never_panics_on_arbitrary_json(value in json_value(), cmd in 0usize..21) {
        decode_any(command_at(cmd), &value.to_string());
    }

    #[test]
    fn decode_never_panics_on_objects_with_the_real_field_names(
        fields in proptest::collection::btree_map(field_name(), json_value(), 0..9),
        cmd in 0usize..21,
    ) {
        let command = command_at(cmd);
        let mut obj: serde_json::Map<String, Value> = fields.into_iter().collect();
        if cmd % 2 == 0 {
            obj.insert("CallbackCommand".into(), json!(command));
        }
        decode_any(command, &Value::Object(obj).to_string());
    }

    #[test]
    fn enum_values_of_any_text_normalize_to_the_schema_alphabet(s in any::<String>()) {
        let out = snake_case(&s);
        prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{:?} -> {:?}", s, out);
    }

    #[test]
    fn query_parsing_and_auth_never_panic(raw in "\\PC{0,80}|([A-Za-z%=&0-9]{0,80})") {
        use std::time::Duration;
        use tencent_kafka_bridge::auth::Authenticator;
        if let Ok(q) = CallbackQuery::parse(&raw) {
            prop_assert!(q.kept.iter().all(|(k, _)| k != "Sign"));
            let auth = Authenticator::new(vec![APP.into()], Some("t".into()), Duration::from_secs(300));
            if let Err(r) = auth.check(&q) {
                prop_assert!(matches!(r.status_and_code().0.as_u16(), 401 | 403));
            }
        }
    }
}

/// Every modelled command, the Live alias, and unmodelled ones.
fn command_at(i: usize) -> &'static str {
    const MORE: [&str; 3] = [
        "Live.CallbackMemberStateChanged",
        "Group.CallbackAfterSendMsg",
        "X.Y",
    ];
    Kind::ALL
        .get(i)
        .map_or_else(|| MORE[(i - Kind::ALL.len()) % MORE.len()], |k| k.canonical())
}

/// Any text under any command: accepted into a schema-valid event, or refused as a 400.
fn decode_any(command: &str, text: &str) {
    let kind = Kind::from_name(command);
    match to_record(kind, command, text) {
        Ok((record, family)) => {
            check_event(&record, family, kind.map_or(command, |k| k.canonical()), text);
        }
        Err(refusal) => check_refusal(&refusal, command, text.as_bytes()),
    }
}

#[test]
fn the_built_in_samples_are_valid_events() {
    for (name, command, body) in tencent_kafka_bridge::tools::samples::SAMPLES {
        if *command == tencent_kafka_bridge::tools::samples::TRTC {
            continue; // another protocol: tests/trtc.rs
        }
        let kind = Kind::from_name(command);
        let (record, family) = to_record(kind, command, body).unwrap_or_else(|r| panic!("{name}: {r:?}"));
        check_event(&record, family, kind.unwrap().canonical(), body);
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_refused_not_overflowed() {
    let live = Kind::LiveMemberStateChanged.canonical();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!(
        r#"{{"CallbackCommand":"{live}","x":{}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!(
        r#"{{"CallbackCommand":"{live}","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[],"EventTime":1{}}}"#,
        "0".repeat(400)
    );
    let huge_extra = huge.replace(r#""EventTime":1"#, r#""Extra":1e999,"EventTime":1"#);
    for body in [deep, deep_obj, huge, huge_extra] {
        let refusal = to_record(Some(Kind::LiveMemberStateChanged), live, &body)
            .map(|_| ())
            .unwrap_err();
        check_refusal(&refusal, live, body.as_bytes());
    }
}

/// Regression: an `EventTime` past year 9999 made the CloudEvents `ce_time` formatting panic
/// (humantime's Display fails there), which killed the request's connection without an answer.
#[test]
fn any_event_time_makes_a_record_with_a_valid_ce_time() {
    let live = Kind::LiveMemberStateChanged.canonical();
    for (t, ce_time) in [
        (i64::MAX, "9999-12-31T23:59:59.999Z"),
        (253_402_300_800_000, "9999-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1970-01-01T00:00:00.000Z"),
        (i64::MIN, "1970-01-01T00:00:00.000Z"),
    ] {
        let body = format!(
            r#"{{"CallbackCommand":"{live}","RoomId":"r","EventType":"Online","EventCause":"Enter","MemberList":[],"EventTime":{t}}}"#
        );
        let (record, family) = to_record(Some(Kind::LiveMemberStateChanged), live, &body).unwrap();
        let v = check_event(&record, family, live, &body);
        assert_eq!(v["event_time_ms"], t);
        let header = record.headers.iter().find(|(n, _)| n == "ce_time").unwrap();
        assert_eq!(String::from_utf8_lossy(&header.1), ce_time, "EventTime {t}");
    }
}

/// A record Kafka refuses for its size comes back as a DLQ record that fits: its value cut to
/// the first 128 KiB (never inside a UTF-8 character), the cut said in `reason`.
#[test]
fn a_refused_records_dlq_copy_is_bounded_and_valid() {
    use tencent_kafka_bridge::dlq::DLQ_MAX_KEPT_BYTES;
    use tencent_kafka_bridge::route::DEFAULT_MAX_RECORD_BYTES;
    let live = Kind::LiveMemberStateChanged.canonical();
    let members: Vec<String> = (0..200_000).map(|i| format!("房间{i}")).collect();
    let body = serde_json::json!({
        "CallbackCommand": live, "RoomId": "r", "EventType": "Online", "EventCause": "Enter",
        "MemberList": members.iter().map(|m| serde_json::json!({"Member_Account": m})).collect::<Vec<_>>(),
    })
    .to_string();
    let (record, _) = to_record(Some(Kind::LiveMemberStateChanged), live, &body).unwrap();
    assert!(record.value.len() > 4 * DLQ_MAX_KEPT_BYTES);
    let small = (0..=1000)
        .rev()
        .find(|n| std::str::from_utf8(&record.value[..*n]).is_ok())
        .unwrap();
    for (value_len, cut) in [(record.value.len(), true), (small, false)] {
        let mut r = record.clone();
        r.value.truncate(value_len);
        let dlq = Dlq::new(Topics::new("tencent."), DEFAULT_MAX_RECORD_BYTES).refused_by_broker(
            &r,
            "MessageSizeTooLarge",
            1,
        );
        assert!(dlq.value.len() < 1_000_000, "{}", dlq.value.len());
        let v: Value = serde_json::from_slice(&dlq.value).unwrap();
        assert_schema("dlq", &v);
        assert_eq!(
            (v["error_code"].as_i64(), v["body_encoding"].as_str()),
            (Some(5041), Some("utf8"))
        );
        let kept = v["body"].as_str().unwrap();
        assert!(r.value.starts_with(kept.as_bytes()));
        assert_eq!(kept.len() < r.value.len(), cut);
        assert!(kept.len() <= DLQ_MAX_KEPT_BYTES);
        assert_eq!(
            v["reason"].as_str().unwrap().contains("kept)"),
            cut,
            "{}",
            v["reason"]
        );
    }
}
