//! Damage the drain meets while running (issue 23): a damaged length field, an unreadable
//! sector. Each costs only its own records, counted and kept aside, and nothing after it is
//! skipped.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::spool::fs::faults::FaultyFs;
use crate::spool::testutil::{names, rec, recs, seqs};
use crate::spool::{Retention, Store};

/// Frame extents `(start, end)` of the records in segment `base`.
fn extents(dir: &Path, base: u64) -> Vec<(u64, u64)> {
    let bytes = std::fs::read(dir::segment_path(dir, base)).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while let Ok((_, _, len)) = log::decode(&bytes[at..]) {
        out.push((at as u64, (at + len) as u64));
        at += len;
    }
    out
}

/// Sets the length field of record `n` of segment `base` to point past the end of the file.
fn break_length(dir: &Path, base: u64, n: usize) {
    let path = dir::segment_path(dir, base);
    let at = extents(dir, base)[n].0;
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    let past = u32::try_from(len + (1 << 20))
        .unwrap()
        .min(log::MAX_RECORD_LEN as u32);
    file.write_all_at(&past.to_le_bytes(), at).unwrap();
}

/// Reads until `want` records came or `rounds` calls passed (errors are retried, as the drain
/// does); returns the records and how many calls failed.
fn drain(reader: &mut Reader, committed: u64, want: usize, rounds: usize) -> (Vec<(u64, Record)>, usize) {
    let mut got = Vec::new();
    let mut errors = 0;
    for _ in 0..rounds {
        match reader.next_batch(committed, 7, 1 << 20) {
            Ok(batch) => got.extend(batch),
            Err(_) => {
                errors += 1;
                // The drain's pace between retries (a real drain waits up to 100 ms).
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if got.len() >= want {
            break;
        }
    }
    (got, errors)
}

/// A length field pointing past the end of an older segment is damage, as at start: counted,
/// kept aside, and every record after it in the segment delivered.
#[test]
fn a_damaged_length_in_an_older_segment_costs_only_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    store.append_batch(&recs(0..20)).unwrap();
    store.append_batch(&recs(20..25)).unwrap(); // a new segment
    break_length(dir.path(), 0, 5);
    let stats = store.stats();
    let mut reader = store.reader(0);
    let (got, _) = drain(&mut reader, 25, 24, 20);
    let want: Vec<u64> = (0..25).filter(|&s| s != 5).collect();
    assert_eq!(seqs(&got), want);
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
    assert_eq!(stats.records_lost(), 1);
    assert!(names(dir.path()).iter().any(|n| n.contains(".log.damaged-")));
}

/// The same in the newest segment (the writer's, preallocated): the drain does not stop
/// silently, and records appended after the damage are delivered, before and after a roll.
#[test]
fn a_damaged_length_in_the_newest_segment_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..20)).unwrap();
    break_length(dir.path(), 0, 5);
    let stats = store.stats();
    let mut reader = store.reader(0);
    let (got, _) = drain(&mut reader, 20, 19, 20);
    let want: Vec<u64> = (0..20).filter(|&s| s != 5).collect();
    assert_eq!(seqs(&got), want);
    assert_eq!(stats.records_lost(), 1);
    store.append_batch(&recs(20..30)).unwrap();
    let (more, _) = drain(&mut reader, 30, 10, 20);
    assert_eq!(seqs(&more), (20..30).collect::<Vec<_>>());
}

/// Damage in the newest segment found before the writer rolls: once it rolls, the records
/// appended after the damage in the old segment are still delivered.
#[test]
fn a_damaged_length_is_not_skipped_when_the_writer_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1500).unwrap();
    store.append_batch(&recs(0..10)).unwrap();
    break_length(dir.path(), 0, 3);
    store.append_batch(&recs(10..20)).unwrap();
    store.append_batch(&recs(20..30)).unwrap(); // rolls: segment 0 is cut to its data
    assert!(dir::list_segments(dir.path()).unwrap().len() >= 2);
    let stats = store.stats();
    let mut reader = store.reader(0);
    let (got, _) = drain(&mut reader, 30, 29, 20);
    let want: Vec<u64> = (0..30).filter(|&s| s != 3).collect();
    assert_eq!(seqs(&got), want);
    assert_eq!(stats.records_lost(), 1);
}

