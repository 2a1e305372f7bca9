//! Which input topics exist, and the co-partitioning check: the state topic must have the
//! inputs' partition count, because a room's records go to the partition number its input
//! records came from (so one instance holds a room's members, its room record and its seats).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;

use super::input::Source;

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Kafka metadata: {0}")]
    Kafka(#[from] KafkaError),
    #[error("the state topic {0} does not exist: create it with cleanup.policy=compact and the input topics' partition count (docs/operations.md)")]
    OutputMissing(String),
    #[error("{input} has {input_count} partitions but {output} has {output_count}: the state topic must have the input topics' partition count (co-partitioning)")]
    CountMismatch {
        input: String,
        input_count: usize,
        output: String,
        output_count: usize,
    },
}

/// The topics as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub present: Vec<String>,
    pub missing: Vec<String>,
    pub partitions: usize,
}

pub fn inputs(prefix: &str) -> Vec<String> {
    Source::ALL
        .iter()
        .map(|s| format!("{prefix}{}", s.family()))
        .collect()
}

/// Partition count of `topic`, `None` when it does not exist.
pub fn partitions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    timeout: Duration,
) -> Result<Option<usize>, KafkaError> {
    let meta = consumer.fetch_metadata(Some(topic), timeout)?;
    Ok(meta
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().len())
        .filter(|n| *n > 0))
}

/// Refuses a missing state topic or a partition count that differs from it, naming both.
pub fn check<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    prefix: &str,
    output: &str,
    timeout: Duration,
) -> Result<Layout, TopicError> {
    let output_count =
        partitions(consumer, output, timeout)?.ok_or_else(|| TopicError::OutputMissing(output.to_owned()))?;
    let (mut present, mut missing) = (Vec::new(), Vec::new());
    for input in inputs(prefix) {
        match partitions(consumer, &input, timeout)? {
            Some(n) if n != output_count => {
                return Err(TopicError::CountMismatch {
                    input,
                    input_count: n,
                    output: output.to_owned(),
                    output_count,
                })
            }
            Some(_) => present.push(input),
            None => missing.push(input),
        }
    }
    Ok(Layout {
        present,
        missing,
        partitions: output_count,
    })
}
