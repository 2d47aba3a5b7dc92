//! Metrics: one registry per service instance (no global), served at `/metrics`.
//!
//! Names come from `motcua_core::names`; labels are bounded (topic, partition, event kind,
//! rejection reason, table). Values are updated per batch, not per event.

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use motcua_core::names;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio_util::sync::CancellationToken;

/// The processor's metrics.
#[derive(Clone)]
pub struct ProcessorMetrics {
    /// Registry holding all of them.
    pub registry: Registry,
    /// Records read, by topic.
    pub consumed: IntCounterVec,
    /// Valid events folded, by kind.
    pub folded: IntCounterVec,
    /// Records dead-lettered, by reason.
    pub rejected: IntCounterVec,
    /// Duplicate event ids.
    pub duplicates: IntCounter,
    /// Dossiers in state.
    pub dossiers: IntGauge,
    /// Dossiers held without a receipt.
    pub awaiting_receipt: IntGauge,
    /// Open dossiers past their due time at the watermark, by agency level.
    pub overdue: IntGaugeVec,
    /// Lag by topic and partition.
    pub lag: IntGaugeVec,
    /// Event-time watermark.
    pub watermark: IntGauge,
    /// State rows of dossiers outside the calendar data.
    pub off_calendar: IntCounter,
    /// Batch durations.
    pub batch_duration: Histogram,
    /// Time in each phase of the loop, by phase.
    pub loop_phase: HistogramVec,
    /// Batch sizes.
    pub batch_size: Histogram,
    /// Kafka timestamp to visible in ClickHouse, per record.
    pub end_to_end_latency: Histogram,
    /// ClickHouse insert durations, by table.
    pub insert_duration: HistogramVec,
    /// ClickHouse rows written, by table.
    pub rows_written: IntCounterVec,
    /// ClickHouse insert retries, by table.
    pub insert_retries: IntCounterVec,
    /// Retried operations, by operation.
    pub retries: IntCounterVec,
    /// 1 while retrying.
    pub retrying: IntGauge,
    /// Partition numbers owned.
    pub partitions_owned: IntGauge,
    /// Assignments received.
    pub rebalances: IntCounter,
    /// Full batches folded and held, their figures written with a later batch's.
    pub held_batches: IntCounter,
    /// Partitions catching up.
    pub catching_up: IntGauge,
    /// Partition restore durations.
    pub restore_duration: Histogram,
    /// Dossiers evicted (held in the checkpoint only).
    pub evicted: IntGauge,
    /// Evictions.
    pub evictions: IntCounter,
    /// Ratings left unmatched past the retention window.
    pub unmatched_ratings_expired: IntCounter,
    /// Evicted dossiers loaded back.
    pub reloaded: IntCounter,
    /// Partitions paused for running ahead in event time.
    pub paused: IntGauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

impl ProcessorMetrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let gauge =
            |name: &str, help: &str| register(r, IntGauge::new(name, help).expect("valid metric"));
        ProcessorMetrics {
            consumed: counter_vec(
                names::PROCESSOR_EVENTS_CONSUMED,
                "Records read from input topics.",
                &["topic"],
            ),
            folded: counter_vec(
                names::PROCESSOR_EVENTS_FOLDED,
                "Valid events folded into dossier state.",
                &["kind"],
            ),
            rejected: counter_vec(
                names::PROCESSOR_EVENTS_REJECTED,
                "Records sent to the dead-letter topic.",
                &["reason"],
            ),
            duplicates: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_EVENTS_DUPLICATE,
                    "Events whose id was already folded.",
                )
                .expect("valid metric"),
            ),
            dossiers: gauge(names::PROCESSOR_DOSSIERS, "Dossiers held in state."),
            awaiting_receipt: gauge(
                names::PROCESSOR_DOSSIERS_AWAITING_RECEIPT,
                "Dossiers with events but no receipt yet (held, not dropped).",
            ),
            overdue: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        names::PROCESSOR_DOSSIERS_OVERDUE,
                        "Open dossiers past their due time at the event-time watermark (OVERDUE_IN_PROGRESS), by agency level.",
                    ),
                    &["level"],
                )
                .expect("valid metric"),
            ),
            lag: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        names::PROCESSOR_CONSUMER_LAG,
                        "Messages between position and partition end.",
                    ),
                    &["topic", "partition"],
                )
                .expect("valid metric"),
            ),
            watermark: gauge(
                names::PROCESSOR_WATERMARK,
                "Event-time watermark, Unix seconds.",
            ),
            off_calendar: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_OFF_CALENDAR_ROWS,
                    "State rows of dossiers whose dates lie in a year counted on the provisional calendar (no announcement loaded).",
                )
                .expect("valid metric"),
            ),
            batch_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        names::PROCESSOR_BATCH_DURATION,
                        "Batch duration, first record to offsets stored.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.005, 2.0, 14).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            end_to_end_latency: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        names::PROCESSOR_END_TO_END_LATENCY,
                        "From a record's Kafka timestamp to its batch's rows written to ClickHouse.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.05, 2.0, 16).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            loop_phase: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        names::PROCESSOR_LOOP_PHASE_DURATION,
                        "Time the loop spends in each phase of a batch.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.001, 2.0, 15).expect("valid buckets"),
                    ),
                    &["phase"],
                )
                .expect("valid metric"),
            ),
            batch_size: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(names::PROCESSOR_BATCH_SIZE, "Records per batch.").buckets(
                        prometheus::exponential_buckets(1.0, 4.0, 10).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            insert_duration: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        names::CLICKHOUSE_INSERT_DURATION,
                        "ClickHouse insert duration.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.002, 2.0, 14).expect("valid buckets"),
                    ),
                    &["table"],
                )
                .expect("valid metric"),
            ),
            rows_written: counter_vec(
                names::CLICKHOUSE_ROWS_WRITTEN,
                "Rows written to ClickHouse.",
                &["table"],
            ),
            insert_retries: counter_vec(
                names::CLICKHOUSE_INSERT_RETRIES,
                "ClickHouse inserts retried after an error.",
                &["table"],
            ),
            retries: counter_vec(
                names::PROCESSOR_RETRIES,
                "Failed broker or ClickHouse operations that were retried.",
                &["operation"],
            ),
            retrying: gauge(
                names::PROCESSOR_RETRYING,
                "1 while an operation is being retried.",
            ),
            partitions_owned: gauge(
                names::PROCESSOR_PARTITIONS_OWNED,
                "Input partition numbers this instance owns.",
            ),
            rebalances: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_REBALANCES,
                    "Assignments received: the first at start, then one per rebalance that changed the partitions owned.",
                )
                .expect("valid metric"),
            ),
            held_batches: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_HELD_BATCHES,
                    "Full batches whose figures and checkpoint were written with a later batch's (catching up).",
                )
                .expect("valid metric"),
            ),
            catching_up: gauge(
                names::PROCESSOR_PARTITIONS_CATCHING_UP,
                "Owned partitions read below the end they had when assigned.",
            ),
            restore_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        names::PROCESSOR_RESTORE_DURATION,
                        "Time to restore one partition's state from its checkpoint.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.01, 2.0, 14).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            evicted: gauge(
                names::PROCESSOR_DOSSIERS_EVICTED,
                "Ended dossiers held only in the checkpoint.",
            ),
            evictions: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_EVICTIONS,
                    "Ended dossiers evicted from memory.",
                )
                .expect("valid metric"),
            ),
            unmatched_ratings_expired: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_RATINGS_UNMATCHED_EXPIRED,
                    "Ratings whose dossier's receipt did not arrive within the retention window \
                     (the dossier left memory awaiting it; v_unmatched_ratings lists it).",
                )
                .expect("valid metric"),
            ),
            reloaded: register(
                r,
                IntCounter::new(
                    names::PROCESSOR_DOSSIERS_RELOADED,
                    "Evicted dossiers loaded back because an event named them.",
                )
                .expect("valid metric"),
            ),
            paused: gauge(
                names::PROCESSOR_PARTITIONS_PAUSED,
                "Partitions paused for running ahead of the others in event time.",
            ),
            registry,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

impl Default for ProcessorMetrics {
    fn default() -> Self {
        ProcessorMetrics::new()
    }
}

/// Prometheus text format of a registry.
pub fn render(registry: &Registry) -> String {
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buf)
        .expect("text encoding cannot fail");
    String::from_utf8(buf).expect("exposition is UTF-8")
}

/// Serves `/metrics` and `/health` on `addr` until `shutdown`. Returns the bound address
/// (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    registry: Registry,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move { render(&registry) }
            }),
        )
        .route("/health", get(|| async { "ok" }));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    tracing::info!(%bound, "metrics endpoint listening");
    Ok(bound)
}
