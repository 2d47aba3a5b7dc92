//! `motcua load`: drives the whole pipeline, simulator to ClickHouse, flat out or at a set
//! rate, and measures it in one run.
//!
//! One run owns fresh topics (`<prefix>-load-<run>.*`), a fresh database
//! (`<database>_load_<run>`) and its own consumer group, so runs never collide and nothing
//! an earlier run left behind is counted. The processor is the real `motcua process`, run
//! as a child process so its CPU time and memory can be read from `/proc` apart from the
//! load generator's; the events come from the simulator and go through the producer library
//! agency systems embed (validation, encoding, idempotent producer).
//!
//! End-to-end latency, event produced → visible in ClickHouse, is measured for every event
//! from two clocks on this machine: the instant the event is handed to the producer, and the
//! first poll of `processor_progress` that shows its partition's `next_offset` past the
//! event's offset (Kafka's acknowledgement gives the offset). The processor writes a batch's
//! progress rows after the batch's figure, state and raw rows (docs/CONTRACT.md), so an event
//! counted there has its figures readable. The poll interval bounds the error (latencies are
//! rounded up by at most one interval plus the query time). A sample of events (one in
//! `--sample-every`) is also looked up by id in the raw log `dossier_events`, as a check
//! that does not rely on the progress contract.
//!
//! The broker's own ceiling is a bare consumer reading the same topics from the start once
//! the pipeline is drained, in the same run: the pipeline's rate reads against it.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clickhouse::Row;
use futures_util::FutureExt;
use motcua_core::codec::Encoding;
use motcua_core::names;
use motcua_producer::{EventProducer, SendError};
use motcua_runtime::shutdown;
use motcua_sim::{SimConfig, Simulator};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::Common;

/// Deliveries in flight before the oldest is awaited (as `motcua publish`).
const IN_FLIGHT: usize = 20_000;
/// Events per dossier per calendar day the simulator yields, roughly (75 564 events over 21
/// days at 1 000 dossiers per working day): sizes the simulated span for `--events`.
const EVENTS_PER_DOSSIER_DAY: f64 = 3.6;
/// Sampled events looked up in `dossier_events` per query (under `max_query_size`).
const SAMPLES_PER_QUERY: usize = 500;

/// `motcua load` flags.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Events per second to produce; default: flat out.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Events to produce [default: 200000 when --duration is not given either].
    #[arg(long)]
    pub events: Option<u64>,
    /// How long to produce, e.g. `90s`, `5m`, `1h` (with --events: whichever comes first).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Encoding on the wire: `avro` or `json`.
    #[arg(long, default_value = "avro")]
    pub format: Encoding,
    /// Partitions per topic.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Publish everything first, then start the processor: measures reading a loaded topic
    /// (a replay) without the producer on the same cores; no latency is reported.
    #[arg(long)]
    pub preload: bool,
    /// Random seed of the simulator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First simulated day; the working-day calendar has data up to 2026.
    #[arg(long, default_value = "2026-01-05")]
    pub start: chrono::NaiveDate,
    /// Average dossiers received per working day across the province.
    #[arg(long, default_value_t = 4000)]
    pub dossiers_per_day: u32,
    /// How often ClickHouse is polled for progress, in milliseconds (the latency resolution).
    #[arg(long, default_value_t = 100)]
    pub poll_ms: u64,
    /// One event in this many is also looked up by id in `dossier_events`; 0: none.
    #[arg(long, default_value_t = 1000)]
    pub sample_every: u64,
    /// Longest wait, once everything is produced, for the processor to catch up, in seconds.
    #[arg(long, default_value_t = 600)]
    pub drain_timeout_secs: u64,
    /// Skip the bare-consumer ceiling.
    #[arg(long)]
    pub no_ceiling: bool,
    /// Keep the run's database (default: dropped at the end; the topics stay).
    #[arg(long)]
    pub keep_database: bool,
    /// Secret key for pseudonyms handed to the processor (at least 16 bytes).
    #[arg(
        long,
        env = "MOTCUA_PSEUDONYM_KEY",
        hide_env_values = true,
        default_value = "motcua-load-bench-key-not-a-secret"
    )]
    pub pseudonym_key: String,
    /// The `motcua` binary run as the processor; default: this one.
    #[arg(long)]
    pub processor_bin: Option<PathBuf>,
    /// Where the processor's log and the JSON summary go [default: $MOTCUA_HOME/bench/load-<run>,
    /// or the temporary directory].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Print the summary as one JSON object on stdout as well.
    #[arg(long)]
    pub json: bool,
    /// Extra flags for the child `motcua process`, after `--` (e.g. `-- --assign all
    /// --batch-max-records 50000`).
    #[arg(last = true)]
    pub processor_args: Vec<String>,
}

/// The wire encoding as the flag spells it.
fn encoding_name(e: Encoding) -> &'static str {
    if e == Encoding::Json {
        "json"
    } else {
        "avro"
    }
}

/// `90`, `90s`, `500ms`, `5m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}`: expected a number with s, ms, m or h, like 90s"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        other => Err(format!(
            "`{s}`: unknown unit `{other}`, expected s, ms, m or h"
        )),
    }
}

/// Microseconds since the run's origin: every timestamp of a run is on this one clock.
#[derive(Clone, Copy)]
struct Clock0(Instant);

