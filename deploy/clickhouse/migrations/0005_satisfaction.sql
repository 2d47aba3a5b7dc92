-- motcua schema v5: citizens' ratings joined to their dossiers (docs/ARCHITECTURE.md,
-- "Satisfaction"). `${db}` is replaced by the migrator. Same dialect limits as 0001:
-- ClickHouse 18.16 and modern servers.
--
-- A dossier's ratings are folded into its state like any other event (same key, same
-- partition), so the join needs no state of its own: a rating read before the dossier's
-- receipt waits with it (AWAITING_RECEIPT), one read weeks after the return loads the
-- evicted dossier from its checkpoint, and the dossier's contributions to the figures are
-- replaced, so a late rating corrects the day (and so the month, quarter, year) it belongs
-- to. The rating that stands is the latest survey's overall answer (by event time, then
-- event id); "dissatisfied" for Decision 766 group 5 is any survey dissatisfied.
--
-- Satisfaction figures count the dossiers whose processing ended (the on-time base, by the
-- Vietnam date of their end), in the `DAY` cells of the agency, procedure and channel
-- families. The same cells count the ended dossiers with a result and those whose result was
-- electronic (Decision 766 indicator 4.1). A new grain, `RECEIPT`, counts every received
-- dossier by the Vietnam date of its receipt (`n_counted`) and those received online
-- (`n_online`), in the agency and channel (province-wide) families: indicator 3.3. Upgrading a v4 database: the new counts start at 0; rebuild with `motcua replay`.

ALTER TABLE ${db}.aggregates
    ADD COLUMN n_very_satisfied UInt64 DEFAULT 0,
    ADD COLUMN n_satisfied UInt64 DEFAULT 0,
    ADD COLUMN n_neutral UInt64 DEFAULT 0,
    ADD COLUMN n_dissatisfied UInt64 DEFAULT 0,
    ADD COLUMN n_very_dissatisfied UInt64 DEFAULT 0,
    ADD COLUMN n_complaints UInt64 DEFAULT 0,
    ADD COLUMN n_rated_late UInt64 DEFAULT 0,
    ADD COLUMN n_satisfied_late UInt64 DEFAULT 0,
    ADD COLUMN n_766_unsatisfied UInt64 DEFAULT 0,
    ADD COLUMN n_results UInt64 DEFAULT 0,
    ADD COLUMN n_electronic UInt64 DEFAULT 0,
    ADD COLUMN n_online UInt64 DEFAULT 0;

-- The rating that stands, per dossier (drill-down: which late dossiers were rated badly).
ALTER TABLE ${db}.dossier_state ADD COLUMN rating String DEFAULT '';

DROP TABLE IF EXISTS ${db}.v_cells;

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
    argMax(n_mismatches, version) AS c_mismatches,
    argMax(n_very_satisfied, version) AS c_very_satisfied,
    argMax(n_satisfied, version) AS c_satisfied,
    argMax(n_neutral, version) AS c_neutral,
    argMax(n_dissatisfied, version) AS c_dissatisfied,
    argMax(n_very_dissatisfied, version) AS c_very_dissatisfied,
    argMax(n_complaints, version) AS c_complaints,
    argMax(n_rated_late, version) AS c_rated_late,
    argMax(n_satisfied_late, version) AS c_satisfied_late,
    argMax(n_766_unsatisfied, version) AS c_766_unsatisfied,
    argMax(n_results, version) AS c_results,
    argMax(n_electronic, version) AS c_electronic,
    argMax(n_online, version) AS c_online
FROM ${db}.aggregates
GROUP BY consumer_group, kafka_partition, grain, dims, period_kind, period, period_start,
         period_end, agency_code, province_code, agency_level, procedure_code, field_code,
         channel, limit_amount, limit_unit, from_unit, to_unit;

-- Satisfaction per day (of the end of processing), agency, procedure, field and level.
-- `rated` dossiers have a standing rating; shares are percent, 2 decimals, NULL (N/A) when
-- nothing was rated. "Satisfied" is satisfied or very satisfied. The on-time share is of the
-- rated dossiers that ended early or on time, the late one of those that ended late.
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_daily AS
SELECT
    day,
    agency_code,
    province_code,
    agency_level,
    procedure_code,
    field_code,
    sum(c_counted) AS counted,
    sum(c_very_satisfied) AS very_satisfied,
    sum(c_satisfied) AS satisfied,
    sum(c_neutral) AS neutral,
    sum(c_dissatisfied) AS dissatisfied,
    sum(c_very_dissatisfied) AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    sum(c_complaints) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - sum(c_rated_late) AS rated_on_time,
    very_satisfied + satisfied - sum(c_satisfied_late) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    sum(c_rated_late) AS rated_late,
    sum(c_satisfied_late) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'procedure' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, agency_code, province_code, agency_level, procedure_code, field_code
HAVING counted > 0;

