//! The operator's tools, apart from the pipeline: they use its stages (the spool, the producer)
//! and nothing in the pipeline uses them.

mod error;
pub(crate) mod filter;
mod produce;
pub(crate) mod redrive;
pub mod samples;
pub mod send;
pub mod spool;
pub mod tail;

pub use error::ToolError;

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
