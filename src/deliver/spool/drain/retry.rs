//! Sending, and a delivery that failed: sent again in spool order after a pause, within its
//! own topic's lane (other topics go on), through a new producer when the old one is fenced.
//! Refused for good (schema, authorization, a topic the cluster no longer has), replaced by
//! its DLQ record, which goes at once in the DLQ's lane.
//!
//! A size refusal is judged alone: Kafka checks a whole *batch* against the topic's
//! `max.message.bytes` and refuses every record of it, and librdkafka does not split it. A
//! record refused with batch-mates goes again with nothing else of its topic in flight (a
//! batch of one), in its order; only a record refused alone goes to the DLQ.

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;

use super::round::Round;
use super::State;
use crate::clock::now_ms;
use crate::dlq::Dlq;
use crate::publish::{
    is_permanent, is_purged, is_size, is_unknown_topic, needs_new_producer, Ack, Reported, SendError,
};

/// The last resort for a DLQ copy the broker refuses for its size.
const SMALLEST_DLQ_COPY: usize = 4096;
/// Pause before re-sending failed records, so a broker that refuses everything is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

impl State {
    /// Sends `seq` now, or after the older records of its lane that wait to go again.
    pub(super) fn send(&mut self, seq: u64) {
        let Some(entry) = self.pending.get(&seq) else {
            return;
        };
        let lane = &mut self.lanes.all[entry.lane];
        if self.renewing || !matches!(lane.round, Round::Sending) {
            // An older record of its topic waits to go again, or its re-sent round is still
            // out: this one goes after them.
            let mut retry = lane.round.take_retry();
            retry.seqs.insert(seq);
            lane.round = Round::Waiting(retry);
            return;
        }
        self.dispatch(seq, false);
    }

    /// Hands `seq` to the producer.
    fn dispatch(&mut self, seq: u64, alone: bool) {
        let Some(entry) = self.pending.get_mut(&seq) else {
            return;
        };
        entry.sent_alone = alone;
        let ack = Ack::Seq(
            std::sync::Arc::clone(&self.inbox) as std::sync::Arc<dyn Reported>,
            seq,
        );
        match self.parts.publisher.send(&entry.record, ack) {
            Ok(()) => self.lanes.all[entry.lane].outstanding += 1,
            // The producer's own checks, record by record: its size check (message.max.bytes)
            // judges this record alone, and is as permanent as the broker's refusal. A fatal
            // producer error goes the same way, so that the producer is renewed.
            Err(SendError::Kafka(e)) if is_permanent(&e) || needs_new_producer(&e) => {
                entry.sent_alone = true;
                self.failed(seq, &e, false);
            }
            Err(e) => {
                tracing::debug!(error = %e, "producer refused to enqueue; will retry");
                self.requeue(seq, RETRY_PAUSE);
            }
        }
    }

    /// `reported`: the failure came in a delivery report (newer records of its topic may be
    /// in flight behind it), not from the enqueue.
    pub(super) fn failed(&mut self, seq: u64, error: &KafkaError, reported: bool) {
        let Some(entry) = self.pending.get_mut(&seq) else {
            return;
        };
        let refused_alone = !is_size(error) || entry.sent_alone;
        // "Unknown topic" is final only once the health check also finds the topic missing:
        // until then it may be a metadata gap, and the record is retried, not moved.
        let permanent = refused_alone
            && is_permanent(error)
            && (!is_unknown_topic(error) || self.parts.problems.topic_missing(&entry.record.topic));
        if !refused_alone {
            entry.alone = true;
        }
        if permanent && self.refused_for_good(seq, error) {
            return;
        }
        let mut pause = RETRY_PAUSE;
        if is_purged(error) || !refused_alone {
            pause = Duration::ZERO; // nothing wrong with the record itself
        }
        if needs_new_producer(error) && !self.renewing {
            // Nothing more goes out until a new producer replaces this one: fail what it
            // holds now, so that its reports come back and the renewal can go ahead.
            self.renewing = true;
            self.parts.publisher.purge();
        } else if reported && !permanent && !is_purged(error) {
            self.purge_if_overtaken(seq);
        }
        self.requeue(seq, pause);
    }

    /// Newer records of `seq`'s topic in flight could reach the topic before it goes again:
    /// fail them all now (once per round); they go again in order.
    fn purge_if_overtaken(&mut self, seq: u64) {
        let Some(entry) = self.pending.get(&seq) else {
            return;
        };
        let lane = &mut self.lanes.all[entry.lane];
        let mut retry = lane.round.take_retry();
        let purge = lane.outstanding > 0 && !retry.purged;
        retry.purged |= purge;
        lane.round = Round::Waiting(retry);
        if purge {
            self.parts.publisher.purge();
        }
    }

