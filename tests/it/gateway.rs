//! The agency ingest gateway (`services/gateway`) over real HTTP against the real broker
//! (and, end to end, the processor and ClickHouse): records posted appear on the topics
//! keyed by dossier code; a retried request with the same idempotency key adds nothing; an
//! agency cannot post for another agency's dossiers, and a rotated access file takes effect
//! without a restart; portal payloads become figures in ClickHouse; a broker stopped
//! mid-run gives 503s and loses no acknowledged record (a private tansu); schemathesis finds
//! no undocumented answer and no crash.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use motcua_core::codec::Codec;
use motcua_core::topics::TopicNames;
use motcua_core::DossierEvent;
use motcua_gateway::config::hash_key_hex;
use motcua_gateway::Settings;
use motcua_producer::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::common::{self, Env};
use crate::harness::{self, PrivateTansu};

const PROVINCE_KEY: &str = "it-province-key-0123456789";
const DISTRICT_KEY: &str = "it-district-key-0123456789";
const OTHER_KEY: &str = "it-rotated-key-0123456789";

fn access_json(district_scopes: &[&str], rate: f64) -> String {
    json!({
        "agencies": [
            {"id": "h56", "key_sha256": [hash_key_hex(PROVINCE_KEY)], "scopes": ["H56"], "level": "PROVINCE",
             "requests_per_second": rate, "burst": rate},
            {"id": "h56-50", "key_sha256": [hash_key_hex(DISTRICT_KEY)], "scopes": district_scopes, "level": "DISTRICT",
             "requests_per_second": rate, "burst": rate, "max_records": 50}
        ],
        "levels": [
            {"pattern": "H56", "level": "PROVINCE"},
            {"pattern": "H56.50", "level": "DISTRICT"}, {"pattern": "H56.51", "level": "DISTRICT"},
            {"pattern": "H56.*.*", "level": "COMMUNE"}
        ]
    })
    .to_string()
}

/// A gateway of the test's own, in-process, on a free port.
struct Gateway {
    url: String,
    access: PathBuf,
    token: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
    _dir: harness::TestDir,
}

impl Gateway {
    async fn start(
        brokers: &str,
        topics: &TopicNames,
        tune: impl FnOnce(&mut Settings),
    ) -> Gateway {
        let dir = harness::TestDir::new("gateway");
        let access = dir.path().join("access.json");
        std::fs::write(&access, access_json(&["H56.50"], 1000.0)).unwrap();
        let mut settings = Settings::new("127.0.0.1:0".parse().unwrap(), access.clone());
        settings.reload_interval = Duration::from_millis(200);
        settings.probe_interval = Duration::from_millis(300);
        tune(&mut settings);
        let token = CancellationToken::new();
        let running = motcua_gateway::start(
            settings,
            KafkaSettings::new(brokers),
            topics.clone(),
            token.clone(),
        )
        .await
        .expect("gateway starts");
        let gw = Gateway {
            url: format!("http://{}", running.addr),
            access,
            token,
            task: Some(running.task),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            _dir: dir,
        };
        gw.wait_ready(Duration::from_secs(30)).await;
        gw
    }

