use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::spool::testutil::{rec, recs, seqs};
use crate::spool::Store;

#[test]
fn never_reads_at_or_past_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..10)).unwrap();
    let mut reader = store.reader(0);
    assert_eq!(seqs(&reader.next_batch(4, 100, 1 << 20).unwrap()), [0, 1, 2, 3]);
    assert!(reader.next_batch(4, 100, 1 << 20).unwrap().is_empty());
    assert_eq!(
        seqs(&reader.next_batch(10, 100, 1 << 20).unwrap()),
        (4..10).collect::<Vec<_>>()
    );
    assert!(reader.next_batch(10, 100, 1 << 20).unwrap().is_empty());
    assert_eq!(reader.position(), 10);
}

#[test]
fn starts_mid_segment_and_respects_batch_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..10)).unwrap();
    let mut reader = Reader::new(dir.path(), 6);
    assert_eq!(seqs(&reader.next_batch(10, 2, 1 << 20).unwrap()), [6, 7]);
    // max_bytes smaller than one record: still one record per batch, never stuck.
    assert_eq!(seqs(&reader.next_batch(10, 100, 1).unwrap()), [8]);
    assert_eq!(seqs(&reader.next_batch(10, 100, 1).unwrap()), [9]);
    assert!(reader.next_batch(10, 0, 1 << 20).unwrap().is_empty());
}

#[test]
fn rewind_rereads_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for i in 0..5 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    let mut reader = store.reader(0);
    assert_eq!(reader.next_batch(10, 100, 1 << 20).unwrap().len(), 10);
    reader.rewind(3);
    let again = reader.next_batch(10, 4, 1 << 20).unwrap();
    assert_eq!(again, (3..7).map(|i| (i, rec(i))).collect::<Vec<_>>());
    reader.rewind(9);
    assert_eq!(seqs(&reader.next_batch(10, 100, 1 << 20).unwrap()), [9]);
}

#[test]
fn follows_new_segments_as_the_writer_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    let mut reader = store.reader(0);
    assert!(reader.next_batch(0, 10, 1 << 20).unwrap().is_empty());
    for i in 0..4 {
        store.append_batch(&[rec(i)]).unwrap();
        let got = reader.next_batch(store.stats().committed(), 10, 1 << 20).unwrap();
        assert_eq!(got, [(i, rec(i))]);
    }
}

#[test]
fn bytes_past_committed_are_never_consumed() {
    let dir = tempfile::tempdir().unwrap();
    let disk = crate::spool::fs::faults::FaultyFs::default();
    let retention = crate::spool::Retention::default();
    let (mut store, _) = Store::open_with(dir.path(), 1 << 20, retention, disk.fs()).unwrap();
    store.append_batch(&recs(0..2)).unwrap();
    let mut reader = store.reader(0);
    assert_eq!(reader.next_batch(2, 10, 1 << 20).unwrap().len(), 2);
    // A failed append leaves half its bytes past the end, and cannot be cut back yet.
    disk.crash_after(0);
    assert!(store.append_batch(&recs(2..4)).is_err());
    disk.heal();
    assert!(reader.next_batch(2, 10, 1 << 20).unwrap().is_empty());
    store.append_batch(&[rec(2)]).unwrap();
    assert_eq!(reader.next_batch(3, 10, 1 << 20).unwrap(), [(2, rec(2))]);
}

#[test]
fn concurrent_writer_reader_and_cleaner() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 300).unwrap();
    let stats = store.stats();
    let mut cleaner = store.cleaner();
    let done = Arc::new(AtomicBool::new(false));
    let reader_done = Arc::clone(&done);
    let mut reader = store.reader(0);
    let publisher = std::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            let finished = reader_done.load(Ordering::Acquire);
            let batch = reader.next_batch(stats.committed(), 7, 1 << 20).unwrap();
            if let Some((last, _)) = batch.last() {
                cleaner.advance(last + 1).unwrap();
            } else if finished {
                return got;
            }
            got.extend(batch.into_iter().map(|(s, r)| (s, r == rec(s))));
        }
    });
    for i in 0..100 {
        store.append_batch(&recs(i * 3..i * 3 + 3)).unwrap();
    }
    done.store(true, Ordering::Release);
    let got = publisher.join().unwrap();
    assert_eq!(got, (0..300).map(|s| (s, true)).collect::<Vec<_>>());
    assert_eq!(crate::spool::testutil::log_files(dir.path()).len(), 1);
}

#[test]
fn skip_to_continues_after_records_handed_over_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Tiny segments: every batch goes to a new one, so skips cross segments too.
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    let mut reader = store.reader(0);
    store.append_batch(&recs(0..3)).unwrap();
    assert_eq!(seqs(&reader.next_batch(3, 100, 1 << 20).unwrap()), [0, 1, 2]);
    // Batches 3..5 and 5..8 arrive in memory; the reader is told where they end.
    store.append_batch(&recs(3..5)).unwrap();
    let (segment, end) = store.end();
    reader.skip_to(5, segment, end);
    store.append_batch(&recs(5..8)).unwrap();
    let (segment, end) = store.end();
    reader.skip_to(8, segment, end);
    store.append_batch(&recs(8..10)).unwrap();
    let rest = reader.next_batch(10, 100, 1 << 20).unwrap();
    assert_eq!(rest, (8..10).map(|i| (i, rec(i))).collect::<Vec<_>>());
    assert_eq!(reader.position(), 10);
}

