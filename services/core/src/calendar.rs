//! The working-day calendar and legal due times (domain.md §4 and §8, docs/CALENDAR.md).
//!
//! Which days are worked is **data**, one file per year (`data/calendar/vn/<year>.json`):
//! the public holidays of the Labour Code, the compensatory days, and each year's announced
//! swaps (a weekday bridge given off, a Saturday worked in exchange). Lunar dates (Tết,
//! Hùng Kings' day) come from the file's `lunar` table; nothing here knows a date by heart.
//!
//! A year with no announced file, within [`PROVISIONAL_YEARS`], gets a **provisional** year
//! derived from the Labour Code ([`YearCalendar::provisional`]): the statutory holidays, Tết
//! and Hùng Kings' day from [`crate::lunar`], a compensatory day for each holiday on a
//! weekend, no swaps. An announced file always replaces it; [`WorkCalendar::covers`] stays
//! "an announced year is loaded", so a figure that counted on a provisional year says so.
//! The time counted inside a working day is [`WorkingHours`], configurable, by default
//! 07:00-11:30 and 13:30-17:00 (8 hours).
//!
//! Invariants (all tested, `services/core/tests/calendar.rs`):
//! - A working day is Monday to Friday unless the loaded data gives it off, or a Saturday
//!   the data lists as worked. Years with no announced data count on their provisional
//!   year; only years outside [`PROVISIONAL_YEARS`] count weekends only
//!   ([`WorkCalendar::year_source`]).
//! - Working time is the measure of the instants that lie on a working day inside a
//!   working interval. [`WorkCalendar::working_between`] counts it over `[a, b)`;
//!   [`WorkCalendar::add_working`] returns the *working instant* at which that count reaches
//!   the asked duration (the start of the next interval when it is reached exactly at an
//!   interval's end), so `working_between(a, add_working(a, d)) == d` for every `d >= 0`,
//!   and N working days after a receipt at 09:15 is 09:15 N working days later.
//! - A due time from [`WorkCalendar::due`] is in +07:00, on a working day and inside a
//!   working interval (ends included), whatever the offset of the receipt time.
//! - `due` never decreases when the receipt time or the amount grows.
//! - Loaded data is checked: every date in its year, listed once, each kind on a weekday
//!   where it makes sense, the statutory holidays all present and each one falling on a
//!   weekend compensated; an error names the year, the date and the field.
//!
//! Nothing here reads the clock or the disk: the shipped years are compiled in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{Days, Weekday};
use serde::{Deserialize, Serialize};

use crate::event::{TimeLimit, TimeUnit, Timestamp};
use crate::fold::{local_time, vietnam_instant};
use crate::lunar;

/// The calendar years shipped with motcua, as `(year, JSON text)`, oldest first.
pub const VIETNAM_YEARS: &[(i32, &str)] = &[
    (2018, include_str!("../../../data/calendar/vn/2018.json")),
    (2019, include_str!("../../../data/calendar/vn/2019.json")),
    (2020, include_str!("../../../data/calendar/vn/2020.json")),
    (2021, include_str!("../../../data/calendar/vn/2021.json")),
    (2022, include_str!("../../../data/calendar/vn/2022.json")),
    (2023, include_str!("../../../data/calendar/vn/2023.json")),
    (2024, include_str!("../../../data/calendar/vn/2024.json")),
    (2025, include_str!("../../../data/calendar/vn/2025.json")),
    (2026, include_str!("../../../data/calendar/vn/2026.json")),
];

/// The years for which a provisional calendar is derived when no announcement is loaded.
/// From 2014, the first full year of the Labour Code 2012 (in force 1/5/2013, five days of
/// Tết), to 2100, the end of the range the lunar computation is tested on; other years with
/// no file count weekends only.
pub const PROVISIONAL_YEARS: RangeInclusive<i32> = 2014..=2100;

/// Largest limit amount [`WorkCalendar::due`] counts; larger amounts are counted as this.
/// Validation already rejects limits above 3650 units; the cap only keeps a bad value
/// from walking the calendar for ever.
pub const MAX_LIMIT_AMOUNT: i32 = 36_500;

