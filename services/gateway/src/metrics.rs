//! The gateway's metrics: names defined once here, base units, counters ending in
//! `_total`, bounded labels (route: the fixed routes; status: the documented codes;
//! reason: [`Reason`]; level: the four agency levels).

use motcua_core::event::AgencyLevel;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::record::Reason;

/// HTTP requests answered. Labels `route`, `status`.
pub const REQUESTS: &str = "motcua_gateway_requests_total";
/// Records accepted (every event acknowledged by the broker). Label `level`.
pub const RECORDS_ACCEPTED: &str = "motcua_gateway_records_accepted_total";
/// Records accepted, per agency. Label `agency` (the access file's ids: bounded by it).
pub const AGENCY_RECORDS_ACCEPTED: &str = "motcua_gateway_agency_records_accepted_total";
/// Records rejected. Labels `reason`, `level`.
pub const RECORDS_REJECTED: &str = "motcua_gateway_records_rejected_total";
/// Events published and acknowledged.
pub const EVENTS_PUBLISHED: &str = "motcua_gateway_events_published_total";
/// Time from a request's first event queued to its last acknowledgement.
pub const PRODUCE_DURATION: &str = "motcua_gateway_produce_duration_seconds";
/// Requests being handled now.
pub const REQUESTS_IN_FLIGHT: &str = "motcua_gateway_requests_in_flight";
/// Events queued to the broker and not yet acknowledged.
pub const EVENTS_IN_FLIGHT: &str = "motcua_gateway_events_in_flight";
/// 1 while the broker answered the last probe.
pub const BROKER_READY: &str = "motcua_gateway_broker_ready";
/// Requests answered from the idempotency store without publishing.
pub const IDEMPOTENT_REPLAYS: &str = "motcua_gateway_idempotent_replays_total";
/// Idempotency keys held.
pub const IDEMPOTENCY_KEYS: &str = "motcua_gateway_idempotency_keys";
/// Access-file reloads. Label `result` (`ok`, `error`).
pub const CONFIG_RELOADS: &str = "motcua_gateway_config_reloads_total";

/// Label value of a level.
pub fn level_label(level: AgencyLevel) -> &'static str {
    match level {
        AgencyLevel::Ministry => "ministry",
        AgencyLevel::Province => "province",
        AgencyLevel::District => "district",
        AgencyLevel::Commune => "commune",
    }
}

/// Every gateway metric, registered in one registry.
#[derive(Clone)]
pub struct GatewayMetrics {
    /// The registry served at `/metrics`.
    pub registry: Registry,
    /// See [`REQUESTS`].
    pub requests: IntCounterVec,
    /// See [`RECORDS_ACCEPTED`].
    pub accepted: IntCounterVec,
    /// See [`AGENCY_RECORDS_ACCEPTED`].
    pub agency_accepted: IntCounterVec,
    /// See [`RECORDS_REJECTED`].
    pub rejected: IntCounterVec,
    /// See [`EVENTS_PUBLISHED`].
    pub published: IntCounter,
    /// See [`PRODUCE_DURATION`].
    pub produce_duration: Histogram,
    /// See [`REQUESTS_IN_FLIGHT`].
    pub in_flight: IntGauge,
    /// See [`EVENTS_IN_FLIGHT`].
    pub events_in_flight: IntGauge,
    /// See [`BROKER_READY`].
    pub broker_ready: IntGauge,
    /// See [`IDEMPOTENT_REPLAYS`].
    pub replays: IntCounter,
    /// See [`IDEMPOTENCY_KEYS`].
    pub idempotency_keys: IntGauge,
    /// See [`CONFIG_RELOADS`].
    pub reloads: IntCounterVec,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: T) -> T {
    r.register(Box::new(m.clone()))
        .expect("metric names are unique");
    m
}

impl GatewayMetrics {
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
        let counter = |name: &str, help: &str| {
            register(r, IntCounter::new(name, help).expect("valid metric"))
        };
        let m = GatewayMetrics {
            requests: counter_vec(REQUESTS, "HTTP requests answered.", &["route", "status"]),
            accepted: counter_vec(
                RECORDS_ACCEPTED,
                "Records accepted: every event acknowledged by the broker.",
                &["level"],
            ),
            agency_accepted: counter_vec(
                AGENCY_RECORDS_ACCEPTED,
                "Records accepted, by the access file's id of the agency that sent them.",
                &["agency"],
            ),
            rejected: counter_vec(RECORDS_REJECTED, "Records rejected.", &["reason", "level"]),
            published: counter(EVENTS_PUBLISHED, "Events published and acknowledged."),
            produce_duration: register(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        PRODUCE_DURATION,
                        "Time from a request's first event queued to its last acknowledgement.",
                    )
                    .buckets(
                        prometheus::exponential_buckets(0.001, 2.0, 15).expect("valid buckets"),
                    ),
                )
                .expect("valid metric"),
            ),
            in_flight: gauge(REQUESTS_IN_FLIGHT, "Requests being handled now."),
            events_in_flight: gauge(
                EVENTS_IN_FLIGHT,
                "Events queued to the broker and not yet acknowledged.",
            ),
            broker_ready: gauge(BROKER_READY, "1 while the broker answered the last probe."),
            replays: counter(
                IDEMPOTENT_REPLAYS,
                "Requests answered from the idempotency store without publishing.",
            ),
            idempotency_keys: gauge(IDEMPOTENCY_KEYS, "Idempotency keys held."),
            reloads: counter_vec(CONFIG_RELOADS, "Access-file reloads.", &["result"]),
            registry,
        };
        // Every label combination exists from the start, so rates are defined at zero.
        for level in AgencyLevel::ALL {
            m.accepted.with_label_values(&[level_label(*level)]);
            for reason in Reason::ALL {
                m.rejected
                    .with_label_values(&[reason.as_str(), level_label(*level)]);
            }
        }
        m
    }

    /// Creates every configured agency's series at its current value (0 when new), so a
    /// silent agency shows as a flat series, not a missing one. Called at start and after
    /// each access-file reload.
    pub fn seed_agencies<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            self.agency_accepted.with_label_values(&[id]);
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        motcua_runtime::metrics::render(&self.registry)
    }
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics::new()
    }
}
