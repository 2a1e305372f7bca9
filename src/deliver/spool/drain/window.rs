//! Filling the window: records handed over in memory while the drain keeps up, read from
//! disk otherwise, each offered to its topic's lane. A lane past its share defers its newer
//! records (they stay on disk); once it drains to half its share, a second reader (the
//! catch-up) goes back to the first of them and reads forward, passing over what other lanes
//! took already, only as fast as the lanes it serves take records, until it reaches the main
//! reader. The main reader never goes back: the other lanes' new records never wait on it.

use super::catchup::CatchUp;
use super::lanes::{Lane, LANE_BYTES, LANE_RECORDS};
use super::{Pending, State, FRESH_BYTES, FRESH_RECORDS, WINDOW_BYTES, WINDOW_RECORDS};
use crate::record::Record;
use crate::spool::reader::Reader;
use crate::spool::writer::Durable;

/// Records read from disk in one round at most: lanes that defer what they read could
/// otherwise keep the thread reading a whole outage's backlog before it handles a report.
const READ_PER_ROUND: usize = 4 * WINDOW_RECORDS;

impl State {
    /// Takes records as room allows; `true` when it stopped with more to read at once.
    pub(super) fn fill_window(&mut self) -> bool {
        self.start_catch_up_if_due();
        let mut read = self.catch_up();
        let mut fresh = std::mem::take(&mut self.fresh).into_iter();
        while !self.renewing && self.pending.len() < WINDOW_RECORDS && self.pending_bytes < WINDOW_BYTES {
            if read >= READ_PER_ROUND {
                return true;
            }
            let position = self.parts.reader.position();
            let batch = match fresh.find(|b| b.first_seq >= position) {
                Some(b) if b.first_seq == position && self.has_room_for(&b) => {
                    let next = b.first_seq + b.records.len() as u64;
                    self.parts.reader.skip_to(next, b.segment, b.end_offset);
                    (b.first_seq..next).zip(b.records).collect()
                }
                // Behind, or the window is past what is taken from memory: the disk has it all.
                _ => match self.read_from_disk() {
                    Some(batch) => batch,
                    None => break,
                },
            };
            if batch.is_empty() {
                break;
            }
            read += batch.len();
            for (seq, record) in batch {
                self.offer(seq, record);
            }
        }
        false
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

    /// A record the main reader reads for the first time: taken if its lane has room and
    /// nothing older of its lane waits on disk.
    fn offer(&mut self, seq: u64, record: Record) {
        self.frontier = self.frontier.max(seq + 1);
        let id = self.lanes.id(&record.topic);
        let lane = &mut self.lanes.all[id];
        if lane.deferred_from.is_some() {
            return; // after the older ones, which the catch-up reader brings
        }
        let bytes = record.value.len();
        if !lane.has_room(bytes) {
            defer(lane, seq);
            return;
        }
        self.take(seq, record, id, bytes);
    }

    fn take(&mut self, seq: u64, record: Record, lane: usize, bytes: usize) {
        self.pending_bytes += bytes;
        let l = &mut self.lanes.all[lane];
        l.records += 1;
        l.bytes += bytes;
        self.pending.insert(
            seq,
            Pending {
                record,
                bytes,
                lane,
                original: None,
                alone: false,
                sent_alone: false,
                shrunk: false,
            },
        );
        self.send(seq);
    }

    /// Starts a catch-up reader when a deferred lane drained enough and the one under way
    /// (if any) does not serve it: from the first deferred record of any lane, so that it
    /// serves them all.
    fn start_catch_up_if_due(&mut self) {
        let catchup = self.catchup.as_ref();
        let due = self
            .lanes
            .all
            .iter()
            .any(|l| l.can_resume() && !catchup.is_some_and(|c| c.serves(l)));
        let Some(from) = self.lanes.first_deferred().filter(|_| due) else {
            return;
        };
        self.scan += 1;
        tracing::debug!(from, "reading deferred records again");
        self.catchup = Some(CatchUp {
            reader: Reader::new(&self.parts.dir, from),
            from,
            scan: self.scan,
        });
    }

    /// Reads deferred records while a lane the catch-up serves has room, each batch no more
    /// than that lane takes (so that it is not passed over, which would need another scan).
    /// Returns how many records it read.
    fn catch_up(&mut self) -> usize {
        let mut read = 0;
        while let Some(c) = self.catchup.as_mut() {
            let room = self
                .lanes
                .all
                .iter()
                .filter(|l| c.serves(l) && l.records < LANE_RECORDS)
                .map(|l| (LANE_RECORDS - l.records, LANE_BYTES.saturating_sub(l.bytes)))
                .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1)));
            let window = WINDOW_RECORDS.saturating_sub(self.pending.len());
            let Some((records, bytes)) = room.filter(|_| window > 0 && read < READ_PER_ROUND) else {
                return read;
            };
            let batch = match c
                .reader
                .next_batch(self.frontier, records.min(window), bytes.max(1))
            {
                Ok(batch) => batch,
                Err(e) => {
                    // The main reader reports trouble with the disk; this one tries again.
                    tracing::debug!(error = %e, "cannot read deferred records yet");
                    return read;
                }
            };
            if batch.is_empty() {
                if c.reader.position() >= self.frontier {
                    self.end_catch_up();
                }
                return read;
            }
            read += batch.len();
            for (seq, record) in batch {
                self.offer_again(seq, record);
            }
        }
        read
    }

    /// A record the catch-up reader reads: taken if its lane deferred it and has room now.
    fn offer_again(&mut self, seq: u64, record: Record) {
        let Some(c) = self.catchup.as_ref() else {
            return;
        };
        let scan = c.scan;
        let id = self.lanes.id(&record.topic);
        let lane = &mut self.lanes.all[id];
        if !c.serves(lane) || lane.deferred_from.is_some_and(|d| seq < d) {
            return; // taken already, or another scan's
        }
        let bytes = record.value.len();
        if !lane.has_room(bytes) {
            lane.passed_in_scan = scan;
            return;
        }
        lane.deferred_from = Some(seq + 1).filter(|next| *next < self.frontier);
        if lane.deferred_from.is_none() {
            tracing::info!(topic = %lane.topic, "the spool drain caught up with this topic's deferred records");
        }
        self.take(seq, record, id, bytes);
    }

    /// The catch-up reader reached the newest record: every lane it served is caught up (its
    /// records may simply have stopped coming).
    fn end_catch_up(&mut self) {
        let Some(c) = self.catchup.take() else {
            return;
        };
        for lane in &mut self.lanes.all {
            if c.serves(lane) {
                lane.deferred_from = None;
                tracing::info!(topic = %lane.topic, "the spool drain caught up with this topic's deferred records");
            }
        }
    }
}

/// The lane's share is full: `seq` and every newer record of the lane stay on disk.
fn defer(lane: &mut Lane, seq: u64) {
    lane.passed_in_scan = 0; // no scan passed over these yet
    if lane.deferred_from.is_none() {
        lane.deferred_from = Some(seq);
        tracing::warn!(
            topic = %lane.topic,
            records = lane.records,
            "this topic's undelivered records fill its share of the spool drain's window: its newer records wait in the spool while other topics go on"
        );
    }
}
