-- motcua schema v2: deadlines (docs/DEADLINES.md). `${db}` is replaced by the migrator.
-- Same dialect limits as 0001: ClickHouse 18.16 and modern servers.

-- Legal due time, appointment check, effective due time and resolution time per dossier.
ALTER TABLE ${db}.dossier_state
    ADD COLUMN legal_due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    ADD COLUMN legal_limit_amount Int32,
    ADD COLUMN legal_limit_unit String,
    ADD COLUMN legal_limit_source String,
    ADD COLUMN appointment_check String,
    ADD COLUMN appointment_gap_minutes Int64,
    ADD COLUMN due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    ADD COLUMN paused_seconds UInt32,
    ADD COLUMN pause_policy String,
    ADD COLUMN reappointed_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    ADD COLUMN resolution_units Nullable(Float64),
    ADD COLUMN late_steps UInt16,
    ADD COLUMN off_calendar UInt8;

-- A view's `*` is expanded when the view is created: recreate it to show the new columns.
DROP TABLE IF EXISTS ${db}.v_dossiers;

CREATE VIEW IF NOT EXISTS ${db}.v_dossiers AS
SELECT *
FROM ${db}.dossier_state FINAL;

-- One row per handover step (process-control slip), judged against its allotment. Written
-- with the dossier's version: FINAL shows each step once, as of the dossier's latest state.
CREATE TABLE IF NOT EXISTS ${db}.dossier_steps
(
    dossier_code String,
    step Int32,
    version UInt32,
    agency_code String,
    province_code String,
    agency_level String,
    procedure_code String,
    from_unit String,
    to_unit String,
    started_at DateTime('Asia/Ho_Chi_Minh'),
    handed_at DateTime('Asia/Ho_Chi_Minh'),
    handed_date Date,
    allotted_amount Int32,
    allotted_unit String,
    due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    taken_seconds UInt32,
    outcome String,
    recorded_outcome String,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (dossier_code, step);

-- Open dossiers, overdue judged against the processor's event-time watermark (not the wall
-- clock), so a replay gives the same list. `due_at` is the appointment moved by supplement
-- waits under the pause policy; `reappointed_at` is the form 04 date, if any.
DROP TABLE IF EXISTS ${db}.v_open_dossiers;

CREATE VIEW IF NOT EXISTS ${db}.v_open_dossiers AS
SELECT
    dossier_code,
    agency_code,
    province_code,
    procedure_code,
    status,
    received_at,
    appointment_at,
    due_at,
    reappointed_at,
    (SELECT max(watermark) FROM ${db}.processor_progress FINAL) AS as_of,
    assumeNotNull(due_at) < as_of AS overdue
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('IN_PROGRESS', 'OVERDUE_IN_PROGRESS');

-- The list an operator acts on: open dossiers past their due time as of the watermark,
-- most overdue first, with the hours elapsed since the due time.
CREATE VIEW IF NOT EXISTS ${db}.v_overdue_dossiers AS
SELECT
    dossier_code,
    agency_code,
    province_code,
    procedure_code,
    status,
    received_at,
    appointment_at,
    due_at,
    reappointed_at,
    as_of,
    round((toUInt32(as_of) - toUInt32(assumeNotNull(due_at))) / 3600, 1) AS hours_overdue
FROM ${db}.v_open_dossiers
WHERE overdue
ORDER BY due_at, dossier_code;

-- Open and overdue counts per agency, as of the watermark.
CREATE VIEW IF NOT EXISTS ${db}.v_overdue_agency AS
SELECT
    agency_code,
    province_code,
    count() AS open_dossiers,
    countIf(overdue) AS overdue_dossiers,
    any(as_of) AS as_of_time
FROM ${db}.v_open_dossiers
GROUP BY agency_code, province_code;

-- Audit finding: the agency's appointment on form 01 is not the legal due time.
CREATE VIEW IF NOT EXISTS ${db}.v_appointment_findings AS
SELECT
    dossier_code,
    agency_code,
    procedure_code,
    received_at,
    appointment_at,
    legal_due_at,
    legal_limit_amount,
    legal_limit_unit,
    legal_limit_source,
    appointment_check,
    appointment_gap_minutes
