use std::fs::{self, OpenOptions};
use std::io::Write;

use super::*;
use crate::spool::fs::faults::FaultyFs;
use crate::spool::testutil::{log_files, names, read_all, rec, recs, seqs};

#[test]
fn append_reopen_and_read_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool"); // created on open
    let (mut store, rec0) = Store::open(&path, 1 << 20).unwrap();
    assert_eq!((rec0.next_seq, rec0.bytes_cut, rec0.pending), (0, 0, 0));
    assert_eq!(store.append_batch(&recs(0..5)).unwrap(), 0);
    assert_eq!(store.append_batch(&[rec(5)]).unwrap(), 5);
    assert_eq!(store.append_batch(&[]).unwrap(), 6);
    let bytes = store.stats().bytes();
    // The segment is preallocated: its data, then zeros.
    let file = ro(&path.join(&log_files(&path)[0]));
    let len = file.len().unwrap();
    assert!(len >= bytes);
    assert_eq!(super::recover::data_end(&file, 0, len).unwrap(), bytes);
    drop(store);

    let (store, recovery) = Store::open(&path, 1 << 20).unwrap();
    assert_eq!(
        (
            recovery.next_seq,
            recovery.first_seq,
            recovery.pending,
            recovery.bytes_cut
        ),
        (6, 0, 6, 0)
    );
    assert_eq!(store.stats().bytes(), bytes);
    assert_eq!(store.stats().committed(), 6);
    let all = read_all(&path, 0, store.stats().committed());
    assert_eq!(all, (0..6).map(|i| (i, rec(i))).collect::<Vec<_>>());
}

#[test]
fn torn_tail_is_cut_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..3)).unwrap();
    let good = store.stats().bytes();
    store.append_batch(&recs(3..4)).unwrap();
    let full = store.stats().bytes();
    drop(store);
    // A crash mid-write: half of record 3, then whatever the disk had.
    let seg = dir.path().join(&log_files(dir.path())[0]);
    let file = OpenOptions::new().write(true).open(&seg).unwrap();
    file.set_len(good + (full - good) / 2).unwrap();
    drop(file);
    OpenOptions::new()
        .append(true)
        .open(&seg)
        .unwrap()
        .write_all(&[0x5a; 37])
        .unwrap();
    let damaged = fs::metadata(&seg).unwrap().len();

    let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(recovery.bytes_cut, damaged - good);
    assert_eq!((recovery.records_lost, recovery.set_aside.len()), (0, 1));
    let file = ro(&seg);
    let data = super::recover::data_end(&file, 0, file.len().unwrap()).unwrap();
    assert_eq!((recovery.next_seq, data), (3, good));
    assert_eq!(store.append_batch(&[rec(99)]).unwrap(), 3);
    let all = read_all(dir.path(), 0, store.stats().committed());
    assert_eq!(seqs(&all), [0, 1, 2, 3]);
    assert_eq!(all[3].1, rec(99));
}

#[test]
fn damage_at_the_end_of_an_older_segment_loses_only_the_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for i in 0..3 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    drop(store);
    let logs = log_files(dir.path());
    assert_eq!(logs.len(), 3);
    let middle = dir.path().join(&logs[1]);
    let mut bytes = fs::read(&middle).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 0xff;
    fs::write(&middle, bytes).unwrap();

    let (mut store, recovery) = Store::open(dir.path(), 1).unwrap();
    assert_eq!(recovery.set_aside.len(), 1);
    assert!(recovery.set_aside[0].exists());
    assert_eq!((recovery.next_seq, recovery.records_lost), (6, 1));
    // The damaged bytes count in the spool's size until an operator removes them.
    let live: u64 = log_files(dir.path())
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap().len())
        .sum();
    let aside = fs::metadata(&recovery.set_aside[0]).unwrap().len();
    assert_eq!(store.stats().bytes(), live + aside);
    store.append_batch(&[rec(6)]).unwrap();
    assert_eq!(
        seqs(&read_all(dir.path(), 0, store.stats().committed())),
        [0, 1, 2, 4, 5, 6]
    );
}

#[test]
fn damage_followed_by_valid_frames_in_the_last_segment_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..4)).unwrap();
    drop(store);
    let seg = dir.path().join(&log_files(dir.path())[0]);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[10] ^= 0xff; // inside record 0: records 1..4 still have valid checksums
    fs::write(&seg, bytes).unwrap();

    let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(
        (recovery.bytes_cut, recovery.records_lost, recovery.next_seq),
        (0, 1, 4)
    );
    assert_eq!(store.append_batch(&[rec(7)]).unwrap(), 4);
    let all = read_all(dir.path(), 0, store.stats().committed());
    assert_eq!(seqs(&all), [1, 2, 3, 4]);
    assert_eq!(all[3].1, rec(7));
}

