//! motcua-gateway: the HTTP producer service agency systems point at instead of embedding a
//! Kafka client.
//!
//! - [`server`]: routes, the ingest path (authenticate, limit, decode or convert, validate,
//!   check scopes, publish, wait for acknowledgements), readiness probe, access-file reload.
//! - [`portal`]: the national portal's sync payloads converted to motcua events.
//! - [`config`]: the access file: agencies, hashed API keys, scopes, limits, agency levels.
//! - [`idempotency`]: the bounded, optionally journaled store of idempotency keys.
//! - [`metrics`]: metric names (defined once) and the registry.
//! - [`record`]: per-record rejections.
//! - [`cli`]: `motcua gateway` and `motcua import-portal`.
//!
//! Invariants: a 2xx answer means every accepted record's events were acknowledged by the
//! broker (`acks=all`, idempotent producer, from `motcua-producer`); a retried request with
//! the same `Idempotency-Key` publishes nothing; the gateway never holds more than
//! `max_in_flight_events` unacknowledged events, answering 503 with `Retry-After` instead;
//! no request body or personal value is ever logged.

pub mod cli;
pub mod config;
pub mod idempotency;
pub mod metrics;
pub mod portal;
pub mod record;
pub mod server;

pub use server::{start, Running, Settings};
