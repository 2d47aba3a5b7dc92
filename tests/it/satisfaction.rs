//! Satisfaction figures and Decision 766 indicators 3.3 and 4.1 read from ClickHouse against an
//! independent computation over the events (tests/it/oracle.rs: each dossier's last survey in time order, any complaint, any
//! dissatisfied answer), checked wherever the on-time figures are (deadlines::assert_figures_match,
//! so every fault case too).

use std::collections::BTreeMap;

use clickhouse::Row;
use motcua_core::event::{EventKind, Satisfaction};
use motcua_core::DossierEvent;
use serde::Deserialize;

use crate::common::Env;
use crate::oracle::{self, Verdict};
use crate::scorecard::fetch;

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

/// Circular 01/2018 points of one ended dossier for the six indicators the events allow
/// (1 total time, 2 unit times if it has judged steps, 3 contacts, 7 attitude, 8 feedback
/// handled on time, 9 online), computed here from the oracle's own judgement as of `as_of`.
fn circular01_points(
    d: &oracle::Dossier,
    as_of: motcua_core::event::Timestamp,
) -> (u64, Option<u64>, u64, u64, u64, u64) {
    let i1 = match d.verdict {
        Verdict::Early => 2,
        Verdict::OnTime => 1,
        _ => 0,
    };
    let i2 = (!d.steps.is_empty()).then(|| {
        if d.steps.iter().any(|s| s.late) {
            0
        } else if d.steps.iter().all(|s| s.early) {
            2
        } else {
            1
        }
    });
    let i3 = match d.supplement_requests {
        0 => 2,
        1 => 1,
        _ => 0,
    };
    let i7 = match (d.complaint, d.verdict) {
        (true, _) => 0,
        (false, Verdict::Early) => 2,
        (false, _) => 1,
    };
    let i9 = if d.online { 2 } else { 0 };
    // No PAKN item 2; every item answered by its due time or not yet due 1; else 0.
    let late = d.feedback.iter().any(|f| match f.answered {
        Some((at, _)) => at > f.due_at,
        None => f.due_at < as_of,
    });
    let i8 = match (d.feedback.is_empty(), late) {
        (true, _) => 2,
        (false, false) => 1,
        (false, true) => 0,
    };
    (i1, i2, i3, i7, i8, i9)
}

#[derive(Debug, Default, Clone, Copy)]
struct C01Sums {
    counted: u64,
    i1: u64,
    i2: u64,
    i2_scored: u64,
    i3: u64,
    i7: u64,
    i8: u64,
    i9: u64,
}

impl C01Sums {
    fn add(&mut self, d: &oracle::Dossier, as_of: motcua_core::event::Timestamp) {
        let (i1, i2, i3, i7, i8, i9) = circular01_points(d, as_of);
        self.counted += 1;
        self.i1 += i1;
        if let Some(p) = i2 {
            self.i2 += p;
            self.i2_scored += 1;
        }
        self.i3 += i3;
        self.i7 += i7;
        self.i8 += i8;
        self.i9 += i9;
    }

    fn avg(&self, points: u64) -> f64 {
        points as f64 / self.counted as f64
    }

    /// The sum of the computable indicators' averages, and the most they could give.
    fn points(&self) -> (f64, u8) {
        let i2 = (self.i2_scored > 0).then(|| self.i2 as f64 / self.i2_scored as f64);
        let sum = self.avg(self.i1 + self.i3 + self.i7 + self.i8 + self.i9) + i2.unwrap_or(0.0);
        (sum, if i2.is_some() { 12 } else { 10 })
    }
}

#[derive(Debug, Row, Deserialize)]
struct C01Row {
    period: String,
    agency_code: String,
    counted: u64,
    steps_scored: u64,
    i1_total_time: f64,
    i2_unit_times: Option<f64>,
    i3_contacts: f64,
    i4_agencies_contacted: Option<f64>,
    i5_one_stop: Option<f64>,
    i6_publicity: Option<f64>,
    i7_attitude: f64,
    i8_feedback: Option<f64>,
    i9_online: f64,
    points: f64,
    points_computable: u8,
    points_scaled_18: f64,
    grade_scaled: String,
}

/// Two roundings to the cent of the same quotient (the server's and this one) differ by at
/// most a cent.
fn cents(got: f64, exact: f64, what: &str) {
    let want = (exact * 100.0).round() / 100.0;
    assert!(
        (got - want).abs() <= 0.0100001,
        "{what}: {got} vs {want} ({exact})"
    );
}

