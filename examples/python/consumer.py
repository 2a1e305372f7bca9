#!/usr/bin/env python3
"""A consumer of tencent-kafka-bridge's topics, written the way docs/consumers.md recommends:
a consumer group, offsets committed only after an event is handled, duplicates dropped by
event_id (the bridge delivers at least once), one line per membership change.

    pip install -r examples/python/requirements.txt
    python3 examples/python/consumer.py 127.0.0.1:9092 tencent. my-service
    python3 examples/python/consumer.py 127.0.0.1:9092 tencent. my-service --max-events 10 --idle-secs 20

Arguments: brokers, topic prefix, consumer group. --max-events N exits after N distinct
events, --idle-secs S after S seconds without a new record (for tests and demos; a service
runs until stopped). Output, one line per event, the same as examples/consumer.rs:

    live.member room=room_id online (enter): jared, tommy  [event 5c0f0e5b...]
    duplicate 5c0f0e5b... dropped
"""

import argparse
import json
import sys
import time
from collections import OrderedDict

from confluent_kafka import Consumer, KafkaError

FAMILIES = ["live.member", "group.member", "room.member", "other", "dlq"]

# How many recent event_ids are remembered. Duplicates arrive close to the original (a re-send
# after a crash or an outage re-sends what was not yet confirmed), so a bounded window is
# enough; size it to a few minutes of traffic.
DEDUPE_WINDOW = 100_000


class RecentIds:
    """The most recent `capacity` ids, oldest evicted first."""

    def __init__(self, capacity):
        self.ids = OrderedDict()
        self.capacity = capacity

    def first_time(self, event_id):
        if event_id in self.ids:
            return False
        if len(self.ids) >= self.capacity:
            self.ids.popitem(last=False)
        self.ids[event_id] = None
        return True


def describe(family, v):
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


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("brokers", nargs="?", default="127.0.0.1:9092")
    p.add_argument("prefix", nargs="?", default="tencent.")
    p.add_argument("group", nargs="?", default="tencent-kafka-bridge-example")
    p.add_argument("--max-events", type=int, help="exit after N distinct events")
    p.add_argument("--idle-secs", type=float, help="exit after S seconds without a new record")
    args = p.parse_args()

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            # A new group starts from the beginning of each topic; an existing one where it left.
            "auto.offset.reset": "earliest",
            # Commit only what was handled (below), so a crash re-reads rather than skips.
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    topics = [args.prefix + f for f in FAMILIES]
    # --idle-secs counts from the last record, or from when partitions were assigned (joining
    # the group can take seconds), or from the start.
    last_record = time.monotonic()

    def on_assign(_consumer, _partitions):
        nonlocal last_record
        last_record = time.monotonic()

    consumer.subscribe(topics, on_assign=on_assign)
    print(f"consuming {', '.join(topics)} as group {args.group}", file=sys.stderr)

    seen = RecentIds(DEDUPE_WINDOW)
    handled = 0
    try:
        while True:
            if args.max_events is not None and handled >= args.max_events:
                break
            if args.idle_secs is not None and time.monotonic() - last_record >= args.idle_secs:
                print(f"no new record for {args.idle_secs}s; exiting", file=sys.stderr)
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    print(f"consumer error: {msg.error()}", file=sys.stderr)
                continue
            last_record = time.monotonic()
            topic = msg.topic()
            family = topic[len(args.prefix):] if topic.startswith(args.prefix) else topic
            try:
                value = json.loads(msg.value())
            except (TypeError, ValueError):
                print(f"skipping a record that is not JSON at {topic}/{msg.partition()}/{msg.offset()}", file=sys.stderr)
                consumer.commit(message=msg, asynchronous=True)
                continue
            # The id is in the value and, identical, in the ce_id header.
            headers = dict(msg.headers() or [])
            event_id = value.get("event_id") or (headers.get("ce_id") or b"").decode()
            if seen.first_time(event_id):
                print(f"{describe(family, value)}  [event {event_id}]", flush=True)
                handled += 1
            else:
                print(f"duplicate {event_id} dropped", flush=True)
            consumer.commit(message=msg, asynchronous=True)
    finally:
        try:
            consumer.commit(asynchronous=False)
        except Exception:  # nothing to commit
            pass
        consumer.close()


if __name__ == "__main__":
    main()
