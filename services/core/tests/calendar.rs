//! The working-day calendar and due times (domain.md §4, §8; docs/CALENDAR.md).
//!
//! Expected values are worked out by hand in the comments, from the rules and the shipped
//! year files, not from the code. Default hours: 07:00-11:30 and 13:30-17:00 (8 h/day).

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use motcua_core::calendar::*;
use motcua_core::event::{TimeLimit, TimeUnit, Timestamp};
use motcua_core::samples::ts;
use proptest::prelude::*;

fn cal() -> &'static WorkCalendar {
    static CAL: OnceLock<WorkCalendar> = OnceLock::new();
    CAL.get_or_init(WorkCalendar::vietnam)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date literal")
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("date-time literal")
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").expect("time literal")
}

fn limit(amount: i32, unit: TimeUnit) -> TimeLimit {
    TimeLimit { amount, unit }
}

fn wd(amount: i32) -> TimeLimit {
    limit(amount, TimeUnit::WorkingDays)
}

/// Due time with the default rule, as RFC 3339.
fn due(received: &str, l: TimeLimit) -> String {
    due_with(received, l, DueRule::default())
}

fn due_with(received: &str, l: TimeLimit, rule: DueRule) -> String {
    cal().due(ts(received), l, &rule).to_rfc3339()
}

const END_OF_DAY: DueRule = DueRule {
    end_of_day: true,
    same_day_cutoff: None,
};

// ---------------------------------------------------------------- golden scenarios

#[test]
fn received_the_friday_before_tet_2026() {
    // Fri 13/2/2026 09:00, 3 working days = 24 working hours.
    // Fri: 09:00-11:30 (2 h 30) + 13:30-17:00 (3 h 30) = 6 h          -> 6 h
    // Sat 14 - Sun 22/2 off: weekends and Tết Mon 16 - Fri 20 (TB 9441/TB-BNV)
    // Mon 23/2: 8 h -> 14 h; Tue 24/2: 8 h -> 22 h; Wed 25/2: 07:00 + 2 h = 09:00.
    assert_eq!(
        due("2026-02-13T09:00:00+07:00", wd(3)),
        "2026-02-25T09:00:00+07:00"
    );
    for day in 14..=22 {
        let date = NaiveDate::from_ymd_opt(2026, 2, day).expect("date");
        assert!(!cal().is_working_day(date), "{date} is in the Tết break");
    }
    assert!(cal().is_working_day(d("2026-02-23")));
    // Received 16:30 the same Friday, 1 working day: 30 min on Friday, 7 h 30 left;
    // Mon 23/2: morning 4 h 30 (3 h left) then 13:30 + 3 h = 16:30.
    assert_eq!(
        due("2026-02-13T16:30:00+07:00", wd(1)),
        "2026-02-23T16:30:00+07:00"
    );
}

#[test]
fn received_at_16_55() {
    // Thu 8/10/2026 16:55, 1 working day: 5 min on Thursday, 7 h 55 left;
    // Fri 9/10: morning 4 h 30 (3 h 25 left), 13:30 + 3 h 25 = 16:55.
    assert_eq!(
        due("2026-10-08T16:55:00+07:00", wd(1)),
        "2026-10-09T16:55:00+07:00"
    );
    // The end-of-day convention moves it to the close of that day.
    assert_eq!(
        due_with("2026-10-08T16:55:00+07:00", wd(1), END_OF_DAY),
        "2026-10-09T17:00:00+07:00"
    );
    // Received 17:05, after closing: counting starts Fri 9/10 07:00; 8 h later is Fri
    // 17:00, which is the same working instant as Mon 12/10 07:00 (returned as such).
    assert_eq!(
        due("2026-10-08T17:05:00+07:00", wd(1)),
        "2026-10-12T07:00:00+07:00"
    );
    // With end of day: received after closing Thursday = received Friday; due at the
    // close of the first working day after Friday, Mon 12/10.
    assert_eq!(
        due_with("2026-10-08T17:05:00+07:00", wd(1), END_OF_DAY),
        "2026-10-12T17:00:00+07:00"
    );
}

