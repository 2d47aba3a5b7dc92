#!/usr/bin/env python3
"""A preview of the dashboards without Grafana: one self-contained HTML page.

    python3 deploy/grafana/preview.py [--minutes 30]     # writes .motcua/grafana-preview.html

Each dashboard is laid out on Grafana's 24-column grid from its panels' positions; each panel
shows its title and its query's result, drawn by the page's own inline script as Grafana's
panel type would (time series and bars as SVG, stats, bar gauges, tables), with the targets
as thresholds and the query as sent under it. No external script, style or font.

Run alone, it evaluates the panels itself: ClickHouse panels on MOTCUA_GRAFANA_DATABASE (the
main job's data), Prometheus panels over the last --minutes (whatever Prometheus holds; a
panel without data says so). deploy/grafana/test_dashboards.py renders it from its own run
instead, loads it in headless Chromium and fails unless every panel drew data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import html.parser
import json
import math
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import panel_queries as pq  # noqa: E402

GRID_ROW_PX = 30
GRID_GAP_PX = 8


# ---------------------------------------------------------------------------------------
# Results → what the page draws
# ---------------------------------------------------------------------------------------


def _num(v):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _time_ms(value, ch_type: str) -> float | None:
    if value is None:
        return None
    if ch_type.startswith("Date") and not ch_type.startswith("DateTime"):
        d = dt.datetime.fromisoformat(str(value)).replace(tzinfo=pq.VN)
    elif "DateTime" in ch_type:
        tz = pq.VN if "Asia/Ho_Chi_Minh" in ch_type else dt.timezone.utc
        d = dt.datetime.fromisoformat(str(value)).replace(tzinfo=tz)
    else:
        return None
    return d.timestamp() * 1000


def _is_numeric(t: str) -> bool:
    t = t.replace("Nullable(", "")
    return t.startswith(("UInt", "Int", "Float", "Decimal"))


def _defaults(panel: pq.Panel) -> dict:
    return (panel.raw.get("fieldConfig") or {}).get("defaults") or {}


def _steps(thresholds: dict | None) -> list[dict]:
    return [{"value": s.get("value"), "color": s.get("color")} for s in (thresholds or {}).get("steps") or []]


def _column_options(panel: pq.Panel) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for o in (panel.raw.get("fieldConfig") or {}).get("overrides") or []:
        name = (o.get("matcher") or {}).get("options")
        for prop in o.get("properties") or []:
            entry = out.setdefault(name, {})
            if prop["id"] == "unit":
                entry["unit"] = prop["value"]
            elif prop["id"] == "thresholds":
                entry["thresholds"] = _steps(prop["value"])
            elif prop["id"] == "links":
                entry["link"] = True
    return out


def panel_spec(board: dict, panel: pq.Panel, result: pq.PanelResult | None, values: dict[str, str]) -> dict:
    d = _defaults(panel)
    custom = d.get("custom") or {}
    options = panel.raw.get("options") or {}
    spec = {
        "key": panel.key,
        "title": pq.interpolate_variables(panel.title, values) if values else panel.title,
        "type": panel.type,
        "description": panel.raw.get("description", ""),
        "unit": d.get("unit", ""),
        "thresholds": _steps(d.get("thresholds")),
        "thresholdLine": ((custom.get("thresholdsStyle") or {}).get("mode", "off") != "off"),
        "stacked": (custom.get("stacking") or {}).get("mode") == "normal" or options.get("stacking") == "normal",
        "bars": custom.get("drawStyle") == "bars",
        "softMax": custom.get("axisSoftMax"),
        "min": d.get("min"),
        "columns": _column_options(panel),
        "grid": panel.raw.get("gridPos") or {"x": 0, "y": 0, "w": 12, "h": 8},
        "queries": [q.text for q in result.queries] if result else [t.get("rawSql") or t.get("expr") for t in panel.targets],
        "error": (result.error if result else "not evaluated"),
        "data": None,
    }
    if result is None or result.error:
        return spec
    if panel.datasource == "prometheus":
        spec["data"] = _prometheus_data(panel, result)
    else:
        spec["data"] = _clickhouse_data(panel, result, options)
    return spec


def _prometheus_data(panel: pq.Panel, result: pq.PanelResult) -> dict:
    if panel.type == "timeseries":
        series = []
        for q in result.queries:
            for s in q.range_series or []:
                pts = [[float(t) * 1000, _num(v)] for t, v in s["values"]]
                series.append({"name": pq.legend_of(q.legend, s["metric"]), "points": pts})
        return {"kind": "series", "series": series}
    values = []
    for q in result.queries:
        for s in q.series or []:
            values.append({"name": pq.legend_of(q.legend, s["metric"]), "value": _num(s["value"][1])})
    return {"kind": "values", "values": values}


def _clickhouse_data(panel: pq.Panel, result: pq.PanelResult, options: dict) -> dict:
    t = result.queries[0].table
    if panel.type == "timeseries":
        time_col = next(i for i, ty in enumerate(t.types) if "Date" in ty)
        labels = [i for i, ty in enumerate(t.types) if i != time_col and not _is_numeric(ty)]
        numeric = [i for i, ty in enumerate(t.types) if i != time_col and _is_numeric(ty)]
        series: dict[str, list] = {}
        for row in t.rows:
            label = " ".join(str(row[i]) for i in labels)
            for i in numeric:
                name = f"{label} {t.columns[i]}".strip() if len(numeric) > 1 or not label else label
                series.setdefault(name, []).append([_time_ms(row[time_col], t.types[time_col]), _num(row[i])])
        return {"kind": "series", "series": [{"name": k, "points": v} for k, v in series.items()]}
    if panel.type == "stat":
        row = t.rows[0] if t.rows else []
        return {"kind": "values", "values": [{"name": c, "value": _num(v)} for c, v in zip(t.columns, row)]}
    if panel.type in ("barchart", "bargauge"):
        x = options.get("xField") or next(c for c, ty in zip(t.columns, t.types) if not _is_numeric(ty))
        xi = t.columns.index(x)
        numeric = [i for i, ty in enumerate(t.types) if i != xi and _is_numeric(ty)]
        return {"kind": "bars", "categories": [str(r[xi]) for r in t.rows],
                "series": [{"name": t.columns[i], "values": [_num(r[i]) for r in t.rows]} for i in numeric]}
    return {"kind": "table", "columns": t.columns, "rows": t.rows}


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; background: #111217; color: #ccccdc; font: 13px/1.35 -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; }
header.top { padding: 12px 16px; border-bottom: 1px solid #2c2e33; }
header.top h1 { font-size: 18px; margin: 0 0 4px; color: #fff; }
header.top p { margin: 2px 0; color: #8e8e99; }
nav a { color: #6e9fff; margin-right: 14px; }
section.board { padding: 10px 16px 24px; }
section.board > h2 { font-size: 17px; color: #fff; margin: 6px 0 2px; }
.meta { color: #8e8e99; margin: 0 0 10px; }
.grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); grid-auto-rows: ROWpx; gap: GAPpx; }
.row-title { font-size: 15px; font-weight: 600; color: #fff; align-self: end; border-bottom: 1px solid #2c2e33; padding-bottom: 2px; }
section.panel { background: #181b1f; border: 1px solid #2c2e33; border-radius: 3px; display: flex; flex-direction: column; overflow: hidden; min-width: 0; }
section.panel > h3 { font-size: 13px; font-weight: 500; margin: 0; padding: 6px 8px 2px; color: #d8d9da; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.body { flex: 1; min-height: 0; position: relative; padding: 2px 6px 4px; overflow: hidden; }
details { padding: 0 8px 4px; color: #8e8e99; font-size: 11px; }
details pre { white-space: pre-wrap; word-break: break-all; margin: 2px 0; color: #a0a0b0; max-height: 120px; overflow: auto; }
.stats { display: flex; gap: 6px; height: 100%; }
.stat { flex: 1; border-radius: 3px; display: flex; flex-direction: column; justify-content: center; align-items: center; min-width: 0; padding: 2px; }
.stat .v { font-size: 24px; font-weight: 600; color: #fff; white-space: nowrap; }
.stat .n { font-size: 11px; color: #eee; opacity: .85; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 11.5px; }
th { text-align: left; color: #6e9fff; font-weight: 500; border-bottom: 1px solid #2c2e33; padding: 2px 4px; white-space: nowrap; }
td { padding: 1px 4px; border-bottom: 1px solid #22252b; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 220px; }
td.link { color: #6e9fff; }
.more { color: #8e8e99; font-size: 11px; padding: 2px 4px; }
.error { color: #ff7383; white-space: pre-wrap; font-size: 12px; }
.gauge { display: grid; grid-template-columns: minmax(60px, 30%) 1fr 64px; gap: 4px; align-items: center; font-size: 11.5px; margin: 1px 0; }
.gauge .bar { height: 12px; background: #22252b; border-radius: 2px; overflow: hidden; }
.gauge .bar > div { height: 100%; }
.gauge .val { text-align: right; color: #fff; }
svg text { fill: #9fa1a8; font-size: 10px; }
.legend { font-size: 11px; display: flex; flex-wrap: wrap; gap: 2px 10px; }
.legend span::before { content: ''; display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; background: var(--c); }
""".replace("ROWpx", f"{GRID_ROW_PX}px").replace("GAPpx", f"{GRID_GAP_PX}px")

