//! The rule file as promtool and the docs see it, and the metric names against a real bridge.

use std::collections::BTreeSet;

use crate::common::bridge::{Bridge, APP_ID, TOKEN};
use crate::common::broker::Broker;
use crate::common::http::{post, raw_exchange};
use crate::common::samples::{query, ROOM_003};

const ROOM: &str = "Room.CallbackAfterMemberEnter";
use crate::{alerts, read, repo, tool, yaml, DASHBOARD, RULES};

fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn promtool_checks_the_rules_and_every_alert_has_a_firing_and_a_silent_test() {
    run(tool("promtool").args(["check", "rules"]).arg(repo(RULES)));
    let tests = "tests/monitoring/alerts_test.yml";
    run(tool("promtool").args(["test", "rules"]).arg(repo(tests)));
    let cases: Vec<serde_json::Value> = yaml(tests)["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().cloned().unwrap_or_default())
        .collect();
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        let of = |fires: bool| {
            cases.iter().any(|c| {
                c["alertname"] == name && c["exp_alerts"].as_array().is_some_and(|a| a.is_empty() != fires)
            })
        };
        assert!(of(true), "{name}: no promtool test where it fires");
        assert!(of(false), "{name}: no promtool test where it stays silent");
    }
}

#[test]
fn the_prometheus_rule_manifest_holds_the_same_rules() {
    let manifest = yaml("deploy/prometheus/prometheus-rule.yaml");
    assert_eq!(manifest["kind"], "PrometheusRule");
    assert_eq!(manifest["spec"]["groups"], yaml(RULES)["groups"]);
}

#[test]
fn every_alert_has_a_severity_a_summary_naming_the_instance_and_a_runbook_entry() {
    let runbook = read("docs/runbook.md");
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    for alert in alerts() {
        let name = alert["alert"].as_str().unwrap();
        let severity = alert["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        let summary = alert["annotations"]["summary"].as_str().unwrap_or("");
        assert!(
            summary.contains("$labels.instance"),
            "{name}: summary names no instance"
        );
        let url = alert["annotations"]["runbook_url"].as_str().unwrap_or("");
        let anchor = url.rsplit_once("docs/runbook.md#").map(|(_, a)| a);
        assert_eq!(
            anchor,
            Some(name.to_lowercase().as_str()),
            "{name}: runbook_url {url}"
        );
        assert!(
            anchors.contains(&name.to_lowercase()),
            "docs/runbook.md has no `## {name}`"
        );
    }
}

/// Metric names in PromQL text: the bridge's and the process series.
fn names_in(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("tencent_bridge_") || t.starts_with("process_"))
        .map(str::to_owned)
        .collect()
}

fn used_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for alert in alerts() {
        names.extend(names_in(alert["expr"].as_str().unwrap()));
    }
    let dashboard: serde_json::Value = serde_json::from_str(&read(DASHBOARD)).expect("dashboard JSON");
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            names.extend(names_in(target["expr"].as_str().expect("expr")));
        }
    }
    let variables = dashboard["templating"]["list"].to_string();
    names.extend(names_in(&variables));
    names
}

/// Every family `# TYPE` names, and the sample names each has.
fn exported(text: &str) -> BTreeSet<String> {
    let suffixes = ["", "_total", "_bucket", "_count", "_sum", "_info", "_created"];
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .flat_map(|family| suffixes.iter().map(move |s| format!("{family}{s}")))
        .collect()
}

#[test]
fn every_series_the_rules_and_the_dashboard_use_is_exported_by_a_running_bridge() {
    let broker = Broker::start("tencent.");
    let bridge = Bridge::start(&broker.bootstrap(), &["--auth-token", TOKEN]);
    // Callbacks are counted per answer from the first one on.
    let q = query("/callback", APP_ID, ROOM, Some(TOKEN));
    let answer = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(post(&bridge.addr(), &q, ROOM_003));
    assert_eq!(answer.status, 200, "{answer:?}");
    let out = raw_exchange(
        &bridge.admin_addr(),
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let exported = exported(&out);
    let used = used_names();
    assert!(used.len() > 10, "too few names found: {used:?}");
    let missing: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "used but not exported: {missing:?}\n{out}");
}
