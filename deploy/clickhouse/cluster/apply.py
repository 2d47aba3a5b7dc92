#!/usr/bin/env python3
"""Apply motcua's cluster schema (deploy/clickhouse/cluster/sql/*.sql) to a ClickHouse cluster.

    MOTCUA_CLICKHOUSE_URL=http://clickhouse-1:8123 MOTCUA_CLICKHOUSE_USER=motcua_admin \
    MOTCUA_CLICKHOUSE_PASSWORD_FILE=/run/secrets/clickhouse_admin_password \
        python3 apply.py [--sql-dir DIR] [--database motcua] [--dry-run]

What `motcua migrate` does for one server, for the cluster: `0000_bootstrap.sql` (the database
and a replicated `schema_migrations`) always, then every `NNNN_name.sql` whose version is not
in `schema_migrations`, in order, statement by statement, each one recorded under its
version and name once its statements have run. `motcua migrate` run afterwards finds every
version recorded and changes nothing (the migration job checks that it says so).

Run it on one server of the cluster, with every replica up: the `ON CLUSTER` statements wait
for all of them (`distributed_ddl_task_timeout`, 600 s) and fail loudly if one does not answer.
Never run two at once. A migration that failed halfway is not recorded; after fixing the
cause run it again: CREATE / DROP / ADD COLUMN are written to be repeatable, a RENAME that
already happened fails with a message naming it (then finish that migration by hand).

Standard library only (Python 3.11), so it runs in a plain `python:3.11-slim` container.
Environment: MOTCUA_CLICKHOUSE_URL (default http://127.0.0.1:8123), MOTCUA_CLICKHOUSE_DATABASE
(default motcua), MOTCUA_CLICKHOUSE_USER, MOTCUA_CLICKHOUSE_PASSWORD or
MOTCUA_CLICKHOUSE_PASSWORD_FILE (a file holding it, for Docker/Kubernetes secrets).
"""

from __future__ import annotations

import argparse
import base64
import os
import pathlib
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent

#: Sent with every statement: ON CLUSTER DDL waits for every host and fails if one does not
#: finish; the copy of migration 4 and the version rows are written synchronously through
#: the Distributed tables.
SETTINGS = {
    "distributed_ddl_task_timeout": "600",
    "distributed_ddl_output_mode": "throw",
    "distributed_foreground_insert": "1",
}


def statements(sql: str) -> list[str]:
    """Same split as `motcua migrate` (services/runtime/src/store.rs `statements`)."""
    body = "".join(line + "\n" for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def cluster_files(sql_dir: pathlib.Path) -> list[tuple[int, str, pathlib.Path]]:
    out = []
    for path in sorted(sql_dir.glob("*.sql")):
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not m:
            raise SystemExit(f"apply.py: {path}: not NNNN_name.sql")
        out.append((int(m.group(1)), m.group(2), path))
    if not out or out[0][0] != 0:
        raise SystemExit(f"apply.py: {sql_dir} has no 0000_bootstrap.sql")
    return out


class HttpExecutor:
    """Runs statements over ClickHouse's HTTP interface (credentials in headers, never in
    the URL)."""

    def __init__(self, url: str, user: str | None, password: str | None, timeout: float = 900):
        self.url = url.rstrip("/") + "/"
        self.headers = {}
        if user:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self.timeout = timeout

    def run(self, sql: str) -> str:
        url = self.url + "?" + urllib.parse.urlencode(SETTINGS)
        req = urllib.request.Request(url, data=sql.encode("utf-8"), headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise RuntimeError(e.read().decode("utf-8", "replace").strip()) from None
        except urllib.error.URLError as e:
            raise RuntimeError(f"clickhouse at {self.url} is not reachable: {e.reason}") from None


def applied_versions(executor, db: str) -> set[int]:
    text = executor.run(f"SELECT version FROM {db}.schema_migrations FORMAT TSV")
    return {int(line) for line in text.split()}


def apply(executor, db: str, sql_dir: pathlib.Path = HERE / "sql", log=print, dry_run: bool = False,
          through: int | None = None) -> list[int]:
    """Applies what is missing; returns the versions applied now."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", db):
        raise SystemExit(f"apply.py: `{db}` is not a plain database name")
    files = cluster_files(sql_dir)
    known = {v for v, _, _ in files}

    def run_file(path: pathlib.Path) -> None:
        for st in statements(path.read_text(encoding="utf-8")):
            sql = st.replace("${db}", db)
            first = sql.splitlines()[0]
            if dry_run:
                log(f"  would run: {first}")
                continue
            try:
                executor.run(sql)
            except RuntimeError as e:
                raise SystemExit(f"apply.py: {path.name} failed on `{first}`:\n{e}") from None
            log(f"  ok: {first}")

    log(f"bootstrap: database {db}, schema_migrations")
    run_file(files[0][2])
    done = set() if dry_run else applied_versions(executor, db)
    unknown = sorted(done - known)
    if unknown:
        raise SystemExit(
            f"apply.py: {db} records migrations {unknown} that {sql_dir} does not have: "
            "these files are older than the database; use the release that wrote it")
    applied = []
    for version, name, path in files[1:]:
        if through is not None and version > through:
            break
        if version in done:
            log(f"migration {version} ({name}): already applied")
            continue
        log(f"migration {version} ({name}): applying {path.name}")
        run_file(path)
        if not dry_run:
            executor.run(
                f"INSERT INTO {db}.schema_migrations (version, name, applied_at) "
                f"VALUES ({version}, '{name}', now())")
        applied.append(version)
    log(f"database {db} at version {max(known)} (applied now: {applied})")
    return applied


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sql-dir", type=pathlib.Path, default=HERE / "sql")
    ap.add_argument("--database", default=os.environ.get("MOTCUA_CLICKHOUSE_DATABASE", "motcua"))
    ap.add_argument("--url", default=os.environ.get("MOTCUA_CLICKHOUSE_URL", "http://127.0.0.1:8123"))
    ap.add_argument("--dry-run", action="store_true", help="print the statements, run nothing")
    ap.add_argument("--wait-secs", type=float, default=300,
                    help="how long to wait for the server to answer before giving up (default 300)")
    args = ap.parse_args()
    password = os.environ.get("MOTCUA_CLICKHOUSE_PASSWORD")
    pw_file = os.environ.get("MOTCUA_CLICKHOUSE_PASSWORD_FILE")
    if pw_file:
        password = pathlib.Path(pw_file).read_text(encoding="utf-8").strip()
    executor = HttpExecutor(args.url, os.environ.get("MOTCUA_CLICKHOUSE_USER"), password)
    if not args.dry_run:
        deadline = time.monotonic() + args.wait_secs
        while True:
            try:
                executor.run("SELECT 1")
                break
            except RuntimeError as e:
                if time.monotonic() >= deadline:
                    print(f"apply.py: {e}", file=sys.stderr)
                    return 1
                print(f"apply.py: waiting for ClickHouse ({e})", file=sys.stderr)
                time.sleep(5)
    apply(executor, args.database, args.sql_dir, dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
