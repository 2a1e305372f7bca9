//! Issue 30: HTTPS on the callback listener, with a test CA made here (openssl CLI) and real
//! TLS clients (curl, Python's `ssl`, rustls): callbacks over HTTPS reach Kafka through a chain
//! with an intermediate; plain HTTP and a stalled handshake are refused cleanly and counted; a
//! bad pair stops the start with exit 2; a certificate swapped on disk is served to the next
//! connection while a load runs through the swap with no request failed; a broken pair keeps
//! the old certificate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::bridge::{run_to_exit, Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::events::WAIT;
use common::http::get_text_blocking;
use common::samples::{live, query};
use common::tls::{curl_post, install, python_post, rustls_post, Pair, Pki};
use common::wait_for;

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";

fn metric(bridge: &Bridge, series: &str) -> f64 {
    let text = get_text_blocking(&bridge.admin_addr(), "/metrics").expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not in /metrics:\n{text}"))
}

/// Until the load has sent `n` requests (a minute at most).
async fn wait_sent(sent: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent.load(Ordering::Relaxed) < n {
        assert!(
            Instant::now() < deadline,
            "the load stalled at {}",
            sent.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn tls_args(pair: &Pair) -> Vec<String> {
    vec![
        "--tls-cert-file".into(),
        pair.chain.display().to_string(),
        "--tls-key-file".into(),
        pair.key.display().to_string(),
    ]
}

fn members(broker: &Broker, expected: &[String]) -> Vec<String> {
    let member = |m: &common::consume::Msg| m.value["members"][0].as_str().unwrap_or("").to_owned();
    let msgs = read_until(&broker.bootstrap(), "tencent.live.member", WAIT, |m| {
        expected.iter().all(|e| m.iter().any(|m| member(m) == *e))
    });
    let got: Vec<String> = msgs.iter().map(member).collect();
    expected.iter().filter(|e| !got.contains(e)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_over_https_reach_kafka_and_what_is_not_tls_is_refused_cleanly() {
    let pki = Pki::create();
    let pair = pki.issue("bridge-1", 20);
    let broker = Broker::start("tencent.");
    let mut args = tls_args(&pair);
    args.extend(["--header-read-timeout".into(), "1s".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let bridge = Bridge::start(&broker.bootstrap(), &args);

    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let (status, answer) = curl_post(
        bridge.port,
        &pki.ca,
        &q,
        &live("tls-room", "Online", "Enter", "via-curl"),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#""ErrorCode":0"#), "{answer}");
    let py = python_post(
        bridge.port,
        &pki.ca,
        &q,
        &live("tls-room", "Online", "Enter", "via-python"),
    );
    assert_eq!(py["status"], 200, "{py}");
    assert_eq!(py["cn"], "bridge-1");
    assert!(
        ["TLSv1.3", "TLSv1.2"].contains(&py["version"].as_str().unwrap()),
        "{py}"
    );
    let missing = members(&broker, &["via-curl".into(), "via-python".into()]);
    assert!(missing.is_empty(), "not on Kafka: {missing:?}");

    // Plain HTTP to the TLS port: a plain 400 that says why, and the connection closed.
    let started = Instant::now();
    let mut plain = std::net::TcpStream::connect(bridge.addr()).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        plain,
        "POST {q} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    let mut text = String::new();
    plain.read_to_string(&mut text).expect("answered and closed");
    assert!(
        text.starts_with("HTTP/1.1 400") && text.contains("speaks HTTPS"),
        "{text:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A handshake that stalls (one byte of a ClientHello, then nothing) is cut after
    // --header-read-timeout (1s), like a slowloris head.
    let started = Instant::now();
    let mut stalled = std::net::TcpStream::connect(bridge.addr()).unwrap();
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stalled.write_all(&[0x16]).unwrap();
    let mut buf = [0u8; 64];
    let cut = stalled.read(&mut buf);
    assert!(matches!(cut, Ok(0)) || cut.is_err(), "{cut:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "cut after {took:?}"
    );

    // A TLS record that is no handshake the bridge knows: an alert, and the connection closed.
    let mut bogus = std::net::TcpStream::connect(bridge.addr()).unwrap();
    bogus.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    bogus
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0x00, 0x00, 0x00])
        .unwrap();
    let mut answer = Vec::new();
    let _ = bogus.read_to_end(&mut answer);
    assert!(
        matches!(answer.first(), None | Some(0x15)),
        "a TLS alert or nothing: {answer:?}"
    );

    // Nothing crashed: the next HTTPS callback is fine, and each refusal was counted.
    let (status, _) = curl_post(
        bridge.port,
        &pki.ca,
        &q,
        &live("tls-room", "Online", "Enter", "after"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        metric(
            &bridge,
            r#"tencent_bridge_tls_handshake_failures_total{reason="plain_http"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &bridge,
            r#"tencent_bridge_tls_handshake_failures_total{reason="timeout"}"#
        ),
        1.0
    );
    let not_after = metric(&bridge, "tencent_bridge_tls_cert_not_after_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (19.0..21.0).contains(&((not_after - now) / 86_400.0)),
        "expiry {not_after}"
    );
}

#[test]
fn a_bad_pair_stops_the_start_with_exit_2_naming_the_file_and_check_config_shows_tls() {
    let pki = Pki::create();
    let (one, two) = (pki.issue("one", 20), pki.issue("two", 20));
    let base = ["--sdk-app-id", "1", "--auth-token", "t"];
    let run = |cert: &std::path::Path, key: &std::path::Path, tool: &[&str]| {
        let mut args: Vec<&str> = tool.to_vec();
        args.extend_from_slice(&base);
        args.extend([
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
        ]);
        args.extend(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
        run_to_exit(&args, &[])
    };
    let out = run(&one.chain, &two.key, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(two.key.to_str().unwrap()) && err.contains("not the certificate's"),
        "{err}"
    );
    let missing = pki.dir.path().join("missing.pem");
    let out = run(&missing, &one.key, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("missing.pem") && err.contains("No such file"),
        "{err}"
    );
    let out = run(&one.key, &one.key, &["check-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no certificate"), "{err}");

    let out = run(&one.chain, &one.key, &["check-config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("# tls: on: a chain of 2 certificate(s)"), "{text}");
    assert!(
        text.contains(&format!("tls-key-file = {:?}", one.key.display().to_string())),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swapped_certificate_is_served_to_the_next_connection_and_a_broken_pair_keeps_the_old() {
    let pki = Pki::create();
    let (first, second) = (pki.issue("gen-1", 30), pki.issue("gen-2", 60));
    let live_dir = tempfile::tempdir().unwrap();
    let live_pair = Pair {
        chain: live_dir.path().join("tls.crt"),
        key: live_dir.path().join("tls.key"),
    };
    install(&first, &live_pair);
    let broker = Broker::start("tencent.");
    let args = tls_args(&live_pair);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let bridge = Bridge::start(&broker.bootstrap(), &args);
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let served = || {
        python_post(
            bridge.port,
            &pki.ca,
            &q,
            &live("swap-room", "Online", "Enter", "probe"),
        )
    };
    assert_eq!(served()["cn"], "gen-1");

    // A broken pair (the second certificate with the first's key): the first is still
    // served, and the problem is logged once however often the broken files change.
    let b = &bridge;
    let failures =
        |n: f64| move || (metric(b, "tencent_bridge_tls_cert_reload_failures_total") >= n).then_some(());
    std::fs::copy(&second.chain, &live_pair.chain).unwrap();
    wait_for("a failed reload", Duration::from_secs(20), failures(1.0));
    assert_eq!(metric(&bridge, "tencent_bridge_tls_cert_reload_failing"), 1.0);
    let py = served();
    assert_eq!(
        (py["status"].as_u64(), py["cn"].as_str()),
        (Some(200), Some("gen-1")),
        "{py}"
    );
    let mut other = std::fs::read(&second.chain).unwrap();
    other.extend_from_slice(b"\n");
    std::fs::write(&live_pair.chain, other).unwrap();
    wait_for("a second failed reload", Duration::from_secs(20), failures(2.0));
    let log = bridge.log();
    assert_eq!(log.matches("do not load").count(), 1, "logged once: {log}");

    // Back to the first pair, then a load of signed callbacks over fresh connections while
    // the second pair is installed.
    install(&first, &live_pair);
    wait_for("reload_failing back to 0", Duration::from_secs(20), || {
        (metric(&bridge, "tencent_bridge_tls_cert_reload_failing") == 0.0).then_some(())
    });
    let connector = pki.connector();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for s in 0..4 {
        let (connector, stop, sent, q, port) = (
            connector.clone(),
            stop.clone(),
            sent.clone(),
            q.clone(),
            bridge.port,
        );
        senders.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for i in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let member = format!("swap-{s}-{i}");
                let body = live(&format!("swap-room-{s}"), "Online", "Enter", &member);
                match rustls_post(&connector, port, &q, body).await {
                    Ok(200) => ok.push(member),
                    other => failed.push(format!("{member}: {other:?}")),
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            (ok, failed)
        }));
    }
    wait_sent(&sent, 40).await;
    install(&second, &live_pair);
    let swapped_at = sent.load(Ordering::Relaxed);
    let probe = (bridge.port, pki.ca.clone(), q.clone());
    tokio::task::spawn_blocking(move || {
        wait_for("gen-2 served", Duration::from_secs(30), || {
            let py = python_post(
                probe.0,
                &probe.1,
                &probe.2,
                &live("swap-room", "Online", "Enter", "probe"),
            );
            (py["cn"] == "gen-2").then_some(())
        })
    })
    .await
    .unwrap();
    wait_sent(&sent, sent.load(Ordering::Relaxed) + 40).await;
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for s in senders {
        let (o, f) = s.await.unwrap();
        ok.extend(o);
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "failed through the swap (at {swapped_at}): {failed:?}"
    );
    assert!(ok.len() >= 80, "{}", ok.len());
    assert!(metric(&bridge, "tencent_bridge_tls_cert_reloads_total") >= 2.0);
    let days = (metric(&bridge, "tencent_bridge_tls_cert_not_after_seconds")
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64())
        / 86_400.0;
    assert!(
        (59.0..61.0).contains(&days),
        "the second certificate's expiry: {days}"
    );
    let missing = members(&broker, &ok);
    assert!(
        missing.is_empty(),
        "acknowledged over HTTPS but not on Kafka: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handshake_under_way_does_not_hold_up_the_shutdown() {
    let pki = Pki::create();
    let pair = pki.issue("bridge-1", 20);
    let broker = Broker::start("tencent.");
    let mut args = tls_args(&pair);
    args.extend(["--header-read-timeout", "60s", "--shutdown-timeout", "30s"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut bridge = Bridge::start(&broker.bootstrap(), &args);
    let mut stalled = std::net::TcpStream::connect(bridge.addr()).unwrap();
    stalled.write_all(&[0x16]).unwrap();
    // Accepted in order: once a plain-HTTP probe behind it is answered, the stalled one is in.
    let mut plain = std::net::TcpStream::connect(bridge.addr()).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut text = String::new();
    plain.read_to_string(&mut text).unwrap();
    assert!(text.contains("speaks HTTPS"), "{text}");
    let started = Instant::now();
    bridge.signal(libc::SIGTERM);
    let status = bridge.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", bridge.log());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "exit took {:?}",
        started.elapsed()
    );
}
