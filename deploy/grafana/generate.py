#!/usr/bin/env python3
"""motcua's Grafana dashboards, as code (Grafana's foundation SDK for Python).

    python3 deploy/grafana/generate.py            # write deploy/grafana/dashboards/*.json
    python3 deploy/grafana/generate.py --check    # exit 1 if the checked-in JSON is not what this writes

Three dashboards:
  pipeline   the processor's health, from Prometheus (metric names: services/core/src/names.rs)
  business   on-time rates, overdue dossiers, Decision 766 and satisfaction per agency, field
             and level, from ClickHouse's figure views (docs/CONTRACT.md §7), with the
             provinces' targets (targets.json, from domain.md §10) drawn as thresholds
  drilldown  one agency: its figures, then its late and overdue dossiers, then one dossier's
             trail (the only dashboard with per-dossier tables; every such query filters on
             the agency or the dossier code)

SQL rules (the local server is ClickHouse 18.16, production a modern one): figure views only,
no modern-only functions, and no alias equal to a column its own expression reads (18.16
resolves the alias first: `sum(counted) AS counted` breaks, so totals are `counted_total`).
Template variables are quoted with Grafana's `${var:sqlstring}` format.
"""

from __future__ import annotations

import argparse
import difflib
import json
import pathlib
import sys

from grafana_foundation_sdk.builders import bargauge, barchart, common as cb, dashboard as dash, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from clickhouse_query import ClickHouseQueryBuilder  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
OUT_DIR = HERE / "dashboards"

# Data source UIDs: provisioning/datasources/motcua.yaml provisions these two.
PROM = DataSourceRef(type_val="prometheus", uid="motcua-prometheus")
CH = DataSourceRef(type_val="grafana-clickhouse-datasource", uid="motcua-clickhouse")

UID_PIPELINE = "motcua-pipeline"
UID_BUSINESS = "motcua-business"
UID_DRILLDOWN = "motcua-drilldown"

# Template-variable fragments of the SQL.
PROVINCE = "${province:sqlstring}"
AGENCY = "${agency:sqlstring}"
PERIOD = "period_kind = ${period_kind:sqlstring} AND period = ${period:sqlstring}"
DOSSIER = "${dossier:sqlstring}"


def in_unit(column: str, var: str) -> str:
    """The unit named by `var` and its sub-units (codes below it: `H56` covers `H56.50.01`)."""
    return f"({column} = {var} OR startsWith({column}, concat({var}, '.')))"


RATE = "round(100 * (sum(early) + sum(on_time)) / sum(counted), 2)"
RATE_766 = "round(100 * (sum(early) + sum(on_time) + sum(open_within)) / sum(counted), 2)"
SATISFIED = "if(sum(rated) = 0, NULL, round(100 * (sum(very_satisfied) + sum(satisfied)) / sum(rated), 2))"
SATISFIED_ON_TIME = "if(sum(rated_on_time) = 0, NULL, round(100 * sum(satisfied_on_time) / sum(rated_on_time), 2))"
SATISFIED_LATE = "if(sum(rated_late) = 0, NULL, round(100 * sum(satisfied_late) / sum(rated_late), 2))"


# ---------------------------------------------------------------------------------------
# Targets and thresholds
# ---------------------------------------------------------------------------------------


def load_targets(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["default"]


def below_target(target: float) -> dash.ThresholdsConfig:
    """Red below the target, green from it."""
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color="red"), Threshold(value=target, color="green")])
    )


def zero_is_good() -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color="green"), Threshold(value=1, color="red")])
    )


def neutral() -> dash.ThresholdsConfig:
    return dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([Threshold(value=None, color="blue")])


def threshold_json(target: float) -> dict:
    return {
        "mode": "absolute",
        "steps": [{"color": "red", "value": None}, {"color": "green", "value": target}],
    }


def percent_cells(column: str, target: float) -> tuple[str, list[DynamicConfigValue]]:
    """Override for a table column holding a percentage judged against a target."""
    return column, [
        DynamicConfigValue(id_val="unit", value="percent"),
        DynamicConfigValue(id_val="thresholds", value=threshold_json(target)),
        DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background", "mode": "basic"}),
    ]


# ---------------------------------------------------------------------------------------
# Panel helpers
# ---------------------------------------------------------------------------------------


class Ids:
    """Stable panel ids, in the order panels are added."""

    def __init__(self) -> None:
        self.next = 1

    def __call__(self) -> int:
        n = self.next
        self.next += 1
        return n


def drill_link() -> list[dict]:
    """Data link of an agency-code cell: the drill-down for that agency, same time range."""
    return [{
        "title": "Drill down into ${__value.raw}",
        "url": f"/d/{UID_DRILLDOWN}/motcua-drill-down?var-province=${{province}}&var-agency=${{__value.raw}}&${{__url_time_range}}",
    }]


def dossier_link() -> list[dict]:
    """Data link of a dossier-code cell: this drill-down with that dossier's trail."""
    return [{
        "title": "Trail of ${__value.raw}",
        "url": f"/d/{UID_DRILLDOWN}/motcua-drill-down?var-province=${{province}}&var-agency=${{agency}}"
               "&var-period_kind=${period_kind}&var-period=${period}&var-dossier=${__value.raw}&${__url_time_range}",
    }]


def prom_target(expr: str, legend: str, ref: str, instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(PROM)
    return q.instant() if instant else q.range()


def prom_timeseries(ids: Ids, title: str, description: str, targets: list[tuple[str, str]], unit: str,
                    width: int = 12, height: int = 8, axis_label: str = "", bars: bool = False,
                    stacked: bool = False) -> timeseries.Panel:
    p = (
        timeseries.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(PROM)
        .unit(unit)
        .min(0)
        .span(width)
        .height(height)
        .fill_opacity(15)
        .legend(cb.VizLegendOptions().show_legend(True).display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM))
    )
    if axis_label:
        p = p.axis_label(axis_label)
    if bars:
        p = p.draw_style(common.GraphDrawStyle.BARS)
    if stacked:
        p = p.stacking(cb.StackingConfig().mode(common.StackingMode.NORMAL))
    for i, (expr, legend) in enumerate(targets):
        p = p.with_target(prom_target(expr, legend, chr(ord("A") + i)))
    return p


