-- motcua schema v7: the Circular 01/2018 scoring tool, and satisfaction by number of
-- supplement requests (docs/CONTRACT.md §7). `${db}` is replaced by the migrator. Same
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
    ADD COLUMN n_satisfied_supplemented_more UInt64 DEFAULT 0;

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
    argMax(n_satisfied_supplemented_more, version) AS c_satisfied_supplemented_more
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

-- The Circular 01/2018 score per agency and period: each indicator's average points
-- (NULL: not computable from the events, or, for indicator 2, no dossier with judged
-- steps), their sum over the computable ones, the most those could give, and the grade the
-- same share of 18 points would get.
CREATE VIEW IF NOT EXISTS ${db}.v_c01_agency AS
SELECT
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
FROM ${db}.v_c01_sums;

-- The same per province (its sub-units included).
CREATE VIEW IF NOT EXISTS ${db}.v_c01_province AS
SELECT
    period_kind,
    period,
    province_code,
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
    SELECT period_kind, period, province_code, sum(counted) AS counted, sum(early) AS early,
           sum(on_time) AS on_time, sum(steps_points) AS steps_points,
           sum(steps_scored) AS steps_scored, sum(supplemented_once) AS supplemented_once,
           sum(supplemented_more) AS supplemented_more, sum(attitude_points) AS attitude_points,
           sum(ended_online) AS ended_online
    FROM ${db}.v_c01_sums
    GROUP BY period_kind, period, province_code
);

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
