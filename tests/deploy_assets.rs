//! The deployment assets in `deploy/` agree with the bridge as built, not with copies of its
//! defaults: configs are judged by the real `check-config`, the Kubernetes probes are sent to a
//! real bridge started from the manifest's own ConfigMap, the systemd unit's ExecStart flags are
//! parsed by the binary and the unit by `systemd-analyze verify` when the machine has it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

#[path = "deploy_assets/bridge_config.rs"]
mod bridge_config;
#[path = "deploy_assets/dockerfile.rs"]
mod dockerfile;
#[path = "deploy_assets/kubernetes.rs"]
mod kubernetes;
#[path = "deploy_assets/manifest.rs"]
mod manifest;
#[path = "deploy_assets/systemd.rs"]
mod systemd;

use std::path::{Path, PathBuf};

/// A path in the repository.
fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}
