//! The aggregate cells an operator maintains do not depend on how its input was cut into
//! batches, on the watermarks it was drained at, on evictions and reloads, or on a restore
//! from its checkpoint halfway: the cells written last equal those of one operator that read
//! everything in one batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::event::Timestamp;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::DossierEvent;
use motcua_processor::aggregate::Aggregates;
use motcua_processor::operator::{InputRecord, PartitionOperator, Shared};
use motcua_runtime::store::{AggregateRow, CheckpointRow};

fn shared(retention_days: i64) -> Arc<Shared> {
    Shared::new(
        Clock::default(),
        Pseudonymizer::new(b"test-key-0123456789").unwrap(),
        chrono::Duration::days(retention_days),
        "g".into(),
    )
}

/// Forty-five days from 2025-12-01: a month, a quarter and a year close, with late and
/// duplicated events.
fn events() -> Vec<DossierEvent> {
    let config = motcua_sim::SimConfig {
        seed: 11,
        start: NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
        days: 45,
        dossiers_per_day: 40,
        out_of_order_rate: 0.05,
        duplicate_rate: 0.02,
        ..Default::default()
    };
    motcua_sim::Simulator::new(config).expect("valid").collect()
}

fn records(events: &[DossierEvent]) -> Vec<InputRecord> {
    let codec = Codec::new();
    events
        .iter()
        .enumerate()
        .map(|(i, e)| InputRecord {
            topic: "t".into(),
            partition: 0,
            offset: i as i64,
            key: Some(e.dossier_code.as_bytes().to_vec()),
            payload: Some(
                codec
                    .encode(
                        e,
                        if i % 2 == 0 {
                            Encoding::Avro
                        } else {
                            Encoding::Json
                        },
                    )
                    .unwrap(),
            ),
        })
        .collect()
}

/// What the tables would hold: the latest version of every cell and checkpoint row.
#[derive(Default)]
struct Tables {
    cells: HashMap<String, AggregateRow>,
    checkpoints: HashMap<String, CheckpointRow>,
}

impl Tables {
    fn write(&mut self, cells: Vec<AggregateRow>, checkpoints: Vec<CheckpointRow>) {
        for c in cells {
            let k = Aggregates::checkpoint_code(&c);
            match self.cells.get(&k) {
                Some(old) if old.version > c.version => {}
                _ => {
                    self.cells.insert(k, c);
                }
            }
        }
        for c in checkpoints {
            match self.checkpoints.get(&c.dossier_code) {
                Some(old) if old.version > c.version => {}
                _ => {
                    self.checkpoints.insert(c.dossier_code.clone(), c);
                }
            }
        }
    }

    /// The cells the views read at watermark `as_of`, with their counts only.
    fn visible(&self, as_of: Timestamp) -> BTreeMap<String, [u64; 22]> {
        let day = days(as_of.date_naive());
        self.cells
            .iter()
            .filter(|(_, c)| match c.grain.as_str() {
                "CLOSED" => c.period_end <= day,
                "RUNNING" => c.period_start <= day && c.period_end > day,
                _ => true,
            })
            .map(|(k, c)| {
                (
                    k.clone(),
                    [
                        c.n_counted,
                        c.n_early,
                        c.n_on_time,
                        c.n_late,
                        c.n_open_within,
                        c.n_open_overdue,
                        c.n_resolved,
                        c.n_resolution_e4,
                        c.n_taken_seconds,
                        c.n_mismatches,
                        c.n_very_satisfied,
                        c.n_satisfied,
                        c.n_neutral,
                        c.n_dissatisfied,
                        c.n_very_dissatisfied,
                        c.n_complaints,
                        c.n_rated_late,
                        c.n_satisfied_late,
                        c.n_766_unsatisfied,
                        c.n_results,
                        c.n_electronic,
                        c.n_online,
                    ],
                )
            })
            .filter(|(_, n)| n[0] > 0)
            .collect()
    }
}

