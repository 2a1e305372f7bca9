//! `dlq redrive` against a real broker: DLQ records an earlier decoder refused (here: an
//! `EventTime` sent as a numeric string, which today's decoder accepts) land on their family
//! topic once, with their original `received_at_ms` and `event_id`, even when it runs twice;
//! what is still refused stays and is counted by reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::process::Output;
use std::time::Duration;

use common::broker::Broker;
use common::consume::read_until;
use common::tool::{self, text};
use common::wait_for;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

const APP: &str = "1400000001";
const RECEIVED: i64 = 1_700_000_000_000;

fn redrive(brokers: &str, extra: &[&str]) -> Output {
    let mut args = vec!["dlq", "redrive", "--brokers", brokers];
    args.extend_from_slice(extra);
    tool::run(&args)
}

/// A DLQ record as an older bridge wrote it for `body` under `command`.
fn dead(command: &str, body: &str, reason: &str, code: u32) -> String {
    let id = event_id(command, body);
    serde_json::json!({
        "event_id": id, "schema_version": 4, "reason": reason, "error_code": code,
        "sdk_app_id": APP, "command": command,
        "query": {"SdkAppid": APP, "CallbackCommand": command, "contenttype": "json", "ClientIP": "203.0.113.9", "OptPlatform": "iOS"},
        "body": body, "body_encoding": "utf8", "received_at_ms": RECEIVED,
    })
    .to_string()
}

