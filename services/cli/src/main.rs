//! `motcua`: one command for operators and agency integrators.
//!
//! Configuration is layered: built-in defaults, then `MOTCUA_*` environment variables,
//! then flags. Every subcommand validates its inputs before touching a service.

mod load;
mod progress;
mod publish;
mod report;

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Datelike;
use clap::{Args, Parser, Subcommand};
use motcua_core::calendar::{DueRule, WorkCalendar};
use motcua_core::codec::Encoding;
use motcua_core::deadline::{Catalogue, Clock, DeadlinePolicy, PausePolicy};
use motcua_core::event::{TimeLimit, TimeUnit};
use motcua_core::indicators::Scoring;
use motcua_core::topics::TopicNames;
use motcua_core::DossierEvent;
use motcua_processor::{ProcessorConfig, Summary};
use motcua_producer::{EventProducer, KafkaSettings};
use motcua_runtime::metrics::{self, ProcessorMetrics};
use motcua_runtime::store::{Store, StoreSettings};
use motcua_runtime::{kafka, shutdown};
use motcua_sim::{SimConfig, Simulator};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(Parser)]
#[command(
    name = "motcua",
    version,
    about = "Track one-stop-shop dossiers from agency events to on-time rates"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_BROKERS",
        default_value = "127.0.0.1:19092"
    )]
    brokers: String,
    /// Extra librdkafka properties for every Kafka client, `key=value` (repeat the flag, or
    /// separate with commas in the variable): `security.protocol=SASL_SSL`, `sasl.*`,
    /// `ssl.*`, fetch tuning. Applied after motcua's defaults; the settings motcua's
    /// guarantees rest on (idempotence, acks, offset storing) cannot be overridden.
    #[arg(
        long = "kafka-option",
        global = true,
        env = "MOTCUA_KAFKA_OPTIONS",
        value_delimiter = ',',
        value_parser = parse_kafka_option,
        hide_env_values = true
    )]
    kafka_options: Vec<(String, String)>,
    /// Prefix of the topic names: `<prefix>.receipts`, `.processing`, `.returns`, `.surveys`, `.dead-letter`.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_TOPIC_PREFIX",
        default_value = "motcua"
    )]
    topic_prefix: String,
    /// ClickHouse HTTP endpoint.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:18123"
    )]
    clickhouse_url: String,
    /// ClickHouse database.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_CLICKHOUSE_DATABASE",
        default_value = "motcua"
    )]
    database: String,
    /// ClickHouse user.
    #[arg(long, global = true, env = "MOTCUA_CLICKHOUSE_USER")]
    clickhouse_user: Option<String>,
    /// ClickHouse password.
    #[arg(
        long,
        global = true,
        env = "MOTCUA_CLICKHOUSE_PASSWORD",
        hide_env_values = true
    )]
    clickhouse_password: Option<String>,
}

/// `key=value` into a librdkafka property.
fn parse_kafka_option(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not `key=value` (a librdkafka property, e.g. `security.protocol=SSL`)"
        )),
    }
}

impl Common {
    fn kafka(&self) -> KafkaSettings {
        let mut settings = KafkaSettings::new(&self.brokers);
        settings.extra.extend(self.kafka_options.iter().cloned());
        settings
    }
    fn topics(&self) -> TopicNames {
        TopicNames::with_prefix(&self.topic_prefix)
    }
    fn store_settings(&self) -> StoreSettings {
        StoreSettings {
            url: self.clickhouse_url.clone(),
            database: self.database.clone(),
            user: self.clickhouse_user.clone(),
            password: self.clickhouse_password.clone(),
        }
    }
    fn store(&self) -> Store {
        Store::new(self.store_settings())
    }
}

#[derive(Args, Clone)]
struct SimArgs {
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First simulated day (YYYY-MM-DD). The default window, 17/8-6/9/2026, holds a worked
    /// Saturday (22/8), the National Day break (31/8-2/9) and a month boundary.
    #[arg(long, default_value = "2026-08-17")]
    start: chrono::NaiveDate,
    /// Days of receipts to simulate.
    #[arg(long, default_value_t = 21)]
    days: u32,
    /// Average dossiers received per working day across the province.
    #[arg(long, default_value_t = 1000)]
    dossiers_per_day: u32,
    /// Province code.
    #[arg(long, default_value = "H56")]
    province: String,
}