/// Bad calendar data or working hours. Each variant names the year, date and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A year file is not JSON of the expected shape.
    #[error("calendar file {file}: {path}: {message}")]
    Json {
        /// Position of the file in the list handed to [`WorkCalendar::from_json_years`]
        /// (0 for [`YearCalendar::from_json`]).
        file: usize,
        /// Where in the document, e.g. `days[3].kind`.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// Two files describe the same year.
    #[error("calendar year {year} is given twice")]
    DuplicateYear {
        /// The year.
        year: i32,
    },
    /// A date is not in the file's year.
    #[error("calendar year {year}: {field} = {date} is not in {year}")]
    OutsideYear {
        /// The file's year.
        year: i32,
        /// The field, e.g. `days[4].date` or `lunar.tet`.
        field: String,
        /// The offending date.
        date: NaiveDate,
    },
    /// A date is listed twice.
    #[error("calendar year {year}: {date} is listed twice (days[{first}] and days[{second}])")]
    DuplicateDate {
        /// The file's year.
        year: i32,
        /// The date.
        date: NaiveDate,
        /// Index of the first entry.
        first: usize,
        /// Index of the second entry.
        second: usize,
    },
    /// A kind is on a weekday where it means nothing (a worked Sunday, a bridge on a Saturday).
    #[error(
        "calendar year {year}: days[{index}].kind = {kind} on {date}, a {weekday}: \
         {kind} must fall on {expected}"
    )]
    WrongWeekday {
        /// The file's year.
        year: i32,
        /// Index of the entry.
        index: usize,
        /// The date.
        date: NaiveDate,
        /// Its kind.
        kind: DayKind,
        /// Its weekday.
        weekday: Weekday,
        /// Which weekdays the kind allows.
        expected: &'static str,
    },
    /// A required text is empty.
    #[error("calendar year {year}: {field} is empty")]
    EmptyField {
        /// The file's year.
        year: i32,
        /// The field, e.g. `days[2].source`.
        field: String,
    },
    /// The number of `holiday` entries differs from `statutory_holidays`.
    #[error("calendar year {year}: {found} holiday entries, statutory_holidays says {expected}")]
    HolidayCount {
        /// The file's year.
        year: i32,
        /// `statutory_holidays`.
        expected: u8,
        /// Entries of kind `holiday`.
        found: usize,
    },
    /// Holidays falling on a Saturday or Sunday are not matched by compensatory days.
    #[error(
        "calendar year {year}: {on_rest_days} holidays fall on a Saturday or Sunday \
         but {compensatory} compensatory days are listed"
    )]
    Compensation {
        /// The file's year.
        year: i32,
        /// Holidays on a Saturday or Sunday.
        on_rest_days: usize,
        /// Entries of kind `compensatory`.
        compensatory: usize,
    },
    /// A lunar date of the `lunar` table is not listed as a holiday.
    #[error("calendar year {year}: lunar.{field} = {date} is not listed as a holiday")]
    LunarNotHoliday {
        /// The file's year.
        year: i32,
        /// `tet` or `hung_kings`.
        field: &'static str,
        /// The date.
        date: NaiveDate,
    },
    /// A year outside [`PROVISIONAL_YEARS`] was asked for a provisional calendar.
    #[error(
        "calendar year {year}: no provisional calendar outside {first}-{last}, \
         load the announced file",
        first = PROVISIONAL_YEARS.start(),
        last = PROVISIONAL_YEARS.end()
    )]
    NoProvisional {
        /// The year.
        year: i32,
    },
    /// A file marked `provisional` was handed to the loader, which takes announced years
    /// only (provisional ones are derived, not loaded).
    #[error("calendar year {year}: the file is marked provisional; only announced years load")]
    ProvisionalLoaded {
        /// The year.
        year: i32,
    },
    /// Working hours with no interval.
    #[error("working hours: at least one interval is needed")]
    NoHours,
    /// A working-hours interval that is empty, reversed, or overlaps the one before.
    #[error("working hours: interval {index} ({start}-{end}): {problem}")]
    BadInterval {
        /// Index of the interval.
        index: usize,
        /// Its start.
        start: NaiveTime,
        /// Its end.
        end: NaiveTime,
        /// What is wrong.
        problem: &'static str,
    },
}

/// What a listed date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday of the Labour Code (may fall on a weekend).
    Holiday,
    /// A weekday given off because a holiday fell on a Saturday or Sunday.
    Compensatory,
    /// A weekday given off by an announced swap, worked back on a Saturday.
    BridgeDayOff,
    /// A Saturday worked in exchange for a bridge day off.
    WorkingSaturday,
}