#[test]
fn skip_to_within_one_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    let mut reader = store.reader(0);
    store.append_batch(&recs(0..2)).unwrap();
    assert_eq!(seqs(&reader.next_batch(2, 100, 1 << 20).unwrap()), [0, 1]);
    store.append_batch(&recs(2..6)).unwrap();
    let (segment, end) = store.end();
    reader.skip_to(6, segment, end);
    store.append_batch(&recs(6..7)).unwrap();
    assert_eq!(seqs(&reader.next_batch(7, 100, 1 << 20).unwrap()), [6]);
}

/// A read error half-way through a batch (EIO on the second segment, through the seam) hands
/// out what was read, keeps the position on the failed record, and reads it once it can:
/// nothing skipped, so the watermark cannot pass it.
#[test]
fn a_read_error_mid_batch_keeps_what_was_read_and_skips_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = crate::spool::fs::faults::FaultyFs::default();
    let retention = crate::spool::Retention::default();
    let (mut store, _) = Store::open_with(dir.path(), 1, retention, disk.fs()).unwrap();
    store.append_batch(&recs(0..5)).unwrap();
    store.append_batch(&recs(5..10)).unwrap();
    // Two attempts (each reads twice: the whole buffer, then up to the sector's end), fewer
    // than it takes to declare the bytes unreadable.
    disk.bad_read("00000000000000000005.log", 0..u64::MAX, 4);
    let mut reader = store.reader(0);
    assert_eq!(
        seqs(&reader.next_batch(10, 100, 1 << 20).unwrap()),
        [0, 1, 2, 3, 4]
    );
    assert!(reader.next_batch(10, 100, 1 << 20).is_err());
    assert_eq!(reader.position(), 5);
    assert_eq!(
        seqs(&reader.next_batch(10, 100, 1 << 20).unwrap()),
        [5, 6, 7, 8, 9]
    );
    assert_eq!(store.stats().records_lost(), 0);
}

/// Damage that appears while running is salvaged like damage found at start: the damaged
/// record is counted lost and set aside, every other one is read.
#[test]
fn damage_found_while_running_costs_only_the_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..20)).unwrap();
    flip_a_bit_in_record(dir.path(), 5);
    let stats = store.stats();
    let mut reader = store.reader(0);
    let mut got = Vec::new();
    loop {
        let batch = reader.next_batch(20, 4, 1 << 20).unwrap();
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    let want: Vec<u64> = (0..20).filter(|&s| s != 5).collect();
    assert_eq!(seqs(&got), want);
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
    assert_eq!(stats.records_lost(), 1);
    let side = crate::spool::testutil::names(dir.path());
    assert!(side.iter().any(|n| n.contains(".log.damaged-")), "{side:?}");
}

/// Damage in the last durable record: nothing follows it yet, so the reader reports it (and
/// keeps its place) until a later append gives it a resume point.
#[test]
fn damage_in_the_last_durable_record_waits_for_a_resume_point() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..3)).unwrap();
    flip_a_bit_in_record(dir.path(), 2);
    let mut reader = store.reader(0);
    assert_eq!(seqs(&reader.next_batch(3, 100, 1 << 20).unwrap()), [0, 1]);
    assert!(reader.next_batch(3, 100, 1 << 20).is_err());
    assert_eq!(reader.position(), 2);
    store.append_batch(&recs(3..5)).unwrap();
    assert_eq!(seqs(&reader.next_batch(5, 100, 1 << 20).unwrap()), [3, 4]);
}

/// A segment the cleaner deleted is closed, so that its space comes back to a full disk.
#[test]
fn a_deleted_segment_is_not_held_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    store.append_batch(&recs(0..3)).unwrap();
    let mut reader = store.reader(0);
    assert_eq!(reader.next_batch(3, 10, 1 << 20).unwrap().len(), 3);
    store.append_batch(&recs(3..4)).unwrap(); // rolls: segment 3
    store.cleaner().advance(3).unwrap();
    let first = crate::spool::dir::segment_path(dir.path(), 0);
    assert!(!first.exists());
    assert!(reader.at.is_some());
    reader.forget_deleted();
    assert!(reader.at.is_none());
    assert_eq!(seqs(&reader.next_batch(4, 10, 1 << 20).unwrap()), [3]);
}

/// Damages record `n` of segment 0 in place, under any reader, as a disk going bad would.
fn flip_a_bit_in_record(dir: &std::path::Path, n: usize) {
    use std::os::unix::fs::FileExt;
    let seg = crate::spool::dir::segment_path(dir, 0);
    let bytes = std::fs::read(&seg).unwrap();
    let at = (0..n).fold(0, |at, _| at + crate::spool::log::decode(&bytes[at..]).unwrap().2) + 12;
    let file = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    file.write_all_at(&[bytes[at] ^ 0x10], at as u64).unwrap();
}
