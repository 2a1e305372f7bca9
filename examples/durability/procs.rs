//! The processes of the durability run: tansu and the bridge, each killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{http, Settings, APP_ID};

const READY_WITHIN: Duration = Duration::from_secs(60);

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// A process killed (SIGKILL) and reaped on drop.
pub struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// tansu (memory engine) on its own port, advertising the proxy's, so every client reaches it
/// only through the proxy and a cut is a real outage.
pub fn start_tansu(s: &Settings, port: u16, advertised: u16) -> anyhow::Result<Owned> {
    let dir = s.work.join("tansu");
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("tansu.log"))?;
    let child = Command::new(&s.tansu_bin)
        .current_dir(&dir)
        .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args([
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{advertised}"),
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting tansu")?;
    let tansu = Owned(child);
    if !wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }) {
        bail!("tansu did not listen on {port} within 30 s");
    }
    for family in tencent_kafka_bridge::event::Family::ALL.map(|f| f.name()) {
        let out = Command::new(&s.tansu_bin)
            .current_dir(&dir)
            .args(["topic", "create", &format!("tencent.{family}")])
            .args([
                "--broker",
                &format!("tcp://127.0.0.1:{port}"),
                "--partitions",
                "3",
            ])
            .output()
            .context("tansu topic create")?;
        if !out.status.success() {
            bail!("tansu topic create: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    Ok(tansu)
}

/// The bridge in spool mode; every start appends to one log file.
pub struct Bridge {
    child: Option<Owned>,
    port: u16,
    /// /readyz and /metrics (`--admin-listen`).
    admin_port: u16,
    brokers: String,
    spool: PathBuf,
    pub log: PathBuf,
    bin: PathBuf,
}

impl Bridge {
    pub fn start(s: &Settings, brokers: String) -> anyhow::Result<Bridge> {
        let mut b = Bridge {
            child: None,
            port: free_port()?,
            admin_port: free_port()?,
            brokers,
            spool: s.work.join("spool"),
            log: s.work.join("bridge.log"),
            bin: s.bridge_bin.clone(),
        };
        b.restart()?;
        Ok(b)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the process on the same port and spool and waits for /readyz 200.
    pub fn restart(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new(&self.bin);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BRIDGE_")) {
            cmd.env_remove(k);
        }
        let child = cmd
            .args([
                "--listen",
                &self.addr(),
                "--admin-listen",
                &format!("127.0.0.1:{}", self.admin_port),
                "--brokers",
                &self.brokers,
                "--sdk-app-id",
                APP_ID,
            ])
            .args(["--delivery", "spool", "--spool-segment-bytes", "1MiB"])
            // The load is unsigned: durability is under test here, not authentication.
            .arg("--allow-unsigned")
            .arg("--spool-dir")
            .arg(&self.spool)
            // Short, so deliveries cut by the outage fail and must be re-sent from the spool.
            .args(["--kafka-property", "message.timeout.ms=10000"])
            .env("BRIDGE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting the bridge")?;
        self.child = Some(Owned(child));
        let admin = format!("127.0.0.1:{}", self.admin_port);
        if !wait_until(READY_WITHIN, || {
            http::get_blocking(&admin, "/readyz") == Some(200)
        }) {
            bail!(
                "the bridge was not ready within {READY_WITHIN:?}; see {}",
                self.log.display()
            );
        }
        Ok(started.elapsed())
    }

    /// SIGKILL: no flush, no cleanup, no goodbye.
    pub fn kill9(&mut self) {
        drop(self.child.take());
    }

    /// SIGTERM and wait: the graceful stop that publishes what it can.
    pub fn stop(&mut self) {
        if let Some(mut owned) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid has no memory effects.
            unsafe { libc::kill(owned.0.id() as i32, libc::SIGTERM) };
            let _ = wait_until(Duration::from_secs(40), || {
                matches!(owned.0.try_wait(), Ok(Some(_)))
            });
        }
    }
}
