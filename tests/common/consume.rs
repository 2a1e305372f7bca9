//! A real Kafka consumer. tansu's memory engine sees every record from offset 0 but its high
//! watermark lags, so we always read from the start until what we expect is there.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub headers: HashMap<String, String>,
    pub value: serde_json::Value,
    /// The record's Kafka timestamp (ms), as a consumer reads it.
    pub timestamp_ms: Option<i64>,
}

/// Reads `topic` from offset 0 (all partitions) until `done(&records)` holds or `timeout`
/// passes; returns what was read either way, so the caller's assertion says what is missing.
pub fn read_until(
    brokers: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Msg]) -> bool,
) -> Vec<Msg> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tests-unused")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = meta.topics().first().map_or(0, |t| t.partitions().len()) as i32;
    assert!(partitions > 0, "topic {topic} has no partitions");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while !done(&out) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(to_msg(&m)),
            Some(Err(e)) => eprintln!("consumer: {e}"),
            None => {}
        }
    }
    out
}

/// Reads until at least `n` records are there.
pub fn read_n(brokers: &str, topic: &str, n: usize, timeout: Duration) -> Vec<Msg> {
    read_until(brokers, topic, timeout, |m| m.len() >= n)
}

fn to_msg(m: &rdkafka::message::BorrowedMessage<'_>) -> Msg {
    let mut headers = HashMap::new();
    if let Some(h) = m.headers() {
        for header in h.iter() {
            let value = header
                .value
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            headers.insert(header.key.to_owned(), value);
        }
    }
    Msg {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        key: m
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default(),
        headers,
        value: m
            .payload()
            .and_then(|p| serde_json::from_slice(p).ok())
            .unwrap_or(serde_json::Value::Null),
        timestamp_ms: m.timestamp().to_millis(),
    }
}
