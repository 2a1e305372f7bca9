#!/usr/bin/env bash
# The round trip on a fresh machine: installs tansu if missing, builds the bridge, starts a
# local broker and the bridge, acts as Tencent with `tencent-kafka-bridge send` (the built-in
# seed samples, signed like Tencent, a room's lifecycle, one TRTC enter and exit signed like
# TRTC, plus one broken body that lands on the DLQ), and prints
# the events read back from Kafka with `tencent-kafka-bridge tail`. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tansu.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet --bin tencent-kafka-bridge
bridge=target/release/tencent-kafka-bridge

work=$(mktemp -d)
kafka_port=${KAFKA_PORT:-19092}
http_port=${HTTP_PORT:-18080}
admin_port=${ADMIN_PORT:-19091}
app_id=1400000000
token=demo-token
trtc_key=demoTrtcKey42
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
printf '%s\n' "$trtc_key" >"$work/trtc-key"

(cd "$work" && exec tansu broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" >tansu.log 2>&1) &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$kafka_port) 2>/dev/null && break; sleep 0.1; done
for family in live.member group.member room.member user.state trtc.member trtc.media mic.seat other dlq; do
  (cd "$work" && tansu topic create "tencent.$family" --broker "tcp://127.0.0.1:$kafka_port" --partitions 3 >/dev/null)
done
# The presence view's state topic: compacted, co-partitioned with the member topics.
(cd "$work" && tansu topic create tencent.presence --broker "tcp://127.0.0.1:$kafka_port" --partitions 3 \
  --config cleanup.policy=compact >/dev/null)

# The bridge refuses to start without a token (or an explicit --allow-unsigned): give it one
# the way production does, from a file, and sign the callbacks below with the same one.
printf '%s\n' "$token" >"$work/token"
$bridge --listen "127.0.0.1:$http_port" --admin-listen "127.0.0.1:$admin_port" --sdk-app-id "$app_id" \
  --auth-token-file "$work/token" --trtc-key-file "$work/trtc-key" --brokers "127.0.0.1:$kafka_port" --spool-dir "$work/spool" 2>"$work/bridge.log" &
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$admin_port/readyz" >/dev/null && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$admin_port/readyz"; echo

url="http://127.0.0.1:$http_port/callback"
for sample in live group room-create room-enter room-leave room-destroy group-join group-exit user-login; do
  $bridge send --url "$url" --sdk-app-id "$app_id" --token-file "$work/token" --sample "$sample"
done
# TRTC: its own path, its own signature (HMAC-SHA256 of the body under the TRTC key).
for sample in trtc-enter trtc-exit; do
  $bridge send --url "http://127.0.0.1:$http_port/trtc" --sdk-app-id "$app_id" \
    --trtc-key "$trtc_key" --sample "$sample"
done
# An authentic callback with a broken body: answered FAIL and kept on tencent.dlq.
printf '{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"rid-123","MemberCount":"twenty"}' >"$work/broken.json"
$bridge send --url "$url" --sdk-app-id "$app_id" --token-file "$work/token" \
  --command Room.CallbackAfterMemberEnter --body "$work/broken.json" || true

echo; echo "Events on Kafka (tencent-kafka-bridge tail --from-beginning):"
$bridge tail --brokers "127.0.0.1:$kafka_port" --from-beginning --max-events 12 --idle-exit 15s
