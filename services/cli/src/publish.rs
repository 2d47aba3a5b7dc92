//! Publishing JSON lines or simulated events, with progress and a summary of what was sent
//! and what was rejected and why.

use std::collections::{BTreeMap, VecDeque};
use std::io::BufRead;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use motcua_core::codec::decode_json;
use motcua_core::{DossierEvent, Rejection};
use motcua_producer::{EventProducer, SendError};
use rdkafka::producer::DeliveryFuture;

/// Deliveries in flight before the oldest is awaited: bounds memory, keeps the pipe full.
const IN_FLIGHT: usize = 20_000;
/// Rejected records listed one by one in the summary.
const LISTED: usize = 20;

/// One input item: an event, or a line that did not even parse.
pub type Item = Result<DossierEvent, (u64, Rejection)>;

/// Reads JSON lines; blank lines are skipped, unparsable ones reported with their line number.
pub fn json_lines(reader: impl BufRead) -> impl Iterator<Item = (u64, Item)> {
    reader.lines().enumerate().filter_map(|(i, line)| {
        let n = i as u64 + 1;
        match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some((n, decode_json(l.as_bytes()).map_err(|r| (n, r)))),
            Err(e) => Some((
                n,
                Err((
                    n,
                    Rejection::new(
                        motcua_core::RejectKind::Undecodable,
                        "",
                        format!("unreadable line: {e}"),
                    ),
                )),
            )),
        }
    })
}

/// What a publish run did.
#[derive(Debug, Default)]
pub struct PublishSummary {
    /// Events acknowledged by Kafka, by kind.
    pub sent_by_kind: BTreeMap<&'static str, u64>,
    /// Rejections by reason category.
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
    /// The first rejected records: (line, event id, reason).
    pub rejected: Vec<(u64, String, String)>,
    /// Events Kafka failed to acknowledge.
    pub failed: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl PublishSummary {
    /// Events sent.
    pub fn sent(&self) -> u64 {
        self.sent_by_kind.values().sum()
    }

    /// Records rejected.
    pub fn rejected_total(&self) -> u64 {
        self.rejected_by_reason.values().sum()
    }

    /// Prints the summary.
    pub fn print(&self) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "published {} events in {:.1} s ({:.0} events/s)",
            self.sent(),
            secs,
            self.sent() as f64 / secs
        );
        for (kind, n) in &self.sent_by_kind {
            println!("  {kind:<22} {n:>10}");
        }
        if self.failed > 0 {
            println!("NOT acknowledged by kafka: {}", self.failed);
        }
        if self.rejected_total() > 0 {
            println!("rejected {} records (not sent):", self.rejected_total());
            for (reason, n) in &self.rejected_by_reason {
                println!("  {reason:<22} {n:>10}");
            }
            for (line, id, why) in &self.rejected {
                println!("  line {line}: event `{id}`: {why}");
            }
            if self.rejected_total() as usize > self.rejected.len() {
                println!(
                    "  ... and {} more",
                    self.rejected_total() as usize - self.rejected.len()
                );
            }
        }
    }
}

async fn settle(delivery: DeliveryFuture, kind: &'static str, summary: &mut PublishSummary) {
    match delivery.await {
        Ok(Ok(_)) => *summary.sent_by_kind.entry(kind).or_default() += 1,
        Ok(Err((e, _))) => {
            tracing::error!(error = %e, "event not acknowledged");
            summary.failed += 1;
        }
        Err(_) => summary.failed += 1,
    }
}

/// Validates and publishes every item; invalid ones are counted and listed, never stop the
/// run, and never cause a valid neighbour to be dropped.
pub async fn publish(
    producer: &EventProducer,
    items: impl Iterator<Item = (u64, Item)>,
    total_hint: Option<u64>,
) -> anyhow::Result<PublishSummary> {
    let started = Instant::now();
    let mut summary = PublishSummary::default();
    let bar = match total_hint {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed} [{bar:30}] {pos}/{len} events ({per_sec}) {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut in_flight: VecDeque<(DeliveryFuture, &'static str)> = VecDeque::new();
    for (line, item) in items {
        bar.inc(1);
        let rejection = match item {
            Ok(event) => match producer.enqueue(&event).await {
                Ok(delivery) => {
                    in_flight.push_back((delivery, event.kind.as_str()));
                    if in_flight.len() >= IN_FLIGHT {
                        let (d, kind) = in_flight.pop_front().expect("non-empty");
                        settle(d, kind, &mut summary).await;
                    }
                    None
                }
                Err(SendError::Invalid {
                    event_id,
                    rejection,
                }) => Some((event_id, rejection)),
                Err(e) => return Err(e.into()),
            },
            Err((_, rejection)) => Some((String::new(), rejection)),
        };
        if let Some((id, rejection)) = rejection {
            *summary
                .rejected_by_reason
                .entry(rejection.kind.as_str())
                .or_default() += 1;
            if summary.rejected.len() < LISTED {
                summary.rejected.push((line, id, rejection.to_string()));
            }
            bar.set_message(format!("{} rejected", summary.rejected_total()));
        }
    }
    while let Some((d, kind)) = in_flight.pop_front() {
        settle(d, kind, &mut summary).await;
    }
    bar.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
