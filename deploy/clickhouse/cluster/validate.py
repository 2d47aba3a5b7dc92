#!/usr/bin/env python3
"""Validate the generated cluster DDL on modern ClickHouse (chdb, in-process; `pip install chdb-core`).

    python3 deploy/clickhouse/cluster/validate.py

chdb has no Keeper and no distributed DDL queue, so a replicated table cannot be created and
an `ON CLUSTER` statement cannot run in it. What is checked, and how:

1. **Parse.** Every generated statement, exactly as applied (`${db}` substituted, `ON CLUSTER`,
   `Replicated*MergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', ...)`, `SYNC`,
   `SETTINGS`), goes through the server's own parser (`formatQuery`); the formatted text must
   still hold `ON CLUSTER motcua` (every statement but the INSERT) and the engine.
2. **Execute the non-replicated equivalent.** The same files, applied by apply.py's own code
   (bootstrap, version bookkeeping, statement split), with `ON CLUSTER motcua` removed and
   `ReplicatedXMergeTree(path, replica, args)` turned into `XMergeTree(args)`. The
   `Distributed` tables are real: chdb is given a cluster `motcua` of one shard whose one
   replica is this process, so every view reads through the Distributed engine as on the
   cluster (one shard: the shipped layout).
3. **Same schema as a single server.** The single-node migrations are applied beside it, into
   another database of the same process. Every table must exist in the cluster database as a
   Distributed table with the same columns (name, type, default) and as `<table>_local` with the
   same engine, sort key, partition key and columns; every view with the same columns; nothing
   else but `schema_migrations` and the `_local` tables.
4. **apply.py's HTTP client** against a recording stub server on loopback (auth header, settings,
   bookkeeping, a failing statement).
5. **Same answers.** The same synthetic rows go into both databases (after migration 3, so
   migration 4's copy of `dossier_periods` through the Distributed tables is exercised, and
   again after migration 5), and every view must give the same rows in both; the auditor
   queries must run on the cluster database.

Not validated here (needs a real cluster): Keeper, replication between replicas, the
`{uuid}`/`{shard}`/`{replica}` macros on real servers, the distributed DDL queue, more than one
shard, insert quorums. Exit 1 on the first difference, with what differs.
"""

from __future__ import annotations

import pathlib
import re
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import apply as applier  # noqa: E402
import generate  # noqa: E402

SINGLE = "motcua_single"
CLUSTER_DB = "motcua_cluster"

CHDB_CONFIG = f"""<clickhouse>
  <!-- so that the replica below is this process (is_local): Distributed reads it in place -->
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <{generate.CLUSTER}>
      <shard>
        <internal_replication>true</internal_replication>
        <replica><host>127.0.0.1</host><port>9000</port></replica>
      </shard>
    </{generate.CLUSTER}>
  </remote_servers>
  <macros><shard>01</shard><replica>validate</replica></macros>
</clickhouse>
"""


class Failed(Exception):
    pass


def sql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def unreplicate(sql: str) -> str:
    """The statement a single server without Keeper can run."""
    sql = re.sub(rf"\s+ON CLUSTER {generate.CLUSTER}\b", "", sql)

    def engine(m: re.Match) -> str:
        rest = m.group(2)
        args = generate.split_top_level(rest)
        if len(args) < 2 or args[0] != f"'{generate.ZK_PATH}'" or args[1] != f"'{generate.REPLICA}'":
            raise Failed(f"unexpected replicated engine arguments: {rest}")
        return f"{m.group(1)}({', '.join(args[2:])})"

    return re.sub(r"\bReplicated([A-Za-z]*MergeTree)\(([^()]*)\)", engine, sql)


class Chdb:
    def __init__(self, session):
        self.s = session

    def run(self, sql: str, fmt: str = "TSV") -> str:
        try:
            return self.s.query(sql, fmt).bytes().decode()
        except Exception as e:  # chdb raises RuntimeError with the server's message
            raise RuntimeError(str(e)) from None


class UnreplicatedExecutor:
    """apply.py's executor interface over chdb, running each statement's non-replicated form."""

    def __init__(self, ch: Chdb):
        self.ch = ch
        self.statements = 0

    def run(self, sql: str) -> str:
        self.statements += 1
        return self.ch.run(unreplicate(sql))


