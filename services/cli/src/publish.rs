//! Publishing JSON lines or simulated events, with progress and a summary of what was sent,
//! what was rejected and why, and exactly which lines were not published.
//!
//! Every event in flight keeps its line number and its original text until Kafka answers,
//! so a line that is not acknowledged (the broker stayed down longer than the bound), or not
//! read (Ctrl-C, or the run gave up on the broker), is written back verbatim to the unacked
//! file: publishing that file resumes the run exactly. Rerunning more than that is safe too:
//! the processor ignores a repeated event id and the raw table keeps one row per event.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::progress::Progress;
use anyhow::Context;
use motcua_core::codec::{decode_json, Encoding};
use motcua_core::topics::TopicNames;
use motcua_core::{DossierEvent, Rejection};
use motcua_producer::{EventProducer, KafkaSettings, SendError};
use motcua_runtime::shutdown;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::DeliveryFuture;
use tokio_util::sync::CancellationToken;

/// Deliveries in flight before the oldest is awaited: bounds memory, keeps the pipe full.
const IN_FLIGHT: usize = 20_000;
/// Rejected records listed one by one in the summary.
const LISTED: usize = 20;
/// Line ranges printed in the summary; the unacked file holds every line.
const RANGES_LISTED: usize = 20;

/// Printed by `motcua publish --help` after the flags.
pub const RESUME_HELP: &str = "\
Resuming:
  A line is published once Kafka acknowledges it. An event waits up to --max-outage-secs
  for that (a broker outage shorter than this is waited out); once one has waited longer,
  the rest of the input is not sent. On Ctrl-C (SIGINT) or SIGTERM the publisher stops
  reading, waits for the events in flight (up to the same bound) and stops.

  Every valid line not acknowledged, and every line not read, is written verbatim to
  --unacked-out (default <INPUT>.unacked.jsonl), and the summary names them as line
  ranges; the exit code is then non-zero. `motcua publish <INPUT>.unacked.jsonl` resumes
  exactly. The file is written only when something was not published (through
  <PATH>.partial, renamed at the end), and one left by an earlier run is removed when
  everything was published. From stdin, without --unacked-out, the lines are only listed.

  A publisher killed outright (SIGKILL, power loss) cannot know what was acknowledged and
  leaves at most an incomplete <PATH>.partial: publish the whole input again. That is safe
  for the figures: the processor ignores a repeated event id and the raw table keeps one
  row per distinct event.";

/// `motcua publish` flags.
#[derive(clap::Args)]
pub struct PublishArgs {
    /// Input file; `-` for stdin.
    #[arg(default_value = "-")]
    pub input: PathBuf,
    /// Encoding on the wire: `avro` or `json`.
    #[arg(long, default_value = "avro")]
    pub format: Encoding,
    /// Longest an event may wait for Kafka's acknowledgement, in seconds (librdkafka
    /// `message.timeout.ms`): the broker outage a run waits out.
    #[arg(
        long,
        env = "MOTCUA_PUBLISH_MAX_OUTAGE_SECS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..=2_147_483)
    )]
    pub max_outage_secs: u64,
    /// Where to write the lines not published, verbatim, so that publishing it resumes
    /// [default: <INPUT>.unacked.jsonl; from stdin: not written, only listed].
    #[arg(long, value_name = "PATH")]
    pub unacked_out: Option<PathBuf>,
}

/// One input item: an event, or a line that did not even parse.
pub type Item = Result<DossierEvent, (u64, Rejection)>;

/// One record to publish, with where it came from.
// Inputs pass one at a time from the source to the send loop, never stored in bulk, so an
// event inline costs nothing that a box would save.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Input {
    /// A line of text, decoded by [`publish_inputs`]: lines left unread after a stop are
    /// copied to the unacked output without being decoded.
    Line {
        /// 1-based line number in the input.
        number: u64,
        /// The line as read, written back verbatim if it is not published.
        text: String,
    },
    /// An event made by the caller (the simulator in `demo`), written back as JSON if it is
    /// not published; a rejection has no text to write back.
    Item {
        /// Its position in the caller's sequence, 1-based.
        number: u64,
        /// The event, or why there is none.
        item: Item,
    },
}

