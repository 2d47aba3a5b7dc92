//! The production [`RecordSource`] (an rdkafka consumer in a consumer group) and
//! [`BatchSink`] (ClickHouse for the tables and the checkpoint, a Kafka producer for the
//! dead-letter topic).
//!
//! Assignment uses the `range` assignor: with the four input topics subscribed together and
//! the same partition count, it hands partition `p` of every topic to the same member, which
//! is what one operator per partition number needs. `cooperative-sticky` would move fewer
//! partitions on a rebalance but does not keep topics co-assigned, so it is not used.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use motcua_producer::KafkaSettings;
use motcua_runtime::store::{
    AggregateRow, CheckpointRow, DeadLetterRow, PeriodRow, ProgressRow, StateRow, StepRow, Store,
    StoreError, StoredEvent,
};
use motcua_runtime::store::{DeadLetterRow as LedgerRow, EventRow};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::operator::InputRecord;
use crate::shell::{
    BatchSink, DeadLetter, ExternalError, Position, RecordSource, Restored, Rows, SourceBatch,
    TopicPartition,
};
use crate::{
    DLQ_ERROR, DLQ_FIELD, DLQ_GROUP, DLQ_OFFSET, DLQ_PARTITION, DLQ_REASON, DLQ_TOPIC,
    DLQ_TRUNCATED,
};

/// Whether a Kafka error can pass by retrying. A record the broker will never take, a
/// missing topic or a refused authorisation cannot.
pub fn kafka_transient(e: &KafkaError) -> bool {
    !matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::InvalidTopic
        )
    )
}

fn kafka_error(what: &str, e: KafkaError) -> ExternalError {
    ExternalError {
        what: what.to_string(),
        transient: kafka_transient(&e),
        source: Box::new(e),
    }
}

fn store_error(what: &str, e: StoreError) -> ExternalError {
    ExternalError {
        what: what.to_string(),
        transient: e.is_transient(),
        source: Box::new(e),
    }
}

/// How often librdkafka reports its statistics, which give the partitions' ends without a
/// request to the broker.
const STATISTICS_INTERVAL: Duration = Duration::from_millis(1000);

/// Records the assignment the group gives this member, for the loop to pick up, and the
/// partitions' ends from librdkafka's statistics.
#[derive(Default)]
pub struct GroupContext {
    changed: Mutex<Option<Vec<TopicPartition>>>,
    ends: Mutex<Ends>,
}

/// Per assigned partition, its high watermark as of librdkafka's last fetch response and its
/// committed offset, from the latest statistics.
#[derive(Default)]
struct Ends {
    at: Option<Instant>,
    by_partition: HashMap<TopicPartition, Position>,
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        let mut by_partition = HashMap::new();
        for (name, topic) in &statistics.topics {
            for p in topic.partitions.values() {
                // -1 is librdkafka's internal "unassigned" partition; `desired` marks the
                // ones this member consumes.
                if p.partition < 0 || !p.desired || p.hi_offset < 0 {
                    continue;
                }
                by_partition.insert(
                    (name.clone(), p.partition),
                    Position {
                        end: p.hi_offset,
                        committed: p.committed_offset.max(-1),
                    },
                );
            }
        }
        let mut ends = self.ends.lock().expect("not poisoned");
        ends.at = Some(Instant::now());
        ends.by_partition = by_partition;
    }
}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let assignment = match rebalance {
            Rebalance::Assign(tpl) => tpl
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition()))
                .collect(),
            Rebalance::Revoke(_) => Vec::new(),
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance error");
                return;
            }
        };
        *self.changed.lock().expect("not poisoned") = Some(assignment);
    }
}

/// The group consumer over the four input topics.
pub struct KafkaSource {
    consumer: Arc<StreamConsumer<GroupContext>>,
    probe: Arc<BaseConsumer>,
    /// The current assignment.
    owned: HashSet<TopicPartition>,
    /// Owned partitions whose committed offset was asked of the broker since the assignment,
    /// with the answer.
    known: HashMap<TopicPartition, Asked>,
    /// The next batch, being read while the loop processes the last one.
    ahead: Option<tokio::task::JoinHandle<Result<SourceBatch, ExternalError>>>,
}

/// The broker's answer about one partition.
struct Asked {
    at: Instant,
    position: Position,
}

