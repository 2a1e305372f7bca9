//! Issue 24's envelope against a real broker (tansu, the schemas enforced): a spooled record
//! keeps its `ce_id` and timestamp across a SIGKILL and a replay, and a bridge started before
//! its new topics exist stays ready and keeps every family's callbacks.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::bridge::{Bridge, APP_ID};
use common::broker::Broker;
use common::consume::{read_until, Msg};
use common::events::{assert_event_time, expect_event, sample, send_ok, WAIT};
use common::http::{get_text_blocking, post_with};
use common::samples::{trtc, trtc_headers, TRTC_KEY};
use common::wait_for;
use serde_json::{json, Value};
use tencent_kafka_bridge::event::event_id;
use tencent_kafka_bridge::spool::SpoolView;

/// Records acknowledged while Kafka is cut off sit in the spool with their `ce_id`; after a
/// SIGKILL and a restart each is sent with that id, and `spool replay` sends it again with the
/// same id.
#[tokio::test(flavor = "multi_thread")]
async fn spooled_records_keep_their_ce_id_across_a_kill_and_a_replay() {
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let spool = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut bridge = Bridge::start_spool(&broker.bootstrap(), port, spool.path(), &[]);
    proxy.cut();
    let (command, body) = sample("group-owner");
    let seat = sample("mic-seats");
    for (c, b) in [(command, body), (command, body), seat] {
        send_ok(&bridge, c, b).await;
    }
    bridge.kill9();
    let mut spooled: BTreeMap<String, (String, Option<i64>)> = BTreeMap::new();
    SpoolView::read(spool.path())
        .unwrap()
        .for_each_record(|_, record, _| {
            let ce_id = record.headers.iter().find(|(n, _)| n == "ce_id").unwrap();
            let v: Value = serde_json::from_slice(&record.value).unwrap();
            let id = String::from_utf8(ce_id.1.to_vec()).unwrap();
            spooled.insert(
                id,
                (v["event_id"].as_str().unwrap().to_owned(), record.timestamp_ms),
            );
            true
        })
        .unwrap();
    assert_eq!(
        spooled.len(),
        3,
        "three callbacks, three ids in the spool: {spooled:?}"
    );

    proxy.restore();
    let dir = spool.path().to_str().unwrap().to_owned();
    let _bridge = Bridge::start_spool(&broker.bootstrap(), port, spool.path(), &["--spool-retain", "1h"]);
    let mine = |m: &Msg| spooled.contains_key(&m.headers["ce_id"]);
    let read = |topic: &str, n: usize| {
        read_until(&broker.bootstrap(), topic, Duration::from_secs(90), |m| {
            m.iter().filter(|m| mine(m)).count() >= n
        })
    };
    let mut sent: Vec<Msg> = read("tencent.group.member", 2);
    sent.extend(read("tencent.mic.seat", 1));
    let delivered: HashSet<&str> = sent
        .iter()
        .filter(|m| mine(m))
        .map(|m| m.headers["ce_id"].as_str())
        .collect();
    assert_eq!(
        delivered.len(),
        3,
        "each spooled record re-sent with its id: {sent:?}"
    );
    for m in sent.iter().filter(|m| mine(m)) {
        let (event, time) = &spooled[&m.headers["ce_id"]];
        assert_eq!(
            (&m.value["event_id"].as_str().unwrap().to_owned(), m.timestamp_ms),
            (event, *time)
        );
        assert_event_time(m);
    }

    // Delivered and retained: replayed, every copy keeps the id it was given.
    let out = common::tool::run(&[
        "spool",
        "replay",
        "--spool-dir",
        &dir,
        "--brokers",
        &broker.bootstrap(),
    ]);
    assert!(out.status.success(), "{}", common::tool::text(&out));
    let again = read_until(
        &broker.bootstrap(),
        "tencent.group.member",
        Duration::from_secs(60),
        |m| m.iter().filter(|m| m.headers.contains_key("replayed-at")).count() >= 2,
    );
    let replayed: HashSet<&str> = again
        .iter()
        .filter(|m| m.headers.contains_key("replayed-at"))
        .map(|m| m.headers["ce_id"].as_str())
        .collect();
    assert!(
        replayed.iter().all(|id| spooled.contains_key(*id)) && replayed.len() == 2,
        "{replayed:?}"
    );
}