/// Reads JSON lines; blank lines are skipped, unreadable ones reported with their line number.
pub fn json_lines(reader: impl BufRead) -> impl Iterator<Item = Input> {
    reader.lines().enumerate().filter_map(|(i, line)| {
        let number = i as u64 + 1;
        match line {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(Input::Line { number, text }),
            Err(e) => Some(Input::Item {
                number,
                item: Err((
                    number,
                    Rejection::new(
                        motcua_core::RejectKind::Undecodable,
                        "",
                        format!("unreadable line: {e}"),
                    ),
                )),
            }),
        }
    })
}

/// Why a run stopped reading its input before the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM.
    Interrupted,
    /// An event waited longer than the outage bound: the broker is taken to be down, so the
    /// rest would only time out too.
    OutageTooLong,
}

/// The lines a run did not publish, and why: the bookkeeping behind the unacked file.
#[derive(Debug, Default)]
pub struct Unpublished {
    /// Lines of valid events Kafka did not acknowledge.
    pub unacked: Vec<u64>,
    /// Lines not read because the run stopped early.
    pub unread: Vec<u64>,
    /// Why events were not acknowledged: error text to number of events.
    pub errors: BTreeMap<String, u64>,
    /// Why the run stopped reading, if it did.
    pub stopped: Option<Stop>,
    /// Lines written to the unacked output.
    pub written: u64,
    /// The first error writing the unacked output; nothing is written after it.
    pub write_error: Option<String>,
}

impl Unpublished {
    /// Lines not published, acknowledged or read.
    pub fn total(&self) -> u64 {
        (self.unacked.len() + self.unread.len()) as u64
    }
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
    /// Lines not published.
    pub unpublished: Unpublished,
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
        let u = &self.unpublished;
        if !u.unacked.is_empty() {
            println!(
                "NOT acknowledged by kafka: {} events, {}",
                u.unacked.len(),
                lines_phrase(&u.unacked)
            );
            for (error, n) in &u.errors {
                println!("  {n:>10}  {error}");
            }
        }
        match u.stopped {
            Some(Stop::Interrupted) => println!("interrupted: stopped reading the input"),
            Some(Stop::OutageTooLong) => println!(
                "an event waited longer than the outage bound for kafka: stopped reading the input"
            ),
            None => {}
        }
        if !u.unread.is_empty() {
            println!(
                "not read: {} lines, {}",
                u.unread.len(),
                lines_phrase(&u.unread)
            );
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

/// `line 7` or `lines 1-3, 7`, the ranges capped at [`RANGES_LISTED`].
fn lines_phrase(lines: &[u64]) -> String {
    let word = if lines.len() == 1 { "line" } else { "lines" };
    format!("{word} {}", format_ranges(lines, RANGES_LISTED))
}

/// Line numbers as ascending ranges, `120-450, 900`, in any order and with repeats; past
/// `max` ranges, how many more there are.
pub fn format_ranges(lines: &[u64], max: usize) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for n in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => ranges.push((n, n)),
        }
    }
    let mut parts: Vec<String> = ranges
        .iter()
        .take(max)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if ranges.len() > max {
        parts.push(format!("... and {} more ranges", ranges.len() - max));
    }
    parts.join(", ")
}

/// What a valid event was made from, kept while it is in flight to be written back.
enum Original {
    /// The input line, verbatim.
    Text(String),
    /// An event from the caller, serialised only if it has to be written back.
    Event(Box<DossierEvent>),
}

/// An event queued in the producer, awaiting Kafka's answer.
struct InFlight {
    /// Kafka's answer.
    delivery: DeliveryFuture,
    /// Its line number.
    line: u64,
    /// Its kind, for the summary.
    kind: &'static str,
    /// What to write back if it is not acknowledged.
    original: Original,
}

/// Records unpublished lines and writes them to the unacked output.
struct Ledger<'a> {
    /// Where unpublished lines go, if anywhere.
    out: Option<&'a mut dyn Write>,
    /// What has been recorded.
    record: Unpublished,
}

