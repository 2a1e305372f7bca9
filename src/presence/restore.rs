//! Restore on assignment: read the state topic's partitions from their start to their end and
//! fold every record into a fresh [`Fold`] (the topic is the changelog; no other store). The
//! end is the partition-EOF signal, not ListOffsets (which some brokers answer short of the
//! last batch).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use super::fold::{Fold, Limits};

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("restoring {topic}: {source}")]
    Kafka { topic: String, source: KafkaError },
    #[error("restoring {topic} partitions {partitions:?}: stopped before the end")]
    Stopped { topic: String, partitions: Vec<i32> },
    #[error("restoring {topic} partitions {partitions:?}: no end reached within {timeout:?}")]
    Timeout {
        topic: String,
        partitions: Vec<i32>,
        timeout: Duration,
    },
}

/// Empty polls after the last partition's end before the restore is done (2 x 100 ms).
const QUIET_POLLS: usize = 2;
const QUIET_POLL: Duration = Duration::from_millis(100);

/// The end of a partition is what a restore waits for, not an error worth a log line.
struct QuietEof;

impl ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(error, KafkaError::PartitionEOF(_))
            || matches!(error, KafkaError::Global(code) if code == rdkafka::types::RDKafkaErrorCode::PartitionEOF);
        if !eof {
            tracing::warn!(%error, reason, "restore consumer");
        }
    }
}

impl ConsumerContext for QuietEof {}

/// What a restore read.
#[derive(Debug, Default)]
pub struct Restored {
    pub folds: HashMap<i32, Fold>,
    pub records: u64,
    /// Records whose key or value is not the view's (skipped).
    pub unreadable: u64,
}

/// Reads `partitions` of `topic` to their end. `stop` is checked between polls.
pub fn restore(
    base: &ClientConfig,
    topic: &str,
    partitions: &[i32],
    limits: Limits,
    timeout: Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Restored, RestoreError> {
    let err = |source| RestoreError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let mut cfg = base.clone();
    cfg.set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("group.id", "tencent-kafka-bridge-presence-restore");
    let consumer: BaseConsumer<QuietEof> = cfg.create_with_context(QuietEof).map_err(err)?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .map_err(err)?;
    }
    consumer.assign(&tpl).map_err(err)?;
    let mut out = Restored::default();
    for p in partitions {
        out.folds.insert(*p, Fold::new(limits));
    }
    let mut open: Vec<i32> = partitions.to_vec();
    let deadline = Instant::now() + timeout;
    // After every partition's end, a short quiet read: what a broker still returns past the
    // end it reported (one whose end lags its last batch) is folded too, in order.
    let mut quiet = 0;
    while !open.is_empty() || quiet < QUIET_POLLS {
        if stop() {
            return Err(RestoreError::Stopped {
                topic: topic.to_owned(),
                partitions: open,
            });
        }
        if Instant::now() >= deadline {
            return Err(RestoreError::Timeout {
                topic: topic.to_owned(),
                partitions: open,
                timeout,
            });
        }
        let wait = if open.is_empty() {
            QUIET_POLL
        } else {
            Duration::from_millis(200)
        };
        match consumer.poll(wait) {
            None => quiet += usize::from(open.is_empty()),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                tracing::debug!(partition = p, position = ?consumer.position().ok(), "restore: end of partition");
                open.retain(|x| *x != p)
            }
            Some(Err(e)) => tracing::warn!(error = %e, topic, "restore: read error (retried)"),
            Some(Ok(msg)) => {
                quiet = 0;
                let Some(fold) = out.folds.get_mut(&msg.partition()) else {
                    continue;
                };
                out.records += 1;
                let ok = msg.key().is_some_and(|k| fold.restore(k, msg.payload()));
                if !ok {
                    out.unreadable += 1;
                }
            }
        }
    }
    Ok(out)
}
