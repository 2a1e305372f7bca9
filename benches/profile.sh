#!/usr/bin/env bash
# Where the bridge's CPU goes at peak load: perf samples of the bridge alone (not wrk, not the
# broker), placed as benches/run.sh places them.
#
#   benches/profile.sh memory          # or spool, kafka; 6 s of samples in a 12 s wrk run
#   PERF_SECS=10 benches/profile.sh spool
#   RATE=10000 benches/profile.sh spool   # at a fixed rate (requests/s) instead of full speed
#   KAFKA_THREADS_CPU=1 benches/profile.sh memory   # librdkafka's threads off the server core
#
# Prints the share of samples per thread, per shared object and the top symbols; keeps
# perf.data in the work dir (KEEP_WORK=1) for `perf report -i`. Needs perf (linux-perf),
# wrk and tansu; every process runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-memory}
PERF_SECS=${PERF_SECS:-6}
LOAD_SECS=$((PERF_SECS + 6))
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}; BROKER_CPU=${BROKER_CPU:-1}
case $MODE in baseline|memory|spool|kafka) ;; *) echo "usage: $0 baseline|memory|spool|kafka" >&2; exit 2 ;; esac
for tool in perf wrk tansu taskset python3 curl sha256sum; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet --bin tencent-kafka-bridge --example baseline
BRIDGE=$ROOT/target/release/tencent-kafka-bridge
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bridge-profile.XXXXXX")
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

KAFKA_PORT=$(free_port); HTTP_PORT=$(free_port); ADMIN_PORT=$(free_port)
(cd "$WORK" && exec taskset -c "$BROKER_CPU" tansu broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
   --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" >tansu.log 2>&1) &
PIDS+=("$!")
for _ in $(seq 100); do port_open "$KAFKA_PORT" && break; sleep 0.1; done
for family in live.member group.member room.member user.state trtc.member trtc.media mic.seat other dlq; do
  (cd "$WORK" && timeout 30 tansu topic create "tencent.$family" --broker "tcp://127.0.0.1:$KAFKA_PORT" --partitions 3 >/dev/null)
done
TOKEN=profile-token
if [[ $MODE == baseline ]]; then
  (exec taskset -c "$SERVER_CPU" "$ROOT/target/release/examples/baseline" "127.0.0.1:$HTTP_PORT" >"$WORK/bridge.log" 2>&1) &
else (exec taskset -c "$SERVER_CPU" "$BRIDGE" --listen "127.0.0.1:$HTTP_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" --sdk-app-id 1400000000 \
   --auth-token "$TOKEN" --brokers "127.0.0.1:$KAFKA_PORT" --delivery "$MODE" --spool-dir "$WORK/spool" \
   >"$WORK/bridge.log" 2>&1) &
fi
BRIDGE_PID=$!; PIDS+=("$BRIDGE_PID")
ready() { if [[ $MODE == baseline ]]; then port_open "$HTTP_PORT"; else curl -fs "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1; fi; }
for _ in $(seq 300); do ready && break; sleep 0.1; done
ready || { tail "$WORK/bridge.log" >&2; exit 1; }

# KAFKA_THREADS_CPU=N: the bridge's librdkafka threads on CPU N (as in run.sh), so that the
# server's CPU holds the request path alone.
if [[ -n ${KAFKA_THREADS_CPU:-} && $MODE != baseline ]]; then
  for task in /proc/"$BRIDGE_PID"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    [[ $comm == rdk:* || $comm == "producer pollin"* ]] && taskset -p -c "$KAFKA_THREADS_CPU" "${task##*/}" >/dev/null
  done
fi
rtime=$(date +%s)
sign=$(printf '%s%s' "$TOKEN" "$rtime" | sha256sum | cut -d' ' -f1)
BENCH_REQUEST_TIME=$rtime BENCH_SIGN=$sign BENCH_MARKER=profile BENCH_SECS=$LOAD_SECS BENCH_RATE=${RATE:-0} \
  timeout $((LOAD_SECS + 30)) taskset -c "$LOAD_CPU" wrk -t2 -c"$CONNS" -d"${LOAD_SECS}s" \
  -s "$ROOT/benches/load.lua" "http://127.0.0.1:$HTTP_PORT" >"$WORK/wrk.out" 2>&1 &
WRK=$!
sleep 3   # let the load reach its steady state before sampling
# Context switches (voluntary: it slept and was woken) per thread over the sampled window.
switches() {
  for task in /proc/"$BRIDGE_PID"/task/*; do
    printf '%s\t%s\n' "$(cat "$task/comm" 2>/dev/null)" "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status" 2>/dev/null)"
  done | awk -F'\t' '{n[$1] += $2} END {for (c in n) print c "\t" n[c]}' | sort
}
switches >"$WORK/switches.before"
perf stat -e context-switches,syscalls:sys_enter_fdatasync,syscalls:sys_enter_writev,syscalls:sys_enter_futex,syscalls:sys_enter_sendmsg,syscalls:sys_enter_write -p "$BRIDGE_PID" -o "$WORK/perf.stat" -- sleep "$PERF_SECS" &
STAT=$!
perf record -q -e cpu-clock -F "${PERF_FREQ:-2000}" --call-graph "${CALL_GRAPH:-fp}" -p "$BRIDGE_PID" -o "$WORK/perf.data" -- sleep "$PERF_SECS" 2>/dev/null
switches >"$WORK/switches.after"
wait "$WRK" || true
wait "$STAT" || true
cat "$WORK/perf.stat"
echo "== wake-ups per second, by thread (voluntary context switches over the ${PERF_SECS} s sampled)"
join -t$'\t' "$WORK/switches.before" "$WORK/switches.after" \
  | awk -F'\t' -v s="$PERF_SECS" '{printf "  %-18s %8.0f\n", $1, ($3 - $2) / s}'
grep -E 'Requests/sec|BENCH_RESULT' "$WORK/wrk.out" | cut -c1-200

report() { perf report -i "$WORK/perf.data" --no-children --stdio "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
echo "== by thread";        report --sort comm -g none | head -8
echo "== by shared object"; report --sort dso -g none | head -15
echo "== top symbols";      report --sort dso,sym -g none | head -45
