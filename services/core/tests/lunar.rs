//! The lunar computation and the provisional calendar built on it (docs/CALENDAR.md §7),
//! checked against the shipped announcements and against published Tết dates.
//!
//! Run with `--nocapture` to see, for each shipped year, the days where the announcement
//! differs from the provisional year the Labour Code alone would give.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use motcua_core::calendar::*;
use motcua_core::lunar::{self, LunarCalendar, LunarDate};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn shipped() -> Vec<YearCalendar> {
    VIETNAM_YEARS
        .iter()
        .map(|(_, text)| YearCalendar::from_json(text).expect("shipped year"))
        .collect()
}

/// Tết (1/1 lunar) in Vietnam, as published; facts, not output of the code.
/// - 1968: 29/1 in the North, which had moved to UTC+7 in 1967; 30/1 in the South, still
///   on UTC+8 (Wikipedia, "Vietnamese calendar"; Aslaksen, "The Mathematics of the Chinese
///   Calendar", quoted at wiki.suikawiki.org).
/// - 1985: 21/1, a month before China's 20/2 (Hồ Ngọc Đức, "Vietnamese calendar rules",
///   informatik.uni-leipzig.de/~duc/amlich/calrules_en.html).
/// - 2007: 17/2, China 18/2 (viet-jo.com, 6/7/2006, quoting the government's calendar
///   office).
/// - 2018-2026: the `lunar` table of each shipped file (the announcements).
/// - 2020-2029: the lunar new year dates of the public tables (Wikipedia, "Chinese New
///   Year" dates table), the same in Vietnam those years.
/// - 2030: 2/2, one day before China's 3/2 (scienceinfo.net, "Why is the Vietnamese and
///   Chinese New Year a day different?": in 2030 and 2053 Vietnam has Tết before China).
const REFERENCE_TET: &[(i32, &str)] = &[
    (1968, "1968-01-29"),
    (1985, "1985-01-21"),
    (2007, "2007-02-17"),
    (2018, "2018-02-16"),
    (2019, "2019-02-05"),
    (2020, "2020-01-25"),
    (2021, "2021-02-12"),
    (2022, "2022-02-01"),
    (2023, "2023-01-22"),
    (2024, "2024-02-10"),
    (2025, "2025-01-29"),
    (2026, "2026-02-17"),
    (2027, "2027-02-06"),
    (2028, "2028-01-26"),
    (2029, "2029-02-13"),
    (2030, "2030-02-02"),
];

/// China's lunar new year (UTC+8) where it differs from Vietnam's, from the same sources.
const REFERENCE_TET_UTC8: &[(i32, &str)] = &[
    (1968, "1968-01-30"),
    (1985, "1985-02-20"),
    (2007, "2007-02-18"),
    (2030, "2030-02-03"),
];

#[test]
fn computed_tet_and_hung_kings_are_days_off_in_every_shipped_year() {
    let cal = WorkCalendar::vietnam();
    for year in shipped() {
        let tet = lunar::tet(year.year);
        let hung = lunar::hung_kings(year.year);
        assert_eq!(tet, year.lunar.tet, "{}: Tết", year.year);
        assert_eq!(hung, year.lunar.hung_kings, "{}: Hùng Kings", year.year);
        for date in [tet, hung] {
            let entry = year.days.iter().find(|x| x.date == date);
            assert_eq!(
                entry.map(|x| x.kind),
                Some(DayKind::Holiday),
                "{}: {date} is a holiday in the announcement",
                year.year
            );
            assert!(!cal.is_working_day(date));
        }
    }
}

#[test]
fn tet_matches_the_published_dates() {
    for (year, date) in REFERENCE_TET {
        assert_eq!(lunar::tet(*year), d(date), "Tết {year}");
        // 1/1 lunar of that year, read back.
        let back = lunar::to_lunar(d(date));
        assert_eq!(
            back,
            LunarDate {
                year: *year,
                month: 1,
                leap: false,
                day: 1
            }
        );
    }
    let china = LunarCalendar::with_utc_offset(8);
    for (year, date) in REFERENCE_TET_UTC8 {
        assert_eq!(china.new_year(*year), d(date), "UTC+8 new year {year}");
    }
}

