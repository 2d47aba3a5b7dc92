//! `motcua publish` through broker outages, against a private tansu this test kills with
//! SIGKILL and restarts: a short outage is waited out and every event arrives; one longer
//! than `--max-outage-secs` leaves exactly the lines not published in the unacked file, and
//! publishing that file afterwards completes the topics.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use motcua_core::codec::Codec;
use motcua_core::topics::TopicNames;
use motcua_producer::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::common;
use crate::harness::PrivateTansu;

const PARTITIONS: i32 = 3;

/// The `motcua` binary: `MOTCUA_BIN`, else the workspace's debug build.
fn motcua_bin() -> PathBuf {
    let bin = match std::env::var_os("MOTCUA_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
            .join("debug")
            .join("motcua"),
    };
    assert!(
        bin.is_file(),
        "the motcua binary is not at {}: build it with `cargo build -p motcua-cli` (or set MOTCUA_BIN)",
        bin.display()
    );
    bin
}

/// A test's own broker, topics and input lines.
struct Setup {
    tansu: PrivateTansu,
    prefix: String,
    topics: TopicNames,
    lines: Vec<String>,
    ids: BTreeSet<String>,
}

async fn setup(test: &str, seed: u64) -> Setup {
    let tansu = PrivateTansu::start();
    let prefix = format!("it-{test}-{}", std::process::id());
    let topics = TopicNames::with_prefix(&prefix);
    motcua_runtime::kafka::create_topics(&KafkaSettings::new(tansu.brokers()), &topics, PARTITIONS)
        .await
        .expect("topics created on the private broker");
    let events = common::simulated(seed, 2, 150);
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("serialises"))
        .collect();
    // The simulator sends some events twice: the ids are a set.
    let ids = events.iter().map(|e| e.event_id.clone()).collect();
    Setup {
        tansu,
        prefix,
        topics,
        lines,
        ids,
    }
}

impl Setup {
    fn settings(&self) -> KafkaSettings {
        KafkaSettings::new(self.tansu.brokers())
    }

    /// `motcua publish <args>` against the private broker, stdin piped.
    fn publisher(&self, args: &[&str]) -> Child {
        Command::new(motcua_bin())
            .args([
                "--brokers",
                &self.tansu.brokers(),
                "--topic-prefix",
                &self.prefix,
            ])
            .arg("publish")
            .args(args)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("motcua runs")
    }

    /// Records on the four input topics: the sum of their high watermarks.
    fn records(&self) -> i64 {
        let consumer: BaseConsumer = self.settings().client().create().expect("client");
        let mut total = 0;
        for topic in self.topics.inputs() {
            for p in 0..PARTITIONS {
                let (_, high) = consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .expect("watermarks");
                total += high;
            }
        }
        total
    }

    /// Waits until the input topics hold at least `n` records.
    fn wait_for_records(&self, n: usize) {
        let started = Instant::now();
        while self.records() < n as i64 {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the topics hold {} records after 90 s, expected {n}",
                self.records()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Every event id on the input topics, read from the beginning to the high watermarks.
    fn ids_on_topics(&self) -> BTreeSet<String> {
        let mut config = self.settings().client();
        config
            .set("group.id", format!("{}-check", self.prefix))
            .set("enable.auto.commit", "false");
        let consumer: BaseConsumer = config.create().expect("consumer");
        let mut tpl = TopicPartitionList::new();
        let mut remaining = HashMap::new();
        for topic in self.topics.inputs() {
            for p in 0..PARTITIONS {
                let (_, high) = consumer
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .expect("watermarks");
                if high > 0 {
                    tpl.add_partition_offset(topic, p, Offset::Beginning)
                        .expect("partition");
                    remaining.insert((topic.to_string(), p), high);
                }
            }
        }
        consumer.assign(&tpl).expect("assign");
        let codec = Codec::new();
        let mut ids = BTreeSet::new();
        let started = Instant::now();
        while !remaining.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "reading the topics back took over 120 s; partitions left: {remaining:?}"
            );
            let Some(m) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let m = m.expect("record read");
            let event = codec
                .decode(m.payload().expect("payload"))
                .expect("every record decodes");
            ids.insert(event.event_id);
            let key = (m.topic().to_string(), m.partition());
            if remaining
                .get(&key)
                .is_some_and(|high| m.offset() + 1 >= *high)
            {
                remaining.remove(&key);
            }
        }
        ids
    }
}

