//! outage: a Kafka outage tells its story in three kinds of log lines, whatever librdkafka
//! says meanwhile: one when it starts (what is unreachable, what happens to callbacks), at
//! most one summary per interval while it lasts (how long, how much is spooled, how old the
//! oldest record is), and one when it ends. An hour-long outage is then about 60 lines, not
//! tens of thousands that bury everything else (librdkafka's own lines go to debug, see
//! `publish/kafka_log.rs`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::now_ms;
use crate::config::DeliveryMode;
use crate::spool::SpoolSnapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Up,
    Down { since: Instant, summarized: Instant },
}

/// The outage state and the lines it logs. Fed by the health check.
#[derive(Debug)]
pub struct OutageLog {
    brokers: String,
    effect: &'static str,
    interval: Duration,
    state: Mutex<State>,
}

impl Default for OutageLog {
    fn default() -> Self {
        OutageLog::new("Kafka", DeliveryMode::Spool, Duration::from_secs(60))
    }
}

impl OutageLog {
    /// `interval`: the least time between two summary lines.
    pub fn new(brokers: &str, mode: DeliveryMode, interval: Duration) -> Self {
        let effect = match mode {
            DeliveryMode::Spool => "callbacks are spooled to disk and delivered once it is back",
            DeliveryMode::Kafka => {
                "callbacks are answered 503 until it is back (Tencent does not send them again)"
            }
            DeliveryMode::Memory => {
                "callbacks are queued in memory up to the producer's limit, then answered 503"
            }
        };
        OutageLog {
            brokers: brokers.to_owned(),
            effect,
            interval,
            state: Mutex::new(State::Up),
        }
    }

    /// A check could not reach the brokers (`why`). Logs the start of an outage, once; true
    /// when this call started it.
    pub fn down(&self, why: &str, now: Instant) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if *state != State::Up {
            return false;
        }
        *state = State::Down {
            since: now,
            summarized: now,
        };
        tracing::error!(brokers = %self.brokers, reason = why, "Kafka unreachable: {}", self.effect);
        true
    }

    /// A check reached the brokers. Logs the end of an outage and returns how long it lasted.
    pub fn up(&self, now: Instant) -> Option<Duration> {
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        let State::Down { since, .. } = *state else {
            return None;
        };
        *state = State::Up;
        let lasted = now.saturating_duration_since(since);
        tracing::info!(
            brokers = %self.brokers,
            lasted = %humantime::format_duration(round(lasted)),
            "Kafka reachable again"
        );
        Some(lasted)
    }

    /// While an outage lasts, a summary line once per interval; true when it logged one.
    /// `spool`: what the spool holds now (spool mode only).
    pub fn tick(&self, now: Instant, spool: Option<&SpoolSnapshot>) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let State::Down { since, summarized } = *state else {
            return false;
        };
        if now.saturating_duration_since(summarized) < self.interval {
            return false;
        }
        *state = State::Down {
            since,
            summarized: now,
        };
        let lasted = humantime::format_duration(round(now.saturating_duration_since(since)));
        match spool {
            Some(s) => tracing::warn!(
                brokers = %self.brokers,
                lasted = %lasted,
                spool_bytes = s.bytes,
                spool_records = s.records,
                oldest_record_age = %humantime::format_duration(round(s.oldest_age(now_ms()).unwrap_or_default())),
                "Kafka still unreachable: {}", self.effect
            ),
            None => {
                tracing::warn!(brokers = %self.brokers, lasted = %lasted, "Kafka still unreachable: {}", self.effect)
            }
        }
        true
    }

    #[cfg(test)]
    pub fn is_down(&self) -> bool {
        self.state.lock().is_ok_and(|s| *s != State::Up)
    }
}

/// Whole seconds: a log line needs no more.
fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_start_one_summary_per_interval_one_end() {
        let log = OutageLog::new("k:9092", DeliveryMode::Spool, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(!log.tick(t0, None), "no outage, no summary");
        assert_eq!(log.up(t0), None, "no outage to end");
        assert!(log.down("refused", t0));
        let summaries = (1..=300)
            .map(|s| t0 + Duration::from_secs(s))
            .filter(|&t| {
                assert!(!log.down("refused again", t), "one start per outage");
                log.tick(t, None)
            })
            .count();
        assert_eq!(summaries, 5, "five minutes, one summary a minute");
        assert_eq!(
            log.up(t0 + Duration::from_secs(301)),
            Some(Duration::from_secs(301))
        );
        assert!(!log.is_down());
        assert!(
            log.down("refused", t0 + Duration::from_secs(400)),
            "a new outage starts anew"
        );
    }
}
