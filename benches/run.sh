#!/usr/bin/env bash
# Benchmark harness (issue 5). One command, everything on 127.0.0.1, every loop bounded.
#
#   benches/run.sh          full run: baseline and the two ceilings (examples/baseline: bare
#                           hyper, + librdkafka, + fdatasync; no bridge code), then the bridge
#                           in memory mode, memory mode over HTTPS (memory-tls: wrk speaks TLS to
#                           --tls-cert-file, a self-signed P-256 certificate made here with
#                           openssl), spool and kafka mode (peak throughput, then latency at
#                           half of that peak), counting what reached Kafka after every bridge
#                           run; then the two peers (benches/peers/: the "just write it" services
#                           a team would build instead, Python aiohttp + confluent-kafka and Node
#                           fastify + kafkajs) under the same load, counted the same way; ~6 minutes
#   benches/run.sh smoke    the same with 1-2 second phases plus a short flat-memory run
#                           (about a minute in all); what CI runs so the harness never rots
#                           (BENCH_PROFILE=dev there: reuses the debug build of `cargo test`)
#   benches/run.sh flat     flat memory: spool mode at a fixed rate with the broker frozen
#                           (SIGSTOP) for 5 minutes, RSS sampled every second; ~7 minutes
#   benches/run.sh all      full, then flat
#
# Results and how to read them: BENCHMARKS.md. Figures are never pass/fail. The exit status is
# non-zero only when a server failed to start, the load generator produced no result, or an
# acknowledged (200) event of the bridge is missing on Kafka. The peers' events are counted and
# their losses reported in the same table, but never change the exit status: they stand for
# ordinary code, and the bridge's contract is not theirs.
#
# Placement on a 2-core machine (override with SERVER_CPU / LOAD_CPU / BROKER_CPU): the server
# under test (baseline or bridge, with all its threads: tokio, librdkafka, spool) alone on CPU 0;
# the load generator (wrk) and the broker (tansu) share CPU 1. A peer is placed as the bridge is. The broker is not what is
# measured; it only has to keep up, and in kafka mode its latency is part of the answer time.
#
# The last DRAIN_MS of every load phase sends nothing, so every request sent is answered
# before wrk stops: the count of 200s is then exact, and "200s > events on Kafka" is a loss.
# Every process started here runs at nice NICE (-10; root only) so that other work on a shared
# machine disturbs the figures less; the report prints the load average and busy processes.
#
# Tunables (env): PEAK_SECS, RATE_SECS, DRAIN_MS, CONNS (64), THREADS (2), ROOMS (5000),
# TARGETS ("baseline ceiling-memory memory memory-tls ceiling-spool spool kafka peer-python peer-node"; the ratios
# need baseline, the peer ratios memory or spool and a peer), FLAT_RATE (1000),
# FLAT_OUTAGE_SECS (300), FSYNC_SAMPLES (1000), SERVER_CPU, LOAD_CPU,
# BROKER_CPU, KAFKA_THREADS_CPU (see place_kafka_threads), NICE, SCHED=fifo, KEEP_WORK=1 (keep the temp dir and logs), BENCH_PROFILE (release | dev),
# BENCH_BIN_DIR (prebuilt binaries: an A/B of two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-full}
case $MODE in
  full)  PEAK_SECS=${PEAK_SECS:-12}; RATE_SECS=${RATE_SECS:-12}; FSYNC_SAMPLES=${FSYNC_SAMPLES:-1000}
         DO_MAIN=1; DO_FLAT=0 ;;
  smoke) PEAK_SECS=${PEAK_SECS:-2};  RATE_SECS=${RATE_SECS:-1};  FSYNC_SAMPLES=${FSYNC_SAMPLES:-200}
         DRAIN_MS=${DRAIN_MS:-400}
         FLAT_PRE_SECS=${FLAT_PRE_SECS:-1}; FLAT_OUTAGE_SECS=${FLAT_OUTAGE_SECS:-2}; FLAT_POST_SECS=${FLAT_POST_SECS:-1}
         FLAT_RATE=${FLAT_RATE:-500}; DO_MAIN=1; DO_FLAT=1 ;;
  flat)  FSYNC_SAMPLES=${FSYNC_SAMPLES:-1000}; DO_MAIN=0; DO_FLAT=1 ;;
  all)   PEAK_SECS=${PEAK_SECS:-12}; RATE_SECS=${RATE_SECS:-12}; FSYNC_SAMPLES=${FSYNC_SAMPLES:-1000}
         DO_MAIN=1; DO_FLAT=1 ;;
  *) echo "usage: $0 [full|smoke|flat|all]" >&2; exit 2 ;;
