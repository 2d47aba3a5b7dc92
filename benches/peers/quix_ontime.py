"""The on-time job in Quix Streams: motcua's peer in benches/peers/run.sh.

Reads the four JSON input topics of a motcua prefix (the same records `motcua process`
reads), keeps per dossier (the message key, as motcua partitions) its agency and
appointment, and counts per agency the finished dossiers (RESULT_READY) that were early
(ready on a day before the appointment's day), on time (on the appointment's day, not after
it) or late (after the appointment). An apology's new appointment replaces the old one; a
repeated RESULT_READY is counted once. This is a deliberately small job: no working-day
calendar, no legal due time, no pauses, no validation, no pseudonyms, no ClickHouse
writes. What motcua does on top of it is the point of comparing the two.

Stops after `--expect` records (the sum of the topics' high watermarks) and prints one JSON
line: records, seconds from the first record to the last, the rate, and the counts.
"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import datetime

from quixstreams import Application

INPUTS = ("receipts", "processing", "returns", "surveys")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", default=os.environ.get("MOTCUA_BROKERS", "127.0.0.1:19092"))
    ap.add_argument("--topic-prefix", required=True)
    ap.add_argument("--expect", type=int, required=True, help="records to read, then stop")
    ap.add_argument("--group", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument(
        "--changelog",
        action="store_true",
        help="back the state with changelog topics (Quix's fault tolerance; off by default, "
        "as the processor's own checkpoint is not what is compared here)",
    )
    args = ap.parse_args()

    app = Application(
        broker_address=args.brokers,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        use_changelog_topics=args.changelog,
        # The input topics exist (tansu must not auto-create them); changelogs are created.
        auto_create_topics=args.changelog,
        loglevel="WARNING",
    )
    topics = [
        app.topic(
            f"{args.topic_prefix}.{name}",
            key_deserializer="str",
            value_deserializer="json",
        )
        for name in INPUTS
    ]
    sdf = app.dataframe(topics[0])
    for t in topics[1:]:
        sdf = sdf.concat(app.dataframe(t))

    counts = defaultdict(lambda: {"EARLY": 0, "ON_TIME": 0, "LATE": 0})
    seen = {"n": 0, "first": None, "last": None}

    def classify(agency: str, appointment: str, ended: str) -> None:
        due = datetime.fromisoformat(appointment)
        end = datetime.fromisoformat(ended).astimezone(due.tzinfo)
        if end.date() < due.date():
            verdict = "EARLY"
        elif end <= due:
            verdict = "ON_TIME"
        else:
            verdict = "LATE"
        counts[agency][verdict] += 1

    def on_time(value, state):
        now = time.monotonic()
        if seen["first"] is None:
            seen["first"] = now
        seen["last"] = now
        seen["n"] += 1
        kind = value.get("kind")
        if kind == "RECEIVED":
            state.set("agency", value["agency_code"])
            state.set("appointment", value["received"]["appointment_at"])
            ended = state.get("ended")
            if ended and not state.get("done"):
                classify(value["agency_code"], value["received"]["appointment_at"], ended)
                state.set("done", True)
        elif kind == "APOLOGY":
            state.set("appointment", value["apology"]["new_appointment_at"])
        elif kind == "RESULT_READY" and not state.get("done"):
            appointment = state.get("appointment")
            if appointment is None:
                # Its receipt comes later (events arrive out of order): judged then.
                state.set("ended", value["occurred_at"])
            else:
                classify(state.get("agency"), appointment, value["occurred_at"])
                state.set("done", True)
        return value

    sdf = sdf.update(on_time, stateful=True)
    started = time.monotonic()
    app.run(count=args.expect, timeout=60, collect=False)
    wall = time.monotonic() - started
    reading = (seen["last"] - seen["first"]) if seen["first"] is not None else 0.0
    totals = {k: sum(c[k] for c in counts.values()) for k in ("EARLY", "ON_TIME", "LATE")}
    print(
        json.dumps(
            {
                "records": seen["n"],
                "seconds_first_to_last": round(reading, 3),
                "per_second_first_to_last": round(seen["n"] / reading, 1) if reading else None,
                "seconds_in_run": round(wall, 3),
                "agencies": len(counts),
                "finished": totals,
            }
        )
    )
    return 0 if seen["n"] >= args.expect else 1


if __name__ == "__main__":
    sys.exit(main())
