//! Ordering per room, deterministic event ids, and a clean SIGTERM that loses nothing it
//! acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::http::post;
use common::samples::{live, query};

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";

#[tokio::test(flavor = "multi_thread")]
async fn one_rooms_events_arrive_in_order_and_ids_are_stable() {
    for mode in ["memory", "spool", "kafka"] {
        in_order_with_stable_ids(mode).await;
    }
}

async fn in_order_with_stable_ids(mode: &str) {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--delivery", mode]);
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    for i in 0..200 {
        let a = post(
            &bridge.addr(),
            &q,
            live("ordered-room", "Online", "Enter", &format!("m{i:03}")),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    // The same body twice: same event_id.
    let repeated = live("repeat-room", "Offline", "Leave", "again");
    for _ in 0..2 {
        assert_eq!(post(&bridge.addr(), &q, repeated.clone()).await.status, 200);
    }
    let msgs = read_until(
        &broker.bootstrap(),
        "tencent.live.member",
        Duration::from_secs(60),
        |m| {
            m.iter().filter(|m| m.key == "ordered-room").count() >= 200
                && m.iter().filter(|m| m.key == "repeat-room").count() >= 2
        },
    );
    let room: Vec<&common::consume::Msg> = msgs.iter().filter(|m| m.key == "ordered-room").collect();
    let members: Vec<String> = room
        .iter()
        .map(|m| m.value["members"][0].as_str().unwrap_or("").to_owned())
        .collect();
    let expected: Vec<String> = (0..200).map(|i| format!("m{i:03}")).collect();
    assert_eq!(
        members, expected,
        "{mode}: one room's events out of order or missing"
    );
    assert!(
        room.iter().all(|m| m.partition == room[0].partition),
        "one room spread over partitions"
    );
    let ids: Vec<&serde_json::Value> = msgs
        .iter()
        .filter(|m| m.key == "repeat-room")
        .map(|m| &m.value["event_id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "a repeated body must keep its event_id");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_after_a_burst_exits_0_with_every_acknowledged_event_published() {
    let broker = Broker::start("tencent.");
    let mut bridge = Bridge::start(
        &broker.bootstrap(),
        &["--delivery", "memory", "--shutdown-timeout", "20s"],
    );
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let mut tasks = Vec::new();
    for client in 0..8 {
        let (addr, q) = (bridge.addr(), q.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..50 {
                let member = format!("burst-{client}-{i}");
                let a = post(
                    &addr,
                    &q,
                    live(&format!("room-{client}"), "Online", "Enter", &member),
                )
                .await;
                if a.status == 200 {
                    acked.push(member);
                }
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("client"));
    }
    assert_eq!(acked.len(), 400, "every request of the burst was acknowledged");
    bridge.signal(libc::SIGTERM);
    let status = bridge.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "log: {}", bridge.log());

    let msgs = read_until(
        &broker.bootstrap(),
        "tencent.live.member",
        Duration::from_secs(60),
        |m| {
            acked
                .iter()
                .all(|a| m.iter().any(|m| m.value["members"][0] == a.as_str()))
        },
    );
    let missing: Vec<&String> = acked
        .iter()
        .filter(|a| !msgs.iter().any(|m| m.value["members"][0] == a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not on Kafka after SIGTERM: {missing:?}"
    );
}
