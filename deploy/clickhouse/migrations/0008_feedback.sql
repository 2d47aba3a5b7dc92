-- motcua schema v8: Decision 766 indicators 1.4 (synced to the national portal) and 4.2
-- (digitised at receipt), and feedback and complaints (PAKN) handled on time, from schema
-- v4's events (docs/CONTRACT.md §7). `${db}` is replaced by the migrator. Same dialect
-- limits as 0001: ClickHouse 18.16 and modern servers.
--
-- 1.4 and 4.2 are shares of the dossiers received in the period (as 3.3 is): those whose
-- receipt says they were digitised (`received.digitised`), and those the national portal
-- accepted a sync of (`PORTAL_SYNCED`, any time after). The processor counts both in the
-- `RECEIPT` cells.
--
-- A PAKN item (`FEEDBACK`) counts in the period it was answered in, on time when answered by
-- its due time; an item still unanswered once its due time has passed counts as overdue in
-- the period it was due in (as an open dossier past its due time does for 2.1), until it is
-- answered. Handled on time = answered on time / (answered + overdue). Satisfaction with
-- the handling = answers rated satisfied or very satisfied / answers rated. The processor
-- counts these in `FEEDBACK` cells, per agency of the dossier.
--
-- A PAKN complaint also counts as a complaint about its dossier wherever a survey's does
-- (5.1, Circular 01 indicator 7). Circular 01 indicator 8, feedback handled on time, is now
-- computed, per ended dossier as this implementation reads it: no PAKN item 2, every item
-- answered by its due time (or not yet due) 1, one answered late or past its due time
-- unanswered 0; v_c01 is recreated with it (6 indicators computable, 3 not). Upgrading a v7 database: the new counts start at 0;
-- rebuild with `motcua replay`.

ALTER TABLE ${db}.aggregates
    ADD COLUMN n_c01_feedback_points UInt64 DEFAULT 0,
    ADD COLUMN n_digitised UInt64 DEFAULT 0,
    ADD COLUMN n_synced UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_answered UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_on_time UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_overdue UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_rated UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_satisfied UInt64 DEFAULT 0,
    ADD COLUMN n_feedback_complaints UInt64 DEFAULT 0;

ALTER TABLE ${db}.dossier_state
    ADD COLUMN digitised UInt8 DEFAULT 0,
    ADD COLUMN synced UInt8 DEFAULT 0,
    ADD COLUMN feedback_items UInt16 DEFAULT 0;

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
    argMax(n_online, version) AS c_online,
    argMax(n_c01_steps_points, version) AS c_c01_steps_points,
    argMax(n_c01_steps_scored, version) AS c_c01_steps_scored,
    argMax(n_c01_attitude_points, version) AS c_c01_attitude_points,
    argMax(n_ended_online, version) AS c_ended_online,
    argMax(n_supplemented_once, version) AS c_supplemented_once,
    argMax(n_supplemented_more, version) AS c_supplemented_more,
    argMax(n_rated_supplemented_once, version) AS c_rated_supplemented_once,
    argMax(n_rated_supplemented_more, version) AS c_rated_supplemented_more,
    argMax(n_satisfied_supplemented_once, version) AS c_satisfied_supplemented_once,
    argMax(n_satisfied_supplemented_more, version) AS c_satisfied_supplemented_more,
    argMax(n_sipas_sheets, version) AS c_sipas_sheets,
    argMax(n_sipas_answered_access, version) AS c_sipas_answered_access,
    argMax(n_sipas_answered_procedure, version) AS c_sipas_answered_procedure,
    argMax(n_sipas_answered_officials, version) AS c_sipas_answered_officials,
    argMax(n_sipas_answered_results, version) AS c_sipas_answered_results,
    argMax(n_sipas_answered_feedback, version) AS c_sipas_answered_feedback,
    argMax(n_sipas_satisfied_access, version) AS c_sipas_satisfied_access,
    argMax(n_sipas_satisfied_procedure, version) AS c_sipas_satisfied_procedure,
    argMax(n_sipas_satisfied_officials, version) AS c_sipas_satisfied_officials,
    argMax(n_sipas_satisfied_results, version) AS c_sipas_satisfied_results,
    argMax(n_sipas_satisfied_feedback, version) AS c_sipas_satisfied_feedback,
    argMax(n_c01_feedback_points, version) AS c_c01_feedback_points,
    argMax(n_digitised, version) AS c_digitised,
    argMax(n_synced, version) AS c_synced,
    argMax(n_feedback_answered, version) AS c_feedback_answered,
    argMax(n_feedback_on_time, version) AS c_feedback_on_time,
    argMax(n_feedback_overdue, version) AS c_feedback_overdue,
    argMax(n_feedback_rated, version) AS c_feedback_rated,
    argMax(n_feedback_satisfied, version) AS c_feedback_satisfied,
    argMax(n_feedback_complaints, version) AS c_feedback_complaints
