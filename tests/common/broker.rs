//! A real tansu broker in a fresh temp dir, on a free port, with the project's `schemas/`
//! enforced by tansu's schema registry: a record that breaks the contract is refused by the
//! broker itself (INVALID_RECORD).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::proxy::Proxy;
use super::{free_port, wait_for};

pub const FAMILIES: [&str; 9] = [
    "live.member",
    "group.member",
    "room.member",
    "user.state",
    "trtc.member",
    "trtc.media",
    "mic.seat",
    "other",
    "dlq",
];

pub struct Broker {
    /// Where tansu listens.
    pub port: u16,
    /// What tansu advertises in metadata (and what `bootstrap()` names): `port`, or a proxy's.
    pub advertised_port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// The tansu binary: `$TANSU_BIN`, `~/.cargo/bin/tansu`, or `tansu` on PATH. Missing is a
/// failure, never a skip: `.ci/run` and `scripts/test.sh` install it.
pub fn tansu_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TANSU_BIN") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cargo_bin = home.join(".cargo/bin/tansu");
    if cargo_bin.exists() {
        return cargo_bin;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!("tansu not found: install it with scripts/install-tansu.sh (or set TANSU_BIN)")
    })
}

impl Broker {
    /// Starts tansu (memory engine) with topics `<prefix><family>` created, 3 partitions each.
    pub fn start(prefix: &str) -> Broker {
        Self::start_with(prefix, &[])
    }

    pub fn start_with(prefix: &str, extra: &[&str]) -> Broker {
        Self::launch(prefix, extra, free_port(), None)
    }

    /// Starts tansu with only `families`' topics created (a cluster set up for an older
    /// release); every family's schema is registered all the same.
    pub fn start_with_topics(prefix: &str, families: &[&str]) -> Broker {
        Self::launch_with_topics(prefix, &[], free_port(), None, families)
    }

    /// Starts tansu behind a [`Proxy`]: it advertises the proxy's address, so every client
    /// (the bridge, the test consumer) reaches it only through the proxy, and `proxy.cut()`
    /// is a network outage. Topics are created on tansu's own port.
    pub fn start_behind_proxy(prefix: &str) -> (Broker, Proxy) {
        let port = free_port();
        let proxy = Proxy::start(([127, 0, 0, 1], port).into());
        let broker = Self::launch(prefix, &[], port, Some(proxy.port));
        (broker, proxy)
    }

    fn launch(prefix: &str, extra: &[&str], port: u16, advertised: Option<u16>) -> Broker {
        Self::launch_with_topics(prefix, extra, port, advertised, &FAMILIES)
    }

    fn launch_with_topics(
        prefix: &str,
        extra: &[&str],
        port: u16,
        advertised: Option<u16>,
        families: &[&str],
    ) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        write_registry(dir.path(), prefix);
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised_port = advertised.unwrap_or(port);
        let advertised_url = format!("tcp://127.0.0.1:{advertised_port}");
        let log = std::fs::File::create(dir.path().join("tansu.log")).expect("log file");
        let child = Command::new(tansu_bin())
            .current_dir(dir.path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised_url,
            ])
            .args(["--schema-registry", "file://./registry"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        let broker = Broker {
            port,
            advertised_port,
            dir,
            child,
        };
        wait_for("tansu to listen", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        for family in families {
            broker.create_topic(&format!("{prefix}{family}"), 3);
        }
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.advertised_port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu_bin())
            .current_dir(self.dir.path())
            .args([
                "topic",
                "create",
                name,
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
            ])
            .args(["--partitions", &partitions.to_string()])
            .output()
            .expect("run tansu topic create");
        assert!(
            out.status.success(),
            "tansu topic create {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tansu wants `<topic>.json` whose `properties.value` is the record schema. Keys are plain
/// strings, not JSON, so no key schema.
fn write_registry(dir: &Path, prefix: &str) {
    let registry = dir.join("registry");
    std::fs::create_dir_all(&registry).expect("registry dir");
    for family in FAMILIES {
        let path = format!("{}/schemas/{family}.json", env!("CARGO_MANIFEST_DIR"));
        let schema: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("schema")).expect("schema JSON");
        let wrapped = serde_json::json!({ "type": "object", "properties": { "value": schema } });
        std::fs::write(
            registry.join(format!("{prefix}{family}.json")),
            wrapped.to_string(),
        )
        .expect("write registry");
    }
}