/// The bridge's event_id rule: SHA-256 of app, command and body; the first 16 bytes in hex.
fn event_id(command: &str, body: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{APP}\n{command}\n{body}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_redrive_publishes_what_the_decoder_now_accepts_once_even_when_run_twice() {
    // sqlite: exact offsets, so the tool's reads to the end of each partition see everything.
    let broker = Broker::start_with("tencent.", &["--storage-engine", "sqlite://redrive.db"]);
    let brokers = broker.bootstrap();
    let room_cmd = "Room.CallbackAfterMemberEnter";
    let room = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"u1","RoomId":"redrive-room","MemberCount":2,"Type":"Enter","MemberList_Account":["u1"],"EventTime":"1670574414123"}"#;
    let broken = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"u1","MemberCount":2,"Type":"Enter","MemberList_Account":["u1"],"EventTime":1670574414123}"#;
    let live_cmd = "Live.CallbackAfterMemberStateChanged";
    let live = r#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"redrive-live","EventType":"Online","EventCause":"Enter","MemberList":[{"Member_Account":144115216631667826}],"EventTime":"1703589922780"}"#;
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    // One partition (one key); the still-refused record last. (Records redriven after one still
    // refused are remembered in the commit's metadata, which tansu 0.6 does not keep: that
    // part is unit-tested in src/tools/redrive/state.rs.)
    for value in [
        dead(room_cmd, room, "EventTime: expected integer", 4002),
        dead(
            live_cmd,
            live,
            "MemberList[0].Member_Account: expected string",
            4002,
        ),
        dead(room_cmd, broken, "RoomId: missing", 4002),
    ] {
        producer
            .send(BaseRecord::to("tencent.dlq").key(APP).payload(&value))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    let dry = redrive(&brokers, &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("would redrive 2"), "{}", text(&dry));

    let first = redrive(&brokers, &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("redrove 2 to"), "{}", text(&first));
    assert!(
        text(&first).contains("1 stay on the DLQ: 4005 (RoomId: missing)"),
        "{}",
        text(&first)
    );
    let second = redrive(&brokers, &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("redrove 0 to"), "{}", text(&second));

    for (topic, command, body, member) in [
        ("tencent.room.member", room_cmd, room, "u1"),
        ("tencent.live.member", live_cmd, live, "144115216631667826"),
    ] {
        let msgs = read_until(&brokers, topic, Duration::from_secs(8), |m| m.len() > 1);
        assert_eq!(
            msgs.len(),
            1,
            "{topic}: exactly once, even after two runs: {msgs:?}"
        );
        let v = &msgs[0].value;
        assert_eq!(v["received_at_ms"], RECEIVED, "{v}");
        assert_eq!(v["event_id"], event_id(command, body), "{v}");
        assert_eq!(v["members"][0], member, "{v}");
        assert!(
            msgs[0].headers.contains_key("redriven-at"),
            "{:?}",
            msgs[0].headers
        );
        common::assert_schema(topic.trim_start_matches("tencent."), v);
    }

    // The same DLQ records redriven again (another group, so nothing remembered): the same
    // events, so the same ce_id each; stamped with the event's time.
    let again = redrive(&brokers, &["--group", "a-second-redrive"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("redrove 2 to"), "{}", text(&again));
    for (topic, command, body, time) in [
        ("tencent.room.member", room_cmd, room, 1_670_574_414_123i64),
        ("tencent.live.member", live_cmd, live, 1_703_589_922_780),
    ] {
        let msgs = read_until(&brokers, topic, Duration::from_secs(30), |m| m.len() >= 2);
        assert_eq!(msgs.len(), 2, "{topic}: {msgs:?}");
        let id = event_id(command, body);
        assert_eq!(msgs[0].headers["ce_id"], msgs[1].headers["ce_id"], "{topic}");
        assert!(
            msgs[0].headers["ce_id"].starts_with(&format!("{id}-dlq-")),
            "{:?}",
            msgs[0].headers
        );
        assert!(msgs.iter().all(|m| m.timestamp_ms == Some(time)), "{msgs:?}");
    }
}

/// The tool's committed offset on `tencent.dlq` (one partition), if any.
fn committed(brokers: &str) -> Option<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tencent-kafka-bridge-dlq-redrive")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition("tencent.dlq", 0);
    let got = consumer.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    let elem = got.find_partition("tencent.dlq", 0)?;
    match elem.offset() {
        rdkafka::Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// A run killed part way (SIGKILL: no chance to commit at the end) has committed its progress
/// batch by batch, and the next run starts there: it publishes again only what came after the
/// last batch the broker had taken (at most one batch). Before, an interrupted run committed
/// nothing, so the next one published everything again.
#[test]
fn a_redrive_killed_part_way_resumes_from_its_last_batch() {
    const N: i64 = 6_000;
    let broker = Broker::start_with("tencent.", &["--storage-engine", "sqlite://resume.db"]);
    let brokers = broker.bootstrap();
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "50")
        .create()
        .unwrap();
    let command = "Room.CallbackAfterMemberEnter";
    for i in 0..N {
        let body = format!(
            r#"{{"CallbackCommand":"{command}","Operator_Account":"u{i}","RoomId":"resume-{i}","MemberCount":2,"Type":"Enter","MemberList_Account":["u{i}"],"EventTime":"1670574414123"}}"#
        );
        let value = dead(command, &body, "EventTime: expected integer", 4002);
        // One key: one partition, whose offsets are the records' order.
        while producer
            .send(BaseRecord::to("tencent.dlq").key(APP).payload(&value))
            .is_err()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();

    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"))
        .args(["dlq", "redrive", "--brokers", &brokers])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mid_run = wait_for("a batch committed", Duration::from_secs(60), || {
        committed(&brokers).filter(|o| *o > 0)
    });
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended before it was cut short (committed {mid_run})"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let from = committed(&brokers).unwrap();
    assert!(from < N, "committed {from}: the first run was not cut short");
    assert_eq!(from % 500, 0, "committed {from}: not at a batch's end");

    let second = redrive(&brokers, &[]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains(&format!("redrove {} to tencent.room.member", N - from)),
        "committed {from}; {}",
        text(&second)
    );
    assert_eq!(committed(&brokers), Some(N));
}

/// Every Kafka tool takes `--kafka-secret-file` and `BRIDGE_KAFKA_SECRET_FILES` like the bridge
/// (issue 27): a property whose value is only in a file reaches the tool's clients. tansu has
/// no SASL, so the property is `bootstrap.servers` itself, with `--brokers` (or
/// `BRIDGE_KAFKA_BROKERS`) naming a port nothing listens on: a tool that read the broker's
/// address anywhere but the file could not reach it.
#[test]
fn tools_reach_kafka_with_a_property_given_only_in_a_secret_file() {
    let broker = Broker::start_with("tencent.", &["--storage-engine", "sqlite://secret.db"]);
    let brokers = broker.bootstrap();
    let nowhere = format!("127.0.0.1:{}", common::free_port());
    let secret = broker.dir.path().join("kafka-address");
    std::fs::write(&secret, format!("{brokers}\n")).unwrap();
    let secret_file = format!("bootstrap.servers={}", secret.display());
    let command = "Room.CallbackAfterMemberEnter";
    let body = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"u1","RoomId":"secret-room","MemberCount":2,"Type":"Enter","MemberList_Account":["u1"],"EventTime":"1670574414123"}"#;
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let value = dead(command, body, "EventTime: expected integer", 4002);
    producer
        .send(BaseRecord::to("tencent.dlq").key(APP).payload(&value))
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();

    // tail, configured through the environment only.
    let mut tail = std::process::Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BRIDGE_")) {
        tail.env_remove(k);
    }
    let tail = tail
        .args(["tail", "--family", "dlq", "--from-beginning", "--format", "json"])
        .args(["--max-events", "1", "--idle-exit", "30s"])
        .env("BRIDGE_KAFKA_BROKERS", &nowhere)
        .env("BRIDGE_KAFKA_SECRET_FILES", &secret_file)
        .output()
        .unwrap();
    assert!(tail.status.success(), "{}", text(&tail));
    let line: serde_json::Value =
        serde_json::from_slice(&tail.stdout).unwrap_or_else(|_| panic!("{}", text(&tail)));
    assert_eq!(line["topic"], "tencent.dlq", "{line}");
    assert_eq!(line["value"]["event_id"], event_id(command, body), "{line}");

    // dlq redrive: its consumer and its producer both.
    let out = redrive(&nowhere, &["--kafka-secret-file", &secret_file]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("redrove 1 to"), "{}", text(&out));
    let msgs = read_until(&brokers, "tencent.room.member", Duration::from_secs(30), |m| {
        !m.is_empty()
    });
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0].value["event_id"], event_id(command, body), "{msgs:?}");
}
