#!/usr/bin/env python3
"""Derive motcua's ClickHouse *cluster* schema from the single-node migrations.

    python3 deploy/clickhouse/cluster/generate.py            # write deploy/clickhouse/cluster/sql/*.sql
    python3 deploy/clickhouse/cluster/generate.py --check    # exit 1 if the checked-in files are stale

The single-node migrations (deploy/clickhouse/migrations/NNNN_name.sql, compiled into the
binary and applied by `motcua migrate`) stay the source of truth. Each one becomes a cluster
migration with the same number and name, statement by statement, so a cluster is upgraded
the same way a single server is (deploy/clickhouse/cluster/apply.py applies the files not yet
recorded in `schema_migrations` and records them under the same versions, after which
`motcua migrate` finds nothing to do):

* `CREATE TABLE t (...) ENGINE = XMergeTree(args) ...` becomes the replicated table
  `t_local` (`ReplicatedXMergeTree('/clickhouse/tables/{uuid}/{shard}', '{replica}', args)`,
  `ON CLUSTER`) and a `Distributed` table under the original name `t` over it. The processor,
  the reports, the views and the dashboards keep using `t`: reads and writes go through the
  Distributed table. The Keeper path holds the table's UUID, not its name, so a table renamed
  and replaced by a new one under the old name (migrations 3 and 4 do that) never collides.
* The sharding key keeps every version of a replacing key on one shard (FINAL and argMax only
  merge within a shard): `cityHash64(dossier_code)` when the sort key holds `dossier_code`
  (a dossier's rows together, drill-down reads one shard), else `cityHash64` of the whole sort
  key. With the shipped layout (one shard, three replicas) it decides nothing, but stays right
  if shards are added.
* `ALTER TABLE t ...` runs on `t_local` and on `t`, `ADD COLUMN` as `ADD COLUMN IF NOT EXISTS`
  so that a migration interrupted halfway can be run again.
* `RENAME TABLE a TO b` of a table renames `a_local` and replaces the Distributed table (its
  engine names the local table, so it cannot simply be renamed); of a view, renames the view.
* `DROP TABLE` drops both halves of a table (`SYNC`: its Keeper metadata goes at once), or the
  view.
* `CREATE VIEW` gets `ON CLUSTER`: every server holds every view, reading the Distributed
  tables, so any server answers any query.
* `INSERT ... SELECT` (a copy during an upgrade) and `INSERT ... VALUES` (rows a migration
  ships, e.g. migration 6's scorecard and targets) run once, on the server the migration is
  applied to, through the Distributed tables, synchronously
  (`distributed_foreground_insert = 1`); replication copies them to the other replicas.
* `schema_migrations` (created by `motcua migrate` itself, `services/runtime/src/store.rs`) is
  created replicated first, in `0000_bootstrap.sql`, with the columns read from store.rs.

A statement of any other shape stops the generator with its text: extend it here rather than
hand-edit the output. Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import difflib
import pathlib
import re
import sys
from dataclasses import dataclass, field

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
MIGRATIONS_DIR = REPO / "deploy" / "clickhouse" / "migrations"
STORE_RS = REPO / "services" / "runtime" / "src" / "store.rs"
OUT_DIR = HERE / "sql"

#: Name of the cluster in every server's `remote_servers` (deploy/compose/clickhouse,
#: deploy/k8s/config/clickhouse) and in every `ON CLUSTER` / `Distributed(...)` below.
CLUSTER = "motcua"
#: Keeper path of every replicated table; `{uuid}` is the table's, the same on every replica
#: because the table is created `ON CLUSTER`.
ZK_PATH = "/clickhouse/tables/{uuid}/{shard}"
REPLICA = "{replica}"
LOCAL_SUFFIX = "_local"

MERGE_TREE_ENGINES = {
    "MergeTree",
    "ReplacingMergeTree",
    "SummingMergeTree",
    "AggregatingMergeTree",
    "CollapsingMergeTree",
    "VersionedCollapsingMergeTree",
}

NAME = r"\$\{db\}\.([A-Za-z_][A-Za-z0-9_]*)"


class GenerateError(Exception):
    """A migration statement this generator does not know how to translate."""


def statements(sql: str) -> list[str]:
    """Splits a migration like `motcua migrate` does (store.rs `statements`): `--` comment
    lines dropped, statements ended by `;` at the end of a line. `${db}` is kept."""
    body = "".join(line + "\n" for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def migration_files(directory: pathlib.Path = MIGRATIONS_DIR) -> list[tuple[int, str, pathlib.Path]]:
    """(version, name, path) of every `NNNN_name.sql`, in order."""
    out = []
    for path in sorted(directory.glob("*.sql")):
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not m:
            raise GenerateError(f"{path}: migration files are named NNNN_name.sql")
        out.append((int(m.group(1)), m.group(2), path))
    versions = [v for v, _, _ in out]
    if versions != list(range(1, len(out) + 1)):
        raise GenerateError(f"migration versions are not 1..{len(out)} in order: {versions}")
    return out


def schema_migrations_ddl(store_rs: pathlib.Path = STORE_RS) -> tuple[str, str, str]:
    """(column list, engine, sort key) of `schema_migrations` as `Store::migrate` creates it."""
    text = store_rs.read_text(encoding="utf-8")
    m = re.search(
        r"CREATE TABLE IF NOT EXISTS \{db\}\.schema_migrations \\\s*(\([^)]*\))\s*ENGINE = (\w+) ORDER BY (\w+)",
        text,
    )
    if not m:
        raise GenerateError(f"{store_rs}: the schema_migrations DDL of Store::migrate was not found")
    return m.group(1), m.group(2), m.group(3)


def split_top_level(text: str) -> list[str]:
    """Splits on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def sort_key_columns(statement: str) -> list[str]:
    m = re.search(r"\bORDER BY\s+(\((?:[^()]|\([^()]*\))*\)|[A-Za-z_][A-Za-z0-9_]*)", statement)
    if not m:
        raise GenerateError(f"no ORDER BY in:\n{statement}")
    key = m.group(1)
    if key.startswith("("):
        key = key[1:-1]
    cols = split_top_level(key)
    for c in cols:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c):
            raise GenerateError(f"sort key element `{c}` is not a column: choose a sharding key by hand")
    return cols


