//! `deploy/kubernetes/sidecar.yaml` matches the bridge it runs: the ConfigMap's `bridge.toml`
//! passes `check-config`, the probes and ports hit what a bridge started from that very file
//! serves, the grace period outlasts its drain, and the sandbox, Secret and spool volume are
//! what the docs promise.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::bridge_config::{effective, Effective, HostFiles, RunningBridge};
use crate::manifest::{
    arg, bridge_container, documents, object, pod, projected_key, resolve_port, volume_for, MANIFEST,
};
use crate::read;

/// The ConfigMap's `bridge.toml` that `--config` names, through its volume mount, written to a
/// temp file; with its raw table and its effective configuration.
struct ConfigMapFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
    raw: toml::Table,
    effective: Effective,
    host: HostFiles,
}

fn config_map_file(docs: &[Value]) -> ConfigMapFile {
    let pod = pod(docs);
    let bridge = bridge_container(pod);
    let config_path = arg(bridge, "--config").expect("--config FILE");
    let mounted = volume_for(pod, bridge, config_path);
    assert!(mounted.read_only, "the config mount should be readOnly");
    let config_map = object(docs, "ConfigMap");
    assert_eq!(
        mounted.volume["configMap"]["name"], config_map["metadata"]["name"],
        "--config comes from the ConfigMap"
    );
    let key = projected_key(&mounted.volume["configMap"], &mounted.inside);
    let text = config_map["data"][&key]
        .as_str()
        .unwrap_or_else(|| panic!("the ConfigMap has no data key {key:?}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bridge.toml");
    std::fs::write(&path, text).expect("write bridge.toml");
    let host = HostFiles::new();
    let effective = effective("the ConfigMap's bridge.toml", &path, &host.token_flag());
    let raw = text.parse().expect("the ConfigMap's bridge.toml is TOML");
    ConfigMapFile {
        _dir: dir,
        path,
        raw,
        effective,
        host,
    }
}

#[test]
fn probes_and_ports_reach_a_bridge_started_from_the_config_map() {
    let docs = documents();
    let config = config_map_file(&docs);
    let pod = pod(&docs);
    let bridge = bridge_container(pod);
    let listen = config.effective.listen();
    assert!(
        listen.ip().is_unspecified(),
        "kubelet probes and the Service reach the pod IP: listen on 0.0.0.0, not {listen}"
    );
    let port = listen.port();
    // kubelet and Prometheus reach the pod IP too: the admin listener binds 0.0.0.0 inside
    // the pod (the Service exposes only the callback port, so the internet does not see it).
    let admin = config.effective.admin_listen();
    assert!(
        admin.ip().is_unspecified(),
        "kubelet probes reach the pod IP: admin-listen on 0.0.0.0, not {admin}"
    );
    assert_ne!(admin.port(), port, "the admin port is not the callback port");
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &bridge[probe]["httpGet"];
        assert_eq!(
            resolve_port(bridge, &get["port"]),
            admin.port(),
            "{probe} port = admin-listen port {}",
            admin.port()
        );
    }
    let service = object(&docs, "Service");
    let service_port = service["spec"]["ports"]
        .as_array()
        .expect("Service ports")
        .first()
        .expect("a Service port");
    assert_eq!(
        resolve_port(bridge, &service_port["targetPort"]),
        port,
        "Service targetPort"
    );
    let labels = &pod_labels(&docs);
    for (k, v) in service["spec"]["selector"].as_object().expect("Service selector") {
        assert_eq!(&labels[k], v, "Service selector {k} must match the pod labels");
    }
    let deployment = object(&docs, "Deployment");
    for (k, v) in deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(&labels[k], v, "Deployment selector {k} must match the pod labels");
    }

    // The paths, against the real bridge, Kafka unreachable: liveness must stay 200 (a Kafka
    // outage must not restart the pod), and readiness too while the spool has room (the
    // manifest runs spool mode: riding out an outage is its job), saying it is degraded.
    let mut running = RunningBridge::start(&config.path, &config.host.token_flag());
    let path = |probe: &str| {
        bridge[probe]["httpGet"]["path"]
            .as_str()
            .expect("probe path")
            .to_owned()
    };
    assert_eq!(
        running.get("/no-such-probe"),
        404,
        "control: an unknown path is 404"
    );
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            running.get_public(path),
            404,
            "{path} is not on the callback port"
        );
    }
    for port in service["spec"]["ports"].as_array().expect("Service ports") {
        assert_ne!(
            resolve_port(bridge, &port["targetPort"]),
            admin.port(),
            "the Service must not expose the admin port"
        );
    }
    // The bridge names no probe paths itself (its --help has none): these are the README's.
    assert_eq!(
        (path("livenessProbe").as_str(), path("readinessProbe").as_str()),
        ("/healthz", "/readyz"),
        "the documented probe endpoints"
    );
    let liveness = path("livenessProbe");
    assert_eq!(
        running.get(&liveness),
        200,
        "livenessProbe {liveness}\n{}",
        running.log()
    );
    let readiness = path("readinessProbe");
    assert_eq!(
        running.get(&readiness),
        200,
        "readinessProbe {readiness} without Kafka, spool mode"
    );
    let scrape = &object(&docs, "Deployment")["spec"]["template"]["metadata"]["annotations"];
    let metrics = scrape["prometheus.io/path"]
        .as_str()
        .expect("prometheus.io/path annotation");
    assert_eq!(
        scrape["prometheus.io/port"],
        admin.port().to_string(),
        "prometheus.io/port = admin port"
    );
    assert_eq!(running.get(metrics), 200, "prometheus.io/path {metrics}");
}

