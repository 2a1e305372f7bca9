//! Issue 26: rotating the webhook token without losing a callback, and a token per app. The
//! real bridge re-reads its token files while callbacks flow (a Kubernetes secret's symlink
//! swap, a file emptied or replaced by a directory), one process throughout; each app is
//! checked against its own tokens only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use common::bridge::{run_to_exit, Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_until;
use common::http::{post, post_with};
use common::samples::{live, query, trtc, trtc_headers};
use common::tokens::{metric, reloaded, status, until, Flow, Secret, LIVE};

const APP_B: &str = "1400000002";

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_old_then_both_then_new_refuses_nothing_signed_with_a_held_token() {
    let broker = Broker::start("tencent.");
    let mut secret = Secret::new("old\n");
    let path = secret.path();
    let file = path.to_str().unwrap();
    let mut bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token-file", file, "--delivery", "memory"],
    );
    let pid = bridge.pid();
    assert_eq!(status(&bridge, APP_ID, "new", "probe-0").await, 401, "not yet");

    let flow = Flow::start(bridge.addr(), "old");
    // Step 1, add: the new token on a second line.
    secret.publish("# rotation: old first, new second\nold\nnew\n");
    reloaded(&bridge, &path, 1.0).await;
    assert_eq!(status(&bridge, APP_ID, "new", "probe-1").await, 200);
    assert_eq!(status(&bridge, APP_ID, "old", "probe-2").await, 200);
    // Step 2, rotate in the console: Tencent signs with the new token from now on.
    flow.sign_with("new");
    let second = format!("sdk_app_id=\"{APP_ID}\"");
    until("the second token counted", Duration::from_secs(20), || {
        metric(
            &bridge,
            "tencent_bridge_auth_signed_total",
            &[&second, "token=\"second\""],
        )
        .is_some_and(|n| n >= 2.0)
    })
    .await;
    // Step 3, remove the old one.
    secret.publish("new\n");
    reloaded(&bridge, &path, 2.0).await;
    assert_eq!(status(&bridge, APP_ID, "old", "probe-3").await, 401);
    assert_eq!(status(&bridge, APP_ID, "new", "probe-4").await, 200);
    let sent = flow.stop().await;

    let refused: Vec<_> = sent.iter().filter(|(_, _, s)| *s != 200).collect();
    assert!(
        refused.is_empty(),
        "refused while signed with a token the file held: {refused:?}"
    );
    let used = |t: &str| sent.iter().filter(|(_, token, _)| token == t).count();
    assert!(
        used("old") > 0 && used("new") > 0,
        "the flow spanned the rotation: {sent:?}"
    );
    assert_eq!(
        bridge.exit_within(Duration::ZERO),
        None,
        "the same process throughout"
    );
    assert_eq!(bridge.pid(), pid);
    let log = bridge.log();
    assert_eq!(log.matches("token file reloaded").count(), 2, "{log}");
    assert!(log.contains("tokens=2") && log.contains("tokens=1"), "{log}");
    assert!(
        !log.contains("old\n") && !log.contains("\"new"),
        "a token in the log:\n{log}"
    );

    // Every accepted callback is on Kafka.
    let brokers = broker.bootstrap();
    let want: Vec<String> = sent.iter().map(|(m, _, _)| m.clone()).collect();
    let member = |m: &common::consume::Msg| {
        m.value["raw"]["MemberList"][0]["Member_Account"]
            .as_str()
            .map(str::to_owned)
    };
    let msgs = tokio::task::spawn_blocking(move || {
        read_until(&brokers, "tencent.live.member", Duration::from_secs(30), |msgs| {
            let seen: std::collections::HashSet<String> = msgs.iter().filter_map(member).collect();
            want.iter().all(|w| seen.contains(w))
        })
    })
    .await
    .unwrap();
    let seen: std::collections::HashSet<String> = msgs.iter().filter_map(member).collect();
    let lost: Vec<_> = sent.iter().filter(|(m, _, _)| !seen.contains(m)).collect();
    assert!(lost.is_empty(), "accepted but not on Kafka: {lost:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_app_has_its_own_tokens_and_a_cross_signed_callback_is_refused() {
    let broker = Broker::start("tencent.");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, "token-a\n").unwrap();
    std::fs::write(&b, "token-b1\ntoken-b2\n").unwrap();
    let own_a = format!("{APP_ID}={}", a.display());
    let own_b = format!("{APP_B}={}", b.display());
    let args = [
        "--sdk-app-id",
        APP_B,
        "--app-token-file",
        &own_a,
        "--app-token-file",
        &own_b,
        "--delivery",
        "memory",
    ];
    // The harness adds `--auth-token TOKEN` for every app without its own file: here none.
    let bridge = Bridge::start(&broker.bootstrap(), &args);

    assert_eq!(status(&bridge, APP_ID, "token-a", "a-own").await, 200);
    assert_eq!(status(&bridge, APP_B, "token-b2", "b-own").await, 200);
    for (app, token, marker) in [
        (APP_ID, "token-b1", "a-signed-by-b"),
        (APP_B, "token-a", "b-signed-by-a"),
        (APP_ID, TOKEN, "a-signed-by-shared"),
    ] {
        let q = query("/callback", app, LIVE, Some(token));
        let answer = post(&bridge.addr(), &q, live("rot", "Online", "Enter", marker)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, 4012),
            "{marker}: {answer:?}"
        );
    }
    let a_first = format!("sdk_app_id=\"{APP_ID}\"");
    let b_app = format!("sdk_app_id=\"{APP_B}\"");
    let signed = "tencent_bridge_auth_signed_total";
    assert_eq!(
        metric(&bridge, signed, &[&a_first, "scheme=\"sign\"", "token=\"first\""]),
        Some(1.0)
    );
    assert_eq!(metric(&bridge, signed, &[&b_app, "token=\"first\""]), Some(0.0));
    assert_eq!(metric(&bridge, signed, &[&b_app, "token=\"second\""]), Some(1.0));
    assert_eq!(
        metric(
            &bridge,
            "tencent_bridge_auth_tokens",
            &[&b_app, "scheme=\"sign\""]
        ),
        Some(2.0)
    );

    // Only the authentic ones reach Kafka, under their own app.
    let brokers = broker.bootstrap();
    let msgs = tokio::task::spawn_blocking(move || {
        read_until(&brokers, "tencent.live.member", Duration::from_secs(30), |m| {
            m.len() >= 2
        })
    })
    .await
    .unwrap();
    let sources: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            (
                m.headers["ce_source"].clone(),
                m.value["raw"]["MemberList"][0]["Member_Account"].to_string(),
            )
        })
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(sources.contains(&(format!("tencent-cloud://sdkappid/{APP_ID}"), "\"a-own\"".into())));
    assert!(sources.contains(&(format!("tencent-cloud://sdkappid/{APP_B}"), "\"b-own\"".into())));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_token_file_keeps_the_old_tokens_and_says_so() {
    let broker = Broker::start("tencent.");
    // `token` is a symlink, repointed atomically (a rename) at each state, so that no poll
    // sees a half-made one: a file, a directory, a file with only a comment, a file again.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("v1"), "old\n").unwrap();
    std::fs::create_dir(d.join("a-directory")).unwrap();
    std::fs::write(d.join("v2"), "# new token coming\n").unwrap();
    std::fs::write(d.join("v3"), "new\n").unwrap();
    let path = d.join("token");
    let point_at = |target: &str| {
        std::os::unix::fs::symlink(target, d.join("token.tmp")).unwrap();
        std::fs::rename(d.join("token.tmp"), &path).unwrap();
    };
    point_at("v1");
    let file = path.to_str().unwrap();
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token-file", file, "--delivery", "memory"],
    );
    let label = format!("path=\"{file}\"");
    let failing = |b: &Bridge| metric(b, "tencent_bridge_auth_token_file_failing", &[&label]);
    assert_eq!(failing(&bridge), Some(0.0));

    // Unreadable: a directory (EISDIR; root reads any mode, so not chmod).
    point_at("a-directory");
    until("the file failing", Duration::from_secs(20), || {
        failing(&bridge) == Some(1.0)
    })
    .await;
    // Polls later (one every 2 s) the old token still signs, and the failure was logged once.
    let since = Instant::now();
    let mut n = 0;
    while since.elapsed() < Duration::from_secs(5) {
        n += 1;
        assert_eq!(status(&bridge, APP_ID, "old", &format!("broken-{n}")).await, 200);
    }
    assert_eq!(failing(&bridge), Some(1.0));
    let log = bridge.log();
    assert_eq!(log.matches("token file cannot be read").count(), 1, "{log}");
    assert!(log.contains("Is a directory") && log.contains("kept=1"), "{log}");

    // Emptied (only a comment): still the old token.
    point_at("v2");
    until("the empty file logged", Duration::from_secs(20), || {
        bridge.log().contains("token file holds no token")
    })
    .await;
    assert_eq!(failing(&bridge), Some(1.0));
    assert_eq!(status(&bridge, APP_ID, "old", "empty-1").await, 200);
    assert_eq!(status(&bridge, APP_ID, "new", "empty-2").await, 401);

    // Fixed: taken in, healthy again.
    point_at("v3");
    reloaded(&bridge, &path, 1.0).await;
    assert_eq!(status(&bridge, APP_ID, "new", "fixed-1").await, 200);
    assert_eq!(status(&bridge, APP_ID, "old", "fixed-2").await, 401);
    assert_eq!(bridge.log().matches("token file holds no token").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trtc_key_file_takes_two_keys_and_is_re_read() {
    let broker = Broker::start("tencent.");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trtc-key");
    std::fs::write(&path, "k-old\n").unwrap();
    let file = path.to_str().unwrap();
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--trtc-key-file", file, "--delivery", "memory"],
    );
    let send = |key: &'static str, ts: i64| {
        let body = trtc(1, 103, serde_json::json!(7), Some("alice"), 1, ts);
        let headers = trtc_headers(APP_ID, key, &body);
        let addr = bridge.addr();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post_with(&addr, "/trtc", &h, body).await.status
        }
    };
    assert_eq!(send("k-old", 1).await, 200);
    assert_eq!(send("k-new", 2).await, 401);
    // Written in place, as an editor or `kubectl cp` would.
    std::fs::write(&path, "k-old\nk-new\n").unwrap();
    reloaded(&bridge, &path, 1.0).await;
    assert_eq!(send("k-new", 3).await, 200);
    assert_eq!(send("k-old", 4).await, 200);
    let app = format!("sdk_app_id=\"{APP_ID}\"");
    let signed = "tencent_bridge_auth_signed_total";
    assert_eq!(
        metric(&bridge, signed, &[&app, "scheme=\"trtc\"", "token=\"second\""]),
        Some(1.0)
    );
    assert_eq!(
        metric(&bridge, signed, &[&app, "scheme=\"trtc\"", "token=\"first\""]),
        Some(2.0)
    );
}

#[test]
fn an_app_without_a_token_stops_the_start_and_check_config_counts_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    std::fs::write(&b, "b1\nb2\n").unwrap();
    let own_b = format!("{APP_B}={}", b.display());
    let apps = format!("{APP_ID},{APP_B}");
    let out = run_to_exit(&["--sdk-app-id", &apps, "--app-token-file", &own_b], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("SdkAppid {APP_ID}: no token")),
        "{stderr}"
    );

    // The env twin, and check-config's count per app (never the tokens).
    let out = run_to_exit(
        &["check-config", "--sdk-app-id", &apps, "--auth-token", TOKEN],
        &[("BRIDGE_APP_TOKEN_FILES", &own_b)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("#   {APP_ID}: 1 token, from --auth-token\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "#   {APP_B}: 2 tokens, from --app-token-file {}",
            b.display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("b1") && !stdout.contains(TOKEN), "{stdout}");
}
