//! spool mode, publish side: one thread reads the spool from the delivery watermark forward, a
//! bounded window ahead, and sends through the producer. Records the writer just made durable
//! arrive in memory too ([`Durable`]); while the drain keeps up it sends those and never reads
//! the disk, which stays the source after a restart or when the drain falls behind. Delivery
//! reports come back here: a success shrinks the window and moves the watermark over the
//! contiguous delivered prefix;
//! a failure — a broker outage, `message.timeout.ms` running out — is re-sent, never dropped;
//! a permanent refusal (schema, size, authorization) goes to the DLQ instead.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod inbox;
mod persist;
mod retry;
mod round;

use self::inbox::{Inbox, Report};
use self::persist::Persisted;
use self::round::Round;
use super::cleaner::Cleaner;
use super::problems::DeliveryProblems;
use super::reader::Reader;
use super::stats::SpoolStats;
use super::writer::Durable;
use crate::event::received_at_ms;
use crate::publish::{is_permanent, needs_new_producer, Ack, Publisher, Reported, SendError};
use crate::record::Record;
use crate::route::Topics;

/// Records read from disk but not yet delivered: the bound on this thread's memory. librdkafka
/// holds a copy of each, so the window counts about twice in RSS; 10 000 records / 16 MiB let
/// the 5-minute outage run touch 65 MiB while catching up (session 6), half of that keeps it
/// well inside 64 MiB and still lets far more be in flight than one broker needs.
const WINDOW_RECORDS: usize = 5_000;
const WINDOW_BYTES: usize = 8 << 20;
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
    pub reader: Reader,
    pub cleaner: Cleaner,
    pub stats: Arc<SpoolStats>,
    pub publisher: Publisher,
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
    /// Already replaced by its DLQ record after a permanent refusal.
    to_dlq: bool,
}

struct State {
    parts: DrainParts,
    inbox: Arc<Inbox>,
    /// The inbox's reports being handled (kept to reuse its allocation).
    reports: Vec<Report>,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    outstanding: usize,
    /// Sending, waiting to send failed records again, or waiting for those to get through.
    round: Round,
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
        let persisted = parts.reader.position();
        let inbox = Inbox::new(move || {
            let _ = tx.send(Msg::Reports);
        });
        State {
            parts,
            inbox: Arc::new(inbox),
            reports: Vec::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            outstanding: 0,
            round: Round::Sending,
            fresh: Vec::new(),
            persisted: Persisted::new(persisted),
            stopping: None,
            oldest: None,
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let idle = Duration::from_millis(if self.round.is_waiting() { 20 } else { 100 });
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
            self.fill_window();
            self.advance_watermark(self.stopping.is_some());
            self.note_oldest();
            if let Some(deadline) = self.stopping {
                let caught_up =
                    self.pending.is_empty() && self.parts.reader.position() >= self.parts.stats.committed();
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
            self.outstanding = self.outstanding.saturating_sub(1);
            match result {
                Ok(()) => {
                    if let Some(done) = self.pending.remove(&seq) {
                        self.pending_bytes -= done.bytes;
                        if done.to_dlq {
                            self.parts.problems.set_delivery_problem(None);
                        }
                    }
                }
                Err(e) => self.failed(seq, &e),
            }
        }
        self.reports = reports;
    }

    fn fill_window(&mut self) {
        if matches!(self.round, Round::Resending) && self.outstanding == 0 {
            self.round = Round::Sending; // the re-sent round is through
        }
        let mut fresh = std::mem::take(&mut self.fresh).into_iter();
        while matches!(self.round, Round::Sending)
            && self.pending.len() < WINDOW_RECORDS
            && self.pending_bytes < WINDOW_BYTES
        {
            let batch = match fresh.find(|b| b.first_seq >= self.parts.reader.position()) {
                Some(b) if b.first_seq == self.parts.reader.position() && self.has_room_for(&b) => {
                    let next = b.first_seq + b.records.len() as u64;
                    self.parts.reader.skip_to(next, b.segment, b.end_offset);
                    (b.first_seq..next).zip(b.records).collect()
                }
                // Behind, or the window is past what is taken from memory: the disk has it all.
                _ => match self.read_from_disk() {
                    Some(batch) => batch,
                    None => return,
                },
            };
            if batch.is_empty() {
                return;
            }
            for (seq, record) in batch {
                self.take(seq, record);
            }
        }
    }

    fn has_room_for(&self, batch: &Durable) -> bool {
        let bytes: usize = batch.records.iter().map(|r| r.value.len()).sum();
        self.pending.len() + batch.records.len() <= FRESH_RECORDS && self.pending_bytes + bytes <= FRESH_BYTES
    }

    /// The next records past the reader's position, as many as the window has room for.
    fn read_from_disk(&mut self) -> Option<Vec<(u64, Record)>> {
        let room = WINDOW_RECORDS - self.pending.len();
        match self.parts.reader.next_batch(
            self.parts.stats.committed(),
            room,
            WINDOW_BYTES - self.pending_bytes,
        ) {
            Ok(batch) => {
                if self.parts.stats.set_read_problem(None) {
                    tracing::info!("the spool reads again");
                }
                Some(batch)
            }
            Err(e) => {
                // Nothing was skipped: the same records are read again on the next round.
                self.parts.stats.count_read_error();
                if self.parts.stats.set_read_problem(Some(e.to_string())) {
                    tracing::error!(error = %e, "cannot read the spool; retrying from the same record");
                }
                None
            }
        }
    }

    fn take(&mut self, seq: u64, record: Record) {
        let bytes = record.value.len();
        self.pending_bytes += bytes;
        self.pending.insert(
            seq,
            Pending {
                record,
                bytes,
                to_dlq: false,
            },
        );
        self.send(seq);
    }

    fn send(&mut self, seq: u64) {
        if let Round::Waiting(retry) = &mut self.round {
            // An older record is waiting to go again: this one goes after it, in the next round.
            retry.seqs.insert(seq);
            return;
        }
        let Some(entry) = self.pending.get(&seq) else {
            return;
        };
        let ack = Ack::Seq(Arc::clone(&self.inbox) as Arc<dyn Reported>, seq);
        match self.parts.publisher.send(&entry.record, ack) {
            Ok(()) => self.outstanding += 1,
            // The producer's own size check (message.max.bytes) refuses before the broker
            // sees it: as permanent as the broker's refusal, so the DLQ takes it, not a retry
            // that would block every record behind it forever. A fatal producer error goes the
            // same way, so that the producer is renewed.
            Err(SendError::Kafka(e)) if is_permanent(&e) || needs_new_producer(&e) => self.failed(seq, &e),
            Err(e) => {
                tracing::debug!(error = %e, "producer refused to enqueue; will retry");
                self.retry_later(seq);
            }
        }
    }

    /// The watermark is the oldest undelivered record, or the reader's position when
    /// everything read was delivered (gaps from quarantined segments are passed over).
    fn advance_watermark(&mut self, force: bool) {
        let watermark = self
            .pending
            .keys()
            .next()
            .copied()
            .unwrap_or_else(|| self.parts.reader.position());
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
