//! A consumer of the bridge's topics, written the way docs/consumers.md recommends: a consumer
//! group, offsets committed only after an event is handled, duplicates dropped by `event_id`
//! (the bridge delivers at least once), one line per membership change.
//!
//!   cargo run --example consumer -- 127.0.0.1:9092 tencent. my-service
//!   cargo run --example consumer -- 127.0.0.1:9092 tencent. my-service --max-events 10 --idle-secs 20
//!
//! Arguments: brokers, topic prefix, consumer group. `--max-events N` exits after N distinct
//! events, `--idle-secs S` after S seconds without a new record (both for tests and demos; a
//! service runs until stopped). Output, one line per event:
//!
//!   live.member room=room_id online (enter): jared, tommy  [event 5c0f0e5b…]
//!   duplicate 5c0f0e5b… dropped
use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::Value;

const FAMILIES: [&str; 5] = ["live.member", "group.member", "room.member", "other", "dlq"];

/// How many recent `event_id`s are remembered. Duplicates arrive close to the original (a
/// re-send after a crash or an outage re-sends what was not yet confirmed), so a bounded
/// window is enough; size it to a few minutes of traffic.
const DEDUPE_WINDOW: usize = 100_000;

/// The most recent `capacity` ids, oldest evicted first.
struct RecentIds {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl RecentIds {
    fn new(capacity: usize) -> Self {
        RecentIds {
            set: HashSet::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// True the first time `id` is seen (within the window).
    fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

struct Args {
    brokers: String,
    prefix: String,
    group: String,
    max_events: Option<usize>,
    idle: Option<Duration>,
}

fn args() -> anyhow::Result<Args> {
    let mut positional = Vec::new();
    let (mut max_events, mut idle) = (None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--max-events" => max_events = Some(it.next().context("--max-events N")?.parse()?),
            "--idle-secs" => idle = Some(Duration::from_secs(it.next().context("--idle-secs S")?.parse()?)),
            "-h" | "--help" => {
                println!("usage: consumer BROKERS PREFIX GROUP [--max-events N] [--idle-secs S]");
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    Ok(Args {
        brokers: positional.next().unwrap_or_else(|| "127.0.0.1:9092".into()),
        prefix: positional.next().unwrap_or_else(|| "tencent.".into()),
        group: positional
            .next()
            .unwrap_or_else(|| "tencent-kafka-bridge-example".into()),
        max_events,
        idle,
    })
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
            format!(
                "{family} {subject} {} ({}): {}",
                s("state"),
                s("cause"),
                members.join(", ")
            )
        }
    }
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
        .set("enable.partition.eof", "false")
        .create()
        .context("creating the consumer")?;
    let topics: Vec<String> = FAMILIES.iter().map(|f| format!("{}{f}", args.prefix)).collect();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topic_refs).context("subscribing")?;
    eprintln!("consuming {} as group {}", topics.join(", "), args.group);

    let mut seen = RecentIds::new(DEDUPE_WINDOW);
    let mut handled = 0usize;
    // --idle-secs counts from the last record, or from when partitions were assigned (joining
    // the group can take seconds), or from the start.
    let mut last_record = Instant::now();
    let mut assigned = false;
    loop {
        if args.max_events.is_some_and(|max| handled >= max) {
            break;
        }
        if !assigned && consumer.assignment().is_ok_and(|a| a.count() > 0) {
            assigned = true;
            last_record = Instant::now();
        }
        if args.idle.is_some_and(|idle| last_record.elapsed() >= idle) {
            eprintln!("no new record for {:?}; exiting", args.idle.unwrap_or_default());
            break;
        }
        let msg = match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(e)) => {
                eprintln!("consumer error: {e}");
                continue;
            }
            Some(Ok(msg)) => msg,
        };
        last_record = Instant::now();
        let family = msg
            .topic()
            .strip_prefix(args.prefix.as_str())
            .unwrap_or(msg.topic())
            .to_owned();
        let value: Value = match msg.payload().map(serde_json::from_slice) {
            Some(Ok(v)) => v,
            _ => {
                eprintln!(
                    "skipping a record that is not JSON at {}/{}/{}",
                    msg.topic(),
                    msg.partition(),
                    msg.offset()
                );
                consumer.commit_message(&msg, CommitMode::Async)?;
                continue;
            }
        };
        // The id is in the value and, identical, in the `ce_id` header.
        let header_id = msg
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "ce_id").and_then(|h| h.value))
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let id = value["event_id"]
            .as_str()
            .map(str::to_owned)
            .or(header_id)
            .unwrap_or_default();
        if seen.first_time(&id) {
            println!("{}  [event {id}]", describe(&family, &value));
            handled += 1;
        } else {
            println!("duplicate {id} dropped");
        }
        consumer
            .commit_message(&msg, CommitMode::Async)
            .context("committing")?;
    }
    // Commit what was handled before leaving the group.
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    Ok(())
}
