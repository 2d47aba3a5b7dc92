"""Runs the generated dashboards' panels the way Grafana would, against the real services.

Shared by test_dashboards.py and preview.py. Grafana itself cannot run on these machines, so
this does its part: it reads each panel's targets from the checked-in JSON, resolves the
template variables by running the variables' own queries (the first value, as Grafana
selects when nothing is chosen; for `${var:sqlstring}` the value quoted as Grafana's
sqlstring format does), expands the ClickHouse plugin's macros (`$__dateFilter`,
`$__timeFilter`, `$__fromTime`, `$__toTime`, `$__interval_s`) and Grafana's Prometheus
variables (`$__rate_interval`, `$__range`, `$__interval`), and sends the text to
ClickHouse's HTTP interface or Prometheus' HTTP API. Anything `$`-shaped left after
expansion is an error: a misspelt variable fails the panel, it is not sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import pathlib
import re
import typing

import requests

HERE = pathlib.Path(__file__).resolve().parent
DASHBOARD_DIR = HERE / "dashboards"
CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"
VN = dt.timezone(dt.timedelta(hours=7))


# ---------------------------------------------------------------------------------------
# Dashboards and panels
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Panel:
    dashboard_uid: str
    dashboard_title: str
    id: int
    title: str
    type: str
    datasource: str  # "prometheus" or "grafana-clickhouse-datasource"
    targets: list[dict]
    raw: dict

    @property
    def key(self) -> str:
        return f"{self.dashboard_uid}/{self.id}"


def load_dashboards(directory: pathlib.Path = DASHBOARD_DIR) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def panels_of(board: dict) -> list[Panel]:
    """Every panel with queries, rows' nested panels included, in dashboard order."""
    out = []

    def visit(panels: list[dict]) -> None:
        for p in panels:
            if p.get("type") == "row":
                visit(p.get("panels") or [])
                continue
            targets = p.get("targets") or []
            ds = (p.get("datasource") or {}).get("type", "")
            out.append(Panel(board["uid"], board["title"], p["id"], p.get("title", ""), p["type"], ds, targets, p))

    visit(board.get("panels") or [])
    return out


def variables_of(board: dict) -> list[dict]:
    return (board.get("templating") or {}).get("list") or []


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------


class QueryError(Exception):
    """A query the service refused or could not run; the message holds its answer."""


@dataclasses.dataclass
class Table:
    columns: list[str]
    types: list[str]
    rows: list[list]


class ClickHouse:
    def __init__(self, url: str, database: str, user: str = "", password: str = "") -> None:
        self.url = url.rstrip("/") + "/"
        self.database = database
        self.auth = (user, password) if user else None

    def query(self, sql: str) -> Table:
        params = {"database": self.database, "output_format_json_quote_64bit_integers": "0"}
        try:
            r = requests.post(self.url, params=params, data=(sql + "\nFORMAT JSONCompact").encode(), auth=self.auth, timeout=60)
        except requests.RequestException as e:
            raise QueryError(f"ClickHouse at {self.url} unreachable: {e}") from e
        if r.status_code != 200:
            raise QueryError(r.text.strip()[:2000])
        body = r.json()
        return Table([m["name"] for m in body["meta"]], [m["type"] for m in body["meta"]], body["data"])

    def scalar(self, sql: str):
        t = self.query(sql)
        return t.rows[0][0] if t.rows else None


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, params: dict) -> dict:
        try:
            r = requests.get(self.url + path, params=params, timeout=30)
        except requests.RequestException as e:
            raise QueryError(f"Prometheus at {self.url} unreachable: {e}") from e
        try:
            body = r.json()
        except ValueError:
            raise QueryError(f"HTTP {r.status_code}: {r.text[:500]}") from None
        if body.get("status") != "success":
            raise QueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def instant(self, expr: str, at: float) -> list[dict]:
        return self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})["result"]

    def range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self._get("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:g}"})["result"]

    def label_values(self, label: str, match: str) -> list[str]:
        return self._get(f"/api/v1/label/{label}/values", {"match[]": match})

    def series_values(self, metric_selector: str, label: str, start: float, end: float) -> list[str]:
        """The values of `label` on the series `metric_selector` selects between `start` and `end`
        (what Grafana's label_values(selector, label) lists for the dashboard's time range)."""
        found = self._get("/api/v1/series", {"match[]": metric_selector, "start": f"{start:.3f}", "end": f"{end:.3f}"})
        return sorted({s.get(label, "") for s in found} - {""})


# ---------------------------------------------------------------------------------------
# Variables and macros
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class TimeRange:
    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


VAR_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}")
VAR_PLAIN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
MACRO = re.compile(r"\$__([A-Za-z_]+)(?:\(([^()]*)\))?")


def sqlstring(value: str) -> str:
    """Grafana's `sqlstring` format: quoted, single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def prom_regex_escape(value: str) -> str:
    """What Grafana's Prometheus data source puts in a regex matcher for a value of a multi-value
    or include-all variable: regex metacharacters escaped, the backslash doubled for the string."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


