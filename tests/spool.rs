//! The spool delivery mode: what it acknowledged survives SIGKILL, Kafka outages, a torn
//! write at the end of the log, damage in the middle of it and a full spool; and one spool has
//! one owner.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::http::{get_blocking, post, raw_exchange, try_post};
use common::samples::{live, query};
use common::spool::{frame_starts, last_segment, read_acked, verify, Acks, Rng};
use common::{free_port, wait_for};

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const TOPIC: &str = "tencent.live.member";

fn q() -> String {
    query("/callback", APP_ID, LIVE, Some(TOKEN))
}

/// Posts `member` into `room`; true when acknowledged with 200.
async fn send(addr: &str, room: &str, member: &str) -> bool {
    matches!(try_post(addr, &q(), live(room, "Online", "Enter", member)).await, Ok(a) if a.status == 200)
}

/// Posts and insists on 200, recording the acknowledgement.
async fn send_ok(addr: &str, acks: &mut Acks, room: &str, member: &str) {
    let a = post(addr, &q(), live(room, "Online", "Enter", member)).await;
    assert_eq!(a.status, 200, "{member}: {a:?}");
    acks.entry(room.to_owned()).or_default().push(member.to_owned());
}

/// A bridge in spool mode whose broker is cut off (behind a proxy): what it acknowledges stays
/// in its spool.
fn spooling_with_kafka_cut_off() -> (Broker, common::proxy::Proxy, tempfile::TempDir, u16, Bridge) {
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let bridge = Bridge::start_spool(&broker.bootstrap(), port, spool.path(), &[]);
    proxy.cut();
    (broker, proxy, spool, port, bridge)
}

fn readyz_body(addr: &str) -> String {
    raw_exchange(
        addr,
        b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
}

fn check_all_arrived(brokers: &str, acks: &Acks, what: &str) -> common::spool::Verdict {
    let msgs = tokio::task::block_in_place(|| read_acked(brokers, TOPIC, acks, Duration::from_secs(120)));
    let v = verify(&msgs, acks);
    let acked: usize = acks.values().map(Vec::len).sum();
    eprintln!(
        "{what}: {acked} acknowledged, {} records read, {} duplicates, {} offset regressions",
        v.total, v.duplicates, v.offset_regressions
    );
    v.assert_complete(what);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 6)]
async fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    const CLIENTS: usize = 4;
    const MAX_PER_CLIENT: usize = 3000;
    const KILLS: usize = 6;
    let broker = Broker::start("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let brokers = broker.bootstrap();
    let args = ["--spool-segment-bytes", "32768"];
    let start = || Bridge::spawn_spool(&brokers, port, spool.path(), &args);
    let mut bridge = start();
    tokio::task::block_in_place(|| bridge.wait_ready());

    let acks: Arc<Mutex<Acks>> = Arc::default();
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (acks, acked, stop, addr) = (acks.clone(), acked.clone(), stop.clone(), bridge.addr());
        // Client c owns rooms c and c + 4: one room's requests never overlap, so its
        // acknowledgement order is the order the bridge must keep.
        clients.push(tokio::spawn(async move {
            let mut sent = 0;
            for i in 0..MAX_PER_CLIENT {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let room = format!("crash-room-{}", c + CLIENTS * ((i * 7 + i / 3) % 2));
                let member = format!("crash-c{c}-{i:05}");
                sent += 1;
                if send(&addr, &room, &member).await {
                    acks.lock().unwrap().entry(room).or_default().push(member);
                    acked.fetch_add(1, Ordering::SeqCst);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            sent
        }));
    }

    let mut rng = Rng::from_env();
    for kill in 0..KILLS {
        // A few acknowledgements since the last start, then a pseudo-random moment.
        let before = acked.load(Ordering::SeqCst);
        let want = before + rng.range(5, 60) as usize;
        tokio::task::block_in_place(|| {
            wait_for(
                "acknowledgements before the kill",
                Duration::from_secs(30),
                || (acked.load(Ordering::SeqCst) >= want).then_some(()),
            )
        });
        tokio::time::sleep(Duration::from_millis(rng.range(0, 400))).await;
        bridge.kill9();
        eprintln!(
            "kill {kill}: {} acknowledged so far",
            acked.load(Ordering::SeqCst)
        );
        bridge = start();
        tokio::task::block_in_place(|| bridge.wait_ready());
    }
    // After the final restart: more traffic, then stop the clients.
    let after = acked.load(Ordering::SeqCst) + 100;
    tokio::task::block_in_place(|| {
        wait_for(
            "acknowledgements after the last restart",
            Duration::from_secs(60),
            || (acked.load(Ordering::SeqCst) >= after).then_some(()),
        )
    });
    stop.store(true, Ordering::SeqCst);
    let mut sent = 0;
    for c in clients {
        sent += c.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    eprintln!("crash: {sent} sent over {KILLS} kills");
    let v = check_all_arrived(&brokers, &acks, "crash");
    eprintln!("crash: {} duplicates after {KILLS} SIGKILLs", v.duplicates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kafka_outage_keeps_answering_ok_and_delivers_everything_after() {
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let bridge = Bridge::start_spool(&broker.bootstrap(), free_port(), spool.path(), &[]);
    let addr = bridge.addr();
    let mut acks = Acks::new();
    let rooms = ["out-a", "out-b", "out-c", "out-d"];
    let mut n = 0;
    for _ in 0..40 {
        send_ok(&addr, &mut acks, rooms[n % 4], &format!("out-{n:05}")).await;
        n += 1;
    }
    tokio::task::block_in_place(|| {
        wait_for(
            "the bridge to reach Kafka through the proxy",
            Duration::from_secs(30),
            || (proxy.live_connections() > 0).then_some(()),
        )
    });

    proxy.cut();
    let cut = Instant::now();
    while cut.elapsed() < Duration::from_secs(22) && n < 1500 {
        send_ok(&addr, &mut acks, rooms[n % 4], &format!("out-{n:05}")).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let outage = cut.elapsed();
    eprintln!("outage: {n} acknowledged, {} during a {outage:?} cut", n - 40);
    assert!(
        outage >= Duration::from_secs(20),
        "the cut lasted only {outage:?}"
    );
    // The cut was felt: what was acknowledged during it is still waiting in the spool.
    let waiting = spool_records(&bridge.admin_addr());
    assert!(waiting > 0, "nothing waiting in the spool at the end of the cut");
    proxy.restore();
    for _ in 0..40 {
        send_ok(&addr, &mut acks, rooms[n % 4], &format!("out-{n:05}")).await;
        n += 1;
    }
    let v = check_all_arrived(&broker.bootstrap(), &acks, "outage");
    assert!(v.total >= n, "fewer records than acknowledged");
}

/// `tencent_bridge_spool_records`: records in the spool not yet delivered.
fn spool_records(addr: &str) -> u64 {
    let metrics = raw_exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tencent_bridge_spool_records "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no spool_records in:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_torn_tail_is_cut_at_start_and_every_complete_record_is_delivered() {
    const N: usize = 30;
    let (broker, proxy, spool, port, mut bridge) = spooling_with_kafka_cut_off();
    let mut acks = Acks::new();
    for i in 0..N {
        send_ok(
            &bridge.addr(),
            &mut acks,
            &format!("torn-{}", i % 3),
            &format!("torn-{i:03}"),
        )
        .await;
    }
    bridge.kill9();

    // Tear the last record: a few of its bytes gone, garbage where they were.
    let segment = last_segment(spool.path());
    let len = common::spool::segment_data(&segment).len() as u64;
    let last_start = *frame_starts(&segment).last().unwrap();
    let file = std::fs::OpenOptions::new().append(true).open(&segment).unwrap();
    file.set_len(len - 5).unwrap();
    // Ends non-zero: trailing zeros are indistinguishable from preallocated space.
    (&file).write_all(b"\xde\xad\xbe\xef\x07\x00\x5a").unwrap();
    file.sync_all().unwrap();
    drop(file);
    let last = format!("torn-{:03}", N - 1);
    let torn_room = format!("torn-{}", (N - 1) % 3);
    acks.get_mut(&torn_room).unwrap().retain(|m| *m != last);

    proxy.restore();
    let bridge = Bridge::start_spool(&broker.bootstrap(), port, spool.path(), &[]);
    let log = bridge.log();
    // What recovery must cut: the torn record with the garbage after it.
    let cut = len - 5 + 7 - last_start;
    assert!(
        log.contains("torn tail") && log.contains(&format!("bytes_cut={cut}")),
        "no torn tail of {cut} bytes in the log:\n{log}"
    );
    let msgs = tokio::task::block_in_place(|| {
        read_acked(&broker.bootstrap(), TOPIC, &acks, Duration::from_secs(90))
    });
    verify(&msgs, &acks).assert_complete("torn tail");
    assert!(
        !msgs.iter().any(|m| common::spool::member(m) == last),
        "the torn record was delivered anyway"
    );
}

/// Bytes damaged in the middle of a segment of acknowledged, undelivered records cost only the
/// records they touch: after a restart every other record reaches Kafka, in order per room.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn damage_in_the_middle_of_a_segment_costs_only_the_records_it_touches() {
    const N: usize = 3000;
    let (broker, proxy, spool, port, mut bridge) = spooling_with_kafka_cut_off();
    let mut acks = Acks::new();
    let mut members = Vec::with_capacity(N);
    for i in 0..N {
        let (room, member) = (format!("mid-{}", i % 7), format!("mid-{i:05}"));
        send_ok(&bridge.addr(), &mut acks, &room, &member).await;
        members.push((room, member));
    }
    bridge.kill9();

    // 100 bytes of garbage from the middle of the 1500th record on: one sequential writer, so
    // frame i holds the i-th acknowledged callback.
    let segment = last_segment(spool.path());
    let starts = frame_starts(&segment);
    assert_eq!(starts.len(), N, "one segment holds every record");
    let from = starts[N / 2] + 40;
    let to = from + 100;
    let file = std::fs::OpenOptions::new().write(true).open(&segment).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xa5; 100], from).unwrap();
    file.sync_all().unwrap();
    let end_of = |i: usize| starts.get(i + 1).copied().unwrap_or(u64::MAX);
    let damaged: Vec<usize> = (0..N).filter(|&i| starts[i] < to && end_of(i) > from).collect();
    assert!((1..=3).contains(&damaged.len()), "{damaged:?}");
    for &i in &damaged {
        let (room, member) = &members[i];
        acks.get_mut(room).unwrap().retain(|m| m != member);
    }

    proxy.restore();
    let bridge = Bridge::start_spool(&broker.bootstrap(), port, spool.path(), &[]);
    let log = bridge.log();
    assert!(
        log.contains("damaged bytes skipped") && log.contains(&format!("records_lost={}", damaged.len())),
        "no salvage of {} records in the log:\n{log}",
        damaged.len()
    );
    let metrics = raw_exchange(
        &bridge.admin_addr(),
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    let lost = format!("tencent_bridge_spool_records_lost_total {}", damaged.len());
    assert!(metrics.contains(&lost), "{lost} not in:\n{metrics}");
    let msgs = tokio::task::block_in_place(|| {
        read_acked(&broker.bootstrap(), TOPIC, &acks, Duration::from_secs(120))
    });
    verify(&msgs, &acks).assert_complete("damage mid-segment");
    for &i in &damaged {
        let member = &members[i].1;
        assert!(
            !msgs.iter().any(|m| common::spool::member(m) == member),
            "{member} was damaged, yet delivered"
        );
    }
    let kept = std::fs::read_dir(spool.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".log.damaged-"));
    assert!(kept, "the damaged bytes were not kept for an operator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_spool_answers_503_until_drained_and_loses_nothing() {
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let args = ["--spool-max-bytes", "65536"];
    let bridge = Bridge::start_spool(&broker.bootstrap(), free_port(), spool.path(), &args);
    let addr = bridge.addr();
    proxy.cut();
    let mut acks = Acks::new();
    let mut refused = None;
    for i in 0..2000 {
        let (room, member) = (format!("full-{}", i % 4), format!("full-{i:05}"));
        let a = post(&addr, &q(), live(&room, "Online", "Enter", &member)).await;
        match a.status {
            200 => acks.entry(room).or_default().push(member),
            _ => {
                refused = Some(a);
                break;
            }
        }
    }
    let refused = refused.expect("a 64 KiB spool never filled up in 2000 callbacks");
    assert_eq!((refused.status, refused.code()), (503, 5032), "{refused:?}");
    let acked: usize = acks.values().map(Vec::len).sum();
    eprintln!("full: spool full after {acked} callbacks: {}", refused.info());
    tokio::task::block_in_place(|| {
        wait_for("/readyz 503 with a full spool", Duration::from_secs(15), || {
            (get_blocking(&bridge.admin_addr(), "/readyz") == Some(503)).then_some(())
        })
    });
    let readyz = readyz_body(&bridge.admin_addr());
    eprintln!("full: {readyz}");
    assert!(
        readyz.contains("spool full"),
        "/readyz does not say why: {readyz}"
    );

    proxy.restore();
    tokio::task::block_in_place(|| {
        wait_for("/readyz 200 once drained", Duration::from_secs(120), || {
            (get_blocking(&bridge.admin_addr(), "/readyz") == Some(200)).then_some(())
        })
    });
    for i in 0..10 {
        send_ok(&addr, &mut acks, "full-after", &format!("full-after-{i}")).await;
    }
    check_all_arrived(&broker.bootstrap(), &acks, "full");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_bridge_on_the_same_spool_exits_non_zero_saying_locked() {
    let broker = Broker::start("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let first = Bridge::start_spool(&broker.bootstrap(), free_port(), spool.path(), &[]);
    let mut second = Bridge::spawn_spool(&broker.bootstrap(), free_port(), spool.path(), &[]);
    let status = tokio::task::block_in_place(|| second.exit_within(Duration::from_secs(30)))
        .unwrap_or_else(|| panic!("the second bridge kept running:\n{}", second.log()));
    assert!(!status.success(), "second bridge: {status}\n{}", second.log());
    assert!(
        second.log().contains("locked"),
        "second bridge log:\n{}",
        second.log()
    );
    // The first one is untouched.
    assert_eq!(get_blocking(&first.admin_addr(), "/readyz"), Some(200));
    let mut acks = Acks::new();
    send_ok(&first.addr(), &mut acks, "lock-room", "lock-1").await;
    check_all_arrived(&broker.bootstrap(), &acks, "lock");
    assert_spool_dir_owned(spool.path());
}

/// The spool directory holds the lock file while a bridge runs.
fn assert_spool_dir_owned(dir: &Path) {
    assert!(dir.join("LOCK").exists(), "no LOCK in {}", dir.display());
}
