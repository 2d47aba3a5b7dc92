//! The Decision 766 scorecard and the target findings read from ClickHouse against points
//! computed here, from the indicator views the oracle checks (tests/it/satisfaction.rs,
//! tests/it/deadlines.rs) and the scoring rules written out below, not read from the
//! database's rule table. Checked wherever the figures are (deadlines::assert_figures_match).

use std::collections::BTreeMap;

use clickhouse::Row;
use serde::Deserialize;

use crate::common::Env;

/// The default scoring rules of migrations 6 and 8: indicator, group, points, share for full points.
const RULES: &[(&str, &str, f64, f64)] = &[
    ("1.4", "1", 2.0, 100.0),
    ("2.1", "2", 20.0, 100.0),
    ("3.3", "3", 6.0, 50.0),
    ("4.1", "4", 6.0, 80.0),
    ("4.2", "4", 6.0, 80.0),
    ("5.1", "5", 6.0, 90.0),
    ("5.2", "5", 6.0, 100.0),
];

/// Each indicator's parts: (numerator, denominator) as its own view serves them.
const PARTS: &[(&str, &str)] = &[
    (
        "1.4",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(synced) AS n, \
         toUInt64(received) AS d FROM v_766_sync_agency",
    ),
    (
        "4.2",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(digitised) AS n, \
         toUInt64(received) AS d FROM v_766_digitised_agency",
    ),
    (
        "5.2",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(answered_on_time) AS n, \
         toUInt64(answered + overdue) AS d FROM v_feedback_agency",
    ),
    (
        "2.1",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(early + on_time + open_within) AS n, \
         toUInt64(counted) AS d FROM v_766_agency",
    ),
    (
        "3.3",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(online) AS n, \
         toUInt64(received) AS d FROM v_766_online_agency",
    ),
    (
        "4.1",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(electronic) AS n, \
         toUInt64(results) AS d FROM v_766_electronic_agency",
    ),
    (
        "5.1",
        "SELECT period_kind, period, agency_code, province_code, toUInt64(counted - unsatisfied) AS n, \
         toUInt64(counted) AS d FROM v_766_satisfaction_agency",
    ),
];

#[derive(Debug, Row, Deserialize)]
struct Part {
    period_kind: String,
    period: String,
    agency_code: String,
    province_code: String,
    n: u64,
    d: u64,
}

#[derive(Debug, Row, Deserialize)]
struct ScoreRow {
    period_kind: String,
    period: String,
    subject: String,
    group_code: String,
    indicator: String,
    numerator: u64,
    denominator: u64,
    value_percent: Option<f64>,
    points: Option<f64>,
    max_points: f64,
}

#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    period_kind: String,
    period: String,
    subject: String,
    group_code: String,
    points: Option<f64>,
    computable_max: f64,
    indicators: u64,
}

#[derive(Debug, Row, Deserialize)]
struct FindingRow {
    period_kind: String,
    period: String,
    province_code: String,
    metric: String,
    subject: String,
    value_percent: f64,
    target_percent: f64,
    met: u8,
}

/// The rows of `sql`, failing with the query when it does not run.
pub(crate) async fn fetch<T>(env: &Env, sql: &str) -> Vec<T>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    env.store
        .client()
        .query(sql)
        .fetch_all()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 0.0100001, "{what}: {a} vs {b}");
}

/// (period kind, period, subject, indicator or group).
type Key = (String, String, String, String);
/// Key -> (numerator, denominator).
type Parts = BTreeMap<Key, (u64, u64)>;
/// (period kind, period, province, metric, subject) -> (value, target).
type Findings = BTreeMap<(String, String, String, String, String), (f64, f64)>;

fn expected_score(n: u64, d: u64, rule: (f64, f64)) -> (Option<f64>, Option<f64>) {
    let (max, full) = rule;
    if d == 0 {
        return (None, None);
    }
    let exact = 100.0 * n as f64 / d as f64;
    (
        Some(round2(exact)),
        Some(round2(max * exact.min(full) / full)),
    )
}

