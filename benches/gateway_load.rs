//! Load on the agency ingest gateway: `cargo bench --bench gateway_load [-- SECONDS CLIENTS BATCH]`.
//!
//! Starts the gateway in-process against the local broker (`bash deploy/local/up.sh`) on
//! topics of its own, then CLIENTS concurrent HTTP clients post batches of BATCH simulated
//! events (each an own copy with a fresh event id) for SECONDS, and prints accepted records
//! per second and the latency percentiles of the requests (each answered after the broker's
//! acknowledgement of all its events). A measurement, never an assertion.

use std::time::{Duration, Instant};

use motcua_core::topics::TopicNames;
use motcua_gateway::config::hash_key_hex;
use motcua_producer::KafkaSettings;
use tokio_util::sync::CancellationToken;

const KEY: &str = "bench-province-key-0123456789";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let secs: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(15);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let batch: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let brokers = std::env::var("MOTCUA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let kafka = KafkaSettings::new(&brokers);
    let prefix = format!("bench-gw-{}", std::process::id());
    let topics = TopicNames::with_prefix(&prefix);
    motcua_runtime::kafka::create_topics(&kafka, &topics, 4)
        .await
        .expect("topics created (is the broker up? `bash deploy/local/up.sh`)");
    let dir = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&dir).unwrap();
    let access = dir.join("access.json");
    std::fs::write(
        &access,
        serde_json::json!({"agencies": [{"id": "bench", "key_sha256": [hash_key_hex(KEY)], "scopes": ["H56"],
            "level": "PROVINCE", "requests_per_second": 1e6, "burst": 1e6, "max_body_bytes": 16 << 20}]})
        .to_string(),
    )
    .unwrap();
    let token = CancellationToken::new();
    let gw = motcua_gateway::start(
        motcua_gateway::Settings::new("127.0.0.1:0".parse().unwrap(), access),
        kafka,
        topics,
        token.clone(),
    )
    .await
    .expect("gateway starts");
    let url = format!("http://{}/v1/events/batch", gw.addr);
    let http = reqwest::Client::new();
    let ready = format!("http://{}/readyz", gw.addr);
    while http
        .get(&ready)
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events: Vec<motcua_core::DossierEvent> =
        motcua_sim::Simulator::new(motcua_sim::SimConfig {
            days: 3,
            dossiers_per_day: 300,
            ..motcua_sim::SimConfig::default()
        })
        .unwrap()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, events) = (http.clone(), url.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            let (mut accepted, mut latencies, mut n) = (0u64, Vec::new(), 0usize);
            while Instant::now() < deadline {
                let body: Vec<_> = (0..batch)
                    .map(|i| {
                        let mut e = events[(n * batch + i + c * 7919) % events.len()].clone();
                        e.event_id = format!("{}#{c}-{n}-{i}", e.event_id);
                        e
                    })
                    .collect();
                n += 1;
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("authorization", format!("Bearer {KEY}"))
                    .json(&body)
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status() == 200 => r.json::<serde_json::Value>().await.ok(),
                    _ => None,
                };
                latencies.push(t.elapsed().as_secs_f64());
                accepted += ok.and_then(|v| v["accepted"].as_u64()).unwrap_or(0);
            }
            (accepted, latencies)
        }));
    }
    let (mut accepted, mut latencies) = (0u64, Vec::new());
    for t in tasks {
        let (a, l) = t.await.unwrap();
        accepted += a;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize] * 1e3;
    println!(
        "gateway load: {clients} clients x batches of {batch} for {elapsed:.1} s: {accepted} records accepted ({:.0} records/s), {} requests; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        accepted as f64 / elapsed,
        latencies.len(),
        q(0.5),
        q(0.95),
        q(0.99),
        q(1.0)
    );
    token.cancel();
    let _ = gw.task.await;
    let _ = std::fs::remove_dir_all(&dir);
}
