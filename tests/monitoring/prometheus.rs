//! A real Prometheus (127.0.0.1 only, 1 s scrape and evaluation) scrapes a real bridge whose
//! broker goes away under load: "Kafka not draining" goes pending, then firing, in
//! Prometheus's own API, and resolves once the broker is back. The rule is the real one from
//! alerts.yml with two test-sized numbers: its threshold (300 s → 2 s) and its `for`
//! (2m → 3s), so the test takes seconds; everything else (the expression, the labels, the
//! series the bridge exports, the scrape) is what runs in production.

use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::bridge::{Bridge, APP_ID, TOKEN};
use crate::common::broker::Broker;
use crate::common::http::{raw_exchange, try_post};
use crate::common::samples::{live, query};
use crate::common::{free_port, wait_for};
use crate::{alerts, tool};

const ALERT: &str = "TencentBridgeKafkaNotDraining";
const LIVE: &str = "Live.CallbackAfterMemberStateChanged";

/// The real rule, with the test's threshold and `for`.
fn test_rule() -> Value {
    let mut rule = alerts()
        .into_iter()
        .find(|r| r["alert"] == ALERT)
        .expect("the Kafka not draining alert");
    let expr = rule["expr"].as_str().unwrap().to_owned();
    let short = expr.replace("> 300", "> 2");
    assert_ne!(short, expr, "the rule's threshold changed: update this test");
    rule["expr"] = short.into();
    rule["for"] = "3s".into();
    rule
}

struct Prometheus {
    addr: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let rules = serde_json::json!({ "groups": [{ "name": "test", "rules": [test_rule()] }] });
        std::fs::write(
            dir.path().join("rules.yml"),
            serde_norway::to_string(&rules).unwrap(),
        )
        .unwrap();
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: tencent-kafka-bridge\n    static_configs: [{{targets: ['{target}']}}]\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = tool("prometheus")
            .current_dir(dir.path())
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            addr,
            child,
            _dir: dir,
        };
        wait_for("prometheus to be ready", Duration::from_secs(30), || {
            p.get("/-/ready").map(|_| ())
        });
        p
    }

    /// The body of a 200 answer to `GET path`.
    fn get(&self, path: &str) -> Option<String> {
        std::net::TcpStream::connect(&self.addr).ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nhost: x\r\n\r\n");
        let out = raw_exchange(&self.addr, request.as_bytes());
        let (head, body) = out.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200").then(|| body.to_owned())
    }

    /// The alert's state in /api/v1/alerts: pending, firing, or none (inactive).
    fn state(&self) -> Option<String> {
        let body = self.get("/api/v1/alerts")?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let alerts = v["data"]["alerts"].as_array()?;
        let found = alerts.iter().find(|a| a["labels"]["alertname"] == ALERT);
        Some(
            found
                .map_or("inactive", |a| a["state"].as_str().unwrap_or("?"))
                .to_owned(),
        )
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Callbacks, one every 50 ms, until `stop` (at most 2000).
fn load(addr: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let q = query("/callback", APP_ID, LIVE, Some(TOKEN));
        let mut ok = 0;
        for i in 0..2000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let body = live(&format!("prom-{}", i % 8), "Online", "Enter", &format!("m-{i}"));
            if try_post(&addr, &q, body).await.is_ok_and(|a| a.status == 200) {
                ok += 1;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ok
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_fires_kafka_not_draining_during_an_outage_and_resolves_it() {
    let started = Instant::now();
    let (broker, proxy) = Broker::start_behind_proxy("tencent.");
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &[
            "--auth-token",
            TOKEN,
            // Deliveries cut by the outage fail and are re-sent soon after it.
            "--kafka-property",
            "message.timeout.ms=5000",
            "--kafka-property",
            "reconnect.backoff.max.ms=1000",
        ],
    );
    let prometheus = tokio::task::block_in_place(|| Prometheus::start(&bridge.admin_addr()));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = load(bridge.addr(), stop.clone());
    let state_is = |want: &'static [&'static str]| {
        let p = &prometheus;
        move || p.state().filter(|s| want.contains(&s.as_str()))
    };
    tokio::task::block_in_place(|| {
        wait_for("a scrape", Duration::from_secs(20), || {
            let body = prometheus.get("/api/v1/query?query=up")?;
            body.contains(r#""value":"#).then_some(())
        });
        assert_eq!(prometheus.state().as_deref(), Some("inactive"), "healthy: silent");
    });

    proxy.cut();
    let window = Duration::from_secs(30);
    let pending = tokio::task::block_in_place(|| {
        wait_for(
            "the alert pending or firing",
            window,
            state_is(&["pending", "firing"]),
        )
    });
    eprintln!("{ALERT}: {pending} after {:?}", started.elapsed());
    tokio::task::block_in_place(|| wait_for("the alert firing", window, state_is(&["firing"])));
    eprintln!("{ALERT}: firing after {:?}", started.elapsed());

    proxy.restore();
    tokio::task::block_in_place(|| {
        wait_for(
            "the alert resolved",
            Duration::from_secs(45),
            state_is(&["inactive"]),
        )
    });
    eprintln!("{ALERT}: resolved after {:?}", started.elapsed());
    stop.store(true, Ordering::Relaxed);
    let acked = traffic.await.unwrap();
    assert!(acked > 0, "the load was answered");
}
