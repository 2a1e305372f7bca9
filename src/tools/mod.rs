//! The operator's tools, apart from the pipeline: they use its stages (the spool, the producer)
//! and nothing in the pipeline uses them.

pub mod filter;
pub mod replay;
pub mod spool;

/// Why a tool could not do its job (exit 1 with the message).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error(transparent)]
    Spool(#[from] crate::deliver::spool::SpoolError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}
