//! The deployment assets in `deploy/` agree with the bridge and with each other: the
//! Kubernetes manifest's probes, port, grace period and sandbox match its own `bridge.toml`;
//! the example config and the manifest's config pass `check-config`; the systemd unit passes
//! `systemd-analyze verify` (and is checked key by key either way).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The bridge's own defaults for keys a config may leave out (README, configuration table).
const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
const DEFAULT_SHUTDOWN_TIMEOUT: &str = "10s";

/// What the tests need from a `bridge.toml`.
struct BridgeToml {
    table: toml::Table,
}

impl BridgeToml {
    fn parse(what: &str, text: &str) -> BridgeToml {
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{what} is not TOML: {e}"));
        BridgeToml { table }
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.table.get(key).map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{key} must be a string, is {v}"))
        })
    }

    fn listen_port(&self) -> u16 {
        let listen: std::net::SocketAddr = self
            .str("listen")
            .unwrap_or(DEFAULT_LISTEN)
            .parse()
            .expect("listen is host:port");
        listen.port()
    }

    fn shutdown_timeout(&self) -> Duration {
        humantime::parse_duration(self.str("shutdown-timeout").unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT))
            .expect("shutdown-timeout is a duration")
    }
}

// ---- Kubernetes ------------------------------------------------------------------------------

/// Every document of the multi-document manifest, as JSON values.
fn manifest() -> Vec<Value> {
    let text = read("deploy/kubernetes/sidecar.yaml");
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("manifest document parses as YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect();
    for doc in &docs {
        assert!(
            doc["apiVersion"].is_string() && doc["kind"].is_string(),
            "not a Kubernetes object: {doc}"
        );
        assert!(
            doc["metadata"]["name"].is_string(),
            "object without a name: {doc}"
        );
    }
    docs
}

fn object<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind} in sidecar.yaml");
    found[0]
}

fn bridge_container(pod: &Value) -> &Value {
    pod["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| {
            c["args"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "--config"))
        })
        .expect("a container started with --config (the bridge)")
}

/// The value after `flag` in a container's args.
fn arg<'a>(container: &'a Value, flag: &str) -> Option<&'a str> {
    let args = container["args"].as_array()?;
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1)?.as_str()
}

/// The container port a probe or Service targets, by name or number.
fn resolve_port(container: &Value, port: &Value) -> u16 {
    if let Some(n) = port.as_u64() {
        return u16::try_from(n).expect("port fits u16");
    }
    let name = port.as_str().expect("port is a name or a number");
    let p = container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no container port named {name:?}"));
    u16::try_from(p["containerPort"].as_u64().expect("containerPort")).expect("port fits u16")
}

/// The volume mounted at the longest mount path that contains `file`, and the path inside it.
fn volume_for<'a>(pod: &'a Value, container: &Value, file: &str) -> (&'a Value, String, bool) {
    let mount = container["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .filter(|m| {
            let at = m["mountPath"].as_str().unwrap_or("");
            file == at || file.starts_with(&format!("{}/", at.trim_end_matches('/')))
        })
        .max_by_key(|m| m["mountPath"].as_str().unwrap_or("").len())
        .unwrap_or_else(|| panic!("{file} is on no volume of the bridge container"));
    let at = mount["mountPath"]
        .as_str()
        .expect("mountPath")
        .trim_end_matches('/');
    let inside = file[at.len()..].trim_start_matches('/').to_owned();
    let name = &mount["name"];
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == *name)
        .unwrap_or_else(|| panic!("volume {name} is mounted but not declared"));
    (volume, inside, mount["readOnly"] == true)
}

/// The file `inside` a configMap/secret volume: the item key it is projected from.
fn projected_key(volume: &Value, inside: &str) -> String {
    match volume["items"].as_array() {
        Some(items) => items
            .iter()
            .find(|i| i["path"] == inside)
            .and_then(|i| i["key"].as_str())
            .unwrap_or_else(|| panic!("no item projects {inside:?} in {volume}"))
            .to_owned(),
        None => inside.to_owned(),
    }
}

