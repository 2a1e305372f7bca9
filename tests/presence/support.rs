//! What the presence tests share: a broker with the view's topics (no schema enforced on them:
//! the envelopes are produced directly, schema 4 included), a producer of envelopes, the real
//! `presence` binary, and a reader that folds `tencent.presence` to its last value per key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::common::broker::Broker;
use crate::common::http::{get_blocking, get_text_blocking};
use crate::common::{free_port, wait_for};

pub const APP: &str = "1400000000";
pub const INPUTS: [&str; 5] = [
    "live.member",
    "room.member",
    "group.member",
    "trtc.member",
    "mic.seat",
];
pub const STATE: &str = "tencent.presence";

/// tansu with `tencent.<input>` and `tencent.presence`, 3 partitions each. The registry the
/// helper writes is for another prefix, so these topics take any JSON.
pub fn broker() -> Broker {
    let broker = Broker::start("registry-only.");
    for family in INPUTS {
        broker.create_topic(&format!("tencent.{family}"), 3);
    }
    create_compacted(&broker, STATE, 3);
    broker
}

/// One envelope as the bridge writes it (schema 4), with its `ce_id`.
#[derive(Clone, Debug)]
pub struct Ev {
    pub family: &'static str,
    pub key: String,
    pub value: Value,
    pub ce_id: String,
}

pub struct Feed {
    producer: BaseProducer,
    n: u64,
    /// Records sent so far.
    pub sent: std::cell::Cell<u64>,
}

impl Feed {
    pub fn new(brokers: &str) -> Feed {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "0")
            .create()
            .expect("producer");
        Feed {
            producer,
            n: 0,
            sent: Default::default(),
        }
    }

    /// An event of `family` about room (or group) `id`; `extra` sets more envelope fields.
    pub fn ev(
        &mut self,
        family: &'static str,
        id: &str,
        state: Option<&str>,
        members: &[&str],
        time: Option<i64>,
        extra: Value,
    ) -> Ev {
        self.n += 1;
        let group = family == "group.member";
        let mut value = json!({
            "event_id": format!("{:032x}", self.n),
            "schema_version": 4,
            "family": family,
            "command": "Test.Command",
            "sdk_app_id": APP,
            "room_id": if group { Value::Null } else { id.into() },
            "group_id": if group { id.into() } else { Value::Null },
            "state": state,
            "cause": null,
            "members": members,
            "operator": null, "owner": null, "previous_owner": null, "member_count": null,
            "event_time_ms": time,
            "reason": null, "group_type": null, "role": null, "media": null, "seats": null,
            "kicked_platforms": null,
            "received_at_ms": 1_800_000_000_000_i64 + self.n as i64,
            "client_ip": null, "platform": null, "raw": {},
        });
        if let (Some(v), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        Ev {
            family,
            key: id.to_owned(),
            value,
            ce_id: format!("ce-{}-{}", self.n, std::process::id()),
        }
    }

    pub fn send(&self, ev: &Ev) {
        let topic = format!("tencent.{}", ev.family);
        let payload = ev.value.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: "ce_id",
            value: Some(ev.ce_id.as_str()),
        });
        let record = BaseRecord::to(&topic)
            .key(&ev.key)
            .payload(&payload)
            .headers(headers);
        self.producer.send(record).map_err(|(e, _)| e).expect("send");
        self.producer.flush(Duration::from_secs(10)).expect("flush");
        self.sent.set(self.sent.get() + 1);
    }

    pub fn send_raw(&self, family: &str, key: &str, payload: &[u8]) {
        let topic = format!("tencent.{family}");
        self.producer
            .send(BaseRecord::to(&topic).key(key).payload(payload))
            .map_err(|(e, _)| e)
            .expect("send");
        self.producer.flush(Duration::from_secs(10)).expect("flush");
        self.sent.set(self.sent.get() + 1);
    }

    /// Makes and sends; returns the event for a later re-send.
    pub fn emit(
        &mut self,
        family: &'static str,
        id: &str,
        state: Option<&str>,
        members: &[&str],
        time: Option<i64>,
        extra: Value,
    ) -> Ev {
        let ev = self.ev(family, id, state, members, time, extra);
        self.send(&ev);
        ev
    }
}

