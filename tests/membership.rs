//! The other half of the membership picture (issue 9): room leave, group join and group exit
//! are typed events on the family topics, in order with enter/presence events of the same room
//! or group.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::events::{expect_event, send_ok, WAIT};
use common::http::post;
use common::samples::query;
use serde_json::{json, Value};

const ENTER: &str = "Room.CallbackAfterMemberEnter";
const LEAVE: &str = "Room.CallbackAfterMemberLeave";
const JOIN: &str = "Group.CallbackAfterNewMemberJoin";
const EXIT: &str = "Group.CallbackAfterMemberExit";

fn room_leave(room: &str, member: &str, reason: &str) -> String {
    json!({"CallbackCommand": LEAVE, "Operator_Account": member, "RoomId": room, "MemberCount": 7,
           "Type": "Leave", "MemberList_Account": [member], "Reason": reason, "EventTime": 1700000000123i64})
    .to_string()
}

fn room_enter(room: &str, member: &str) -> String {
    json!({"CallbackCommand": ENTER, "Operator_Account": member, "RoomId": room, "MemberCount": 8,
           "Type": "Enter", "MemberList_Account": [member], "EventTime": 1700000000000i64})
    .to_string()
}

fn group_join(group: &str, group_type: &str, join_type: &str, member: &str) -> String {
    json!({"CallbackCommand": JOIN, "GroupId": group, "Type": group_type, "JoinType": join_type,
           "Operator_Account": "admin", "NewMemberList": [{"Member_Account": member}]})
    .to_string()
}

