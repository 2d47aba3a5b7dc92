//! motcua-processor: the stream processor.
//!
//! A thin async shell around the pure [`operator::DossierOperator`]:
//!
//! 1. read a batch from the four co-partitioned input topics (up to `batch_max_records` or
//!    `batch_max_wait`);
//! 2. fold each record; dead-letter the invalid ones with the reason in headers;
//! 3. write the batch's output: dead letters acknowledged by Kafka, raw events, then the
//!    changed dossier states and the progress rows to ClickHouse (retrying with backoff);
//! 4. only then store the batch's offsets.
//!
//! Delivery: at-least-once reads, idempotent writes (see `motcua_runtime::store`), so each
//! event counts exactly once in every figure. State is rebuilt on start by replaying the
//! input topics from the beginning; durable state snapshots committed with the offsets are
//! the next step (docs/ARCHITECTURE.md).

pub mod operator;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua_core::deadline::Clock;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::topics::TopicNames;
use motcua_core::Rejection;
use motcua_producer::KafkaSettings;
use motcua_runtime::kafka;
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::{
    EventRow, PeriodRow, ProgressRow, StateRow, StepRow, Store, StoreError, StoreSettings,
};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use crate::operator::{DossierOperator, InputRecord, Outcome};

/// Dead-letter header: bounded reason category.
pub const DLQ_REASON: &str = "motcua-dlq-reason";
/// Dead-letter header: offending field.
pub const DLQ_FIELD: &str = "motcua-dlq-field";
/// Dead-letter header: full error message.
pub const DLQ_ERROR: &str = "motcua-dlq-error";
/// Dead-letter header: source topic.
pub const DLQ_TOPIC: &str = "motcua-dlq-source-topic";
/// Dead-letter header: source partition.
pub const DLQ_PARTITION: &str = "motcua-dlq-source-partition";
/// Dead-letter header: source offset.
pub const DLQ_OFFSET: &str = "motcua-dlq-source-offset";

/// Everything the processor needs; built by the caller, passed by value.
#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// Kafka connection.
    pub kafka: KafkaSettings,
    /// Topic names.
    pub topics: TopicNames,
    /// Consumer group (offsets and progress rows are recorded under it).
    pub group: String,
    /// ClickHouse.
    pub store: StoreSettings,
    /// Secret key for pseudonyms (at least 16 bytes).
    pub pseudonym_key: Vec<u8>,
    /// Most records in one batch. Default 20 000.
    pub batch_max_records: usize,
    /// Longest a batch stays open. Default 500 ms.
    pub batch_max_wait: Duration,
    /// Stop once every partition is read up to the end it had at start (batch jobs, tests).
    pub stop_at_end: bool,
    /// Calendar, procedure catalogue and deadline policy. Default: the shipped Vietnamese
    /// calendar and catalogue, pauses extend the due time.
    pub clock: Clock,
}

impl ProcessorConfig {
    /// A configuration with the documented defaults.
    pub fn new(
        kafka: KafkaSettings,
        topics: TopicNames,
        store: StoreSettings,
        pseudonym_key: Vec<u8>,
    ) -> Self {
        ProcessorConfig {
            kafka,
            topics,
            group: "motcua-processor".into(),
            store,
            pseudonym_key,
            batch_max_records: 20_000,
            batch_max_wait: Duration::from_millis(500),
            stop_at_end: false,
            clock: Clock::default(),
        }
    }
}

