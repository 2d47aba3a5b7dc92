//! Prints simulated events as JSON lines on stdout and the run's counters on stderr.
//!
//! `cargo run --release -p motcua-sim --example dump -- [days] [dossiers_per_day] [seed]`

use std::io::{BufWriter, Write};
use std::time::Instant;

use motcua_sim::{SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let defaults = SimConfig::default();
    let config = SimConfig {
        days: args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(defaults.days),
        dossiers_per_day: args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(defaults.dossiers_per_day),
        seed: args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(defaults.seed),
        ..defaults
    };
    let mut sim = Simulator::new(config)?;
    let started = Instant::now();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for event in sim.by_ref() {
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    eprintln!("{stats:#?}");
    eprintln!(
        "{} events in {elapsed:.2}s ({:.0} events/s)",
        stats.events,
        stats.events as f64 / elapsed
    );
    Ok(())
}
