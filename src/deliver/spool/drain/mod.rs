//! spool mode, publish side: one thread reads the spool from the delivery watermark forward, a
//! bounded window ahead, and sends through the producer. Records the writer just made durable
//! arrive in memory too ([`Durable`]); while the drain keeps up it sends those and never reads
//! the disk, which stays the source after a restart or when the drain falls behind. Delivery
//! reports come back here: a success shrinks the window and moves the watermark over the
//! contiguous delivered prefix;
//! a failure — a broker outage, `message.timeout.ms` running out — is re-sent, never dropped;
//! a permanent refusal (schema, size, authorization) goes to the DLQ instead.
//!
//! Each topic is a lane ([`lanes`]): its failures hold back only its own newer records, and it
//! may fill only a quarter of the window, so one topic's trouble (deleted, a partition without
//! a leader, every batch refused) leaves the others flowing. Memory stays bounded by the window
//! whatever the outage: a lane past its share leaves its newer records on disk and reads them
//! again later ([`window`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod catchup;
mod inbox;
mod lanes;
mod persist;
mod retry;
mod round;
mod sink;
#[cfg(test)]
mod tests;
mod window;

use self::catchup::CatchUp;
use self::inbox::{Inbox, Report};
use self::lanes::Lanes;
use self::persist::Persisted;
use self::round::Round;
pub use self::sink::Sink;
use super::problems::DeliveryProblems;
use crate::event::received_at_ms;
use crate::record::Record;
use crate::route::Topics;
use crate::spool::cleaner::Cleaner;
use crate::spool::reader::Reader;
use crate::spool::stats::SpoolStats;
use crate::spool::writer::Durable;

/// Records read from disk but not yet delivered: the bound on this thread's memory, whatever
/// the lanes do (records they defer cost nothing until read again). librdkafka
/// holds a copy of each, so the window counts about twice in RSS; 10 000 records / 16 MiB let
/// the 5-minute outage run touch 65 MiB while catching up (session 6), half of that keeps it
/// well inside 64 MiB and still lets far more be in flight than one broker needs.
const WINDOW_RECORDS: usize = 5_000;
const WINDOW_BYTES: usize = 8 << 20;
const _: () = assert!(4 * lanes::LANE_RECORDS == WINDOW_RECORDS && 4 * lanes::LANE_BYTES == WINDOW_BYTES);
/// Records handed over in memory are taken only while the window holds fewer than these: a
/// drain that keeps up holds just the records in flight. Beyond, the rest of the window is
/// read from disk, so that an outage does not leave a full window of the request threads'
/// allocations behind (freed, but held by their allocator arena) next to the drain's own
/// (seen as +10 MiB RSS while catching up).
const FRESH_RECORDS: usize = 2_000;
const FRESH_BYTES: usize = 2 << 20;

enum Msg {
    Committed(Durable),
    /// Delivery reports are waiting in the [`Inbox`].
    Reports,
    Stop(Instant),
}

/// Owns the drain thread.
pub struct Drain {
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
}

pub struct DrainParts {
    /// The spool directory, for reading deferred records again.
    pub dir: PathBuf,
    pub reader: Reader,
    pub cleaner: Cleaner,
    pub stats: Arc<SpoolStats>,
    pub publisher: Box<dyn Sink>,
    pub topics: Topics,
    pub problems: Arc<dyn DeliveryProblems>,
}

impl Drain {
    pub fn start(parts: DrainParts) -> std::io::Result<Drain> {
        let (tx, rx) = mpsc::channel();
        let state = State::new(parts, tx.clone());
        let thread = std::thread::Builder::new()
            .name("spool-drain".into())
            .spawn(move || state.run(rx))?;
        Ok(Drain { tx, thread })
    }

    /// Hands the thread each batch the writer made durable (and wakes it).
    pub fn waker(&self) -> impl Fn(Durable) + Send + 'static {
        let tx = self.tx.clone();
        move |batch| {
            let _ = tx.send(Msg::Committed(batch));
        }
    }

    /// Publishes what it can until `deadline`, persists the watermark and stops. Blocking.
    pub fn stop(self, deadline: Instant) {
        let _ = self.tx.send(Msg::Stop(deadline));
        let _ = self.thread.join();
    }
}

struct Pending {
    record: Record,
    /// Counted against the window when read.
    bytes: usize,
    /// Its lane: its topic as read (a DLQ copy moves to the DLQ's lane).
    lane: usize,
    /// The record as read, once `record` is its DLQ copy: a smaller copy is cut from this,
    /// never from the copy.
    original: Option<Record>,
    /// Refused for its size with batch-mates: goes again with nothing else of its topic in
    /// flight, so that only a record too large alone goes to the DLQ.
    alone: bool,
    /// Its last send had nothing else of its topic in flight.
    sent_alone: bool,
    /// Its DLQ copy was cut to the smallest copy already.
    shrunk: bool,
}

