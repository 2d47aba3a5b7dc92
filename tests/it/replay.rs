//! Replays and resent events change no figure.

use motcua_core::codec::Encoding;

use crate::common::{simulated_from, Env};

/// A digest of every deadline figure: Decision 766 reports (closed and running), 2.2, step
/// rates, overdue counts, findings.
pub(crate) async fn deadline_figures(env: &Env) -> Vec<u64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT sum(cityHash64(period_kind, period, agency_code, counted, early, on_time, late, open_within, open_overdue, indicator_2_1_percent)) FROM v_766_agency",
        "SELECT sum(cityHash64(period_kind, period, procedure_code, resolved, ifNull(indicator_2_2_average, -1))) FROM v_766_resolution_province",
        "SELECT sum(cityHash64(dossier_code, period_kind, period, verdict)) FROM v_766_periods",
        "SELECT count() FROM v_766_periods",
        "SELECT sum(cityHash64(month, from_unit, steps, early, on_time, late, avg_taken_hours)) FROM v_steps_unit_monthly",
        "SELECT sum(cityHash64(agency_code, open_dossiers, overdue_dossiers)) FROM v_overdue_agency",
        "SELECT count() FROM v_appointment_findings",
    ] {
        out.push(env.count(sql).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_and_resent_events_change_no_figure() {
    let env = Env::new("replay").await;
    // Across a month end, so closed-period reports exist.
    let start = chrono::NaiveDate::from_ymd_opt(2026, 9, 28).unwrap();
    let events = simulated_from(11, start, 6, 150);
    env.publish(&events, Encoding::Json).await;
    env.process("first").await;
    let before = env.agency_daily().await;
    let deadlines = deadline_figures(&env).await;
    assert!(deadlines[3] > 0, "September's report holds dossiers");
    let events_before = env.count("SELECT count() FROM dossier_events FINAL").await;
    assert!(!before.is_empty());

    // A restarted processor replays every partition from the start (as after a crash
    // before its offsets were stored): the idempotent sinks absorb it.
    let (again, _) = env.process("second").await;
    assert_eq!(again.consumed, events.len() as u64);
    assert_eq!(
        env.agency_daily().await,
        before,
        "a replay changed a figure"
    );
    assert_eq!(
        deadline_figures(&env).await,
        deadlines,
        "a replay changed a deadline figure"
    );
    assert_eq!(
        env.count("SELECT count() FROM dossier_events FINAL").await,
        events_before
    );

    // An agency system resends a whole day of events (same ids): duplicates, no change.
    let resent: Vec<_> = events.iter().take(events.len() / 3).cloned().collect();
    env.publish(&resent, Encoding::Avro).await;
    let (third, _) = env.process("third").await;
    assert!(third.duplicates >= resent.len() as u64);
    assert_eq!(
        env.agency_daily().await,
        before,
        "resent events changed a figure"
    );
    assert_eq!(
        deadline_figures(&env).await,
        deadlines,
        "resent events changed a deadline figure"
    );
}
