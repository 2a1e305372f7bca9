//! Operating the bridge (issue 6): `/metrics` counts what happened, refusals are logged once
//! without secrets, `check-config` says what the bridge would run with, and `send` + `tail`
//! prove a deployment from a shell.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::bridge::{run_to_exit, Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::events::{expect_event, send_ok, WAIT};
use common::http::{post, raw_exchange};
use common::samples::{live, query, ROOM_003};
use common::wait_for;
use std::time::Duration;

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const ROOM: &str = "Room.CallbackAfterMemberEnter";

fn scrape(addr: &str) -> String {
    let out = raw_exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("application/openmetrics-text"), "{out}");
    out
}

/// The value of the one series whose line starts with `series` (name and labels), if any.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_callbacks_deliveries_and_refusals() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--auth-token", TOKEN]);
    let addr = bridge.addr();

    let live_body = live("metrics-room", "Online", "Enter", "m-1");
    send_ok(&bridge, LIVE, &live_body).await;
    send_ok(&bridge, ROOM, ROOM_003).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = format!("/callback?SdkAppid={APP_ID}&CallbackCommand={LIVE}&RequestTime={now}&Sign=f00d");
    assert_eq!(post(&addr, &forged, live_body.clone()).await.status, 401);
    let broken = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","m":"metrics-dlq"}"#;
    let bad = post(&addr, &query("/callback", APP_ID, ROOM, Some(TOKEN)), broken).await;
    assert_eq!((bad.status, bad.code()), (400, 4005));
    let unknown = query("/callback", APP_ID, "Scanner.Probe", Some(TOKEN));
    let unknown = unknown.replace("contenttype=json", "contenttype=xml");
    assert_eq!(post(&addr, &unknown, "{}").await.status, 400);

    expect_event(&broker, "tencent.live.member", APP_ID, LIVE, &live_body);
    expect_event(&broker, "tencent.room.member", APP_ID, ROOM, ROOM_003);
    let text = wait_for("delivery counters on /metrics", WAIT, || {
        let text = scrape(&bridge.admin_addr());
        let produced = value(
            &text,
            r#"tencent_bridge_events_produced_total{topic="tencent.room.member"}"#,
        )?;
        let dlq = value(&text, "tencent_bridge_dlq_records_total")?;
        (produced >= 1.0 && dlq >= 1.0).then_some(text)
    });

    let callbacks = |command: &str, status: u16, code: u32| {
        let series = format!(
            r#"tencent_bridge_callbacks_total{{command="{command}",status="{status}",code="{code}"}}"#
        );
        value(&text, &series)
    };
    assert_eq!(callbacks(LIVE, 200, 0), Some(1.0), "{text}");
    assert_eq!(callbacks(ROOM, 200, 0), Some(1.0), "{text}");
    assert_eq!(callbacks(LIVE, 401, 4012), Some(1.0), "{text}");
    assert_eq!(callbacks(ROOM, 400, 4005), Some(1.0), "{text}");
    // What a client names is never a label value: unknown commands count as "other".
    assert_eq!(callbacks("other", 400, 4001), Some(1.0), "{text}");
    assert!(!text.contains("Scanner.Probe"), "{text}");
    assert_eq!(
        value(
            &text,
            r#"tencent_bridge_signature_failures_total{reason="mismatch"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "tencent_bridge_accept_duration_seconds_count"),
        Some(5.0),
        "{text}"
    );
    let live_topic = r#"tencent_bridge_events_produced_total{topic="tencent.live.member"}"#;
    assert!(value(&text, live_topic) >= Some(1.0), "{text}");
    assert!(text.contains(&format!(
        r#"tencent_bridge_build_info{{version="{}"}} 1"#,
        env!("CARGO_PKG_VERSION")
    )));
    // Spool mode (the default): its gauges are there and it drained. `spool_bytes` counts as the
    // limit does: a fully delivered segment being written counts nothing (issue 23, item 10).
    for series in [
        "tencent_bridge_spool_bytes",
        "tencent_bridge_spool_records",
        "tencent_bridge_spool_oldest_undelivered_age_seconds",
        "tencent_bridge_producer_queue_depth",
    ] {
        assert!(value(&text, series).is_some(), "{series} missing: {text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert!(!text.contains(TOKEN));
    // Signatures are checked: the alertable gauge says so.
    assert_eq!(
        value(&text, "tencent_bridge_auth_unsigned_allowed"),
        Some(0.0),
        "{text}"
    );

    // One log line per refusal, with its reason, code and origin, and never a secret.
    let log = bridge.log();
    let refusals: Vec<&str> = log.lines().filter(|l| l.contains("callback refused")).collect();
    assert_eq!(refusals.len(), 3, "{log}");
    let has = |a: &str, b: &str| refusals.iter().any(|l| l.contains(a) && l.contains(b));
    assert!(
        has("code=4012", r#"reason="Sign: does not match""#),
        "{refusals:#?}"
    );
    assert!(has("code=4005", r#"client_ip="10.0.0.7""#), "{refusals:#?}");
    assert!(!log.contains(TOKEN) && !log.contains("f00d"), "{log}");
}

/// Runs the binary with `args` (split on whitespace): (exit code, stdout, stderr).
fn cli(args: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = run_to_exit(&args.split_whitespace().collect::<Vec<_>>(), env);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn check_config_prints_the_effective_config_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bridge.toml");
    let toml = "sdk-app-id = [\"1400000001\"]\nlisten = \"127.0.0.1:9000\"\ntopic-prefix = \"file.\"\n\
                auth-token = \"file-secret\"\n[kafka-property]\n\"sasl.password\" = \"hunter2\"\n";
    std::fs::write(&file, toml).unwrap();
    let path = file.to_str().unwrap();
    // flag > env > file > default
    let env = [
        ("BRIDGE_TOPIC_PREFIX", "env."),
        ("BRIDGE_LISTEN", "127.0.0.1:9002"),
    ];
    let (code, text, err) = cli(
        &format!("check-config --config {path} --listen 127.0.0.1:9001"),
        &env,
    );
    assert_eq!(code, Some(0), "{text}{err}");
    for expected in ["127.0.0.1:9001", "\"env.\"", "1400000001", "spool"] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    assert!(
        !text.contains("file-secret") && !text.contains("hunter2"),
        "{text}"
    );

    std::fs::write(&file, "sdk-app-id = [\"1\"]\n\nlistn = \"x\"\n").unwrap();
    let (code, _, err) = cli(&format!("check-config --config {path}"), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unknown key `listn`") && err.contains("bridge.toml:3:"),
        "{err}"
    );

    let (code, _, err) = cli("check-config --sdk-app-id 1 --listen nowhere", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--listen"), "{err}");

    // librdkafka judges the Kafka properties: a typo is a config error, not a failed start.
    let (code, _, err) = cli(
        "check-config --sdk-app-id 1 --allow-unsigned --kafka-property linger.mss=5",
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("linger.mss"), "{err}");
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "from-a-file\n").unwrap();
    let (code, text, err) = cli(
        &format!(
            "check-config --sdk-app-id 1 --auth-token-file {}",
            token.display()
        ),
        &[],
    );
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(!text.contains("from-a-file"), "{text}");
    assert!(text.contains("auth-token") && text.contains("redacted"), "{text}");

    let missing = dir.path().join("nope");
    let (code, _, err) = cli(
        &format!(
            "check-config --sdk-app-id 1 --auth-token-file {}",
            missing.display()
        ),
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn send_and_tail_prove_a_deployment() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--auth-token", TOKEN]);
    let send = format!(
        "send --url http://{}/callback --sdk-app-id {APP_ID}",
        bridge.addr()
    );

    let (code, said, err) = cli(&format!("{send} --token {TOKEN} --sample room-leave"), &[]);
    assert_eq!(code, Some(0), "{said}{err}");
    assert!(said.contains("HTTP 200") && said.contains("\"OK\""), "{said}");

    // A wrong token: the answer is printed and the exit code says it failed.
    let (code, said, _) = cli(&format!("{send} --token wrong --sample live"), &[]);
    assert_ne!(code, Some(0));
    assert!(said.contains("4012"), "{said}");

    let tail = format!(
        "tail --brokers {} --family room.member --from-beginning",
        broker.bootstrap()
    );
    let (code, printed, err) = cli(
        &format!("{tail} --format json --max-events 1 --idle-exit 30s"),
        &[],
    );
    assert_eq!(code, Some(0), "{printed}{err}");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "{printed}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["topic"], "tencent.room.member");
    let event = &line["value"];
    assert_eq!(line["key"], event["room_id"]);
    let ce_id = line["headers"]["ce_id"].as_str().unwrap();
    assert!(
        ce_id.starts_with(&format!("{}-", event["event_id"].as_str().unwrap())),
        "{ce_id}"
    );
    assert!(line["timestamp_ms"].is_i64(), "{line}");
    assert_eq!(event["command"], "Room.CallbackAfterMemberLeave");
    assert_eq!(event["cause"], "leave");
    common::assert_schema("room.member", event);
}

/// No token means no authentication, so it must be asked for (issue 14): without a token or
/// `--allow-unsigned` the bridge and check-config refuse, naming both ways out; with it
/// check-config, the start-up log and `/metrics` all say so.
#[test]
fn running_unsigned_must_be_asked_for_and_is_visible() {
    // Were the server to start anyway, it would fail to bind this address (not on any host:
    // TEST-NET-1) and exit 1 rather than hang the test.
    let server = "--sdk-app-id 1 --delivery memory --listen 192.0.2.1:9";
    for args in [server, "check-config --sdk-app-id 1"] {
        let (code, _, err) = cli(args, &[]);
        assert_eq!(code, Some(2), "{args}: {err}");
        for way_out in ["--auth-token-file", "Tencent console", "--allow-unsigned"] {
            assert!(err.contains(way_out), "{args}: {way_out} missing: {err}");
        }
    }
    let unsigned = [("BRIDGE_ALLOW_UNSIGNED", "true")];
    let (code, text, err) = cli("check-config --sdk-app-id 1", &unsigned);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("allow-unsigned = true\n"), "{text}");
    let (code, _, err) = cli("check-config --sdk-app-id 1 --auth-token t", &unsigned);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not both"), "{err}");
    let (code, text, err) = cli("check-config --sdk-app-id 1 --auth-token t", &[]);
    assert_eq!(code, Some(0), "{text}{err}");
    assert!(text.contains("allow-unsigned = false\n"), "{text}");

    // No broker needed: /metrics and the log are there before Kafka is.
    let nowhere = format!("127.0.0.1:{}", common::free_port());
    let bridge = Bridge::spawn(&nowhere, &["--allow-unsigned"]);
    let text = wait_for("/metrics", WAIT, || {
        std::net::TcpStream::connect(bridge.addr()).ok()?;
        Some(scrape(&bridge.admin_addr()))
    });
    assert_eq!(
        value(&text, "tencent_bridge_auth_unsigned_allowed"),
        Some(1.0),
        "{text}"
    );
    let log = bridge.log();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("--allow-unsigned")),
        "{log}"
    );
}

/// `/readyz` answers "can the bridge accept?": in spool mode yes through a Kafka outage (and
/// it says it is degraded), in kafka mode no.
#[test]
fn readiness_follows_what_the_delivery_mode_can_promise() {
    let nowhere = format!("127.0.0.1:{}", common::free_port());
    let readyz = |bridge: &Bridge, want: &str| {
        wait_for(&format!("/readyz to say {want}"), WAIT, || {
            // Not listening yet is "not yet", not a failure.
            std::net::TcpStream::connect(bridge.admin_addr()).ok()?;
            let out = raw_exchange(
                &bridge.admin_addr(),
                b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            );
            out.contains(want).then_some(out)
        })
    };
    let spool = Bridge::spawn(&nowhere, &[]);
    let out = readyz(&spool, "degraded");
    assert!(
        out.starts_with("HTTP/1.1 200") && out.contains("spooled"),
        "{out}"
    );

    let kafka = Bridge::spawn(&nowhere, &["--delivery", "kafka"]);
    let out = readyz(&kafka, "not ready");
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
}

/// A topic nobody created (tansu, like many clusters, does not auto-create): `/readyz` stays
/// 200 and names it as degraded, and its events go to the DLQ instead of waiting forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_topic_is_named_and_its_events_kept_on_the_dlq() {
    let broker = Broker::start("tencent.");
    for family in ["live.member", "group.member", "other", "dlq"] {
        broker.create_topic(&format!("gap.{family}"), 1);
    }
    let bridge = Bridge::spawn(
        &broker.bootstrap(),
        &[
            "--topic-prefix",
            "gap.",
            "--auth-token",
            TOKEN,
            // librdkafka gives a topic 30 s to appear before calling it unknown; not here.
            "--kafka-property",
            "topic.metadata.propagation.max.ms=2000",
        ],
    );
    wait_for("/readyz to name the missing topic", WAIT, || {
        std::net::TcpStream::connect(bridge.admin_addr()).ok()?;
        let out = raw_exchange(
            &bridge.admin_addr(),
            b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        );
        (out.starts_with("HTTP/1.1 200")
            && out.contains("degraded")
            && out.contains("missing topics: gap.room.member"))
        .then_some(())
    });
    send_ok(&bridge, ROOM, ROOM_003).await;
    let id = tencent_kafka_bridge::event::event_id(APP_ID, ROOM, ROOM_003.as_bytes());
    // The DLQ record wraps the event the broker would not take: its body is that event.
    let kept = |m: &common::consume::Msg| {
        m.value["error_code"] == 5041 && m.value["body"].as_str().is_some_and(|b| b.contains(&id))
    };
    let msgs = common::consume::read_until(&broker.bootstrap(), "gap.dlq", Duration::from_secs(90), |ms| {
        ms.iter().any(kept)
    });
    let record = msgs
        .iter()
        .find(|m| kept(m))
        .unwrap_or_else(|| panic!("not on the DLQ: {msgs:?}"));
    eprintln!("DLQ reason: {}", record.value["reason"]);
    assert!(
        record.value["reason"]
            .as_str()
            .is_some_and(|r| r.contains("opic")),
        "{:?}",
        record.value
    );
    common::assert_schema("dlq", &record.value);
}
