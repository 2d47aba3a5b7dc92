//! The processor's loop, written against two small traits so that its failure paths
//! (retries with backoff, shutdown while retrying, a poison record, a rebalance) run in
//! tests with in-memory fakes and paused time, and against Kafka and ClickHouse in
//! production (`crate::adapters`).
//!
//! Delivery, enforced here and only here: for each batch,
//! 1. restore the state of newly owned partitions (checkpoint, then replay from the
//!    committed offsets: the fold is idempotent, so state newer than the offsets is sound);
//! 2. fold the records, one operator per partition number, in parallel off the reactor;
//! 3. publish the dead letters and wait for the broker's acknowledgement;
//! 4. write raw events, refold conflicted dossiers, then state, steps, periods, the
//!    checkpoint, the dead-letter ledger and the progress rows;
//! 5. only then store the batch's offsets.
//!
//! Batches overlap: the source reads the next batch while this one is processed, and the
//! next batch is folded while this one is written (each table's insert its own task); the
//! next batch's dead letters, refolds and drain, and this batch's offsets and evictions, wait
//! until the write is in. Writes never overlap each other.
//!
//! While catching up (every batch full), a batch may be *held*: folded, its raw rows and
//! ledger written, but its drain (figures, checkpoint, cells, progress) left to a later
//! batch, at most `hold_max_batches` or `hold_max_time` later, or at once when the input
//! goes idle, ends or the processor stops. The held batches' offsets are stored with the
//! drained batch's, so the checkpoint always covers the stored offsets; a dossier changed in
//! several held batches is written once.
//!
//! A crash anywhere re-reads at most the batches whose offsets were not stored; every write
//! is idempotent (versioned rows, keyed ledgers), so nothing is lost or counted twice.
//! Transient faults are retried with capped backoff, each attempt logged and counted;
//! permanent ones stop the processor with an error naming them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua_core::event::Timestamp;
use motcua_core::Rejection;
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::{
    AggregateRow, CheckpointRow, DeadLetterRow, EventRow, PeriodRow, ProgressRow, StateRow,
    StepRow, StoredEvent,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::operator::{InputRecord, Outcome, PartitionOperator, Shared};
use crate::watermark::Watermarks;
use crate::{ProcessorError, Summary};

/// A fault outside the processor (broker, ClickHouse), classified for retrying.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct ExternalError {
    /// What was being done, e.g. `insert into dossier_state`.
    pub what: String,
    /// Whether retrying can help.
    pub transient: bool,
    /// The underlying error.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl ExternalError {
    /// A transient fault.
    pub fn transient(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ExternalError {
            what: what.into(),
            transient: true,
            source: source.into(),
        }
    }

    /// A fault no retry can fix.
    pub fn permanent(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ExternalError {
            what: what.into(),
            transient: false,
            source: source.into(),
        }
    }
}

/// An input `(topic, partition)`.
pub type TopicPartition = (String, i32);

/// What one poll of the source gave.
#[derive(Debug, Default)]
pub struct SourceBatch {
    /// Records, in the order read.
    pub records: Vec<InputRecord>,
    /// The whole new assignment, when it changed since the last batch (a rebalance).
    pub assignment: Option<Vec<TopicPartition>>,
    /// The records' Kafka timestamps (Unix milliseconds), where the broker gave one: the
    /// end-to-end latency is measured from them once the batch is written.
    pub produced_ms: Vec<i64>,
}

/// Where an owned partition stands.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// The partition's end (high watermark).
    pub end: i64,
    /// The committed offset, where reading started (or -1 when none).
    pub committed: i64,
}

/// A record source: batches of input records, the partitions owned, and storing offsets.
pub trait RecordSource {
    /// Up to `max` records, waiting at most `wait` for them.
    fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> impl Future<Output = Result<SourceBatch, ExternalError>> + Send;
    /// Ends and committed offsets of the owned partitions.
    fn positions(
        &mut self,
        owned: &[TopicPartition],
    ) -> impl Future<Output = Result<HashMap<TopicPartition, Position>, ExternalError>> + Send;
    /// Offsets to resume from (next offset to read), once the batch's output is written.
    /// Partitions no longer owned are skipped.
    fn store_offsets(&mut self, offsets: &[(TopicPartition, i64)]) -> Result<(), ExternalError>;
    /// Stops fetching these partitions, and resumes those. Records already fetched may
    /// still arrive.
    fn pause(
        &mut self,
        pause: &[TopicPartition],
        resume: &[TopicPartition],
    ) -> Result<(), ExternalError>;
    /// Commits what was stored (on shutdown).
    fn close(&mut self);
}

/// The checkpoint of one partition number, as loaded by a new owner.
#[derive(Debug, Default)]
pub struct Restored {
    /// Dossiers kept in memory.
    pub resident: Vec<CheckpointRow>,
    /// Codes of the evicted ones.
    pub evicted: Vec<String>,
    /// `(topic, offset)` of records already dead-lettered.
    pub dead_lettered: Vec<(String, u64)>,
    /// Per topic, the partition's latest event time at the checkpoint (Unix seconds).
    pub partition_times: Vec<(String, u32)>,
    /// The watermark the group last published (Unix seconds, 0 when none).
    pub watermark: u32,
}

/// A record to dead-letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The record as read (or as stored, for a superseded conflict).
    pub record: InputRecord,
    /// Why.
    pub rejection: Rejection,
}

/// Rows for one table.
#[derive(Debug)]
pub enum Rows {
    /// `dossier_events`.
    Events(Vec<EventRow>),
    /// `dossier_state`.
    States(Vec<StateRow>),
    /// `dossier_steps`.
    Steps(Vec<StepRow>),
    /// `dossier_periods`.
    Periods(Vec<PeriodRow>),
    /// `processor_state`.
    Checkpoints(Vec<CheckpointRow>),
    /// `dead_letters`.
    DeadLetters(Vec<DeadLetterRow>),
    /// `processor_progress`.
    Progress(Vec<ProgressRow>),
    /// `aggregates`.
    Aggregates(Vec<AggregateRow>),
}