    async fn wait_ready(&self, within: Duration) {
        let started = Instant::now();
        loop {
            let r = self.http.get(format!("{}/readyz", self.url)).send().await;
            if r.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                started.elapsed() < within,
                "the gateway did not become ready within {within:?} (is the broker up? `bash deploy/local/up.sh`)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        idem: Option<&str>,
        body: &Value,
    ) -> (u16, HashMap<String, String>, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if let Some(i) = idem {
            req = req.header("idempotency-key", i);
        }
        let resp = req.send().await.expect("gateway answers");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {text}"));
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn stop(mut self) {
        self.token.cancel();
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }
}

/// Every record on the four input topics: `(topic, key, event)`.
fn read_topics(
    brokers: &str,
    topics: &TopicNames,
    partitions: i32,
) -> Vec<(String, String, DossierEvent)> {
    let settings = KafkaSettings::new(brokers);
    let consumer: BaseConsumer = settings
        .consumer(&format!("{}-reader", topics.receipts))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut remaining = HashMap::new();
    for topic in topics.inputs() {
        for p in 0..partitions {
            let (_, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks");
            if high > 0 {
                tpl.add_partition_offset(topic, p, Offset::Beginning)
                    .unwrap();
                remaining.insert((topic.to_string(), p), high);
            }
        }
    }
    let codec = Codec::new();
    let mut out = Vec::new();
    if remaining.is_empty() {
        return out;
    }
    consumer.assign(&tpl).unwrap();
    let started = Instant::now();
    while !remaining.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "topics not read to their end in 60 s"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.expect("record");
            let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
            let event = codec
                .decode(m.payload().unwrap_or_default())
                .expect("gateway records decode");
            out.push((m.topic().to_string(), key, event));
            let k = (m.topic().to_string(), m.partition());
            if remaining
                .get(&k)
                .is_some_and(|high| m.offset() + 1 >= *high)
            {
                remaining.remove(&k);
            }
        }
    }
    out
}

fn records_on(brokers: &str, topics: &TopicNames, partitions: i32) -> i64 {
    let consumer: BaseConsumer = KafkaSettings::new(brokers).client().create().unwrap();
    topics
        .inputs()
        .iter()
        .flat_map(|t| (0..partitions).map(move |p| (*t, p)))
        .map(|(t, p)| {
            consumer
                .fetch_watermarks(t, p, Duration::from_secs(10))
                .expect("watermarks")
                .1
        })
        .sum()
}

/// A few simulated dossiers of district H56.50 (and its communes), as JSON.
fn district_events(n: usize) -> Vec<DossierEvent> {
    let mut seen = BTreeSet::new();
    common::simulated(11, 2, 60)
        .into_iter()
        .filter(|e| e.dossier_code.starts_with("H56.50-") || e.dossier_code.starts_with("H56.50."))
        .filter(|e| seen.insert(e.event_id.clone()))
        .take(n)
        .collect()
}

#[tokio::test]
async fn posted_records_appear_on_the_topics_keyed_by_dossier() {
    let env = Env::new("gw_topics").await;
    let gw = Gateway::start(&common::brokers(), &env.topics, |_| {}).await;

    let (status, served) = gw.get("/openapi.json").await;
    assert_eq!(status, 200);
    let kept = std::fs::read_to_string(harness::workspace().join("services/gateway/openapi.json"))
        .unwrap();
    assert_eq!(
        served, kept,
        "the served OpenAPI document is the one in the repository"
    );
    assert_eq!(gw.get("/healthz").await.0, 200);

    let events = district_events(30);
    assert!(events.len() >= 20, "the simulation has district dossiers");
    let mut body: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    let mut bad = events[0].clone();
    bad.event_id = "bad-1".into();
    bad.dossier_code = "H56.50-BAD".into();
    body.insert(5, serde_json::to_value(&bad).unwrap());
    body.insert(9, json!({"event_id": "no-kind"}));
    let (status, _, answer) = gw
        .post(
            "/v1/events/batch",
            Some(PROVINCE_KEY),
            None,
            &Value::Array(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], events.len());
    assert_eq!(answer["rejected"], 2);
    let r5 = &answer["results"][5];
    assert_eq!(
        (r5["status"].as_str(), r5["error"]["field"].as_str()),
        (Some("rejected"), Some("dossier_code"))
    );
    assert_eq!(answer["results"][9]["error"]["reason"], "undecodable");

    // One event alone.
    let mut single = district_events(31).pop().unwrap();
    single.event_id = format!("{}-single", single.event_id);
    let (status, _, one) = gw
        .post(
            "/v1/events",
            Some(DISTRICT_KEY),
            None,
            &serde_json::to_value(&single).unwrap(),
        )
        .await;
    // The simulator's event 31 may not be a receipt; any valid kind is accepted.
    assert_eq!(status, 200, "{one}");
    let (status, _, invalid) = gw
        .post(
            "/v1/events",
            Some(DISTRICT_KEY),
            None,
            &serde_json::to_value(&bad).unwrap(),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(invalid["error"]["field"], "dossier_code");

    let seen = read_topics(&common::brokers(), &env.topics, 3);
    let mut expected: Vec<&DossierEvent> = events.iter().collect();
    expected.push(&single);
    assert_eq!(
        seen.len(),
        expected.len(),
        "exactly the accepted events are on the topics"
    );
    let by_id: HashMap<&str, &(String, String, DossierEvent)> =
        seen.iter().map(|s| (s.2.event_id.as_str(), s)).collect();
    for e in expected {
        let (topic, key, got) = by_id
            .get(e.event_id.as_str())
            .unwrap_or_else(|| panic!("{} on the topics", e.event_id));
        assert_eq!(key, &e.dossier_code, "keyed by dossier code");
        assert_eq!(topic, env.topics.for_event(e), "on its kind's topic");
        assert_eq!(got, e, "the event as posted");
    }
    for (i, r) in answer["results"].as_array().unwrap().iter().enumerate() {
        if r["status"] == "accepted" {
            let p = &r["events"][0];
            let (topic, _, _) = by_id[p["event_id"].as_str().unwrap()];
            assert_eq!(p["topic"].as_str(), Some(topic.as_str()), "record {i}");
        }
    }
    let (_, metrics) = gw.get("/metrics").await;
    assert!(
        metrics.contains(&format!(
            "motcua_gateway_records_accepted_total{{level=\"province\"}} {}",
            events.len()
        )),
        "{metrics}"
    );
    assert!(metrics.contains(
        "motcua_gateway_records_rejected_total{level=\"province\",reason=\"undecodable\"} 1"
    ));
    assert!(metrics.contains("motcua_gateway_produce_duration_seconds_count"));
    gw.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_adds_nothing() {
    let env = Env::new("gw_idem").await;
    let journal = harness::TestDir::new("gw-idem-journal");
    let journal_file = journal.path().join("keys.jsonl");
    let jf = journal_file.clone();
    let gw = Gateway::start(&common::brokers(), &env.topics, move |s| {
        s.idempotency_file = Some(jf)
    })
    .await;
    let events = district_events(12);
    let body = serde_json::to_value(&events).unwrap();
    let (s1, h1, a1) = gw
        .post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            Some("sync-2026-08-17-1"),
            &body,
        )
        .await;
    assert_eq!(s1, 200, "{a1}");
    assert!(!h1.contains_key("idempotent-replayed"));
    let after_first = records_on(&common::brokers(), &env.topics, 3);
    assert_eq!(after_first, events.len() as i64);

    let (s2, h2, a2) = gw
        .post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            Some("sync-2026-08-17-1"),
            &body,
        )
        .await;
    assert_eq!((s2, &a2), (200, &a1), "the retry gets the first answer");
    assert_eq!(
        h2.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    // Another body under the same key is refused; another agency's same key is its own.
    let other = serde_json::to_value(&events[..3]).unwrap();
    let (s3, _, a3) = gw
        .post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            Some("sync-2026-08-17-1"),
            &other,
        )
        .await;
    assert_eq!(s3, 422, "{a3}");
    assert_eq!(a3["error"]["code"], "idempotency_key_reused");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        records_on(&common::brokers(), &env.topics, 3),
        after_first,
        "the retry published nothing"
    );

