//! Reading `deploy/kubernetes/sidecar.yaml` the way Kubernetes does: every document of the
//! multi-document file, ports by name or number, files through their volume mounts.

use serde_json::Value;

use crate::read;

pub const MANIFEST: &str = "deploy/kubernetes/sidecar.yaml";

/// Every document of the manifest, as JSON values; each must be a named Kubernetes object.
pub fn documents() -> Vec<Value> {
    let text = read(MANIFEST);
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

pub fn object<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "expected exactly one {kind} in {MANIFEST}");
    found[0]
}

/// The pod template's spec.
pub fn pod(docs: &[Value]) -> &Value {
    &object(docs, "Deployment")["spec"]["template"]["spec"]
}

/// The container started with `--config`: the bridge.
pub fn bridge_container(pod: &Value) -> &Value {
    let config = Value::from("--config");
    pod["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["args"].as_array().is_some_and(|a| a.contains(&config)))
        .expect("a container started with --config (the bridge)")
}

/// The value after `flag` in a container's args.
pub fn arg<'a>(container: &'a Value, flag: &str) -> Option<&'a str> {
    let args = container["args"].as_array()?;
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1)?.as_str()
}

/// The container port a probe or Service targets, by name or number.
pub fn resolve_port(container: &Value, port: &Value) -> u16 {
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

/// A file as the container sees it: the volume mounted at the longest mount path containing
/// it, the path inside that volume, and whether the mount is read-only.
pub struct Mounted<'a> {
    pub volume: &'a Value,
    pub inside: String,
    pub read_only: bool,
}

pub fn volume_for<'a>(pod: &'a Value, container: &Value, file: &str) -> Mounted<'a> {
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
    let name = &mount["name"];
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == *name)
        .unwrap_or_else(|| panic!("volume {name} is mounted but not declared"));
    Mounted {
        volume,
        inside: file[at.len()..].trim_start_matches('/').to_owned(),
        read_only: mount["readOnly"] == true,
    }
}

/// The key of a configMap/secret volume that is projected to the file `inside` it.
pub fn projected_key(source: &Value, inside: &str) -> String {
    match source["items"].as_array() {
        Some(items) => items
            .iter()
            .find(|i| i["path"] == inside)
            .and_then(|i| i["key"].as_str())
            .unwrap_or_else(|| panic!("no item projects {inside:?} in {source}"))
            .to_owned(),
        None => inside.to_owned(),
    }
}