#[test]
fn received_at_lunch_counts_from_13_30() {
    // Mon 12/10/2026 12:00: counting starts 13:30. 1 working day: 3 h 30 on Monday,
    // 4 h 30 on Tuesday's morning reaches 8 h at 11:30, the same working instant as 13:30.
    assert_eq!(
        cal().next_working_start(at("2026-10-12 12:00")),
        at("2026-10-12 13:30")
    );
    assert_eq!(
        due("2026-10-12T12:00:00+07:00", wd(1)),
        "2026-10-13T13:30:00+07:00"
    );
}

#[test]
fn received_on_a_saturday() {
    // Sat 10/10/2026 10:00: counting starts Mon 12/10 07:00; 8 h is all of Monday,
    // reached at 17:00 = Tue 13/10 07:00.
    assert_eq!(
        due("2026-10-10T10:00:00+07:00", wd(1)),
        "2026-10-13T07:00:00+07:00"
    );
    // End of day: received Saturday counts as received Monday; close of Tuesday.
    assert_eq!(
        due_with("2026-10-10T10:00:00+07:00", wd(1), END_OF_DAY),
        "2026-10-13T17:00:00+07:00"
    );
    // 3 working days: Mon, Tue, Wed -> Thu 15/10 07:00.
    assert_eq!(
        due("2026-10-10T10:00:00+07:00", wd(3)),
        "2026-10-15T07:00:00+07:00"
    );
}

#[test]
fn national_day_2026_swap() {
    // Bộ Nội vụ TB 9441: Mon 31/8 off (bridge), Tue 1/9 and Wed 2/9 holidays,
    // Saturday 22/8/2026 worked instead.
    assert!(cal().is_working_day(d("2026-08-22")));
    assert_eq!(d("2026-08-22").weekday(), Weekday::Sat);
    for day in [
        "2026-08-29",
        "2026-08-30",
        "2026-08-31",
        "2026-09-01",
        "2026-09-02",
    ] {
        assert!(!cal().is_working_day(d(day)), "{day} is off");
    }
    assert!(cal().is_working_day(d("2026-09-03")));
    assert_eq!(
        cal().day(d("2026-08-31")).map(|e| e.kind),
        Some(DayKind::BridgeDayOff)
    );
    // Fri 21/8 09:00 + 1 working day = Sat 22/8 09:00 (worked Saturday).
    assert_eq!(
        due("2026-08-21T09:00:00+07:00", wd(1)),
        "2026-08-22T09:00:00+07:00"
    );
    // Fri 28/8 09:00 + 1: Sat 29, Sun 30, Mon 31 (bridge), 1/9, 2/9 off -> Thu 3/9 09:00.
    assert_eq!(
        due("2026-08-28T09:00:00+07:00", wd(1)),
        "2026-09-03T09:00:00+07:00"
    );
}

#[test]
fn national_day_on_a_weekend_gives_a_compensatory_day() {
    // From the data, 2/9 fell on a weekend in 2018 (Sunday) and 2023 (Saturday).
    let weekend_years: Vec<i32> = (2018..=2026)
        .filter(|y| {
            let date = NaiveDate::from_ymd_opt(*y, 9, 2).expect("date");
            matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        })
        .collect();
    assert_eq!(weekend_years, [2018, 2023]);
    // 2023: Fri 1/9 (adjacent day) and Sat 2/9 holidays, Mon 4/9 compensatory.
    assert_eq!(
        cal().day(d("2023-09-04")).map(|e| e.kind),
        Some(DayKind::Compensatory)
    );
    assert!(!cal().is_working_day(d("2023-09-01")));
    assert!(!cal().is_working_day(d("2023-09-04")));
    assert!(cal().is_working_day(d("2023-09-05")));
    // Thu 31/8/2023 10:00 + 1 working day: Fri 1/9 to Mon 4/9 off -> Tue 5/9 10:00.
    assert_eq!(
        due("2023-08-31T10:00:00+07:00", wd(1)),
        "2023-09-05T10:00:00+07:00"
    );
    // 2018 (Labour Code 2012, one National Day holiday): Sun 2/9, Mon 3/9 compensatory.
    assert_eq!(
        cal().day(d("2018-09-03")).map(|e| e.kind),
        Some(DayKind::Compensatory)
    );
    assert_eq!(
        due("2018-08-31T10:00:00+07:00", wd(1)),
        "2018-09-04T10:00:00+07:00"
    );
}

