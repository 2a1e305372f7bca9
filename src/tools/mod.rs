//! The operator's tools, apart from the pipeline: they use its stages (the spool, the producer)
//! and nothing in the pipeline uses them.

pub mod filter;
pub mod redrive;
mod redrive_state;
pub mod replay;
pub mod spool;

/// `dlq ...`: the dead-letter topic.
#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Runs DLQ records through today's decoder and publishes those it now accepts to their
    /// family topic (original received_at_ms, so the same event_id); the rest stay, counted by
    /// reason. Remembers what it did (a consumer group): safe to run twice.
    ///
    ///   tencent-kafka-bridge dlq redrive --brokers kafka-1:9092 --dry-run
    ///   tencent-kafka-bridge dlq redrive --brokers kafka-1:9092 --since 7d --code 4002
    #[command(verbatim_doc_comment)]
    Redrive(redrive::RedriveArgs),
}

/// Runs a DLQ tool; `Ok(false)` when something failed.
pub fn run_dlq(command: DlqCommand) -> Result<bool, ToolError> {
    match command {
        DlqCommand::Redrive(args) => redrive::run(&args),
    }
}

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
