-- motcua schema v3: durable processor state (docs/ARCHITECTURE.md, "State and recovery").
-- `${db}` is replaced by the migrator. Same dialect limits as 0001: ClickHouse 18.16 and
-- modern servers.
--
-- Upgrading a v2 database: the processor's state checkpoints start empty, so the first
-- processor after the upgrade must rebuild them with `motcua replay` (a new consumer group,
-- from the earliest offsets, into this database: versioned rows mean no figure goes back
-- while it runs). The v2 raw log is kept as `dossier_events_v2` for auditors.

-- The raw log, once per distinct event: keyed by (dossier, event id, content hash), so an
-- event resent any number of times, by any client, in any encoding, is one row, and two
-- different events sent under one id are two rows (the one with the larger content hash was
-- dead-lettered with reason `conflict` and does not count; `v_event_conflicts` lists them).
-- The Kafka coordinates are those of the earliest arrival (`first_arrival` = u64 max minus
-- the offset: the largest version wins; a dossier's events of one kind share a partition).
RENAME TABLE ${db}.dossier_events TO ${db}.dossier_events_v2;

CREATE TABLE IF NOT EXISTS ${db}.dossier_events
(
    dossier_code String,
    event_id String,
    content_hash UInt64,
    first_arrival UInt64,
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
ENGINE = ReplacingMergeTree(first_arrival)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (dossier_code, event_id, content_hash);

DROP TABLE IF EXISTS ${db}.v_dossier_trail;

CREATE VIEW IF NOT EXISTS ${db}.v_dossier_trail AS
SELECT dossier_code, occurred_at, kind, agency_code, form_set, event_id, payload,
       kafka_topic, kafka_partition, kafka_offset
FROM ${db}.dossier_events FINAL
ORDER BY dossier_code, occurred_at, event_id;

-- Event ids that arrived with more than one content: the agency system reused an id. The
-- version with the smallest content hash is the one counted.
CREATE VIEW IF NOT EXISTS ${db}.v_event_conflicts AS
SELECT dossier_code, event_id, count() AS versions, min(content_hash) AS counted_content_hash,
       groupArray(kind) AS kinds
FROM ${db}.dossier_events FINAL
GROUP BY dossier_code, event_id
HAVING versions > 1;

-- The processor's checkpoint: each dossier's folded state (JSON of `DossierState`, personal
-- data already pseudonymised) per consumer group and input partition number, versioned by
-- the number of distinct events folded (plus conflict revisions). Written in the same batch
-- as the figures, before the offsets are committed, so the stored state is always at least
-- as new as the committed offsets. A new owner of a partition loads the open and recently
-- ended dossiers (`ended_at`) and replays from the committed offsets; older ended ones are
-- loaded on demand when an event names them.
CREATE TABLE IF NOT EXISTS ${db}.processor_state
(
    consumer_group String,
    kafka_partition UInt32,
    dossier_code String,
    version UInt32,
    ended_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    period_upto Nullable(Date),
    state String,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, kafka_partition, dossier_code);

-- Every dead letter the processor published, after the broker acknowledged it: a restart
-- that re-reads a record already dead-lettered does not send it again. Also the auditors'
-- list of what was refused and why.
CREATE TABLE IF NOT EXISTS ${db}.dead_letters
(
    consumer_group String,
    source_topic String,
    source_partition UInt32,
    source_offset UInt64,
    reason String,
    field String,
    error String,
    dead_letter_partition UInt32,
    dead_letter_offset UInt64,
    updated_at DateTime('Asia/Ho_Chi_Minh')
)
ENGINE = ReplacingMergeTree()
ORDER BY (consumer_group, source_partition, source_topic, source_offset);

-- Progress: the partition's own latest event time (deterministic for a given offset) and
-- whether the processor is still catching up on it (1 while it re-reads history after a
-- restore, a replay or a long outage: figures are being rebuilt).
ALTER TABLE ${db}.processor_progress
    ADD COLUMN partition_time DateTime('Asia/Ho_Chi_Minh'),
    ADD COLUMN catching_up UInt8;

-- How fresh the figures are: the watermark every view judges open dossiers against, and
-- whether any partition is being caught up on (figures still being rebuilt).
CREATE VIEW IF NOT EXISTS ${db}.v_freshness AS
SELECT
    consumer_group,
    max(watermark) AS as_of,
    max(updated_at) AS last_write,
    sum(catching_up) AS partitions_catching_up,
    count() AS partitions
FROM ${db}.processor_progress FINAL
GROUP BY consumer_group;

-- dossier_periods now also holds rows for periods that have not closed yet (written when a
-- dossier ends, so a closed year needs no pass over every dossier that ended in it): the
-- report of a period reads them only once the period has closed, and the running periods
-- stay live from dossier_state.
DROP TABLE IF EXISTS ${db}.v_766_periods;

CREATE VIEW IF NOT EXISTS ${db}.v_766_periods AS
SELECT period_kind, period, dossier_code, agency_code, province_code, agency_level,
       procedure_code, limit_amount, limit_unit, resolution_units, verdict
FROM ${db}.dossier_periods FINAL
WHERE in_scope = 1
  AND period_end <= toDate((SELECT max(watermark) FROM ${db}.processor_progress FINAL))
UNION ALL
SELECT period_kind, period, dossier_code, agency_code, province_code, agency_level,
       procedure_code, limit_amount, limit_unit, resolution_units, verdict
FROM ${db}.v_766_current;
