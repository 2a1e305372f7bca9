//! Which broker errors mean what for a record: retry, move to the DLQ, or renew the producer.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Broker errors that no retry will fix: the record must go to the DLQ instead of blocking the
/// records behind it.
pub fn is_permanent(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(
            InvalidRecord
                | MessageSizeTooLarge
                | InvalidMessageSize
                | InvalidMessage
                | TopicAuthorizationFailed
                | ClusterAuthorizationFailed
                | PolicyViolation
                | InvalidTopic
                // librdkafka's own verdict once metadata says the topic does not exist (the
                // broker's UNKNOWN_TOPIC_OR_PARTITION alone can be a passing leader move).
                | UnknownTopic
        )
    )
}

/// librdkafka's own "unknown topic" verdict (see [`is_permanent`]).
pub fn is_unknown_topic(e: &KafkaError) -> bool {
    e.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopic)
}

/// The record is too large for the producer or the broker.
pub fn is_size(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize)
    )
}

/// librdkafka failed the record because it was told to purge: nothing wrong with the record.
pub fn is_purged(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
    )
}

/// Errors after which this producer instance never delivers again: the broker fences its
/// producer id and epoch (e.g. after an epoch bump whose answer an outage cut off), or
/// librdkafka raised a fatal error. Only a new producer (a new producer id) gets through.
pub fn needs_new_producer(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(ProducerFenced | InvalidProducerEpoch | OutOfOrderSequenceNumber | Fenced | Fatal)
    )
}