def sharding_key(cols: list[str]) -> str:
    if "dossier_code" in cols:
        return "cityHash64(dossier_code)"
    return f"cityHash64({', '.join(cols)})"


@dataclass
class Schema:
    """What exists after the statements translated so far: tables (with their sharding key)
    and views, by name."""

    tables: dict[str, str] = field(default_factory=dict)
    views: set[str] = field(default_factory=set)

    def kind(self, name: str) -> str:
        if name in self.tables:
            return "table"
        if name in self.views:
            return "view"
        raise GenerateError(f"`{name}` is neither a table nor a view created by an earlier statement")


def distributed(name: str, key: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS ${{db}}.{name} ON CLUSTER {CLUSTER}\n"
        f"AS ${{db}}.{name}{LOCAL_SUFFIX}\n"
        f"ENGINE = Distributed({CLUSTER}, '${{db}}', '{name}{LOCAL_SUFFIX}', {key})"
    )


def translate(st: str, schema: Schema) -> list[str]:
    """The cluster statements for one single-node statement; updates `schema`."""
    head = " ".join(st.split())

    m = re.match(rf"CREATE TABLE IF NOT EXISTS {NAME}\s*\(", head)
    if m:
        name = m.group(1)
        em = re.search(r"ENGINE = ([A-Za-z]+)(\(([^()]*)\))?", st)
        if not em or em.group(1) not in MERGE_TREE_ENGINES:
            raise GenerateError(f"table {name}: only MergeTree-family engines are translated:\n{st}")
        args = [ZK_PATH, REPLICA]
        quoted = [f"'{a}'" for a in args]
        extra = (em.group(3) or "").strip()
        engine = f"ENGINE = Replicated{em.group(1)}({', '.join(quoted + ([extra] if extra else []))})"
        local = st[: em.start()] + engine + st[em.end():]
        local = re.sub(
            rf"^CREATE TABLE IF NOT EXISTS \$\{{db\}}\.{name}\b",
            f"CREATE TABLE IF NOT EXISTS ${{db}}.{name}{LOCAL_SUFFIX} ON CLUSTER {CLUSTER}",
            local,
        )
        key = sharding_key(sort_key_columns(st))
        schema.tables[name] = key
        return [local, distributed(name, key)]

    m = re.match(rf"CREATE VIEW IF NOT EXISTS {NAME} AS\b", head)
    if m:
        name = m.group(1)
        schema.views.add(name)
        return [re.sub(rf"^(CREATE VIEW IF NOT EXISTS \$\{{db\}}\.{name})", rf"\1 ON CLUSTER {CLUSTER}", st)]

    m = re.match(rf"ALTER TABLE {NAME}\s", head)
    if m:
        name = m.group(1)
        if schema.kind(name) != "table":
            raise GenerateError(f"ALTER of view {name} is not translated")
        rest = st[st.index(name) + len(name):]
        rest = re.sub(r"\bADD COLUMN (?!IF NOT EXISTS)", "ADD COLUMN IF NOT EXISTS ", rest)
        return [
            f"ALTER TABLE ${{db}}.{name}{LOCAL_SUFFIX} ON CLUSTER {CLUSTER}{rest}",
            f"ALTER TABLE ${{db}}.{name} ON CLUSTER {CLUSTER}{rest}",
        ]

    m = re.fullmatch(rf"RENAME TABLE {NAME} TO {NAME}", head)
    if m:
        old, new = m.groups()
        if schema.kind(old) == "view":
            schema.views.remove(old)
            schema.views.add(new)
            return [f"RENAME TABLE ${{db}}.{old} TO ${{db}}.{new} ON CLUSTER {CLUSTER}"]
        key = schema.tables.pop(old)
        schema.tables[new] = key
        return [
            f"RENAME TABLE ${{db}}.{old}{LOCAL_SUFFIX} TO ${{db}}.{new}{LOCAL_SUFFIX} ON CLUSTER {CLUSTER}",
            f"DROP TABLE IF EXISTS ${{db}}.{old} ON CLUSTER {CLUSTER} SYNC",
            distributed(new, key),
        ]

    m = re.fullmatch(rf"DROP TABLE IF EXISTS {NAME}", head)
    if m:
        name = m.group(1)
        if schema.kind(name) == "view":
            schema.views.remove(name)
            return [f"DROP TABLE IF EXISTS ${{db}}.{name} ON CLUSTER {CLUSTER} SYNC"]
        del schema.tables[name]
        return [
            f"DROP TABLE IF EXISTS ${{db}}.{name} ON CLUSTER {CLUSTER} SYNC",
            f"DROP TABLE IF EXISTS ${{db}}.{name}{LOCAL_SUFFIX} ON CLUSTER {CLUSTER} SYNC",
        ]

    m = re.match(rf"INSERT INTO {NAME}\s*(\([^)]*\))?\s*(SELECT|VALUES)\b", head)
    if m:
        name = m.group(1)
        if schema.kind(name) != "table":
            raise GenerateError(f"INSERT into view {name} is not translated")
        target = re.match(rf"INSERT INTO \$\{{db\}}\.{name}\s*(\([^)]*\))?\s*", st)
        cut = target.end()
        return [st[:cut].rstrip() + "\nSETTINGS distributed_foreground_insert = 1\n" + st[cut:]]

    raise GenerateError(f"no cluster translation for this statement (extend generate.py):\n{st}")


