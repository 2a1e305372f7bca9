//! Spool mode: the write-ahead log (`crate::spool`) in front, and the drain that publishes
//! from it to Kafka (`drain/`) behind. `start` wires the two: the writer wakes the drain with
//! what it made durable.

pub(crate) mod drain;
mod problems;

pub use drain::Drain;
pub use problems::DeliveryProblems;

use std::path::Path;
use std::sync::Arc;

use crate::publish::Publisher;
use crate::refusal::Refusal;
use crate::route::Topics;
use crate::spool::{AppendError, CommitWindow, Retention, SpoolError, SpoolWriter, Store};

/// Both halves of spool mode, running.
pub struct SpoolMode {
    pub writer: SpoolWriter,
    pub drain: Drain,
}

/// How the spool is sized and paced (from the bridge's flags).
#[derive(Debug, Clone)]
pub struct SpoolSettings {
    pub max_bytes: u64,
    pub segment_bytes: u64,
    pub retention: Retention,
    /// The longest a busy group commit waits for company ([`CommitWindow`]).
    pub commit_window: std::time::Duration,
}

/// Opens (and recovers) the spool, then starts the drain and the writer threads. Everything
/// past the watermark is delivered while new callbacks are accepted. `problems` hears of
/// delivery problems (the DLQ refusing records) and says which topics are missing.
pub fn start(
    dir: &Path,
    settings: &SpoolSettings,
    publisher: Publisher,
    topics: Topics,
    problems: Arc<dyn DeliveryProblems>,
) -> Result<SpoolMode, SpoolError> {
    let (store, recovery) = Store::open_retaining(dir, settings.segment_bytes, settings.retention)?;
    tracing::info!(
        dir = %dir.display(),
        pending = recovery.pending,
        watermark = recovery.watermark,
        next_seq = recovery.next_seq,
        bytes_cut = recovery.bytes_cut,
        set_aside = recovery.set_aside.len(),
        records_lost = recovery.records_lost,
        "spool opened"
    );
    let stats = store.stats();
    let spawn_err = |e: std::io::Error| SpoolError::Io {
        op: "start thread",
        path: dir.to_path_buf(),
        source: e,
    };
    let parts = drain::DrainParts {
        dir: dir.to_path_buf(),
        reader: store.reader(recovery.watermark),
        cleaner: store.cleaner(),
        stats,
        publisher: Box::new(publisher),
        topics,
        problems,
    };
    let drain = Drain::start(parts).map_err(spawn_err)?;
    let window = CommitWindow::new(settings.commit_window);
    let writer = SpoolWriter::start(store, settings.max_bytes, window, drain.waker()).map_err(spawn_err)?;
    Ok(SpoolMode { writer, drain })
}

/// The Tencent answer to an append the spool did not make durable: each a 503, so Tencent
/// retries ([`Refusal::status_and_code`]).
pub fn refusal(error: AppendError) -> Refusal {
    match error {
        AppendError::Full => Refusal::SpoolFull,
        AppendError::Stopped => Refusal::ShuttingDown,
        AppendError::Write(why) => Refusal::SpoolWrite(why),
    }
}
