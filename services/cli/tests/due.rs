//! `motcua due` answers from the shipped calendar (worked example in docs/CALENDAR.md).

use std::process::Command;

fn due(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("due")
        .args(args)
        .output()
        .expect("motcua runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[test]
fn three_working_days_from_the_friday_before_tet_2026() {
    // Fri 13/2 09:00: 6 h that day; Tết 16-20/2 and the weekends are off; Mon 23 and Tue 24
    // give 16 h; the last 2 h end Wed 25/2 at 09:00.
    let at = due(&["--received", "2026-02-13T09:00:00+07:00", "--amount", "3"]);
    assert_eq!(at, "2026-02-25T09:00:00+07:00");
}

#[test]
fn a_swapped_working_saturday_counts() {
    // Fri 21/8/2026 16:00 + 1 working day: 1 h on Friday, Saturday 22/8 is worked (7 h more
    // reach 16:00 there).
    let at = due(&[
        "--received",
        "2026-08-21T16:00:00+07:00",
        "--amount",
        "8",
        "--unit",
        "working-hours",
    ]);
    assert_eq!(at, "2026-08-22T16:00:00+07:00");
}

#[test]
fn a_catalogued_same_day_procedure_uses_its_cut_off() {
    // Birth registration: same day, cut-off 15:00 (data/catalogue/h56.json). Received Thu
    // 8/10/2026 at 16:55: due at the close of Friday.
    let at = due(&[
        "--received",
        "2026-10-08T16:55:00+07:00",
        "--procedure",
        "1.001193.000.00.00.H56",
    ]);
    assert_eq!(at, "2026-10-09T17:00:00+07:00");
}
