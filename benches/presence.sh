#!/usr/bin/env bash
# The presence view's size figures (issue 28): apply rate, restore rate and memory for one room
# of 100 000 members and for 10 000 rooms of 10 members (examples/presence_bench.rs; in
# process, no broker: the fold's own cost). Figures go to BENCHMARKS.md ("The presence view").
#
#   benches/presence.sh                    # one room of 100 000; 10 000 rooms x 10
#   benches/presence.sh 10000 1000 10      # a small run
#   BENCH_PROFILE=dev benches/presence.sh  # reuse the debug build (figures not comparable)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${BENCH_PROFILE:-release}
flag=--release; [ "$profile" = dev ] && flag=
cargo build --quiet $flag --example presence_bench
bin=target/$([ "$profile" = dev ] && echo debug || echo release)/examples/presence_bench
"$bin" one "${1:-100000}"
"$bin" many "${2:-10000}" "${3:-10}"
