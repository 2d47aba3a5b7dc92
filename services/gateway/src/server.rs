//! The HTTP service: routes, the ingest path, the broker probe and the access-file reload.
//!
//! A request goes: authenticate (API key → agency) → rate limit → size limit → idempotency
//! key → decode (and convert portal records) → validate and check scopes per record →
//! reserve in-flight permits → publish every accepted event → wait for every
//! acknowledgement → answer. The in-flight permits bound what the gateway holds for the
//! broker; when they run out, or the broker is not answering its probe, the answer is 503
//! with `Retry-After` at once, never a growing queue.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use motcua_core::codec::Encoding;
use motcua_core::deadline::Catalogue;
use motcua_core::topics::TopicNames;
use motcua_core::{validate, DossierEvent};
use motcua_producer::{EventProducer, KafkaSettings};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::{Access, Agency};
use crate::idempotency::{Begin, Store, Stored};
use crate::metrics::{level_label, GatewayMetrics};
use crate::portal::{self, PortalDossier, PortalStep};
use crate::record::{self, Reason, RecordError};

/// The OpenAPI document, kept in the repository and served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// One route with the statuses it can answer (the OpenAPI document lists the same; a test
/// holds them together).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path.
    pub path: &'static str,
    /// Every status it can answer.
    pub statuses: &'static [u16],
}

const INGEST_STATUSES: &[u16] = &[200, 400, 401, 409, 413, 415, 422, 429, 503];
const SINGLE_STATUSES: &[u16] = &[200, 400, 401, 403, 409, 413, 415, 422, 429, 503];

/// Every route the gateway serves.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/v1/events",
        statuses: SINGLE_STATUSES,
    },
    Route {
        method: "post",
        path: "/v1/events/batch",
        statuses: INGEST_STATUSES,
    },
    Route {
        method: "post",
        path: "/v1/portal/dossiers",
        statuses: INGEST_STATUSES,
    },
    Route {
        method: "post",
        path: "/v1/portal/progress",
        statuses: INGEST_STATUSES,
    },
    Route {
        method: "get",
        path: "/openapi.json",
        statuses: &[200],
    },
    Route {
        method: "get",
        path: "/healthz",
        statuses: &[200],
    },
    Route {
        method: "get",
        path: "/readyz",
        statuses: &[200, 503],
    },
    Route {
        method: "get",
        path: "/metrics",
        statuses: &[200],
    },
];

/// Which ingest endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// One motcua event.
    Event,
    /// An array of motcua events.
    EventBatch,
    /// Portal dossier snapshots (one or an array).
    PortalDossiers,
    /// Portal progress rows (one or an array).
    PortalProgress,
}

impl Endpoint {
    /// Its path (the `route` label).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Event => "/v1/events",
            Endpoint::EventBatch => "/v1/events/batch",
            Endpoint::PortalDossiers => "/v1/portal/dossiers",
            Endpoint::PortalProgress => "/v1/portal/progress",
        }
    }

    fn portal(self) -> bool {
        matches!(self, Endpoint::PortalDossiers | Endpoint::PortalProgress)
    }
}

/// Everything the gateway is started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The access file (agencies, keys, scopes, limits, levels); re-read when it changes.
    pub access_file: PathBuf,
    /// How long an event may wait for its acknowledgement, retries included, before the
    /// request is answered 503.
    pub produce_timeout: Duration,
    /// Most events queued to the broker and not yet acknowledged, over all requests.
    pub max_in_flight_events: usize,
    /// How long an idempotency key is remembered after its answer.
    pub idempotency_ttl: Duration,
    /// Most idempotency keys remembered.
    pub idempotency_capacity: usize,
    /// Journal of idempotency keys, to remember them across restarts; none: memory only.
    pub idempotency_file: Option<PathBuf>,
    /// Procedure catalogue (portal records carry no time limit).
    pub catalogue: Catalogue,
    /// How often the access file's mtime is checked.
    pub reload_interval: Duration,
    /// How often the broker is probed (readiness).
    pub probe_interval: Duration,
    /// Seconds a 503 or 429 tells the client to wait.
    pub retry_after_secs: u64,
    /// Encoding of published events.
    pub encoding: Encoding,
}