/// Processor errors. Bad data is never one: it goes to the dead-letter topic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessorError {
    /// Kafka could not be reached or refused an operation.
    #[error("kafka at {brokers} failed (start the local services with `bash deploy/local/up.sh`)")]
    Kafka {
        /// Bootstrap servers.
        brokers: String,
        /// Why.
        source: KafkaError,
    },
    /// ClickHouse failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Shut down while a batch's output was still being written; its offsets were not
    /// stored, so it will be read again.
    #[error("shut down before the batch's output was written")]
    Interrupted,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Records read.
    pub consumed: u64,
    /// Valid events (including duplicates).
    pub accepted: u64,
    /// Duplicates among them.
    pub duplicates: u64,
    /// Records dead-lettered.
    pub rejected: u64,
    /// Rejections by reason.
    pub rejected_by_reason: HashMap<&'static str, u64>,
    /// Dossiers in state at the end.
    pub dossiers: usize,
    /// Batches written.
    pub batches: u64,
    /// Duration of each batch, read to offsets stored, in seconds (for percentiles).
    pub batch_seconds: Vec<f64>,
    /// Wall time.
    pub elapsed: Duration,
}

struct DeadLetter {
    record: InputRecord,
    rejection: Rejection,
}

fn now_secs() -> u32 {
    chrono::Utc::now().timestamp() as u32
}

/// Runs the processor until `shutdown` (or the end of input with `stop_at_end`), inside one
/// `processor` span naming its consumer group.
pub async fn run(
    config: ProcessorConfig,
    metrics: ProcessorMetrics,
    shutdown: CancellationToken,
) -> Result<Summary, ProcessorError> {
    let span = tracing::info_span!("processor", group = %config.group);
    run_in_span(config, metrics, shutdown)
        .instrument(span)
        .await
}

