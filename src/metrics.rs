//! metrics: the Prometheus registry and every series the bridge exports on `/metrics`.
//!
//! Label values are bounded by construction — a command label is one of the known canonical
//! names or `other`, never what a client sent — so a scanner cannot blow up the series count.
//! Counters on the request path are plain atomics behind a read lock; gauges that mirror
//! state elsewhere (producer queue, spool, readiness) are read at scrape time, never pushed.
//! Every series an alert in deploy/prometheus/ uses is here (tests/monitoring.rs checks).

mod auth;
mod health;
mod ingress;
mod process;
mod readings;
mod spool;

pub use readings::Readings;

use std::sync::Arc;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::callbacks::trtc;
use crate::callbacks::Kind;
use crate::event::Family as EventFamily;
use crate::pipeline::TrtcOutcome;
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
    trtc_duplicates: Counter,
    trtc_kept_on_dlq: Counter,
    queue_depth: Gauge,
    spool: spool::SpoolMetrics,
    health: health::HealthMetrics,
    unsigned_allowed: Gauge,
    /// The bridge's own topics, resolved once: a delivery report finds its counter without
    /// allocating.
    known_topics: Vec<(Arc<str>, Counter)>,
    dlq_topic: Arc<str>,
    /// The callback listener's: hang-ups, TLS.
    pub ingress: ingress::IngressMetrics,
}

impl Metrics {
    pub fn new(topics: &Topics) -> Arc<Self> {
        Self::with_auth(topics, None)
    }

    /// With the token series (`metrics/auth.rs`) read from `ring` at each scrape.
    pub fn with_auth(topics: &Topics, ring: Option<Arc<crate::auth::Keyring>>) -> Arc<Self> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(process::Process));
        if let Some(ring) = ring {
            registry.register_collector(Box::new(auth::AuthSeries(ring)));
        }
        let m = Metrics {
            callbacks: Family::default(),
            accept_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            produced: Family::default(),
            delivery_errors: Family::default(),
            dlq_records: Counter::default(),
            signature_failures: Family::default(),
            trtc_duplicates: Counter::default(),
            trtc_kept_on_dlq: Counter::default(),
            queue_depth: Gauge::default(),
            spool: spool::SpoolMetrics::default(),
            health: health::HealthMetrics::default(),
            unsigned_allowed: Gauge::default(),
            known_topics: Vec::new(),
            dlq_topic: topics.get(EventFamily::Dlq).clone(),
            ingress: ingress::IngressMetrics::default(),
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
        m.start_at_zero(topics);
        m.register(registry.sub_registry_with_prefix("tencent_bridge"));
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
            "trtc_duplicates",
            "TRTC retries of an event accepted within the dedup window: answered 200, not published again",
            self.trtc_duplicates.clone(),
        );
        r.register(
            "trtc_undecodable",
            "Authentic TRTC callbacks that could not be decoded: kept on the DLQ and answered 200, because a retry cannot fix them",
            self.trtc_kept_on_dlq.clone(),
        );
        r.register(
            "producer_queue_depth",
            "Records queued in the Kafka producer or in flight",
            self.queue_depth.clone(),
        );
        self.spool.register(r);
        r.register(
            "auth_unsigned_allowed",
            "1 when the bridge runs with --allow-unsigned: no auth token, callback signatures not checked (alert on it)",
            self.unsigned_allowed.clone(),
        );
        self.register_health(r);
        self.ingress.register(r);
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        r.register("build", "Build of this bridge", build);
    }

    /// The bounded label sets exist from the start, at 0: a series that appears only with its
    /// first increment hides that increment from `increase()` and `rate()` (and the alerts).
    fn start_at_zero(&self, topics: &Topics) {
        for reason in ["missing", "skew", "mismatch"] {
            let _ = self.signature_failures.get_or_create(&ReasonLabels { reason });
        }
        for topic in topics.all() {
            for kind in ["retriable", "permanent"] {
                let labels = DeliveryErrorLabels {
                    topic: topic.clone(),
                    kind,
                };
                let _ = self.delivery_errors.get_or_create(&labels);
            }
        }
    }

    fn register_health(&self, r: &mut Registry) {
        self.spool.register_limit(r);
        self.health.register(r);
    }

    /// Whether the bridge runs with `--allow-unsigned` (set once at start).
    pub fn set_unsigned_allowed(&self, allowed: bool) {
        self.unsigned_allowed.set(i64::from(allowed));
    }

    /// One callback answered: counts it by outcome and times it.
    pub fn callback(&self, command: Option<&str>, outcome: Result<(), &Refusal>, seconds: f64) {
        let command = command.and_then(Kind::from_name).map_or("other", Kind::canonical);
        self.count(command, outcome, seconds);
    }

    fn count(&self, command: &'static str, outcome: Result<(), &Refusal>, seconds: f64) {
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

    /// One TRTC callback answered. Counted in `callbacks` under its canonical command
    /// (`TRTC.other` for types the bridge does not name), with the 200 outcomes told apart.
    pub fn trtc(&self, outcome: &Result<TrtcOutcome, Refusal>, seconds: f64) {
        let label = |c: &str| trtc::commands().find(|k| *k == c).unwrap_or("TRTC.other");
        let (command, result) = match outcome {
            Ok(TrtcOutcome::Accepted(c)) => (label(c), Ok(())),
            Ok(TrtcOutcome::Duplicate(c)) => {
                self.trtc_duplicates.inc();
                (label(c), Ok(()))
            }
            Ok(TrtcOutcome::KeptOnDlq(_)) => {
                self.trtc_kept_on_dlq.inc();
                ("TRTC.undecodable", Ok(()))
            }
            Err(r) => ("TRTC", Err(r)),
        };
        self.count(command, result, seconds);
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
        self.queue_depth.set(i64::from(now.queue_depth));
        self.spool.read(now.spool.as_ref());
        self.health.read(now, self.known_topics.iter().map(|(t, _)| t));
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
        Refusal::BadSign | Refusal::TrtcBadSign => Some("mismatch"),
        Refusal::TrtcSignMissing => Some("missing"),
        _ => None,
    }
}

/// The producer's delivery reports are counted here.
impl crate::publish::Tally for Metrics {
    fn delivered(&self, topic: &str, outcome: Result<(), bool>) {
        Metrics::delivered(self, topic, outcome);
    }
}
