//! spool: a durable write-ahead log between the HTTP answer and Kafka.
//!
//! A callback is appended here and fdatasynced before the bridge answers OK; a publisher
//! later reads from the delivery watermark forward and sends to Kafka. The format is built
//! so that a `kill -9` (or power cut) at any moment never loses a record whose append
//! returned `Ok`, and never invents one.
//!
//! # On-disk format
//!
//! One directory, owned by one process:
//!
//! - `LOCK` — empty; an exclusive `flock` is held on it while a [`Store`] (or a [`Cleaner`])
//!   lives, so two bridges can never append to one spool.
//! - `<base_seq:020>.log` — segment files. A segment holds records with *consecutive* seqs
//!   starting at `base_seq`, as a sequence of frames (see [`log`]):
//!   `[len u32 LE][crc32c u32 LE of payload][payload]`, payload =
//!   `[seq u64][topic_len u16][topic][key_len u32][key][header_count u16]`
//!   `{[name_len u16][name][value_len u32][value]}*[value_len u32][value]`.
//!   Only the newest segment is ever written; a new one starts when it reaches the
//!   configured size. The newest is preallocated, so it ends in zeros after its data; the
//!   others are cut to their data before their successor is created.
//! - `watermark` — the next seq not yet delivered: `[u64 LE][crc32c u32 LE of those 8 bytes]`,
//!   replaced atomically (`watermark.tmp`, fdatasync, rename, directory fsync). Missing or
//!   damaged reads as 0: duplicates, never loss.
//! - `*.log.damaged-<offset>` — damaged bytes cut out of a segment (at that byte offset), and
//!   `*.log.corrupt` — a segment that could not be read at all: kept for an operator, and
//!   counted in the spool's size until removed.
//! - `.tmp-<name>` — a copy being made by recovery (a split, a side file): synced and renamed
//!   to `<name>` only once whole, so a file under a final name is never a short copy; a start
//!   removes the ones an interrupted start left (their source is still intact).
//!
//! # Damage (at [`Store::open`], and when the drain meets it while running)
//!
//! Segments whose successor starts at or below the watermark are deleted. Every other
//! segment is read in full. Zeros after the last segment's data are unused preallocated
//! space, cut silently. Damaged bytes cost only themselves: the next intact frame is found
//! (`salvage`), the bad bytes are copied to a side file, and every intact record before and
//! after them is delivered. Damage with nothing intact after it in the last segment is a torn
//! tail (a write cut short by a crash) and is cut. Records lost to damage are counted
//! (`spool_records_lost_total`), and no seq is ever handed out twice.

mod active;
pub(crate) mod cleaner;
mod commit_window;
mod dir;
pub(crate) mod drain;
pub(crate) mod error;
pub(crate) mod fs;
pub(crate) mod inspect;
pub mod log;
mod problems;
pub(crate) mod reader;
mod recover;
mod repair;
mod salvage;
mod scanned;
pub(crate) mod stats;
pub(crate) mod store;
pub(crate) mod writer;

pub use cleaner::{Cleaner, Retention};
pub use drain::Drain;
pub use error::SpoolError;
pub use inspect::{SegmentView, SpoolView, Walk};
pub use log::{EncodeError, FrameError, MAX_RECORD_LEN};
pub use problems::DeliveryProblems;
pub use reader::Reader;
pub use recover::Piece;
pub use salvage::Damage;
pub use stats::{SpoolSnapshot, SpoolStats};
pub use store::{Recovery, Store};
pub use writer::SpoolWriter;

use std::path::Path;
use std::sync::Arc;

use crate::publish::Publisher;
use crate::route::Topics;

/// Both halves of spool mode, running.
pub struct SpoolMode {
    pub writer: SpoolWriter,
    pub drain: Drain,
}

/// Opens (and recovers) the spool, then starts the drain and the writer threads. Everything
/// past the watermark is delivered while new callbacks are accepted. `problems` hears of
/// delivery problems (the DLQ refusing records) and says which topics are missing.
/// How the spool is sized and paced (from the bridge's flags).
#[derive(Debug, Clone)]
pub struct SpoolSettings {
    pub max_bytes: u64,
    pub segment_bytes: u64,
    pub retention: Retention,
    /// The longest a busy group commit waits for company ([`commit_window`]).
    pub commit_window: std::time::Duration,
}

/// Opens (and recovers) the spool, then starts the drain and the writer threads. Everything
/// past the watermark is delivered while new callbacks are accepted.
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
    let window = commit_window::CommitWindow::new(settings.commit_window);
    let writer = SpoolWriter::start(store, settings.max_bytes, window, drain.waker()).map_err(spawn_err)?;
    Ok(SpoolMode { writer, drain })
}

#[cfg(test)]
mod testutil;
