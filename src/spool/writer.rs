//! spool mode, write side: the request hands its record to one writer thread and waits; the
//! writer takes every append waiting at that moment, writes them with one `write` and one
//! fdatasync (group commit), and only then answers them all. A lone request is synced at once
//! and a crowd shares one sync. With `--spool-commit-window` (off by default) a batch that
//! others are already waiting in waits about one sync's duration for more ([`CommitWindow`]).
//! Nothing is ever answered before its sync. The records of a durable batch then go to the drain in memory
//! ([`Durable`]), so a drain that keeps up never reads them back from disk.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::commit_window::CommitWindow;
use super::error::AppendError;
use super::stats::SpoolStats;
use super::store::Store;
use crate::record::Record;

/// Appends waiting beyond this make the request wait for room (bounded memory).
const QUEUE: usize = 4096;
/// Most records one fsync covers; bounds the batch buffer.
const MAX_BATCH: usize = 1024;

/// A batch just made durable, moved (not copied) to the drain. The disk copy is for recovery
/// and for a drain that fell behind; a drain that is not ready for these drops them.
pub struct Durable {
    pub first_seq: u64,
    pub records: Vec<Record>,
    /// Where the frame after the batch starts: the segment's base seq and the byte offset.
    pub segment: u64,
    pub end_offset: u64,
}

struct Append {
    record: Record,
    done: oneshot::Sender<Result<(), AppendError>>,
}

/// The request side of the spool. Cheap to clone.
#[derive(Clone)]
pub struct SpoolWriter {
    tx: mpsc::Sender<Append>,
    stats: Arc<SpoolStats>,
}

impl SpoolWriter {
    /// Starts the writer thread, which owns `store` until every `SpoolWriter` is dropped.
    /// `on_commit` gets each durable batch (and wakes the publisher).
    pub fn start(
        store: Store,
        max_bytes: u64,
        window: CommitWindow,
        on_commit: impl Fn(Durable) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = store.stats();
        stats.set_max_bytes(max_bytes);
        std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || write_loop(store, rx, window, on_commit))?;
        Ok(SpoolWriter { tx, stats })
    }

    /// Resolves once the record is on disk and fsynced: only then may the OK go out.
    pub async fn append(&self, record: Record) -> Result<(), AppendError> {
        if self.is_full() {
            return Err(AppendError::Full);
        }
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Append { record, done })
            .await
            .map_err(|_| AppendError::Stopped)?;
        rx.await.unwrap_or(Err(AppendError::Stopped))
    }

    /// See [`SpoolStats::full`].
    pub fn is_full(&self) -> bool {
        self.stats.full()
    }

    pub fn stats(&self) -> &Arc<SpoolStats> {
        &self.stats
    }
}

fn write_loop(
    mut store: Store,
    mut rx: mpsc::Receiver<Append>,
    mut window: CommitWindow,
    on_commit: impl Fn(Durable),
) {
    let stats = store.stats();
    let mut cleaner = store.cleaner();
    let mut failing = false;
    // Only for the commit window's timed wait: a runtime on this thread, no thread of its own.
    let timer = window.is_on().then(timer).flatten();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        take_waiting(&mut rx, &mut batch);
        let wait = window.wait_for(batch.len());
        if let Some(timer) = timer.as_ref().filter(|_| !wait.is_zero()) {
            gather(timer, &mut rx, &mut batch, wait);
        }
        // At the limit with everything delivered: a new segment lets the old one go now.
        if stats.bytes() >= stats.max_bytes() && store.roll_if_delivered() {
            if let Err(e) = cleaner.advance(stats.delivered()) {
                tracing::warn!(error = %e, "spool: cannot delete a delivered segment");
            }
        }
        if stats.full() {
            for a in batch {
                let _ = a.done.send(Err(AppendError::Full));
            }
            continue;
        }
        let (records, waiters): (Vec<Record>, Vec<_>) = batch.into_iter().map(|a| (a.record, a.done)).unzip();
        let started = Instant::now();
        let result = store.append_batch(&records);
        window.synced(started.elapsed());
        // Log a failing disk once per change of state, not once per request.
        if result.is_err() != failing {
            failing = result.is_err();
            stats.set_write_problem(result.as_ref().err().map(|e| e.to_string()));
            match &result {
                Err(e) => {
                    tracing::error!(error = %e, "spool append failed: answering 503 until the disk recovers")
                }
                Ok(_) => tracing::info!("spool appends succeed again"),
            }
        }
        let answer = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| AppendError::Write(e.to_string()));
        for w in waiters {
            let _ = w.send(answer.clone());
        }
        if let Ok(first_seq) = result {
            let (segment, end_offset) = store.end();
            on_commit(Durable {
                first_seq,
                records,
                segment,
                end_offset,
            });
        }
    }
    tracing::debug!("spool writer stopped");
}

/// The runtime the commit window waits in; without one (it cannot be built) batches never wait.
fn timer() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::warn!(error = %e, "spool: cannot start the commit window's timer; syncing at once");
            None
        }
    }
}

/// Adds every append waiting now, up to a full batch.
fn take_waiting(rx: &mut mpsc::Receiver<Append>, batch: &mut Vec<Append>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(a) => batch.push(a),
            Err(_) => return,
        }
    }
}

/// Waits up to `window` for more appends, woken by each one as it arrives (not by a timer's
/// naps), so a full batch goes at once.
fn gather(
    timer: &tokio::runtime::Runtime,
    rx: &mut mpsc::Receiver<Append>,
    batch: &mut Vec<Append>,
    window: Duration,
) {
    let deadline = tokio::time::Instant::now() + window;
    while batch.len() < MAX_BATCH {
        // The timeout is made inside `block_on`: a timer needs its runtime when created.
        match timer.block_on(async { tokio::time::timeout_at(deadline, rx.recv()).await }) {
            Ok(Some(append)) => {
                batch.push(append);
                take_waiting(rx, batch);
            }
            Ok(None) | Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::spool::testutil::{read_all, rec, seqs};

    /// With a commit window, a crowd of appends is gathered and every one of them is answered
    /// only once durable; nothing is lost or answered twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_window_gathers_a_crowd_and_answers_each_after_its_sync() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        let committed = Arc::new(Mutex::new(Vec::new()));
        let c = Arc::clone(&committed);
        let mut window = CommitWindow::new(Duration::from_millis(20));
        window.synced(Duration::from_millis(20)); // as if syncs took that long
        let writer = SpoolWriter::start(store, u64::MAX, window, move |d: Durable| {
            c.lock().unwrap().push((d.first_seq, d.records.len()))
        })
        .unwrap();
        let appends: Vec<_> = (0..200)
            .map(|i| {
                let w = writer.clone();
                tokio::spawn(async move { w.append(rec(i)).await })
            })
            .collect();
        for a in appends {
            a.await.unwrap().unwrap();
        }
        let committed_now = writer.stats().committed();
        assert_eq!(committed_now, 200);
        let batches = committed.lock().unwrap().clone();
        assert_eq!(batches.iter().map(|b| b.1).sum::<usize>(), 200);
        assert_eq!(
            seqs(&read_all(dir.path(), 0, committed_now)),
            (0..200).collect::<Vec<_>>()
        );
    }
}

#[cfg(test)]
mod limits_tests;
