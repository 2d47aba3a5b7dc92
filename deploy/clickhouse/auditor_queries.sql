-- Queries auditors run against motcua's database (docs/CONTRACT.md explains each).
-- Each is checked by the test suite on ClickHouse 18.16 and on modern ClickHouse (chdb).

-- name: on-time rate per agency over a period
SELECT agency_code, sum(counted) AS counted_total, sum(early) AS early_total, sum(on_time) AS on_time_total, sum(late) AS late_total,
       round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_rate_percent
FROM v_ontime_agency_daily
WHERE day BETWEEN toDate('2026-07-01') AND toDate('2026-09-30')
GROUP BY agency_code
ORDER BY agency_code;

-- name: monthly on-time rate per province (sub-units included)
SELECT province_code, toStartOfMonth(day) AS month, sum(counted) AS counted_total,
       round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_rate_percent
FROM v_ontime_province_daily
GROUP BY province_code, month
ORDER BY province_code, month;

-- name: worst procedures by late dossiers
SELECT procedure_code, field_code, sum(counted) AS counted_total, sum(late) AS late_total
FROM v_ontime_daily
GROUP BY procedure_code, field_code
ORDER BY late_total DESC, procedure_code
LIMIT 20;

-- name: the trail of one dossier
SELECT occurred_at, kind, agency_code, form_set, event_id, kafka_topic, kafka_partition, kafka_offset
FROM v_dossier_trail
WHERE dossier_code = 'H56.50.01-261008-0975';

-- name: overdue open dossiers as of the processor's watermark (most overdue first)
SELECT dossier_code, agency_code, procedure_code, appointment_at, due_at, reappointed_at, hours_overdue, as_of
FROM v_overdue_dossiers
ORDER BY due_at, dossier_code
LIMIT 100;

-- name: overdue open dossiers per agency
SELECT agency_code, open_dossiers, overdue_dossiers, as_of_time
FROM v_overdue_agency
ORDER BY overdue_dossiers DESC, agency_code;

-- name: dossiers of one (pseudonymised) applicant
SELECT dossier_code, procedure_code, outcome, received_at, end_at
FROM v_dossiers
WHERE applicant_ref = 'p:00000000000000000000000000000000'
ORDER BY received_at;

-- name: freshness of the figures
SELECT kafka_topic, kafka_partition, max(next_offset) AS next_offset_max, max(watermark) AS watermark_max, max(updated_at) AS written_at
FROM processor_progress
GROUP BY kafka_topic, kafka_partition
ORDER BY kafka_topic, kafka_partition;

-- name: one dossier's deadline, line by line (docs/DEADLINES.md)
SELECT dossier_code, procedure_code, received_at, legal_limit_amount, legal_limit_unit,
       legal_limit_source, legal_due_at, appointment_at, appointment_check, appointment_gap_minutes,
       supplement_requests, waiting_seconds, paused_seconds, pause_policy, due_at, reappointed_at,
       apologised, end_kind, end_at, outcome, resolution_units, handovers, late_steps
FROM v_dossiers
WHERE dossier_code = 'H56.50.01-261008-0975';

-- name: one dossier's steps against their allotments
SELECT step, from_unit, to_unit, started_at, handed_at, allotted_amount, allotted_unit, due_at,
       round(taken_seconds / 3600, 2) AS taken_hours, outcome, recorded_outcome
FROM dossier_steps FINAL
WHERE dossier_code = 'H56.50.01-261008-0975'
ORDER BY step;

-- name: appointments that disagree with the legal due time, per agency
SELECT agency_code, countIf(appointment_check = 'LATER_THAN_LEGAL') AS later_than_legal,
       countIf(appointment_check = 'EARLIER_THAN_LEGAL') AS earlier_than_legal,
       max(appointment_gap_minutes) AS largest_gap_minutes
FROM v_appointment_findings
GROUP BY agency_code
ORDER BY later_than_legal DESC, agency_code;

-- name: Decision 766 indicator 2.1 for the province with its sub-units, per month, quarter and year
SELECT period_kind, period, province_code, counted, early, on_time, late, open_within, open_overdue,
       indicator_2_1_percent
FROM v_766_province
ORDER BY province_code, period_kind, period;

-- name: Decision 766 indicator 2.1 per agency for one month
SELECT agency_code, agency_level, counted, early, on_time, late, open_within, open_overdue,
       indicator_2_1_percent
FROM v_766_agency
WHERE period_kind = 'MONTH' AND period = '2026-10'
ORDER BY indicator_2_1_percent, agency_code;

-- name: Decision 766 indicator 2.2, average resolution time per procedure for one year
SELECT procedure_code, limit_amount, limit_unit, resolved, indicator_2_2_average
FROM v_766_resolution_province
WHERE period_kind = 'YEAR' AND period = '2026'
ORDER BY procedure_code;

-- name: where dossiers get stuck: step on-time rate per unit and month
SELECT month, from_unit, steps, late, on_time_rate_percent, avg_taken_hours, self_report_mismatches
FROM v_steps_unit_monthly
ORDER BY month, on_time_rate_percent, from_unit;

-- name: slowest handover pairs
SELECT from_unit, to_unit, sum(steps) AS steps_total, sum(late) AS late_total,
       round(100 * (sum(early) + sum(on_time)) / sum(steps), 2) AS rate
FROM v_steps_pair_monthly
GROUP BY from_unit, to_unit
HAVING steps_total >= 10
ORDER BY rate, from_unit, to_unit;
