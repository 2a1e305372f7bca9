//! What the drain tells the bridge's readiness, and asks of it: a narrow handle handed in by
//! `lib.rs` (the health check implements it), so the spool knows nothing of health.

/// The drain's view of the bridge's health.
pub trait DeliveryProblems: Send + Sync {
    /// `Some(why)`: publishing is stuck (the DLQ refuses records); `None`: it works again.
    fn set_delivery_problem(&self, problem: Option<String>);
    /// Whether the last check of the cluster found `topic` missing. librdkafka's own "unknown
    /// topic" can come from a metadata gap (a broker restart); only both together send
    /// acknowledged records to the DLQ.
    fn topic_missing(&self, topic: &str) -> bool;
}
