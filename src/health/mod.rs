//! Readiness: can the bridge take callbacks? Not while draining. A topic it publishes to that is
//! missing (tansu and many clusters do not auto-create: a configuration error to fix) leaves it
//! ready but degraded, naming the topic: refusing traffic would lose every family's callbacks
//! (Tencent never resends), while the missing topic's events are kept on the DLQ. Only a
//! missing DLQ topic, where nothing refused or diverted could be kept, makes it unready.
//! An unreachable broker makes kafka and memory mode unready; spool mode stays ready while the
//! spool has room — riding out the outage is its job, and an unready sidecar would take the
//! whole pod out of its Services. Checked in the background, never on the request path.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::publish::Publisher;
use crate::route::Topics;
use crate::spool::SpoolStats;

pub mod outage;

pub use outage::OutageLog;

/// What the background check found wrong with Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KafkaProblem {
    Unreachable(String),
    /// `dlq`: the DLQ topic is among them, so nothing diverted could be kept.
    MissingTopics {
        topics: Vec<String>,
        dlq: bool,
    },
}

impl std::fmt::Display for KafkaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KafkaProblem::Unreachable(why) => f.write_str(why),
            KafkaProblem::MissingTopics { topics, dlq: true } => {
                write!(
                    f,
                    "missing topics: {} (the DLQ too: nothing could be kept)",
                    topics.join(", ")
                )
            }
            KafkaProblem::MissingTopics { topics, dlq: false } => write!(
                f,
                "missing topics: {}; their events are kept on the DLQ",
                topics.join(", ")
            ),
        }
    }
}

#[derive(Default)]
pub struct Health {
    /// Broker and topics: `None` = fine; otherwise why not.
    problem: Mutex<Option<KafkaProblem>>,
    /// Whether the last check found any topic missing: the request path asks
    /// [`Health::topic_missing`] per callback, and this spares it the lock when none is.
    any_missing: AtomicBool,
    /// Publishing (e.g. the DLQ refusing records): `None` = fine.
    delivery: Mutex<Option<String>>,
    draining: AtomicBool,
    /// kafka and memory mode: the producer can never deliver again (fenced, fatal). Only a
    /// restart helps, so liveness fails. Spool mode's drain replaces its producer itself.
    fatal: Mutex<Option<String>>,
    /// Spool mode: the spool's counters and its size limit, read as one snapshot.
    spool: OnceLock<Arc<SpoolStats>>,
    /// Tells a broker outage in a few lines (the checks below feed it).
    outage: OnceLock<OutageLog>,
}

impl Health {
    pub fn new() -> Arc<Self> {
        Arc::new(Health {
            problem: Mutex::new(Some(KafkaProblem::Unreachable(
                "not yet connected to Kafka".into(),
            ))),
            ..Health::default()
        })
    }

    /// How outages are logged (brokers, delivery mode, summary interval); a default otherwise.
    pub fn log_outages(&self, log: OutageLog) {
        let _ = self.outage.set(log);
    }

    fn outage(&self) -> &OutageLog {
        self.outage.get_or_init(OutageLog::default)
    }

    /// While Kafka is away: the outage's summary line, when one is due.
    fn summarize_outage(&self) {
        let spool = self.spool.get().map(|stats| stats.snapshot());
        self.outage().tick(std::time::Instant::now(), spool.as_ref());
    }

    /// Spool mode: readiness also says no while the spool is full.
    pub fn watch_spool(&self, stats: Arc<SpoolStats>) {
        let _ = self.spool.set(stats);
    }

    /// `Some(why)`: publishing is stuck (the spool's drain: the DLQ refuses records).
    pub fn set_delivery_problem(&self, problem: Option<String>) {
        let Ok(mut slot) = self.delivery.lock() else {
            return;
        };
        if *slot != problem {
            match &problem {
                None => tracing::info!("delivery healthy again"),
                Some(p) => tracing::error!(problem = %p, "delivery problem"),
            }
            *slot = problem;
        }
    }

    /// Whether the last check of the cluster found `topic` missing. librdkafka's own "unknown
    /// topic" can come from a metadata gap (a broker restart); only both together send
    /// acknowledged records to the DLQ.
    pub fn topic_missing(&self, topic: &str) -> bool {
        if !self.any_missing.load(Ordering::Relaxed) {
            return false;
        }
        match self.problem.lock() {
            Ok(p) => {
                matches!(&*p, Some(KafkaProblem::MissingTopics { topics, .. }) if topics.iter().any(|t| t == topic))
            }
            Err(_) => false,
        }
    }