def interpolate_variables(text: str, values: dict[str, str], regex_vars: typing.Iterable[str] = ()) -> str:
    regex_vars = set(regex_vars)

    def fmt(name: str, form: str | None) -> str:
        if name not in values:
            raise QueryError(f"unknown template variable ${name}")
        v = values[name]
        if form == "sqlstring":
            return sqlstring(v)
        if form in (None, "raw", "text"):
            return prom_regex_escape(v) if (name in regex_vars and form is None) else v
        raise QueryError(f"variable format {form!r} not handled")

    text = VAR_BRACED.sub(lambda m: m.group(0) if m.group(1).startswith("__") else fmt(m.group(1), m.group(2)), text)
    return VAR_PLAIN.sub(lambda m: m.group(0) if m.group(1).startswith("__") else fmt(m.group(1), None), text)


def _date(t: dt.datetime) -> str:
    # The plugin's backend formats the range's ends in UTC (Go's time.Time from epoch ms).
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")


def expand_clickhouse_macros(sql: str, tr: TimeRange, interval_s: int = 3600) -> str:
    frm, to = int(tr.start.timestamp()), int(tr.end.timestamp())

    def one(m: re.Match) -> str:
        name, arg = m.group(1), m.group(2)
        arg = arg.strip() if arg is not None else None
        if name == "fromTime" and arg is None:
            return f"toDateTime({frm})"
        if name == "toTime" and arg is None:
            return f"toDateTime({to})"
        if name == "timeFilter" and arg:
            return f"{arg} >= toDateTime({frm}) AND {arg} <= toDateTime({to})"
        if name == "dateFilter" and arg:
            return f"{arg} >= toDate('{_date(tr.start)}') AND {arg} <= toDate('{_date(tr.end)}')"
        if name == "interval_s" and arg is None:
            return str(interval_s)
        raise QueryError(f"ClickHouse macro $__{name} not handled")

    return MACRO.sub(one, sql)


def expand_prometheus_variables(expr: str, rate_interval: str, range_: str, interval: str) -> str:
    return (expr.replace("$__rate_interval", rate_interval).replace("${__rate_interval}", rate_interval)
            .replace("$__range", range_).replace("${__range}", range_)
            .replace("$__interval", interval).replace("${__interval}", interval))


def leftover(text: str) -> None:
    if "$" in text:
        raise QueryError(f"unexpanded `$` left in the query: {text}")


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class QueryResult:
    ref_id: str
    legend: str
    text: str  # as sent
    table: Table | None = None  # ClickHouse
    series: list[dict] | None = None  # Prometheus instant vector (at eval time)
    range_series: list[dict] | None = None  # Prometheus range (for the preview)

    @property
    def row_count(self) -> int:
        if self.table is not None:
            return len(self.table.rows)
        return len(self.series or [])

    def finite_values(self) -> int:
        if self.table is not None:
            return sum(1 for row in self.table.rows for v in row if v is not None)
        n = 0
        for s in self.series or []:
            try:
                if math.isfinite(float(s["value"][1])):
                    n += 1
            except (KeyError, ValueError, TypeError):
                pass
        return n


@dataclasses.dataclass
class PanelResult:
    panel: Panel
    queries: list[QueryResult]
    error: str | None = None

    def problem(self) -> str | None:
        """Why this panel fails the test, or None."""
        if self.error:
            return self.error
        for q in self.queries:
            if q.row_count == 0:
                return f"query {q.ref_id} returned no rows:\n{q.text}"
        if not any(q.finite_values() for q in self.queries):
            return "every value is empty (NULL or NaN):\n" + "\n".join(q.text for q in self.queries)
        return None


