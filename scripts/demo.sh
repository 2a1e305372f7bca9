#!/usr/bin/env bash
# The round trip on a fresh machine: installs tansu if missing, builds the bridge, starts a
# local broker and the bridge, sends the four seed callbacks signed the way Tencent signs them,
# and prints the events read back from Kafka. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tansu.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet --bin tencent-kafka-bridge --example tail

work=$(mktemp -d)
kafka_port=${KAFKA_PORT:-19092}
http_port=${HTTP_PORT:-18080}
app_id=1400000000
token=demo-token
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$work" && exec tansu broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" >tansu.log 2>&1) &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$kafka_port) 2>/dev/null && break; sleep 0.1; done
for family in live.member group.member room.member other dlq; do
  (cd "$work" && tansu topic create "tencent.$family" --broker "tcp://127.0.0.1:$kafka_port" --partitions 3 >/dev/null)
done

target/release/tencent-kafka-bridge --listen "127.0.0.1:$http_port" --sdk-app-id "$app_id" \
  --auth-token "$token" --brokers "127.0.0.1:$kafka_port" --spool-dir "$work/spool" 2>"$work/bridge.log" &
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$http_port/readyz" >/dev/null && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$http_port/readyz"; echo

send() { # command body
  local t sign
  t=$(date +%s)
  sign=$(printf '%s%s' "$token" "$t" | sha256sum | cut -d' ' -f1)
  printf '%-40s -> ' "$1"
  curl -sS -X POST -H 'content-type: application/json' --data-binary "$2" \
    "http://127.0.0.1:$http_port/callback?SdkAppid=$app_id&CallbackCommand=$1&contenttype=json&ClientIP=203.0.113.9&OptPlatform=iOS&RequestTime=$t&Sign=$sign"
  echo
}
send Live.CallbackMemberStateChanged '{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online","EventCause":"Kicked","MemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1703589922780}'
send Group.CallbackOnMemberStateChange '{"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"@TGS#2J4SZEAEL","EventType":"Offline","EventCause":"HeartbeatInterrupt","MemberList":[{"Member_Account":"jared"}]}'
send Room.CallbackAfterMemberEnter '{"CallbackCommand":"Room.CallbackAfterMemberEnter","Operator_Account":"user1","RoomId":"rid-123","MemberCount":20,"Type":"Enter","MemberList_Account":["user1"],"EventTime":1670574414123}'
send Room.CallbackAfterMemberEnter '{"CallbackCommand":"Room.CallbackAfterMemberEnter","RoomId":"rid-123","MemberCount":"twenty","MemberList_Account":["user1"]}'

echo; echo "Events on Kafka:"
target/release/examples/tail "127.0.0.1:$kafka_port" tencent. 3