SCRIPT = r"""
(function () {
  const COLORS = { red: '#f2495c', green: '#73bf69', blue: '#5794f2', orange: '#ff9830', yellow: '#fade2a' };
  const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#705da0', '#37872d', '#fade2a', '#ff9830', '#c4162a'];
  const NS = 'http://www.w3.org/2000/svg';
  const color = (c) => COLORS[c] || c || '#5794f2';
  function stepColor(steps, v) {
    let c = steps.length ? steps[0].color : 'blue';
    for (const s of steps) if (s.value === null || s.value === undefined || v >= s.value) c = s.color;
    return color(c);
  }
  function fmt(v, unit, tz) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (typeof v !== 'number') return String(v);
    if (unit === 'dateTimeAsIso') return new Date(v).toLocaleString('sv-SE', tz ? { timeZone: tz } : {});
    if (unit === 'percent') return (Math.round(v * 100) / 100) + ' %';
    if (unit === 'percentunit') return (Math.round(v * 10000) / 100) + ' %';
    if (unit === 's') {
      const a = Math.abs(v);
      if (a >= 86400) return (v / 86400).toFixed(1) + ' d';
      if (a >= 3600) return (v / 3600).toFixed(1) + ' h';
      if (a >= 60) return (v / 60).toFixed(1) + ' min';
      if (a >= 1) return v.toFixed(2) + ' s';
      return (v * 1000).toFixed(1) + ' ms';
    }
    if (unit === 'h') return v.toFixed(1) + ' h';
    const a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(2) + ' M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + ' k';
    if (Number.isInteger(v)) return String(v);
    return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
  }
  function el(tag, attrs, parent, text) {
    const e = tag.startsWith('svg:') ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const f of [1, 2, 2.5, 5, 10]) if (raw <= f * p) return f * p;
    return 10 * p;
  }
  // Axis bounds on round numbers, four or five steps: [min, max, step].
  function scale(lo, hi) {
    if (!(hi > lo)) { hi = lo + 1; }
    const step = niceStep((hi - lo) / 4);
    return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step, step];
  }
  function legend(body, names) {
    const l = el('div', { class: 'legend' }, body);
    names.forEach((n, i) => { const s = el('span', {}, l, n); s.style.setProperty('--c', PALETTE[i % PALETTE.length]); });
    return l;
  }
  function frame(body, extraBottom) {
    const w = Math.max(body.clientWidth - 12, 120), h = Math.max(body.clientHeight - 8 - extraBottom, 60);
    const svg = el('svg:svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` }, body);
    return { svg, w, h };
  }
  function yAxis(svg, x0, x1, y0, y1, max, unit, min, step) {
    min = min || 0; step = step || (max - min) / 4;
    for (let v = min; v <= max + step / 1000; v += step) {
      const y = y0 - (y0 - y1) * (v - min) / (max - min);
      el('svg:line', { x1: x0, x2: x1, y1: y, y2: y, stroke: '#2c2e33' }, svg);
      el('svg:text', { x: x0 - 4, y: y + 3, 'text-anchor': 'end' }, svg, fmt(Math.round(v * 1e6) / 1e6, unit));
    }
  }
  function thresholdLine(svg, spec, x0, x1, y0, y1, max, min) {
    if (!spec.thresholdLine) return;
    min = min || 0;
    for (const s of spec.thresholds) {
      if (s.value === null || s.value === undefined || s.value > max || s.value < min) continue;
      const y = y0 - (y0 - y1) * (s.value - min) / (max - min);
      el('svg:line', { x1: x0, x2: x1, y1: y, y2: y, stroke: color(s.color), 'stroke-dasharray': '6 4', 'stroke-width': 1.5 }, svg);
      el('svg:text', { x: x1 - 2, y: y - 3, 'text-anchor': 'end', style: 'fill:' + color(s.color) }, svg, 'target ' + fmt(s.value, spec.unit));
    }
  }
  function drawSeries(body, spec, data, tz) {
    const series = data.series.filter((s) => s.points.some((p) => p[1] !== null));
    let points = 0, tmin = Infinity, tmax = -Infinity, vmax = 0, vmin = Infinity;
    for (const s of series) for (const [t, v] of s.points) {
      if (v === null) continue; points++;
      tmin = Math.min(tmin, t); tmax = Math.max(tmax, t); vmax = Math.max(vmax, v); vmin = Math.min(vmin, v);
    }
    if (!points) return 0;
    const ths = spec.thresholdLine ? spec.thresholds.filter((s) => s.value !== null && s.value !== undefined).map((s) => s.value) : [];
    // Grafana's auto scale: near the data unless the panel sets a minimum; a soft maximum
    // (100 for the percentages) is reached when the data come close.
    let hi = Math.max(vmax, ...ths), lo = (spec.min === null || spec.min === undefined) ? Math.min(vmin, ...ths) : spec.min;
    if (spec.softMax) hi = Math.max(hi, spec.softMax);
    if (hi === lo) hi = lo + 1;
    let [min, max, step] = scale(lo, hi);
    if (spec.unit === 'percent' && max > 100 && vmax <= 100) max = 100;
    if (min < 0 && lo >= 0) min = 0;
    const leg = legend(body, series.map((s) => s.name));
    const { svg, w, h } = frame(body, leg.offsetHeight + 2);
    body.insertBefore(svg, leg);
    const x0 = 52, x1 = w - 8, y0 = h - 18, y1 = 6;
    yAxis(svg, x0, x1, y0, y1, max, spec.unit, min, step);
    const span = Math.max(tmax - tmin, 1);
    const X = (t) => x0 + (x1 - x0) * (t - tmin) / span, Y = (v) => y0 - (y0 - y1) * (Math.max(v, min) - min) / (max - min);
    const long = span > 2 * 86400e3;
    for (let i = 0; i <= 4; i++) {
      const t = tmin + span * i / 4, d = new Date(t);
      const label = long ? d.toLocaleDateString('en-GB', Object.assign({ day: '2-digit', month: '2-digit' }, tz ? { timeZone: tz } : {}))
                         : d.toLocaleTimeString('en-GB', Object.assign({ hour: '2-digit', minute: '2-digit', second: '2-digit' }, tz ? { timeZone: tz } : {}));
      el('svg:text', { x: X(t), y: h - 4, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, svg, label);
    }
    series.forEach((s, i) => {
      const c = PALETTE[i % PALETTE.length];
      const pts = s.points.filter((p) => p[1] !== null);
      if (spec.bars) {
        const bw = Math.max(2, (x1 - x0) / Math.max(pts.length, 1) / Math.max(series.length, 1) * 0.8);
        for (const [t, v] of pts) el('svg:rect', { x: X(t) - bw / 2 + i * bw * 0.3, y: Y(v), width: bw, height: Math.max(y0 - Y(v), v > 0 ? 1 : 0), fill: c }, svg);
        if (pts.length && pts.every((p) => p[1] === 0)) el('svg:text', { x: (x0 + x1) / 2, y: (y0 + y1) / 2, 'text-anchor': 'middle' }, svg, 'all zero in this window');
      } else {
        el('svg:polyline', { points: pts.map(([t, v]) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(' '), fill: 'none', stroke: c, 'stroke-width': 1.6 }, svg);
        if (pts.length <= 40) for (const [t, v] of pts) el('svg:circle', { cx: X(t), cy: Y(v), r: 2.2, fill: c }, svg);
      }
    });
    thresholdLine(svg, spec, x0, x1, y0, y1, max, min);
    return points;
  }
  function drawBars(body, spec, data) {
    const cats = data.categories, series = data.series;
    let points = 0, vmax = 0;
    for (let j = 0; j < cats.length; j++) {
      let stack = 0;
      for (const s of series) { const v = s.values[j]; if (v !== null) { points++; stack += v; vmax = Math.max(vmax, v); } }
      if (spec.stacked) vmax = Math.max(vmax, stack);
    }
    if (!points) return 0;
    let [, max, step] = scale(0, vmax);
    if (spec.unit === 'percent' && vmax <= 100) { max = 100; step = 25; }
    const leg = legend(body, series.map((s) => s.name));
    const { svg, w, h } = frame(body, leg.offsetHeight + 2);
    body.insertBefore(svg, leg);
    const rot = cats.length > 6;
    const x0 = 46, x1 = w - 6, y0 = h - (rot ? 46 : 16), y1 = 6;
    yAxis(svg, x0, x1, y0, y1, max, spec.unit, 0, step);
    const band = (x1 - x0) / cats.length, Y = (v) => y0 - (y0 - y1) * v / max;
    cats.forEach((c, j) => {
      let base = 0;
      series.forEach((s, i) => {
        const v = s.values[j]; if (v === null) return;
        const fill = spec.thresholds.length > 1 && series.length === 1 ? stepColor(spec.thresholds, v) : PALETTE[i % PALETTE.length];
        if (spec.stacked) {
          el('svg:rect', { x: x0 + band * j + band * 0.15, y: Y(base + v), width: band * 0.7, height: Math.max(Y(base) - Y(base + v), 0), fill }, svg);
          base += v;
        } else {
          const bw = band * 0.7 / series.length;
          el('svg:rect', { x: x0 + band * j + band * 0.15 + i * bw, y: Y(v), width: bw, height: Math.max(y0 - Y(v), 0), fill }, svg);
          if (series.length === 1 && band > 28) el('svg:text', { x: x0 + band * (j + 0.5), y: Y(v) - 2, 'text-anchor': 'middle' }, svg, fmt(v, spec.unit));
        }
      });
      const tx = x0 + band * (j + 0.5);
      el('svg:text', rot ? { x: tx, y: y0 + 8, transform: `rotate(-45 ${tx} ${y0 + 8})`, 'text-anchor': 'end' } : { x: tx, y: y0 + 12, 'text-anchor': 'middle' }, svg, c);
    });
    thresholdLine(svg, spec, x0, x1, y0, y1, max);
    return points;
  }
  function drawGauges(body, spec, data) {
    const s = data.series[0]; let points = 0;
    data.categories.forEach((c, j) => {
      const v = s.values[j]; if (v === null) return; points++;
      const row = el('div', { class: 'gauge' }, body);
      el('div', {}, row, c);
      const bar = el('div', { class: 'bar' }, row), fill = el('div', {}, bar);
      fill.style.width = Math.max(0, Math.min(100, v)) + '%'; fill.style.background = stepColor(spec.thresholds, v);
      el('div', { class: 'val' }, row, fmt(v, spec.unit));
    });
    return points;
  }
  function drawStat(body, spec, data, tz) {
    const box = el('div', { class: 'stats' }, body); let points = 0;
    const values = [];
    for (const item of data.values) {
      if (item.value !== null) points++;
      const tile = el('div', { class: 'stat' }, box);
      const steps = (spec.columns[item.name] && spec.columns[item.name].thresholds) || spec.thresholds;
      tile.style.background = item.value === null ? '#22252b' : stepColor(steps, item.value);
      const text = fmt(item.value, spec.unit, tz);
      values.push([tile, el('div', { class: 'v' }, tile, text), text]);
      el('div', { class: 'n' }, tile, item.name);
    }
    // Size the numbers once every tile has its width, so that each fits its tile.
    for (const [tile, v, text] of values) v.style.fontSize = Math.max(11, Math.min(26, tile.clientWidth / Math.max(text.length, 4) * 1.3)) + 'px';
    return points;
  }
  function drawTable(body, spec, data, tz) {
    const t = el('table', {}, body), head = el('tr', {}, el('thead', {}, t)), tb = el('tbody', {}, t);
    data.columns.forEach((c) => el('th', {}, head, c));
    let points = 0, shown = 0;
    const room = body.clientHeight - 18;  // keep a line for "… more rows"
    for (const r of data.rows) {
      const tr = el('tr', {}, tb);
      r.forEach((v, i) => {
        const opt = spec.columns[data.columns[i]] || {};
        const td = el('td', opt.link ? { class: 'link' } : {}, tr, fmt(v, opt.unit, tz));
        if (opt.thresholds && typeof v === 'number') { td.style.background = stepColor(opt.thresholds, v); td.style.color = '#fff'; }
      });
      if (t.offsetHeight > room && shown > 0) { tr.remove(); break; }
      shown++;
      points += r.filter((v) => v !== null).length;
    }
    if (data.rows.length > shown) el('div', { class: 'more' }, body, `… ${data.rows.length - shown} more rows (${data.rows.length} in all)`);
    return points;
  }
  const specs = JSON.parse(document.getElementById('panels').textContent);
  const only = location.hash.slice(1);
  for (const b of document.querySelectorAll('section.board')) if (only && b.id !== only) b.style.display = 'none';
  for (const spec of specs) {
    const section = document.querySelector(`section.panel[data-key="${spec.key}"]`);
    const body = section.querySelector('.body');
    const tz = section.closest('section.board').dataset.tz || undefined;
    try {
      if (spec.error) throw new Error(spec.error);
      const d = spec.data;
      const n = d.kind === 'series' ? drawSeries(body, spec, d, tz)
              : d.kind === 'bars' ? (spec.type === 'bargauge' ? drawGauges(body, spec, d) : drawBars(body, spec, d))
              : d.kind === 'values' ? drawStat(body, spec, d, tz) : drawTable(body, spec, d, tz);
      if (!n) el('div', { class: 'error' }, body, 'No data');
      section.dataset.points = String(n);
      section.dataset.state = n ? 'rendered' : 'empty';
    } catch (e) {
      el('div', { class: 'error' }, body, String(e.message || e));
      section.dataset.state = 'error';
      section.dataset.points = '0';
    }
  }
  document.body.dataset.done = 'yes';
})();
"""