#[test]
fn a_second_open_is_refused_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    let err = Store::open(dir.path(), 1 << 20).err().unwrap();
    assert!(matches!(&err, SpoolError::Locked(p) if p == dir.path()));
    assert!(err
        .to_string()
        .contains("another bridge uses this spool directory"));
    let cleaner = store.cleaner();
    drop(store);
    assert!(
        matches!(Store::open(dir.path(), 1 << 20), Err(SpoolError::Locked(_))),
        "cleaner keeps the lock"
    );
    drop(cleaner);
    assert!(Store::open(dir.path(), 1 << 20).is_ok());
}

#[test]
fn segments_roll_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 200).unwrap();
    for i in 0..10 {
        store.append_batch(&[rec(i)]).unwrap();
    }
    let logs = log_files(dir.path());
    assert!(logs.len() > 2, "{logs:?}");
    assert_eq!(logs[0], "00000000000000000000.log");
    let total: u64 = logs
        .iter()
        .map(|n| fs::metadata(dir.path().join(n)).unwrap().len())
        .sum();
    assert_eq!(store.stats().bytes(), total);
    assert_eq!(seqs(&read_all(dir.path(), 0, 10)), (0..10).collect::<Vec<_>>());
}

#[test]
fn cleaner_deletes_delivered_segments_but_not_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for i in 0..4 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap(); // segments at 0, 2, 4, 6
    }
    let mut cleaner = store.cleaner();
    let before = store.stats().bytes();
    cleaner.advance(5).unwrap();
    assert_eq!(
        log_files(dir.path()),
        ["00000000000000000004.log", "00000000000000000006.log"]
    );
    assert!(store.stats().bytes() < before);
    cleaner.advance(8).unwrap();
    assert_eq!(
        log_files(dir.path()),
        ["00000000000000000006.log"],
        "the active segment stays"
    );
    assert!(matches!(
        cleaner.advance(9),
        Err(SpoolError::WatermarkAhead { .. })
    ));
    cleaner.advance(3).unwrap(); // going back is a no-op
    assert_eq!(store.stats().watermark(), 8);
    store.append_batch(&[rec(8)]).unwrap();
    drop((store, cleaner));

    let (store, recovery) = Store::open(dir.path(), 1).unwrap();
    assert_eq!(
        (recovery.watermark, recovery.next_seq, recovery.pending),
        (8, 9, 1)
    );
    assert_eq!(
        seqs(&read_all(
            dir.path(),
            recovery.watermark,
            store.stats().committed()
        )),
        [8]
    );
    assert!(names(dir.path()).contains(&"watermark".to_string()));
}

#[test]
fn open_deletes_segments_below_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for i in 0..3 {
        store.append_batch(&[rec(i)]).unwrap();
    }
    drop(store);
    super::dir::write_watermark(dir.path(), 2).unwrap();
    let (_, recovery) = Store::open(dir.path(), 1).unwrap();
    assert_eq!((recovery.segments_deleted, recovery.first_seq), (2, 2));
    assert_eq!(log_files(dir.path()).len(), 1);
}

#[test]
fn a_failed_append_is_cut_back_before_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FaultyFs::default();
    let (mut store, _) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    store.append_batch(&[rec(0)]).unwrap();
    // A write that fails half-way, and the cut back that fails with it.
    disk.crash_after(0);
    assert!(store.append_batch(&[rec(1)]).is_err());
    assert!(store.dirty, "not cut back yet");
    disk.heal();
    assert_eq!(store.append_batch(&[rec(1)]).unwrap(), 1);
    assert_eq!(seqs(&read_all(dir.path(), 0, 2)), [0, 1]);
    drop(store);
    let (_, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((recovery.bytes_cut, recovery.next_seq), (0, 2));
}

/// A write the disk refuses (ENOSPC, through the seam) appends nothing and uses no seq.
#[test]
fn a_write_error_leaves_the_seq_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FaultyFs::default();
    let (mut store, _) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    disk.no_space(Some(""));
    assert!(matches!(
        store.append_batch(&[rec(0)]),
        Err(SpoolError::Io { op: "write", .. })
    ));
    assert_eq!(
        (store.next_seq(), store.stats().committed(), store.stats().bytes()),
        (0, 0, 0)
    );
    disk.no_space(None);
    assert_eq!(store.append_batch(&[rec(1)]).unwrap(), 0);
    assert_eq!(read_all(dir.path(), 0, 1)[0].1, rec(1));
}