impl Settings {
    /// Defaults for everything but the address and the access file.
    pub fn new(listen: SocketAddr, access_file: PathBuf) -> Settings {
        Settings {
            listen,
            access_file,
            produce_timeout: Duration::from_secs(10),
            max_in_flight_events: 20_000,
            idempotency_ttl: Duration::from_secs(24 * 3600),
            idempotency_capacity: 100_000,
            idempotency_file: None,
            catalogue: Catalogue::shipped(),
            reload_interval: Duration::from_secs(1),
            probe_interval: Duration::from_secs(1),
            retry_after_secs: 2,
            encoding: Encoding::Avro,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct App {
    producer: EventProducer,
    access: RwLock<Arc<Access>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    idempotency: Store,
    permits: Arc<Semaphore>,
    max_in_flight: usize,
    ready: AtomicBool,
    metrics: GatewayMetrics,
    catalogue: Catalogue,
    retry_after: u64,
}

/// A running gateway.
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The metrics.
    pub metrics: GatewayMetrics,
    /// Ends when the server has stopped.
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the gateway; it runs until `shutdown` is cancelled.
pub async fn start(
    settings: Settings,
    kafka: KafkaSettings,
    topics: TopicNames,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let access = Access::load(&settings.access_file).map_err(anyhow::Error::msg)?;
    let kafka_producer = kafka.clone().with_message_timeout(settings.produce_timeout);
    let mut kafka_producer = kafka_producer;
    // Requests wait for their acknowledgements: a short linger keeps that wait short.
    if !kafka_producer.extra.iter().any(|(k, _)| k == "linger.ms") {
        kafka_producer.extra.push(("linger.ms".into(), "5".into()));
    }
    let producer = EventProducer::new(&kafka_producer, topics.clone(), settings.encoding)?;
    let metrics = GatewayMetrics::new();
    let idempotency = Store::new(
        settings.idempotency_ttl,
        settings.idempotency_capacity,
        settings.idempotency_file.clone(),
    )
    .map_err(|e| anyhow::anyhow!("idempotency journal: {e}"))?;
    metrics.idempotency_keys.set(idempotency.len() as i64);
    metrics.seed_agencies(access.agencies().iter().map(|a| a.id.as_str()));
    let app = Arc::new(App {
        producer,
        access: RwLock::new(Arc::new(access)),
        buckets: Mutex::new(HashMap::new()),
        idempotency,
        permits: Arc::new(Semaphore::new(settings.max_in_flight_events)),
        max_in_flight: settings.max_in_flight_events,
        ready: AtomicBool::new(false),
        metrics: metrics.clone(),
        catalogue: settings.catalogue.clone(),
        retry_after: settings.retry_after_secs,
    });

    spawn_probe(
        app.clone(),
        kafka,
        topics.receipts.clone(),
        settings.probe_interval,
        shutdown.clone(),
    );
    spawn_reload(
        app.clone(),
        settings.access_file.clone(),
        settings.reload_interval,
        shutdown.clone(),
    );

    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let router = router(app);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "gateway stopped");
        }
    });
    tracing::info!(%addr, "gateway listening");
    Ok(Running {
        addr,
        metrics,
        task,
    })
}

fn router(app: Arc<App>) -> Router {
    let mut router = Router::new();
    for r in ROUTES {
        router = match (r.method, r.path) {
            ("post", "/v1/events") => router.route(r.path, post(single)),
            ("post", "/v1/events/batch") => router.route(r.path, post(batch)),
            ("post", "/v1/portal/dossiers") => router.route(r.path, post(portal_dossiers)),
            ("post", "/v1/portal/progress") => router.route(r.path, post(portal_progress)),
            ("get", "/openapi.json") => router.route(
                r.path,
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
            ),
            ("get", "/healthz") => router.route(
                r.path,
                get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
            ),
            ("get", "/readyz") => router.route(r.path, get(readyz)),
            ("get", "/metrics") => router.route(r.path, get(metrics_text)),
            (m, p) => unreachable!("route {m} {p} has no handler"),
        };
    }
    router
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route (see GET /openapi.json)",
            )
            .into_response()
        })
        .with_state(app)
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.ready.load(Ordering::Relaxed) {
        axum::Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        let mut r = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "broker_unavailable",
            "the Kafka broker did not answer the last probe",
        );
        r.retry_after = Some(app.retry_after);
        r.into_response()
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn single(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    app.serve(Endpoint::Event, headers, body).await
}
async fn batch(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    app.serve(Endpoint::EventBatch, headers, body).await
}
async fn portal_dossiers(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    app.serve(Endpoint::PortalDossiers, headers, body).await
}
async fn portal_progress(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    app.serve(Endpoint::PortalProgress, headers, body).await
}

