//! Durable state per partition (issue 7), against the real broker and ClickHouse: a restart
//! resumes from the checkpoint and equals a full replay; quiet partitions, id conflicts,
//! refusals at the counter, oversize records; two instances share the partitions; and the
//! common start-up mistakes each get one line saying what to run.

use std::time::Duration;

use motcua_core::codec::{Codec, Encoding};
use motcua_core::samples;
use motcua_core::DossierEvent;
use motcua_processor::{ProcessorConfig, ProcessorError};
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::Store;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use crate::common::{simulated_from, store_settings, Env};
use crate::replay::deadline_figures;

async fn run(config: ProcessorConfig) -> motcua_processor::Summary {
    tokio::time::timeout(
        Duration::from_secs(300),
        motcua_processor::run(config, ProcessorMetrics::new(), CancellationToken::new()),
    )
    .await
    .expect("processor finishes within 5 minutes")
    .expect("processor runs")
}

/// A second database fed from the same topics.
async fn second_database(env: &Env, suffix: &str) -> (Env, Store) {
    let name = format!("{}_{suffix}", env.name);
    let store = Store::new(store_settings(&name));
    store.migrate().await.expect("migrations apply");
    let other = Env {
        name: name.clone(),
        topics: env.topics.clone(),
        kafka: env.kafka.clone(),
        store: store.clone(),
    };
    (other, store)
}

