use super::*;
use crate::spool::fs::{self as sfs, FsFile, How};
use crate::spool::testutil::{log_files, read_all, rec, recs, seqs};
use crate::spool::Store;
use std::fs;

/// A crash at every byte of the last write: the acknowledged records always survive,
/// the torn one is cut, and the spool takes appends again.
#[test]
fn a_crash_at_every_byte_keeps_every_acknowledged_record() {
    let src = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(src.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..2)).unwrap();
    let acked = store.stats().bytes();
    store.append_batch(&recs(2..4)).unwrap();
    let data = store.stats().bytes() as usize;
    drop(store);
    let name = log_files(src.path())[0].clone();
    let mut full = fs::read(src.path().join(&name)).unwrap();
    full.truncate(data); // without the preallocated zeros
    for cut in acked as usize..full.len() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(&name), &full[..cut]).unwrap();
        let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
        let whole = if cut == full.len() {
            4
        } else {
            2 + u64::from(cut >= frame_end(&full, 3))
        };
        assert_eq!(recovery.next_seq, whole, "cut at {cut}");
        assert_eq!(recovery.records_lost, 0);
        assert_eq!(store.append_batch(&[rec(9)]).unwrap(), whole);
        assert_eq!(
            seqs(&read_all(dir.path(), 0, whole + 1)),
            (0..=whole).collect::<Vec<_>>()
        );
    }
}

/// End offset of the first `n` frames.
fn frame_end(buf: &[u8], n: usize) -> usize {
    (0..n).fold(0, |at, _| at + log::decode(&buf[at..]).unwrap().2)
}

/// Zeros after the data are the preallocated rest of the segment: cut without a word.
#[test]
fn a_zero_filled_tail_is_unused_space_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..3)).unwrap();
    drop(store);
    let seg = dir.path().join(&log_files(dir.path())[0]);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&seg, bytes).unwrap();
    let (_, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((recovery.bytes_cut, recovery.next_seq), (0, 3));
    assert!(recovery.set_aside.is_empty());
}

/// A torn write into preallocated space: the partial frame is cut (and counted), the
/// zeros after it are not, and the records before it survive.
#[test]
fn a_torn_write_before_preallocated_zeros_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..3)).unwrap();
    let data = store.stats().bytes() as usize;
    drop(store);
    let seg = dir.path().join(&log_files(dir.path())[0]);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(data);
    let mut torn = Vec::new();
    log::encode(3, &rec(3), &mut torn).unwrap();
    let half = &torn[..torn.len() / 2];
    bytes.extend_from_slice(half);
    bytes.extend_from_slice(&[0; 1 << 20]);
    fs::write(&seg, bytes).unwrap();
    let (_, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    // Zeros that end the torn bytes cannot be told from the preallocated ones.
    let nonzero = half.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    assert!(nonzero > 0);
    assert_eq!((recovery.bytes_cut, recovery.next_seq), (nonzero as u64, 3));
    assert_eq!(seqs(&read_all(dir.path(), 0, 3)), [0, 1, 2]);
}

#[test]
fn data_end_finds_the_last_non_zero_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut bytes = vec![0u8; 3 << 20];
    bytes[5] = 1;
    bytes[(1 << 20) + 7] = 2;
    fs::write(&path, &bytes).unwrap();
    let file = FsFile::open(&sfs::real(), &path, How::Read).unwrap();
    let len = bytes.len() as u64;
    assert_eq!(data_end(&file, 0, len).unwrap(), (1 << 20) + 8);
    assert_eq!(data_end(&file, (1 << 20) + 8, len).unwrap(), (1 << 20) + 8);
    assert_eq!(data_end(&file, 0, 5).unwrap(), 0);
    assert_eq!(data_end(&file, 0, 6).unwrap(), 6);
}

/// Frame extents of every record in a segment file: (seq, start, end).
fn extents(bytes: &[u8], base: u64) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Ok((seq, _, len)) = log::decode(&bytes[at..]) {
        assert_eq!(seq, base + out.len() as u64);
        out.push((seq, at, at + len));
        at += len;
    }
    out
}

/// One segment holding `n` acknowledged records, without its preallocated zeros.
fn one_segment(n: u64) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    for i in 0..n {
        store.append_batch(&[rec(i)]).unwrap();
    }
    let data = store.stats().bytes() as usize;
    drop(store);
    let seg = dir.path().join(&log_files(dir.path())[0]);
    let mut bytes = fs::read(&seg).unwrap();
    bytes.truncate(data);
    (dir, seg, bytes)
}

/// A power cut during a group commit that was never acknowledged, whose pages reached the disk
/// out of order: the first page of the batch never landed (zeros), later ones did. Every
/// acknowledged record before it is kept, and so is every intact one after it.
#[test]
fn out_of_order_pages_of_an_unacknowledged_commit_lose_no_acknowledged_record() {
    let (dir, seg, mut bytes) = one_segment(120);
    let frames = extents(&bytes, 0);
    // Records 0..100 were acknowledged; the commit of 100..120 was cut by the power.
    let hole = frames[100].1..frames[104].2 - 5;
    bytes[hole.clone()].fill(0);
    bytes.extend_from_slice(&[0; 8192]); // the preallocated rest
    fs::write(&seg, &bytes).unwrap();
    let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(recovery.next_seq, 120);
    assert_eq!(recovery.records_lost, 5, "100..105, never acknowledged");
    assert_eq!(store.append_batch(&[rec(120)]).unwrap(), 120);
    let got = read_all(dir.path(), 0, 121);
    let want: Vec<u64> = (0..100).chain(105..121).collect();
    assert_eq!(seqs(&got), want);
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
    let kept = fs::read(&recovery.set_aside[0]).unwrap();
    assert_eq!(kept.len(), frames[105].1 - frames[100].1);
}

