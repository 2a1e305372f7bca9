//! Send a callback and find its event: the checks every event must pass (headers, schema,
//! `raw`), shared by the integration tests.

use std::time::Duration;

use super::assert_schema;
use super::bridge::{Bridge, APP_ID, TOKEN};
use super::broker::Broker;
use super::consume::{read_until, Msg};
use super::http::post;
use super::samples::query;

pub const WAIT: Duration = Duration::from_secs(30);

pub fn find<'a>(msgs: &'a [Msg], event_id: &str) -> Option<&'a Msg> {
    msgs.iter().find(|m| m.value["event_id"] == event_id)
}

pub async fn send_ok(bridge: &Bridge, command: &str, body: &str) {
    let q = query("/callback", APP_ID, command, Some(TOKEN));
    let a = post(&bridge.addr(), &q, body.to_owned()).await;
    assert_eq!(a.status, 200, "{command}: {a:?}");
    assert_eq!(
        a.body,
        serde_json::json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0})
    );
    assert_eq!(a.headers["content-type"], "application/json");
}

pub fn expect_event(broker: &Broker, topic: &str, app: &str, command: &str, body: &str) -> Msg {
    let id = tencent_kafka_bridge::event::event_id(app, command, body.as_bytes());
    let msgs = read_until(&broker.bootstrap(), topic, WAIT, |m| find(m, &id).is_some());
    let msg = find(&msgs, &id)
        .unwrap_or_else(|| panic!("event {id} not on {topic}; read {msgs:?}"))
        .clone();
    assert_schema(msg.value["family"].as_str().expect("family"), &msg.value);
    assert_eq!(msg.headers["ce_specversion"], "1.0");
    // One accepted callback, one id: the content hash, then this acceptance's own suffix.
    assert!(
        msg.headers["ce_id"].starts_with(&format!("{id}-")),
        "{:?}",
        msg.headers
    );
    assert_eq!(
        msg.headers["ce_source"],
        format!("tencent-cloud://sdkappid/{app}")
    );
    assert_eq!(
        msg.headers["ce_type"],
        format!("com.tencent.cloud.callback.{command}")
    );
    assert_eq!(msg.headers["content-type"], "application/json");
    assert_eq!(msg.headers["ce_subject"], msg.key);
    assert!(msg.headers["ce_time"].ends_with('Z'), "{:?}", msg.headers);
    assert_eq!(
        msg.value["raw"],
        serde_json::from_str::<serde_json::Value>(body).expect("body json")
    );
    msg
}

/// A malformed callback of a modelled command: refused 400 (4005) naming the field, and kept on
/// the DLQ with that reason, schema-valid.
pub async fn refused_and_kept(broker: &Broker, bridge: &Bridge, command: &str, body: &str, info: &str) {
    let a = post(
        &bridge.addr(),
        &query("/callback", APP_ID, command, Some(TOKEN)),
        body.to_owned(),
    )
    .await;
    assert_eq!((a.status, a.code(), a.info()), (400, 4005, info), "{command}");
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().any(|m| m.value["body"] == body)
    });
    let d = dlq
        .iter()
        .find(|m| m.value["body"] == body)
        .expect("kept on the DLQ");
    assert_eq!(d.value["reason"], info);
    assert_schema("dlq", &d.value);
}

/// A sample of `send` by name: (command, body).
pub fn sample(name: &str) -> (&'static str, &'static str) {
    tencent_kafka_bridge::tools::samples::find(name).expect("a sample of that name")
}

/// The record timestamp, read by a real consumer, is the event's time.
pub fn assert_event_time(m: &Msg) {
    let want = m.value["event_time_ms"]
        .as_i64()
        .or(m.value["received_at_ms"].as_i64());
    assert_eq!(m.timestamp_ms, want, "{:?}", m.value);
}
