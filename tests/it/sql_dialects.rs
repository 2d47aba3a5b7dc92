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
    run_all(&env, &queries, "an auditor query").await;
}

/// Runs every statement on the server, failing with the one that did not run.
async fn run_all(env: &Env, queries: &[String], what: &str) {
    for q in queries {
        env.store
            .client()
            .query(q)
            .execute()
            .await
            .unwrap_or_else(|e| panic!("{what} failed on the server: {e}\n{q}"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_2_upgrades_a_version_1_database_with_data() {
    use motcua_runtime::store::{Store, MIGRATIONS};
    let env = Env::new("upgrade").await;
    // A database as version 1 left it, with a dossier in it.
    let db = format!("{}_v1", env.store.database());
    let client = env.store.client();
    client
        .query(&format!("CREATE DATABASE {db}"))
        .execute()
        .await
        .unwrap();
    for q in statements(MIGRATIONS[0].2, &db) {
        client.query(&q).execute().await.unwrap();
    }
    client
        .query(&format!(
            "INSERT INTO {db}.dossier_state (dossier_code, version, outcome, last_event_at, updated_at) \
             VALUES ('H56.50.01-261008-0975', 3, 'ON_TIME', 0, 0)"
        ))
        .execute()
        .await
        .unwrap();
    let store = Store::new(crate::common::store_settings(&db));
    let applied = store.migrate().await.expect("upgrade applies");
    assert!(applied.contains(&2), "{applied:?}");
    // The old row reads with the new columns' defaults, through the recreated view.
    let check = env
        .count(&format!(
            "SELECT count() FROM {db}.v_dossiers WHERE outcome = 'ON_TIME' AND legal_due_at IS NULL \
             AND appointment_check = '' AND late_steps = 0"
        ))
        .await;
    assert_eq!(check, 1);
    assert_eq!(
        store.migrate().await.expect("idempotent"),
        Vec::<u32>::new()
    );
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queries_in_the_deadline_guide_run_on_the_server() {
    let env = Env::new("guide").await;
    let guide = include_str!("../../docs/DEADLINES.md");
    let mut sql = String::new();
    let mut inside = false;
    for line in guide.lines() {
        match line.trim() {
            "```sql" => inside = true,
            "```" => inside = false,
            _ if inside => {
                sql.push_str(line);
                sql.push('\n');
            }
            _ => {}
        }
    }
    let queries = statements(&sql, env.store.database());
    assert!(queries.len() >= 8, "{}", queries.len());
    run_all(&env, &queries, "a query of docs/DEADLINES.md").await;
}
