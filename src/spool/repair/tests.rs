//! A crash while recovery repairs a damaged segment, at every step of it: no acknowledged
//! record is lost, no seq is handed out twice, and the loss is counted once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::spool::dir::segment_path;
use crate::spool::fs::faults::FaultyFs;
use crate::spool::log;
use crate::spool::testutil::{names, read_all, rec, seqs};
use crate::spool::{Retention, Store};

/// A spool of one segment holding `n` records with record `bad` damaged: the dir, the segment
/// path, and the frames' start offsets.
fn damaged_spool(n: u64, bad: usize) -> (tempfile::TempDir, PathBuf, Vec<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    for i in (0..n).step_by(10) {
        let batch: Vec<_> = (i..(i + 10).min(n)).map(rec).collect();
        store.append_batch(&batch).unwrap();
    }
    let data = store.stats().bytes() as usize;
    drop(store);
    let seg = segment_path(dir.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(data);
    let mut starts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        starts.push(at);
        at += log::decode(&bytes[at..]).unwrap().2;
    }
    bytes[starts[bad] + 20] ^= 0x40;
    fs::write(&seg, &bytes).unwrap();
    (dir, seg, starts)
}

/// Everything but `bad` is read back, the next append gets `n`, nothing is readable twice.
fn assert_whole(dir: &Path, n: u64, bad: u64) {
    let (mut store, recovery) = Store::open(dir, 1 << 20).unwrap();
    assert_eq!(recovery.next_seq, n, "seqs are not reused");
    assert_eq!(store.append_batch(&[rec(n)]).unwrap(), n);
    let got = read_all(dir, 0, n + 1);
    let want: Vec<u64> = (0..=n).filter(|&s| s != bad).collect();
    assert_eq!(seqs(&got), want, "{:?}", names(dir));
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
}

/// An older version (or a power cut) left the copy of the records after the damage under its
/// final name, empty or cut half-way: the next start must not cut the damaged segment on its
/// word, but copy the records again.
#[test]
fn a_short_copy_under_its_final_name_is_made_again() {
    for keep in [0.0, 0.5, 0.99] {
        let (dir, seg, starts) = damaged_spool(99, 49);
        let bytes = fs::read(&seg).unwrap();
        let rest = &bytes[starts[50]..];
        let short = &rest[..(rest.len() as f64 * keep) as usize];
        fs::write(segment_path(dir.path(), 50), short).unwrap();
        let (store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(recovery.records_lost, 1, "copy of {keep}");
        assert_eq!(recovery.next_seq, 99, "copy of {keep}");
        drop(store);
        assert_whole(dir.path(), 99, 49);
    }
}

/// A crash at each change recovery makes to the disk (the write it falls on lands half-way):
/// the next start finishes the repair with every intact record, once.
#[test]
fn a_crash_at_each_step_of_a_repair_loses_nothing() {
    let mut crashed_at = 0;
    for k in 0..64 {
        let (dir, seg, starts) = damaged_spool(99, 49);
        let disk = FaultyFs::default();
        disk.crash_after(k);
        let first = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs());
        if first.is_ok() && !disk.crashed() {
            break;
        }
        drop(first);
        crashed_at = k;
        let cut_done = fs::metadata(&seg).unwrap().len() == starts[49] as u64;
        let (store, second) = Store::open(dir.path(), 1 << 20).unwrap();
        let lost = if cut_done { 0 } else { 1 };
        assert_eq!(
            second.records_lost,
            lost,
            "crash after {k} changes: {:?}",
            names(dir.path())
        );
        drop(store);
        assert_whole(dir.path(), 99, 49);
        assert!(
            !names(dir.path()).iter().any(|n| n.starts_with(".tmp-")),
            "a temporary copy was left: {:?}",
            names(dir.path())
        );
    }
    assert!(crashed_at >= 6, "the repair makes several changes: {crashed_at}");
}

/// Damage and a torn tail on a full disk (ENOSPC for every new byte): the start does not fail
/// (no crash loop); the torn tail is cut, the damaged segment is left whole and the drain steps
/// over the damage, every intact record is delivered, and the loss is counted once.
#[test]
fn damage_on_a_full_disk_does_not_stop_the_start() {
    let (dir, seg, _) = damaged_spool(60, 20);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[0xab; 37]); // a torn tail
    fs::write(&seg, &bytes).unwrap();
    let disk = FaultyFs::default();
    disk.no_space(Some(""));
    let (store, recovery) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    assert_eq!((recovery.next_seq, recovery.bytes_cut), (60, 37));
    let stats = store.stats();
    let mut reader = store.reader(0);
    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(reader.next_batch(60, 50, 1 << 20).unwrap());
    }
    let want: Vec<u64> = (0..60).filter(|&s| s != 20).collect();
    assert_eq!(seqs(&got), want);
    assert_eq!(stats.records_lost(), 1);
    drop((reader, store));
    // With room again, the next start splits the segment as usual.
    assert_whole(dir.path(), 60, 20);
}

/// A torn tail alone on a full disk: cut without its side copy.
#[test]
fn a_torn_tail_on_a_full_disk_is_cut_without_a_side_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&(0..5).map(rec).collect::<Vec<_>>()).unwrap();
    let data = store.stats().bytes() as usize;
    drop(store);
    let seg = segment_path(dir.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(data);
    bytes.extend_from_slice(&[0x5a; 100]);
    fs::write(&seg, &bytes).unwrap();
    let disk = FaultyFs::default();
    disk.no_space(Some(""));
    let (_store, recovery) = Store::open_with(dir.path(), 1 << 20, Retention::default(), disk.fs()).unwrap();
    assert_eq!(
        (recovery.next_seq, recovery.bytes_cut, recovery.records_lost),
        (5, 100, 0)
    );
    assert!(recovery.set_aside.is_empty());
}
