//! Satisfaction figures and Decision 766 indicators 3.3 and 4.1 read from ClickHouse against an
//! independent computation over the events (tests/it/oracle.rs: each dossier's last survey in time order, any complaint, any
//! dissatisfied answer), checked wherever the on-time figures are (deadlines::assert_figures_match,
//! so every fault case too).

use std::collections::BTreeMap;

use clickhouse::Row;
use motcua_core::event::Satisfaction;
use serde::Deserialize;

use crate::common::Env;
use crate::oracle::{self, Verdict};

#[derive(Debug, Row, Deserialize)]
struct DailyRow {
    day: String,
    agency_code: String,
    counted: u64,
    very_satisfied: u64,
    satisfied: u64,
    neutral: u64,
    dissatisfied: u64,
    very_dissatisfied: u64,
    complaints: u64,
    rated_late: u64,
    satisfied_percent: Option<f64>,
    satisfied_late_percent: Option<f64>,
}

#[derive(Debug, Row, Deserialize)]
struct ScoreRow {
    period: String,
    agency_code: String,
    counted: u64,
    unsatisfied: u64,
    indicator_5_percent: f64,
    indicator_5_points: f64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Expected {
    counted: u64,
    levels: [u64; 5],
    complaints: u64,
    rated_late: u64,
    satisfied_late: u64,
    unsatisfied: u64,
}

fn share(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| (n as f64 * 10000.0 / d as f64).round() / 100.0)
}

/// Every satisfaction figure per agency and day, and Decision 766 group 5 per agency and
/// month, equal the oracle's. Returns the number of rated dossiers (so callers can insist
/// the data had some).
pub(crate) async fn assert_satisfaction_matches(env: &Env, dossiers: &[oracle::Dossier]) -> u64 {
    let mut daily: BTreeMap<(String, String), Expected> = BTreeMap::new();
    let mut monthly: BTreeMap<(String, String), Expected> = BTreeMap::new();
    let mut rated = 0;
    for d in dossiers {
        let Some(day) = d.end_day else { continue };
        let late = d.verdict == Verdict::Late;
        let rating = d
            .rating
            .map(|r| Satisfaction::ALL.iter().position(|x| *x == r).unwrap());
        rated += rating.is_some() as u64;
        let month = day.format("%Y-%m").to_string();
        for e in [
            daily
                .entry((day.to_string(), d.agency.clone()))
                .or_default(),
            monthly.entry((month, d.agency.clone())).or_default(),
        ] {
            e.counted += 1;
            if let Some(i) = rating {
                e.levels[i] += 1;
                if late {
                    e.rated_late += 1;
                    e.satisfied_late += (i <= 1) as u64;
                }
            }
            e.complaints += d.complaint as u64;
            e.unsatisfied += (d.any_dissatisfied || d.complaint || late) as u64;
        }
    }

    let rows: Vec<DailyRow> = env
        .store
        .client()
        .query(
            "SELECT toString(day) AS day, agency_code, counted, very_satisfied, satisfied, \
             neutral, dissatisfied, very_dissatisfied, complaints, rated_late, \
             satisfied_percent, satisfied_late_percent FROM v_satisfaction_agency_daily",
        )
        .fetch_all()
        .await
        .expect("v_satisfaction_agency_daily");
    assert_eq!(rows.len(), daily.len(), "one row per (day, agency)");
    for r in &rows {
        let k = (r.day.clone(), r.agency_code.clone());
        let e = daily
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        let levels = [
            r.very_satisfied,
            r.satisfied,
            r.neutral,
            r.dissatisfied,
            r.very_dissatisfied,
        ];
        assert_eq!(
            (r.counted, levels, r.complaints, r.rated_late),
            (e.counted, e.levels, e.complaints, e.rated_late),
            "{k:?}"
        );
        let n: u64 = e.levels.iter().sum();
        assert_eq!(
            r.satisfied_percent,
            share(e.levels[0] + e.levels[1], n),
            "{k:?}"
        );
        assert_eq!(
            r.satisfied_late_percent,
            share(e.satisfied_late, e.rated_late),
            "{k:?}"
        );
    }

    let rows: Vec<ScoreRow> = env
        .store
        .client()
        .query(
            "SELECT period, agency_code, counted, unsatisfied, indicator_5_percent, \
             indicator_5_points FROM v_766_satisfaction_agency WHERE period_kind = 'MONTH'",
        )
        .fetch_all()
        .await
        .expect("v_766_satisfaction_agency");
    assert_eq!(rows.len(), monthly.len(), "one row per (month, agency)");
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone());
        let e = monthly
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!(
            (r.counted, r.unsatisfied),
            (e.counted, e.unsatisfied),
            "{k:?}"
        );
        let pct = share(e.counted - e.unsatisfied, e.counted).unwrap();
        assert_eq!(r.indicator_5_percent, pct, "{k:?}");
        let exact = 100.0 * (e.counted - e.unsatisfied) as f64 / e.counted as f64;
        let points = (6.0 * exact.min(90.0) / 90.0 * 100.0).round() / 100.0;
        // Two roundings of the same quotient: equal to the cent.
        assert!(
            (r.indicator_5_points - points).abs() <= 0.0100001,
            "{k:?}: {} vs {points}",
            r.indicator_5_points
        );
    }
    rated
}

