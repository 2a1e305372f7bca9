//! The consumer examples docs/consumers.md points to really work: against a real broker fed by
//! the real bridge, `examples/consumer.rs` and `examples/python/consumer.py` print one line per
//! event of every family, keep two genuine events that share an `event_id` (a Chat group
//! member going offline twice), drop a re-delivered record, and commit what they handled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::{Broker, FAMILIES};
use common::consume::{read_n, Msg};
use common::events::{send_ok, WAIT};
use common::http::post;
use common::samples::{query, GROUP_002, LIVE_000, ROOM_003};
use common::wait_for;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tencent_kafka_bridge::event::event_id;

const PREFIX: &str = "cx.";

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const GROUP_STATE: &str = "Group.CallbackOnMemberStateChange";
const GROUP_JOIN: &str = "Group.CallbackAfterNewMemberJoin";
const GROUP_EXIT: &str = "Group.CallbackAfterMemberExit";
const ROOM_ENTER: &str = "Room.CallbackAfterMemberEnter";
const ROOM_LEAVE: &str = "Room.CallbackAfterMemberLeave";
const OTHER: &str = "Group.CallbackAfterSendMsg";

const JOIN_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#1NVTZEAE4","Type":"Public","JoinType":"Apply","Operator_Account":"leckie","NewMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}]}"#;
const EXIT_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#1NVTZEAE4","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"tommy"}]}"#;
const LEAVE_BODY: &str = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"user1","RoomId":"rid-123","MemberCount":19,"Type":"Leave","MemberList_Account":["user1"],"Reason":"kicked by host","EventTime":1670574474123}"#;
const OTHER_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public","From_Account":"jared","MsgSeq":123,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}"#;
const BAD_BODY: &str = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"rid-123","MemberCount":"twenty","MemberList_Account":["user1"]}"#;

fn group_online() -> String {
    GROUP_002.replace("Offline", "Online")
}

/// What each example must print, one line per event (the re-delivery aside).
fn expected() -> Vec<String> {
    let line = |text: &str, command: &str, body: &str| {
        format!("{text}  [event {}]", event_id(APP_ID, command, body.as_bytes()))
    };
    let offline = "group.member group=@TGS#2J4SZEAEL offline (-): jared, tommy";
    let mut lines = vec![
        line(
            "live.member room=room_id online (enter): jared, tommy",
            LIVE,
            LIVE_000,
        ),
        line(offline, GROUP_STATE, GROUP_002),
        line(
            "group.member group=@TGS#2J4SZEAEL online (-): jared, tommy",
            GROUP_STATE,
            &group_online(),
        ),
        // Offline again: the same body, so the same event_id, and still a new event.
        line(offline, GROUP_STATE, GROUP_002),
        line(
            "group.member group=@TGS#1NVTZEAE4 joined (apply): jared, tommy",
            GROUP_JOIN,
            JOIN_BODY,
        ),
        line(
            "group.member group=@TGS#1NVTZEAE4 left (kicked): tommy",
            GROUP_EXIT,
            EXIT_BODY,
        ),
        line(
            "room.member room=rid-123 online (enter): user1",
            ROOM_ENTER,
            ROOM_003,
        ),
        line(
            "room.member room=rid-123 offline (leave): user1",
            ROOM_LEAVE,
            LEAVE_BODY,
        ),
        line(&format!("other app={APP_ID} command={OTHER}"), OTHER, OTHER_BODY),
        line(
            &format!("dlq app={APP_ID} command={ROOM_ENTER} code=4005: MemberCount: expected integer"),
            ROOM_ENTER,
            BAD_BODY,
        ),
    ];
    lines.sort();
    lines
}

/// Records per topic once everything is sent, the re-delivery included.
const RECORDS: [(&str, usize); 9] = [
    ("live.member", 2),
    ("group.member", 5),
    ("room.member", 2),
    ("user.state", 0),
    ("trtc.member", 0),
    ("trtc.media", 0),
    ("mic.seat", 0),
    ("other", 1),
    ("dlq", 1),
];