#[test]
fn kubernetes_manifest_matches_its_bridge_config() {
    let docs = manifest();
    let config_map = object(&docs, "ConfigMap");
    let secret = object(&docs, "Secret");
    let deployment = object(&docs, "Deployment");
    let service = object(&docs, "Service");
    assert_eq!(deployment["apiVersion"], "apps/v1");

    let pod = &deployment["spec"]["template"]["spec"];
    assert!(
        pod["containers"].as_array().expect("containers").len() >= 2,
        "an app container plus the bridge"
    );
    let bridge = bridge_container(pod);

    // --config points at bridge.toml from the ConfigMap, which parses and names the port.
    let config_path = arg(bridge, "--config").expect("--config FILE");
    let (config_volume, inside, read_only) = volume_for(pod, bridge, config_path);
    assert!(read_only, "the config mount should be readOnly");
    assert_eq!(
        config_volume["configMap"]["name"], config_map["metadata"]["name"],
        "--config comes from the ConfigMap"
    );
    let key = projected_key(&config_volume["configMap"], &inside);
    let toml_text = config_map["data"][&key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap has no data key {key:?}"));
    let config = BridgeToml::parse("the ConfigMap's bridge.toml", toml_text);
    let port = config.listen_port();
    assert_eq!(port, 8080, "the documented port");

    // The container port named `callback` is the listen port; both probes hit it.
    assert_eq!(
        resolve_port(bridge, &Value::from("callback")),
        port,
        "container port `callback` = listen port"
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &bridge[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe} path");
        assert_eq!(
            resolve_port(bridge, &get["port"]),
            port,
            "{probe} port = listen port {port}"
        );
    }

    // The Service exposes the callback port of these pods.
    let service_port = service["spec"]["ports"]
        .as_array()
        .expect("Service ports")
        .iter()
        .find(|p| p["name"] == "callback")
        .expect("a Service port named callback");
    assert_eq!(
        resolve_port(bridge, &service_port["targetPort"]),
        port,
        "Service targetPort"
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().expect("Service selector") {
        assert_eq!(&labels[k], v, "Service selector {k} must match the pod labels");
    }
    for (k, v) in deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(&labels[k], v, "Deployment selector {k} must match the pod labels");
    }

    // Kubernetes waits longer than the bridge needs to drain (after any preStop pause).
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pre_stop = bridge["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let needed = config.shutdown_timeout() + Duration::from_secs(pre_stop);
    assert!(
        Duration::from_secs(grace) > needed,
        "terminationGracePeriodSeconds {grace}s must exceed preStop {pre_stop}s + shutdown-timeout {:?}",
        config.shutdown_timeout()
    );

    // Sandbox: non-root, read-only root, no privilege escalation, no capabilities.
    let sc = &bridge["securityContext"];
    let pod_sc = &pod["securityContext"];
    let either = |k: &str| if sc[k].is_null() { &pod_sc[k] } else { &sc[k] };
    assert_eq!(*either("runAsNonRoot"), true, "runAsNonRoot");
    assert_eq!(*either("runAsUser"), 65532, "runAsUser");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "readOnlyRootFilesystem");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "allowPrivilegeEscalation");
    assert_eq!(
        sc["capabilities"]["drop"],
        serde_json::json!(["ALL"]),
        "drop ALL capabilities"
    );

    // Resources: requests and a memory limit.
    let res = &bridge["resources"];
    assert!(
        res["requests"]["memory"].is_string() && res["requests"]["cpu"].is_string(),
        "requests: {res}"
    );
    assert!(res["limits"]["memory"].is_string(), "a memory limit: {res}");

    // The token is a file from the Secret, under the key the Secret defines.
    let token_file = config
        .str("auth-token-file")
        .expect("auth-token-file in bridge.toml");
    let (token_volume, inside, read_only) = volume_for(pod, bridge, token_file);
    assert!(read_only, "the token mount should be readOnly");
    assert_eq!(
        token_volume["secret"]["secretName"], secret["metadata"]["name"],
        "auth-token-file comes from the Secret"
    );
    let key = projected_key(&token_volume["secret"], &inside);
    assert!(
        secret["stringData"].get(&key).is_some() || secret["data"].get(&key).is_some(),
        "the Secret has no key {key:?}"
    );
    assert!(
        config.table.get("auth-token").is_none(),
        "no token in the ConfigMap"
    );

    // The spool is on a writable volume (the root filesystem is read-only).
    let spool = config.str("spool-dir").expect("spool-dir in bridge.toml");
    assert!(
        spool.starts_with('/'),
        "spool-dir should be absolute in a container: {spool}"
    );
    let (spool_volume, _, read_only) = volume_for(pod, bridge, spool);
    assert!(!read_only, "the spool volume must be writable");
    assert!(
        spool_volume["configMap"].is_null() && spool_volume["secret"].is_null(),
        "spool on a data volume"
    );
    let text = read("deploy/kubernetes/sidecar.yaml");
    for survives in [
        "emptyDir",
        "PersistentVolumeClaim",
        "hostPath",
        "volumeClaimTemplates",
    ] {
        assert!(
            text.contains(survives),
            "the spool comment should explain {survives}"
        );
    }
}

