//! Hostile bodies and queries against the real bridge and broker: each gets a clear FAIL with
//! its status and code, goes to the DLQ exactly when it is authentic but undecodable, never
//! panics the bridge, and the bridge keeps serving. The token never leaves the bridge.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

#[path = "hostile_inputs/cases.rs"]
mod cases;
mod common;

use std::time::Duration;

use cases::{
    accepted_bodies, body_cases, marked, now, query_at, query_cases, sample, signed, Case, LIVE, ROOM,
};
use common::assert_schema;
use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::{read_until, Msg};
use common::events::{expect_event, find};
use common::http::{post, raw_exchange, request};
use tencent_kafka_bridge::event::event_id;
use tencent_kafka_bridge::query::CallbackQuery;
use tencent_kafka_bridge::tools::samples;

const WAIT: Duration = Duration::from_secs(60);

/// Sends every case and checks its answer; all mismatches are reported together.
async fn send_all(addr: &str, cases: &[Case]) -> Vec<String> {
    let (mut answers, mut wrong) = (Vec::new(), Vec::new());
    for c in cases {
        let a = post(addr, &c.query, c.body.clone()).await;
        let status = if c.status == 200 { "OK" } else { "FAIL" };
        let expected = (c.status, c.code, status, c.info.as_deref().unwrap_or(a.info()));
        let got = (
            a.status,
            a.code(),
            a.body["ActionStatus"].as_str().unwrap_or(""),
            a.info(),
        );
        if got != expected || a.headers["content-type"] != "application/json" {
            wrong.push(format!(
                "{}: expected {expected:?}, got {} {}",
                c.what, a.status, a.body
            ));
        }
        answers.push(a.body.to_string());
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answered wrongly:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    answers
}

/// The DLQ's event_id for a case: the query's SdkAppid and CallbackCommand as decoded.
fn dlq_id(c: &Case) -> String {
    let q = CallbackQuery::parse(c.query.split_once('?').map_or("", |(_, q)| q)).unwrap();
    let (app, command) = (q.sdk_app_id.as_deref(), q.callback_command.as_deref());
    event_id(app.unwrap_or(""), command.unwrap_or(""), &c.body)
}

fn assert_no_secret(what: &str, text: &str, signs: &[String]) {
    assert!(
        !text.contains(TOKEN) && !text.contains("test-token"),
        "the token appears in {what}"
    );
    for s in signs {
        assert!(!text.contains(s.as_str()), "a valid Sign appears in {what}");
    }
}

/// What every bridge must still be at the end: alive, ready, no panic, no secret in its log.
async fn assert_still_serving(bridge: &mut Bridge, signs: &[String]) {
    assert_eq!(
        request(&bridge.admin_addr(), "GET", "/readyz", "").await.status,
        200
    );
    let log = bridge.log();
    assert_no_secret("the bridge log", &log, signs);
    assert!(!log.contains("panicked"), "the bridge panicked:\n{log}");
    assert!(bridge.exit_within(Duration::ZERO).is_none(), "the bridge exited");
}

fn check_dlq_records(dlq: &[Msg]) {
    for m in dlq {
        assert_schema("dlq", &m.value);
        assert_no_secret("the DLQ", &m.value.to_string(), &[]);
        assert!(
            m.value["query"].get("Sign").is_none(),
            "Sign kept on the DLQ: {}",
            m.value
        );
    }
}

fn start(broker: &Broker, args: &[&str]) -> Bridge {
    // Debug logging: the token must stay out of the logs at every level.
    std::env::set_var("TEST_BRIDGE_LOG", "debug");
    let mut all = vec!["--auth-token", TOKEN];
    all.extend_from_slice(args);
    Bridge::start(&broker.bootstrap(), &all)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_and_queries_get_clear_answers_and_the_right_dlq_behaviour() {
    let broker = Broker::start("tencent.");
    // A deployment that takes 4 MiB bodies must let Kafka records grow with them.
    let args = [
        "--max-body-bytes",
        "4194304",
        "--kafka-property",
        "message.max.bytes=33554432",
    ];
    let mut bridge = start(&broker, &args);
    let addr = bridge.addr();
    let mut cases = body_cases();
    cases.extend(query_cases());
    let mut answers = send_all(&addr, &cases).await;

    // Raw bytes in the request line: UTF-8 reaches the SdkAppid check, other bytes hyper refuses.
    let raw = format!(
        "POST /callback?SdkAppid=\u{ff}{APP_ID} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    let answer = raw_exchange(&addr, raw.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 403") && answer.contains("4031"),
        "{answer:?}"
    );
    let raw = b"POST /callback?SdkAppid=\xff\x00 HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
    let answer = raw_exchange(&addr, raw);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\n\r\n",
        query_at(LIVE, &"&x=y".repeat(5000), now())
    );
    let answer = raw_exchange(&addr, head.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");

    // Still serving: every hostile-but-valid body and every sample is accepted and published.
    let mut published = Vec::new();
    for (topic, command, body) in accepted_bodies() {
        let a = post(&addr, &signed(command), body.clone()).await;
        let start: String = body.chars().take(200).collect();
        assert_eq!((a.status, a.code()), (200, 0), "{start}: {a:?}");
        answers.push(a.body.to_string());
        published.push((topic, command, body));
    }
    for (name, command, body) in samples::SAMPLES {
        let a = post(&addr, &signed(command), body.to_string()).await;
        assert_eq!(a.status, 200, "{name}: {a:?}");
    }
    for (topic, command, body) in &published {
        let msg = expect_event(&broker, topic, APP_ID, command, body);
        assert!(
            humantime::parse_rfc3339(&msg.headers["ce_time"]).is_ok(),
            "{:?}",
            msg.headers
        );
    }
    for c in cases.iter().filter(|c| c.status == 200) {
        let msg = expect_event(
            &broker,
            "tencent.live.member",
            APP_ID,
            LIVE,
            std::str::from_utf8(&c.body).unwrap(),
        );
        let platform = msg.value["platform"].as_str().unwrap_or("");
        assert_eq!(
            c.query.contains("OptPlatform=p"),
            platform.len() == 8000,
            "{}",
            c.what
        );
    }

    // The DLQ holds exactly the authentic-but-undecodable ones, schema-valid, Sign-free.
    let wanted: Vec<(String, &Case)> = cases.iter().filter(|c| c.dlq()).map(|c| (dlq_id(c), c)).collect();
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        wanted.iter().all(|(id, _)| find(m, id).is_some())
    });
    for (id, c) in &wanted {
        let m = find(&dlq, id).unwrap_or_else(|| panic!("{} not on the DLQ", c.what));
        assert_eq!(m.value["error_code"], c.code, "{}", c.what);
    }
    // The DLQ is one partition (keyed by SdkAppid) filled in order, and the last query case
    // goes there: what is not there by now was never put there.
    for c in cases.iter().filter(|c| !c.dlq()) {
        let body = String::from_utf8_lossy(&c.body);
        assert!(
            !dlq.iter().any(|m| m.value["body"] == *body),
            "{} reached the DLQ",
            c.what
        );
    }
    check_dlq_records(&dlq);

    let signs: Vec<String> = cases
        .iter()
        .filter_map(|c| c.query.split("Sign=").nth(1))
        .map(|s| s.chars().take(64).collect::<String>())
        .filter(|s| s.len() == 64)
        .collect();
    assert_no_secret("an answer", &answers.join("\n"), &signs);
    let metrics = raw_exchange(
        &bridge.admin_addr(),
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert_no_secret("/metrics", &metrics, &signs);
    assert_still_serving(&mut bridge, &signs).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn skew_window_both_sides_and_oversized_records_do_not_block_delivery() {
    let broker = Broker::start("tencent.");
    let mut bridge = start(&broker, &["--sign-max-skew", "60s"]);
    let addr = bridge.addr();
    let t = now();
    let at = |offset: i64| query_at(LIVE, "", t + offset);
    let cases = vec![
        Case::new("57 s in the past", at(-57), marked("past-in"), 200, 0),
        Case::new("57 s in the future", at(57), marked("future-in"), 200, 0),
        Case::new("63 s in the past", at(-63), marked("past-out"), 401, 4011),
        Case::new("63 s in the future", at(63), marked("future-out"), 401, 4011),
        Case::new(
            "a year in the future",
            at(31_536_000),
            marked("far-out"),
            401,
            4011,
        ),
        Case::new(
            "before 1970",
            query_at(LIVE, "", -t),
            marked("neg-out"),
            401,
            4011,
        ),
    ];
    send_all(&addr, &cases).await;
    for m in ["past-in", "future-in"] {
        expect_event(&broker, "tencent.live.member", APP_ID, LIVE, &marked(m));
    }

    // Default limits: a 1 MiB body fits, but its event (raw + members) or its DLQ record is
    // over the producer's 1 MB message.max.bytes. The event is refused before the OK (4131),
    // both DLQ copies are cut to fit, and neither blocks what follows.
    let members = format!("[{}\"a\"]", "\"a\",".repeat(200_000));
    let big_event = sample("room-enter")
        .1
        .to_string()
        .replace("[\"user1\"]", &members);
    let a = post(&addr, &signed(ROOM), big_event).await;
    assert_eq!((a.status, a.code()), (413, 4131), "{a:?}");
    let a = post(&addr, &signed(LIVE), "x".repeat(1_000_000)).await;
    assert_eq!((a.status, a.code()), (400, 4003), "{a:?}");
    let after = marked("after-the-big-ones");
    let a = post(&addr, &signed(LIVE), after.clone()).await;
    assert_eq!(a.status, 200, "{a:?}");
    expect_event(&broker, "tencent.live.member", APP_ID, LIVE, &after);
    // Both DLQ copies are cut to fit Kafka before they are handed off; the reason says so.
    let cut = |m: &Msg| {
        let reason = m.value["reason"].as_str().unwrap_or("");
        [4131, 4003].contains(&m.value["error_code"].as_i64().unwrap_or(0)) && reason.contains(" kept)")
    };
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().filter(|m| cut(m)).count() >= 2
    });
    let codes: Vec<i64> = dlq
        .iter()
        .filter(|m| cut(m))
        .filter_map(|m| m.value["error_code"].as_i64())
        .collect();
    assert_eq!(codes.len(), 2, "{dlq:?}");
    assert!(codes.contains(&4131) && codes.contains(&4003), "{codes:?}");
    check_dlq_records(&dlq);
    assert_still_serving(&mut bridge, &[]).await;
}
