//! motcua-runtime: the adapters every motcua service shares.
//!
//! - [`kafka`]: client settings, topic creation, partition discovery.
//! - [`store`]: the ClickHouse store: migrations, the row types, batched idempotent inserts.
//! - [`metrics`]: the Prometheus registry and its `/metrics` endpoint.
//! - [`shutdown`]: one cancellation token, tripped by SIGINT/SIGTERM.
//!
//! The domain rules live in `motcua-core`; this crate only moves bytes.

pub mod kafka;
pub mod metrics;
pub mod shutdown;
pub mod store;
