//! The consumer loop. One thread: poll everything the consumer has ready, restore the state of
//! partitions newly assigned, fold the events, write the state records and wait for their
//! acknowledgement, then commit the input offsets (only then, and only at the end of all a
//! poll returned: a fetch that starts inside a broker batch may skip the rest of it).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use super::args::PresenceArgs;
use super::error::PresenceError;
use super::fold::{Fold, Limits, Touch, Verdict, Write};
use super::input::{Input, Source};
use super::metrics::PresenceMetrics;
use super::restore::{restore, RestoreError};
use super::topics;
use super::writer::Writer;
use crate::clock::now_ms;

/// Hears which partitions a rebalance took away (their state is dropped and restored afresh
/// if they come back: another instance may have written to them meanwhile), and librdkafka's
/// statistics, whose consumer lag per assigned partition feeds `tencent_presence_lag`.
pub struct Rebalances {
    revoked: Mutex<HashSet<i32>>,
    metrics: Arc<PresenceMetrics>,
}

impl ClientContext for Rebalances {
    fn stats(&self, statistics: rdkafka::Statistics) {
        for (name, topic) in &statistics.topics {
            for (id, partition) in &topic.partitions {
                if *id >= 0 && partition.consumer_lag >= 0 {
                    self.metrics.lag(name, *id, partition.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if let Ok(mut revoked) = self.revoked.lock() {
                revoked.extend(tpl.elements().iter().map(|e| e.partition()));
            }
        }
    }
}

/// Longest a restore may take before the instance gives up (and is restarted).
const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);
/// How often missing input topics are looked for again.
const TOPIC_CHECK_INTERVAL: Duration = Duration::from_secs(15);
/// Most records folded between two commits: bounds memory under a steady stream. (A broker
/// whose fetch skips the rest of a batch when it starts inside one, like tansu 0.6, wants the
/// commit at the end of all a poll returned: that is what happens below this size.)
const MAX_BATCH: usize = 50_000;
/// A bad input record is logged at most this often (the rest are counted).
const BAD_LOG_INTERVAL: Duration = Duration::from_secs(60);

pub struct Worker {
    args: PresenceArgs,
    base: ClientConfig,
    consumer: BaseConsumer<Rebalances>,
    writer: Writer,
    folds: HashMap<i32, Fold>,
    metrics: Arc<PresenceMetrics>,
    subscribed: Vec<String>,
    limits: Limits,
    last_bad_log: Option<Instant>,
    evicted: u64,
}

impl Worker {
    pub fn new(args: PresenceArgs, metrics: Arc<PresenceMetrics>) -> Result<Worker, PresenceError> {
        let base = args.kafka.client_config(&[])?;
        let mut cfg = base.clone();
        cfg.set("group.id", &args.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // Partition n of every input topic on one instance: co-partitioning.
            .set("partition.assignment.strategy", "range")
            .set("statistics.interval.ms", "5000");
        let context = Rebalances {
            revoked: Mutex::default(),
            metrics: metrics.clone(),
        };
        let consumer: BaseConsumer<Rebalances> = cfg.create_with_context(context)?;
        let output = args.output_topic();
        let layout = topics::check(
            &consumer,
            &args.topic.topic_prefix,
            &output,
            Duration::from_secs(10),
        )?;
        metrics.topics(&layout.present, &layout.missing);
        let writer = Writer::new(&base, output)?;
        let limits = Limits {
            grace_ms: i64::try_from(args.grace.as_millis()).unwrap_or(i64::MAX),
            departed_per_room: args.departed_per_room,
        };
        let mut worker = Worker {
            args,
            base,
            consumer,
            writer,
            folds: HashMap::new(),
            metrics,
            subscribed: Vec::new(),
            limits,
            last_bad_log: None,
            evicted: 0,
        };
        worker.subscribe(layout.present)?;
        tracing::info!(partitions = layout.partitions, missing = ?layout.missing, "presence view started");
        Ok(worker)
    }

    fn subscribe(&mut self, topics: Vec<String>) -> Result<(), PresenceError> {
        if topics != self.subscribed && !topics.is_empty() {
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            self.consumer.subscribe(&names)?;
            self.subscribed = topics;
        }
        Ok(())
    }

    /// Runs until `stop()`; then writes what is pending, commits, and leaves the group.
    pub fn run(mut self, stop: &dyn Fn() -> bool) -> Result<(), PresenceError> {
        let metrics = self.metrics.clone();
        let status = &metrics.status;
        status.started.store(true, Ordering::Relaxed);
        let (mut last_sweep, mut last_check) = (Instant::now(), Instant::now());
        while !stop() {
            status.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
            let batch = self.poll_batch();
            self.follow_assignment(stop)?;
            let mut touched = Vec::new();
            let mut offsets: HashMap<(String, i32), i64> = HashMap::new();
            for msg in &batch {
                if let Some(fold) = self.folds.get_mut(&msg.partition()) {
                    match apply(fold, &self.args.topic.topic_prefix, msg) {
                        Ok((v, t)) => {
                            self.metrics.event(Some(v));
                            touched.extend(t.into_iter().map(|t| (msg.partition(), t)));
                        }
                        Err(why) => self.bad_input(msg, &why),
                    }
                    offsets.insert((msg.topic().to_owned(), msg.partition()), msg.offset() + 1);
                }
            }
            let mut writes = self.render(touched);
            if last_sweep.elapsed() >= self.args.sweep_interval {
                last_sweep = Instant::now();
                let now = now_ms();
                for (p, fold) in &mut self.folds {
                    writes.extend(fold.expire(now).into_iter().map(|w| (*p, w)));
                }
            }
            // A broker that refuses the writes is not a stuck loop: /healthz stays 200.
            let on_failure = |n| {
                metrics.write_failed(n);
                metrics.status.heartbeat_ms.store(now_ms(), Ordering::Relaxed);
            };
            let writes = last_per_key(writes);
            self.writer.write(&writes, stop, &on_failure)?;
            if !batch.is_empty() || !writes.is_empty() {
                tracing::debug!(records = batch.len(), writes = writes.len(), offsets = ?offsets, "batch folded and written");
            }
            self.commit(offsets);
            self.observe();
            if last_check.elapsed() >= TOPIC_CHECK_INTERVAL {
                last_check = Instant::now();
                self.check_topics();
            }
        }
        tracing::info!("presence view stopping: leaving the group");
        self.consumer.unsubscribe();
        Ok(())
    }

    /// Everything the consumer has ready now (waits up to 200 ms for the first record), up to
    /// [`MAX_BATCH`] records.
    fn poll_batch(&mut self) -> Vec<OwnedMessage> {
        let mut batch = Vec::new();
        let mut wait = Duration::from_millis(200);
        while batch.len() < MAX_BATCH {
            let Some(next) = self.consumer.poll(wait) else {
                break;
            };
            wait = Duration::ZERO;
            match next {
                Ok(msg) => batch.push(msg.detach()),
                Err(e) => tracing::warn!(error = %e, "consumer error (librdkafka retries)"),
            }
        }
        batch
    }

    /// Drops the state of partitions taken away; restores the ones newly assigned.
    fn follow_assignment(&mut self, stop: &dyn Fn() -> bool) -> Result<(), PresenceError> {
        let revoked: Vec<i32> = self
            .consumer
            .context()
            .revoked
            .lock()
            .map(|mut r| r.drain().collect())
            .unwrap_or_default();
        let assigned: HashSet<i32> = self
            .consumer
            .assignment()?
            .elements()
            .iter()
            .map(|e| e.partition())
            .collect();
        for p in revoked.iter().chain(
            self.folds
                .keys()
                .filter(|p| !assigned.contains(p))
                .copied()
                .collect::<Vec<_>>()
                .iter(),
        ) {
            if self.folds.remove(p).is_some() {
                tracing::info!(partition = p, "partition revoked: its state dropped");
                for topic in &self.subscribed {
                    self.metrics.forget_partition(topic, *p);
                }
            }
        }
        let mut new: Vec<i32> = assigned
            .into_iter()
            .filter(|p| !self.folds.contains_key(p))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        new.sort_unstable();
        let status = &self.metrics.status;
        status.restoring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let output = self.args.output_topic();
        let result = restore(&self.base, &output, &new, self.limits, RESTORE_TIMEOUT, stop);
        status.restoring.store(false, Ordering::Relaxed);
        let restored = match result {
            // Asked to stop mid-restore: nothing was folded yet, nothing to write or commit.
            Err(RestoreError::Stopped { .. }) => return Ok(()),
            other => other?,
        };
        let seconds = started.elapsed().as_secs_f64();
        self.metrics.restored(seconds, restored.records);
        tracing::info!(partitions = ?new, records = restored.records, unreadable = restored.unreadable, seconds, "state restored");
        self.folds.extend(restored.folds);
        Ok(())
    }

    fn commit(&self, offsets: HashMap<(String, i32), i64>) {
        if offsets.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, p), next) in offsets {
            if tpl.add_partition_offset(&topic, p, Offset::Offset(next)).is_err() {
                continue;
            }
        }
        // A failed commit (the partition moved meanwhile) only means those events are read
        // again by the next owner, where the order and duplicate rules make them no-ops.
        if let Err(e) = self.consumer.commit(&tpl, CommitMode::Sync) {
            tracing::warn!(error = %e, "commit failed; the events are read again by the partition's next owner");
        }
    }

    fn observe(&mut self) {
        let (mut rooms, mut members, mut evicted) = (0, 0, 0);
        for fold in self.folds.values() {
            rooms += fold.rooms.len();
            members += fold.members();
            evicted += fold.evicted;
        }
        self.metrics.held(rooms, members, self.folds.len());
        if evicted > self.evicted {
            self.metrics.evicted(evicted - self.evicted);
        }
        self.evicted = evicted;
    }

    /// Each record the batch touched, rendered once, in the order of its last touch.
    fn render(&mut self, touched: Vec<(i32, Touch)>) -> Vec<(i32, Write)> {
        let mut last: HashMap<&(i32, Touch), usize> = HashMap::new();
        for (i, t) in touched.iter().enumerate() {
            last.insert(t, i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_unstable();
        let mut out = Vec::with_capacity(order.len());
        for i in order {
            let (p, touch) = &touched[i];
            if let Some(w) = self.folds.get_mut(p).and_then(|f| f.render(touch)) {
                out.push((*p, w));
            }
        }
        out
    }

    fn check_topics(&mut self) {
        let output = self.args.output_topic();
        match topics::check(
            &self.consumer,
            &self.args.topic.topic_prefix,
            &output,
            Duration::from_secs(5),
        ) {
            Ok(layout) => {
                self.metrics.topics(&layout.present, &layout.missing);
                if let Err(e) = self.subscribe(layout.present) {
                    tracing::warn!(error = %e, "cannot subscribe to the input topics found");
                }
            }
            Err(e) => tracing::warn!(error = %e, "topic check failed"),
        }
    }

    fn bad_input(&mut self, msg: &OwnedMessage, why: &str) {
        self.metrics.event(None);
        if !self.last_bad_log.is_some_and(|t| t.elapsed() < BAD_LOG_INTERVAL) {
            self.last_bad_log = Some(Instant::now());
            tracing::warn!(topic = msg.topic(), partition = msg.partition(), offset = msg.offset(), why, "input record skipped: not the bridge's envelope (counted in tencent_presence_events_total{{outcome=\"bad_input\"}}; logged once a minute)");
        }
    }
}

fn apply(fold: &mut Fold, prefix: &str, msg: &OwnedMessage) -> Result<(Verdict, Vec<Touch>), String> {
    let source = Source::from_topic(prefix, msg.topic()).ok_or("not an input topic")?;
    let ce_id = msg
        .headers()
        .and_then(|h| h.iter().find(|h| h.key == "ce_id").and_then(|h| h.value));
    let input = Input::parse(source, msg.payload(), ce_id).map_err(|e| e.to_string())?;
    Ok(fold.touch(&input, now_ms()))
}

/// A compacted topic keeps the last value per key: of a batch, only each key's last write.
fn last_per_key(writes: Vec<(i32, Write)>) -> Vec<(i32, Write)> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, (_, w)) in writes.iter().enumerate() {
        last.insert(w.key.as_str(), i);
    }
    let keep: HashSet<usize> = last.into_values().collect();
    writes
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, w)| w)
        .collect()
}