FROM ${db}.dossier_state FINAL
WHERE appointment_check IN ('LATER_THAN_LEGAL', 'EARLIER_THAN_LEGAL');

-- How each closed period's report saw a dossier (docs/DEADLINES.md §4): the dossier's events
-- before the period's end, classified with the end as the watermark. `in_scope` = 1 when the
-- dossier ended inside the period or was open at its end; rows that no longer apply are
-- rewritten with 0. Written by the processor when a period closes or the dossier changes.
CREATE TABLE IF NOT EXISTS ${db}.dossier_periods
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
ORDER BY (dossier_code, period_kind, period);

-- The running periods (the month, quarter and year holding the watermark), live: a dossier
-- is in them when it ended inside them or is still open; an open one is on time while its
-- due time has not passed the watermark (IN_PROGRESS) and late once it has
-- (OVERDUE_IN_PROGRESS).
CREATE VIEW IF NOT EXISTS ${db}.v_766_current AS
SELECT
    period_pair.1 AS period_kind,
    period_pair.2 AS period,
    dossier_code,
    agency_code,
    province_code,
    agency_level,
    procedure_code,
    legal_limit_amount AS limit_amount,
    legal_limit_unit AS limit_unit,
    resolution_units,
    multiIf(outcome IN ('EARLY', 'ON_TIME', 'LATE'), outcome,
            assumeNotNull(due_at) < as_of, 'OVERDUE_IN_PROGRESS', 'IN_PROGRESS') AS verdict
FROM
(
    SELECT
        *,
        (SELECT max(watermark) FROM ${db}.processor_progress FINAL) AS as_of,
        toDate(as_of) AS as_of_day,
        arrayJoin([
            ('MONTH', concat(toString(toYear(as_of_day)), '-', substring(toString(toYYYYMM(as_of_day)), 5, 2)), toStartOfMonth(as_of_day)),
            ('QUARTER', concat(toString(toYear(as_of_day)), '-Q', toString(toQuarter(as_of_day))), toStartOfQuarter(as_of_day)),
            ('YEAR', toString(toYear(as_of_day)), toStartOfYear(as_of_day))
        ]) AS period_pair
    FROM ${db}.dossier_state FINAL
    WHERE received_at IS NOT NULL AND outcome != 'NOT_COUNTED'
)
WHERE end_date IS NULL OR assumeNotNull(end_date) >= period_pair.3;

-- Every dossier in every report: closed periods from dossier_periods, running ones live.
CREATE VIEW IF NOT EXISTS ${db}.v_766_periods AS
SELECT period_kind, period, dossier_code, agency_code, province_code, agency_level,
       procedure_code, limit_amount, limit_unit, resolution_units, verdict
FROM ${db}.dossier_periods FINAL
WHERE in_scope = 1
UNION ALL
SELECT period_kind, period, dossier_code, agency_code, province_code, agency_level,
       procedure_code, limit_amount, limit_unit, resolution_units, verdict
FROM ${db}.v_766_current;

-- Indicator 2.1 per agency and period: (early + on time + open within deadline) / counted,
-- percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_agency AS
SELECT
    period_kind,
    period,
    agency_code,
    province_code,
    agency_level,
    count() AS counted,
    countIf(verdict = 'EARLY') AS early,
    countIf(verdict = 'ON_TIME') AS on_time,
    countIf(verdict = 'LATE') AS late,
    countIf(verdict = 'IN_PROGRESS') AS open_within,
    countIf(verdict = 'OVERDUE_IN_PROGRESS') AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_periods
GROUP BY period_kind, period, agency_code, province_code, agency_level;

-- The same per level within a province (all province departments, all districts, all
-- communes).
CREATE VIEW IF NOT EXISTS ${db}.v_766_level AS
SELECT
    period_kind,
    period,
    province_code,
    agency_level,
    count() AS counted,
    countIf(verdict = 'EARLY') AS early,
    countIf(verdict = 'ON_TIME') AS on_time,
    countIf(verdict = 'LATE') AS late,
    countIf(verdict = 'IN_PROGRESS') AS open_within,
    countIf(verdict = 'OVERDUE_IN_PROGRESS') AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_periods