/// The Circular 01/2018 score per agency and month (v_c01_agency) and per province
/// (v_c01_province) equals the oracle's: each computable indicator's average, the points,
/// the scaled grade, and NULL for the three the events do not allow.
pub(crate) async fn assert_circular01_matches(
    env: &Env,
    dossiers: &[oracle::Dossier],
    as_of: motcua_core::event::Timestamp,
) {
    let mut monthly: BTreeMap<(String, String), C01Sums> = BTreeMap::new();
    let mut provinces: BTreeMap<(String, String), C01Sums> = BTreeMap::new();
    for d in dossiers {
        let Some(day) = d.end_day else { continue };
        let month = day.format("%Y-%m").to_string();
        monthly
            .entry((month.clone(), d.agency.clone()))
            .or_default()
            .add(d, as_of);
        provinces
            .entry((month, d.province.clone()))
            .or_default()
            .add(d, as_of);
    }
    let rows: Vec<C01Row> = fetch(
        env,
        "SELECT period, agency_code, counted, steps_scored, i1_total_time, i2_unit_times, \
             i3_contacts, i4_agencies_contacted, i5_one_stop, i6_publicity, i7_attitude, \
             i8_feedback, i9_online, points, points_computable, points_scaled_18, grade_scaled \
             FROM v_c01_agency WHERE period_kind = 'MONTH'",
    )
    .await;
    assert_eq!(rows.len(), monthly.len(), "one row per (month, agency)");
    let (mut scored, mut supplemented, mut online) = (0, 0, 0);
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone());
        let e = monthly
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!(
            (r.counted, r.steps_scored),
            (e.counted, e.i2_scored),
            "{k:?}"
        );
        let what = |i: &str| format!("{k:?} {i}");
        cents(r.i1_total_time, e.avg(e.i1), &what("i1"));
        match r.i2_unit_times {
            Some(got) => cents(got, e.i2 as f64 / e.i2_scored as f64, &what("i2")),
            None => assert_eq!(
                e.i2_scored, 0,
                "{k:?}: i2 is NULL only without judged steps"
            ),
        }
        cents(r.i3_contacts, e.avg(e.i3), &what("i3"));
        cents(r.i7_attitude, e.avg(e.i7), &what("i7"));
        let i8 = r.i8_feedback.expect("indicator 8 is computable");
        cents(i8, e.avg(e.i8), &what("i8"));
        cents(r.i9_online, e.avg(e.i9), &what("i9"));
        assert_eq!(
            (r.i4_agencies_contacted, r.i5_one_stop, r.i6_publicity),
            (None, None, None),
            "{k:?}: not computable from the events"
        );
        let (points, max) = e.points();
        cents(r.points, points, &what("points"));
        assert_eq!(r.points_computable, max, "{k:?}");
        let scaled = 18.0 * points / f64::from(max);
        cents(r.points_scaled_18, scaled, &what("scaled"));
        // Bands on the server's rounded figure (a figure within a cent of a band's edge
        // could fall either side of it here).
        let grade = match r.points_scaled_18 {
            x if x > 15.0 => "EXCELLENT",
            x if x >= 12.0 => "GOOD",
            x if x >= 9.0 => "FAIR",
            x if x >= 6.0 => "AVERAGE",
            _ => "WEAK",
        };
        assert_eq!(r.grade_scaled, grade, "{k:?}");
        scored += e.i2_scored;
        supplemented += e.counted * 2 - e.i3;
        online += e.i9;
    }
    assert!(
        scored > 0 && supplemented > 0 && online > 0,
        "the data has steps, supplements and online dossiers: {scored} {supplemented} {online}"
    );

    #[derive(Debug, Row, Deserialize)]
    struct ProvinceRow {
        period: String,
        province_code: String,
        counted: u64,
        points: f64,
        points_computable: u8,
    }
    let rows: Vec<ProvinceRow> = fetch(
        env,
        "SELECT period, province_code, counted, points, points_computable \
             FROM v_c01_province WHERE period_kind = 'MONTH'",
    )
    .await;
    assert_eq!(rows.len(), provinces.len(), "one row per (month, province)");
    for r in &rows {
        let k = (r.period.clone(), r.province_code.clone());
        let e = provinces
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!(r.counted, e.counted, "{k:?}");
        let (points, max) = e.points();
        cents(r.points, points, &format!("{k:?} points"));
        assert_eq!(r.points_computable, max, "{k:?}");
    }
}