impl Clock0 {
    fn us(&self) -> u64 {
        self.0.elapsed().as_micros() as u64
    }
}

/// A sampled event, looked up by id in the raw log.
struct Sample {
    event_id: String,
    dossier_code: String,
    produced_us: u64,
}

/// What the producer side did.
#[derive(Default)]
struct Produced {
    /// Per (input topic index, partition): (offset, produced at µs), ascending offsets.
    deliveries: HashMap<(usize, i32), Vec<(i64, u64)>>,
    /// Events handed to the producer.
    enqueued: u64,
    /// Events Kafka acknowledged.
    acked: u64,
    /// Events Kafka did not acknowledge, by error.
    failed: HashMap<String, u64>,
    /// Events the producer's validation refused (none expected from the simulator).
    rejected: u64,
    /// First event handed over, µs.
    first_us: u64,
    /// Last event handed over, µs.
    last_enqueue_us: u64,
    /// Last acknowledgement seen, µs.
    last_ack_us: u64,
    /// The simulated span ran out before the target.
    sim_exhausted: bool,
}

/// Counters the progress lines read while the run goes on.
#[derive(Default)]
struct Live {
    enqueued: AtomicU64,
    acked: AtomicU64,
    /// Sum over partitions of the progress's `next_offset`: records processed.
    processed: AtomicU64,
}

/// When to stop producing.
struct Target {
    events: Option<u64>,
    duration: Option<Duration>,
    rate: Option<u64>,
}