impl Rows {
    /// Target table.
    pub fn table(&self) -> &'static str {
        match self {
            Rows::Events(_) => "dossier_events",
            Rows::States(_) => "dossier_state",
            Rows::Steps(_) => "dossier_steps",
            Rows::Periods(_) => "dossier_periods",
            Rows::Checkpoints(_) => "processor_state",
            Rows::DeadLetters(_) => "dead_letters",
            Rows::Progress(_) => "processor_progress",
            Rows::Aggregates(_) => "aggregates",
        }
    }

    /// Row count.
    pub fn len(&self) -> usize {
        match self {
            Rows::Events(v) => v.len(),
            Rows::States(v) => v.len(),
            Rows::Steps(v) => v.len(),
            Rows::Periods(v) => v.len(),
            Rows::Checkpoints(v) => v.len(),
            Rows::DeadLetters(v) => v.len(),
            Rows::Progress(v) => v.len(),
            Rows::Aggregates(v) => v.len(),
        }
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A batch sink: the checkpoint store, the tables, the dead-letter topic.
pub trait BatchSink {
    /// The checkpoint of partition number `partition`: resident are the open dossiers and
    /// those ended within `retention_secs` before the group's last watermark.
    fn load_partition(
        &self,
        partition: i32,
        retention_secs: u32,
    ) -> impl Future<Output = Result<Restored, ExternalError>> + Send;
    /// Checkpoints of evicted dossiers.
    fn load_dossiers(
        &self,
        partition: i32,
        codes: &[String],
    ) -> impl Future<Output = Result<Vec<CheckpointRow>, ExternalError>> + Send;
    /// Every stored version of a dossier's events.
    fn dossier_events(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, ExternalError>> + Send;
    /// Publishes dead letters and waits for the broker; returns their ledger rows.
    fn dead_letters(
        &self,
        letters: &[DeadLetter],
    ) -> impl Future<Output = Result<Vec<DeadLetterRow>, ExternalError>> + Send;
    /// Writes rows (idempotently).
    fn write(&self, rows: &Rows) -> impl Future<Output = Result<(), ExternalError>> + Send;
}

/// Loop settings.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Consumer group (progress rows).
    pub group: String,
    /// Most records per batch.
    pub batch_max_records: usize,
    /// Longest wait for a batch.
    pub batch_max_wait: Duration,
    /// Stop once every owned partition is read to the end it had when assigned and every
    /// other input partition's committed offset has reached its end (another member read
    /// it): a member handed only some partitions must not report the input done.
    pub stop_at_end: bool,
    /// Every input partition (for `stop_at_end`).
    pub inputs: Vec<TopicPartition>,
    /// First retry delay; doubles up to `backoff_max`.
    pub backoff_initial: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Event time a partition may run ahead of the slowest before it is paused (alignment).
    pub max_skew: chrono::Duration,
    /// Most full batches folded before their figures and checkpoint are written. A batch
    /// that is not full (the input is caught up) is always written at once; while catching
    /// up, up to this many are folded first and written as one, so a dossier changed in
    /// several of them is written once.
    pub hold_max_batches: u32,
    /// Longest a folded batch waits for its figures and checkpoint to be written.
    pub hold_max_time: Duration,
}

/// Runs a transient-retrying operation: capped exponential backoff, every failure logged
/// with its attempt number and counted; a permanent error or shutdown ends it.
pub async fn retry<T, F, Fut>(
    config: &LoopConfig,
    shutdown: &CancellationToken,
    metrics: &ProcessorMetrics,
    what: &str,
    mut op: F,
) -> Result<T, ProcessorError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ExternalError>>,
{
    let mut delay = config.backoff_initial;
    let mut attempt = 0u32;
    loop {
        match op().await {
            Ok(v) => {
                if attempt > 0 {
                    info!(what, attempts = attempt + 1, "recovered");
                    metrics.retrying.set(0);
                }
                return Ok(v);
            }
            Err(e) if !e.transient => return Err(ProcessorError::Permanent(e)),
            Err(e) => {
                attempt += 1;
                metrics.retries.with_label_values(&[what]).inc();
                metrics.retrying.set(1);
                warn!(what, attempt, retry_in_ms = delay.as_millis() as u64, error = %e, "failed, retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(ProcessorError::Interrupted),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(config.backoff_max);
            }
        }
    }
}

/// What a batch's write needs, owned, so that each table's insert runs as its own task (the
/// rows are encoded on another core while the loop reads the next batch).
#[derive(Clone)]
struct Writer<K> {
    config: Arc<LoopConfig>,
    shutdown: CancellationToken,
    metrics: ProcessorMetrics,
    sink: K,
}

/// A batch's write under way. The task owns the rows, and frees them where it runs.
struct Writing {
    done: Done,
    task: tokio::task::JoinHandle<Result<(), ProcessorError>>,
}

/// What the loop does once a batch's write is in.
struct Done {
    offsets: Vec<(TopicPartition, i64)>,
    as_of: Option<Timestamp>,
    produced_ms: Vec<i64>,
    drained: bool,
}

/// What the loop keeps between batches.
struct Loop<'a, S, K> {
    /// The same settings as the writer's.
    config: Arc<LoopConfig>,
    shared: Arc<Shared>,
    source: S,
    /// The sink (its clone is the writer's), and what each write task needs.
    writer: Writer<K>,
    metrics: &'a ProcessorMetrics,
    shutdown: &'a CancellationToken,
    operators: BTreeMap<i32, PartitionOperator>,
    owned: Vec<TopicPartition>,
    watermarks: Watermarks,
    /// Next offset per owned partition (read this session, else the committed one).
    next: HashMap<TopicPartition, i64>,
    /// The end each partition had when assigned: below it, the partition is catching up.
    end_at_assign: HashMap<TopicPartition, i64>,
    last_positions: Option<Instant>,
    /// Partitions paused because they ran ahead in event time.
    paused: Vec<TopicPartition>,
    /// The most event time the last batch moved one partition forward.
    batch_span: chrono::Duration,
    /// With `stop_at_end`: whether every input partition this member does not own has its
    /// committed offset at its end.
    others_done: bool,
    summary: Summary,
    /// The last batch's figures, checkpoint, ledger and progress: written while the next
    /// batch is read, its offsets stored once they are in.
    pending: Option<Pending>,
    /// Batches folded (their raw rows written) whose figures and checkpoint are not drained
    /// yet: their offsets are stored with the next drained batch's.
    held: u32,
    /// When the last batch was drained.
    last_drain: Instant,
    /// Offsets of written batches not stored yet (held ones').
    unstored: BTreeMap<TopicPartition, i64>,
    /// Kafka timestamps of the held batches' records, observed once they are visible.
    unobserved_ms: Vec<i64>,
}

/// A folded batch's rows still to write, and the offsets to store after them.
struct Pending {
    events: Rows,
    states: Rows,
    steps: Rows,
    periods: Rows,
    checkpoints: Rows,
    aggregates: Rows,
    progress: Option<Rows>,
    offsets: Vec<(TopicPartition, i64)>,
    as_of: Option<Timestamp>,
    /// Kafka timestamps of the batch's records (Unix milliseconds).
    produced_ms: Vec<i64>,
    /// Whether the figures and checkpoint of every batch folded so far are in it (else only
    /// raw rows: a held batch).
    drained: bool,
}

/// Writes rows, retrying what is transient, timing each table.
async fn write_rows<K: BatchSink>(
    config: &LoopConfig,
    shutdown: &CancellationToken,
    metrics: &ProcessorMetrics,
    sink: &K,
    rows: &Rows,
) -> Result<(), ProcessorError> {
    if rows.is_empty() {
        return Ok(());
    }
    let table = rows.table();
    let started = Instant::now();
    // Each table's rows are written by one task at a time: the retries counted under its
    // name while this runs are this insert's.
    let retries_before = metrics.retries.with_label_values(&[table]).get();
    let written = retry(config, shutdown, metrics, table, || sink.write(rows)).await;
    let retried = metrics.retries.with_label_values(&[table]).get() - retries_before;
    if retried > 0 {
        metrics
            .insert_retries
            .with_label_values(&[table])
            .inc_by(retried);
    }
    written?;
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

/// Writes a batch's rows in the order recovery needs: the raw events and the per-dossier
/// figures side by side (they are independent), then the checkpoint, whole or not at all
/// (a restored state newer than its figures would never rewrite them), then the served
/// cells (they follow the checkpoint that holds them; a restore re-emits its cells above any
/// sequence the previous owner wrote), and the progress last. Each table is its own task.
async fn flush<K: BatchSink + Clone + Send + Sync + 'static>(
    w: &Writer<K>,
    p: &Arc<Pending>,
) -> Result<(), ProcessorError> {
    let spawn = |pick: Pick| {
        let (w, p) = (w.clone(), p.clone());
        tokio::spawn(async move {
            match pick(&p) {
                Some(rows) => write_rows(&w.config, &w.shutdown, &w.metrics, &w.sink, rows).await,
                None => Ok(()),
            }
        })
    };
    let stages: [&[Pick]; 4] = [
        &[
            |p| Some(&p.events),
            |p| Some(&p.states),
            |p| Some(&p.steps),
            |p| Some(&p.periods),
        ],
        &[|p| Some(&p.checkpoints)],
        &[|p| Some(&p.aggregates)],
        &[|p| p.progress.as_ref()],
    ];
    for stage in stages {
        let mut tasks: Vec<_> = stage.iter().map(|&pick| spawn(pick)).collect();
        while !tasks.is_empty() {
            let done = tasks.remove(0).await;
            let failed = match done {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(ProcessorError::Internal(format!("write task failed: {e}"))),
            };
            if let Some(e) = failed {
                // Its siblings' rows are idempotent: stop them, the batch is written again.
                for t in &tasks {
                    t.abort();
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// One table's rows of a pending write.
type Pick = fn(&Pending) -> Option<&Rows>;

/// Starts a batch's write as a task of its own.
fn start_writing<K: BatchSink + Clone + Send + Sync + 'static>(
    w: &Writer<K>,
    mut pending: Pending,
) -> Writing {
    let done = Done {
        offsets: std::mem::take(&mut pending.offsets),
        as_of: pending.as_of,
        produced_ms: std::mem::take(&mut pending.produced_ms),
        drained: pending.drained,
    };
    let p = Arc::new(pending);
    let w = w.clone();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let written = flush(&w, &p).await;
        observe_phase(&w.metrics, "write", started);
        written
    });
    Writing { done, task }
}

/// Waits for a write started by [`start_writing`].
async fn wait_for(
    task: &mut tokio::task::JoinHandle<Result<(), ProcessorError>>,
) -> Result<(), ProcessorError> {
    match task.await {
        Ok(r) => r,
        Err(e) => Err(ProcessorError::Internal(format!("write task failed: {e}"))),
    }
}

/// With `MOTCUA_VERIFY_CELLS` set (the fault tests set it), checks that a partition's cells
/// hold the sum of its dossiers' contributions, and logs an error naming the cells that do
/// not (the fault harness fails on those lines): where the figures went wrong.
fn verify_cells(op: &PartitionOperator, when: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("MOTCUA_VERIFY_CELLS").is_some()) {
        return;
    }
    let wrong = op.verify_cells();
    if !wrong.is_empty() {
        tracing::error!(
            partition = op.partition(),
            when,
            cells = ?wrong,
            "cells disagree with the dossiers' contributions"
        );
    }
}

fn observe_phase(metrics: &ProcessorMetrics, phase: &str, started: Instant) {
    metrics
        .loop_phase
        .with_label_values(&[phase])
        .observe(started.elapsed().as_secs_f64());
}

/// Runs the loop until shutdown (or, with `stop_at_end`, the end of the input).
pub async fn run_loop<S: RecordSource, K: BatchSink + Clone + Send + Sync + 'static>(
    config: LoopConfig,
    shared: Arc<Shared>,
    source: S,
    sink: K,
    metrics: &ProcessorMetrics,
    shutdown: &CancellationToken,
) -> Result<Summary, ProcessorError> {
    let started = Instant::now();
    let config = Arc::new(config);
    let writer = Writer {
        config: config.clone(),
        shutdown: shutdown.clone(),
        metrics: metrics.clone(),
        sink,
    };
    let mut l = Loop {
        config,
        shared,
        source,
        writer,
        metrics,
        shutdown,
        operators: BTreeMap::new(),
        owned: Vec::new(),
        watermarks: Watermarks::new(),
        next: HashMap::new(),
        end_at_assign: HashMap::new(),
        last_positions: None,
        paused: Vec::new(),
        batch_span: chrono::Duration::zero(),
        others_done: false,
        summary: Summary::default(),
        pending: None,
        held: 0,
        last_drain: Instant::now(),
        unstored: BTreeMap::new(),
        unobserved_ms: Vec::new(),
    };
    let result = l.run().await;
    l.source.close();
    l.summary.dossiers = l.operators.values().map(PartitionOperator::dossiers).sum();
    l.summary.elapsed = started.elapsed();
    result.map(|()| l.summary)
}

impl<S: RecordSource, K: BatchSink + Clone + Send + Sync + 'static> Loop<'_, S, K> {
    async fn run(&mut self) -> Result<(), ProcessorError> {
        loop {
            if self.shutdown.is_cancelled() {
                return Ok(());
            }
            let batch_started = Instant::now();
            let (max, wait) = (self.config.batch_max_records, self.config.batch_max_wait);
            // The previous batch is written, on other cores, while this one is read and
            // folded; the rest of this one's processing waits for that write.
            let writing = self.pending.take().map(|p| start_writing(&self.writer, p));
            let metrics = self.metrics;
            let reading = async {
                let started = Instant::now();
                let read = self.source.next_batch(max, wait).await;
                observe_phase(metrics, "read", started);
                read
            };
            let outcome = tokio::select! {
                _ = self.shutdown.cancelled() => None,
                r = reading => Some(r),
            };
            let Some(batch) = outcome else {
                // Stopping: let the write finish if the store lets it (a retry is interrupted
                // by the shutdown itself); otherwise the next start reads the batch again.
                if self.complete(writing).await.is_err() {
                    return Ok(());
                }
                // What held batches folded goes in with a checkpoint, so the next start
                // need not read them again (if the store fails now, it will).
                let _ = self.write_all().await;
                return Ok(());
            };
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) if e.transient => {
                    self.complete(writing).await?;
                    warn!(error = %e, "reading input failed, retrying");
                    self.metrics
                        .retries
                        .with_label_values(&["read input"])
                        .inc();
                    // The client reconnects by itself; do not spin while it does.
                    tokio::time::sleep(self.config.backoff_initial).await;
                    continue;
                }
                Err(e) => {
                    self.complete(writing).await?;
                    return Err(ProcessorError::Permanent(e));
                }
            };
            // While the write runs: an assignment's restores (partitions the write does not
            // hold) and the positions.
            if let Some(assignment) = batch.assignment {
                self.reassign(assignment);
                // Restore every newly owned partition now, not at its first record: the
                // figures it writes next must start from its checkpoint.
                let started = Instant::now();
                self.restore_all().await?;
                self.observe_phase("restore", started);
            }
            let produced_ms = std::mem::take(&mut batch.produced_ms);
            let records: Vec<InputRecord> = batch
                .records
                .into_iter()
                .filter(|r| self.owned.contains(&(r.topic.clone(), r.partition)))
                .collect();
            let started = Instant::now();
            self.refresh_positions(!records.is_empty()).await?;
            self.observe_phase("positions", started);
            if !records.is_empty() {
                let started = Instant::now();
                self.process(records, produced_ms, batch_started, writing)
                    .await?;
                self.observe_phase("process", started);
            } else {
                self.complete(writing).await?;
                if self.held > 0 {
                    // Nothing read: the input is caught up, what was held goes in now.
                    self.drain_held().await?;
                } else {
                    // Nothing read: the watermark may still move (a partition went idle).
                    self.write_progress(&[]).await?;
                }
            }
            self.align()?;
            if self.config.stop_at_end && self.at_end() {
                self.write_all().await?;
                return Ok(());
            }
        }
    }

    fn observe_phase(&self, phase: &str, started: Instant) {
        observe_phase(self.metrics, phase, started);
    }

    /// Waits for a batch's write (if any) and finishes it: stores the offsets, evicts.
    async fn complete(&mut self, writing: Option<Writing>) -> Result<(), ProcessorError> {
        let Some(mut w) = writing else {
            return Ok(());
        };
        let started = Instant::now();
        let written = wait_for(&mut w.task).await;
        self.observe_phase("write wait", started);
        written?;
        self.finish(&w.done)
    }

    /// Writes the pending batch and whatever held batches folded, and finishes them (the
    /// end of the input, a shutdown).
    async fn write_all(&mut self) -> Result<(), ProcessorError> {
        let writing = self.pending.take().map(|p| start_writing(&self.writer, p));
        self.complete(writing).await?;
        if self.held > 0 {
            self.drain_held().await?;
            let writing = self.pending.take().map(|p| start_writing(&self.writer, p));
            self.complete(writing).await?;
        }
        Ok(())
    }

    /// A rebalance: keep the operators of partition numbers still owned (their state is at
    /// least as new as the committed offsets, and nobody else owned them in between: the
    /// group changes owners only across an assignment), drop the others.
    fn reassign(&mut self, assignment: Vec<TopicPartition>) {
        for tp in &self.owned {
            if !assignment.contains(tp) {
                self.watermarks.revoke(&tp.0, tp.1);
                self.next.remove(tp);
                // Its held batches are dropped with its operator: the new owner reads them
                // again from the committed offset.
                self.unstored.remove(tp);
                self.end_at_assign.remove(tp);
                self.metrics
                    .lag
                    .with_label_values(&[&tp.0, &tp.1.to_string()])
                    .set(0);
            }
        }
        for tp in &assignment {
            self.watermarks.assign(&tp.0, tp.1);
        }
        let numbers: HashSet<i32> = assignment.iter().map(|tp| tp.1).collect();
        self.operators.retain(|p, _| numbers.contains(p));
        info!(partitions = ?numbers, "assignment");
        self.owned = assignment;
        // The client may keep a partition paused across a rebalance: start every owned one
        // fetching again, alignment pauses what runs ahead on the next batch.
        if !self.paused.is_empty() {
            let owned = self.owned.clone();
            if let Err(e) = self.source.pause(&[], &owned) {
                warn!(error = %e, "resuming partitions after a rebalance failed");
            }
        }
        self.paused.clear();
        self.last_positions = None;
        self.metrics.partitions_owned.set(numbers.len() as i64);
        self.metrics.rebalances.inc();
    }

    /// Ends and committed offsets (at most once a second): idle partitions, lag, catching up.
    async fn refresh_positions(&mut self, read_something: bool) -> Result<(), ProcessorError> {
        let due = self
            .last_positions
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1) || !read_something);
        if !due || self.owned.is_empty() {
            return Ok(());
        }
        self.last_positions = Some(Instant::now());
        let mut wanted = self.owned.clone();
        if self.config.stop_at_end {
            wanted.extend(
                self.config
                    .inputs
                    .iter()
                    .filter(|tp| !self.owned.contains(tp))
                    .cloned(),
            );
        }
        let positions = match self.source.positions(&wanted).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "reading partition ends failed");
                return Ok(());
            }
        };
        self.others_done = self
            .config
            .inputs
            .iter()
            .filter(|tp| !self.owned.contains(tp))
            .all(|tp| {
                positions
                    .get(tp)
                    .is_some_and(|p| p.end == 0 || p.committed >= p.end)
            });
        for (tp, pos) in positions {
            if !self.owned.contains(&tp) {
                continue;
            }
            let next = *self.next.entry(tp.clone()).or_insert(pos.committed.max(0));
            self.end_at_assign.entry(tp.clone()).or_insert(pos.end);
            self.watermarks.set_idle(&tp.0, tp.1, next >= pos.end);
            self.metrics
                .lag
                .with_label_values(&[&tp.0, &tp.1.to_string()])
                .set((pos.end - next).max(0));
        }
        Ok(())
    }

    /// Pauses the partitions that run ahead in event time and resumes the others, so every
    /// partition is read at about the same event time (a fetch that favours some partitions
    /// would otherwise hold the watermark, and eviction with it, for the whole catch-up).
    ///
    /// The skew allowed is at least twice the event time the last batch moved a partition:
    /// pausing costs a partition what the client had fetched ahead for it, so below that a
    /// catch-up whose batches each span days of event time would pause at every batch, and
    /// twice a batch's worth of dossiers held longer is a bound on memory that does not grow
    /// with the history.
    fn align(&mut self) -> Result<(), ProcessorError> {
        let skew = self.config.max_skew.max(self.batch_span * 2);
        let ahead = self.watermarks.ahead(skew);
        if ahead == self.paused {
            return Ok(());
        }
        let pause: Vec<TopicPartition> = ahead
            .iter()
            .filter(|tp| !self.paused.contains(tp))
            .cloned()
            .collect();
        let resume: Vec<TopicPartition> = self
            .paused
            .iter()
            .filter(|tp| !ahead.contains(tp))
            .cloned()
            .collect();
        self.source
            .pause(&pause, &resume)
            .map_err(ProcessorError::Permanent)?;
        if !pause.is_empty() {
            info!(
                paused = pause.len(),
                "partitions ahead in event time paused until the others catch up"
            );
        }
        self.paused = ahead;
        self.metrics.paused.set(self.paused.len() as i64);
        Ok(())
    }

    fn at_end(&self) -> bool {
        self.others_done
            && !self.owned.is_empty()
            && self
                .owned
                .iter()
                .all(|tp| match (self.next.get(tp), self.end_at_assign.get(tp)) {
                    (Some(n), Some(end)) => n >= end,
                    _ => false,
                })
    }

    /// Restores every owned partition number without an operator, the loads running
    /// concurrently (ClickHouse reads them in parallel).
    async fn restore_all(&mut self) -> Result<(), ProcessorError> {
        let numbers: std::collections::BTreeSet<i32> = self
            .owned
            .iter()
            .map(|tp| tp.1)
            .filter(|p| !self.operators.contains_key(p))
            .collect();
        if numbers.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let retention = self.shared.retention.num_seconds().max(0) as u32;
        let (config, shutdown, metrics, sink) =
            (&self.config, self.shutdown, self.metrics, &self.writer.sink);
        let loads = numbers.iter().map(|&p| async move {
            let r = retry(config, shutdown, metrics, "load checkpoint", || {
                sink.load_partition(p, retention)
            })
            .await;
            (p, r)
        });
        for (p, restored) in futures_util::future::join_all(loads).await {
            self.install(p, restored?, started)?;
        }
        Ok(())
    }

    async fn ensure_operator(&mut self, partition: i32) -> Result<(), ProcessorError> {
        if self.operators.contains_key(&partition) {
            return Ok(());
        }
        let started = Instant::now();
        // Ended dossiers within retention of the last published watermark stay in memory.
        let retention = self.shared.retention.num_seconds().max(0) as u32;
        let restored = retry(
            &self.config,
            self.shutdown,
            self.metrics,
            "load checkpoint",
            || self.writer.sink.load_partition(partition, retention),
        )
        .await?;
        self.install(partition, restored, started)
    }

    /// A partition's operator from its checkpoint.
    fn install(
        &mut self,
        partition: i32,
        restored: Restored,
        started: Instant,
    ) -> Result<(), ProcessorError> {
        let mut op = PartitionOperator::new(partition, self.shared.clone());
        let resident = restored.resident.len();
        op.restore(restored.resident, &restored.evicted, restored.dead_lettered)
            .map_err(ProcessorError::Internal)?;
        verify_cells(&op, "restored");
        for (topic, t) in &restored.partition_times {
            if *t > 0 {
                op.seed_partition_time(topic, secs_to_ts(*t));
            }
        }
        if restored.watermark > 0 {
            self.watermarks.raise_floor(secs_to_ts(restored.watermark));
        }
        info!(
            partition,
            resident,
            evicted = op.evicted(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "partition state restored"
        );
        self.metrics
            .restore_duration
            .observe(started.elapsed().as_secs_f64());
        self.operators.insert(partition, op);
        Ok(())
    }

    async fn process(
        &mut self,
        records: Vec<InputRecord>,
        produced_ms: Vec<i64>,
        started: Instant,
        writing: Option<Writing>,
    ) -> Result<(), ProcessorError> {
        let now = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        // A full batch means more is waiting: fold it and hold its figures, up to a bound.
        let drain = records.len() < self.config.batch_max_records
            || self.held + 1 >= self.config.hold_max_batches
            || self.last_drain.elapsed() >= self.config.hold_max_time;
        let mut by_partition: BTreeMap<i32, Vec<InputRecord>> = BTreeMap::new();
        for r in records {
            by_partition.entry(r.partition).or_default().push(r);
        }
        for (&p, recs) in &by_partition {
            self.ensure_operator(p).await?;
            let missing = self.operators[&p].missing(recs.iter());
            if !missing.is_empty() {
                let rows = retry(
                    &self.config,
                    self.shutdown,
                    self.metrics,
                    "load evicted dossiers",
                    || self.writer.sink.load_dossiers(p, &missing),
                )
                .await?;
                self.metrics.reloaded.inc_by(rows.len() as u64);
                self.operators
                    .get_mut(&p)
                    .expect("ensured")
                    .reinstate(rows)
                    .map_err(ProcessorError::Internal)?;
            }
        }
        // Fold off the reactor, one thread per partition number (operators are independent).
        let mut work: Vec<(PartitionOperator, Vec<InputRecord>)> = by_partition
            .into_iter()
            .map(|(p, recs)| (self.operators.remove(&p).expect("ensured"), recs))
            .collect();
        let folded = tokio::task::spawn_blocking(move || {
            let outcomes: Vec<Vec<Outcome>> = std::thread::scope(|scope| {
                let handles: Vec<_> = work
                    .iter_mut()
                    .map(|(op, recs)| {
                        let recs = &*recs;
                        scope.spawn(move || {
                            recs.iter()
                                .map(|r| op.ingest(r, now))
                                .collect::<Vec<Outcome>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("operators do not panic"))
                    .collect()
            });
            (work, outcomes)
        })
        .await
        .map_err(|e| ProcessorError::Internal(format!("fold task failed: {e}")))?;
        let (work, outcomes) = folded;
        // The fold ran beside the previous batch's write; what follows needs it in: refolds
        // read the raw rows it holds, and its finish evicts (dossiers this fold changed are
        // dirty, so they stay).
        self.complete(writing).await?;

        let mut events = Vec::new();
        let mut dead = Vec::new();
        let mut offsets: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        let mut consumed_by_topic: HashMap<String, u64> = HashMap::new();
        let mut folded_by_kind: HashMap<&'static str, u64> = HashMap::new();
        let mut duplicates = 0u64;
        let mut accepted = 0u64;
        let mut count = 0usize;
        let mut span = chrono::Duration::zero();
        for ((op, recs), outs) in work.into_iter().zip(outcomes) {
            for (r, out) in recs.into_iter().zip(outs) {
                count += 1;
                *consumed_by_topic.entry(r.topic.clone()).or_default() += 1;
                let tp = (r.topic.clone(), r.partition);
                let e = offsets.entry(tp).or_insert(r.offset + 1);
                *e = (*e).max(r.offset + 1);
                match out {
                    Outcome::Accepted {
                        row,
                        duplicate,
                        kind,
                    } => {
                        accepted += 1;
                        duplicates += duplicate as u64;
                        *folded_by_kind.entry(kind).or_default() += !duplicate as u64;
                        events.push(*row);
                    }
                    Outcome::Rejected(rejection) => dead.push(DeadLetter {
                        record: r,
                        rejection,
                    }),
                    Outcome::Conflicting { row, rejection } => {
                        events.push(*row);
                        dead.push(DeadLetter {
                            record: r,
                            rejection,
                        });
                    }
                    Outcome::AlreadyDeadLettered => {}
                }
            }
            for (topic, t) in op.partition_times() {
                let moved = self.watermarks.observe(topic, op.partition(), t);
                span = span.max(moved);
            }
            self.operators.insert(op.partition(), op);
        }
        self.batch_span = span;
        for (tp, next) in &offsets {
            // After a rebalance the records from the committed offset come again: the
            // position only moves forward.
            let n = self.next.entry(tp.clone()).or_insert(*next);
            *n = (*n).max(*next);
        }
        self.mark_idle_from_known_ends();

        // Dead letters first, acknowledged, then the raw log.
        let mut ledger = self.publish_dead_letters(&dead).await?;
        // A raw row per distinct event; conflicting versions are distinct rows.
        events.sort_by(|a, b| {
            (&a.dossier_code, &a.event_id, a.content_hash).cmp(&(
                &b.dossier_code,
                &b.event_id,
                b.content_hash,
            ))
        });
        events.dedup_by(|a, b| {
            (&a.dossier_code, &a.event_id, a.content_hash)
                == (&b.dossier_code, &b.event_id, b.content_hash)
        });
        // Conflicts won by a later read: refold from the stored versions, this batch's
        // included, so its raw rows go in first. Without a conflict (the usual case) they are
        // written with the rest of the batch, while the next one is read.
        let rebuilds: Vec<(i32, Vec<String>)> = self
            .operators
            .iter_mut()
            .map(|(p, op)| (*p, op.take_rebuilds()))
            .filter(|(_, codes)| !codes.is_empty())
            .collect();
        let events = if rebuilds.is_empty() {
            Rows::Events(events)
        } else {
            self.write(Rows::Events(events)).await?;
            Rows::Events(Vec::new())
        };
        let mut superseded = Vec::new();
        for (p, codes) in rebuilds {
            for code in codes {
                let stored = retry(
                    &self.config,
                    self.shutdown,
                    self.metrics,
                    "read stored events",
                    || self.writer.sink.dossier_events(&code),
                )
                .await?;
                let losers = self
                    .operators
                    .get_mut(&p)
                    .expect("held")
                    .rebuild(&code, stored)
                    .map_err(ProcessorError::Internal)?;
                superseded.extend(losers.into_iter().map(|s| DeadLetter {
                    record: s.record,
                    rejection: s.rejection,
                }));
            }
        }
        ledger.extend(self.publish_dead_letters(&superseded).await?);
        let rejected = dead.len() + superseded.len();
        for d in dead.iter().chain(&superseded) {
            *self
                .summary
                .rejected_by_reason
                .entry(d.rejection.kind.as_str())
                .or_default() += 1;
        }

        self.prepare_outputs(now, events, ledger, offsets, produced_ms, drain)
            .await?;

        // Metrics and summary, once per batch.
        for (topic, n) in &consumed_by_topic {
            self.metrics.consumed.with_label_values(&[topic]).inc_by(*n);
        }
        for (kind, n) in &folded_by_kind {
            self.metrics.folded.with_label_values(&[kind]).inc_by(*n);
        }
        self.metrics.duplicates.inc_by(duplicates);
        self.metrics
            .dossiers
            .set(self.operators.values().map(|o| o.dossiers()).sum::<usize>() as i64);
        self.metrics
            .evicted
            .set(self.operators.values().map(|o| o.evicted()).sum::<usize>() as i64);
        self.metrics.awaiting_receipt.set(
            self.operators
                .values()
                .map(|o| o.awaiting_receipt())
                .sum::<usize>() as i64,
        );
        self.metrics.batch_size.observe(count as f64);
        let took = started.elapsed().as_secs_f64();
        self.metrics.batch_duration.observe(took);
        self.summary.batch_seconds.push(took);
        self.summary.consumed += count as u64;
        self.summary.accepted += accepted;
        self.summary.duplicates += duplicates;
        self.summary.rejected += rejected as u64;
        self.summary.batches += 1;
        Ok(())
    }

    /// Partitions whose last known end has been reached are idle.
    fn mark_idle_from_known_ends(&mut self) {
        for tp in &self.owned {
            if let (Some(n), Some(end)) = (self.next.get(tp), self.end_at_assign.get(tp)) {
                if n >= end {
                    self.watermarks.set_idle(&tp.0, tp.1, true);
                }
            }
        }
    }

    async fn publish_dead_letters(
        &mut self,
        dead: &[DeadLetter],
    ) -> Result<Vec<DeadLetterRow>, ProcessorError> {
        if dead.is_empty() {
            return Ok(Vec::new());
        }
        let rows = retry(
            &self.config,
            self.shutdown,
            self.metrics,
            "publish dead letters",
            || self.writer.sink.dead_letters(dead),
        )
        .await?;
        for d in dead {
            self.metrics
                .rejected
                .with_label_values(&[d.rejection.kind.as_str()])
                .inc();
            warn!(topic = %d.record.topic, partition = d.record.partition, offset = d.record.offset,
                  reason = %d.rejection, "record dead-lettered");
            if let Some(op) = self.operators.get_mut(&d.record.partition) {
                op.dead_lettered(&d.record.topic, d.record.offset);
            }
        }
        Ok(rows)
    }

    async fn write(&self, rows: Rows) -> Result<(), ProcessorError> {
        write_rows(
            &self.config,
            self.shutdown,
            self.metrics,
            &self.writer.sink,
            &rows,
        )
        .await
    }

    /// Drains what the held batches folded and writes it now (the input went idle, the end
    /// of a `--stop-at-end` run, a shutdown): leaves it as the pending write.
    async fn drain_held(&mut self) -> Result<(), ProcessorError> {
        let now = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        self.prepare_outputs(
            now,
            Rows::Events(Vec::new()),
            Vec::new(),
            BTreeMap::new(),
            Vec::new(),
            true,
        )
        .await
    }

    /// With `drain`, drains every operator (classification off the reactor) into the rows
    /// of a pending write: figures, checkpoint, cells, ledger, progress, and the offsets to
    /// store after. Without, the batch is held: only its raw rows and ledger are written,
    /// and its offsets wait for the next drained batch.
    async fn prepare_outputs(
        &mut self,
        now: u32,
        events: Rows,
        ledger: Vec<DeadLetterRow>,
        offsets: BTreeMap<TopicPartition, i64>,
        produced_ms: Vec<i64>,
        drain: bool,
    ) -> Result<(), ProcessorError> {
        let as_of = self.watermarks.current();
        if !drain {
            self.write(Rows::DeadLetters(ledger)).await?;
            self.held += 1;
            self.metrics.held_batches.inc();
            self.pending = Some(Pending {
                events,
                states: Rows::States(Vec::new()),
                steps: Rows::Steps(Vec::new()),
                periods: Rows::Periods(Vec::new()),
                checkpoints: Rows::Checkpoints(Vec::new()),
                aggregates: Rows::Aggregates(Vec::new()),
                progress: None,
                offsets: offsets.into_iter().collect(),
                as_of,
                produced_ms,
                drained: false,
            });
            return Ok(());
        }
        self.held = 0;
        self.last_drain = Instant::now();
        let ops = std::mem::take(&mut self.operators);
        // One thread per partition number, as the fold: the operators are independent.
        let (ops, changed) = tokio::task::spawn_blocking(move || {
            let mut ops = ops;
            let changed: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = ops
                    .values_mut()
                    .map(|op| scope.spawn(move || op.drain(as_of, now)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("operators do not panic"))
                    .collect()
            });
            (ops, changed)
        })
        .await
        .map_err(|e| ProcessorError::Internal(format!("drain task failed: {e}")))?;
        self.operators = ops;
        let mut overdue: HashMap<String, i64> = HashMap::new();
        for op in self.operators.values() {
            verify_cells(op, "drained");
            for (level, n) in op.overdue_by_level() {
                *overdue.entry(level.to_lowercase()).or_default() += n;
            }
        }
        for level in ["ministry", "province", "district", "commune"] {
            self.metrics
                .overdue
                .with_label_values(&[level])
                .set(overdue.get(level).copied().unwrap_or(0));
        }
        let mut states = Vec::new();
        let mut steps = Vec::new();
        let mut periods = Vec::new();
        let mut checkpoints = Vec::new();
        let mut aggregates = Vec::new();
        for c in changed {
            let off = c.off_calendar();
            if off > 0 {
                self.metrics.off_calendar.inc_by(off);
                warn!(
                    dossiers = off,
                    "dossiers with dates in a year with no announced working-day calendar: \
                     counted on the provisional calendar derived from the Labour Code \
                     (add data/calendar/vn/<year>.json when announced)"
                );
            }
            states.extend(c.states);
            steps.extend(c.steps);
            periods.extend(c.periods);
            checkpoints.extend(c.checkpoints);
            aggregates.extend(c.aggregates);
        }
        // The ledger now, not with the rest: a record dead-lettered must not be sent again
        // after a restart, whatever becomes of the batch's other writes.
        self.write(Rows::DeadLetters(ledger)).await?;
        // The held batches' partitions are this write's too.
        let mut touched: Vec<TopicPartition> = offsets.keys().cloned().collect();
        touched.extend(self.unstored.keys().cloned());
        touched.sort();
        touched.dedup();
        let progress = self.progress_rows(&touched).map(Rows::Progress);
        self.pending = Some(Pending {
            events,
            states: Rows::States(states),
            steps: Rows::Steps(steps),
            periods: Rows::Periods(periods),
            checkpoints: Rows::Checkpoints(checkpoints),
            aggregates: Rows::Aggregates(aggregates),
            progress,
            offsets: offsets.into_iter().collect(),
            as_of,
            produced_ms,
            drained: true,
        });
        Ok(())
    }

    /// After a pending write is in: for a drained batch, store its offsets and those of the
    /// batches held before it, then evict (a dossier is never evicted before its checkpoint
    /// row exists); a held batch's offsets wait.
    fn finish(&mut self, p: &Done) -> Result<(), ProcessorError> {
        for (tp, next) in &p.offsets {
            let e = self.unstored.entry(tp.clone()).or_insert(*next);
            *e = (*e).max(*next);
        }
        self.unobserved_ms.extend_from_slice(&p.produced_ms);
        if !p.drained {
            return Ok(());
        }
        let offsets: Vec<(TopicPartition, i64)> =
            std::mem::take(&mut self.unstored).into_iter().collect();
        self.source
            .store_offsets(&offsets)
            .map_err(ProcessorError::Permanent)?;
        let visible_ms = chrono::Utc::now().timestamp_millis();
        for at in std::mem::take(&mut self.unobserved_ms) {
            self.metrics
                .end_to_end_latency
                .observe((visible_ms - at).max(0) as f64 / 1000.0);
        }
        for op in self.operators.values_mut() {
            let evicted = op.evict(p.as_of);
            self.metrics.evictions.inc_by(evicted.dossiers as u64);
            self.metrics
                .unmatched_ratings_expired
                .inc_by(evicted.unmatched_ratings);
        }
        Ok(())
    }

    /// Writes the progress now (an idle loop: nothing pending).
    async fn write_progress(&mut self, touched: &[TopicPartition]) -> Result<(), ProcessorError> {
        match self.progress_rows(touched) {
            Some(rows) => self.write(Rows::Progress(rows)).await,
            None => Ok(()),
        }
    }

    /// Progress rows for every owned partition (the watermark moved for all of them), or
    /// none for an idle loop whose watermark did not move.
    fn progress_rows(&mut self, touched: &[TopicPartition]) -> Option<Vec<ProgressRow>> {
        let before = self.metrics.watermark.get();
        let watermark = self
            .watermarks
            .current()
            .map(|w| w.timestamp().clamp(0, u32::MAX as i64) as u32)
            .unwrap_or_default();
        let now = chrono::Utc::now().timestamp().clamp(0, u32::MAX as i64) as u32;
        let mut rows = Vec::new();
        let mut catching_up = 0;
        for tp in &self.owned {
            let Some(next) = self.next.get(tp) else {
                continue;
            };
            let behind = self.end_at_assign.get(tp).is_some_and(|end| next < end);
            catching_up += behind as i64;
            let partition_time = self
                .operators
                .get(&tp.1)
                .and_then(|op| {
                    op.partition_times()
                        .find(|(t, _)| *t == tp.0)
                        .map(|(_, ts)| ts)
                })
                .map(|t| t.timestamp().clamp(0, u32::MAX as i64) as u32)
                .unwrap_or_default();
            rows.push(ProgressRow {
                consumer_group: self.config.group.clone(),
                kafka_topic: tp.0.clone(),
                kafka_partition: tp.1 as u32,
                next_offset: (*next).max(0) as u64,
                watermark,
                updated_at: now,
                partition_time,
                catching_up: behind as u8,
            });
        }
        self.metrics.catching_up.set(catching_up);
        // An idle loop writes progress only when the watermark moved.
        if touched.is_empty() && i64::from(watermark) == before {
            return None;
        }
        self.metrics.watermark.set(i64::from(watermark));
        Some(rows)
    }
}

fn secs_to_ts(s: u32) -> Timestamp {
    chrono::DateTime::from_timestamp(i64::from(s), 0)
        .expect("in range")
        .with_timezone(&motcua_core::fold::vietnam())
}
