//! `tail`: read the bridge's topics and print its events — pretty for people, one JSON per
//! line for scripts. A plain consumer with no group: it commits nothing and disturbs no one.

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::error::ToolError;
use crate::config::TopicPrefixArg;
use crate::event::Family;
use crate::kafka_args::KafkaArgs;

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub topic: TopicPrefixArg,
    /// Families to read (default: all): live.member, group.member, room.member, user.state,
    /// trtc.member, trtc.media, mic.seat, other, dlq. Also `presence`: the state topic the
    /// `presence` view writes, one line per record (`left` for a tombstone).
    #[arg(long = "family", value_delimiter = ',')]
    pub families: Vec<String>,
    /// Start from the oldest record instead of from now.
    #[arg(long)]
    pub from_beginning: bool,
    #[arg(long, value_enum, default_value_t = TailFormat::Pretty)]
    pub format: TailFormat,
    /// Exit after this long without a new record (for scripts). Default: run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub idle_exit: Option<Duration>,
    /// Exit after this many records.
    #[arg(long)]
    pub max_events: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TailFormat {
    Pretty,
    Json,
}

/// Blocking: runs until `--idle-exit`, `--max-events` or Ctrl-C.
pub fn run(args: &TailArgs) -> Result<(), ToolError> {
    let defaults = [
        ("group.id", "tencent-kafka-bridge-tail"),
        ("enable.auto.commit", "false"),
    ];
    let consumer: BaseConsumer = args.kafka.client_config(&defaults)?.create()?;
    let families: Vec<String> = if args.families.is_empty() {
        Family::ALL.iter().map(|f| f.name().to_owned()).collect()
    } else {
        args.families.clone()
    };
    let start = if args.from_beginning {
        Offset::Beginning
    } else {
        Offset::End
    };
    let mut tpl = TopicPartitionList::new();
    for family in &families {
        let topic = format!("{}{family}", args.topic.topic_prefix);
        let meta = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        for t in meta.topics() {
            if t.partitions().is_empty() {
                eprintln!("tail: topic {topic} not found on {}", args.kafka.brokers);
            }
            for p in t.partitions() {
                tpl.add_partition_offset(&topic, p.id(), start)?;
            }
        }
    }
    consumer.assign(&tpl)?;
    let (mut last, mut seen) = (Instant::now(), 0usize);
    loop {
        if args.idle_exit.is_some_and(|idle| last.elapsed() >= idle)
            || args.max_events.is_some_and(|n| seen >= n)
        {
            return Ok(());
        }
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        // A broker hiccup is reported and read through; librdkafka reconnects by itself.
        let msg = match msg {
            Ok(msg) => msg,
            Err(e) => {
                eprintln!("tail: {e}");
                continue;
            }
        };
        last = Instant::now();
        seen += 1;
        println!("{}", render(&msg, args.format));
    }
}

fn render(msg: &rdkafka::message::BorrowedMessage<'_>, format: TailFormat) -> String {
    let key = msg.key().map(String::from_utf8_lossy).unwrap_or_default();
    let value: serde_json::Value = msg
        .payload()
        .map(|p| serde_json::from_slice(p).unwrap_or_else(|_| String::from_utf8_lossy(p).into_owned().into()))
        .unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = msg
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default())
                            .into_owned()
                            .into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    match format {
        TailFormat::Json => serde_json::json!({
            "topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
            "timestamp_ms": msg.timestamp().to_millis(),
            "key": key, "headers": headers, "value": value,
        })
        .to_string(),
        TailFormat::Pretty if msg.topic().ends_with("presence") => presence_line(msg, &key, &value),
        TailFormat::Pretty => {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            format!(
                "── {} [{}] @{} key {key:?}\n{pretty}",
                msg.topic(),
                msg.partition(),
                msg.offset()
            )
        }
    }
}

/// A state record of the presence view: who, where, and the value on one line.
fn presence_line(
    msg: &rdkafka::message::BorrowedMessage<'_>,
    key: &str,
    value: &serde_json::Value,
) -> String {
    let parts: Vec<String> = serde_json::from_str(key).unwrap_or_default();
    let place = parts
        .get(..3)
        .map_or_else(|| key.to_owned(), |p| format!("{} {} {}", p[1], p[0], p[2]));
    let what = match (parts.get(3), value) {
        (Some(member), serde_json::Value::Null) => format!("{member}: left"),
        (Some(member), v) => format!("{member}: {v}"),
        (None, serde_json::Value::Null) => "room gone".to_owned(),
        (None, v) => format!("room {v}"),
    };
    format!(
        "── {} [{}] @{} {place}  {what}",
        msg.topic(),
        msg.partition(),
        msg.offset()
    )
}