esac
FLAT_PRE_SECS=${FLAT_PRE_SECS:-15}
FLAT_OUTAGE_SECS=${FLAT_OUTAGE_SECS:-300}
FLAT_POST_SECS=${FLAT_POST_SECS:-30}
FLAT_RATE=${FLAT_RATE:-1000}
DRAIN_MS=${DRAIN_MS:-1000}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROOMS=${ROOMS:-5000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BROKER_CPU=${BROKER_CPU:-1}
NICE=${NICE:--10}
[[ $(id -u) == 0 ]] || NICE=0
# SCHED=fifo runs server, wrk and tansu SCHED_FIFO (root): neighbours on a shared machine then
# cannot delay a wake-up, so the fixed-rate latency figures are the bridge's own. Only those:
# at peak, FIFO starves the kernel's softirq threads and the broker falls behind (memory mode
# then answers 503), and wrk's two threads stop sharing their core fairly. It also starves
# other work on both cores while it runs (the kernel keeps 5 % for them): opt-in only.
PRIO=(nice -n "$NICE"); BROKER_PRIO=(nice -n "$NICE")
if [[ ${SCHED:-} == fifo ]]; then
  [[ $(id -u) == 0 ]] || { echo "SCHED=fifo needs root" >&2; exit 2; }
  # FIFO does not share a core between equal priorities: the broker, which only has to keep
  # up, gets the higher one so that wrk (busy at peak) cannot starve it.
  PRIO=(chrt -f 1); BROKER_PRIO=(chrt -f 2)
fi
# exec: a backgrounded shell function runs in a subshell, and $! must be the server itself
# (its RSS and CPU are what is measured), not that subshell.
pin() { local cpu=$1; shift; exec "${PRIO[@]}" taskset -c "$cpu" "$@"; }
STARTED=$(date +%s)
stamp() { echo "== [+$(( $(date +%s) - STARTED ))s] $*"; }
APP_ID=1400000000
TOKEN=bench-token-$RANDOM$RANDOM
RUN_ID=r$(date +%s)$RANDOM
# BENCH_PROFILE=dev reuses the debug build `cargo test` already made (CI's smoke run: the
# harness is exercised, the figures mean nothing); release is what the figures are quoted from.
PROFILE=${BENCH_PROFILE:-release}
case $PROFILE in release) OUT=release ;; dev|debug) PROFILE=dev; OUT=debug ;; *) echo "BENCH_PROFILE: release or dev" >&2; exit 2 ;; esac
# BENCH_BIN_DIR: take the three binaries (tencent-kafka-bridge, examples/baseline,
# examples/count_events) from there and build nothing: an A/B of two builds on the same quiet
# machine, one run after the other (copy a build's binaries aside before changing the code).
BIN_DIR=${BENCH_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/$OUT}
BRIDGE=$BIN_DIR/tencent-kafka-bridge
BASELINE=$BIN_DIR/examples/baseline
COUNT=$BIN_DIR/examples/count_events
LUA=$ROOT/benches/load.lua
CLK_TCK=$(getconf CLK_TCK)
export PATH="$HOME/.cargo/bin:$PATH"

die() { echo "FATAL: $*" >&2; exit 1; }
for tool in wrk tansu taskset python3 curl; do
  command -v "$tool" >/dev/null || die "$tool not found (wrk: apt-get install -y wrk; tansu: scripts/install-tansu.sh)"
