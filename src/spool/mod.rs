//! spool: a durable write-ahead log between the HTTP answer and Kafka. Storage only: it
//! knows records (`crate::record`) and nothing above them; the drain that publishes from it
//! is `deliver::spool`.
//!
//! A callback is appended here and fdatasynced before the bridge answers OK; the drain
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
pub(crate) mod commit_window;
pub(crate) mod dir;
pub(crate) mod error;
pub(crate) mod fs;
pub(crate) mod inspect;
pub mod log;
pub(crate) mod reader;
mod recover;
mod repair;
mod salvage;
mod scanned;
pub(crate) mod stats;
pub(crate) mod store;
pub(crate) mod writer;

pub use cleaner::{Cleaner, Retention};
pub use commit_window::CommitWindow;
pub use error::{AppendError, SpoolError};
pub use inspect::{SegmentView, SpoolView, Walk};
pub use log::{EncodeError, FrameError, MAX_RECORD_LEN};
pub use reader::Reader;
pub use recover::Piece;
pub use salvage::Damage;
pub use stats::{SpoolSnapshot, SpoolStats};
pub use store::{Recovery, Store};
pub use writer::{Durable, SpoolWriter};

#[cfg(test)]
pub(crate) mod testutil;