#[test]
fn vietnam_and_china_differ_in_the_published_years_only() {
    // viet-jo.com (6/7/2006, quoting the government's calendar office): since Vietnam's
    // switch to UTC+7 the two new years differed in 1968, 1969 and for the year of the Rat
    // 1984 (whose end, Tết 1985, moved a month), and will again in 2030 and 2053; 2007 is
    // the article's subject.
    let china = LunarCalendar::with_utc_offset(8);
    let differ: Vec<i32> = (1968..=2100)
        .filter(|y| lunar::tet(*y) != china.new_year(*y))
        .collect();
    assert_eq!(differ, vec![1968, 1969, 1985, 2007, 2030, 2053]);
}

#[test]
fn hung_kings_follows_leap_months() {
    // 2023 has a leap 2nd month, so 10/3 is a month later than in 2022's pattern: 29/4.
    assert_eq!(LunarCalendar::VIETNAM.leap_month(2023), Some(2));
    assert_eq!(lunar::hung_kings(2023), d("2023-04-29"));
    // The leap 2nd month of 2023 starts 22/3/2023 and 10/2 (leap) is 31/3/2023.
    let leap2 = LunarDate {
        year: 2023,
        month: 2,
        leap: true,
        day: 1,
    };
    assert_eq!(lunar::to_solar(leap2), Ok(d("2023-03-22")));
    assert_eq!(lunar::to_lunar(d("2023-03-22")), leap2);
    // Hùng Kings' day between 1/4 and 29/4 over the provisional range (never on 30/4).
    for y in PROVISIONAL_YEARS {
        let h = lunar::hung_kings(y);
        assert!(
            (d(&format!("{y}-03-25"))..=d(&format!("{y}-04-29"))).contains(&h),
            "{y}: {h}"
        );
    }
}

/// The announced days off and worked Saturdays of `year` against its provisional year.
struct Diff {
    /// Off in the announcement, worked in the provisional year.
    only_announced: Vec<(NaiveDate, DayKind)>,
    /// Worked in the announcement, off in the provisional year.
    only_provisional: Vec<NaiveDate>,
}

fn diff(announced: &WorkCalendar, provisional: &WorkCalendar, year: i32) -> Diff {
    let mut only_announced = Vec::new();
    let mut only_provisional = Vec::new();
    let mut date = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
    while date.year() == year {
        let (a, p) = (
            announced.is_working_day(date),
            provisional.is_working_day(date),
        );
        if !a && p {
            let kind = announced.day(date).map(|x| x.kind);
            only_announced.push((date, kind.expect("an announced day off is listed")));
        } else if a && !p {
            only_provisional.push(date);
        }
        date = date + Days::new(1);
    }
    Diff {
        only_announced,
        only_provisional,
    }
}