#[derive(Debug, Row, Deserialize)]
struct ElectronicRow {
    period: String,
    agency_code: String,
    results: u64,
    electronic: u64,
    indicator_4_1_percent: Option<f64>,
}

/// Decision 766 indicator 4.1 (electronic results) per agency and month equals the oracle's:
/// of the ended dossiers with a result, those whose first result was electronic.
pub(crate) async fn assert_electronic_matches(env: &Env, dossiers: &[oracle::Dossier]) {
    let mut monthly: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for d in dossiers {
        let Some(day) = d.end_day else { continue };
        let e = monthly
            .entry((day.format("%Y-%m").to_string(), d.agency.clone()))
            .or_default();
        if d.resolution.is_some() {
            e.0 += 1;
            e.1 += d.electronic_result as u64;
        }
    }
    let rows: Vec<ElectronicRow> = env
        .store
        .client()
        .query(
            "SELECT period, agency_code, results, electronic, indicator_4_1_percent \
             FROM v_766_electronic_agency WHERE period_kind = 'MONTH'",
        )
        .fetch_all()
        .await
        .expect("v_766_electronic_agency");
    assert_eq!(rows.len(), monthly.len(), "one row per (month, agency)");
    let mut electronic = 0;
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone());
        let (results, e) = monthly
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!((r.results, r.electronic), (*results, *e), "{k:?}");
        assert_eq!(r.indicator_4_1_percent, share(*e, *results), "{k:?}");
        electronic += e;
    }
    assert!(electronic > 0, "some results are electronic");
}

#[derive(Debug, Row, Deserialize)]
struct OnlineRow {
    period: String,
    agency_code: String,
    received: u64,
    online: u64,
    indicator_3_3_percent: f64,
}

/// Decision 766 indicator 3.3 (online share of the received) per agency and month of
/// receipt equals the oracle's.
pub(crate) async fn assert_online_matches(env: &Env, dossiers: &[oracle::Dossier]) {
    let mut monthly: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for d in dossiers {
        let e = monthly
            .entry((d.received_day.format("%Y-%m").to_string(), d.agency.clone()))
            .or_default();
        e.0 += 1;
        e.1 += d.online as u64;
    }
    let rows: Vec<OnlineRow> = env
        .store
        .client()
        .query(
            "SELECT period, agency_code, received, online, indicator_3_3_percent \
             FROM v_766_online_agency WHERE period_kind = 'MONTH'",
        )
        .fetch_all()
        .await
        .expect("v_766_online_agency");
    assert_eq!(rows.len(), monthly.len(), "one row per (month, agency)");
    let mut online = 0;
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone());
        let (received, o) = monthly
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!((r.received, r.online), (*received, *o), "{k:?}");
        assert_eq!(Some(r.indicator_3_3_percent), share(*o, *received), "{k:?}");
        online += o;
    }
    assert!(online > 0, "some dossiers came online");
}