impl DayKind {
    /// The symbol used in the data files.
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Compensatory => "compensatory",
            DayKind::BridgeDayOff => "bridge_day_off",
            DayKind::WorkingSaturday => "working_saturday",
        }
    }

    /// True for the kinds that take a day off.
    pub fn is_day_off(self) -> bool {
        !matches!(self, DayKind::WorkingSaturday)
    }
}

impl fmt::Display for DayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One listed date of a year file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDay {
    /// The date.
    pub date: NaiveDate,
    /// What it is.
    pub kind: DayKind,
    /// Human name, e.g. "Quốc khánh 2/9 (National Day)".
    pub name: String,
    /// The law or announcement it comes from; "unconfirmed: ..." says what is not verified.
    pub source: String,
}

/// The lunar dates a year's holidays hang on, as Gregorian dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LunarDates {
    /// Tết: the 1st day of the 1st lunar month.
    pub tet: NaiveDate,
    /// Hùng Kings' day: the 10th day of the 3rd lunar month.
    pub hung_kings: NaiveDate,
}

/// One year file, `data/calendar/vn/<year>.json` (format in docs/CALENDAR.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearCalendar {
    /// The Gregorian year; every date of the file is in it.
    pub year: i32,
    /// The statute that fixes the holidays, e.g. "Bộ luật Lao động 2019, Điều 112 (11 ngày)".
    pub statute: String,
    /// How many paid public holidays the statute gives (10 until 2020, 11 from 2021).
    pub statutory_holidays: u8,
    /// Tết and Hùng Kings' day of this year.
    pub lunar: LunarDates,
    /// Every date that is not an ordinary weekday or weekend day, in any order.
    pub days: Vec<CalendarDay>,
    /// True for a year derived from the Labour Code by [`YearCalendar::provisional`], not
    /// announced; absent (false) in the announced files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// Where a year's working days come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YearSource {
    /// An announced year file is loaded.
    Announced,
    /// No announcement is loaded; the year is derived from the Labour Code.
    Provisional,
    /// Outside [`PROVISIONAL_YEARS`] with no file: weekends only are days off.
    WeekendsOnly,
}

