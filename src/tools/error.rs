//! Why a tool failed: one error for all of them, printed by `main` with exit code 1.

/// Why a tool could not do its job (exit 1 with the message).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    SecretFile(#[from] crate::kafka_args::SecretFileError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}
