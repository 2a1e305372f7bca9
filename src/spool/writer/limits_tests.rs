//! The spool's limits (issue 23): what counts against `--spool-max-bytes`, and retained
//! segments given up before any append is refused.

use std::time::{Duration, SystemTime};

use super::*;
use crate::spool::fs::faults::FaultyFs;
use crate::spool::testutil::{log_files, read_all, rec, recs, seqs};
use crate::spool::Retention;

/// A small spool, filled past its limit and then fully delivered, takes appends again: the
/// delivered records in the writer's segment (which the cleaner never deletes) do not count,
/// and the segment is rolled so that they go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fully_delivered_spool_is_not_full() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    let mut cleaner = store.cleaner();
    let max = 2000;
    let writer = SpoolWriter::start(store, max, CommitWindow::new(Duration::ZERO), |_| {}).unwrap();
    let mut n = 0;
    while writer.append(rec(n)).await.is_ok() {
        n += 1;
        assert!(n < 1000, "never full");
    }
    let stats = Arc::clone(writer.stats());
    assert!(stats.bytes() >= max);
    cleaner.advance(stats.committed()).unwrap();
    assert!(
        !writer.is_full(),
        "everything is delivered: {} bytes",
        stats.bytes()
    );
    writer.append(rec(n)).await.unwrap();
    cleaner.advance(stats.committed()).unwrap();
    assert!(
        stats.bytes() < max,
        "the delivered segment went: {} bytes",
        stats.bytes()
    );
    assert_eq!(log_files(dir.path()).len(), 1);
}

fn retaining() -> Retention {
    Retention {
        max_bytes: Some(1 << 30),
        max_age: Some(Duration::from_secs(3600)),
    }
}

/// Retained (delivered) segments filling the disk are given up before an append fails: the
/// append that meets ENOSPC frees them and goes through.
#[test]
fn retained_segments_are_given_up_before_an_append_fails() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FaultyFs::default();
    let (mut store, _) = Store::open_with(dir.path(), 1, retaining(), disk.fs()).unwrap();
    for i in 0..4 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    store.cleaner().advance(8).unwrap();
    let stats = store.stats();
    assert!(stats.retained_bytes() > 0);
    disk.full_until_remove();
    assert_eq!(store.append_batch(&[rec(8)]).unwrap(), 8, "not refused");
    assert_eq!(stats.retained_bytes(), 0);
    assert!(log_files(dir.path()).len() <= 2, "{:?}", log_files(dir.path()));
}

/// A clock stepped back makes every file look written in the future: that is no age, and
/// retention does not expire at once.
#[test]
fn a_clock_stepped_back_does_not_expire_retention() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open_retaining(dir.path(), 1, retaining()).unwrap();
    for i in 0..4 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    let future = SystemTime::now() + Duration::from_secs(86_400);
    for name in log_files(dir.path()) {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(future).unwrap();
    }
    store.cleaner().advance(8).unwrap();
    assert_eq!(log_files(dir.path()).len(), 4, "retained, not expired");
    assert!(store.stats().retained_bytes() > 0);
}

/// `--spool-retain`: delivered segments stay for replay, counted apart from the spool's size,
/// until the retention is exceeded (oldest first), across a restart too.
#[test]
fn retention_keeps_delivered_segments_apart_from_the_spool_size() {
    let dir = tempfile::tempdir().unwrap();
    let keep_all = Retention {
        max_bytes: Some(1 << 30),
        ..Retention::default()
    };
    let (mut store, _) = Store::open_retaining(dir.path(), 1, keep_all).unwrap();
    for i in 0..4 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    let mut cleaner = store.cleaner();
    cleaner.advance(8).unwrap();
    let stats = store.stats();
    assert_eq!(log_files(dir.path()).len(), 4, "nothing deleted");
    let live = std::fs::metadata(dir.path().join(&log_files(dir.path())[3]))
        .unwrap()
        .len();
    assert_eq!(
        stats.bytes(),
        live,
        "retained segments are not in the spool's size"
    );
    let retained = stats.retained_bytes();
    assert!(retained > 0);
    assert_eq!(seqs(&read_all(dir.path(), 0, 8)), (0..8).collect::<Vec<_>>());
    drop((store, cleaner));

    // Reopened with room for the two newest: the oldest goes first.
    let size = |i: usize| {
        std::fs::metadata(dir.path().join(&log_files(dir.path())[i]))
            .unwrap()
            .len()
    };
    let two = Retention {
        max_bytes: Some(size(1) + size(2)),
        ..Retention::default()
    };
    let (store, recovery) = Store::open_retaining(dir.path(), 1, two).unwrap();
    assert_eq!(
        (recovery.watermark, store.stats().retained_bytes()),
        (8, retained)
    );
    store.cleaner().advance(8).unwrap();
    assert_eq!(
        log_files(dir.path()).len(),
        3,
        "the oldest retained segment deleted"
    );
    drop(store);

    // By age: a segment last written long ago goes.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for name in log_files(dir.path()) {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    let hour = Retention {
        max_age: Some(std::time::Duration::from_secs(3600)),
        ..Retention::default()
    };
    let (store, _) = Store::open_retaining(dir.path(), 1, hour).unwrap();
    store.cleaner().advance(8).unwrap();
    assert_eq!(log_files(dir.path()).len(), 1, "only the active segment is left");
    assert_eq!(store.stats().retained_bytes(), 0);
}
