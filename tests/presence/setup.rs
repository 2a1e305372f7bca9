//! Starting the view: its deploy assets, the co-partitioning refusal, a missing input topic.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::support::{self, member, Feed, Presence};
use super::{common, expect_state};
use crate::common::wait_for;

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
