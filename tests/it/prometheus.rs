//! The processor's metrics, scraped by a real Prometheus, move as the pipeline works.

use std::time::{Duration, Instant};

use motcua_core::codec::Encoding;
use motcua_runtime::metrics::{self, ProcessorMetrics};
use tokio_util::sync::CancellationToken;

use crate::common::{prometheus_url, require, simulated, Env};

/// The address Prometheus scrapes (deploy/local/prometheus.yml, job motcua-processor).
fn metrics_addr() -> String {
    std::env::var("MOTCUA_METRICS_ADDR").unwrap_or_else(|_| "127.0.0.1:19100".into())
}

async fn prom_value(query: &str) -> Option<f64> {
    let url = format!("{}/api/v1/query", prometheus_url());
    let body: serde_json::Value = reqwest::Client::new()
        .get(&url)
        .query(&[("query", query)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_processor_metrics() {
    require("Prometheus", prometheus_url().trim_start_matches("http://"));
    let env = Env::new("prom").await;
    let events = simulated(5, 2, 100);
    env.publish(&events, Encoding::Avro).await;
    let mut bad = motcua_core::samples::received();
    bad.received.as_mut().unwrap().applicant.email = Some("nope".into());
    let raw: rdkafka::producer::FutureProducer = env.kafka.producer().create().unwrap();
    raw.send(
        rdkafka::producer::FutureRecord::to(&env.topics.receipts)
            .key(&bad.dossier_code)
            .payload(&serde_json::to_vec(&bad).unwrap()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    let m = ProcessorMetrics::new();
    let shutdown = CancellationToken::new();
    metrics::serve(
        metrics_addr().parse().unwrap(),
        m.registry.clone(),
        shutdown.clone(),
    )
    .await
    .expect("the metrics port is free (only this test binds it)");
    let summary = motcua_processor::run(
        env.processor_config("prom"),
        m.clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(summary.consumed, events.len() as u64 + 1);

    // Wait for a scrape that sees the final values (interval 2 s).
    let consumed_q = "sum(motcua_processor_events_consumed_total)";
    let rejected_q = "sum(motcua_processor_events_rejected_total{reason=\"bad_format\"})";
    // Resent events are one row each within a batch (the raw log keeps one per distinct
    // event), so between the distinct count and the records sent.
    let distinct: std::collections::HashSet<_> = events.iter().map(|e| &e.event_id).collect();
    // The raw rows are counted when their write completes, after the records were counted
    // as consumed: a scrape can fall between the two, so wait for all three.
    let rows_q = "sum(motcua_clickhouse_rows_written_total{table=\"dossier_events\"})";
    // Every record's latency is observed once its batch is written, after the rows.
    let latency_q = "sum(motcua_processor_end_to_end_latency_seconds_count)";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = (None, None);
    let mut rows = None;
    let mut latencies = None;
    while Instant::now() < deadline {
        seen = (prom_value(consumed_q).await, prom_value(rejected_q).await);
        rows = prom_value(rows_q).await;
        latencies = prom_value(latency_q).await;
        if seen == (Some(summary.consumed as f64), Some(1.0))
            && rows.is_some_and(|r| r >= distinct.len() as f64)
            && latencies == Some(summary.consumed as f64)
        {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    shutdown.cancel();
    assert_eq!(
        seen,
        (Some(summary.consumed as f64), Some(1.0)),
        "prometheus saw {seen:?}"
    );
    let rows = rows.expect("rows written are scraped");
    assert!(
        rows >= distinct.len() as f64 && rows <= events.len() as f64,
        "{rows} rows for {} distinct events",
        distinct.len()
    );
    assert_eq!(
        latencies,
        Some(summary.consumed as f64),
        "one end-to-end latency per record read"
    );
    // The start's assignment is the first one (the group may rebalance again while the
    // only member joins).
    let assignments = prom_value("sum(motcua_processor_rebalances_total)")
        .await
        .expect("assignments scraped");
    assert!(assignments >= 1.0, "{assignments} assignments received");
    let latency_sum = prom_value("sum(motcua_processor_end_to_end_latency_seconds_sum)")
        .await
        .expect("latency sum scraped");
    assert!(
        latency_sum > 0.0,
        "records take some time to become visible"
    );
    // Overdue dossiers by level: summed, what the served view counts as overdue at the
    // published watermark.
    let overdue = prom_value("sum(motcua_processor_dossiers_overdue)")
        .await
        .expect("overdue dossiers scraped");
    let served = env
        .count("SELECT count() FROM v_open_dossiers WHERE overdue")
        .await;
    assert_eq!(overdue, served as f64, "overdue dossiers: gauge vs view");
    assert!(
        prom_value("motcua_processor_batch_duration_seconds_count")
            .await
            .unwrap_or(0.0)
            >= 1.0
    );
}
