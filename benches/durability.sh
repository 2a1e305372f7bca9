#!/usr/bin/env bash
# Durability proof of spool mode (issue 4): the long version of tests/spool.rs.
#
#   benches/durability.sh          10 SIGKILL rounds under load, then a 60 s Kafka outage
#                                  under load; about 2-3 minutes after the build
#   KILLS=3 OUTAGE_SECS=10 benches/durability.sh     a quick look
#
# What it does, all on 127.0.0.1:
#   1. builds the bridge and examples/durability.rs in release mode;
#   2. in a fresh temp dir, starts tansu (memory engine) with the bridge's topics, a TCP proxy
#      in front of it (tansu advertises the proxy, so every client goes through it), and the
#      bridge in spool mode (the default), 1 MiB segments, message.timeout.ms=10000;
#   3. CLIENTS (8) concurrent clients post Live callbacks at RATE (1000/s offered in all), one
#      request at a time each, every callback with a member account used once, each client
#      with two rooms of its own;
#   4. KILLS (10) times, at a random moment 1-4 s after the last start: SIGKILL the bridge,
#      restart it on the same spool dir and port, wait for /readyz 200 (clients keep trying);
#   5. cuts the proxy for OUTAGE_SECS (60): the bridge cannot reach Kafka, callbacks keep
#      being answered OK from the spool; restores it and keeps the load on 10 s more;
#   6. stops the clients, reads the topic back from offset 0 with a real consumer until every
#      acknowledged member is found (deadline 300 s), and prints:
#        sent          requests sent
#        acknowledged  answered 200 OK: the bridge promised these
#        not acked     no 200: connection refused while the bridge was down, or cut by a kill
#                      (the bridge promised nothing for these)
#        delivered     acknowledged callbacks found on Kafka
#        lost          acknowledged, not on Kafka: MUST be 0
#        duplicates    extra copies (at-least-once after a SIGKILL: the same event_id again)
#        unacked but delivered   accepted and fsynced, but the kill came before the answer
#        rooms out of order   rooms whose first occurrences are not in acknowledgement order
#        bridge log    torn tails cut and segments quarantined at restarts, re-send rounds
#                      (deliveries that failed during the outage) and producer renewals
#
# Exit status: 0 only when lost is 0 and every room is in order; non-zero otherwise, or when a
# phase could not run (the bridge did not come back, nothing acknowledged during the outage).
# SPOOL_TEST_SEED=N replays the kill moments of an earlier run (each run prints its seed).
# KEEP_WORK=1 keeps the temp dir (bridge.log holds every start's recovery lines).
# Needs: cargo, tansu (scripts/install-tansu.sh or $TANSU_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU=${TANSU_BIN:-$(command -v tansu || echo "$HOME/.cargo/bin/tansu")}
[[ -x $TANSU ]] || { echo "tansu not found (scripts/install-tansu.sh, or set TANSU_BIN)" >&2; exit 2; }

echo "== building (release)"
cargo build --release --quiet --bin tencent-kafka-bridge --example durability

WORK=$(mktemp -d "${TMPDIR:-/tmp}/durability.XXXXXX")
cleanup() { [[ ${KEEP_WORK:-0} == 1 ]] && echo "work dir kept: $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

echo "== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc:   $(nproc)"
echo "kernel:  $(uname -r)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "tansu:   $("$TANSU" --version 2>&1 | head -1)"
echo "bridge:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "spool:   $WORK/spool on $(df -PT "$WORK" | awk 'NR==2 {print $2}')"
echo "== run"
status=0
timeout 1800 target/release/examples/durability target/release/tencent-kafka-bridge "$TANSU" "$WORK" || status=$?
if [[ $status == 0 ]]; then
  echo "== PASS: every acknowledged callback reached Kafka"
else
  echo "== FAIL (exit $status)"
  [[ -f $WORK/bridge.log ]] && { echo "-- last bridge log lines:"; tail -20 "$WORK/bridge.log"; }
fi
exit $status
