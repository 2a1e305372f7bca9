//! Enqueueing for the tools that publish (replay, redrive): they may wait, unlike a request, so
//! a full producer queue is waited out rather than refused.

use std::time::Duration;

use crate::publish::{Ack, Publisher, SendError};
use crate::record::Record;

/// Sends `record`, waiting while the producer's queue is full; `report` gets the delivery
/// report, or the error when the producer refuses the record outright.
pub fn send_when_room(
    publisher: &Publisher,
    record: &Record,
    report: impl Fn(Result<(), String>) + Clone + Send + Sync + 'static,
) {
    loop {
        let reply = report.clone();
        let ack = Ack::Call(Box::new(move |r| reply(r.map_err(|e| e.to_string()))));
        match publisher.send(record, ack) {
            Ok(()) => return,
            Err(SendError::QueueFull) => std::thread::sleep(Duration::from_millis(5)),
            Err(SendError::Kafka(e)) => return report(Err(e.to_string())),
        }
    }
}
