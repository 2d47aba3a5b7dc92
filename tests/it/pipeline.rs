//! Simulate, publish (Avro), process, and compare every on-time figure in ClickHouse with
//! the independent expectation.

use motcua_core::codec::Encoding;

use crate::common::{simulated, Env};
use crate::oracle;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_time_figures_in_clickhouse_match_an_independent_computation() {
    let env = Env::new("pipeline").await;
    let events = simulated(7, 6, 250);
    assert!(events.len() > 5_000, "a realistic volume: {}", events.len());
    env.publish(&events, Encoding::Avro).await;

    let (summary, _) = env.process("main").await;
    assert_eq!(
        summary.consumed,
        events.len() as u64,
        "every record read once"
    );
    assert_eq!(
        summary.rejected, 0,
        "the simulator only produces valid events"
    );
    let distinct: std::collections::HashSet<&str> =
        events.iter().map(|e| e.event_id.as_str()).collect();
    assert!(summary.duplicates > 0, "the simulator resends some events");
    assert_eq!(summary.accepted - summary.duplicates, distinct.len() as u64);

    let expected = oracle::expected(&events);
    let actual = env.agency_daily().await;
    assert!(!expected.is_empty());
    let mut compared = 0;
    for row in &actual {
        let day: chrono::NaiveDate = row.day.parse().unwrap();
        let want = expected
            .get(&(row.agency_code.clone(), day))
            .unwrap_or_else(|| panic!("unexpected row {row:?}"));
        assert_eq!(
            (row.early, row.on_time, row.late, row.counted),
            (want.early, want.on_time, want.late, want.counted()),
            "{} on {}",
            row.agency_code,
            row.day
        );
        assert_eq!(
            row.on_time_rate_percent,
            oracle::rate(want),
            "{} on {}",
            row.agency_code,
            row.day
        );
        compared += 1;
    }
    assert_eq!(
        compared,
        expected.len(),
        "every expected (agency, day) has a row"
    );
    let late: u64 = expected.values().map(|c| c.late).sum();
    let early: u64 = expected.values().map(|c| c.early).sum();
    assert!(
        late > 0 && early > 0,
        "the data has both late and early dossiers"
    );

    // The raw log holds every record with its coordinates; the state one row per dossier.
    env.assert_all_stored(&events).await;

    // The province roll-up is the sum of its units.
    let province_total = env
        .count("SELECT sum(counted) FROM v_ontime_province_daily")
        .await;
    assert_eq!(
        province_total,
        expected.values().map(|c| c.counted()).sum::<u64>()
    );

    // No clear personal data reached ClickHouse.
    let some_name = events
        .iter()
        .find_map(|e| e.received.as_ref())
        .unwrap()
        .applicant
        .name
        .clone();
    let leaks = env
        .count(&format!(
            "SELECT count() FROM dossier_events WHERE position(payload, '{some_name}') > 0"
        ))
        .await;
    assert_eq!(leaks, 0, "applicant names are pseudonymised");
}