impl KafkaSource {
    /// Joins `group` and subscribes to `topics`.
    pub fn subscribe(
        settings: &KafkaSettings,
        group: &str,
        topics: &[&str],
    ) -> Result<Self, KafkaError> {
        let source = Self::create(settings, group)?;
        source.consumer.subscribe(topics)?;
        Ok(source)
    }

    /// Reads the given partition numbers of `topics` without joining the group's
    /// membership (static assignment: each instance is told its partitions, as a
    /// StatefulSet ordinal would), resuming from the group's committed offsets and
    /// committing to them. For brokers whose group coordinator cannot be relied on (tansu
    /// 0.6.0 keeps a `kill -9`ed member listed and stops assigning), and for one-instance
    /// batch runs.
    pub fn assign(
        settings: &KafkaSettings,
        group: &str,
        topics: &[&str],
        partitions: &[i32],
    ) -> Result<Self, KafkaError> {
        let source = Self::create(settings, group)?;
        let mut tpl = TopicPartitionList::new();
        let mut assignment = Vec::new();
        for t in topics {
            for p in partitions {
                tpl.add_partition_offset(t, *p, Offset::Stored)?;
                assignment.push((t.to_string(), *p));
            }
        }
        source.consumer.assign(&tpl)?;
        *source
            .consumer
            .context()
            .changed
            .lock()
            .expect("not poisoned") = Some(assignment);
        Ok(source)
    }

    fn create(settings: &KafkaSettings, group: &str) -> Result<Self, KafkaError> {
        let mut config = settings.consumer(group);
        config.set("partition.assignment.strategy", "range");
        // Bounded prefetch: memory stays bounded while the sink holds (ClickHouse down).
        config.set("queued.max.messages.kbytes", "65536");
        config.set(
            "statistics.interval.ms",
            STATISTICS_INTERVAL.as_millis().to_string(),
        );
        let consumer: StreamConsumer<GroupContext> =
            config.create_with_context(GroupContext::default())?;
        let probe: BaseConsumer = settings.client().create()?;
        Ok(KafkaSource {
            consumer: Arc::new(consumer),
            probe: Arc::new(probe),
            owned: HashSet::new(),
            known: HashMap::new(),
            ahead: None,
        })
    }
}

/// Committed offsets and ends of `tps`, asked of the broker: one request for the offsets,
/// then the ends, all partitions at once.
fn query_positions(
    consumer: &StreamConsumer<GroupContext>,
    probe: &BaseConsumer,
    tps: &[TopicPartition],
) -> Result<HashMap<TopicPartition, Position>, ExternalError> {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in tps {
        tpl.add_partition(t, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(5))
        .map_err(|e| kafka_error("read committed offsets", e))?;
    let committed: Vec<(TopicPartition, i64)> = committed
        .elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => o,
                _ => -1,
            };
            ((e.topic().to_string(), e.partition()), offset)
        })
        .collect();
    let ends: Vec<Result<i64, ExternalError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = committed
            .iter()
            .map(|((topic, partition), _)| {
                scope.spawn(move || {
                    probe
                        .fetch_watermarks(topic, *partition, Duration::from_secs(5))
                        .map(|(_, high)| high)
                        .map_err(|err| kafka_error("read partition ends", err))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("watermark queries do not panic"))
            .collect()
    });
    let mut out = HashMap::new();
    for ((tp, committed), end) in committed.into_iter().zip(ends) {
        out.insert(
            tp,
            Position {
                end: end?,
                committed,
            },
        );
    }
    Ok(out)
}

/// Reads one batch: up to `max` records, for at most `wait`, cut at a rebalance.
async fn read_batch(
    consumer: Arc<StreamConsumer<GroupContext>>,
    max: usize,
    wait: Duration,
) -> Result<SourceBatch, ExternalError> {
    let take_assignment = || {
        consumer
            .context()
            .changed
            .lock()
            .expect("not poisoned")
            .take()
    };
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    let mut batch = SourceBatch::default();
    batch.records.reserve(max.min(100_000));
    while batch.records.len() < max {
        let message = tokio::select! {
            biased;
            m = consumer.recv() => m,
            _ = &mut deadline => break,
        };
        // A rebalance runs inside `recv`: end the batch at it, so no record is read
        // under an assignment the loop has not seen.
        if let Some(a) = take_assignment() {
            batch.assignment = Some(a);
            if let Ok(m) = &message {
                batch.push(m);
            }
            break;
        }
        match message {
            Ok(m) => batch.push(&m),
            Err(e) if batch.records.is_empty() => return Err(kafka_error("read input", e)),
            Err(e) => {
                tracing::warn!(error = %e, "kafka consumer error");
                break;
            }
        }
    }
    if batch.assignment.is_none() {
        batch.assignment = take_assignment();
    }
    Ok(batch)
}

