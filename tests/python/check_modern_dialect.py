"""Run motcua's ClickHouse migrations and auditor queries on modern ClickHouse (chdb, in-process).

Usage: check_modern_dialect.py REPO_ROOT
Prints the server version and one line per statement; exits non-zero on the first failure.
"""
import glob
import os
import sys
import tempfile

from chdb import session


def statements(path, db):
    body = "".join(l + "\n" for l in open(path, encoding="utf-8").read().splitlines()
                   if not l.lstrip().startswith("--"))
    return [s.strip().replace("${db}", db) for s in body.split(";\n") if s.strip()]


def main() -> int:
    root = sys.argv[1]
    db = "motcua_modern_check"
    with tempfile.TemporaryDirectory() as tmp:
        s = session.Session(tmp)
        version = s.query("SELECT version()", "CSV").bytes().decode().strip()
        print(f"chdb ClickHouse {version}")
        s.query(f"CREATE DATABASE IF NOT EXISTS {db}")
        for path in sorted(glob.glob(os.path.join(root, "deploy/clickhouse/migrations/*.sql"))):
            for st in statements(path, db):
                s.query(st)
                print(f"ok  {os.path.basename(path)}: {st.splitlines()[0][:80]}")
        views = s.query(
            f"SELECT name FROM system.tables WHERE database = '{db}' AND engine = 'View' ORDER BY name",
            "CSV").bytes().decode().split()
        for view in views:
            s.query(f"SELECT * FROM {db}.{view.strip(chr(34))}", "CSV")
            print(f"ok  view: {view}")
        s.query(f"USE {db}")
        for st in statements(os.path.join(root, "deploy/clickhouse/auditor_queries.sql"), db):
            s.query(st, "CSV")
            print(f"ok  auditor query: {st.splitlines()[0][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
