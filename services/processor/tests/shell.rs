//! The processor loop's failure paths with in-memory fakes and paused time: retries with
//! backoff, a permanent error, shutdown while retrying, a poison record, a rebalance and a
//! restore from a checkpoint. No broker, no ClickHouse: the same loop runs against them in
//! tests/it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::samples;
use motcua_processor::operator::{InputRecord, Shared};
use motcua_processor::shell::{
    run_loop, BatchSink, DeadLetter, ExternalError, LoopConfig, Position, RecordSource, Restored,
    Rows, SourceBatch, TopicPartition,
};
use motcua_processor::ProcessorError;
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::{CheckpointRow, DeadLetterRow, StoredEvent};
use tokio_util::sync::CancellationToken;

/// Scripted batches; records every offset stored.
#[derive(Default)]
struct FakeSource {
    batches: VecDeque<SourceBatch>,
    ends: HashMap<TopicPartition, i64>,
    stored: Arc<Mutex<Vec<(TopicPartition, i64)>>>,
}

impl RecordSource for FakeSource {
    async fn next_batch(
        &mut self,
        _max: usize,
        wait: Duration,
    ) -> Result<SourceBatch, ExternalError> {
        match self.batches.pop_front() {
            Some(b) => Ok(b),
            None => {
                tokio::time::sleep(wait).await;
                Ok(SourceBatch::default())
            }
        }
    }

    async fn positions(
        &mut self,
        owned: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Position>, ExternalError> {
        Ok(owned
            .iter()
            .map(|tp| {
                let end = self.ends.get(tp).copied().unwrap_or(0);
                (tp.clone(), Position { end, committed: -1 })
            })
            .collect())
    }

    fn store_offsets(&mut self, offsets: &[(TopicPartition, i64)]) -> Result<(), ExternalError> {
        self.stored.lock().unwrap().extend_from_slice(offsets);
        Ok(())
    }

    fn pause(&mut self, _p: &[TopicPartition], _r: &[TopicPartition]) -> Result<(), ExternalError> {
        Ok(())
    }

    fn close(&mut self) {}
}

/// Tables in memory; writes fail as scripted (per table: a queue of "transient?" flags).
#[derive(Default, Clone)]
struct FakeSink {
    failures: Arc<Mutex<HashMap<&'static str, VecDeque<bool>>>>,
    always_fail: Arc<Mutex<Option<&'static str>>>,
    written: Arc<Mutex<HashMap<&'static str, usize>>>,
    dead: Arc<Mutex<Vec<DeadLetter>>>,
    checkpoint: Arc<Mutex<Vec<CheckpointRow>>>,
}

impl BatchSink for FakeSink {
    async fn load_partition(&self, _p: i32, _r: u32) -> Result<Restored, ExternalError> {
        Ok(Restored {
            resident: self.checkpoint.lock().unwrap().clone(),
            ..Restored::default()
        })
    }

    async fn load_dossiers(
        &self,
        _p: i32,
        _c: &[String],
    ) -> Result<Vec<CheckpointRow>, ExternalError> {
        Ok(Vec::new())
    }

    async fn dossier_events(&self, _c: &str) -> Result<Vec<StoredEvent>, ExternalError> {
        Ok(Vec::new())
    }

    async fn dead_letters(
        &self,
        letters: &[DeadLetter],
    ) -> Result<Vec<DeadLetterRow>, ExternalError> {
        self.dead.lock().unwrap().extend_from_slice(letters);
        Ok(Vec::new())
    }