fn days(d: NaiveDate) -> u16 {
    (d - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days() as u16
}

fn event_time(r: &InputRecord, events: &[DossierEvent]) -> Timestamp {
    events[r.offset as usize].occurred_at
}

/// Feeds `records` in batches of varying size, draining at a watermark a day behind the
/// latest event time, evicting and reloading like the shell does; with `restore_at`, a new
/// operator takes over from the checkpoint after that many records.
fn run(
    events: &[DossierEvent],
    records: &[InputRecord],
    restore_at: Option<usize>,
) -> (Tables, Timestamp) {
    let shared = shared(10);
    let mut op = PartitionOperator::new(0, shared.clone());
    let mut tables = Tables::default();
    let mut latest: Option<Timestamp> = None;
    let mut as_of = None;
    let mut i = 0;
    let mut n = 0;
    let mut restored = false;
    while i < records.len() {
        if restore_at.is_some_and(|at| i >= at) && !restored {
            restored = true;
            let w: Timestamp = as_of.expect("drained before");
            let cutoff = (w - chrono::Duration::days(10)).timestamp() as u32;
            let (resident, evicted): (Vec<CheckpointRow>, Vec<CheckpointRow>) = tables
                .checkpoints
                .values()
                .cloned()
                .partition(|r| r.ended_at.is_none_or(|t| t >= cutoff));
            let evicted: Vec<String> = evicted.into_iter().map(|r| r.dossier_code).collect();
            op = PartitionOperator::new(0, shared.clone());
            op.restore(resident, &evicted, Vec::new()).unwrap();
        }
        n += 1;
        let size = 1 + (n * 37) % 211;
        let batch = &records[i..(i + size).min(records.len())];
        i += batch.len();
        let missing = op.missing(batch);
        if !missing.is_empty() {
            let rows: Vec<CheckpointRow> = missing
                .iter()
                .filter_map(|c| tables.checkpoints.get(c).cloned())
                .collect();
            op.reinstate(rows).unwrap();
        }
        for r in batch {
            op.ingest(r, 0);
            let t = event_time(r, events);
            latest = Some(latest.map_or(t, |l: Timestamp| l.max(t)));
        }
        let w = latest.unwrap() - chrono::Duration::days(1);
        as_of = Some(as_of.map_or(w, |a: Timestamp| a.max(w)));
        let changed = op.drain(as_of, 0);
        tables.write(changed.aggregates, changed.checkpoints);
        op.evict(as_of);
    }
    (tables, as_of.unwrap())
}

#[test]
fn cells_do_not_depend_on_batches_watermarks_evictions_or_restores() {
    let events = events();
    let records = records(&events);
    let (batched, as_of) = run(&events, &records, None);
    let (restored, as_of_restored) = run(&events, &records, Some(records.len() / 2));
    assert_eq!(as_of, as_of_restored);

    // One operator, one batch, one drain at the same watermark.
    let mut op = PartitionOperator::new(0, shared(10_000));
    for r in &records {
        op.ingest(r, 0);
    }
    let changed = op.drain(Some(as_of), 0);
    let mut once = Tables::default();
    once.write(changed.aggregates, changed.checkpoints);

    let want = once.visible(as_of);
    let grains: std::collections::BTreeSet<&str> = once
        .cells
        .values()
        .filter(|c| c.n_counted > 0)
        .map(|c| c.grain.as_str())
        .collect();
    assert_eq!(
        grains.into_iter().collect::<Vec<_>>(),
        ["CLOSED", "DAY", "OPEN", "RECEIPT", "RUNNING", "STEPS"],
        "every grain is exercised"
    );
    let total_open: u64 = want
        .iter()
        .filter(|(k, _)| k.contains("OPEN"))
        .map(|(_, n)| n[0])
        .sum();
    assert!(total_open > 0, "some dossiers are still open");
    let rated: u64 = want.values().map(|n| n[10..15].iter().sum::<u64>()).sum();
    assert!(rated > 0, "some ended dossiers are rated");
    for (name, got) in [
        ("batched", batched.visible(as_of)),
        ("restored", restored.visible(as_of)),
    ] {
        let missing: Vec<_> = want
            .keys()
            .filter(|k| !got.contains_key(*k))
            .take(3)
            .collect();
        let extra: Vec<_> = got
            .keys()
            .filter(|k| !want.contains_key(*k))
            .take(3)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: missing {missing:?}, extra {extra:?}"
        );
        for (k, n) in &want {
            assert_eq!(&got[k], n, "{name}: cell {k:?}");
        }
    }
}