impl Ledger<'_> {
    fn write(&mut self, text: Option<String>) {
        let (Some(out), Some(text), None) = (self.out.as_mut(), text, &self.record.write_error)
        else {
            return;
        };
        match writeln!(out, "{text}") {
            Ok(()) => self.record.written += 1,
            Err(e) => self.record.write_error = Some(e.to_string()),
        }
    }

    fn unacked(&mut self, line: u64, original: &Original, error: String) {
        self.record.unacked.push(line);
        match self.record.errors.get_mut(&error) {
            Some(n) => *n += 1,
            None => {
                // Once per kind: during an outage every event in flight fails the same way,
                // and the summary counts them.
                tracing::warn!(line, error = %error, "kafka did not acknowledge an event; events failing this way are counted in the summary");
                self.record.errors.insert(error, 1);
            }
        }
        let text = match original {
            Original::Text(t) => Some(t.clone()),
            Original::Event(e) => serde_json::to_string(e).ok(),
        };
        self.write(text);
    }

    fn unread(&mut self, input: Input) {
        let (line, text) = match input {
            Input::Line { number, text } => (number, Some(text)),
            Input::Item {
                number,
                item: Ok(event),
            } => (number, serde_json::to_string(&event).ok()),
            Input::Item {
                number,
                item: Err(_),
            } => (number, None),
        };
        self.record.unread.push(line);
        self.write(text);
    }
}

/// How a run stops early, and where what it did not publish goes.
pub struct Options<'a> {
    /// Cancelled to stop reading the input; the events in flight are still awaited.
    pub stop: CancellationToken,
    /// Receives, one per line, every valid line not acknowledged and every line not read.
    pub unacked: Option<&'a mut dyn Write>,
    /// Deliveries in flight before the oldest is awaited.
    pub in_flight: usize,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            stop: CancellationToken::new(),
            unacked: None,
            in_flight: IN_FLIGHT,
        }
    }
}

/// Validates and publishes every item; invalid ones are counted and listed, never stop the
/// run, and never cause a valid neighbour to be dropped. Items not published are counted in
/// the summary by line number.
pub async fn publish(
    producer: &EventProducer,
    items: impl Iterator<Item = (u64, Item)>,
    total_hint: Option<u64>,
) -> anyhow::Result<PublishSummary> {
    let inputs = items.map(|(number, item)| Input::Item { number, item });
    Ok(publish_inputs(producer, inputs, total_hint, Options::default()).await)
}

/// [`publish`] over [`Input`]s, stopping early on `options.stop` or once an event has waited
/// longer than the producer's `message.timeout.ms`, and writing what was not published to
/// `options.unacked`.
pub async fn publish_inputs(
    producer: &EventProducer,
    inputs: impl Iterator<Item = Input>,
    total_hint: Option<u64>,
    options: Options<'_>,
) -> PublishSummary {
    let started = Instant::now();
    let mut summary = PublishSummary::default();
    let mut ledger = Ledger {
        out: options.unacked,
        record: Unpublished::default(),
    };
    let bar = Progress::stderr("publish", "events", total_hint);
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut inputs = inputs.into_iter();
    // A line read when the run had already stopped (reading can block on stdin for as long
    // as nothing comes, Ctrl-C or not): it is written back with the rest, not sent.
    let mut first_unread = None;
    let stopped = |ledger: &mut Ledger<'_>| {
        if ledger.record.stopped.is_none() && options.stop.is_cancelled() {
            ledger.record.stopped = Some(Stop::Interrupted);
        }
        ledger.record.stopped.is_some()
    };
    loop {
        if stopped(&mut ledger) {
            break;
        }
        let Some(input) = inputs.next() else { break };
        if stopped(&mut ledger) {
            first_unread = Some(input);
            break;
        }
        bar.inc(1);
        let (line, item, text) = match input {
            Input::Line { number, text } => {
                let item = decode_json(text.as_bytes()).map_err(|r| (number, r));
                (number, item, Some(text))
            }
            Input::Item { number, item } => (number, item, None),
        };
        let rejection = match item {
            Ok(event) => match producer.enqueue(&event).await {
                Ok(delivery) => {
                    let kind = event.kind.as_str();
                    let original = match text {
                        Some(t) => Original::Text(t),
                        None => Original::Event(Box::new(event)),
                    };
                    in_flight.push_back(InFlight {
                        delivery,
                        line,
                        kind,
                        original,
                    });
                    if in_flight.len() >= options.in_flight.max(1) {
                        let oldest = in_flight.pop_front().expect("non-empty");
                        settle(oldest, &mut summary, &mut ledger, &bar).await;
                    }
                    None
                }
                Err(SendError::Invalid {
                    event_id,
                    rejection,
                }) => Some((event_id, rejection)),
                // Not queued (a record too large, a producer in a fatal state): the line is
                // not published, like one Kafka refused.
                Err(e) => {
                    let original = match text {
                        Some(t) => Original::Text(t),
                        None => Original::Event(Box::new(event)),
                    };
                    ledger.unacked(line, &original, send_error_text(&e));
                    None
                }
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
            bar.message(format!("{} rejected", summary.rejected_total()));
        }
    }
    // What is in flight is written back before the lines not read, so the unacked file
    // keeps the input's order as far as the deliveries allow.
    while let Some(oldest) = in_flight.pop_front() {
        settle(oldest, &mut summary, &mut ledger, &bar).await;
    }
    if ledger.record.stopped.is_some() {
        for input in first_unread.into_iter().chain(inputs) {
            ledger.unread(input);
        }
    }
    bar.finish();
    summary.unpublished = ledger.record;
    summary.elapsed = started.elapsed();
    summary
}

