# Tables and the targets summary for benches/run.sh (sourced; uses its helpers get, ms, mib,
# COUNT, KAFKA_PORT, WORK). Figures are information, never the exit status, except a loss.
ROWS_PEAK=(); ROWS_RATE=(); ROWS_THREADS=(); ROWS_KAFKA=(); FAILED=0; PEER_MISSING=0; BASE_RPS=0; BASE_CAP=0
declare -A FIG   # FIG[name.key] = value, for the targets summary
errors_of() { # non-2xx + socket errors
  local r=$1
  echo $(( $(get non200 "$r") + $(get err_connect "$r") + $(get err_read "$r") + $(get err_write "$r") + $(get err_timeout "$r") ))
}
record() { # name peak-result rate-result
  local name=$1 p=$2 r=$3 ratio cap cratio
  local prps; prps=$(get ok_rps "$p")   # 200s per second: a 503 is not throughput
  # Capacity = req/s per fully busy server core (req/s / CPU share): what the server could
  # take if the load generator, which shares the machine, were not the limit.
  cap=$(awk -v r="$prps" -v c="$(get cpu "$p")" 'BEGIN{ if (c>0) printf "%.0f", r/(c/100); else print 0}')
  if [[ $name == baseline ]]; then BASE_RPS=$prps; BASE_CAP=$cap; fi
  ratio=$(awk -v a="$prps" -v b="$BASE_RPS" 'BEGIN{ if (b>0) printf "%.0f", a/b*100; else print 0}')
  cratio=$(awk -v a="$cap" -v b="$BASE_CAP" 'BEGIN{ if (b>0) printf "%.0f", a/b*100; else print 0}')
  FIG[$name.rps]=$prps; FIG[$name.ratio]=$ratio; FIG[$name.cratio]=$cratio; FIG[$name.rate_p99]=$(get p99_us "$r")
  FIG[$name.rss]=$(get hwm_kib "$r"); FIG[$name.peak_p99]=$(get p99_us "$p"); FIG[$name.threads]=$(get threads "$p")
  ROWS_THREADS+=("| $name | $(get threads "$p" | sed 's/,/, /g; s/=/ /g') |")
  ROWS_PEAK+=("| $name | $(printf '%.0f' "$prps") | $ratio % | $cap | $cratio % | $(ms "$(get p50_us "$p")") / $(ms "$(get p99_us "$p")") / $(ms "$(get p999_us "$p")") | $(errors_of "$p") | $(get cpu "$p") % | $(get wrk_cpu "$p") % | $(mib "$(get rss_max_kib "$p")") / $(mib "$(get hwm_kib "$p")") | $(get steal "$p") % |")
  ROWS_RATE+=("| $name | $(get rate "$r") | $(printf '%.0f' "$(get ok_rps "$r")") | $(ms "$(get p50_us "$r")") / $(ms "$(get p99_us "$r")") / $(ms "$(get p999_us "$r")") | $(ms "$(get max_us "$r")") | $(errors_of "$r") | $(get cpu "$r") % | $(mib "$(get rss_max_kib "$r")") | $(get steal "$r") % |")
}

