//! Spool mode, one topic's trouble stays its own: a topic the cluster does not have sends its
//! events to the DLQ without slowing the other topics (issue 23, item 6). The drain's other
//! lane cases (a batch refused for its size, a partition without a leader) need a broker that
//! refuses by size or loses a leader on cue, which tansu does not: they are tested at the
//! drain's seam (`src/deliver/spool/drain/tests.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::bridge::Bridge;
use common::broker::Broker;
use common::consume::read_until;
use common::events::{send_ok, WAIT};
use common::http::raw_exchange;
use common::samples::live;
use common::{free_port, wait_for};

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const ROOM: &str = "Room.CallbackAfterMemberEnter";
const N: usize = 100;

fn room(i: usize) -> String {
    serde_json::json!({
        "CallbackCommand": ROOM, "Operator_Account": format!("user{i}"), "RoomId": format!("lane-room-{i}"),
        "MemberCount": 2, "Type": "Enter", "MemberList_Account": [format!("user{i}")], "EventTime": 1670574414123i64
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_topic_does_not_slow_the_other_topics() {
    let broker = Broker::start("tencent.");
    for family in ["live.member", "group.member", "other", "dlq"] {
        broker.create_topic(&format!("lane.{family}"), 1);
    }
    let brokers = broker.bootstrap();
    let spool = tempfile::tempdir().unwrap();
    let args = [
        "--topic-prefix",
        "lane.",
        // librdkafka gives a topic 30 s to appear before calling it unknown; not here.
        "--kafka-property",
        "topic.metadata.propagation.max.ms=2000",
    ];
    let bridge = Bridge::spawn_spool(&brokers, free_port(), spool.path(), &args);
    wait_for("/readyz to name the missing topic", WAIT, || {
        std::net::TcpStream::connect(bridge.admin_addr()).ok()?;
        let out = raw_exchange(
            &bridge.admin_addr(),
            b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        );
        out.contains("missing topics: lane.room.member").then_some(())
    });
    for i in 0..N {
        send_ok(&bridge, ROOM, &room(i)).await;
        send_ok(
            &bridge,
            LIVE,
            &live(&format!("lane-live-{i}"), "Online", "Enter", &format!("m{i}")),
        )
        .await;
    }
    let sent = Instant::now();
    // Before: one room record per 500 ms round held every record behind it (~50 s for these).
    let rooms = |msgs: &[common::consume::Msg]| {
        msgs.iter()
            .filter_map(|m| m.value["room_id"].as_str().map(str::to_owned))
            .collect::<HashSet<_>>()
    };
    let msgs = tokio::task::block_in_place(|| {
        read_until(&brokers, "lane.live.member", Duration::from_secs(20), |m| {
            rooms(m).len() >= N
        })
    });
    eprintln!("{} live events in {:?}", rooms(&msgs).len(), sent.elapsed());
    assert_eq!(
        rooms(&msgs).len(),
        N,
        "every live event, while room.member is missing"
    );
    let dlq = tokio::task::block_in_place(|| {
        read_until(&brokers, "lane.dlq", Duration::from_secs(20), |m| {
            m.iter().filter(|m| m.value["error_code"] == 5041).count() >= N
        })
    });
    let kept = dlq.iter().filter(|m| m.value["error_code"] == 5041).count();
    assert_eq!(kept, N, "every room event on the DLQ");
}