HEADER = """\
-- GENERATED by deploy/clickhouse/cluster/generate.py from {source}: do not edit.
-- Cluster `{cluster}` (replicated tables `*_local` + Distributed tables under the original
-- names). Applied by deploy/clickhouse/cluster/apply.py, which substitutes `${{db}}` and
-- records version {version} ({name}) in schema_migrations as `motcua migrate` would.
"""


def render(version: int, name: str, source: str, sts: list[str]) -> str:
    out = HEADER.format(source=source, cluster=CLUSTER, version=version, name=name)
    return out + "".join(f"\n{st};\n" for st in sts)


def generate() -> dict[str, str]:
    """File name -> content of every cluster migration."""
    cols, engine, key = schema_migrations_ddl()
    if engine not in MERGE_TREE_ENGINES:
        raise GenerateError(f"schema_migrations engine {engine} is not MergeTree-family")
    bootstrap = [
        f"CREATE DATABASE IF NOT EXISTS ${{db}} ON CLUSTER {CLUSTER}",
        f"CREATE TABLE IF NOT EXISTS ${{db}}.schema_migrations{LOCAL_SUFFIX} ON CLUSTER {CLUSTER}\n{cols}\n"
        f"ENGINE = Replicated{engine}('{ZK_PATH}', '{REPLICA}')\nORDER BY {key}",
        distributed("schema_migrations", f"cityHash64({key})"),
    ]
    files = {"0000_bootstrap.sql": render(0, "bootstrap", "services/runtime/src/store.rs (Store::migrate)", bootstrap)}
    schema = Schema()
    for version, name, path in migration_files():
        out: list[str] = []
        for st in statements(path.read_text(encoding="utf-8")):
            out.extend(translate(st, schema))
        files[path.name] = render(version, name, f"deploy/clickhouse/migrations/{path.name}", out)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the checked-in files, write nothing")
    args = ap.parse_args()
    try:
        files = generate()
    except GenerateError as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 2
    if args.check:
        stale = []
        present = {p.name for p in OUT_DIR.glob("*.sql")} if OUT_DIR.is_dir() else set()
        for fname, text in files.items():
            path = OUT_DIR / fname
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            if old != text:
                stale.append(fname)
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), f"checked-in/{fname}", f"generated/{fname}"))
        for extra in sorted(present - set(files)):
            stale.append(extra)
            print(f"{OUT_DIR / extra}: no migration generates it")
        if stale:
            print(f"cluster DDL out of date: {', '.join(stale)}; run python3 deploy/clickhouse/cluster/generate.py",
                  file=sys.stderr)
            return 1
        print(f"cluster DDL up to date ({len(files)} files in {OUT_DIR.relative_to(REPO)})")
        return 0
    OUT_DIR.mkdir(exist_ok=True)
    for old in OUT_DIR.glob("*.sql"):
        if old.name not in files:
            old.unlink()
    for fname, text in files.items():
        (OUT_DIR / fname).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {OUT_DIR.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
