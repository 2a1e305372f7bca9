//! A delivery that failed: sent again in spool order after a pause, through a new producer
//! when the old one is fenced; refused for good (schema, size, authorization), replaced by
//! its DLQ record, which is sent the same way.

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;

use super::round::Round;
use super::State;
use crate::clock::now_ms;
use crate::publish::{is_permanent, is_size, is_unknown_topic, needs_new_producer, Publisher};
use crate::route::broker_refused_record_within;

/// The last resort for a DLQ copy the broker refuses for its size.
const SMALLEST_DLQ_COPY: usize = 4096;
/// Pause before re-sending failed records, so a broker that refuses everything is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

impl State {
    /// `seq` goes again with the next round, after the pause (the producer's queue was full).
    pub(super) fn retry_later(&mut self, seq: u64) {
        let mut retry = self.round.take_retry();
        retry.seqs.insert(seq);
        retry.until = Instant::now() + RETRY_PAUSE;
        self.round = Round::Waiting(retry);
    }

    pub(super) fn failed(&mut self, seq: u64, error: &KafkaError) {
        let Some(entry) = self.pending.get_mut(&seq) else {
            return;
        };
        // "Unknown topic" is final only once the health check also finds the topic missing:
        // until then it may be a metadata gap, and the record is retried, not moved.
        let permanent = is_permanent(error)
            && (!is_unknown_topic(error) || self.parts.problems.topic_missing(&entry.record.topic));
        if permanent {
            let max = self.parts.publisher.max_record_bytes();
            if entry.to_dlq && is_size(error) && entry.record.encoded_len() > SMALLEST_DLQ_COPY {
                // The broker takes less than the producer allows: a copy that keeps only the
                // reason and a sliver of the body must get through, or it blocks the spool.
                tracing::error!(error = %error, "the DLQ refused a record for its size; keeping a smaller copy");
                let error = error.to_string();
                entry.record = broker_refused_record_within(
                    &self.parts.topics,
                    &entry.record,
                    &error,
                    now_ms(),
                    SMALLEST_DLQ_COPY,
                );
            } else if entry.to_dlq {
                let why = format!("the DLQ refuses records ({error}); they stay in the spool");
                self.parts.problems.set_delivery_problem(Some(why));
            } else {
                tracing::error!(topic = %entry.record.topic, error = %error, "broker refused a record for good; moving it to the DLQ");
                let error = error.to_string();
                entry.record =
                    broker_refused_record_within(&self.parts.topics, &entry.record, &error, now_ms(), max);
                entry.to_dlq = true;
            }
        }
        let mut retry = self.round.take_retry();
        retry.renew_producer |= needs_new_producer(error);
        if !permanent && !retry.purged {
            // A record timed out: the ones queued behind it could still get through (a broker
            // back just in time) and overtake it. Fail them all now; they go again in order.
            retry.purged = true;
            self.parts.publisher.purge();
        }
        retry.seqs.insert(seq);
        retry.until = Instant::now() + RETRY_PAUSE;
        self.round = Round::Waiting(retry);
    }

    /// Re-sends failed records in spool order once every report of the round is back, so one
    /// room's records go out again in the order they were accepted.
    pub(super) fn resend_if_due(&mut self) {
        let Round::Waiting(retry) = &mut self.round else {
            return;
        };
        if self.outstanding > 0 || Instant::now() < retry.until {
            return;
        }
        if retry.renew_producer {
            if !renew_producer(&self.parts.publisher) {
                retry.until = Instant::now() + RETRY_PAUSE;
                return;
            }
            retry.renew_producer = false;
        }
        let seqs = std::mem::take(&mut retry.seqs);
        tracing::info!(records = seqs.len(), "re-sending records whose delivery failed");
        self.round = Round::Resending;
        for seq in seqs {
            self.send(seq);
        }
    }
}

/// Swaps in a new producer. Called only with no report outstanding, so nothing of ours is
/// left in the old one. Without this a fenced producer fails every re-send for ever (seen
/// with tansu after an outage cut off an epoch bump).
fn renew_producer(publisher: &Publisher) -> bool {
    match publisher.renew() {
        Ok(old) => {
            drop(old); // this thread may block; nothing of ours is left in it
            tracing::warn!("the broker fences this Kafka producer; re-sending through a new one");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot create a new Kafka producer; retrying");
            false
        }
    }
}
