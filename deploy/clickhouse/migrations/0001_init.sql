-- motcua schema v1. `${db}` is replaced by the migrator with the target database.
-- Works on ClickHouse 18.16 (Debian) and on modern servers (checked with chdb 26.x):
-- no LowCardinality, no DateTime64, no JSON functions, no TTL in this file.

-- Raw events as received, for auditors: every field (payload holds the whole event as JSON,
-- personal data pseudonymised) plus where it was read from. Keyed by its Kafka coordinates,
-- so a replayed batch rewrites the same rows and FINAL shows each once.
CREATE TABLE IF NOT EXISTS ${db}.dossier_events
(
    dossier_code String,
    event_id String,
    national_dossier_code String,
    agency_code String,
    kind String,
    form_set String,
    occurred_at DateTime('Asia/Ho_Chi_Minh'),
    occurred_offset_minutes Int16,
    procedure_code String,
    payload String,
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    ingested_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (dossier_code, kafka_topic, kafka_partition, kafka_offset);

-- Current state of each dossier, one row per version; `version` counts the distinct events
-- folded, so it only grows and FINAL (or argMax on version) gives the latest state.
CREATE TABLE IF NOT EXISTS ${db}.dossier_state
(
    dossier_code String,
    version UInt32,
    agency_code String,
    province_code String,
    agency_level String,
    procedure_code String,
    field_code String,
    channel String,
    form_sets String,
    applicant_kind String,
    applicant_ref String,
    status UInt8,
    outcome String,
    end_kind String,
    received_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    appointment_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    end_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    effective_end_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    end_date Nullable(Date),
    waiting_seconds UInt32,
    time_limit_amount Int32,
    time_limit_unit String,
    supplement_requests UInt16,
    apologised UInt8,
    handovers UInt16,
    electronic_result UInt8,
    surveys UInt16,
    dissatisfied UInt8,
    complaint UInt8,
    last_event_at DateTime('Asia/Ho_Chi_Minh'),
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY dossier_code;

-- How far the processor has written: the next offset per input partition, and the
-- processor's event-time watermark (never decreasing) when that offset was stored.
-- Auditors read the freshness of every figure here.
CREATE TABLE IF NOT EXISTS ${db}.processor_progress
(
    consumer_group String,
    kafka_topic String,
    kafka_partition UInt32,
    next_offset UInt64,
    watermark DateTime('Asia/Ho_Chi_Minh'),
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(next_offset)
ORDER BY (consumer_group, kafka_topic, kafka_partition);

-- Latest state of every dossier.
CREATE VIEW IF NOT EXISTS ${db}.v_dossiers AS
SELECT *
FROM ${db}.dossier_state FINAL;

-- On-time figures per day (Vietnam date of the end of processing), agency, procedure, field
-- and level. Only ended, received dossiers count (Decision 766 indicator 2.1); the rate is
-- (early + on time) / counted in percent, rounded to 2 decimals.
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_daily AS
SELECT
    assumeNotNull(end_date) AS day,
    agency_code,
    province_code,
    agency_level,
    procedure_code,
    field_code,
    count() AS counted,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, agency_code, province_code, agency_level, procedure_code, field_code;

-- The same per day and agency only: "which agencies resolve on time".
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_agency_daily AS
SELECT
    assumeNotNull(end_date) AS day,
    agency_code,
    agency_level,
    count() AS counted,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, agency_code, agency_level;

-- Province roll-up: a province's figure includes all its sub-units.
CREATE VIEW IF NOT EXISTS ${db}.v_ontime_province_daily AS
SELECT
    assumeNotNull(end_date) AS day,
    province_code,
    count() AS counted,
    countIf(outcome = 'EARLY') AS early,
    countIf(outcome = 'ON_TIME') AS on_time,
    countIf(outcome = 'LATE') AS late,
    round(100 * (early + on_time) / counted, 2) AS on_time_rate_percent
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('EARLY', 'ON_TIME', 'LATE')
GROUP BY day, province_code;

-- Open dossiers, overdue judged against the processor's event-time watermark (not the wall
-- clock), so a replay gives the same list. Supplement waiting time extends the appointment.
CREATE VIEW IF NOT EXISTS ${db}.v_open_dossiers AS
SELECT
    dossier_code,
    agency_code,
    procedure_code,
    status,
    received_at,
    appointment_at,
    waiting_seconds,
    (SELECT max(watermark) FROM ${db}.processor_progress FINAL) AS as_of,
    (assumeNotNull(appointment_at) + waiting_seconds) < as_of AS overdue
FROM ${db}.dossier_state FINAL
WHERE outcome IN ('IN_PROGRESS', 'OVERDUE_IN_PROGRESS');

-- Every event of every dossier in event-time order: the dossier trail for auditors.
CREATE VIEW IF NOT EXISTS ${db}.v_dossier_trail AS
SELECT dossier_code, occurred_at, kind, agency_code, form_set, event_id, payload,
       kafka_topic, kafka_partition, kafka_offset
FROM ${db}.dossier_events FINAL
ORDER BY dossier_code, occurred_at, event_id;