#[test]
fn calendar_days_ending_on_a_sunday_move_to_monday() {
    let cd = |n| limit(n, TimeUnit::CalendarDays);
    // Mon 5/10/2026 09:00 + 6 calendar days = Sun 11/10 09:00, a day off:
    // moved to the opening of the next working day, Mon 12/10 07:00.
    assert_eq!(
        due("2026-10-05T09:00:00+07:00", cd(6)),
        "2026-10-12T07:00:00+07:00"
    );
    assert_eq!(
        due_with("2026-10-05T09:00:00+07:00", cd(6), END_OF_DAY),
        "2026-10-12T17:00:00+07:00"
    );
    // + 3 calendar days = Thu 8/10 09:00, a working day: unchanged.
    assert_eq!(
        due("2026-10-05T09:00:00+07:00", cd(3)),
        "2026-10-08T09:00:00+07:00"
    );
    // Calendar days are not working days: the Tết break is not skipped, only the landing
    // day moves. Thu 12/2/2026 16:00 + 2 = Sat 14/2 and Fri 13/2 09:00 + 2 = Sun 15/2 both
    // land in the break and both move to Mon 23/2 07:00 (monotonic, unlike "same time").
    assert_eq!(
        due("2026-02-12T16:00:00+07:00", cd(2)),
        "2026-02-23T07:00:00+07:00"
    );
    assert_eq!(
        due("2026-02-13T09:00:00+07:00", cd(2)),
        "2026-02-23T07:00:00+07:00"
    );
}

#[test]
fn same_day_cutoff() {
    let rule = DueRule {
        end_of_day: false,
        same_day_cutoff: Some(t("15:00")),
    };
    // Mon 12/10/2026 14:59, before the cut-off: due at the close of the same day.
    assert_eq!(
        due_with("2026-10-12T14:59:00+07:00", wd(1), rule),
        "2026-10-12T17:00:00+07:00"
    );
    // 15:00, at the cut-off: the close of the next working day, Tue 13/10.
    assert_eq!(
        due_with("2026-10-12T15:00:00+07:00", wd(1), rule),
        "2026-10-13T17:00:00+07:00"
    );
    // Fri 16/10 15:30: next working day is Mon 19/10.
    assert_eq!(
        due_with("2026-10-16T15:30:00+07:00", wd(1), rule),
        "2026-10-19T17:00:00+07:00"
    );
    // Saturday 17/10: counting starts Mon 19/10 07:00, before the cut-off -> Mon 17:00.
    assert_eq!(
        due_with("2026-10-17T09:00:00+07:00", wd(1), rule),
        "2026-10-19T17:00:00+07:00"
    );
    // A limit of 0 is read as a same-day limit too.
    assert_eq!(
        due_with("2026-10-12T10:00:00+07:00", wd(0), rule),
        "2026-10-12T17:00:00+07:00"
    );
    // 2 working days, received 16:00 Mon: day 1 = Tue, day 2 = Wed -> Wed 14/10 17:00.
    assert_eq!(
        due_with("2026-10-12T16:00:00+07:00", wd(2), rule),
        "2026-10-14T17:00:00+07:00"
    );
}

#[test]
fn working_hours_limit() {
    let wh = |n| limit(n, TimeUnit::WorkingHours);
    // Mon 12/10/2026 10:00 + 4 h: 1 h 30 to 11:30, then 13:30 + 2 h 30 = 16:00.
    assert_eq!(
        due("2026-10-12T10:00:00+07:00", wh(4)),
        "2026-10-12T16:00:00+07:00"
    );
    // 13:00 (lunch) + 4 h: from 13:30, 3 h 30 to 17:00, then Tue 07:00 + 30 min.
    assert_eq!(
        due("2026-10-12T13:00:00+07:00", wh(4)),
        "2026-10-13T07:30:00+07:00"
    );
    // 8 working hours equal one working day.
    assert_eq!(
        due("2026-10-12T09:15:00+07:00", wh(8)),
        due("2026-10-12T09:15:00+07:00", wd(1))
    );
}

#[test]
fn vietnam_time_whatever_the_offset() {
    // 02:15 UTC is 09:15 in Vietnam; 1 working day later is Fri 9/10 09:15 +07:00.
    assert_eq!(
        due("2026-10-08T02:15:00Z", wd(1)),
        "2026-10-09T09:15:00+07:00"
    );
    // 11:15 in Tokyo (+09:00) is the same instant.
    assert_eq!(
        due("2026-10-08T11:15:00+09:00", wd(1)),
        "2026-10-09T09:15:00+07:00"
    );
    // 23:30 UTC on Sunday is 06:30 Monday in Vietnam: counting starts Mon 07:00.
    assert_eq!(
        due("2026-10-11T23:30:00Z", wd(1)),
        "2026-10-13T07:00:00+07:00"
    );
}

