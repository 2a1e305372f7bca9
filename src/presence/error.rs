//! Why the view stopped: each boundary's error, named.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Topics(#[from] super::topics::TopicError),
    #[error(transparent)]
    Restore(#[from] super::restore::RestoreError),
    #[error(transparent)]
    Write(#[from] super::writer::WriteError),
    #[error(transparent)]
    Secret(#[from] crate::kafka_args::SecretFileError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the consumer thread ended abnormally: {0}")]
    Thread(String),
}
