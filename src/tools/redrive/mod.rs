//! `dlq redrive`: run what an earlier version refused through today's decoder. A callback
//! refused for its content sits on `<prefix>dlq` with its query and body; once the decoder
//! accepts it (a fix, a new lenient type), this publishes the event it should have been, with
//! its original `received_at_ms` (so the same `event_id` and the same dedup pair), to its
//! family topic. What is still refused stays where it is, counted by reason.
//!
//! Safe to run twice: progress lives in the consumer group (`--group`). Its committed offset
//! stops at the first record not yet done (still refused, or filtered out), and the commit's
//! metadata lists the records after it that were redriven, so no run publishes one twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clap::Args;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;

use self::state::{Done, Progress};
use super::error::ToolError;
use super::filter::parse_time;
use super::produce::send_when_room;
use crate::config::{DeliveryMode, TopicPrefixArg, UnknownCommands};
use crate::decode::Decoder;
use crate::dlq::DlqValue;
use crate::kafka_args::KafkaArgs;
use crate::metrics::Metrics;
use crate::publish::{self, Publisher};
use crate::record::Record;
use crate::route::Topics;

mod state;

#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub topic: TopicPrefixArg,
    /// Only DLQ records received at or after this (RFC 3339, or a duration ago like 6h).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only DLQ records with these error codes (4001, 4002, ...).
    #[arg(long = "code", value_delimiter = ',')]
    pub codes: Vec<u32>,
    /// As the bridge's --unknown-commands: what decodes as passthrough.
    #[arg(long, value_enum, env = "BRIDGE_UNKNOWN_COMMANDS", default_value_t = UnknownCommands::Passthrough)]
    pub unknown_commands: UnknownCommands,
    /// Where the progress is kept (a Kafka consumer group).
    #[arg(long, default_value = "tencent-kafka-bridge-dlq-redrive")]
    pub group: String,
    /// Show what would be redriven and what is still refused; publish and remember nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The header that tells a redriven record from one the bridge published when the callback
/// came (RFC 3339, when it was redriven). Everything else is as the bridge would have sent it.
pub const REDRIVEN_AT: &str = "redriven-at";

fn redriven_at() -> String {
    super::filter::time(crate::clock::now_ms())
}

/// What redrive makes of one DLQ record.
enum Verdict {
    Redrive(Record),
    /// Left on the DLQ, with why.
    Stays(String),
    /// Not this run's: filtered out.
    Skip,
}

/// Runs; `Ok(false)` when a publish failed (each named on stderr).
pub fn run(args: &RedriveArgs) -> Result<bool, ToolError> {
    let dlq = format!("{}dlq", args.topic.topic_prefix);
    let consumer = consumer(args)?;
    let mut progress = Progress::load(&consumer, &dlq)?;
    let properties = publish::properties_for(DeliveryMode::Kafka, &args.kafka.properties()?);
    let publisher = Publisher::new(
        &args.kafka.brokers,
        &properties,
        Metrics::new(&Topics::new(&args.topic.topic_prefix)),
    )?;
    let decoder = Decoder {
        topics: Topics::new(&args.topic.topic_prefix),
        unknown: args.unknown_commands,
        max_record_bytes: publisher.max_record_bytes(),
    };
    progress.assign(&consumer, &dlq)?;
    let mut tally = Tally::default();
    let skip = progress.already_redriven();
    let open = progress.partitions();
    let records = read_all(&consumer, open, &skip, |payload, place| {
        judge(args, &decoder, payload, place)
    });
    let send = |record: &Record, at: (i32, i64), reply: &Reply| {
        let reply = reply.clone();
        send_when_room(&publisher, record, move |r| {
            let _ = reply.send((at, r));
        });
    };
    let commit = |progress: &Progress| {
        if args.dry_run {
            return Ok(());
        }
        progress.commit(&consumer, &dlq)
    };
    let failed = redrive_all(
        records,
        send,
        &mut progress,
        commit,
        &mut tally,
        args.dry_run,
        &dlq,
    )?;
    tally.print(args.dry_run, failed, &args.kafka.brokers);
    Ok(failed == 0)
}

/// Records published per batch. A batch's reports are all back before its progress is
/// committed, so a run cut short (killed, a lost connection) publishes again at most the
/// batch it was in, with the same `ce_id`: consumers drop those.
const BATCH: usize = 500;

/// A publish's report: the DLQ record's partition and offset, and the outcome.
type Report = ((i32, i64), Result<(), String>);
/// Where a publish's report goes.
type Reply = std::sync::mpsc::Sender<Report>;

/// Publishes what `records` says to redrive, batch by batch, committing each batch's
/// progress once it is delivered; returns how many publishes failed.
fn redrive_all(
    records: impl Iterator<Item = (i32, i64, Verdict)>,
    mut send: impl FnMut(&Record, (i32, i64), &Reply),
    progress: &mut Progress,
    mut commit: impl FnMut(&Progress) -> Result<(), KafkaError>,
    tally: &mut Tally,
    dry_run: bool,
    dlq: &str,
) -> Result<usize, KafkaError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (mut in_batch, mut sent, mut failed) = (0usize, 0usize, 0usize);
    let mut last_line = Instant::now();
    for (partition, offset, verdict) in records {
        match verdict {
            Verdict::Skip => progress.mark(partition, offset, Done::No),
            Verdict::Stays(why) => {
                *tally.stays.entry(why).or_default() += 1;
                progress.mark(partition, offset, Done::No);
            }
            Verdict::Redrive(record) if dry_run => {
                *tally.redriven.entry(record.topic.to_string()).or_default() += 1;
            }
            Verdict::Redrive(record) => {
                send(&record, (partition, offset), &tx);
                (in_batch, sent) = (in_batch + 1, sent + 1);
                *tally.redriven.entry(record.topic.to_string()).or_default() += 1;
            }
        }
        tally.read += 1;
        if last_line.elapsed() >= Duration::from_secs(1) {
            last_line = Instant::now();
            eprintln!("redrive: {} DLQ records read, {sent} published", tally.read);
        }
        if in_batch >= BATCH {
            failed += settle(&rx, std::mem::take(&mut in_batch), progress, dlq);
            if let Err(e) = commit(progress) {
                eprintln!("redrive: cannot commit the progress so far ({e}); going on, the next commit may");
            }
        }
    }
    failed += settle(&rx, in_batch, progress, dlq);
    commit(progress)?;
    Ok(failed)
}