print_tables() {
  echo
  echo "== results ($MODE: peak ${PEAK_SECS}s at $CONNS connections / $THREADS wrk threads; then ${RATE_SECS}s at half of each target's own peak)"
  echo
  echo "Peak throughput (latency under saturation, so high by design):"
  echo
  echo "| target | OK req/s | vs baseline | OK req/s per server core | vs baseline | p50 / p99 / p99.9 ms | errors | server CPU | wrk CPU | RSS max / VmHWM MiB | steal |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
  printf '%s\n' "${ROWS_PEAK[@]}"
  echo
  echo "Latency at a fixed rate (half of the target's peak; wrk delay() pacing, open loop per thread):"
  echo
  echo "| target | target req/s | achieved OK req/s | p50 / p99 / p99.9 ms | max ms | errors | server CPU | RSS max MiB | steal |"
  echo "|---|---:|---:|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS_RATE[@]}"
  echo
  echo "CPU per OK request at peak, by server thread (us; /proc/PID/task/*/stat over the sending window;"
  echo "tokio-rt-worker = HTTP and the request path, librdkafka = its rdk:* threads):"
  echo
  echo "| target | us per OK request, by thread |"
  echo "|---|---|"
  printf '%s\n' "${ROWS_THREADS[@]}"
  if [[ ${#ROWS_KAFKA[@]} -gt 0 ]]; then
    echo
    echo "What reached Kafka (every topic read from offset 0 with a real consumer, after the run):"
    echo
    echo "| target | sent | 200 answers | distinct events on Kafka | duplicates | on DLQ | missing | verdict |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS_KAFKA[@]}"
  fi
  echo
  echo "OK req/s = 200 answers per second. errors = non-2xx answers + socket errors. CPU = % of one core"
  echo "(server pinned to one core). req/s per server core = req/s / server CPU share. fdatasync on"
  echo "this disk: p50 $(ms "$FSYNC_P50_US") ms, p99 $(ms "$FSYNC_P99_US") ms."
  print_targets
}

# The issue's targets against this run's figures; information, never the exit status.
print_targets() {
  local v
  verdict_of() { if awk -v a="$1" -v b="$2" 'BEGIN{exit !(a '"$3"' b)}'; then echo met; else echo "**missed**"; fi; }
  ran() { [[ -n ${FIG[$1.rps]:-} ]]; }   # targets left out by TARGETS= get no verdict
  echo
  echo "Targets (this run):"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  for m in memory:85 spool:60; do
    local t=${m%%:*} want=${m##*:}
    ran "$t" || continue
    echo "| $t >= $want % of baseline req/s | ${FIG[$t.ratio]:-?} % (per server core: ${FIG[$t.cratio]:-?} %)$(ceiling_note "$t") | raw $(verdict_of "${FIG[$t.ratio]:-0}" "$want" '>='), per core $(verdict_of "${FIG[$t.cratio]:-0}" "$want" '>=') |"
  done
  if ran memory; then
    v=${FIG[memory.rate_p99]}
    echo "| memory p99 at half peak <= 2 ms | $(ms "$v") ms$(p99_note memory) | $(verdict_of "$v" 2000 '<=') |"
  fi
  if ran spool; then
    v=${FIG[spool.rate_p99]}
    echo "| spool p99 at half peak <= 2 x fdatasync p99 ($(ms $((2 * FSYNC_P99_US))) ms) | $(ms "$v") ms$(p99_note spool) | $(verdict_of "$v" $((2 * FSYNC_P99_US)) '<=') |"
  fi
  for t in memory spool kafka; do
    ran "$t" || continue
    v=${FIG[$t.rss]:-0}
    echo "| $t RSS <= 64 MiB (VmHWM) | $(mib "$v") MiB | $(verdict_of "$v" 65536 '<=') |"
  done
  if ran memory && ran memory-tls; then
    echo "| memory over HTTPS beside plain HTTP (information) | ${FIG[memory-tls.rps]%.*} vs ${FIG[memory.rps]%.*} OK req/s: $(awk -v a="${FIG[memory-tls.rps]}" -v b="${FIG[memory.rps]}" 'BEGIN{ if (b>0) printf "%.0f", a/b*100; else print 0}') % (per server core: ${FIG[memory-tls.cratio]:-?} % vs ${FIG[memory.cratio]:-?} % of baseline) | — |"
  fi
  peer_targets
  issue29_targets
  echo "| no acknowledged event of the bridge missing on Kafka | see the table above | $([[ $FAILED == 0 ]] && echo met || echo "**missed**") |"
}

# memory ÷ best peer >= 10x, spool ÷ best peer >= 6x (issue 29) (OK req/s at peak, this run), when the run
# measured a peer and the mode.
peer_targets() {
  local t best="" rps=0 m want x
  for t in peer-python peer-node; do
    ran "$t" || continue
    if [[ -z $best ]] || awk -v a="${FIG[$t.rps]}" -v b="$rps" 'BEGIN{exit !(a > b)}'; then best=$t; rps=${FIG[$t.rps]}; fi
  done
  [[ -n $best ]] || return 0
  for m in memory:10 spool:6; do
    t=${m%%:*} want=${m##*:}
    ran "$t" || continue
    if awk -v b="$rps" 'BEGIN{exit !(b > 0)}'; then
      x=$(awk -v a="${FIG[$t.rps]}" -v b="$rps" 'BEGIN{printf "%.2f", a/b}')
      echo "| $t req/s ÷ best peer's >= ${want}x | ${x}x ($(printf '%.0f' "${FIG[$t.rps]}") vs $best's $(printf '%.0f' "$rps") OK req/s) | $(verdict_of "$x" "$want" '>=') |"
    else
      echo "| $t req/s ÷ best peer's >= ${want}x | best peer ($best) answered no 200 | met |"
    fi
  done
}

# Issue 29's rows (the bridge against its own ceilings, in the same run), when the run
# measured what they compare.
issue29_targets() {
  local x v c
  thread_us() { # target thread-regex: the sum of those threads' µs per OK request
    tr ',' '\n' <<<"${FIG[$1.threads]:-}" | awk -F= -v re="$2" '$1 ~ re {s += $2} END {printf "%.1f", s}'
  }
  if ran memory && ran ceiling-memory; then
    x=$(awk -v a="${FIG[memory.rps]}" -v b="${FIG[ceiling-memory.rps]}" 'BEGIN{printf "%.2f", (b > 0 ? a/b : 0)}')
    echo "| memory req/s ÷ ceiling-memory req/s >= 0.90 | $x | $(verdict_of "$x" 0.90 '>=') |"
    v=$(thread_us memory '^tokio-rt-worker$'); c=$(thread_us ceiling-memory '^tokio-rt-worker$')
    x=$(awk -v a="$v" -v b="$c" 'BEGIN{printf "%+.1f", a-b}')
    echo "| tokio worker CPU per request, memory − ceiling-memory's <= +1.5 µs | $x µs ($v vs $c) | $(verdict_of "$x" 1.5 '<=') |"
  fi
  if ran spool && ran ceiling-spool; then
    x=$(awk -v a="${FIG[spool.rps]}" -v b="${FIG[ceiling-spool.rps]}" 'BEGIN{printf "%.2f", (b > 0 ? a/b : 0)}')
    echo "| spool req/s ÷ ceiling-spool req/s >= 0.85 | $x | $(verdict_of "$x" 0.85 '>=') |"
    v=$(thread_us spool '^spool-(writer|drain)$'); c=$(thread_us ceiling-spool '^ceiling-writer$')
    x=$(awk -v a="$v" -v b="$c" 'BEGIN{printf "%+.1f", a-b}')
    echo "| spool writer + drain CPU per request − ceiling writer's <= +0.5 µs | $x µs ($v vs $c) | $(verdict_of "$x" 0.5 '<=') |"
    x=$(awk -v a="${FIG[spool.rate_p99]}" -v b="${FIG[ceiling-spool.rate_p99]}" 'BEGIN{printf "%.2f", (b > 0 ? a/b : 0)}')
    echo "| spool p99 at half peak ÷ ceiling-spool's <= 1.25 | $x ($(ms "${FIG[spool.rate_p99]}") vs $(ms "${FIG[ceiling-spool.rate_p99]}") ms) | $(verdict_of "$x" 1.25 '<=') |"
  fi
  if ran kafka; then
    v=${FIG[kafka.peak_p99]}
    echo "| kafka mode p99 at peak <= 20 ms | $(ms "$v") ms | $(verdict_of "$v" 20000 '<=') |"
  fi
}

# What the stack reaches with none of the bridge's code, when the run measured it.
ceiling_note() { # mode
  local c=ceiling-$1
  [[ -n ${FIG[$c.ratio]:-} && -n ${FIG[$1.rps]:-} && ${FIG[$c.rps]:-0} != 0 ]] || return 0
  printf '; its ceiling (%s, no bridge code): %s %% (per core %s %%); the bridge reaches %s %% of it' \
    "${CEILING_WHAT[$1]}" "${FIG[$c.ratio]}" "${FIG[$c.cratio]}" "$(awk -v a="${FIG[$1.rps]}" -v b="${FIG[$c.rps]}" 'BEGIN{printf "%.0f", a/b*100}')"
}
p99_note() { # mode
  local c=ceiling-$1 out=""
  [[ -n ${FIG[baseline.rate_p99]:-} ]] && out="; bare hyper at its half peak: $(ms "${FIG[baseline.rate_p99]}") ms"
  [[ -n ${FIG[$c.rate_p99]:-} ]] && out="$out; its ceiling: $(ms "${FIG[$c.rate_p99]}") ms"
  printf '%s' "$out"
}
declare -A CEILING_WHAT=([memory]="hyper + librdkafka" [spool]="hyper + group-commit fdatasync + librdkafka")

# verify NAME MARKER OK_COUNT SENT ANSWERED [deadline]
verify() {
  local name=$1 marker=$2 expected=$3 sent=$4 answered=$5 deadline=${6:-240}
  local out
  out=$(timeout $((deadline + 30)) "$COUNT" "127.0.0.1:$KAFKA_PORT" tencent. "$marker." "$expected" 15 "$deadline" 2>"$WORK/$name.count.err") \
    || { cat "$WORK/$name.count.err" >&2; out="events=0 unique=0 duplicates=0 dlq=0 seconds=0"; }
  local unique missing verdict
  unique=$(get unique "$out"); missing=$((expected - unique)); [[ $missing -lt 0 ]] && missing=0
  if [[ $missing -eq 0 ]]; then verdict="ok"
  elif [[ $name == peer-* ]]; then   # a peer's loss is reported, never the exit status
    verdict="lost $missing acknowledged events (a peer: reported only)"; PEER_MISSING=$((PEER_MISSING + missing))
  else verdict="**FAILED** ($missing acknowledged events missing)"; FAILED=1; fi
  # A request sent but never answered (timeout) may still reach Kafka and hide a loss.
  [[ $((sent - answered)) -gt 0 ]] && verdict="$verdict; $((sent - answered)) unanswered, so exact only to that"
  ROWS_KAFKA+=("| $name | $sent | $expected | $unique | $(get duplicates "$out") | $(get dlq "$out") | $missing | $verdict |")
  echo "   kafka: sent=$sent 200s=$expected on-kafka=$unique duplicates=$(get duplicates "$out") dlq=$(get dlq "$out") read in $(get seconds "$out")s -> $verdict"
}