/// Builds `examples/consumer.rs` with the cargo running this test and returns the binary
/// (integration tests cannot name example binaries with `env!`), from cargo's own report.
fn build_rust_example() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            "consumer",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build --example consumer");
    assert!(out.status.success(), "cargo build --example consumer failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "consumer")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the consumer example's executable")
}

/// `python3` (or `$PYTHON`) able to import confluent_kafka. Missing is a failure, never a skip.
fn python_with_confluent_kafka() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let install = "pip install -r examples/python/requirements.txt";
    match Command::new(&python)
        .args(["-c", "import confluent_kafka"])
        .output()
    {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{python} cannot import confluent_kafka, so examples/python/consumer.py cannot be \
             tested: run `{install}`\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run {python} ({e}): install Python 3, then `{install}`"),
    }
}

/// A consumer example running with its stdout and stderr in files, killed if dropped.
struct Run {
    name: &'static str,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Run {
    fn start(name: &'static str, dir: &Path, mut cmd: Command) -> Run {
        let stdout = dir.join(format!("{}.out", name.replace(['/', '.'], "_")));
        let stderr = stdout.with_extension("err");
        let child = cmd
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Run {
            name,
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for a successful exit; returns the printed lines.
    fn finish(mut self, timeout: Duration) -> Vec<String> {
        let (name, out_path, err_path) = (self.name, self.stdout.clone(), self.stderr.clone());
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let status = wait_for(&format!("{name} to exit"), timeout, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            None
        });
        let (stdout, stderr) = (read(&out_path), read(&err_path));
        eprintln!("--- {name} stdout:\n{stdout}--- {name} stderr:\n{stderr}");
        assert!(status.success(), "{name} exited with {status}");
        stdout.lines().map(str::to_owned).collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Produces `msg` again, same partition, key, headers and value: what the bridge's spool does
/// when it re-sends after a crash or an outage.
async fn redeliver(brokers: &str, msg: &Msg) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    let mut headers = OwnedHeaders::new();
    for (key, value) in &msg.headers {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    let value = serde_json::to_vec(&msg.value).expect("value");
    let record = FutureRecord::to(&msg.topic)
        .partition(msg.partition)
        .key(&msg.key)
        .headers(headers)
        .payload(&value);
    producer
        .send(record, WAIT)
        .await
        .expect("re-delivery acknowledged");
}

/// Everything sent, and on Kafka, before the consumers start. Returns every record read.
async fn send_everything(broker: &Broker, bridge: &Bridge) -> Vec<Msg> {
    let brokers = broker.bootstrap();
    let topic = |family: &str| format!("{PREFIX}{family}");
    send_ok(bridge, LIVE, LIVE_000).await;
    let live = read_n(&brokers, &topic("live.member"), 1, WAIT);
    redeliver(&brokers, live.first().expect("the live event")).await;

    send_ok(bridge, GROUP_STATE, GROUP_002).await;
    let first = read_n(&brokers, &topic("group.member"), 1, WAIT);
    let first_ms = first.first().expect("offline").value["received_at_ms"]
        .as_i64()
        .expect("received_at_ms");
    send_ok(bridge, GROUP_STATE, &group_online()).await;
    // Two genuine events with the same body are told apart by received_at_ms alone.
    wait_for(
        "the clock to pass the first offline's received_at_ms",
        WAIT,
        || (tencent_kafka_bridge::clock::now_ms() > first_ms).then_some(()),
    );
    send_ok(bridge, GROUP_STATE, GROUP_002).await;

    for (command, body) in [
        (GROUP_JOIN, JOIN_BODY),
        (GROUP_EXIT, EXIT_BODY),
        (ROOM_ENTER, ROOM_003),
        (ROOM_LEAVE, LEAVE_BODY),
        (OTHER, OTHER_BODY),
    ] {
        send_ok(bridge, command, body).await;
    }
    let refused = post(
        &bridge.addr(),
        &query("/callback", APP_ID, ROOM_ENTER, Some(TOKEN)),
        BAD_BODY,
    )
    .await;
    assert_eq!((refused.status, refused.code()), (400, 4005), "{refused:?}");

    let mut all = Vec::new();
    for (family, n) in RECORDS {
        let got = read_n(&brokers, &topic(family), n, WAIT);
        assert_eq!(got.len(), n, "{family}: {got:?}");
        all.extend(got);
    }
    all
}

/// The group committed, on every partition that has records, the offset after its last one:
/// a restarted consumer resumes after what it handled.
fn assert_committed(brokers: &str, group: &str, records: &[Msg]) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut want = Vec::new();
    for m in records {
        if !want.iter().any(|(t, p, _)| *t == m.topic && *p == m.partition) {
            let last = records
                .iter()
                .filter(|r| r.topic == m.topic && r.partition == m.partition)
                .map(|r| r.offset)
                .max()
                .unwrap_or(m.offset);
            tpl.add_partition(&m.topic, m.partition);
            want.push((m.topic.clone(), m.partition, last + 1));
        }
    }
    let committed = consumer.committed_offsets(tpl, WAIT).expect("committed offsets");
    for (topic, partition, next) in want {
        let got = committed.find_partition(&topic, partition).map(|e| e.offset());
        assert_eq!(
            got,
            Some(Offset::Offset(next)),
            "group {group} committed offset on {topic}/{partition}"
        );
    }
}

/// docs/consumers.md: a key lands on the partition a Java producer would choose for it.
fn assert_java_partitioning(records: &[Msg]) {
    for m in records {
        let want = (common::java_murmur2(m.key.as_bytes()) & 0x7fff_ffff) % 3;
        assert_eq!(m.partition as u32, want, "{}: key {:?}", m.topic, m.key);
    }
}

fn assert_printed_each_event_once(name: &str, lines: &[String], duplicate_id: &str) {
    let mut events: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("  [event "))
        .cloned()
        .collect();
    events.sort();
    assert_eq!(
        events,
        expected(),
        "{name}: one line per event\nprinted:\n{}",
        lines.join("\n")
    );
    let dropped = format!("duplicate {duplicate_id} dropped");
    let drops: Vec<&String> = lines.iter().filter(|l| l.starts_with("duplicate ")).collect();
    assert_eq!(
        drops,
        [&dropped],
        "{name}: exactly the re-delivered live record is dropped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_and_python_consumers_print_each_event_once() {
    // Both examples must be runnable before anything starts: a missing module fails here.
    let python = python_with_confluent_kafka();
    let rust_bin = build_rust_example();

    let broker = Broker::start(PREFIX);
    assert_eq!(FAMILIES.len(), RECORDS.len(), "every family is consumed");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token", TOKEN, "--topic-prefix", PREFIX],
    );
    let records = send_everything(&broker, &bridge).await;
    assert_java_partitioning(&records);
    let total: usize = RECORDS.iter().map(|(_, n)| n).sum();
    let brokers = broker.bootstrap();

    let dir = tempfile::tempdir().expect("temp dir");
    let max = total.to_string();
    let mut rust = Command::new(&rust_bin);
    rust.args([&brokers, PREFIX, "cx-rust", "--max-records", &max]);
    let mut py = Command::new(&python);
    py.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/consumer.py"))
        .args([&brokers, PREFIX, "cx-python", "--max-records", &max]);
    let rust = Run::start("examples/consumer.rs", dir.path(), rust);
    let py = Run::start("examples/python/consumer.py", dir.path(), py);

    let limit = Duration::from_secs(120);
    let duplicate_id = event_id(APP_ID, LIVE, LIVE_000.as_bytes());
    let rust_lines = rust.finish(limit);
    let py_lines = py.finish(limit);
    assert_printed_each_event_once("examples/consumer.rs", &rust_lines, &duplicate_id);
    assert_printed_each_event_once("examples/python/consumer.py", &py_lines, &duplicate_id);
    assert_committed(&brokers, "cx-rust", &records);
    assert_committed(&brokers, "cx-python", &records);
    drop(bridge);
}