#[derive(Debug, Row, Deserialize)]
struct SupplementsRow {
    period: String,
    agency_code: String,
    supplements: u8,
    counted: u64,
    rated: u64,
    satisfied: u64,
    satisfied_percent: Option<f64>,
}

/// Satisfaction by number of supplement requests (none, one, more) per agency and month
/// equals the oracle's.
pub(crate) async fn assert_satisfaction_by_supplements_matches(
    env: &Env,
    dossiers: &[oracle::Dossier],
) {
    let mut want: BTreeMap<(String, String, u8), (u64, u64, u64)> = BTreeMap::new();
    for d in dossiers {
        let Some(day) = d.end_day else { continue };
        let bucket = d.supplement_requests.min(2) as u8;
        let e = want
            .entry((day.format("%Y-%m").to_string(), d.agency.clone(), bucket))
            .or_default();
        e.0 += 1;
        if let Some(r) = d.rating {
            e.1 += 1;
            e.2 += matches!(r, Satisfaction::VerySatisfied | Satisfaction::Satisfied) as u64;
        }
    }
    let rows: Vec<SupplementsRow> = fetch(
        env,
        "SELECT period, agency_code, supplements, counted, rated, satisfied, \
             satisfied_percent FROM v_satisfaction_supplements WHERE period_kind = 'MONTH'",
    )
    .await;
    assert_eq!(
        rows.len(),
        want.len(),
        "one row per (month, agency, supplements)"
    );
    let mut rated_after_supplements = 0;
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone(), r.supplements);
        let e = want
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!((r.counted, r.rated, r.satisfied), *e, "{k:?}");
        assert_eq!(r.satisfied_percent, share(e.2, e.1), "{k:?}");
        if r.supplements > 0 {
            rated_after_supplements += e.1;
        }
    }
    assert!(
        rated_after_supplements > 0,
        "some dossiers with supplement requests are rated"
    );
}

/// `v_unmatched_ratings` lists exactly the codes that got ratings and nothing else (no
/// receipt, no refusal at the counter): the simulator's ratings under codes no dossier has.
pub(crate) async fn assert_unmatched_ratings_match(env: &Env, events: &[DossierEvent]) {
    let mut kinds: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for e in events.iter().filter(|e| ids.insert(e.event_id.as_str())) {
        let k = kinds.entry(e.dossier_code.as_str()).or_default();
        match e.kind {
            EventKind::Survey => k.0 += 1,
            EventKind::Received | EventKind::Refused => k.1 = true,
            _ => {}
        }
    }
    let want: BTreeMap<String, u64> = kinds
        .into_iter()
        .filter(|(_, (surveys, dossier))| *surveys > 0 && !dossier)
        .map(|(c, (surveys, _))| (c.to_string(), surveys))
        .collect();
    #[derive(Debug, Row, Deserialize)]
    struct Unmatched {
        dossier_code: String,
        surveys: u64,
    }
    let rows: Vec<Unmatched> = fetch(
        env,
        "SELECT dossier_code, toUInt64(surveys) AS surveys FROM v_unmatched_ratings",
    )
    .await;
    let got: BTreeMap<String, u64> = rows
        .into_iter()
        .map(|r| (r.dossier_code, r.surveys))
        .collect();
    assert_eq!(got, want, "ratings whose dossier never came");
}

#[derive(Debug, Row, Deserialize)]
struct SipasRow {
    period: String,
    agency_code: String,
    sheets: u64,
    answered_access: u64,
    satisfied_access: u64,
    answered_procedure: u64,
    satisfied_procedure: u64,
    answered_officials: u64,
    satisfied_officials: u64,
    answered_results: u64,
    satisfied_results: u64,
    answered_feedback: u64,
    satisfied_feedback: u64,
    access_percent: Option<f64>,
    feedback_percent: Option<f64>,
    sipas_percent: Option<f64>,
}

