//! `spool replay`: publish spooled records again, for when a topic lost what it had (a
//! mistaken delete, a retention setting, a rebuilt cluster). Records go out exactly as the
//! bridge sent them — topic, key, headers, value, so the same `event_id` — plus a
//! `replayed-at` header, in spool order, through the bridge's own producer settings
//! (idempotent, acks=all), so one room's records keep their order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;

use super::error::ToolError;
use super::filter::{event_id, Filter};
use super::produce::send_when_room;
use crate::config::DeliveryMode;
use crate::deliver::spool::SpoolView;
use crate::metrics::Metrics;
use crate::publish::{self, Publisher};
use crate::route::Topics;

/// The header that tells a replayed record from the original (RFC 3339, when it was replayed).
pub const REPLAYED_AT: &str = "replayed-at";
/// Records in the producer at once: bounds memory on a long replay.
const IN_FLIGHT: usize = 10_000;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The spool directory (the bridge's --spool-dir).
    #[arg(long, env = "BRIDGE_SPOOL_DIR", default_value = "spool")]
    pub spool_dir: PathBuf,
    /// Kafka bootstrap servers.
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// librdkafka properties, KEY=VALUE, as for the bridge (TLS, SASL).
    #[arg(long = "kafka-property", value_parser = crate::config::parse_property)]
    pub kafka_properties: Vec<(String, String)>,
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

/// Replays; `Ok(false)` when any record failed (each named on stderr).
pub fn run(args: &ReplayArgs) -> Result<bool, ToolError> {
    let view = SpoolView::read(&args.spool_dir)?;
    let mut total = 0u64;
    let mut plan: BTreeMap<String, Tally> = BTreeMap::new();
    view.for_each_record(|seq, record, _| {
        if args.filter.matches(record) {
            total += 1;
            let t = plan.entry(record.topic.to_string()).or_default();
            t.seqs = Some(t.seqs.map_or((seq, seq), |(a, _)| (a, seq)));
        }
        true
    })?;
    if args.dry_run || total == 0 {
        print_plan(&plan, total, args.dry_run);
        return Ok(true);
    }
    let properties = publish::properties_for(DeliveryMode::Kafka, &args.kafka_properties);
    let publisher = Publisher::new(&args.brokers, &properties, Metrics::new(&Topics::new("")))?;
    let replayed_at = super::filter::time(crate::clock::now_ms());
    let (tx, rx) = mpsc::channel();
    let mut progress = Progress::new(total);
    let mut outstanding = 0usize;
    let mut failures = Vec::new();
    view.for_each_record(|seq, record, _| {
        if !args.filter.matches(record) {
            return true;
        }
        let mut again = record.clone();
        again
            .headers
            .push((REPLAYED_AT.into(), replayed_at.clone().into_bytes().into()));
        while outstanding >= IN_FLIGHT {
            outstanding -= settle(&rx, &mut plan, &mut failures, &mut progress);
        }
        let (topic, id, tx) = (
            again.topic.to_string(),
            event_id(&again).unwrap_or_default(),
            tx.clone(),
        );
        send_when_room(&publisher, &again, move |r| {
            let _ = tx.send((seq, topic.clone(), id.clone(), r));
        });
        outstanding += 1;
        true
    })?;
    while outstanding > 0 {
        outstanding -= settle(&rx, &mut plan, &mut failures, &mut progress);
    }
    for (seq, topic, id, error) in &failures {
        eprintln!("FAILED seq {seq} ({topic}, event_id {id}): {error}");
    }
    for (topic, t) in &plan {
        println!("{topic}: {} replayed, {} failed", t.sent, t.failed);
    }
    println!(
        "replayed {} of {total} records to {}",
        total - failures.len() as u64,
        args.brokers
    );
    Ok(failures.is_empty())
}

type Report = (u64, String, String, Result<(), String>);

/// Takes one delivery report (waiting for it); returns 1.
fn settle(
    rx: &mpsc::Receiver<Report>,
    plan: &mut BTreeMap<String, Tally>,
    failures: &mut Vec<(u64, String, String, String)>,
    progress: &mut Progress,
) -> usize {
    let Ok((seq, topic, id, result)) = rx.recv() else {
        return 1; // every sender is gone: nothing more will come
    };
    let tally = plan.entry(topic.clone()).or_default();
    match result {
        Ok(()) => tally.sent += 1,
        Err(e) => {
            tally.failed += 1;
            failures.push((seq, topic, id, e));
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
