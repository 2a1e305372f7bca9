//! The consumer examples docs/consumers.md points to really work: against a real broker fed by
//! the real bridge, `examples/consumer.rs` and `examples/python/consumer.py` print one line per
//! event of every family, drop a re-delivered event by `event_id`, honour `--max-events`, and
//! commit their offsets (a restarted consumer in the same group does not replay).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::bridge::{Bridge, APP_ID, TOKEN};
use common::broker::Broker;
use common::consume::read_n;
use common::events::{send_ok, WAIT};
use common::http::post;
use common::samples::{query, GROUP_002, LIVE_000, ROOM_003};
use common::wait_for;
use tencent_kafka_bridge::event::event_id;

const PREFIX: &str = "cx.";

const LIVE: &str = "Live.CallbackAfterMemberStateChanged";
const GROUP_STATE: &str = "Group.CallbackOnMemberStateChange";
const GROUP_JOIN: &str = "Group.CallbackAfterNewMemberJoin";
const GROUP_EXIT: &str = "Group.CallbackAfterMemberExit";
const ROOM_ENTER: &str = "Room.CallbackAfterMemberEnter";
const ROOM_LEAVE: &str = "Room.CallbackAfterMemberLeave";
const OTHER: &str = "Group.CallbackAfterSendMsg";

const JOIN_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#1NVTZEAE4","Type":"Public","JoinType":"Apply","Operator_Account":"leckie","NewMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}]}"#;
const EXIT_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#1NVTZEAE4","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"tommy"}]}"#;
const LEAVE_BODY: &str = r#"{"CallbackCommand":"Room.CallbackAfterMemberLeave","Operator_Account":"user1","RoomId":"rid-123","MemberCount":19,"Type":"Leave","MemberList_Account":["user1"],"Reason":"kicked by host","EventTime":1670574474123}"#;
const OTHER_BODY: &str = r#"{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public","From_Account":"jared","MsgSeq":123,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}"#;
const BAD_BODY: &str = r#"{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"rid-123","MemberCount":"twenty","MemberList_Account":["user1"]}"#;

/// What each example must print for the callbacks sent: `(line before the id, command, body)`.
fn expected() -> Vec<String> {
    let line = |text: &str, command: &str, body: &str| {
        format!("{text}  [event {}]", event_id(APP_ID, command, body.as_bytes()))
    };
    vec![
        line(
            "live.member room=room_id online (enter): jared, tommy",
            LIVE,
            LIVE_000,
        ),
        line(
            "group.member group=@TGS#2J4SZEAEL offline (-): jared, tommy",
            GROUP_STATE,
            GROUP_002,
        ),
        line(
            "group.member group=@TGS#1NVTZEAE4 joined (apply): jared, tommy",
            GROUP_JOIN,
            JOIN_BODY,
        ),
        line(
            "group.member group=@TGS#1NVTZEAE4 left (kicked): tommy",
            GROUP_EXIT,
            EXIT_BODY,
        ),
        line(
            "room.member room=rid-123 online (enter): user1",
            ROOM_ENTER,
            ROOM_003,
        ),
        line(
            "room.member room=rid-123 offline (leave): user1",
            ROOM_LEAVE,
            LEAVE_BODY,
        ),
        line(&format!("other app={APP_ID} command={OTHER}"), OTHER, OTHER_BODY),
        line(
            &format!("dlq app={APP_ID} command={ROOM_ENTER} code=4005: MemberCount: expected integer"),
            ROOM_ENTER,
            BAD_BODY,
        ),
    ]
}

/// Builds `examples/consumer.rs` with the cargo running this test and returns the binary
/// (integration tests cannot name example binaries with `env!`). The path comes from cargo's
/// own build report, so it holds whatever the target dir is.
fn build_rust_example() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            "consumer",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build --example consumer");
    assert!(out.status.success(), "cargo build --example consumer failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "consumer")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the consumer example's executable")
}

/// `python3` (or `$PYTHON`) with confluent-kafka importable; a missing module is a failure
/// that says how to install it, never a skip.
fn python_with_confluent_kafka() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let check = Command::new(&python)
        .args(["-c", "import confluent_kafka"])
        .output();
    match check {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{python} cannot import confluent_kafka: run `pip install -r examples/python/requirements.txt`\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "cannot run {python} ({e}): install Python 3 and `pip install -r examples/python/requirements.txt`"
        ),
    }
}

