//! The view's series on `/metrics` (prefix `tencent_presence_`), and the status `/healthz` and
//! `/readyz` answer from. The worker thread writes them; the admin listener reads them.
//! Label values are bounded: outcomes are fixed words, topics and partitions are the inputs'.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::fold::Verdict;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub topic: String,
    pub partition: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

pub struct PresenceMetrics {
    registry: Registry,
    events: Family<OutcomeLabels, Counter>,
    rooms: Gauge,
    members: Gauge,
    partitions: Gauge,
    restore_seconds: prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
    restored_records: Counter,
    lag: Family<PartitionLabels, Gauge>,
    write_failures: Counter,
    departed_evicted: Counter,
    topic_missing: Family<TopicLabels, Gauge>,
    ready: Gauge,
    /// For /healthz and /readyz.
    pub status: Status,
}

/// What the probes answer from.
#[derive(Default)]
pub struct Status {
    pub restoring: AtomicBool,
    pub started: AtomicBool,
    /// When the worker last went round its loop (Unix ms): a stuck loop fails /healthz.
    pub heartbeat_ms: AtomicI64,
    pub missing: Mutex<Vec<String>>,
    pub failed: Mutex<Option<String>>,
}

impl PresenceMetrics {
    pub fn new() -> Arc<Self> {
        let mut m = PresenceMetrics {
            registry: Registry::default(),
            events: Family::default(),
            rooms: Gauge::default(),
            members: Gauge::default(),
            partitions: Gauge::default(),
            restore_seconds: Default::default(),
            restored_records: Counter::default(),
            lag: Family::default(),
            write_failures: Counter::default(),
            departed_evicted: Counter::default(),
            topic_missing: Family::default(),
            ready: Gauge::default(),
            status: Status::default(),
        };
        for outcome in ["applied", "late", "duplicate", "irrelevant", "bad_input"] {
            let _ = m.events.get_or_create(&OutcomeLabels { outcome });
        }
        let r = m.registry.sub_registry_with_prefix("tencent_presence");
        r.register("events", "Input events by outcome: applied, late (older than what was applied), duplicate, irrelevant (a state the view does not fold), bad_input (not the bridge's envelope)", m.events.clone());
        r.register("rooms", "Rooms and groups held by this instance", m.rooms.clone());
        r.register("members", "Members held by this instance", m.members.clone());
        r.register(
            "partitions",
            "Input partitions assigned to this instance",
            m.partitions.clone(),
        );
        r.register(
            "restore_seconds",
            "Duration of the last restore from the state topic",
            m.restore_seconds.clone(),
        );
        r.register(
            "restored_records",
            "State records read back on restore",
            m.restored_records.clone(),
        );
        r.register(
            "lag",
            "Records not yet read, per input partition (high watermark - position)",
            m.lag.clone(),
        );
        r.register(
            "write_failures",
            "State records Kafka did not acknowledge (the batch is written again)",
            m.write_failures.clone(),
        );
        r.register(
            "departed_evicted",
            "Departed members' clocks dropped before their grace window ended (--departed-per-room)",
            m.departed_evicted.clone(),
        );
        r.register(
            "topic_missing",
            "1 when an input topic does not exist",
            m.topic_missing.clone(),
        );
        r.register("ready", "1 when /readyz answers 200", m.ready.clone());
        Arc::new(m)
    }

    pub fn event(&self, verdict: Option<Verdict>) {
        let outcome = match verdict {
            Some(Verdict::Applied) => "applied",
            Some(Verdict::Late) => "late",
            Some(Verdict::Duplicate) => "duplicate",
            Some(Verdict::Irrelevant) => "irrelevant",
            None => "bad_input",
        };
        self.events.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn held(&self, rooms: usize, members: usize, partitions: usize) {
        self.rooms.set(rooms as i64);
        self.members.set(members as i64);
        self.partitions.set(partitions as i64);
    }

    pub fn restored(&self, seconds: f64, records: u64) {
        self.restore_seconds.set(seconds);
        self.restored_records.inc_by(records);
    }

    pub fn lag(&self, topic: &str, partition: i32, lag: i64) {
        let labels = PartitionLabels {
            topic: topic.to_owned(),
            partition,
        };
        self.lag.get_or_create(&labels).set(lag.max(0));
    }

    pub fn forget_partition(&self, topic: &str, partition: i32) {
        self.lag.remove(&PartitionLabels {
            topic: topic.to_owned(),
            partition,
        });
    }

    pub fn write_failed(&self, n: u64) {
        self.write_failures.inc_by(n);
    }

    pub fn evicted(&self, n: u64) {
        self.departed_evicted.inc_by(n);
    }

    pub fn topics(&self, present: &[String], missing: &[String]) {
        for t in present {
            self.topic_missing
                .get_or_create(&TopicLabels { topic: t.clone() })
                .set(0);
        }
        for t in missing {
            self.topic_missing
                .get_or_create(&TopicLabels { topic: t.clone() })
                .set(1);
        }
        if let Ok(mut m) = self.status.missing.lock() {
            *m = missing.to_vec();
        }
    }

    /// `/readyz`: Ok(degraded note) or Err(why not ready).
    pub fn readiness(&self) -> Result<Option<String>, String> {
        let s = &self.status;
        let verdict = if let Some(why) = s.failed.lock().ok().and_then(|f| f.clone()) {
            Err(why)
        } else if !s.started.load(Ordering::Relaxed) {
            Err("starting".to_owned())
        } else if s.restoring.load(Ordering::Relaxed) {
            Err("restoring state from the state topic".to_owned())
        } else {
            let missing = s.missing.lock().map(|m| m.clone()).unwrap_or_default();
            Ok((!missing.is_empty()).then(|| format!("missing topics: {}", missing.join(", "))))
        };
        self.ready.set(i64::from(verdict.is_ok()));
        verdict
    }

    /// `/healthz`: the worker goes round its loop (a restore counts as going round).
    pub fn liveness(&self, now_ms: i64) -> Result<(), String> {
        let s = &self.status;
        let beat = s.heartbeat_ms.load(Ordering::Relaxed);
        if s.started.load(Ordering::Relaxed) && !s.restoring.load(Ordering::Relaxed) && now_ms - beat > 60_000
        {
            return Err(format!(
                "the consumer loop has not run for {} s",
                (now_ms - beat) / 1000
            ));
        }
        Ok(())
    }

    pub fn render(&self) -> String {
        let _ = self.readiness();
        let mut out = String::with_capacity(2048);
        if let Err(e) = text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}
