//! Metric names, defined once (Prometheus conventions: `motcua_<subsystem>_<name>_<unit>`,
//! counters end in `_total`, base units, bounded labels).

/// Records read from the input topics. Label `topic`.
pub const PROCESSOR_EVENTS_CONSUMED: &str = "motcua_processor_events_consumed_total";
/// Valid events folded into dossier state. Label `kind`.
pub const PROCESSOR_EVENTS_FOLDED: &str = "motcua_processor_events_folded_total";
/// Records sent to the dead-letter topic. Label `reason` (bounded: see `RejectKind`).
pub const PROCESSOR_EVENTS_REJECTED: &str = "motcua_processor_events_rejected_total";
/// Events whose id had already been folded.
pub const PROCESSOR_EVENTS_DUPLICATE: &str = "motcua_processor_events_duplicate_total";
/// Dossiers held in state.
pub const PROCESSOR_DOSSIERS: &str = "motcua_processor_dossiers";
/// Open dossiers past their due time at the watermark, by agency level. Label `level`.
pub const PROCESSOR_DOSSIERS_OVERDUE: &str = "motcua_processor_dossiers_overdue";
/// Dossiers whose events arrived before their receipt (held, not dropped).
pub const PROCESSOR_DOSSIERS_AWAITING_RECEIPT: &str = "motcua_processor_dossiers_awaiting_receipt";
/// Messages between the processor's position and the partition end. Labels `topic`, `partition`.
pub const PROCESSOR_CONSUMER_LAG: &str = "motcua_processor_consumer_lag_messages";
/// Event-time watermark, Unix seconds.
pub const PROCESSOR_WATERMARK: &str = "motcua_processor_watermark_seconds";
/// Duration of one batch from first record to offsets stored.
pub const PROCESSOR_BATCH_DURATION: &str = "motcua_processor_batch_duration_seconds";
/// Time the processor's loop spends in each phase of a batch (`read`: waiting for records,
/// the previous batch's write running beside it; `positions`: partition ends and committed
/// offsets; `process`: decode, fold, classify, aggregate; `restore`: loading checkpoints).
pub const PROCESSOR_LOOP_PHASE_DURATION: &str = "motcua_processor_loop_phase_duration_seconds";
/// From a record's Kafka timestamp (when it was produced, or appended by the broker) to its
/// batch's rows being in ClickHouse: how old the figures are. A replay observes the age of
/// the replayed records.
pub const PROCESSOR_END_TO_END_LATENCY: &str = "motcua_processor_end_to_end_latency_seconds";
/// Records per batch.
pub const PROCESSOR_BATCH_SIZE: &str = "motcua_processor_batch_records";
/// State rows written for dossiers whose receipt or due time lies in a year whose
/// announcement is not loaded (counted on the provisional calendar derived from the Labour
/// Code, docs/CALENDAR.md §7): load that year's file.
pub const PROCESSOR_OFF_CALENDAR_ROWS: &str = "motcua_processor_off_calendar_rows_total";
/// Duration of one ClickHouse insert. Label `table`.
pub const CLICKHOUSE_INSERT_DURATION: &str = "motcua_clickhouse_insert_duration_seconds";
/// Rows written to ClickHouse. Label `table`.
pub const CLICKHOUSE_ROWS_WRITTEN: &str = "motcua_clickhouse_rows_written_total";
/// Failed ClickHouse inserts that were retried. Label `table`.
pub const CLICKHOUSE_INSERT_RETRIES: &str = "motcua_clickhouse_insert_retries_total";
/// Failed operations against the broker or ClickHouse that were retried. Label `operation`
/// (a table name, `publish dead letters`, `load checkpoint`, ...).
pub const PROCESSOR_RETRIES: &str = "motcua_processor_retries_total";
/// 1 while the processor is retrying a failed operation (ClickHouse or broker down or slow).
pub const PROCESSOR_RETRYING: &str = "motcua_processor_retrying";
/// Assignments this instance received (the first one at start, then one per rebalance that
/// changed what it owns).
pub const PROCESSOR_REBALANCES: &str = "motcua_processor_rebalances_total";
/// Full batches folded while catching up whose figures and checkpoint were written with a
/// later batch's (`--hold-max-batches`).
pub const PROCESSOR_HELD_BATCHES: &str = "motcua_processor_held_batches_total";
/// Input partition numbers this instance owns (consumer-group assignment).
pub const PROCESSOR_PARTITIONS_OWNED: &str = "motcua_processor_partitions_owned";
/// Owned input partitions being read below the end they had when assigned (figures are
/// being rebuilt).
pub const PROCESSOR_PARTITIONS_CATCHING_UP: &str = "motcua_processor_partitions_catching_up";
/// Time to restore one partition's state from its checkpoint.
pub const PROCESSOR_RESTORE_DURATION: &str = "motcua_processor_restore_duration_seconds";
/// Dossiers evicted from memory (their state stays in the checkpoint).
pub const PROCESSOR_DOSSIERS_EVICTED: &str = "motcua_processor_dossiers_evicted";
/// Evictions of ended dossiers from memory.
pub const PROCESSOR_EVICTIONS: &str = "motcua_processor_evictions_total";
/// Ratings whose dossier's receipt was not read within the retention window after the
/// dossier's latest event: the dossier left memory still awaiting its receipt (its state
/// stays in the checkpoint; `v_unmatched_ratings` lists it).
pub const PROCESSOR_RATINGS_UNMATCHED_EXPIRED: &str =
    "motcua_processor_ratings_unmatched_expired_total";
/// Evicted dossiers loaded back from the checkpoint because an event named them.
pub const PROCESSOR_DOSSIERS_RELOADED: &str = "motcua_processor_dossiers_reloaded_total";
/// Owned partitions paused because they ran ahead of the slowest in event time (alignment).
pub const PROCESSOR_PARTITIONS_PAUSED: &str = "motcua_processor_partitions_paused";