-- The same per day and agency.
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_agency_daily AS
SELECT
    day,
    agency_code,
    province_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_very_satisfied) AS very_satisfied,
    sum(c_satisfied) AS satisfied,
    sum(c_neutral) AS neutral,
    sum(c_dissatisfied) AS dissatisfied,
    sum(c_very_dissatisfied) AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    sum(c_complaints) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - sum(c_rated_late) AS rated_on_time,
    very_satisfied + satisfied - sum(c_satisfied_late) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    sum(c_rated_late) AS rated_late,
    sum(c_satisfied_late) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, agency_code, province_code, agency_level
HAVING counted > 0;

-- Per day, province (with all its sub-units) and channel.
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_channel_daily AS
SELECT
    day,
    province_code,
    channel,
    sum(c_counted) AS counted,
    sum(c_very_satisfied) AS very_satisfied,
    sum(c_satisfied) AS satisfied,
    sum(c_neutral) AS neutral,
    sum(c_dissatisfied) AS dissatisfied,
    sum(c_very_dissatisfied) AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    sum(c_complaints) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - sum(c_rated_late) AS rated_on_time,
    very_satisfied + satisfied - sum(c_satisfied_late) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    sum(c_rated_late) AS rated_late,
    sum(c_satisfied_late) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.v_cells
WHERE grain = 'DAY' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
GROUP BY day, province_code, channel
HAVING counted > 0;

-- Decision 766 group 5, satisfaction with dossier handling, per agency and month, quarter
-- and year (of the end of processing): (dossiers - those rated dissatisfied, with a
-- complaint, or late) / dossiers, percent, 2 decimals; up to 6 points, full at 90 % and
-- linear below. Ratings arriving later correct the period they belong to.
CREATE VIEW IF NOT EXISTS ${db}.v_766_satisfaction_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_766_unsatisfied) AS unsatisfied,
    sum(c_very_satisfied) + sum(c_satisfied) + sum(c_neutral) + sum(c_dissatisfied) + sum(c_very_dissatisfied) AS rated,
    sum(c_complaints) AS complaints,
    round(100 * (counted - unsatisfied) / counted, 2) AS indicator_5_percent,
    round(6 * least(100 * (counted - unsatisfied) / counted, 90) / 90, 2) AS indicator_5_points
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_766_unsatisfied,
           c_very_satisfied, c_satisfied, c_neutral, c_dissatisfied, c_very_dissatisfied,
           c_complaints
    FROM ${db}.v_cells
    WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING counted > 0;