GROUP BY period_kind, period, province_code, agency_level;

-- The province including all its sub-units.
CREATE VIEW IF NOT EXISTS ${db}.v_766_province AS
SELECT
    period_kind,
    period,
    province_code,
    count() AS counted,
    countIf(verdict = 'EARLY') AS early,
    countIf(verdict = 'ON_TIME') AS on_time,
    countIf(verdict = 'LATE') AS late,
    countIf(verdict = 'IN_PROGRESS') AS open_within,
    countIf(verdict = 'OVERDUE_IN_PROGRESS') AS open_overdue,
    round(100 * (early + on_time + open_within) / counted, 2) AS indicator_2_1_percent
FROM ${db}.v_766_periods
GROUP BY period_kind, period, province_code;

-- Indicator 2.2 per agency, procedure and period: average resolution time of the dossiers
-- that ended with a result inside the period, in the procedure's unit (a procedure timed in
-- two units, e.g. outside the catalogue, gets a row per unit), 2 decimals; NULL (N/A)
-- without one.
CREATE VIEW IF NOT EXISTS ${db}.v_766_resolution AS
SELECT
    period_kind,
    period,
    agency_code,
    province_code,
    procedure_code,
    limit_amount,
    limit_unit,
    countIf(resolution_units IS NOT NULL) AS resolved,
    if(resolved = 0, NULL, round(sumIf(assumeNotNull(resolution_units), resolution_units IS NOT NULL) / resolved, 2)) AS indicator_2_2_average
FROM ${db}.v_766_periods
GROUP BY period_kind, period, agency_code, province_code, procedure_code, limit_amount, limit_unit;

-- Indicator 2.2 for the province including its sub-units, per procedure.
CREATE VIEW IF NOT EXISTS ${db}.v_766_resolution_province AS
SELECT
    period_kind,
    period,
    province_code,
    procedure_code,
    limit_amount,
    limit_unit,
    countIf(resolution_units IS NOT NULL) AS resolved,
    if(resolved = 0, NULL, round(sumIf(assumeNotNull(resolution_units), resolution_units IS NOT NULL) / resolved, 2)) AS indicator_2_2_average
FROM ${db}.v_766_periods
GROUP BY period_kind, period, province_code, procedure_code, limit_amount, limit_unit;

-- Step on-time rates per unit (the unit whose step it was) and month of the handover:
-- where dossiers get stuck. Steps without an allotment are not counted.
CREATE VIEW IF NOT EXISTS ${db}.v_steps_unit_monthly AS
SELECT
    toStartOfMonth(handed_date) AS month,
    from_unit,
    count() AS steps,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(avg(taken_seconds) / 3600, 2) AS avg_taken_hours,
    countIf(recorded_outcome != '' AND recorded_outcome != outcome) AS self_report_mismatches
FROM ${db}.dossier_steps FINAL
WHERE outcome != ''
GROUP BY month, from_unit;

-- The same per handover pair (giving unit -> receiving unit).
CREATE VIEW IF NOT EXISTS ${db}.v_steps_pair_monthly AS
SELECT
    toStartOfMonth(handed_date) AS month,
    from_unit,
    to_unit,
    count() AS steps,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(avg(taken_seconds) / 3600, 2) AS avg_taken_hours
FROM ${db}.dossier_steps FINAL
WHERE outcome != ''
GROUP BY month, from_unit, to_unit;

-- The same per receiving agency (a department, district or commune with all its internal
-- units): whose process is slow overall.
CREATE VIEW IF NOT EXISTS ${db}.v_steps_agency_monthly AS
SELECT
    toStartOfMonth(handed_date) AS month,
    agency_code,
    count() AS steps,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / steps, 2) AS on_time_rate_percent,
    round(avg(taken_seconds) / 3600, 2) AS avg_taken_hours
FROM ${db}.dossier_steps FINAL
WHERE outcome != ''
GROUP BY month, agency_code;