impl SimArgs {
    fn config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            start: self.start,
            days: self.days,
            dossiers_per_day: self.dossiers_per_day,
            province: self.province.clone(),
            ..SimConfig::default()
        }
    }
}

#[derive(Args, Clone)]
struct ProcessArgs {
    /// Consumer group.
    #[arg(long, env = "MOTCUA_GROUP", default_value = "motcua-processor")]
    group: String,
    /// Secret key for pseudonyms (at least 16 bytes). Production must set its own.
    #[arg(long, env = "MOTCUA_PSEUDONYM_KEY", hide_env_values = true)]
    pseudonym_key: String,
    /// Where to serve Prometheus metrics.
    #[arg(long, env = "MOTCUA_METRICS_ADDR", default_value = "127.0.0.1:19100")]
    metrics_addr: SocketAddr,
    /// Most records per batch.
    #[arg(long, default_value_t = 20_000)]
    batch_max_records: usize,
    /// Longest a batch stays open, in milliseconds.
    #[arg(long, default_value_t = 500)]
    batch_max_wait_ms: u64,
    /// Days (event time) an ended dossier stays in memory after its end; older ones live in
    /// the ClickHouse checkpoint only and are loaded when an event names them.
    #[arg(long, env = "MOTCUA_RETENTION_DAYS", default_value_t = 35)]
    retention_days: u64,
    /// Seconds one ClickHouse request may take before it fails and is retried.
    #[arg(long, env = "MOTCUA_CLICKHOUSE_TIMEOUT_SECS", default_value_t = 60)]
    clickhouse_timeout_secs: u64,
    /// Hours of event time a partition may run ahead of the slowest one before it is paused
    /// until the others catch up (bounds memory while catching up on history).
    #[arg(long, env = "MOTCUA_MAX_SKEW_HOURS", default_value_t = 24)]
    max_skew_hours: u64,
    /// While catching up (every batch full), most batches folded before their figures and
    /// checkpoint are written as one (1: every batch). A batch that is not full is written
    /// at once.
    #[arg(long, env = "MOTCUA_HOLD_MAX_BATCHES", default_value_t = 10)]
    hold_max_batches: u32,
    /// Longest, in milliseconds, a folded batch's figures wait to be written while catching
    /// up.
    #[arg(long, env = "MOTCUA_HOLD_MAX_MS", default_value_t = 5_000)]
    hold_max_ms: u64,
    /// Static assignment instead of the consumer group's: `all`, or partition numbers such
    /// as `0,2` (each instance told its own, e.g. from a StatefulSet ordinal). Offsets are
    /// still the group's. Default: join the group and share the partitions.
    #[arg(long, env = "MOTCUA_ASSIGN")]
    assign: Option<String>,
    #[command(flatten)]
    deadlines: DeadlineArgs,
}

/// Decision 766 points (docs/DEADLINES.md).
#[derive(Args, Clone)]
struct ScoringArgs {
    /// Points indicator 2.1 is worth.
    #[arg(long, default_value_t = Scoring::default().max_points_2_1)]
    points_2_1: f64,
    /// On-time rate (percent) that earns full points; linear below.
    #[arg(long, default_value_t = Scoring::default().full_at_percent_2_1)]
    full_at_2_1: f64,
}

impl ScoringArgs {
    fn scoring(&self) -> Scoring {
        Scoring {
            max_points_2_1: self.points_2_1,
            full_at_percent_2_1: self.full_at_2_1,
        }
    }
}

/// How deadlines are judged (docs/DEADLINES.md).
#[derive(Args, Clone)]
struct DeadlineArgs {
    /// Procedure catalogue (JSON, see data/catalogue/h56.json); default: the shipped one.
    #[arg(long, env = "MOTCUA_CATALOGUE")]
    catalogue: Option<PathBuf>,
    /// How a supplement wait moves the due time: `extend` (by the time waited) or
    /// `restart` (the full limit from the completed supplement).
    #[arg(long, env = "MOTCUA_PAUSE_POLICY", default_value = "extend")]
    pause_policy: PausePolicy,
    /// An appointment within this many minutes of the legal due time agrees with it.
    #[arg(
        long,
        env = "MOTCUA_APPOINTMENT_TOLERANCE_MINUTES",
        default_value_t = 0
    )]
    appointment_tolerance_minutes: u32,
}

