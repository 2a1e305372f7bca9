#!/usr/bin/env bash
# Seeds the corpora, builds the fuzz targets and runs each one after the other, niced, for
# FUZZ_SECONDS (default 630: a little over ten minutes) each. Stops at the first crash (libFuzzer
# exits non-zero and leaves the input in fuzz/artifacts/<target>/). Prints each target's final
# libFuzzer line (runs, coverage, corpus size) and its wall time.
#   fuzz/run.sh                      # all three targets
#   FUZZ_SECONDS=60 fuzz/run.sh query_sign
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-630}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_normalize query_sign spool_reader)

./seed-corpus.sh
nice -n 19 cargo +nightly fuzz build >/dev/null 2>&1 || nice -n 19 cargo +nightly fuzz build
echo "host: $(nproc) cores, $(uname -sr), $(cargo +nightly --version)"
for t in "${targets[@]}"; do
  log=$(mktemp)
  start=$(date -u +%FT%TZ); t0=$(date +%s)
  if ! nice -n 19 cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"; echo "FAIL: $t crashed (input in fuzz/artifacts/$t/)"; exit 1
  fi
  t1=$(date +%s)
  # libFuzzer's own count and time: "Done 2164411 runs in 631 second(s)" (the build before it
  # is not fuzzing time).
  done_runs=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+ .*exec/s: [0-9]+ rss: [0-9]+Mb')
  echo "$t: started $start, $done_runs (wall $((t1 - t0)) s with the build), no crash | $cov"
  rm -f "$log"
done
