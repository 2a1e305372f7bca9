//! deploy/prometheus and deploy/grafana agree with the bridge (issue 18): the rules pass
//! `promtool check rules`, every alert fires on a synthetic series and stays silent on a
//! healthy one (`promtool test rules`), the PrometheusRule holds the same rules, every alert
//! links a runbook entry that exists, every series the rules and the dashboard name is
//! exported by a running bridge, and a real Prometheus scraping a real bridge sees "Kafka not
//! draining" fire during a broker outage and resolve after it. promtool and prometheus come
//! from Debian's `prometheus` package (scripts/install-deps.sh); missing is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

#[path = "monitoring/prometheus.rs"]
mod prometheus;
#[path = "monitoring/rules.rs"]
mod rules;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub const RULES: &str = "deploy/prometheus/alerts.yml";
pub const DASHBOARD: &str = "deploy/grafana/tencent-kafka-bridge.json";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every alerting rule of the rule file.
fn alerts() -> Vec<Value> {
    yaml(RULES)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .filter(|r| r["alert"].is_string())
        .collect()
}

/// A tool from Debian's `prometheus` package.
fn tool(name: &str) -> std::process::Command {
    let path = ["/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{name} not found: scripts/install-deps.sh installs Debian's prometheus package")
        });
    std::process::Command::new(path)
}
