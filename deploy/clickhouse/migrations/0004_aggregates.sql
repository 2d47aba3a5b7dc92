-- motcua schema v4: the processor maintains the figures (docs/ARCHITECTURE.md,
-- "Aggregates"). `${db}` is replaced by the migrator. Same dialect limits as 0001:
-- ClickHouse 18.16 and modern servers.
--
-- Every documented figure view keeps its name and columns but reads the small `aggregates`
-- table instead of merging the per-dossier tables. The per-dossier definitions stay, renamed
-- `*_scan`, for drill-down and for auditors who want to check a figure against its dossiers
-- (tests/it/aggregates.rs does, on every run).
--
-- Upgrading a v3 database: `aggregates` starts empty; rebuild it with `motcua replay` (a new
-- consumer group, from the earliest offsets). The figure views serve the group that is
-- furthest ahead (`v_serving`), so the old group's figures stay in place while it runs.

-- One row per (consumer group, input partition, grain, cell): absolute counts of that
-- partition's dossiers, versioned by the partition's write sequence. A late event rewrites
-- the cells it changes with a higher version, never adds to them, and a replay writes the
-- same values again. Grains:
--   DAY      ended dossiers by the Vietnam date of their end (v_ontime_*);
--   OPEN     open dossiers now, overdue as of the watermark (v_overdue_agency);
--   CLOSED   a month, quarter or year as its report saw it at its end (rows for a period
--            not yet closed are written ahead and only read once it closes);
--   RUNNING  the month, quarter and year holding the watermark, live;
--   STEPS    handover steps by month of the handover (v_steps_*).
-- Each grain is kept in a few families of dimensions (`dims`), one per kind of view, so a
-- cell is as fine as the view it serves: `agency` (agency, province, level), `procedure`
-- (and procedure, field, legal limit), `province_procedure` (province, procedure, field,
-- legal limit), `field` (province, field), `channel` (province, channel), `unit` (steps:
-- agency and handover pair). The sort key starts with the family, the period kind and the
-- agency (empty in the province-wide families), then the period; parts are per period (a
-- month with its days, a quarter, a year: by the label's first seven characters and the
-- start's month, so a query by `period` and one by `day` or `month` both prune). A month's
-- query for one agency reads one key range of one part, a day range included.
CREATE TABLE IF NOT EXISTS ${db}.aggregates
(
    consumer_group String,
    kafka_partition UInt32,
    grain String,
    dims String,
    period_kind String,
    period String,
    period_start Date,
    period_end Date,
    agency_code String,
    province_code String,
    agency_level String,
    procedure_code String,
    field_code String,
    channel String,
    limit_amount Int32,
    limit_unit String,
    from_unit String,
    to_unit String,
    version UInt32,
    n_counted UInt64,
    n_early UInt64,
    n_on_time UInt64,
    n_late UInt64,
    n_open_within UInt64,
    n_open_overdue UInt64,
    n_resolved UInt64,
    n_resolution_e4 UInt64,
    n_taken_seconds UInt64,
    n_mismatches UInt64,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY (substring(period, 1, 7), toYYYYMM(period_start))
ORDER BY (grain, dims, period_kind, agency_code, period, period_start, province_code,
          agency_level, procedure_code, field_code, channel, limit_amount, limit_unit,
          from_unit, to_unit, consumer_group, kafka_partition);

-- The latest version of every cell. A GROUP BY, not FINAL: ClickHouse pushes a query's
-- filter on the key columns down through it into the table's sort key and partitions
-- (enable_optimize_predicate_expression, on by default on modern servers and set by
-- deploy/local for 18.16), which it does not through FINAL.
CREATE VIEW IF NOT EXISTS ${db}.v_cells AS
SELECT
    consumer_group, kafka_partition, grain, dims, period_kind, period, period_start,
    period_end, agency_code, province_code, agency_level, procedure_code, field_code, channel,
    limit_amount, limit_unit, from_unit, to_unit,
    period_start AS day,
    period_start AS month,
    max(version) AS latest_version,
    argMax(n_counted, version) AS c_counted,
    argMax(n_early, version) AS c_early,
    argMax(n_on_time, version) AS c_on_time,
    argMax(n_late, version) AS c_late,
    argMax(n_open_within, version) AS c_open_within,
    argMax(n_open_overdue, version) AS c_open_overdue,
    argMax(n_resolved, version) AS c_resolved,
    argMax(n_resolution_e4, version) AS c_resolution_e4,
    argMax(n_taken_seconds, version) AS c_taken_seconds,
    argMax(n_mismatches, version) AS c_mismatches
FROM ${db}.aggregates
GROUP BY consumer_group, kafka_partition, grain, dims, period_kind, period, period_start,
         period_end, agency_code, province_code, agency_level, procedure_code, field_code,
         channel, limit_amount, limit_unit, from_unit, to_unit;

-- The consumer group whose figures are served: the one furthest ahead in event time (the
-- latest written on a tie), and its watermark. During a replay under a new group the old
-- group's figures are served until the new one catches up.
CREATE VIEW IF NOT EXISTS ${db}.v_serving AS
SELECT consumer_group, max(watermark) AS as_of, max(updated_at) AS last_write
FROM ${db}.processor_progress FINAL
GROUP BY consumer_group
ORDER BY as_of DESC, last_write DESC, consumer_group
LIMIT 1;

-- The per-dossier definitions, kept for drill-down and cross-checks.
RENAME TABLE ${db}.v_ontime_daily TO ${db}.v_ontime_daily_scan;
RENAME TABLE ${db}.v_ontime_agency_daily TO ${db}.v_ontime_agency_daily_scan;
RENAME TABLE ${db}.v_ontime_province_daily TO ${db}.v_ontime_province_daily_scan;
RENAME TABLE ${db}.v_overdue_agency TO ${db}.v_overdue_agency_scan;
RENAME TABLE ${db}.v_766_agency TO ${db}.v_766_agency_scan;
RENAME TABLE ${db}.v_766_level TO ${db}.v_766_level_scan;
RENAME TABLE ${db}.v_766_province TO ${db}.v_766_province_scan;
RENAME TABLE ${db}.v_766_resolution TO ${db}.v_766_resolution_scan;
RENAME TABLE ${db}.v_766_resolution_province TO ${db}.v_766_resolution_province_scan;
RENAME TABLE ${db}.v_steps_unit_monthly TO ${db}.v_steps_unit_monthly_scan;
RENAME TABLE ${db}.v_steps_pair_monthly TO ${db}.v_steps_pair_monthly_scan;
RENAME TABLE ${db}.v_steps_agency_monthly TO ${db}.v_steps_agency_monthly_scan;

-- On-time figures per day (Vietnam date of the end of processing), agency, procedure, field
-- and level: ended, received dossiers; rate = (early + on time) / counted, percent, 2
-- decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_daily AS
SELECT
    day,
    agency_code,
    province_code,
    agency_level,
    procedure_code,
    field_code,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'procedure' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, agency_code, province_code, agency_level, procedure_code, field_code
HAVING counted > 0;

-- The same per day and agency only: "which agencies resolve on time".
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_agency_daily AS
SELECT
    day,
    agency_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, agency_code, agency_level
HAVING counted > 0;

-- Province roll-up: a province's figure includes all its sub-units (read from the
-- province-wide channel family: a few cells a day, not one per agency).
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_province_daily AS
SELECT
    day,
    province_code,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, province_code
HAVING counted > 0;

-- The same per channel (counter, online, post), per day and province.
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_channel_daily AS
SELECT
    day,
    province_code,
    channel,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, province_code, channel
HAVING counted > 0;

-- Open and overdue counts per agency, as of the watermark.
CREATE VIEW IF NOT EXISTS ${db}.v_overdue_agency AS
SELECT
    agency_code,
    province_code,
    sum(c_counted) AS open_dossiers,
    sum(c_open_overdue) AS overdue_dossiers,
    any((SELECT as_of FROM ${db}.v_serving)) AS as_of_time
FROM ${db}.v_cells
WHERE grain = 'OPEN' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY agency_code, province_code
HAVING open_dossiers > 0;

-- Every report's cells: closed periods as of their end, running ones live (the periods
-- holding the watermark's date).
CREATE VIEW IF NOT EXISTS ${db}.v_766_cells AS
SELECT *
FROM ${db}.v_cells
WHERE consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
  AND ((grain = 'CLOSED' AND period_end <= toDate((SELECT as_of FROM ${db}.v_serving)))
    OR (grain = 'RUNNING'
        AND period_start <= toDate((SELECT as_of FROM ${db}.v_serving))
        AND period_end > toDate((SELECT as_of FROM ${db}.v_serving))));

-- Indicator 2.1 per agency and period: (early + on time + open within deadline) / counted,
-- percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_agency AS
SELECT
    period_kind,
    period,
    agency_code,
    province_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    sum(c_open_within) AS open_within,
    sum(c_open_overdue) AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_cells
WHERE dims = 'agency'
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING counted > 0;

-- The same per level within a province (all province departments, all districts, all
-- communes).
CREATE VIEW IF NOT EXISTS ${db}.v_766_level AS
SELECT
    period_kind,
    period,
    province_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    sum(c_open_within) AS open_within,
    sum(c_open_overdue) AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_cells
WHERE dims = 'agency'
GROUP BY period_kind, period, province_code, agency_level
HAVING counted > 0;

-- The province including all its sub-units (from the province-wide field family).
CREATE VIEW IF NOT EXISTS ${db}.v_766_province AS
SELECT
    period_kind,
    period,
    province_code,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    sum(c_open_within) AS open_within,
    sum(c_open_overdue) AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_cells
WHERE dims = 'field'
GROUP BY period_kind, period, province_code
HAVING counted > 0;

-- Indicator 2.1 per field of the province (domain.md §10: on time > 90 % in every field).
CREATE VIEW IF NOT EXISTS ${db}.v_766_field AS
SELECT
    period_kind,
    period,
    province_code,
    field_code,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    sum(c_open_within) AS open_within,
    sum(c_open_overdue) AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_cells
WHERE dims = 'field'
GROUP BY period_kind, period, province_code, field_code
HAVING counted > 0;

-- Indicator 2.2 per agency, procedure and period: average resolution time of the dossiers
-- that ended with a result inside the period, in the procedure's unit, 2 decimals; NULL
-- (N/A) without one.
CREATE VIEW IF NOT EXISTS ${db}.v_766_resolution AS
SELECT
    period_kind,
    period,
    agency_code,
    province_code,
    procedure_code,
    limit_amount,
    limit_unit,
    sum(c_resolved) AS resolved,
    if(resolved = 0, NULL, round(sum(c_resolution_e4) / 10000 / resolved, 2)) AS indicator_2_2_average
FROM ${db}.v_766_cells
WHERE dims = 'procedure'
GROUP BY period_kind, period, agency_code, province_code, procedure_code, limit_amount, limit_unit
HAVING sum(c_counted) > 0;

-- Indicator 2.2 for the province including its sub-units, per procedure.
CREATE VIEW IF NOT EXISTS ${db}.v_766_resolution_province AS
SELECT
    period_kind,
    period,
    province_code,
    procedure_code,
    limit_amount,
    limit_unit,
    sum(c_resolved) AS resolved,
    if(resolved = 0, NULL, round(sum(c_resolution_e4) / 10000 / resolved, 2)) AS indicator_2_2_average
FROM ${db}.v_766_cells
WHERE dims = 'province_procedure'
GROUP BY period_kind, period, province_code, procedure_code, limit_amount, limit_unit
HAVING sum(c_counted) > 0;

-- Step on-time rates per unit (the unit whose step it was) and month of the handover.
CREATE VIEW IF NOT EXISTS ${db}.v_steps_unit_monthly AS
SELECT
    month,
    from_unit,
    sum(c_counted) AS steps,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(sum(c_taken_seconds) / steps / 3600, 2) AS avg_taken_hours,
    sum(c_mismatches) AS self_report_mismatches
FROM ${db}.v_cells
WHERE grain = 'STEPS' AND dims = 'unit' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY month, from_unit
HAVING steps > 0;

-- The same per handover pair (giving unit -> receiving unit).
CREATE VIEW IF NOT EXISTS ${db}.v_steps_pair_monthly AS
SELECT
    month,
    from_unit,
    to_unit,
    sum(c_counted) AS steps,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(sum(c_taken_seconds) / steps / 3600, 2) AS avg_taken_hours
FROM ${db}.v_cells
WHERE grain = 'STEPS' AND dims = 'unit' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY month, from_unit, to_unit
HAVING steps > 0;

-- The same per receiving agency.
CREATE VIEW IF NOT EXISTS ${db}.v_steps_agency_monthly AS
SELECT
    month,
    agency_code,
    sum(c_counted) AS steps,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_late) AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(sum(c_taken_seconds) / steps / 3600, 2) AS avg_taken_hours
