//! JSON events published by Python's confluent-kafka (a client the project did not write)
//! are found in ClickHouse with the expected figures.

use std::io::Write;
use std::process::Command;

use crate::common::{brokers, simulated, Env};
use crate::oracle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_events_from_python_confluent_kafka_reach_clickhouse() {
    let env = Env::new("python").await;
    let events = simulated(23, 3, 120);
    let path = std::env::temp_dir().join(format!("{}.jsonl", env.name));
    {
        let mut f = std::fs::File::create(&path).unwrap();
        for e in &events {
            serde_json::to_writer(&mut f, e).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/produce_json.py");
    let out = Command::new("python3")
        .args([
            script,
            &brokers(),
            env.topics.receipts.trim_end_matches(".receipts"),
            path.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs (install confluent-kafka: bash deploy/local/up.sh does)");
    assert!(
        out.status.success(),
        "python producer failed (is confluent-kafka installed? `pip install confluent-kafka`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(acked, events.len());

    let (summary, _) = env.process("py").await;
    assert_eq!(summary.consumed, events.len() as u64);
    assert_eq!(summary.rejected, 0);
    env.assert_all_stored(&events).await;

    // Co-partitioning held with the Python client: all of a dossier's events on one partition number.
    let split = env
        .count("SELECT count() FROM (SELECT dossier_code FROM dossier_events FINAL GROUP BY dossier_code HAVING uniqExact(kafka_partition) > 1)")
        .await;
    assert_eq!(
        split, 0,
        "a dossier's events landed on different partitions"
    );

    let expected: u64 = oracle::expected(&events)
        .values()
        .map(|c| c.counted())
        .sum();
    assert_eq!(
        env.count("SELECT sum(counted) FROM v_ontime_agency_daily")
            .await,
        expected
    );
    let _ = std::fs::remove_file(path);
}
