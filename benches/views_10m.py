#!/usr/bin/env python3
"""View latency at province scale: every documented figure view, served from the
processor's aggregate cells, beside its per-dossier definition (`*_scan`), on the same
synthetic ten million dossiers, in the same run (docs/PERFORMANCE.md, "Views").

    python3 benches/views_10m.py [--dossiers 10000000] [--keep]

Needs the local ClickHouse (deploy/local/up.sh). The data is generated inside ClickHouse
(INSERT ... SELECT FROM numbers), shaped like the simulator's: one province, 700 agencies
on three levels, 200 procedures in 20 fields, three channels, received from January to
mid-October 2026, a few percent still open at the watermark. The per-dossier tables hold
what the processor writes for such dossiers; the aggregate cells are derived from them in
SQL (the processor's own cells are checked against the scans by the integration tests; here
only their number and shape matter), and the script checks that both sides give the same
figures before it times anything. Each query is the one a dashboard or a report asks: one
month (or one month's days) for one agency or the province.
"""

import argparse
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(HERE, "..", "deploy", "clickhouse", "migrations")
URL = os.environ.get("MOTCUA_CLICKHOUSE_URL", "http://127.0.0.1:18123")
GROUP = "bench-views"
WATERMARK = "2026-10-20 12:00:00"


class Refused(Exception):
    pass


def query(sql, database=None, settings=None, fmt=True, may_fail=False):
    params = {}
    if database:
        params["database"] = database
    params.update(settings or {})
    url = URL + "/?" + urllib.parse.urlencode(params)
    body = sql + (" FORMAT TabSeparated" if fmt else "")
    req = urllib.request.Request(url, data=body.encode())
    try:
        with urllib.request.urlopen(req, timeout=3600) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode()[:1000]
        if may_fail:
            raise Refused(text)
        sys.exit(f"ClickHouse refused:\n{sql[:400]}\n{text}")
    except urllib.error.URLError as e:
        sys.exit(f"ClickHouse is not reachable at {URL} ({e}); start it with deploy/local/up.sh")


def migrate(db):
    """Applies the migrations the way the migrator does (comments out, split on `;` at a
    line end, `${db}` replaced)."""
    query(f"DROP DATABASE IF EXISTS {db}", fmt=False)
    query(f"CREATE DATABASE {db}", fmt=False)
    for name in sorted(os.listdir(MIGRATIONS)):
        if not name.endswith(".sql"):
            continue
        text = open(os.path.join(MIGRATIONS, name)).read()
        body = "".join(l + "\n" for l in text.split("\n") if not l.strip().startswith("--"))
        for st in body.split(";\n"):
            st = st.strip().replace("${db}", db)
            if st:
                query(st, fmt=False)