#[test]
fn provisional_years_reproduce_the_shipped_announcements_but_their_swaps() {
    let announced = WorkCalendar::vietnam();
    // No year loaded: every year counts on its provisional year.
    let provisional = WorkCalendar::from_json_years(&[]).expect("empty");
    for year in shipped() {
        let y = year.year;
        assert_eq!(provisional.year_source(y), YearSource::Provisional);
        let derived = YearCalendar::provisional(y).expect("provisional");
        assert!(derived.provisional);
        assert_eq!(derived.statutory_holidays, year.statutory_holidays, "{y}");
        assert_eq!(derived.lunar, year.lunar, "{y}");
        // Holidays and compensatory days: the same dates, the same kinds.
        let by_kind = |c: &YearCalendar| -> BTreeMap<NaiveDate, DayKind> {
            c.days
                .iter()
                .filter(|x| matches!(x.kind, DayKind::Holiday | DayKind::Compensatory))
                .map(|x| (x.date, x.kind))
                .collect()
        };
        assert_eq!(by_kind(&derived), by_kind(&year), "{y}: statutory days");
        // Day by day, the only differences are the announced swaps.
        let diff = diff(&announced, &provisional, y);
        let swaps: Vec<String> = diff
            .only_announced
            .iter()
            .map(|(date, kind)| format!("{date} {kind}"))
            .chain(diff.only_provisional.iter().map(|date| {
                let kind = announced.day(*date).map(|x| x.kind);
                format!("{date} {}", kind.map_or("?".into(), |k| k.to_string()))
            }))
            .collect();
        println!("{y}: announced, not provisional: {swaps:?}");
        for (date, kind) in &diff.only_announced {
            assert_eq!(*kind, DayKind::BridgeDayOff, "{y}: {date}");
        }
        for date in &diff.only_provisional {
            assert_eq!(
                announced.day(*date).map(|x| x.kind),
                Some(DayKind::WorkingSaturday),
                "{y}: {date}"
            );
        }
        let announced_swaps = year
            .days
            .iter()
            .filter(|x| matches!(x.kind, DayKind::BridgeDayOff | DayKind::WorkingSaturday))
            .count();
        assert_eq!(
            diff.only_announced.len() + diff.only_provisional.len(),
            announced_swaps,
            "{y}: every swap and nothing else differs"
        );
    }
}

#[test]
fn every_year_of_the_range_derives_and_checks() {
    for y in PROVISIONAL_YEARS {
        let c = YearCalendar::provisional(y).unwrap_or_else(|e| panic!("{y}: {e}"));
        assert!(c.provisional);
        c.validate().expect("valid");
        assert!(c.days.iter().all(|x| x.source.starts_with("provisional: ")));
        assert!(!c
            .days
            .iter()
            .any(|x| matches!(x.kind, DayKind::BridgeDayOff | DayKind::WorkingSaturday)));
    }
    assert_eq!(
        YearCalendar::provisional(2101),
        Err(CalendarError::NoProvisional { year: 2101 })
    );
    assert!(YearCalendar::provisional(2013).is_err());
}

#[test]
fn years_after_the_shipped_ones_are_provisional() {
    let cal = WorkCalendar::vietnam();
    for y in [2027, 2030] {
        assert!(!cal.covers(y), "{y} is not announced");
        assert_eq!(cal.year_source(y), YearSource::Provisional);
        let year = cal.year(y).expect("a provisional year");
        assert!(year.provisional);
        // Marked in the data: the serialised year says so.
        let json = serde_json::to_string(year).expect("json");
        assert!(json.contains("\"provisional\":true"), "{json}");
    }
    let off = |s: &str| !cal.is_working_day(d(s));
    // 2027: Tết Saturday 6/2: Thu 4/2 to Mon 8/2, compensatory Tue 9 and Wed 10; Thu 11 worked.
    assert!([
        "2027-02-04",
        "2027-02-05",
        "2027-02-08",
        "2027-02-09",
        "2027-02-10"
    ]
    .iter()
    .all(|s| off(s)));
    assert!(!off("2027-02-03") && !off("2027-02-11"));
    // Hùng Kings Friday 16/4/2027; 30/4 Friday; 1/5 Saturday -> Monday 3/5 compensatory.
    assert!(off("2027-04-16") && off("2027-04-30") && off("2027-05-03"));
    assert!(!off("2027-05-04"));
    // 2/9/2027 Thursday: 3/9 adjacent.
    assert!(off("2027-09-02") && off("2027-09-03"));
    assert!(!off("2027-09-01"));
    // 2030: Tết Saturday 2/2 (a day before China's): Thu 31/1 to Mon 4/2, Tue 5, Wed 6 off.
    assert!(off("2030-01-31") && off("2030-02-05") && off("2030-02-06"));
    assert!(!off("2030-02-07") && !off("2030-01-30"));
    // 2/9/2030 Monday: 3/9 adjacent.
    assert_eq!(d("2030-09-02").weekday(), Weekday::Mon);
    assert!(off("2030-09-03") && !off("2030-09-04"));
    // A provisional file cannot be loaded as if announced.
    let text = serde_json::to_string(cal.year(2027).expect("2027")).expect("json");
    assert_eq!(
        WorkCalendar::from_json_years(&[&text]).err(),
        Some(CalendarError::ProvisionalLoaded { year: 2027 })
    );
}

