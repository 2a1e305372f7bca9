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

#[test]
fn a_killed_instance_is_replaced_by_one_joining_the_group_with_the_same_state() {
    let broker = broker();
    let brokers = broker.bootstrap();
    let group = "presence-takeover";
    let mut a = Presence::start(&brokers, group);
    let mut b = Presence::start(&brokers, group);
    let mut feed = Feed::new(&brokers);
    let rooms = support::rooms_on_every_partition(3);
    support::wait_assigned(&a);
    support::wait_assigned(&b);
    for r in &rooms {
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["pre"],
            Some(10),
            json!({ "role": "admin" }),
        );
        feed.emit(
            "live.member",
            r,
            Some("online"),
            &["u1", "u2"],
            Some(100),
            json!({}),
        );
    }
    let phase1: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["pre"], "closed": false }),
                ),
                (member("live", r, "u1"), json!({ "role": "member" })),
                (member("live", r, "u2"), json!({ "role": "member" })),
            ]
        })
        .collect();
    expect_state(&brokers, &phase1, &[&a, &b]);
    let split = (counted(&a.metrics()), counted(&b.metrics()));
    assert!(split.0 > 0 && split.1 > 0, "both instances work: {split:?}");
    // One instance dies without a word; a replacement joins the group, as a Deployment does.
    a.stop(libc::SIGKILL);
    let c = Presence::start(&brokers, group);
    for r in &rooms {
        feed.emit("live.member", r, Some("offline"), &["u1"], Some(200), json!({}));
        feed.emit("live.member", r, Some("online"), &["u1"], Some(150), json!({}));
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["later"],
            Some(250),
            json!({ "role": "admin" }),
        );
        feed.emit("live.member", r, Some("online"), &["pre"], Some(300), json!({}));
    }
    let phase2: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["later", "pre"], "closed": false }),
                ),
                (member("live", r, "u2"), json!({ "role": "member" })),
                (member("live", r, "pre"), json!({ "role": "admin" })),
            ]
        })
        .collect();
    let folded = expect_state(&brokers, &phase2, &[&b, &c]);
    room_partitions(&folded);
    // A graceful stop hands the partitions over and exits 0.
    assert!(b.stop(libc::SIGTERM), "SIGTERM exits 0: {}", b.log());
    let mut c = c;
    assert!(c.stop(libc::SIGTERM), "SIGTERM exits 0: {}", c.log());
}

#[test]
fn a_fresh_instance_started_after_both_stopped_knows_a_role_granted_before_it() {
    let broker = broker();
    let brokers = broker.bootstrap();
    let group = "presence-fresh";
    let mut a = Presence::start(&brokers, group);
    let mut b = Presence::start(&brokers, group);
    support::wait_assigned(&a);
    support::wait_assigned(&b);
    let rooms = support::rooms_on_every_partition(2);
    let mut feed = Feed::new(&brokers);
    for r in &rooms {
        feed.emit("live.member", r, Some("online"), &["m"], Some(100), json!({}));
        feed.emit(
            "live.member",
            r,
            Some("role_changed"),
            &["later"],
            Some(200),
            json!({ "role": "admin" }),
        );
    }
    let before: BTreeMap<String, Value> = rooms
        .iter()
        .flat_map(|r| {
            [
                (
                    room("live", r),
                    json!({ "owner": null, "admins": ["later"], "closed": false }),
                ),
                (member("live", r, "m"), json!({ "role": "member" })),
            ]
        })
        .collect();
    expect_state(&brokers, &before, &[&a, &b]);
    // A rolling stop: the second goes once the group settled on it alone.
    assert!(a.stop(libc::SIGTERM), "SIGTERM exits 0: {}", a.log());
    support::wait_holding(&b, 3);
    assert!(b.stop(libc::SIGTERM), "SIGTERM exits 0: {}", b.log());
    // The fresh instance resumes at the committed offsets: it never reads the grants again,
    // so it knows them from the state topic alone.
    let fresh = Presence::start(&brokers, group);
    support::wait_assigned_or(&fresh, || broker.log());
    for r in &rooms {
        feed.emit("live.member", r, Some("online"), &["later"], Some(300), json!({}));
    }
    let mut after = before.clone();
    for r in &rooms {
        after.insert(member("live", r, "later"), json!({ "role": "admin" }));
    }
    expect_state(&brokers, &after, &[&fresh]);
    assert_eq!(
        counted(&fresh.metrics()),
        rooms.len() as u64,
        "only the new events: {}",
        fresh.metrics()
    );
    assert!(fresh.log().contains("state restored"), "{}", fresh.log());
}

