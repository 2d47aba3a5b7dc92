"""A ClickHouse query for Grafana's foundation SDK.

The SDK ships query types for Grafana's core data sources only; the official ClickHouse
plugin (`grafana-clickhouse-datasource`, v4) is a third-party plugin, so its target is
defined here the way the SDK documents for plugins it does not know: a `Dataquery` with its
own `to_json`, and a builder. Only the raw-SQL editor is used (`editorType: sql`): the SQL
is the contract, tested as it is written against the real ClickHouse.

Target fields, as the plugin stores them in a dashboard: `rawSql`; `editorType`;
`queryType` (`table` or `timeseries`) and `format` (the numeric `sqlutil` format the
plugin's backend reads: 0 time series, 1 table); `refId`; `datasource`.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

PLUGIN_ID = "grafana-clickhouse-datasource"

# sqlutil.FormatQueryOption in the plugin's backend.
FORMAT_TIME_SERIES = 0
FORMAT_TABLE = 1


class ClickHouseQuery(cogvariants.Dataquery):
    """One SQL target of the ClickHouse plugin."""

    def __init__(
        self,
        raw_sql: str = "",
        time_series: bool = False,
        ref_id: typing.Optional[str] = None,
        datasource: typing.Optional[dashboard.DataSourceRef] = None,
    ) -> None:
        self.raw_sql = raw_sql
        self.time_series = time_series
        self.ref_id = ref_id
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "editorType": "sql",
            "format": FORMAT_TIME_SERIES if self.time_series else FORMAT_TABLE,
            "queryType": "timeseries" if self.time_series else "table",
            "rawSql": self.raw_sql,
        }
        if self.ref_id is not None:
            payload["refId"] = self.ref_id
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> "ClickHouseQuery":
        ds = data.get("datasource")
        return cls(
            raw_sql=data.get("rawSql", ""),
            time_series=data.get("format") == FORMAT_TIME_SERIES,
            ref_id=data.get("refId"),
            datasource=dashboard.DataSourceRef.from_json(ds) if isinstance(ds, dict) else None,
        )


def variant_config() -> cogruntime.DataqueryConfig:
    """Lets the SDK decode dashboards holding ClickHouse targets."""
    return cogruntime.DataqueryConfig(identifier=PLUGIN_ID, from_json_hook=ClickHouseQuery.from_json)


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    """Builder in the SDK's style: `ClickHouseQueryBuilder(sql).time_series().datasource(ref)`."""

    def __init__(self, raw_sql: str) -> None:
        self._internal = ClickHouseQuery(raw_sql=raw_sql)

    def build(self) -> ClickHouseQuery:
        return self._internal

    def time_series(self) -> "ClickHouseQueryBuilder":
        self._internal.time_series = True
        return self

    def ref_id(self, ref_id: str) -> "ClickHouseQueryBuilder":
        self._internal.ref_id = ref_id
        return self

    def datasource(self, ref: dashboard.DataSourceRef) -> "ClickHouseQueryBuilder":
        self._internal.datasource = ref
        return self
