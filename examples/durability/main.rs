//! The long durability proof that `benches/durability.sh` runs (its header says how to read the
//! figures). Concurrent clients post Live callbacks, each with a member account used once, to a
//! spool-mode bridge that is SIGKILLed and restarted KILLS times at random moments, then cut off
//! from Kafka for OUTAGE_SECS by a TCP proxy, all under load. Then every record is read back
//! from Kafka and it prints sent / acknowledged / delivered / lost / duplicates.
//!
//!   durability BRIDGE_BIN TANSU_BIN WORK_DIR
//!
//! Exit status 1 when an acknowledged callback is missing on Kafka (lost > 0), when one room's
//! first occurrences are not in acknowledgement order, or when a phase could not run (the
//! bridge did not come back, nothing was acknowledged during the outage).
//!
//! Tunables (env): KILLS (10), OUTAGE_SECS (60), RATE (callbacks/s offered in all, 1000),
//! CLIENTS (8), SPOOL_TEST_SEED (replays the kill moments). Everything runs on 127.0.0.1 and
//! every loop is bounded in count and time. The helpers are the integration tests' own
//! (tests/common), so the bench and the tests judge "lost" and "in order" the same way.
#![allow(dead_code)] // the shared test helpers carry more than this program uses

#[allow(clippy::expect_used, clippy::unwrap_used)]
#[path = "../../tests/common/consume.rs"]
mod consume;
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[path = "../../tests/common/http.rs"]
mod http;
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[path = "../../tests/common/proxy.rs"]
mod proxy;
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[path = "../../tests/common/samples.rs"]
mod samples;
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[path = "../../tests/common/spool.rs"]
mod spool;

mod procs;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::task::JoinHandle;

use procs::{free_port, start_tansu, wait_until, Bridge};
use proxy::Proxy;
use spool::{Acks, Rng, Verdict};

const APP_ID: &str = "1400000001";
const COMMAND: &str = "Live.CallbackAfterMemberStateChanged";
const TOPIC: &str = "tencent.live.member";
/// No client sends more than this, whatever the rate and the phases' lengths.
const MAX_PER_CLIENT: u64 = 2_000_000;
/// Nothing here runs longer, whatever the settings.
const HARD_LIMIT: Duration = Duration::from_secs(30 * 60);

struct Settings {
    bridge_bin: PathBuf,
    tansu_bin: PathBuf,
    work: PathBuf,
    kills: usize,
    outage: Duration,
    rate: u64,
    clients: u64,
}

fn env_or(name: &str, default: u64) -> anyhow::Result<u64> {
    std::env::var(name)
        .ok()
        .map_or(Ok(default), |v| v.parse().with_context(|| format!("{name}={v}")))
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [bridge, tansu, work] = args.as_slice() else {
            bail!("usage: durability BRIDGE_BIN TANSU_BIN WORK_DIR");
        };
        Ok(Settings {
            bridge_bin: bridge.into(),
            tansu_bin: tansu.into(),
            work: work.into(),
            kills: env_or("KILLS", 10)? as usize,
            outage: Duration::from_secs(env_or("OUTAGE_SECS", 60)?),
            rate: env_or("RATE", 1000)?.max(1),
            clients: env_or("CLIENTS", 8)?.max(1),
        })
    }
}

/// What the clients did, shared with the phases.
#[derive(Default)]
struct Tally {
    acks: Mutex<Acks>,
    sent: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

impl Tally {
    fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }
}