#[test]
fn an_announced_file_replaces_the_provisional_year() {
    // A made-up announcement for 2027: the provisional days plus a swap (Wed 3/2 off,
    // Sat 30/1 worked), as a real notice would add.
    let mut year = YearCalendar::provisional(2027).expect("2027");
    year.provisional = false;
    for day in &mut year.days {
        day.source = "test announcement".into();
    }
    for (date, kind) in [
        ("2027-02-03", DayKind::BridgeDayOff),
        ("2027-01-30", DayKind::WorkingSaturday),
    ] {
        year.days.push(CalendarDay {
            date: d(date),
            kind,
            name: "swap".into(),
            source: "test announcement".into(),
        });
    }
    let text = serde_json::to_string(&year).expect("json");
    assert!(
        !text.contains("provisional"),
        "announced files carry no flag"
    );
    let mut texts: Vec<&str> = VIETNAM_YEARS.iter().map(|(_, t)| *t).collect();
    texts.push(&text);
    let cal = WorkCalendar::from_json_years(&texts).expect("with 2027");
    assert!(cal.covers(2027));
    assert_eq!(cal.year_source(2027), YearSource::Announced);
    assert!(!cal.year(2027).expect("2027").provisional);
    assert!(!cal.is_working_day(d("2027-02-03")));
    assert!(cal.is_working_day(d("2027-01-30")));
    assert_eq!(
        cal.day(d("2027-02-03")).map(|x| x.source.as_str()),
        Some("test announcement")
    );
    // Without it, the provisional year: 3/2 worked, 30/1 a Saturday off.
    let shipped = WorkCalendar::vietnam();
    assert!(shipped.is_working_day(d("2027-02-03")));
    assert!(!shipped.is_working_day(d("2027-01-30")));
    // 2028 stays provisional either way.
    assert_eq!(cal.year_source(2028), YearSource::Provisional);
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    let first = d("1900-03-01");
    let last = d("2100-11-30");
    (0..=(last - first).num_days()).prop_map(move |n| first + Days::new(n as u64))
}

proptest! {
    #[test]
    fn solar_lunar_solar_round_trip(date in any_date()) {
        let l = lunar::to_lunar(date);
        prop_assert!((1..=12).contains(&l.month) && (1..=30).contains(&l.day));
        prop_assert_eq!(lunar::to_solar(l), Ok(date));
        // The next day is the next lunar day, or day 1 of the next month.
        let next = lunar::to_lunar(date + Days::new(1));
        prop_assert!(next.day == l.day + 1 || (next.day == 1 && (l.day == 29 || l.day == 30)));
    }

    #[test]
    fn lunar_solar_lunar_round_trip(
        year in 1901i32..=2099,
        month in 1u32..=12,
        leap in any::<bool>(),
        day in 1u32..=30,
    ) {
        let l = LunarDate { year, month, leap, day };
        match lunar::to_solar(l) {
            Ok(date) => prop_assert_eq!(lunar::to_lunar(date), l),
            Err(_) => {
                // Only day 30 of a short month, or a leap month the year lacks.
                prop_assert!(
                    day == 30 || (leap && LunarCalendar::VIETNAM.leap_month(year) != Some(month))
                );
            }
        }
    }

    #[test]
    fn tet_falls_between_21_january_and_20_february(year in 1900i32..=2100) {
        let t = lunar::tet(year);
        let window = d(&format!("{year}-01-21"))..=d(&format!("{year}-02-20"));
        prop_assert!(window.contains(&t), "{} {}", year, t);
    }
}
