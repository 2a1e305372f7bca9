//! metrics: the Prometheus registry and every series the bridge exports on `/metrics`.
//!
//! Label values are bounded by construction — a command label is one of the known canonical
//! names or `other`, never what a client sent — so a scanner cannot blow up the series count.
//! Counters on the request path are plain atomics behind a read lock; gauges that mirror
//! state elsewhere (producer queue, spool) are read at scrape time, never pushed.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::callbacks::Kind;
use crate::deliver::spool::SpoolStats;
use crate::event::Family as EventFamily;
use crate::pipeline::now_ms;
use crate::publish::Publisher;
use crate::refusal::Refusal;
use crate::route::Topics;

/// `Content-Type` of the `/metrics` answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallbackLabels {
    command: &'static str,
    status: u16,
    code: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryErrorLabels {
    topic: Arc<str>,
    /// `retriable` (sent again) or `permanent` (moved to the DLQ).
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Every series. Cheap to share: clone the `Arc`.
pub struct Metrics {
    registry: Registry,
    callbacks: Family<CallbackLabels, Counter>,
    accept_seconds: Histogram,
    produced: Family<TopicLabels, Counter>,
    delivery_errors: Family<DeliveryErrorLabels, Counter>,
    dlq_records: Counter,
    signature_failures: Family<ReasonLabels, Counter>,
    queue_depth: Gauge,
    spool_bytes: Gauge,
    spool_records: Gauge,
    spool_oldest_age: Gauge<f64, AtomicU64>,
    unsigned_allowed: Gauge,
    /// The bridge's own topics, resolved once: a delivery report finds its counter without
    /// allocating.
    known_topics: Vec<(Arc<str>, Counter)>,
    dlq_topic: Arc<str>,
}

/// Where the scrape-time gauges read from.
#[derive(Clone)]
pub struct Readings {
    pub publisher: Publisher,
    pub spool: Option<Arc<SpoolStats>>,
}

impl Metrics {
    pub fn new(topics: &Topics) -> Arc<Self> {
        let mut registry = Registry::with_prefix("tencent_bridge");
        let m = Metrics {
            callbacks: Family::default(),
            accept_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            produced: Family::default(),
            delivery_errors: Family::default(),
            dlq_records: Counter::default(),
            signature_failures: Family::default(),
            queue_depth: Gauge::default(),
            spool_bytes: Gauge::default(),
            spool_records: Gauge::default(),
            spool_oldest_age: Gauge::default(),
            unsigned_allowed: Gauge::default(),
            known_topics: Vec::new(),
            dlq_topic: topics.get(EventFamily::Dlq).clone(),
            registry: Registry::default(),
        };
        let known_topics = topics
            .all()
            .map(|t| {
                (
                    t.clone(),
                    m.produced
                        .get_or_create(&TopicLabels { topic: t.clone() })
                        .clone(),
                )
            })
            .collect();
        m.register(&mut registry);
        let m = Metrics { known_topics, ..m };
        Arc::new(Metrics { registry, ..m })
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "callbacks",
            "Callbacks answered on the callback path, by command (canonical name, or other), HTTP status and Tencent ErrorCode (0 = OK)",
            self.callbacks.clone(),
        );
        r.register(
            "accept_duration_seconds",
            "Time from the request head to the answer on the callback path",
            self.accept_seconds.clone(),
        );
        r.register(
            "events_produced",
            "Records the broker acknowledged, by topic",
            self.produced.clone(),
        );
        r.register(
            "delivery_errors",
            "Failed delivery reports, by topic and kind (retriable: sent again; permanent: moved to the DLQ)",
            self.delivery_errors.clone(),
        );
        r.register(
            "dlq_records",
            "Records the broker acknowledged on the dead-letter topic",
            self.dlq_records.clone(),
        );
        r.register(
            "signature_failures",
            "Callbacks refused by the signature check, by reason (missing, skew, mismatch)",
            self.signature_failures.clone(),
        );
        r.register(
            "producer_queue_depth",
            "Records queued in the Kafka producer or in flight",
            self.queue_depth.clone(),
        );
        r.register(
            "spool_bytes",
            "Size of the spool's segment files",
            self.spool_bytes.clone(),
        );
        r.register(
            "spool_records",
            "Records in the spool not yet delivered",
            self.spool_records.clone(),
        );
        r.register(
            "spool_oldest_undelivered_age_seconds",
            "Age of the oldest record in the spool not yet delivered (0 when none)",
            self.spool_oldest_age.clone(),
        );
        r.register(
            "auth_unsigned_allowed",
            "1 when the bridge runs with --allow-unsigned: no auth token, callback signatures not checked (alert on it)",
            self.unsigned_allowed.clone(),
        );
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        r.register("build", "Build of this bridge", build);
    }

    /// Whether the bridge runs with `--allow-unsigned` (set once at start).
    pub fn set_unsigned_allowed(&self, allowed: bool) {
        self.unsigned_allowed.set(i64::from(allowed));
    }

    /// One callback answered: counts it by outcome and times it.
    pub fn callback(&self, command: Option<&str>, outcome: Result<(), &Refusal>, seconds: f64) {
        let command = command.and_then(Kind::from_name).map_or("other", Kind::canonical);
        let (status, code) = match outcome {
            Ok(()) => (200, 0),
            Err(r) => {
                let (status, code) = r.status_and_code();
                if let Some(reason) = signature_reason(r) {
                    self.signature_failures
                        .get_or_create(&ReasonLabels { reason })
                        .inc();
                }
                (status.as_u16(), code)
            }
        };
        self.callbacks
            .get_or_create(&CallbackLabels {
                command,
                status,
                code,
            })
            .inc();
        self.accept_seconds.observe(seconds);
    }

    /// A delivery report from the producer; runs on librdkafka's thread.
    pub fn delivered(&self, topic: &str, outcome: Result<(), bool>) {
        match outcome {
            Ok(()) => {
                if *topic == *self.dlq_topic {
                    self.dlq_records.inc();
                }
                match self.known_topics.iter().find(|(t, _)| **t == *topic) {
                    Some((_, counter)) => counter.inc(),
                    None => self
                        .produced
                        .get_or_create(&TopicLabels { topic: topic.into() })
                        .inc(),
                };
            }
            Err(permanent) => {
                let kind = if permanent { "permanent" } else { "retriable" };
                let labels = DeliveryErrorLabels {
                    topic: topic.into(),
                    kind,
                };
                self.delivery_errors.get_or_create(&labels).inc();
            }
        }
    }

    /// The text exposition, with the mirrored gauges read now.
    pub fn render(&self, now: &Readings) -> String {
        self.queue_depth.set(i64::from(now.publisher.in_flight()));
        if let Some(spool) = &now.spool {
            self.spool_bytes.set(clamp(spool.bytes()));
            self.spool_records.set(clamp(spool.pending()));
            let age_ms = match spool.oldest_undelivered_ms() {
                0 => 0,
                oldest => (now_ms() - oldest).max(0),
            };
            self.spool_oldest_age.set(age_ms as f64 / 1000.0);
        }
        let mut out = String::with_capacity(4096);
        if let Err(e) = text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

fn signature_reason(r: &Refusal) -> Option<&'static str> {
    match r {
        Refusal::SignMissing(_) => Some("missing"),
        Refusal::RequestTimeSkew => Some("skew"),
        Refusal::BadSign => Some("mismatch"),
        _ => None,
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
