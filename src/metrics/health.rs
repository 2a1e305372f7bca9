//! Health's series, read at each scrape: readiness, the broker check, missing topics.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Readings;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: Arc<str>,
}

#[derive(Debug, Default)]
pub struct HealthMetrics {
    ready: Gauge,
    kafka_reachable: Gauge,
    topic_missing: Family<TopicLabels, Gauge>,
}

impl HealthMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "ready",
            "1 while /readyz says the bridge can accept callbacks, else 0",
            self.ready.clone(),
        );
        r.register(
            "kafka_reachable",
            "1 while the last check reached the brokers, else 0",
            self.kafka_reachable.clone(),
        );
        r.register(
            "topic_missing",
            "1 for each of the bridge's topics the cluster does not have (its events go to the DLQ), else 0",
            self.topic_missing.clone(),
        );
    }

    /// The series from `now`, for each of the bridge's `topics`.
    pub fn read<'a>(&self, now: &Readings, topics: impl Iterator<Item = &'a Arc<str>>) {
        self.ready.set(i64::from(now.ready));
        self.kafka_reachable.set(i64::from(now.kafka_reachable));
        let missing = &now.missing_topics;
        for topic in topics {
            let gauge = self
                .topic_missing
                .get_or_create(&TopicLabels { topic: topic.clone() });
            gauge.set(i64::from(missing.iter().any(|m| **m == **topic)));
        }
    }
}
