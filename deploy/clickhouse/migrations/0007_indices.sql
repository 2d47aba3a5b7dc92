-- motcua schema v7: the Circular 01/2018 scoring tool, satisfaction by number of
-- supplement requests, and the SIPAS index (docs/CONTRACT.md §7). `${db}` is replaced by the migrator. Same
-- dialect limits as 0001: ClickHouse 18.16 and modern servers.
--
-- Circular 01/2018/TT-VPCP scores a dossier on nine indicators, 2/1/0 points each (18 in
-- all). The events allow five; the views give the other four as NULL (not computable) and
-- say which:
--   1 total time against the legal time: early 2, on time 1, late 0;
--   2 each unit's time against its allotment (the process-control slip's steps): every
--     judged step early 2, none late 1, one late 0; scored only for dossiers with judged
--     steps (a slip with allotments);
--   3 extra contacts the applicant needed (supplement requests): none 2, one 1, more 0;
--   4 agencies the applicant had to contact: not computable (no event says);
--   5 reception and return at the one-stop section: not computable (every receipt is a
--     one-stop receipt by definition; no event says where else the applicant went);
--   6 publicity of the procedure: not computable (not a dossier event);
--   7 staff attitude: a complaint in any survey 0, none and early 2, none 1;
--   8 feedback (PAKN) handled on time: not computable (no feedback events yet);
--   9 online service: received through the online channel 2, else 0.
-- An agency's score is the average over the dossiers that ended in the period (the on-time
-- base, by the Vietnam date of their end), per indicator, 2 decimals. The grade bands (one
-- implementation's: above 15 excellent, 12 to 15 good, 9 to 12 fair, 6 to 9 average,
-- below 6 weak) are on 18 points; with four indicators not computable the view gives the
-- grade that the same share of 18 points would get, named as such (`grade_scaled`).
--
-- The processor counts these in the `DAY` cells (points summed per indicator where a sum
-- is needed; indicators 1 and 3 follow from the early, on-time and supplement counts).
-- Upgrading a v6 database: the new counts start at 0; rebuild with `motcua replay`.

ALTER TABLE ${db}.aggregates
    ADD COLUMN n_c01_steps_points UInt64 DEFAULT 0,
    ADD COLUMN n_c01_steps_scored UInt64 DEFAULT 0,
    ADD COLUMN n_c01_attitude_points UInt64 DEFAULT 0,
    ADD COLUMN n_ended_online UInt64 DEFAULT 0,
    ADD COLUMN n_supplemented_once UInt64 DEFAULT 0,
    ADD COLUMN n_supplemented_more UInt64 DEFAULT 0,
    ADD COLUMN n_rated_supplemented_once UInt64 DEFAULT 0,
    ADD COLUMN n_rated_supplemented_more UInt64 DEFAULT 0,
    ADD COLUMN n_satisfied_supplemented_once UInt64 DEFAULT 0,
    ADD COLUMN n_satisfied_supplemented_more UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_sheets UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_answered_access UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_answered_procedure UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_answered_officials UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_answered_results UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_answered_feedback UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_satisfied_access UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_satisfied_procedure UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_satisfied_officials UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_satisfied_results UInt64 DEFAULT 0,
    ADD COLUMN n_sipas_satisfied_feedback UInt64 DEFAULT 0;

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
    argMax(n_sipas_satisfied_feedback, version) AS c_sipas_satisfied_feedback
FROM ${db}.aggregates
GROUP BY consumer_group, kafka_partition, grain, dims, period_kind, period, period_start,
         period_end, agency_code, province_code, agency_level, procedure_code, field_code,
         channel, limit_amount, limit_unit, from_unit, to_unit;

-- The sums the scoring needs, per month, quarter and year of the end of processing and
-- agency (the agency family of the `DAY` cells).
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
    sum(c_ended_online) AS ended_online
