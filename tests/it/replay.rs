//! Replays and resent events change no figure.

use motcua_core::codec::Encoding;

use crate::common::{simulated, Env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_and_resent_events_change_no_figure() {
    let env = Env::new("replay").await;
    let events = simulated(11, 4, 150);
    env.publish(&events, Encoding::Json).await;
    env.process("first").await;
    let before = env.agency_daily().await;
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
}