def write_page(out: pathlib.Path, boards: list[dict], results: dict[str, pq.PanelResult],
               ch: pq.ClickHouseDashboards | None, prom: pq.PrometheusDashboards | None) -> pathlib.Path:
    specs, sections = [], []
    for b in boards:
        uid = b["uid"]
        if ch is not None and uid in ch.values:
            values = ch.values[uid]
            tr = ch.time[uid]
            meta = (f"ClickHouse database <b>{html.escape(ch.ch.database)}</b>; variables "
                    + ", ".join(f"<b>${html.escape(k)}</b> = {html.escape(v)}" for k, v in values.items())
                    + f"; time range {tr.start:%Y-%m-%d %H:%M} → {tr.end:%Y-%m-%d %H:%M} (+07:00)")
        elif prom is not None and uid in prom.values:
            values = prom.values[uid]
            w = prom.window
            meta = (f"Prometheus {html.escape(prom.prom.url)}; variables "
                    + ", ".join(f"<b>${html.escape(k)}</b> = {html.escape(v)}" for k, v in values.items())
                    + f"; instant queries at {dt.datetime.fromtimestamp(w.at):%Y-%m-%d %H:%M:%S}, charts from "
                    f"{dt.datetime.fromtimestamp(w.start):%H:%M:%S}; $__rate_interval = {w.rate_interval}, $__range = {w.range_}")
        else:
            values, meta = {}, "not evaluated"
        cells = []
        for p in b.get("panels") or []:
            g = p.get("gridPos") or {}
            place = f"grid-column: {g.get('x', 0) + 1} / span {g.get('w', 12)}; grid-row: {g.get('y', 0) + 1} / span {g.get('h', 8)};"
            if p.get("type") == "row":
                title = pq.interpolate_variables(p.get("title", ""), values) if values else p.get("title", "")
                cells.append(f'<div class="row-title" style="{place}">{html.escape(title)}</div>')
        for p in pq.panels_of(b):
            r = results.get(p.key)
            spec = panel_spec(b, p, r, values)
            specs.append(spec)
            g = spec["grid"]
            place = f"grid-column: {g.get('x', 0) + 1} / span {g.get('w', 12)}; grid-row: {g.get('y', 0) + 1} / span {g.get('h', 8)};"
            queries = "".join(f"<pre>{html.escape(q or '')}</pre>" for q in spec["queries"])
            cells.append(
                f'<section class="panel" data-key="{html.escape(p.key)}" data-state="pending" style="{place}" '
                f'title="{html.escape(spec["description"])}"><h3>{html.escape(spec["title"])}</h3>'
                f'<div class="body"></div><details><summary>query</summary>{queries}</details></section>')
        tz = b.get("timezone") if b.get("timezone") not in (None, "", "browser") else ""
        sections.append(
            f'<section class="board" id="{html.escape(uid)}" data-tz="{html.escape(tz)}"><h2>{html.escape(b["title"])}</h2>'
            f'<p class="meta">{meta}</p><div class="grid">{"".join(cells)}</div></section>')
    nav = "".join(f'<a href="#{html.escape(b["uid"])}" onclick="location.hash=\'{html.escape(b["uid"])}\';location.reload()">'
                  f'{html.escape(b["title"])}</a>' for b in boards)
    page = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>motcua dashboards: preview</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header class=\"top\"><h1>motcua dashboards: preview without Grafana</h1>"
        f"<p>Generated {dt.datetime.now():%Y-%m-%d %H:%M:%S} by deploy/grafana/preview.py from deploy/grafana/dashboards/*.json: "
        "each panel's query as sent to the real service and its result, drawn as the panel type would.</p>"
        f"<nav><a href=\"#\" onclick=\"location.hash='';location.reload()\">all</a>{nav}</nav></header>"
        + "".join(sections)
        + '<script type="application/json" id="panels">' + json.dumps(specs).replace("</", "<\\/") + "</script>"
        + f"<script>{SCRIPT}</script></body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------
