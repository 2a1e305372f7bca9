//! The drain against a broker played at its seam ([`Sink`]): records sent within one tick to a
//! topic form a batch, judged whole against the topic's size limit as Kafka does; a topic can
//! be unknown (refused at enqueue, as librdkafka does once metadata says so) or have no leader
//! (its records wait unanswered, as with `message.timeout.ms=0`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::lanes::LANE_RECORDS;
use super::{Drain, DrainParts, Sink};
use crate::deliver::spool::DeliveryProblems;
use crate::publish::{Ack, SendError};
use crate::record::Record;
use crate::route::Topics;
use crate::spool::stats::SpoolStats;
use crate::spool::store::Store;

#[derive(Default)]
struct Cluster {
    /// Largest batch per topic, in encoded bytes.
    limits: HashMap<String, usize>,
    unknown: HashSet<String>,
    /// Topics whose partition has no leader.
    held: HashSet<String>,
    queue: Vec<(Record, Ack)>,
    waiting: Vec<(Record, Ack)>,
    /// Per topic, in the order written.
    written: HashMap<String, Vec<Record>>,
    /// Most records ever waiting unanswered at once.
    most_waiting: usize,
    batches_refused: usize,
}

#[derive(Clone, Default)]
struct FakeBroker {
    cluster: Arc<Mutex<Cluster>>,
}

fn report(ack: Ack, outcome: Result<(), KafkaError>) {
    if let Ack::Seq(to, seq) = ack {
        to.reported(seq, outcome);
    }
}

fn code(code: RDKafkaErrorCode) -> KafkaError {
    KafkaError::MessageProduction(code)
}

impl FakeBroker {
    fn start(cluster: Cluster) -> FakeBroker {
        let broker = FakeBroker {
            cluster: Arc::new(Mutex::new(cluster)),
        };
        let b = broker.clone();
        // Ticks while anyone else holds the broker.
        std::thread::spawn(move || {
            while Arc::strong_count(&b.cluster) > 1 {
                std::thread::sleep(Duration::from_millis(2));
                b.tick();
            }
        });
        broker
    }

    /// One produce request per topic: everything queued for it since the last tick.
    fn tick(&self) {
        let mut answers = Vec::new();
        {
            let mut c = self.cluster.lock().unwrap();
            let queue = std::mem::take(&mut c.queue);
            let mut batches: Vec<(String, Vec<(Record, Ack)>)> = Vec::new();
            for (record, ack) in queue {
                let topic = record.topic.to_string();
                match batches.iter_mut().find(|(t, _)| *t == topic) {
                    Some((_, b)) => b.push((record, ack)),
                    None => batches.push((topic, vec![(record, ack)])),
                }
            }
            for (topic, batch) in batches {
                if c.held.contains(&topic) {
                    c.waiting.extend(batch);
                    continue;
                }
                let size: usize = batch.iter().map(|(r, _)| r.encoded_len()).sum();
                if c.limits.get(&topic).is_some_and(|limit| size > *limit) {
                    c.batches_refused += 1;
                    answers.extend(
                        batch
                            .into_iter()
                            .map(|(_, a)| (a, Err(code(RDKafkaErrorCode::MessageSizeTooLarge)))),
                    );
                    continue;
                }
                for (record, ack) in batch {
                    c.written.entry(topic.clone()).or_default().push(record);
                    answers.push((ack, Ok(())));
                }
            }
            c.most_waiting = c.most_waiting.max(c.waiting.len());
        }
        for (ack, outcome) in answers {
            report(ack, outcome);
        }
    }

    /// The partition has a leader again: what waited is written, in order.
    fn release(&self, topic: &str) {
        let mut c = self.cluster.lock().unwrap();
        c.held.remove(topic);
        let waiting = std::mem::take(&mut c.waiting);
        c.queue.splice(0..0, waiting);
    }

