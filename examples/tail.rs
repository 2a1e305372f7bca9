//! Prints the bridge's events from the start of every topic, one JSON per line, until no new
//! record arrives for `--idle` seconds (default 5). Used by `scripts/demo.sh`.
//!
//!   cargo run --example tail -- 127.0.0.1:9092 tencent.
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let brokers = args.next().unwrap_or_else(|| "127.0.0.1:9092".into());
    let prefix = args.next().unwrap_or_else(|| "tencent.".into());
    let idle = Duration::from_secs(args.next().and_then(|s| s.parse().ok()).unwrap_or(5));
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "tencent-kafka-bridge-tail")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for family in ["live.member", "group.member", "room.member", "other", "dlq"] {
        let topic = format!("{prefix}{family}");
        let meta = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        for t in meta.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)?;
            }
        }
    }
    consumer.assign(&tpl)?;
    let mut last = Instant::now();
    while last.elapsed() < idle {
        if let Some(msg) = consumer.poll(Duration::from_millis(200)) {
            let msg = msg?;
            last = Instant::now();
            let headers: Vec<String> = msg
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            format!(
                                "{}={}",
                                h.key,
                                String::from_utf8_lossy(h.value.unwrap_or_default())
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "--- {} partition {} key {:?}\n    headers: {}\n    {}",
                msg.topic(),
                msg.partition(),
                msg.key().map(String::from_utf8_lossy).unwrap_or_default(),
                headers.join(" "),
                msg.payload().map(String::from_utf8_lossy).unwrap_or_default()
            );
        }
    }
    Ok(())
}