/// The topics of the release before schema 3 only: no user.state, trtc.*, mic.seat. The bridge
/// stays ready (degraded, naming them), and every family's callback is kept: on its topic, or on
/// the DLQ. TRTC's topics are named only when TRTC is configured.
#[tokio::test(flavor = "multi_thread")]
async fn a_bridge_upgraded_before_its_new_topics_exist_stays_ready_and_keeps_every_family() {
    let old = ["live.member", "group.member", "room.member", "other", "dlq"];
    let broker = Broker::start_with_topics("tencent.", &old);
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("trtc-key");
    std::fs::write(&key, TRTC_KEY).unwrap();
    let fast = ["--kafka-property", "topic.metadata.propagation.max.ms=2000"];
    let mut kafka_mode = vec!["--delivery", "kafka"];
    kafka_mode.extend_from_slice(&fast);
    let plain = Bridge::start(&broker.bootstrap(), &kafka_mode);
    let mut args = vec!["--trtc-key-file", key.to_str().unwrap()];
    args.extend_from_slice(&fast);
    let bridge = Bridge::start(&broker.bootstrap(), &args);
    let degraded = |b: &Bridge| {
        wait_for("/readyz to name the missing topics", WAIT, || {
            let text = get_text_blocking(&b.admin_addr(), "/readyz")?;
            text.contains("tencent.mic.seat").then_some(text)
        })
    };
    let with_trtc = degraded(&bridge);
    assert!(
        with_trtc.contains("tencent.user.state") && with_trtc.contains("tencent.trtc.media"),
        "{with_trtc}"
    );
    let without = degraded(&plain);
    assert!(
        without.contains("tencent.user.state") && !without.contains("trtc"),
        "{without}"
    );
    assert_eq!(
        common::http::get_blocking(&bridge.admin_addr(), "/readyz"),
        Some(200)
    );

    for name in [
        "live",
        "group",
        "room-enter",
        "user-login",
        "group-role",
        "live-owner",
        "mic-seats",
    ] {
        let (command, body) = sample(name);
        send_ok(&bridge, command, body).await;
        let id = event_id(APP_ID, samples_canonical(command), body.as_bytes());
        let kept =
            |m: &Msg| m.value["event_id"] == id || m.value["body"].as_str().is_some_and(|b| b.contains(&id));
        let (topic, dlq) = match name {
            "user-login" | "mic-seats" => ("tencent.dlq", true),
            _ => ("", false),
        };
        if dlq {
            let msgs = read_until(&broker.bootstrap(), topic, WAIT, |m| m.iter().any(kept));
            let d = msgs
                .iter()
                .find(|m| kept(m))
                .unwrap_or_else(|| panic!("{name} not kept: {msgs:?}"));
            assert_eq!(d.value["error_code"], 5041, "{name}");
            common::assert_schema("dlq", &d.value);
        } else {
            let family = tencent_kafka_bridge::callbacks::Kind::from_name(command)
                .unwrap()
                .row()
                .family
                .name();
            expect_event(
                &broker,
                &format!("tencent.{family}"),
                APP_ID,
                samples_canonical(command),
                body,
            );
        }
    }
    // kafka mode too: the seat event goes to the DLQ, and only then is Tencent answered OK.
    let seats = sample("mic-seats").1.replace("rid-123", "kafka-mode-room");
    send_ok(&plain, "Mic.CallbackAfterSeatInfoChanged", &seats).await;
    let id = event_id(APP_ID, "Mic.CallbackAfterSeatInfoChanged", seats.as_bytes());
    let msgs = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter()
            .any(|m| m.value["body"].as_str().is_some_and(|b| b.contains(&id)))
    });
    assert!(
        msgs.iter()
            .any(|m| m.value["error_code"] == 5041
                && m.value["body"].as_str().is_some_and(|b| b.contains(&id))),
        "{msgs:?}"
    );

    let enter = trtc(1, 103, json!(4242), Some("alice"), 1, 1_615_554_923_704);
    let h = trtc_headers(APP_ID, TRTC_KEY, &enter);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = post_with(&bridge.addr(), "/trtc", &h, enter.clone()).await;
    assert_eq!(a.status, 200, "{a:?}");
    let msgs = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().any(|m| {
            m.value["body"]
                .as_str()
                .is_some_and(|b| b.contains("TRTC.EnterRoom"))
        })
    });
    assert!(
        msgs.iter().any(|m| m.value["error_code"] == 5041
            && m.value["body"]
                .as_str()
                .is_some_and(|b| b.contains("TRTC.EnterRoom"))),
        "{msgs:?}"
    );
}

/// The canonical spelling of a sample's command (the Live sample uses the URL alias).
fn samples_canonical(command: &str) -> &'static str {
    tencent_kafka_bridge::callbacks::Kind::from_name(command)
        .unwrap()
        .canonical()
}