    fn written(&self, topic: &str) -> Vec<Record> {
        self.cluster
            .lock()
            .unwrap()
            .written
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    fn wait_written(&self, topic: &str, n: usize, within: Duration) -> Vec<Record> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.written(topic);
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Sink for FakeBroker {
    fn send(&self, record: &Record, ack: Ack) -> Result<(), SendError> {
        let mut c = self.cluster.lock().unwrap();
        if c.unknown.contains(&*record.topic) {
            return Err(SendError::Kafka(code(RDKafkaErrorCode::UnknownTopic)));
        }
        c.queue.push((record.clone(), ack));
        Ok(())
    }

    fn purge(&self) {
        let purged: Vec<_> = {
            let mut c = self.cluster.lock().unwrap();
            let mut all = std::mem::take(&mut c.queue);
            all.append(&mut c.waiting);
            all
        };
        for (_, ack) in purged {
            report(ack, Err(code(RDKafkaErrorCode::PurgeQueue)));
        }
    }

    fn renew(&self) -> Result<(), String> {
        Ok(())
    }

    fn max_record_bytes(&self) -> usize {
        1_000_000
    }
}

/// Says which topics the health check found missing.
struct Missing(Vec<&'static str>);

impl DeliveryProblems for Missing {
    fn set_delivery_problem(&self, _: Option<String>) {}
    fn topic_missing(&self, topic: &str) -> bool {
        self.0.contains(&topic)
    }
}

/// A record of `topic` whose value says `n` and is `pad` bytes longer.
fn record(topic: &str, n: usize, pad: usize) -> Record {
    Record {
        topic: Arc::from(topic),
        key: format!("room{}", n % 7).into_bytes(),
        headers: vec![("ce_id".into(), format!("id{n}").into_bytes().into())],
        value: format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(pad)).into_bytes(),
        timestamp_ms: None,
    }
}

fn number(r: &Record) -> usize {
    let v: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
    v["n"].as_u64().unwrap() as usize
}

fn numbers(records: &[Record]) -> Vec<usize> {
    records.iter().map(number).collect()
}

/// `got` is `want`, or a short message saying where it parts from it.
fn assert_same(got: &[usize], want: &[usize], what: &str) {
    if got != want {
        let at = got
            .iter()
            .zip(want)
            .position(|(g, w)| g != w)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: {} records, {} expected; first difference at #{at}: {:?} vs {:?}",
            got.len(),
            want.len(),
            got.get(at),
            want.get(at)
        );
    }
}

/// The drain over a spool holding `records`.
fn drain(records: &[Record], broker: &FakeBroker, missing: Vec<&'static str>) -> (Spool, Drain) {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    for chunk in records.chunks(500) {
        store.append_batch(chunk).unwrap();
    }
    let parts = DrainParts {
        dir: dir.path().to_path_buf(),
        reader: store.reader(0),
        cleaner: store.cleaner(),
        stats: store.stats(),
        publisher: Box::new(broker.clone()),
        topics: Topics::new("t."),
        problems: Arc::new(Missing(missing)),
    };
    let stats = store.stats();
    (Spool { _dir: dir, stats }, Drain::start(parts).unwrap())
}

struct Spool {
    _dir: tempfile::TempDir,
    stats: Arc<SpoolStats>,
}

/// Kafka refuses a whole batch that passes the topic's limit: only the record too large
/// alone goes to the DLQ, as one copy cut from the record itself; its batch-mates reach the
/// topic, in order.
#[test]
fn a_batch_refused_for_its_size_costs_only_the_record_too_large_alone() {
    let mut records: Vec<Record> = (0..60).map(|n| record("t.a", n, 400)).collect();
    records[30] = record("t.a", 30, 6_000);
    let mut cluster = Cluster::default();
    cluster.limits.insert("t.a".into(), 3_000);
    // The DLQ takes less than the first copy: it is cut again, from the record.
    cluster.limits.insert("t.dlq".into(), 4_500);
    let broker = FakeBroker::start(cluster);
    let (_dir, drain) = drain(&records, &broker, vec![]);
    let written = broker.wait_written("t.a", 59, Duration::from_secs(20));
    let dlq = broker.wait_written("t.dlq", 1, Duration::from_secs(5));
    drain.stop(Instant::now() + Duration::from_secs(2));
    let expected: Vec<usize> = (0..60).filter(|n| *n != 30).collect();
    assert_same(
        &numbers(&written),
        &expected,
        "the batch-mates reach the topic, in order",
    );
    assert!(
        broker.cluster.lock().unwrap().batches_refused > 0,
        "no batch was refused"
    );
    assert_eq!(dlq.len(), 1, "only the record too large alone goes to the DLQ");
    let copy: serde_json::Value = serde_json::from_slice(&dlq[0].value).unwrap();
    assert_eq!(copy["error_code"], 5041);
    let body = copy["body"].as_str().unwrap();
    assert!(
        body.starts_with("{\"n\":30,"),
        "the copy keeps the record's own start: {body:.80}"
    );
}

