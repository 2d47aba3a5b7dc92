-- motcua schema v6: the Decision 766 scorecard with points, and the provinces' targets, as
-- data (docs/CONTRACT.md, "Scorecard and targets"). `${db}` is replaced by the migrator.
-- Same dialect limits as 0001: ClickHouse 18.16 and modern servers.
--
-- What a province scores is decided by people, not code: the indicators, their groups,
-- points and the share at which the points are full are rows of `scorecard_indicators`;
-- the targets a province set for a year are rows of `targets`. Both are small tables an
-- operator edits with INSERT (a row with a higher `version` replaces one with the same key);
-- the views read them at query time, so a change shows at once and rewrites nothing.
--
-- Points are linear below the full-points share: max_points * min(share, full_at) / full_at,
-- 2 decimals; a share with an empty denominator is NULL (N/A) and scores NULL, and its
-- points do not count in the group's computable maximum.

CREATE TABLE IF NOT EXISTS ${db}.scorecard_indicators
(
    scheme String,
    indicator String,
    group_code String,
    group_name String,
    indicator_name String,
    -- Points when the share is at or above `full_at_percent`.
    max_points Float64,
    full_at_percent Float64,
    -- 1: computed from the events; 0: listed, not computable yet (what it needs in `note`).
    computable UInt8,
    note String,
    version UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (scheme, indicator);

-- Decision 766/QĐ-TTg (2022), the indicators the events allow (domain.md §7). Group
-- weights: publicity 18, progress 20, digitisation 22, online services 22, satisfaction 18.
-- The points per indicator below are the published ones where known (2.1: 20, linear;
-- 5.x: 6, full at 90 %) and otherwise the full-points shares the decision states (3.3: 50 %,
-- 4.1 / 4.2: 80 %) with points an operator should set from the province's own guidance.
INSERT INTO ${db}.scorecard_indicators VALUES
    ('766-2022', '1.4', '1', 'Publicity and transparency', 'Dossiers synced to the national portal', 2, 100, 0, 'needs the national sync status of each dossier (not in the events yet)', 1),
    ('766-2022', '2.1', '2', 'Progress and results', 'Resolved early or on time, or open within the deadline', 20, 100, 1, 'v_766_agency', 1),
    ('766-2022', '2.2', '2', 'Progress and results', 'Average resolution time (in the procedure''s unit)', 0, 100, 0, 'a time, not a share: v_766_resolution; no published points', 1),
    ('766-2022', '3.3', '3', 'Digitisation', 'Dossiers received online', 6, 50, 1, 'v_766_online_agency', 1),
    ('766-2022', '4.1', '4', 'Online services', 'Results issued electronically', 6, 80, 1, 'v_766_electronic_agency', 1),
    ('766-2022', '4.2', '4', 'Online services', 'Dossiers digitised', 6, 80, 0, 'needs a digitisation field (HoSoCoThanhPhanSoHoa) in the events', 1),
    ('766-2022', '5.1', '5', 'Satisfaction', 'Not rated dissatisfied, no complaint, not late', 6, 90, 1, 'v_766_satisfaction_agency', 1),
    ('766-2022', '5.2', '5', 'Satisfaction', 'Feedback (PAKN) handled on time', 6, 100, 0, 'needs feedback and complaint events (PAKN)', 1);

CREATE TABLE IF NOT EXISTS ${db}.targets
(
    -- '' applies to every province without a row of its own.
    province_code String,
    -- 0 applies to every year without a row of its own.
    year UInt16,
    -- on_time_percent (per field), satisfaction_percent, online_percent, sipas_percent.
    metric String,
    target_percent Float64,
    source String,
    version UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (metric, province_code, year);

-- Defaults from the targets provinces have set (domain.md §10): on time above 90 % in every
-- field and satisfaction above 80 % (Ho Chi Minh City 2019, Hanoi 2018), SIPAS above 85 % in
-- 2023 and 90 % from 2025 (Hanoi). A province adds its own rows (its code, a year or 0).
INSERT INTO ${db}.targets VALUES
    ('', 0, 'on_time_percent', 90, 'default: on time above 90 % in every field (HCMC 2019)', 1),
    ('', 0, 'satisfaction_percent', 80, 'default: satisfaction above 80 % (HCMC 2019, Hanoi 2018)', 1),
    ('', 2023, 'sipas_percent', 85, 'default: SIPAS above 85 % in 2023 (Hanoi)', 1),
    ('', 2025, 'sipas_percent', 90, 'default: SIPAS 90-95 % in 2025 (Hanoi)', 1);

-- Every computable indicator's numerator and denominator per agency and period, from the
-- served indicator views (small tables; nothing here reads a per-dossier table).
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_parts AS
SELECT period_kind, period, agency_code, province_code, agency_level, indicator, numerator, denominator
FROM
(
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
    SELECT period_kind, period, agency_code, province_code, agency_level, '5.1' AS indicator,
           toUInt64(counted - unsatisfied) AS numerator, toUInt64(counted) AS denominator
    FROM ${db}.v_766_satisfaction_agency
);

-- The parts at the three scopes the scorecard is read at: per agency; per level within a
-- province and per province with all its sub-units (numerators and denominators summed).
-- Columns a scope does not use are ''.
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_sums AS
SELECT 'agency' AS scope, period_kind, period, agency_code, province_code, agency_level,
       indicator, numerator, denominator
FROM ${db}.v_766_scorecard_parts
UNION ALL
SELECT 'level' AS scope, period_kind, period, '' AS agency_code, province_code, agency_level,
       indicator, sum(numerator) AS numerator, sum(denominator) AS denominator
FROM ${db}.v_766_scorecard_parts
GROUP BY period_kind, period, province_code, agency_level, indicator
UNION ALL
SELECT 'province' AS scope, period_kind, period, '' AS agency_code, province_code, '' AS agency_level,
       indicator, sum(numerator) AS numerator, sum(denominator) AS denominator
FROM ${db}.v_766_scorecard_parts
GROUP BY period_kind, period, province_code, indicator;

-- Scored once, with the rules of `scorecard_indicators`: share, points, the maximum.
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard AS
SELECT
    scope, period_kind, period, agency_code, province_code, agency_level, group_code, indicator,
    numerator, denominator,
    round(100 * numerator / nullIf(denominator, 0), 2) AS value_percent,
    round(max_points * least(100 * numerator / nullIf(denominator, 0), full_at_percent) / full_at_percent, 2) AS points,
    max_points
FROM ${db}.v_766_scorecard_sums AS sums
ANY INNER JOIN
(
    SELECT indicator, group_code, max_points, full_at_percent
    FROM ${db}.scorecard_indicators FINAL
    WHERE scheme = '766-2022' AND computable = 1
) AS rules USING indicator;

-- The scorecard per agency, per level within a province, per province with its sub-units.
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_agency AS
SELECT period_kind, period, agency_code, province_code, agency_level, group_code, indicator,
       numerator, denominator, value_percent, points, max_points
FROM ${db}.v_766_scorecard
WHERE scope = 'agency';

CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_level AS
SELECT period_kind, period, province_code, agency_level, group_code, indicator,
       numerator, denominator, value_percent, points, max_points
FROM ${db}.v_766_scorecard
WHERE scope = 'level';

CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_province AS
SELECT period_kind, period, province_code, group_code, indicator,
       numerator, denominator, value_percent, points, max_points
FROM ${db}.v_766_scorecard
WHERE scope = 'province';

-- Points per group and in total ('total') at each scope and period: the points scored, and
-- the maximum of the indicators that could be scored (an N/A indicator counts in neither).
CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_groups AS
SELECT scope, period_kind, period, agency_code, province_code, agency_level, group_code,
       round(sum(points), 2) AS points, sum(scored_max) AS computable_max, count() AS indicators
FROM
(
    SELECT scope, period_kind, period, agency_code, province_code, agency_level, group_code,
           points, if(isNull(points), 0, max_points) AS scored_max
    FROM ${db}.v_766_scorecard
    UNION ALL
    SELECT scope, period_kind, period, agency_code, province_code, agency_level, 'total' AS group_code,
           points, if(isNull(points), 0, max_points) AS scored_max
    FROM ${db}.v_766_scorecard
)
GROUP BY scope, period_kind, period, agency_code, province_code, agency_level, group_code;

CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_groups_agency AS
SELECT period_kind, period, agency_code, province_code, agency_level, group_code,
       points, computable_max, indicators
FROM ${db}.v_766_scorecard_groups
WHERE scope = 'agency';

CREATE VIEW IF NOT EXISTS ${db}.v_766_scorecard_groups_province AS
SELECT period_kind, period, province_code, group_code, points, computable_max, indicators
FROM ${db}.v_766_scorecard_groups
WHERE scope = 'province';

-- Satisfaction per province and period: the share rating very satisfied or satisfied among
-- the rated ended dossiers (the standing rating of each), for the targets.
CREATE VIEW IF NOT EXISTS ${db}.v_satisfaction_province AS
SELECT
    period_kind,
    if(period_kind = 'MONTH', substring(toString(day), 1, 7),
       if(period_kind = 'QUARTER', concat(toString(toYear(day)), '-Q', toString(toQuarter(day))),
          toString(toYear(day)))) AS period,
    province_code,
    sum(c_very_satisfied) + sum(c_satisfied) AS satisfied,
    sum(c_very_satisfied) + sum(c_satisfied) + sum(c_neutral) + sum(c_dissatisfied) + sum(c_very_dissatisfied) AS rated,
    round(100 * satisfied / nullIf(rated, 0), 2) AS satisfied_percent
FROM
(
    SELECT day, province_code, c_very_satisfied, c_satisfied, c_neutral, c_dissatisfied, c_very_dissatisfied
    FROM ${db}.v_cells
    WHERE grain = 'DAY' AND dims = 'agency' AND consumer_group = (SELECT consumer_group FROM ${db}.v_serving)
)
ARRAY JOIN ['MONTH', 'QUARTER', 'YEAR'] AS period_kind
GROUP BY period_kind, period, province_code
HAVING rated > 0;

-- Every figure a target applies to, per province and period, against the most specific
-- target (the province's own over the default, a year's over every year's): `met` is 1
-- when the figure is at or above its target.
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