fn group_exit(group: &str, group_type: &str, exit_type: &str, member: &str) -> String {
    json!({"CallbackCommand": EXIT, "GroupId": group, "Type": group_type, "ExitType": exit_type,
           "Operator_Account": "admin", "ExitMemberList": [{"Member_Account": member}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn leave_join_and_exit_are_typed_events() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--auth-token", TOKEN]);

    let leave = room_leave("conf-42", "alice", "kicked by host");
    send_ok(&bridge, LEAVE, &leave).await;
    let m = expect_event(&broker, "tencent.room.member", APP_ID, LEAVE, &leave);
    assert_eq!(m.key, "conf-42");
    let v = &m.value;
    assert_eq!(
        (v["state"].as_str(), v["cause"].as_str()),
        (Some("offline"), Some("leave"))
    );
    assert_eq!(v["reason"], "kicked by host");
    assert_eq!(v["member_count"], 7);
    assert_eq!(v["operator"], "alice");
    assert_eq!(v["group_type"], Value::Null);
    assert_eq!(v["schema_version"], 4);

    let join = group_join("@TGS#g1", "Public", "Apply", "bob");
    send_ok(&bridge, JOIN, &join).await;
    let m = expect_event(&broker, "tencent.group.member", APP_ID, JOIN, &join);
    assert_eq!(m.key, "@TGS#g1");
    assert_eq!(
        (m.value["state"].as_str(), m.value["cause"].as_str()),
        (Some("joined"), Some("apply"))
    );
    assert_eq!(m.value["group_type"], "public");
    assert_eq!(m.value["members"], json!(["bob"]));
    assert_eq!(
        m.value["event_time_ms"],
        Value::Null,
        "group callbacks carry no EventTime"
    );
    assert_eq!(m.value["reason"], Value::Null);

    let exit = group_exit("@TGS#g1", "AVChatRoom", "Kicked", "bob");
    send_ok(&bridge, EXIT, &exit).await;
    let m = expect_event(&broker, "tencent.group.member", APP_ID, EXIT, &exit);
    assert_eq!(
        (m.value["state"].as_str(), m.value["cause"].as_str()),
        (Some("left"), Some("kicked"))
    );
    assert_eq!(m.value["group_type"], "av_chat_room");
    assert_eq!(m.value["operator"], "admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_values_are_kept_and_mismatches_go_to_the_dlq() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);

    let leave = room_leave("r-unknown", "u", "some reason Tencent never documented ✨");
    let join = group_join("g-unknown", "SuperGroup2030", "ScannedQrCode", "u");
    let exit = group_exit("g-unknown", "Community", "GroupDissolved", "u");
    for (command, body) in [(LEAVE, &leave), (JOIN, &join), (EXIT, &exit)] {
        send_ok(&bridge, command, body).await;
    }
    let m = expect_event(&broker, "tencent.room.member", APP_ID, LEAVE, &leave);
    assert_eq!(m.value["reason"], "some reason Tencent never documented ✨");
    let m = expect_event(&broker, "tencent.group.member", APP_ID, JOIN, &join);
    assert_eq!(
        (m.value["group_type"].as_str(), m.value["cause"].as_str()),
        (Some("super_group2030"), Some("scanned_qr_code"))
    );
    let m = expect_event(&broker, "tencent.group.member", APP_ID, EXIT, &exit);
    assert_eq!(
        (m.value["group_type"].as_str(), m.value["cause"].as_str()),
        (Some("community"), Some("group_dissolved"))
    );

    // The body says Join, the query says Exit: refused and kept.
    let body = group_join("g-mismatch", "Public", "Apply", "dlq-marker-9");
    let a = post(
        &bridge.addr(),
        &query("/callback", APP_ID, EXIT, Some(TOKEN)),
        body.clone(),
    )
    .await;
    assert_eq!((a.status, a.code()), (400, 4006), "{a:?}");
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().any(|m| m.value["body"] == body.as_str())
    });
    let d = dlq
        .iter()
        .find(|m| m.value["body"] == body.as_str())
        .expect("mismatch kept on the DLQ");
    assert_eq!(d.value["error_code"], 4006);
    common::assert_schema("dlq", &d.value);

    // A mistyped field names itself.
    let bad =
        json!({"CallbackCommand": LEAVE, "RoomId": "r", "MemberList_Account": ["x"], "MemberCount": "7"})
            .to_string();
    let a = post(
        &bridge.addr(),
        &query("/callback", APP_ID, LEAVE, Some(TOKEN)),
        bad,
    )
    .await;
    assert_eq!(
        (a.status, a.code(), a.info()),
        (400, 4005, "MemberCount: expected integer")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enter_then_leave_and_join_then_exit_stay_in_order() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);
    let mut room_sent = Vec::new();
    let mut group_sent = Vec::new();
    for i in 0..20 {
        let member = format!("m{i:02}");
        let (enter, leave) = (
            room_enter("ordered-room", &member),
            room_leave("ordered-room", &member, "left"),
        );
        let (join, exit) = (
            group_join("ordered-group", "Public", "Invited", &member),
            group_exit("ordered-group", "Public", "Quit", &member),
        );
        for (command, body) in [(ENTER, &enter), (LEAVE, &leave)] {
            send_ok(&bridge, command, body).await;
            room_sent.push(format!(
                "{}:{member}",
                if command == ENTER { "online" } else { "offline" }
            ));
        }
        for (command, body) in [(JOIN, &join), (EXIT, &exit)] {
            send_ok(&bridge, command, body).await;
            group_sent.push(format!(
                "{}:{member}",
                if command == JOIN { "joined" } else { "left" }
            ));
        }
    }
    for (topic, key, sent) in [
        ("tencent.room.member", "ordered-room", &room_sent),
        ("tencent.group.member", "ordered-group", &group_sent),
    ] {
        let msgs = read_until(&broker.bootstrap(), topic, WAIT, |m| {
            m.iter().filter(|m| m.key == key).count() >= sent.len()
        });
        let mine: Vec<_> = msgs.iter().filter(|m| m.key == key).collect();
        let got: Vec<String> = mine
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    m.value["state"].as_str().unwrap_or(""),
                    m.value["members"][0].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(&got, sent, "{topic}: out of order or missing");
        assert!(
            mine.iter().all(|m| m.partition == mine[0].partition),
            "{key} spread over partitions"
        );
    }
}