struct State {
    parts: DrainParts,
    inbox: Arc<Inbox>,
    /// The inbox's reports being handled (kept to reuse its allocation).
    reports: Vec<Report>,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    /// Per topic: its share of the window, its failed records' rounds, what it deferred.
    lanes: Lanes,
    /// The producer is fenced: nothing is sent until a new one replaces it, which waits for
    /// every report of the old one (`renew_after`: not before, after a failed attempt).
    renewing: bool,
    renew_after: Instant,
    /// Every record below this was offered to its lane once.
    frontier: u64,
    /// Reads deferred records again ([`window`]); `scan` numbers its runs from 1.
    catchup: Option<CatchUp>,
    scan: u64,
    /// Durable batches received since the last `fill_window`, oldest first. Kept for one
    /// round only, so a drain that cannot take them (window full, outage) holds no more
    /// memory than one round's worth: what it drops it reads from disk later.
    fresh: Vec<Durable>,
    /// How far the watermark is persisted.
    persisted: Persisted,
    stopping: Option<Instant>,
    /// The oldest pending record's seq and `received_at_ms`, for the spool age metric: read
    /// from its value only when the oldest changes, not for every record.
    oldest: Option<(u64, i64)>,
}

impl State {
    fn new(parts: DrainParts, tx: Sender<Msg>) -> Self {
        let position = parts.reader.position();
        let inbox = Inbox::new(move || {
            let _ = tx.send(Msg::Reports);
        });
        State {
            parts,
            inbox: Arc::new(inbox),
            reports: Vec::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            lanes: Lanes::default(),
            renewing: false,
            renew_after: Instant::now(),
            frontier: position,
            catchup: None,
            scan: 0,
            fresh: Vec::new(),
            persisted: Persisted::new(position),
            stopping: None,
            oldest: None,
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        let mut more_to_read = false;
        loop {
            let idle = Duration::from_millis(if more_to_read {
                0
            } else if self.renewing || self.lanes.any_waiting() {
                20
            } else {
                100
            });
            match rx.recv_timeout(idle) {
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            self.handle_reports();
            self.resend_if_due();
            more_to_read = self.fill_window();
            self.advance_watermark(self.stopping.is_some());
            self.note_oldest();
            if let Some(deadline) = self.stopping {
                let caught_up = self.pending.is_empty()
                    && self.lanes.first_deferred().is_none()
                    && self.parts.reader.position() >= self.parts.stats.committed();
                if caught_up || Instant::now() >= deadline {
                    self.advance_watermark(true);
                    self.log_stop(caught_up);
                    break;
                }
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Committed(batch) => self.fresh.push(batch),
            Msg::Stop(deadline) => self.stopping = Some(deadline),
            // Only a wake-up: every round of the loop takes the inbox's reports.
            Msg::Reports => {}
        }
    }

    fn handle_reports(&mut self) {
        let mut reports = std::mem::take(&mut self.reports);
        self.inbox.take(&mut reports);
        for (seq, result) in reports.drain(..) {
            let Some(id) = self.pending.get(&seq).map(|p| p.lane) else {
                continue;
            };
            let lane = &mut self.lanes.all[id];
            lane.outstanding = lane.outstanding.saturating_sub(1);
            match result {
                Ok(()) => self.delivered(seq),
                Err(e) => self.failed(seq, &e, true),
            }
            let lane = &mut self.lanes.all[id];
            if lane.outstanding == 0 && matches!(lane.round, Round::Resending) {
                lane.round = Round::Sending; // its re-sent round is through
            }
        }
        self.reports = reports;
    }

    fn delivered(&mut self, seq: u64) {
        let Some(done) = self.pending.remove(&seq) else {
            return;
        };
        self.pending_bytes -= done.bytes;
        let lane = &mut self.lanes.all[done.lane];
        lane.records = lane.records.saturating_sub(1);
        lane.bytes = lane.bytes.saturating_sub(done.bytes);
        if done.original.is_some() {
            self.parts.problems.set_delivery_problem(None);
        }
    }

    /// The watermark is the oldest undelivered or deferred record, or the reader's position
    /// when everything read was delivered (gaps from quarantined segments are passed over).
    fn advance_watermark(&mut self, force: bool) {
        // A deferred record is on disk only: the watermark must not pass it either.
        let watermark = [self.pending.keys().next().copied(), self.lanes.first_deferred()]
            .into_iter()
            .flatten()
            .fold(self.parts.reader.position(), u64::min);
        let parts = &mut self.parts;
        self.persisted
            .advance(watermark, &mut parts.cleaner, &mut parts.reader, force);
    }

    /// For the spool age metric: when the oldest record still held was received.
    fn note_oldest(&mut self) {
        let ms = match self.pending.iter().next() {
            None => 0,
            Some((&seq, p)) => match self.oldest {
                Some((known, ms)) if known == seq => ms,
                _ => {
                    let ms = received_at_ms(&p.record.value);
                    self.oldest = Some((seq, ms));
                    ms
                }
            },
        };
        self.parts.stats.set_oldest_undelivered_ms(ms);
    }

    fn log_stop(&self, caught_up: bool) {
        if caught_up {
            tracing::info!("spool drained: everything accepted was delivered");
        } else {
            let left = self.parts.stats.committed().saturating_sub(self.persisted.upto);
            tracing::warn!(
                records = left,
                "shutdown deadline: undelivered records stay in the spool for the next start"
            );
        }
    }
}
