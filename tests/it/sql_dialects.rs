//! The DDL and the auditor queries work on the real ClickHouse server (18.16 here) and on
//! modern ClickHouse (chdb, in-process).

use std::process::Command;

use motcua_runtime::store::statements;

use crate::common::Env;

const AUDITOR_QUERIES: &str = include_str!("../../deploy/clickhouse/auditor_queries.sql");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_queries_run_on_the_server() {
    let env = Env::new("sql").await;
    let queries = statements(AUDITOR_QUERIES, env.store.database());
    assert!(queries.len() >= 7);
    for q in queries {
        env.store
            .client()
            .query(&q)
            .execute()
            .await
            .unwrap_or_else(|e| panic!("auditor query failed on the server: {e}\n{q}"));
    }
}

#[test]
fn ddl_and_auditor_queries_run_on_modern_clickhouse() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .args([
            &format!("{root}/tests/python/check_modern_dialect.py"),
            root,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "modern-dialect check failed (needs `pip install --no-deps chdb-core`; deploy/local/up.sh installs it):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("auditor query"), "{stdout}");
}
