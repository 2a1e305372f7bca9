//! The binary's own judgement of a config file (`check-config`), the effective values it
//! prints, and a real bridge started from a file. The other checks compare the deploy assets
//! to these, never to copies of the defaults.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::common::{free_port, http::get_blocking, wait_for};
use crate::{read, repo};

/// Written to the test's token and password files; must never appear in any output.
pub const TOKEN_TEXT: &str = "deploy-assets-test-token-7f3a";
pub const PASSWORD_TEXT: &str = "deploy-assets-test-password-91c2";

/// The binary, without the caller's BRIDGE_* variables (the environment beats the file).
pub fn bridge_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BRIDGE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The files a config names that exist only on a real host (the Secret mounts), as temp files.
pub struct HostFiles {
    pub dir: tempfile::TempDir,
}

impl HostFiles {
    pub fn new() -> HostFiles {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), format!("{TOKEN_TEXT}\n")).expect("token file");
        std::fs::write(dir.path().join("password"), PASSWORD_TEXT).expect("password file");
        std::fs::write(dir.path().join("trtc-key"), format!("{TOKEN_TEXT}\n")).expect("TRTC key file");
        HostFiles { dir }
    }

    pub fn token(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    pub fn password(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    /// `--auth-token-file <temp token> --trtc-key-file <temp key>`: flags beat the file's
    /// host paths.
    pub fn token_flag(&self) -> Vec<OsString> {
        vec![
            "--auth-token-file".into(),
            self.token().into(),
            "--trtc-key-file".into(),
            self.dir.path().join("trtc-key").into(),
        ]
    }
}

pub fn run_check_config(args: &[OsString]) -> Output {
    bridge_command()
        .arg("check-config")
        .args(args)
        .output()
        .expect("run tencent-kafka-bridge check-config")
}

/// The configuration the bridge would run with, as `check-config` printed it.
pub struct Effective {
    pub table: toml::Table,
}

impl Effective {
    pub fn str(&self, key: &str) -> &str {
        self.table
            .get(key)
            .and_then(toml::Value::as_str)
            .unwrap_or_else(|| panic!("check-config printed no string `{key}`"))
    }

    pub fn listen(&self) -> SocketAddr {
        self.str("listen").parse().expect("effective listen is host:port")
    }

    pub fn admin_listen(&self) -> SocketAddr {
        self.str("admin-listen")
            .parse()
            .expect("effective admin-listen is host:port")
    }

    /// Callbacks must be signed: a token was read (and redacted) and `allow-unsigned` is off
    /// (issue 14: the deploy assets never run unsigned).
    pub fn checks_signatures(&self) -> bool {
        self.table.get("auth-token").and_then(toml::Value::as_str) == Some("<redacted>")
            && self.table.get("allow-unsigned").and_then(toml::Value::as_bool) == Some(false)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        humantime::parse_duration(self.str("shutdown-timeout")).expect("effective shutdown-timeout")
    }
}

/// `check-config --config FILE` + `extra` must exit 0 without printing a secret; its output
/// is the effective configuration.
pub fn effective(what: &str, file: &Path, extra: &[OsString]) -> Effective {
    let mut args: Vec<OsString> = vec!["--config".into(), file.into()];
    args.extend_from_slice(extra);
    let out = run_check_config(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-config --config {what} should exit 0\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for secret in [TOKEN_TEXT, PASSWORD_TEXT] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "check-config printed a secret (must be redacted)\n{stdout}\n{stderr}"
        );
    }
    let table = stdout
        .parse()
        .unwrap_or_else(|e| panic!("check-config output is not TOML: {e}\n{stdout}"));
    Effective { table }
}

