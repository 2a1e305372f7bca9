#!/usr/bin/env python3
"""The "just write it" Python peer of benches/run.sh: what a team would write instead of the
bridge. Same job as the bridge's memory mode: check the SdkAppid, parse the JSON body, build a
small event, produce it to the family's topic keyed by the room or group, answer Tencent's OK at
once (before the broker has the event). Plain code on purpose: aiohttp, confluent-kafka with
the defaults a team would pick, one process.

  python3 peer.py --port 8080 --brokers 127.0.0.1:9092 --prefix tencent. --sdk-app-id 1400000000
  (or PEER_PORT, PEER_BROKERS, PEER_TOPIC_PREFIX, PEER_SDK_APP_ID)
"""
import argparse
import json
import os
import sys
import time

from aiohttp import web
from confluent_kafka import Producer

FAMILIES = {
    "Live.CallbackAfterMemberStateChanged": "live.member",
    "Group.CallbackOnMemberStateChange": "group.member",
    "Room.CallbackAfterMemberEnter": "room.member",
}
OK = b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}'


def fail(status, code, info):
    body = {"ActionStatus": "FAIL", "ErrorInfo": info, "ErrorCode": code}
    return web.json_response(body, status=status)


def delivered(err, _msg):
    if err is not None:
        print(f"delivery failed: {err}", file=sys.stderr)


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(env("PEER_PORT", "8080")))
    ap.add_argument("--brokers", default=env("PEER_BROKERS", "127.0.0.1:9092"))
    ap.add_argument("--prefix", default=env("PEER_TOPIC_PREFIX", "tencent."))
    ap.add_argument("--sdk-app-id", default=env("PEER_SDK_APP_ID", "1400000000"))
    args = ap.parse_args()

    producer = Producer({
        "bootstrap.servers": args.brokers,
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "lz4",
    })
    producer.list_topics(timeout=10)  # fail at start, not on the first request, without a broker

    async def callback(request):
        query = request.query
        if query.get("SdkAppid") != args.sdk_app_id:
            return fail(403, 4031, "SdkAppid: not accepted")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return fail(400, 4001, "body: not JSON")
        if not isinstance(body, dict):
            return fail(400, 4002, "body: not an object")
        command = query.get("CallbackCommand") or body.get("CallbackCommand", "")
        room = body.get("RoomId") or body.get("GroupId") or ""
        members = [m.get("Member_Account") for m in body.get("MemberList", []) if isinstance(m, dict)]
        members += body.get("MemberList_Account", [])
        event = {
            "command": command,
            "sdk_app_id": args.sdk_app_id,
            "room": room,
            "members": members,
            "type": body.get("EventType") or body.get("Type"),
            "event_time": body.get("EventTime"),
            "received_ms": int(time.time() * 1000),
        }
        topic = args.prefix + FAMILIES.get(command, "other")
        try:
            producer.produce(topic, json.dumps(event).encode(), key=room.encode(), on_delivery=delivered)
        except BufferError:
            return fail(503, 5030, "producer queue full")
        producer.poll(0)
        return web.Response(body=OK, content_type="application/json")

    async def close_producer(_app):
        producer.flush(30)

    app = web.Application()
    app.router.add_post("/callback", callback)
    app.on_cleanup.append(close_producer)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
