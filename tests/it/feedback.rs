//! Decision 766 indicators 1.4 (synced to the national portal) and 4.2 (digitised at receipt),
//! and PAKN items handled on time, read from ClickHouse against an independent count over the
//! events (tests/it/oracle.rs reads each dossier's syncs, its receipt's flag and its items),
//! checked wherever the on-time figures are (deadlines::assert_figures_match, so every fault
//! case too).

use std::collections::BTreeMap;

use clickhouse::Row;
use motcua_core::event::{Satisfaction, Timestamp};
use serde::Deserialize;

use crate::common::Env;
use crate::oracle;
use crate::scorecard::fetch;

fn share(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| (10_000.0 * n as f64 / d as f64).round() / 100.0)
}

#[derive(Debug, Row, Deserialize)]
struct ReceiptRow {
    period: String,
    subject: String,
    received: u64,
    n: u64,
    percent: f64,
}

/// 1.4 and 4.2 per agency and per province, by month of receipt.
pub(crate) async fn assert_sync_and_digitised_match(env: &Env, dossiers: &[oracle::Dossier]) {
    let mut seen = [0u64; 2];
    for (view, column, ind, of) in [
        ("v_766_sync", "synced", "1_4", 0),
        ("v_766_digitised", "digitised", "4_2", 1),
    ] {
        let flag = |d: &oracle::Dossier| if of == 0 { d.synced } else { d.digitised };
        for (scope, subject) in [("agency", "agency_code"), ("province", "province_code")] {
            let mut want: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
            for d in dossiers {
                let who = if scope == "agency" {
                    &d.agency
                } else {
                    &d.province
                };
                let e = want
                    .entry((d.received_day.format("%Y-%m").to_string(), who.clone()))
                    .or_default();
                e.0 += 1;
                e.1 += flag(d) as u64;
            }
            let sql = format!(
                "SELECT period, {subject} AS subject, received, {column} AS n, \
                 indicator_{ind}_percent AS percent FROM {view}_{scope} WHERE period_kind = 'MONTH'"
            );
            let rows: Vec<ReceiptRow> = fetch(env, &sql).await;
            assert_eq!(
                rows.len(),
                want.len(),
                "{view}_{scope}: one row per month and {scope}"
            );
            for r in &rows {
                let k = (r.period.clone(), r.subject.clone());
                let &(received, n) = want
                    .get(&k)
                    .unwrap_or_else(|| panic!("{view}_{scope}: unexpected row {r:?}"));
                assert_eq!((r.received, r.n), (received, n), "{view}_{scope} {k:?}");
                assert_eq!(Some(r.percent), share(n, received), "{view}_{scope} {k:?}");
                seen[of] += n;
            }
        }
    }
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "some dossiers synced and digitised"
    );
}

#[derive(Debug, Row, Deserialize)]
struct FeedbackRow {
    period: String,
    subject: String,
    answered: u64,
    answered_on_time: u64,
    answered_late: u64,
    overdue: u64,
    on_time_percent: Option<f64>,
    complaints: u64,
    rated: u64,
    satisfied: u64,
    satisfied_percent: Option<f64>,
}

/// answered, on time, overdue, complaints, rated, satisfied.
type FeedbackCounts = [u64; 6];

/// PAKN items per agency and per province by month: answered (by the month of the answer),
/// on time, overdue unanswered at `as_of` (by the month due), complaints, satisfaction.
/// Returns the items counted (answered or overdue).
pub(crate) async fn assert_feedback_matches(
    env: &Env,
    dossiers: &[oracle::Dossier],
    as_of: Timestamp,
) -> u64 {
    let mut total = 0;
    for (scope, subject) in [("agency", "agency_code"), ("province", "province_code")] {
        let mut want: BTreeMap<(String, String), FeedbackCounts> = BTreeMap::new();
        for d in dossiers {
            let who = if scope == "agency" {
                &d.agency
            } else {
                &d.province
            };
            for f in &d.feedback {
                let (day, answered) = match f.answered {
                    Some((at, _)) => (oracle::vn_date(at), true),
                    None if f.due_at < as_of => (oracle::vn_date(f.due_at), false),
                    None => continue,
                };
                let n = want
                    .entry((day.format("%Y-%m").to_string(), who.clone()))
                    .or_default();
                if let Some((at, satisfaction)) = f.answered {
                    n[0] += 1;
                    n[1] += (at <= f.due_at) as u64;
                    n[4] += satisfaction.is_some() as u64;
                    n[5] += matches!(
                        satisfaction,
                        Some(Satisfaction::VerySatisfied | Satisfaction::Satisfied)
                    ) as u64;
                }
                n[2] += (!answered) as u64;
                n[3] += f.complaint as u64;
            }
        }
        let sql = format!(
            "SELECT period, {subject} AS subject, answered, answered_on_time, answered_late, \
             overdue, on_time_percent, complaints, rated, satisfied, satisfied_percent \
             FROM v_feedback_{scope} WHERE period_kind = 'MONTH'"
        );
        let rows: Vec<FeedbackRow> = fetch(env, &sql).await;
        assert_eq!(
            rows.len(),
            want.len(),
            "v_feedback_{scope}: one row per month and {scope}"
        );
        for r in &rows {
            let k = (r.period.clone(), r.subject.clone());
            let n = want
                .get(&k)
                .unwrap_or_else(|| panic!("v_feedback_{scope}: unexpected row {r:?}"));
            assert_eq!(
                [
                    r.answered,
                    r.answered_on_time,
                    r.overdue,
                    r.complaints,
                    r.rated,
                    r.satisfied
                ],
                *n,
                "v_feedback_{scope} {k:?}"
            );
            assert_eq!(r.answered_late, n[0] - n[1], "{k:?}");
            assert_eq!(r.on_time_percent, share(n[1], n[0] + n[2]), "{k:?}");
            assert_eq!(r.satisfied_percent, share(n[5], n[4]), "{k:?}");
            if scope == "agency" {
                total += n[0] + n[2];
            }
        }
    }
    // Whether there are any is for the caller to say: a short stream may hold none.
    total
}