/// The catalogue in `path`, or the shipped one.
fn load_catalogue(path: Option<&PathBuf>) -> anyhow::Result<Catalogue> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Catalogue::from_json(&text).with_context(|| format!("in {}", path.display()))
        }
        None => Ok(Catalogue::shipped()),
    }
}

impl DeadlineArgs {
    fn clock(&self) -> anyhow::Result<Clock> {
        let catalogue = load_catalogue(self.catalogue.as_ref())?;
        Ok(Clock::new(
            WorkCalendar::vietnam(),
            catalogue,
            DeadlinePolicy {
                pause: self.pause_policy,
                appointment_tolerance: chrono::Duration::minutes(i64::from(
                    self.appointment_tolerance_minutes,
                )),
            },
        ))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create the four co-partitioned input topics and the dead-letter topic.
    Topics {
        /// Partitions per topic (the same for all: co-partitioning).
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
    /// Apply the ClickHouse migrations not yet applied.
    Migrate,
    /// Write simulated events as JSON lines.
    Simulate {
        #[command(flatten)]
        sim: SimArgs,
        /// Output file; `-` for stdout.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Validate JSON lines and publish them; the lines not published go to a file whose
    /// publication resumes the run.
    #[command(after_long_help = publish::RESUME_HELP)]
    Publish(publish::PublishArgs),
    /// Run the stream processor.
    Process {
        #[command(flatten)]
        process: ProcessArgs,
        /// Stop once the input read at start is processed (batch mode).
        #[arg(long)]
        stop_at_end: bool,
    },
    /// Reprocess the input topics from their earliest offsets under a new consumer group
    /// (fresh state), into this database or a fresh one, and stop at the end. Figures in an
    /// existing database never go back while it runs (rows are versioned); the progress
    /// table shows `catching_up` until it is done.
    Replay {
        #[command(flatten)]
        process: ProcessArgs,
        /// Create (and migrate) the database first if it does not exist.
        #[arg(long)]
        create_database: bool,
    },
    /// Print on-time rates per agency and the deadline figures from ClickHouse.
    Report {
        #[command(flatten)]
        scoring: ScoringArgs,
    },
    /// List the open dossiers past their due time as of the watermark, most overdue first.
    Overdue {
        /// Only this agency and its sub-units (e.g. H56.50 for a district and its communes).
        #[arg(long)]
        agency: Option<String>,
        /// Most rows.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Answer "when is a dossier received at T with this limit due" on the working-day
    /// calendar (data/calendar/vn, see docs/CALENDAR.md).
    Due {
        /// Receipt time, RFC 3339 with offset, e.g. 2026-02-13T09:00:00+07:00.
        #[arg(long)]
        received: chrono::DateTime<chrono::FixedOffset>,
        /// A procedure of the catalogue: its limit and rule are used (overrides --amount,
        /// --unit, --end-of-day and --same-day-cutoff).
        #[arg(long)]
        procedure: Option<String>,
        /// Procedure catalogue for --procedure; default: the shipped one.
        #[arg(long, env = "MOTCUA_CATALOGUE")]
        catalogue: Option<PathBuf>,
        /// The limit's amount.
        #[arg(long, required_unless_present = "procedure")]
        amount: Option<i32>,
        /// The limit's unit.
        #[arg(long, value_enum, default_value = "working-days")]
        unit: DueUnit,
        /// Due at the close of the last day instead of the same time of day.
        #[arg(long)]
        end_of_day: bool,
        /// Same-day procedures: received after this time (HH:MM), due the next working day.
        #[arg(long)]
        same_day_cutoff: Option<chrono::NaiveTime>,
    },
    /// Drive the whole pipeline (simulator, producer, processor, ClickHouse) flat out or at a
    /// set rate on fresh topics and a fresh database, and report events/s produced and
    /// processed, latency from produced to visible in ClickHouse, the processor's CPU and
    /// memory, and the broker's ceiling (a bare consumer) from the same run.
    Load(load::LoadArgs),
    /// Run the agency ingest gateway: HTTP (motcua events, national-portal sync payloads) to
    /// Kafka, answered after the broker's acknowledgement (docs/CONTRACT.md §9).
    Gateway(motcua_gateway::cli::GatewayArgs),
    /// Convert a national-portal export (dossier snapshots or progress rows) as the gateway
    /// does and publish the events.
    ImportPortal(motcua_gateway::cli::ImportArgs),
    /// The main job: set up topics and tables, simulate a province, publish, process, report.
    Demo {
        #[command(flatten)]
        sim: SimArgs,
        #[command(flatten)]
        process: ProcessArgs,
        /// Invalid records to mix into the input (half rejected at the source, half sent raw
        /// to the topics to show the dead-letter path).
        #[arg(long, default_value_t = 40)]
        bad_records: usize,
        /// Partitions per topic.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
}

/// Unit of a limit on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum DueUnit {
    WorkingDays,
    CalendarDays,
    WorkingHours,
}

fn due(received: chrono::DateTime<chrono::FixedOffset>, limit: TimeLimit, rule: DueRule) {
    let calendar = WorkCalendar::vietnam();
    let at = calendar.due(received, limit, &rule);
    println!("{}", at.to_rfc3339());
    let year = received.date_naive().year();
    if !calendar.covers(year) || !calendar.covers(at.date_naive().year()) {
        eprintln!(
            "note: part of this span lies in a year whose announcement is not loaded: \
             counted on the provisional calendar (statutory holidays, no swaps)"
        );
    }
}

/// mimalloc instead of glibc's malloc: the processor allocates rows and strings on one thread
/// and frees them on the insert tasks' threads, the pattern glibc's arenas handle worst
/// (docs/PERFORMANCE.md, "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOTCUA_LOG")
                .unwrap_or_else(|_| "warn,motcua=info".into()),
        )
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
    let cli = Cli::parse();
    let common = cli.common;
    match cli.command {
        Command::Topics { partitions } => {
            let created = ensure_topics(&common, partitions).await?;
            println!(
                "topics ready ({} created): {:?}",
                created.len(),
                common.topics()
            );
        }
        Command::Migrate => {
            let applied = common.store().migrate().await?;
            println!(
                "database {} at version {:?} (applied now: {:?})",
                common.database,
                motcua_runtime::store::MIGRATIONS.len(),
                applied
            );
        }
        Command::Simulate { sim, out } => simulate(&sim, &out)?,
        Command::Publish(args) => publish::run(common.kafka(), common.topics(), args).await?,
        Command::Process {
            process,
            stop_at_end,
        } => {
            let summary = run_processor(&common, &process, stop_at_end).await?;
            print_processor(&summary);
        }
        Command::Replay {
            mut process,
            create_database,
        } => {
            if create_database {
                common.store().migrate().await?;
            }
            // A group no checkpoint or committed offset belongs to: everything is read again.
            process.group = format!(
                "{}-replay-{}",
                process.group,
                chrono::Utc::now().format("%Y%m%d%H%M%S")
            );
            eprintln!(
                "replaying every input topic from the start under group {}",
                process.group
            );
            let summary = run_processor(&common, &process, true).await?;
            print_processor(&summary);
            println!("replay done: figures now come from group {}", process.group);
        }
        Command::Report { scoring } => {
            let store = common.store();
            report::print(&store).await?;
            report::print_deadlines(&store, &scoring.scoring()).await?;
        }
        Command::Overdue { agency, limit } => {
            report::print_overdue(&common.store(), agency.as_deref(), limit).await?
        }
        Command::Due {
            received,
            procedure,
            catalogue,
            amount,
            unit,
            end_of_day,
            same_day_cutoff,
        } => {
            let unit = match unit {
                DueUnit::WorkingDays => TimeUnit::WorkingDays,
                DueUnit::CalendarDays => TimeUnit::CalendarDays,
                DueUnit::WorkingHours => TimeUnit::WorkingHours,
            };
            let (limit, rule) = match procedure {
                Some(code) => {
                    let catalogue = load_catalogue(catalogue.as_ref())?;
                    let p = catalogue.get(&code).with_context(|| {
                        format!(
                            "procedure `{code}` is not in the catalogue {}",
                            catalogue.name()
                        )
                    })?;
                    (p.limit, p.rule)
                }
                None => (
                    TimeLimit {
                        amount: amount.unwrap_or_default(),
                        unit,
                    },
                    DueRule {
                        end_of_day,
                        same_day_cutoff,
                    },
                ),
            };
            due(received, limit, rule)
        }
        Command::Demo {
            sim,
            process,
            bad_records,
            partitions,
        } => {
            demo(common, sim, process, bad_records, partitions).await?;
        }
        Command::Load(args) => load::run(common, args).await?,
        Command::Gateway(args) => {
            motcua_gateway::cli::serve(common.kafka(), common.topics(), args).await?
        }
        Command::ImportPortal(args) => {
            motcua_gateway::cli::import(common.kafka(), common.topics(), args).await?
        }
    }
    Ok(())
}

fn simulate(sim: &SimArgs, out: &PathBuf) -> anyhow::Result<()> {
    use std::io::Write;
    let mut writer: Box<dyn Write> = if out.as_os_str() == "-" {
        Box::new(io::BufWriter::new(io::stdout().lock()))
    } else {
        Box::new(io::BufWriter::new(
            File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
        ))
    };
    let progress = progress::Progress::stderr("simulate", "events", None);
    for event in Simulator::new(sim.config())? {
        serde_json::to_writer(&mut writer, &event)?;
        writer.write_all(b"\n")?;
        progress.inc(1);
    }
    writer.flush()?;
    progress.finish();
    Ok(())
}

async fn run_processor(
    common: &Common,
    args: &ProcessArgs,
    stop_at_end: bool,
) -> anyhow::Result<Summary> {
    let mut config = ProcessorConfig::new(
        common.kafka(),
        common.topics(),
        common.store_settings(),
        args.pseudonym_key.clone().into_bytes(),
    );
    config.group = args.group.clone();
    config.batch_max_records = args.batch_max_records;
    config.batch_max_wait = Duration::from_millis(args.batch_max_wait_ms);
    config.stop_at_end = stop_at_end;
    config.clock = args.deadlines.clock()?;
    config.retention = Duration::from_secs(args.retention_days * 86_400);
    config.store_timeout = Duration::from_secs(args.clickhouse_timeout_secs);
    config.max_skew = Duration::from_secs(args.max_skew_hours.saturating_mul(3_600));
    config.hold_max_batches = args.hold_max_batches;
    config.hold_max_time = Duration::from_millis(args.hold_max_ms);
    config.partitions = match args.assign.as_deref().map(str::trim) {
        None => None,
        Some("all") => Some(Vec::new()),
        Some(list) => Some(
            list.split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("--assign `{list}`: expected `all` or partition numbers like 0,2")
                })?,
        ),
    };
    let metrics = ProcessorMetrics::new();
    let token = shutdown::on_signals();
    metrics::serve(args.metrics_addr, metrics.registry.clone(), token.clone())
        .await
        .with_context(|| format!("cannot serve metrics on {}", args.metrics_addr))?;
    // A run to the end (replay, the demo, `--stop-at-end`) shows how far it is: records
    // read, of those read plus the lag still to read.
    let watch = stop_at_end.then(|| {
        let registry = metrics.registry.clone();
        let done = tokio_util::sync::CancellationToken::new();
        let stop = done.clone();
        let task = tokio::spawn(async move {
            let progress = progress::Progress::stderr("process", "records", None);
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            // The lag is sampled at most once a second, the count every batch: read + lag
            // overstates the total by what was read since the lag's sample, so the total is
            // the smallest such sum seen (and never below what was read).
            let mut total: Option<u64> = None;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => break,
                }
                let (read, lag) = read_and_lag(&registry);
                if lag > 0 {
                    total = Some(total.map_or(read + lag, |t| t.min(read + lag)));
                }
                progress.set(read, total.map(|t| t.max(read)));
            }
            (progress, registry)
        });
        (done, task)
    });
    let summary = motcua_processor::run(config, metrics, token.clone()).await;
    if let Some((done, task)) = watch {
        done.cancel();
        if let Ok((progress, registry)) = task.await {
            if summary.is_ok() {
                // At the end: everything there was to read was read.
                let (read, _) = read_and_lag(&registry);
                progress.set(read, Some(read));
                progress.finish();
            } else {
                // The error says what went wrong; a count line would only blur it.
                progress.abandon();
            }
        }
    }
    token.cancel();
    Ok(summary?)
}