    /// `seq` goes again with its lane's next round, not before `pause` is over.
    pub(super) fn requeue(&mut self, seq: u64, pause: Duration) {
        let Some(entry) = self.pending.get(&seq) else {
            return;
        };
        let lane = &mut self.lanes.all[entry.lane];
        let mut retry = lane.round.take_retry();
        retry.seqs.insert(seq);
        retry.until = retry.until.max(Instant::now() + pause);
        lane.round = Round::Waiting(retry);
    }

    /// A refusal no retry fixes: the record's DLQ copy replaces it, or a smaller copy cut
    /// from the record (never from the copy) replaces a copy refused alone for its size.
    /// `false` when the DLQ refuses the copy too: it stays, retried, and readiness says so.
    fn refused_for_good(&mut self, seq: u64, error: &KafkaError) -> bool {
        let Some(entry) = self.pending.get_mut(&seq) else {
            return true;
        };
        let why = error.to_string();
        match &entry.original {
            None => {
                tracing::error!(topic = %entry.record.topic, error = %error, "broker refused a record for good; moving it to the DLQ");
                let max = self.parts.publisher.max_record_bytes();
                let copy =
                    Dlq::new(self.parts.topics.clone(), max).refused_by_broker(&entry.record, &why, now_ms());
                entry.original = Some(std::mem::replace(&mut entry.record, copy));
            }
            Some(original) if is_size(error) && !entry.shrunk => {
                // The DLQ takes less than the producer allows: a copy that keeps only the
                // reason and a sliver of the body must get through, or it blocks the spool.
                tracing::error!(error = %error, "the DLQ refused a record for its size; keeping a smaller copy");
                entry.record = Dlq::new(self.parts.topics.clone(), SMALLEST_DLQ_COPY).refused_by_broker(
                    original,
                    &why,
                    now_ms(),
                );
                entry.shrunk = true;
            }
            Some(_) => {
                let why = format!("the DLQ refuses records ({error}); they stay in the spool");
                self.parts.problems.set_delivery_problem(Some(why));
                return false;
            }
        }
        entry.alone = false;
        self.move_to_own_lane(seq);
        self.send(seq);
        true
    }

    /// A DLQ copy counts in the DLQ's lane from now on: it goes in that topic's order.
    fn move_to_own_lane(&mut self, seq: u64) {
        let Some(entry) = self.pending.get_mut(&seq) else {
            return;
        };
        let to = self.lanes.id(&entry.record.topic);
        let from = std::mem::replace(&mut entry.lane, to);
        if from != to {
            self.lanes.all[from].records -= 1;
            self.lanes.all[from].bytes -= entry.bytes;
            self.lanes.all[to].records += 1;
            self.lanes.all[to].bytes += entry.bytes;
        }
    }

    /// Re-sends each lane's failed records in spool order once every report of the lane is
    /// back and its pause is over, so one room's records go out again in the order they
    /// were accepted. A record to be judged alone goes by itself.
    pub(super) fn resend_if_due(&mut self) {
        if self.renewing && !self.renew_producer() {
            return;
        }
        let now = Instant::now();
        for id in 0..self.lanes.all.len() {
            let lane = &mut self.lanes.all[id];
            let Round::Waiting(retry) = &mut lane.round else {
                continue;
            };
            if lane.outstanding > 0 || now < retry.until {
                continue;
            }
            let mut seqs = std::mem::take(&mut retry.seqs);
            lane.round = Round::Resending;
            let alone_first = seqs
                .first()
                .is_some_and(|s| self.pending.get(s).is_some_and(|p| p.alone));
            if !alone_first {
                tracing::info!(topic = %lane.topic, records = seqs.len(), "re-sending records whose delivery failed");
            }
            let mut first = true;
            while let Some(seq) = seqs.pop_first() {
                let alone = self.pending.get(&seq).is_some_and(|p| p.alone);
                if alone && !first {
                    seqs.insert(seq);
                    break;
                }
                self.dispatch(seq, alone);
                first = false;
                // Sent alone, or it failed again at once: the rest waits behind it.
                if alone || self.lanes.all[id].round.is_waiting() {
                    break;
                }
            }
            let lane = &mut self.lanes.all[id];
            if !seqs.is_empty() {
                let mut retry = lane.round.take_retry();
                retry.seqs.extend(seqs);
                lane.round = Round::Waiting(retry);
            } else if lane.outstanding == 0 && matches!(lane.round, Round::Resending) {
                lane.round = Round::Sending; // nothing of it is out
            }
        }
    }

    /// Swaps in a new producer once every report of the old one is back, so nothing of ours
    /// is left in it. Without this a fenced producer fails every re-send for ever (seen with
    /// tansu after an outage cut off an epoch bump). `true` once renewed.
    fn renew_producer(&mut self) -> bool {
        if self.lanes.outstanding() > 0 || Instant::now() < self.renew_after {
            return false;
        }
        match self.parts.publisher.renew() {
            Ok(()) => {
                tracing::warn!("the broker fences this Kafka producer; re-sending through a new one");
                self.renewing = false;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot create a new Kafka producer; retrying");
                self.renew_after = Instant::now() + RETRY_PAUSE;
                false
            }
        }
    }
}