/// A non-2xx answer: `{"error": {"code", "message", "field"?}, "results"?}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
    results: Option<Box<Answer>>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            retry_after: None,
            results: None,
        }
    }

    fn body(&self) -> String {
        let mut error = serde_json::json!({"code": self.code, "message": self.message});
        if let Some(f) = &self.field {
            error["field"] = Value::String(f.clone());
        }
        let mut body = serde_json::json!({ "error": error });
        if let Some(r) = &self.results {
            body["results"] = serde_json::to_value(r).expect("serialisable");
        }
        body.to_string()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The answer of an ingest request: one result per record, in input order.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// Records accepted.
    pub accepted: usize,
    /// Records rejected.
    pub rejected: usize,
    /// Records not acknowledged by the broker (only in a 503 answer).
    pub unavailable: usize,
    /// Per record.
    pub results: Vec<RecordResult>,
}

/// One record's result.
#[derive(Debug, Clone, Serialize)]
pub struct RecordResult {
    /// Position in the request.
    pub index: usize,
    /// `accepted`, `rejected` or `unavailable`.
    pub status: &'static str,
    /// The events published for it, when accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Published>,
    /// Why not, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RecordError>,
}

/// Where an event was acknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// Its id.
    pub event_id: String,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Forgets an unanswered idempotency key when the request ends without a final answer
/// (including when the client goes away and the handler is dropped).
struct KeyGuard<'a> {
    app: &'a App,
    agency: String,
    key: Option<String>,
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            self.app.idempotency.abort(&self.agency, &k);
        }
    }
}

struct InFlight<'a>(&'a GatewayMetrics);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, key) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| key.trim())
            .filter(|k| !k.is_empty());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

impl App {
    async fn serve(&self, endpoint: Endpoint, headers: HeaderMap, body: Body) -> Response {
        self.metrics.in_flight.inc();
        let _in_flight = InFlight(&self.metrics);
        let resp = match self.ingest(endpoint, &headers, body).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        self.metrics
            .requests
            .with_label_values(&[endpoint.path(), resp.status().as_str()])
            .inc();
        resp
    }