/// One client: its own two rooms, one request at a time (so a room's acknowledgement order is
/// the order the bridge must keep), paced to its share of RATE.
async fn client(c: u64, addr: String, per_sec: f64, t: Arc<Tally>, until: Instant) {
    let q = samples::query("/callback", APP_ID, COMMAND, None);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sec));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..MAX_PER_CLIENT {
        if t.stop.load(Ordering::SeqCst) || Instant::now() >= until {
            break;
        }
        tick.tick().await;
        let room = format!("dur-{c}-{}", ["a", "b"][((i * 7 + i / 3) % 2) as usize]);
        let member = format!("dur-c{c}-{i:07}");
        t.sent.fetch_add(1, Ordering::SeqCst);
        match http::try_post(&addr, &q, samples::live(&room, "Online", "Enter", &member)).await {
            Ok(a) if a.status == 200 => {
                if let Ok(mut acks) = t.acks.lock() {
                    acks.entry(room).or_default().push(member);
                }
                t.acked.fetch_add(1, Ordering::SeqCst);
            }
            Ok(_) => {
                t.refused.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                // The bridge is down (killed): not acknowledged; try again shortly.
                t.failed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn pause(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Waits (off the runtime's workers) until `t.acked()` passes `want`.
async fn acked_past(t: &Arc<Tally>, want: u64, within: Duration) -> bool {
    let t = t.clone();
    tokio::task::spawn_blocking(move || wait_until(within, || t.acked() > want))
        .await
        .unwrap_or(false)
}

async fn crash_rounds(s: &Settings, bridge: &mut Bridge, t: &Arc<Tally>) -> anyhow::Result<()> {
    let mut rng = Rng::from_env();
    for round in 1..=s.kills {
        let before = t.acked();
        pause(Duration::from_millis(rng.range(1000, 4000))).await;
        if !acked_past(t, before, Duration::from_secs(30)).await {
            bail!("kill {round}: nothing acknowledged since the last start");
        }
        bridge.kill9();
        let at_kill = t.acked();
        let back = bridge.restart()?;
        println!("kill {round:>2}: SIGKILL after {at_kill} acknowledged in all; ready again in {back:.1?}");
    }
    Ok(())
}

async fn outage(s: &Settings, proxy: &Proxy, t: &Arc<Tally>) -> anyhow::Result<()> {
    pause(Duration::from_secs(5)).await;
    let before = t.acked();
    proxy.cut();
    let cut = Instant::now();
    pause(s.outage).await;
    let during = t.acked() - before;
    proxy.restore();
    println!(
        "outage: Kafka unreachable for {:.1?}; {during} callbacks acknowledged meanwhile",
        cut.elapsed()
    );
    if during == 0 {
        bail!("no callback was acknowledged during the outage");
    }
    // Keep the load on while the backlog drains.
    pause(Duration::from_secs(10)).await;
    Ok(())
}

/// Counts and prints; `Ok(true)` when nothing acknowledged is missing and every room is in order.
fn report(t: &Tally, acks: &Acks, msgs: &[consume::Msg], v: &Verdict, log: &Path) -> bool {
    let acked: HashSet<&str> = acks.values().flatten().map(String::as_str).collect();
    let on_kafka: HashSet<&str> = msgs.iter().map(spool::member).collect();
    let unacked_delivered = on_kafka.iter().filter(|m| !acked.contains(**m)).count();
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let count = |what: &str| log.lines().filter(|l| l.contains(what)).count();
    let torn = count("cut a torn tail");
    let quarantined = count("damaged segment moved aside");
    let resends = count("re-sending records whose delivery failed");
    let renewed = count("fences this Kafka producer");
    let sent = t.sent.load(Ordering::SeqCst);
    println!("sent:          {sent}");
    println!("acknowledged:  {} (200 OK)", acked.len());
    println!(
        "not acked:     {} (bridge down or killed mid-request: {}, refused: {})",
        sent - acked.len() as u64,
        t.failed.load(Ordering::SeqCst),
        t.refused.load(Ordering::SeqCst)
    );
    println!(
        "delivered:     {} of the acknowledged",
        acked.len() - v.missing.len()
    );
    println!("lost:          {}", v.missing.len());
    println!("duplicates:    {} (records read: {})", v.duplicates, v.total);
    println!("unacked but delivered: {unacked_delivered} (accepted, answer cut by a kill)");
    println!("rooms out of order: {} of {}", v.disorder.len(), acks.len());
    println!("torn tails cut at restart: {torn}; segments quarantined: {quarantined}");
    println!("bridge log: {resends} re-send rounds of failed deliveries, {renewed} producer renewals");
    if !v.missing.is_empty() {
        println!("LOST: {:?}", &v.missing[..v.missing.len().min(20)]);
    }
    let sound = v.split_rooms.is_empty() && v.unstable_ids.is_empty();
    v.missing.is_empty() && v.disorder.is_empty() && sound
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let s = Settings::from_env()?;
    let (tansu_port, proxy_port) = (free_port()?, free_port()?);
    let proxy = Proxy::start_on(proxy_port, ([127, 0, 0, 1], tansu_port).into());
    let _tansu = start_tansu(&s, tansu_port, proxy_port)?;
    let brokers = proxy.addr();
    let mut bridge = Bridge::start(&s, brokers.clone())?;
    println!(
        "load: {} clients, {} callbacks/s offered; {} SIGKILLs, then a {:?} outage",
        s.clients, s.rate, s.kills, s.outage
    );
    let t = Arc::new(Tally::default());
    let until = Instant::now() + HARD_LIMIT;
    let per_sec = s.rate as f64 / s.clients as f64;
    let clients: Vec<JoinHandle<()>> = (0..s.clients)
        .map(|c| tokio::spawn(client(c, bridge.addr(), per_sec, t.clone(), until)))
        .collect();
    let phases = async {
        crash_rounds(&s, &mut bridge, &t).await?;
        outage(&s, &proxy, &t).await
    };
    let result = phases.await;
    t.stop.store(true, Ordering::SeqCst);
    for c in clients {
        let _ = c.await;
    }
    result?;
    let acks = t.acks.lock().map(|a| a.clone()).unwrap_or_default();
    let read_started = Instant::now();
    let msgs = tokio::task::spawn_blocking({
        let acks = acks.clone();
        move || spool::read_acked(&brokers, TOPIC, &acks, Duration::from_secs(300))
    })
    .await?;
    println!(
        "read back: {} records in {:.1?}",
        msgs.len(),
        read_started.elapsed()
    );
    let verdict = spool::verify(&msgs, &acks);
    let ok = report(&t, &acks, &msgs, &verdict, &bridge.log);
    bridge.stop();
    if !ok {
        bail!("an acknowledged callback was lost or a room's order was broken");
    }
    Ok(())
}