def check_http_applier() -> str:
    """apply.py's HTTP path against a recording stub server on loopback: credentials in a
    header, the DDL settings as URL parameters, one statement per request, the version rows,
    and a server error surfacing as a failure naming the statement."""
    import base64
    import http.server
    import threading
    import urllib.parse

    seen: list[tuple[str, dict, str]] = []
    applied = {"versions": set()}

    class Stub(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            seen.append((self.headers.get("Authorization", ""), params, body))
            out, status = "", 200
            if body.startswith("SELECT version FROM"):
                out = "".join(f"{v}\n" for v in sorted(applied["versions"]))
            m = re.match(r"INSERT INTO \w+\.schema_migrations .* VALUES \((\d+),", body)
            if m:
                applied["versions"].add(int(m.group(1)))
            if "FAIL_HERE" in body:
                out, status = "Code: 62. DB::Exception: Syntax error", 500
            self.send_response(status)
            self.end_headers()
            self.wfile.write(out.encode())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        ex = applier.HttpExecutor(url, "motcua_admin", "pw")
        first = applier.apply(ex, "motcua", generate.OUT_DIR, log=lambda *_: None)
        second = applier.apply(ex, "motcua", generate.OUT_DIR, log=lambda *_: None)
        n_files = len(applier.cluster_files(generate.OUT_DIR)) - 1
        if first != list(range(1, n_files + 1)) or second:
            raise Failed(f"apply.py over HTTP applied {first}, then {second}")
        want_auth = "Basic " + base64.b64encode(b"motcua_admin:pw").decode()
        for auth, params, body in seen:
            if auth != want_auth or any(params.get(k) != v for k, v in applier.SETTINGS.items()):
                raise Failed(f"apply.py sent {auth!r} {params} for {body[:60]}")
            if "${db}" in body or "password" in body.lower():
                raise Failed(f"apply.py sent an unsubstituted or secret-bearing body: {body[:80]}")
        bad = pathlib.Path(tempfile.mkdtemp())
        (bad / "0000_bootstrap.sql").write_text("SELECT 1;\n")
        (bad / "0001_x.sql").write_text("CREATE TABLE FAIL_HERE;\n")
        applied["versions"] = set()
        try:
            applier.apply(ex, "motcua", bad, log=lambda *_: None)
            raise Failed("apply.py went on after a server error")
        except SystemExit as e:
            if "0001_x.sql failed on `CREATE TABLE FAIL_HERE`" not in str(e) or "Syntax error" not in str(e):
                raise Failed(f"apply.py reported a server error as: {e}")
        if 1 in applied["versions"]:
            raise Failed("apply.py recorded a migration whose statement failed")
    finally:
        server.shutdown()
    return f"{len(seen)} requests"


def check_parse(ch: Chdb) -> int:
    n = 0
    for _, name, path in applier.cluster_files(generate.OUT_DIR):
        for st in applier.statements(path.read_text(encoding="utf-8")):
            sql = st.replace("${db}", "motcua")
            try:
                formatted = ch.run(f"SELECT formatQuerySingleLine({sql_literal(sql)}) FORMAT TSVRaw")
            except RuntimeError as e:
                raise Failed(f"{path.name}: does not parse on ClickHouse: {sql.splitlines()[0]}\n{e}")
            head = sql.split(None, 1)[0]
            if head != "INSERT" and f"ON CLUSTER {generate.CLUSTER}" not in formatted:
                raise Failed(f"{path.name}: lost ON CLUSTER when parsed: {formatted[:200]}")
            m = re.search(r"ENGINE = (\w+)", sql)
            if m and m.group(1) not in ("Distributed",) and not m.group(1).startswith("Replicated"):
                raise Failed(f"{path.name}: a non-replicated engine is left: {sql.splitlines()[0]}")
            if m and f"ENGINE = {m.group(1)}" not in formatted:
                raise Failed(f"{path.name}: engine changed when parsed: {formatted[:200]}")
            n += 1
    return n


# --- synthetic rows -------------------------------------------------------------------------

DOMAINS = {
    "grain": ["DAY", "OPEN", "CLOSED", "RUNNING", "STEPS", "RECEIPT"],
    "dims": ["agency", "procedure", "province_procedure", "field", "channel", "unit"],
    "period_kind": ["MONTH", "QUARTER", "YEAR"],
    "period": ["2026-08", "2026-09", "2026-Q3", "2026"],
    "outcome": ["EARLY", "ON_TIME", "LATE", "IN_PROGRESS", "OVERDUE_IN_PROGRESS", "NOT_COUNTED", "AWAITING_RECEIPT"],
    "verdict": ["EARLY", "ON_TIME", "LATE", "IN_PROGRESS", "OVERDUE_IN_PROGRESS", ""],
    "recorded_outcome": ["", "EARLY", "ON_TIME", "LATE"],
    "channel": ["IN_PERSON", "ONLINE", "POSTAL"],
    "agency_code": ["H56", "H56.10", "H56.50", "H56.50.01"],
    "province_code": ["H56"],
    "agency_level": ["PROVINCE", "DISTRICT", "COMMUNE"],
    "consumer_group": ["motcua-processor", "motcua-processor-replay-1"],
    "appointment_check": ["MATCHES", "LATER_THAN_LEGAL", "EARLIER_THAN_LEGAL"],
    "rating": ["", "VERY_SATISFIED", "SATISFIED", "NEUTRAL", "DISSATISFIED", "VERY_DISSATISFIED"],
    "end_kind": ["", "FINISHED", "RETURNED", "WITHDRAWN"],
    "kind": ["RECEIVED", "HANDOVER", "RESULT_READY", "SURVEY"],
    "form_set": ["TT01_2018", "TT03_2025"],
    "kafka_topic": ["motcua.receipts", "motcua.processing", "motcua.returns"],
    "source_topic": ["motcua.receipts"],
    "from_unit": ["H56.50.01", "H56.50.02", "H56.10.01"],
    "to_unit": ["H56.50.02", "H56.50.01"],
    "procedure_code": ["1.001193.000.00.00.H56", "2.000908.000.00.00.H56"],
    "field_code": ["TP", "XD"],
    "reason": ["bad_format", "inconsistent"],
}
UNIQUE = {"version", "next_offset", "first_arrival", "kafka_offset", "source_offset", "content_hash"}


def value_expr(name: str, typ: str) -> str:
    inner = typ[len("Nullable("):-1] if typ.startswith("Nullable(") else typ
    if name == "dossier_code":
        e = "concat('H56.50-2608', leftPad(toString(number % 40), 2, '0'), '-0001')"
    elif name == "event_id":
        e = "concat('e', toString(number % 97))"
    elif name in UNIQUE:
        e = "number + 1"
    elif name in DOMAINS:
        vals = DOMAINS[name]
        e = f"[{', '.join(sql_literal(v) for v in vals)}][number % {len(vals)} + 1]"
    elif name.endswith("_unit") and inner == "String":
        e = "['WORKING_DAYS', 'WORKING_HOURS'][number % 2 + 1]"
    elif name == "period_start":
        e = "toStartOfMonth(toDate('2026-07-01') + number % 90)"
    elif name == "period_end":
        e = "toStartOfMonth(toDate('2026-07-01') + number % 90) + 31"
    elif name == "watermark":
        e = "toDateTime('2026-09-05 17:00:00', 'Asia/Ho_Chi_Minh') - number % 3"
    elif inner.startswith("DateTime"):
        e = "toDateTime('2026-08-01 08:00:00', 'Asia/Ho_Chi_Minh') + (number * 7919) % (45 * 86400)"
    elif inner == "Date":
        e = "toDate('2026-08-01') + number % 45"
    elif inner == "UInt8":
        e = "number % 2"
    elif re.fullmatch(r"U?Int\d+", inner):
        e = "number % 13 + 1"
    elif inner.startswith("Float"):
        e = "(number % 17) / 4"
    elif inner == "String":
        e = f"concat({sql_literal(name)}, toString(number % 3))"
    else:
        raise Failed(f"no synthetic value for column {name} {typ}: extend validate.py")
    if typ.startswith("Nullable("):
        e = f"if(number % 5 = 0, NULL, {e})"
    return f"CAST({e}, {sql_literal(typ)})"


def tables(ch: Chdb, db: str) -> dict[str, str]:
    out = {}
    for line in ch.run(f"SELECT name, engine FROM system.tables WHERE database = '{db}' ORDER BY name").splitlines():
        name, engine = line.split("\t")
        out[name] = engine
    return out


def columns(ch: Chdb, db: str, table: str) -> list[tuple[str, ...]]:
    rows = ch.run(
        f"SELECT name, type, default_kind, default_expression FROM system.columns "
        f"WHERE database = '{db}' AND table = '{table}' ORDER BY position", "TSVRaw")
    return [tuple(r.split("\t")) for r in rows.splitlines()]


def fill(ch: Chdb, db: str, names: list[str], offset: int, rows: int = 400) -> None:
    for t in names:
        cols = [(c[0], c[1]) for c in columns(ch, db, t) if c[2] not in ("MATERIALIZED", "ALIAS")]
        exprs = ", ".join(value_expr(n, ty) for n, ty in cols)
        ch.run(f"INSERT INTO {db}.{t} ({', '.join(n for n, _ in cols)}) "
               f"SELECT {exprs} FROM numbers({offset}, {rows})")


def base_tables(ch: Chdb, db: str) -> list[str]:
    return sorted(n for n, e in tables(ch, db).items() if e not in ("View", "Distributed") and not n.endswith("_local"))


def compare_schema(ch: Chdb) -> tuple[int, int]:
    single, cluster = tables(ch, SINGLE), tables(ch, CLUSTER_DB)
    n_tables = n_views = 0
    expected = set()
    for name, engine in single.items():
        if engine == "View":
            n_views += 1
            expected.add(name)
            if cluster.get(name) != "View":
                raise Failed(f"view {name}: missing in the cluster schema (found {cluster.get(name)})")
            a, b = columns(ch, SINGLE, name), columns(ch, CLUSTER_DB, name)
            if [c[:2] for c in a] != [c[:2] for c in b]:
                raise Failed(f"view {name}: columns differ\n single:  {a}\n cluster: {b}")
            continue
        n_tables += 1
        local = name + generate.LOCAL_SUFFIX
        expected.update({name, local})
        if cluster.get(name) != "Distributed":
            raise Failed(f"table {name}: the cluster has {cluster.get(name)} under its name, not Distributed")
        if cluster.get(local) != engine:
            raise Failed(f"table {name}: {local} has engine {cluster.get(local)}, single-node {engine}")
        keys = "sorting_key, partition_key, primary_key"
        ka = ch.run(f"SELECT {keys} FROM system.tables WHERE database = '{SINGLE}' AND name = '{name}'")
        kb = ch.run(f"SELECT {keys} FROM system.tables WHERE database = '{CLUSTER_DB}' AND name = '{local}'")
        if ka != kb:
            raise Failed(f"table {name}: keys differ\n single: {ka} cluster {local}: {kb}")
        a = columns(ch, SINGLE, name)
        for other in (name, local):
            b = columns(ch, CLUSTER_DB, other)
            if a != b:
                raise Failed(f"table {name}: columns of {other} differ\n single:  {a}\n cluster: {b}")
    extra = set(cluster) - expected
    if extra:
        raise Failed(f"the cluster schema has objects the single-node one has not: {sorted(extra)}")
    return n_tables, n_views


def compare_views(ch: Chdb) -> tuple[int, int]:
    views = sorted(n for n, e in tables(ch, SINGLE).items() if e == "View")
    non_empty = 0
    for v in views:
        a = ch.run(f"SELECT * FROM {SINGLE}.{v} ORDER BY ALL")
        b = ch.run(f"SELECT * FROM {CLUSTER_DB}.{v} ORDER BY ALL")
        if a != b:
            la, lb = a.splitlines(), b.splitlines()
            raise Failed(f"view {v}: {len(la)} rows on the single-node schema, {len(lb)} through the "
                         f"Distributed tables; first difference: "
                         f"{next((x, y) for x, y in zip(la + [''], lb + ['']) if x != y)}")
        non_empty += bool(a.strip())
    return len(views), non_empty


def main() -> int:
    try:
        from chdb import session
    except ImportError:
        print("validate.py: chdb is not installed (pip install chdb-core)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        cfg = pathlib.Path(tmp) / "config.xml"
        cfg.write_text(CHDB_CONFIG, encoding="utf-8")
        data = pathlib.Path(tmp) / "data"
        data.mkdir()
        s = session.Session(f"{data}?config-file={cfg}&max_threads=1&distributed_foreground_insert=1")
        ch = Chdb(s)
        try:
            version = ch.run("SELECT version()").strip()
            print(f"chdb: ClickHouse {version}")
            print(f"ok  parse: {check_parse(ch)} generated statements parse with ON CLUSTER and their engines")
            print(f"ok  apply.py over HTTP (a recording stub on loopback, {check_http_applier()}): basic auth "
                  "header, DDL settings, versions recorded once, a server error stops it unrecorded")

            # single-node schema, as `motcua migrate` builds it
            cols, engine, key = generate.schema_migrations_ddl()
            ch.run(f"CREATE DATABASE {SINGLE}")
            ch.run(f"CREATE TABLE {SINGLE}.schema_migrations {cols} ENGINE = {engine} ORDER BY {key}")
            migrations = generate.migration_files()

            def single_through(lo: int, hi: int) -> None:
                for version_, _, path in migrations:
                    if lo <= version_ <= hi:
                        for st in generate.statements(path.read_text(encoding="utf-8")):
                            ch.run(st.replace("${db}", SINGLE))

            executor = UnreplicatedExecutor(ch)
            quiet = lambda *_: None  # noqa: E731
            single_through(1, 3)
            applier.apply(executor, CLUSTER_DB, generate.OUT_DIR, log=quiet, through=3)
            for t in base_tables(ch, SINGLE):
                if t == "schema_migrations":
                    continue
                fill(ch, SINGLE, [t], 0)
                fill(ch, CLUSTER_DB, [t], 0)
            single_through(4, len(migrations))
            applied = applier.apply(executor, CLUSTER_DB, generate.OUT_DIR, log=quiet)
            if applied != list(range(4, len(migrations) + 1)):
                raise Failed(f"apply.py applied {applied} on the second run, expected 4..{len(migrations)}")
            again = applier.apply(executor, CLUSTER_DB, generate.OUT_DIR, log=quiet)
            if again:
                raise Failed(f"apply.py applied {again} on a database already at the last version")
            recorded = ch.run(f"SELECT version, name FROM {CLUSTER_DB}.schema_migrations ORDER BY version")
            want = "".join(f"{v}\t{n}\n" for v, n, _ in migrations)
            if recorded != want:
                raise Failed(f"schema_migrations holds\n{recorded}expected\n{want}")
            print(f"ok  execute: {executor.statements} statements (non-replicated form) applied by apply.py "
                  f"in two steps (1-3, then 4-{len(migrations)}); versions recorded as motcua migrate records them")

            n_tables, n_views = compare_schema(ch)
            print(f"ok  schema: {n_tables} tables (Distributed + _local, same columns, engine, keys) "
                  f"and {n_views} views identical to the single-node schema")

            for t in base_tables(ch, SINGLE):
                if t == "schema_migrations":
                    continue
                fill(ch, SINGLE, [t], 10_000)
                fill(ch, CLUSTER_DB, [t], 10_000)
            n, non_empty = compare_views(ch)
            print(f"ok  views: {n} views give the same rows through the Distributed tables as on the "
                  f"single-node schema ({non_empty} non-empty on the synthetic rows)")

            ch.run(f"USE {CLUSTER_DB}")
            auditor = generate.REPO / "deploy" / "clickhouse" / "auditor_queries.sql"
            queries = generate.statements(auditor.read_text(encoding="utf-8"))
            for q in queries:
                ch.run(q.replace("${db}", CLUSTER_DB))
            print(f"ok  auditor queries: {len(queries)} run on the cluster schema")
        except (Failed, RuntimeError, SystemExit) as e:
            print(f"FAIL {e}", file=sys.stderr)
            return 1
    print("not validated here: Keeper, replication, macros on real servers, the ON CLUSTER queue, "
          "several shards, insert quorums")
    return 0


if __name__ == "__main__":
    sys.exit(main())