FROM
(
    SELECT day, agency_code, province_code, agency_level, c_counted, c_early, c_on_time,
           c_c01_steps_points, c_c01_steps_scored, c_supplemented_once, c_supplemented_more,
           c_c01_attitude_points, c_ended_online
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
    CAST(NULL AS Nullable(Float64)) AS i8_feedback,
    round(2 * ended_online / counted, 2) AS i9_online,
    (2 * early + on_time + 2 * (counted - supplemented_once - supplemented_more) + supplemented_once
        + attitude_points + 2 * ended_online) / counted
        + if(steps_scored > 0, steps_points / steps_scored, 0) AS points_exact,
    round(points_exact, 2) AS points,
    if(steps_scored > 0, 10, 8) AS points_computable,
    18 AS points_max,
    'I4 I5 I6 I8' AS not_computable,
    round(18 * points_exact / points_computable, 2) AS points_scaled_18,
    multiIf(points_scaled_18 > 15, 'EXCELLENT', points_scaled_18 >= 12, 'GOOD',
            points_scaled_18 >= 9, 'FAIR', points_scaled_18 >= 6, 'AVERAGE', 'WEAK') AS grade_scaled
FROM
(
    SELECT 'agency' AS scope, period_kind, period, agency_code, province_code, agency_level,
           counted, early, on_time, steps_points, steps_scored, supplemented_once,
           supplemented_more, attitude_points, ended_online
    FROM ${db}.v_c01_sums
    UNION ALL
    SELECT 'province' AS scope, period_kind, period, '' AS agency_code, province_code,
           '' AS agency_level, sum(counted), sum(early), sum(on_time), sum(steps_points),
           sum(steps_scored), sum(supplemented_once), sum(supplemented_more),
           sum(attitude_points), sum(ended_online)
    FROM ${db}.v_c01_sums
    GROUP BY period_kind, period, province_code
);

CREATE VIEW IF NOT EXISTS ${db}.v_c01_agency AS
SELECT period_kind, period, agency_code, province_code, agency_level, counted, steps_scored,
       i1_total_time, i2_unit_times, i3_contacts, i4_agencies_contacted, i5_one_stop,
       i6_publicity, i7_attitude, i8_feedback, i9_online, points_exact, points,
       points_computable, points_max, not_computable, points_scaled_18, grade_scaled
FROM ${db}.v_c01
WHERE scope = 'agency';

CREATE VIEW IF NOT EXISTS ${db}.v_c01_province AS
SELECT period_kind, period, province_code, counted, steps_scored,
       i1_total_time, i2_unit_times, i3_contacts, i4_agencies_contacted, i5_one_stop,
       i6_publicity, i7_attitude, i8_feedback, i9_online, points_exact, points,
       points_computable, points_max, not_computable, points_scaled_18, grade_scaled
FROM ${db}.v_c01
WHERE scope = 'province';

-- Satisfaction by number of supplement requests (none, one, more: `supplements` 0, 1, 2),
-- per agency and month, quarter and year of the end of processing: the ended dossiers, the
-- rated ones, and the share rated satisfied or very satisfied (2 decimals, NULL when none
-- was rated). Hanoi's target: never make an applicant come back more than once.
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_supplements AS
SELECT
    period_kind,
    period,
    agency_code,
    province_code,
    agency_level,
    supplements,
    counted_in AS counted,
    rated_in AS rated,
    satisfied_in AS satisfied,
    round(100 * satisfied_in / nullIf(rated_in, 0), 2) AS satisfied_percent
FROM
(
    SELECT
        period_kind,
        if(period_kind = 'MONTH', substring(toString(day), 1, 7),
           if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
              toString(toYear(day)))) AS period,
        agency_code,
        province_code,
        agency_level,
        sum(c_counted) AS counted_all,
        sum(c_very_satisfied) + sum(c_satisfied) + sum(c_neutral) + sum(c_dissatisfied) + sum(c_very_dissatisfied) AS rated_all,
        sum(c_very_satisfied) + sum(c_satisfied) AS satisfied_all,
        sum(c_supplemented_once) AS counted_once,
        sum(c_supplemented_more) AS counted_more,
        sum(c_rated_supplemented_once) AS rated_once,
        sum(c_rated_supplemented_more) AS rated_more,
        sum(c_satisfied_supplemented_once) AS satisfied_once,
        sum(c_satisfied_supplemented_more) AS satisfied_more
    FROM
    (
        SELECT day, agency_code, province_code, agency_level, c_counted, c_very_satisfied,
               c_satisfied, c_neutral, c_dissatisfied, c_very_dissatisfied,
               c_supplemented_once, c_supplemented_more, c_rated_supplemented_once,
               c_rated_supplemented_more, c_satisfied_supplemented_once,
               c_satisfied_supplemented_more
        FROM ${db}.v_cells
        WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
    )
    ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
    GROUP BY period_kind, period, agency_code, province_code, agency_level
    HAVING counted_all > 0
)
ARRAY JOIN
    [toUInt8(0), toUInt8(1), toUInt8(2)] AS supplements,
    [toUInt64(counted_all - counted_once - counted_more), counted_once, counted_more] AS counted_in,
    [toUInt64(rated_all - rated_once - rated_more), rated_once, rated_more] AS rated_in,
    [toUInt64(satisfied_all - satisfied_once - satisfied_more), satisfied_once, satisfied_more] AS satisfied_in
