//! publish: the one rdkafka producer and nothing else. Enqueueing never blocks (`send` returns
//! `QueueFull` at once and the caller answers 503); delivery reports go to whoever asked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig, ThreadedProducer,
};
use rdkafka::ClientContext;
use tokio::sync::oneshot;

use self::kafka_log::KafkaLog;
use crate::record::Record;

mod errors;
mod kafka_log;
mod settings;

pub use errors::{is_permanent, is_purged, is_size, is_unknown_topic, needs_new_producer};
pub use settings::{
    check_properties, client_config, overridden_in_spool_mode, properties_for, DEFAULTS, LINGER_UNWAITED,
};

/// What to do with a record's delivery report.
pub enum Ack {
    /// Tell the waiting request (kafka mode).
    Notify(oneshot::Sender<Result<(), KafkaError>>),
    /// Nobody waits (memory mode); failures are logged.
    Forget,
    /// Hand the report to a callback (the replay and redrive tools). Runs on librdkafka's
    /// polling thread, so it must be quick.
    Call(Box<dyn FnOnce(Result<(), KafkaError>) + Send + Sync>),
    /// Report the record's number to a long-lived [`Reported`] (spool mode's drain): no
    /// callback allocated per record, and the receiver can gather a burst of reports into
    /// one wake-up.
    Seq(Arc<dyn Reported>, u64),
}

/// Takes spool mode's delivery reports on librdkafka's polling thread ([`Ack::Seq`]).
pub trait Reported: Send + Sync {
    fn reported(&self, seq: u64, outcome: Result<(), KafkaError>);
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ack::Notify(_) => "Ack::Notify",
            Ack::Forget => "Ack::Forget",
            Ack::Call(_) => "Ack::Call",
            Ack::Seq(..) => "Ack::Seq",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("producer queue full")]
    QueueFull,
    #[error("{0}")]
    Kafka(KafkaError),
}

/// Who counts delivery reports (the metrics, in the bridge): a narrow handle handed in, so
/// the producer knows nothing of what is exported or how.
pub trait Tally: Send + Sync {
    /// One delivery report, on librdkafka's thread: `Err(permanent)` when it failed.
    fn delivered(&self, topic: &str, outcome: Result<(), bool>);
}

/// Sees every delivery report on librdkafka's polling thread.
pub struct Reports {
    failing: AtomicBool,
    /// Set once a report says this producer can never deliver again ([`needs_new_producer`]).
    fenced: AtomicBool,
    tally: Arc<dyn Tally>,
    librdkafka: KafkaLog,
}

/// librdkafka's client-wide errors and its log lines, sorted by [`KafkaLog`] so an outage
/// does not flood the log.
impl ClientContext for Reports {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.librdkafka.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.librdkafka.error(&error, reason);
    }
}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<Ack>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Box<Ack>) {
        let outcome = result.as_ref().map(|_| ()).map_err(|(e, _)| e.clone());
        let topic = match result {
            Ok(m) => m.topic(),
            Err((_, m)) => m.topic(),
        };
        self.tally
            .delivered(topic, outcome.as_ref().map(|_| ()).map_err(is_permanent));
        if outcome.as_ref().is_err_and(needs_new_producer) {
            self.fenced.store(true, Ordering::Relaxed);
        }
        // Log delivery trouble once per change of state, not once per record.
        let failed = outcome.is_err();
        if self.failing.swap(failed, Ordering::Relaxed) != failed {
            match &outcome {
                Err(e) => tracing::error!(error = %e, "Kafka deliveries are failing"),
                Ok(()) => tracing::info!("Kafka deliveries succeed again"),
            }
        }
        match *ack {
            Ack::Notify(tx) => {
                let _ = tx.send(outcome);
            }
            Ack::Call(f) => f(outcome),
            Ack::Seq(to, seq) => to.reported(seq, outcome),
            Ack::Forget => {}
        }
    }
}

type Shared = ThreadedProducer<Reports>;

/// A producer [`Publisher::renew`] replaced; dropping it may block.
#[must_use = "drop it where blocking is allowed"]
pub struct Retired {
    _producer: Arc<Shared>,
}

/// The shared producer. Cheap to clone; every clone sees a [`Publisher::renew`].
#[derive(Clone)]
pub struct Publisher {
    /// Swapped whole by `renew`. A caller holds the lock or a clone of the `Arc` only for one
    /// call, so the old producer goes (purging what it still holds) once the last such call
    /// returns.
    producer: Arc<RwLock<Arc<Shared>>>,
    /// What [`Publisher::renew`] builds a new producer from.
    config: ClientConfig,
    tally: Arc<dyn Tally>,
}

