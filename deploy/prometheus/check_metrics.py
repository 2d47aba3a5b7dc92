#!/usr/bin/env python3
"""Checks deploy/prometheus/alerts.yml against the code, without building it.

- Every motcua_* name in the rule file (expressions, annotations, comments) is a metric
  defined in services/core/src/names.rs or services/gateway/src/metrics.rs (a histogram's
  _bucket, _sum and _count series count as its name).
- A label matcher on a motcua_* metric names a label that metric is registered with (or a
  target label: job, instance), and each plain value it matches appears as a string literal
  in the Rust sources (status codes excepted: they come from the HTTP status).
- A matcher on `job` names a job of deploy/local/prometheus.yml.
- Every alert has a severity (critical, warning or info), a summary, a description, and a
  runbook pointing at a heading of docs/OPERATIONS.md.

Usage: check_metrics.py [RULE_FILE] (default deploy/prometheus/alerts.yml). Standard library
only (Python 3.11), so it runs on a fresh machine. Exits 1 listing every problem, 0 when there
is none.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts.yml"
NAMES = ROOT / "services/core/src/names.rs"
PROCESSOR_METRICS = ROOT / "services/runtime/src/metrics.rs"
GATEWAY_METRICS = ROOT / "services/gateway/src/metrics.rs"
PROMETHEUS_CONFIG = ROOT / "deploy/local/prometheus.yml"
OPERATIONS = ROOT / "docs/OPERATIONS.md"

TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
CONST = re.compile(r'pub const ([A-Z0-9_]+): &str = "(motcua_[a-z0-9_]+)";')
LABEL_LIST = re.compile(r'&\[\s*((?:"[a-z_]+"\s*,?\s*)+)\]')
SELECTOR = re.compile(r"\b(motcua_[a-z0-9_]+)(?:\{([^{}]*)\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def constants(path: Path) -> dict[str, str]:
    """Constant name -> metric name, as defined in a Rust file."""
    return dict(CONST.findall(path.read_text()))


def registered_labels(path: Path, consts: dict[str, str], prefix: str) -> dict[str, set[str]]:
    """Metric name -> label names, from the registration code after `fn new()`.

    Each registration names its constant (`names::X` or `X`) and, for a vector, a label list
    `&["a", "b"]` before the next constant: the text between two constants is one metric's.
    """
    text = path.read_text()
    start = text.find("fn new()")
    if start < 0:
        sys.exit(f"check_metrics: no `fn new()` in {path}: the registration code moved")
    text = text[start:]
    ref = re.compile(r"\b" + re.escape(prefix) + r"(" + "|".join(map(re.escape, consts)) + r")\b")
    refs = list(ref.finditer(text))
    labels: dict[str, set[str]] = {}
    for i, m in enumerate(refs):
        end = refs[i + 1].start() if i + 1 < len(refs) else len(text)
        found = LABEL_LIST.search(text, m.end(), end)
        names = set(re.findall(r'"([a-z_]+)"', found.group(1))) if found else set()
        labels[consts[m.group(1)]] = names
    return labels


def string_literals() -> set[str]:
    literals: set[str] = set()
    for path in (ROOT / "services").rglob("*.rs"):
        literals.update(re.findall(r'"([^"\\\n]*)"', path.read_text()))
    return literals


def base_name(name: str, defined: dict[str, set[str]]) -> str | None:
    if name in defined:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in defined:
            return name[: -len(suffix)]
    return None


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def rule_blocks(text: str) -> list[tuple[str, str, str]]:
    """(kind, name, block text) of each rule, split on `- alert:` / `- record:` lines."""
    starts = list(re.finditer(r"^\s*- (alert|record): *(\S+)\s*$", text, re.M))
    blocks = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        blocks.append((m.group(1), m.group(2), text[m.start() : end]))
    return blocks


def main() -> int:
    problems: list[str] = []
    missing: dict[str, int] = {}

    core = constants(NAMES)
    gateway = constants(GATEWAY_METRICS)
    if not core or not gateway:
        sys.exit("check_metrics: found no metric constants: the definitions moved")
    defined = registered_labels(PROCESSOR_METRICS, core, "names::")
    defined.update(registered_labels(GATEWAY_METRICS, gateway, ""))
    for name in set(core.values()) | set(gateway.values()):
        if name not in defined:
            problems.append(f"{name} is defined but not registered in a metrics.rs")
            defined[name] = set()

    jobs = set(re.findall(r"job_name:\s*['\"]?([\w.-]+)", PROMETHEUS_CONFIG.read_text()))
    literals = string_literals()
    rules = Path(sys.argv[1]) if len(sys.argv) > 1 else RULES
    text = rules.read_text()

    for lineno, line in enumerate(text.splitlines(), 1):
        for m in SELECTOR.finditer(line):
            name = m.group(1)
            base = base_name(name, defined)
            if base is None:
                missing[name] = missing.get(name, lineno)
                continue
            allowed = defined[base] | TARGET_LABELS
            if name.endswith("_bucket"):
                allowed = allowed | {"le"}
            for label, op, value in MATCHER.findall(m.group(2) or ""):
                if label not in allowed:
                    problems.append(
                        f"{rules.name}:{lineno}: {name} has no label `{label}` "
                        f"(registered: {', '.join(sorted(defined[base])) or 'none'})"
                    )
                    continue
                if label in TARGET_LABELS:
                    continue
                for alt in value.split("|"):
                    if label == "status" and re.fullmatch(r"[1-5][0-9.][0-9.]", alt):
                        continue
                    if not re.fullmatch(r"[\w .:/-]+", alt):
                        continue  # a real pattern, not a list of values
                    if alt not in literals:
                        problems.append(
                            f'{rules.name}:{lineno}: {name}{{{label}{op}"..."}}: value "{alt}" '
                            f"appears nowhere in services/ as a string literal"
                        )
        for label, _, value in MATCHER.findall(line):
            if label == "job" and value not in jobs:
                problems.append(
                    f'{rules.name}:{lineno}: job "{value}" is not a job_name of '
                    f"deploy/local/prometheus.yml ({', '.join(sorted(jobs))})"
                )

    headings = {
        anchor(h) for h in re.findall(r"^#{1,6} +(.+)$", OPERATIONS.read_text(), re.M)
    } if OPERATIONS.exists() else set()
    for kind, name, block in rule_blocks(text):
        if kind != "alert":
            continue
        severity = re.search(r"^\s*severity: *(\S+)\s*$", block, re.M)
        if not severity or severity.group(1) not in {"critical", "warning", "info"}:
            problems.append(f"alert {name}: severity must be critical, warning or info")
        for key in ("summary", "description"):
            if not re.search(rf"^\s*{key}: *\S", block, re.M):
                problems.append(f"alert {name}: no {key} annotation")
        runbook = re.search(r'^\s*runbook: *"?docs/OPERATIONS\.md#([\w-]+)"?\s*$', block, re.M)
        if not runbook:
            problems.append(f"alert {name}: no runbook annotation docs/OPERATIONS.md#...")
        elif runbook.group(1) not in headings:
            problems.append(
                f"alert {name}: runbook anchor #{runbook.group(1)} is no heading of docs/OPERATIONS.md"
            )
        if not re.search(r"^\s*for: *\S", block, re.M):
            problems.append(f"alert {name}: no `for:` (write `for: 0m` to fire at once)")

    if missing:
        problems.append(
            "metrics named in alerts.yml that the code does not define (proposed ones stay "
            "here until they are added to services/core/src/names.rs or the gateway):"
        )
        for name, lineno in sorted(missing.items()):
            problems.append(f"  {name} (first at {rules.name}:{lineno})")

    if problems:
        print("check_metrics: FAILED", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"check_metrics: OK ({len(defined)} metrics defined, every name and label in alerts.yml exists)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