    fn take_token(&self, agency: &Agency) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().expect("not poisoned");
        let now = Instant::now();
        let b = buckets.entry(agency.id.clone()).or_insert(Bucket {
            tokens: agency.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * agency.requests_per_second;
        b.tokens = (b.tokens + refill).min(agency.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / agency.requests_per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    async fn ingest(
        &self,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the agency's API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
            )
        };
        let key = api_key(headers).ok_or_else(unauthorized)?;
        let access = self.access.read().expect("not poisoned").clone();
        let agency = access.authenticate(key).ok_or_else(unauthorized)?.clone();
        let level = level_label(agency.level);

        if let Err(wait) = self.take_token(&agency) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests per second (burst {}) for agency {}",
                    agency.requests_per_second, agency.burst, agency.id
                ),
            );
            e.retry_after = Some(wait);
            return Err(e);
        }

        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with `Content-Type: application/json`",
            ));
        }
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is larger than {} bytes, this agency's limit",
                    agency.max_body_bytes
                ),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > agency.max_body_bytes) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(body, agency.max_body_bytes)
            .await
            .map_err(|_| too_large())?;

        let idem_key = match headers.get("idempotency-key") {
            None => None,
            Some(v) => {
                let k = v
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|k| !k.is_empty() && k.len() <= 255)
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "bad_idempotency_key",
                            "Idempotency-Key must be 1 to 255 visible ASCII characters",
                        )
                    })?;
                Some(k.to_string())
            }
        };
        let mut guard = KeyGuard {
            app: self,
            agency: agency.id.clone(),
            key: None,
        };
        if let Some(k) = &idem_key {
            let mut h = Sha256::new();
            h.update(endpoint.path().as_bytes());
            h.update([0]);
            h.update(&bytes);
            let hash: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            match self.idempotency.begin(&agency.id, k, &hash) {
                Begin::Fresh => guard.key = Some(k.clone()),
                Begin::Replay(stored) => {
                    self.metrics.replays.inc();
                    let mut resp = (
                        StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                        [(header::CONTENT_TYPE, "application/json")],
                        stored.body,
                    )
                        .into_response();
                    resp.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    return Ok(resp);
                }
                Begin::Mismatch => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for another request body: use a new key for new content",
                    ))
                }
                Begin::InProgress => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "idempotency_key_in_progress",
                        "a request with this Idempotency-Key is still being carried out: retry once it is answered",
                    ))
                }
            }
        }

        let plans = self.plan(endpoint, &bytes, &access, &agency)?;
        let (status, answer) = self.publish(endpoint, plans, level).await?;
        self.metrics
            .agency_accepted
            .with_label_values(&[agency.id.as_str()])
            .inc_by(answer.accepted as u64);

        let body = match (endpoint, &answer.results.first()) {
            (Endpoint::Event, Some(RecordResult { error: Some(e), .. })) => {
                let mut err = ApiError::new(status, e.reason.as_str(), e.detail.clone());
                err.field = Some(e.field.clone());
                err.body()
            }
            _ => serde_json::to_string(&answer).expect("serialisable"),
        };
        if let Some(k) = guard.key.take() {
            let stored = Stored {
                status: status.as_u16(),
                body: body.clone(),
            };
            if let Err(e) = self.idempotency.finish(&agency.id, &k, stored) {
                tracing::error!(error = %e, "idempotency journal write failed");
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the records were published but the idempotency key could not be stored: retrying with the same key may publish them again (their event ids are the same, so the processor folds them once)",
                );
                err.retry_after = Some(self.retry_after);
                return Err(err);
            }
            self.metrics
                .idempotency_keys
                .set(self.idempotency.len() as i64);
        }
        Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
    }

    /// Decodes the body into records, each the events it becomes or why it is rejected.
    fn plan(
        &self,
        endpoint: Endpoint,
        bytes: &[u8],
        access: &Access,
        agency: &Agency,
    ) -> Result<Vec<Result<Vec<DossierEvent>, RecordError>>, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!("the body is not JSON: {e}"),
            )
        })?;
        let items = match (endpoint, value) {
            (Endpoint::Event, v @ Value::Object(_)) => vec![v],
            (Endpoint::Event, _) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    "the body must be one event object (arrays go to /v1/events/batch)",
                ))
            }
            (Endpoint::EventBatch, Value::Array(items)) => items,
            (Endpoint::EventBatch, _) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    "the body must be an array of events",
                ))
            }
            (_, Value::Array(items)) => items,
            (_, v @ Value::Object(_)) => vec![v],
            (_, _) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    "the body must be a portal record or an array of them",
                ))
            }
        };
        if items.len() > agency.max_records {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_records",
                format!(
                    "{} records, more than this agency's limit of {} per request",
                    items.len(),
                    agency.max_records
                ),
            ));
        }
        let level_of = |code: &str| access.level_of(code);
        let ctx = portal::Context {
            catalogue: &self.catalogue,
            level_of: &level_of,
        };
        let plans: Vec<Result<Vec<DossierEvent>, RecordError>> = match endpoint {
            Endpoint::Event | Endpoint::EventBatch => items
                .into_iter()
                .map(|v| record::decode::<DossierEvent>(v).map(|e| vec![e]))
                .collect(),
            Endpoint::PortalDossiers => items
                .into_iter()
                .map(|v| {
                    record::decode::<PortalDossier>(v)
                        .and_then(|d| portal::dossier_events(&d, &ctx))
                })
                .collect(),
            Endpoint::PortalProgress => {
                let rows: Vec<Result<PortalStep, RecordError>> =
                    items.into_iter().map(record::decode).collect();
                portal::progress_events(&rows)
                    .into_iter()
                    .map(|r| r.map(|e| vec![e]))
                    .collect()
            }
        };
        Ok(plans
            .into_iter()
            .map(|plan| plan.and_then(|events| check(endpoint, agency, events)))
            .collect())
    }

    /// Publishes every accepted record's events and waits for their acknowledgements.
    async fn publish(
        &self,
        endpoint: Endpoint,
        plans: Vec<Result<Vec<DossierEvent>, RecordError>>,
        level: &'static str,
    ) -> Result<(StatusCode, Answer), ApiError> {
        let events: usize = plans.iter().flatten().map(Vec::len).sum();
        let mut permit = None;
        if events > 0 {
            let unavailable = |message: &str| {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
                e.retry_after = Some(self.retry_after);
                e
            };
            if !self.ready.load(Ordering::Relaxed) {
                return Err(unavailable(
                    "the Kafka broker is not reachable: nothing was published, retry later",
                ));
            }
            let wanted = events.min(self.max_in_flight) as u32;
            permit = Some(
                self.permits
                    .clone()
                    .try_acquire_many_owned(wanted)
                    .map_err(|_| {
                        unavailable(
                            "the gateway holds as many unacknowledged events as it may: nothing was published, retry later",
                        )
                    })?,
            );
        }
        self.metrics.events_in_flight.add(events as i64);
        let started = Instant::now();
        let mut pending = Vec::with_capacity(plans.len());
        for plan in &plans {
            let mut deliveries = Vec::new();
            if let Ok(events) = plan {
                for e in events {
                    let topic = self.producer.topics().for_event(e).to_string();
                    deliveries.push((e.event_id.clone(), topic, self.producer.enqueue(e).await));
                }
            }
            pending.push(deliveries);
        }
        let mut results = Vec::with_capacity(plans.len());
        let mut broker_failed = false;
        for (index, (plan, deliveries)) in plans.into_iter().zip(pending).enumerate() {
            let error = match plan {
                Err(e) => {
                    results.push(RecordResult {
                        index,
                        status: "rejected",
                        events: Vec::new(),
                        error: Some(e),
                    });
                    continue;
                }
                Ok(_) => None::<RecordError>,
            };
            let mut published = Vec::new();
            let mut failed = false;
            for (event_id, topic, queued) in deliveries {
                let outcome = match queued {
                    Ok(delivery) => match delivery.await {
                        Ok(Ok(d)) => Some((d.partition, d.offset)),
                        Ok(Err((e, _))) => {
                            tracing::warn!(error = %e, "event not acknowledged");
                            None
                        }
                        Err(_) => None,
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "event not queued");
                        None
                    }
                };
                match outcome {
                    Some((partition, offset)) => published.push(Published {
                        topic,
                        event_id,
                        partition,
                        offset,
                    }),
                    None => failed = true,
                }
            }
            broker_failed |= failed;
            results.push(RecordResult {
                index,
                status: if failed { "unavailable" } else { "accepted" },
                events: published,
                error,
            });
        }
        self.metrics.events_in_flight.sub(events as i64);
        drop(permit);
        if events > 0 {
            self.metrics
                .produce_duration
                .observe(started.elapsed().as_secs_f64());
        }
        let mut answer = Answer {
            accepted: 0,
            rejected: 0,
            unavailable: 0,
            results,
        };
        for r in &answer.results {
            match r.status {
                "accepted" => {
                    answer.accepted += 1;
                    self.metrics.published.inc_by(r.events.len() as u64);
                    self.metrics.accepted.with_label_values(&[level]).inc();
                }
                "rejected" => {
                    answer.rejected += 1;
                    let reason = r.error.as_ref().map(|e| e.reason.as_str()).unwrap_or("");
                    self.metrics
                        .rejected
                        .with_label_values(&[reason, level])
                        .inc();
                }
                _ => answer.unavailable += 1,
            }
        }
        if broker_failed {
            // The probe sets it back once the broker answers.
            self.ready.store(false, Ordering::Relaxed);
            self.metrics.broker_ready.set(0);
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the Kafka broker did not acknowledge every event: retry the request (records already accepted carry the same event ids, which the processor folds once)",
            );
            e.retry_after = Some(self.retry_after);
            e.results = Some(Box::new(answer));
            return Err(e);
        }
        let status = match (endpoint, answer.results.first()) {
            (Endpoint::Event, Some(RecordResult { error: Some(e), .. })) => {
                if e.reason == Reason::Forbidden {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
            }
            _ => StatusCode::OK,
        };
        Ok((status, answer))
    }
}

