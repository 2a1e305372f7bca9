//! A consumer of the bridge's topics, written the way docs/consumers.md recommends: a consumer
//! group, offsets committed only after a record is handled (at-least-once), re-deliveries
//! dropped by `ce_id` + `received_at_ms`, one line per membership change.
//!
//!   cargo run --example consumer -- 127.0.0.1:9092 tencent. my-service
//!   cargo run --example consumer -- 127.0.0.1:9092 tencent. my-service --max-records 10
//!
//! Arguments: brokers, topic prefix, consumer group. `--max-records N` exits after N records,
//! re-deliveries included (for tests and demos; a service runs until stopped). Output, one
//! line per record:
//!
//!   live.member room=room_id online (enter): jared, tommy  [event 5c0f0e5b…]
//!   duplicate 5c0f0e5b… dropped
use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::ClientConfig;
use serde_json::Value;

const FAMILIES: [&str; 9] = [
    "live.member",
    "group.member",
    "room.member",
    "user.state",
    "trtc.member",
    "trtc.media",
    "mic.seat",
    "other",
    "dlq",
];

/// How many recent records are remembered. A re-delivery (the bridge re-sending from its
/// spool after a crash or an outage) comes soon after the original, so a bounded window is
/// enough; size it to a few minutes of traffic.
const DEDUPE_WINDOW: usize = 100_000;

/// The most recent `capacity` keys, oldest evicted first.
struct Recent {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Recent {
    fn new(capacity: usize) -> Self {
        Recent {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// True the first time `key` is seen (within the window).
    fn first_time(&mut self, key: String) -> bool {
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(key.clone());
        self.order.push_back(key);
        true
    }
}

/// What identifies one callback across re-deliveries: the `ce_id` header. Since schema 4 it is
/// unique per accepted callback and every copy (a re-send from the spool, a replay) keeps it.
/// Before schema 4 it equalled `event_id`, a hash of the body that two genuine events can share
/// (the same member going offline twice), so `received_at_ms`, which a re-delivery repeats, is
/// part of the key: right for records of every version.
fn dedupe_key(event: &Value, msg: &BorrowedMessage<'_>) -> String {
    let id = msg
        .headers()
        .and_then(|headers| headers.iter().find(|h| h.key == "ce_id"))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .or_else(|| event["event_id"].as_str().map(str::to_owned));
    format!("{}/{}", id.unwrap_or_default(), event["received_at_ms"])
}

/// One line saying what changed.
fn describe(family: &str, v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_owned();
    match family {
        "dlq" => format!(
            "dlq app={} command={} code={}: {}",
            s("sdk_app_id"),
            s("command"),
            v["error_code"],
            s("reason")
        ),
        "other" => format!("other app={} command={}", s("sdk_app_id"), s("command")),
        _ => {
            let subject = match (v["room_id"].as_str(), v["group_id"].as_str()) {
                (Some(room), _) => format!("room={room}"),
                (None, Some(group)) => format!("group={group}"),
                (None, None) => format!("app={}", s("sdk_app_id")),
            };
            let members: Vec<&str> = v["members"]
                .as_array()
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let (state, cause) = (s("state"), s("cause"));
            format!("{family} {subject} {state} ({cause}): {}", members.join(", "))
        }
    }
}

struct Args {
    brokers: String,
    prefix: String,
    group: String,
    max_records: Option<usize>,
}

fn args() -> anyhow::Result<Args> {
    let mut positional = Vec::new();
    let mut max_records = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--max-records" => max_records = Some(it.next().context("--max-records N")?.parse()?),
            "-h" | "--help" => {
                println!("usage: consumer [BROKERS [PREFIX [GROUP]]] [--max-records N]");
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    let mut next = |default: &str| positional.next().unwrap_or_else(|| default.to_owned());
    Ok(Args {
        brokers: next("127.0.0.1:9092"),
        prefix: next("tencent."),
        group: next("tencent-kafka-bridge-example"),
        max_records,
    })
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", &args.group)
        // A new group starts from the beginning of each topic; an existing one where it left.
        .set("auto.offset.reset", "earliest")
        // Commit only what was handled (below), so a crash re-reads rather than skips.
        .set("enable.auto.commit", "false")
        .create()
        .context("creating the consumer")?;
    let topics: Vec<String> = FAMILIES.iter().map(|f| format!("{}{f}", args.prefix)).collect();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topic_refs).context("subscribing")?;
    eprintln!("consuming {} as group {}", topics.join(", "), args.group);

    let mut seen = Recent::new(DEDUPE_WINDOW);
    let mut records = 0usize;
    while !args.max_records.is_some_and(|max| records >= max) {
        let msg = match consumer.poll(Duration::from_millis(500)) {
            None => continue,
            Some(Err(e)) => {
                eprintln!("consumer error: {e}");
                continue;
            }
            Some(Ok(msg)) => msg,
        };
        records += 1;
        handle(&msg, &args.prefix, &mut seen);
        consumer
            .commit_message(&msg, CommitMode::Async)
            .context("committing")?;
    }
    // Make sure the last commits reached the broker before leaving the group ("no offset"
    // means the asynchronous commits already did).
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) | Ok(()) => Ok(()),
        Err(e) => Err(e).context("committing on exit"),
    }
}

/// Prints the record's line, or that it was a re-delivery.
fn handle(msg: &BorrowedMessage<'_>, prefix: &str, seen: &mut Recent) {
    let topic = msg.topic();
    let family = topic.strip_prefix(prefix).unwrap_or(topic);
    let event: Value = match msg.payload().map(serde_json::from_slice) {
        Some(Ok(v @ Value::Object(_))) => v,
        _ => {
            let (p, o) = (msg.partition(), msg.offset());
            eprintln!("skipping a record that is not a JSON object at {topic}/{p}/{o}");
            return;
        }
    };
    let key = dedupe_key(&event, msg);
    let id = event["event_id"].as_str().unwrap_or("-");
    if seen.first_time(key) {
        println!("{}  [event {id}]", describe(family, &event));
    } else {
        println!("duplicate {id} dropped");
    }
}
