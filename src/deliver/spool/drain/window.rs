//! Filling the window: records handed over in memory while the drain keeps up, read from
//! disk otherwise, each offered to its topic's lane. A lane past its share defers its newer
//! records (they stay on disk); once it drains, the reader goes back to the first of them and
//! reads forward again, passing over what other lanes took already.

use super::lanes::Lane;
use super::{Pending, State, FRESH_BYTES, FRESH_RECORDS, WINDOW_BYTES, WINDOW_RECORDS};
use crate::deliver::spool::writer::Durable;
use crate::record::Record;

/// Records read from disk in one round at most: lanes that defer what they read could
/// otherwise keep the thread reading a whole outage's backlog before it handles a report.
const READ_PER_ROUND: usize = 4 * WINDOW_RECORDS;

impl State {
    /// Takes records as room allows; `true` when it stopped with more to read at once.
    pub(super) fn fill_window(&mut self) -> bool {
        self.resume_deferred();
        let mut fresh = std::mem::take(&mut self.fresh).into_iter();
        let mut read = 0;
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
        self.end_scan_if_through();
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

    /// Takes the record into the window if its lane has room and nothing older of its lane
    /// waits on disk; passes over it if its lane took it already.
    fn offer(&mut self, seq: u64, record: Record) {
        let id = self.lanes.id(&record.topic);
        let frontier = self.frontier;
        self.frontier = frontier.max(seq + 1);
        let (scan, scan_from) = (self.scan, self.scan_from);
        let lane = &mut self.lanes.all[id];
        match lane.deferred_from {
            None if seq < frontier => return, // taken before this scan
            Some(from) if seq < from => return,
            // This scan did not see every deferred record of the lane: one may be older.
            Some(from) if from < scan_from || lane.passed_in_scan == scan => return,
            _ => {}
        }
        let bytes = record.value.len();
        if !lane.has_room(bytes) {
            defer(lane, seq, scan);
            return;
        }
        if lane.deferred_from.is_some() {
            lane.deferred_from = Some(seq + 1).filter(|next| *next < self.frontier);
            if lane.deferred_from.is_none() {
                tracing::info!(topic = %lane.topic, "the spool drain caught up with this topic's deferred records");
            }
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

    /// Goes back to the first deferred record of a lane that drained enough, unless this
    /// scan will reach it anyway.
    fn resume_deferred(&mut self) {
        let (scan, scan_from) = (self.scan, self.scan_from);
        let from = self
            .lanes
            .all
            .iter()
            .filter(|l| l.can_resume())
            .filter_map(|l| l.deferred_from.filter(|&d| d < scan_from || l.passed_in_scan == scan))
            .min();
        if let Some(from) = from {
            tracing::debug!(from, "reading deferred records again");
            self.parts.reader.rewind(from);
            self.scan += 1;
            self.scan_from = from;
        }
    }

    /// Once a scan reaches the newest record, a lane it took every deferred record of is
    /// caught up (its records may simply have stopped coming).
    fn end_scan_if_through(&mut self) {
        if self.parts.reader.position() < self.frontier {
            return;
        }
        for lane in &mut self.lanes.all {
            if lane
                .deferred_from
                .is_some_and(|d| d >= self.scan_from && lane.passed_in_scan != self.scan)
            {
                lane.deferred_from = None;
                tracing::info!(topic = %lane.topic, "the spool drain caught up with this topic's deferred records");
            }
        }
    }
}

/// The lane's share is full: `seq` and every newer record of the lane stay on disk.
fn defer(lane: &mut Lane, seq: u64, scan: u64) {
    lane.passed_in_scan = scan;
    if lane.deferred_from.is_none() {
        lane.deferred_from = Some(seq);
        tracing::warn!(
            topic = %lane.topic,
            records = lane.records,
            "this topic's undelivered records fill its share of the spool drain's window: its newer records wait in the spool while other topics go on"
        );
    }
}
