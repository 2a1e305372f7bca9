//! kafka mode: OK only once the broker acknowledged the record (acks=all). Tencent waits on the
//! broker; a timeout or refusal answers 503.

use tokio::sync::oneshot;

use crate::publish::{Ack, Publisher, SendError};
use crate::record::Record;
use crate::refusal::Refusal;

#[derive(Clone)]
pub struct KafkaDelivery {
    publisher: Publisher,
}

impl KafkaDelivery {
    pub fn new(publisher: Publisher) -> Self {
        Self { publisher }
    }

    pub async fn deliver(&self, record: &Record) -> Result<(), Refusal> {
        let (tx, rx) = oneshot::channel();
        self.publisher
            .send(record, Ack::Notify(tx))
            .map_err(|e| match e {
                SendError::QueueFull => Refusal::QueueFull,
                SendError::Kafka(e) => Refusal::KafkaFailed(e.to_string()),
            })?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Refusal::KafkaFailed(e.to_string())),
            Err(_) => Err(Refusal::KafkaFailed("producer closed".into())),
        }
    }
}
