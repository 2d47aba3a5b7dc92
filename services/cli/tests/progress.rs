//! Long commands show their progress in a log: plain lines when stderr is not a terminal
//! (here a pipe), periodic, then a final line with the count.

use std::process::Command;

#[test]
fn simulate_prints_progress_lines_when_not_on_a_terminal() {
    let dir = std::env::temp_dir().join(format!("motcua-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("events.jsonl");
    let run = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["simulate", "--days", "3", "--out"])
        .arg(&out)
        .env("MOTCUA_PROGRESS_SECS", "0")
        .output()
        .expect("motcua runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8(run.stderr).unwrap();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("simulate: "))
        .collect();
    assert!(
        lines.len() > 2,
        "periodic lines, not only the last: {stderr}"
    );
    let written = std::fs::read_to_string(&out).unwrap().lines().count();
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("simulate: {written} events in ")),
        "the last line counts every event written ({written}): {last}"
    );
    // Counts only grow.
    let counts: Vec<u64> = lines
        .iter()
        .map(|l| {
            l["simulate: ".len()..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
