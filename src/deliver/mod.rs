//! deliver: hands a routed record off as the delivery mode promises, then the HTTP answer goes
//! out. Each mode is one file; the spool slots in here as another variant.

mod kafka;
mod memory;
pub mod spool;

use crate::config::DeliveryMode;
use crate::publish::Publisher;
use crate::refusal::Refusal;
use crate::route::Record;

pub use kafka::KafkaDelivery;
pub use memory::MemoryDelivery;

/// The configured delivery mode.
#[derive(Clone)]
pub enum Delivery {
    Memory(MemoryDelivery),
    Kafka(KafkaDelivery),
    Spool(spool::SpoolWriter),
}

impl Delivery {
    /// memory and kafka mode; spool mode is built from [`spool::start`].
    pub fn direct(mode: DeliveryMode, publisher: Publisher) -> Self {
        match mode {
            DeliveryMode::Memory => Delivery::Memory(MemoryDelivery::new(publisher)),
            _ => Delivery::Kafka(KafkaDelivery::new(publisher)),
        }
    }

    /// `Ok` means the record is as safe as the mode promises; only then may the OK go out.
    pub async fn deliver(&self, record: Record) -> Result<(), Refusal> {
        match self {
            Delivery::Memory(m) => m.deliver(&record),
            Delivery::Kafka(k) => k.deliver(&record).await,
            Delivery::Spool(s) => s.append(record).await,
        }
    }
}