#[test]
fn nine_fifteen_plus_one_working_day_is_nine_fifteen_next_working_day() {
    assert_eq!(
        due("2026-10-12T09:15:00+07:00", wd(1)),
        "2026-10-13T09:15:00+07:00"
    );
    // Friday to Monday.
    assert_eq!(
        due("2026-10-09T09:15:00+07:00", wd(1)),
        "2026-10-12T09:15:00+07:00"
    );
    // At opening: 07:00 + 1 working day is 07:00 the next working day.
    assert_eq!(
        due("2026-10-12T07:00:00+07:00", wd(1)),
        "2026-10-13T07:00:00+07:00"
    );
    // End of day: the close of the 1st working day after the receipt day.
    assert_eq!(
        due_with("2026-10-12T07:00:00+07:00", wd(1), END_OF_DAY),
        "2026-10-13T17:00:00+07:00"
    );
}

#[test]
fn swaps_of_other_years() {
    // 2019 New Year: Mon 31/12/2018 off, worked Sat 5/1/2019.
    // Fri 28/12/2018 10:00 + 1: Mon 31/12 bridge, Tue 1/1 holiday -> Wed 2/1/2019 10:00.
    assert_eq!(
        due("2018-12-28T10:00:00+07:00", wd(1)),
        "2019-01-02T10:00:00+07:00"
    );
    // Fri 4/1/2019 10:00 + 1 = Sat 5/1 10:00 (worked).
    assert_eq!(
        due("2019-01-04T10:00:00+07:00", wd(1)),
        "2019-01-05T10:00:00+07:00"
    );
    // 2025: Sat 26/4 worked, Fri 2/5 off (Công văn 8726/VPCP-KGVX).
    assert_eq!(
        due("2025-04-25T10:00:00+07:00", wd(1)),
        "2025-04-26T10:00:00+07:00"
    );
    // Tue 29/4/2025 10:00 + 1: 30/4, 1/5 holidays, 2/5 bridge, weekend -> Mon 5/5 10:00.
    assert_eq!(
        due("2025-04-29T10:00:00+07:00", wd(1)),
        "2025-05-05T10:00:00+07:00"
    );
    // 2026 New Year: Fri 2/1 off, Sat 10/1 worked (Công văn 12729/VPCP-KGVX).
    assert!(!cal().is_working_day(d("2026-01-02")));
    assert!(cal().is_working_day(d("2026-01-10")));
    // Hùng Kings 2026 is Sunday 26/4: Monday 27/4 compensatory.
    assert!(!cal().is_working_day(d("2026-04-27")));
}

#[test]
fn years_without_data_count_on_the_provisional_calendar() {
    let c = cal();
    assert!(!c.covers(2017));
    assert!((2018..=2026).all(|y| c.covers(y)));
    assert!(!c.covers(2027));
    assert_eq!(c.year_source(2027), YearSource::Provisional);
    // 1/1/2027 is a Friday; with no 2027 file the provisional year gives it off.
    assert!(!c.is_working_day(d("2027-01-01")));
    assert!(!c.is_working_day(d("2027-01-02")));
    // Thu 31/12/2026 09:00 + 2 working days: Fri 1/1/2027 off, Mon 4/1, Tue 5/1/2027 09:00.
    assert_eq!(
        due("2026-12-31T09:00:00+07:00", wd(2)),
        "2027-01-05T09:00:00+07:00"
    );
    // Beyond the provisional range: weekends only. Fri 1/1/2106.
    assert_eq!(c.year_source(2106), YearSource::WeekendsOnly);
    assert!(c.is_working_day(d("2106-01-01")));
    // An empty calendar announces nothing: every year in range is provisional.
    let empty = WorkCalendar::from_json_years(&[]).expect("empty calendar");
    assert!(!empty.covers(2026));
    assert_eq!(empty.year_source(2026), YearSource::Provisional);
    assert!(!empty.is_working_day(d("2026-09-02")));
}