/// The provisional years, derived once per process (a pure function of the year).
fn provisional_years() -> &'static BTreeMap<i32, YearCalendar> {
    static YEARS: OnceLock<BTreeMap<i32, YearCalendar>> = OnceLock::new();
    YEARS.get_or_init(|| {
        PROVISIONAL_YEARS
            .filter_map(|y| YearCalendar::provisional(y).ok().map(|c| (y, c)))
            .collect()
    })
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl YearCalendar {
    /// The provisional calendar of `year`, derived from the Labour Code for a year whose
    /// announcement is not loaded (docs/CALENDAR.md §7), marked [`Self::provisional`]:
    /// - 1/1; Hùng Kings' day (10/3 lunar); 30/4; 1/5; 2/9 (Labour Code 2019 art. 112,
    ///   from 2021; Labour Code 2012 art. 115 before, without the day adjacent to 2/9);
    /// - Tết, five days: the last two days of the lunar year and the first three of the new
    ///   one, unless those include a weekend day and the last day plus the first four fall
    ///   on Monday to Friday (Tết on a Tuesday), then those;
    /// - from 2021, the day adjacent to 2/9: 3/9 when 2/9 is a Sunday, Monday or Thursday
    ///   (so the break touches a weekend, or 1/9 would be a Sunday), 1/9 otherwise;
    /// - for each holiday on a Saturday or Sunday, in date order, the next weekday not
    ///   already off is compensatory (art. 111.3; 2012 art. 115.3);
    /// - no bridge days, no working Saturdays: swaps exist only when announced.
    ///
    /// The rules reproduce the days off of every shipped year except the announced swaps
    /// (tested in `services/core/tests/lunar.rs`).
    pub fn provisional(year: i32) -> Result<Self, CalendarError> {
        if !PROVISIONAL_YEARS.contains(&year) {
            return Err(CalendarError::NoProvisional { year });
        }
        let date =
            |m, d| NaiveDate::from_ymd_opt(year, m, d).ok_or(CalendarError::NoProvisional { year });
        let (statute, statutory_holidays, holiday_law, compensatory_law) = if year >= 2021 {
            (
                "Bộ luật Lao động 2019, Điều 112 (11 ngày)",
                11,
                "Bộ luật Lao động 2019, Điều 112 khoản 1",
                "Bộ luật Lao động 2019, Điều 111 khoản 3 (nghỉ bù ngày làm việc kế tiếp)",
            )
        } else {
            (
                "Bộ luật Lao động 2012, Điều 115 (10 ngày)",
                10,
                "Bộ luật Lao động 2012, Điều 115 khoản 1",
                "Bộ luật Lao động 2012, Điều 115 khoản 3 (nghỉ bù ngày kế tiếp)",
            )
        };
        let source = |law: &str| {
            format!("provisional: derived from {law}; not announced (docs/CALENDAR.md §7)")
        };
        let tet = lunar::tet(year);
        let hung_kings = lunar::hung_kings(year);
        let mut holidays: Vec<(NaiveDate, String)> =
            vec![(date(1, 1)?, "Tết Dương lịch (New Year's Day)".into())];
        let span = |before: u64| -> Vec<NaiveDate> {
            (0..5u64)
                .filter_map(|i| (tet - Days::new(before)).checked_add_days(Days::new(i)))
                .collect()
        };
        let two_three = span(2);
        let one_four = span(1);
        let weekdays_only = |days: &[NaiveDate]| days.iter().all(|d| !is_weekend(*d));
        let tet_days = if !weekdays_only(&two_three) && weekdays_only(&one_four) {
            one_four
        } else {
            two_three
        };
        for d in tet_days {
            let name = if d < tet {
                "Tết Nguyên đán: ngày cuối năm Âm lịch (Lunar New Year, eve)".to_string()
            } else {
                let n = (d - tet).num_days() + 1;
                format!("Tết Nguyên đán: mùng {n} (Lunar New Year, day {n})")
            };
            holidays.push((d, name));
        }
        holidays.push((
            hung_kings,
            "Giỗ Tổ Hùng Vương, 10/3 Âm lịch (Hùng Kings' Commemoration)".into(),
        ));
        holidays.push((
            date(4, 30)?,
            "Ngày Chiến thắng 30/4 (Reunification Day)".into(),
        ));
        holidays.push((
            date(5, 1)?,
            "Ngày Quốc tế Lao động 1/5 (International Labour Day)".into(),
        ));
        let national_day = date(9, 2)?;
        holidays.push((national_day, "Quốc khánh 2/9 (National Day)".into()));
        if year >= 2021 {
            let adjacent = match national_day.weekday() {
                Weekday::Sun | Weekday::Mon | Weekday::Thu => date(9, 3)?,
                _ => date(9, 1)?,
            };
            holidays.push((
                adjacent,
                "Quốc khánh: ngày liền kề (National Day, adjacent day)".into(),
            ));
        }
        holidays.sort_by_key(|(d, _)| *d);
        let mut off: HashSet<NaiveDate> = holidays.iter().map(|(d, _)| *d).collect();
        let mut days: Vec<CalendarDay> = Vec::new();
        for (d, name) in &holidays {
            days.push(CalendarDay {
                date: *d,
                kind: DayKind::Holiday,
                name: name.clone(),
                source: source(holiday_law),
            });
        }
        for (d, name) in &holidays {
            if !is_weekend(*d) {
                continue;
            }
            let mut c = *d;
            while is_weekend(c) || off.contains(&c) {
                c = c.succ_opt().ok_or(CalendarError::NoProvisional { year })?;
            }
            off.insert(c);
            days.push(CalendarDay {
                date: c,
                kind: DayKind::Compensatory,
                name: format!("Nghỉ bù (compensatory for {name}, {})", d.format("%d/%m")),
                source: source(compensatory_law),
            });
        }
        days.sort_by_key(|d| d.date);
        let calendar = YearCalendar {
            year,
            statute: statute.into(),
            statutory_holidays,
            lunar: LunarDates { tet, hung_kings },
            days,
            provisional: true,
        };
        calendar.validate()?;
        Ok(calendar)
    }

    /// Parses and checks one year file.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        Self::parse(0, text)
    }

    fn parse(file: usize, text: &str) -> Result<Self, CalendarError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let year: YearCalendar =
            serde_path_to_error::deserialize(&mut de).map_err(|e| CalendarError::Json {
                file,
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        de.end().map_err(|e| CalendarError::Json {
            file,
            path: ".".into(),
            message: e.to_string(),
        })?;
        year.validate()?;
        Ok(year)
    }

    /// Checks the rules listed in the module documentation; the first broken one is returned.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let year = self.year;
        if self.statute.trim().is_empty() {
            return Err(CalendarError::EmptyField {
                year,
                field: "statute".into(),
            });
        }
        for (field, date) in [
            ("lunar.tet", self.lunar.tet),
            ("lunar.hung_kings", self.lunar.hung_kings),
        ] {
            if date.year() != year {
                return Err(CalendarError::OutsideYear {
                    year,
                    field: field.into(),
                    date,
                });
            }
        }
        let mut seen: HashMap<NaiveDate, usize> = HashMap::new();
        for (index, day) in self.days.iter().enumerate() {
            if day.date.year() != year {
                return Err(CalendarError::OutsideYear {
                    year,
                    field: format!("days[{index}].date"),
                    date: day.date,
                });
            }
            if let Some(&first) = seen.get(&day.date) {
                return Err(CalendarError::DuplicateDate {
                    year,
                    date: day.date,
                    first,
                    second: index,
                });
            }
            seen.insert(day.date, index);
            for (field, text) in [("name", &day.name), ("source", &day.source)] {
                if text.trim().is_empty() {
                    return Err(CalendarError::EmptyField {
                        year,
                        field: format!("days[{index}].{field}"),
                    });
                }
            }
            let weekday = day.date.weekday();
            let expected = match day.kind {
                DayKind::Holiday => None,
                DayKind::WorkingSaturday => (weekday != Weekday::Sat).then_some("a Saturday"),
                DayKind::Compensatory | DayKind::BridgeDayOff => {
                    is_weekend(day.date).then_some("Monday to Friday")
                }
            };
            if let Some(expected) = expected {
                return Err(CalendarError::WrongWeekday {
                    year,
                    index,
                    date: day.date,
                    kind: day.kind,
                    weekday,
                    expected,
                });
            }
        }
        let holidays: Vec<NaiveDate> = self
            .days
            .iter()
            .filter(|d| d.kind == DayKind::Holiday)
            .map(|d| d.date)
            .collect();
        if holidays.len() != usize::from(self.statutory_holidays) {
            return Err(CalendarError::HolidayCount {
                year,
                expected: self.statutory_holidays,
                found: holidays.len(),
            });
        }
        let on_rest_days = holidays.iter().filter(|d| is_weekend(**d)).count();
        let compensatory = self
            .days
            .iter()
            .filter(|d| d.kind == DayKind::Compensatory)
            .count();
        if on_rest_days != compensatory {
            return Err(CalendarError::Compensation {
                year,
                on_rest_days,
                compensatory,
            });
        }
        for (field, date) in [
            ("tet", self.lunar.tet),
            ("hung_kings", self.lunar.hung_kings),
        ] {
            if !holidays.contains(&date) {
                return Err(CalendarError::LunarNotHoliday { year, field, date });
            }
        }
        Ok(())
    }
}