/// A consumer example running with its stdout and stderr in files.
struct Run {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Run {
    fn start(name: &str, dir: &Path, mut cmd: Command) -> Run {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = cmd
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Run {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for a successful exit; returns the printed lines.
    fn finish(mut self, timeout: Duration) -> Vec<String> {
        let status = wait_for(&format!("{} to exit", self.name), timeout, || {
            self.child.try_wait().ok().flatten()
        });
        let stdout = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(
            status.success(),
            "{} exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            self.name
        );
        eprintln!(
            "--- {} stdout:\n{stdout}--- {} stderr:\n{stderr}",
            self.name, self.name
        );
        stdout.lines().map(str::to_owned).collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rust_cmd(bin: &Path, brokers: &str, group: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([brokers, PREFIX, group]).args(extra);
    cmd
}

fn python_cmd(python: &str, brokers: &str, group: &str, extra: &[&str]) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/consumer.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).args([brokers, PREFIX, group]).args(extra);
    cmd
}

fn assert_prints_every_event_once(name: &str, lines: &[String], duplicate_id: &str) {
    let events: Vec<&String> = lines.iter().filter(|l| l.contains("  [event ")).collect();
    let mut want = expected();
    let mut got: Vec<String> = events.iter().map(|s| (*s).clone()).collect();
    want.sort();
    got.sort();
    assert_eq!(
        got,
        want,
        "{name}: one line per distinct event, each exactly once\nprinted:\n{}",
        lines.join("\n")
    );
    let dropped = format!("duplicate {duplicate_id} dropped");
    assert!(
        lines.contains(&dropped),
        "{name}: the re-delivered live event should be dropped by event_id ({dropped:?})\nprinted:\n{}",
        lines.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_and_python_consumers_print_each_event_once() {
    // Both examples must be runnable before anything starts: a missing module fails here.
    let python = python_with_confluent_kafka();
    let rust_bin = build_rust_example();

    let broker = Broker::start(PREFIX);
    let bridge = Bridge::start(
        &broker.bootstrap(),
        &["--auth-token", TOKEN, "--topic-prefix", PREFIX],
    );
    let brokers = broker.bootstrap();

    send_ok(&bridge, LIVE, LIVE_000).await;
    // The same callback again: what a re-send after a crash or an outage looks like to a
    // consumer (same event_id, later offset).
    send_ok(&bridge, LIVE, LIVE_000).await;
    send_ok(&bridge, GROUP_STATE, GROUP_002).await;
    send_ok(&bridge, GROUP_JOIN, JOIN_BODY).await;
    send_ok(&bridge, GROUP_EXIT, EXIT_BODY).await;
    send_ok(&bridge, ROOM_ENTER, ROOM_003).await;
    send_ok(&bridge, ROOM_LEAVE, LEAVE_BODY).await;
    send_ok(&bridge, OTHER, OTHER_BODY).await;
    let refused = post(
        &bridge.addr(),
        &query("/callback", APP_ID, ROOM_ENTER, Some(TOKEN)),
        BAD_BODY,
    )
    .await;
    assert_eq!((refused.status, refused.code()), (400, 4005), "{refused:?}");

    // Everything is on Kafka before the consumers start, so their idle timeout only has to
    // cover the group join.
    for (family, n) in [
        ("live.member", 2),
        ("group.member", 3),
        ("room.member", 2),
        ("other", 1),
        ("dlq", 1),
    ] {
        let got = read_n(&brokers, &format!("{PREFIX}{family}"), n, WAIT);
        assert_eq!(got.len(), n, "{family}: {got:?}");
    }
    let duplicate_id = event_id(APP_ID, LIVE, LIVE_000.as_bytes());

    let dir = tempfile::tempdir().expect("temp dir");
    let idle = ["--idle-secs", "12"];
    let limit = Duration::from_secs(90);
    let rust = Run::start(
        "rust consumer",
        dir.path(),
        rust_cmd(&rust_bin, &brokers, "cx-rust", &idle),
    );
    let py = Run::start(
        "python consumer",
        dir.path(),
        python_cmd(&python, &brokers, "cx-python", &idle),
    );
    let rust_lines = rust.finish(limit);
    let py_lines = py.finish(limit);
    assert_prints_every_event_once("examples/consumer.rs", &rust_lines, &duplicate_id);
    assert_prints_every_event_once("examples/python/consumer.py", &py_lines, &duplicate_id);

    // Offsets were committed: the same groups again see nothing new.
    let idle = ["--idle-secs", "8"];
    let rust = Run::start(
        "rust consumer, same group",
        dir.path(),
        rust_cmd(&rust_bin, &brokers, "cx-rust", &idle),
    );
    let py = Run::start(
        "python consumer, same group",
        dir.path(),
        python_cmd(&python, &brokers, "cx-python", &idle),
    );
    for (name, lines) in [
        ("examples/consumer.rs", rust.finish(limit)),
        ("examples/python/consumer.py", py.finish(limit)),
    ] {
        assert!(
            !lines.iter().any(|l| l.contains("[event ")),
            "{name}: restarted in the same group, it replayed committed events:\n{}",
            lines.join("\n")
        );
    }

    // --max-events N: a new group exits after N distinct events, well before its idle timeout.
    let opts = ["--max-events", "3", "--idle-secs", "60"];
    let started = std::time::Instant::now();
    let rust = Run::start(
        "rust consumer --max-events",
        dir.path(),
        rust_cmd(&rust_bin, &brokers, "cx-rust-3", &opts),
    );
    let py = Run::start(
        "python consumer --max-events",
        dir.path(),
        python_cmd(&python, &brokers, "cx-python-3", &opts),
    );
    for (name, lines) in [
        ("examples/consumer.rs", rust.finish(limit)),
        ("examples/python/consumer.py", py.finish(limit)),
    ] {
        let events = lines.iter().filter(|l| l.contains("  [event ")).count();
        assert_eq!(events, 3, "{name} --max-events 3 printed:\n{}", lines.join("\n"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(55),
        "--max-events should end the run, not the idle timeout"
    );
    drop(bridge);
}