#[test]
fn refuses_to_start_when_partition_counts_differ_naming_both() {
    let broker = common::broker::Broker::start("registry-only.");
    broker.create_topic("tencent.live.member", 3);
    support::create_compacted(&broker, "tencent.presence", 2);
    let mut p = Presence::spawn(&broker.bootstrap(), "presence-mismatch");
    let log = wait_for("presence to refuse", Duration::from_secs(60), || {
        let log = p.log();
        log.contains("partitions").then_some(log)
    });
    assert!(
        log.contains("tencent.live.member has 3 partitions but tencent.presence has 2"),
        "{log}"
    );
    assert!(!p.wait_exit(Duration::from_secs(30)), "a refusal exits non-zero");
}

/// The deploy assets: the example config is the view's own (every key a flag of `presence`),
/// the unit runs `presence` with it, the manifest runs several replicas of it with probes on
/// its admin port and creates `tencent.presence` compacted.
#[test]
fn deploy_assets_run_the_view_and_create_its_topic_compacted() {
    let repo = |p: &str| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"))
        .args(["presence", "--config"])
        .arg(repo("deploy/presence.example.toml"))
        .arg("--help")
        .env_remove("BRIDGE_PRESENCE_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unit = std::fs::read_to_string(repo("deploy/systemd/tencent-presence.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/tencent-kafka-bridge presence --config /etc/tencent-kafka-bridge/presence.toml"));
    let text = std::fs::read_to_string(repo("deploy/kubernetes/presence.yaml")).unwrap();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .filter(|d| d.contains("kind:"))
        .map(|d| serde_norway::from_str(d).unwrap())
        .collect();
    let of = |kind: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    assert_eq!(of("KafkaTopic")["metadata"]["name"], "tencent.presence");
    assert_eq!(of("KafkaTopic")["spec"]["config"]["cleanup.policy"], "compact");
    let deployment = of("Deployment");
    assert!(deployment["spec"]["replicas"].as_i64().unwrap() >= 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], json!(["presence"]));
    let env: BTreeMap<String, String> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let port = env["BRIDGE_PRESENCE_ADMIN_LISTEN"]
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        container["ports"][0]["containerPort"]
            .as_i64()
            .unwrap()
            .to_string(),
        port
    );
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(container[probe]["httpGet"]["port"], "admin", "{probe}");
    }
    // Every env name is one `presence` reads (its --help lists them).
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for name in env.keys() {
        assert!(
            help.contains(&format!("env: {name}=")),
            "{name} is not a presence flag's env"
        );
    }
}

/// A missing input topic does not stop the view: `/readyz` stays 200 and names it, and the
/// topics that exist are folded.
#[test]
fn a_missing_input_topic_is_named_in_readyz_and_the_rest_is_folded() {
    let broker = common::broker::Broker::start("registry-only.");
    broker.create_topic("tencent.live.member", 3);
    support::create_compacted(&broker, "tencent.presence", 3);
    let brokers = broker.bootstrap();
    let view = Presence::start(&brokers, "presence-missing");
    let ready = crate::common::http::get_text_blocking(&view.admin, "/readyz").unwrap();
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    let degraded = ready["degraded"].as_str().unwrap();
    for family in ["room.member", "group.member", "trtc.member", "mic.seat"] {
        assert!(degraded.contains(&format!("tencent.{family}")), "{degraded}");
    }
    assert!(!degraded.contains("live.member"), "{degraded}");
    let mut feed = Feed::new(&brokers);
    feed.emit("live.member", "L1", Some("online"), &["m"], Some(1), json!({}));
    let expected: BTreeMap<String, Value> = [(member("live", "L1", "m"), json!({ "role": "member" }))].into();
    expect_state(&brokers, &expected, &[&view]);
    let metrics = view.metrics();
    assert!(
        metrics.contains("tencent_presence_topic_missing{topic=\"tencent.mic.seat\"} 1"),
        "{metrics}"
    );
}