/// The SIPAS index per agency and month of the answer (v_sipas_agency), and per province
/// (v_sipas_province, and its target finding), equal an independent count over the answer
/// sheets: per response code the latest sheet, per element the criteria answered and those
/// answered 4 or 5.
pub(crate) async fn assert_sipas_matches(env: &Env, events: &[DossierEvent]) {
    use motcua_core::event::SipasElement;
    // The standing sheet per response code: latest by event time, then event id.
    let mut sheets: BTreeMap<&str, &DossierEvent> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::SipasResponse) {
        let slot = sheets.entry(e.dossier_code.as_str()).or_insert(e);
        let hash = |e: &DossierEvent| motcua_core::fold::stable_hash(e.event_id.as_bytes());
        if (e.occurred_at, hash(e)) > (slot.occurred_at, hash(slot)) {
            *slot = e;
        }
    }
    // (month, agency) -> sheets, [answered; 5], [satisfied; 5]
    type Counted = (u64, [u64; 5], [u64; 5]);
    let mut want: BTreeMap<(String, String), Counted> = BTreeMap::new();
    for e in sheets.values() {
        let month = oracle::vn_date(e.occurred_at).format("%Y-%m").to_string();
        let w = want.entry((month, e.agency_code.clone())).or_default();
        w.0 += 1;
        for a in &e.sipas.as_ref().unwrap().answers {
            let i = SipasElement::ALL
                .iter()
                .position(|x| *x == a.element)
                .unwrap();
            w.1[i] += 1;
            w.2[i] += (a.satisfaction >= 4) as u64;
        }
    }
    assert!(!want.is_empty(), "the events hold SIPAS answer sheets");
    let rows: Vec<SipasRow> = fetch(
        env,
        "SELECT period, agency_code, sheets, answered_access, satisfied_access, \
             answered_procedure, satisfied_procedure, answered_officials, satisfied_officials, \
             answered_results, satisfied_results, answered_feedback, satisfied_feedback, \
             access_percent, feedback_percent, sipas_percent \
             FROM v_sipas_agency WHERE period_kind = 'MONTH'",
    )
    .await;
    assert_eq!(rows.len(), want.len(), "one row per (month, agency)");
    let mut provinces: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let k = (r.period.clone(), r.agency_code.clone());
        let (n, answered, satisfied) = want
            .get(&k)
            .unwrap_or_else(|| panic!("unexpected row {r:?}"));
        assert_eq!(r.sheets, *n, "{k:?}");
        assert_eq!(
            [
                r.answered_access,
                r.answered_procedure,
                r.answered_officials,
                r.answered_results,
                r.answered_feedback
            ],
            *answered,
            "{k:?}"
        );
        assert_eq!(
            [
                r.satisfied_access,
                r.satisfied_procedure,
                r.satisfied_officials,
                r.satisfied_results,
                r.satisfied_feedback
            ],
            *satisfied,
            "{k:?}"
        );
        assert_eq!(r.access_percent, share(satisfied[0], answered[0]), "{k:?}");
        assert_eq!(
            r.feedback_percent,
            share(satisfied[4], answered[4]),
            "{k:?}"
        );
        let (a, s): (u64, u64) = (answered.iter().sum(), satisfied.iter().sum());
        assert_eq!(r.sipas_percent, share(s, a), "{k:?}");
        let province = r.agency_code.split('.').next().unwrap().to_string();
        let p = provinces.entry((r.period.clone(), province)).or_default();
        p.0 += a;
        p.1 += s;
    }

    #[derive(Debug, Row, Deserialize)]
    struct ProvinceRow {
        period: String,
        province_code: String,
        answered: u64,
        satisfied: u64,
        sipas_percent: Option<f64>,
    }
    let rows: Vec<ProvinceRow> = fetch(
        env,
        "SELECT period, province_code, answered, satisfied, sipas_percent \
             FROM v_sipas_province WHERE period_kind = 'MONTH'",
    )
    .await;
    assert_eq!(rows.len(), provinces.len(), "one row per (month, province)");
    for r in &rows {
        let k = (r.period.clone(), r.province_code.clone());
        let (a, s) = provinces[&k];
        assert_eq!((r.answered, r.satisfied), (a, s), "{k:?}");
        assert_eq!(r.sipas_percent, share(s, a), "{k:?}");
        // Against its target (migration 7's default, 90 %, for years without their own).
        let met: Vec<u8> = env
            .store
            .client()
            .query(
                "SELECT met FROM v_target_findings WHERE metric = 'sipas_percent' \
                 AND period_kind = 'MONTH' AND period = ? AND province_code = ?",
            )
            .bind(&r.period)
            .bind(&r.province_code)
            .fetch_all()
            .await
            .expect("v_target_findings");
        let pct = share(s, a).unwrap();
        assert_eq!(met, vec![u8::from(pct >= 90.0)], "{k:?} at {pct} %");
    }
}
