"""The broker's ceiling for a Python client: read every partition of the given topics
from the start to its high watermark with confluent-kafka (librdkafka), no processing, in
batches of 10 000. Prints one JSON line: records, seconds, rate.

    python bare_consumer.py --brokers 127.0.0.1:19092 TOPIC [TOPIC ...]
    python bare_consumer.py --count-only TOPIC ...     # what the topics hold (watermarks)
"""

import argparse
import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", default="127.0.0.1:19092")
    ap.add_argument("--count-only", action="store_true")
    ap.add_argument("topics", nargs="+")
    args = ap.parse_args()
    c = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": f"bare-{time.time_ns()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    ends = {}
    for topic in args.topics:
        md = c.list_topics(topic, timeout=10).topics[topic]
        for p in md.partitions:
            _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > 0:
                ends[(topic, p)] = high
    total = sum(ends.values())
    if args.count_only:
        print(json.dumps({"records": total}))
        return 0
    c.assign([TopicPartition(t, p, 0) for (t, p) in ends])
    n = 0
    started = time.monotonic()
    remaining = dict(ends)
    while remaining and time.monotonic() - started < 600:
        for m in c.consume(num_messages=10_000, timeout=1.0):
            if m.error():
                continue
            n += 1
            key = (m.topic(), m.partition())
            if key in remaining and m.offset() + 1 >= remaining[key]:
                del remaining[key]
    secs = time.monotonic() - started
    c.close()
    print(json.dumps({"records": n, "seconds": round(secs, 3), "per_second": round(n / secs, 1)}))
    return 0 if not remaining else 1


if __name__ == "__main__":
    sys.exit(main())