done
TARGETS=${TARGETS:-baseline ceiling-memory memory memory-tls ceiling-spool spool kafka peer-python peer-node}
# A bridge target NAME-tls runs mode NAME over HTTPS (the certificate: make_tls_pair).
if [[ $DO_MAIN == 1 && " $TARGETS " == *"-tls "* ]]; then
  command -v openssl >/dev/null || die "the -tls targets need openssl (apt-get install -y openssl)"
fi
PEERS=$ROOT/benches/peers
# A peer asked for and not installed is a failure, never a skip.
if [[ $DO_MAIN == 1 && " $TARGETS " == *" peer-python "* ]]; then
  python3 -c 'import aiohttp, confluent_kafka' 2>/dev/null \
    || die "peer-python needs aiohttp and confluent-kafka (scripts/install-deps.sh)"
fi
if [[ $DO_MAIN == 1 && " $TARGETS " == *" peer-node "* ]]; then
  command -v node >/dev/null || die "peer-node needs node (scripts/install-deps.sh)"
  [[ -d $PEERS/node/node_modules/fastify && -d $PEERS/node/node_modules/kafkajs ]] \
    || die "peer-node needs its modules (scripts/install-deps.sh: npm ci --prefix benches/peers/node)"
fi
[[ $(nproc) -ge 2 ]] || { SERVER_CPU=0; LOAD_CPU=0; BROKER_CPU=0; }

if [[ -n ${BENCH_BIN_DIR:-} ]]; then
  echo "== binaries from $BENCH_BIN_DIR (not built)"
else
  echo "== building ($PROFILE profile)"
  cargo build --profile "$PROFILE" --quiet --bin tencent-kafka-bridge --example baseline --example count_events
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bridge-bench.XXXXXX")
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
# shellcheck source=benches/report.sh
source "$ROOT/benches/report.sh"
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # utime+stime
# Time the hypervisor gave both vCPUs to someone else (steal), in ticks: a phase with steal
# was measured on a machine that was not all ours.
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }
# "tid comm ticks" for each thread of PID (librdkafka's rdk:* threads as one, rdkafka's
# delivery-report poller as dr-poller).
thread_ticks() {
  local task comm
  for task in /proc/"$1"/task/*; do
    comm=$(tr -d ' ' <"$task/comm" 2>/dev/null) || continue
    case $comm in rdk:*) comm=librdkafka ;; producerpollin*) comm=dr-poller ;; esac
    echo "${task##*/} $comm $(awk '{print $14+$15}' "$task/stat" 2>/dev/null || echo 0)"
  done
}
# CPU per OK request by thread between two thread_ticks snapshots: "comm=us,comm=us", by name.
per_thread_us() { # before-file after-file ok-count
  awk -v n="$3" -v hz="$CLK_TCK" 'NR == FNR {t0[$1] = $3; next} {d[$2] += $3 - t0[$1]}
    END {for (c in d) if (d[c] > 0) printf "%s=%.1f\n", c, d[c] / hz * 1e6 / n}' "$1" "$2" | sort | paste -sd, -
}
status_kib() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="${1:-0}" 'BEGIN{printf "%.1f", k/1024}'; }
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }   # get KEY "k=v k=v"
ms() { awk -v u="${1:-0}" 'BEGIN{printf "%.2f", u/1000}'; }
now() { date +%s.%N; }

# ---- the machine ----------------------------------------------------------------------------
machine_note() {
  echo "== machine"
  echo "date:      $(date -u '+%Y-%m-%d %H:%M:%SZ')"
  echo "cpu:       $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "kernel:    $(uname -srm)"
  echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "fs:        $(df -T "$WORK" | awk 'NR==2 {print $2" ("$1")"}') for the spool and fsync test"
  echo "rustc:     $(rustc --version) ($PROFILE profile)"
  echo "source:    $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
  echo "tansu:     $(tansu --version 2>&1 | head -1)"
  echo "wrk:       $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "placement: server on CPU $SERVER_CPU; wrk on CPU $LOAD_CPU ($THREADS threads, $CONNS keep-alive connections); tansu on CPU $BROKER_CPU; priority: ${PRIO[*]} (tansu: ${BROKER_PRIO[*]})${KAFKA_THREADS_CPU:+; librdkafka threads of the bridge on CPU $KAFKA_THREADS_CPU}"
  echo "load:      wrk + benches/load.lua: Live/Group/Room seed kinds at random, $ROOMS rooms, a unique member per request, signed (Sign = sha256(token+RequestTime))"
  echo "loadavg:   $(cut -d' ' -f1-3 /proc/loadavg) (other busy processes: $(other_load))"
}
other_load() { # processes other than ours using CPU right now
  ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 5 {printf "%s %s%%; ", $2, $1; n++} n==3 {exit} END {if (!n) printf "none"}'
}

