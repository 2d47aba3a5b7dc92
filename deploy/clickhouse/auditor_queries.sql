-- Queries auditors run against motcua's database (docs/CONTRACT.md explains each).
-- Each is checked by the test suite on ClickHouse 18.16 and on modern ClickHouse (chdb).

-- name: on-time rate per agency over a period
SELECT agency_code, sum(counted) AS counted_total, sum(early) AS early_total, sum(on_time) AS on_time_total, sum(late) AS late_total,
       round(100 * (sum(early) + sum(on_time)) / sum(counted), 2) AS on_time_rate_percent
FROM v_ontime_agency_daily
WHERE day BETWEEN toDate('2026-10-01') AND toDate('2026-12-31')
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

-- name: overdue open dossiers as of the processor's watermark
SELECT dossier_code, agency_code, procedure_code, appointment_at, as_of
FROM v_open_dossiers
WHERE overdue
ORDER BY appointment_at
LIMIT 100;

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