def generate(db, n):
    # Agencies: 20 departments, 30 districts, 650 communes of province P01.
    agency = (
        "multiIf(a < 20, concat('P01.S', toString(a)),"
        " a < 50, concat('P01.D', toString(a)),"
        " concat('P01.D', toString(20 + a % 30), '.C', toString(a)))"
    )
    level = "multiIf(a < 20, 'PROVINCE', a < 50, 'DISTRICT', 'COMMUNE')"
    base = f"""
        SELECT
            concat('P01-', toString(number)) AS code,
            intHash32(number) % 700 AS a,
            {agency} AS agency_code,
            {level} AS agency_level,
            intHash32(number + 1000000007) % 200 AS p,
            concat('TT', toString(p)) AS procedure_code,
            concat('F', toString(p % 20)) AS field_code,
            arrayElement(['IN_PERSON', 'ONLINE', 'POSTAL'], 1 + number % 3) AS channel,
            toDateTime('2026-01-01 08:00:00', 'Asia/Ho_Chi_Minh')
                + toUInt32(number * (290 * 86400 / {n})) AS received,
            1 + intHash32(number + 2000000011) % 15 AS limit_days,
            received + limit_days * 86400 AS due,
            intHash32(number * 3 + 7) % 100 AS r,
            received + toUInt32((limit_days * (r < 10 ? 1.4 : (r < 40 ? 0.99 : 0.6))) * 86400) AS finished,
            finished > toDateTime('{WATERMARK}', 'Asia/Ho_Chi_Minh') OR r = 99 AS open,
            multiIf(open, 'IN_PROGRESS', r < 10, 'LATE', r < 40, 'ON_TIME', 'EARLY') AS outcome
        FROM numbers({n})
    """
    query(f"""
        INSERT INTO {db}.dossier_state
            (dossier_code, version, agency_code, province_code, agency_level, procedure_code,
             field_code, channel, status, outcome, received_at, appointment_at, end_at,
             end_date, last_event_at, updated_at, legal_due_at, legal_limit_amount,
             legal_limit_unit, due_at, resolution_units)
        SELECT code, 5, agency_code, 'P01', agency_level, procedure_code, field_code, channel,
               open ? 2 : 10, outcome, received, due, open ? NULL : finished,
               open ? NULL : toDate(finished), received, received, due, limit_days,
               'WORKING_DAY', due, open ? NULL : round((finished - received) / 86400, 4)
        FROM ({base})""", fmt=False)
    # One report row per kind for the period the dossier ended in (or, open, was received in).
    query(f"""
        INSERT INTO {db}.dossier_periods
        SELECT code, kind.1, kind.2, kind.3, kind.4, 5, 1, agency_code, 'P01', agency_level,
               procedure_code, limit_days, 'WORKING_DAY',
               open ? (due < kind.4 ? 'OVERDUE_IN_PROGRESS' : 'IN_PROGRESS') : outcome,
               open ? NULL : round((finished - received) / 86400, 4), received
        FROM (
            SELECT *, toDate(open ? received : finished) AS d,
                arrayJoin([
                    ('MONTH', concat(toString(toYear(d)), '-', substring(toString(toYYYYMM(d)), 5, 2)),
                     toStartOfMonth(d), addMonths(toStartOfMonth(d), 1)),
                    ('QUARTER', concat(toString(toYear(d)), '-Q', toString(toQuarter(d))),
                     toStartOfQuarter(d), addMonths(toStartOfQuarter(d), 3)),
                    ('YEAR', toString(toYear(d)), toStartOfYear(d), addYears(toStartOfYear(d), 1))
                ]) AS kind
            FROM ({base}))""", fmt=False)
    query(f"""
        INSERT INTO {db}.dossier_steps
            (dossier_code, step, version, agency_code, province_code, agency_level,
             procedure_code, from_unit, to_unit, started_at, handed_at, handed_date,
             allotted_amount, allotted_unit, taken_seconds, outcome, updated_at)
        SELECT code, 1, 5, agency_code, 'P01', agency_level, procedure_code,
               concat(agency_code, '/TN'), concat(agency_code, '/CM'), received,
               received + 86400 * (r % 3), toDate(received + 86400 * (r % 3)), 1, 'WORKING_DAY',
               86400 * (r % 3), multiIf(r % 3 = 2, 'LATE', r % 3 = 1, 'ON_TIME', 'EARLY'), received
        FROM ({base})""", fmt=False)
    query(f"""
        INSERT INTO {db}.processor_progress
            (consumer_group, kafka_topic, kafka_partition, next_offset, watermark, updated_at,
             partition_time, catching_up)
        VALUES ('{GROUP}', 'motcua.dossier.received', 0, {n}, '{WATERMARK}', '{WATERMARK}',
                '{WATERMARK}', 0)""", fmt=False)


# Generating and deriving ten million dossiers' rows needs more than the default query memory:
# spill big GROUP BYs to disk.
HEAVY = {"max_memory_usage": 20_000_000_000, "max_bytes_before_external_group_by": 3_000_000_000}