// ---- check-config ----------------------------------------------------------------------------

const TOKEN_TEXT: &str = "deploy-assets-test-token-7f3a";

/// `tencent-kafka-bridge check-config --config FILE`, with the paths that only exist on a
/// real host (token file, spool dir) pointed at temp files by flags: flags beat the file.
fn check_config(file: &Path) -> (Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let token = tmp.path().join("token");
    std::fs::write(&token, format!("{TOKEN_TEXT}\n")).expect("token file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BRIDGE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .arg("check-config")
        .arg("--config")
        .arg(file)
        .arg("--auth-token-file")
        .arg(&token)
        .arg("--spool-dir")
        .arg(tmp.path().join("spool"))
        .output()
        .expect("run tencent-kafka-bridge check-config");
    (out, tmp)
}

fn assert_check_config_ok(what: &str, file: &Path, expect_in_output: &[&str]) {
    let (out, _tmp) = check_config(file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-config --config {what} should exit 0\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for text in expect_in_output {
        assert!(
            stdout.contains(text),
            "check-config should print the effective {text:?}\nstdout:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains(TOKEN_TEXT) && !stderr.contains(TOKEN_TEXT),
        "check-config printed the auth token (secrets must be redacted)\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn example_config_passes_check_config() {
    let file = repo("deploy/bridge.example.toml");
    let config = BridgeToml::parse("deploy/bridge.example.toml", &read("deploy/bridge.example.toml"));
    assert_eq!(config.listen_port(), 8080);
    assert_check_config_ok("deploy/bridge.example.toml", &file, &["kafka:9092", "1400000000"]);
}

#[test]
fn kubernetes_config_map_passes_check_config() {
    let docs = manifest();
    let toml_text = object(&docs, "ConfigMap")["data"]["bridge.toml"]
        .as_str()
        .expect("bridge.toml in the ConfigMap");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bridge.toml");
    std::fs::write(&file, toml_text).expect("write bridge.toml");
    assert_check_config_ok("the ConfigMap's bridge.toml", &file, &["1400000000"]);
}

/// The commented-out TLS/SASL block, uncommented, is valid TOML with the keys it promises: a
/// typo there would only show up on the day someone needs it.
#[test]
fn example_config_sasl_block_is_valid_once_uncommented() {
    let text = read("deploy/bridge.example.toml");
    let start = text.find("# TLS + SASL").expect("a commented TLS/SASL example");
    let uncommented: String = text[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with('"') || l.starts_with('['))
        .map(|l| format!("{l}\n"))
        .collect();
    let table: toml::Table = format!("[kafka-property]\n{uncommented}")
        .parse()
        .unwrap_or_else(|e| panic!("the SASL example is not TOML once uncommented: {e}\n{uncommented}"));
    let props = table["kafka-property"].as_table().expect("kafka-property table");
    assert_eq!(props["security.protocol"].as_str(), Some("SASL_SSL"));
    assert!(props.contains_key("sasl.mechanism") && props.contains_key("sasl.username"));
    assert!(
        !props.contains_key("sasl.password"),
        "the password belongs in a secret file, not the config"
    );
    let secrets = table["kafka-secret-file"]
        .as_table()
        .expect("kafka-secret-file table");
    assert!(secrets.contains_key("sasl.password"));
}

// ---- systemd ---------------------------------------------------------------------------------

/// A systemd unit as sections → key → values (repeatable keys keep every value), with `\`
/// line continuations joined. Fails on anything that is not INI.
fn parse_unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
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

const UNIT: &str = "deploy/systemd/tencent-kafka-bridge.service";
const UNIT_BINARY: &str = "/usr/local/bin/tencent-kafka-bridge";

#[test]
fn systemd_unit_has_the_hardening_and_the_right_paths() {
    let unit = parse_unit(&read(UNIT));
    let service = unit.get("Service").expect("[Service]");
    assert!(
        unit.contains_key("Unit") && unit.contains_key("Install"),
        "[Unit] and [Install]"
    );
    let one = |k: &str| -> &str {
        let v = service.get(k).unwrap_or_else(|| panic!("[Service] {k}= missing"));
        v.last().expect("a value")
    };
    let all = |k: &str| -> Vec<&str> {
        service
            .get(k)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };

    let exec = one("ExecStart");
    assert!(
        exec.starts_with(UNIT_BINARY),
        "ExecStart runs {UNIT_BINARY}: {exec}"
    );
    assert!(
        exec.contains("--config /etc/tencent-kafka-bridge/bridge.toml"),
        "ExecStart --config: {exec}"
    );

    // The token comes from LoadCredential, read at $CREDENTIALS_DIRECTORY (%d).
    let credentials: Vec<&str> = all("LoadCredential");
    let token_cred = credentials
        .iter()
        .find_map(|c| c.split_once(':').map(|(name, _)| name))
        .expect("LoadCredential=NAME:PATH for the token");
    assert!(
        exec.contains(&format!("--auth-token-file %d/{token_cred}")),
        "ExecStart should read the token from %d/{token_cred}: {exec}"
    );

    // Identity and state: a dedicated/dynamic user, the spool in the StateDirectory.
    assert!(
        service
            .get("DynamicUser")
            .is_some_and(|v| v.last().is_some_and(|v| v == "yes"))
            || service.contains_key("User")
    );
    let state = one("StateDirectory");
    let spool_flag = exec
        .split(" --spool-dir ")
        .nth(1)
        .map(|s| s.split_whitespace().next().unwrap_or(""));
    let spool = spool_flag.unwrap_or("(from bridge.toml)");
    assert!(
        spool.starts_with(&format!("%S/{state}")) || spool.starts_with(&format!("/var/lib/{state}")),
        "the spool ({spool}) must be in the StateDirectory ({state}): nothing else is writable under ProtectSystem=strict"
    );

    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(one(key), want, "[Service] {key}");
    }
    assert!(
        all("SystemCallFilter").contains(&"@system-service"),
        "SystemCallFilter=@system-service"
    );
    assert!(!one("MemoryMax").is_empty() && !one("LimitNOFILE").is_empty());

    // systemd waits longer than the bridge's drain before SIGKILL.
    let stop = humantime::parse_duration(one("TimeoutStopSec"))
        .or_else(|_| one("TimeoutStopSec").parse::<u64>().map(Duration::from_secs))
        .expect("TimeoutStopSec");
    let config = BridgeToml::parse("deploy/bridge.example.toml", &read("deploy/bridge.example.toml"));
    assert!(
        stop > config.shutdown_timeout(),
        "TimeoutStopSec {stop:?} must exceed shutdown-timeout {:?}",
        config.shutdown_timeout()
    );
}

/// `systemd-analyze verify` when the machine has it. It checks that ExecStart's binary exists,
/// so the unit is verified as a copy running the binary cargo built; it exits 0 even on unknown
/// keys or bad values (it only warns), so any warning about the unit is a failure too.
#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let available = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        // The unit is still checked key by key by systemd_unit_has_the_hardening_and_the_right_paths.
        eprintln!("systemd-analyze is not available on this machine: `verify` NOT run; the unit was only checked as INI");
        parse_unit(&read(UNIT));
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

    // The offline security report (systemd 250+): the sandbox keeps the exposure low.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&copy)
        .output()
        .expect("run systemd-analyze security");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find(|l| l.contains("Overall exposure level")) {
        Some(line) => {
            let score: f64 = line
                .split(':')
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("unreadable exposure line: {line}"));
            eprintln!("systemd-analyze security: {}", line.trim());
            assert!(score <= 2.0, "the unit's exposure grew to {score} (was 1.5):\n{stdout}");
        }
        None => eprintln!(
            "systemd-analyze security --offline is not supported here (systemd < 250): exposure not scored\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

// ---- Dockerfile ------------------------------------------------------------------------------

/// No Docker engine here, so the image is not built; the Dockerfile is checked for what the
/// other assets rely on.
#[test]
fn dockerfile_builds_locked_and_runs_as_non_root_on_the_callback_port() {
    let text = read("deploy/Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(
        text.contains("cargo build --release --locked"),
        "builds --release --locked"
    );
    let runtime_start = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a runtime stage");
    let runtime = &lines[runtime_start..];
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("runtime USER");
    assert!(
        !["root", "0", "0:0"].contains(&user.trim()),
        "runtime runs as non-root, not {user}"
    );
    assert!(runtime.contains(&"EXPOSE 8080"), "EXPOSE 8080");
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/tencent-kafka-bridge\"")),
        "ENTRYPOINT is the binary"
    );
    // Environment beats --config: an image default would silently win over bridge.toml.
    assert!(
        !runtime
            .iter()
            .any(|l| l.starts_with("ENV") && l.contains("BRIDGE_")),
        "no BRIDGE_* ENV in the image"
    );
    eprintln!("deploy/Dockerfile: checked statically; no Docker engine here to build it");
}