#[test]
fn an_oversized_record_is_refused_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    let mut big = rec(0);
    big.topic = std::sync::Arc::from("t".repeat(70_000));
    assert!(matches!(
        store.append_batch(&[rec(0), big]),
        Err(SpoolError::TooLarge(_))
    ));
    assert_eq!((store.next_seq(), store.stats().bytes()), (0, 0));
}

/// A disk the spool filled: the watermark cannot be written (here `watermark.tmp` cannot be
/// created), yet delivered segments are deleted, which frees the space to write it later.
#[test]
fn the_cleaner_deletes_delivered_segments_even_when_the_watermark_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for i in 0..4 {
        store.append_batch(&recs(i * 2..i * 2 + 2)).unwrap();
    }
    let mut cleaner = store.cleaner();
    let tmp = dir.path().join("watermark.tmp");
    fs::create_dir(&tmp).unwrap();
    assert!(cleaner.advance(6).is_err());
    assert_eq!(log_files(dir.path()).len(), 1, "segments 0, 2 and 4 deleted");
    assert_eq!(store.stats().watermark(), 0, "not persisted");
    fs::remove_dir(&tmp).unwrap();
    cleaner.advance(6).unwrap();
    assert_eq!(store.stats().watermark(), 6);
    drop((store, cleaner));
    let (_, recovery) = Store::open(dir.path(), 1).unwrap();
    assert_eq!((recovery.watermark, recovery.first_seq), (6, 6));
}

/// Zeros are written a chunk ahead of the data, never past the preallocated size, and the
/// segment reads exactly as before: data, then zeros.
#[test]
fn zeros_go_ahead_of_the_data_within_the_preallocated_size() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * ZERO_AHEAD / 2; // the second chunk is cut at the file's end
    let (mut store, _) = Store::open(dir.path(), size).unwrap();
    let mut n = 0;
    while store.stats().bytes() < 3 * ZERO_AHEAD / 4 {
        store.append_batch(&recs(n..n + 10)).unwrap();
        n += 10;
    }
    let path = dir.path().join(&log_files(dir.path())[0]);
    let file = ro(&path);
    assert_eq!(file.len().unwrap(), size, "never grown past its preallocation");
    assert_eq!(
        super::recover::data_end(&file, 0, size).unwrap(),
        store.stats().bytes()
    );
    // Where the filesystem tells written space from merely allocated space (ext4, XFS),
    // everything up to the end is written now; elsewhere this finds the file's end anyway.
    // The cached pages go first (all clean after the fdatasync): cached counts as data.
    // SAFETY: plain syscalls on an open descriptor.
    let hole = unsafe {
        libc::posix_fadvise(file.raw().as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        libc::lseek(file.raw().as_raw_fd(), 0, libc::SEEK_HOLE)
    };
    assert_eq!(hole as u64, size);
    drop(store);
    let (store, recovery) = Store::open(dir.path(), size).unwrap();
    assert_eq!((recovery.next_seq, recovery.bytes_cut), (n, 0));
    assert_eq!(
        seqs(&read_all(dir.path(), 0, store.stats().committed())),
        (0..n).collect::<Vec<_>>()
    );
}

#[test]
fn the_zero_span_is_one_chunk_when_less_than_half_is_left() {
    let z = ZERO_AHEAD;
    assert_eq!(zero_span(100, 0, 10 * z), Some(100..100 + z));
    assert_eq!(zero_span(100, 100 + z, 10 * z), None, "enough zeros ahead");
    assert_eq!(
        zero_span(z, z + z / 2 - 1, 10 * z),
        Some(z + z / 2 - 1..2 * z + z / 2 - 1)
    );
    assert_eq!(
        zero_span(9 * z + 1, 9 * z + 1, 9 * z + 10),
        Some(9 * z + 1..9 * z + 10),
        "cut at the end"
    );
    assert_eq!(zero_span(100, 100, 100), None, "a file cut to its data");
    assert_eq!(zero_span(200, 100, 100), None, "an append that grew the file");
}

fn ro(path: &std::path::Path) -> crate::spool::fs::FsFile {
    crate::spool::fs::FsFile::open(&crate::spool::fs::real(), path, crate::spool::fs::How::Read).unwrap()
}
