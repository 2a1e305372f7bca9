//! `dlq redrive`'s batches, with the broker and the consumer group played.

use std::cell::Cell;

use super::*;

fn redrive(offset: i64) -> (i32, i64, Verdict) {
    let record = Record {
        topic: "t.room.member".into(),
        key: Vec::new(),
        headers: Vec::new(),
        value: offset.to_string().into_bytes(),
        timestamp_ms: None,
    };
    (0, offset, Verdict::Redrive(record))
}

/// A run killed part way, then run again from what it committed: each record is
/// published at least once, and at most one batch twice.
#[test]
fn a_run_cut_short_publishes_again_at_most_one_batch() {
    const TOTAL: i64 = 3_000;
    const CUT: i64 = 1_234;
    let mut published: Vec<i64> = Vec::new();
    let mut committed = None;
    let killed = Cell::new(false);
    let records = (0..TOTAL).map_while(|o| {
        killed.set(o == CUT);
        (o < CUT).then(|| redrive(o))
    });
    let send = |_: &Record, at: (i32, i64), reply: &Reply| {
        published.push(at.1);
        reply.send((at, Ok(()))).unwrap();
    };
    let commit = |p: &Progress| {
        if !killed.get() {
            committed = p.next_commits().first().map(|c| c.1);
        }
        Ok(())
    };
    let mut progress = Progress::default();
    redrive_all(
        records,
        send,
        &mut progress,
        commit,
        &mut Tally::default(),
        false,
        "t.dlq",
    )
    .unwrap();
    let from = committed.unwrap_or(0);
    let send = |_: &Record, at: (i32, i64), reply: &Reply| {
        published.push(at.1);
        reply.send((at, Ok(()))).unwrap();
    };
    let mut progress = Progress::default();
    let rerun = (from..TOTAL).map(redrive);
    redrive_all(
        rerun,
        send,
        &mut progress,
        |_| Ok(()),
        &mut Tally::default(),
        false,
        "t.dlq",
    )
    .unwrap();
    let distinct: BTreeSet<i64> = published.iter().copied().collect();
    assert_eq!(distinct.len() as i64, TOTAL, "every record published");
    let twice = published.len() - distinct.len();
    assert!(
        twice <= 500,
        "{twice} published twice (committed up to {from}): more than one batch"
    );
}
