//! Helpers for the spool tests: who was acknowledged in which order, reading until every one
//! of them is on the topic, and checking nothing acknowledged is missing or out of order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::consume::{read_until, Msg};

/// Acknowledged members per room (the Kafka key), in acknowledgement order.
pub type Acks = BTreeMap<String, Vec<String>>;

pub fn member(m: &Msg) -> &str {
    m.value["members"][0].as_str().unwrap_or("")
}

/// Reads `topic` from offset 0 until every member of `acks` is there or `timeout` passes.
pub fn read_acked(brokers: &str, topic: &str, acks: &Acks, timeout: Duration) -> Vec<Msg> {
    let mut wanted: HashSet<&str> = acks.values().flatten().map(String::as_str).collect();
    let mut seen = 0;
    read_until(brokers, topic, timeout, |msgs| {
        for m in &msgs[seen..] {
            wanted.remove(member(m));
        }
        seen = msgs.len();
        wanted.is_empty()
    })
}

/// One room out of order.
#[derive(Debug)]
pub struct Disorder {
    pub room: String,
    /// Acknowledged members found on the topic, in acknowledgement order.
    pub expected: Vec<String>,
    /// Their first occurrences, in the order received.
    pub got: Vec<String>,
    /// The room's first records as `member@partition/offset`, to tell a broker quirk apart.
    pub first_records: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Verdict {
    /// Acknowledged, never on the topic.
    pub missing: Vec<String>,
    /// Rooms whose first occurrences are not in acknowledgement order.
    pub disorder: Vec<Disorder>,
    /// Rooms spread over more than one partition.
    pub split_rooms: Vec<String>,
    /// Extra copies of a member already on the topic (at-least-once after a crash).
    pub duplicates: usize,
    /// Copies of one member with different event_ids.
    pub unstable_ids: Vec<String>,
    pub total: usize,
    /// Records received with an offset not above the previous one of their partition: the
    /// broker numbering oddly (order is judged by receipt, so this is only reported).
    pub offset_regressions: usize,
}

/// Checks `msgs` against `acks`: every acknowledged member present, per room the first
/// occurrences in acknowledgement order, one partition per room, duplicates with one event_id.
/// Records nobody acknowledged (a request cut by a crash) may be there too; they are ignored.
/// Order is the order the consumer received each partition's records in (the log order a
/// real consumer sees), not the offsets tansu reports.
pub fn verify(msgs: &[Msg], acks: &Acks) -> Verdict {
    let mut v = Verdict {
        total: msgs.len(),
        ..Verdict::default()
    };
    let mut sorted: Vec<&Msg> = msgs.iter().collect();
    sorted.sort_by_key(|m| m.partition); // stable: keeps the order of receipt
    v.offset_regressions = sorted
        .windows(2)
        .filter(|w| w[0].partition == w[1].partition && w[1].offset <= w[0].offset)
        .count();
    let mut ids: HashMap<&str, &serde_json::Value> = HashMap::new();
    for m in &sorted {
        match ids.get(member(m)) {
            Some(id) => {
                v.duplicates += 1;
                if *id != &m.value["event_id"] {
                    v.unstable_ids.push(member(m).to_owned());
                }
            }
            None => {
                ids.insert(member(m), &m.value["event_id"]);
            }
        }
    }
    for (room, acked) in acks {
        let in_room: Vec<&&Msg> = sorted.iter().filter(|m| &m.key == room).collect();
        if in_room.iter().any(|m| m.partition != in_room[0].partition) {
            v.split_rooms.push(room.clone());
        }
        let wanted: HashSet<&str> = acked.iter().map(String::as_str).collect();
        let mut firsts: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for m in &in_room {
            if wanted.contains(member(m)) && seen.insert(member(m)) {
                firsts.push(member(m).to_owned());
            }
        }
        v.missing
            .extend(acked.iter().filter(|a| !seen.contains(a.as_str())).cloned());
        let expected: Vec<String> = acked
            .iter()
            .filter(|a| seen.contains(a.as_str()))
            .cloned()
            .collect();
        if firsts != expected {
            let at = in_room
                .iter()
                .take(6)
                .map(|m| format!("{}@{}/{}", member(m), m.partition, m.offset));
            v.disorder.push(Disorder {
                room: room.clone(),
                expected,
                got: firsts,
                first_records: at.collect(),
            });
        }
    }
    v
}

impl Verdict {
    /// Panics (the test fails) on anything but duplicates.
    pub fn assert_complete(&self, what: &str) {
        let acked_missing = self.missing.len();
        assert!(
            self.missing.is_empty(),
            "{what}: {acked_missing} acknowledged but not on Kafka: {:?}",
            self.missing
        );
        let disorder: Vec<String> = self
            .disorder
            .iter()
            .map(|d| {
                let (room, expected, got) = (&d.room, &d.expected, &d.got);
                let at = expected.iter().zip(got).take_while(|(e, g)| e == g).count();
                let from = at.saturating_sub(3);
                format!(
                    "{room}: first difference at #{at} of {}: expected {:?}, got {:?}; the room's first records: {:?}",
                    expected.len(),
                    &expected[from..(at + 5).min(expected.len())],
                    &got[from..(at + 5).min(got.len())],
                    d.first_records
                )
            })
            .collect();
        assert!(
            self.disorder.is_empty(),
            "{what}: per-room order broken (first occurrences vs acknowledgements):\n{}",
            disorder.join("\n")
        );
        assert!(
            self.split_rooms.is_empty(),
            "{what}: rooms over several partitions: {:?}",
            self.split_rooms
        );
        assert!(
            self.unstable_ids.is_empty(),
            "{what}: duplicates with different event_ids: {:?}",
            self.unstable_ids
        );
    }
}

/// The newest segment, `<dir>/<20-digit base seq>.log`.
pub fn last_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("spool dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.len() == 24 && name.ends_with(".log") && name[..20].bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    segments.sort();
    segments
        .pop()
        .unwrap_or_else(|| panic!("no segment in {}", dir.display()))
}

/// The segment's bytes without the preallocated zeros after its data (a frame ends with its
/// value's last byte, never a zero).
pub fn segment_data(segment: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(segment).expect("read segment");
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes.truncate(end);
    bytes
}

/// Where each frame of a segment starts: `[len u32 LE][crc u32][len bytes]`, back to back.
pub fn frame_starts(segment: &Path) -> Vec<u64> {
    let bytes = segment_data(segment);
    let (mut at, mut starts) = (0usize, Vec::new());
    while at + 8 <= bytes.len() {
        starts.push(at as u64);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        at += 8 + len as usize;
    }
    assert_eq!(at, bytes.len(), "{} does not end on a frame", segment.display());
    starts
}

/// A small deterministic generator (xorshift64*), seeded and printed so a run can be replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `$SPOOL_TEST_SEED` or the clock; prints the seed.
    pub fn from_env() -> Rng {
        let seed = std::env::var("SPOOL_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("SPOOL_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    /// Uniform enough in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        lo + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (hi - lo).max(1)
    }
}
