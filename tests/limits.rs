//! Connection limits against the real bridge: slow or lying clients are cut with a clear
//! answer while everyone else keeps being served.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::http::{post, raw_exchange};
use common::samples::{live, query};

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";

fn start(broker: &Broker) -> Bridge {
    Bridge::start(
        &broker.bootstrap(),
        &[
            "--delivery",
            "memory",
            "--header-read-timeout",
            "1s",
            "--body-read-timeout",
            "1s",
            "--keepalive-idle-timeout",
            "2s",
        ],
    )
}

/// Reads until the server closes the connection or `within` passes; returns what was read and
/// whether the server closed.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), false)
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_headers_are_cut_while_a_normal_client_is_served() {
    let broker = Broker::start("tencent.");
    let bridge = start(&broker);
    let addr = bridge.addr();
    let slow = std::thread::spawn({
        let addr = addr.clone();
        move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            let head = format!(
                "POST {} HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n",
                query("/callback", APP_ID, LIVE, Some(TOKEN)),
                "a".repeat(100)
            );
            let started = Instant::now();
            for b in head.bytes() {
                if s.write_all(&[b]).is_err() {
                    return Some(started.elapsed());
                }
                std::thread::sleep(Duration::from_millis(50));
                if started.elapsed() > Duration::from_secs(8) {
                    return None;
                }
            }
            None
        }
    });
    // Meanwhile, a normal client is served.
    for i in 0..5 {
        let a = post(
            &addr,
            &query("/callback", APP_ID, LIVE, Some(TOKEN)),
            live("normal-room", "Online", "Enter", &format!("n{i}")),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    let cut_after = slow.join().unwrap().expect("the slow client was never cut");
    assert!(cut_after < Duration::from_secs(4), "cut only after {cut_after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn thousands_of_idle_connections_do_not_block_callbacks() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--delivery", "memory", "--header-read-timeout", "30s"],
    );
    let idle: Vec<TcpStream> = (0..2000)
        .map(|_| TcpStream::connect(bridge.addr()).unwrap())
        .collect();
    let started = Instant::now();
    for i in 0..20 {
        let a = post(
            &bridge.addr(),
            &query("/callback", APP_ID, LIVE, Some(TOKEN)),
            live("busy-room", "Online", "Enter", &format!("i{i}")),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "callbacks starved by idle connections"
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread")]
async fn trickled_bodies_and_lying_lengths_get_clear_answers() {
    let broker = Broker::start("tencent.");
    let bridge = start(&broker);
    let addr = bridge.addr();
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let body = live("liar-room", "Online", "Enter", "liar");

    // Content-Length longer than the body: the bridge waits for the rest, then answers 408.
    let raw = format!(
        "POST {q} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
        body.len() + 50
    );
    let answer = raw_exchange(&addr, raw.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"ErrorCode\":4080"), "{answer}");

    // Content-Length shorter than the body: the body is cut there, which is not JSON.
    let raw = format!(
        "POST {q} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len() - 10
    );
    let answer = raw_exchange(&addr, raw.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"ErrorCode\":4003"), "{answer}");

    // A body that trickles in slower than the body timeout is cut with 408.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST {q} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let trickle = std::thread::spawn({
        let mut s = s.try_clone().unwrap();
        let body = body.clone();
        move || {
            for b in body.bytes().take(40) {
                if s.write_all(&[b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(6));
    trickle.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(closed || answer.contains("4080"), "{answer}");

    // Idle keep-alive connections are closed after the idle timeout, not before a request.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(s, "GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(6));
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        closed,
        "an idle keep-alive connection stayed open past the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_heads_are_refused() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--delivery", "memory", "--max-headers", "10"],
    );
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    let many: String = (0..20).map(|i| format!("x-h{i}: v\r\n")).collect();
    let answer = raw_exchange(
        &bridge.addr(),
        format!("POST {q} HTTP/1.1\r\nhost: x\r\n{many}content-length: 2\r\n\r\n{{}}").as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let huge = "y".repeat(40_000);
    let answer = raw_exchange(
        &bridge.addr(),
        format!("POST {q} HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\ncontent-length: 2\r\n\r\n{{}}").as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // And the bridge still serves.
    let a = post(&bridge.addr(), &q, live("after-431", "Online", "Enter", "x")).await;
    assert_eq!(a.status, 200);
}
