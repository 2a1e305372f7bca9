//! The bridge binary as an operator's tool (`spool ...`, `dlq ...`): run to completion.

use std::process::{Command, Output};

/// Runs `tencent-kafka-bridge ARGS` with no `BRIDGE_*` variables of the test's environment.
pub fn run(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tencent-kafka-bridge"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BRIDGE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).output().expect("run the tool")
}

/// Stdout then stderr, for assertions and their messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
