#!/usr/bin/env python3
"""A consumer of tencent-kafka-bridge's topics, written the way docs/consumers.md recommends:
a consumer group, offsets committed only after a record is handled (at-least-once),
re-deliveries dropped by ce_id + received_at_ms, one line per membership change.

    pip install -r examples/python/requirements.txt
    python3 examples/python/consumer.py 127.0.0.1:9092 tencent. my-service
    python3 examples/python/consumer.py 127.0.0.1:9092 tencent. my-service --max-records 10

Arguments: brokers, topic prefix, consumer group. --max-records N exits after N records,
re-deliveries included (for tests and demos; a service runs until stopped). Output, one line
per record, the same as examples/consumer.rs:

    live.member room=room_id online (enter): jared, tommy  [event 5c0f0e5b...]
    duplicate 5c0f0e5b... dropped
"""

import argparse
import json
import sys
from collections import OrderedDict

from confluent_kafka import Consumer, KafkaError, KafkaException

FAMILIES = ["live.member", "group.member", "room.member", "user.state", "trtc.member", "trtc.media", "mic.seat", "other", "dlq"]

# How many recent records are remembered. A re-delivery (the bridge re-sending from its spool
# after a crash or an outage) comes soon after the original, so a bounded window is enough;
# size it to a few minutes of traffic.
DEDUPE_WINDOW = 100_000


class Recent:
    """The most recent `capacity` keys, oldest evicted first."""

    def __init__(self, capacity):
        self.keys = OrderedDict()
        self.capacity = capacity

    def first_time(self, key):
        if key in self.keys:
            return False
        if len(self.keys) >= self.capacity:
            self.keys.popitem(last=False)
        self.keys[key] = None
        return True


def dedupe_key(event, msg):
    """What identifies one callback across re-deliveries: the ce_id header. Since schema 4 it is
    unique per accepted callback and every copy (a re-send from the spool, a replay) keeps it.
    Before schema 4 it equalled event_id, a hash of the body two genuine events can share (the
    same member going offline twice), so received_at_ms, which a re-delivery repeats, is part of
    the key: right for records of every version."""
    ce_id = dict(msg.headers() or []).get("ce_id", b"").decode()
    return f"{ce_id or event.get('event_id')}/{event.get('received_at_ms')}"


def describe(family, v):
    """One line saying what changed."""

    def s(k):
        x = v.get(k)
        return "-" if x is None else str(x)

    if family == "dlq":
        return f"dlq app={s('sdk_app_id')} command={s('command')} code={v.get('error_code')}: {s('reason')}"
    if family == "other":
        return f"other app={s('sdk_app_id')} command={s('command')}"
    if v.get("room_id") is not None:
        subject = f"room={v['room_id']}"
    elif v.get("group_id") is not None:
        subject = f"group={v['group_id']}"
    else:
        subject = f"app={s('sdk_app_id')}"
    members = ", ".join(m for m in (v.get("members") or []) if isinstance(m, str))
    return f"{family} {subject} {s('state')} ({s('cause')}): {members}"


def handle(msg, prefix, seen):
    """Prints the record's line, or that it was a re-delivery."""
    topic = msg.topic()
    family = topic[len(prefix):] if topic.startswith(prefix) else topic
    try:
        event = json.loads(msg.value())
    except (TypeError, ValueError):
        event = None
    if not isinstance(event, dict):
        print(f"skipping a record that is not a JSON object at {topic}/{msg.partition()}/{msg.offset()}",
              file=sys.stderr)
        return
    event_id = event.get("event_id", "-")
    if seen.first_time(dedupe_key(event, msg)):
        print(f"{describe(family, event)}  [event {event_id}]", flush=True)
    else:
        print(f"duplicate {event_id} dropped", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("brokers", nargs="?", default="127.0.0.1:9092")
    p.add_argument("prefix", nargs="?", default="tencent.")
    p.add_argument("group", nargs="?", default="tencent-kafka-bridge-example")
    p.add_argument("--max-records", type=int, help="exit after N records, re-deliveries included")
    args = p.parse_args()

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            # A new group starts from the beginning of each topic; an existing one where it left.
            "auto.offset.reset": "earliest",
            # Commit only what was handled (below), so a crash re-reads rather than skips.
            "enable.auto.commit": False,
        }
    )
    topics = [args.prefix + f for f in FAMILIES]
    consumer.subscribe(topics)
    print(f"consuming {', '.join(topics)} as group {args.group}", file=sys.stderr)

    seen = Recent(DEDUPE_WINDOW)
    records = 0
    try:
        while args.max_records is None or records < args.max_records:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                print(f"consumer error: {msg.error()}", file=sys.stderr)
                continue
            records += 1
            handle(msg, args.prefix, seen)
            consumer.commit(message=msg, asynchronous=True)
        # Make sure the last commits reached the broker before leaving the group ("no offset"
        # means the asynchronous commits already did).
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != KafkaError._NO_OFFSET:
                raise
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
