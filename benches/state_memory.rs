//! Processor memory per dossier held in state: open, finished (still within retention),
//! finished and rated (a citizen's survey joined to it), finished with a complaint (PAKN)
//! received and answered and a sync to the national portal, a rating whose dossier never came
//! (it waits for its receipt), and evicted (only a hash of its code stays; the state is in
//! the ClickHouse checkpoint), so the join's cost per rated dossier and its bound (rated
//! dossiers, and ratings waiting for a receipt, leave memory after the retention window) are
//! both measured.
//!
//! `cargo bench --bench state_memory` (MOTCUA_BENCH_DOSSIERS, default 1 000 000). Reads the
//! process's resident set (VmRSS) before and after folding each population into a fresh
//! operator, so the figure includes the maps, the strings and the allocator's slack. A
//! measurement, printed; nothing is asserted.

/// The allocator the `motcua` binary runs with: its slack is part of the figure.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use chrono::Duration;
use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::event::EventKind;
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::{samples, DossierEvent};
use motcua_processor::operator::{InputRecord, PartitionOperator, Shared};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// What a dossier carries beyond its own steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joined {
    Nothing,
    /// A citizen's survey.
    Rating,
    /// A complaint (PAKN) received and answered, and a sync to the national portal.
    Complaint,
}

/// Events of dossier `i`: receipt and first handover (open, unless `received` is false: a
/// rating alone), plus result and return (finished), plus what is joined to it.
fn dossier(i: usize, received: bool, finished: bool, joined: Joined) -> Vec<DossierEvent> {
    let code = format!("H56.50.01-261008-{i:07}");
    let v4 = if joined == Joined::Complaint {
        samples::schema_v4().split_off(1)
    } else {
        Vec::new()
    };
    samples::all_kinds()
        .into_iter()
        .filter(|e| {
            (received && matches!(e.kind, EventKind::Received | EventKind::Handover))
                || (finished
                    && matches!(e.kind, EventKind::ResultReady | EventKind::ResultReturned))
                || (joined == Joined::Rating && e.kind == EventKind::Survey)
        })
        .chain(v4)
        .map(|mut e| {
            e.event_id = format!("{code}/{}", e.event_id);
            e.dossier_code = code.clone();
            e
        })
        .collect()
}

fn population(
    n: usize,
    (received, finished, joined, evict): (bool, bool, Joined, bool),
) -> (f64, usize, usize) {
    let codec = Codec::new();
    let shared = Shared::new(
        Clock::default(),
        Pseudonymizer::new(b"bench-key-0123456789").unwrap(),
        Duration::days(35),
        "bench".into(),
    );
    let mut op = PartitionOperator::new(0, shared);
    let before = rss_kib();
    let mut offset = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(50_000) {
        for &i in chunk {
            for e in dossier(i, received, finished, joined) {
                let r = InputRecord {
                    topic: "t".into(),
                    partition: 0,
                    offset,
                    key: Some(e.dossier_code.clone().into_bytes()),
                    payload: Some(codec.encode(&e, Encoding::Avro).unwrap()),
                };
                offset += 1;
                op.ingest(&r, 0);
            }
        }
        // Rows are written and dropped per batch, as in the processor.
        drop(op.drain(None, 0));
        if evict {
            op.evict(Some(samples::ts("2027-06-01T00:00:00+07:00")));
        }
    }
    let after = rss_kib();
    (
        (after.saturating_sub(before) as f64 * 1024.0) / n as f64,
        op.dossiers(),
        op.evicted(),
    )
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent: keep that run small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("MOTCUA_BENCH_DOSSIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2_000 } else { 1_000_000 });
    // (label, (received, finished, rated, evicted))
    use Joined::*;
    let populations = [
        ("open (receipt + handover)", (true, false, Nothing, false)),
        ("finished, within retention", (true, true, Nothing, false)),
        (
            "finished and rated, within retention",
            (true, true, Rating, false),
        ),
        ("finished, evicted", (true, true, Nothing, true)),
        ("finished and rated, evicted", (true, true, Rating, true)),
        (
            "rating without its dossier, within retention",
            (false, false, Rating, false),
        ),
        (
            "rating without its dossier, past retention (evicted)",
            (false, false, Rating, true),
        ),
        (
            "finished, with a complaint answered and a portal sync, within retention",
            (true, true, Complaint, false),
        ),
    ];
    // Each population in its own process: memory freed by one would hide the next's.
    if let Ok(which) = std::env::var("MOTCUA_BENCH_POPULATION") {
        let (label, kind) = populations[which.parse::<usize>().unwrap()];
        let started = Instant::now();
        let (per, resident, evicted) = population(n, kind);
        println!(
            "state_memory: {n} dossiers {label}: {per:.0} bytes each ({resident} in memory, {evicted} evicted) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        return;
    }
    for i in 0..populations.len() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args().skip(1))
            .env("MOTCUA_BENCH_POPULATION", i.to_string())
            .env("MOTCUA_BENCH_DOSSIERS", n.to_string())
            .status()
            .expect("the bench runs itself");
        assert!(status.success());
    }
}