/// Runs the simulator into the producer at the target rate and collects every
/// acknowledgement's (partition, offset).
#[allow(clippy::too_many_arguments)]
async fn produce(
    producer: EventProducer,
    topics: motcua_core::topics::TopicNames,
    sim: SimConfig,
    target: Target,
    sample_every: u64,
    clock: Clock0,
    live: Arc<Live>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: CancellationToken,
) -> anyhow::Result<Produced> {
    let inputs: Vec<String> = topics.inputs().iter().map(|s| s.to_string()).collect();
    let mut out = Produced::default();
    let mut in_flight: VecDeque<(rdkafka::producer::DeliveryFuture, usize, u64)> = VecDeque::new();
    let started = Instant::now();
    let mut simulator = Simulator::new(sim)?;
    let mut n: u64 = 0;
    out.first_us = clock.us();
    loop {
        if target.events.is_some_and(|max| n >= max)
            || target.duration.is_some_and(|d| started.elapsed() >= d)
            || stop.is_cancelled()
        {
            break;
        }
        let Some(event) = simulator.next() else {
            out.sim_exhausted = true;
            break;
        };
        if let Some(rate) = target.rate {
            // Paced against the start, not the previous event: a slow moment is caught up.
            let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let topic = inputs
            .iter()
            .position(|t| t == topics.for_event(&event))
            .expect("an input topic");
        let produced_us = clock.us();
        if sample_every > 0 && n.is_multiple_of(sample_every) {
            samples.lock().expect("not poisoned").push(Sample {
                event_id: event.event_id.clone(),
                dossier_code: event.dossier_code.clone(),
                produced_us,
            });
        }
        match producer.enqueue(&event).await {
            Ok(delivery) => in_flight.push_back((delivery, topic, produced_us)),
            Err(SendError::Invalid { .. }) => out.rejected += 1,
            Err(e) => return Err(e).context("the producer failed"),
        }
        n += 1;
        out.last_enqueue_us = produced_us;
        live.enqueued.store(n, Ordering::Relaxed);
        // Settle what is already answered without waiting; wait only when the window is full.
        loop {
            let full = in_flight.len() >= IN_FLIGHT;
            let Some(front) = in_flight.front_mut() else {
                break;
            };
            let answer = if full {
                Some((&mut front.0).await)
            } else {
                (&mut front.0).now_or_never()
            };
            let Some(answer) = answer else { break };
            let (_, topic, at) = in_flight.pop_front().expect("non-empty");
            settle(answer, topic, at, &mut out, &clock, &live);
        }
    }
    while let Some((delivery, topic, at)) = in_flight.pop_front() {
        let answer = delivery.await;
        settle(answer, topic, at, &mut out, &clock, &live);
    }
    out.enqueued = n;
    for list in out.deliveries.values_mut() {
        list.sort_unstable();
    }
    Ok(out)
}

/// What a delivery future yields.
type Answer = <rdkafka::producer::DeliveryFuture as std::future::Future>::Output;

fn settle(
    answer: Answer,
    topic: usize,
    produced_us: u64,
    out: &mut Produced,
    clock: &Clock0,
    live: &Live,
) {
    match answer {
        Ok(Ok(d)) => {
            out.deliveries
                .entry((topic, d.partition))
                .or_default()
                .push((d.offset, produced_us));
            out.acked += 1;
            out.last_ack_us = clock.us();
            live.acked.store(out.acked, Ordering::Relaxed);
        }
        Ok(Err((e, _))) => *out.failed.entry(e.to_string()).or_default() += 1,
        Err(_) => *out.failed.entry("delivery canceled".into()).or_default() += 1,
    }
}

/// A progress row, summed per partition.
#[derive(Row, Deserialize)]
struct ProgressLine {
    kafka_topic: String,
    kafka_partition: u32,
    next_offset: u64,
}

/// What the polls of ClickHouse saw.
#[derive(Default)]
struct Observed {
    /// Per (input topic index, partition): (seen at µs, next_offset), each a new high.
    progress: HashMap<(usize, i32), Vec<(u64, u64)>>,
    /// Latency of each sampled event found in `dossier_events`, µs.
    sample_latencies: Vec<u64>,
    /// Progress polls answered.
    polls: u64,
    /// Longest progress poll, µs.
    poll_max_us: u64,
    /// Poll errors, and the last one.
    errors: u64,
    last_error: Option<String>,
    /// Why the sample check stopped, if it did (the raw table changed shape, say).
    sample_check_off: Option<String>,
}

impl Observed {
    /// The highest `next_offset` seen for a partition.
    fn next_offset(&self, key: &(usize, i32)) -> u64 {
        self.progress
            .get(key)
            .and_then(|v| v.last())
            .map_or(0, |l| l.1)
    }
}

/// Polls `processor_progress` (and the sampled events in `dossier_events`) until `stop`.
#[allow(clippy::too_many_arguments)]
async fn poll(
    client: clickhouse::Client,
    group: String,
    inputs: Vec<String>,
    interval: Duration,
    clock: Clock0,
    observed: Arc<Mutex<Observed>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    live: Arc<Live>,
    stop: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sample_check = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let asked = clock.us();
        let rows = client
            .query(
                "SELECT kafka_topic, kafka_partition, max(next_offset) AS next_offset \
                 FROM processor_progress WHERE consumer_group = ? \
                 GROUP BY kafka_topic, kafka_partition",
            )
            .bind(&group)
            .fetch_all::<ProgressLine>()
            .await;
        // The answer's time, not the question's: a latency is never under-stated.
        let at = clock.us();
        {
            let mut obs = observed.lock().expect("not poisoned");
            match rows {
                Ok(rows) => {
                    obs.polls += 1;
                    obs.poll_max_us = obs.poll_max_us.max(at - asked);
                    for r in rows {
                        let Some(topic) = inputs.iter().position(|t| *t == r.kafka_topic) else {
                            continue;
                        };
                        let list = obs
                            .progress
                            .entry((topic, r.kafka_partition as i32))
                            .or_default();
                        if list.last().is_none_or(|l| r.next_offset > l.1) {
                            list.push((at, r.next_offset));
                        }
                    }
                    let total = obs
                        .progress
                        .values()
                        .filter_map(|v| v.last())
                        .map(|l| l.1)
                        .sum();
                    live.processed.store(total, Ordering::Relaxed);
                }
                Err(e) => {
                    obs.errors += 1;
                    obs.last_error = Some(e.to_string());
                }
            }
        }
        if !sample_check {
            continue;
        }
        let pending: Vec<(String, String)> = samples
            .lock()
            .expect("not poisoned")
            .iter()
            .take(SAMPLES_PER_QUERY)
            .map(|s| (s.event_id.clone(), s.dossier_code.clone()))
            .collect();
        if pending.is_empty() {
            continue;
        }
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        let codes: Vec<String> = pending.iter().map(|(_, c)| quote(c)).collect();
        let ids: Vec<String> = pending.iter().map(|(i, _)| quote(i)).collect();
        // The dossier code first: the raw log's sort key starts with it.
        let found = client
            .query(&format!(
                "SELECT DISTINCT event_id FROM dossier_events \
                 WHERE dossier_code IN ({}) AND event_id IN ({})",
                codes.join(","),
                ids.join(",")
            ))
            .fetch_all::<String>()
            .await;
        let at = clock.us();
        match found {
            Ok(found) if !found.is_empty() => {
                let found: std::collections::HashSet<String> = found.into_iter().collect();
                let mut latencies = Vec::new();
                samples.lock().expect("not poisoned").retain(|s| {
                    let seen = found.contains(&s.event_id);
                    if seen {
                        latencies.push(at.saturating_sub(s.produced_us));
                    }
                    !seen
                });
                observed
                    .lock()
                    .expect("not poisoned")
                    .sample_latencies
                    .extend(latencies);
            }
            Ok(_) => {}
            Err(e) => {
                sample_check = false;
                tracing::warn!(error = %e, "the sampled-event check against dossier_events failed; it is off for this run");
                observed.lock().expect("not poisoned").sample_check_off = Some(e.to_string());
            }
        }
    }
}

/// CPU seconds (user + system) and memory of a process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct ProcStat {
    cpu_s: f64,
    rss_kib: u64,
    rss_peak_kib: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

fn proc_stat(pid: &str, ticks: f64) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: the
    // state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(ProcStat {
        cpu_s: (utime + stime) / ticks,
        rss_kib: kib("VmRSS:"),
        rss_peak_kib: kib("VmHWM:"),
    })
}

/// The stack's broker and ClickHouse, when `deploy/local/up.sh` started them (their pid
/// files under `$MOTCUA_HOME/run`): their CPU time shows who else used the two cores.
fn stack_pids() -> Vec<(&'static str, String)> {
    let Ok(home) = std::env::var("MOTCUA_HOME") else {
        return Vec::new();
    };
    [
        ("broker (tansu)", "tansu.pid"),
        ("clickhouse", "clickhouse.pid"),
    ]
    .into_iter()
    .filter_map(|(name, file)| {
        let pid = std::fs::read_to_string(Path::new(&home).join("run").join(file)).ok()?;
        let pid = pid.trim().to_string();
        Path::new(&format!("/proc/{pid}"))
            .exists()
            .then_some((name, pid))
    })
    .collect()
}

