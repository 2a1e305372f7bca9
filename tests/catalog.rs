//! Issue 16, Chat/Live/Room side: every new catalog row reaches its topic with its key,
//! headers and a schema-valid value; Tencent's wire quirks are accepted in every command; what
//! is still malformed is refused and kept; a room's lifecycle stays in order on one partition.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::events::{expect_event, refused_and_kept, send_ok, WAIT};
use serde_json::{json, Value};
use tencent_kafka_bridge::tools::samples;

fn sample(name: &str) -> (&'static str, &'static str) {
    samples::find(name).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_new_row_is_a_typed_event() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--auth-token", TOKEN]);

    // (sample, topic, key, state, cause, owner)
    type Expected<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let rows: [Expected<'_>; 7] = [
        (
            "user-login",
            "tencent.user.state",
            "testuser316",
            Some("online"),
            Some("login"),
            None,
        ),
        (
            "group-create",
            "tencent.group.member",
            "@TGS#2Z4CLQE5CM",
            Some("opened"),
            None,
            Some("PLNJEE0k"),
        ),
        (
            "group-destroy",
            "tencent.group.member",
            "@TGS#2Z4CLQE5CM",
            Some("closed"),
            None,
            Some("PLNJEE0k"),
        ),
        (
            "live-create",
            "tencent.live.member",
            "tandy-test-rest",
            Some("opened"),
            None,
            Some("user3"),
        ),
        (
            "live-destroy",
            "tencent.live.member",
            "tandy-test-rest",
            Some("closed"),
            Some("destroy_by_user"),
            Some("144115216631667826"),
        ),
        (
            "room-create",
            "tencent.room.member",
            "rid-123",
            Some("opened"),
            None,
            Some("user3"),
        ),
        (
            "room-destroy",
            "tencent.room.member",
            "rid-123",
            Some("closed"),
            None,
            None,
        ),
    ];
    for (name, topic, key, state, cause, owner) in rows {
        let (command, body) = sample(name);
        send_ok(&bridge, command, body).await;
        let m = expect_event(&broker, topic, APP_ID, command, body);
        let v = &m.value;
        assert_eq!(m.key, key, "{name}");
        assert_eq!(v["schema_version"], 4, "{name}");
        assert_eq!(
            (v["state"].as_str(), v["cause"].as_str(), v["owner"].as_str()),
            (state, cause, owner),
            "{name}"
        );
        assert_eq!((&v["role"], &v["media"]), (&Value::Null, &Value::Null), "{name}");
    }

    let (command, body) = sample("user-login");
    let m = expect_event(&broker, "tencent.user.state", APP_ID, command, body);
    assert_eq!(m.value["members"], json!(["testuser316"]));
    assert_eq!(m.value["reason"], "Register");
    assert_eq!(m.value["kicked_platforms"], json!(["Windows", "Android"]));
    assert_eq!(
        (&m.value["room_id"], &m.value["group_id"]),
        (&Value::Null, &Value::Null)
    );

    let (command, body) = sample("group-destroy");
    let m = expect_event(&broker, "tencent.group.member", APP_ID, command, body);
    assert_eq!(m.value["group_type"], "public");
    assert_eq!(
        m.value["event_time_ms"], 1_682_914_863_569i64,
        "a string EventTime"
    );
    assert_eq!(m.value["kicked_platforms"], Value::Null);

    let (command, body) = sample("live-create");
    let m = expect_event(&broker, "tencent.live.member", APP_ID, command, body);
    assert_eq!(
        (&m.value["members"], &m.value["operator"]),
        (&Value::Null, &json!("admin"))
    );
    assert_eq!(
        m.value["event_time_ms"],
        Value::Null,
        "no EventTime in the sample"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_quirks_are_accepted_and_the_malformed_still_refused() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);

    // Refused as 400 + DLQ before issue 16: a string EventTime on a room enter ...
    let enter = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"quirk-room","MemberCount":1,"MemberList_Account":["u1"],"EventTime":"1670574414123"}"#;
    send_ok(&bridge, "Room.CallbackAfterMemberEnter", enter).await;
    let m = expect_event(
        &broker,
        "tencent.room.member",
        APP_ID,
        "Room.CallbackAfterMemberEnter",
        enter,
    );
    assert_eq!(m.value["event_time_ms"], 1_670_574_414_123i64);
    // ... and a bare-number account on Live member state, every digit kept.
    let live = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"quirk-live","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":144115216631667826}],"EventTime":1703589922780}"#;
    send_ok(&bridge, "Live.CallbackMemberStateChanged", live).await;
    let m = expect_event(
        &broker,
        "tencent.live.member",
        APP_ID,
        "Live.CallbackAfterMemberStateChanged",
        live,
    );
    assert_eq!(m.value["members"], json!(["144115216631667826"]));
    // Extra fields and string booleans are kept in raw.
    let (command, body) = sample("room-create");
    send_ok(&bridge, command, body).await;
    let m = expect_event(&broker, "tencent.room.member", APP_ID, command, body);
    assert_eq!(m.value["raw"]["RoomInfo"]["IsCloudRecordingDisabled"], "false");
    // An old State payload: no EventTime, a logout after a timeout.
    let old = r#"{"CallbackCommand":"State.StateChange","Info":{"Action":"Logout","To_Account":"u-old","Reason":"TimeOut"}}"#;
    send_ok(&bridge, "State.StateChange", old).await;
    let m = expect_event(&broker, "tencent.user.state", APP_ID, "State.StateChange", old);
    assert_eq!(
        (&m.value["event_time_ms"], &m.value["state"]),
        (&Value::Null, &json!("offline"))
    );
    assert_eq!(m.value["kicked_platforms"], json!([]));

    // Still malformed: 400 + DLQ, naming the field.
    let cases = [
        (
            "Group.CallbackAfterCreateGroup",
            r#"{"CallbackCommand":"Group.CallbackAfterCreateGroup","Owner_Account":"o","m":"dlq-g"}"#,
            "GroupId: missing",
        ),
        (
            "Group.CallbackAfterGroupDestroyed",
            r#"{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"g","MemberList":{},"m":"dlq-l"}"#,
            "MemberList: expected array",
        ),
        (
            "Live.CallbackAfterDestroyRoom",
            r#"{"CallbackCommand":"Live.CallbackAfterDestroyRoom","RoomId":"r","EventTime":"soon","m":"dlq-t"}"#,
            "EventTime: expected integer",
        ),
    ];
    for (command, body, info) in cases {
        refused_and_kept(&broker, &bridge, command, body, info).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_enter_leave_destroy_of_one_room_arrive_in_order() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);
    let room = "life-room";
    let sequence = [
        (
            "Room.CallbackAfterCreateRoom",
            json!({"CallbackCommand":"Room.CallbackAfterCreateRoom","Operator_Account":"admin","RoomInfo":{"RoomId":room,"Owner_Account":"host"},"EventTime":1703589922780i64}),
        ),
        (
            "Room.CallbackAfterMemberEnter",
            json!({"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":room,"MemberCount":1,"MemberList_Account":["alice"],"EventTime":"1703589923780"}),
        ),
        (
            "Room.CallbackAfterMemberLeave",
            json!({"CallbackCommand":"Room.CallbackAfterMemberLeave","RoomId":room,"MemberCount":0,"MemberList_Account":["alice"],"Reason":"left","EventTime":1703589924780i64}),
        ),
        (
            "Room.CallbackAfterDestroyRoom",
            json!({"CallbackCommand":"Room.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":room,"EventTime":1703589925780i64}),
        ),
    ];
    for _ in 0..3 {
        for (command, body) in &sequence {
            send_ok(&bridge, command, &body.to_string()).await;
        }
    }
    let msgs = read_until(&broker.bootstrap(), "tencent.room.member", WAIT, |m| {
        m.iter().filter(|m| m.key == room).count() >= 12
    });
    let mine: Vec<_> = msgs.iter().filter(|m| m.key == room).collect();
    let states: Vec<&str> = mine.iter().map(|m| m.value["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["opened", "online", "offline", "closed"].repeat(3));
    assert!(
        mine.iter().all(|m| m.partition == mine[0].partition),
        "one partition"
    );
    for m in &mine {
        common::assert_schema("room.member", &m.value);
    }
}
