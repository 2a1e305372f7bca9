//! `deploy/systemd/tencent-kafka-bridge.service`: its ExecStart is a command line the binary
//! accepts, with the example config; it is hardened and waits longer than the bridge drains;
//! and `systemd-analyze verify` finds nothing to say about it, when the machine has that tool.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::process::Command;
use std::time::Duration;

use crate::bridge_config::{effective, Effective, TOKEN_TEXT};
use crate::{read, repo};

const UNIT: &str = "deploy/systemd/tencent-kafka-bridge.service";
const UNIT_BINARY: &str = "/usr/local/bin/tencent-kafka-bridge";
/// Where the unit's install comment puts deploy/bridge.example.toml.
const UNIT_CONFIG: &str = "/etc/tencent-kafka-bridge/bridge.toml";

type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A unit as sections → key → values (repeatable keys keep every value), with `\` line
/// continuations joined. Fails on anything that is not INI.
fn parse_unit(text: &str) -> Unit {
    let mut sections = Unit::new();
    let mut current: Option<String> = None;
    let mut pending = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let line = format!("{pending}{line}");
        pending.clear();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("unit line {}: not KEY=VALUE: {raw}", n + 1));
        let section = current
            .clone()
            .unwrap_or_else(|| panic!("unit line {}: outside any section", n + 1));
        let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
        sections
            .entry(section)
            .or_default()
            .entry(k.trim().to_owned())
            .or_default()
            .push(value);
    }
    assert!(pending.is_empty(), "unit ends inside a line continuation");
    sections
}

/// The `[Service]` section: `one(k)` is the value in effect, `all(k)` every value given.
struct Service<'a>(&'a BTreeMap<String, Vec<String>>);

impl Service<'_> {
    fn one(&self, k: &str) -> &str {
        let v = self.0.get(k).unwrap_or_else(|| panic!("[Service] {k}= missing"));
        v.last().expect("a value")
    }

    fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .get(k)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

/// The unit's ExecStart run as `check-config`, with the paths systemd would fill in
/// (`%d` the credentials directory, `%S` the state root) pointed at temp dirs and the config at
/// deploy/bridge.example.toml, as the unit's install comment copies it.
fn exec_start_effective(service: &Service<'_>) -> (Effective, tempfile::TempDir) {
    let exec = service.one("ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(
        words.next(),
        Some(UNIT_BINARY),
        "ExecStart runs {UNIT_BINARY}: {exec}"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let (creds, state) = (tmp.path().join("credentials"), tmp.path().join("state"));
    std::fs::create_dir_all(&creds).expect("credentials dir");
    for cred in service.all("LoadCredential") {
        let (name, _) = cred.split_once(':').expect("LoadCredential=NAME:PATH");
        std::fs::write(creds.join(name), format!("{TOKEN_TEXT}\n")).expect("credential");
    }
    let mut flags: Vec<OsString> = Vec::new();
    for word in words {
        let word = if word == UNIT_CONFIG {
            repo("deploy/bridge.example.toml").into_os_string()
        } else if let Some(rest) = word.strip_prefix("%d/") {
            creds.join(rest).into_os_string()
        } else if let Some(rest) = word.strip_prefix("%S/") {
            state.join(rest).into_os_string()
        } else {
            assert!(
                !word.contains('%'),
                "ExecStart specifier this test does not model: {word}"
            );
            OsString::from(word)
        };
        flags.push(word);
    }
    assert_eq!(
        flags.first().map(|f| f.as_os_str()),
        Some("--config".as_ref()),
        "{exec}"
    );
    let (config, rest) = (flags[1].clone(), flags.split_off(2));
    (effective("the unit's ExecStart", config.as_ref(), &rest), tmp)
}

/// Everything about the unit that does not need systemd.
fn check_unit_content() {
    let unit = parse_unit(&read(UNIT));
    assert!(
        unit.contains_key("Unit") && unit.contains_key("Install"),
        "[Unit] and [Install]"
    );
    let service = Service(unit.get("Service").expect("[Service]"));

    let (effective, state) = exec_start_effective(&service);
    assert_eq!(
        effective.str("auth-token"),
        "<redacted>",
        "the token is read from %d"
    );
    assert!(effective.checks_signatures(), "the unit runs signed");
    // Under ProtectSystem=strict only the StateDirectory is writable: the spool must be there.
    let state_dir = service.one("StateDirectory");
    let spool = effective.str("spool-dir");
    assert!(
        spool.starts_with(&*state.path().join("state").join(state_dir).to_string_lossy()),
        "the spool ({spool}) must be in the StateDirectory ({state_dir})"
    );
    let stop = humantime::parse_duration(service.one("TimeoutStopSec"))
        .or_else(|_| {
            service
                .one("TimeoutStopSec")
                .parse::<u64>()
                .map(Duration::from_secs)
        })
        .expect("TimeoutStopSec");
    let drain = effective.shutdown_timeout();
    assert!(
        stop > drain,
        "TimeoutStopSec {stop:?} must exceed shutdown-timeout {drain:?}"
    );

    assert!(
        service.all("DynamicUser") == ["yes"] || service.0.contains_key("User"),
        "a dynamic or dedicated user"
    );
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("Restart", "on-failure"),
        // check-config's (and the bridge's) exit code for a bad configuration.
        ("RestartPreventExitStatus", "2"),
    ] {
        assert_eq!(service.one(key), want, "[Service] {key}");
    }
    assert!(
        service.all("SystemCallFilter").contains(&"@system-service"),
        "SystemCallFilter=@system-service"
    );
    assert!(!service.one("MemoryMax").is_empty() && !service.one("LimitNOFILE").is_empty());
}

#[test]
fn systemd_unit_runs_the_example_config_hardened_and_drains_in_time() {
    check_unit_content();
}

/// `systemd-analyze verify` checks that ExecStart's binary exists, so a copy of the unit runs
/// the binary cargo built. It exits 0 on unknown keys and bad values (it only warns), so any
/// line about the unit is a failure too.
#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        // Straight to the process's stderr: the test harness would swallow eprintln! from a
        // passing test, and this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** systemd-analyze is not installed: `systemd-analyze verify` was NOT RUN. ***\n\
             *** Only the unit's content was checked. Install systemd to verify it.      ***\n"
        );
        check_unit_content();
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "tencent-kafka-bridge.service";
    let copy = dir.path().join(name);
    let text = read(UNIT).replace(UNIT_BINARY, env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    std::fs::write(&copy, text).expect("write unit copy");

    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(name) || l.contains(&*copy.to_string_lossy()))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify {UNIT} failed or warned (status {:?}):\n{stderr}",
        out.status
    );
    eprintln!("systemd-analyze verify {UNIT}: ok");
    exposure_stays_low(&copy);
}

/// The offline security report (systemd 250+): the sandbox keeps the exposure low.
fn exposure_stays_low(unit: &std::path::Path) {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(unit)
        .output()
        .expect("run systemd-analyze security");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.contains("Overall exposure level")) else {
        eprintln!(
            "systemd-analyze security --offline is not supported here (systemd < 250): exposure NOT scored\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    };
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unreadable exposure line: {line}"));
    eprintln!("systemd-analyze security: {}", line.trim());
    assert!(
        score <= 2.0,
        "the unit's exposure grew to {score} (was 1.5):\n{stdout}"
    );
}