/// One span of working time within a day, `start` inclusive, `end` exclusive for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// When work starts, e.g. 07:00.
    pub start: NaiveTime,
    /// When work stops, e.g. 11:30; after `start`.
    pub end: NaiveTime,
}

const fn hm(hour: u32, min: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, min, 0) {
        Some(t) => t,
        None => panic!("invalid constant time"),
    }
}

/// The working intervals of every working day, in order, not overlapping.
/// Serialised as a list of `{ "start": "07:00", "end": "11:30" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Interval>", into = "Vec<Interval>")]
pub struct WorkingHours {
    /// Checked by [`WorkingHours::new`]: non-empty, each non-empty, increasing, disjoint.
    intervals: Vec<Interval>,
}

impl Default for WorkingHours {
    /// 07:00-11:30 and 13:30-17:00: 8 hours (domain.md §4).
    fn default() -> Self {
        WorkingHours {
            intervals: vec![
                Interval {
                    start: hm(7, 0),
                    end: hm(11, 30),
                },
                Interval {
                    start: hm(13, 30),
                    end: hm(17, 0),
                },
            ],
        }
    }
}

impl WorkingHours {
    /// Checks and wraps intervals: at least one, each with `start < end`, each starting at
    /// or after the end of the one before.
    pub fn new(intervals: Vec<Interval>) -> Result<Self, CalendarError> {
        if intervals.is_empty() {
            return Err(CalendarError::NoHours);
        }
        for (index, i) in intervals.iter().enumerate() {
            let bad = |problem| CalendarError::BadInterval {
                index,
                start: i.start,
                end: i.end,
                problem,
            };
            if i.start >= i.end {
                return Err(bad("start must be before end"));
            }
            if index > 0 && i.start < intervals[index - 1].end {
                return Err(bad("starts before the previous interval ends"));
            }
        }
        Ok(WorkingHours { intervals })
    }