    async fn write(&self, rows: &Rows) -> Result<(), ExternalError> {
        let table = rows.table();
        if *self.always_fail.lock().unwrap() == Some(table) {
            return Err(ExternalError::transient(
                format!("insert into {table}"),
                "connection refused",
            ));
        }
        if let Some(transient) = self
            .failures
            .lock()
            .unwrap()
            .get_mut(table)
            .and_then(VecDeque::pop_front)
        {
            let what = format!("insert into {table}");
            return Err(if transient {
                ExternalError::transient(what, "connection refused")
            } else {
                ExternalError::permanent(what, "Code: 16. No such column")
            });
        }
        if let Rows::Checkpoints(v) = rows {
            self.checkpoint.lock().unwrap().extend(v.iter().cloned());
        }
        *self.written.lock().unwrap().entry(table).or_default() += rows.len();
        Ok(())
    }
}

fn shared() -> Arc<Shared> {
    Shared::new(
        Clock::default(),
        Pseudonymizer::new(b"shell-test-key-0123456789").unwrap(),
        chrono::Duration::days(30),
        "g".into(),
    )
}

fn config() -> LoopConfig {
    LoopConfig {
        group: "g".into(),
        batch_max_records: 100,
        batch_max_wait: Duration::from_millis(100),
        stop_at_end: true,
        backoff_initial: Duration::from_millis(200),
        backoff_max: Duration::from_secs(10),
        max_skew: chrono::Duration::days(1),
        hold_max_batches: 1,
        hold_max_time: Duration::from_secs(5),
        inputs: vec![("t".into(), 0)],
    }
}

/// The sample dossier's events on partition 0 of one topic, plus optional bad records.
fn records(bad: usize) -> Vec<InputRecord> {
    let codec = Codec::new();
    let mut out: Vec<InputRecord> = samples::all_kinds()
        .iter()
        .map(|e| {
            (
                e.dossier_code.clone(),
                codec.encode(e, Encoding::Avro).unwrap(),
            )
        })
        .chain((0..bad).map(|_| (samples::DOSSIER.to_string(), b"{broken".to_vec())))
        .enumerate()
        .map(|(i, (key, payload))| InputRecord {
            topic: "t".into(),
            partition: 0,
            offset: i as i64,
            key: Some(key.into_bytes()),
            payload: Some(payload),
        })
        .collect();
    out.rotate_left(bad.min(1)); // a bad record in the middle, not only at the end
    for (i, r) in out.iter_mut().enumerate() {
        r.offset = i as i64;
    }
    out
}

fn source(batches: Vec<SourceBatch>) -> FakeSource {
    let mut ends = HashMap::new();
    for b in &batches {
        for r in &b.records {
            let e = ends.entry((r.topic.clone(), r.partition)).or_insert(0);
            *e = (*e).max(r.offset + 1);
        }
    }
    FakeSource {
        batches: batches.into(),
        ends,
        ..FakeSource::default()
    }
}

fn one_batch(records: Vec<InputRecord>) -> Vec<SourceBatch> {
    vec![SourceBatch {
        records,
        assignment: Some(vec![("t".into(), 0)]),
        ..Default::default()
    }]
}

#[tokio::test(start_paused = true)]
async fn a_transient_write_failure_is_retried_with_backoff_and_offsets_wait_for_it() {
    let src = source(one_batch(records(0)));
    let stored = src.stored.clone();
    let sink = FakeSink::default();
    sink.failures
        .lock()
        .unwrap()
        .insert("dossier_state", VecDeque::from([true, true]));
    let metrics = ProcessorMetrics::new();
    let started = tokio::time::Instant::now();
    let summary = run_loop(
        config(),
        shared(),
        src,
        sink.clone(),
        &metrics,
        &CancellationToken::new(),
    )
    .await
    .expect("recovers");
    assert_eq!(summary.consumed, samples::all_kinds().len() as u64);
    // Two failures: waits of 200 ms and 400 ms (paused time advances exactly).
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(metrics
        .render()
        .contains(r#"motcua_processor_retries_total{operation="dossier_state"} 2"#));
    assert_eq!(sink.written.lock().unwrap()["dossier_state"], 1);
    assert_eq!(
        stored.lock().unwrap().as_slice(),
        &[(("t".to_string(), 0), 11)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_stops_the_loop_naming_it_and_stores_no_offset() {
    let src = source(one_batch(records(0)));
    let stored = src.stored.clone();
    let sink = FakeSink::default();
    sink.failures
        .lock()
        .unwrap()
        .insert("dossier_steps", VecDeque::from([false]));
    let err = run_loop(
        config(),
        shared(),
        src,
        sink,
        &ProcessorMetrics::new(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("stops");
    let text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(matches!(err, ProcessorError::Permanent(_)), "{text}");
    assert!(
        text.contains("dossier_steps") && text.contains("No such column"),
        "{text}"
    );
    assert!(stored.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn shutdown_while_retrying_interrupts_without_storing_offsets() {
    let src = source(one_batch(records(0)));
    let stored = src.stored.clone();
    let sink = FakeSink::default();
    *sink.always_fail.lock().unwrap() = Some("dossier_events");
    let shutdown = CancellationToken::new();
    let stopper = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        stopper.cancel();
    });
    let metrics = ProcessorMetrics::new();
    let err = run_loop(config(), shared(), src, sink, &metrics, &shutdown)
        .await
        .expect_err("interrupted");
    assert!(matches!(err, ProcessorError::Interrupted), "{err}");
    assert!(stored.lock().unwrap().is_empty());
    // Backoff is capped: 200 ms doubling to 10 s, so about 15 attempts in 120 s, not 600.
    let rendered = metrics.render();
    let line = rendered
        .lines()
        .find(|l| l.starts_with("motcua_processor_retries_total{operation=\"dossier_events\"}"))
        .unwrap();
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((10.0..20.0).contains(&n), "{n} retries");
    assert!(rendered.contains("motcua_processor_retrying 1"));
}

#[tokio::test(start_paused = true)]
async fn a_poison_record_is_dead_lettered_and_its_neighbours_fold() {
    let src = source(one_batch(records(1)));
    let stored = src.stored.clone();
    let sink = FakeSink::default();
    let summary = run_loop(
        config(),
        shared(),
        src,
        sink.clone(),
        &ProcessorMetrics::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(summary.rejected, 1);
    assert_eq!(summary.accepted, samples::all_kinds().len() as u64);
    assert_eq!(sink.dead.lock().unwrap().len(), 1);
    assert_eq!(
        stored.lock().unwrap().as_slice(),
        &[(("t".to_string(), 0), 12)]
    );
}

#[tokio::test(start_paused = true)]
async fn records_of_a_partition_revoked_by_a_rebalance_are_left_to_its_new_owner() {
    let mut on_one = records(0);
    for r in &mut on_one {
        r.partition = 1;
    }
    let batches = vec![
        SourceBatch {
            records: records(0)[..3].to_vec(),
            assignment: Some(vec![("t".into(), 0), ("t".into(), 1)]),
            ..Default::default()
        },
        // The group moved partition 1 elsewhere; records fetched before still arrive.
        SourceBatch {
            records: records(0)[3..].iter().cloned().chain(on_one).collect(),
            assignment: Some(vec![("t".into(), 0)]),
            ..Default::default()
        },
    ];
    let src = source(batches);
    let stored = src.stored.clone();
    let summary = run_loop(
        config(),
        shared(),
        src,
        FakeSink::default(),
        &ProcessorMetrics::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(summary.consumed, samples::all_kinds().len() as u64);
    assert!(
        stored.lock().unwrap().iter().all(|(tp, _)| tp.1 == 0),
        "{:?}",
        stored.lock().unwrap()
    );
}

#[tokio::test(start_paused = true)]
async fn a_restored_checkpoint_makes_replayed_records_duplicates() {
    let sink = FakeSink::default();
    run_loop(
        config(),
        shared(),
        source(one_batch(records(0))),
        sink.clone(),
        &ProcessorMetrics::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(!sink.checkpoint.lock().unwrap().is_empty());
    // A new process (new operators) over the same sink: the replayed batch changes nothing.
    let again = run_loop(
        config(),
        shared(),
        source(one_batch(records(0))),
        sink.clone(),
        &ProcessorMetrics::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(again.duplicates, samples::all_kinds().len() as u64);
}

/// The sample dossier's events in full batches of three (the last one short when `short`).
fn in_threes(short: bool) -> (Vec<SourceBatch>, LoopConfig) {
    let mut all = records(0);
    if !short {
        all.truncate(9);
    }
    let batches = all
        .chunks(3)
        .enumerate()
        .map(|(i, c)| SourceBatch {
            records: c.to_vec(),
            assignment: (i == 0).then(|| vec![("t".into(), 0)]),
            ..Default::default()
        })
        .collect();
    let mut c = config();
    c.batch_max_records = 3;
    (batches, c)
}

fn counter(metrics: &ProcessorMetrics, name: &str) -> f64 {
    metrics
        .render()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

/// Runs the loop over the batches with `c` until it stops (the end of the input, or
/// `shutdown`): the offsets stored, the sink, the metrics.
async fn run_held(
    src: FakeSource,
    c: LoopConfig,
    shutdown: &CancellationToken,
) -> (Vec<(TopicPartition, i64)>, FakeSink, ProcessorMetrics) {
    let stored = src.stored.clone();
    let sink = FakeSink::default();
    let metrics = ProcessorMetrics::new();
    run_loop(c, shared(), src, sink.clone(), &metrics, shutdown)
        .await
        .unwrap();
    let stored = stored.lock().unwrap().clone();
    (stored, sink, metrics)
}

fn states_written(sink: &FakeSink) -> usize {
    sink.written.lock().unwrap()["dossier_state"]
}

#[tokio::test(start_paused = true)]
async fn full_batches_are_held_and_written_as_one_with_their_offsets() {
    // Batches of 3, 3, 3 (full) and 2: the first two are held, the third reaches the bound
    // of three and is written with them, the short one is written at once.
    let (batches, mut c) = in_threes(true);
    c.hold_max_batches = 3;
    let (stored, sink, metrics) = run_held(source(batches), c, &CancellationToken::new()).await;
    assert_eq!(
        stored,
        [(("t".to_string(), 0), 9), (("t".to_string(), 0), 11)],
        "offsets are stored only with a drained batch, covering the held ones"
    );
    assert_eq!(
        sink.written.lock().unwrap()["dossier_events"],
        11,
        "raw rows go in with every batch"
    );
    assert_eq!(
        states_written(&sink),
        2,
        "one dossier changed in four batches is written once per drain"
    );
    assert_eq!(
        counter(&metrics, "motcua_processor_held_batches_total"),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn held_batches_are_written_at_the_end_of_the_input() {
    // Three full batches, all held (bound 10): the end of a --stop-at-end run drains them.
    let (batches, mut c) = in_threes(false);
    c.hold_max_batches = 10;
    let (stored, sink, metrics) = run_held(source(batches), c, &CancellationToken::new()).await;
    assert_eq!(stored, [(("t".to_string(), 0), 9)]);
    assert_eq!(states_written(&sink), 1);
    assert!(!sink.checkpoint.lock().unwrap().is_empty(), "checkpointed");
    assert_eq!(
        counter(&metrics, "motcua_processor_held_batches_total"),
        3.0
    );
}

#[tokio::test(start_paused = true)]
async fn held_batches_are_written_once_the_input_goes_idle() {
    let (batches, mut c) = in_threes(false);
    c.hold_max_batches = 10;
    c.stop_at_end = false;
    let src = source(batches);
    let watch = src.stored.clone();
    let shutdown = CancellationToken::new();
    let stopper = shutdown.clone();
    // Idle reads take 100 ms (paused time): look after 5 s, before any stop, then stop.
    let before_stop = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let seen = watch.lock().unwrap().clone();
        stopper.cancel();
        seen
    });
    let (stored, sink, _) = run_held(src, c, &shutdown).await;
    assert_eq!(
        before_stop.await.unwrap(),
        [(("t".to_string(), 0), 9)],
        "an empty read drained what was held, before the stop"
    );
    assert_eq!(stored, [(("t".to_string(), 0), 9)]);
    assert_eq!(states_written(&sink), 1);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_writes_what_was_held() {
    let (batches, mut c) = in_threes(false);
    c.hold_max_batches = 10;
    c.stop_at_end = false;
    // The source never goes idle: each read after the scripted ones waits for the stop.
    c.batch_max_wait = Duration::from_secs(3_600);
    let shutdown = CancellationToken::new();
    let stopper = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        stopper.cancel();
    });
    let (stored, sink, _) = run_held(source(batches), c, &shutdown).await;
    assert_eq!(stored, [(("t".to_string(), 0), 9)]);
    assert_eq!(states_written(&sink), 1);
}
