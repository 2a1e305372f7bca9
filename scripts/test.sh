#!/usr/bin/env bash
# Runs every test: lints, unit tests, integration tests against a real tansu broker, and a short
# smoke run of the benchmark harness so it never rots (its figures are printed, never judged).
# Installs what is missing first (scripts/install-deps.sh): a missing broker or tool is a
# failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# Imports point down the layers of docs/architecture.md, and close no circle.
python3 scripts/check-imports.py
cargo clippy --all-targets -- -D warnings
cargo test --all-targets -- --test-threads 2
# The benchmark harness, short, on the debug build just made (figures printed, never judged;
# it fails only when the harness breaks or an acknowledged event is missing on Kafka).
BENCH_PROFILE=dev benches/run.sh smoke
# The hostile-traffic script, short: nothing valid lost, nothing hostile accepted.
BENCH_PROFILE=dev WAVES=1 HOSTILE_SECS=15 VALID=200 IDLE_CONNS=300 SLOW_CONNS=50 TRICKLE_CONNS=10 \
  WORKERS=2 benches/hostile.sh