    /// The intervals, in order.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// Working time in one working day; one working day of a limit is this long.
    pub fn day_length(&self) -> Duration {
        self.intervals.iter().map(|i| i.end - i.start).sum()
    }

    /// Start of the first interval.
    pub fn opening(&self) -> NaiveTime {
        self.intervals[0].start
    }

    /// End of the last interval.
    pub fn closing(&self) -> NaiveTime {
        self.intervals[self.intervals.len() - 1].end
    }

    /// True if `t` lies in an interval, both ends included.
    pub fn contains(&self, t: NaiveTime) -> bool {
        self.intervals.iter().any(|i| i.start <= t && t <= i.end)
    }
}

impl TryFrom<Vec<Interval>> for WorkingHours {
    type Error = CalendarError;
    fn try_from(intervals: Vec<Interval>) -> Result<Self, CalendarError> {
        WorkingHours::new(intervals)
    }
}

impl From<WorkingHours> for Vec<Interval> {
    fn from(h: WorkingHours) -> Self {
        h.intervals
    }
}

/// How a procedure turns a limit into a due time (one province's convention differs from
/// another's; the procedure catalogue picks one per procedure). The default is the exact
/// working-time instant with no cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DueRule {
    /// Move the due time to the closing time (17:00) of the working day it falls on, as
    /// some provincial systems do: a dossier received on a working day with N working days
    /// is then due at the close of the N-th working day after the receipt day. Default
    /// `false`.
    pub end_of_day: bool,
    /// Cut-off of a same-day procedure, e.g. 15:00. When set, a `WORKING_DAYS` limit of N
    /// is counted by date: day 1 is the day counting starts if it starts before the
    /// cut-off, otherwise the next working day; the dossier is due at the close of day N
    /// (N = 0 counts as 1), so a same-day dossier received at 15:30 is due at the close of
    /// the next working day. For hour and calendar-day limits the cut-off only moves the
    /// start to the next working morning. Default `None`.
    pub same_day_cutoff: Option<NaiveTime>,
}

/// Which days are worked and which hours count: the loaded years plus working hours.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    /// The loaded year files, by year.
    years: BTreeMap<i32, YearCalendar>,
    /// Every listed date of every loaded year, and of the provisional year of every year in
    /// [`PROVISIONAL_YEARS`] with no loaded file, for quick look-up.
    days: HashMap<NaiveDate, DayKind>,
    /// The hours counted on a working day.
    hours: WorkingHours,
}

impl WorkCalendar {
    /// The shipped Vietnamese calendar, 2018-2026 ([`VIETNAM_YEARS`]), default hours.
    ///
    /// # Panics
    /// Never with the shipped files: they are compiled in and checked by the tests, so a
    /// failure here is a build defect, not bad input.
    pub fn vietnam() -> Self {
        let texts: Vec<&str> = VIETNAM_YEARS.iter().map(|(_, t)| *t).collect();
        match Self::from_json_years(&texts) {
            Ok(calendar) => calendar,
            Err(e) => panic!("shipped calendar data is invalid: {e}"),
        }
    }

