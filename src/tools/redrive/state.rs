//! What `dlq redrive` remembers between runs, in its Kafka consumer group: per partition, the
//! committed offset (every record before it is done: redriven, or final) and, in the commit's
//! metadata, the offsets after it that were redriven already (`r:12-15,19`).
//!
//! Kafka keeps commit metadata; a broker that drops it (tansu 0.6 does) keeps only the offset,
//! so a record redriven *after* one still refused in the same partition can be published again
//! by a later run — with the same `event_id` and `received_at_ms`, which consumers drop.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

/// Kafka keeps at most `offset.metadata.max.bytes` (4096 by default) of metadata.
const MAX_METADATA: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Published to its family topic: never again.
    Redriven,
    /// Not done: still refused, filtered out, or its publish failed. The next run reads it.
    No,
}

#[derive(Debug, Default)]
struct Partition {
    /// Where this run starts: the committed offset, if any.
    start: Option<i64>,
    /// Redriven by earlier runs, past `start`.
    redriven: BTreeSet<i64>,
    /// What this run made of each record it read.
    seen: BTreeMap<i64, Done>,
}

#[derive(Debug, Default)]
pub struct Progress {
    partitions: BTreeMap<i32, Partition>,
}

impl Progress {
    /// The group's committed offsets and metadata for every partition of `topic`.
    pub fn load(consumer: &BaseConsumer, topic: &str) -> Result<Progress, KafkaError> {
        let all = partitions(consumer, topic)?;
        let committed = consumer.committed_offsets(all, Duration::from_secs(10))?;
        let mut partitions = BTreeMap::new();
        for elem in committed.elements_for_topic(topic) {
            let start = match elem.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            let redriven = parse_ranges(Some(elem.metadata()));
            partitions.insert(
                elem.partition(),
                Partition {
                    start,
                    redriven,
                    ..Partition::default()
                },
            );
        }
        Ok(Progress { partitions })
    }

    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Reads every partition from where the last run stopped.
    pub fn assign(&self, consumer: &BaseConsumer, topic: &str) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for (&p, state) in &self.partitions {
            tpl.add_partition_offset(topic, p, state.start.map_or(Offset::Beginning, Offset::Offset))?;
        }
        consumer.assign(&tpl)
    }

    /// The records earlier runs redrove past where this one starts: not to be read again.
    pub fn already_redriven(&self) -> BTreeMap<i32, BTreeSet<i64>> {
        self.partitions
            .iter()
            .map(|(&p, s)| (p, s.redriven.clone()))
            .collect()
    }

    pub fn mark(&mut self, partition: i32, offset: i64, done: Done) {
        let p = self.partitions.entry(partition).or_default();
        // A record whose publish failed was first marked when it was read: the worse wins.
        let slot = p.seen.entry(offset).or_insert(done);
        if done == Done::No {
            *slot = Done::No;
        }
    }

    /// Commits, per partition, the first offset not done and the redriven offsets after it.
    pub fn commit(&self, consumer: &BaseConsumer, topic: &str) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for (&p, state) in &self.partitions {
            let Some((offset, redriven)) = state.next_commit() else {
                continue;
            };
            let mut metadata = format_ranges(&redriven);
            if metadata.len() > MAX_METADATA {
                eprintln!("redrive: partition {p}: too many records redriven past one still refused to remember them all; a later run may publish some again (same event_id and received_at_ms: consumers drop them)");
                metadata.truncate(metadata[..MAX_METADATA].rfind(',').unwrap_or(0));
            }
            tpl.add_partition_offset(topic, p, Offset::Offset(offset))?;
            if let Some(mut elem) = tpl.find_partition(topic, p) {
                elem.set_metadata(metadata);
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        consumer.commit(&tpl, CommitMode::Sync)
    }
}

#[cfg(test)]
impl Progress {
    /// What [`Progress::commit`] would commit: per partition, the offset.
    pub fn next_commits(&self) -> Vec<(i32, i64)> {
        self.partitions
            .iter()
            .filter_map(|(&p, s)| s.next_commit().map(|(o, _)| (p, o)))
            .collect()
    }
}

impl Partition {
    /// `None` when this run read nothing here.
    fn next_commit(&self) -> Option<(i64, BTreeSet<i64>)> {
        let last = *self.seen.keys().next_back()?;
        let first_not_done = self.seen.iter().find(|(_, d)| **d == Done::No).map(|(o, _)| *o);
        let offset = first_not_done.unwrap_or(last + 1);
        let redriven = self
            .redriven
            .iter()
            .copied()
            .chain(
                self.seen
                    .iter()
                    .filter(|(_, d)| **d == Done::Redriven)
                    .map(|(o, _)| *o),
            )
            .filter(|o| *o >= offset)
            .collect();
        Some((offset, redriven))
    }
}

/// `r:3-5,9` → {3, 4, 5, 9}; anything else → empty.
/// For tests and callers that want the assignment list.
pub fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<TopicPartitionList, KafkaError> {
    let meta = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for t in meta.topics() {
        for p in t.partitions() {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    Ok(tpl)
}

fn parse_ranges(metadata: Option<&str>) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    let Some(list) = metadata.and_then(|m| m.strip_prefix("r:")) else {
        return out;
    };
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>()) {
            // A bound keeps a damaged entry from making us allocate billions.
            out.extend(a..=b.min(a + 1_000_000));
        }
    }
    out
}

fn format_ranges(offsets: &BTreeSet<i64>) -> String {
    let mut parts = Vec::new();
    let mut iter = offsets.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    format!("r:{}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let set: BTreeSet<i64> = [3, 4, 5, 9, 11, 12].into_iter().collect();
        assert_eq!(format_ranges(&set), "r:3-5,9,11-12");
        assert_eq!(parse_ranges(Some("r:3-5,9,11-12")), set);
        assert!(parse_ranges(Some("something else")).is_empty());
        assert!(parse_ranges(None).is_empty());
    }

    #[test]
    fn the_commit_stops_at_the_first_record_not_done() {
        let mut p = Partition::default();
        p.seen.insert(10, Done::Redriven);
        p.seen.insert(11, Done::No);
        p.seen.insert(12, Done::Redriven);
        assert_eq!(p.next_commit(), Some((11, [12].into_iter().collect())));
        p.seen.insert(11, Done::Redriven);
        assert_eq!(p.next_commit(), Some((13, BTreeSet::new())));
        assert_eq!(Partition::default().next_commit(), None);
    }
}
