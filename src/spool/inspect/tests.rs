//! `spool inspect | verify` on a spool being written (issue 23 item 11): a frame being written
//! is not damage, and no record is skipped without a word.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::spool::testutil::recs;
use crate::spool::Store;

/// Scans of a spool that a writer appends to (and rolls) all the while never report damage.
#[test]
fn a_live_spool_shows_no_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 256 << 10).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writing = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // Delivered segments go as the bridge's drain would delete them: the spool stays
            // small, and some segments vanish under the scans.
            let mut cleaner = store.cleaner();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 2_000_000 {
                store.append_batch(&recs(n..n + 50)).unwrap();
                n += 50;
                cleaner.advance(n.saturating_sub(5_000)).unwrap();
            }
            n
        })
    };
    let mut scans = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while scans < 40 && std::time::Instant::now() < deadline {
        let view = SpoolView::read(dir.path()).unwrap();
        let damaged: Vec<_> = view.damaged().map(|(s, d)| (s.seg.base, d.clone())).collect();
        assert!(damaged.is_empty(), "scan {scans}: {damaged:?}");
        let mut last = None;
        let walk = view
            .walk_records(|seq, _, _| {
                assert!(last.map_or(true, |l| seq > l));
                last = Some(seq);
                true
            })
            .unwrap();
        assert!(walk.changed.is_empty(), "scan {scans}: {:?}", walk.changed);
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let written = writing.join().unwrap();
    assert!(scans >= 20 && written > 0, "{scans} scans, {written} records");
}

/// The tail that is not yet a whole record is reported as in flight, with its size.
#[test]
fn a_frame_being_written_is_reported_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store.append_batch(&recs(0..5)).unwrap();
    let end = store.end().1;
    let mut frame = Vec::new();
    log::encode(5, &crate::spool::testutil::rec(5), &mut frame).unwrap();
    // Half a frame in the page cache, as a reader may see it mid-write.
    use std::os::unix::fs::FileExt;
    let seg = dir::segment_path(dir.path(), 0);
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all_at(&frame[..frame.len() / 2], end).unwrap();
    let view = SpoolView::read(dir.path()).unwrap();
    assert_eq!(view.damaged().count(), 0);
    let flight = view.in_flight();
    assert_eq!(flight.len(), 1);
    assert_eq!(flight[0].1.offset, end);
    let walk = view.walk_records(|_, _, _| true).unwrap();
    assert_eq!(walk.records, 5);
}