async fn run_in_span(
    config: ProcessorConfig,
    metrics: ProcessorMetrics,
    shutdown: CancellationToken,
) -> Result<Summary, ProcessorError> {
    let started = Instant::now();
    let pseudonymizer =
        Pseudonymizer::new(&config.pseudonym_key).map_err(ProcessorError::Config)?;
    let kafka_err = |source| ProcessorError::Kafka {
        brokers: config.kafka.brokers.clone(),
        source,
    };

    let store = Store::new(config.store.clone());
    store.ping().await?;

    let inputs: Vec<String> = config
        .topics
        .inputs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (partitions, end_offsets) = {
        let settings = config.kafka.clone();
        let inputs = inputs.clone();
        tokio::task::spawn_blocking(move || discover(&settings, &inputs))
            .await
            .expect("discovery task does not panic")
            .map_err(kafka_err)?
    };

    let consumer: StreamConsumer = config
        .kafka
        .consumer(&config.group)
        .create()
        .map_err(kafka_err)?;
    // State lives in memory and is rebuilt by replaying every input partition from the start;
    // the sinks are idempotent, so the replay changes no figure.
    let mut assignment = TopicPartitionList::new();
    for (topic, p) in &partitions {
        assignment
            .add_partition_offset(topic, *p, Offset::Beginning)
            .expect("valid offset");
    }
    consumer.assign(&assignment).map_err(kafka_err)?;
    let dlq: FutureProducer = config.kafka.producer().create().map_err(kafka_err)?;
    info!(partitions = partitions.len(), group = %config.group, "processor started");
    // The deadline settings are not stored with the figures: log them once.
    info!(
        catalogue = config.clock.catalogue.name(),
        procedures = config.clock.catalogue.len(),
        pause_policy = %config.clock.policy.pause,
        appointment_tolerance_minutes = config.clock.policy.appointment_tolerance.num_minutes(),
        "deadline rules"
    );

    let probe: Arc<BaseConsumer> = Arc::new(config.kafka.client().create().map_err(kafka_err)?);
    let mut last_lag = Instant::now() - LAG_INTERVAL;
    let mut op = DossierOperator::new(pseudonymizer, config.clock.clone());
    op.expect_partitions(
        end_offsets
            .iter()
            .filter(|(_, end)| **end > 0)
            .map(|(tp, _)| tp.clone()),
    );
    let mut summary = Summary::default();
    let mut next_offsets: HashMap<(String, i32), i64> = HashMap::new();
    // Partitions not yet read up to the end they had at start (for `stop_at_end`).
    let mut unfinished: std::collections::HashSet<(String, i32)> = end_offsets
        .iter()
        .filter(|(_, end)| **end > 0)
        .map(|(tp, _)| tp.clone())
        .collect();

    'run: loop {
        if config.stop_at_end && unfinished.is_empty() {
            break;
        }
        let batch_started = Instant::now();
        let deadline = tokio::time::Instant::now() + config.batch_max_wait;
        let mut events: Vec<EventRow> = Vec::new();
        let mut dead: Vec<DeadLetter> = Vec::new();
        let mut batch_offsets: HashMap<(String, i32), i64> = HashMap::new();
        let mut consumed_by_topic: HashMap<String, u64> = HashMap::new();
        let mut folded_by_kind: HashMap<&'static str, u64> = HashMap::new();
        let mut duplicates = 0u64;
        let mut stop_after_batch = false;
        let now = now_secs();

        while events.len() + dead.len() < config.batch_max_records {
            let message = tokio::select! {
                _ = shutdown.cancelled() => { stop_after_batch = true; break; }
                _ = tokio::time::sleep_until(deadline) => break,
                m = consumer.recv() => m,
            };
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "kafka consumer error");
                    continue;
                }
            };
            let record = InputRecord {
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec),
            };
            drop(message);
            *consumed_by_topic.entry(record.topic.clone()).or_default() += 1;
            let tp = (record.topic.clone(), record.partition);
            if end_offsets
                .get(&tp)
                .is_some_and(|end| record.offset + 1 >= *end)
            {
                op.caught_up(&record.topic, record.partition);
                unfinished.remove(&tp);
            }
            batch_offsets.insert(tp, record.offset + 1);
            match op.ingest(&record, now) {
                Outcome::Accepted {
                    row,
                    duplicate,
                    kind,
                } => {
                    duplicates += duplicate as u64;
                    *folded_by_kind.entry(kind).or_default() += !duplicate as u64;
                    events.push(*row);
                }
                Outcome::Rejected(rejection) => dead.push(DeadLetter { record, rejection }),
            }
            if config.stop_at_end && unfinished.is_empty() {
                break;
            }
        }

        let records = events.len() + dead.len();
        if records > 0 {
            // Output first, offsets after: a crash in between re-reads the batch, which the
            // idempotent sinks absorb.
            send_dead_letters(&dlq, &config.topics.dead_letter, &dead, &shutdown).await?;
            for d in &dead {
                metrics
                    .rejected
                    .with_label_values(&[d.rejection.kind.as_str()])
                    .inc();
                *summary
                    .rejected_by_reason
                    .entry(d.rejection.kind.as_str())
                    .or_default() += 1;
                warn!(topic = %d.record.topic, partition = d.record.partition, offset = d.record.offset,
                      reason = %d.rejection, "record dead-lettered");
            }
            write(&store, &metrics, "dossier_events", &events, &shutdown).await?;
            let changed = op.drain_dirty(now);
            let off_calendar = changed.off_calendar();
            if off_calendar > 0 {
                metrics.off_calendar.inc_by(off_calendar);
                warn!(
                    dossiers = off_calendar,
                    "dossiers with dates in a year the working-day calendar has no data for: \
                     weekends only were skipped (add data/calendar/vn/<year>.json)"
                );
            }
            write::<StateRow>(
                &store,
                &metrics,
                "dossier_state",
                &changed.states,
                &shutdown,
            )
            .await?;
            write::<StepRow>(&store, &metrics, "dossier_steps", &changed.steps, &shutdown).await?;
            write::<PeriodRow>(
                &store,
                &metrics,
                "dossier_periods",
                &changed.periods,
                &shutdown,
            )
            .await?;
            next_offsets.extend(batch_offsets.iter().map(|(k, v)| (k.clone(), *v)));
            let watermark = op
                .watermark()
                .map(|w| w.timestamp() as u32)
                .unwrap_or_default();
            let progress: Vec<ProgressRow> = batch_offsets
                .iter()
                .map(|((topic, p), next)| ProgressRow {
                    consumer_group: config.group.clone(),
                    kafka_topic: topic.clone(),
                    kafka_partition: *p as u32,
                    next_offset: *next as u64,
                    watermark,
                    updated_at: now,
                })
                .collect();
            write(&store, &metrics, "processor_progress", &progress, &shutdown).await?;

            let mut tpl = TopicPartitionList::new();
            for ((topic, p), next) in &batch_offsets {
                tpl.add_partition_offset(topic, *p, Offset::Offset(*next))
                    .expect("valid offset");
            }
            consumer.store_offsets(&tpl).map_err(kafka_err)?;

            for (topic, n) in &consumed_by_topic {
                metrics.consumed.with_label_values(&[topic]).inc_by(*n);
            }
            for (kind, n) in &folded_by_kind {
                metrics.folded.with_label_values(&[kind]).inc_by(*n);
            }
            metrics.duplicates.inc_by(duplicates);
            metrics.dossiers.set(op.dossiers() as i64);
            metrics.awaiting_receipt.set(op.awaiting_receipt() as i64);
            metrics.watermark.set(watermark as i64);
            metrics.batch_size.observe(records as f64);
            metrics
                .batch_duration
                .observe(batch_started.elapsed().as_secs_f64());
            summary
                .batch_seconds
                .push(batch_started.elapsed().as_secs_f64());
            summary.consumed += records as u64;
            summary.accepted += events.len() as u64;
            summary.duplicates += duplicates;
            summary.rejected += dead.len() as u64;
            summary.batches += 1;
        }
        if last_lag.elapsed() >= LAG_INTERVAL {
            last_lag = Instant::now();
            update_lag(&probe, &metrics, &partitions, &next_offsets).await;
        }
        if stop_after_batch {
            break 'run;
        }
    }
    update_lag(&probe, &metrics, &partitions, &next_offsets).await;
    if let Err(e) = consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
        // Nothing to commit is not an error worth more than a note.
        info!(error = %e, "final offset commit");
    }
    summary.dossiers = op.dossiers();
    summary.elapsed = started.elapsed();
    info!(
        consumed = summary.consumed,
        rejected = summary.rejected,
        dossiers = summary.dossiers,
        elapsed_s = summary.elapsed.as_secs_f64(),
        "processor stopped"
    );
    Ok(summary)
}

