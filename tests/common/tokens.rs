//! Token files as an operator changes them (a Kubernetes secret's update, an edit in place),
//! the bridge's token series read from /metrics, and a flow of signed callbacks (issue 26).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bridge::{Bridge, APP_ID};
use super::http::{get_text_blocking, post};
use super::samples::{live, query};

pub const LIVE: &str = "Live.CallbackAfterMemberStateChanged";

/// A directory laid out as kubelet mounts a secret: `token -> ..data/token`, `..data -> ..vN`.
/// Each [`Secret::publish`] is kubelet's update: a new `..vN`, then `..data` renamed over.
pub struct Secret {
    dir: tempfile::TempDir,
    version: u32,
}

impl Secret {
    pub fn new(text: &str) -> Secret {
        let mut s = Secret {
            dir: tempfile::tempdir().unwrap(),
            version: 0,
        };
        s.publish(text);
        std::os::unix::fs::symlink("..data/token", s.path()).unwrap();
        s
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    pub fn publish(&mut self, text: &str) {
        self.version += 1;
        let d = self.dir.path();
        let version = format!("..v{}", self.version);
        std::fs::create_dir(d.join(&version)).unwrap();
        std::fs::write(d.join(&version).join("token"), text).unwrap();
        std::os::unix::fs::symlink(&version, d.join("..data_tmp")).unwrap();
        std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    }
}

/// The value of the first sample of `name` whose labels contain each of `labels`.
pub fn metric(bridge: &Bridge, name: &str, labels: &[&str]) -> Option<f64> {
    let text = get_text_blocking(&bridge.admin_addr(), "/metrics")?;
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Polls `check` every 50 ms until it holds; fails after `timeout`.
pub async fn until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the file at `path` was taken in `n` times in all and is not failing.
pub async fn reloaded(bridge: &Bridge, path: &Path, n: f64) {
    let label = format!("path=\"{}\"", path.display());
    until(&format!("reload {n} of {label}"), Duration::from_secs(20), || {
        let reloads = metric(bridge, "tencent_bridge_auth_token_file_reloads_total", &[&label]);
        let failing = metric(bridge, "tencent_bridge_auth_token_file_failing", &[&label]);
        reloads == Some(n) && failing == Some(0.0)
    })
    .await;
}

/// Signed callbacks sent one after another with whatever token `token` holds at the time.
pub struct Flow {
    token: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<(String, String, u16)>>,
}

impl Flow {
    pub fn start(addr: String, token: &str) -> Flow {
        let token = Arc::new(Mutex::new(token.to_owned()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s) = (token.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut i = 0;
            while !s.load(Ordering::Relaxed) && i < 100_000 {
                i += 1;
                let token = t.lock().unwrap().clone();
                let marker = format!("flow-{i}");
                let q = query("/callback", APP_ID, LIVE, Some(&token));
                let a = post(&addr, &q, live("rot", "Online", "Enter", &marker)).await;
                sent.push((marker, token, a.status));
                tokio::time::sleep(Duration::from_millis(20)).await; // pacing, not a wait
            }
            sent
        });
        Flow { token, stop, task }
    }

    pub fn sign_with(&self, token: &str) {
        *self.token.lock().unwrap() = token.to_owned();
    }

    pub async fn stop(self) -> Vec<(String, String, u16)> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// The status of one Live callback for `app` signed with `token`.
pub async fn status(bridge: &Bridge, app: &str, token: &str, marker: &str) -> u16 {
    let q = query("/callback", app, LIVE, Some(token));
    post(&bridge.addr(), &q, live("rot", "Online", "Enter", marker))
        .await
        .status
}
