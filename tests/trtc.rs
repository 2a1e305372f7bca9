//! Issue 16, TRTC side: `POST /trtc` with TRTC's own signature and answer, room and media
//! events on their topics, retries of one event published once, forgeries written nowhere.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::bridge::{Bridge, APP_ID};
use common::broker::{Broker, FAMILIES};
use common::consume::{read_until, Msg};
use common::events::WAIT;
use common::http::{get_text_blocking, post_with, Answer};
use common::samples::{trtc, trtc_headers, TRTC_KEY};
use serde_json::{json, Value};

/// A bridge with the TRTC key in a file, as an operator mounts it.
fn start(broker: &Broker, extra: &[&str]) -> (Bridge, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("trtc-key");
    std::fs::write(&key, format!("{TRTC_KEY}\n")).unwrap();
    let mut args = vec!["--trtc-key-file", key.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Bridge::start(&broker.bootstrap(), &args), dir)
}

async fn send(bridge: &Bridge, headers: &[(String, String)], body: &str) -> Answer {
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post_with(&bridge.addr(), "/trtc", &h, body.to_owned()).await
}

async fn send_signed(bridge: &Bridge, body: &str) -> Answer {
    send(bridge, &trtc_headers(APP_ID, TRTC_KEY, body), body).await
}

fn raw_is(m: &Msg, body: &str) -> bool {
    m.value["raw"] == serde_json::from_str::<Value>(body).unwrap()
}