/// Records overlapping the 4 KiB sector at `sector` of segment 0.
fn on_sector(dir: &Path, sector: u64) -> Vec<u64> {
    let end = sector + 4096;
    (0..)
        .zip(extents(dir, 0))
        .filter(|(_, (s, e))| *s < end && sector < *e)
        .map(|(i, _)| i)
        .collect()
}

/// One unreadable sector: the records before and after it are delivered; the ones on it are
/// counted lost and their bytes (the readable ones) kept aside; it is retried `READ_TRIES`
/// times over the grace, not forever.
#[test]
fn an_unreadable_sector_costs_only_the_records_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FaultyFs::default();
    let (mut store, _) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    for i in (0..600).step_by(50) {
        store.append_batch(&recs(i..i + 50)).unwrap();
    }
    let lost = on_sector(dir.path(), 8192);
    assert!(lost.len() >= 2, "{lost:?}");
    disk.bad_read("00000000000000000000.log", 8192..8192 + 4096, u32::MAX);
    let stats = store.stats();
    let mut reader = store.reader(0).with_grace(Duration::from_millis(300));
    let started = Instant::now();
    let (got, errors) = drain(&mut reader, 600, 600 - lost.len(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "declared bad only after the grace"
    );
    let want: Vec<u64> = (0..600).filter(|s| !lost.contains(s)).collect();
    assert_eq!(seqs(&got), want);
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
    assert_eq!(stats.records_lost(), lost.len() as u64);
    assert!(
        errors >= READ_TRIES as usize - 1 && errors < 100,
        "retried, then declared bad: {errors}"
    );
    assert!(names(dir.path()).iter().any(|n| n.contains(".log.damaged-")));
    // Not retried forever: a few reads per retry over the grace, then the search and the copy.
    assert!(disk.eio_count() < 200, "{} failed reads", disk.eio_count());
}

/// A read error that passes (fewer failures than `READ_TRIES`) costs nothing.
#[test]
fn a_passing_read_error_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FaultyFs::default();
    let (mut store, _) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    store.append_batch(&recs(0..300)).unwrap();
    disk.bad_read("00000000000000000000.log", 8192..8192 + 4096, READ_TRIES - 1);
    let stats = store.stats();
    let mut reader = store.reader(0);
    let (got, _) = drain(&mut reader, 300, 300, 50);
    assert_eq!(seqs(&got), (0..300).collect::<Vec<_>>());
    assert_eq!(stats.records_lost(), 0);
}

/// The same sector at a restart: recovery keeps the records before and after it (it does not
/// set the whole segment aside) and counts exactly the ones on it.
#[test]
fn an_unreadable_sector_at_start_costs_only_the_records_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..300)).unwrap();
    drop(store);
    let lost = on_sector(dir.path(), 8192);
    let disk = FaultyFs::default();
    disk.bad_read("00000000000000000000.log", 8192..8192 + 4096, u32::MAX);
    let (store, recovery) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    assert_eq!(recovery.records_lost, lost.len() as u64);
    assert_eq!(recovery.next_seq, 300);
    drop(store);
    let got = crate::spool::testutil::read_all(dir.path(), 0, 300);
    let want: Vec<u64> = (0..300).filter(|s| !lost.contains(s)).collect();
    assert_eq!(seqs(&got), want);
}

/// A disk that reads nothing at start is not a bad sector: the segment is not cut on its word
/// (it is moved aside whole, every byte kept, as an unreadable segment always was).
#[test]
fn a_disk_that_reads_nothing_at_start_cuts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..50)).unwrap();
    let data = store.stats().bytes();
    drop(store);
    let disk = FaultyFs::default();
    disk.bad_read("00000000000000000000.log", 0..u64::MAX, u32::MAX);
    let (_store, recovery) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    assert_eq!(recovery.set_aside.len(), 1);
    let kept = std::fs::read(&recovery.set_aside[0]).unwrap();
    assert!(
        kept.len() as u64 >= data,
        "nothing cut: {} of {data} bytes",
        kept.len()
    );
    assert!(recovery.next_seq >= 50, "its seqs are not reused");
}