def prom_stat(ids: Ids, title: str, description: str, targets: list[tuple[str, str]], unit: str,
              thresholds: dash.ThresholdsConfig, width: int = 4, height: int = 4) -> stat.Panel:
    p = (
        stat.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(PROM)
        .unit(unit)
        .span(width)
        .height(height)
        .thresholds(thresholds)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    for i, (expr, legend) in enumerate(targets):
        p = p.with_target(prom_target(expr, legend, chr(ord("A") + i), instant=True))
    return p


def ch_target(sql: str, time_series: bool = False) -> ClickHouseQueryBuilder:
    q = ClickHouseQueryBuilder(sql.strip()).ref_id("A").datasource(CH)
    return q.time_series() if time_series else q


def ch_stat(ids: Ids, title: str, description: str, sql: str, unit: str, thresholds: dash.ThresholdsConfig,
            width: int = 4, height: int = 4, decimals: float | None = None,
            plain_fields: tuple[str, ...] = ()) -> stat.Panel:
    """A stat per column of the first row; `plain_fields` are shown without the thresholds."""
    p = (
        stat.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(CH)
        .unit(unit)
        .span(width)
        .height(height)
        .thresholds(thresholds)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(ch_target(sql))
    )
    if decimals is not None:
        p = p.decimals(decimals)
    for name in plain_fields:
        p = p.override_by_name(name, [DynamicConfigValue(
            id_val="thresholds", value={"mode": "absolute", "steps": [{"color": "blue", "value": None}]})])
    return p


def ch_timeseries(ids: Ids, title: str, description: str, sql: str, unit: str, target: float | None = None,
                  width: int = 12, height: int = 8, bars: bool = False) -> timeseries.Panel:
    p = (
        timeseries.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(CH)
        .unit(unit)
        .span(width)
        .height(height)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.ALWAYS)
        .span_nulls(True)
        .with_target(ch_target(sql, time_series=True))
    )
    if bars:
        p = p.draw_style(common.GraphDrawStyle.BARS)
    if target is not None:
        p = (
            p.thresholds(below_target(target))
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED))
            .axis_soft_max(100)
        )
    return p


def ch_table(ids: Ids, title: str, description: str, sql: str, width: int = 12, height: int = 9,
             percent_columns: list[tuple[str, float]] = (), links: dict[str, list[dict]] | None = None,
             units: dict[str, str] | None = None) -> table.Panel:
    p = (
        table.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(CH)
        .span(width)
        .height(height)
        .filterable(True)
        .with_target(ch_target(sql))
    )
    for column, target in percent_columns:
        name, props = percent_cells(column, target)
        p = p.override_by_name(name, props)
    for column, unit in (units or {}).items():
        p = p.override_by_name(column, [DynamicConfigValue(id_val="unit", value=unit)])
    for column, column_links in (links or {}).items():
        p = p.override_by_name(column, [DynamicConfigValue(id_val="links", value=column_links)])
    return p


def ch_bars(ids: Ids, title: str, description: str, sql: str, x_field: str, unit: str, target: float | None = None,
            width: int = 12, height: int = 8, stacked: bool = False) -> barchart.Panel:
    p = (
        barchart.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(CH)
        .unit(unit)
        .span(width)
        .height(height)
        .x_field(x_field)
        .x_tick_label_rotation(-45)
        .show_value(common.VisibilityMode.AUTO)
        .legend(cb.VizLegendOptions().show_legend(True).display_mode(common.LegendDisplayMode.LIST)
                .placement(common.LegendPlacement.BOTTOM))
        .with_target(ch_target(sql))
    )
    if stacked:
        p = p.stacking(common.StackingMode.NORMAL)
    if target is not None:
        p = (
            p.thresholds(below_target(target))
            .thresholds_style(cb.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED))
            .axis_soft_max(100)
            .min(0)
        )
    return p


def ch_gauges(ids: Ids, title: str, description: str, sql: str, unit: str, target: float,
              width: int = 12, height: int = 9) -> bargauge.Panel:
    """One bar per row: the first string column names it, the numeric column is judged."""
    return (
        bargauge.Panel()
        .id(ids())
        .title(title)
        .description(description)
        .datasource(CH)
        .unit(unit)
        .min(0)
        .max(100)
        .span(width)
        .height(height)
        .thresholds(below_target(target))
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(True))
        .with_target(ch_target(sql))
    )


# ---------------------------------------------------------------------------------------
# Template variables
# ---------------------------------------------------------------------------------------


def ch_variable(name: str, label: str, sql: str, description: str) -> dash.QueryVariable:
    return (
        dash.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(CH)
        .query(sql.strip())
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
        .multi(False)
        .include_all(False)
    )


def province_variable() -> dash.QueryVariable:
    return ch_variable(
        "province", "Province",
        "SELECT DISTINCT province_code FROM v_ontime_province_daily ORDER BY province_code",
        "Province code (the first segment of an agency code).",
    )


def period_kind_variable() -> dash.CustomVariable:
    return (
        dash.CustomVariable("period_kind")
        .label("Report")
        .description("Decision 766 report: month, quarter or year.")
        .values("MONTH,QUARTER,YEAR")
        .current(VariableOption(selected=True, text="MONTH", value="MONTH"))
    )