    /// Parses and checks any number of year files (one year each), default hours.
    pub fn from_json_years(texts: &[&str]) -> Result<Self, CalendarError> {
        let years = texts
            .iter()
            .enumerate()
            .map(|(file, text)| YearCalendar::parse(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_years(years)
    }

    /// Builds a calendar from announced year data already in memory, checking each year.
    /// Every year of [`PROVISIONAL_YEARS`] not given here counts on its provisional year.
    pub fn from_years(years: Vec<YearCalendar>) -> Result<Self, CalendarError> {
        let mut by_year = BTreeMap::new();
        let mut days = HashMap::new();
        for year in years {
            year.validate()?;
            if year.provisional {
                return Err(CalendarError::ProvisionalLoaded { year: year.year });
            }
            if by_year.contains_key(&year.year) {
                return Err(CalendarError::DuplicateYear { year: year.year });
            }
            for day in &year.days {
                days.insert(day.date, day.kind);
            }
            by_year.insert(year.year, year);
        }
        // The announced file wins: a provisional year fills only a year with no file.
        for (year, provisional) in provisional_years() {
            if !by_year.contains_key(year) {
                for day in &provisional.days {
                    days.insert(day.date, day.kind);
                }
            }
        }
        Ok(WorkCalendar {
            years: by_year,
            days,
            hours: WorkingHours::default(),
        })
    }

    /// The same calendar with other working hours.
    pub fn with_hours(mut self, hours: WorkingHours) -> Self {
        self.hours = hours;
        self
    }

    /// The working hours in use.
    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// True if the announced data for `year` is loaded. Other years count on their
    /// provisional year ([`YearCalendar::provisional`]), or weekends only outside
    /// [`PROVISIONAL_YEARS`]; a figure that counted on them is flagged `off_calendar`.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Where the working days of `year` come from.
    pub fn year_source(&self, year: i32) -> YearSource {
        if self.covers(year) {
            YearSource::Announced
        } else if provisional_years().contains_key(&year) {
            YearSource::Provisional
        } else {
            YearSource::WeekendsOnly
        }
    }

    /// The loaded (announced) years, oldest first.
    pub fn years(&self) -> impl Iterator<Item = &YearCalendar> {
        self.years.values()
    }

    /// The year counted on for `year`: the announced one if loaded, else the provisional
    /// one ([`YearCalendar::provisional`] is true), else none (weekends only).
    pub fn year(&self, year: i32) -> Option<&YearCalendar> {
        self.years
            .get(&year)
            .or_else(|| provisional_years().get(&year))
    }

    /// The data entry for `date`, if the date is listed (announced or provisional).
    pub fn day(&self, date: NaiveDate) -> Option<&CalendarDay> {
        self.year(date.year())?.days.iter().find(|d| d.date == date)
    }

    /// True if `date` is worked: Monday to Friday unless listed as a day off, or a listed
    /// working Saturday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(kind) => !kind.is_day_off(),
            None => !is_weekend(date),
        }
    }