-- The per-dossier definitions of the same figures, for drill-down and cross-checks
-- (tests/it compares each pair wherever the figures are checked).
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_daily_scan AS
SELECT
    assumeNotNull(end_date) AS day,
    agency_code,
    province_code,
    agency_level,
    procedure_code,
    field_code,
    count() AS counted,
    countIf(rating = 'VERY_SATISFIED') AS very_satisfied,
    countIf(rating = 'SATISFIED') AS satisfied,
    countIf(rating = 'NEUTRAL') AS neutral,
    countIf(rating = 'DISSATISFIED') AS dissatisfied,
    countIf(rating = 'VERY_DISSATISFIED') AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    countIf(complaint = 1) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - countIf(outcome = 'LATE' AND rating != '') AS rated_on_time,
    countIf(outcome != 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    countIf(outcome = 'LATE' AND rating != '') AS rated_late,
    countIf(outcome = 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, agency_code, province_code, agency_level, procedure_code, field_code;

CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_agency_daily_scan AS
SELECT
    assumeNotNull(end_date) AS day,
    agency_code,
    province_code,
    agency_level,
    count() AS counted,
    countIf(rating = 'VERY_SATISFIED') AS very_satisfied,
    countIf(rating = 'SATISFIED') AS satisfied,
    countIf(rating = 'NEUTRAL') AS neutral,
    countIf(rating = 'DISSATISFIED') AS dissatisfied,
    countIf(rating = 'VERY_DISSATISFIED') AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    countIf(complaint = 1) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - countIf(outcome = 'LATE' AND rating != '') AS rated_on_time,
    countIf(outcome != 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    countIf(outcome = 'LATE' AND rating != '') AS rated_late,
    countIf(outcome = 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, agency_code, province_code, agency_level;

CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_channel_daily_scan AS
SELECT
    assumeNotNull(end_date) AS day,
    province_code,
    channel,
    count() AS counted,
    countIf(rating = 'VERY_SATISFIED') AS very_satisfied,
    countIf(rating = 'SATISFIED') AS satisfied,
    countIf(rating = 'NEUTRAL') AS neutral,
    countIf(rating = 'DISSATISFIED') AS dissatisfied,
    countIf(rating = 'VERY_DISSATISFIED') AS very_dissatisfied,
    very_satisfied + satisfied + neutral + dissatisfied + very_dissatisfied AS rated,
    countIf(complaint = 1) AS complaints,
    round(100 * (very_satisfied + satisfied) / nullIf(rated, 0), 2) AS satisfied_percent,
    rated - countIf(outcome = 'LATE' AND rating != '') AS rated_on_time,
    countIf(outcome != 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_on_time,
    round(100 * satisfied_on_time / nullIf(rated_on_time, 0), 2) AS satisfied_on_time_percent,
    countIf(outcome = 'LATE' AND rating != '') AS rated_late,
    countIf(outcome = 'LATE' AND rating IN ('VERY_SATISFIED', 'SATISFIED')) AS satisfied_late,
    round(100 * satisfied_late / nullIf(rated_late, 0), 2) AS satisfied_late_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, province_code, channel;

CREATE VIEW IF NOT EXISTS ${db}.v_766_satisfaction_agency_scan AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    agency_level,
    count() AS counted,
    countIf(dissatisfied = 1 OR complaint = 1 OR outcome = 'LATE') AS unsatisfied,
    countIf(rating != '') AS rated,
    countIf(complaint = 1) AS complaints,
    round(100 * (counted - unsatisfied) / counted, 2) AS indicator_5_percent,
    round(6 * least(100 * (counted - unsatisfied) / counted, 90) / 90, 2) AS indicator_5_points
FROM
(
    SELECT assumeNotNull(end_date) AS day, agency_code, province_code, agency_level, outcome,
           rating, dissatisfied, complaint
    FROM ${db}.dossier_state FINAL
    WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level;

-- Ratings whose dossier has not arrived (no receipt read): in no figure until it does.
-- `days_waiting` is from the latest of the dossier's events to the served watermark; a
-- rating older than the processor's retention whose receipt never came is for a dossier
-- motcua never received (another system's, or a mistyped code).
CREATE VIEW IF NOT EXISTS ${db}.v_unmatched_ratings AS
SELECT
    dossier_code,
    agency_code,
    surveys,
    rating,
    complaint,
    last_event_at,
    intDiv(greatest(toUInt32((SELECT as_of FROM ${db}.v_serving)), toUInt32(last_event_at)) - toUInt32(last_event_at), 86400) AS days_waiting
FROM ${db}.dossier_state FINAL
WHERE outcome = 'AWAITING_RECEIPT' AND surveys > 0;

-- Decision 766 indicator 4.1 per agency and month, quarter and year of the end of
-- processing: ended dossiers with an electronic result / ended dossiers with a result,
-- percent, 2 decimals, NULL (N/A) without a result.
CREATE VIEW IF NOT EXISTS ${db}.v_766_electronic_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    agency_level,
    sum(c_results) AS results,
    sum(c_electronic) AS electronic,
    round(100 * electronic / nullIf(results, 0), 2) AS indicator_4_1_percent
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_results, c_electronic
    FROM ${db}.v_cells
    WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING sum(c_counted) > 0;

CREATE VIEW IF NOT EXISTS ${db}.v_766_electronic_agency_scan AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    agency_level,
    countIf(end_kind IN ('FINISHED', 'RETURNED')) AS results,
    countIf(end_kind IN ('FINISHED', 'RETURNED') AND electronic_result = 1) AS electronic,
    round(100 * electronic / nullIf(results, 0), 2) AS indicator_4_1_percent
FROM
(
    SELECT assumeNotNull(end_date) AS day, agency_code, province_code, agency_level, end_kind,
           electronic_result
    FROM ${db}.dossier_state FINAL
    WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level;

-- Decision 766 indicator 3.3 per agency and month, quarter and year of receipt: dossiers
-- received online / all received, percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_online_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code, province_code, agency_level,
    sum(c_counted) AS received,
    sum(c_online) AS online,
    round(100 * online / received, 2) AS indicator_3_3_percent
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_online
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING received > 0;

CREATE VIEW IF NOT EXISTS ${db}.v_766_online_agency_scan AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code, province_code, agency_level,
    count() AS received,
    countIf(channel = 'ONLINE') AS online,
    round(100 * online / received, 2) AS indicator_3_3_percent
FROM
(
    SELECT toDate(assumeNotNull(received_at)) AS day, agency_code, province_code, agency_level, channel
    FROM ${db}.dossier_state FINAL
    WHERE received_at IS NOT NULL
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level;

-- Decision 766 indicator 3.3 per province (all its sub-units) and month, quarter and year of receipt: dossiers
-- received online / all received, percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_online_province AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    province_code,
    sum(c_counted) AS received,
    sum(c_online) AS online,
    round(100 * online / received, 2) AS indicator_3_3_percent
FROM
(
    SELECT day, province_code, c_counted, c_online
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, province_code
HAVING received > 0;

CREATE VIEW IF NOT EXISTS ${db}.v_766_online_province_scan AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    province_code,
    count() AS received,
    countIf(channel = 'ONLINE') AS online,
    round(100 * online / received, 2) AS indicator_3_3_percent
FROM
(
    SELECT toDate(assumeNotNull(received_at)) AS day, province_code, channel
    FROM ${db}.dossier_state FINAL
    WHERE received_at IS NOT NULL
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, province_code;