FROM ${db}.aggregates
GROUP BY consumer_group, kafka_partition, grain, dims, period_kind, period, period_start,
         period_end, agency_code, province_code, agency_level, procedure_code, field_code,
         channel, limit_amount, limit_unit, from_unit, to_unit;

-- Decision 766 indicator 1.4 per agency and month, quarter and year of receipt: dossiers the
-- national portal accepted a sync of / all received, percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_sync_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code, province_code, agency_level,
    sum(c_counted) AS received,
    sum(c_synced) AS synced,
    round(100 * synced / received, 2) AS indicator_1_4_percent
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_synced
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING received > 0;

-- The same per province (all its sub-units).
CREATE VIEW IF NOT EXISTS ${db}.v_766_sync_province AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    province_code,
    sum(c_counted) AS received,
    sum(c_synced) AS synced,
    round(100 * synced / received, 2) AS indicator_1_4_percent
FROM
(
    SELECT day, province_code, c_counted, c_synced
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, province_code
HAVING received > 0;

-- Decision 766 indicator 4.2 per agency and month, quarter and year of receipt: dossiers
-- digitised at receipt / all received, percent, 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_766_digitised_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code, province_code, agency_level,
    sum(c_counted) AS received,
    sum(c_digitised) AS digitised,
    round(100 * digitised / received, 2) AS indicator_4_2_percent
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_digitised
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING received > 0;

-- The same per province (all its sub-units).
CREATE VIEW IF NOT EXISTS ${db}.v_766_digitised_province AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    province_code,
    sum(c_counted) AS received,
    sum(c_digitised) AS digitised,
    round(100 * digitised / received, 2) AS indicator_4_2_percent
FROM
(
    SELECT day, province_code, c_counted, c_digitised
    FROM ${db}.v_cells
    WHERE grain = 'RECEIPT' AND dims = 'channel' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, province_code
HAVING received > 0;

-- PAKN items per agency (of the dossier) and month, quarter and year: answered, of them on
-- time and late, overdue without an answer, handled on time (percent, 2 decimals, N/A on an
-- empty denominator), complaints among them, and satisfaction with the answers.
CREATE VIEW IF NOT EXISTS ${db}.v_feedback_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code, province_code, agency_level,
    sum(c_feedback_answered) AS answered,
    sum(c_feedback_on_time) AS answered_on_time,
    toUInt64(answered - answered_on_time) AS answered_late,
    sum(c_feedback_overdue) AS overdue,
    round(100 * answered_on_time / nullIf(answered + overdue, 0), 2) AS on_time_percent,
    sum(c_feedback_complaints) AS complaints,
    sum(c_feedback_rated) AS rated,
    sum(c_feedback_satisfied) AS satisfied,
    round(100 * satisfied / nullIf(rated, 0), 2) AS satisfied_percent
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_feedback_answered,
           c_feedback_on_time, c_feedback_overdue, c_feedback_complaints, c_feedback_rated,
           c_feedback_satisfied
    FROM ${db}.v_cells
    WHERE grain = 'FEEDBACK' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING answered + overdue > 0;

-- The same per province (all its sub-units).
CREATE VIEW IF NOT EXISTS ${db}.v_feedback_province AS
SELECT
    period_kind, period, province_code,
    answered, answered_on_time, toUInt64(answered - answered_on_time) AS answered_late, overdue,
    round(100 * answered_on_time / nullIf(answered + overdue, 0), 2) AS on_time_percent,
    complaints, rated, satisfied,
    round(100 * satisfied / nullIf(rated, 0), 2) AS satisfied_percent
FROM
(
    SELECT period_kind, period, province_code, sum(answered) AS answered,
           sum(answered_on_time) AS answered_on_time, sum(overdue) AS overdue,
           sum(complaints) AS complaints, sum(rated) AS rated, sum(satisfied) AS satisfied
    FROM ${db}.v_feedback_agency
    GROUP BY period_kind, period, province_code
);

-- Circular 01/2018 with indicator 8 (see the top of this file).
DROP TABLE IF EXISTS ${db}.v_c01;

DROP TABLE IF EXISTS ${db}.v_c01_sums;

CREATE VIEW IF NOT EXISTS ${db}.v_c01_sums AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    agency_level,
    sum(c_counted) AS counted,
    sum(c_early) AS early,
    sum(c_on_time) AS on_time,
    sum(c_c01_steps_points) AS steps_points,
    sum(c_c01_steps_scored) AS steps_scored,
    sum(c_supplemented_once) AS supplemented_once,
    sum(c_supplemented_more) AS supplemented_more,
    sum(c_c01_attitude_points) AS attitude_points,
    sum(c_ended_online) AS ended_online,
    sum(c_c01_feedback_points) AS feedback_points
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_early, c_on_time,
           c_c01_steps_points, c_c01_steps_scored, c_supplemented_once, c_supplemented_more,
           c_c01_attitude_points, c_ended_online, c_c01_feedback_points
    FROM ${db}.v_cells
    WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code, agency_level
HAVING counted > 0;

-- The Circular 01/2018 score per agency, and per province with its sub-units (`scope`),
-- and period: each indicator's average points (NULL: not computable from the events, or,
-- for indicator 2, no dossier with judged steps), their sum over the computable ones, the
-- most those could give, and the grade the same share of 18 points would get. Scored once
-- here; v_c01_agency and v_c01_province filter it.
CREATE VIEW IF NOT EXISTS ${db}.v_c01 AS
SELECT
    scope,
    period_kind,
    period,
    agency_code,
    province_code,
    agency_level,
    counted,
    steps_scored,
    round((2 * early + on_time) / counted, 2) AS i1_total_time,
    round(steps_points / nullIf(steps_scored, 0), 2) AS i2_unit_times,
    round((2 * (counted - supplemented_once - supplemented_more) + supplemented_once) / counted, 2) AS i3_contacts,
    CAST(NULL AS Nullable(Float64)) AS i4_agencies_contacted,
    CAST(NULL AS Nullable(Float64)) AS i5_one_stop,
    CAST(NULL AS Nullable(Float64)) AS i6_publicity,
    round(attitude_points / counted, 2) AS i7_attitude,
    toNullable(round(feedback_points / counted, 2)) AS i8_feedback,
    round(2 * ended_online / counted, 2) AS i9_online,
    (2 * early + on_time + 2 * (counted - supplemented_once - supplemented_more) + supplemented_once
        + attitude_points + 2 * ended_online + feedback_points) / counted
        + if(steps_scored > 0, steps_points / steps_scored, 0) AS points_exact,
    round(points_exact, 2) AS points,
    if(steps_scored > 0, 12, 10) AS points_computable,
    18 AS points_max,
    'I4 I5 I6' AS not_computable,
    round(18 * points_exact / points_computable, 2) AS points_scaled_18,
    multiIf(points_scaled_18 > 15, 'EXCELLENT', points_scaled_18 >= 12, 'GOOD',
            points_scaled_18 >= 9, 'FAIR', points_scaled_18 >= 6, 'AVERAGE', 'WEAK') AS grade_scaled
FROM
(
    SELECT 'agency' AS scope, period_kind, period, agency_code, province_code, agency_level,
           counted, early, on_time, steps_points, steps_scored, supplemented_once,
           supplemented_more, attitude_points, ended_online, feedback_points
    FROM ${db}.v_c01_sums
    UNION ALL
    SELECT 'province' AS scope, period_kind, period, '' AS agency_code, province_code,
           '' AS agency_level, sum(counted), sum(early), sum(on_time), sum(steps_points),
           sum(steps_scored), sum(supplemented_once), sum(supplemented_more),
           sum(attitude_points), sum(ended_online), sum(feedback_points)
    FROM ${db}.v_c01_sums
    GROUP BY period_kind, period, province_code
);

-- 1.4, 4.2 and 5.2 are computable now (version 2 of their rows).
INSERT INTO ${db}.scorecard_indicators VALUES
    ('766-2022', '1.4', '1', 'Publicity and transparency', 'Dossiers synced to the national portal', 2, 100, 1, 'v_766_sync_agency; points a placeholder: set the province''s', 2),
    ('766-2022', '4.2', '4', 'Online services', 'Dossiers digitised', 6, 80, 1, 'v_766_digitised_agency', 2),
    ('766-2022', '5.2', '5', 'Satisfaction', 'Feedback (PAKN) handled on time', 6, 100, 1, 'v_feedback_agency', 2);

DROP TABLE IF EXISTS ${db}.v_766_scorecard_parts;

-- Every computable indicator's numerator and denominator per agency and period, from the
-- served indicator views (small tables; nothing here reads a per-dossier table).
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_parts AS
SELECT period_kind, period, agency_code, province_code, agency_level, indicator, numerator, denominator
FROM
(
    SELECT period_kind, period, agency_code, province_code, agency_level, '1.4' AS indicator,
           toUInt64(synced) AS numerator, toUInt64(received) AS denominator
    FROM ${db}.v_766_sync_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '2.1' AS indicator,
           toUInt64(early + on_time + open_within) AS numerator, toUInt64(counted) AS denominator
    FROM ${db}.v_766_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '3.3' AS indicator,
           toUInt64(online) AS numerator, toUInt64(received) AS denominator
    FROM ${db}.v_766_online_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '4.1' AS indicator,
           toUInt64(electronic) AS numerator, toUInt64(results) AS denominator
    FROM ${db}.v_766_electronic_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '4.2' AS indicator,
           toUInt64(digitised) AS numerator, toUInt64(received) AS denominator
    FROM ${db}.v_766_digitised_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '5.1' AS indicator,
           toUInt64(counted - unsatisfied) AS numerator, toUInt64(counted) AS denominator
    FROM ${db}.v_766_satisfaction_agency
    UNION ALL
    SELECT period_kind, period, agency_code, province_code, agency_level, '5.2' AS indicator,
           toUInt64(answered_on_time) AS numerator, toUInt64(answered + overdue) AS denominator
    FROM ${db}.v_feedback_agency
);