#[test]
fn next_working_start_and_working_time() {
    let c = cal();
    assert_eq!(
        c.next_working_start(at("2026-10-12 06:00")),
        at("2026-10-12 07:00")
    );
    assert_eq!(
        c.next_working_start(at("2026-10-12 09:00")),
        at("2026-10-12 09:00")
    );
    // An interval's end belongs to the break after it.
    assert_eq!(
        c.next_working_start(at("2026-10-12 11:30")),
        at("2026-10-12 13:30")
    );
    assert_eq!(
        c.next_working_start(at("2026-10-12 17:00")),
        at("2026-10-13 07:00")
    );
    assert_eq!(
        c.next_working_start(at("2026-10-16 18:00")),
        at("2026-10-19 07:00")
    );
    // Mon 07:00 to Tue 07:00 is one working day.
    assert_eq!(
        c.working_between(at("2026-10-12 07:00"), at("2026-10-13 07:00")),
        Duration::hours(8)
    );
    // Fri 16:00 to Mon 08:00: 1 h on Friday, 1 h on Monday.
    assert_eq!(
        c.working_between(at("2026-10-16 16:00"), at("2026-10-19 08:00")),
        Duration::hours(2)
    );
    assert_eq!(
        c.working_between(at("2026-10-19 08:00"), at("2026-10-16 16:00")),
        Duration::zero()
    );
    // Zero working time: the next working instant.
    assert_eq!(
        c.add_working(at("2026-10-12 10:00"), Duration::zero()),
        at("2026-10-12 10:00")
    );
    assert_eq!(
        c.add_working(at("2026-10-10 10:00"), Duration::zero()),
        at("2026-10-12 07:00")
    );
    // 4 h 30 from 07:00 is reached at 11:30, returned as 13:30.
    assert_eq!(
        c.add_working(at("2026-10-12 07:00"), Duration::minutes(270)),
        at("2026-10-12 13:30")
    );
    // Negative amounts count as zero.
    assert_eq!(
        due("2026-10-10T10:00:00+07:00", wd(-3)),
        "2026-10-12T07:00:00+07:00"
    );
}

// ---------------------------------------------------------------- working hours

