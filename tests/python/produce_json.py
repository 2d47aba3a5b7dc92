"""Publish JSON-lines dossier events with confluent-kafka: a client motcua did not write.

Usage: produce_json.py BROKERS TOPIC_PREFIX FILE

Routes each event to the topic of its kind, keys it by dossier code and uses the Java
client's murmur2 partitioner, as docs/CONTRACT.md asks of agency systems. Prints the
number of events acknowledged.
"""
import json
import sys

from confluent_kafka import Producer

ROUTES = {
    "RECEIVED": "receipts", "REFUSED": "receipts",
    "SUPPLEMENT_REQUESTED": "processing", "SUPPLEMENT_RECEIVED": "processing",
    "APOLOGY": "processing", "PROCESSING_STOPPED": "processing",
    "HANDOVER": "processing", "WITHDRAWN": "processing",
    "RESULT_READY": "returns", "RESULT_RETURNED": "returns",
    "SURVEY": "surveys", "SIPAS_RESPONSE": "surveys", "FEEDBACK": "surveys",
    "PORTAL_SYNCED": "processing",
}


def main() -> int:
    brokers, prefix, path = sys.argv[1:4]
    producer = Producer({
        "bootstrap.servers": brokers,
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
    })
    acked = 0
    errors = []

    def on_delivery(err, _msg):
        nonlocal acked
        if err is None:
            acked += 1
        else:
            errors.append(str(err))

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            event = json.loads(line)
            topic = f"{prefix}.{ROUTES[event['kind']]}"
            producer.produce(topic, key=event["dossier_code"].encode(), value=line.strip().encode(),
                             headers={"content-type": "application/json"}, on_delivery=on_delivery)
            producer.poll(0)
    producer.flush(60)
    if errors:
        print(f"delivery errors: {errors[:5]}", file=sys.stderr)
        return 1
    print(acked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
