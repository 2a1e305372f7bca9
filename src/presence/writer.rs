//! Writes a batch of state records and returns only once Kafka acknowledged every one of them
//! (acks=all, idempotent producer): the input offsets that caused them are committed after,
//! never before. A batch holds the last value of each key it touched, and nothing newer is
//! sent before it is acknowledged, so writing a failed batch again is always safe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};

use super::fold::Write;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("state producer: {0}")]
    Kafka(#[from] KafkaError),
    #[error("stopped with {0} state records not acknowledged (their input is read again by the next owner)")]
    Abandoned(usize),
}

#[derive(Default)]
pub struct Acks {
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_error.lock() {
                *last = Some(e.to_string());
            }
        }
    }
}

pub struct Writer {
    producer: BaseProducer<Acks>,
    topic: String,
}

/// Longest one attempt waits for its acknowledgements.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

impl Writer {
    pub fn new(base: &ClientConfig, topic: String) -> Result<Writer, KafkaError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in [
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("compression.type", "lz4"),
            ("linger.ms", "5"),
        ] {
            cfg.set(k, v);
        }
        for (k, v) in base.config_map().iter() {
            cfg.set(k, v);
        }
        Ok(Writer {
            producer: cfg.create_with_context(Acks::default())?,
            topic,
        })
    }

    /// Writes `batch` ((partition, record) pairs) until every record is acknowledged;
    /// `on_failure` hears of each failed attempt. Gives up only when `stop()` says so.
    pub fn write(
        &self,
        batch: &[(i32, Write)],
        stop: &dyn Fn() -> bool,
        on_failure: &dyn Fn(u64),
    ) -> Result<(), WriteError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            self.producer.context().failed.store(0, Ordering::Relaxed);
            for (partition, w) in batch {
                self.send(*partition, w, stop)?;
            }
            let flushed = self.producer.flush(FLUSH_TIMEOUT);
            let failed = self.producer.context().failed.load(Ordering::Relaxed);
            if flushed.is_ok() && failed == 0 {
                return Ok(());
            }
            let why = self
                .producer
                .context()
                .last_error
                .lock()
                .ok()
                .and_then(|l| l.clone());
            tracing::warn!(failed, flushed = ?flushed.err(), last_error = ?why, records = batch.len(), "state records not acknowledged: writing the batch again");
            on_failure(failed.max(1));
            if stop() {
                return Err(WriteError::Abandoned(batch.len()));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    fn send(&self, partition: i32, w: &Write, stop: &dyn Fn() -> bool) -> Result<(), WriteError> {
        loop {
            let mut record = BaseRecord::<str, str>::to(&self.topic)
                .partition(partition)
                .key(w.key.as_str());
            if let Some(v) = &w.value {
                record = record.payload(v.as_str());
            }
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if stop() {
                        return Err(WriteError::Abandoned(1));
                    }
                    self.producer.poll(Duration::from_millis(100));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
}