/// How often the consumer lag gauge is refreshed.
const LAG_INTERVAL: Duration = Duration::from_secs(5);

/// Sets the lag gauge from the partitions' current ends (one metadata round trip each).
async fn update_lag(
    probe: &Arc<BaseConsumer>,
    metrics: &ProcessorMetrics,
    partitions: &[(String, i32)],
    next_offsets: &HashMap<(String, i32), i64>,
) {
    let probe = probe.clone();
    let partitions = partitions.to_vec();
    let ends = tokio::task::spawn_blocking(move || {
        partitions
            .into_iter()
            .filter_map(|(t, p)| {
                probe
                    .fetch_watermarks(&t, p, Duration::from_secs(2))
                    .ok()
                    .map(|(_, high)| ((t, p), high))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    for ((topic, p), high) in ends {
        let next = next_offsets.get(&(topic.clone(), p)).copied().unwrap_or(0);
        metrics
            .lag
            .with_label_values(&[&topic, &p.to_string()])
            .set((high - next).max(0));
    }
}

impl Summary {
    /// The `q` quantile (0..=1) of batch durations, in seconds.
    pub fn batch_quantile(&self, q: f64) -> Option<f64> {
        let mut v = self.batch_seconds.clone();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied()
    }
}

type Discovery = (Vec<(String, i32)>, HashMap<(String, i32), i64>);

/// Every input partition and its end offset now (blocking).
fn discover(settings: &KafkaSettings, topics: &[String]) -> Result<Discovery, KafkaError> {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let counts = kafka::partition_counts(settings, &names, Duration::from_secs(10))?;
    let probe: BaseConsumer = settings.client().create()?;
    let mut partitions = Vec::new();
    let mut ends = HashMap::new();
    for (topic, count) in topics.iter().zip(counts) {
        for p in 0..count as i32 {
            let (_, high) = probe.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            partitions.push((topic.clone(), p));
            ends.insert((topic.clone(), p), high);
        }
    }
    Ok((partitions, ends))
}

/// Retries an external operation with capped exponential backoff until it succeeds or the
/// processor shuts down.
async fn retry<T, E: std::fmt::Display, F, Fut>(
    what: &str,
    shutdown: &CancellationToken,
    mut on_retry: impl FnMut(),
    mut op: F,
) -> Result<T, ProcessorError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::new();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                warn!(what, error = %e, "write failed, retrying");
                on_retry();
                backoff.wait(shutdown).await?;
            }
        }
    }
}

