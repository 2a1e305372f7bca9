//! Counts what reached Kafka during one benchmark run: reads every bridge topic from offset 0
//! (never trusting the broker's high watermark: tansu's memory engine does not keep it
//! reliably) and counts the events whose member account carries the run's marker.
//! Stops once `expected` distinct marked events were seen and nothing new arrived for a
//! second, after `idle` seconds with nothing new, or at `deadline` seconds. Used by
//! `benches/run.sh`.
//!
//!   cargo run --release --example count_events -- 127.0.0.1:19092 tencent. MARKER EXPECTED [idle] [deadline]
//!
//! Prints one line: `events=N unique=N duplicates=N dlq=N seconds=S` (`dlq` counts marked
//! records on the DLQ topic; `unique` counts distinct marked member accounts elsewhere).
use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        anyhow::bail!("usage: count_events BROKERS PREFIX MARKER EXPECTED [IDLE_SECS] [DEADLINE_SECS]");
    }
    let (brokers, prefix, marker) = (&args[0], &args[1], &args[2]);
    let expected: usize = args[3].parse().context("EXPECTED")?;
    let idle = Duration::from_secs(args.get(4).map_or(Ok(10), |s| s.parse()).context("IDLE_SECS")?);
    let deadline = Duration::from_secs(
        args.get(5)
            .map_or(Ok(180), |s| s.parse())
            .context("DEADLINE_SECS")?,
    );
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("bench-count-{marker}"))
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .create()?;
    let dlq_topic = format!("{prefix}dlq");
    let mut tpl = TopicPartitionList::new();
    for family in tencent_kafka_bridge::event::Family::ALL {
        let topic = format!("{prefix}{}", family.name());
        let meta = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        for t in meta.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
            }
        }
    }
    consumer.assign(&tpl)?;
    let mut seen: HashSet<String> = HashSet::with_capacity(expected);
    let (mut events, mut dlq) = (0usize, 0usize);
    let mut last = Instant::now();
    while started.elapsed() < deadline {
        let quiet = last.elapsed();
        if quiet >= idle || (seen.len() >= expected && quiet >= Duration::from_secs(1)) {
            break;
        }
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg?;
        last = Instant::now();
        let Some(text) = msg.payload().and_then(|p| std::str::from_utf8(p).ok()) else {
            continue;
        };
        let Some(at) = text.find(marker.as_str()) else {
            continue;
        };
        if msg.topic() == dlq_topic {
            dlq += 1;
            continue;
        }
        events += 1;
        let id = &text[at..];
        let end = id.find(['"', '\\']).unwrap_or(id.len());
        seen.insert(id[..end].to_owned());
    }
    println!(
        "events={events} unique={} duplicates={} dlq={dlq} seconds={:.1}",
        seen.len(),
        events - seen.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
