//! The drain's lanes: one per topic. Order only matters within a room, and a room's records
//! all go to one topic, so a failure holds back only its own topic's newer records, and each
//! topic may hold only a share of the window: a topic whose partition has no leader (its
//! records wait in librdkafka, unanswered, for as long as the outage lasts) or whose records
//! all fail cannot fill the window and stall the others.
//!
//! The memory bound stays the window's (5 000 records / 8 MiB): a topic past its share
//! ([`LANE_RECORDS`] / [`LANE_BYTES`]) takes no more, and its newer records are *deferred*:
//! left on disk, where the spool keeps them (the watermark stops at the first one), and read
//! again once the topic's records drain below half its share. A deferred topic costs one
//! number in memory however long its outage lasts; up to three topics in trouble at once
//! still leave a quarter of the window to the rest.

use std::collections::HashMap;
use std::sync::Arc;

use super::round::Round;

/// A topic's share of the window: a quarter of it (checked where the window is defined).
pub(super) const LANE_RECORDS: usize = 1_250;
pub(super) const LANE_BYTES: usize = 2 << 20;

#[derive(Debug, Default)]
pub(super) struct Lane {
    pub topic: Arc<str>,
    /// Records held (read, not yet delivered) and their bytes.
    pub records: usize,
    pub bytes: usize,
    /// Records handed to the producer whose report has not come back.
    pub outstanding: usize,
    pub round: Round,
    /// This topic's records from here on were not taken (its share was full): all of them
    /// are on disk, to be read again.
    pub deferred_from: Option<u64>,
    /// The disk scan in which one of its records was passed over: none after it may be taken
    /// in that scan, or it would overtake the one passed over.
    pub passed_in_scan: u64,
}

impl Lane {
    /// Room for one more record of `bytes`.
    pub fn has_room(&self, bytes: usize) -> bool {
        self.records < LANE_RECORDS && (self.bytes == 0 || self.bytes + bytes <= LANE_BYTES)
    }

    /// Drained enough to read its deferred records again (half its share: not one record at
    /// a time, each costing a scan of the disk).
    pub fn can_resume(&self) -> bool {
        self.deferred_from.is_some()
            && self.records <= LANE_RECORDS / 2
            && self.bytes <= LANE_BYTES / 2
            && matches!(self.round, Round::Sending)
    }
}

/// The lanes, found by topic; a lane lives as long as the drain (topics are few).
#[derive(Debug, Default)]
pub(super) struct Lanes {
    pub all: Vec<Lane>,
    by_topic: HashMap<Arc<str>, usize>,
}

impl Lanes {
    /// The lane of `topic`, made on first sight.
    pub fn id(&mut self, topic: &Arc<str>) -> usize {
        if let Some(&id) = self.by_topic.get(topic) {
            return id;
        }
        let id = self.all.len();
        self.all.push(Lane {
            topic: Arc::clone(topic),
            ..Lane::default()
        });
        self.by_topic.insert(Arc::clone(topic), id);
        id
    }

    pub fn outstanding(&self) -> usize {
        self.all.iter().map(|l| l.outstanding).sum()
    }

    pub fn any_waiting(&self) -> bool {
        self.all.iter().any(|l| l.round.is_waiting())
    }

    /// The first seq some lane still has to read again from disk.
    pub fn first_deferred(&self) -> Option<u64> {
        self.all.iter().filter_map(|l| l.deferred_from).min()
    }
}
