//! motcua-processor: the stream processor.
//!
//! One [`operator::PartitionOperator`] per input partition number (pure, synchronous) inside
//! a thin async shell ([`shell`]) written against a record source and a batch sink, with the
//! production adapters in [`adapters`]: an rdkafka consumer in a consumer group (several
//! instances share the partitions) and ClickHouse plus the dead-letter topic.
//!
//! Delivery: at-least-once reads, idempotent writes, state checkpointed in ClickHouse in
//! the same batch as the figures and before the offsets are committed. A restart or a new
//! owner loads the checkpoint and replays from the committed offsets, so restore time
//! depends on what changed since the last batch, not on the length of history; each event
//! counts exactly once in every figure (docs/ARCHITECTURE.md, "State and recovery").

pub mod adapters;
pub mod aggregate;
pub mod operator;
pub mod shell;
pub mod watermark;

use std::collections::HashMap;
use std::time::Duration;

use motcua_core::deadline::Clock;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::topics::TopicNames;
use motcua_producer::KafkaSettings;
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::{Store, StoreError, StoreSettings};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use tokio_util::sync::CancellationToken;
use tracing::{info, Instrument};

use crate::adapters::{KafkaSource, Sink};
use crate::operator::Shared;
use crate::shell::{ExternalError, LoopConfig};

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
/// Dead-letter header: consumer group of the processor that rejected the record.
pub const DLQ_GROUP: &str = "motcua-dlq-group";
/// Dead-letter header: original size in bytes, when the value was truncated to fit.
pub const DLQ_TRUNCATED: &str = "motcua-dlq-truncated-from-bytes";

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
    /// Most records in one batch (at least 1). Default 20 000.
    pub batch_max_records: usize,
    /// Longest a batch stays open (more than 0). Default 500 ms.
    pub batch_max_wait: Duration,
    /// Stop once every owned partition is read up to the end it had when assigned (batch
    /// jobs, tests).
    pub stop_at_end: bool,
    /// How long, in event time, an ended dossier stays in memory after its end before only
    /// its checkpoint holds it (late surveys and corrections inside it need no load).
    /// Default 35 days.
    pub retention: Duration,
    /// Longest one ClickHouse request may take before it fails and is retried. Default 60 s.
    pub store_timeout: Duration,
    /// First retry delay after a failed write (doubles). Default 200 ms.
    pub backoff_initial: Duration,
    /// Longest retry delay. Default 10 s.
    pub backoff_max: Duration,
    /// Event time a partition may run ahead of the slowest owned one before it is paused
    /// until the others catch up. Default 1 day.
    pub max_skew: Duration,
    /// While catching up (batches full), most batches folded before their figures and
    /// checkpoint are written, as one write (at least 1; 1 writes every batch). A batch that
    /// is not full is always written at once. Default 10.
    pub hold_max_batches: u32,
    /// Longest a folded batch's figures wait to be written while catching up. Default 5 s.
    pub hold_max_time: Duration,
    /// Static assignment: read exactly these partition numbers (all of them when empty
    /// after `Some`), without the group's membership. `None` (default): join the consumer
    /// group and share the partitions with the other instances.
    pub partitions: Option<Vec<i32>>,
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
            retention: Duration::from_secs(35 * 86_400),
            store_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_skew: Duration::from_secs(86_400),
            hold_max_batches: 10,
            hold_max_time: Duration::from_secs(5),
            partitions: None,
        }
    }

    /// Every problem with the configuration, so one start lists them all.
    pub fn validate(&self) -> Result<(), ProcessorError> {
        let mut problems = Vec::new();
        if self.batch_max_records == 0 {
            problems.push("batch_max_records must be at least 1".to_string());
        }
        if self.hold_max_batches == 0 {
            problems.push("hold_max_batches must be at least 1".to_string());
        }
        if self.batch_max_wait.is_zero() {
            problems.push("batch_max_wait must be more than 0".to_string());
        }
        if self.pseudonym_key.len() < 16 {
            problems.push(format!(
                "the pseudonym key must be at least 16 bytes (it is {})",
                self.pseudonym_key.len()
            ));
        }
        if self.group.trim().is_empty() {
            problems.push("the consumer group must not be empty".to_string());
        }
        if self.store_timeout.is_zero() {
            problems.push("store_timeout must be more than 0".to_string());
        }
        if self.backoff_initial.is_zero() || self.backoff_max < self.backoff_initial {
            problems
                .push("backoff_initial must be more than 0 and at most backoff_max".to_string());
        }
        if self.kafka.brokers.trim().is_empty() {
            problems.push("no Kafka brokers given".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ProcessorError::Config(problems))
        }
    }
}

