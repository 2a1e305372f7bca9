//! Every refusal of the HTTP contract: its status, its stable ErrorCode, and whether the
//! callback is kept on the DLQ (authentic but undecodable: yes; forged or foreign: never).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::assert_schema;
use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::http::{post, raw_exchange, request};
use common::samples::query;

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const ROOM: &str = "Room.CallbackAfterMemberEnter";

type Case = (String, Vec<u8>, u16, i64, &'static str);

fn signed(command: &str) -> String {
    query("/callback", APP_ID, command, Some(TOKEN))
}

fn with_time(time: &str, sign: &str) -> String {
    format!(
        "/callback?SdkAppid={APP_ID}&CallbackCommand={LIVE}&contenttype=json&RequestTime={time}&Sign={sign}"
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_has_its_status_code_and_dlq_behaviour() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &[
            "--auth-token",
            TOKEN,
            "--delivery",
            "kafka",
            "--max-body-bytes",
            "4096",
        ],
    );
    let addr = bridge.addr();
    let good = |marker: &str| common::samples::live("r1", "Online", "Enter", marker);

    // (query, body, status, code, ErrorInfo contains); the DLQ is checked below.
    // Well past the 300 s skew, so that a slow run cannot bring them back inside it.
    let stale = (now() - 400).to_string();
    let future = (now() + 400).to_string();
    let cases: Vec<Case> = vec![
        (signed(LIVE), vec![b' '; 5000], 413, 4130, "larger than 4096"),
        (format!("/callback?CallbackCommand={LIVE}"), good("forged-1").into(), 403, 4030, "SdkAppid: missing"),
        (query("/callback", "999", LIVE, Some(TOKEN)), good("forged-2").into(), 403, 4031, "SdkAppid"),
        (query("/callback", APP_ID, LIVE, None), good("forged-3").into(), 401, 4010, "Sign: missing"),
        (format!("/callback?SdkAppid={APP_ID}&CallbackCommand={LIVE}&Sign=abc"), good("forged-4").into(), 401, 4010, "RequestTime: missing"),
        (with_time(&stale, &tencent_kafka_bridge::auth::sign_hex(TOKEN, &stale)), good("forged-5").into(), 401, 4011, "RequestTime"),
        (with_time(&future, &tencent_kafka_bridge::auth::sign_hex(TOKEN, &future)), good("forged-6").into(), 401, 4011, "RequestTime"),
        (with_time(&now().to_string(), &"0".repeat(64)), good("forged-7").into(), 401, 4012, "Sign"),
        (with_time(&now().to_string(), "short"), good("forged-8").into(), 401, 4012, "Sign"),
        (signed(LIVE).replace("contenttype=json", "contenttype=xml"), good("forged-9").into(), 400, 4001, "contenttype"),
        (signed(LIVE).replace(&format!("CallbackCommand={LIVE}&"), ""), good("forged-10").into(), 400, 4002, "CallbackCommand: missing"),
        (signed(LIVE), b"not json dlq-1".to_vec(), 400, 4003, "not JSON"),
        (signed(LIVE), b"[\"dlq-2\"]".to_vec(), 400, 4004, "object"),
        (signed(LIVE), br#"{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","EventType":"Online","EventCause":"Enter","MemberList":[],"m":"dlq-3"}"#.to_vec(), 400, 4005, "RoomId: missing"),
        (signed(ROOM), br#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"r","MemberCount":"20","MemberList_Account":[],"m":"dlq-4"}"#.to_vec(), 400, 4005, "MemberCount: expected integer"),
        (signed(ROOM), good("dlq-5").into(), 400, 4006, "CallbackCommand"),
        (signed(LIVE), b"{\"m\":\"dlq-6\xff\"}".to_vec(), 400, 4003, "UTF-8"),
    ];
    for (q, body, status, code, info) in &cases {
        let a = post(&addr, q, body.clone()).await;
        assert_eq!((a.status, a.code()), (*status, *code), "{q}: {a:?}");
        assert_eq!(a.body["ActionStatus"], "FAIL");
        assert!(
            a.info().contains(info),
            "{q}: ErrorInfo {:?} lacks {info:?}",
            a.info()
        );
        assert_eq!(a.headers["content-type"], "application/json");
    }

    let wanted = ["dlq-1", "dlq-2", "dlq-3", "dlq-4", "dlq-5", "dlq-6"];
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", Duration::from_secs(30), |m| {
        wanted.iter().all(|w| {
            m.iter().any(|m| {
                m.value.to_string().contains(w)
                    || m.value["body"].as_str().is_some_and(|b| b64_contains(b, w))
            })
        })
    });
    for m in &dlq {
        assert_schema("dlq", &m.value);
        assert_eq!(m.key, APP_ID);
        let text = m.value.to_string();
        assert!(
            !text.contains("forged"),
            "a refused-for-authenticity callback reached the DLQ: {text}"
        );
        assert!(!text.contains("Sign"), "Sign kept on the DLQ: {text}");
        assert!(!text.contains(TOKEN), "token on the DLQ");
    }
    for (w, code) in wanted.iter().zip([4003, 4004, 4005, 4005, 4006, 4003]) {
        let m = dlq
            .iter()
            .find(|m| {
                m.value.to_string().contains(w)
                    || m.value["body"].as_str().is_some_and(|b| b64_contains(b, w))
            })
            .unwrap_or_else(|| panic!("{w} not on the DLQ: {dlq:?}"));
        assert_eq!(m.value["error_code"], code, "{w}");
        assert_eq!(m.value["query"]["SdkAppid"], APP_ID);
        assert!(m.value["query"]["RequestTime"].is_string());
    }
    let utf = dlq
        .iter()
        .find(|m| m.value["body_encoding"] == "base64")
        .expect("invalid UTF-8 body kept as base64");
    assert_eq!(utf.value["error_code"], 4003);
    let field = dlq
        .iter()
        .find(|m| m.value.to_string().contains("dlq-3"))
        .expect("dlq-3");
    assert_eq!(field.value["reason"], "RoomId: missing");
}

fn b64_contains(b64: &str, needle: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_methods_probes_and_chunked_bodies() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--delivery", "memory", "--max-body-bytes", "1000"],
    );
    let addr = bridge.addr();

    let a = request(&addr, "GET", "/callback", "").await;
    assert_eq!((a.status, a.code()), (405, 4050));
    assert_eq!(a.headers["allow"], "POST");
    let a = request(&addr, "POST", "/elsewhere", "{}").await;
    assert_eq!((a.status, a.code()), (404, 4040));
    // The probes and the metrics are on the admin port only: the public one says 404.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let a = request(&addr, "GET", path, "").await;
        assert_eq!((a.status, a.code()), (404, 4040), "{path} on the callback port");
        let admin = request(&bridge.admin_addr(), "GET", path, "").await;
        assert_eq!(admin.status, 200, "{path} on the admin port");
    }
    let a = request(&bridge.admin_addr(), "POST", "/callback", "{}").await;
    assert_eq!(a.status, 404, "no callbacks on the admin port");

    // A chunked body is cut at the limit, never buffered past it.
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let chunk = "x".repeat(600);
    let raw = format!(
        "POST {q} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let answer = raw_exchange(&addr, raw.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"ErrorCode\":4130"), "{answer}");

    // A small chunked body is fine.
    let body = common::samples::live("chunky", "Online", "Enter", "c");
    let raw = format!("POST {q} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let answer = raw_exchange(&addr, raw.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn bad_configuration_exits_2_with_a_clear_message() {
    use common::bridge::run_to_exit;
    let out = run_to_exit(&["--sdk-app-id", ""], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SdkAppid"),
        "{out:?}"
    );
    let out = run_to_exit(&["--sdk-app-id", "1", "--listen", "not-an-address"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--listen"),
        "{out:?}"
    );
    let out = run_to_exit(
        &[],
        &[("BRIDGE_SDK_APP_IDS", "1"), ("BRIDGE_DELIVERY", "carrier-pigeon")],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run_to_exit(&[], &[]);
    assert_eq!(out.status.code(), Some(2), "the app id is required");
    let out = run_to_exit(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for env in [
        "BRIDGE_LISTEN",
        "BRIDGE_SDK_APP_IDS",
        "BRIDGE_AUTH_TOKEN",
        "BRIDGE_ALLOW_UNSIGNED",
        "BRIDGE_KAFKA_PROPERTIES",
        "BRIDGE_SHUTDOWN_TIMEOUT",
    ] {
        assert!(help.contains(env), "--help lacks {env}");
    }
}

/// A valid callback whose event Kafka would refuse (`message.max.bytes`) is refused before the
/// OK — an OK would be a promise the producer cannot keep — and kept on the DLQ whole.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_larger_than_kafka_takes_is_refused_and_kept() {
    let broker = Broker::start("tencent.");
    let limit = "40000";
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &[
            "--auth-token",
            TOKEN,
            "--kafka-property",
            &format!("message.max.bytes={limit}"),
        ],
    );
    let members: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"Member_Account": format!("big-{i:05}")}))
        .collect();
    let body = serde_json::json!({"CallbackCommand": LIVE, "RoomId": "big-room", "EventType": "Online",
        "EventCause": "Enter", "MemberList": members, "EventTime": 1703589922780i64})
    .to_string();
    assert!(
        body.len() < 40_000,
        "the body alone fits; the event (raw + members) does not"
    );
    let a = post(&bridge.addr(), &signed(LIVE), body.clone()).await;
    assert_eq!((a.status, a.code()), (413, 4131), "{a:?}");
    assert!(a.info().contains("message.max.bytes"), "{a:?}");

    let kept = |m: &common::consume::Msg| m.value["error_code"] == 4131;
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", Duration::from_secs(30), |m| {
        m.iter().any(kept)
    });
    let record = dlq
        .iter()
        .find(|m| kept(m))
        .unwrap_or_else(|| panic!("not on the DLQ: {dlq:?}"));
    assert_eq!(record.value["body"], body.as_str());
    assert_schema("dlq", &record.value);

    // A DLQ copy bigger than Kafka takes is cut to fit, saying so, and still delivered.
    let junk = format!("not json {}", "\"q\" ".repeat(20_000));
    let a = post(&bridge.addr(), &signed(LIVE), junk.clone()).await;
    assert_eq!((a.status, a.code()), (400, 4003), "{a:?}");
    let cut = |m: &common::consume::Msg| {
        m.value["error_code"] == 4003 && m.value["reason"].as_str().is_some_and(|r| r.contains(" kept)"))
    };
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", Duration::from_secs(30), |m| {
        m.iter().any(cut)
    });
    let record = dlq
        .iter()
        .find(|m| cut(m))
        .unwrap_or_else(|| panic!("no cut copy: {dlq:?}"));
    let kept_body = record.value["body"].as_str().unwrap_or("");
    assert!(
        junk.starts_with(kept_body) && kept_body.len() < junk.len(),
        "{}",
        record.value["reason"]
    );
    assert_eq!(
        record.value["event_id"],
        tencent_kafka_bridge::event::event_id(APP_ID, LIVE, junk.as_bytes())
    );
    assert_schema("dlq", &record.value);
}