/// A topic that is gone holds back only its own records: the other topic's flow at once.
#[test]
fn an_unknown_topic_does_not_throttle_the_others() {
    for missing in [vec![], vec!["t.gone"]] {
        let records: Vec<Record> = (0..400)
            .map(|n| record(if n % 2 == 0 { "t.a" } else { "t.gone" }, n, 50))
            .collect();
        let mut cluster = Cluster::default();
        cluster.unknown.insert("t.gone".into());
        let broker = FakeBroker::start(cluster);
        let confirmed = !missing.is_empty();
        let (_dir, drain) = drain(&records, &broker, missing);
        let written = broker.wait_written("t.a", 200, Duration::from_secs(3));
        let dlq = broker.wait_written("t.dlq", if confirmed { 200 } else { 0 }, Duration::from_secs(3));
        drain.stop(Instant::now() + Duration::from_millis(100));
        let expected: Vec<usize> = (0..400).step_by(2).collect();
        assert_same(
            &numbers(&written),
            &expected,
            &format!("t.a, t.gone confirmed missing: {confirmed}"),
        );
        // Confirmed missing, its records go to the DLQ without a pause each; until then they
        // are retried.
        assert_eq!(dlq.len(), if confirmed { 200 } else { 0 });
    }
}

/// A partition without a leader holds its topic's share of the window, no more: the other
/// topic's records all get through, memory stays bounded, and once the leader is back every
/// deferred record is read again from disk and written once, in order. Two such topics,
/// back one after the other.
#[test]
fn a_topic_without_a_leader_does_not_stall_the_others() {
    let topic = |n: usize| ["t.stuck", "t.b", "t.late"][n % 3];
    let records: Vec<Record> = (0..18_000).map(|n| record(topic(n), n, 20)).collect();
    let of = |t: &str| (0..18_000).filter(|n| topic(*n) == t).collect::<Vec<usize>>();
    let mut cluster = Cluster::default();
    cluster.held.insert("t.stuck".into());
    cluster.held.insert("t.late".into());
    let broker = FakeBroker::start(cluster);
    let (spool, drain) = drain(&records, &broker, vec![]);
    let written = broker.wait_written("t.b", 6_000, Duration::from_secs(20));
    assert_same(
        &numbers(&written),
        &of("t.b"),
        "t.b while two topics have no leader",
    );
    assert!(broker.cluster.lock().unwrap().most_waiting <= 2 * LANE_RECORDS);
    broker.release("t.stuck");
    let stuck = broker.wait_written("t.stuck", 6_000, Duration::from_secs(20));
    assert_same(
        &numbers(&stuck),
        &of("t.stuck"),
        "t.stuck once its leader is back",
    );
    assert!(broker.written("t.late").is_empty());
    broker.release("t.late");
    let late = broker.wait_written("t.late", 6_000, Duration::from_secs(20));
    drain.stop(Instant::now() + Duration::from_secs(2));
    assert_same(&numbers(&late), &of("t.late"), "t.late once its leader is back");
    assert_eq!(
        spool.stats.watermark(),
        18_000,
        "the watermark passes every record delivered"
    );
}