/// A flipped bit in the middle of an older segment costs one record, not the segment: the
/// records before and after it are delivered, the bad bytes are kept, no seq is reused.
#[test]
fn damage_in_the_middle_of_a_segment_costs_only_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 600).unwrap();
    for i in 0..30 {
        store.append_batch(&[rec(i)]).unwrap();
    }
    drop(store);
    let logs = log_files(dir.path());
    assert!(logs.len() >= 3, "{logs:?}");
    let middle = dir.path().join(&logs[1]);
    let base: u64 = logs[1][..20].parse().unwrap();
    let mut bytes = fs::read(&middle).unwrap();
    let frames = extents(&bytes, base);
    assert!(frames.len() >= 3);
    bytes[frames[1].1 + 20] ^= 0x40;
    fs::write(&middle, &bytes).unwrap();

    let (mut store, recovery) = Store::open(dir.path(), 600).unwrap();
    assert_eq!((recovery.records_lost, recovery.next_seq), (1, 30));
    assert_eq!(store.append_batch(&[rec(30)]).unwrap(), 30);
    let want: Vec<u64> = (0..31).filter(|&s| s != base + 1).collect();
    let got = read_all(dir.path(), 0, 31);
    assert_eq!(seqs(&got), want);
    assert!(got.iter().all(|(s, r)| *r == rec(*s)));
    assert_eq!(
        fs::read(&recovery.set_aside[0]).unwrap(),
        &bytes[frames[1].1..frames[1].2]
    );
}

/// A crash during recovery's own repair (pieces written, the damaged segment not yet cut): the
/// next recovery finishes it with the same result and no record twice.
#[test]
fn a_crash_in_the_middle_of_a_repair_is_repaired_the_same_way() {
    let (dir, seg, mut bytes) = one_segment(40);
    let frames = extents(&bytes, 0);
    bytes[frames[10].1 + 9] ^= 1;
    bytes[frames[25].1 + 30] ^= 1;
    fs::write(&seg, &bytes).unwrap();
    let (store, first) = Store::open(dir.path(), 1 << 20).unwrap();
    drop(store);
    let after_first = read_all(dir.path(), 0, 40);
    fs::write(&seg, &bytes).unwrap(); // as if the cut never happened
    let (_store, second) = Store::open(dir.path(), 1 << 20).unwrap();
    // The second finds only what the first had not finished: the same files either way.
    assert_eq!((first.records_lost, second.records_lost), (2, 1));
    assert_eq!(second.next_seq, 40);
    let after_second = read_all(dir.path(), 0, 40);
    assert_eq!(after_first, after_second);
    assert_eq!(seqs(&after_second).len(), 38);
}

/// A segment that cannot be read at all (here: a directory where a file should be) is moved
/// aside, the start goes on, and the seqs it may have held are never handed out again.
#[test]
fn an_unreadable_segment_is_set_aside_and_its_seqs_are_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..5)).unwrap();
    drop(store);
    let unreadable = crate::spool::dir::segment_path(dir.path(), 5);
    fs::create_dir(&unreadable).unwrap();
    let (mut store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(recovery.set_aside.len(), 1);
    assert!(recovery.next_seq > 5);
    let next = store.append_batch(&[rec(9)]).unwrap();
    assert_eq!(next, recovery.next_seq);
    assert_eq!(seqs(&read_all(dir.path(), 0, next + 1)), [0, 1, 2, 3, 4, next]);
}

mod random_damage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Damage anywhere, of any shape: recovery never fails or panics, never delivers a
        /// record that was not written, and delivers every record whose bytes were not touched.
        #[test]
        fn recovery_keeps_every_untouched_record(
            n in 5u64..60,
            hits in proptest::collection::vec((0.0f64..1.0, 1usize..200, any::<u8>()), 1..4),
        ) {
            let (dir, seg, mut bytes) = one_segment(n);
            let frames = extents(&bytes, 0);
            let mut touched = vec![false; bytes.len()];
            for (at, len, byte) in hits {
                let start = (at * bytes.len() as f64) as usize;
                let end = (start + len).min(bytes.len());
                for i in start..end {
                    if bytes[i] != byte {
                        bytes[i] = byte;
                        touched[i] = true;
                    }
                }
            }
            fs::write(&seg, &bytes).unwrap();
            let (_store, recovery) = Store::open(dir.path(), 1 << 20).unwrap();
            let got = read_all(dir.path(), 0, recovery.next_seq);
            // Zeros at the very end read as unused space, so only what is found bounds it.
            prop_assert!(got.last().map_or(true, |(s, _)| recovery.next_seq > *s));
            for (s, r) in &got {
                prop_assert!(*s < n && *r == rec(*s), "seq {} was never written like this", s);
            }
            let got: Vec<u64> = seqs(&got);
            for (seq, start, end) in frames {
                let intact = !touched[start..end].iter().any(|t| *t);
                if intact {
                    prop_assert!(got.contains(&seq), "intact record {} lost", seq);
                }
            }
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
