//! `spool replay`: publish spooled records again, for when a topic lost what it had (a
//! mistaken delete, a retention setting, a rebuilt cluster). Records go out exactly as the
//! bridge sent them — topic, key, headers, value, so the same `event_id` — plus a
//! `replayed-at` header, in spool order, through the bridge's own producer settings
//! (idempotent, acks=all), so one room's records keep their order.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::{DeliveryMode, SpoolDirArg};
use crate::kafka_args::KafkaArgs;
use crate::metrics::Metrics;
use crate::publish::{self, Publisher};
use crate::record::Record;
use crate::route::Topics;
use crate::spool::SpoolView;
use crate::tools::error::ToolError;
use crate::tools::filter::{event_id, Filter};
use crate::tools::produce::send_when_room;

/// The header that tells a replayed record from the original (RFC 3339, when it was replayed).
pub const REPLAYED_AT: &str = "replayed-at";
/// Records in the producer at once: bounds memory on a long replay.
const IN_FLIGHT: usize = 10_000;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub dir: SpoolDirArg,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub filter: Filter,
    /// Print what would be published, per topic, and publish nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Outcome per topic.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    failed: u64,
    seqs: Option<(u64, u64)>,
}

/// What the first pass found to replay.
#[derive(Debug, Default)]
struct Plan {
    per_topic: BTreeMap<String, Tally>,
    /// Every seq to replay, ascending.
    seqs: Vec<u64>,
}

impl Plan {
    fn of(view: &SpoolView, filter: &Filter) -> Result<Plan, ToolError> {
        let mut plan = Plan::default();
        view.for_each_record(|seq, record, _| {
            if filter.matches(record) {
                plan.seqs.push(seq);
                let t = plan.per_topic.entry(record.topic.to_string()).or_default();
                t.seqs = Some(t.seqs.map_or((seq, seq), |(a, _)| (a, seq)));
            }
            true
        })?;
        Ok(plan)
    }
}

/// What the replay did: per topic, what was sent and what failed, and the planned records
/// that were gone from the spool when it came to read them.
#[derive(Debug, Default)]
struct Outcome {
    per_topic: BTreeMap<String, Tally>,
    failures: Vec<(u64, String, String, String)>,
    planned: usize,
    gone: Vec<u64>,
}

impl Outcome {
    fn sent(&self) -> u64 {
        self.per_topic.values().map(|t| t.sent).sum()
    }

    /// Every planned record was sent.
    fn complete(&self) -> bool {
        self.failures.is_empty() && self.gone.is_empty()
    }

    fn print(&self, brokers: &str) {
        for (seq, topic, id, error) in &self.failures {
            eprintln!("FAILED seq {seq} ({topic}, event_id {id}): {error}");
        }
        if !self.gone.is_empty() {
            eprintln!(
                "GONE {} records (seqs {}): deleted from the spool before they could be read \
                 (the bridge deletes delivered segments; stop it or start it with --spool-retain, \
                 then replay again)",
                self.gone.len(),
                ranges(&self.gone)
            );
        }
        for (topic, t) in &self.per_topic {
            println!("{topic}: {} replayed, {} failed", t.sent, t.failed);
        }
        println!(
            "replayed {} of {} records to {brokers}; {} failed, {} gone",
            self.sent(),
            self.planned,
            self.failures.len(),
            self.gone.len()
        );
    }
}

/// Where one record's delivery report goes.
#[derive(Clone)]
struct Reply {
    tx: mpsc::Sender<Report>,
    seq: u64,
    topic: String,
    id: String,
}

impl Reply {
    fn report(&self, result: Result<(), String>) {
        let _ = self
            .tx
            .send((self.seq, self.topic.clone(), self.id.clone(), result));
    }
}

/// Replays; `Ok(false)` when any record failed or was gone (each named on stderr).
pub fn run(args: &ReplayArgs) -> Result<bool, ToolError> {
    let view = SpoolView::read(&args.dir.spool_dir)?;
    let plan = Plan::of(&view, &args.filter)?;
    if args.dry_run || plan.seqs.is_empty() {
        print_plan(&plan.per_topic, plan.seqs.len() as u64, args.dry_run);
        return Ok(true);
    }
    let properties = publish::properties_for(DeliveryMode::Kafka, &args.kafka.properties()?);
    let publisher = Publisher::new(&args.kafka.brokers, &properties, Metrics::new(&Topics::new("")))?;
    let replayed_at = crate::tools::filter::time(crate::clock::now_ms());
    let outcome = replay(&view, &args.filter, &plan, &replayed_at, |record, reply| {
        send_when_room(&publisher, record, move |r| reply.report(r));
    })?;
    outcome.print(&args.kafka.brokers);
    Ok(outcome.complete())
}

