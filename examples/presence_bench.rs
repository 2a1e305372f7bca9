//! The presence view's size figures (issue 28): one room of 100 000 members and 10 000 rooms
//! open at once. Measures, in process (no broker: the fold's own cost), the apply rate, the
//! resident memory per 100 000 members held, and the restore rate from the state records the
//! fold wrote (what an instance does on assignment, minus the network). Run by
//! `benches/presence.sh`; figures in BENCHMARKS.md.
//!
//!   cargo run --release --example presence_bench -- one 100000       # one room, 100 000 members
//!   cargo run --release --example presence_bench -- many 10000 10    # 10 000 rooms of 10
//!
//!   cargo run --release --example presence_bench -- kafka 127.0.0.1:9092 100000   # restore over Kafka
//!
//! One shape per process, so one run's freed memory does not hide the next one's. `kafka`
//! writes one room of N members to partition 0 of `tencent.presence` (which must exist), then
//! times the view's own restore of that partition (to partition EOF, through the broker).
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a panic is a failed run

use std::time::Instant;

use tencent_kafka_bridge::presence::fold::{Fold, Limits, Write};
use tencent_kafka_bridge::presence::input::{Envelope, Input, Source};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: 0 kB");
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn enter(room: &str, member: &str, n: i64) -> Input {
    Input {
        source: Source::Live,
        envelope: Envelope {
            event_id: format!("{n:032x}"),
            sdk_app_id: "1400000000".into(),
            room_id: Some(room.into()),
            state: Some("online".into()),
            members: Some(vec![member.into()]),
            event_time_ms: Some(1_700_000_000_000 + n),
            received_at_ms: 1_700_000_000_500 + n,
            ..Envelope::default()
        },
        ce_id: Some(format!("ce-{n}")),
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("kafka") {
        return kafka_restore();
    }
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let many = std::env::args().nth(1).as_deref() == Some("many");
    let (rooms, per_room) = if many {
        (arg(2, 10_000), arg(3, 10))
    } else {
        (1, arg(2, 100_000))
    };
    let limits = Limits {
        grace_ms: 600_000,
        departed_per_room: 2000,
    };
    {
        let (name, count) = (if many { "many rooms" } else { "one room" }, rooms * per_room);
        let room_of = |i: usize| {
            if many {
                format!("room-{}", i % rooms.max(1))
            } else {
                "big".to_owned()
            }
        };
        let inputs: Vec<Input> = (0..count)
            .map(|i| enter(&room_of(i), &format!("user-{i}"), i as i64))
            .collect();
        // Memory: what the fold holds, nothing else allocated meanwhile.
        let before = rss_kib();
        let mut fold = Fold::new(limits);
        let started = Instant::now();
        for input in &inputs {
            fold.apply(input, 1_700_000_000_000);
        }
        let apply_s = started.elapsed().as_secs_f64();
        let held_kib = rss_kib().saturating_sub(before);
        // Restore: the records a second fold wrote, read back into a third.
        let mut writer = Fold::new(limits);
        let writes: Vec<Write> = inputs
            .iter()
            .flat_map(|i| writer.apply(i, 1_700_000_000_000).1)
            .collect();
        drop((inputs, writer));
        let started = Instant::now();
        let mut restored = Fold::new(limits);
        for w in &writes {
            restored.restore(w.key.as_bytes(), w.value.as_deref().map(str::as_bytes));
        }
        let restore_s = started.elapsed().as_secs_f64();
        assert_eq!(restored.members(), fold.members());
        println!(
            "{name}: members={} rooms={} apply_events_per_s={:.0} restore_records_per_s={:.0} rss_growth_kib={} rss_kib_per_100k_members={:.0}",
            fold.members(),
            fold.rooms.len(),
            count as f64 / apply_s,
            writes.len() as f64 / restore_s,
            held_kib,
            held_kib as f64 * 100_000.0 / count.max(1) as f64,
        );
    }
}

fn kafka_restore() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let brokers = std::env::args().nth(2).unwrap_or_else(|| "127.0.0.1:9092".into());
    let n: usize = std::env::args()
        .nth(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut cfg = rdkafka::ClientConfig::new();
    cfg.set("bootstrap.servers", &brokers);
    let producer: BaseProducer = cfg.create().expect("producer");
    let mut fold = Fold::new(Limits {
        grace_ms: 600_000,
        departed_per_room: 2000,
    });
    let started = Instant::now();
    for i in 0..n {
        for w in fold
            .apply(&enter("big", &format!("user-{i}"), i as i64), 1_700_000_000_000)
            .1
        {
            let mut record = BaseRecord::<str, str>::to("tencent.presence")
                .partition(0)
                .key(w.key.as_str());
            if let Some(v) = &w.value {
                record = record.payload(v.as_str());
            }
            while let Err((e, r)) = producer.send(record) {
                assert!(
                    matches!(
                        e,
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull
                        )
                    ),
                    "{e}"
                );
                producer.poll(std::time::Duration::from_millis(10));
                record = r;
            }
        }
    }
    producer
        .flush(std::time::Duration::from_secs(120))
        .expect("flush");
    let write_s = started.elapsed().as_secs_f64();
    let limits = Limits {
        grace_ms: 600_000,
        departed_per_room: 2000,
    };
    let started = Instant::now();
    let restored = tencent_kafka_bridge::presence::restore::restore(
        &cfg,
        "tencent.presence",
        &[0],
        limits,
        std::time::Duration::from_secs(600),
        &|| false,
    )
    .expect("restore");
    let restore_s = started.elapsed().as_secs_f64();
    let members: usize = restored.folds.values().map(Fold::members).sum();
    println!(
        "kafka restore: records={} members={members} write_s={write_s:.1} restore_s={restore_s:.2} restore_records_per_s={:.0}",
        restored.records,
        restored.records as f64 / restore_s,
    );
}