def derive_cells(db):
    """The cells the processor would hold for these dossiers: three input partitions, each
    grain in its families of dimensions (deploy/clickhouse/migrations/0004_aggregates.sql)."""
    cols = ("consumer_group, kafka_partition, grain, dims, period_kind, period, period_start, "
            "period_end, agency_code, province_code, agency_level, procedure_code, field_code, "
            "channel, limit_amount, limit_unit, from_unit, to_unit, version, n_counted, n_early, "
            "n_on_time, n_late, n_open_within, n_open_overdue, n_resolved, n_resolution_e4, "
            "n_taken_seconds, n_mismatches, updated_at")
    part = "toUInt32(cityHash64(dossier_code) % 3)"
    verdicts = ("count(), countIf(v = 'EARLY'), countIf(v = 'ON_TIME'), countIf(v = 'LATE'), "
                "countIf(v = 'IN_PROGRESS'), countIf(v = 'OVERDUE_IN_PROGRESS')")
    resolution = ("countIf(resolution_units IS NOT NULL), "
                  "toUInt64(sumIf(round(assumeNotNull(resolution_units) * 10000), resolution_units IS NOT NULL))")
    # Per family, the dimension columns kept (the others are written empty).
    families = {
        "agency": ["agency_code", "province_code", "agency_level"],
        "procedure": ["agency_code", "province_code", "agency_level", "procedure_code", "field_code",
                      "limit_amount", "limit_unit"],
        "province_procedure": ["province_code", "procedure_code", "field_code", "limit_amount",
                               "limit_unit"],
        "field": ["province_code", "field_code"],
        "channel": ["province_code", "channel"],
    }
    empty = {"agency_code": "''", "province_code": "''", "agency_level": "''", "procedure_code": "''",
             "field_code": "''", "channel": "''", "limit_amount": "0", "limit_unit": "''"}
    dim_cols = list(empty)

    def dims(family, available):
        keep = [c for c in families[family] if c in available]
        select = ", ".join(c if c in keep else empty[c] for c in dim_cols)
        return select, keep

    day_src = (f"SELECT *, outcome AS v, assumeNotNull(end_date) AS day, 0 AS limit_amount, '' AS limit_unit "
               f"FROM {db}.dossier_state FINAL WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')")
    for fam in ["agency", "procedure", "channel"]:
        select, keep = dims(fam, dim_cols)
        query(f"""INSERT INTO {db}.aggregates ({cols})
            SELECT '{GROUP}', {part} AS pt, 'DAY', '{fam}', 'DAY', toString(day), day, day + 1,
                   {select}, '', '', 1, {verdicts}, 0, 0, 0, 0, now()
            FROM ({day_src}) GROUP BY pt, day, {", ".join(keep)}""", settings=HEAVY, fmt=False)
    select, keep = dims("agency", ["agency_code", "province_code"])
    query(f"""INSERT INTO {db}.aggregates ({cols})
        SELECT '{GROUP}', {part} AS pt, 'OPEN', 'agency', '', '', toDate(0), toDate(0), {select},
               '', '', 1, count(), 0, 0, 0, countIf(NOT overdue), countIf(overdue), 0, 0, 0, 0, now()
        FROM {db}.v_open_dossiers GROUP BY pt, {", ".join(keep)}""", settings=HEAVY, fmt=False)
    period_available = ["agency_code", "province_code", "agency_level", "procedure_code",
                        "limit_amount", "limit_unit"]
    sources = {
        "CLOSED": (f"SELECT *, verdict AS v FROM {db}.dossier_periods FINAL WHERE in_scope = 1",
                   "period_start, period_end"),
        "RUNNING": (f"SELECT *, verdict AS v, "
                    f"multiIf(period_kind = 'YEAR', toDate('2026-01-01'), toDate('2026-10-01')) AS period_start, "
                    f"multiIf(period_kind = 'MONTH', toDate('2026-11-01'), toDate('2027-01-01')) AS period_end "
                    f"FROM {db}.v_766_current", "period_start, period_end"),
    }
    for grain, (src, bounds) in sources.items():
        for fam in ["agency", "procedure", "province_procedure", "field"]:
            select, keep = dims(fam, period_available)
            query(f"""INSERT INTO {db}.aggregates ({cols})
                SELECT '{GROUP}', {part} AS pt, '{grain}', '{fam}', period_kind, period, {bounds},
                       {select}, '', '', 1, {verdicts}, {resolution}, 0, 0, now()
                FROM ({src}) GROUP BY pt, period_kind, period, {bounds}{"".join(", " + c for c in keep)}""",
                  settings=HEAVY, fmt=False)
    query(f"""INSERT INTO {db}.aggregates ({cols})
        SELECT '{GROUP}', {part} AS pt, 'STEPS', 'unit', 'MONTH',
               concat(toString(toYear(month)), '-', substring(toString(toYYYYMM(month)), 5, 2)), month,
               addMonths(month, 1), agency_code, '', '', '', '', '', 0, '',
               from_unit, to_unit, 1, count(), countIf(outcome = 'EARLY'),
               countIf(outcome = 'ON_TIME'), countIf(outcome = 'LATE'), 0, 0, 0, 0,
               sum(taken_seconds), countIf(recorded_outcome != '' AND recorded_outcome != outcome), now()
        FROM (SELECT *, toStartOfMonth(handed_date) AS month FROM {db}.dossier_steps FINAL WHERE outcome != '')
        GROUP BY pt, month, agency_code, from_unit, to_unit""", settings=HEAVY, fmt=False)