/// Validates each event and checks that the caller may submit it: its agency and its
/// dossier's agency must both lie within the caller's scopes.
fn check(
    endpoint: Endpoint,
    agency: &Agency,
    events: Vec<DossierEvent>,
) -> Result<Vec<DossierEvent>, RecordError> {
    let name = |field: &str| {
        if endpoint.portal() {
            portal::portal_field(field)
        } else {
            field.to_string()
        }
    };
    for e in &events {
        validate(e).map_err(|r| {
            let mut err = RecordError::from(r);
            err.field = name(&err.field);
            err
        })?;
        if !agency.covers(&e.agency_code) {
            return Err(RecordError::new(
                Reason::Forbidden,
                name("agency_code"),
                format!(
                    "agency {} may submit for {} and their sub-units, not for `{}`",
                    agency.id,
                    agency.scopes.join(", "),
                    e.agency_code
                ),
            ));
        }
        let owner = portal::dossier_agency(&e.dossier_code).unwrap_or_default();
        if !agency.covers(owner) {
            return Err(RecordError::new(
                Reason::Forbidden,
                name("dossier_code"),
                format!(
                    "dossier `{}` belongs to `{owner}`, outside agency {}'s scopes ({})",
                    e.dossier_code,
                    agency.id,
                    agency.scopes.join(", ")
                ),
            ));
        }
    }
    Ok(events)
}

