//! Every seed callback, sent the way Tencent sends it, lands on its topic with the right key,
//! headers and JSON — checked against `schemas/` here and by the broker's schema registry.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::assert_schema;
use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::events::{expect_event, send_ok, WAIT};
use common::http::post;
use common::samples::{self, query};

#[tokio::test(flavor = "multi_thread")]
async fn every_seed_sample_reaches_its_topic() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token", TOKEN, "--delivery", "kafka"],
    );
    let live = "Live.CallbackAfterMemberStateChanged";

    // Seed 000 (URL spelling from its table) and 001 (multi-line body).
    send_ok(&bridge, "Live.CallbackMemberStateChanged", samples::LIVE_000).await;
    send_ok(&bridge, live, samples::LIVE_001).await;
    send_ok(&bridge, "Group.CallbackOnMemberStateChange", samples::GROUP_002).await;
    send_ok(&bridge, "Room.CallbackAfterMemberEnter", samples::ROOM_003).await;

    let m = expect_event(&broker, "tencent.live.member", APP_ID, live, samples::LIVE_000);
    assert_eq!(m.key, "room_id");
    let v = &m.value;
    assert_eq!(v["command"], live);
    assert_eq!(v["family"], "live.member");
    assert_eq!(v["sdk_app_id"], APP_ID);
    assert_eq!(v["room_id"], "room_id");
    assert_eq!(v["group_id"], serde_json::Value::Null);
    assert_eq!(v["state"], "online");
    assert_eq!(v["cause"], "enter");
    assert_eq!(v["members"], serde_json::json!(["jared", "tommy"]));
    assert_eq!(v["event_time_ms"], 1703589922780i64);
    assert_eq!(v["client_ip"], "10.0.0.7");
    assert_eq!(v["platform"], "iOS");
    assert!(v["received_at_ms"].as_i64().unwrap_or(0) > 1_700_000_000_000);

    let m = expect_event(&broker, "tencent.live.member", APP_ID, live, samples::LIVE_001);
    assert_eq!(m.value["members"], serde_json::json!(["jared", "tommy"]));

    let g = expect_event(
        &broker,
        "tencent.group.member",
        APP_ID,
        "Group.CallbackOnMemberStateChange",
        samples::GROUP_002,
    );
    assert_eq!(g.key, "@TGS#2J4SZEAEL");
    assert_eq!(g.value["group_id"], "@TGS#2J4SZEAEL");
    assert_eq!(g.value["room_id"], serde_json::Value::Null);
    assert_eq!(g.value["state"], "offline");
    assert_eq!(g.value["event_time_ms"], serde_json::Value::Null);
    assert_eq!(g.value["cause"], serde_json::Value::Null);

    let r = expect_event(
        &broker,
        "tencent.room.member",
        APP_ID,
        "Room.CallbackAfterMemberEnter",
        samples::ROOM_003,
    );
    assert_eq!(r.key, "rid-123");
    assert_eq!(r.value["operator"], "user1");
    assert_eq!(r.value["member_count"], 20);
    assert_eq!(r.value["members"], serde_json::json!(["user1"]));
    assert_eq!(r.value["state"], "online");
    assert_eq!(r.value["cause"], "enter");
    assert_eq!(r.value["event_time_ms"], 1670574414123i64);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cause_unicode_ids_and_group_causes() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--delivery", "kafka"]);
    let live = "Live.CallbackAfterMemberStateChanged";
    let causes = [
        ("Online", "Enter", "enter"),
        ("Offline", "Leave", "leave"),
        ("Offline", "HeartbeatInterrupt", "heartbeat_interrupt"),
        ("Online", "HeartbeatRecover", "heartbeat_recover"),
        ("Offline", "Kicked", "kicked"),
        ("Online", "BrandNewCause", "brand_new_cause"),
    ];
    let mut sent = Vec::new();
    for (i, (state, cause, _)) in causes.iter().enumerate() {
        let body = samples::live("直播间-🎤", state, cause, &format!("用户{i}-ü"));
        let command = if i % 2 == 0 {
            live
        } else {
            "Live.CallbackMemberStateChanged"
        };
        send_ok(&bridge, command, &body).await;
        sent.push(body);
    }
    for (body, (state, _, snake)) in sent.iter().zip(causes) {
        let m = expect_event(&broker, "tencent.live.member", APP_ID, live, body);
        assert_eq!(m.key, "直播间-🎤");
        assert_eq!(m.value["cause"], snake);
        assert_eq!(m.value["state"], state.to_lowercase());
        assert_eq!(
            m.value["command"], live,
            "both spellings normalize to the canonical one"
        );
        assert!(m.value["members"][0].as_str().unwrap_or("").starts_with("用户"));
    }
    for (cause, snake) in [
        ("HeartbeatInterrupt", "heartbeat_interrupt"),
        ("HeartbeatRecover", "heartbeat_recover"),
        ("Join", "join"),
        ("Quit", "quit"),
    ] {
        let body = serde_json::json!({"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"@TGS#群","EventType":"Online","EventCause":cause,"MemberList":[{"Member_Account":"a"}]}).to_string();
        send_ok(&bridge, "Group.CallbackOnMemberStateChange", &body).await;
        let m = expect_event(
            &broker,
            "tencent.group.member",
            APP_ID,
            "Group.CallbackOnMemberStateChange",
            &body,
        );
        assert_eq!(m.value["cause"], snake);
        assert_eq!(m.key, "@TGS#群");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_commands_pass_through_or_are_rejected_onto_the_dlq() {
    let broker = Broker::start("tencent.");
    let pass = Bridge::start(&broker.bootstrap(), &["--delivery", "kafka"]);
    let body = r#"{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","Nested":{"x":[1,2]}}"#;
    send_ok(&pass, "C2C.CallbackAfterSendMsg", body).await;
    let m = expect_event(&broker, "tencent.other", APP_ID, "C2C.CallbackAfterSendMsg", body);
    assert_eq!(m.key, APP_ID);
    assert_eq!(m.value["family"], "other");
    assert_eq!(m.value["command"], "C2C.CallbackAfterSendMsg");
    drop(pass);

    let reject = Bridge::start(
        &broker.bootstrap(),
        &["--delivery", "kafka", "--unknown-commands", "reject"],
    );
    let body = r#"{"CallbackCommand":"C2C.CallbackAfterSendMsg","marker":"rejected-one"}"#;
    let a = post(
        &reject.addr(),
        &query("/callback", APP_ID, "C2C.CallbackAfterSendMsg", Some(TOKEN)),
        body,
    )
    .await;
    assert_eq!((a.status, a.code()), (400, 4007), "{a:?}");
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().any(|m| m.value["body"] == body)
    });
    let d = dlq
        .iter()
        .find(|m| m.value["body"] == body)
        .expect("rejected command kept on the DLQ");
    assert_schema("dlq", &d.value);
    assert_eq!(d.value["error_code"], 4007);
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_mode_delivers_too() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--delivery", "memory"]);
    send_ok(&bridge, "Room.CallbackAfterMemberEnter", samples::ROOM_003).await;
    expect_event(
        &broker,
        "tencent.room.member",
        APP_ID,
        "Room.CallbackAfterMemberEnter",
        samples::ROOM_003,
    );
}

/// The broker really enforces `schemas/`: a record that breaks the contract is refused, so the
/// tests above passing means the bridge's records satisfy it.
#[tokio::test(flavor = "multi_thread")]
async fn the_broker_enforces_the_schemas() {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let broker = Broker::start("tencent.");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    let bad = FutureRecord::to("tencent.live.member")
        .key("k")
        .payload(r#"{"family":"live.member"}"#);
    let result = producer.send(bad, Duration::from_secs(10)).await;
    let err = result
        .expect_err("a record breaking the schema must be refused")
        .0;
    assert_eq!(
        err.rdkafka_error_code(),
        Some(rdkafka::types::RDKafkaErrorCode::InvalidRecord),
        "{err}"
    );
}