/// Capped exponential backoff (200 ms doubling to 10 s) that gives up on shutdown.
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            next: Duration::from_millis(200),
        }
    }

    async fn wait(&mut self, shutdown: &CancellationToken) -> Result<(), ProcessorError> {
        tokio::select! {
            _ = shutdown.cancelled() => return Err(ProcessorError::Interrupted),
            _ = tokio::time::sleep(self.next) => {}
        }
        self.next = (self.next * 2).min(Duration::from_secs(10));
        Ok(())
    }
}

async fn write<T>(
    store: &Store,
    metrics: &ProcessorMetrics,
    table: &'static str,
    rows: &[T],
    shutdown: &CancellationToken,
) -> Result<(), ProcessorError>
where
    T: clickhouse::RowWrite + for<'a> clickhouse::Row<Value<'a> = T>,
{
    if rows.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    retry(
        table,
        shutdown,
        || metrics.insert_retries.with_label_values(&[table]).inc(),
        || store.insert::<T>(table, rows),
    )
    .await?;
    metrics
        .insert_duration
        .with_label_values(&[table])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .rows_written
        .with_label_values(&[table])
        .inc_by(rows.len() as u64);
    Ok(())
}

fn dead_letter_headers(d: &DeadLetter) -> OwnedHeaders {
    let partition = d.record.partition.to_string();
    let offset = d.record.offset.to_string();
    let error = d.rejection.to_string();
    [
        (DLQ_REASON, d.rejection.kind.as_str()),
        (DLQ_FIELD, d.rejection.field.as_str()),
        (DLQ_ERROR, error.as_str()),
        (DLQ_TOPIC, d.record.topic.as_str()),
        (DLQ_PARTITION, partition.as_str()),
        (DLQ_OFFSET, offset.as_str()),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(value),
        })
    })
}

/// Publishes a batch's dead letters (original key and value, the reason in headers) and
/// waits until Kafka has acknowledged every one; failed ones are retried.
async fn send_dead_letters(
    dlq: &FutureProducer,
    topic: &str,
    dead: &[DeadLetter],
    shutdown: &CancellationToken,
) -> Result<(), ProcessorError> {
    let mut pending: Vec<&DeadLetter> = dead.iter().collect();
    let mut backoff = Backoff::new();
    while !pending.is_empty() {
        let deliveries: Vec<_> = pending
            .iter()
            .map(|d| {
                let mut record: FutureRecord<'_, [u8], [u8]> =
                    FutureRecord::to(topic).headers(dead_letter_headers(d));
                if let Some(k) = &d.record.key {
                    record = record.key(k.as_slice());
                }
                if let Some(p) = &d.record.payload {
                    record = record.payload(p.as_slice());
                }
                dlq.send(record, Duration::from_secs(30))
            })
            .collect();
        let mut failed = Vec::new();
        for (d, delivery) in pending.iter().zip(deliveries) {
            if let Err((e, _)) = delivery.await {
                warn!(error = %e, "dead letter not acknowledged, retrying");
                failed.push(*d);
            }
        }
        pending = failed;
        if !pending.is_empty() {
            backoff.wait(shutdown).await?;
        }
    }
    Ok(())
}

/// Reads a header value as UTF-8 (for tests and tools reading the dead-letter topic).
pub fn header<'a>(headers: &'a rdkafka::message::BorrowedHeaders, key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}
