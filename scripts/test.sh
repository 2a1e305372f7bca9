#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests against a real tansu broker (installed
# first if missing — a missing broker is a failure, never a skip).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tansu.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo clippy --all-targets -- -D warnings
cargo test --all-targets -- --test-threads 2