def pipeline_variables(d: dash.Dashboard) -> dash.Dashboard:
    for name, label, query in (
        ("job", "Job", "label_values(motcua_processor_partitions_owned, job)"),
        ("instance", "Processor", 'label_values(motcua_processor_partitions_owned{job=~"$job"}, instance)'),
    ):
        d = d.with_variable(
            dash.QueryVariable(name)
            .label(label)
            .datasource(PROM)
            .query(query)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    return d


# ---------------------------------------------------------------------------------------
# (a) Pipeline health, from Prometheus
# ---------------------------------------------------------------------------------------

S = '{job=~"$job", instance=~"$instance"}'


def pipeline() -> dash.Dashboard:
    ids = Ids()
    d = (
        dash.Dashboard("motcua: pipeline health")
        .uid(UID_PIPELINE)
        .description("The stream processor: records in and out, lag, batches, ClickHouse writes, partitions and state. "
                     "Prometheus scrapes each `motcua process` at its --metrics-addr.")
        .tags(["motcua", "pipeline"])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
    )
    d = pipeline_variables(d)
    d = d.link(dash.DashboardLink("motcua").type(DashboardLinkType.DASHBOARDS).tags(["motcua"]).as_dropdown(True))

    d = d.with_row(dash.Row("Flow"))
    d = d.with_panel(prom_stat(ids, "Processors up", "Scrape targets answering (`up`): every `motcua process` instance.",
                               [(f"sum(up{S})", "up")], "none", below_target(1)))
    d = d.with_panel(prom_stat(ids, "Event-time watermark",
                               "The processor's event-time watermark: the minimum over its partitions of their latest "
                               "event time (quiet partitions ignored). Open dossiers are judged overdue against it.",
                               [(f"max(motcua_processor_watermark_seconds{S} > 0) * 1000", "watermark")],
                               "dateTimeAsIso", neutral(), width=6))
    d = d.with_panel(prom_stat(ids, "Watermark behind wall clock",
                               "Wall clock minus the watermark. Grows when events stop arriving or the processor falls behind.",
                               [(f"time() - max(motcua_processor_watermark_seconds{S} > 0)", "delay")], "s", neutral()))
    d = d.with_panel(prom_stat(ids, "Dead letters since start",
                               "Records sent to the dead-letter topic since each processor started (all reasons); each "
                               "also lands in the `dead_letters` table. A counter, not increase(): its series per reason "
                               "appears with the first dead letter, which increase() would not count.",
                               [(f"sum(motcua_processor_events_rejected_total{S})", "dead letters")],
                               "none", zero_is_good()))
    d = d.with_panel(prom_stat(ids, "Retrying now",
                               "1 while the processor retries a failed operation (ClickHouse or the broker down or slow).",
                               [(f"max(motcua_processor_retrying{S})", "retrying")], "none", zero_is_good(), width=6))
    d = d.with_panel(prom_timeseries(ids, "Records consumed by topic", "Records read from each input topic.",
                                     [(f"sum by (topic) (rate(motcua_processor_events_consumed_total{S}[$__rate_interval]))", "{{topic}}")],
                                     "short", width=8, axis_label="records/s"))
    d = d.with_panel(prom_timeseries(ids, "Events folded by kind, duplicates ignored",
                                     "Valid events folded into dossier state, by kind; a resent event id is counted as a duplicate and folded once.",
                                     [(f"sum by (kind) (rate(motcua_processor_events_folded_total{S}[$__rate_interval]))", "{{kind}}"),
                                      (f"sum(rate(motcua_processor_events_duplicate_total{S}[$__rate_interval]))", "duplicates")],
                                     "short", width=8, axis_label="events/s", stacked=True))
    d = d.with_panel(prom_timeseries(ids, "Dead letters by reason, since start",
                                     "Records the processor rejected and sent to the dead-letter topic, by reason (undecodable, "
                                     "missing_field, bad_format, inconsistent, conflict), counted since each processor started: "
                                     "a step is a new dead letter.",
                                     [(f"sum by (reason) (motcua_processor_events_rejected_total{S})", "{{reason}}")],
                                     "short", width=8, axis_label="records"))

    d = d.with_row(dash.Row("Lag and batches"))
    d = d.with_panel(prom_timeseries(ids, "Consumer lag per partition",
                                     "Messages between the processor's position and the end of each input partition.",
                                     [(f"max by (topic, partition) (motcua_processor_consumer_lag_messages{S})", "{{topic}} [{{partition}}]")],
                                     "short", axis_label="messages"))
    d = d.with_panel(prom_timeseries(ids, "Batch duration",
                                     "One batch, from its first record to its offsets stored (rows written to ClickHouse before).",
                                     [(f"histogram_quantile(0.5, sum by (le) (rate(motcua_processor_batch_duration_seconds_bucket{S}[$__rate_interval])))", "p50"),
                                      (f"histogram_quantile(0.95, sum by (le) (rate(motcua_processor_batch_duration_seconds_bucket{S}[$__rate_interval])))", "p95")],
                                     "s"))
    d = d.with_panel(prom_timeseries(ids, "End-to-end latency: produced to visible in ClickHouse",
                                     "Per record, from its Kafka timestamp (when an agency system, the gateway or the CLI produced it) "
                                     "to its batch's rows written to ClickHouse: how old the figures are. A replay shows the age of "
                                     "the records it re-reads.",
                                     [(f"histogram_quantile(0.5, sum by (le) (rate(motcua_processor_end_to_end_latency_seconds_bucket{S}[$__rate_interval])))", "p50"),
                                      (f"histogram_quantile(0.99, sum by (le) (rate(motcua_processor_end_to_end_latency_seconds_bucket{S}[$__rate_interval])))", "p99")],
                                     "s"))
    d = d.with_panel(prom_timeseries(ids, "Loop phases, average per batch",
                                     "Time the loop spends in each phase of a batch: read (waiting for records, the previous "
                                     "batch's write beside it), positions, process (decode, fold, classify, aggregate), restore.",
                                     [(f"sum by (phase) (rate(motcua_processor_loop_phase_duration_seconds_sum{S}[$__rate_interval])) "
                                       f"/ sum by (phase) (rate(motcua_processor_loop_phase_duration_seconds_count{S}[$__rate_interval]))", "{{phase}}")],
                                     "s"))
    d = d.with_panel(prom_timeseries(ids, "Records per batch", "Batch sizes (at most --batch-max-records, or what 500 ms brought).",
                                     [(f"sum(rate(motcua_processor_batch_records_sum{S}[$__rate_interval])) "
                                       f"/ sum(rate(motcua_processor_batch_records_count{S}[$__rate_interval]))", "average"),
                                      (f"histogram_quantile(0.95, sum by (le) (rate(motcua_processor_batch_records_bucket{S}[$__rate_interval])))", "p95")],
                                     "short", axis_label="records"))

    d = d.with_row(dash.Row("ClickHouse"))
    d = d.with_panel(prom_timeseries(ids, "Insert duration by table (p95)", "One insert into each table, retries included.",
                                     [(f"histogram_quantile(0.95, sum by (le, table) (rate(motcua_clickhouse_insert_duration_seconds_bucket{S}[$__rate_interval])))", "{{table}}")],
                                     "s", width=8))
    d = d.with_panel(prom_timeseries(ids, "Rows written by table", "Rows written to ClickHouse.",
                                     [(f"sum by (table) (rate(motcua_clickhouse_rows_written_total{S}[$__rate_interval]))", "{{table}}")],
                                     "short", width=8, axis_label="rows/s"))
    d = d.with_panel(prom_timeseries(ids, "Retried operations, since start",
                                     "Failed operations retried with backoff, by operation: the ClickHouse table for inserts, "
                                     "`load checkpoint`, `publish dead letters`, `read input`, ... (motcua_processor_retries_total), "
                                     "counted since each processor started: a step is an outage. `retrying` is 1 while one lasts.",
                                     [(f"sum by (operation) (motcua_processor_retries_total{S})", "{{operation}}"),
                                      (f"sum by (table) (motcua_clickhouse_insert_retries_total{S})", "insert into {{table}}"),
                                      (f"max(motcua_processor_retrying{S})", "retrying now")],
                                     "short", width=8, axis_label="retries"))

    d = d.with_row(dash.Row("Partitions and state"))
    d = d.with_panel(prom_timeseries(ids, "Partitions owned, catching up, paused",
                                     "Input partition numbers owned (consumer-group assignment), and assignments received since start; those read below the end they "
                                     "had when assigned (figures being rebuilt); those paused for running ahead in event time; full batches held while catching up "
                                     "(their figures written with a later batch's, a few seconds later).",
                                     [(f"sum(motcua_processor_partitions_owned{S})", "owned"),
                                      (f"sum(motcua_processor_partitions_catching_up{S})", "catching up"),
                                      (f"sum(motcua_processor_partitions_paused{S})", "paused"),
                                      (f"sum(motcua_processor_rebalances_total{S})", "assignments since start"),
                                      (f"sum(motcua_processor_held_batches_total{S})", "batches held since start")],
                                     "none", width=8))
    d = d.with_panel(prom_stat(ids, "Partition restore time (average since start)",
                               "Loading a partition's checkpoint when it is assigned (a start, a restart, a rebalance).",
                               [(f"sum(motcua_processor_restore_duration_seconds_sum{S}) / sum(motcua_processor_restore_duration_seconds_count{S})", "average"),
                                (f"max(motcua_processor_restore_duration_seconds_sum{S})", "all partitions")],
                               "s", neutral(), width=4, height=8))
    d = d.with_panel(prom_timeseries(ids, "Dossiers in state",
                                     "Dossiers held in memory; evicted ones (ended more than --retention-days ago, kept in the "
                                     "checkpoint only); dossiers with events but no receipt yet (held, not dropped); open dossiers past their due time at the watermark.",
                                     [(f"sum(motcua_processor_dossiers{S})", "in state"),
                                      (f"sum(motcua_processor_dossiers_evicted{S})", "evicted"),
                                      (f"sum(motcua_processor_dossiers_awaiting_receipt{S})", "awaiting receipt"),
                                      (f"sum(motcua_processor_dossiers_overdue{S})", "open past due")],
                                     "short", width=6))
    d = d.with_panel(prom_timeseries(ids, "Evictions and reloads",
                                     "Ended dossiers evicted from memory, and evicted ones loaded back because an event named them; "
                                     "ratings whose dossier's receipt did not come within the retention window (v_unmatched_ratings lists them); "
                                     "state rows counted on the provisional calendar (a year whose announcement is not loaded).",
                                     [(f"sum(rate(motcua_processor_evictions_total{S}[$__rate_interval]))", "evicted"),
                                      (f"sum(rate(motcua_processor_dossiers_reloaded_total{S}[$__rate_interval]))", "reloaded"),
                                      (f"sum(rate(motcua_processor_ratings_unmatched_expired_total{S}[$__rate_interval]))", "unmatched ratings expired"),
                                      (f"sum(rate(motcua_processor_off_calendar_rows_total{S}[$__rate_interval]))", "off-calendar rows")],
                                     "short", width=6, axis_label="per s"))
    return d


# ---------------------------------------------------------------------------------------
# (b) Business view, from ClickHouse
# ---------------------------------------------------------------------------------------


def business(t: dict) -> dash.Dashboard:
    ids = Ids()
    on_time, satisfied = t["on_time_percent"], t["satisfaction_percent"]
    sipas = t.get("sipas_percent", 90)
    d = (
        dash.Dashboard("motcua: one-stop dossiers, on time and satisfaction")
        .uid(UID_BUSINESS)
        .description("Which agencies resolve dossiers on time and how satisfied citizens are: ClickHouse's figure views "
                     f"(docs/CONTRACT.md §7). Targets as thresholds: {t['label']}.")
        .tags(["motcua", "business"])
        .time("now-6M", "now")
        .timezone("Asia/Ho_Chi_Minh")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(province_variable())
        .with_variable(period_kind_variable())
        .with_variable(ch_variable(
            "period", "Period",
            "SELECT DISTINCT period FROM v_766_province "
            f"WHERE province_code = {PROVINCE} AND period_kind = ${{period_kind:sqlstring}} ORDER BY period DESC",
            "Decision 766 period (each report as of its period's end; the running one live).",
        ))
        .link(dash.DashboardLink("motcua").type(DashboardLinkType.DASHBOARDS).tags(["motcua"]).as_dropdown(True)
              .include_vars(True).keep_time(True))
    )
    agency_links = {"agency_code": drill_link()}

    d = d.with_row(dash.Row("${province} at a glance"))
    d = d.with_panel(ch_stat(ids, "On time, ended dossiers (time range)",
                             "Early + on time over the dossiers whose processing ended in the time range, the province with all its sub-units.",
                             f"SELECT {RATE} AS on_time_percent FROM v_ontime_province_daily "
                             f"WHERE province_code = {PROVINCE} AND $__dateFilter(day)",
                             "percent", below_target(on_time), width=5))
    d = d.with_panel(ch_stat(ids, "Decision 766 indicator 2.1 (${period})",
                             "(early + on time + open within the deadline) / dossiers in the report, as of the period's end.",
                             f"SELECT indicator_2_1_percent FROM v_766_province WHERE province_code = {PROVINCE} AND {PERIOD}",
                             "percent", below_target(on_time), width=5))
    d = d.with_panel(ch_stat(ids, "Satisfied (time range)",
                             "Very satisfied + satisfied over the rated dossiers that ended in the time range.",
                             f"SELECT {SATISFIED} AS satisfied_percent_total FROM v_satisfaction_channel_daily "
                             f"WHERE province_code = {PROVINCE} AND $__dateFilter(day)",
                             "percent", below_target(satisfied), width=5))
    d = d.with_panel(ch_stat(ids, "Open dossiers past their due time (now)",
                             "Open dossiers whose due time is before the watermark, of all open dossiers.",
                             "SELECT sum(overdue_dossiers) AS overdue_total, sum(open_dossiers) AS open_total "
                             f"FROM v_overdue_agency WHERE province_code = {PROVINCE}",
                             "none", zero_is_good(), width=5, plain_fields=("open_total",)))
    d = d.with_panel(ch_stat(ids, "Figures as of (watermark)",
                             "The event-time watermark of the consumer group whose figures are served (v_freshness); "
                             "open dossiers are judged against it.",
                             "SELECT toUInt64(toUnixTimestamp(max(as_of))) * 1000 AS watermark FROM v_freshness",
                             "dateTimeAsIso", neutral(), width=4))

    d = d.with_row(dash.Row("On time: ended dossiers, by the day their processing ended"))
    d = d.with_panel(ch_timeseries(ids, "On-time rate by day, ${province}",
                                   "Per Vietnam date of the end of processing, the province with all its sub-units.",
                                   "SELECT day AS time, round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_percent "
                                   f"FROM v_ontime_province_daily WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                                   "GROUP BY day ORDER BY day",
                                   "percent", target=on_time, width=12))
    d = d.with_panel(ch_timeseries(ids, "On-time rate by day and channel",
                                   "In person, online, by post.",
                                   "SELECT day AS time, channel, round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_percent "
                                   f"FROM v_ontime_channel_daily WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                                   "GROUP BY day, channel ORDER BY day, channel",
                                   "percent", target=on_time, width=12))
    d = d.with_panel(ch_table(ids, "On-time rate per agency (time range)",
                              "Each receiving agency of the province over the time range, lowest first. Click an agency to drill down.",
                              f"SELECT agency_code, agency_level, sum(counted) AS counted_total, sum(early) AS early_total, "
                              f"sum(on_time) AS on_time_total, sum(late) AS late_total, {RATE} AS on_time_percent "
                              f"FROM v_ontime_agency_daily WHERE {in_unit('agency_code', PROVINCE)} AND $__dateFilter(day) "
                              "GROUP BY agency_code, agency_level ORDER BY on_time_percent, agency_code",
                              width=12, height=10, percent_columns=[("on_time_percent", on_time)], links=agency_links))
    d = d.with_panel(ch_gauges(ids, "On-time rate per field (time range)",
                               f"Per field (lĩnh vực): the target is on time > {on_time} % in every field.",
                               f"SELECT field_code, {RATE} AS on_time_percent FROM v_ontime_daily "
                               f"WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                               "GROUP BY field_code ORDER BY on_time_percent, field_code",
                               "percent", on_time, width=6, height=10))
    d = d.with_panel(ch_gauges(ids, "On-time rate per level (time range)",
                               "Province departments, districts, communes.",
                               f"SELECT agency_level, {RATE} AS on_time_percent FROM v_ontime_daily "
                               f"WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                               "GROUP BY agency_level ORDER BY agency_level",
                               "percent", on_time, width=6, height=10))

    d = d.with_row(dash.Row("Overdue: open dossiers past their due time at the watermark"))
    d = d.with_panel(ch_table(ids, "Open and overdue dossiers per agency",
                              "Now, as of the watermark. Click an agency for its overdue dossiers.",
                              "SELECT agency_code, open_dossiers, overdue_dossiers, "
                              "round(100 * overdue_dossiers / open_dossiers, 2) AS overdue_share_percent "
                              f"FROM v_overdue_agency WHERE province_code = {PROVINCE} "
                              "ORDER BY overdue_dossiers DESC, agency_code",
                              width=8, height=9, links=agency_links, units={"overdue_share_percent": "percent"}))
    d = d.with_panel(ch_bars(ids, "Open within / past the deadline per level (${period})",
                             "Dossiers open at the end of the report (the running one: now), within their deadline and past it.",
                             "SELECT agency_level, sum(open_within) AS open_within_total, sum(open_overdue) AS open_overdue_total "
                             f"FROM v_766_level WHERE province_code = {PROVINCE} AND {PERIOD} "
                             "GROUP BY agency_level ORDER BY agency_level",
                             "agency_level", "none", width=8, height=9, stacked=True))
    d = d.with_panel(ch_bars(ids, "Open within / past the deadline per field (${period})",
                             "Dossiers open at the end of the report, per field.",
                             "SELECT field_code, sum(open_within) AS open_within_total, sum(open_overdue) AS open_overdue_total "
                             f"FROM v_766_field WHERE province_code = {PROVINCE} AND {PERIOD} "
                             "GROUP BY field_code ORDER BY open_overdue_total DESC, field_code",
                             "field_code", "none", width=8, height=9, stacked=True))

    d = d.with_row(dash.Row("Decision 766: ${period_kind} ${period}"))
    d = d.with_panel(ch_bars(ids, "Indicator 2.1 per ${period_kind}, ${province}",
                             "Every report of this kind, each as of its period's end (the running one live).",
                             f"SELECT period, indicator_2_1_percent FROM v_766_province WHERE province_code = {PROVINCE} "
                             "AND period_kind = ${period_kind:sqlstring} ORDER BY period",
                             "period", "percent", target=on_time, width=8))
    d = d.with_panel(ch_table(ids, "Indicator 2.1 per level (${period})",
                              "All province departments, all districts, all communes.",
                              "SELECT agency_level, counted, early, on_time, late, open_within, open_overdue, indicator_2_1_percent "
                              f"FROM v_766_level WHERE province_code = {PROVINCE} AND {PERIOD} ORDER BY agency_level",
                              width=8, height=8, percent_columns=[("indicator_2_1_percent", on_time)]))
    d = d.with_panel(ch_table(ids, "Indicator 2.1 per field (${period})",
                              f"On time > {on_time} % in every field.",
                              "SELECT field_code, counted, late, open_overdue, indicator_2_1_percent "
                              f"FROM v_766_field WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY indicator_2_1_percent, field_code",
                              width=8, height=8, percent_columns=[("indicator_2_1_percent", on_time)]))
    d = d.with_panel(ch_table(ids, "Indicator 2.1 per agency (${period})",
                              "Each agency's own dossiers in the report, lowest first. Click an agency to drill down.",
                              "SELECT agency_code, agency_level, counted, early, on_time, late, open_within, open_overdue, "
                              f"indicator_2_1_percent FROM v_766_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY indicator_2_1_percent, agency_code",
                              width=12, height=10, percent_columns=[("indicator_2_1_percent", on_time)], links=agency_links))
    d = d.with_panel(ch_table(ids, "Indicator 2.2: average resolution time per procedure (${period})",
                              "Receipt to result less supplement waits, in the procedure's unit, beside its legal limit; "
                              "empty (N/A) when nothing was resolved.",
                              "SELECT procedure_code, limit_amount, limit_unit, resolved, indicator_2_2_average "
                              f"FROM v_766_resolution_province WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY resolved DESC, procedure_code",
                              width=12, height=10))
    d = d.with_panel(ch_table(ids, "Indicator 3.3: received online (${period})",
                              "Dossiers received online over all received, by period of receipt: the province, then each agency.",
                              "SELECT province_code AS unit, received, online, indicator_3_3_percent FROM v_766_online_province "
                              f"WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "UNION ALL "
                              "SELECT agency_code AS unit, received, online, indicator_3_3_percent FROM v_766_online_agency "
                              f"WHERE province_code = {PROVINCE} AND {PERIOD}",
                              width=12, height=9, units={"indicator_3_3_percent": "percent"}))
    d = d.with_panel(ch_table(ids, "Indicator 4.1: electronic results (${period})",
                              "Ended dossiers whose result was electronic over those with a result, per agency; empty (N/A) without a result.",
                              "SELECT agency_code, agency_level, results, electronic, indicator_4_1_percent FROM v_766_electronic_agency "
                              f"WHERE province_code = {PROVINCE} AND {PERIOD} ORDER BY indicator_4_1_percent, agency_code",
                              width=12, height=9, units={"indicator_4_1_percent": "percent"}, links=agency_links))

    d = d.with_row(dash.Row("Satisfaction: ratings joined to the dossiers they rate"))
    d = d.with_panel(ch_timeseries(ids, "Satisfied share by day, on-time against late dossiers",
                                   "Per day of the end of processing: satisfied share of all rated dossiers, of those that ended "
                                   "early or on time, of those that ended late.",
                                   f"SELECT day AS time, {SATISFIED} AS satisfied_all, {SATISFIED_ON_TIME} AS satisfied_on_time_or_early, "
                                   f"{SATISFIED_LATE} AS satisfied_late_dossiers FROM v_satisfaction_channel_daily "
                                   f"WHERE province_code = {PROVINCE} AND $__dateFilter(day) GROUP BY day ORDER BY day",
                                   "percent", target=satisfied, width=12))
    d = d.with_panel(ch_bars(ids, "Ratings per channel of receipt (time range)",
                             "The standing rating of each rated dossier (its latest survey's overall answer), and complaints.",
                             "SELECT channel, sum(very_satisfied) AS very_satisfied_total, sum(satisfied) AS satisfied_total, "
                             "sum(neutral) AS neutral_total, sum(dissatisfied) AS dissatisfied_total, "
                             "sum(very_dissatisfied) AS very_dissatisfied_total, sum(complaints) AS complaints_total "
                             f"FROM v_satisfaction_channel_daily WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                             "GROUP BY channel ORDER BY channel",
                             "channel", "none", width=12, stacked=True))
    d = d.with_panel(ch_table(ids, "Satisfaction per agency (time range)",
                              "Rated dossiers that ended in the time range, lowest share first. Click an agency to drill down.",
                              f"SELECT agency_code, agency_level, sum(counted) AS ended_total, sum(rated) AS rated_total, "
                              f"sum(complaints) AS complaints_total, {SATISFIED} AS satisfied_percent_total, "
                              f"{SATISFIED_ON_TIME} AS satisfied_on_time_percent_total, {SATISFIED_LATE} AS satisfied_late_percent_total "
                              f"FROM v_satisfaction_agency_daily WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                              "GROUP BY agency_code, agency_level ORDER BY satisfied_percent_total, agency_code",
                              width=12, height=10, percent_columns=[("satisfied_percent_total", satisfied)], links=agency_links,
                              units={"satisfied_on_time_percent_total": "percent", "satisfied_late_percent_total": "percent"}))
    d = d.with_panel(ch_table(ids, "Decision 766 group 5: satisfaction with dossier handling (${period})",
                              "(ended − rated dissatisfied, with a complaint, or late) / ended, per agency; 6 points, full at 90 %.",
                              "SELECT agency_code, agency_level, counted, unsatisfied, rated, complaints, indicator_5_percent, "
                              f"indicator_5_points FROM v_766_satisfaction_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY indicator_5_percent, agency_code",
                              width=12, height=10, percent_columns=[("indicator_5_percent", satisfied)], links=agency_links))
    d = d.with_panel(ch_table(ids, "SIPAS index per agency (${period})",
                              "Answer sheets of the SIPAS survey about each agency in the period, and the share of criteria "
                              f"answered satisfied or very satisfied, per element and overall (target {sipas} %). A sheet may name "
                              "no dossier.",
                              "SELECT agency_code, sheets, access_percent, procedure_percent, officials_percent, results_percent, "
                              "feedback_percent, sipas_percent "
                              f"FROM v_sipas_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY sipas_percent, agency_code",
                              width=12, height=10, percent_columns=[("sipas_percent", sipas)], links=agency_links))
    d = d.with_panel(ch_table(ids, "Feedback and complaints (PAKN) handled on time per agency (${period})",
                              "Items about the agency's dossiers: answered in the period (on time when by their due time), and "
                              "those past their due time without an answer; handled on time = answered on time / (answered + "
                              "overdue), Decision 766 5.2. Satisfaction with the answers where the sender was asked.",
                              "SELECT agency_code, agency_level, answered, answered_late, overdue, on_time_percent, complaints, "
                              f"rated, satisfied_percent FROM v_feedback_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY on_time_percent, agency_code",
                              width=12, height=10, percent_columns=[("on_time_percent", on_time)], links=agency_links,
                              units={"satisfied_percent": "percent"}))
    d = d.with_panel(ch_table(ids, "Synced to the national portal (1.4) and digitised at receipt (4.2) per agency (${period})",
                              "Dossiers received in the period that the national portal accepted a sync of, and whose components "
                              "were digitised at receipt, with the points of the 766 scorecard (weights in scorecard_indicators).",
                              "SELECT agency_code, agency_level, indicator, numerator, denominator, value_percent, points, max_points "
                              f"FROM v_766_scorecard_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "AND indicator IN ('1.4', '4.2') ORDER BY indicator, value_percent, agency_code",
                              width=12, height=10, links=agency_links, units={"value_percent": "percent"}))
    d = d.with_panel(ch_table(ids, "Circular 01/2018 scoring per agency (${period})",
                              "Average points per ended dossier (2 each) on the six indicators the events allow: 1 total time, "
                              "2 each unit's time against its allotment, 3 extra contacts (supplement requests), 7 staff attitude, "
                              "8 feedback (PAKN) handled on time, 9 online. 4, 5 and 6 are not computable from the events. Grade on "
                              "the same share of 18 points.",
                              "SELECT agency_code, agency_level, counted, i1_total_time, i2_unit_times, i3_contacts, i7_attitude, "
                              "i8_feedback, i9_online, points, points_computable, points_scaled_18, grade_scaled "
                              f"FROM v_c01_agency WHERE province_code = {PROVINCE} AND {PERIOD} "
                              "ORDER BY points_scaled_18, agency_code",
                              width=12, height=10, links=agency_links))
    d = d.with_panel(ch_bars(ids, "Satisfied share by number of supplement requests (${period})",
                             "Rated dossiers that ended in the period, by how many times the applicant was asked to come back "
                             f"with a supplement (Hanoi: never more than once); satisfaction > {satisfied} %.",
                             "SELECT multiIf(supplements = 0, 'none', supplements = 1, 'one', 'more than one') AS supplement_requests, "
                             "round(100 * sum(satisfied) / nullIf(sum(rated), 0), 2) AS satisfied_percent_total "
                             f"FROM v_satisfaction_supplements WHERE province_code = {PROVINCE} AND {PERIOD} "
                             "GROUP BY supplements ORDER BY supplements",
                             "supplement_requests", "percent", target=satisfied, width=12))
    d = d.with_panel(ch_gauges(ids, "Satisfied share per field (time range)",
                               f"Per field: satisfaction > {satisfied} %.",
                               f"SELECT field_code, {SATISFIED} AS satisfied_percent_total FROM v_satisfaction_daily "
                               f"WHERE province_code = {PROVINCE} AND $__dateFilter(day) "
                               "GROUP BY field_code ORDER BY satisfied_percent_total, field_code",
                               "percent", satisfied, width=12, height=9))
    d = d.with_panel(ch_table(ids, "Where dossiers get stuck: step on-time rate per unit (time range)",
                              "Handover steps of the process-control slip judged against their allotments, per unit whose step "
                              "it was (≥ 20 steps), lowest first.",
                              "SELECT from_unit, sum(steps) AS steps_total, sum(late) AS late_total, "
                              "round(100 * (sum(early) + sum(on_time)) / sum(steps), 2) AS step_on_time_percent, "
                              "round(sum(avg_taken_hours * steps) / sum(steps), 2) AS avg_taken_hours_total "
                              f"FROM v_steps_unit_monthly WHERE {in_unit('from_unit', PROVINCE)} "
                              "AND month >= toStartOfMonth($__fromTime) AND month <= toDate($__toTime) "
                              "GROUP BY from_unit HAVING steps_total >= 20 ORDER BY step_on_time_percent, from_unit LIMIT 30",
                              width=12, height=9, percent_columns=[("step_on_time_percent", on_time)],
                              units={"avg_taken_hours_total": "h"}))
    return d


# ---------------------------------------------------------------------------------------
# (c) Drill-down: one agency, its late and overdue dossiers, one dossier
# ---------------------------------------------------------------------------------------


def drilldown(t: dict) -> dash.Dashboard:
    ids = Ids()
    on_time, satisfied = t["on_time_percent"], t["satisfaction_percent"]
    agency_and_subunits = in_unit("agency_code", AGENCY)
    d = (
        dash.Dashboard("motcua: agency drill-down")
        .uid(UID_DRILLDOWN)
        .description("One agency and its sub-units: its figures, its late and overdue dossiers, one dossier's trail. "
                     "Every per-dossier query filters on the agency (or the dossier code).")
        .tags(["motcua", "drilldown"])
        .time("now-6M", "now")
        .timezone("Asia/Ho_Chi_Minh")
        .readonly()
        .with_variable(province_variable())
        .with_variable(ch_variable(
            "agency", "Agency",
            "SELECT agency_code FROM v_766_agency "
            f"WHERE province_code = {PROVINCE} AND period_kind = 'YEAR' "
            "GROUP BY agency_code ORDER BY sum(late) + sum(open_overdue) DESC, agency_code",
            "Receiving agency, most late and overdue dossiers first (this year's report).",
        ).allow_custom_value(True))
        .with_variable(period_kind_variable())
        .with_variable(ch_variable(
            "period", "Period",
            "SELECT DISTINCT period FROM v_766_agency "
            f"WHERE agency_code = {AGENCY} AND period_kind = ${{period_kind:sqlstring}} ORDER BY period DESC",
            "Decision 766 period of the agency's report.",
        ))
        .with_variable(ch_variable(
            "dossier", "Dossier",
            "SELECT dossier_code FROM v_overdue_dossiers "
            f"WHERE {agency_and_subunits} ORDER BY due_at, dossier_code LIMIT 200",
            "Dossier whose trail is shown: the agency's overdue ones, most overdue first; a click on a dossier code sets it.",
        ).allow_custom_value(True))
        .link(dash.DashboardLink("motcua").type(DashboardLinkType.DASHBOARDS).tags(["motcua"]).as_dropdown(True)
              .include_vars(True).keep_time(True))
    )
    dossier_links = {"dossier_code": dossier_link()}

    d = d.with_row(dash.Row("${agency}: figures"))
    d = d.with_panel(ch_stat(ids, "Indicator 2.1, ${agency} (${period})",
                             "Decision 766 indicator 2.1 of the agency's own dossiers in the report.",
                             f"SELECT indicator_2_1_percent FROM v_766_agency WHERE agency_code = {AGENCY} AND {PERIOD}",
                             "percent", below_target(on_time), width=6))
    d = d.with_panel(ch_stat(ids, "Late and past due in the report (${period})",
                             "Ended late, and open past their due time at the report's end (the running one: now).",
                             f"SELECT counted, late, open_overdue FROM v_766_agency WHERE agency_code = {AGENCY} AND {PERIOD}",
                             "none", neutral(), width=8))
    d = d.with_panel(ch_stat(ids, "Open now, ${agency} and sub-units",
                             "Open dossiers and those past their due time at the watermark.",
                             "SELECT sum(open_dossiers) AS open_total, sum(overdue_dossiers) AS overdue_total "
                             f"FROM v_overdue_agency WHERE {agency_and_subunits}",
                             "none", neutral(), width=5))
    d = d.with_panel(ch_stat(ids, "Satisfied, ${agency} and sub-units (time range)",
                             "Very satisfied + satisfied over the rated dossiers that ended in the time range.",
                             f"SELECT {SATISFIED} AS satisfied_percent_total FROM v_satisfaction_agency_daily "
                             f"WHERE {agency_and_subunits} AND $__dateFilter(day)",
                             "percent", below_target(satisfied), width=5))
    d = d.with_panel(ch_timeseries(ids, "On-time rate by day, ${agency}",
                                   "The agency's own dossiers, per day of the end of processing.",
                                   "SELECT day AS time, round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_percent "
                                   f"FROM v_ontime_agency_daily WHERE agency_code = {AGENCY} AND $__dateFilter(day) "
                                   "GROUP BY day ORDER BY day",
                                   "percent", target=on_time, width=12))
    d = d.with_panel(ch_table(ids, "${agency} and its sub-units: on time (time range)",
                              "Click a sub-unit to drill down into it.",
                              f"SELECT agency_code, agency_level, sum(counted) AS counted_total, sum(late) AS late_total, {RATE} AS on_time_percent "
                              f"FROM v_ontime_agency_daily WHERE {agency_and_subunits} AND $__dateFilter(day) "
                              "GROUP BY agency_code, agency_level ORDER BY on_time_percent, agency_code",
                              width=12, height=8, percent_columns=[("on_time_percent", on_time)],
                              links={"agency_code": drill_link()}))

    d = d.with_row(dash.Row("Late and overdue dossiers of ${agency} and its sub-units"))
    d = d.with_panel(ch_table(ids, "Open past their due time, most overdue first",
                              "As of the watermark (v_overdue_dossiers). A form 04 new date does not lift the original appointment. "
                              "Click a dossier for its trail.",
                              "SELECT dossier_code, agency_code, procedure_code, received_at, appointment_at, due_at, reappointed_at, "
                              f"hours_overdue FROM v_overdue_dossiers WHERE {agency_and_subunits} "
                              "ORDER BY due_at, dossier_code LIMIT 500",
                              width=24, height=10, links=dossier_links, units={"hours_overdue": "h"}))
    d = d.with_panel(ch_table(ids, "Late in the report ${period}",
                              "Dossiers the Decision 766 report counts against the agency: ended late, or open past the due "
                              "time at the period's end (v_766_periods).",
                              "SELECT dossier_code, agency_code, procedure_code, verdict, limit_amount, limit_unit, resolution_units "
                              f"FROM v_766_periods WHERE {PERIOD} AND {agency_and_subunits} "
                              "AND verdict IN ('LATE', 'OVERDUE_IN_PROGRESS') ORDER BY verdict, dossier_code LIMIT 500",
                              width=12, height=10, links=dossier_links))
    d = d.with_panel(ch_table(ids, "Ended late in the time range",
                              "Why each was late: ended after its due time, more than one supplement request, or an apology (form 04).",
                              "SELECT dossier_code, agency_code, procedure_code, received_at, due_at, end_at, "
                              "round((toInt64(toUInt32(assumeNotNull(end_at))) - toInt64(toUInt32(assumeNotNull(due_at)))) / 3600, 1) AS hours_after_due, "
                              "supplement_requests, apologised, late_steps "
                              f"FROM v_dossiers WHERE {agency_and_subunits} AND outcome = 'LATE' AND $__dateFilter(end_date) "
                              "ORDER BY end_at DESC, dossier_code LIMIT 500",
                              width=12, height=10, links=dossier_links, units={"hours_after_due": "h"}))

    d = d.with_row(dash.Row("Where ${agency} loses time"))
    d = d.with_panel(ch_table(ids, "Steps per unit of ${agency} (time range)",
                              "Handover steps judged against their allotments, per unit whose step it was, lowest first.",
                              "SELECT from_unit, sum(steps) AS steps_total, sum(late) AS late_total, "
                              "round(100 * (sum(early) + sum(on_time)) / sum(steps), 2) AS step_on_time_percent "
                              f"FROM v_steps_unit_monthly WHERE {in_unit('from_unit', AGENCY)} "
                              "AND month >= toStartOfMonth($__fromTime) AND month <= toDate($__toTime) "
                              "GROUP BY from_unit ORDER BY step_on_time_percent, from_unit",
                              width=12, height=8, percent_columns=[("step_on_time_percent", on_time)]))
    d = d.with_panel(ch_table(ids, "Decision 766 group 5, ${agency} and sub-units (${period})",
                              "(ended − rated dissatisfied, with a complaint, or late) / ended; points out of 6.",
                              "SELECT agency_code, counted, unsatisfied, rated, complaints, indicator_5_percent, indicator_5_points "
                              f"FROM v_766_satisfaction_agency WHERE {agency_and_subunits} AND {PERIOD} "
                              "ORDER BY indicator_5_percent, agency_code",
                              width=12, height=8, percent_columns=[("indicator_5_percent", satisfied)]))

    d = d.with_row(dash.Row("Dossier ${dossier}"))
    d = d.with_panel(ch_table(ids, "Deadline of ${dossier}",
                              "How its due time was reached (docs/DEADLINES.md): legal limit, appointment, supplement pauses, verdict.",
                              "SELECT dossier_code, procedure_code, outcome, received_at, legal_limit_amount, legal_limit_unit, "
                              "legal_due_at, appointment_at, appointment_check, supplement_requests, paused_seconds, due_at, "
                              f"reappointed_at, end_at, handovers, late_steps FROM v_dossiers WHERE dossier_code = {DOSSIER}",
                              width=24, height=5))
    d = d.with_panel(ch_table(ids, "Trail of ${dossier}",
                              "Every event of the dossier in event-time order, with where it was read.",
                              "SELECT occurred_at, kind, agency_code, form_set, event_id, kafka_topic, kafka_partition, kafka_offset "
                              f"FROM v_dossier_trail WHERE dossier_code = {DOSSIER} ORDER BY occurred_at, event_id",
                              width=24, height=10))
    return d


# ---------------------------------------------------------------------------------------


def render(targets_path: pathlib.Path) -> dict[str, str]:
    """File name → JSON text, for every dashboard."""
    t = load_targets(targets_path)
    encoder = JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False)
    out = {}
    for name, board in (("pipeline.json", pipeline()), ("business.json", business(t)), ("drilldown.json", drilldown(t))):
        out[name] = encoder.encode(board.build()) + "\n"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing them")
    ap.add_argument("--out", type=pathlib.Path, default=OUT_DIR, help="output directory (default: %(default)s)")
    ap.add_argument("--targets", type=pathlib.Path, default=HERE / "targets.json", help="targets file (default: %(default)s)")
    args = ap.parse_args()
    rendered = render(args.targets)
    if args.check:
        stale = []
        for name, text in rendered.items():
            path = args.out / name
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                stale.append(name)
                diff = difflib.unified_diff(current.splitlines(), text.splitlines(), f"{path} (checked in)",
                                            f"{path} (generated)", lineterm="", n=1)
                sys.stderr.writelines(line + "\n" for line in list(diff)[:40])
        extra = sorted(p.name for p in args.out.glob("*.json") if p.name not in rendered)
        if stale or extra:
            print(f"dashboards out of date: {', '.join(stale + extra)}; run python3 deploy/grafana/generate.py",
                  file=sys.stderr)
            return 1
        print(f"dashboards up to date: {', '.join(sorted(rendered))}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