impl RecordSource for KafkaSource {
    /// The batch read ahead while the loop processed the last one (or, the first time, one
    /// read now); then starts reading the next. Batches come in the order read, each cut at
    /// the rebalance it saw, so the loop still sees every assignment before a record read
    /// under it. At most one batch is read ahead.
    async fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<SourceBatch, ExternalError> {
        let read = match self.ahead.as_mut() {
            // A shutdown may drop this wait: the handle stays, and is awaited next time.
            Some(task) => {
                let r = task.await;
                self.ahead = None;
                r.map_err(|e| ExternalError::transient("read input", e.to_string()))?
            }
            None => read_batch(self.consumer.clone(), max, wait).await,
        };
        if read.is_ok() {
            self.ahead = Some(tokio::spawn(read_batch(self.consumer.clone(), max, wait)));
        }
        let batch = read?;
        if let Some(assignment) = &batch.assignment {
            // A partition assigned again may have been committed by another member meanwhile.
            self.known.clear();
            self.owned = assignment.iter().cloned().collect();
        }
        Ok(batch)
    }

    /// Partitions asked about before under the current assignment come from librdkafka's
    /// statistics (no request: their committed offsets only matter at assignment, and the
    /// ends are as of the last fetch response, at most a statistics interval old). Newly
    /// assigned partitions, partitions of other members and stale statistics are asked of
    /// the broker, the partitions side by side.
    async fn positions(
        &mut self,
        wanted: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Position>, ExternalError> {
        let mut out = HashMap::new();
        let mut ask = Vec::new();
        {
            let ends = self.consumer.context().ends.lock().expect("not poisoned");
            let fresh = ends
                .at
                .is_some_and(|at| at.elapsed() < STATISTICS_INTERVAL * 3);
            for tp in wanted {
                match (ends.by_partition.get(tp), self.known.get(tp)) {
                    (Some(pos), Some(_)) if fresh => {
                        out.insert(tp.clone(), *pos);
                    }
                    // Not in the statistics yet (no fetch response since the assignment):
                    // the broker's answer of less than a few intervals ago stands.
                    (_, Some(asked)) if asked.at.elapsed() < STATISTICS_INTERVAL * 3 => {
                        out.insert(tp.clone(), asked.position);
                    }
                    _ => ask.push(tp.clone()),
                }
            }
        }
        if ask.is_empty() {
            return Ok(out);
        }
        let consumer = self.consumer.clone();
        let probe = self.probe.clone();
        let asked = tokio::task::spawn_blocking(move || query_positions(&consumer, &probe, &ask))
            .await
            .map_err(|e| ExternalError::transient("read partition ends", e.to_string()))??;
        let at = Instant::now();
        for (tp, position) in &asked {
            if self.owned.contains(tp) {
                let position = *position;
                self.known.insert(tp.clone(), Asked { at, position });
            }
        }
        out.extend(asked);
        Ok(out)
    }

    fn store_offsets(&mut self, offsets: &[(TopicPartition, i64)]) -> Result<(), ExternalError> {
        let assigned = self
            .consumer
            .assignment()
            .map_err(|e| kafka_error("read assignment", e))?;
        let mut tpl = TopicPartitionList::new();
        for ((topic, p), next) in offsets {
            if assigned.find_partition(topic, *p).is_some() {
                tpl.add_partition_offset(topic, *p, Offset::Offset(*next))
                    .map_err(|e| kafka_error("store offsets", e))?;
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        match self.consumer.store_offsets(&tpl) {
            Ok(()) => Ok(()),
            // Revoked between the check and the store: the new owner replays them.
            Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => Ok(()),
            Err(e) => Err(kafka_error("store offsets", e)),
        }
    }

    fn pause(
        &mut self,
        pause: &[TopicPartition],
        resume: &[TopicPartition],
    ) -> Result<(), ExternalError> {
        let list = |tps: &[TopicPartition]| {
            let mut tpl = TopicPartitionList::new();
            for (t, p) in tps {
                tpl.add_partition(t, *p);
            }
            tpl
        };
        // Only partitions still assigned: a rebalance may have moved them meanwhile.
        let assigned = self
            .consumer
            .assignment()
            .map_err(|e| kafka_error("read assignment", e))?;
        let keep = |tps: &[TopicPartition]| -> Vec<TopicPartition> {
            tps.iter()
                .filter(|(t, p)| assigned.find_partition(t, *p).is_some())
                .cloned()
                .collect()
        };
        let (pause, resume) = (keep(pause), keep(resume));
        if !pause.is_empty() {
            self.consumer
                .pause(&list(&pause))
                .map_err(|e| kafka_error("pause partitions", e))?;
        }
        if !resume.is_empty() {
            self.consumer
                .resume(&list(&resume))
                .map_err(|e| kafka_error("resume partitions", e))?;
        }
        Ok(())
    }

    fn close(&mut self) {
        if let Some(task) = self.ahead.take() {
            // Records it read are not processed: their offsets are not stored either.
            task.abort();
        }
        if let Err(e) = self
            .consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        {
            tracing::info!(error = %e, "final offset commit");
        }
        self.consumer.unsubscribe();
    }
}

impl SourceBatch {
    /// Adds a message read, and its Kafka timestamp if it has one.
    fn push(&mut self, m: &rdkafka::message::BorrowedMessage<'_>) {
        if let Some(ms) = rdkafka::Message::timestamp(m).to_millis() {
            self.produced_ms.push(ms);
        }
        self.records.push(to_record(m));
    }
}

fn to_record(m: &rdkafka::message::BorrowedMessage<'_>) -> InputRecord {
    InputRecord {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
    }
}

/// ClickHouse tables and checkpoint, Kafka dead-letter topic.
#[derive(Clone)]
pub struct Sink {
    store: Store,
    dlq: FutureProducer,
    dlq_topic: String,
    dlq_partitions: i32,
    group: String,
    /// Largest dead-letter value sent whole; bigger ones are truncated (with a header
    /// giving the original size) when the broker refuses them.
    max_dead_letter_bytes: usize,
}

impl Sink {
    /// A sink writing to `store` and dead-lettering to `dlq_topic`.
    pub fn new(
        store: Store,
        settings: &KafkaSettings,
        dlq_topic: String,
        dlq_partitions: i32,
        group: String,
    ) -> Result<Self, KafkaError> {
        let mut config = settings.producer();
        // A dead letter can be as large as the record it carries.
        config.set("message.max.bytes", "10485760");
        Ok(Sink {
            store,
            dlq: config.create()?,
            dlq_topic,
            dlq_partitions: dlq_partitions.max(1),
            group,
            max_dead_letter_bytes: 256 * 1024,
        })
    }

    fn headers(&self, d: &DeadLetter, truncated: Option<usize>) -> OwnedHeaders {
        let partition = d.record.partition.to_string();
        let offset = d.record.offset.to_string();
        let error = d.rejection.to_string();
        let size = truncated.map(|n| n.to_string());
        let mut pairs = vec![
            (DLQ_REASON, d.rejection.kind.as_str()),
            (DLQ_FIELD, d.rejection.field.as_str()),
            (DLQ_ERROR, error.as_str()),
            (DLQ_TOPIC, d.record.topic.as_str()),
            (DLQ_PARTITION, partition.as_str()),
            (DLQ_OFFSET, offset.as_str()),
            (DLQ_GROUP, self.group.as_str()),
        ];
        if let Some(size) = &size {
            pairs.push((DLQ_TRUNCATED, size.as_str()));
        }
        pairs
            .into_iter()
            .fold(OwnedHeaders::new(), |h, (key, value)| {
                h.insert(Header {
                    key,
                    value: Some(value),
                })
            })
    }

    async fn send_raw(
        &self,
        d: &DeadLetter,
        payload: Option<&[u8]>,
        truncated: Option<usize>,
    ) -> Result<(i32, i64), KafkaError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.dlq_topic)
            .partition(d.record.partition.rem_euclid(self.dlq_partitions))
            .headers(self.headers(d, truncated));
        if let Some(k) = &d.record.key {
            record = record.key(k.as_slice());
        }
        if let Some(p) = payload {
            record = record.payload(p);
        }
        match self.dlq.send(record, Duration::from_secs(30)).await {
            Ok(delivery) => Ok((delivery.partition, delivery.offset)),
            Err((e, _)) => Err(e),
        }
    }

    async fn send_one(&self, d: &DeadLetter) -> Result<(i32, i64), ExternalError> {
        let payload = d.record.payload.as_deref();
        match self.send_raw(d, payload, None).await {
            Ok(at) => Ok(at),
            Err(e)
                if !kafka_transient(&e)
                    && payload.is_some_and(|p| p.len() > self.max_dead_letter_bytes) =>
            {
                // The broker will never take it whole: keep the reason and the first bytes.
                let p = payload.expect("checked");
                tracing::warn!(size = p.len(), error = %e, "dead letter too large, sending it truncated");
                self.send_raw(d, Some(&p[..self.max_dead_letter_bytes]), Some(p.len()))
                    .await
                    .map_err(|e| kafka_error("publish a truncated dead letter", e))
            }
            Err(e) => Err(kafka_error("publish dead letters", e)),
        }
    }
}

impl BatchSink for Sink {
    async fn load_partition(
        &self,
        partition: i32,
        retention_secs: u32,
    ) -> Result<Restored, ExternalError> {
        let p = partition as u32;
        let watermark = self
            .store
            .last_watermark(&self.group)
            .await
            .map_err(|e| store_error("load checkpoint", e))?;
        let since = watermark.saturating_sub(retention_secs);
        let (resident, evicted) = self
            .store
            .load_partition(&self.group, p, since)
            .await
            .map_err(|e| store_error("load checkpoint", e))?;
        let dead_lettered = self
            .store
            .dead_lettered(&self.group, p)
            .await
            .map_err(|e| store_error("load dead-letter ledger", e))?;
        let partition_times = self
            .store
            .partition_times(&self.group, p)
            .await
            .map_err(|e| store_error("load progress", e))?;
        Ok(Restored {
            resident,
            evicted,
            dead_lettered,
            partition_times,
            watermark,
        })
    }