# Headless Chromium
# ---------------------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if os.access(os.path.join(d, name), os.X_OK):
                return os.path.join(d, name)
    raise RuntimeError("chromium not found: bash deploy/grafana/install.sh installs Debian's chromium")


def _chromium_args(width: int, height: int) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--mute-audio",
            f"--window-size={width},{height}", "--virtual-time-budget=10000"]


def chromium_dump_dom(page: pathlib.Path, width: int = 1600, height: int = 6000) -> str:
    r = subprocess.run(_chromium_args(width, height) + ["--dump-dom", page.resolve().as_uri()],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0 or "<html" not in r.stdout:
        raise RuntimeError(f"chromium --dump-dom failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def board_height(page_html: str, uid: str) -> int:
    """Pixels the dashboard needs: its grid's rows plus the header."""
    start = page_html.find(f'id="{uid}"')
    end = page_html.find('<section class="board"', start + 1)
    chunk = page_html[start:end if end > 0 else None]
    bottom = 0
    for part in chunk.split("grid-row: ")[1:]:
        y, _, rest = part.partition(" / span ")
        h = rest.split(";", 1)[0]
        bottom = max(bottom, int(y) - 1 + int(h))
    return 170 + bottom * (GRID_ROW_PX + GRID_GAP_PX)


def chromium_screenshot(page: pathlib.Path, uid: str, png: pathlib.Path, width: int = 1600) -> pathlib.Path:
    height = board_height(page.read_text(encoding="utf-8"), uid)
    r = subprocess.run(_chromium_args(width, height) + [f"--screenshot={png}", page.resolve().as_uri() + "#" + uid],
                       capture_output=True, text=True, timeout=180)
    if r.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium --screenshot failed ({r.returncode}): {r.stderr[-2000:]}")
    return png


class _Panels(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, int] = {}
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("data-done") == "yes":
            self.done = True
        if tag == "section" and "panel" in (a.get("class") or "").split():
            ok = a.get("data-state") == "rendered"
            self.found[a.get("data-key", "")] = int(a.get("data-points") or 0) if ok else -1


def rendered_panels(dom: str) -> dict[str, int]:
    """Panel key → values drawn (-1: drawn empty or with an error), from Chromium's DOM after the script ran."""
    p = _Panels()
    p.feed(dom)
    if not p.done:
        raise RuntimeError("the preview's script did not finish (no data-done on <body>)")
    return p.found


# ---------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30, help="Prometheus window ending now (default %(default)s)")
    ap.add_argument("--out", type=pathlib.Path,
                    default=pathlib.Path(os.environ.get("MOTCUA_HOME", HERE.parents[1] / ".motcua")) / "grafana-preview.html")
    ap.add_argument("--screenshot", action="store_true", help="also write <out>-<dashboard>.png with headless Chromium")
    args = ap.parse_args()
    boards = pq.load_dashboards()
    ch = pq.ClickHouse(os.environ.get("MOTCUA_CLICKHOUSE_URL", "http://127.0.0.1:18123"),
                       os.environ.get("MOTCUA_GRAFANA_DATABASE", "motcua_demo"),
                       os.environ.get("MOTCUA_CLICKHOUSE_USER", ""), os.environ.get("MOTCUA_CLICKHOUSE_PASSWORD", ""))
    ch_ctx = pq.ClickHouseDashboards(ch, boards)
    now = time.time()
    prom = pq.Prometheus(os.environ.get("MOTCUA_PROMETHEUS_URL", "http://127.0.0.1:19090"))
    window = pq.PrometheusWindow(start=now - args.minutes * 60, at=now, range_=f"{int(args.minutes)}m",
                                 step=max(2.0, args.minutes * 60 / 300))
    results: dict[str, pq.PanelResult] = {}
    prom_ctx = None
    try:
        prom_ctx = pq.PrometheusDashboards(prom, boards, window)
    except pq.QueryError as e:
        print(f"Prometheus panels not evaluated: {e}", file=sys.stderr)
    for b in boards:
        for p in pq.panels_of(b):
            if p.datasource == pq.CLICKHOUSE_PLUGIN:
                results[p.key] = ch_ctx.evaluate(p)
            elif prom_ctx is not None:
                results[p.key] = prom_ctx.evaluate(p, with_range=True)
    out = write_page(args.out, boards, results, ch_ctx, prom_ctx)
    print(f"wrote {out}")
    if args.screenshot:
        for b in boards:
            png = out.with_name(f"{out.stem}-{b['uid']}.png")
            chromium_screenshot(out, b["uid"], png)
            print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