WHERE counted_in > 0;

-- The SIPAS index (Decision 1001/QĐ-BNV): the share of criteria answered satisfied or very
-- satisfied (4 or 5 of 5), per element and overall, per agency surveyed and month, quarter
-- and year of the answer, 2 decimals, NULL (N/A) when an element had no answer. Each answer
-- sheet counts once, as its latest version (by event time, then event id) has it; a sheet
-- may name no dossier.
CREATE VIEW IF NOT EXISTS ${db}.v_sipas_agency AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    agency_code,
    province_code,
    sum(c_sipas_sheets) AS sheets,
    sum(c_sipas_answered_access) AS answered_access,
    sum(c_sipas_satisfied_access) AS satisfied_access,
    sum(c_sipas_answered_procedure) AS answered_procedure,
    sum(c_sipas_satisfied_procedure) AS satisfied_procedure,
    sum(c_sipas_answered_officials) AS answered_officials,
    sum(c_sipas_satisfied_officials) AS satisfied_officials,
    sum(c_sipas_answered_results) AS answered_results,
    sum(c_sipas_satisfied_results) AS satisfied_results,
    sum(c_sipas_answered_feedback) AS answered_feedback,
    sum(c_sipas_satisfied_feedback) AS satisfied_feedback,
    round(100 * satisfied_access / nullIf(answered_access, 0), 2) AS access_percent,
    round(100 * satisfied_procedure / nullIf(answered_procedure, 0), 2) AS procedure_percent,
    round(100 * satisfied_officials / nullIf(answered_officials, 0), 2) AS officials_percent,
    round(100 * satisfied_results / nullIf(answered_results, 0), 2) AS results_percent,
    round(100 * satisfied_feedback / nullIf(answered_feedback, 0), 2) AS feedback_percent,
    answered_access + answered_procedure + answered_officials + answered_results + answered_feedback AS answered,
    satisfied_access + satisfied_procedure + satisfied_officials + satisfied_results + satisfied_feedback AS satisfied,
    round(100 * satisfied / nullIf(answered, 0), 2) AS sipas_percent