/// The error's own text: `SendError`'s display only says that Kafka failed.
fn send_error_text(e: &SendError) -> String {
    match e {
        SendError::Kafka(k) => k.to_string(),
        other => other.to_string(),
    }
}

async fn settle(
    entry: InFlight,
    summary: &mut PublishSummary,
    ledger: &mut Ledger<'_>,
    bar: &Progress,
) {
    let error = match entry.delivery.await {
        Ok(Ok(_)) => {
            *summary.sent_by_kind.entry(entry.kind).or_default() += 1;
            return;
        }
        Ok(Err((e, _))) => {
            if matches!(
                e,
                KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
            ) {
                ledger.record.stopped.get_or_insert(Stop::OutageTooLong);
            }
            e.to_string()
        }
        Err(_) => "delivery canceled: the producer was closed".to_string(),
    };
    ledger.unacked(entry.line, &entry.original, error);
    bar.message(format!("{} not acknowledged", ledger.record.unacked.len()));
}

/// `<input>.unacked.jsonl`, beside the input.
pub fn default_unacked_path(input: &Path) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(".unacked.jsonl");
    PathBuf::from(name)
}

/// `<path>.partial`: the unacked lines are written there and renamed at the end, so a file
/// at `path` is always complete.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `motcua publish`: validates and publishes the input, waits out a broker outage up to the
/// bound, writes what was not published to the unacked file and fails if there is any.
pub async fn run(
    kafka: KafkaSettings,
    topics: TopicNames,
    args: PublishArgs,
) -> anyhow::Result<()> {
    let from_stdin = args.input.as_os_str() == "-";
    let unacked_path = match (&args.unacked_out, from_stdin) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(default_unacked_path(&args.input)),
        (None, true) => None,
    };
    // Checked before anything is sent: a run that cannot keep its unacked lines must not start.
    let reader: Box<dyn BufRead> = if from_stdin {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(File::open(&args.input).with_context(
            || format!("cannot open {}", args.input.display()),
        )?))
    };
    let mut out = match &unacked_path {
        Some(path) => {
            if !from_stdin
                && (same_file(path, &args.input) || same_file(&partial_path(path), &args.input))
            {
                anyhow::bail!(
                    "--unacked-out {} is the input itself: choose another path",
                    path.display()
                );
            }
            let partial = partial_path(path);
            let file = File::create(&partial)
                .with_context(|| format!("cannot create {}", partial.display()))?;
            Some(BufWriter::new(file))
        }
        None => None,
    };
    let timeout = Duration::from_secs(args.max_outage_secs);
    let producer = EventProducer::new(&kafka.with_message_timeout(timeout), topics, args.format)?;
    let stop = shutdown::on_signals();
    // The wait after Ctrl-C can be as long as the outage bound: say so, and let a second
    // Ctrl-C quit at once (the unacked file is then not written).
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted: not reading more input; waiting up to {} s for the events in flight (Ctrl-C again quits now, without the unacked file)",
                timeout.as_secs()
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let options = Options {
        stop,
        unacked: out.as_mut().map(|w| w as &mut dyn Write),
        ..Options::default()
    };
    let summary = publish_inputs(&producer, json_lines(reader), None, options).await;
    summary.print();
    let unpublished = &summary.unpublished;
    let mut write_error = unpublished.write_error.clone();
    if let (Some(path), Some(mut writer)) = (unacked_path.as_ref(), out) {
        let partial = partial_path(path);
        if let Err(e) = writer.flush() {
            write_error.get_or_insert(e.to_string());
        }
        drop(writer);
        if unpublished.written > 0 {
            std::fs::rename(&partial, path).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), path.display())
            })?;
            println!(
                "{} lines written to {}: `motcua publish {}` resumes",
                unpublished.written,
                path.display(),
                path.display()
            );
        } else {
            std::fs::remove_file(&partial)
                .with_context(|| format!("cannot remove {}", partial.display()))?;
            // Its presence means "something to resume": one from an earlier run is now wrong.
            if unpublished.total() == 0 && path.exists() {
                std::fs::remove_file(path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                println!(
                    "removed {}, left by an earlier run: everything is published",
                    path.display()
                );
            }
        }
    }
    if let Some(e) = write_error {
        anyhow::bail!(
            "cannot write the unacked lines: {e}; the summary above lists them by line number"
        );
    }
    if unpublished.total() > 0 {
        if unacked_path.is_none() {
            eprintln!(
                "note: reading stdin without --unacked-out, the lines not published are only listed above by number"
            );
        }
        anyhow::bail!(
            "{} lines were not published ({} not acknowledged by kafka, {} not read)",
            unpublished.total(),
            unpublished.unacked.len(),
            unpublished.unread.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_core::samples;

    #[test]
    fn ranges_are_compact_sorted_and_capped() {
        assert_eq!(format_ranges(&[], 20), "");
        assert_eq!(format_ranges(&[900], 20), "900");
        let mut lines: Vec<u64> = (120..=450).collect();
        lines.push(900);
        lines.reverse();
        lines.push(130);
        assert_eq!(format_ranges(&lines, 20), "120-450, 900");
        assert_eq!(
            format_ranges(&[1, 2, 4, 6, 7, 8, 10], 20),
            "1-2, 4, 6-8, 10"
        );
        assert_eq!(
            format_ranges(&[1, 3, 5, 7, 9], 2),
            "1, 3, ... and 3 more ranges"
        );
        assert_eq!(lines_phrase(&[5]), "line 5");
        assert_eq!(lines_phrase(&[5, 6]), "lines 5-6");
    }

    #[test]
    fn the_unacked_file_sits_beside_the_input() {
        assert_eq!(
            default_unacked_path(Path::new("data/events.jsonl")),
            PathBuf::from("data/events.jsonl.unacked.jsonl")
        );
        assert_eq!(
            partial_path(Path::new("x.unacked.jsonl")),
            PathBuf::from("x.unacked.jsonl.partial")
        );
    }

    fn event_line(i: usize) -> String {
        let mut e = samples::received();
        e.event_id = format!("publish-test-{i}");
        serde_json::to_string(&e).expect("serialises")
    }

    /// Valid lines 1, 2, 4 and 6; 3 does not parse, 5 is blank, 7 is an invalid event.
    fn input() -> (String, Vec<String>) {
        let valid: Vec<String> = (0..4).map(event_line).collect();
        let mut bad = samples::received();
        bad.event_id = String::new();
        let lines = [
            valid[0].clone(),
            valid[1].clone(),
            "{not json".to_string(),
            valid[2].clone(),
            "   ".to_string(),
            valid[3].clone(),
            serde_json::to_string(&bad).expect("serialises"),
        ];
        (lines.join("\n") + "\n", valid)
    }

    /// A producer towards a port nothing listens on, whose events time out after `timeout`.
    fn unreachable_producer(timeout: Duration) -> EventProducer {
        let settings = KafkaSettings::new("127.0.0.1:1").with_message_timeout(timeout);
        EventProducer::new(&settings, TopicNames::default(), Encoding::Json).expect("producer")
    }

    fn written(out: &[u8]) -> Vec<String> {
        String::from_utf8(out.to_vec())
            .expect("utf-8")
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[tokio::test]
    async fn a_stop_before_the_first_line_writes_back_every_line_unread_and_verbatim() {
        let (text, _) = input();
        let producer = unreachable_producer(Duration::from_secs(60));
        let stop = CancellationToken::new();
        stop.cancel();
        let mut out = Vec::new();
        let summary = publish_inputs(
            &producer,
            json_lines(text.as_bytes()),
            None,
            Options {
                stop,
                unacked: Some(&mut out),
                ..Options::default()
            },
        )
        .await;
        let u = &summary.unpublished;
        assert_eq!(u.stopped, Some(Stop::Interrupted));
        assert_eq!(u.unread, vec![1, 2, 3, 4, 6, 7], "blank line 5 is skipped");
        assert!(u.unacked.is_empty());
        assert_eq!(summary.sent(), 0);
        assert_eq!(summary.rejected_total(), 0, "unread lines are not judged");
        let expected: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(written(&out), expected);
        assert_eq!(u.written, 6);
    }

    #[tokio::test]
    async fn events_kafka_never_acknowledges_are_written_back_and_counted_by_error() {
        let (text, valid) = input();
        let producer = unreachable_producer(Duration::from_secs(1));
        let mut out = Vec::new();
        let summary = publish_inputs(
            &producer,
            json_lines(text.as_bytes()),
            None,
            Options {
                unacked: Some(&mut out),
                ..Options::default()
            },
        )
        .await;
        let u = &summary.unpublished;
        assert_eq!(u.unacked, vec![1, 2, 4, 6]);
        assert!(
            u.unread.is_empty(),
            "every line was read before the first timeout"
        );
        assert_eq!(u.stopped, Some(Stop::OutageTooLong));
        assert_eq!(u.errors.len(), 1, "one kind of error: {:?}", u.errors);
        let (error, n) = u.errors.iter().next().expect("one");
        assert_eq!(*n, 4);
        assert!(error.contains("MessageTimedOut"), "{error}");
        assert_eq!(written(&out), valid, "only valid lines, verbatim, in order");
        assert_eq!(summary.rejected_total(), 2);
        assert_eq!(
            summary.rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![3, 7]
        );
        assert_eq!(summary.sent(), 0);
    }

    #[tokio::test]
    async fn after_an_outage_outlasts_the_bound_the_rest_is_not_sent_but_written_back() {
        let (text, _) = input();
        let producer = unreachable_producer(Duration::from_secs(1));
        let mut out = Vec::new();
        let summary = publish_inputs(
            &producer,
            json_lines(text.as_bytes()),
            None,
            Options {
                unacked: Some(&mut out),
                in_flight: 1,
                ..Options::default()
            },
        )
        .await;
        let u = &summary.unpublished;
        assert_eq!(u.stopped, Some(Stop::OutageTooLong));
        assert_eq!(u.unacked, vec![1]);
        assert_eq!(u.unread, vec![2, 3, 4, 6, 7]);
        assert_eq!(u.total(), 6);
        let expected: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        assert_eq!(
            written(&out),
            expected,
            "the unacked line, then the unread ones"
        );
    }

    #[tokio::test]
    async fn simulated_events_not_published_are_written_back_as_json() {
        let producer = unreachable_producer(Duration::from_secs(60));
        let events: Vec<DossierEvent> = (0..3)
            .map(|i| {
                let mut e = samples::received();
                e.event_id = format!("sim-{i}");
                e
            })
            .collect();
        let stop = CancellationToken::new();
        stop.cancel();
        let mut out = Vec::new();
        let inputs = events.iter().enumerate().map(|(i, e)| Input::Item {
            number: i as u64 + 1,
            item: Ok(e.clone()),
        });
        let summary = publish_inputs(
            &producer,
            inputs,
            None,
            Options {
                stop,
                unacked: Some(&mut out),
                ..Options::default()
            },
        )
        .await;
        assert_eq!(summary.unpublished.unread, vec![1, 2, 3]);
        let back: Vec<DossierEvent> = written(&out)
            .iter()
            .map(|l| decode_json(l.as_bytes()).expect("decodes"))
            .collect();
        assert_eq!(back, events);
    }
}
