//! Deadlines end to end: seven simulated weeks from 17/8/2026 (the worked Saturday 22/8, the
//! days off 31/8-2/9, the ends of August, September and the third quarter), published as
//! Avro to the broker, processed, and every Decision 766 figure, step rate, overdue count
//! and appointment finding read back from ClickHouse compared with the independent oracle.

use std::collections::BTreeMap;

use clickhouse::Row;
use motcua_core::codec::Encoding;
use serde::Deserialize;

use crate::common::{simulated_from, Env};
use crate::oracle::{self, Progress, Verdict};
use motcua_core::DossierEvent;

#[derive(Debug, Row, Deserialize)]
struct ProgressRow {
    period_kind: String,
    period: String,
    key: String,
    counted: u64,
    early: u64,
    on_time: u64,
    late: u64,
    open_within: u64,
    open_overdue: u64,
    indicator_2_1_percent: f64,
}

#[derive(Debug, Row, Deserialize)]
pub(crate) struct ResolutionRow {
    period_kind: String,
    period: String,
    procedure_code: String,
    limit_unit: String,
    limit_amount: i32,
    resolved: u64,
    indicator_2_2_average: Option<f64>,
}

#[derive(Debug, Row, Deserialize)]
pub(crate) struct StepRow {
    month: String,
    key: String,
    steps: u64,
    early: u64,
    on_time: u64,
    late: u64,
    on_time_rate_percent: f64,
    avg_taken_hours: f64,
}

type Key = (String, String, String);

/// Period kind, period, procedure, limit unit, limit amount.
type ResolutionKey = (String, String, String, String, i32);

async fn progress(env: &Env, view: &str, key: &str) -> BTreeMap<Key, ProgressRow> {
    let rows: Vec<ProgressRow> = env
        .store
        .client()
        .query(&format!(
            "SELECT period_kind, period, {key} AS key, counted, early, on_time, late, open_within, \
             open_overdue, indicator_2_1_percent FROM {view}"
        ))
        .fetch_all()
        .await
        .unwrap_or_else(|e| panic!("{view}: {e}"));
    rows.into_iter()
        .map(|r| ((r.period_kind.clone(), r.period.clone(), r.key.clone()), r))
        .collect()
}

fn compare_progress(
    view: &str,
    actual: &BTreeMap<Key, ProgressRow>,
    expected: &BTreeMap<Key, Progress>,
) {
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{view}: the same (period, key) rows"
    );
    for (k, want) in expected {
        let got = &actual[k];
        assert_eq!(
            [
                got.early,
                got.on_time,
                got.late,
                got.open_within,
                got.open_overdue
            ],
            *want,
            "{view} {k:?}"
        );
        assert_eq!(got.counted, want.iter().sum::<u64>(), "{view} {k:?}");
        assert_eq!(
            got.indicator_2_1_percent,
            oracle::rate_2_1(want),
            "{view} {k:?}"
        );
    }
}

/// What [`assert_figures_match`] compared, for callers that also check the data's shape.
pub(crate) struct Figures {
    pub as_of: chrono::DateTime<chrono::FixedOffset>,
    pub dossiers: Vec<oracle::Dossier>,
    pub closed_reports: usize,
    pub open_in_closed: usize,
    /// Months with a province report.
    pub months: std::collections::BTreeSet<String>,
    pub resolution_rows: Vec<ResolutionRow>,
    pub unit_rows: Vec<StepRow>,
    pub late_steps: u64,
    pub all_steps: u64,
    pub findings: u64,
    /// PAKN items counted in v_feedback_agency (answered or overdue).
    pub pakn_items: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_766_step_rates_and_overdue_lists_match_an_independent_computation() {
    let env = Env::new("deadlines").await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 8, 17).unwrap();
    let events = simulated_from(11, start, 50, 70);
    assert!(
        events.len() > 10_000,
        "a realistic volume: {}",
        events.len()
    );
    env.publish(&events, Encoding::Avro).await;
    let (summary, _) = env.process("main").await;
    assert_eq!(
        summary.rejected, 0,
        "the simulator only produces valid events"
    );
    let f = assert_figures_match(&env, &events).await;
    assert_eq!(
        f.closed_reports, 3,
        "August, September and 2026-Q3 are closed"
    );
    assert!(
        f.open_in_closed > 0,
        "some dossiers were open at the end of a closed period"
    );
    assert_eq!(f.months.len(), 3, "August to October 2026: {:?}", f.months);
    // PAKN items answered or overdue, and dossiers whose Circular 01 indicator 8 they lower.
    assert!(f.pakn_items > 0, "the events hold PAKN items");
    assert!(
        f.dossiers
            .iter()
            .any(|d| d.end_day.is_some() && !d.feedback.is_empty()),
        "some ended dossiers have PAKN items"
    );
    for v in [
        Verdict::Early,
        Verdict::OnTime,
        Verdict::Late,
        Verdict::OpenWithin,
        Verdict::OpenOverdue,
    ] {
        assert!(
            f.dossiers.iter().any(|d| d.verdict == v),
            "the data has {v:?} dossiers"
        );
    }
    assert!(f
        .resolution_rows
        .iter()
        .any(|r| r.indicator_2_2_average.is_some()));
    assert!(
        f.resolution_rows
            .iter()
            .any(|r| r.indicator_2_2_average.is_none()),
        "some procedure has nothing resolved in some period: N/A"
    );