/// Waits for `n` reports and marks what each says.
fn settle(rx: &std::sync::mpsc::Receiver<Report>, n: usize, progress: &mut Progress, dlq: &str) -> usize {
    let mut failed = 0;
    for ((partition, offset), result) in rx.iter().take(n) {
        match result {
            Ok(()) => progress.mark(partition, offset, Done::Redriven),
            Err(e) => {
                failed += 1;
                progress.mark(partition, offset, Done::No);
                eprintln!("FAILED {dlq} partition {partition} offset {offset}: {e}");
            }
        }
    }
    failed
}

fn consumer(args: &RedriveArgs) -> Result<BaseConsumer, ToolError> {
    let defaults = [
        ("group.id", args.group.as_str()),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("enable.partition.eof", "true"),
        ("auto.offset.reset", "earliest"),
    ];
    Ok(args.kafka.client_config(&defaults)?.create()?)
}

/// Every record from the remembered positions to the end of each partition, judged, except
/// those an earlier run already redrove.
fn read_all<'c>(
    consumer: &'c BaseConsumer,
    mut open: usize,
    skip: &'c BTreeMap<i32, BTreeSet<i64>>,
    mut judge: impl FnMut(&[u8], (i32, i64)) -> Verdict + 'c,
) -> impl Iterator<Item = (i32, i64, Verdict)> + 'c {
    let mut idle = Instant::now();
    std::iter::from_fn(move || loop {
        if open == 0 || idle.elapsed() > Duration::from_secs(30) {
            return None;
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(KafkaError::PartitionEOF(_))) => {
                open = open.saturating_sub(1);
                continue;
            }
            Some(Err(e)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                return None
            }
            Some(Err(e)) => {
                eprintln!("redrive: {e}");
                continue;
            }
            Some(Ok(m)) => {
                idle = Instant::now();
                if skip.get(&m.partition()).is_some_and(|s| s.contains(&m.offset())) {
                    continue;
                }
                let place = (m.partition(), m.offset());
                let verdict = judge(m.payload().unwrap_or_default(), place);
                return Some((m.partition(), m.offset(), verdict));
            }
        }
    })
}

/// Today's decoder over one DLQ record at `place` (partition, offset), which names the
/// redriven event's `ce_id`: the same record redriven twice is one event.
fn judge(args: &RedriveArgs, decoder: &Decoder, payload: &[u8], (partition, offset): (i32, i64)) -> Verdict {
    let dead = match DlqValue::parse(payload) {
        Ok(d) => d,
        Err(e) => return Verdict::Stays(format!("not a DLQ record the bridge wrote: {e}")),
    };
    if args.since.is_some_and(|s| dead.received_at_ms < s)
        || (!args.codes.is_empty() && !args.codes.contains(&dead.error_code))
    {
        return Verdict::Skip;
    }
    if dead.broker_refused() {
        return Verdict::Stays("the broker refused the event (5041): not a decoding refusal".into());
    }
    if dead.body_cut() {
        return Verdict::Stays("only the start of the body was kept".into());
    }
    let body = match dead.body_bytes() {
        Ok(b) => b,
        Err(e) => return Verdict::Stays(format!("body: {e}")),
    };
    let decoded = match dead.command.as_deref() {
        Some("TRTC") => decoder
            .trtc(&dead.sdk_app_id, &body, dead.received_at_ms)
            .map(|(r, _, _)| r),
        Some(command) => {
            let raw = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&dead.query)
                .finish();
            match crate::query::CallbackQuery::parse(&raw) {
                Ok(query) => decoder.callback(
                    &query,
                    command,
                    &body,
                    dead.received_at_ms,
                    &crate::route::redrive_ce_suffix(partition, offset),
                ),
                Err(refusal) => Err(refusal),
            }
        }
        None => return Verdict::Stays("no CallbackCommand".into()),
    };
    match decoded {
        Ok(mut record) => {
            record
                .headers
                .push((REDRIVEN_AT.into(), redriven_at().into_bytes().into()));
            Verdict::Redrive(record)
        }
        Err(refusal) => Verdict::Stays(format!(
            "{} ({})",
            refusal.status_and_code().1,
            crate::refusal::clip(&refusal.to_string())
        )),
    }
}

#[derive(Default)]
struct Tally {
    read: u64,
    redriven: BTreeMap<String, u64>,
    stays: BTreeMap<String, u64>,
}

impl Tally {
    fn print(&self, dry_run: bool, failed: usize, brokers: &str) {
        let verb = if dry_run { "would redrive" } else { "redrove" };
        let total: u64 = self.redriven.values().sum();
        for (topic, n) in &self.redriven {
            println!("{verb} {n} to {topic}");
        }
        for (why, n) in &self.stays {
            println!("{n} stay on the DLQ: {why}");
        }
        println!(
            "{} DLQ records read; {verb} {total} to {brokers}; {failed} failed",
            self.read
        );
    }
}

#[cfg(test)]
mod tests;
