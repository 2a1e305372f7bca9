//! deliver: hands a routed record off as the delivery mode promises, then the HTTP answer goes
//! out. Each mode is one file; spool mode is the write-ahead log (`crate::spool`) and its
//! drain (`spool/`), whose append errors become refusals here.

mod kafka;
mod memory;
pub mod spool;

use crate::record::Record;
use crate::refusal::Refusal;

pub use kafka::KafkaDelivery;
pub use memory::MemoryDelivery;

/// The configured delivery mode.
#[derive(Clone)]
pub enum Delivery {
    Memory(MemoryDelivery),
    Kafka(KafkaDelivery),
    Spool(crate::spool::SpoolWriter),
}

impl Delivery {
    /// `Ok` means the record is as safe as the mode promises; only then may the OK go out.
    pub async fn deliver(&self, record: Record) -> Result<(), Refusal> {
        match self {
            Delivery::Memory(m) => m.deliver(&record),
            Delivery::Kafka(k) => k.deliver(&record).await,
            Delivery::Spool(s) => s.append(record).await.map_err(spool::refusal),
        }
    }
}
