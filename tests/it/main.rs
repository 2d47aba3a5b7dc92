//! Integration tests against the real services: a Kafka-protocol broker (tansu locally,
//! Apache Kafka in production), a ClickHouse server and Prometheus, all on loopback.
//! Start them with `bash deploy/local/up.sh`; a test that cannot reach one fails and says so.
//! Every test uses its own topics and database, so they run in parallel.

mod aggregates;
mod common;
mod harness;
mod oracle;

mod dead_letter;
mod deadlines;
mod faults;
mod feedback;
mod gateway;
mod pipeline;
mod prometheus;
mod publish_outage;
mod python_client;
mod replay;
mod satisfaction;
mod scorecard;
mod sql_dialects;
mod state;
mod store;
