#!/usr/bin/env bash
# The presence view's size figures (issue 28): apply rate, restore rate and memory for one room
# of 100 000 members and for 10 000 rooms of 10 members (examples/presence_bench.rs; in
# process, no broker). Figures go to BENCHMARKS.md ("The presence view").
#
#   benches/presence.sh                    # 100 000 members; 10 000 rooms x 10
#   benches/presence.sh 10000 1000 10      # a small run
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release --example presence_bench -- "${1:-100000}" "${2:-10000}" "${3:-10}"
