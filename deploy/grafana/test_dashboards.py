"""Every panel of the generated dashboards, run against the real services (pytest).

    bash deploy/grafana/check.sh          # or: python3 -m pytest deploy/grafana/test_dashboards.py

- ClickHouse panels: the SQL of each, variables and macros expanded as Grafana and the
  ClickHouse plugin would, on the real ClickHouse (MOTCUA_CLICKHOUSE_URL) in the database
  holding the main job's data (MOTCUA_GRAFANA_DATABASE, default `motcua_demo`, which
  `bash deploy/local/demo.sh` fills); and the same text on modern ClickHouse (chdb, over
  the migrated schema: there it must only run).
- Prometheus panels: a short real processor run (pipeline_run.py) on the machine's
  Prometheus (MOTCUA_PROMETHEUS_URL), every PromQL target evaluated at its end.
- A panel fails when a query errors or returns no rows, or when every value it returned is
  empty (NULL / NaN); the message names the dashboard, the panel and the query as sent.
- The preview page (preview.py) is rendered from those results and loaded in headless
  Chromium: every panel must have drawn its data.

Nothing here is skipped when a service is missing: the test fails and says what to start.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import requests
import yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import panel_queries as pq  # noqa: E402
import pipeline_run  # noqa: E402
import preview  # noqa: E402

REPO = HERE.parents[1]
ENV = dict(os.environ)
ENV.setdefault("MOTCUA_HOME", str(REPO / ".motcua"))
ENV.setdefault("MOTCUA_BROKERS", "127.0.0.1:19092")
ENV.setdefault("MOTCUA_CLICKHOUSE_URL", "http://127.0.0.1:18123")
ENV.setdefault("MOTCUA_PROMETHEUS_URL", "http://127.0.0.1:19090")
ENV.setdefault("MOTCUA_METRICS_ADDR", "127.0.0.1:19100")
ENV.setdefault("MOTCUA_PSEUDONYM_KEY", "motcua-local-dev-key-change-me")
DATABASE = ENV.get("MOTCUA_GRAFANA_DATABASE", "motcua_demo")
MOTCUA = pathlib.Path(ENV.get("MOTCUA_BIN", str(REPO / "target" / "release" / "motcua")))
HOME = pathlib.Path(ENV["MOTCUA_HOME"])

BOARDS = pq.load_dashboards()
PANELS = [p for b in BOARDS for p in pq.panels_of(b)]
CH_PANELS = [p for p in PANELS if p.datasource == pq.CLICKHOUSE_PLUGIN]
PROM_PANELS = [p for p in PANELS if p.datasource == "prometheus"]


def panel_id(p: pq.Panel) -> str:
    return f"{p.dashboard_uid}:{p.id}:{re.sub(r'[^A-Za-z0-9]+', '-', p.title).strip('-')[:50]}"


def describe(result: pq.PanelResult, why: str) -> str:
    p = result.panel
    return f"{p.dashboard_title} / panel {p.id} “{p.title}”: {why}"


# ---------------------------------------------------------------------------------------
# Fixtures: the services, the main job's data, a processor run
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clickhouse() -> pq.ClickHouse:
    ch = pq.ClickHouse(ENV["MOTCUA_CLICKHOUSE_URL"], DATABASE, ENV.get("MOTCUA_CLICKHOUSE_USER", ""),
                       ENV.get("MOTCUA_CLICKHOUSE_PASSWORD", ""))
    try:
        n = ch.scalar("SELECT count() FROM v_ontime_province_daily")
    except pq.QueryError as e:
        pytest.fail(f"ClickHouse database {DATABASE} not readable at {ENV['MOTCUA_CLICKHOUSE_URL']}: {e}\n"
                    "start the stack and fill it with the main job: bash deploy/local/demo.sh "
                    "(or set MOTCUA_GRAFANA_DATABASE to a database holding the figures)")
    if not n:
        pytest.fail(f"database {DATABASE} holds no figures: run bash deploy/local/demo.sh first")
    return ch


@pytest.fixture(scope="session")
def ch_context(clickhouse) -> pq.ClickHouseDashboards:
    try:
        return pq.ClickHouseDashboards(clickhouse, BOARDS)
    except pq.QueryError as e:
        pytest.fail(f"template variables: {e}")


@pytest.fixture(scope="session")
def prom_context():
    prom = pq.Prometheus(ENV["MOTCUA_PROMETHEUS_URL"])
    try:
        requests.get(prom.url + "/-/ready", timeout=5).raise_for_status()
    except requests.RequestException as e:
        pytest.fail(f"Prometheus not ready at {prom.url}: {e}; start it with bash deploy/local/up.sh")
    if not MOTCUA.exists():
        pytest.fail(f"{MOTCUA} missing: build it (bash deploy/local/demo.sh does) or set MOTCUA_BIN")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="grafana-run-", dir=HOME if HOME.exists() else None))
    run = pipeline_run.PipelineRun(MOTCUA, workdir, ENV, log=lambda s: print(s, file=sys.stderr))
    try:
        at = run.run()
        window = pq.PrometheusWindow(start=run.started_at, at=at)
        ctx = pq.PrometheusDashboards(prom, BOARDS, window)
        # Evaluate while the second processor still runs (`up` is read at `at`).
        results = {p.key: ctx.evaluate(p, with_range=True) for p in PROM_PANELS}
    except (pq.QueryError, RuntimeError, TimeoutError) as e:
        pytest.fail(f"processor run for the pipeline panels: {e}\n" + "\n".join(run.events))
    finally:
        run.close()
    shutil.rmtree(workdir, ignore_errors=True)
    return ctx, results


@pytest.fixture(scope="session")
def ch_results(ch_context) -> dict[str, pq.PanelResult]:
    return {p.key: ch_context.evaluate(p) for p in CH_PANELS}


# ---------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------


def test_generated_json_is_up_to_date():
    r = subprocess.run([sys.executable, str(HERE / "generate.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout


def test_every_panel_has_a_query_and_known_datasource():
    assert {b["uid"] for b in BOARDS} == {"motcua-pipeline", "motcua-business", "motcua-drilldown"}
    for p in PANELS:
        assert p.targets, f"{p.dashboard_title} / {p.title}: no query"
        assert p.datasource in ("prometheus", pq.CLICKHOUSE_PLUGIN), f"{p.title}: data source {p.datasource}"
    assert CH_PANELS and PROM_PANELS


def test_provisioning_matches_dashboards():
    ds = yaml.safe_load((HERE / "provisioning/datasources/motcua.yaml").read_text(encoding="utf-8"))
    by_uid = {d["uid"]: d for d in ds["datasources"]}
    used = {(t.get("datasource") or {}).get("uid"): (t.get("datasource") or {}).get("type")
            for p in PANELS for t in p.targets}
    used.update({(v.get("datasource") or {}).get("uid"): (v.get("datasource") or {}).get("type")
                 for b in BOARDS for v in pq.variables_of(b) if v.get("datasource")})
    for uid, kind in used.items():
        assert uid in by_uid, f"data source {uid} used by the dashboards is not provisioned"
        assert by_uid[uid]["type"] == kind, f"{uid}: provisioned as {by_uid[uid]['type']}, used as {kind}"
    assert by_uid["motcua-clickhouse"]["type"] == "grafana-clickhouse-datasource"
    providers = yaml.safe_load((HERE / "provisioning/dashboards/motcua.yaml").read_text(encoding="utf-8"))
    assert providers["providers"][0]["type"] == "file"
    assert providers["providers"][0]["options"]["path"]


def test_metrics_are_the_processors_own():
    """Every metric a panel reads is defined in services/core/src/names.rs, and every metric
    defined there is on the pipeline dashboard."""
    defined = set(re.findall(r'"(motcua_[a-z0-9_]+)"', (REPO / "services/core/src/names.rs").read_text(encoding="utf-8")))
    used = set()
    for p in PROM_PANELS:
        for t in p.targets:
            for m in re.findall(r"\bmotcua_[a-z0-9_]+", t["expr"]):
                used.add(re.sub(r"_(bucket|sum|count)$", "", m) if m not in defined else m)
    assert used <= defined, f"not defined in names.rs: {sorted(used - defined)}"
    assert defined == used, f"defined but on no panel: {sorted(defined - used)}"


def test_views_exist_and_are_documented():
    created = set()
    for path in (REPO / "deploy/clickhouse/migrations").glob("*.sql"):
        created |= set(re.findall(r"CREATE VIEW IF NOT EXISTS \$\{db\}\.(\w+)", path.read_text(encoding="utf-8")))
    docs = (REPO / "docs/CONTRACT.md").read_text(encoding="utf-8") + (REPO / "docs/ARCHITECTURE.md").read_text(encoding="utf-8")
    queries = [t["rawSql"] for p in CH_PANELS for t in p.targets]
    queries += [str(v["query"]) for b in BOARDS for v in pq.variables_of(b) if (v.get("datasource") or {}).get("type") == pq.CLICKHOUSE_PLUGIN]
    for sql in queries:
        for view in re.findall(r"\bFROM\s+(\w+)", sql):
            assert view in created, f"{view} is no view of the migrations: {sql}"
            assert not view.endswith("_scan"), f"{view}: a per-dossier scan, not a figure view: {sql}"
            assert f"`{view}`" in docs or f"{view}," in docs, f"{view} is not documented in CONTRACT.md / ARCHITECTURE.md"


# Views over the per-dossier tables (read with FINAL): only the drill-down may read them, and
# only for one agency (and its sub-units) or one dossier.
PER_DOSSIER_VIEWS = {"v_dossiers", "v_open_dossiers", "v_overdue_dossiers", "v_766_current", "v_766_periods",
                     "v_dossier_trail", "v_appointment_findings", "v_unmatched_ratings", "v_event_conflicts"}


def test_per_dossier_views_only_in_the_drilldown_and_filtered():
    for b in BOARDS:
        sqls = [(p.title, t["rawSql"]) for p in pq.panels_of(b) for t in p.targets if "rawSql" in t]
        sqls += [(f"${v['name']}", str(v["query"])) for v in pq.variables_of(b)
                 if (v.get("datasource") or {}).get("type") == pq.CLICKHOUSE_PLUGIN]
        for title, sql in sqls:
            views = set(re.findall(r"\bFROM\s+(\w+)", sql)) & PER_DOSSIER_VIEWS
            if not views:
                continue
            assert b["uid"] == "motcua-drilldown", f"{b['title']} / {title} reads per-dossier {views}"
            assert "agency_code = ${agency:sqlstring}" in sql or "dossier_code = ${dossier:sqlstring}" in sql, \
                f"{title}: {views} read without a filter on the agency or the dossier: {sql}"


def test_dashboard_sql_avoids_what_clickhouse_18_16_breaks_on():
    """An alias equal to a column its own expression reads (`sum(counted) AS counted`)."""
    alias = re.compile(r"(\w+)\(([^()]*)\)\s+AS\s+(\w+)", re.IGNORECASE)
    for p in CH_PANELS:
        for t in p.targets:
            for fn, args, name in alias.findall(t["rawSql"]):
                assert not re.search(rf"\b{name}\b", args), f"{p.title}: {fn}({args}) AS {name}"


# ---------------------------------------------------------------------------------------
# Every panel
# ---------------------------------------------------------------------------------------


def test_variables_resolve_from_the_data(ch_context):
    for uid, sent in ch_context.variable_queries.items():
        for name, sql, value in sent:
            assert value, f"{uid}: ${name} empty: {sql}"
    print({uid: v for uid, v in ch_context.values.items()})


@pytest.mark.parametrize("panel", CH_PANELS, ids=panel_id)
def test_clickhouse_panel(panel, ch_results):
    r = ch_results[panel.key]
    problem = r.problem()
    assert problem is None, describe(r, problem)


@pytest.fixture(scope="session")
def modern_clickhouse():
    """Modern ClickHouse in-process (chdb) with the migrations applied to an empty database."""
    try:
        from chdb import session
    except ImportError:
        pytest.fail("chdb missing: pip install --no-deps chdb-core (deploy/local/up.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="grafana-chdb-")
    s = session.Session(tmp)
    db = "motcua_modern"
    s.query(f"CREATE DATABASE {db}")
    for path in sorted((REPO / "deploy/clickhouse/migrations").glob("*.sql")):
        # The migrator's rule (docs/CONTRACT.md §8): `--` lines dropped, split on `;` at a line end.
        text = "".join(line + "\n" for line in path.read_text(encoding="utf-8").splitlines()
                       if not line.lstrip().startswith("--"))
        for statement in text.split(";\n"):
            if statement.strip():
                s.query(statement.replace("${db}", db))
    s.query(f"USE {db}")
    yield s
    s.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("panel", CH_PANELS, ids=panel_id)
def test_clickhouse_panel_runs_on_modern_clickhouse(panel, ch_context, modern_clickhouse):
    for t in panel.targets:
        sql = ch_context.sql_of(panel, t)
        try:
            modern_clickhouse.query(sql, "CSV")
        except Exception as e:  # chdb raises its own error types
            pytest.fail(f"{panel.dashboard_title} / “{panel.title}” on modern ClickHouse: {e}\n{sql}")


@pytest.mark.parametrize("panel", PROM_PANELS, ids=panel_id)
def test_prometheus_panel(panel, prom_context):
    _, results = prom_context
    r = results[panel.key]
    problem = r.problem()
    assert problem is None, describe(r, problem)


def _values(results: dict[str, pq.PanelResult], title: str) -> dict[str, float]:
    """Legend → value at the evaluation instant, for the pipeline panel titled `title`."""
    panel = next((p for p in PROM_PANELS if p.title == title), None)
    assert panel is not None, f"no pipeline panel titled {title!r}"
    out = {}
    for q in results[panel.key].queries:
        for s in q.series or []:
            out[pq.legend_of(q.legend, s["metric"])] = float(s["value"][1])
    return out


def test_pipeline_panels_show_what_the_run_caused(prom_context):
    """The panels do not only return rows: they show the events the run caused."""
    _, results = prom_context
    assert _values(results, "Processors up")["up"] >= 1
    assert _values(results, "Dead letters since start")["dead letters"] >= 3
    by_reason = _values(results, "Dead letters by reason, since start")
    assert {"undecodable", "missing_field", "bad_format"} <= set(by_reason), by_reason
    assert _values(results, "Events folded by kind, duplicates ignored")["duplicates"] > 0
    retried = _values(results, "Retried operations, since start")
    assert any(v >= 1 for k, v in retried.items() if k in pipeline_run.TABLES), retried
    assert any(v >= 1 for k, v in retried.items() if k.removeprefix("insert into ") in pipeline_run.TABLES and k.startswith("insert into ")), retried
    assert retried["retrying now"] == 0, "the processor should have recovered from the outage"
    assert _values(results, "Partitions owned, catching up, paused")["owned"] == 2
    assert _values(results, "Partition restore time (average since start)")["average"] > 0
    lag = _values(results, "Consumer lag per partition")
    assert lag and all(v == 0 for v in lag.values()), lag


def test_prometheus_variables_resolve(prom_context):
    ctx, _ = prom_context
    for uid, sent in ctx.variable_queries.items():
        for name, selector, value in sent:
            assert value, f"{uid}: ${name} empty ({selector})"


# ---------------------------------------------------------------------------------------
# The preview, in headless Chromium
# ---------------------------------------------------------------------------------------


def test_preview_renders_every_panel(ch_context, ch_results, prom_context):
    prom_ctx, prom_results = prom_context
    results = {**ch_results, **prom_results}
    out = HOME / "grafana-preview.html"
    preview.write_page(out, BOARDS, results, ch_context, prom_ctx)
    dom = preview.chromium_dump_dom(out)
    rendered = preview.rendered_panels(dom)
    missing = [p for p in PANELS if rendered.get(p.key, 0) <= 0]
    assert not missing, "panels not drawn with data in the preview: " + ", ".join(
        f"{p.dashboard_uid} “{p.title}” ({rendered.get(p.key, 'absent')})" for p in missing)
    for uid in (b["uid"] for b in BOARDS):
        png = HOME / f"grafana-preview-{uid}.png"
        preview.chromium_screenshot(out, uid, png)
        assert png.exists() and png.stat().st_size > 10_000, f"screenshot {png} missing or empty"