fn write_lines(child: &mut Child, lines: &[String]) {
    let stdin = child.stdin.as_mut().expect("stdin piped");
    for line in lines {
        writeln!(stdin, "{line}").expect("publisher reads its stdin");
    }
    stdin.flush().expect("flush");
}

/// Waits for the process, killing it after `timeout`.
fn finish(mut child: Child, timeout: Duration) -> Output {
    drop(child.stdin.take());
    let started = Instant::now();
    while child.try_wait().expect("status").is_none() {
        if started.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "motcua publish still running after {timeout:?}; stdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {}; stdout:\n{}\nstderr (tail):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Line numbers named after `prefix` in the summary (`lines 1-3, 7`), or `None` when the
/// list was capped.
fn listed_lines(stdout: &str, prefix: &str) -> Option<Vec<u64>> {
    let Some(line) = stdout.lines().find(|l| l.starts_with(prefix)) else {
        return Some(Vec::new());
    };
    let list = line
        .split_once(", line")
        .map(|(_, rest)| rest.trim_start_matches('s').trim())
        .expect("the summary names the lines");
    if list.contains("more ranges") {
        return None;
    }
    let mut lines = Vec::new();
    for part in list.split(", ") {
        match part.split_once('-') {
            Some((a, b)) => lines.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => lines.push(part.parse().unwrap()),
        }
    }
    Some(lines)
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_broker_outage_is_waited_out_and_every_event_arrives() {
    let mut s = setup("outage-short", 11).await;
    let unacked = s.tansu.dir().join("events.unacked.jsonl");
    let unacked_arg = unacked.to_str().expect("utf-8 path").to_string();
    let (first, second) = s.lines.split_at(s.lines.len() / 2);
    let mut publisher = s.publisher(&[
        "-",
        "--max-outage-secs",
        "120",
        "--unacked-out",
        &unacked_arg,
    ]);
    write_lines(&mut publisher, first);
    s.wait_for_records(first.len());

    // The broker dies with events of the second half on their way, and comes back after
    // 10 s on the same port and data.
    s.tansu.kill9();
    write_lines(&mut publisher, second);
    tokio::time::sleep(Duration::from_secs(10)).await;
    s.tansu.restart();
    let out = finish(publisher, Duration::from_secs(180));

    assert!(out.status.success(), "publish fails: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("published {} events", s.lines.len())),
        "{}",
        describe(&out)
    );
    assert!(
        !unacked.exists(),
        "no unacked file when everything is acknowledged"
    );
    assert!(
        s.records() >= s.lines.len() as i64,
        "the topics hold {} records, {} were published",
        s.records(),
        s.lines.len()
    );
    assert_eq!(s.ids_on_topics(), s.ids, "event ids on the topics");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_bound_leaves_the_unacked_lines_and_publishing_them_completes() {
    let mut s = setup("outage-long", 12).await;
    let unacked = s.tansu.dir().join("events.unacked.jsonl");
    let unacked_arg = unacked.to_str().expect("utf-8 path").to_string();
    let (first, second) = s.lines.split_at(s.lines.len() / 2);
    let mut publisher =
        s.publisher(&["-", "--max-outage-secs", "5", "--unacked-out", &unacked_arg]);
    write_lines(&mut publisher, first);
    s.wait_for_records(first.len());
    s.tansu.kill9();
    write_lines(&mut publisher, second);
    let out = finish(publisher, Duration::from_secs(120));

    // The second half waited 5 s for a broker that stayed down.
    assert!(
        !out.status.success(),
        "publish must fail: {}",
        describe(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains("MessageTimedOut"), "{}", describe(&out));
    let left = read_lines(&unacked);
    assert!(
        left.len() >= second.len() && left.len() <= s.lines.len(),
        "{} lines in the unacked file, {} were sent while the broker was down: {}",
        left.len(),
        second.len(),
        describe(&out)
    );
    let input: BTreeSet<&String> = s.lines.iter().collect();
    assert!(
        left.iter().all(|l| input.contains(l)),
        "the unacked file holds input lines verbatim"
    );
    // The summary names the same lines as the file holds.
    if let (Some(mut named), Some(unread)) = (
        listed_lines(&stdout, "NOT acknowledged by kafka"),
        listed_lines(&stdout, "not read"),
    ) {
        named.extend(unread);
        let mut at_named: Vec<&String> = named.iter().map(|n| &s.lines[*n as usize - 1]).collect();
        let mut in_file: Vec<&String> = left.iter().collect();
        at_named.sort();
        in_file.sort();
        assert_eq!(
            at_named, in_file,
            "lines named in the summary vs the unacked file"
        );
    }

    // Still down: publishing the unacked file fails the same way and writes the same lines
    // beside it (the default path for a file).
    let again = finish(
        s.publisher(&[unacked_arg.as_str(), "--max-outage-secs", "3"]),
        Duration::from_secs(60),
    );
    assert!(!again.status.success(), "{}", describe(&again));
    let unacked_again = PathBuf::from(format!("{unacked_arg}.unacked.jsonl"));
    assert_eq!(read_lines(&unacked_again), left, "{}", describe(&again));

    // Back up: publishing what is left completes the topics.
    s.tansu.restart();
    let resumed = finish(
        s.publisher(&[
            unacked_again.to_str().expect("utf-8 path"),
            "--max-outage-secs",
            "60",
        ]),
        Duration::from_secs(120),
    );
    assert!(
        resumed.status.success(),
        "resume fails: {}",
        describe(&resumed)
    );
    assert!(
        !PathBuf::from(format!("{}.unacked.jsonl", unacked_again.display())).exists(),
        "no unacked file after a complete resume"
    );
    assert!(s.records() >= s.lines.len() as i64);
    assert_eq!(
        s.ids_on_topics(),
        s.ids,
        "event ids on the topics after the resume (at least once)"
    );
}

#[test]
fn ctrl_c_stops_reading_and_writes_back_what_is_in_flight_and_what_is_not_read() {
    // No broker at all: nothing is acknowledged, so everything must come back.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("publish-sigint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let unacked = dir.join("stdin.unacked.jsonl");
    let lines: Vec<String> = common::simulated(13, 1, 60)
        .iter()
        .take(150)
        .map(|e| serde_json::to_string(e).expect("serialises"))
        .collect();
    assert_eq!(lines.len(), 150, "enough simulated events");
    let mut publisher = Command::new(motcua_bin())
        .args(["--brokers", &format!("127.0.0.1:{port}"), "publish", "-"])
        .args(["--max-outage-secs", "8", "--unacked-out"])
        .arg(&unacked)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("motcua runs");
    write_lines(&mut publisher, &lines[..100]);
    std::thread::sleep(Duration::from_secs(2));
    let status = Command::new("kill")
        .args(["-INT", &publisher.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "SIGINT sent");
    std::thread::sleep(Duration::from_millis(500));
    // Read after the interrupt: written back, never sent.
    write_lines(&mut publisher, &lines[100..]);
    let out = finish(publisher, Duration::from_secs(60));

    assert!(!out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.contains("interrupted: stopped reading the input"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        listed_lines(&stdout, "NOT acknowledged by kafka"),
        Some((1..=100).collect()),
        "{}",
        describe(&out)
    );
    assert_eq!(
        listed_lines(&stdout, "not read"),
        Some((101..=150).collect()),
        "{}",
        describe(&out)
    );
    assert_eq!(
        read_lines(&unacked),
        lines,
        "every line, verbatim, in order"
    );
}