/// The second pass: sends what it finds of the plan, through `send`, and counts what it
/// finds no more.
fn replay(
    view: &SpoolView,
    filter: &Filter,
    plan: &Plan,
    replayed_at: &str,
    mut send: impl FnMut(&Record, Reply),
) -> Result<Outcome, ToolError> {
    let (tx, rx) = mpsc::channel();
    let mut outcome = Outcome {
        planned: plan.seqs.len(),
        ..Outcome::default()
    };
    let mut progress = Progress::new(plan.seqs.len() as u64);
    let mut outstanding = 0usize;
    let mut read = Vec::with_capacity(plan.seqs.len());
    view.for_each_record(|seq, record, _| {
        if !filter.matches(record) {
            return true;
        }
        read.push(seq);
        let mut again = record.clone();
        again
            .headers
            .push((REPLAYED_AT.into(), replayed_at.as_bytes().to_vec().into()));
        while outstanding >= IN_FLIGHT {
            outstanding -= settle(&rx, &mut outcome, &mut progress);
        }
        let reply = Reply {
            tx: tx.clone(),
            seq,
            topic: again.topic.to_string(),
            id: event_id(&again).unwrap_or_default(),
        };
        send(&again, reply);
        outstanding += 1;
        true
    })?;
    while outstanding > 0 {
        outstanding -= settle(&rx, &mut outcome, &mut progress);
    }
    outcome.gone = missing(&plan.seqs, &read);
    Ok(outcome)
}

/// The seqs of `planned` not in `read` (both ascending).
fn missing(planned: &[u64], read: &[u64]) -> Vec<u64> {
    let mut read = read.iter().peekable();
    planned
        .iter()
        .copied()
        .filter(|seq| {
            while read.next_if(|r| **r < *seq).is_some() {}
            read.next_if_eq(&seq).is_none()
        })
        .collect()
}

/// `3-5,9` for {3, 4, 5, 9}; at most ten ranges, then how many more.
fn ranges(seqs: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < seqs.len() {
        let start = seqs[i];
        while i + 1 < seqs.len() && seqs[i + 1] == seqs[i] + 1 {
            i += 1;
        }
        parts.push(if start == seqs[i] {
            start.to_string()
        } else {
            format!("{start}-{}", seqs[i])
        });
        i += 1;
    }
    if parts.len() > 10 {
        let more = parts.len() - 10;
        parts.truncate(10);
        parts.push(format!("and {more} more ranges"));
    }
    parts.join(",")
}

type Report = (u64, String, String, Result<(), String>);

/// Takes one delivery report (waiting for it); returns 1.
fn settle(rx: &mpsc::Receiver<Report>, outcome: &mut Outcome, progress: &mut Progress) -> usize {
    let Ok((seq, topic, id, result)) = rx.recv() else {
        return 1; // every sender is gone: nothing more will come
    };
    let tally = outcome.per_topic.entry(topic.clone()).or_default();
    match result {
        Ok(()) => tally.sent += 1,
        Err(e) => {
            tally.failed += 1;
            outcome.failures.push((seq, topic, id, e));
        }
    }
    progress.tick();
    1
}

fn print_plan(plan: &BTreeMap<String, Tally>, total: u64, dry_run: bool) {
    for (topic, t) in plan {
        let (a, b) = t.seqs.unwrap_or_default();
        println!("{topic}: seqs {a}..={b}");
    }
    let verb = if dry_run {
        "would replay"
    } else {
        "nothing to replay:"
    };
    println!("{verb} {total} records");
}

/// A line on stderr at most once a second: done / total and the rate.
struct Progress {
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            done: 0,
            started: now,
            last: now,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.last.elapsed() >= Duration::from_secs(1) || self.done == self.total {
            self.last = Instant::now();
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            eprintln!("replay: {}/{} records ({rate:.0}/s)", self.done, self.total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::Store;

    fn record(i: u64) -> Record {
        Record {
            topic: "t.live.member".into(),
            key: Vec::new(),
            headers: Vec::new(),
            value: format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(200)).into_bytes(),
            timestamp_ms: None,
        }
    }

    /// Segments deleted between the plan and the sending (the bridge delivered them): the
    /// replay says what it sent, names what was gone, and does not call itself complete.
    #[test]
    fn records_gone_under_a_replay_are_reported_not_counted_as_sent() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(dir.path(), 4096).unwrap();
        for i in 0..100 {
            store.append_batch(&[record(i)]).unwrap();
        }
        drop(store);
        let view = SpoolView::read(dir.path()).unwrap();
        let plan = Plan::of(&view, &Filter::default()).unwrap();
        assert_eq!(plan.seqs.len(), 100);
        let mut segments: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        segments.sort();
        assert!(segments.len() > 3, "{segments:?}");
        std::fs::remove_file(&segments[1]).unwrap();
        std::fs::remove_file(&segments[2]).unwrap();
        let mut sent = 0;
        let outcome = replay(&view, &Filter::default(), &plan, "now", |_, reply| {
            sent += 1;
            reply.report(Ok(()));
        })
        .unwrap();
        assert!(sent < 100);
        assert_eq!(outcome.sent(), sent);
        assert_eq!(outcome.gone.len() as u64, 100 - sent);
        assert!(!outcome.complete(), "records were gone: not complete");
    }

    #[test]
    fn missing_and_ranges() {
        assert_eq!(missing(&[1, 2, 3, 5, 8], &[2, 5]), [1, 3, 8]);
        assert_eq!(ranges(&[1, 2, 3, 5, 8, 9]), "1-3,5,8-9");
    }
}
