//! The real bridge binary, started with test flags, stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{free_port, wait_for};

pub const APP_ID: &str = "1400000001";
pub const TOKEN: &str = "test-token-Ω";

pub struct Bridge {
    pub port: u16,
    /// The admin listener: /metrics, /healthz, /readyz.
    pub admin_port: u16,
    child: Option<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bridge {
    /// Starts the bridge against `brokers` with `args` appended, and waits until /readyz is 200.
    pub fn start(brokers: &str, args: &[&str]) -> Bridge {
        let bridge = Self::spawn(brokers, args);
        bridge.wait_ready();
        bridge
    }

    /// Starts without waiting for readiness.
    pub fn spawn(brokers: &str, args: &[&str]) -> Bridge {
        Self::spawn_at(brokers, free_port(), args)
    }

    /// Starts on a given port without waiting (a restarted bridge keeps its address).
    ///
    /// Like a real deployment the bridge checks signatures: `--auth-token TOKEN` is added
    /// unless `args` give a token or `--allow-unsigned` (tests that send unsigned callbacks).
    pub fn spawn_at(brokers: &str, port: u16, args: &[&str]) -> Bridge {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("bridge.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BRIDGE_") {
                cmd.env_remove(k);
            }
        }
        let admin_port = free_port();
        // The default spool dir (`spool`, relative) lands in this temp dir.
        let child = cmd
            .current_dir(dir.path())
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--admin-listen",
                &format!("127.0.0.1:{admin_port}"),
                "--brokers",
                brokers,
                "--sdk-app-id",
                APP_ID,
            ])
            .args(["--kafka-property", "message.timeout.ms=20000"])
            .args(auth_args(args))
            .args(args)
            .env(
                "BRIDGE_LOG",
                std::env::var("TEST_BRIDGE_LOG").unwrap_or("info".into()),
            )
            // Spool mode (the default) gets a private spool unless `--spool-dir` is given, so
            // bridges never share (and lock) one directory by accident.
            .env("BRIDGE_SPOOL_DIR", dir.path().join("spool"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start bridge");
        Bridge {
            port,
            admin_port,
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where /metrics, /healthz and /readyz are served.
    pub fn admin_addr(&self) -> String {
        format!("127.0.0.1:{}", self.admin_port)
    }

    pub fn wait_ready(&self) {
        wait_for(
            &format!("bridge /readyz (log: {})", self.log()),
            Duration::from_secs(60),
            || {
                let status = super::http::get_blocking(&self.admin_addr(), "/readyz")?;
                (status == 200).then_some(())
            },
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for the process to exit (after a signal) and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("running");
        let status = wait_for("bridge to exit", timeout, || child.try_wait().ok().flatten());
        self.child = None;
        status
    }
}

impl Bridge {
    /// `--delivery spool --spool-dir <dir>` then `args`, on `port`; waits for /readyz.
    pub fn start_spool(brokers: &str, port: u16, dir: &Path, args: &[&str]) -> Bridge {
        let bridge = Self::spawn_spool(brokers, port, dir, args);
        bridge.wait_ready();
        bridge
    }

    pub fn spawn_spool(brokers: &str, port: u16, dir: &Path, args: &[&str]) -> Bridge {
        let dir = dir.to_str().expect("UTF-8 spool dir");
        let mut all = vec!["--delivery", "spool", "--spool-dir", dir];
        all.extend_from_slice(args);
        Self::spawn_at(brokers, port, &all)
    }

    /// SIGKILL, and reaps the process: a crash with no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The exit status if the process ended within `timeout`.
    pub fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `--auth-token TOKEN`, unless `args` already say how callbacks are authenticated.
fn auth_args(args: &[&str]) -> &'static [&'static str] {
    let says = |a: &&str| a.starts_with("--auth-token") || *a == "--allow-unsigned";
    if args.iter().any(says) {
        &[]
    } else {
        &["--auth-token", TOKEN]
    }
}

/// Runs the binary to completion with `args` (for config checks).
pub fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BRIDGE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run bridge")
}
