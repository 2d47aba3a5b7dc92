//! Per-event cost of the pure pipeline on one core: decode, validate, fold and classify,
//! for Avro (the schema-specific reader and apache-avro's generic path) and for JSON,
//! over a simulated province's event stream; then each stage alone, to show where the
//! time goes.
//!
//! `cargo bench --bench pipeline`; criterion reports events/s (Throughput::Elements).
//! The processor's own extra steps (pseudonyms, rows, checkpoints) are in `benches/fold.rs`.
//!
//! Times are the bench thread's CPU time (`/proc/thread-self/schedstat`), not wall time:
//! on a shared machine, wall time counts the time other processes hold the core, and the
//! figure wanted is events per second of one core. `MOTCUA_BENCH_WALL=1` measures wall time
//! instead. The scheduler updates the CPU time every few milliseconds, so each sample
//! runs the whole stream (20 000 events, tens of milliseconds at least).
//!
//! Measured at issue 8 on the shared 2-core build machine (±30 % from run to run with other
//! builds running), events/s of CPU time:
//!
//! | stage                              | Avro (reader) | Avro (apache-avro) | JSON  |
//! |------------------------------------|---------------|--------------------|-------|
//! | decode                             | 0.9-1.2 M     | 36-44 k            | 230-310 k |
//! | decode + validate + fold + classify| 141-154 k     | 24-33 k            | 82-91 k   |
//!
//! and per stage: validate 1.9-2.9 M, fold 250-280 k (its content hash, FNV-1a over the
//! event's JSON, is 90 % of it: the JSON 480-520 k, the hash 750 k), classify 430-540 k.

use std::collections::HashMap;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::fold::{content_hash, stable_hash, DossierState};
use motcua_core::{validate, DossierEvent, Rejection};

/// The allocator the `motcua` binary runs with (docs/ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// One event through the pipeline: decoded, validated, folded into its dossier, and the
/// dossier classified, as the processor does for a dossier an event changed.
fn step(
    states: &mut HashMap<String, DossierState>,
    event: DossierEvent,
    clock: &Clock,
) -> Result<usize, Rejection> {
    validate(&event)?;
    let state = match states.get_mut(&event.dossier_code) {
        Some(s) => s,
        None => states.entry(event.dossier_code.clone()).or_default(),
    };
    state.apply(&event);
    Ok(state.classify(None, clock).steps.len())
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let events = events();
    let codec = Codec::new();
    let clock = Clock::default();
    let n = events.len() as u64;
    let avro: Vec<Vec<u8>> = events
        .iter()
        .map(|e| codec.encode(e, Encoding::Avro).unwrap())
        .collect();
    let json: Vec<Vec<u8>> = events
        .iter()
        .map(|e| codec.encode(e, Encoding::Json).unwrap())
        .collect();
    type Decode = fn(&Codec, &[u8]) -> Result<DossierEvent, Rejection>;
    let paths: [(&str, &Vec<Vec<u8>>, Decode); 3] = [
        ("avro", &avro, Codec::decode),
        ("avro_generic", &avro, Codec::decode_generic),
        ("json", &json, Codec::decode),
    ];

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(n));
    for (name, payloads, decode) in paths {
        g.bench_function(name, |b| {
            b.iter_batched(
                HashMap::<String, DossierState>::new,
                |mut states| {
                    let mut steps = 0;
                    for p in payloads {
                        let event = decode(&codec, p).expect("decodes");
                        steps += step(&mut states, event, &clock).expect("valid");
                    }
                    (steps, states)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(n));
    for (name, payloads, decode) in paths {
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| {
                payloads
                    .iter()
                    .map(|p| decode(&codec, p).expect("decodes").occurred_at.timestamp())
                    .sum::<i64>()
            })
        });
    }
    g.bench_function("validate", |b| {
        b.iter(|| events.iter().filter(|e| validate(e).is_ok()).count())
    });
    // The fold's content hash is FNV-1a over the event's JSON: the two halves apart.
    g.bench_function("content_hash", |b| {
        b.iter(|| events.iter().map(content_hash).fold(0, u64::wrapping_add))
    });
    g.bench_function("content_hash_json", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| serde_json::to_vec(e).unwrap().len())
                .sum::<usize>()
        })
    });
    g.bench_function("content_hash_fnv", |b| {
        b.iter(|| {
            json.iter()
                .map(|p| stable_hash(p))
                .fold(0, u64::wrapping_add)
        })
    });
    g.bench_function("fold", |b| {
        b.iter_batched(
            HashMap::<&str, DossierState>::new,
            |mut states| {
                for e in &events {
                    states.entry(e.dossier_code.as_str()).or_default().apply(e);
                }
                states
            },
            BatchSize::LargeInput,
        )
    });
    // Each event's dossier classified as it stands after the whole stream: an upper bound
    // on the per-event classification (the states are at their largest).
    let mut folded = HashMap::<&str, DossierState>::new();
    for e in &events {
        folded.entry(e.dossier_code.as_str()).or_default().apply(e);
    }
    g.bench_function("classify", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| {
                    folded[e.dossier_code.as_str()]
                        .classify(None, &clock)
                        .steps
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("drop_event", |b| {
        b.iter_batched(|| events.clone(), drop, BatchSize::LargeInput)
    });
    g.finish();
}

/// The calling thread's CPU time, in nanoseconds.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat is readable (or set MOTCUA_BENCH_WALL=1)");
    text.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("schedstat starts with the CPU time in nanoseconds")
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Nanoseconds of CPU time shown as criterion shows wall time.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match typical_ns {
            t if t < 1e3 => (1.0, "ns cpu"),
            t if t < 1e6 => (1e-3, "µs cpu"),
            t if t < 1e9 => (1e-6, "ms cpu"),
            _ => (1e-9, "s cpu"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (n, what) = match *throughput {
            Throughput::Elements(n) => (n as f64, "elem"),
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, "B"),
        };
        let per_second = n * 1e9 / typical_ns;
        let (factor, unit) = match (per_second, what) {
            (r, "elem") if r < 1e3 => (1.0, "elem/s cpu"),
            (r, "elem") if r < 1e6 => (1e-3, "Kelem/s cpu"),
            (_, "elem") => (1e-6, "Melem/s cpu"),
            (r, _) if r < 1e6 => (1e-3, "KB/s cpu"),
            _ => (1e-6, "MB/s cpu"),
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v * factor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn benches() {
    if std::env::var_os("MOTCUA_BENCH_WALL").is_some() {
        bench(&mut Criterion::<WallTime>::default().configure_from_args());
    } else {
        bench(
            &mut Criterion::default()
                .with_measurement(ThreadCpu)
                .configure_from_args(),
        );
    }
}

criterion_main!(benches);