FROM ${db}.v_cells
WHERE grain = 'STEPS' AND dims = 'unit' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY month, agency_code
HAVING steps > 0;

-- Drill-down from a report to its dossiers: dossier_periods sorted by report, then agency,
-- and partitioned by year, so "agency X's dossiers in 2026-08" reads one year's part and a
-- key range. A dossier's receiving agency is fixed by its receipt (period rows exist only
-- after it), so the key still names one dossier's row per period.
CREATE TABLE IF NOT EXISTS ${db}.dossier_periods_v4
(
    dossier_code String,
    period_kind String,
    period String,
    period_start Date,
    period_end Date,
    version UInt32,
    in_scope UInt8,
    agency_code String,
    province_code String,
    agency_level String,
    procedure_code String,
    limit_amount Int32,
    limit_unit String,
    verdict String,
    resolution_units Nullable(Float64),
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYear(period_start)
ORDER BY (period_kind, period_start, agency_code, dossier_code);

INSERT INTO ${db}.dossier_periods_v4
SELECT dossier_code, period_kind, period, period_start, period_end, version, in_scope,
       agency_code, province_code, agency_level, procedure_code, limit_amount, limit_unit,
       verdict, resolution_units, updated_at
FROM ${db}.dossier_periods;

RENAME TABLE ${db}.dossier_periods TO ${db}.dossier_periods_v3;

RENAME TABLE ${db}.dossier_periods_v4 TO ${db}.dossier_periods;

DROP TABLE IF EXISTS ${db}.dossier_periods_v3;
