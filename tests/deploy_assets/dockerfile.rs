//! `deploy/Dockerfile`, checked for what the other assets rely on. No image is built here:
//! that needs a Docker engine, which the test machines do not run.

use crate::read;

/// The instructions, without comments and blank lines.
fn instructions(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

#[test]
fn dockerfile_is_multi_stage_locked_and_runs_non_root_on_the_listen_port() {
    let text = read("deploy/Dockerfile");
    let lines = instructions(&text);
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
    assert!(
        runtime[0].contains("distroless") || runtime[0].contains("slim"),
        "a small runtime image: {}",
        runtime[0]
    );
    let user = runtime
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("runtime USER");
    let uid = user.split(':').next().unwrap_or("").trim();
    assert!(
        !["root", "0"].contains(&uid),
        "runtime runs as non-root, not {user}"
    );
    // The Kubernetes manifest runs as this uid too.
    let manifest = read("deploy/kubernetes/sidecar.yaml");
    assert!(
        manifest.contains(&format!("runAsUser: {uid}")),
        "sidecar.yaml runAsUser {uid}"
    );
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("ENTRYPOINT [\"/usr/local/bin/tencent-kafka-bridge\"")),
        "ENTRYPOINT is the binary"
    );
    // The environment beats --config: an image default would silently win over bridge.toml.
    assert!(
        !runtime
            .iter()
            .any(|l| l.starts_with("ENV") && l.contains("BRIDGE_")),
        "no BRIDGE_* ENV in the image"
    );
    let ignore = read("deploy/Dockerfile.dockerignore");
    let ignored: Vec<&str> = instructions(&ignore);
    for path in ["target", ".git"] {
        assert!(
            ignored.contains(&path),
            "Dockerfile.dockerignore leaves out {path}"
        );
    }
    eprintln!("deploy/Dockerfile: checked statically; no image built (no Docker engine here)");
}

/// EXPOSE 8080 is the bridge's default listen port, from the binary's own help.
#[test]
fn exposed_port_is_the_binary_default() {
    let out = crate::bridge_config::bridge_command()
        .arg("--help")
        .output()
        .expect("run --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let listen = help
        .split("--listen <LISTEN>")
        .nth(1)
        .and_then(|s| s.split("[default: ").nth(1))
        .and_then(|s| s.split(']').next())
        .expect("--listen default in --help");
    let port = listen.rsplit(':').next().expect("host:port");
    assert!(
        read("deploy/Dockerfile").contains(&format!("EXPOSE {port}")),
        "EXPOSE {port} (the default --listen {listen})"
    );
}