def timed(sql, db, settings, runs):
    """Median milliseconds, or the reason the server refused (e.g. its memory limit)."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        try:
            query(sql, db, settings, may_fail=True)
        except Refused as e:
            return "refused: " + e.args[0].split("e.what()")[0].strip()[:60]
        out.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(out), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dossiers", type=int, default=10_000_000)
    ap.add_argument("--database", default="bench_views")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--reuse", action="store_true", help="reuse a database already generated")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--setting-on-only", action="store_true",
                    help="time only with enable_optimize_predicate_expression = 1 (without it the "
                         "served views compute whole, which at 10 M dossiers exceeds the memory limit)")
    ap.add_argument("--rederive", action="store_true",
                    help="keep the generated per-dossier tables, derive the cells again")
    args = ap.parse_args()
    db = args.database
    t0 = time.time()
    if args.rederive:
        # The cells' table and the views again, from migration 4 (its other statements move
        # tables that exist already).
        text = open(os.path.join(MIGRATIONS, "0004_aggregates.sql")).read()
        body = "".join(l + "\n" for l in text.split("\n") if not l.strip().startswith("--"))
        for st in body.split(";\n"):
            st = st.strip().replace("${db}", db)
            name = st.split("(")[0].split(" AS")[0].split()[-1] if st.startswith("CREATE ") else None
            if name and (name.endswith(".aggregates") or st.startswith("CREATE VIEW")):
                query(f"DROP TABLE IF EXISTS {name}", fmt=False)
                query(st, fmt=False)
        derive_cells(db)
        for t in ["dossier_state", "dossier_periods", "dossier_steps", "aggregates"]:
            query(f"OPTIMIZE TABLE {db}.{t} FINAL", fmt=False)
    elif not args.reuse:
        migrate(db)
        generate(db, args.dossiers)
        derive_cells(db)
        for t in ["dossier_state", "dossier_periods", "dossier_steps", "aggregates"]:
            query(f"OPTIMIZE TABLE {db}.{t} FINAL", fmt=False)
    print(f"data ready in {time.time() - t0:.0f} s", file=sys.stderr)
    rows = {t: int(query(f"SELECT count() FROM {db}.{t}")) for t in
            ["dossier_state", "dossier_periods", "dossier_steps", "aggregates"]}
    agency = query(f"SELECT agency_code FROM {db}.dossier_state WHERE agency_code LIKE 'P01.D%.C%' LIMIT 1").strip()
    month = "period_kind = 'MONTH' AND period = '2026-08'"
    days = "day >= '2026-08-01' AND day < '2026-09-01'"
    cases = [
        ("v_766_agency", f"{month} AND agency_code = '{agency}'"),
        ("v_766_level", f"{month} AND province_code = 'P01'"),
        ("v_766_province", f"{month} AND province_code = 'P01'"),
        ("v_766_resolution", f"{month} AND agency_code = '{agency}'"),
        ("v_766_resolution_province", f"{month} AND province_code = 'P01'"),
        ("v_ontime_daily", f"{days} AND agency_code = '{agency}'"),
        ("v_ontime_agency_daily", f"{days} AND agency_code = '{agency}'"),
        ("v_ontime_province_daily", f"{days} AND province_code = 'P01'"),
        ("v_overdue_agency", f"agency_code = '{agency}'"),
        ("v_steps_agency_monthly", f"month = '2026-08-01' AND agency_code = '{agency}'"),
        ("v_steps_unit_monthly", "month = '2026-08-01'"),
    ]
    results = []
    for view, where in cases:
        served_sql = f"SELECT * FROM {view} WHERE {where}"
        scan_sql = f"SELECT * FROM {view}_scan WHERE {where}"
        on = {"enable_optimize_predicate_expression": 1}
        served = sorted(query(served_sql, db, on).splitlines())
        scan = sorted(query(scan_sql, db, on).splitlines())
        same = len(served) == len(scan) and all(
            a.rsplit("\t", 1)[0] == b.rsplit("\t", 1)[0] for a, b in zip(served, scan))
        if not same or not served:
            sys.exit(f"{view}: served and scanned figures differ or are empty:\n{served[:3]}\n{scan[:3]}")
        row = {"view": view, "rows": len(served)}
        modes = [("pushdown_off", {"enable_optimize_predicate_expression": 0}),
                 ("pushdown_on", {"enable_optimize_predicate_expression": 1})]
        if args.setting_on_only:
            modes = modes[1:]
            row["served_ms_pushdown_off"] = row["scan_ms_pushdown_off"] = "not run"
        for label, settings in modes:
            row[f"served_ms_{label}"] = timed(served_sql, db, settings, args.runs)
            row[f"scan_ms_{label}"] = timed(scan_sql, db, settings, max(1, args.runs // 2))
        results.append(row)
        print(json.dumps(row), file=sys.stderr)
    version = query("SELECT version()").strip()
    print(f"\nClickHouse {version}; {rows['dossier_state']:,} dossiers, "
          f"{rows['dossier_periods']:,} period rows, {rows['dossier_steps']:,} steps, "
          f"{rows['aggregates']:,} aggregate cells; one month, one agency (or the province); "
          f"median of {args.runs} runs, ms (served = from the cells, scan = per-dossier FINAL)\n")
    print(f"{'view':28} {'rows':>5} {'served*':>8} {'scan*':>9}   without the setting: served / scan")
    for r in results:
        print(f"{r['view']:28} {r['rows']:>5} {r['served_ms_pushdown_on']:>8} {r['scan_ms_pushdown_on']:>9}   "
              f"{r['served_ms_pushdown_off']} / {r['scan_ms_pushdown_off']}")
    print("\n* with enable_optimize_predicate_expression = 1 (the default on modern servers; set by"
          " deploy/local for 18.16)")
    if not args.keep:
        query(f"DROP DATABASE IF EXISTS {db}", fmt=False)


if __name__ == "__main__":
    main()