/// Every figure a reader sees, as one comparable value.
async fn figures(env: &Env) -> (Vec<u64>, Vec<crate::common::AgencyDay>, u64, u64) {
    (
        deadline_figures(env).await,
        env.agency_daily().await,
        env.count("SELECT count() FROM dossier_events FINAL").await,
        env.count("SELECT sum(cityHash64(dossier_code, version, status, outcome, ifNull(toUInt32(end_at), 0), surveys)) FROM v_dossiers")
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_checkpoint_and_equals_a_full_replay() {
    let env = Env::new("resume").await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 21).unwrap();
    let events = simulated_from(23, start, 16, 60);
    let half = events.len() / 2;
    env.publish(&events[..half], Encoding::Avro).await;
    // A short retention, so ended dossiers leave memory and come back from the checkpoint
    // when a later survey or a resent event names them.
    let live = |env: &Env| {
        let mut c = env.processor_config("live");
        c.retention = Duration::from_secs(2 * 86_400);
        c
    };
    let first = run(live(&env)).await;
    assert_eq!(first.consumed, half as u64);
    env.publish(&events[half..], Encoding::Json).await;
    let second = run(live(&env)).await;
    assert!(
        second.consumed < events.len() as u64,
        "the restart resumed from its committed offsets: read {} of {} records",
        second.consumed,
        events.len()
    );
    assert!(second.consumed >= (events.len() - half) as u64);
    assert!(
        env.count("SELECT count() FROM processor_state FINAL").await > 0,
        "state is checkpointed"
    );

    // The same input processed in one go, by a fresh group, into another database.
    let (other, _) = second_database(&env, "full").await;
    let mut full = other.processor_config("full");
    full.store = store_settings(&other.name);
    run(full).await;
    assert_eq!(
        figures(&env).await,
        figures(&other).await,
        "restart + checkpoint gave other figures than one uninterrupted run"
    );
    let progress = |env: &Env| {
        let sql = "SELECT toUInt64(max(toUInt32(watermark))) FROM processor_progress FINAL";
        let env = env.store.clone();
        async move { env.client().query(sql).fetch_one::<u64>().await.unwrap() }
    };
    assert_eq!(
        progress(&env).await,
        progress(&other).await,
        "same watermark"
    );
    assert_eq!(
        env.count("SELECT count() FROM v_freshness WHERE partitions_catching_up > 0")
            .await,
        0,
        "nothing is being rebuilt once both ran to the end"
    );
}

async fn raw_producer(env: &Env) -> FutureProducer {
    let mut c = env.kafka.producer();
    c.set("message.max.bytes", "4194304");
    c.create().unwrap()
}

async fn send(p: &FutureProducer, topic: &str, partition: Option<i32>, key: &str, payload: &[u8]) {
    let mut r = FutureRecord::to(topic).key(key).payload(payload);
    if let Some(p) = partition {
        r = r.partition(p);
    }
    p.send(r, Duration::from_secs(30))
        .await
        .expect("acknowledged");
}

/// Sends one event as JSON to its topic, keyed by its dossier code, to `partition` if given.
async fn send_event(p: &FutureProducer, env: &Env, e: &DossierEvent, partition: Option<i32>) {
    let payload = Codec::new().encode(e, Encoding::Json).unwrap();
    send(
        p,
        env.topics.for_event(e),
        partition,
        &e.dossier_code,
        &payload,
    )
    .await;
}

fn dossier(code: &str, day: &str) -> Vec<DossierEvent> {
    let mut events = samples::all_kinds();
    // Receipt, handover, result ready, returned: a simple dossier on `day`.
    events.retain(|e| {
        matches!(
            e.kind,
            motcua_core::event::EventKind::Received
                | motcua_core::event::EventKind::Handover
                | motcua_core::event::EventKind::ResultReady
                | motcua_core::event::EventKind::ResultReturned
        )
    });
    let shift = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::from_ymd_opt(2026, 10, 8).unwrap();
    for e in &mut events {
        e.dossier_code = code.into();
        e.event_id = format!("{code}/{}", e.event_id);
        e.occurred_at += shift;
        if let Some(r) = e.received.as_mut() {
            r.appointment_at += shift;
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_partition_does_not_hold_the_watermark_back() {
    let env = Env::new("quiet").await;
    let p = raw_producer(&env).await;
    // Partition 0 delivers one dossier in August, then stays quiet; partitions 1 and 2
    // move on into October.
    for e in dossier("H56.50.01-260803-0001", "2026-08-03") {
        send_event(&p, &env, &e, Some(0)).await;
    }
    for (i, part) in [(1, 1), (2, 2)] {
        for e in dossier(&format!("H56.50.01-261008-000{i}"), "2026-10-08") {
            send_event(&p, &env, &e, Some(part)).await;
        }
    }
    env.process("quiet").await;
    let watermark = env
        .count("SELECT toUInt64(toUInt32(max(watermark))) FROM processor_progress FINAL")
        .await;
    assert!(
        watermark >= samples::ts("2026-10-08T09:00:00+07:00").timestamp() as u64,
        "the watermark ({watermark}) is held back by the quiet partition 0"
    );
    // August and September are closed reports now.
    assert!(
        env.count("SELECT count() FROM v_766_periods WHERE period = '2026-08'")
            .await
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_reused_with_other_content_counts_the_same_whatever_the_order() {
    let mut ends = Vec::new();
    for order in [[0usize, 1], [1, 0]] {
        let env = Env::new("conflict").await;
        let p = raw_producer(&env).await;
        let events = dossier(samples::DOSSIER, "2026-10-08");
        let ready = events
            .iter()
            .find(|e| e.kind == motcua_core::event::EventKind::ResultReady)
            .unwrap()
            .clone();
        let mut other = ready.clone();
        other.occurred_at -= chrono::Duration::hours(30);
        let versions = [ready.clone(), other];
        for e in events
            .iter()
            .filter(|e| e.kind != motcua_core::event::EventKind::ResultReady)
        {
            send_event(&p, &env, e, None).await;
        }
        for i in order {
            let e = &versions[i];
            send_event(&p, &env, e, None).await;
        }
        let (summary, _) = env.process("conflict").await;
        assert_eq!(summary.rejected, 1, "one of the two versions is rejected");
        let end = env
            .count("SELECT toUInt64(toUInt32(assumeNotNull(end_at))) FROM v_dossiers")
            .await;
        ends.push(end);
        let letters = env.dead_letters(1).await;
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert_eq!(letters[0].reason, "conflict");
        assert_eq!(env.count("SELECT count() FROM v_event_conflicts").await, 1);
        // A restart re-reads nothing it already dead-lettered.
        let (again, _) = env.process("conflict").await;
        assert_eq!(again.rejected, 0);
        assert_eq!(
            env.dead_letters(1).await.len(),
            1,
            "the dead letter is not sent twice"
        );
    }
    assert_eq!(ends[0], ends[1], "the end time depends on arrival order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_after_a_refusal_at_the_counter_are_dead_lettered() {
    let env = Env::new("refused").await;
    let p = raw_producer(&env).await;
    let mut refused = samples::all_kinds().remove(5);
    refused.refused.as_mut().unwrap().stage = motcua_core::event::RefusalStage::AtReceipt;
    let mut returned = samples::all_kinds().remove(9);
    returned.dossier_code = refused.dossier_code.clone();
    // The refusal is read first (its own run), then the return: inconsistent.
    send_event(&p, &env, &refused, Some(0)).await;
    env.process("refused").await;
    send_event(&p, &env, &returned, Some(0)).await;
    let (summary, _) = env.process("refused").await;
    assert_eq!(summary.rejected_by_reason.get("inconsistent"), Some(&1));
    assert_eq!(
        env.count("SELECT count() FROM v_dossiers WHERE status = 3 AND outcome = 'NOT_COUNTED'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_bad_record_is_dead_lettered_and_the_valid_ones_behind_it_land() {
    let env = Env::new("oversize").await;
    let p = raw_producer(&env).await;
    let mut huge = b"{\"junk\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    huge.extend(b"\"}");
    send(&p, &env.topics.receipts, Some(0), samples::DOSSIER, &huge).await;
    let events = dossier(samples::DOSSIER, "2026-10-08");
    for e in &events {
        send_event(&p, &env, e, Some(0)).await;
    }
    let (summary, _) = env.process("oversize").await;
    assert_eq!(summary.rejected, 1);
    assert_eq!(
        summary.accepted,
        events.len() as u64,
        "the valid events behind it landed"
    );
    let letters = env.dead_letters(1).await;
    assert_eq!(letters.len(), 1);
    // Whole when the broker takes it, else truncated with its size in a header.
    assert!(
        letters[0].payload.starts_with(b"{\"junk\""),
        "the record itself is on the topic"
    );
    assert_eq!(env.count("SELECT count() FROM dead_letters").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_in_one_group_share_the_partitions_and_the_figures_are_exact() {
    let env = Env::new("twin").await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 24).unwrap();
    let events = simulated_from(31, start, 12, 80);
    env.publish(&events, Encoding::Avro).await;
    let config = |env: &Env| {
        let mut c = env.processor_config("twin");
        c.batch_max_records = 300;
        c
    };
    let (a, b) = tokio::join!(run(config(&env)), run(config(&env)));
    let (other, _) = second_database(&env, "single").await;
    let mut single = other.processor_config("single");
    single.store = store_settings(&other.name);
    run(single).await;
    assert!(
        a.consumed > 0 && b.consumed > 0,
        "both instances did work ({} and {})",
        a.consumed,
        b.consumed
    );
    assert_eq!(figures(&env).await, figures(&other).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_mistakes_say_what_is_wrong_and_what_to_run() {
    let env = Env::new("mistakes").await;
    let expect_err = |c: ProcessorConfig| async move {
        motcua_processor::run(c, ProcessorMetrics::new(), CancellationToken::new())
            .await
            .expect_err("refused")
    };
    let mut c = env.processor_config("m");
    c.batch_max_records = 0;
    c.pseudonym_key = b"short".to_vec();
    let e = expect_err(c).await;
    assert!(
        matches!(&e, ProcessorError::Config(p) if p.len() == 2),
        "{e}"
    );

    let mut c = env.processor_config("m");
    c.topics = motcua_core::topics::TopicNames::with_prefix(&format!("{}-missing", env.name));
    let e = expect_err(c).await.to_string();
    assert!(
        e.contains("does not exist") && e.contains("motcua topics"),
        "{e}"
    );

    let mut c = env.processor_config("m");
    c.store = store_settings(&format!("{}_nope", env.name));
    let e = expect_err(c).await.to_string();
    assert!(
        e.contains("does not exist") && e.contains("motcua migrate"),
        "{e}"
    );
    assert_eq!(
        env.count(&format!(
            "SELECT count() FROM system.databases WHERE name = '{}_nope'",
            env.name
        ))
        .await,
        0,
        "the processor created no database"
    );
}

/// `motcua report` against a server that is not there, or a database that does not exist,
/// says so in its first line with what to run, not with a client's error chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_mistakes_say_what_is_wrong_and_what_to_run() {
    let env = Env::new("report_mistakes").await;
    let report = |url: &str, database: &str| {
        let out = std::process::Command::new(crate::harness::motcua_bin())
            .arg("report")
            .env("MOTCUA_CLICKHOUSE_URL", url)
            .env("MOTCUA_CLICKHOUSE_DATABASE", database)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("motcua runs");
        assert!(!out.status.success(), "a report without data fails");
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let port = crate::harness::free_port();
    let first = report(&format!("http://127.0.0.1:{port}"), &env.name);
    assert!(
        first.contains("not reachable") && first.contains("deploy/local/up.sh"),
        "{first}"
    );
    let first = report(
        &crate::common::clickhouse_url(),
        &format!("{}_nope", env.name),
    );
    assert!(
        first.contains("does not exist") && first.contains("motcua migrate"),
        "{first}"
    );
}