fn spawn_probe(
    app: Arc<App>,
    kafka: KafkaSettings,
    topic: String,
    every: Duration,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let client: Option<Arc<BaseConsumer>> = kafka.client().create().ok().map(Arc::new);
        loop {
            let ok = match &client {
                Some(c) => {
                    let c = c.clone();
                    let topic = topic.clone();
                    tokio::task::spawn_blocking(move || {
                        c.fetch_metadata(Some(&topic), Duration::from_secs(2))
                            .map(|md| {
                                md.topics().first().is_some_and(|t| {
                                    t.error().is_none() && !t.partitions().is_empty()
                                })
                            })
                            .unwrap_or(false)
                    })
                    .await
                    .unwrap_or(false)
                }
                None => false,
            };
            let was = app.ready.swap(ok, Ordering::Relaxed);
            if was != ok {
                tracing::info!(ready = ok, "broker readiness changed");
            }
            app.metrics.broker_ready.set(i64::from(ok));
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    });
}

fn spawn_reload(app: Arc<App>, path: PathBuf, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mtime = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = mtime(&path);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            let forced = tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => false,
                _ = signalled => true,
            };
            let now = mtime(&path);
            if !forced && now == seen {
                continue;
            }
            seen = now;
            match Access::load(&path) {
                Ok(access) => {
                    app.metrics
                        .seed_agencies(access.agencies().iter().map(|a| a.id.as_str()));
                    *app.access.write().expect("not poisoned") = Arc::new(access);
                    app.metrics.reloads.with_label_values(&["ok"]).inc();
                    tracing::info!(file = %path.display(), "access file reloaded");
                }
                Err(e) => {
                    app.metrics.reloads.with_label_values(&["error"]).inc();
                    tracing::error!(error = %e, "access file not reloaded; the previous one stays in force");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document kept in the repository lists exactly the routes the router is built
    /// from, each with exactly the statuses its handler can answer.
    #[test]
    fn the_openapi_document_matches_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        routes.sort();
        assert_eq!(documented, routes, "documented operations vs routes");
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            let mut codes: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().expect("numeric status"))
                .collect();
            codes.sort();
            assert_eq!(codes, r.statuses, "{} {}", r.method, r.path);
            for s in r.statuses.iter().filter(|s| **s == 429 || **s == 503) {
                assert!(
                    op["responses"][s.to_string()]["headers"]["Retry-After"].is_object(),
                    "{} {} {s} documents Retry-After",
                    r.method,
                    r.path
                );
            }
        }
        // Every reason a record can be rejected for is in the document's enum.
        let reasons = doc["components"]["schemas"]["RecordError"]["properties"]["reason"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        let ours: Vec<String> = Reason::ALL.iter().map(|r| r.as_str().to_string()).collect();
        assert_eq!(reasons, ours);
    }

    #[test]
    fn api_keys_come_from_either_header() {
        let mut h = HeaderMap::new();
        assert_eq!(api_key(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(api_key(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(api_key(&h), None);
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static(" k "));
        assert_eq!(api_key(&h), Some("k"));
    }
}
