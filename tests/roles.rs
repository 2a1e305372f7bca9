//! Issue 24 against a real broker (tansu, the schemas enforced): role, owner and seat callbacks
//! become typed events read back with their JSON Schema; every accepted callback has a
//! `ce_id` of its own; the record timestamp is the event's time; malformed role input is
//! refused and kept. (Spool, replay and upgrade: `tests/envelope.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::HashSet;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::events::{assert_event_time, expect_event, refused_and_kept, sample, send_ok, WAIT};
use common::http::post;
use common::samples::query;
use serde_json::{json, Value};
use tencent_kafka_bridge::event::event_id;

#[tokio::test(flavor = "multi_thread")]
async fn role_owner_and_seat_callbacks_are_typed_events_stamped_with_their_time() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);

    // (sample, topic, key, state, role, owner, previous_owner, members)
    let rows = [
        (
            "group-role",
            "tencent.group.member",
            "@TGS#2J4SZEAEL",
            "role_changed",
            json!("admin"),
            json!(null),
            json!(null),
            json!(["jared"]),
        ),
        (
            "group-owner",
            "tencent.group.member",
            "@TGS#2J4SZEAEL",
            "owner_changed",
            json!(null),
            json!("tommy"),
            json!("jared"),
            json!(["tommy"]),
        ),
        (
            "live-admin",
            "tencent.live.member",
            "room_id",
            "role_changed",
            json!("admin"),
            json!(null),
            json!(null),
            json!(["jared", "tommy"]),
        ),
        (
            "live-owner",
            "tencent.live.member",
            "room_id",
            "owner_changed",
            json!(null),
            json!("tommy"),
            json!("jared"),
            json!(null),
        ),
        (
            "mic-seats",
            "tencent.mic.seat",
            "rid-123",
            "seats_changed",
            json!(null),
            json!(null),
            json!(null),
            json!(["144115233775727695"]),
        ),
    ];
    for (name, topic, key, state, role, owner, previous, members) in rows {
        let (command, body) = sample(name);
        send_ok(&bridge, command, body).await;
        let m = expect_event(&broker, topic, APP_ID, command, body);
        let v = &m.value;
        assert_eq!(
            (m.key.as_str(), v["schema_version"].as_i64()),
            (key, Some(4)),
            "{name}"
        );
        assert_eq!((&v["state"], &v["role"]), (&json!(state), &role), "{name}");
        assert_eq!((&v["owner"], &v["previous_owner"]), (&owner, &previous), "{name}");
        let operator = if name == "mic-seats" {
            json!(null)
        } else {
            json!("admin")
        };
        assert_eq!((&v["members"], &v["operator"]), (&members, &operator), "{name}");
        assert!(
            v["event_time_ms"].is_i64(),
            "{name}: EventTime, a string in the Group samples"
        );
        assert_event_time(&m);
    }
    let (command, body) = sample("mic-seats");
    let m = expect_event(&broker, "tencent.mic.seat", APP_ID, command, body);
    assert_eq!(
        m.value["seats"],
        json!([
            {"index": 1, "member": "144115233775727695", "taken_disabled": false, "video_disabled": false, "audio_disabled": false},
            {"index": 2, "member": null, "taken_disabled": true, "video_disabled": false, "audio_disabled": false},
        ])
    );

    // Room leave: the cause is Tencent's Type; no EventTime, so the record time is the arrival.
    let kicked = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":"roles-room","MemberCount":1,"Type":"Kicked","MemberList_Account":["bob"],"Reason":"kicked by host"}"#;
    send_ok(&bridge, "Room.CallbackAfterMemberLeave", kicked).await;
    let m = expect_event(
        &broker,
        "tencent.room.member",
        APP_ID,
        "Room.CallbackAfterMemberLeave",
        kicked,
    );
    assert_eq!(
        (&m.value["cause"], &m.value["reason"]),
        (&json!("kicked"), &json!("kicked by host"))
    );
    assert_eq!(m.value["event_time_ms"], Value::Null);
    assert_event_time(&m);

    // The Live webhook overview's spelling of the query: SdkAppId, WebhookCommand.
    let command = "Live.CallbackAfterModifyAdmin";
    let body = r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"webhook-room","EventTime":1703589922780,"Operator_Account":"admin","Admin_Account":["u9"],"opType":"delete"}"#;
    let spelled = query("/callback", APP_ID, command, Some(TOKEN))
        .replace("SdkAppid=", "SdkAppId=")
        .replace("CallbackCommand=", "WebhookCommand=");
    let a = post(&bridge.addr(), &spelled, body.to_owned()).await;
    assert_eq!(a.status, 200, "{a:?}");
    let m = expect_event(&broker, "tencent.live.member", APP_ID, command, body);
    assert_eq!(m.value["role"], "member");
    // Both spellings, disagreeing: refused.
    let both = format!(
        "{}&WebhookCommand=Live.CallbackAfterChangeOwner",
        query("/callback", APP_ID, command, Some(TOKEN))
    );
    let a = post(&bridge.addr(), &both, body.to_owned()).await;
    assert_eq!((a.status, a.code()), (400, 4000), "{a:?}");
    assert!(a.info().contains("disagrees"), "{a:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_identical_callbacks_are_two_ce_ids_and_bad_role_input_is_kept_on_the_dlq() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);
    // A Chat group body may carry no time: the same change twice is byte for byte the same.
    let body = r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"twice","Type":"Public","Operator_Account":"admin","Member_Account":"jared","Role":"Admin"}"#;
    let command = "Group.CallbackAfterMemberFieldChanged";
    send_ok(&bridge, command, body).await;
    send_ok(&bridge, command, body).await;
    let id = event_id(APP_ID, command, body.as_bytes());
    let msgs = read_until(&broker.bootstrap(), "tencent.group.member", WAIT, |m| {
        m.iter().filter(|m| m.value["event_id"] == id).count() >= 2
    });
    let ce_ids: HashSet<&str> = msgs
        .iter()
        .filter(|m| m.value["event_id"] == id)
        .map(|m| m.headers["ce_id"].as_str())
        .collect();
    assert_eq!(ce_ids.len(), 2, "two accepted callbacks, two ids: {ce_ids:?}");
    assert!(
        ce_ids.iter().all(|c| c.starts_with(&format!("{id}-"))),
        "{ce_ids:?}"
    );

    let cases = [
        (
            "Group.CallbackAfterMemberFieldChanged",
            r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","Member_Account":"a","Role":"Admin"}"#,
            "GroupId: missing",
        ),
        (
            "Group.CallbackAfterMemberFieldChanged",
            r#"{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Member_Account":"a","Role":["Admin"]}"#,
            "Role: expected string",
        ),
        (
            "Live.CallbackAfterModifyAdmin",
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"r","Admin_Account":"u1","opType":"add"}"#,
            "Admin_Account: expected array",
        ),
        (
            "Live.CallbackAfterModifyAdmin",
            r#"{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"r","Admin_Account":["u1"],"opType":"promote"}"#,
            "opType: expected one of add, delete, got \"promote\"",
        ),
        (
            "Live.CallbackAfterChangeOwner",
            r#"{"CallbackCommand":"Live.CallbackAfterChangeOwner","CurrentOwner_Account":"u2"}"#,
            "RoomId: missing",
        ),
        (
            "Mic.CallbackAfterSeatInfoChanged",
            r#"{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"r","SeatList":[{"Member_Account":"u1"}]}"#,
            "SeatList[0].Index: missing",
        ),
    ];
    for (command, body, info) in cases {
        refused_and_kept(&broker, &bridge, command, body, info).await;
    }
}