    assert!(
        f.late_steps > 0 && f.late_steps < f.all_steps,
        "{} late of {}",
        f.late_steps,
        f.all_steps
    );
    let worst = f
        .unit_rows
        .iter()
        .filter(|r| r.steps >= 20)
        .map(|r| r.on_time_rate_percent)
        .fold(100.0, f64::min);
    let best = f
        .unit_rows
        .iter()
        .filter(|r| r.steps >= 20)
        .map(|r| r.on_time_rate_percent)
        .fold(0.0, f64::max);
    assert!(
        best - worst >= 5.0,
        "units differ in where dossiers get stuck: {worst}..{best}"
    );

    assert!(
        f.findings > 0,
        "the simulator writes some wrong appointments"
    );
}

/// Every Decision 766 figure (2.1 per agency, level and province; 2.2 per procedure; each
/// report as of its period's end), step rate, overdue count and appointment finding in
/// `env`'s database equals the oracle's over `events` (every valid event published),
/// judged as of the processor's watermark. Used by the fault suite too (tests/it/faults.rs).
pub(crate) async fn assert_figures_match(env: &Env, events: &[DossierEvent]) -> Figures {
    env.assert_aggregates_match_scans().await;
    // The watermark the views judge open dossiers by: the processor's event time.
    let as_of_secs = env
        .count("SELECT toUInt64(toUInt32(max(watermark))) FROM processor_progress FINAL")
        .await;
    let as_of = chrono::DateTime::from_timestamp(as_of_secs as i64, 0)
        .unwrap()
        .fixed_offset();
    let latest = events.iter().map(|e| e.occurred_at).max().unwrap();
    assert!(
        as_of <= latest && as_of > latest - chrono::Duration::days(3),
        "{as_of} vs {latest}"
    );

    let dossiers = oracle::dossiers(events, as_of);
    let rated = crate::satisfaction::assert_satisfaction_matches(env, &dossiers).await;
    assert!(rated > 0, "the events rate some dossiers");
    crate::satisfaction::assert_electronic_matches(env, &dossiers).await;
    crate::satisfaction::assert_online_matches(env, &dossiers).await;
    crate::satisfaction::assert_circular01_matches(env, &dossiers, as_of).await;
    crate::satisfaction::assert_unmatched_ratings_match(env, events).await;
    crate::satisfaction::assert_sipas_matches(env, events).await;
    crate::satisfaction::assert_satisfaction_by_supplements_matches(env, &dossiers).await;
    crate::feedback::assert_sync_and_digitised_match(env, &dossiers).await;
    let pakn_items = crate::feedback::assert_feedback_matches(env, &dossiers, as_of).await;
    crate::scorecard::assert_scorecard_matches(env).await;
    let first = events
        .iter()
        .filter_map(|e| e.received.as_ref().map(|_| oracle::vn_date(e.occurred_at)))
        .min()
        .unwrap();
    let reports = oracle::reports(first, oracle::vn_date(as_of));

    // Indicator 2.1 per agency, per level, and for the province with its sub-units, each
    // report as of its own end; and 2.2 per procedure (and unit) for the province.
    let mut by_agency: BTreeMap<Key, Progress> = BTreeMap::new();
    let mut by_level: BTreeMap<Key, Progress> = BTreeMap::new();
    let mut by_province: BTreeMap<Key, Progress> = BTreeMap::new();
    let mut resolution: BTreeMap<ResolutionKey, (u64, f64)> = BTreeMap::new();
    let mut closed_reports = 0;
    let mut open_in_closed = 0;
    for report in &reports {
        let closed = report.end_instant() <= as_of;
        closed_reports += closed as usize;
        for d in oracle::in_report(events, report, as_of) {
            let k = |key: String| (report.kind.to_string(), report.label.clone(), key);
            oracle::add(by_agency.entry(k(d.agency.clone())).or_default(), d.verdict);
            oracle::add(
                by_level
                    .entry(k(format!("{} {}", d.province, d.level)))
                    .or_default(),
                d.verdict,
            );
            oracle::add(
                by_province.entry(k(d.province.clone())).or_default(),
                d.verdict,
            );
            if closed && d.end_day.is_none() {
                open_in_closed += 1;
            }
            let slot = resolution
                .entry((
                    report.kind.to_string(),
                    report.label.clone(),
                    d.procedure.clone(),
                    d.unit.as_str().to_string(),
                    d.limit_amount,
                ))
                .or_default();
            if let Some(r) = d.resolution {
                slot.0 += 1;
                slot.1 += r;
            }
        }
    }
    compare_progress(
        "v_766_agency",
        &progress(env, "v_766_agency", "agency_code").await,
        &by_agency,
    );
    compare_progress(
        "v_766_level",
        &progress(
            env,
            "v_766_level",
            "concat(province_code, ' ', agency_level)",
        )
        .await,
        &by_level,
    );
    compare_progress(
        "v_766_province",
        &progress(env, "v_766_province", "province_code").await,
        &by_province,
    );
    let months: std::collections::BTreeSet<&str> = by_province
        .keys()
        .filter(|k| k.0 == "MONTH")
        .map(|k| k.1.as_str())
        .collect();

    let rows: Vec<ResolutionRow> = env
        .store
        .client()
        .query(
            "SELECT period_kind, period, procedure_code, limit_unit, limit_amount, resolved, \
             indicator_2_2_average FROM v_766_resolution_province",
        )
        .fetch_all()
        .await
        .expect("v_766_resolution_province");
    assert_eq!(
        rows.len(),
        resolution.len(),
        "one row per (period, procedure, limit)"
    );
    for r in &rows {
        let k = (
            r.period_kind.clone(),
            r.period.clone(),
            r.procedure_code.clone(),
            r.limit_unit.clone(),
            r.limit_amount,
        );
        let (n, sum) = resolution
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!(r.resolved, *n, "{k:?}");
        match r.indicator_2_2_average {
            None => assert_eq!(*n, 0, "N/A only without a resolved dossier: {k:?}"),
            Some(avg) => {
                // Stored per dossier to 4 decimals, summed in another order: equal to the
                // cent, not to the last bit.
                let want = ((sum / *n as f64) * 100.0).round() / 100.0;
                assert!((avg - want).abs() <= 0.01, "{k:?}: {avg} vs {want}");
            }
        }
    }
    // Step on-time rates per unit, per handover pair and per receiving agency, by month of
    // the handover.
    let mut units: BTreeMap<(String, String), ([u64; 3], i64)> = BTreeMap::new();
    let mut pairs: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
    let mut agencies: BTreeMap<(String, String), [u64; 3]> = BTreeMap::new();
    for d in &dossiers {
        for s in &d.steps {
            let i = if s.late {
                2
            } else if s.early {
                0
            } else {
                1
            };
            let month = s.month.to_string();
            let u = units
                .entry((month.clone(), s.from_unit.clone()))
                .or_default();
            u.0[i] += 1;
            u.1 += s.taken.num_seconds();
            pairs
                .entry((month.clone(), format!("{}>{}", s.from_unit, s.to_unit)))
                .or_default()[i] += 1;
            agencies.entry((month, d.agency.clone())).or_default()[i] += 1;
        }
    }
    let steps = |view: &'static str, key: &'static str| {
        let client = env.store.client().clone();
        async move {
            let rows: Vec<StepRow> = client
                .query(&format!(
                    "SELECT toString(month) AS month, {key} AS key, steps, early, on_time, late, \
                     on_time_rate_percent, avg_taken_hours FROM {view}"
                ))
                .fetch_all()
                .await
                .unwrap_or_else(|e| panic!("{view}: {e}"));
            rows
        }
    };
    let unit_rows = steps("v_steps_unit_monthly", "from_unit").await;
    assert_eq!(unit_rows.len(), units.len(), "one row per (month, unit)");
    for r in &unit_rows {
        let (c, taken) = units[&(r.month.clone(), r.key.clone())];
        assert_eq!([r.early, r.on_time, r.late], c, "{} {}", r.month, r.key);
        let n = c.iter().sum::<u64>();
        assert_eq!(r.steps, n);
        let rate = ((c[0] + c[1]) as f64 * 10000.0 / n as f64).round() / 100.0;
        assert_eq!(r.on_time_rate_percent, rate, "{} {}", r.month, r.key);
        let hours = taken as f64 / n as f64 / 3600.0;
        assert!(
            (r.avg_taken_hours - hours).abs() <= 0.006,
            "{}: {} vs {hours}",
            r.key,
            r.avg_taken_hours
        );
    }
    let agency_rows = steps("v_steps_agency_monthly", "agency_code").await;
    assert_eq!(
        agency_rows.len(),
        agencies.len(),
        "one row per (month, agency)"
    );
    for r in &agency_rows {
        assert_eq!(
            [r.early, r.on_time, r.late],
            agencies[&(r.month.clone(), r.key.clone())],
            "{}",
            r.key
        );
    }
    let pair_rows = steps("v_steps_pair_monthly", "concat(from_unit, '>', to_unit)").await;
    assert_eq!(pair_rows.len(), pairs.len(), "one row per (month, pair)");
    for r in &pair_rows {
        assert_eq!(
            [r.early, r.on_time, r.late],
            pairs[&(r.month.clone(), r.key.clone())],
            "{}",
            r.key
        );
    }
    let late_steps: u64 = units.values().map(|u| u.0[2]).sum();
    let all_steps: u64 = units.values().map(|u| u.0.iter().sum::<u64>()).sum();
    // Overdue open dossiers per agency, and the list.
    let mut overdue: BTreeMap<String, u64> = BTreeMap::new();
    for d in dossiers
        .iter()
        .filter(|d| d.verdict == Verdict::OpenOverdue)
    {
        *overdue.entry(d.agency.clone()).or_default() += 1;
    }
    #[derive(Debug, Row, Deserialize)]
    struct Overdue {
        agency_code: String,
        overdue_dossiers: u64,
    }
    let got: BTreeMap<String, u64> = env
        .store
        .client()
        .query(
            "SELECT agency_code, overdue_dossiers FROM v_overdue_agency WHERE overdue_dossiers > 0",
        )
        .fetch_all::<Overdue>()
        .await
        .expect("v_overdue_agency")
        .into_iter()
        .map(|r| (r.agency_code, r.overdue_dossiers))
        .collect();
    assert_eq!(got, overdue, "overdue per agency");
    let listed = env.count("SELECT count() FROM v_overdue_dossiers").await;
    assert_eq!(listed, overdue.values().sum::<u64>());

    eprintln!(
        "deadlines: {} dossiers, {} agency rows, {} resolution rows, {} unit-month step rows \
         ({late_steps} of {all_steps} steps late), {} overdue, as of {as_of}",
        dossiers.len(),
        by_agency.len(),
        rows.len(),
        unit_rows.len(),
        overdue.values().sum::<u64>()
    );

    // Appointment findings.
    let findings = dossiers.iter().filter(|d| d.appointment_finding).count() as u64;
    assert_eq!(
        env.count("SELECT count() FROM v_appointment_findings")
            .await,
        findings
    );
    Figures {
        as_of,
        dossiers,
        closed_reports,
        open_in_closed,
        months: months.into_iter().map(str::to_string).collect(),
        resolution_rows: rows,
        unit_rows,
        late_steps,
        all_steps,
        findings,
        pakn_items,
    }
}