async fn check_scores(env: &Env, view: &str, subject: &str, parts: &Parts) {
    let rows: Vec<ScoreRow> = fetch(
        env,
        &format!(
            "SELECT period_kind, period, {subject} AS subject, group_code, indicator, numerator, \
             denominator, value_percent, points, max_points FROM {view}"
        ),
    )
    .await;
    assert_eq!(
        rows.len(),
        parts.len(),
        "{view}: one row per indicator and period"
    );
    let mut groups: BTreeMap<Key, (f64, f64, u64)> = BTreeMap::new();
    for r in &rows {
        let k = (
            r.period_kind.clone(),
            r.period.clone(),
            r.subject.clone(),
            r.indicator.clone(),
        );
        let (n, d) = *parts
            .get(&k)
            .unwrap_or_else(|| panic!("{view}: unexpected row {r:?}"));
        let &(_, group, max, full) = RULES
            .iter()
            .find(|(i, ..)| *i == r.indicator)
            .expect("a computable indicator");
        assert_eq!((r.numerator, r.denominator), (n, d), "{view} {k:?}");
        assert_eq!(
            (r.group_code.as_str(), r.max_points),
            (group, max),
            "{view} {k:?}"
        );
        let (value, points) = expected_score(n, d, (max, full));
        assert_eq!(r.value_percent, value, "{view} {k:?}");
        match (r.points, points) {
            (Some(a), Some(b)) => close(a, b, &format!("{view} {k:?}")),
            (a, b) => assert_eq!(a, b, "{view} {k:?}: N/A scores nothing"),
        }
        for g in [group, "total"] {
            let e = groups
                .entry((k.0.clone(), k.1.clone(), k.2.clone(), g.to_string()))
                .or_default();
            e.0 += points.unwrap_or(0.0);
            e.1 += if points.is_some() { max } else { 0.0 };
            e.2 += 1;
        }
    }
    if subject != "agency_code" {
        return;
    }
    let rows: Vec<GroupRow> = fetch(
        env,
        "SELECT period_kind, period, agency_code AS subject, group_code, points, \
         computable_max, indicators FROM v_766_scorecard_groups_agency",
    )
    .await;
    assert_eq!(rows.len(), groups.len(), "one row per group and period");
    for r in &rows {
        let k = (
            r.period_kind.clone(),
            r.period.clone(),
            r.subject.clone(),
            r.group_code.clone(),
        );
        let &(points, max, count) = groups
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected group row {r:?}"));
        assert_eq!((r.computable_max, r.indicators), (max, count), "{k:?}");
        // A sum of rounded points: within a cent per indicator.
        let got = r.points.unwrap_or(0.0);
        assert!(
            (got - points).abs() <= 0.0100001 * count as f64,
            "{k:?}: {got} vs {points}"
        );
    }
}

/// The scorecard per agency and per province (with every sub-unit) scores exactly what the
/// indicator views serve, with the published rules; groups and totals add up; every
/// on-time figure per field and the satisfaction share per province is judged against its
/// default target.
pub(crate) async fn assert_scorecard_matches(env: &Env) {
    let mut by_agency = Parts::new();
    let mut by_province = Parts::new();
    for (indicator, sql) in PARTS {
        let parts: Vec<Part> = fetch(env, sql).await;
        for p in parts {
            by_agency.insert(
                (
                    p.period_kind.clone(),
                    p.period.clone(),
                    p.agency_code,
                    indicator.to_string(),
                ),
                (p.n, p.d),
            );
            let e = by_province
                .entry((
                    p.period_kind,
                    p.period,
                    p.province_code,
                    indicator.to_string(),
                ))
                .or_default();
            e.0 += p.n;
            e.1 += p.d;
        }
    }
    assert!(
        by_agency.keys().any(|k| k.3 == "2.1") && by_agency.keys().any(|k| k.3 == "5.1"),
        "the scorecard has figures to score"
    );
    check_scores(env, "v_766_scorecard_agency", "agency_code", &by_agency).await;
    check_scores(
        env,
        "v_766_scorecard_province",
        "province_code",
        &by_province,
    )
    .await;

    // Targets: on time at or above 90 % in every field, satisfaction at or above 80 %, the
    // SIPAS index at or above 90 % (the default for years without their own target).
    #[derive(Debug, Row, Deserialize)]
    struct Figure {
        period_kind: String,
        period: String,
        province_code: String,
        subject: String,
        value: Option<f64>,
    }
    let mut want = Findings::new();
    for (metric, target, sql) in [
        (
            "on_time_percent",
            90.0,
            "SELECT period_kind, period, province_code, field_code AS subject, \
             toNullable(toFloat64(indicator_2_1_percent)) AS value FROM v_766_field",
        ),
        (
            "satisfaction_percent",
            80.0,
            "SELECT period_kind, period, province_code, '' AS subject, \
             satisfied_percent AS value FROM v_satisfaction_province",
        ),
        (
            "sipas_percent",
            90.0,
            "SELECT period_kind, period, province_code, '' AS subject, \
             sipas_percent AS value FROM v_sipas_province",
        ),
    ] {
        let figures: Vec<Figure> = fetch(env, sql).await;
        for f in figures {
            let value = f.value.expect("a rated province has a share");
            want.insert(
                (
                    f.period_kind,
                    f.period,
                    f.province_code,
                    metric.to_string(),
                    f.subject,
                ),
                (value, target),
            );
        }
    }
    let rows: Vec<FindingRow> = fetch(
        env,
        "SELECT period_kind, period, province_code, metric, subject, value_percent, \
         target_percent, met FROM v_target_findings",
    )
    .await;
    assert_eq!(
        rows.len(),
        want.len(),
        "one finding per figure with a target"
    );
    for r in &rows {
        let k = (
            r.period_kind.clone(),
            r.period.clone(),
            r.province_code.clone(),
            r.metric.clone(),
            r.subject.clone(),
        );
        let &(value, target) = want
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected finding {r:?}"));
        assert_eq!(
            (r.value_percent, r.target_percent),
            (value, target),
            "{k:?}"
        );
        assert_eq!(r.met, u8::from(value >= target), "{k:?}");
    }
}
