//! Arbitrary bytes as spool data: `log::decode` walked over the buffer, then the bytes as a
//! segment file read by a bare `Reader` and by `Store::open` (recovery) + its `Reader`.
//! Nothing may panic, and every loop must end: a decoded frame always consumes bytes, and a
//! reader never hands out more records than there are frames.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tencent_kafka_bridge::spool::log::{self, FrameError, HEADER_LEN, MIN_PAYLOAD_LEN};
use tencent_kafka_bridge::spool::{Reader, Store};

/// Upper bound on how many frames `data` can hold.
fn max_frames(len: usize) -> usize {
    len / (HEADER_LEN + MIN_PAYLOAD_LEN) + 1
}

fn scratch() -> tempfile::TempDir {
    // tmpfs when there is one: the store fsyncs.
    let shm = Path::new("/dev/shm");
    let b = tempfile::Builder::new();
    if shm.is_dir() {
        if let Ok(d) = b.tempdir_in(shm) {
            return d;
        }
    }
    tempfile::Builder::new().tempdir().unwrap()
}

fn drain(reader: &mut Reader, committed: u64, limit: usize) -> usize {
    let mut got = 0usize;
    // Each non-empty batch advances the position, so `limit + 1` rounds are always enough.
    for _ in 0..=limit + 1 {
        let before = reader.position();
        match reader.next_batch(committed, 3, 256) {
            Ok(batch) if batch.is_empty() => return got,
            Ok(batch) => {
                got += batch.len();
                assert!(got <= limit, "more records than frames");
                assert!(reader.position() > before, "no progress");
                for w in batch.windows(2) {
                    assert!(w[0].0 < w[1].0, "seqs out of order");
                }
            }
            Err(_) => return got,
        }
    }
    panic!("reader did not stop");
}

fuzz_target!(|data: &[u8]| {
    // 1. decode over the buffer, resynchronising one byte at a time after damage.
    let mut at = 0usize;
    let mut rounds = 0usize;
    while at < data.len() {
        rounds += 1;
        assert!(rounds <= data.len() + 1);
        match log::decode(&data[at..]) {
            Ok((_, record, used)) => {
                assert!(used >= HEADER_LEN + MIN_PAYLOAD_LEN && used <= data.len() - at);
                // A decoded record re-encodes to the same bytes.
                let mut out = Vec::new();
                let seq = u64::from_le_bytes(data[at + 8..at + 16].try_into().unwrap());
                log::encode(seq, &record, &mut out).unwrap();
                assert_eq!(out, &data[at..at + used]);
                at += used;
            }
            Err(FrameError::Incomplete) => break,
            Err(_) => at += 1,
        }
    }

    // The first byte picks the segment's base seq; the rest is the segment file.
    let Some((&base, segment)) = data.split_first() else {
        return;
    };
    let base = u64::from(base % 4);
    let limit = max_frames(segment.len());
    let name = format!("{base:020}.log");

    // 2. A bare reader over the raw segment, everything "committed".
    let dir = scratch();
    std::fs::write(dir.path().join(&name), segment).unwrap();
    let mut reader = Reader::new(dir.path(), 0);
    drain(&mut reader, u64::MAX, limit);

    // 3. Recovery, then the store's own reader from its watermark up to what it committed.
    let dir = scratch();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    std::fs::write(spool.join(&name), segment).unwrap();
    if let Ok((store, recovery)) = Store::open(&spool, 1 << 20) {
        assert!(recovery.watermark <= recovery.next_seq || recovery.pending == 0);
        let committed = store.stats().committed();
        let mut reader = store.reader(recovery.watermark);
        let got = drain(&mut reader, committed, limit);
        assert!(got as u64 <= committed.saturating_sub(recovery.watermark));
    }
});