/// Records read so far and messages still to read, from the processor's own metrics.
fn read_and_lag(registry: &prometheus::Registry) -> (u64, u64) {
    let families = registry.gather();
    let sum = |name: &str| -> f64 {
        families
            .iter()
            .filter(|f| f.name() == name)
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
            .sum()
    };
    (
        sum(motcua_core::names::PROCESSOR_EVENTS_CONSUMED) as u64,
        sum(motcua_core::names::PROCESSOR_CONSUMER_LAG).max(0.0) as u64,
    )
}

fn print_processor(s: &Summary) {
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    println!(
        "processed {} records in {:.1} s ({:.0} records/s): {} events folded ({} duplicates), {} dead-lettered, {} dossiers in state",
        s.consumed,
        secs,
        s.consumed as f64 / secs,
        s.accepted,
        s.duplicates,
        s.rejected,
        s.dossiers
    );
    for (reason, n) in &s.rejected_by_reason {
        println!("  dead-lettered {reason:<16} {n:>8}");
    }
    if let (Some(p50), Some(p95), Some(max)) = (
        s.batch_quantile(0.5),
        s.batch_quantile(0.95),
        s.batch_quantile(1.0),
    ) {
        println!(
            "  {} batches; batch latency (read to offsets stored) p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            s.batches,
            p50 * 1e3,
            p95 * 1e3,
            max * 1e3
        );
    }
}