fn expect(broker: &Broker, topic: &str, body: &str) -> Msg {
    let msgs = read_until(&broker.bootstrap(), topic, WAIT, |m| {
        m.iter().any(|m| raw_is(m, body))
    });
    let m = msgs
        .iter()
        .find(|m| raw_is(m, body))
        .unwrap_or_else(|| panic!("not on {topic}: {body}"))
        .clone();
    common::assert_schema(m.value["family"].as_str().unwrap(), &m.value);
    assert_eq!(m.headers["ce_id"], m.value["event_id"].as_str().unwrap());
    assert_eq!(
        m.headers["ce_type"],
        format!(
            "com.tencent.cloud.callback.{}",
            m.value["command"].as_str().unwrap()
        )
    );
    assert_eq!(m.headers["ce_subject"], m.key);
    assert_eq!(
        m.headers["ce_source"],
        format!("tencent-cloud://sdkappid/{APP_ID}")
    );
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn room_and_media_events_reach_their_topics() {
    let broker = Broker::start("tencent.");
    let (bridge, _key) = start(&broker, &[]);

    let enter = trtc(1, 103, json!(12345), Some("alice"), 1, 1_615_554_923_704);
    assert!(
        enter.contains('\t') && enter.contains('\n'),
        "pretty-printed with tabs"
    );
    let a = send_signed(&bridge, &enter).await;
    assert_eq!((a.status, &a.body), (200, &json!({"code": 0})));
    let m = expect(&broker, "tencent.trtc.member", &enter);
    let v = &m.value;
    assert_eq!(m.key, "12345", "a numeric RoomId becomes its digits");
    assert_eq!(
        (v["command"].as_str(), v["state"].as_str(), v["cause"].as_str()),
        (Some("TRTC.EnterRoom"), Some("online"), Some("enter"))
    );
    assert_eq!(
        (v["role"].as_str(), v["platform"].as_str()),
        (Some("anchor"), Some("android"))
    );
    assert_eq!(
        (&v["members"], &v["event_time_ms"]),
        (&json!(["alice"]), &json!(1_615_554_922_656i64))
    );
    assert_eq!(
        (v["sdk_app_id"].as_str(), v["room_id"].as_str()),
        (Some(APP_ID), Some("12345"))
    );

    let exit = trtc(1, 104, json!("str-room"), Some("alice"), 5, 1_615_554_983_704);
    assert_eq!(send_signed(&bridge, &exit).await.status, 200);
    let m = expect(&broker, "tencent.trtc.member", &exit);
    assert_eq!(
        (m.key.as_str(), m.value["cause"].as_str()),
        ("str-room", Some("process_killed"))
    );

    let dismiss = trtc(1, 102, json!(12345), None, 0, 1_615_554_999_000);
    assert_eq!(send_signed(&bridge, &dismiss).await.status, 200);
    let m = expect(&broker, "tencent.trtc.member", &dismiss);
    assert_eq!(
        (m.value["state"].as_str(), &m.value["members"]),
        (Some("closed"), &json!([]))
    );

    let video = trtc(2, 205, json!(12345), Some("bob"), 0, 1_615_554_925_704);
    assert_eq!(send_signed(&bridge, &video).await.status, 200);
    let m = expect(&broker, "tencent.trtc.media", &video);
    assert_eq!(
        (m.value["state"].as_str(), m.value["media"].as_str()),
        (Some("started"), Some("substream"))
    );
    assert_eq!(m.value["command"], "TRTC.StartSubStream");

    let recording = trtc(3, 301, json!(12345), None, 0, 1_615_554_926_704);
    assert_eq!(send_signed(&bridge, &recording).await.status, 200);
    let m = expect(&broker, "tencent.other", &recording);
    assert_eq!(
        (m.key.as_str(), m.value["command"].as_str()),
        (APP_ID, Some("TRTC.Event301"))
    );

    // Authentic but undecodable: kept on the DLQ and answered 200 (a retry cannot fix it).
    let broken = "{\"EventGroupId\":1,\"EventType\":103,\"EventInfo\":{\"UserId\":\"no-room\"}}";
    let a = send_signed(&bridge, broken).await;
    assert_eq!((a.status, &a.body), (200, &json!({"code": 0})));
    let dlq = read_until(&broker.bootstrap(), "tencent.dlq", WAIT, |m| {
        m.iter().any(|m| m.value["body"] == broken)
    });
    let d = dlq
        .iter()
        .find(|m| m.value["body"] == broken)
        .expect("kept on the DLQ");
    assert_eq!(d.value["reason"], "EventInfo.RoomId: missing");
    common::assert_schema("dlq", &d.value);
    let metrics = get_text_blocking(&bridge.admin_addr(), "/metrics").unwrap();
    assert!(
        metrics.contains("tencent_bridge_trtc_undecodable_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_of_an_accepted_event_is_published_once() {
    let broker = Broker::start("tencent.");
    let (bridge, _key) = start(&broker, &[]);
    let first = trtc(1, 103, json!("dedup-room"), Some("carol"), 1, 1_615_554_923_704);
    // TRTC's retry: a new CallbackTs, and here another layout too.
    let retry: String = trtc(1, 103, json!("dedup-room"), Some("carol"), 1, 1_615_554_933_704)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for body in [&first, &retry, &first] {
        let a = send_signed(&bridge, body).await;
        assert_eq!((a.status, &a.body), (200, &json!({"code": 0})));
    }
    // A later, different event of the same room marks the end of what was written.
    let later = trtc(1, 104, json!("dedup-room"), Some("carol"), 1, 1_615_554_999_704);
    assert_eq!(send_signed(&bridge, &later).await.status, 200);
    expect(&broker, "tencent.trtc.member", &later);
    let msgs = read_until(&broker.bootstrap(), "tencent.trtc.member", WAIT, |m| {
        m.iter().any(|m| raw_is(m, &later))
    });
    let mine: Vec<&Msg> = msgs.iter().filter(|m| m.key == "dedup-room").collect();
    assert_eq!(mine.len(), 2, "one enter, one exit: {mine:?}");
    let metrics = get_text_blocking(&bridge.admin_addr(), "/metrics").unwrap();
    assert!(
        metrics.contains("tencent_bridge_trtc_duplicates_total 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_or_unknown_callbacks_write_nothing_anywhere() {
    let broker = Broker::start("tencent.");
    let (bridge, _key) = start(&broker, &[]);
    let marker = "forged-user-7c1e";
    let body = trtc(1, 103, json!(777), Some(marker), 1, 1_615_554_923_704);
    let signed = trtc_headers(APP_ID, TRTC_KEY, &body);
    type Headers = Vec<(String, String)>;
    let cases: Vec<(Headers, u16, i64)> = vec![
        (vec![("SdkAppId".into(), APP_ID.into())], 401, 4013),
        (trtc_headers(APP_ID, "not-the-key", &body).to_vec(), 401, 4014),
        (
            vec![signed[0].clone(), ("Sign".into(), "bm90IGEgc2lnbg==".into())],
            401,
            4014,
        ),
        (vec![signed[1].clone()], 403, 4032),
        (trtc_headers("1400999999", TRTC_KEY, &body).to_vec(), 403, 4033),
    ];
    for (headers, status, code) in &cases {
        let a = send(&bridge, headers, &body).await;
        assert_eq!((a.status, a.code()), (*status, *code), "{headers:?}: {a:?}");
        assert!(a.body.to_string().len() < 2000);
    }
    // The right signature over other bytes (one space more) does not match either.
    let a = send(&bridge, &signed, &body.replacen('{', "{ ", 1)).await;
    assert_eq!((a.status, a.code()), (401, 4014));
    let a = send(&bridge, &signed, &body).await;
    assert_eq!(a.status, 200, "the signed original is taken: {a:?}");
    let accepted = expect(&broker, "tencent.trtc.member", &body);
    for family in FAMILIES {
        let topic = format!("tencent.{family}");
        let msgs = read_until(
            &broker.bootstrap(),
            &topic,
            std::time::Duration::from_secs(3),
            |_| false,
        );
        let forged = msgs
            .iter()
            .filter(|m| m.value.to_string().contains(marker))
            .filter(|m| m.offset != accepted.offset || m.topic != accepted.topic);
        assert_eq!(forged.count(), 0, "{topic}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_trtc_path_is_not_served() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &[]);
    let body = trtc(1, 103, json!(1), Some("u"), 1, 1);
    let a = send(&bridge, &trtc_headers(APP_ID, TRTC_KEY, &body), &body).await;
    assert_eq!((a.status, a.code()), (404, 4040));
}