/// Processor errors. Bad data is never one: it goes to the dead-letter topic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessorError {
    /// The broker did not answer.
    #[error("kafka at {brokers} is not reachable (start the local services with `bash deploy/local/up.sh`)")]
    KafkaUnreachable {
        /// Bootstrap servers.
        brokers: String,
        /// Why.
        source: KafkaError,
    },
    /// An input topic is missing.
    #[error("topic `{topic}` does not exist on {brokers}: create the topics with `motcua topics` (same --topic-prefix)")]
    MissingTopic {
        /// Topic.
        topic: String,
        /// Bootstrap servers.
        brokers: String,
    },
    /// The input topics are not co-partitioned.
    #[error("the input topics must have one partition count, found {0}")]
    NotCopartitioned(String),
    /// A Kafka client could not be created or configured.
    #[error("kafka client setup failed")]
    Kafka(#[source] KafkaError),
    /// ClickHouse failed at start-up (unreachable, missing database, old schema).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// A fault no retry can fix (a record the broker will never take, a table that does not
    /// match): the processor stops and names it.
    #[error("stopped on a permanent error")]
    Permanent(#[source] ExternalError),
    /// An internal invariant failed (a checkpoint that does not parse).
    #[error("internal error: {0}")]
    Internal(String),
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
    config.validate()?;
    let pseudonymizer =
        Pseudonymizer::new(&config.pseudonym_key).map_err(|e| ProcessorError::Config(vec![e]))?;
    let store = Store::new(config.store.clone()).with_timeout(config.store_timeout);
    // No DDL here: a processor needs no rights to create databases or tables.
    store.check_schema().await?;

    let inputs: Vec<String> = config
        .topics
        .inputs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (input_partitions, dlq_partitions) = {
        let settings = config.kafka.clone();
        let inputs = inputs.clone();
        let dlq = config.topics.dead_letter.clone();
        tokio::task::spawn_blocking(move || check_topics(&settings, &inputs, &dlq))
            .await
            .map_err(|e| ProcessorError::Internal(e.to_string()))??
    };
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let source = match &config.partitions {
        None => KafkaSource::subscribe(&config.kafka, &config.group, &names),
        Some(list) => {
            let all: Vec<i32> = (0..input_partitions as i32).collect();
            let list = if list.is_empty() { all } else { list.clone() };
            if let Some(p) = list
                .iter()
                .find(|p| **p < 0 || **p >= input_partitions as i32)
            {
                return Err(ProcessorError::Config(vec![format!(
                    "partition {p} does not exist: the input topics have {input_partitions}"
                )]));
            }
            KafkaSource::assign(&config.kafka, &config.group, &names, &list)
        }
    }
    .map_err(ProcessorError::Kafka)?;
    let sink = Sink::new(
        store,
        &config.kafka,
        config.topics.dead_letter.clone(),
        dlq_partitions,
        config.group.clone(),
    )
    .map_err(ProcessorError::Kafka)?;
    info!(group = %config.group, input_partitions, "processor started, joining the group");
    // The deadline settings are not stored with the figures: log them once.
    info!(
        catalogue = config.clock.catalogue.name(),
        procedures = config.clock.catalogue.len(),
        pause_policy = %config.clock.policy.pause,
        appointment_tolerance_minutes = config.clock.policy.appointment_tolerance.num_minutes(),
        retention_days = config.retention.as_secs() / 86_400,
        "deadline and state rules"
    );
    let shared = Shared::new(
        config.clock.clone(),
        pseudonymizer,
        chrono::Duration::from_std(config.retention).unwrap_or(chrono::Duration::days(35)),
        config.group.clone(),
    );
    let loop_config = LoopConfig {
        group: config.group.clone(),
        batch_max_records: config.batch_max_records,
        batch_max_wait: config.batch_max_wait,
        stop_at_end: config.stop_at_end,
        backoff_initial: config.backoff_initial,
        backoff_max: config.backoff_max,
        max_skew: chrono::Duration::from_std(config.max_skew).unwrap_or(chrono::Duration::days(1)),
        hold_max_batches: config.hold_max_batches,
        hold_max_time: config.hold_max_time,
        inputs: inputs
            .iter()
            .flat_map(|t| (0..input_partitions as i32).map(move |p| (t.clone(), p)))
            .collect(),
    };
    let summary = shell::run_loop(loop_config, shared, source, sink, &metrics, &shutdown).await?;
    info!(
        consumed = summary.consumed,
        rejected = summary.rejected,
        dossiers = summary.dossiers,
        elapsed_s = summary.elapsed.as_secs_f64(),
        "processor stopped"
    );
    Ok(summary)
}

/// Checks the broker answers, the input topics exist with one partition count, and the
/// dead-letter topic exists: `(input partitions, dead-letter partitions)`. Blocking.
fn check_topics(
    settings: &KafkaSettings,
    inputs: &[String],
    dead_letter: &str,
) -> Result<(usize, i32), ProcessorError> {
    let probe: BaseConsumer = settings.client().create().map_err(ProcessorError::Kafka)?;
    let md = probe
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|source| ProcessorError::KafkaUnreachable {
            brokers: settings.brokers.clone(),
            source,
        })?;
    let count = |name: &str| {
        md.topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len())
            .ok_or_else(|| ProcessorError::MissingTopic {
                topic: name.to_string(),
                brokers: settings.brokers.clone(),
            })
    };
    let mut counts = Vec::new();
    for t in inputs {
        counts.push((t.as_str(), count(t)?));
    }
    let dlq = count(dead_letter)?;
    let first = counts[0].1;
    if counts.iter().any(|(_, c)| *c != first) {
        let found = counts
            .iter()
            .map(|(t, c)| format!("{t}: {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ProcessorError::NotCopartitioned(found));
    }
    Ok((first, dlq as i32))
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

/// Reads a header value as UTF-8 (for tests and tools reading the dead-letter topic).
pub fn header<'a>(headers: &'a rdkafka::message::BorrowedHeaders, key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}
