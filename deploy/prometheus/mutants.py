#!/usr/bin/env python3
"""Checks that the unit tests of deploy/prometheus/alerts.yml can fail.

A test that passes whatever the rule says proves nothing. Each mutant below is a copy of the
rule file with one rule broken; promtool must reject every one of them:

- never: the alert's expression matches nothing. Some case where it must fire fails.
- always: the expression is `vector(1)`, true at every instant. Some case where it must NOT
  fire fails (a firing alert where exp_alerts is empty), at a time past its `for:`.
- targeted: one guard removed or one threshold moved (the growth condition of the lag alert,
  the UTC offset of office hours, the catching-up guard, ...), each described below.

For speed, a mutant runs only the test groups that name the rule (or a rule using it), against
only the rules those groups name: the calendar tests span eleven days, and promtool evaluates
every rule of the file at every step. A mutant counts as killed only if a failure names the
broken rule (or a rule using it). Standard library only (Python 3.11). Exits 1 naming every
mutant that survived.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = HERE / "alerts.yml"
TESTS = [HERE / "alerts_test.yml", HERE / "alerts_calendar_test.yml"]
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

# (rule, what the tests must notice, text in the rule's block, replacement, occurrences)
TARGETED = [
    ("MotcuaProcessorDown", "a scrape missed for less than `for:`", "for: 2m", "for: 0m", 1),
    ("MotcuaProcessorOwnsNoPartitions", "per-replica instead of per-job",
     "sum by (job) (motcua_processor_partitions_owned) == 0",
     "min by (job) (motcua_processor_partitions_owned) == 0", 1),
    ("MotcuaConsumerLagGrowing", "lag that shrinks",
     "(delta(motcua_processor_consumer_lag_messages[15m])) > 0",
     "(delta(motcua_processor_consumer_lag_messages[15m])) > -1e12", 1),
    ("MotcuaConsumerLagGrowing", "lag below one batch", "> 20000", "> 0", 1),
    ("MotcuaDeadLettersAppearing", "the first dead letter of a reason (a new series)",
     "unless motcua_processor_events_rejected_total offset 10m",
     "unless motcua_processor_events_rejected_total", 1),
    ("MotcuaDeadLettersAppearing", "old, flat dead letters",
     "unless motcua_processor_events_rejected_total offset 10m",
     "unless motcua_processor_events_rejected_total offset 10y", 1),
    ("MotcuaDeadLetterShareHigh", "a 1% share", "> 0.05", "> 0.005", 1),
    ("MotcuaWatermarkStalled", "a quiet night (nothing folded)",
     "(rate(motcua_processor_events_folded_total[30m])) > 0",
     "(rate(motcua_processor_events_folded_total[30m])) >= 0", 1),
    ("MotcuaProcessorRetryingLong", "retries that recover in between",
     "max by (job, instance) (motcua_processor_retrying) == 1",
     "max by (job, instance) (max_over_time(motcua_processor_retrying[2m])) == 1", 1),
    ("MotcuaKafkaOperationsRetrying", "a single failed read", "for: 5m", "for: 3m", 1),
    ("MotcuaClickHouseInsertsFailing", "a single failed insert", "for: 5m", "for: 3m", 1),
    ("MotcuaClickHouseInsertsSlow", "fast inserts", ") > 5", ") > 0.001", 1),
    ("MotcuaFiguresStale", "quick records", ") > 300", ") > 0.001", 1),
    ("MotcuaFiguresStale", "a replay (partitions catching up)",
     "unless on (job) sum by (job) (motcua_processor_partitions_catching_up) > 0", "", 1),
    ("MotcuaGatewayUnavailable", "a 1% share of 503", "> 0.05", "> 0.005", 1),
    ("MotcuaGatewayRejectingRecords", "pending portal rows",
     '{reason!="pending"}', "", 2),
    ("MotcuaGatewayRejectingRecords", "a handful of rejected records", ">= 20", ">= 0", 1),
    ("MotcuaGatewayAccessFileInvalid", "the first failed reload (a new series)",
     'unless motcua_gateway_config_reloads_total{result="error"} offset 15m',
     'unless motcua_gateway_config_reloads_total{result="error"}', 1),
    ("MotcuaGatewaySlowAcknowledgements", "fast acknowledgements", ") > 5", ") > 0.001", 1),
    ("motcua:vietnam_working_hours", "office hours read as UTC (no +7 offset)",
     "hour() * 60 + minute() >= 30 and hour() * 60 + minute() < 270",
     "hour() * 60 + minute() >= 450 and hour() * 60 + minute() < 690", 1),
    ("motcua:vietnam_working_hours", "an afternoon shifted by one hour",
     "hour() * 60 + minute() >= 390 and hour() * 60 + minute() < 600",
     "hour() * 60 + minute() >= 330 and hour() * 60 + minute() < 540", 1),
    ("motcua:vietnam_working_hours", "weekends",
     "day_of_week() >= 1 and day_of_week() <= 5", "day_of_week() >= 0 and day_of_week() <= 6", 1),
    ("MotcuaAgencySilentInWorkingHours", "small agencies (last week's baseline)",
     "offset 1w)) >= 5", "offset 1w)) >= 0", 1),
    ("MotcuaAgencySilentInWorkingHours", "office hours (the rule ignored)",
     "and on () motcua:vietnam_working_hours", "", 1),
    ("MotcuaOverdueDossiersSpike", "a rebuild (partitions catching up)",
     "(motcua_processor_partitions_catching_up) > 0",
     "(motcua_processor_partitions_catching_up) > 1e9", 1),
    ("MotcuaOverdueDossiersSpike", "a small relative rise", "> 1.25 *", "> 1.0 *", 1),
    ("MotcuaOverdueDossiersSpike", "a small absolute rise", ") >= 50", ") >= 0", 1),
    ("MotcuaOffCalendarRows", "old provisional rows", "[1h]", "[2h]", 1),
]


def rule_blocks(text: str) -> dict[str, tuple[int, int]]:
    """Rule name -> (start, end) offsets of its block in the rule file."""
    starts = list(re.finditer(r"^ +- (?:alert|record): *(\S+) *$", text, re.M))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    blocks = {}
    for m, end in zip(starts, ends):
        group = text.find("\n  - name:", m.start(), end)
        blocks[m.group(1)] = (m.start(), group if group >= 0 else end)
    return blocks


def replace_expr(block: str, expr: str) -> str:
    """The block with its `expr:` (inline or `|` scalar) replaced by `expr`."""
    m = re.search(r"^( +)expr:.*\n((?:\1 +.*\n|\s*\n)*)", block, re.M)
    if not m:
        raise ValueError("no expr")
    return block[: m.start()] + f"{m.group(1)}expr: {expr}\n" + block[m.end() :]


def split_tests(text: str) -> tuple[str, list[str]]:
    """Header (up to `tests:`) and test groups of a promtool test file."""
    head, _, body = text.partition("\ntests:\n")
    parts = re.split(r"(?m)^(?=  - name:)", body)
    return head + "\ntests:\n", [p for p in parts if p.startswith("  - name:")]


def named(text: str, blocks: dict[str, tuple[int, int]]) -> set[str]:
    """The rules a piece of text names."""
    return {n for n in blocks if re.search(rf"(?<![\w:]){re.escape(n)}(?![\w:])", text)}


def run(text: str, blocks: dict[str, tuple[int, int]], names: set[str], workdir: Path
        ) -> subprocess.CompletedProcess[str]:
    """promtool test rules: the test groups naming any of `names`, against the rules of `text`
    (the whole rule file, one rule mutated) that those groups and the rules they use need."""
    files, needed = [], set(names)
    for test in TESTS:
        head, groups = split_tests(test.read_text())
        chosen = [g for g in groups if named(g, blocks) & names]
        if chosen:
            path = workdir / test.name
            path.write_text(head + "".join(chosen))
            files.append(str(path))
            for g in chosen:
                needed |= named(g, blocks)
    if not files:
        raise ValueError(f"no test group names {sorted(names)}")
    for n in list(needed):
        start, end = blocks[n]
        needed |= {m for m in named(text[start:end], blocks) if ":" in m}
    # in file order, so a recorded series is evaluated before the alerts reading it
    kept = [text[s:e].rstrip("\n") + "\n" for n, (s, e) in sorted(blocks.items(), key=lambda b: b[1]) if n in needed]
    (workdir / "alerts.yml").write_text("groups:\n  - name: mutant\n    rules:\n" + "\n".join(kept))
    return subprocess.run([PROMTOOL, "test", "rules", *files], capture_output=True, text=True)


def main() -> int:
    text = RULES.read_text()
    blocks = rule_blocks(text)
    # rules whose expression uses a recorded series: their tests also test the record
    users = {
        name: {n for n, (s, e) in blocks.items() if n != name and name in text[s:e]}
        for name in blocks
        if ":" in name
    }
    survived: list[str] = []
    count = 0

    def mutate(name: str, mutated_block: str, label: str, must: str | None) -> None:
        nonlocal count
        count += 1
        start, end = blocks[name]
        names = {name} | users.get(name, set())
        mutated = text[:start] + mutated_block + text[end:]
        shift = len(mutated_block) - (end - start)
        moved = {n: (s + shift, e + shift) if s > start else (s, e + shift if s == start else e)
                 for n, (s, e) in blocks.items()}
        if must is None:
            must = "|".join(re.escape(n) for n in sorted(names))
        with tempfile.TemporaryDirectory(prefix="motcua-mutant-") as d:
            r = run(mutated, moved, names, Path(d))
        out = r.stdout + r.stderr
        problem = None
        if r.returncode == 0:
            problem = "the tests still pass"
        elif "could not parse" in out or "error parsing" in out:
            problem = "the mutant does not parse (fix mutants.py)"
        elif must and not re.search(must, out):
            problem = f"the tests fail, but not as expected (no match for {must})"
        if problem:
            survived.append(f"{name}: {label}: {problem}")
        print(f"  {'LIVE' if problem else 'dead'}  {name}: {label}", flush=True)

    # The reduced runs must pass unmutated, or every mutant would look killed.
    for name in blocks:
        with tempfile.TemporaryDirectory(prefix="motcua-mutant-") as d:
            r = run(text, blocks, {name} | users.get(name, set()), Path(d))
        if r.returncode != 0:
            print(r.stdout + r.stderr, file=sys.stderr)
            print(f"mutants: the tests of {name} fail on the unmutated rules", file=sys.stderr)
            return 1
    print(f"  the tests of each of the {len(blocks)} rules pass alone, unmutated", flush=True)

    for name, (start, end) in blocks.items():
        block = text[start:end]
        kind = "record" if ":" in name else "alert"
        alert = re.escape(name)
        mutate(name, replace_expr(block, "vector(1) > 2"), "never true",
               None if kind == "record" else rf"alertname: {alert}, time: [^\n]*\n\s*exp:\[\n")
        if kind == "alert":
            mutate(name, replace_expr(block, "vector(1)"), "always true",
                   rf"alertname: {alert}, time: [^\n]*\n\s*exp:\[\],")
    for name, label, old, new, times in TARGETED:
        start, end = blocks[name]
        block = text[start:end]
        if block.count(old) != times:
            survived.append(f"{name}: {label}: `{old}` occurs {block.count(old)} times, not {times} (fix mutants.py)")
            continue
        mutate(name, block.replace(old, new), label, None)

    if survived:
        print(f"mutants: FAILED, {len(survived)} of {count} mutants survived:", file=sys.stderr)
        for s in survived:
            print(f"  {s}", file=sys.stderr)
        return 1
    print(f"mutants: OK (all {count} broken rule files fail the tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