/// The real binary's `presence` subcommand.
pub struct Presence {
    child: Option<Child>,
    pub admin: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Presence {
    pub fn start(brokers: &str, group: &str) -> Presence {
        let p = Self::spawn(brokers, group);
        wait_for(
            &format!("presence /readyz (log: {})", p.log()),
            Duration::from_secs(90),
            || (get_blocking(&p.admin, "/readyz")? == 200).then_some(()),
        );
        p
    }

    pub fn spawn(brokers: &str, group: &str) -> Presence {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("presence.log");
        let admin = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BRIDGE_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .args([
                "presence",
                "--brokers",
                brokers,
                "--group-id",
                group,
                "--admin-listen",
                &admin,
            ])
            .args(["--grace", "3s", "--sweep-interval", "300ms"])
            // A dead member leaves the group in seconds (the test's choice, not the product's).
            .args([
                "--kafka-property",
                "session.timeout.ms=6000,heartbeat.interval.ms=500",
            ])
            .env("BRIDGE_LOG", "info,tencent_kafka_bridge=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start presence");
        Presence {
            child: Some(child),
            admin,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn metrics(&self) -> String {
        get_text_blocking(&self.admin, "/metrics").unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// Waits for the process to end by itself; returns whether it exited 0.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let child = self.child.as_mut().expect("running");
        let status = wait_for("presence to exit", timeout, || child.try_wait().ok().flatten());
        self.child = None;
        status.success()
    }

    /// Signals and waits for the exit; returns whether it exited 0.
    pub fn stop(&mut self, sig: i32) -> bool {
        self.signal(sig);
        let child = self.child.as_mut().expect("running");
        let status = wait_for("presence to exit", Duration::from_secs(30), || {
            child.try_wait().ok().flatten()
        });
        self.child = None;
        status.success()
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tencent.presence` folded: key → (partition, last value; `None` for a tombstone).
pub type Folded = BTreeMap<String, (i32, Option<Value>)>;

/// Reads the state topic from offset 0 until `done(folded)` or the deadline; returns the fold.
pub fn read_state(brokers: &str, timeout: Duration, mut done: impl FnMut(&Folded) -> bool) -> Folded {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "presence-tests-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset(STATE, p, Offset::Beginning)
            .expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut folded = Folded::new();
    while !done(&folded) && Instant::now() < deadline {
        while let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let value = m
                .payload()
                .map(|p| serde_json::from_slice(p).expect("state value is JSON"));
            folded.insert(key, (m.partition(), value));
        }
    }
    folded
}

/// What the contract promises of the live keys: members' role (and seat), rooms' owner,
/// admins and closed flag.
pub fn projection(folded: &Folded) -> BTreeMap<String, Value> {
    folded
        .iter()
        .filter_map(|(k, (_, v))| {
            let v = v.as_ref()?;
            let key: Vec<String> = serde_json::from_str(k).expect("key is a JSON array");
            let shown = if key.len() == 4 {
                match v["seat"].as_i64() {
                    Some(seat) => json!({ "role": v["role"], "seat": seat }),
                    None => json!({ "role": v["role"] }),
                }
            } else {
                json!({ "owner": v["owner"], "admins": v["admins"], "closed": v["closed"] })
            };
            Some((k.clone(), shown))
        })
        .collect()
}

/// Every room's records (room key and member keys) sit in one partition.
pub fn room_partitions(folded: &Folded) -> BTreeMap<String, i32> {
    let mut rooms: BTreeMap<String, i32> = BTreeMap::new();
    for (k, (p, _)) in folded {
        let key: Vec<String> = serde_json::from_str(k).expect("key");
        let room = serde_json::to_string(&key[..3]).expect("room key");
        let seen = *rooms.entry(room.clone()).or_insert(*p);
        assert_eq!(seen, *p, "room {room} has records in partitions {seen} and {p}");
    }
    rooms
}

pub fn member(scope: &str, id: &str, m: &str) -> String {
    json!([APP, scope, id, m]).to_string()
}

pub fn room(scope: &str, id: &str) -> String {
    json!([APP, scope, id]).to_string()
}

/// The partition (of 3) a murmur2 producer puts `key` on.
pub fn partition_of(key: &str) -> u32 {
    (crate::common::java_murmur2(key.as_bytes()) & 0x7fff_ffff) % 3
}

/// `per_partition` room ids on each of the 3 partitions.
pub fn rooms_on_every_partition(per_partition: usize) -> Vec<String> {
    let mut out = Vec::new();
    for p in 0..3 {
        out.extend(
            (0..)
                .map(|i| format!("room-{i}"))
                .filter(|r| partition_of(r) == p)
                .take(per_partition),
        );
    }
    out
}

/// Waits until the instance holds at least one partition (its share of the group).
pub fn wait_assigned(p: &Presence) {
    wait_assigned_or(p, String::new)
}

/// Waits until the instance holds `n` partitions (the group settled after a member left).
pub fn wait_holding(p: &Presence, n: u32) {
    wait_for(
        &format!("{n} partitions held (log: {})", p.log()),
        Duration::from_secs(90),
        || {
            let metrics = p.metrics();
            let held = metrics
                .lines()
                .find(|l| l.starts_with("tencent_presence_partitions "))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())?;
            (held as u32 == n).then_some(())
        },
    );
}

/// The same, showing `more()` (the broker's log) when no partition comes.
pub fn wait_assigned_or(p: &Presence, more: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let metrics = p.metrics();
        let held = metrics
            .lines()
            .find(|l| l.starts_with("tencent_presence_partitions "))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
        if held.is_some_and(|n| n > 0.0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = more();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            ["join", "sync", "leave", "heartbeat", "generation", "assign"]
                .iter()
                .any(|w| l.to_lowercase().contains(w))
        })
        .collect();
    let tail = lines[lines.len().saturating_sub(120)..].join("\n");
    panic!(
        "no partition assigned within 90 s; log: {}\nbroker log:\n{tail}",
        p.log()
    );
}

/// `tansu topic create NAME --config cleanup.policy=compact`, as the platform creates it.
pub fn create_compacted(broker: &Broker, name: &str, partitions: u32) {
    let out = Command::new(crate::common::broker::tansu_bin())
        .current_dir(broker.dir.path())
        .args([
            "topic",
            "create",
            name,
            "--broker",
            &format!("tcp://127.0.0.1:{}", broker.port),
        ])
        .args([
            "--partitions",
            &partitions.to_string(),
            "--config",
            "cleanup.policy=compact",
        ])
        .output()
        .expect("run tansu topic create");
    assert!(
        out.status.success(),
        "tansu topic create {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