/// The text of a Prometheus endpoint, if it answers.
fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The value of the sample `name` (with its labels, if any, as written) in a scrape.
fn sample_value(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Where a processor's batch time went, from its histograms' sums: total batch seconds and
/// seconds inside ClickHouse inserts per table, largest first.
fn time_split(body: &str) -> (Option<f64>, Vec<(String, f64)>) {
    let batches = sample_value(body, &format!("{}_sum", names::PROCESSOR_BATCH_DURATION));
    let prefix = format!("{}_sum{{table=\"", names::CLICKHOUSE_INSERT_DURATION);
    let mut inserts: Vec<(String, f64)> = body
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (table, value) = rest.split_once("\"} ")?;
            Some((table.to_string(), value.trim().parse().ok()?))
        })
        .collect();
    inserts.sort_by(|a, b| b.1.total_cmp(&a.1));
    (batches, inserts)
}

/// The child `motcua process`; killed if the run ends before stopping it cleanly.
struct ProcessorChild {
    child: Child,
    pid: String,
    log: PathBuf,
    /// Its metrics endpoint.
    metrics: SocketAddr,
}

impl ProcessorChild {
    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines of its log, for an error message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// SIGINT (it finishes its batch and prints its summary), then its stdout.
    async fn stop(mut self) -> anyhow::Result<String> {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.exited() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                anyhow::bail!("the processor did not stop within 60 s of SIGINT: killed");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        Ok(out)
    }
}