/// The real bridge started from a config file, on a free local port, Kafka unreachable.
pub struct RunningBridge {
    pub addr: String,
    /// The admin listener (/healthz, /readyz, /metrics).
    pub admin_addr: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl RunningBridge {
    /// `--config FILE`, then flags for what only exists on a host: the listen addresses, the
    /// spool dir, the broker (a port nobody listens on) and `extra`.
    pub fn start(file: &Path, extra: &[OsString]) -> RunningBridge {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("bridge.log");
        let addr = format!("127.0.0.1:{}", free_port());
        let admin_addr = format!("127.0.0.1:{}", free_port());
        let child = bridge_command()
            .arg("--config")
            .arg(file)
            .args(["--listen", &addr])
            .args(["--admin-listen", &admin_addr])
            .arg("--spool-dir")
            .arg(dir.path().join("spool"))
            .args(["--brokers", &format!("127.0.0.1:{}", free_port())])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start the bridge");
        RunningBridge {
            addr,
            admin_addr,
            child,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The status of `GET path` on the admin port once the bridge answers HTTP at all; fails
    /// if it exits first.
    pub fn get(&mut self, path: &str) -> u16 {
        let addr = self.admin_addr.clone();
        self.get_from(addr, path)
    }

    /// The same on the callback port.
    pub fn get_public(&mut self, path: &str) -> u16 {
        let addr = self.addr.clone();
        self.get_from(addr, path)
    }

    fn get_from(&mut self, addr: String, path: &str) -> u16 {
        let log = self.log.clone();
        let child = &mut self.child;
        wait_for(
            &format!("the bridge to answer GET {path}"),
            Duration::from_secs(30),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("the bridge exited ({status}) before serving HTTP:\n{log}");
                }
                get_blocking(&addr, path)
            },
        )
    }
}

impl Drop for RunningBridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the example config ----------------------------------------------------------------------

const EXAMPLE: &str = "deploy/bridge.example.toml";

/// `"1GiB"` → bytes, as the bridge reads sizes.
fn size(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let shift = match unit.trim() {
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => return None,
    };
    n.parse::<i64>().ok().map(|n| n << shift)
}

/// The file's value and the effective one mean the same (durations and sizes are printed
/// normalized: `300s` → `5m`, `1GiB` → 1073741824).
fn same(file: &toml::Value, effective: &toml::Value) -> bool {
    if file == effective {
        return true;
    }
    let (Some(f), e) = (file.as_str(), effective) else {
        return false;
    };
    match e {
        toml::Value::String(e) => humantime::parse_duration(f)
            .ok()
            .is_some_and(|f| humantime::parse_duration(e).ok() == Some(f)),
        toml::Value::Integer(e) => size(f) == Some(*e),
        _ => false,
    }
}

/// Every key of the example is a flag the binary takes, and every value is the one it runs with.
#[test]
fn example_config_passes_check_config_with_every_value_in_effect() {
    let host = HostFiles::new();
    let eff = effective(EXAMPLE, &repo(EXAMPLE), &host.token_flag());
    let file: toml::Table = read(EXAMPLE).parse().expect("the example is TOML");
    assert!(file.len() >= 10, "the example shows the main keys: {file:?}");
    assert!(
        eff.checks_signatures(),
        "the example runs signed: {:?}",
        eff.table
    );
    for (key, value) in &file {
        if key == "auth-token-file" {
            assert_eq!(
                eff.str("auth-token"),
                "<redacted>",
                "the token is read and redacted"
            );
            continue;
        }
        let got = eff
            .table
            .get(key)
            .unwrap_or_else(|| panic!("`{key}` from the example is not in check-config's output"));
        assert!(
            same(value, got),
            "`{key}`: the example says {value}, the bridge runs with {got}"
        );
    }
}

/// check-config can fail: a misspelt key exits 2 and names the key and its line, which is what
/// the systemd unit's RestartPreventExitStatus=2 and the docs rely on.
#[test]
fn a_misspelt_key_exits_2_with_its_name_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    // First, so that it is a top-level key and not one of a table's.
    let text = format!("shutdown-timout = \"10s\"\n{}", read(EXAMPLE));
    let line = 1;
    let file = dir.path().join("bridge.toml");
    std::fs::write(&file, &text).expect("write config");
    let host = HostFiles::new();
    let mut args: Vec<OsString> = vec!["--config".into(), file.into()];
    args.extend(host.token_flag());
    let out = run_check_config(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("shutdown-timout") && stderr.contains(&format!(":{line}:")),
        "the error names the key and line {line}: {stderr}"
    );
}

/// The example with its commented TLS + SASL/SCRAM block switched on, and the password file
/// given by flag (flags replace the file's list).
fn example_with_sasl(dir: &Path, host: &HostFiles) -> (PathBuf, Vec<OsString>) {
    let text = read(EXAMPLE);
    let start = text.find("# TLS + SASL").expect("a commented TLS/SASL example");
    let uncommented: String = text[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with('"') || l.starts_with('['))
        .map(|l| format!("{l}\n"))
        .collect();
    // The example ends inside [kafka-property]: the block's properties join that table.
    let file = dir.join("bridge.toml");
    std::fs::write(&file, format!("{text}\n{uncommented}")).expect("write config");
    let mut flags = host.token_flag();
    flags.push("--kafka-secret-file".into());
    let mut secret = OsString::from("sasl.password=");
    secret.push(host.password());
    flags.push(secret);
    (file, flags)
}

#[test]
fn example_tls_sasl_block_passes_check_config_once_uncommented() {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = HostFiles::new();
    let (file, flags) = example_with_sasl(dir.path(), &host);
    let eff = effective("the example with TLS/SASL on", &file, &flags);
    let props = eff.table["kafka-property"].as_table().expect("[kafka-property]");
    assert_eq!(props["security.protocol"].as_str(), Some("SASL_SSL"));
    assert!(props["sasl.mechanism"]
        .as_str()
        .is_some_and(|m| m.starts_with("SCRAM-")));
    assert!(props.contains_key("sasl.username") && props.contains_key("ssl.ca.location"));
    assert_eq!(
        props["sasl.password"].as_str(),
        Some("<redacted>"),
        "read from the file"
    );
}

/// "Nothing to rebuild": the documented TLS + SASL/SCRAM properties are accepted by the
/// producer of the bridge as built (librdkafka refuses them at start when built without
/// OpenSSL). Kafka is unreachable here, so this proves the configuration, not a handshake.
#[test]
fn example_tls_sasl_block_is_accepted_by_the_bridge_as_built() {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = HostFiles::new();
    let (file, flags) = example_with_sasl(dir.path(), &host);
    let eff = effective("the example with TLS/SASL on", &file, &flags);
    let ca = eff.table["kafka-property"]["ssl.ca.location"]
        .as_str()
        .expect("ssl.ca.location");
    assert!(
        Path::new(ca).exists(),
        "the example's ssl.ca.location {ca} is missing here: install the ca-certificates package"
    );
    let mut bridge = RunningBridge::start(&file, &flags);
    let status = bridge.get("/healthz");
    assert_eq!(status, 200, "log:\n{}", bridge.log());
}
