//! The figures the processor maintains: a late event corrects the cells it concerns with a
//! new version, never by adding to them, also in a period that has closed.

use motcua_core::codec::Encoding;
use motcua_core::event::EventKind;

use crate::common::{simulated_from, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_results_correct_a_closed_month_without_counting_a_dossier_twice() {
    let env = Env::new("late").await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 8, 10).unwrap();
    let events = simulated_from(5, start, 40, 60);
    // Hold back some August results: those dossiers look open at August's end until the
    // results arrive, after the month has closed.
    let late = |e: &motcua_core::DossierEvent| {
        matches!(e.kind, EventKind::ResultReady | EventKind::ResultReturned)
            && e.occurred_at.date_naive() < chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
            && motcua_core::fold::stable_hash(e.dossier_code.as_bytes()).is_multiple_of(5)
    };
    let (held, first): (Vec<_>, Vec<_>) = events.iter().cloned().partition(late);
    assert!(held.len() > 20, "some results held back: {}", held.len());
    env.publish(&first, Encoding::Avro).await;
    env.process("main").await;
    env.assert_aggregates_match_scans().await;

    let august = "SELECT toUInt64(sum(counted)) FROM v_766_province \
                  WHERE period_kind = 'MONTH' AND period = '2026-08'";
    let august_open = "SELECT toUInt64(sum(open_within + open_overdue)) FROM v_766_province \
                       WHERE period_kind = 'MONTH' AND period = '2026-08'";
    let counted_before = env.count(august).await;
    let open_before = env.count(august_open).await;
    let version_before = env
        .count("SELECT toUInt64(max(version)) FROM aggregates WHERE grain = 'CLOSED'")
        .await;
    assert!(counted_before > 0 && open_before > 0);

    env.publish(&held, Encoding::Json).await;
    env.process("main").await;
    // Every figure as one run over all the events gives, and still equal to the scans.
    crate::deadlines::assert_figures_match(&env, &events).await;

    assert_eq!(
        env.count(august).await,
        counted_before,
        "the dossiers were in August's report as open and are now in it as ended: counted once"
    );
    assert!(
        env.count(august_open).await < open_before,
        "fewer of them open at August's end"
    );
    assert!(
        env.count("SELECT toUInt64(max(version)) FROM aggregates WHERE grain = 'CLOSED'")
            .await
            > version_before,
        "the corrected cells were written with a new version"
    );
}
