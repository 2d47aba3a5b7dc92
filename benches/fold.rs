//! Per-event cost of the processor's pure core: decoding, the whole operator step
//! (decode + validate + pseudonymise + fold + row), and the fold alone.
//!
//! `cargo bench --bench fold`; the end-to-end figure with the broker and ClickHouse comes
//! from `motcua load` (README).

/// The allocator the `motcua` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::fold::DossierState;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::DossierEvent;
use motcua_processor::operator::{InputRecord, PartitionOperator, Shared};
use std::collections::HashMap;

/// A fresh operator for partition 0, with the processor's default retention.
fn operator(clock: &Clock) -> PartitionOperator {
    PartitionOperator::new(
        0,
        Shared::new(
            clock.clone(),
            Pseudonymizer::new(b"bench-key-0123456789").unwrap(),
            chrono::Duration::days(35),
            "bench".into(),
        ),
    )
}

fn events() -> Vec<DossierEvent> {
    let config = motcua_sim::SimConfig {
        seed: 3,
        days: 5,
        dossiers_per_day: 1_000,
        ..Default::default()
    };
    motcua_sim::Simulator::new(config)
        .expect("valid config")
        .take(20_000)
        .collect()
}

fn records(events: &[DossierEvent], codec: &Codec, encoding: Encoding) -> Vec<InputRecord> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| InputRecord {
            topic: "bench".into(),
            partition: 0,
            offset: i as i64,
            key: Some(e.dossier_code.as_bytes().to_vec()),
            payload: Some(codec.encode(e, encoding).expect("encodes")),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let events = events();
    let codec = Codec::new();
    let n = events.len() as u64;

    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(n));
    for encoding in [Encoding::Avro, Encoding::Json] {
        let encoded: Vec<Vec<u8>> = events
            .iter()
            .map(|e| codec.encode(e, encoding).unwrap())
            .collect();
        g.bench_function(format!("decode_{encoding:?}"), |b| {
            b.iter(|| {
                encoded
                    .iter()
                    .map(|p| codec.decode(p).unwrap().occurred_at.timestamp())
                    .sum::<i64>()
            })
        });
        g.bench_function(format!("encode_{encoding:?}"), |b| {
            b.iter(|| {
                events
                    .iter()
                    .map(|e| codec.encode(e, encoding).unwrap().len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();

    let clock = Clock::default();
    let mut g = c.benchmark_group("operator");
    g.throughput(Throughput::Elements(n));
    for encoding in [Encoding::Avro, Encoding::Json] {
        let input = records(&events, &codec, encoding);
        g.bench_function(format!("ingest_{encoding:?}"), |b| {
            b.iter_batched(
                || operator(&clock),
                |mut op| {
                    for r in &input {
                        op.ingest(r, 0);
                    }
                    // The batch's rows and checkpoint, as the shell writes them.
                    op.drain(None, 0).states.len()
                },
                BatchSize::LargeInput,
            )
        });
    }
    // The processor's rhythm: batches of 2 000 records, each drained with the watermark it
    // reached, so a dossier is drained once per batch it has events in, with its period rows
    // (the single drain above writes each dossier once and no period rows).
    let input = records(&events, &codec, Encoding::Avro);
    g.bench_function("batches_Avro", |b| {
        b.iter_batched(
            || operator(&clock),
            |mut op| {
                let mut rows = 0;
                for (batch, chunk) in input.chunks(2_000).zip(events.chunks(2_000)) {
                    for r in batch {
                        op.ingest(r, 0);
                    }
                    let watermark = chunk.iter().map(|e| e.occurred_at).max();
                    let changed = op.drain(watermark, 0);
                    rows += changed.states.len() + changed.periods.len() + changed.steps.len();
                }
                rows
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("fold");
    g.throughput(Throughput::Elements(n));
    g.bench_function("apply", |b| {
        b.iter_batched(
            HashMap::<&str, DossierState>::new,
            |mut states| {
                for e in &events {
                    states.entry(e.dossier_code.as_str()).or_default().apply(e);
                }
                states.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // Classification on the calendar (legal due, pauses, steps), per dossier.
    let mut states = HashMap::<&str, DossierState>::new();
    for e in &events {
        states.entry(e.dossier_code.as_str()).or_default().apply(e);
    }
    let as_of = events.iter().map(|e| e.occurred_at).max();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(states.len() as u64));
    g.bench_function("dossier", |b| {
        b.iter(|| {
            states
                .values()
                .filter(|s| s.classify(as_of, &clock).steps.len() > 1)
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