FROM
(
    SELECT day, agency_code, province_code, c_sipas_sheets, c_sipas_answered_access, c_sipas_answered_procedure, c_sipas_answered_officials, c_sipas_answered_results, c_sipas_answered_feedback, c_sipas_satisfied_access, c_sipas_satisfied_procedure, c_sipas_satisfied_officials, c_sipas_satisfied_results, c_sipas_satisfied_feedback
    FROM ${db}.v_cells
    WHERE grain = 'SIPAS' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, agency_code, province_code
HAVING sheets > 0;

-- The same per province (its sub-units included).
CREATE VIEW IF NOT EXISTS ${db}.v_sipas_province AS
SELECT
    period_kind,
    period,
    province_code,
    sheets,
    answered_access, satisfied_access,
    answered_procedure, satisfied_procedure,
    answered_officials, satisfied_officials,
    answered_results, satisfied_results,
    answered_feedback, satisfied_feedback,
    round(100 * satisfied_access / nullIf(answered_access, 0), 2) AS access_percent,
    round(100 * satisfied_procedure / nullIf(answered_procedure, 0), 2) AS procedure_percent,
    round(100 * satisfied_officials / nullIf(answered_officials, 0), 2) AS officials_percent,
    round(100 * satisfied_results / nullIf(answered_results, 0), 2) AS results_percent,
    round(100 * satisfied_feedback / nullIf(answered_feedback, 0), 2) AS feedback_percent,
    answered_access + answered_procedure + answered_officials + answered_results + answered_feedback AS answered,
    satisfied_access + satisfied_procedure + satisfied_officials + satisfied_results + satisfied_feedback AS satisfied,
    round(100 * satisfied / nullIf(answered, 0), 2) AS sipas_percent
FROM
(
    SELECT period_kind, period, province_code, sum(sheets) AS sheets,
           sum(answered_access) AS answered_access, sum(satisfied_access) AS satisfied_access, sum(answered_procedure) AS answered_procedure, sum(satisfied_procedure) AS satisfied_procedure, sum(answered_officials) AS answered_officials, sum(satisfied_officials) AS satisfied_officials, sum(answered_results) AS answered_results, sum(satisfied_results) AS satisfied_results, sum(answered_feedback) AS answered_feedback, sum(satisfied_feedback) AS satisfied_feedback
    FROM ${db}.v_sipas_agency
    GROUP BY period_kind, period, province_code
);

-- Hanoi's SIPAS target of 90-95 % in 2025 as the default for the years after it (2023 and
-- 2025 have their own rows, migration 6).
INSERT INTO ${db}.targets (province_code, year, metric, target_percent, source, version) VALUES
    ('', 0, 'sipas_percent', 90, 'default: SIPAS 90 % (Hanoi 2025)', 1);

-- The target findings of migration 6 with the SIPAS index (per province) added.
DROP TABLE IF EXISTS ${db}.v_target_findings;

CREATE VIEW IF NOT EXISTS ${db}.v_target_findings AS
SELECT
    period_kind, period, province_code, metric, subject, value_percent,
    argMax(t_target, specificity) AS target_percent,
    toUInt8(value_percent >= target_percent) AS met,
    argMax(t_source, specificity) AS target_source
FROM
(
    SELECT period_kind, period, province_code, metric, subject, value_percent,
           t_target, t_source, (t_province != '') * 2 + (t_year != 0) AS specificity
    FROM
    (
        SELECT period_kind, period, province_code, 'on_time_percent' AS metric,
               field_code AS subject, toFloat64(indicator_2_1_percent) AS value_percent
        FROM ${db}.v_766_field
        UNION ALL
        SELECT period_kind, period, province_code, 'satisfaction_percent' AS metric,
               '' AS subject, toFloat64(assumeNotNull(satisfied_percent)) AS value_percent
        FROM ${db}.v_satisfaction_province
        UNION ALL
        SELECT period_kind, period, province_code, 'online_percent' AS metric,
               '' AS subject, toFloat64(indicator_3_3_percent) AS value_percent
        FROM ${db}.v_766_online_province
        UNION ALL
        SELECT period_kind, period, province_code, 'sipas_percent' AS metric,
               '' AS subject, toFloat64(assumeNotNull(sipas_percent)) AS value_percent
        FROM ${db}.v_sipas_province
        WHERE answered > 0
    ) AS figures
    ALL INNER JOIN
    (
        SELECT metric, province_code AS t_province, year AS t_year,
               target_percent AS t_target, source AS t_source
        FROM ${db}.targets FINAL
    ) AS goals USING metric
    WHERE (t_province = province_code OR t_province = '')
      AND (t_year = toUInt16(toUInt32OrZero(substring(period, 1, 4))) OR t_year = 0)
)
GROUP BY period_kind, period, province_code, metric, subject, value_percent;