    /// The topics the last check found missing.
    pub fn missing_topics(&self) -> Vec<String> {
        match self.problem.lock().as_deref() {
            Ok(Some(KafkaProblem::MissingTopics { topics, .. })) => topics.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether the last check reached the brokers.
    pub fn kafka_reachable(&self) -> bool {
        self.problem
            .lock()
            .is_ok_and(|p| !matches!(&*p, Some(KafkaProblem::Unreachable(_))))
    }

    /// `Ok(None)`: ready. `Ok(Some(note))`: ready but degraded (spool mode, Kafka away).
    /// `Err(why)`: not ready.
    pub fn readiness(&self) -> Result<Option<String>, String> {
        if self.draining.load(Ordering::Relaxed) {
            return Err("draining".into());
        }
        let spool = self.spool.get().map(|stats| stats.snapshot());
        if let Some(spool) = &spool {
            if spool.full() {
                return Err(format!(
                    "spool full ({} of {} bytes); waiting for Kafka to drain it",
                    spool.bytes, spool.max_bytes
                ));
            }
            if let Some(why) = &spool.write_problem {
                return Err(format!("spool cannot write: {why}"));
            }
        }
        self.liveness()?;
        let poisoned = || "health state poisoned".to_owned();
        let kafka = self.problem.lock().map_err(|_| poisoned())?.clone();
        let delivery = self.delivery.lock().map_err(|_| poisoned())?.clone();
        let note = match kafka {
            Some(KafkaProblem::Unreachable(why)) if self.spool.get().is_some() => {
                let note = format!("{why}; callbacks are spooled until it is back");
                Some(delivery.map_or(note.clone(), |d| format!("{note}; {d}")))
            }
            Some(missing @ KafkaProblem::MissingTopics { dlq: false, .. }) => {
                let note = missing.to_string();
                // A DLQ that refuses records (the drain says so) leaves nothing kept.
                match delivery {
                    Some(d) => return Err(format!("{note}; {d}")),
                    None => Some(note),
                }
            }
            Some(problem) => return Err(problem.to_string()),
            None => delivery.map_or(Ok(None), Err)?,
        };
        // Still ready: appends stay durable, and the drain retries from the same record.
        let read = spool.and_then(|s| s.read_problem);
        Ok(match (note, read) {
            (note, None) => note,
            (None, Some(read)) => Some(format!("spool cannot be read, retrying: {read}")),
            (Some(note), Some(read)) => Some(format!("{note}; spool cannot be read, retrying: {read}")),
        })
    }

    /// `/healthz`: `Err` only when the process cannot recover by itself.
    pub fn liveness(&self) -> Result<(), String> {
        match self.fatal.lock() {
            Ok(fatal) => fatal.clone().map_or(Ok(()), Err),
            Err(_) => Err("health state poisoned".into()),
        }
    }

    /// Spool mode: the drain renews a fenced producer itself, once nothing is outstanding in it.
    fn renews_itself(&self) -> bool {
        self.spool.get().is_some()
    }

    fn set_fatal(&self, why: String) {
        if self.renews_itself() {
            return; // nothing to restart for
        }
        let Ok(mut slot) = self.fatal.lock() else { return };
        if slot.is_none() {
            tracing::error!(problem = %why, "the bridge cannot deliver any more; /healthz fails so it is restarted");
            *slot = Some(why);
        }
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Records the latest check, logging only when the answer changes; an unreachable broker
    /// is the outage log's to tell (its reason changes from check to check).
    fn set(&self, problem: Option<KafkaProblem>) {
        let Ok(mut slot) = self.problem.lock() else { return };
        let now = std::time::Instant::now();
        let ended = match &problem {
            Some(KafkaProblem::Unreachable(why)) => {
                self.outage().down(why, now);
                false
            }
            _ => self.outage().up(now).is_some(),
        };
        self.any_missing.store(
            matches!(problem, Some(KafkaProblem::MissingTopics { .. })),
            Ordering::Relaxed,
        );
        if *slot != problem {
            match &problem {
                Some(KafkaProblem::Unreachable(_)) => {}
                None if ended => {}
                None => tracing::info!("ready: Kafka reachable and every topic exists"),
                Some(p @ KafkaProblem::MissingTopics { dlq: false, .. }) => {
                    tracing::error!(problem = %p, "degraded: create the missing topics")
                }
                Some(p) => tracing::error!(problem = %p, "Kafka check failed"),
            }
            *slot = problem;
        }
    }
}

/// Kafka and memory mode: a fenced producer (or one with a fatal error) never delivers again,
/// so a new one takes its place. What the old one held fails: kafka mode answers those
/// requests 503; in memory mode they were lost with the producer. Only if no new producer can
/// be made does /healthz fail, to get the process restarted.
async fn renew(health: &Health, publisher: &Publisher) {
    let p = publisher.clone();
    match tokio::task::spawn_blocking(move || p.renew().map(drop)).await {
        Ok(Ok(())) => tracing::warn!(
            "the broker fenced the Kafka producer (or it hit a fatal error); a new producer took its place, and what the old one held failed"
        ),
        Ok(Err(e)) => health.set_fatal(format!("the Kafka producer is fenced and a new one cannot be made ({e}); restart the bridge")),
        Err(e) => health.set_fatal(format!("the Kafka producer is fenced and renewing it failed ({e}); restart the bridge")),
    }
}

/// Checks the broker and `watched` (the topics the bridge can publish to: TRTC's only when TRTC
/// is configured; [`Topics::watched`]) now and then, for as long as the process runs.
pub async fn monitor(health: Arc<Health>, publisher: Publisher, topics: Topics, watched: Vec<Arc<str>>) {
    let dlq = topics.get(crate::event::Family::Dlq).clone();
    let watched = Arc::new(watched);
    loop {
        let (p, t) = (publisher.clone(), watched.clone());
        let check = tokio::task::spawn_blocking(move || {
            p.missing_topics(t.iter().map(|s| s.as_ref()), Duration::from_secs(5))
        })
        .await;
        let problem = match check {
            Ok(Ok(missing)) if missing.is_empty() => None,
            Ok(Ok(missing)) => Some(KafkaProblem::MissingTopics {
                dlq: missing.iter().any(|m| **m == *dlq),
                topics: missing,
            }),
            Ok(Err(e)) => Some(KafkaProblem::Unreachable(format!("Kafka unreachable: {e}"))),
            Err(e) => Some(KafkaProblem::Unreachable(format!("health check failed: {e}"))),
        };
        let ready = problem.is_none();
        health.set(problem);
        health.summarize_outage();
        if publisher.is_fenced() && !health.renews_itself() {
            renew(&health, &publisher).await;
        }
        tokio::time::sleep(if ready {
            Duration::from_secs(10)
        } else {
            Duration::from_secs(1)
        })
        .await;
    }
}

#[cfg(test)]
mod tests;