/// The self-check the fault tests turn on (`MOTCUA_VERIFY_CELLS`) catches what a checkpoint
/// landed in part does: dossier states of one batch restored with the cells of the batch
/// before. A whole checkpoint restores cells that agree with the dossiers, after every
/// drain as well.
#[test]
fn the_cells_check_catches_a_checkpoint_landed_in_part() {
    let events = events();
    let records = records(&events);
    let (first, second) = records.split_at(records.len() / 2);
    let as_of = |batch: &[InputRecord]| {
        batch.iter().map(|r| event_time(r, &events)).max().unwrap() - chrono::Duration::days(1)
    };
    let mut op = PartitionOperator::new(0, shared(10_000));
    let mut whole = Tables::default();
    for r in first {
        op.ingest(r, 0);
    }
    let one = op.drain(Some(as_of(first)), 0);
    assert!(op.verify_cells().is_empty(), "cells agree after a drain");
    whole.write(one.aggregates, one.checkpoints);
    let before = whole.checkpoints.clone();
    for r in second {
        op.ingest(r, 0);
    }
    let two = op.drain(Some(as_of(second)), 0);
    assert!(op.verify_cells().is_empty(), "cells agree after a drain");
    let batch_two = two.checkpoints.clone();
    whole.write(two.aggregates, two.checkpoints);

    let restore = |rows: Vec<CheckpointRow>| {
        let mut op = PartitionOperator::new(0, shared(10_000));
        op.restore(rows, &[], Vec::new()).unwrap();
        op.verify_cells()
    };
    assert_eq!(
        restore(whole.checkpoints.values().cloned().collect()),
        Vec::<String>::new(),
        "a whole checkpoint restores cells that agree with its dossiers"
    );
    // Batch two's dossier rows landed, its cell and metadata rows did not.
    let mut partial = before;
    for row in batch_two
        .into_iter()
        .filter(|r| !r.dossier_code.starts_with('\u{1}'))
    {
        partial.insert(row.dossier_code.clone(), row);
    }
    let wrong = restore(partial.into_values().collect());
    assert!(
        !wrong.is_empty(),
        "dossiers of batch two with the cells of batch one must disagree"
    );
}

/// A new owner's watermark can start below the one its checkpoint was drained at (the
/// previous owner's last progress row may not have landed): its first drain recomputes the
/// open dossiers' period rows against the lower watermark, and the checkpoint it writes must
/// still restore cells that agree with its dossiers.
#[test]
fn a_restore_at_a_lower_watermark_checkpoints_what_the_cells_hold() {
    let events = events();
    let records = records(&events);
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&motcua_core::fold::vietnam())
    };
    let mut op = PartitionOperator::new(0, shared(10_000));
    let mut tables = Tables::default();
    for r in &records {
        op.ingest(r, 0);
    }
    let first = op.drain(Some(at("2026-01-02T12:00:00+07:00")), 0);
    tables.write(first.aggregates, first.checkpoints);
    let restore = |tables: &Tables| {
        let mut op = PartitionOperator::new(0, shared(10_000));
        op.restore(
            tables.checkpoints.values().cloned().collect(),
            &[],
            Vec::new(),
        )
        .unwrap();
        op
    };
    let mut op = restore(&tables);
    assert_eq!(op.verify_cells(), Vec::<String>::new(), "restored");
    // The new owner's watermark: two days lower, the month before.
    let second = op.drain(Some(at("2025-12-31T12:00:00+07:00")), 0);
    assert_eq!(op.verify_cells(), Vec::<String>::new(), "drained lower");
    tables.write(second.aggregates, second.checkpoints);
    let op = restore(&tables);
    assert_eq!(
        op.verify_cells(),
        Vec::<String>::new(),
        "restored from the checkpoint the lower drain wrote"
    );
}