    async fn load_dossiers(
        &self,
        partition: i32,
        codes: &[String],
    ) -> Result<Vec<CheckpointRow>, ExternalError> {
        self.store
            .load_dossiers(&self.group, partition as u32, codes)
            .await
            .map_err(|e| store_error("load evicted dossiers", e))
    }

    async fn dossier_events(&self, code: &str) -> Result<Vec<StoredEvent>, ExternalError> {
        self.store
            .dossier_events(code)
            .await
            .map_err(|e| store_error("read stored events", e))
    }

    async fn dead_letters(
        &self,
        letters: &[DeadLetter],
    ) -> Result<Vec<DeadLetterRow>, ExternalError> {
        let now = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        // One at a time: dead letters are rare, and each needs its own acknowledgement.
        let mut rows = Vec::with_capacity(letters.len());
        for d in letters {
            let (dlq_partition, dlq_offset) = self.send_one(d).await?;
            rows.push(LedgerRow {
                consumer_group: self.group.clone(),
                source_topic: d.record.topic.clone(),
                source_partition: d.record.partition as u32,
                source_offset: d.record.offset.max(0) as u64,
                reason: d.rejection.kind.as_str().to_string(),
                field: d.rejection.field.clone(),
                error: d.rejection.to_string(),
                dead_letter_partition: dlq_partition as u32,
                dead_letter_offset: dlq_offset.max(0) as u64,
                updated_at: now,
            });
        }
        Ok(rows)
    }

    async fn write(&self, rows: &Rows) -> Result<(), ExternalError> {
        let table = rows.table();
        let result = match rows {
            Rows::Events(v) => self.store.insert::<EventRow>(table, v).await,
            Rows::States(v) => self.store.insert::<StateRow>(table, v).await,
            Rows::Steps(v) => self.store.insert::<StepRow>(table, v).await,
            Rows::Periods(v) => self.store.insert::<PeriodRow>(table, v).await,
            Rows::Checkpoints(v) => self.store.insert_whole(table, v).await,
            Rows::DeadLetters(v) => self.store.insert::<DeadLetterRow>(table, v).await,
            Rows::Progress(v) => self.store.insert::<ProgressRow>(table, v).await,
            Rows::Aggregates(v) => self.store.insert::<AggregateRow>(table, v).await,
        };
        result.map_err(|e| store_error(&format!("insert into {table}"), e))
    }
}