class ClickHouseDashboards:
    """Variables resolved from the data and the time range the data spans, per dashboard."""

    def __init__(self, ch: ClickHouse, boards: list[dict]) -> None:
        self.ch = ch
        self.values: dict[str, dict[str, str]] = {}
        self.variable_queries: dict[str, list[tuple[str, str, str]]] = {}
        self.time: dict[str, TimeRange] = {}
        for b in boards:
            if not any(p.datasource == CLICKHOUSE_PLUGIN for p in panels_of(b)):
                continue
            self.values[b["uid"]], self.variable_queries[b["uid"]] = self._resolve(b)
            self.time[b["uid"]] = self._time_range(self.values[b["uid"]])

    def _resolve(self, board: dict) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
        values: dict[str, str] = {}
        sent: list[tuple[str, str, str]] = []
        for v in variables_of(board):
            name = v["name"]
            if v["type"] == "custom":
                current = (v.get("current") or {}).get("value")
                values[name] = current or str(v["query"]).split(",")[0].strip()
            elif v["type"] == "constant":
                values[name] = str(v["query"])
            elif v["type"] == "query":
                sql = interpolate_variables(str(v["query"]), values)
                leftover(sql)
                t = self.ch.query(sql)
                if not t.rows:
                    raise QueryError(f"variable ${name} has no values: {sql}")
                values[name] = str(t.rows[0][0])
                sent.append((name, sql, values[name]))
            else:
                raise QueryError(f"variable type {v['type']} not handled (${name})")
        return values, sent

    def _time_range(self, values: dict[str, str]) -> TimeRange:
        """From the first to the last day of the province's ended dossiers (Vietnam dates)."""
        where = f"WHERE province_code = {sqlstring(values['province'])}" if "province" in values else ""
        t = self.ch.query(f"SELECT toString(min(day)), toString(max(day)) FROM v_ontime_province_daily {where}")
        first, last = t.rows[0]
        start = dt.datetime.fromisoformat(first).replace(tzinfo=VN)
        end = dt.datetime.fromisoformat(last).replace(tzinfo=VN) + dt.timedelta(days=1, seconds=-1)
        return TimeRange(start, end)

    def sql_of(self, panel: Panel, target: dict) -> str:
        sql = interpolate_variables(target["rawSql"], self.values[panel.dashboard_uid])
        sql = expand_clickhouse_macros(sql, self.time[panel.dashboard_uid])
        leftover(sql)
        return sql

    def evaluate(self, panel: Panel) -> PanelResult:
        results = []
        sql = ""
        try:
            if not panel.targets:
                raise QueryError("panel has no query")
            for target in panel.targets:
                if (target.get("datasource") or {}).get("type") != CLICKHOUSE_PLUGIN or target.get("editorType") != "sql":
                    raise QueryError(f"target {target.get('refId')} is not a raw-SQL ClickHouse query")
                sql = target.get("rawSql", "")
                sql = self.sql_of(panel, target)
                results.append(QueryResult(target["refId"], "", sql, table=self.ch.query(sql)))
        except QueryError as e:
            return PanelResult(panel, results, error=f"{e}\nquery: {sql}")
        return PanelResult(panel, results)


@dataclasses.dataclass
class PrometheusWindow:
    """When the panels are evaluated: instant queries at `at`, the preview's range over
    [start, at], and the values Grafana would put in its interval variables."""

    start: float
    at: float
    rate_interval: str = "2m"
    range_: str = "15m"
    interval: str = "15s"
    step: float = 2.0


class PrometheusDashboards:
    def __init__(self, prom: Prometheus, boards: list[dict], window: PrometheusWindow) -> None:
        self.prom = prom
        self.window = window
        self.values: dict[str, dict[str, str]] = {}
        self.regex_vars: dict[str, set[str]] = {}
        self.variable_queries: dict[str, list[tuple[str, str, str]]] = {}
        for b in boards:
            if any(p.datasource == "prometheus" for p in panels_of(b)):
                self._resolve(b)

    def _resolve(self, board: dict) -> None:
        uid = board["uid"]
        values: dict[str, str] = {}
        regex_vars: set[str] = set()
        sent = []
        for v in variables_of(board):
            name, query = v["name"], str(v["query"])
            m = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_]+)\)", query)
            if v["type"] != "query" or not m:
                raise QueryError(f"Prometheus variable ${name} is not label_values(...): {query}")
            selector = interpolate_variables(m.group(1), values, regex_vars)
            found = self.prom.series_values(selector, m.group(2), self.window.start, self.window.at)
            if not found:
                raise QueryError(f"variable ${name} has no values: {query} (as {selector})")
            values[name] = found[0]
            if v.get("multi") or v.get("includeAll"):
                regex_vars.add(name)
            sent.append((name, selector, found[0]))
        self.values[uid], self.regex_vars[uid], self.variable_queries[uid] = values, regex_vars, sent

    def expr_of(self, panel: Panel, target: dict) -> str:
        w = self.window
        expr = expand_prometheus_variables(target["expr"], w.rate_interval, w.range_, w.interval)
        expr = interpolate_variables(expr, self.values[panel.dashboard_uid], self.regex_vars[panel.dashboard_uid])
        leftover(expr)
        return expr

    def evaluate(self, panel: Panel, with_range: bool = False) -> PanelResult:
        results = []
        expr = ""
        try:
            if not panel.targets:
                raise QueryError("panel has no query")
            for target in panel.targets:
                if (target.get("datasource") or {}).get("type") != "prometheus":
                    raise QueryError(f"target {target.get('refId')} is not a Prometheus query")
                expr = target.get("expr", "")
                expr = self.expr_of(panel, target)
                q = QueryResult(target["refId"], target.get("legendFormat", ""), expr,
                                series=self.prom.instant(expr, self.window.at))
                if with_range and not target.get("instant"):
                    q.range_series = self.prom.range(expr, self.window.start, self.window.at, self.window.step)
                results.append(q)
        except QueryError as e:
            return PanelResult(panel, results, error=f"{e}\nquery: {expr}")
        return PanelResult(panel, results)


def legend_of(fmt: str, metric: dict) -> str:
    """A series' name as Grafana's legend format `{{label}}` writes it."""
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in sorted(metric.items())) or "value"
    return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt)
