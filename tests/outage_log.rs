//! A Kafka outage reads as a short story in the log (issue 18): one line when it starts, at
//! most one summary per interval while it lasts, one when it ends; librdkafka's repeated
//! complaints (`AllBrokersDown`, `1/1 brokers are down`, "Ignored event 'Error'") stay at
//! debug. The summary interval is shortened (hidden `--outage-summary-interval`) so that an
//! outage of a few intervals runs in seconds; before the fix, 10 s of outage made hundreds
//! of lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::http::post;
use common::samples::{live, query};
use common::wait_for;

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const INTERVAL_SECS: u64 = 3;
/// The story's lines are all some outages may need; the flood was hundreds.
const MOST_LINES: usize = 12;

fn lines_since(bridge: &Bridge, from: usize) -> Vec<String> {
    bridge.log().lines().skip(from).map(str::to_owned).collect()
}

fn count(lines: &[String], what: &str) -> usize {
    lines.iter().filter(|l| l.contains(what)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_logged_once_summarized_and_ended() {
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let interval = format!("{INTERVAL_SECS}s");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token", TOKEN, "--outage-summary-interval", &interval],
    );
    let addr = bridge.addr();
    let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
    assert_eq!(
        post(&addr, &q, live("r", "Online", "Enter", "m-0")).await.status,
        200
    );
    let before = bridge.log().lines().count();

    proxy.cut();
    // Callbacks keep coming during the outage: spooled, answered OK.
    for i in 1..=20 {
        let body = live("r", "Online", "Enter", &format!("m-{i}"));
        assert_eq!(post(&addr, &q, body).await.status, 200);
    }
    let story = |want: &'static str, n: usize| {
        let bridge = &bridge;
        move || {
            let lines = lines_since(bridge, before);
            (count(&lines, want) >= n).then_some(lines)
        }
    };
    let wait = Duration::from_secs(60);
    tokio::task::block_in_place(|| {
        wait_for("the outage's first line", wait, story("Kafka unreachable", 1));
        // Two summaries: the outage lasted at least two intervals.
        wait_for("two summary lines", wait, story("Kafka still unreachable", 2));
    });
    proxy.restore();
    let lines = tokio::task::block_in_place(|| {
        wait_for("the outage's last line", wait, story("Kafka reachable again", 1))
    });
    let text = lines.join("\n");
    eprintln!("{} lines over the outage:\n{text}", lines.len());

    assert_eq!(count(&lines, "Kafka unreachable"), 1, "{text}");
    assert_eq!(count(&lines, "Kafka reachable again"), 1, "{text}");
    let start = lines.iter().find(|l| l.contains("Kafka unreachable")).unwrap();
    assert!(
        start.contains(&broker.bootstrap()) && start.contains("spooled"),
        "the first line says what is unreachable and what happens to callbacks: {start}"
    );
    let summary = lines.iter().find(|l| l.contains("still unreachable")).unwrap();
    for field in ["lasted=", "spool_bytes=", "spool_records=", "oldest_record_age="] {
        assert!(summary.contains(field), "{field} missing: {summary}");
    }
    for noise in [
        "Ignored event",
        "brokers are down",
        "AllBrokersDown",
        "Kafka check failed",
    ] {
        assert!(count(&lines, noise) == 0, "{noise} logged above debug:\n{text}");
    }
    assert!(
        lines.len() <= MOST_LINES,
        "{} lines for an outage of a few intervals:\n{text}",
        lines.len()
    );
}
