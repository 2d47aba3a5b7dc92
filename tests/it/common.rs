//! Shared set-up: service addresses, unique names, running the pipeline in-process.

use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clickhouse::Row;
use motcua_core::codec::Encoding;
use motcua_core::topics::TopicNames;
use motcua_core::DossierEvent;
use motcua_processor::{ProcessorConfig, Summary};
use motcua_producer::{EventProducer, KafkaSettings};
use motcua_runtime::metrics::ProcessorMetrics;
use motcua_runtime::store::{Store, StoreSettings};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

pub const PSEUDONYM_KEY: &[u8] = b"integration-test-key-0123456789";

pub fn brokers() -> String {
    std::env::var("MOTCUA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

pub fn clickhouse_url() -> String {
    std::env::var("MOTCUA_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:18123".into())
}

pub fn prometheus_url() -> String {
    std::env::var("MOTCUA_PROMETHEUS_URL").unwrap_or_else(|_| "http://127.0.0.1:19090".into())
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

/// Fails (never skips) when a service is down, saying how to start it.
pub fn require(service: &str, addr: &str) {
    let reachable = addr
        .split(',')
        .filter_map(|a| std::net::ToSocketAddrs::to_socket_addrs(a).ok())
        .flatten()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "{service} is not reachable at {addr}: start the local services with `bash deploy/local/up.sh` \
         (or point the MOTCUA_* variables at running ones)"
    );
}

/// A test's own topics and database.
pub struct Env {
    pub name: String,
    pub topics: TopicNames,
    pub kafka: KafkaSettings,
    pub store: Store,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Env {
    pub async fn new(test: &str) -> Env {
        require("the Kafka broker", &brokers());
        require("ClickHouse", &host_port(&clickhouse_url()));
        let name = format!(
            "it_{test}_{}_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis() % 1_000_000,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let topics = TopicNames::with_prefix(&name.replace('_', "-"));
        let kafka = KafkaSettings::new(brokers());
        motcua_runtime::kafka::create_topics(&kafka, &topics, 3)
            .await
            .expect("topics created");
        let store = Store::new(self::store_settings(&name));
        store.migrate().await.expect("migrations apply");
        Env {
            name,
            topics,
            kafka,
            store,
        }
    }

    pub fn processor_config(&self, group: &str) -> ProcessorConfig {
        let mut c = ProcessorConfig::new(
            self.kafka.clone(),
            self.topics.clone(),
            store_settings(&self.name),
            PSEUDONYM_KEY.to_vec(),
        );
        c.group = format!("{}-{group}", self.name);
        c.stop_at_end = true;
        c.batch_max_records = 2_000;
        c.batch_max_wait = Duration::from_millis(200);
        c
    }

    /// Runs the processor until it has read everything present now.
    pub async fn process(&self, group: &str) -> (Summary, ProcessorMetrics) {
        let metrics = ProcessorMetrics::new();
        let summary = tokio::time::timeout(
            Duration::from_secs(300),
            motcua_processor::run(
                self.processor_config(group),
                metrics.clone(),
                CancellationToken::new(),
            ),
        )
        .await
        .expect("processor finishes within 5 minutes")
        .expect("processor runs");
        (summary, metrics)
    }

    pub async fn publish(&self, events: &[DossierEvent], encoding: Encoding) {
        let producer =
            EventProducer::new(&self.kafka, self.topics.clone(), encoding).expect("producer");
        let mut pending = Vec::with_capacity(events.len());
        for e in events {
            pending.push(producer.enqueue(e).await.expect("valid event queued"));
        }
        for p in pending {
            p.await.expect("delivered").expect("acknowledged");
        }
    }

    /// Rows of `v_ontime_agency_daily`, sorted.
    pub async fn agency_daily(&self) -> Vec<AgencyDay> {
        self.store
            .client()
            .query(
                "SELECT agency_code, toString(day) AS day, counted, early, on_time, late, on_time_rate_percent \
                 FROM v_ontime_agency_daily ORDER BY agency_code, day",
            )
            .fetch_all()
            .await
            .expect("view readable")
    }

    /// The raw log holds every distinct event once (however often it was sent); the state
    /// one row per dossier.
    pub async fn assert_all_stored(&self, events: &[DossierEvent]) {
        let stored = self.count("SELECT count() FROM dossier_events FINAL").await;
        let distinct: std::collections::HashSet<(&str, &str)> = events
            .iter()
            .map(|e| (e.dossier_code.as_str(), e.event_id.as_str()))
            .collect();
        assert_eq!(stored, distinct.len() as u64, "raw events in ClickHouse");
        let dossiers = crate::oracle::dossier_codes(events);
        let states = self.count("SELECT count() FROM v_dossiers").await;
        assert_eq!(
            states,
            dossiers.len() as u64,
            "dossier states in ClickHouse"
        );
    }

    /// The records on the dead-letter topic: read until `expected` arrived (60 s at most),
    /// then 1 s more, so a letter sent twice shows.
    pub async fn dead_letters(&self, expected: usize) -> Vec<SeenLetter> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::message::Message;
        let consumer: BaseConsumer = self
            .kafka
            .consumer(&format!("{}-dlq-reader", self.name))
            .create()
            .unwrap();
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..3 {
            tpl.add_partition_offset(&self.topics.dead_letter, p, rdkafka::Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut got = Vec::new();
        let mut deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut settling = false;
        while std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let h = m.headers().expect("dead letters carry headers");
                let get = |k| {
                    motcua_processor::header(h, k)
                        .unwrap_or_default()
                        .to_string()
                };
                got.push(SeenLetter {
                    reason: get(motcua_processor::DLQ_REASON),
                    field: get(motcua_processor::DLQ_FIELD),
                    source_topic: get(motcua_processor::DLQ_TOPIC),
                    payload: m.payload().unwrap_or_default().to_vec(),
                });
            }
            if !settling && got.len() >= expected {
                settling = true;
                deadline = std::time::Instant::now() + Duration::from_secs(1);
            }
        }
        got
    }

    /// A query's result as sorted tab-separated lines (through this environment's store,
    /// which may be a private ClickHouse).
    pub async fn lines(&self, sql: &str) -> Vec<String> {
        let bytes = self
            .store
            .client()
            .query(sql)
            .fetch_bytes("TabSeparated")
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    /// Every figure view, served from the processor's aggregate cells, equals its
    /// per-dossier definition (`*_scan`) on the same data: exactly, but for indicator 2.2
    /// averages (the cells sum resolution times in ten-thousandths, the scan sums floats),
    /// equal to the cent.
    pub async fn assert_aggregates_match_scans(&self) {
        const EXACT: &[&str] = &[
            "v_ontime_daily",
            "v_ontime_agency_daily",
            "v_ontime_province_daily",
            "v_overdue_agency",
            "v_766_agency",
            "v_766_level",
            "v_766_province",
            "v_steps_unit_monthly",
            "v_steps_pair_monthly",
            "v_steps_agency_monthly",
            "v_satisfaction_daily",
            "v_satisfaction_agency_daily",
            "v_satisfaction_channel_daily",
            "v_766_satisfaction_agency",
            "v_766_electronic_agency",
            "v_766_online_agency",
            "v_766_online_province",
        ];
        let mut rows = 0;
        for view in EXACT {
            let served = self.lines(&format!("SELECT * FROM {view}")).await;
            let scan = self.lines(&format!("SELECT * FROM {view}_scan")).await;
            assert_eq!(served.len(), scan.len(), "{view}: rows served vs scanned");
            for (a, b) in served.iter().zip(&scan) {
                assert_eq!(a, b, "{view}: served vs scanned");
            }
            rows += served.len();
        }
        for view in ["v_766_resolution", "v_766_resolution_province"] {
            let served = self.lines(&format!("SELECT * FROM {view}")).await;
            let scan = self.lines(&format!("SELECT * FROM {view}_scan")).await;
            assert_eq!(served.len(), scan.len(), "{view}: rows served vs scanned");
            for (a, b) in served.iter().zip(&scan) {
                let (ka, va) = a.rsplit_once('\t').expect("columns");
                let (kb, vb) = b.rsplit_once('\t').expect("columns");
                assert_eq!(ka, kb, "{view}: served vs scanned");
                match (va.parse::<f64>(), vb.parse::<f64>()) {
                    (Ok(x), Ok(y)) => assert!((x - y).abs() <= 0.0100001, "{view}: {a} vs {b}"),
                    _ => assert_eq!(va, vb, "{view}: {a} vs {b}"),
                }
            }
            rows += served.len();
        }
        assert!(rows > 0, "the views hold figures");
    }

    pub async fn count(&self, sql: &str) -> u64 {
        self.store
            .client()
            .query(sql)
            .fetch_one::<u64>()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

pub fn store_settings(database: &str) -> StoreSettings {
    StoreSettings {
        url: clickhouse_url(),
        database: database.to_string(),
        user: None,
        password: None,
    }
}

/// One record read back from the dead-letter topic.
#[derive(Debug, Clone)]
pub struct SeenLetter {
    /// `motcua-dlq-reason`.
    pub reason: String,
    /// `motcua-dlq-field`.
    pub field: String,
    /// `motcua-dlq-source-topic`.
    pub source_topic: String,
    /// The record's value.
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Row, Deserialize)]
pub struct AgencyDay {
    pub agency_code: String,
    pub day: String,
    pub counted: u64,
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
    pub on_time_rate_percent: f64,
}

/// A small simulated province: a few thousand events with out-of-order and duplicate
/// deliveries, refusals, supplements, apologies, withdrawals and surveys.
pub fn simulated(seed: u64, days: u32, per_day: u32) -> Vec<DossierEvent> {
    simulated_from(seed, motcua_sim::SimConfig::default().start, days, per_day)
}

/// The same from a given first day.
pub fn simulated_from(
    seed: u64,
    start: chrono::NaiveDate,
    days: u32,
    per_day: u32,
) -> Vec<DossierEvent> {
    let config = motcua_sim::SimConfig {
        seed,
        start,
        days,
        dossiers_per_day: per_day,
        ..motcua_sim::SimConfig::default()
    };
    motcua_sim::Simulator::new(config)
        .expect("valid sim config")
        .collect()
}
