//! The producer's settings: the bridge's defaults, what depends on the delivery mode, and a
//! check of the user's properties without connecting.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;

use crate::config::DeliveryMode;

/// librdkafka settings the bridge starts from; every one can be overridden with
/// `--kafka-property`.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    // The Java client's partitioner: a room lands on the same partition as in other teams'
    // Java / Kafka Streams producers.
    ("partitioner", "murmur2_random"),
    // Kafka mode: every answer waits this long for company. Other modes: see LINGER_UNWAITED.
    ("linger.ms", "5"),
    ("message.timeout.ms", "30000"),
    // Bounds memory: beyond these the bridge answers 503 instead of growing. 16 MiB keeps a
    // memory-mode bridge whose broker lags under 64 MiB RSS (at 64 MiB it reached 100 MiB in
    // benches/run.sh), and is still about half a second of peak intake on one core.
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "16384"),
    ("client.id", "tencent-kafka-bridge"),
];

/// `linger.ms` where no answer waits for the broker (memory and spool mode). librdkafka spends
/// roughly 50-80 µs of CPU per produce request whatever it carries, and sends one per
/// partition per linger: 20 ms instead of 5 took its threads from 6-10 to 3-4 µs a request at
/// 15-25 k req/s (BENCHMARKS.md). Consumers see events up to 20 ms later.
pub const LINGER_UNWAITED: &str = "20";

/// The user's properties, behind the defaults that depend on the delivery mode (the user's
/// win: later entries override earlier ones), except in spool mode's `message.timeout.ms`.
///
/// Spool mode never lets librdkafka give up on a record (`message.timeout.ms=0`, no limit):
/// after a timeout the idempotent producer bumps its epoch and goes on sending the records
/// queued behind the expired one, which could reach the topic before the drain hears of the
/// timeout and re-sends it — one room out of order. Without timeouts librdkafka retries in
/// order until the broker is back, the drain's window bounds what it holds, and the spool
/// keeps every record until its delivery is confirmed. A user's value is overridden (and
/// [`overridden_in_spool_mode`] says so at start).
pub fn properties_for(mode: DeliveryMode, user: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(user.len() + 2);
    if mode != DeliveryMode::Kafka {
        out.push(("linger.ms".to_owned(), LINGER_UNWAITED.to_owned()));
    }
    out.extend(user.iter().map(|(k, v)| (canonical(k).to_owned(), v.clone())));
    if mode == DeliveryMode::Spool {
        out.push((SPOOL_TIMEOUT.0.to_owned(), SPOOL_TIMEOUT.1.to_owned()));
    }
    out
}

const SPOOL_TIMEOUT: (&str, &str) = ("message.timeout.ms", "0");

/// librdkafka's other names for properties the bridge sets itself. librdkafka keeps both
/// spellings and applies them in the order it is given them, and `ClientConfig` hands them
/// over in hash order: a user's `delivery.timeout.ms` beside the bridge's
/// `message.timeout.ms` won about half the time. Every property is set under its canonical
/// name, so the later setting always wins.
const ALIASES: &[(&str, &str)] = &[
    ("delivery.timeout.ms", "message.timeout.ms"),
    ("queue.buffering.max.ms", "linger.ms"),
    ("request.required.acks", "acks"),
    ("compression.codec", "compression.type"),
    ("metadata.broker.list", "bootstrap.servers"),
];

/// `key` under the name the bridge sets it by (see [`ALIASES`]).
fn canonical(key: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, name)| name)
}

/// The user's timeout properties that spool mode overrides, to warn about at start.
pub fn overridden_in_spool_mode(user: &[(String, String)]) -> Vec<String> {
    user.iter()
        .filter(|(k, v)| matches!(k.as_str(), "message.timeout.ms" | "delivery.timeout.ms") && v != "0")
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// The bridge's producer settings, then `overrides` (see [`properties_for`]).
pub fn client_config(brokers: &str, overrides: &[(String, String)]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", brokers);
    for (k, v) in DEFAULTS {
        cfg.set(*k, *v);
    }
    for (k, v) in overrides {
        cfg.set(canonical(k), v);
    }
    cfg
}

/// Lets librdkafka judge the properties without connecting: an unknown property, a bad value
/// or a feature this build lacks is an error here.
pub fn check_properties(brokers: &str, overrides: &[(String, String)]) -> Result<(), KafkaError> {
    client_config(brokers, overrides)
        .create::<rdkafka::producer::BaseProducer>()
        .map(drop)
}
