//! The operator's spool tools against a real bridge and broker: `spool inspect` and
//! `spool verify` on a live and on a damaged spool, and `spool replay` of a time window.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::free_port;
use common::http::post;
use common::samples::{live, query};
use common::tool::{run as tool, text};

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const TOPIC: &str = "tencent.live.member";

async fn send_all(addr: &str, prefix: &str, n: usize) {
    for i in 0..n {
        let body = live(
            &format!("{prefix}-room-{}", i % 5),
            "Online",
            "Enter",
            &format!("{prefix}-{i:04}"),
        );
        let a = post(addr, &query("/callback", APP_ID, LIVE, Some(TOKEN)), body).await;
        assert_eq!(a.status, 200, "{a:?}");
    }
}

/// Every record on the topic, once at least `n` are there.
fn read_at_least(brokers: &str, n: usize) -> Vec<common::consume::Msg> {
    tokio::task::block_in_place(|| read_until(brokers, TOPIC, Duration::from_secs(60), |m| m.len() >= n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inspect_verify_and_replay_a_window_of_a_live_spool() {
    let broker = Broker::start("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_str().unwrap().to_owned();
    let bridge = Bridge::start_spool(
        &broker.bootstrap(),
        free_port(),
        spool.path(),
        &["--spool-retain", "1h", "--spool-segment-bytes", "4096"],
    );
    send_all(&bridge.addr(), "before", 60).await;
    let before = read_at_least(&broker.bootstrap(), 60);
    assert_eq!(before.len(), 60);
    // The window starts in the first millisecond after every earlier record was received.
    let last = before
        .iter()
        .map(|m| m.value["received_at_ms"].as_i64().unwrap())
        .max()
        .unwrap();
    let since_ms = common::wait_for(
        "the clock to pass the last record",
        Duration::from_secs(5),
        || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            let now = i64::try_from(now.as_millis()).unwrap();
            (now > last).then_some(last + 1)
        },
    );
    let since_at = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(since_ms).unwrap());
    let since = humantime::format_rfc3339_millis(since_at).to_string();
    send_all(&bridge.addr(), "window", 40).await;
    let first = read_at_least(&broker.bootstrap(), 100);

    // The bridge is still running: the tools take no lock and write nothing.
    let inspect = tool(&["spool", "inspect", "--spool-dir", &dir]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let out = text(&inspect);
    assert!(
        out.contains("delivery watermark") && out.contains(" records"),
        "{out}"
    );
    let records = tool(&[
        "spool",
        "inspect",
        "--spool-dir",
        &dir,
        "--records",
        "--format",
        "json",
        "--since",
        &since,
    ]);
    assert!(records.status.success(), "{}", text(&records));
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&records.stdout)
        .lines()
        .skip(1) // the summary
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 40, "{}", text(&records));
    let verify = tool(&["spool", "verify", "--spool-dir", &dir]);
    assert!(
        verify.status.success() && text(&verify).contains("ok:"),
        "{}",
        text(&verify)
    );

    let replay = |extra: &[&str]| {
        let mut args = vec!["spool", "replay", "--spool-dir", &dir, "--since", &since];
        args.extend_from_slice(extra);
        tool(&args)
    };
    let brokers = broker.bootstrap();
    let dry = replay(&["--brokers", &brokers, "--dry-run"]);
    assert!(text(&dry).contains("would replay 40 records"), "{}", text(&dry));
    let replay = replay(&["--brokers", &brokers]);
    assert!(replay.status.success(), "{}", text(&replay));
    assert!(
        text(&replay).contains("replayed 40 of 40 records"),
        "{}",
        text(&replay)
    );

    let all = read_at_least(&broker.bootstrap(), 140);
    assert_eq!(all.len(), 140, "the window once more, nothing else");
    let window_ids: HashSet<String> = first
        .iter()
        .filter(|m| {
            m.value["members"][0]
                .as_str()
                .is_some_and(|s| s.starts_with("window-"))
        })
        .map(|m| m.value["event_id"].as_str().unwrap().to_owned())
        .collect();
    let replayed: Vec<_> = all
        .iter()
        .filter(|m| m.headers.contains_key("replayed-at"))
        .collect();
    assert_eq!(replayed.len(), 40);
    let replayed_ids: HashSet<String> = replayed
        .iter()
        .map(|m| m.value["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(replayed_ids, window_ids, "the same event_ids, exactly the window");
    // Per room, the replayed records come in the order they were accepted.
    let mut by_room: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for m in &replayed {
        by_room
            .entry(m.key.as_str())
            .or_default()
            .push((m.offset, m.value["members"][0].as_str().unwrap()));
    }
    for (room, mut seen) in by_room {
        seen.sort();
        let members: Vec<&str> = seen.iter().map(|(_, m)| *m).collect();
        let mut sorted = members.clone();
        sorted.sort();
        assert_eq!(members, sorted, "room {room} replayed out of order");
    }
    drop(bridge);
    a_frame_in_flight_is_named(spool.path());
    damaged_spool_is_named(spool.path());
}

/// Half a frame after the newest segment's data, as a scan of a live spool may find a write in
/// progress: not damage; `inspect --records` lists every whole record and says what it did not.
fn a_frame_in_flight_is_named(dir: &Path) {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    let newest = segments.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let first_frame = 8 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    let half: Vec<u8> = bytes[..first_frame / 2].to_vec();
    bytes.truncate(end);
    bytes.extend_from_slice(&half);
    std::fs::write(newest, &bytes).unwrap();
    let d = dir.to_str().unwrap();
    let verify = tool(&["spool", "verify", "--spool-dir", d]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("not a whole record"), "{}", text(&verify));
    let records = tool(&["spool", "inspect", "--spool-dir", d, "--records"]);
    let stderr = String::from_utf8_lossy(&records.stderr);
    assert!(
        records.status.success() && stderr.contains("not a whole record yet"),
        "{}",
        text(&records)
    );
    // Restore the newest segment as it was (only zeros after its data).
    bytes.truncate(end);
    std::fs::write(newest, &bytes).unwrap();
}

/// After the bridge stopped: one flipped byte in a retained segment, and both tools say where.
fn damaged_spool_is_named(dir: &Path) {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    let segment = &segments[0];
    let mut bytes = std::fs::read(segment).unwrap();
    bytes[60] ^= 0x08;
    std::fs::write(segment, &bytes).unwrap();
    let d = dir.to_str().unwrap();
    let verify = tool(&["spool", "verify", "--spool-dir", d]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        text(&verify).contains(&name) && text(&verify).contains("DAMAGED"),
        "{}",
        text(&verify)
    );
    let inspect = tool(&["spool", "inspect", "--spool-dir", d]);
    assert!(
        inspect.status.success() && text(&inspect).contains("DAMAGED at byte"),
        "{}",
        text(&inspect)
    );
}