/// The broker's own ceiling: a bare consumer reading every input partition to its end, in
/// the same run, so the pipeline's figure can be read against it.
fn bare_consume_rate(common: &Common) -> anyhow::Result<(u64, f64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let settings = common.kafka();
    let topics = common.topics();
    let inputs = topics.inputs();
    let counts = kafka::partition_counts(&settings, &inputs, Duration::from_secs(10))?;
    let consumer: BaseConsumer = settings
        .consumer(&format!("{}-bare-probe", common.topic_prefix))
        .create()?;
    let mut tpl = TopicPartitionList::new();
    let mut remaining = std::collections::HashMap::new();
    for (topic, count) in inputs.iter().zip(counts) {
        for p in 0..count as i32 {
            let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            if high > 0 {
                tpl.add_partition_offset(topic, p, Offset::Beginning)?;
                remaining.insert((topic.to_string(), p), high);
            }
        }
    }
    consumer.assign(&tpl)?;
    let started = Instant::now();
    let mut n = 0u64;
    while !remaining.is_empty() && started.elapsed() < Duration::from_secs(300) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            use rdkafka::Message;
            n += 1;
            let key = (m.topic().to_string(), m.partition());
            if remaining
                .get(&key)
                .is_some_and(|high| m.offset() + 1 >= *high)
            {
                remaining.remove(&key);
            }
        }
    }
    Ok((n, started.elapsed().as_secs_f64()))
}