impl Publisher {
    pub fn new(
        brokers: &str,
        overrides: &[(String, String)],
        tally: Arc<dyn Tally>,
    ) -> Result<Self, KafkaError> {
        Self::create(client_config(brokers, overrides), tally)
    }

    fn create(config: ClientConfig, tally: Arc<dyn Tally>) -> Result<Self, KafkaError> {
        let producer = Self::producer_from(&config, &tally)?;
        Ok(Publisher {
            producer: Arc::new(RwLock::new(producer)),
            config,
            tally,
        })
    }

    fn producer_from(config: &ClientConfig, tally: &Arc<dyn Tally>) -> Result<Arc<Shared>, KafkaError> {
        let producer = config.create_with_context(Reports {
            failing: AtomicBool::new(false),
            fenced: AtomicBool::new(false),
            tally: tally.clone(),
            librdkafka: KafkaLog::default(),
        })?;
        Ok(Arc::new(producer))
    }

    /// The producer now; a lock held for the length of a pointer copy (a poisoned lock still
    /// holds a valid producer).
    fn current(&self) -> Arc<Shared> {
        self.producer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the producer, for every clone, with a new one of the same settings (a new
    /// producer id): for when [`needs_new_producer`] says the current one is done for. Returns
    /// the old one, whose drop purges what it still holds and waits up to 500 ms for those
    /// reports: drop it on a thread that may block. In spool mode call it only with nothing
    /// outstanding in the old producer.
    pub fn renew(&self) -> Result<Retired, KafkaError> {
        let fresh = Self::producer_from(&self.config, &self.tally)?;
        let old = std::mem::replace(
            &mut *self.producer.write().unwrap_or_else(PoisonError::into_inner),
            fresh,
        );
        Ok(Retired { _producer: old })
    }

    /// The current producer was fenced or hit a fatal error: it will never deliver again.
    pub fn is_fenced(&self) -> bool {
        self.current().context().fenced.load(Ordering::Relaxed)
    }

    /// As a delivery report saying so would.
    #[cfg(test)]
    pub(crate) fn mark_fenced(&self) {
        self.current().context().fenced.store(true, Ordering::Relaxed);
    }

    /// The largest record this producer sends (`message.max.bytes`).
    pub fn max_record_bytes(&self) -> usize {
        self.config
            .get("message.max.bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(crate::route::DEFAULT_MAX_RECORD_BYTES)
    }

    /// Enqueues without waiting; the report goes to `ack`.
    pub fn send(&self, record: &Record, ack: Ack) -> Result<(), SendError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_ref()),
            });
        }
        let mut base = BaseRecord::with_opaque_to(&record.topic, Box::new(ack))
            .key(&record.key)
            .payload(&record.value)
            .headers(headers);
        if let Some(ms) = record.timestamp_ms {
            base = base.timestamp(ms);
        }
        // The read lock, not a clone of the Arc, for the length of the enqueue.
        let producer = self.producer.read().unwrap_or_else(PoisonError::into_inner);
        producer.send(base).map_err(|(e, _)| match e {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => SendError::QueueFull,
            e => SendError::Kafka(e),
        })
    }

    /// Fails everything queued or in flight now (each gets a delivery report saying so), so
    /// that a caller can send it again in its own order. What was in flight may have been
    /// written: sending it again can make duplicates, never a loss.
    pub fn purge(&self) {
        self.current().purge(PurgeConfig::default().queue().inflight());
    }

    /// Records queued or in flight.
    pub fn in_flight(&self) -> i32 {
        self.current().in_flight_count()
    }

    /// Blocks up to `timeout` for the queue to drain; call from a blocking thread. Dropping a
    /// producer purges what is still queued, so shutdown must come through here.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.current().flush(timeout)
    }

    /// Asks the cluster which of `topics` it does not have. Blocking (a metadata request);
    /// `Err` means the broker could not be reached.
    pub fn missing_topics<'t>(
        &self,
        topics: impl Iterator<Item = &'t str>,
        timeout: Duration,
    ) -> Result<Vec<String>, KafkaError> {
        let meta = self.current().client().fetch_metadata(None, timeout)?;
        let missing = topics
            .filter(|name| {
                !meta
                    .topics()
                    .iter()
                    .any(|t| t.name() == *name && t.error().is_none() && !t.partitions().is_empty())
            })
            .map(str::to_owned)
            .collect();
        Ok(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeliveryMode;

    /// Counts nothing.
    struct Quiet;

    impl Tally for Quiet {
        fn delivered(&self, _: &str, _: Result<(), bool>) {}
    }

    #[test]
    fn only_kafka_mode_keeps_the_short_linger_and_the_user_wins() {
        let linger = |mode, user: &[(String, String)]| {
            let config = client_config("b:9", &properties_for(mode, user));
            config.get("linger.ms").map(str::to_owned)
        };
        assert_eq!(linger(DeliveryMode::Kafka, &[]).as_deref(), Some("5"));
        assert_eq!(
            linger(DeliveryMode::Memory, &[]).as_deref(),
            Some(LINGER_UNWAITED)
        );
        assert_eq!(linger(DeliveryMode::Spool, &[]).as_deref(), Some(LINGER_UNWAITED));
        let user = [("linger.ms".to_owned(), "1".to_owned())];
        assert_eq!(linger(DeliveryMode::Spool, &user).as_deref(), Some("1"));
    }

    /// Spool mode: librdkafka never expires a record, whatever the user set, so a timeout can
    /// never let a later record of a room overtake an earlier one.
    #[test]
    fn spool_mode_never_lets_librdkafka_expire_a_record() {
        let timeout = |mode, user: &[(String, String)]| {
            let config = client_config("127.0.0.1:9", &properties_for(mode, user));
            config.get("message.timeout.ms").map(str::to_owned)
        };
        let user = [("message.timeout.ms".to_owned(), "5000".to_owned())];
        assert_eq!(timeout(DeliveryMode::Spool, &[]).as_deref(), Some("0"));
        assert_eq!(timeout(DeliveryMode::Spool, &user).as_deref(), Some("0"));
        assert_eq!(timeout(DeliveryMode::Kafka, &user).as_deref(), Some("5000"));
        assert_eq!(timeout(DeliveryMode::Memory, &[]).as_deref(), Some("30000"));
        assert_eq!(overridden_in_spool_mode(&user), ["message.timeout.ms=5000"]);
        assert!(overridden_in_spool_mode(&[]).is_empty());
    }

    /// librdkafka takes `delivery.timeout.ms` as another name for `message.timeout.ms`: set
    /// both and its hash order picks the winner. Spool mode forces 0 whatever spelling or
    /// order the user wrote, and says so; librdkafka's own view is what is checked, many
    /// times, since a wrong answer came about half the time.
    #[test]
    fn spool_mode_forces_the_timeout_under_either_spelling_in_any_order() {
        let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let cases = [
            vec![kv("delivery.timeout.ms", "5000")],
            vec![
                kv("message.timeout.ms", "5000"),
                kv("delivery.timeout.ms", "7000"),
            ],
            vec![
                kv("delivery.timeout.ms", "7000"),
                kv("message.timeout.ms", "5000"),
            ],
        ];
        for user in &cases {
            for _ in 0..20 {
                let config = client_config("127.0.0.1:9", &properties_for(DeliveryMode::Spool, user));
                let native = config.create_native_config().unwrap();
                assert_eq!(native.get("message.timeout.ms").unwrap(), "0", "{user:?}");
            }
            assert_eq!(overridden_in_spool_mode(user).len(), user.len(), "{user:?}");
        }
        // Kafka mode: the user's value wins over the default under either spelling.
        for _ in 0..20 {
            let config = client_config("127.0.0.1:9", &properties_for(DeliveryMode::Kafka, &cases[0]));
            let native = config.create_native_config().unwrap();
            assert_eq!(native.get("message.timeout.ms").unwrap(), "5000");
        }
    }

    #[test]
    fn renewal_reaches_every_clone() {
        // librdkafka creates a producer without connecting: no broker needed.
        let publisher = Publisher::new("127.0.0.1:9", &[], Arc::new(Quiet)).unwrap();
        let clone = publisher.clone();
        let before = publisher.current();
        let old = clone.renew().unwrap();
        assert!(!Arc::ptr_eq(&before, &publisher.current()));
        assert!(Arc::ptr_eq(&publisher.current(), &clone.current()));
        assert!(!publisher.is_fenced());
        drop((before, old));
    }
}