impl Drop for ProcessorChild {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `motcua process` on the run's topics and database and waits until it owns
/// partitions (consumer-group join or static assignment done).
async fn start_processor(
    bin: &Path,
    common: &Common,
    args: &LoadArgs,
    group: &str,
    log: PathBuf,
) -> anyhow::Result<ProcessorChild> {
    let metrics_addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["--brokers", &common.brokers])
        .args(["--topic-prefix", &common.topic_prefix])
        .args(["--clickhouse-url", &common.clickhouse_url])
        .args(["--database", &common.database]);
    if let Some(user) = &common.clickhouse_user {
        cmd.args(["--clickhouse-user", user]);
    }
    // Secrets through the environment, never on a command line others can read.
    if let Some(password) = &common.clickhouse_password {
        cmd.env("MOTCUA_CLICKHOUSE_PASSWORD", password);
    }
    cmd.env("MOTCUA_PSEUDONYM_KEY", &args.pseudonym_key)
        .arg("process")
        .args(["--group", group])
        .args(["--metrics-addr", &metrics_addr.to_string()])
        .args(&args.processor_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(&log)
                .with_context(|| format!("cannot create {}", log.display()))?,
        ));
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let mut child = ProcessorChild {
        pid: child.id().to_string(),
        child,
        log,
        metrics: metrics_addr,
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.exited() {
            anyhow::bail!(
                "the processor exited at start-up; its log ({}) ends:\n{}",
                child.log.display(),
                child.log_tail()
            );
        }
        let owned = tokio::task::spawn_blocking(move || {
            scrape(metrics_addr)
                .and_then(|body| sample_value(&body, names::PROCESSOR_PARTITIONS_OWNED))
        })
        .await?;
        if owned.is_some_and(|n| n >= 1.0) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the processor owned no partition 90 s after start; its log ({}) ends:\n{}",
                child.log.display(),
                child.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Latency of every acknowledged event (µs, sorted), the events never seen processed, and
/// when the last event became visible (µs).
fn latencies(produced: &Produced, observed: &Observed) -> (Vec<u64>, u64, u64) {
    let mut out = Vec::with_capacity(produced.acked as usize);
    let mut unseen = 0;
    let mut last_visible = 0;
    let none = Vec::new();
    for (key, events) in &produced.deliveries {
        let seen = observed.progress.get(key).unwrap_or(&none);
        let mut j = 0;
        for &(offset, at) in events {
            while j < seen.len() && seen[j].1 <= offset as u64 {
                j += 1;
            }
            match seen.get(j) {
                Some(&(visible, _)) => {
                    out.push(visible.saturating_sub(at));
                    last_visible = last_visible.max(visible);
                }
                None => unseen += 1,
            }
        }
    }
    out.sort_unstable();
    (out, unseen, last_visible)
}

/// `1 234 567`, as the other summaries print counts.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Latency quantiles in milliseconds, as JSON and as one line.
fn quantiles(sorted_us: &[u64]) -> (serde_json::Value, String) {
    let q = |p| percentile(sorted_us, p).map(|us| us as f64 / 1e3);
    let (p50, p90, p99, max) = (q(0.5), q(0.9), q(0.99), q(1.0));
    let json = serde_json::json!({
        "count": sorted_us.len(), "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "max_ms": max,
    });
    let line = match (p50, p90, p99, max) {
        (Some(a), Some(b), Some(c), Some(d)) => format!(
            "p50 {a:.0} ms   p90 {b:.0} ms   p99 {c:.0} ms   max {d:.0} ms   ({} events)",
            grouped(sorted_us.len() as u64)
        ),
        _ => "none measured".to_string(),
    };
    (json, line)
}

/// `motcua load`.
pub(crate) async fn run(common: Common, args: LoadArgs) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    if args.partitions < 1 {
        problems.push("--partitions must be at least 1".to_string());
    }
    if args.rate == Some(0) {
        problems.push("--rate must be at least 1 event/s (omit it for flat out)".to_string());
    }
    if args.poll_ms == 0 {
        problems.push("--poll-ms must be at least 1".to_string());
    }
    if args.events == Some(0) {
        problems.push("--events must be at least 1".to_string());
    }
    if args.pseudonym_key.len() < 16 {
        problems.push("--pseudonym-key must be at least 16 bytes".to_string());
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("; "));
    }
    let events = match (args.events, args.duration) {
        (None, None) => Some(200_000),
        (events, _) => events,
    };
    let target = Target {
        events,
        duration: args.duration,
        rate: args.rate,
    };
    // Days enough for the target (the simulator is lazy: a longer span costs nothing).
    let wanted = match (target.events, target.duration, target.rate) {
        (Some(n), _, _) => Some(n as f64),
        (None, Some(d), Some(r)) => Some(d.as_secs_f64() * r as f64),
        _ => None,
    };
    let days = match wanted {
        Some(n) => {
            (n / (EVENTS_PER_DOSSIER_DAY * f64::from(args.dossiers_per_day.max(1))) * 1.5).ceil()
                as u32
                + 3
        }
        None => 3_650,
    };
    let sim = SimConfig {
        seed: args.seed,
        start: args.start,
        days,
        dossiers_per_day: args.dossiers_per_day,
        ..SimConfig::default()
    };
    sim.validate()?;

    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let run_id = format!("{stamp}-{}", std::process::id());
    let common = Common {
        topic_prefix: format!("{}-load-{run_id}", common.topic_prefix),
        database: format!("{}_load_{}", common.database, run_id.replace('-', "_")),
        ..common
    };
    let group = format!("motcua-load-{run_id}");
    let work = match (&args.work_dir, std::env::var_os("MOTCUA_HOME")) {
        (Some(dir), _) => dir.clone(),
        (None, Some(home)) => PathBuf::from(home)
            .join("bench")
            .join(format!("load-{run_id}")),
        (None, None) => std::env::temp_dir().join(format!("motcua-load-{run_id}")),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let bin = match &args.processor_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("cannot find this motcua binary")?,
    };
    let mode = match (args.preload, args.rate) {
        (true, _) => "preload, then process (a replay of a loaded topic)".to_string(),
        (false, Some(r)) => format!("{} events/s, processed as produced", grouped(r)),
        (false, None) => "flat out, processed as produced".to_string(),
    };
    let span = match (target.events, target.duration) {
        (Some(n), Some(d)) => format!("{} events or {:?}, whichever first", grouped(n), d),
        (Some(n), None) => format!("{} events", grouped(n)),
        (None, Some(d)) => format!("{d:?}"),
        (None, None) => unreachable!("a default is set above"),
    };
    println!(
        "== motcua load: {mode}; {span}; {} on {} partitions; {} dossiers/working day from {} (seed {})",
        encoding_name(args.format),
        args.partitions,
        grouped(u64::from(args.dossiers_per_day)),
        args.start,
        args.seed
    );
    println!(
        "   topics {}.*  database {}  group {}  logs {}",
        common.topic_prefix,
        common.database,
        group,
        work.display()
    );

    // The broker first: a run that cannot reach it leaves no database behind.
    crate::ensure_topics(&common, args.partitions).await?;
    let store = common.store();
    store.drop_database().await?;
    store.migrate().await?;

    let ticks = clock_ticks();
    let clock = Clock0(Instant::now());
    let live = Arc::new(Live::default());
    let samples = Arc::new(Mutex::new(Vec::new()));
    let observed = Arc::new(Mutex::new(Observed::default()));
    let stop_polling = CancellationToken::new();
    let inputs: Vec<String> = common
        .topics()
        .inputs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let log = work.join("processor.log");

    let mut processor = None;
    let mut ready_us = 0;
    if !args.preload {
        eprintln!("starting the processor ({})", bin.display());
        processor = Some(start_processor(&bin, &common, &args, &group, log.clone()).await?);
        ready_us = clock.us();
    }
    let poller = tokio::spawn(poll(
        store.client().clone(),
        group.clone(),
        inputs.clone(),
        Duration::from_millis(args.poll_ms),
        clock,
        observed.clone(),
        samples.clone(),
        live.clone(),
        stop_polling.clone(),
    ));
    let stack = stack_pids();
    let mut stack_before: Vec<Option<ProcStat>> =
        stack.iter().map(|(_, pid)| proc_stat(pid, ticks)).collect();
    let self_before = proc_stat("self", ticks).unwrap_or_default();
    let processor_at_ready = processor
        .as_ref()
        .and_then(|p| proc_stat(&p.pid, ticks))
        .unwrap_or_default();

    // Produce, with a progress line every two seconds.
    let interrupt = shutdown::on_signals();
    let producer = EventProducer::new(&common.kafka(), common.topics(), args.format)?;
    let mut producing = tokio::spawn(produce(
        producer,
        common.topics(),
        sim,
        target,
        if args.preload { 0 } else { args.sample_every },
        clock,
        live.clone(),
        samples.clone(),
        interrupt.clone(),
    ));
    let mut progress = Progress::new(clock);
    let produced = loop {
        tokio::select! {
            done = &mut producing => break done.context("the producer task failed")??,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                progress.print(&live, processor.as_ref().map(|p| p.pid.as_str()), ticks);
            }
        }
    };
    progress.print(&live, processor.as_ref().map(|p| p.pid.as_str()), ticks);
    if produced.acked == 0 {
        anyhow::bail!("no event was acknowledged by kafka: {:?}", produced.failed);
    }
    let processor_at_ready = if args.preload {
        eprintln!("published; starting the processor ({})", bin.display());
        let p = start_processor(&bin, &common, &args, &group, log.clone()).await?;
        ready_us = clock.us();
        let at = proc_stat(&p.pid, ticks).unwrap_or_default();
        // The broker's and ClickHouse's CPU over the processing window only, as the
        // processor's: publishing is not what is measured.
        stack_before = stack.iter().map(|(_, pid)| proc_stat(pid, ticks)).collect();
        processor = Some(p);
        at
    } else {
        processor_at_ready
    };
    let mut processor = processor.expect("started above");

    // Drain: every partition's progress past the last acknowledged offset.
    let targets: Vec<((usize, i32), u64)> = produced
        .deliveries
        .iter()
        .map(|(k, v)| (*k, v.last().map_or(0, |l| l.0 as u64 + 1)))
        .collect();
    let drain_deadline = Instant::now() + Duration::from_secs(args.drain_timeout_secs);
    let mut drained = false;
    let mut last_print = Instant::now();
    let mut note = None;
    loop {
        {
            let obs = observed.lock().expect("not poisoned");
            if targets.iter().all(|(k, t)| obs.next_offset(k) >= *t) {
                drained = true;
            }
        }
        if drained {
            break;
        }
        if processor.exited() {
            note = Some(format!(
                "the processor exited before reading everything; its log ({}) ends:\n{}",
                log.display(),
                processor.log_tail()
            ));
            break;
        }
        if Instant::now() > drain_deadline {
            note = Some(format!(
                "not drained after --drain-timeout-secs {}: the figures below cover what was visible",
                args.drain_timeout_secs
            ));
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            progress.print(&live, Some(&processor.pid), ticks);
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end_us = clock.us();
    let processor_end = proc_stat(&processor.pid, ticks).unwrap_or_default();
    let self_end = proc_stat("self", ticks).unwrap_or_default();
    let stack_end: Vec<Option<ProcStat>> =
        stack.iter().map(|(_, pid)| proc_stat(pid, ticks)).collect();
    // One more poll interval so the sampled events seen in this last moment are counted.
    tokio::time::sleep(Duration::from_millis(args.poll_ms * 2)).await;
    stop_polling.cancel();
    let _ = poller.await;
    let metrics_addr = processor.metrics;
    let metrics_text = tokio::task::spawn_blocking(move || scrape(metrics_addr))
        .await?
        .unwrap_or_default();
    let metrics_path = work.join("processor-metrics.txt");
    std::fs::write(&metrics_path, &metrics_text)
        .with_context(|| format!("cannot write {}", metrics_path.display()))?;
    let (batch_secs, insert_secs) = time_split(&metrics_text);
    let processor_out = processor.stop().await?;
    let processor_line = processor_out
        .lines()
        .find(|l| l.starts_with("processed "))
        .unwrap_or("")
        .to_string();

    let ceiling = if args.no_ceiling {
        None
    } else {
        eprintln!("measuring the broker's ceiling: a bare consumer on the same topics");
        let c = common.clone();
        let broker = stack.iter().find(|(name, _)| name.starts_with("broker"));
        let before = broker.and_then(|(_, pid)| proc_stat(pid, ticks));
        let (n, secs) = tokio::task::spawn_blocking(move || crate::bare_consume_rate(&c)).await??;
        let after = broker.and_then(|(_, pid)| proc_stat(pid, ticks));
        let broker_cpu = before.zip(after).map(|(a, b)| b.cpu_s - a.cpu_s);
        Some((n, secs, broker_cpu))
    };

    // Figures.
    let observed = std::mem::take(&mut *observed.lock().expect("not poisoned"));
    let (lat, unseen, last_visible_us) = latencies(&produced, &observed);
    let visible = lat.len() as u64;
    let produce_secs = (produced.last_ack_us.saturating_sub(produced.first_us)) as f64 / 1e6;
    let produced_rate = rate(produced.acked, produce_secs);
    // Processing runs from the first event produced (or, preloaded, from the processor
    // owning its partitions) to the last event visible.
    let process_from = if args.preload {
        ready_us
    } else {
        produced.first_us
    };
    let process_secs = last_visible_us.saturating_sub(process_from) as f64 / 1e6;
    let processed_rate = rate(visible, process_secs);
    let mut sample_lat = observed.sample_latencies.clone();
    sample_lat.sort_unstable();
    let (lat_json, lat_line) = quantiles(&lat);
    let (sample_json, sample_line) = quantiles(&sample_lat);
    let window_secs = end_us.saturating_sub(process_from) as f64 / 1e6;
    let processor_cpu = processor_end.cpu_s - processor_at_ready.cpu_s;
    let ceiling_rate = ceiling.map(|(n, s, _)| rate(n, s));
    let stack_cpu: Vec<(&str, f64)> = stack
        .iter()
        .zip(stack_before.iter().zip(&stack_end))
        .filter_map(|((name, _), (a, b))| Some((*name, b.as_ref()?.cpu_s - a.as_ref()?.cpu_s)))
        .collect();

    println!();
    println!("== motcua load summary ({mode})");
    println!(
        "  produced   {:>12} events in {:>7.1} s  {:>9.0} events/s  (handed to the producer -> acknowledged{})",
        grouped(produced.acked),
        produce_secs,
        produced_rate,
        if produced.sim_exhausted {
            "; the simulated span ran out first"
        } else {
            ""
        }
    );
    println!(
        "  processed  {:>12} events in {:>7.1} s  {:>9.0} events/s  ({} -> last visible in ClickHouse)",
        grouped(visible),
        process_secs,
        processed_rate,
        if args.preload {
            "processor owning its partitions"
        } else {
            "first event produced"
        }
    );
    if !args.preload {
        println!(
            "             the last event became visible {:.1} s after the last acknowledgement",
            last_visible_us.saturating_sub(produced.last_ack_us) as f64 / 1e6
        );
    }
    if let (Some((n, secs, broker_cpu)), Some(r)) = (ceiling, ceiling_rate) {
        println!(
            "  ceiling    {:>12} records in {:>6.1} s  {:>9.0} records/s  (bare consumer, same topics, same run); pipeline at {:.0} % of it",
            grouped(n),
            secs,
            r,
            100.0 * processed_rate / r.max(1e-9)
        );
        if let Some(cpu) = broker_cpu {
            println!(
                "             the broker used {cpu:.1} CPU s serving it ({:.1} µs per record, {:.2} cores)",
                1e6 * cpu / (n.max(1) as f64),
                cpu / secs.max(1e-9)
            );
        }
    }
    if !args.preload {
        println!(
            "  latency, produced -> visible (processor_progress, every event, {} ms polls):",
            args.poll_ms
        );
        println!("             {lat_line}");
        if args.sample_every > 0 {
            println!(
                "  latency, produced -> raw row in dossier_events (1 in {}):",
                args.sample_every
            );
            println!("             {sample_line}");
        }
    }
    println!(
        "  processor  {:.1} CPU s over {:.1} s ({:.2} cores; {:.1} µs per event), peak RSS {} MiB, RSS at the end {} MiB",
        processor_cpu,
        window_secs,
        processor_cpu / window_secs.max(1e-9),
        1e6 * processor_cpu / (visible.max(1) as f64),
        processor_end.rss_peak_kib / 1024,
        processor_end.rss_kib / 1024
    );
    println!(
        "  load tool  {:.1} CPU s (simulator, encoding, producer, polls){}",
        self_end.cpu_s - self_before.cpu_s,
        stack_cpu
            .iter()
            .map(|(name, s)| format!(
                "; {name} {s:.1} CPU s ({:.1} µs per event processed)",
                1e6 * s / (visible.max(1) as f64)
            ))
            .collect::<String>()
    );
    if args.preload {
        println!("             (broker and ClickHouse: over the processing window only)");
    }
    if let Some(batch) = batch_secs {
        let total: f64 = insert_secs.iter().map(|(_, s)| s).sum();
        println!(
            "  processor's batches took {batch:.1} s in all, {total:.1} s of it in ClickHouse inserts ({}) [{}]",
            insert_secs
                .iter()
                .map(|(t, s)| format!("{t} {s:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            metrics_path.display()
        );
    }
    if !processor_line.is_empty() {
        println!("  processor's own summary: {processor_line}");
    }
    if !produced.failed.is_empty() || produced.rejected > 0 || unseen > 0 {
        println!(
            "  NOT counted: {} not acknowledged {:?}, {} refused by validation, {} acknowledged but never seen processed",
            produced.failed.values().sum::<u64>(),
            produced.failed,
            produced.rejected,
            unseen
        );
    }
    if observed.errors > 0 {
        println!(
            "  {} ClickHouse polls failed (last: {})",
            observed.errors,
            observed.last_error.as_deref().unwrap_or("")
        );
    }
    if let Some(e) = &observed.sample_check_off {
        println!("  the dossier_events sample check was turned off: {e}");
    }
    if let Some(note) = &note {
        println!("  {note}");
    }

    let summary = serde_json::json!({
        "run": run_id,
        "mode": if args.preload { "preload" } else if args.rate.is_some() { "rate" } else { "flat_out" },
        "target_rate": args.rate,
        "format": encoding_name(args.format),
        "partitions": args.partitions,
        "topic_prefix": common.topic_prefix,
        "database": common.database,
        "drained": drained,
        "produced": { "events": produced.acked, "seconds": produce_secs, "per_second": produced_rate,
                      "not_acknowledged": produced.failed.values().sum::<u64>(), "sim_exhausted": produced.sim_exhausted },
        "processed": { "events": visible, "seconds": process_secs, "per_second": processed_rate, "never_seen": unseen,
                       "visible_after_last_ack_seconds": last_visible_us.saturating_sub(produced.last_ack_us) as f64 / 1e6 },
        "ceiling": ceiling.map(|(n, s, cpu)| serde_json::json!({ "records": n, "seconds": s, "per_second": rate(n, s), "broker_cpu_seconds": cpu })),
        "latency_ms": if args.preload { serde_json::Value::Null } else { lat_json },
        "sampled_raw_row_latency_ms": if args.preload { serde_json::Value::Null } else { sample_json },
        "poll_ms": args.poll_ms,
        "poll_max_ms": observed.poll_max_us as f64 / 1e3,
        "processor": { "cpu_seconds": processor_cpu, "window_seconds": window_secs,
                       "peak_rss_mib": processor_end.rss_peak_kib as f64 / 1024.0,
                       "summary": processor_line, "batch_seconds": batch_secs,
                       "insert_seconds": insert_secs.iter().map(|(t, s)| (t.clone(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>() },
        "load_tool_cpu_seconds": self_end.cpu_s - self_before.cpu_s,
        "stack_cpu_seconds": stack_cpu.iter().map(|(n, s)| (n.to_string(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>(),
    });
    let json_path = work.join("summary.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("  summary JSON: {}", json_path.display());
    if args.json {
        println!("{summary}");
    }
    if args.keep_database {
        println!("  database {} kept", common.database);
    } else {
        store.drop_database().await?;
    }
    if !drained {
        anyhow::bail!("the run did not drain: see the note above");
    }
    Ok(())
}

/// Progress lines on stderr: what was produced and processed since the last line.
struct Progress {
    clock: Clock0,
    last_us: u64,
    last_produced: u64,
    last_processed: u64,
}

impl Progress {
    fn new(clock: Clock0) -> Self {
        Progress {
            clock,
            last_us: clock.us(),
            last_produced: 0,
            last_processed: 0,
        }
    }

    fn print(&mut self, live: &Live, pid: Option<&str>, ticks: f64) {
        let now = self.clock.us();
        let secs = (now.saturating_sub(self.last_us)) as f64 / 1e6;
        let produced = live.acked.load(Ordering::Relaxed);
        let processed = live.processed.load(Ordering::Relaxed);
        let proc_part = pid
            .and_then(|p| proc_stat(p, ticks))
            .map(|s| {
                format!(
                    "; processor {:.1} CPU s, RSS {} MiB",
                    s.cpu_s,
                    s.rss_kib / 1024
                )
            })
            .unwrap_or_default();
        eprintln!(
            "[{:>6.1} s] produced {:>10} ({:>7.0}/s, {} handed over)  processed {:>10} ({:>7.0}/s)  behind {:>9}{proc_part}",
            now as f64 / 1e6,
            grouped(produced),
            rate(produced.saturating_sub(self.last_produced), secs),
            grouped(live.enqueued.load(Ordering::Relaxed)),
            grouped(processed),
            rate(processed.saturating_sub(self.last_processed), secs),
            grouped(produced.saturating_sub(processed)),
        );
        self.last_us = now;
        self.last_produced = produced;
        self.last_processed = processed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    /// Each event is visible at the first poll whose `next_offset` passed its offset.
    #[test]
    fn an_event_is_visible_at_the_first_progress_past_its_offset() {
        let mut produced = Produced::default();
        produced
            .deliveries
            .insert((0, 0), vec![(0, 100), (1, 200), (2, 300), (3, 400)]);
        produced.deliveries.insert((1, 0), vec![(0, 150)]);
        produced.acked = 5;
        let mut observed = Observed::default();
        observed
            .progress
            .insert((0, 0), vec![(1_000, 2), (2_000, 3)]);
        let (lat, unseen, last) = latencies(&produced, &observed);
        // Offsets 0 and 1 at 1 000 µs, offset 2 at 2 000; offset 3 and topic 1 never seen.
        assert_eq!(lat, vec![800, 900, 1_700]);
        assert_eq!(unseen, 2);
        assert_eq!(last, 2_000);
    }

    #[test]
    fn the_time_split_reads_the_histogram_sums() {
        let body = "# HELP x\n\
            motcua_processor_batch_duration_seconds_sum 12.5\n\
            motcua_processor_batch_duration_seconds_count 3\n\
            motcua_clickhouse_insert_duration_seconds_sum{table=\"dossier_events\"} 2.25\n\
            motcua_clickhouse_insert_duration_seconds_sum{table=\"dossier_state\"} 4\n\
            motcua_clickhouse_insert_duration_seconds_count{table=\"dossier_state\"} 3\n";
        let (batches, inserts) = time_split(body);
        assert_eq!(batches, Some(12.5));
        assert_eq!(
            inserts,
            vec![
                ("dossier_state".to_string(), 4.0),
                ("dossier_events".to_string(), 2.25)
            ]
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1 000");
        assert_eq!(grouped(1_234_567), "1 234 567");
    }

    #[test]
    fn proc_stat_reads_this_process() {
        let s = proc_stat("self", clock_ticks()).expect("/proc/self is readable");
        assert!(s.rss_peak_kib >= s.rss_kib && s.rss_kib > 0, "{s:?}");
    }
}