/// Creates the topics (see [`kafka::create_topics`]); a broker that does not answer gets one
/// line saying which one and what to start, not librdkafka's timeout alone.
pub(crate) async fn ensure_topics(common: &Common, partitions: i32) -> anyhow::Result<Vec<String>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    let settings = common.kafka();
    let unreachable = |brokers: &str| {
        anyhow::anyhow!(
            "kafka at {brokers} is not reachable (start the local services with `bash deploy/local/up.sh`)"
        )
    };
    // A metadata request first: it answers in 10 s where an admin call waits out its own
    // timeout.
    let probe: BaseConsumer = settings.client().create()?;
    tokio::task::spawn_blocking(move || {
        probe
            .fetch_metadata(None, Duration::from_secs(10))
            .map(drop)
    })
    .await?
    .map_err(|_| unreachable(&settings.brokers))?;
    kafka::create_topics(&settings, &common.topics(), partitions)
        .await
        .map_err(|e| match e {
            KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut)
            | KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut) => {
                unreachable(&settings.brokers)
            }
            e => e.into(),
        })
}

/// Turns a valid event into one of a few realistic kinds of bad record.
fn corrupt(mut e: DossierEvent, i: usize) -> DossierEvent {
    match i % 4 {
        0 => e.dossier_code = format!("{}-BAD", e.dossier_code),
        1 => e.event_id = String::new(),
        2 => {
            e.agency_code = "phòng một cửa".into();
        }
        _ => {
            e.received = None;
            e.withdrawn = None;
            e.result_ready = None;
            e.handover = None;
            e.survey = None;
            e.result_returned = None;
        }
    }
    e
}

