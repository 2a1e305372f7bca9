//! Errors of the spool. I/O errors carry the operation and path, because "No space left on
//! device" alone does not tell an operator which disk to look at.

use std::io;
use std::path::{Path, PathBuf};

use super::log::{EncodeError, FrameError};

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Two bridges appending to one spool would interleave seqs and corrupt each other.
    #[error("spool directory {0} is locked: another bridge uses this spool directory")]
    Locked(PathBuf),
    #[error("spool: cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("spool: {0}")]
    TooLarge(#[from] EncodeError),
    /// A durable record no longer reads back: disk damage after startup.
    #[error("spool segment {path} is damaged at byte {offset}: {error}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        error: FrameError,
    },
    /// Persisting this watermark would skip records that are not even written yet.
    #[error("spool watermark {watermark} is ahead of the committed seq {committed}")]
    WatermarkAhead { watermark: u64, committed: u64 },
}

/// `map_err` helper: `file.sync_data().map_err(io_err("fdatasync", &path))`.
pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Why an append was not made durable. Each is something a retry can fix; the bridge answers
/// it as a refusal (`deliver::spool::refusal`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// At `--spool-max-bytes` ([`super::SpoolStats::full`]).
    #[error("spool full")]
    Full,
    /// The writer thread is gone.
    #[error("spool writer stopped")]
    Stopped,
    /// The write or its sync failed.
    #[error("spool write failed: {0}")]
    Write(String),
}