#[test]
fn working_hours_are_validated() {
    let h = WorkingHours::default();
    assert_eq!(h.day_length(), Duration::hours(8));
    assert_eq!((h.opening(), h.closing()), (t("07:00"), t("17:00")));
    assert!(h.contains(t("11:30")) && h.contains(t("13:30")) && !h.contains(t("12:00")));

    let iv = |a: &str, b: &str| Interval {
        start: t(a),
        end: t(b),
    };
    assert_eq!(WorkingHours::new(vec![]), Err(CalendarError::NoHours));
    let e = WorkingHours::new(vec![iv("11:00", "08:00")]).expect_err("reversed");
    assert!(
        matches!(e, CalendarError::BadInterval { index: 0, .. }),
        "{e}"
    );
    let e =
        WorkingHours::new(vec![iv("08:00", "12:00"), iv("11:00", "17:00")]).expect_err("overlap");
    assert!(
        matches!(e, CalendarError::BadInterval { index: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("11:00"), "{e}");
    let e = WorkingHours::new(vec![iv("08:00", "08:00")]).expect_err("empty");
    assert!(
        matches!(e, CalendarError::BadInterval { index: 0, .. }),
        "{e}"
    );

    // From configuration text, "HH:MM".
    let parsed: WorkingHours = serde_json::from_str(
        r#"[{"start": "07:00", "end": "11:30"}, {"start": "13:30", "end": "17:00"}]"#,
    )
    .expect("hours");
    assert_eq!(parsed, WorkingHours::default());
    assert!(
        serde_json::from_str::<WorkingHours>(r#"[{"start": "09:00", "end": "08:00"}]"#).is_err()
    );
}

#[test]
fn other_working_hours() {
    // A 7 h 30 day: 07:30-11:30, 13:00-16:30. One working day is one such day.
    let iv = |a: &str, b: &str| Interval {
        start: t(a),
        end: t(b),
    };
    let hours = WorkingHours::new(vec![iv("07:30", "11:30"), iv("13:00", "16:30")]).expect("hours");
    assert_eq!(hours.day_length(), Duration::minutes(450));
    let c = WorkCalendar::vietnam().with_hours(hours);
    let due = |r: &str, l| c.due(ts(r), l, &DueRule::default()).to_rfc3339();
    assert_eq!(
        due("2026-10-12T09:15:00+07:00", wd(1)),
        "2026-10-13T09:15:00+07:00"
    );
    // 07:00 is before opening: counting starts 07:30.
    assert_eq!(
        due("2026-10-12T07:00:00+07:00", wd(1)),
        "2026-10-13T07:30:00+07:00"
    );
    // 12:00 is lunch: from 13:00.
    assert_eq!(
        due("2026-10-12T12:00:00+07:00", wd(1)),
        "2026-10-13T13:00:00+07:00"
    );
}

// ---------------------------------------------------------------- shipped data

/// The lunar dates given for the project (Tết = 1/1 lunar, Hùng Kings = 10/3 lunar).
const LUNAR: [(i32, &str, &str); 9] = [
    (2018, "2018-02-16", "2018-04-25"),
    (2019, "2019-02-05", "2019-04-14"),
    (2020, "2020-01-25", "2020-04-02"),
    (2021, "2021-02-12", "2021-04-21"),
    (2022, "2022-02-01", "2022-04-10"),
    (2023, "2023-01-22", "2023-04-29"),
    (2024, "2024-02-10", "2024-04-18"),
    (2025, "2025-01-29", "2025-04-07"),
    (2026, "2026-02-17", "2026-04-26"),
];

fn shipped() -> Vec<YearCalendar> {
    VIETNAM_YEARS
        .iter()
        .map(|(year, text)| {
            let y = YearCalendar::from_json(text).unwrap_or_else(|e| panic!("{year}: {e}"));
            assert_eq!(y.year, *year);
            y
        })
        .collect()
}

#[test]
fn every_shipped_year_parses_and_is_complete() {
    let years = shipped();
    assert_eq!(
        years.iter().map(|y| y.year).collect::<Vec<_>>(),
        (2018..=2026).collect::<Vec<_>>()
    );
    for (y, (year, tet, hung)) in years.iter().zip(LUNAR) {
        assert_eq!(
            (y.lunar.tet, y.lunar.hung_kings),
            (d(tet), d(hung)),
            "{year} lunar table"
        );
        // Labour Code 2012 art. 115: 10 days until 2020; Labour Code 2019 art. 112: 11.
        let statutory = if year <= 2020 { 10 } else { 11 };
        assert_eq!(usize::from(y.statutory_holidays), statutory, "{year}");
        let holidays: Vec<NaiveDate> = y
            .days
            .iter()
            .filter(|e| e.kind == DayKind::Holiday)
            .map(|e| e.date)
            .collect();
        assert_eq!(holidays.len(), statutory, "{year}: holiday entries");
        // Accounted for: each holiday is a day off, on a weekday or by a compensatory day.
        let on_weekdays = holidays
            .iter()
            .filter(|h| !matches!(h.weekday(), Weekday::Sat | Weekday::Sun))
            .count();
        let compensatory = y
            .days
            .iter()
            .filter(|e| e.kind == DayKind::Compensatory)
            .count();
        assert_eq!(
            on_weekdays + compensatory,
            statutory,
            "{year}: days off for holidays"
        );
        // The fixed-date holidays, Hùng Kings' day, and five Tết days around the lunar date.
        for (m, day) in [(1, 1), (4, 30), (5, 1), (9, 2)] {
            let date = NaiveDate::from_ymd_opt(year, m, day).expect("date");
            assert!(holidays.contains(&date), "{year}: {date} is a holiday");
        }
        assert!(holidays.contains(&d(hung)), "{year}: Hùng Kings");
        let tet = d(tet);
        let tet_days = holidays
            .iter()
            .filter(|h| (**h - tet).num_days().abs() <= 5)
            .count();
        assert_eq!(tet_days, 5, "{year}: five Tết holidays");
        if year >= 2021 {
            // National Day plus one adjacent day.
            let adjacent = [d(&format!("{year}-09-01")), d(&format!("{year}-09-03"))];
            assert_eq!(
                adjacent.iter().filter(|a| holidays.contains(a)).count(),
                1,
                "{year}"
            );
        }
        for e in &y.days {
            assert!(
                !e.name.trim().is_empty() && !e.source.trim().is_empty(),
                "{year}: {e:?}"
            );
        }
    }
}

#[test]
fn no_date_appears_twice_and_swaps_balance() {
    let mut seen = HashSet::new();
    let (mut bridges, mut saturdays) = (0, 0);
    for y in shipped() {
        for e in &y.days {
            assert!(seen.insert(e.date), "{} listed twice", e.date);
            match e.kind {
                DayKind::BridgeDayOff => bridges += 1,
                DayKind::WorkingSaturday => saturdays += 1,
                _ => {}
            }
        }
    }
    // Every weekday given off by a swap is worked back on a Saturday (the 31/12/2018
    // bridge is balanced by Saturday 5/1/2019, in the next file).
    assert_eq!((bridges, saturdays), (6, 6));
}

// ---------------------------------------------------------------- bad data

fn year_2026() -> serde_json::Value {
    serde_json::from_str(VIETNAM_YEARS[8].1).expect("2026 JSON")
}

fn load(v: &serde_json::Value) -> Result<WorkCalendar, CalendarError> {
    WorkCalendar::from_json_years(&[&v.to_string()])
}

fn days(v: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    v["days"].as_array_mut().expect("days array")
}

#[test]
fn bad_calendar_data_is_rejected_naming_year_date_and_field() {
    // Same date twice.
    let mut v = year_2026();
    let first = days(&mut v)[0].clone();
    days(&mut v).push(first);
    let e = load(&v).expect_err("duplicate");
    assert!(
        matches!(e, CalendarError::DuplicateDate { year: 2026, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("2026-01-01"), "{e}");

    // A working Saturday that is a Friday.
    let mut v = year_2026();
    days(&mut v).push(serde_json::json!({
        "date": "2026-03-06", "kind": "working_saturday", "name": "x", "source": "y"
    }));
    let e = load(&v).expect_err("not a Saturday");
    assert!(
        matches!(
            e,
            CalendarError::WrongWeekday {
                year: 2026,
                kind: DayKind::WorkingSaturday,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("2026-03-06"), "{e}");

    // A bridge day on a Sunday.
    let mut v = year_2026();
    days(&mut v).push(serde_json::json!({
        "date": "2026-03-08", "kind": "bridge_day_off", "name": "x", "source": "y"
    }));
    assert!(matches!(load(&v), Err(CalendarError::WrongWeekday { .. })));

    // A date of another year.
    let mut v = year_2026();
    days(&mut v)[0]["date"] = "2025-12-31".into();
    let e = load(&v).expect_err("outside");
    assert_eq!(
        e.to_string(),
        "calendar year 2026: days[0].date = 2025-12-31 is not in 2026"
    );

    // An unknown kind: the JSON path is named.
    let mut v = year_2026();
    days(&mut v)[2]["kind"] = "holyday".into();
    let e = load(&v).expect_err("kind");
    assert!(
        matches!(&e, CalendarError::Json { file: 0, path, .. } if path == "days[2].kind"),
        "{e}"
    );

    // An unknown field (a typo) is an error, not ignored.
    let mut v = year_2026();
    v["statutory_holiday"] = 11.into();
    assert!(matches!(load(&v), Err(CalendarError::Json { .. })));

    // An empty source.
    let mut v = year_2026();
    days(&mut v)[1]["source"] = "".into();
    let e = load(&v).expect_err("source");
    assert_eq!(e.to_string(), "calendar year 2026: days[1].source is empty");

    // A holiday missing: 10 entries where 11 are statutory.
    let mut v = year_2026();
    days(&mut v).retain(|e| e["date"] != "2026-05-01");
    let e = load(&v).expect_err("count");
    assert_eq!(
        e,
        CalendarError::HolidayCount {
            year: 2026,
            expected: 11,
            found: 10
        }
    );

    // A holiday on a Sunday without its compensatory day.
    let mut v = year_2026();
    days(&mut v).retain(|e| e["date"] != "2026-04-27");
    let e = load(&v).expect_err("compensation");
    assert_eq!(
        e,
        CalendarError::Compensation {
            year: 2026,
            on_rest_days: 1,
            compensatory: 0
        }
    );

    // The lunar table must match a holiday.
    let mut v = year_2026();
    v["lunar"]["hung_kings"] = "2026-04-25".into();
    assert!(matches!(
        load(&v),
        Err(CalendarError::LunarNotHoliday {
            year: 2026,
            field: "hung_kings",
            ..
        })
    ));

    // The same year twice; the file index is named for parse errors.
    let good = year_2026().to_string();
    let e = WorkCalendar::from_json_years(&[&good, &good]).expect_err("twice");
    assert_eq!(e, CalendarError::DuplicateYear { year: 2026 });
    let e = WorkCalendar::from_json_years(&[&good, "{"]).expect_err("bad JSON");
    assert!(matches!(e, CalendarError::Json { file: 1, .. }), "{e}");
}

// ---------------------------------------------------------------- properties

/// An instant between December 2017 and February 2027 (inside and around the data), to
/// the minute.
fn local_instant() -> impl Strategy<Value = NaiveDateTime> {
    (0i64..(9 * 366 + 62) * 24 * 60).prop_map(|m| at("2017-12-01 00:00") + Duration::minutes(m))
}

fn offset() -> impl Strategy<Value = FixedOffset> {
    prop::sample::select(vec![-5 * 3600, 0, 7 * 3600, 9 * 3600])
        .prop_map(|s| FixedOffset::east_opt(s).expect("offset"))
}

fn stamp(local: NaiveDateTime, offset: FixedOffset) -> Timestamp {
    // `local` read in `offset`.
    local
        .and_local_timezone(offset)
        .single()
        .expect("fixed offsets are unambiguous")
}

fn unit() -> impl Strategy<Value = TimeUnit> {
    prop::sample::select(TimeUnit::ALL.to_vec())
}

fn rule() -> impl Strategy<Value = DueRule> {
    (any::<bool>(), prop::option::of(0u32..=10 * 60)).prop_map(|(end_of_day, cut)| DueRule {
        end_of_day,
        same_day_cutoff: cut.map(|m| t("07:00") + Duration::minutes(i64::from(m))),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn add_then_count_is_the_identity(a in local_instant(), minutes in 0i64..=120 * 8 * 60) {
        let d = Duration::minutes(minutes);
        let b = cal().add_working(a, d);
        prop_assert!(b >= a);
        prop_assert_eq!(cal().working_between(a, b), d);
    }

    #[test]
    fn count_then_add_is_the_next_working_instant(a in local_instant(), b in local_instant()) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        let w = cal().working_between(a, b);
        prop_assert_eq!(cal().add_working(a, w), cal().next_working_start(b));
    }

    #[test]
    fn working_time_adds_up(a in local_instant(), b in local_instant(), c in local_instant()) {
        let mut v = [a, b, c];
        v.sort();
        let [a, b, c] = v;
        let c_ = cal();
        prop_assert_eq!(c_.working_between(a, c), c_.working_between(a, b) + c_.working_between(b, c));
    }

    #[test]
    fn due_is_on_a_working_day_inside_working_hours(
        local in local_instant(), off in offset(), amount in 0i32..=60, unit in unit(), rule in rule(),
    ) {
        let due = cal().due(stamp(local, off), TimeLimit { amount, unit }, &rule);
        prop_assert_eq!(due.offset().local_minus_utc(), 7 * 3600);
        let local_due = due.naive_local();
        prop_assert!(cal().is_working_day(local_due.date()), "{} is a day off", local_due);
        prop_assert!(cal().hours().contains(local_due.time()), "{} is outside working hours", local_due);
        prop_assert!(due >= stamp(local, off), "due before receipt");
    }

    #[test]
    fn due_is_monotonic_in_receipt_time(
        a in local_instant(), later in 0i64..=5 * 24 * 60, off_a in offset(), off_b in offset(),
        amount in 0i32..=60, unit in unit(), rule in rule(),
    ) {
        // The second receipt is up to five days after the first (close pairs are where a
        // break can reorder due times), each written in any offset.
        let early = stamp(a, off_a);
        let late = (early + Duration::minutes(later)).with_timezone(&off_b);
        let l = TimeLimit { amount, unit };
        prop_assert!(cal().due(early, l, &rule) <= cal().due(late, l, &rule));
    }

    #[test]
    fn due_is_monotonic_in_amount(
        local in local_instant(), off in offset(), x in 0i32..=60, y in 0i32..=60,
        unit in unit(), rule in rule(),
    ) {
        let (small, big) = (x.min(y), x.max(y));
        let r = stamp(local, off);
        let due = |amount| cal().due(r, TimeLimit { amount, unit }, &rule);
        prop_assert!(due(small) <= due(big));
    }
}
