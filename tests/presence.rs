//! `tencent-kafka-bridge presence` against tansu: the real binary, envelopes produced onto the
//! member topics by a real producer (late and duplicated ones placed exactly), the state topic
//! read back by a real consumer. The folded topic must equal the expected rooms exactly, with
//! each room's records in one partition (the one its input records are on); instances that are
//! killed, replaced and started fresh must end in the same state.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;
#[path = "presence/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use support::{broker, member, projection, read_state, room, room_partitions, Feed, Presence, APP};

use crate::common::wait_for;

/// Waits until the instances together counted `n` input events (any outcome).
fn wait_counted(instances: &[&Presence], n: u64) {
    wait_for(&format!("{n} events counted"), Duration::from_secs(90), || {
        let total: u64 = instances.iter().map(|p| counted(&p.metrics())).sum();
        (total >= n).then_some(())
    });
}

fn counted(metrics: &str) -> u64 {
    outcome(metrics, "")
}

/// `tencent_presence_events_total` for `outcome` (every outcome for "").
fn outcome(metrics: &str, which: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("tencent_presence_events_total{") && l.contains(&format!("outcome=\"{which}"))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn expect_state(brokers: &str, expected: &BTreeMap<String, Value>, logs: &[&Presence]) -> support::Folded {
    let folded = read_state(brokers, Duration::from_secs(60), |f| projection(f) == *expected);
    let logs: Vec<String> = logs.iter().map(|p| p.log()).collect();
    assert_eq!(
        projection(&folded),
        *expected,
        "the folded state topic; logs:\n{}",
        logs.join("\n----\n")
    );
    folded
}

#[test]
fn a_scenario_folds_to_exactly_the_expected_rooms() {
    let broker = broker();
    let brokers = broker.bootstrap();
    let view = Presence::start(&brokers, "presence-scenario");
    let mut feed = Feed::new(&brokers);
    let emit = |feed: &mut Feed, family, id, state, members: &[&str], time, extra| {
        feed.emit(family, id, state, members, time, extra)
    };
    let l1 = "L1/x#1";
    // A Live room: a role granted before entering, enters, a kick, a late enter after it, a
    // leave, an owner transfer, a seat table.
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("opened"),
        &[],
        Some(1000),
        json!({ "owner": "o" }),
    );
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("role_changed"),
        &["d"],
        Some(1050),
        json!({ "role": "admin" }),
    );
    let enter = emit(
        &mut feed,
        "live.member",
        l1,
        Some("online"),
        &["a", "b", "c"],
        Some(1100),
        json!({}),
    );
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("online"),
        &["d"],
        Some(1200),
        json!({}),
    );
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("offline"),
        &["b"],
        Some(1300),
        json!({ "cause": "kicked" }),
    );
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("online"),
        &["b"],
        Some(1250),
        json!({}),
    );
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("offline"),
        &["c"],
        Some(1400),
        json!({ "cause": "leave" }),
    );
    feed.send(&enter);
    emit(
        &mut feed,
        "live.member",
        l1,
        Some("owner_changed"),
        &[],
        Some(1500),
        json!({ "owner": "a", "previous_owner": "o" }),
    );
    let seats = json!({ "seats": [
        { "index": 0, "member": "a", "taken_disabled": false, "video_disabled": false, "audio_disabled": false },
        { "index": 1, "member": null, "taken_disabled": false, "video_disabled": false, "audio_disabled": false }
    ] });
    emit(
        &mut feed,
        "mic.seat",
        l1,
        Some("seats_changed"),
        &["a"],
        Some(1600),
        seats,
    );
    // A Chat group without event times: created with members, a join, a leave, a join and
    // leave re-delivered (the join again: a duplicate), a grant after joining, an owner transfer.
    let g = "@TGS#G1";
    emit(
        &mut feed,
        "group.member",
        g,
        Some("opened"),
        &["g1", "g2"],
        None,
        json!({ "owner": "g1", "group_type": "public" }),
    );
    emit(
        &mut feed,
        "group.member",
        g,
        Some("joined"),
        &["g3"],
        None,
        json!({}),
    );
    emit(
        &mut feed,
        "group.member",
        g,
        Some("left"),
        &["g2"],
        None,
        json!({}),
    );
    let join = emit(
        &mut feed,
        "group.member",
        g,
        Some("joined"),
        &["g4"],
        None,
        json!({}),
    );
    emit(
        &mut feed,
        "group.member",
        g,
        Some("left"),
        &["g4"],
        None,
        json!({}),
    );
    feed.send(&join);
    emit(
        &mut feed,
        "group.member",
        g,
        Some("role_changed"),
        &["g3"],
        None,
        json!({ "role": "admin" }),
    );
    emit(
        &mut feed,
        "group.member",
        g,
        Some("owner_changed"),
        &["g3"],
        None,
        json!({ "owner": "g3", "previous_owner": "g1" }),
    );
    // A Room room closed with members in it, then a late enter from before the close.
    emit(
        &mut feed,
        "room.member",
        "R2",
        Some("online"),
        &["x", "y"],
        Some(3000),
        json!({}),
    );
    emit(
        &mut feed,
        "room.member",
        "R2",
        Some("closed"),
        &[],
        Some(3100),
        json!({}),
    );
    emit(
        &mut feed,
        "room.member",
        "R2",
        Some("online"),
        &["x"],
        Some(3050),
        json!({}),
    );
    // TRTC: roles from the enter events.
    emit(
        &mut feed,
        "trtc.member",
        "T3",
        Some("online"),
        &["anchor1"],
        Some(100),
        json!({ "role": "anchor" }),
    );
    emit(
        &mut feed,
        "trtc.member",
        "T3",
        Some("online"),
        &["aud1"],
        Some(110),
        json!({ "role": "audience" }),
    );
    // Not our envelope: skipped, counted, nothing stalls behind it.
    feed.send_raw("live.member", l1, b"not the bridge's envelope");
    emit(
        &mut feed,
        "live.member",
        "L9",
        Some("online"),
        &["after-bad"],
        Some(10),
        json!({}),
    );

    wait_counted(&[&view], feed.sent.get());
    let admins = |a: &[&str]| json!(a);
    let expected: BTreeMap<String, Value> = [
        (
            room("live", l1),
            json!({ "owner": "a", "admins": admins(&["d"]), "closed": false }),
        ),
        (member("live", l1, "a"), json!({ "role": "owner", "seat": 0 })),
        (member("live", l1, "d"), json!({ "role": "admin" })),
        (member("live", "L9", "after-bad"), json!({ "role": "member" })),
        (
            room("group", g),
            json!({ "owner": "g3", "admins": admins(&["g3"]), "closed": false }),
        ),
        (member("group", g, "g1"), json!({ "role": "member" })),
        (member("group", g, "g3"), json!({ "role": "owner" })),
        (
            room("trtc", "T3"),
            json!({ "owner": null, "admins": admins(&[]), "closed": false }),
        ),
        (member("trtc", "T3", "anchor1"), json!({ "role": "anchor" })),
        (member("trtc", "T3", "aud1"), json!({ "role": "audience" })),
    ]
    .into_iter()
    .collect();
    let folded = expect_state(&brokers, &expected, &[&view]);
    // The closed room: its members and its own key are tombstones (the key after the grace).
    for key in [
        member("room", "R2", "x"),
        member("room", "R2", "y"),
        room("room", "R2"),
    ] {
        assert_eq!(
            folded.get(&key).map(|(_, v)| v.clone()),
            Some(None),
            "{key} is a tombstone"
        );
    }
    // Each room's records in one partition: the partition its input records are on.
    let inputs = input_partitions(&brokers);
    for (room_key, partition) in room_partitions(&folded) {
        let key: Vec<String> = serde_json::from_str(&room_key).unwrap();
        assert_eq!(
            inputs.get(&key[2]),
            Some(&partition),
            "room {room_key}: state partition vs input partition"
        );
    }
    let metrics = view.metrics();
    assert_eq!(outcome(&metrics, "bad_input"), 1, "{metrics}");
    assert_eq!(outcome(&metrics, "duplicate"), 2, "{metrics}");
    assert_eq!(outcome(&metrics, "late"), 2, "{metrics}");
    assert_exports_what_the_rules_use(&metrics);
    assert!(view.log().contains("input record skipped"), "{}", view.log());
    run_example(&brokers, l1);
    // `tail --family presence` prints the records one per line, tombstones as `left`.
    let tail = std::process::Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"))
        .args([
            "tail",
            "--brokers",
            &brokers,
            "--family",
            "presence",
            "--from-beginning",
        ])
        .args(["--idle-exit", "3s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tail.stdout);
    assert!(text.contains(&format!("live {APP} {l1}  d: {{")), "{text}");
    assert!(text.contains(&format!("live {APP} {l1}  b: left")), "{text}");
}

/// Room or group id → the partition of its input records.
fn input_partitions(brokers: &str) -> BTreeMap<String, i32> {
    let mut out = BTreeMap::new();
    for family in support::INPUTS {
        let msgs = crate::common::consume::read_until(
            brokers,
            &format!("tencent.{family}"),
            Duration::from_secs(3),
            |_| false,
        );
        for m in msgs {
            let previous = out.insert(m.key.clone(), m.partition);
            assert!(
                previous.is_none() || previous == Some(m.partition),
                "{} on two partitions",
                m.key
            );
        }
    }
    out
}

fn assert_exports_what_the_rules_use(metrics: &str) {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/alerts.yml"
    ))
    .unwrap();
    let used: std::collections::BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| t.starts_with("tencent_presence_"))
        .collect();
    assert!(used.len() >= 4, "{used:?}");
    for name in used {
        assert!(
            metrics.lines().any(|l| l.starts_with(name)),
            "{name} is not exported:\n{metrics}"
        );
    }
}

/// `examples/presence_room.rs` prints who is in the room, in what role.
fn run_example(brokers: &str, room_id: &str) {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "presence_room", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .args(["--", brokers, support::STATE, APP, "live", room_id])
        .output()
        .expect("cargo run --example presence_room");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a owner\nd admin\n");
}

#[path = "presence/takeover.rs"]
mod takeover;

#[path = "presence/setup.rs"]
mod setup;
