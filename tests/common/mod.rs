//! Shared helpers for the integration tests: a real tansu broker, the real bridge binary, a
//! small HTTP client and a real Kafka consumer. Every wait has a deadline; none sleeps blindly.
#![allow(dead_code)]

pub mod bridge;
pub mod broker;
pub mod consume;
pub mod events;
pub mod http;
pub mod proxy;
pub mod samples;
pub mod spool;
pub mod tls;
pub mod tokens;
pub mod tool;

use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Checks a record value against the project's JSON Schema for its family.
pub fn assert_schema(family: &str, value: &serde_json::Value) {
    let path = format!("{}/schemas/{family}.json", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{family} record fails {path}: {errors:?}\n{value:#}"
    );
}