fn pod_labels(docs: &[Value]) -> Value {
    object(docs, "Deployment")["spec"]["template"]["metadata"]["labels"].clone()
}

#[test]
fn grace_period_outlasts_pre_stop_and_shutdown_timeout() {
    let docs = documents();
    let config = config_map_file(&docs);
    let pod = pod(&docs);
    let bridge = bridge_container(pod);
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let pre_stop = bridge["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap_or(0);
    let drain = config.effective.shutdown_timeout();
    assert!(
        Duration::from_secs(grace) > drain + Duration::from_secs(pre_stop),
        "terminationGracePeriodSeconds {grace}s must exceed preStop {pre_stop}s + shutdown-timeout {drain:?}"
    );
}

#[test]
fn bridge_runs_sandboxed_with_requests_and_a_memory_limit() {
    let docs = documents();
    let pod = pod(&docs);
    assert!(
        pod["containers"].as_array().expect("containers").len() >= 2,
        "an app container plus the bridge"
    );
    let bridge = bridge_container(pod);
    let sc = &bridge["securityContext"];
    let pod_sc = &pod["securityContext"];
    let either = |k: &str| if sc[k].is_null() { &pod_sc[k] } else { &sc[k] };
    assert_eq!(*either("runAsNonRoot"), true, "runAsNonRoot");
    assert!(
        either("runAsUser").as_u64().is_some_and(|u| u > 0),
        "runAsUser is not root"
    );
    assert_eq!(sc["readOnlyRootFilesystem"], true, "readOnlyRootFilesystem");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "allowPrivilegeEscalation");
    assert_eq!(
        sc["capabilities"]["drop"],
        serde_json::json!(["ALL"]),
        "drop ALL capabilities"
    );
    let res = &bridge["resources"];
    assert!(
        res["requests"]["memory"].is_string() && res["requests"]["cpu"].is_string(),
        "requests: {res}"
    );
    assert!(res["limits"]["memory"].is_string(), "a memory limit: {res}");
}

#[test]
fn token_comes_from_the_secret_and_the_spool_from_a_writable_volume() {
    let docs = documents();
    let config = config_map_file(&docs);
    let pod = pod(&docs);
    let bridge = bridge_container(pod);
    assert!(
        !config.raw.contains_key("auth-token"),
        "no token in the ConfigMap"
    );
    assert!(
        config.effective.checks_signatures() && !config.raw.contains_key("allow-unsigned"),
        "the sidecar's port is reachable cluster-wide: it must check signatures"
    );
    let token_file = config.raw["auth-token-file"].as_str().expect("auth-token-file");
    let token = volume_for(pod, bridge, token_file);
    assert!(token.read_only, "the token mount should be readOnly");
    let secret = object(&docs, "Secret");
    assert_eq!(
        token.volume["secret"]["secretName"], secret["metadata"]["name"],
        "auth-token-file comes from the Secret"
    );
    let key = projected_key(&token.volume["secret"], &token.inside);
    assert!(
        secret["stringData"].get(&key).is_some() || secret["data"].get(&key).is_some(),
        "the Secret has no key {key:?}"
    );

    // The root filesystem is read-only: the spool must be on a writable data volume.
    assert_eq!(config.effective.str("delivery"), "spool");
    let spool = config.effective.str("spool-dir");
    assert!(
        spool.starts_with('/'),
        "spool-dir should be absolute in a container: {spool}"
    );
    let mounted = volume_for(pod, bridge, spool);
    assert!(!mounted.read_only, "the spool volume must be writable");
    assert!(
        mounted.volume["configMap"].is_null() && mounted.volume["secret"].is_null(),
        "the spool is on a data volume: {}",
        mounted.volume
    );
    if let Some(limit) = mounted.volume["emptyDir"]["sizeLimit"].as_str() {
        let max = config.effective.table["spool-max-bytes"]
            .as_integer()
            .expect("spool-max-bytes");
        assert!(
            max <= quantity(limit),
            "spool-max-bytes {max} must fit in the emptyDir sizeLimit {limit}: beyond it the pod is evicted"
        );
    }
    let text = read(MANIFEST);
    for kind in [
        "emptyDir",
        "PersistentVolumeClaim",
        "hostPath",
        "volumeClaimTemplates",
    ] {
        assert!(
            text.contains(kind),
            "the spool volume note should say what {kind} survives"
        );
    }
}

/// A Kubernetes binary quantity (`512Mi`, `1Gi`) in bytes.
fn quantity(q: &str) -> i64 {
    let (n, shift) = [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40)]
        .iter()
        .find_map(|(unit, shift)| q.strip_suffix(unit).map(|n| (n, *shift)))
        .unwrap_or((q, 0));
    n.parse::<i64>().unwrap_or_else(|_| panic!("not a quantity: {q}")) << shift
}