# ---- fdatasync latency of the spool's filesystem --------------------------------------------
FSYNC_P50_US=0; FSYNC_P99_US=0
measure_fsync() {
  local out
  out=$(python3 - "$WORK/fsync-probe" "$FSYNC_SAMPLES" <<'EOF'
import os, resource, sys, time
path, n = sys.argv[1], int(sys.argv[2])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
def probe(prefix, in_place):
    """200-byte writes, each followed by fdatasync: appended (the file grows), or in place
    into preallocated space (as the spool writes its segments)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    if in_place:
        os.posix_fallocate(fd, 0, 200 * n + 4096); os.fsync(fd)
    lat, c0, deadline = [], cpu(), time.monotonic() + 30
    for i in range(n):
        t = time.perf_counter(); os.pwrite(fd, b"x" * 200, 200 * i); os.fdatasync(fd)
        lat.append((time.perf_counter() - t) * 1e6)
        if time.monotonic() > deadline: break
    used = cpu() - c0
    os.close(fd); os.unlink(path); lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p / 100))]
    print(f"{prefix}n={len(lat)} {prefix}p50_us={pct(50):.0f} {prefix}p99_us={pct(99):.0f} "
          f"{prefix}max_us={lat[-1]:.0f} {prefix}cpu_us={used / len(lat) * 1e6:.0f}", end=" ")
probe("", False); probe("inplace_", True); print()
EOF
)
  FSYNC_P50_US=$(get p50_us "$out"); FSYNC_P99_US=$(get p99_us "$out")
  stamp "fdatasync (200-byte write + fdatasync, $(get n "$out") times each way, in $WORK)"
  echo "fdatasync: p50 $(ms "$FSYNC_P50_US") ms, p99 $(ms "$FSYNC_P99_US") ms, max $(ms "$(get max_us "$out")") ms, CPU $(get cpu_us "$out") us per sync (appending)"
  echo "           p50 $(ms "$(get inplace_p50_us "$out")") ms, p99 $(ms "$(get inplace_p99_us "$out")") ms, max $(ms "$(get inplace_max_us "$out")") ms, CPU $(get inplace_cpu_us "$out") us per sync (in place, preallocated: how the spool writes)"
  echo "           -> spool target: p99 at half of peak <= 2 x fdatasync p99 (appending) = $(ms $((2 * FSYNC_P99_US))) ms"
}

# ---- broker -----------------------------------------------------------------------------------
KAFKA_PORT=""; TANSU_PID=0
start_tansu() {
  KAFKA_PORT=$(free_port)
  local dir="$WORK/tansu-$KAFKA_PORT"; mkdir -p "$dir"
  (cd "$dir" && exec "${BROKER_PRIO[@]}" taskset -c "$BROKER_CPU" tansu broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
     --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" >tansu.log 2>&1) &
  TANSU_PID=$!; PIDS+=("$TANSU_PID")
  for _ in $(seq 100); do port_open "$KAFKA_PORT" && break; alive "$TANSU_PID" || break; sleep 0.1; done
  port_open "$KAFKA_PORT" || { tail -5 "$dir/tansu.log" >&2; die "tansu did not start"; }
  for family in live.member group.member room.member user.state trtc.member trtc.media mic.seat other dlq; do
    (cd "$dir" && timeout 30 tansu topic create "tencent.$family" --broker "tcp://127.0.0.1:$KAFKA_PORT" --partitions 3 >/dev/null) \
      || die "cannot create topic tencent.$family"
  done
}
stop_pid() { # pid [grace secs]
  local pid=$1 grace=${2:-15}
  alive "$pid" || return 0
  kill -CONT "$pid" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((grace * 10))); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---- server under test ------------------------------------------------------------------------
HTTP_PORT=0; ADMIN_PORT=0; SERVER_PID=0
start_server() { # name, then the command (@PORT@: the callback port, @ADMIN@: the admin port)
  local name=$1; shift
  HTTP_PORT=$(free_port); ADMIN_PORT=$(free_port)
  local args=("$@")
  args=("${args[@]//@PORT@/$HTTP_PORT}")
  args=("${args[@]//@ADMIN@/$ADMIN_PORT}")
  (pin "$SERVER_CPU" "${args[@]}") >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  local ready=0
  for _ in $(seq 600); do   # 60 s: the bridge waits for broker metadata; a loaded machine
                            # (a CI runner building beside it) can take a while to start a server
    alive "$SERVER_PID" || break
    if yardstick "$name" || peer "$name"; then port_open "$HTTP_PORT" && { ready=1; break; }
    else curl -fs "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && { ready=1; break; }; fi
    sleep 0.1
  done
  if [[ $ready != 1 ]]; then
    echo "server $name failed to start; last log lines:" >&2; tail -20 "$WORK/$name.log" >&2
    die "$name did not become ready"
  fi
}

# KAFKA_THREADS_CPU=N moves the bridge's librdkafka threads (rdk:*, and rdkafka's delivery-report
# poller) to CPU N, leaving the server's CPU to the tokio worker and the spool threads: what the
# bridge's own request path costs, and what a second core would give it. Informational: the
# server then uses more than one core, so its ratios are not comparable to the baseline's.
place_kafka_threads() {
  [[ -n ${KAFKA_THREADS_CPU:-} && $1 != baseline ]] || return 0
  local task comm
  for task in /proc/"$SERVER_PID"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    if [[ $comm == rdk:* || $comm == "producer pollin"* ]]; then
      taskset -p -c "$KAFKA_THREADS_CPU" "${task##*/}" >/dev/null 2>&1 || true
    fi
  done
}

# ---- one load phase ---------------------------------------------------------------------------
# run_load NAME PHASE RATE SECS MARKER -> sets RES (the BENCH_RESULT line + server figures)
RES=""
run_load() {
  local name=$1 phase=$2 rate=$3 secs=$4 marker=$5
  local out="$WORK/$name-$phase.wrk" rss_file="$WORK/$name-$phase.rss"
  local rtime sign t0 t1 k0 k1
  rtime=$(date +%s)
  sign=$(printf '%s%s' "$TOKEN" "$rtime" | sha256sum | cut -d' ' -f1)
  echo 0 >"$rss_file"
  rm -f "$WORK/stop-sampler"   # before the sampler starts, or it may see the last phase's
  ( # RSS sampler: max VmRSS every 200 ms while the phase runs (bounded)
    max=0
    for _ in $(seq $(((secs + 30) * 5))); do
      [[ -e "$WORK/stop-sampler" ]] && break
      r=$(status_kib "$SERVER_PID" VmRSS); [[ ${r:-0} -gt $max ]] && max=$r && echo "$max" >"$rss_file"
      sleep 0.2
    done ) &
  local sampler=$!
  k0=$(ticks "$SERVER_PID"); t0=$(now); thread_ticks "$SERVER_PID" >"$out.threads0"; local st0; st0=$(steal_ticks)
  local TIMEFORMAT='%U %S'
  { time BENCH_APP_ID=$APP_ID BENCH_REQUEST_TIME=$rtime BENCH_SIGN=$sign BENCH_MARKER=$marker \
      BENCH_PHASE=$phase BENCH_ROOMS=$ROOMS BENCH_RATE=$rate BENCH_THREADS=$THREADS \
      BENCH_SECS=$secs BENCH_DRAIN_MS=$DRAIN_MS \
      timeout $((secs + 40)) "${PRIO[@]}" taskset -c "$LOAD_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" \
      --timeout 10s -s "$LUA" "$(scheme_of "$name")://127.0.0.1:$HTTP_PORT" >"$out" 2>&1 ; } 2>"$out.time" &
  local wrk_job=$!
  # Server CPU over the sending window only (not the drain).
  sleep "$(awk -v s="$secs" -v d="$DRAIN_MS" 'BEGIN{print s - d/1000}')"
  k1=$(ticks "$SERVER_PID"); t1=$(now); thread_ticks "$SERVER_PID" >"$out.threads1"; local st1; st1=$(steal_ticks)
  wait "$wrk_job" || true
  local t2; t2=$(now)
  touch "$WORK/stop-sampler"; wait "$sampler" 2>/dev/null || true
  local line; line=$(grep '^BENCH_RESULT' "$out" || true)
  [[ -n $line ]] || { cat "$out" >&2; die "wrk produced no result for $name/$phase"; }
  local cpu wrk_cpu
  cpu=$(awk -v a="$k0" -v b="$k1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", (b-a)/hz/(t1-t0)*100}')
  wrk_cpu=$(awk -v t0="$t0" -v t1="$t2" -v d="$DRAIN_MS" '{printf "%.0f", ($1+$2)/(t1-t0-d/1000)*100}' "$out.time")
  local threads; threads=$(per_thread_us "$out.threads0" "$out.threads1" "$(get ok "$line")")
  local steal; steal=$(awk -v a="$st0" -v b="$st1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" -v n="$(nproc)" 'BEGIN{printf "%.1f", (b-a)/hz/(t1-t0)/n*100}')
  RES="$line cpu=$cpu wrk_cpu=$wrk_cpu steal=$steal rss_max_kib=$(cat "$rss_file") hwm_kib=$(status_kib "$SERVER_PID" VmHWM) threads=${threads:-none}"
  alive "$SERVER_PID" || die "$name died during the $phase phase (log: $(tail -3 "$WORK/$name.log"))"
}

scheme_of() { [[ $1 == *-tls ]] && echo https || echo http; }
# A self-signed P-256 certificate for 127.0.0.1, made once per run (wrk does not verify it).
make_tls_pair() {
  [[ -s $WORK/tls.crt ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" \
    -out "$WORK/tls.crt" -days 2 -subj /CN=bench -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 \
    || die "openssl could not make the benchmark's certificate"
}

bridge_cmd() { # mode [extra args]
  local mode=$1; shift
  echo "$BRIDGE" --listen "127.0.0.1:@PORT@" --admin-listen "127.0.0.1:@ADMIN@" --sdk-app-id "$APP_ID" --auth-token "$TOKEN" \
    --brokers "127.0.0.1:$KAFKA_PORT" --delivery "$mode" --spool-dir "$WORK/spool-$mode-$KAFKA_PORT" "$@"
}

# The yardsticks run none of the bridge's code (examples/baseline): bare hyper, and the
# ceilings of memory and spool mode (hyper + librdkafka, + a group-commit fdatasync).
yardstick() { [[ $1 == baseline || $1 == ceiling-* ]]; }
yardstick_cmd() { # name
  case $1 in
    baseline)       echo "$BASELINE" "127.0.0.1:@PORT@" ;;
    ceiling-memory) echo "$BASELINE" "127.0.0.1:@PORT@" --kafka "127.0.0.1:$KAFKA_PORT" ;;
    ceiling-spool)  echo "$BASELINE" "127.0.0.1:@PORT@" --kafka "127.0.0.1:$KAFKA_PORT" --fsync "$WORK/ceiling-$KAFKA_PORT" ;;
    *) die "unknown target $1" ;;
  esac
}

# The peers (benches/peers/): what a team would write instead of the bridge, doing memory mode's
# job (SdkAppid, JSON, a small event to the family's topic keyed by room or group, OK at once).
# No admin port: ready when the callback port accepts, which each opens after its producer is
# connected. Their events carry the member accounts, so count_events counts them as the bridge's.
peer() { [[ $1 == peer-* ]]; }
peer_cmd() { # name
  local common=(--port @PORT@ --brokers "127.0.0.1:$KAFKA_PORT" --prefix tencent. --sdk-app-id "$APP_ID")
  case $1 in
    peer-python) echo python3 "$PEERS/python/peer.py" "${common[@]}" ;;
    peer-node)   echo env KAFKAJS_NO_PARTITIONER_WARNING=1 node "$PEERS/node/peer.js" "${common[@]}" ;;
    *) die "unknown target $1" ;;
  esac
}

bench_target() { # name
  local name=$1 marker="$RUN_ID-$1" p r half
  [[ $name == baseline ]] || start_tansu
  # shellcheck disable=SC2046
  if yardstick "$name"; then start_server "$name" $(yardstick_cmd "$name")
  elif peer "$name"; then start_server "$name" $(peer_cmd "$name")
  elif [[ $name == *-tls ]]; then
    make_tls_pair
    start_server "$name" $(bridge_cmd "${name%-tls}" --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key")
  else start_server "$name" $(bridge_cmd "$name"); fi
  stamp "$name (pid $SERVER_PID, port $HTTP_PORT${KAFKA_PORT:+, broker $KAFKA_PORT})"
  place_kafka_threads "$name"
  run_load "$name" p 0 "$PEAK_SECS" "$marker"; p=$RES
  echo "   peak: $(printf '%.0f' "$(get ok_rps "$p")") OK req/s p99 $(ms "$(get p99_us "$p")") ms errors $(errors_of "$p") cpu $(get cpu "$p")% wrk-cpu $(get wrk_cpu "$p")%"
  half=$(awk -v r="$(get ok_rps "$p")" 'BEGIN{h=int(r/2); if (h<10) h=10; print h}')
  place_kafka_threads "$name"
  run_load "$name" r "$half" "$RATE_SECS" "$marker"; r="$RES rate=$half"
  echo "   rate $half/s: $(printf '%.0f' "$(get ok_rps "$r")") OK req/s p50 $(ms "$(get p50_us "$r")") p99 $(ms "$(get p99_us "$r")") p99.9 $(ms "$(get p999_us "$r")") ms errors $(errors_of "$r")"
  record "$name" "$p" "$r"
  if ! yardstick "$name"; then
    verify "$name" "$marker" $(( $(get ok "$p") + $(get ok "$r") )) $(( $(get sent "$p") + $(get sent "$r") )) \
      $(( $(get requests "$p") + $(get requests "$r") ))
  fi
  stop_pid "$SERVER_PID" 20
  [[ -z $KAFKA_PORT ]] || stop_pid "$TANSU_PID" 5
  KAFKA_PORT=""
}

# ---- flat memory through a broker outage ------------------------------------------------------
flat_run() {
  local name=flat marker="$RUN_ID-flat" total=$((FLAT_PRE_SECS + FLAT_OUTAGE_SECS + FLAT_POST_SECS))
  start_tansu
  # shellcheck disable=SC2046
  start_server "$name" $(bridge_cmd spool --spool-max-bytes 4GiB)
  local spool="$WORK/spool-spool-$KAFKA_PORT" curve="$WORK/flat.curve"
  echo
  stamp "flat memory: spool mode at $FLAT_RATE req/s for ${total}s; broker frozen (SIGSTOP) from ${FLAT_PRE_SECS}s for ${FLAT_OUTAGE_SECS}s"
  : >"$curve"
  ( # the outage
    sleep "$FLAT_PRE_SECS"; kill -STOP "$TANSU_PID"; echo "$(date +%s) STOP" >"$WORK/flat.events"
    sleep "$FLAT_OUTAGE_SECS"; kill -CONT "$TANSU_PID"; echo "$(date +%s) CONT" >>"$WORK/flat.events" ) &
  local outage=$!
  ( # RSS and spool size every second (bounded)
    local start; start=$(date +%s)
    for _ in $(seq $((total + 60))); do
      [[ -e "$WORK/stop-curve" ]] && break
      local st="up"; [[ $(awk '{print $3}' "/proc/$TANSU_PID/stat" 2>/dev/null) == T ]] && st="frozen"
      echo "$(( $(date +%s) - start )) $(status_kib "$SERVER_PID" VmRSS) $(du -sb "$spool" 2>/dev/null | cut -f1) $st" >>"$curve"
      sleep 1
    done ) &
  local sampler=$!
  # wrk in chunks of at most 60 s, each signed afresh (RequestTime must stay within 300 s).
  local left=$total ok=0 errs=0 reqs=0 sent=0 p99max=0 k0 t0 chunk i=0
  k0=$(ticks "$SERVER_PID"); t0=$(now)
  while [[ $left -gt 0 ]]; do
    chunk=$(( left < 60 ? left : 60 )); i=$((i + 1))
    run_load "$name" "f$i" "$FLAT_RATE" "$chunk" "$marker"
    ok=$((ok + $(get ok "$RES"))); sent=$((sent + $(get sent "$RES"))); reqs=$((reqs + $(get requests "$RES"))); errs=$((errs + $(errors_of "$RES")))
    [[ $(get p99_us "$RES") -gt $p99max ]] && p99max=$(get p99_us "$RES")
    left=$((left - chunk))
  done
  local cpu; cpu=$(awk -v a="$k0" -v b="$(ticks "$SERVER_PID")" -v t0="$t0" -v t1="$(now)" -v hz="$CLK_TCK" 'BEGIN{printf "%.0f", (b-a)/hz/(t1-t0)*100}')
  wait "$outage" 2>/dev/null || true
  local before; before=$(status_kib "$SERVER_PID" VmRSS)
  verify flat "$marker" "$ok" "$sent" "$reqs" 300
  touch "$WORK/stop-curve"; wait "$sampler" 2>/dev/null || true
  echo
  echo "RSS curve (seconds since load start, VmRSS MiB, spool bytes, broker), every 10th sample:"
  awk 'NR % 10 == 1 {printf "  t=%4ds rss=%6.1f MiB spool=%8.1f MiB broker=%s\n", $1, $2/1024, $3/1048576, $4}' "$curve"
  echo
  awk -v hwm="$(status_kib "$SERVER_PID" VmHWM)" '
    { if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; if ($3 > smax) smax = $3
      if ($4 == "frozen") { n++; if (omin == "" || $2 < omin) omin = $2; if ($2 > omax) omax = $2 } }
    END {
      printf "flat-memory result: RSS min %.1f MiB, max %.1f MiB over the run (%d samples); during the outage min %.1f, max %.1f MiB (%d samples); VmHWM %.1f MiB\n", min/1024, max/1024, NR, omin/1024, omax/1024, n, hwm/1024
      printf "spool dir: max %.1f MiB\n", smax/1048576 }' "$curve"
  echo "load: $sent sent, $reqs answered, $ok answered 200, $errs errors, worst chunk p99 $(ms "$p99max") ms, server CPU $cpu % of a core; RSS after catch-up $(mib "$before") MiB"
  stop_pid "$SERVER_PID" 20
  stop_pid "$TANSU_PID" 5
}

# ---- main -------------------------------------------------------------------------------------
machine_note
measure_fsync
if [[ $DO_MAIN == 1 ]]; then
  for target in $TARGETS; do bench_target "$target"; done
  print_tables
fi
if [[ $DO_FLAT == 1 ]]; then
  ROWS_KAFKA=()
  flat_run
  echo
  echo "| target | sent | 200 answers | distinct events on Kafka | duplicates | on DLQ | missing | verdict |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS_KAFKA[@]}"
fi
echo
echo "loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other busy processes: $(other_load))"
if [[ $FAILED != 0 ]]; then echo "FAILED: an acknowledged event of the bridge is missing on Kafka"; exit 1; fi
echo "ok: every acknowledged event of the bridge reached Kafka$([[ $PEER_MISSING == 0 ]] || echo " (a peer lost some of its own: see the table; reported only)")"