    /// The first working day strictly after `date` (`NaiveDate::MAX` past the end of time).
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            match d.succ_opt() {
                Some(next) => d = next,
                None => return NaiveDate::MAX,
            }
            if self.is_working_day(d) {
                return d;
            }
        }
    }

    /// Where counting starts for something that arrives at local time `t`: `t` itself
    /// inside working hours, else the next interval start (after closing: the next working
    /// morning; at lunch: 13:30). An interval's end belongs to the break after it.
    pub fn next_working_start(&self, t: NaiveDateTime) -> NaiveDateTime {
        let mut date = t.date();
        let mut from = t.time();
        loop {
            if self.is_working_day(date) {
                if let Some(i) = self.hours.intervals.iter().find(|i| from < i.end) {
                    return date.and_time(from.max(i.start));
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return NaiveDateTime::MAX,
            }
            from = NaiveTime::MIN;
        }
    }

    /// The local instant at which `working` working time has elapsed since `start`, as a
    /// *working instant*: when the count is reached exactly at the end of an interval, the
    /// result is the start of the next one (11:30 becomes 13:30, 17:00 the next working
    /// morning), so that N working days after 09:15 is 09:15 and after 07:00 is 07:00.
    /// Zero (or negative) working time gives [`Self::next_working_start`] of `start`.
    pub fn add_working(&self, start: NaiveDateTime, working: Duration) -> NaiveDateTime {
        let reached = self.reach_working(start, working);
        self.next_working_start(reached)
    }

    /// The earliest instant at which `working` working time has elapsed since `start`
    /// (an interval's end stays the end: 17:00 + 0 is 17:00). `start` itself for zero.
    /// This is how a due time is *extended* by a pause: a dossier due at 17:00 that waited
    /// one working hour is due at 08:00 the next working day.
    pub fn reach_working(&self, start: NaiveDateTime, working: Duration) -> NaiveDateTime {
        if working <= Duration::zero() {
            return start;
        }
        let mut remaining = working;
        let mut date = start.date();
        let mut from = start.time();
        loop {
            if self.is_working_day(date) {
                for i in &self.hours.intervals {
                    if from >= i.end {
                        continue;
                    }
                    let begin = from.max(i.start);
                    let available = i.end - begin;
                    if remaining <= available {
                        return date.and_time(begin) + remaining;
                    }
                    remaining -= available;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return NaiveDateTime::MAX,
            }
            from = NaiveTime::MIN;
        }
    }

    /// Working time in `[a, b)`; zero when `b <= a`. The inverse of [`Self::add_working`]:
    /// `working_between(a, add_working(a, d)) == d`, and for `a <= b`,
    /// `add_working(a, working_between(a, b)) == next_working_start(b)`.
    pub fn working_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> Duration {
        let mut total = Duration::zero();
        if b <= a {
            return total;
        }
        let mut date = a.date();
        loop {
            let from = if date == a.date() {
                a.time()
            } else {
                NaiveTime::MIN
            };
            let last = date == b.date();
            if self.is_working_day(date) {
                for i in &self.hours.intervals {
                    let begin = from.max(i.start);
                    let end = if last { b.time().min(i.end) } else { i.end };
                    if begin < end {
                        total += end - begin;
                    }
                }
            }
            if last {
                return total;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return total,
            }
        }
    }

    /// Closing time of `date`.
    fn close_of(&self, date: NaiveDate) -> NaiveDateTime {
        date.and_time(self.hours.closing())
    }

    /// Opening time of the first working day after `date`.
    fn next_opening(&self, date: NaiveDate) -> NaiveDateTime {
        self.next_working_day(date).and_time(self.hours.opening())
    }

    /// [`Self::due`] in local (Vietnam) time: `received` is a local date-time.
    pub fn due_local(
        &self,
        received: NaiveDateTime,
        limit: TimeLimit,
        rule: &DueRule,
    ) -> NaiveDateTime {
        let amount = limit.amount.clamp(0, MAX_LIMIT_AMOUNT);
        // Counting starts at the next working instant (after closing: next morning).
        let mut start = self.next_working_start(received);
        if let Some(cutoff) = rule.same_day_cutoff {
            if start.time() >= cutoff {
                start = self.next_opening(start.date());
            }
        }
        let due = match limit.unit {
            TimeUnit::WorkingDays if rule.same_day_cutoff.is_some() => {
                // Counted by date: the start's day is day 1, due at the close of day N.
                let mut day = start.date();
                for _ in 1..amount.max(1) {
                    day = self.next_working_day(day);
                }
                self.close_of(day)
            }
            TimeUnit::WorkingDays => self.add_working(start, self.hours.day_length() * amount),
            TimeUnit::WorkingHours => self.add_working(start, Duration::hours(i64::from(amount))),
            TimeUnit::CalendarDays => {
                // Same time of day N days on; a day off moves it to the next opening (not
                // the same time of day, which would not be monotonic across a long break).
                let days = Days::new(u64::try_from(amount).unwrap_or(0));
                match start.checked_add_days(days) {
                    Some(t) if self.is_working_day(t.date()) => t,
                    Some(t) => self.next_opening(t.date()),
                    None => NaiveDateTime::MAX,
                }
            }
        };
        if rule.end_of_day && due != NaiveDateTime::MAX {
            self.close_of(due.date())
        } else {
            due
        }
    }

    /// The legal due time of a dossier received at `received_at` (any offset) with `limit`,
    /// in +07:00. Conventions (docs/CALENDAR.md):
    /// - the receipt is read in Vietnam time; counting starts at its
    ///   [`Self::next_working_start`] (after closing: the next working morning; at lunch:
    ///   13:30);
    /// - `WORKING_DAYS`: amount × one working day of working time
    ///   ([`WorkingHours::day_length`], 8 h by default), so 09:15 + 1 working day is 09:15
    ///   the next working day, and 12:00 + 1 is 13:30 the next working day;
    /// - `WORKING_HOURS`: amount hours of working time, the same way;
    /// - `CALENDAR_DAYS`: amount × 24 h from the start; when that lands on a day off, the
    ///   opening of the next working day (the same time of day would make a dossier
    ///   received on Thursday afternoon due after one received on Friday morning when both
    ///   land in the same holiday);
    /// - [`DueRule::end_of_day`] then moves the result to the closing time of its day, and
    ///   [`DueRule::same_day_cutoff`] counts working days by date (see there).
    ///
    /// Negative amounts count as 0, amounts above [`MAX_LIMIT_AMOUNT`] as that.
    pub fn due(&self, received_at: Timestamp, limit: TimeLimit, rule: &DueRule) -> Timestamp {
        vietnam_instant(self.due_local(local_time(received_at), limit, rule))
    }
}
