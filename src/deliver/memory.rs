//! memory mode: OK once the record sits in the producer's bounded queue. Fastest; a crash
//! loses what is queued.

use crate::publish::{Ack, Publisher, SendError};
use crate::record::Record;
use crate::refusal::Refusal;

#[derive(Clone)]
pub struct MemoryDelivery {
    publisher: Publisher,
}

impl MemoryDelivery {
    pub fn new(publisher: Publisher) -> Self {
        Self { publisher }
    }

    pub fn deliver(&self, record: &Record) -> Result<(), Refusal> {
        self.publisher.send(record, Ack::Forget).map_err(|e| match e {
            SendError::QueueFull => Refusal::QueueFull,
            SendError::Kafka(e) => Refusal::KafkaFailed(e.to_string()),
        })
    }
}