async fn demo(
    common: Common,
    sim: SimArgs,
    process: ProcessArgs,
    bad_records: usize,
    partitions: i32,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let run_id = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let common = Common {
        topic_prefix: format!("{}-demo-{run_id}", common.topic_prefix),
        database: format!("{}_demo", common.database),
        ..common
    };
    println!(
        "== motcua demo: province {} for {} days from {}, ~{} dossiers/day (seed {})",
        sim.province, sim.days, sim.start, sim.dossiers_per_day, sim.seed
    );
    println!(
        "   topics {}.*  database {}  metrics http://{}/metrics",
        common.topic_prefix, common.database, process.metrics_addr
    );

    let store = common.store();
    // Start clean; the processor itself runs no DDL.
    ensure_topics(&common, partitions).await?;
    store.drop_database().await?;
    store.migrate().await?;

    // Publish: the simulated province, with some bad records mixed in.
    let producer = EventProducer::new(&common.kafka(), common.topics(), Encoding::Avro)?;
    let source_bad = bad_records / 2;
    let mut simulator = Simulator::new(sim.config())?;
    let every = 997;
    let items = (&mut simulator).enumerate().map(|(i, e)| {
        let e = if i % every == every - 1 && i / every < source_bad {
            corrupt(e, i / every)
        } else {
            e
        };
        (i as u64 + 1, Ok(e))
    });
    let published = publish::publish(&producer, items, None).await?;
    let sim_stats = simulator.stats();
    println!("-- simulated: {sim_stats:?}");
    published.print();

    // Bad records sent raw, as a misbehaving agency system would, to exercise the dead-letter path.
    let raw: FutureProducer = common.kafka().producer().create()?;
    let raw_bad = bad_records - source_bad;
    for i in 0..raw_bad {
        let payload = match i % 3 {
            0 => b"<xml>not an event</xml>".to_vec(),
            1 => br#"{"event_id":"x","dossier_code":"H56-261005-0001","kind":"RECEIVED"}"#.to_vec(),
            _ => {
                let mut e = motcua_core::samples::received();
                e.event_id = format!("raw-bad-{i}");
                e.received.as_mut().expect("sample receipt").applicant.phone = Some("12".into());
                serde_json::to_vec(&e)?
            }
        };
        let key = format!("H56-261005-{i:04}");
        raw.send(
            FutureRecord::to(&common.topics().receipts)
                .key(&key)
                .payload(&payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)?;
    }
    println!(
        "sent {raw_bad} malformed records straight to {} (they must reach the dead-letter topic)",
        common.topics().receipts
    );

    let processed = run_processor(&common, &process, true).await?;
    println!("-- processor");
    print_processor(&processed);

    let ceiling = {
        let common = common.clone();
        tokio::task::spawn_blocking(move || bare_consume_rate(&common)).await??
    };
    println!(
        "-- broker ceiling, same topics, same run: a bare consumer read {} records in {:.1} s ({:.0} records/s)",
        ceiling.0,
        ceiling.1,
        ceiling.0 as f64 / ceiling.1.max(1e-9)
    );

    report::print(&store).await?;
    report::print_deadlines(&store, &Scoring::default()).await?;
    println!();
    println!(
        "== demo done in {:.1} s: {} events published, {} records processed ({:.0}/s); services left running (bash deploy/local/down.sh stops them)",
        started.elapsed().as_secs_f64(),
        published.sent(),
        processed.consumed,
        processed.consumed as f64 / processed.elapsed.as_secs_f64().max(1e-9)
    );
    println!("   look: clickhouse-client --port 19000 -d {} -q 'SELECT * FROM v_ontime_agency_daily ORDER BY day, agency_code'", common.database);
    Ok(())
}

#[cfg(test)]
mod cli_tests {
    use clap::CommandFactory;

    /// Every subcommand's flags are consistent (a flattened group reusing a name, as
    /// `--partitions` once did in `demo`, panics here instead of at a user's first run).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