    // A restarted gateway still knows the key (the journal).
    gw.stop().await;
    let jf = journal_file.clone();
    let gw = Gateway::start(&common::brokers(), &env.topics, move |s| {
        s.idempotency_file = Some(jf)
    })
    .await;
    let (s4, h4, a4) = gw
        .post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            Some("sync-2026-08-17-1"),
            &body,
        )
        .await;
    assert_eq!((s4, &a4), (200, &a1));
    assert_eq!(
        h4.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        records_on(&common::brokers(), &env.topics, 3),
        after_first,
        "nothing published after the restart either"
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_agency_cannot_post_for_another_agency_until_its_scope_is_rotated_in() {
    let env = Env::new("gw_scope").await;
    let gw = Gateway::start(&common::brokers(), &env.topics, |_| {}).await;
    let mut foreign = district_events(1).pop().unwrap();
    foreign.event_id = "foreign-1".into();
    foreign.dossier_code = foreign.dossier_code.replacen("H56.50", "H56.51", 1);
    foreign.agency_code = "H56.51".into();
    let body = serde_json::to_value(&foreign).unwrap();

    let (s, _, a) = gw.post("/v1/events", None, None, &body).await;
    assert_eq!(
        (s, a["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (s, _, a) = gw.post("/v1/events", Some("not-a-key"), None, &body).await;
    assert_eq!(s, 401, "{a}");
    let (s, _, a) = gw.post("/v1/events", Some(DISTRICT_KEY), None, &body).await;
    assert_eq!(s, 403, "{a}");
    assert_eq!(a["error"]["code"], "forbidden");
    // The dossier's agency counts too: H56.50 posting an event about H56.51's dossier.
    let mut sneaky = foreign.clone();
    sneaky.event_id = "foreign-2".into();
    sneaky.agency_code = "H56.50".into();
    let (s, _, a) = gw
        .post(
            "/v1/events",
            Some(DISTRICT_KEY),
            None,
            &serde_json::to_value(&sneaky).unwrap(),
        )
        .await;
    assert_eq!(
        (s, a["error"]["field"].as_str()),
        (403, Some("dossier_code")),
        "{a}"
    );
    // In a batch, the foreign record is refused and its neighbours accepted.
    let own = district_events(3);
    let mut batch: Vec<Value> = own
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    batch.insert(1, body.clone());
    let (s, _, a) = gw
        .post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            None,
            &Value::Array(batch),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (a["accepted"].as_u64(), a["rejected"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(a["results"][1]["error"]["reason"], "forbidden");
    // Too many records for the district's limit (50).
    let many: Vec<Value> = (0..51)
        .map(|_| serde_json::to_value(&own[0]).unwrap())
        .collect();
    assert_eq!(
        gw.post(
            "/v1/events/batch",
            Some(DISTRICT_KEY),
            None,
            &Value::Array(many)
        )
        .await
        .0,
        413
    );
    // The province covers its sub-units.
    let (s, _, a) = gw.post("/v1/events", Some(PROVINCE_KEY), None, &body).await;
    assert_eq!(s, 200, "{a}");

    // Rotation without restart: the district gains H56.51 and a second key.
    let mut file: Value =
        serde_json::from_str(&access_json(&["H56.50", "H56.51"], 1000.0)).unwrap();
    file["agencies"][1]["key_sha256"]
        .as_array_mut()
        .unwrap()
        .push(hash_key_hex(OTHER_KEY).into());
    std::fs::write(&gw.access, file.to_string()).unwrap();
    let mut again = foreign.clone();
    again.event_id = "foreign-3".into();
    let body = serde_json::to_value(&again).unwrap();
    let started = Instant::now();
    loop {
        let (s, _, _) = gw.post("/v1/events", Some(OTHER_KEY), None, &body).await;
        if s == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the rotated access file took effect within 10 s (last {s})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A broken file leaves the previous one in force.
    std::fs::write(&gw.access, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut last = foreign.clone();
    last.event_id = "foreign-4".into();
    let (s, _, _) = gw
        .post(
            "/v1/events",
            Some(DISTRICT_KEY),
            None,
            &serde_json::to_value(&last).unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    let (_, metrics) = gw.get("/metrics").await;
    assert!(
        metrics.contains("motcua_gateway_config_reloads_total{result=\"error\"}"),
        "{metrics}"
    );
    let ids: BTreeSet<String> = read_topics(&common::brokers(), &env.topics, 3)
        .into_iter()
        .map(|r| r.2.event_id)
        .collect();
    assert!(!ids.contains("foreign-2"));
    assert!(ids.contains("foreign-1") && ids.contains("foreign-3") && ids.contains("foreign-4"));
    gw.stop().await;
}

fn portal_dossier(code: &str, status: u8, appointment: &str, end: &str, returned: &str) -> Value {
    json!({
        "MaHoSo": code,
        "MaTTHC": "1.009994.000.00.00.H56",
        "TenTTHC": "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ",
        "MaLinhVuc": "XD",
        "TenLinhVuc": "Xây dựng",
        "KenhThucHien": "1",
        "ChuHoSo": "Phạm Thị Mai",
        "SoGiayToChuHoSo": "056190004321",
        "LoaiDoiTuong": "1",
        "MaDoiTuong": "",
        "SoDienThoai": "0987654321",
        "Email": "",
        "TrichYeuHoSo": "Cấp phép xây dựng nhà ở riêng lẻ",
        "NgayTiepNhan": "20260817090000",
        "NgayHenTra": appointment,
        "TrangThaiHoSo": status.to_string(),
        "NgayTra": returned,
        "HinhThuc": "0",
        "NgayKetThucXuLy": end,
        "DonViXuLy": "Phòng Quản lý đô thị",
        "TaiLieuNop": [{"TepDinhKemId": "", "TenTepDinhKem": "Đơn đề nghị cấp giấy phép", "DuocSoHoa": "1"}],
        "DanhSachGiayToKetQua": [],
        "NoiNopHoSo": "1",
        "HoSoCoThanhPhanSoHoa": "1",
        "DuocThanhToanTrucTuyen": "0",
        "NgayNopHoSo": "20260817085000"
    })
}

fn step(code: &str, at: &str, unit: &str, status: u8) -> Value {
    json!({"MaHoSo": code, "NguoiXuLy": "Lê Văn Hùng", "ChucDanh": "Chuyên viên", "ThoiDiemXuLy": at,
           "PhongBanXuLy": unit, "NoiDungXuLy": "Chuyển xử lý", "TrangThai": status.to_string(),
           "NgayBatDau": "", "NgayKetThucTheoQuyDinh": ""})
}

#[tokio::test]
async fn portal_payloads_become_figures_in_clickhouse() {
    let env = Env::new("gw_portal").await;
    let gw = Gateway::start(&common::brokers(), &env.topics, |_| {}).await;
    let early = "H56.50-260817-0001";
    let late = "H56.50-260817-0002";
    let open = "H56.50-260817-0003";
    let dossiers = json!([
        portal_dossier(
            early,
            10,
            "20260910170000",
            "20260901100000",
            "20260902080000"
        ),
        portal_dossier(late, 9, "20260820170000", "20260825100000", ""),
        portal_dossier(open, 4, "20260915170000", "", ""),
        portal_dossier("H56.50-260817-0004", 1, "", "", ""),
        portal_dossier("H56.51-260817-0005", 2, "20260915170000", "", ""),
    ]);
    let (s, _, a) = gw
        .post(
            "/v1/portal/dossiers",
            Some(DISTRICT_KEY),
            Some("portal-1"),
            &dossiers,
        )
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        (a["accepted"].as_u64(), a["rejected"].as_u64()),
        (Some(3), Some(2)),
        "{a}"
    );
    assert_eq!(
        a["results"][0]["events"].as_array().unwrap().len(),
        3,
        "receipt, result, return"
    );
    assert_eq!(a["results"][3]["error"]["reason"], "unmappable");
    assert_eq!(a["results"][3]["error"]["field"], "TrangThaiHoSo");
    assert_eq!(a["results"][4]["error"]["reason"], "forbidden");
    // The same snapshot synced again (no key): the same event ids, folded once.
    let (s, _, _) = gw
        .post("/v1/portal/dossiers", Some(DISTRICT_KEY), None, &dossiers)
        .await;
    assert_eq!(s, 200);

    let steps = json!([
        step(early, "20260817100000", "H56.50", 4),
        step(early, "20260831160000", "H56.50.10", 4),
        step(early, "20260901100000", "H56.50.10", 9),
        step(open, "20260817110000", "H56.50", 4),
    ]);
    let (s, _, a) = gw
        .post("/v1/portal/progress", Some(DISTRICT_KEY), None, &steps)
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        (a["accepted"].as_u64(), a["rejected"].as_u64()),
        (Some(3), Some(1)),
        "{a}"
    );
    assert_eq!(a["results"][3]["error"]["reason"], "pending");

    let (summary, _) = env.process("gw").await;
    assert_eq!(summary.rejected, 0, "no dead letters");
    let states = env
        .lines("SELECT dossier_code, status, outcome, handovers FROM v_dossiers")
        .await;
    assert_eq!(
        states,
        vec![
            format!("{early}\t10\tEARLY\t3"),
            format!("{late}\t9\tLATE\t0"),
            // Its only progress row waits for the next one (pending): no handover yet.
            format!("{open}\t2\tIN_PROGRESS\t0"),
        ],
        "dossier states"
    );
    let daily = env.agency_daily().await;
    let h56_50: Vec<_> = daily.iter().filter(|d| d.agency_code == "H56.50").collect();
    assert_eq!(
        h56_50.iter().map(|d| d.counted).sum::<u64>(),
        2,
        "{daily:?}"
    );
    assert_eq!(h56_50.iter().map(|d| d.early).sum::<u64>(), 1);
    assert_eq!(h56_50.iter().map(|d| d.late).sum::<u64>(), 1);
    gw.stop().await;
}

/// Stops (SIGSTOP) or resumes (SIGCONT) the private broker.
fn signal(tansu: &PrivateTansu, sig: &str) {
    let pid = tansu.pid().expect("the private broker runs").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

/// The broker is stopped (SIGSTOP: connections stay open, nothing is answered) for 8 s while a
/// client keeps posting, then resumed. It is stopped between two requests: when events are in
/// flight as the broker goes away, librdkafka bumps the idempotent producer's epoch and tansu
/// 0.6.0's sqlite engine panics on the next produce (`lite.rs` "more or less than one row": no
/// row for the new epoch; seen with SIGKILL + restart and with SIGSTOP), answering nothing
/// more, which would test tansu, not the gateway.
#[tokio::test]
async fn a_stopped_broker_gives_503s_and_loses_no_acknowledged_record() {
    let tansu = PrivateTansu::start();
    let topics = TopicNames::with_prefix(&format!("it-gw-outage-{}", std::process::id()));
    motcua_runtime::kafka::create_topics(&KafkaSettings::new(tansu.brokers()), &topics, 3)
        .await
        .expect("topics on the private broker");
    let gw = Gateway::start(&tansu.brokers(), &topics, |s| {
        // Longer than the outage: events queued when the broker stopped are delivered once
        // it is back, while new requests are answered 503 as soon as the probe misses it.
        s.produce_timeout = Duration::from_secs(30);
        s.retry_after_secs = 1;
    })
    .await;
    let events = common::simulated(5, 2, 80);
    let mut acknowledged = BTreeSet::new();
    let mut unavailable = 0;
    let mut i = 0;
    let mut phase = 0; // 0 before the kill, 1 broker down, 2 restarted
    let mut phase_started = Instant::now();
    let started = Instant::now();
    while i < events.len() {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "outage run took over 3 minutes: phase {phase}, {} acknowledged, {unavailable} answered 503, at event {i} of {}",
            acknowledged.len(),
            events.len()
        );
        let chunk = &events[i..(i + 10).min(events.len())];
        let (s, h, a) = gw
            .post(
                "/v1/events/batch",
                Some(PROVINCE_KEY),
                None,
                &serde_json::to_value(chunk).unwrap(),
            )
            .await;
        match s {
            200 => {
                for r in a["results"].as_array().unwrap() {
                    assert_eq!(r["status"], "accepted", "{a}");
                    for e in r["events"].as_array().unwrap() {
                        acknowledged.insert(e["event_id"].as_str().unwrap().to_string());
                    }
                }
                i += chunk.len();
            }
            503 => {
                assert!(h.contains_key("retry-after"), "503 says when to retry");
                assert_eq!(a["error"]["code"], "unavailable");
                assert!(
                    phase >= 1,
                    "a 503 only while the broker is down or just after: {a}"
                );
                unavailable += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected {other}: {a}"),
        }
        if phase == 0 && acknowledged.len() >= 100 {
            signal(&tansu, "-STOP");
            // Between two requests, so no event is in flight when it stops (see above), and
            // every request from now on meets a broker the gateway knows is gone.
            let waited = Instant::now();
            while gw.get("/readyz").await.0 != 503 {
                assert!(
                    waited.elapsed() < Duration::from_secs(10),
                    "readyz notices the stopped broker"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            phase = 1;
            phase_started = Instant::now();
        } else if phase == 1 && phase_started.elapsed() > Duration::from_secs(8) {
            signal(&tansu, "-CONT");
            phase = 2;
        }
    }
    assert!(
        phase == 2,
        "the broker was stopped and resumed during the run"
    );
    assert!(unavailable > 0, "the outage was answered with 503s");
    let on_topics: BTreeSet<String> = read_topics(&tansu.brokers(), &topics, 3)
        .into_iter()
        .map(|r| r.2.event_id)
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&on_topics).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events missing, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let distinct: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        on_topics.len(),
        distinct.len(),
        "every event is on the topics in the end"
    );
    gw.stop().await;
}

#[tokio::test]
async fn schemathesis_finds_only_documented_answers_and_no_crash() {
    let env = Env::new("gw_fuzz").await;
    let gw = Gateway::start(&common::brokers(), &env.topics, |_| {}).await;
    let st = std::env::var("MOTCUA_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let url = gw.url.clone();
    // Off the test's runtime thread, which also serves the gateway.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&st)
        .args([
            "run",
            &format!("{url}/openapi.json"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "60",
            "--header",
            &format!("Authorization: Bearer {PROVINCE_KEY}"),
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .map_err(|e| format!("cannot run `{st}` ({e}): `bash deploy/local/up.sh` installs it (pip install schemathesis)"))
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    assert_eq!(gw.get("/healthz").await.0, 200, "the gateway is still up");
    gw.stop().await;
}
