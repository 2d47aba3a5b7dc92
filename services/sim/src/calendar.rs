//! Working time, as the simulator needs it to set appointments and time the steps.
//!
//! Working days are Monday to Friday minus `holidays`; working hours are 07:00-11:30 and
//! 13:30-17:00 (8 hours, domain.md §4). All instants are naive Vietnam local time: the
//! caller attaches the +07:00 offset when it writes an event.
//!
//! This is deliberately small: the full calendar (lunar holidays, swapped Saturdays, per-year
//! schedules) belongs to the core crate later; `holidays` is the hook it will fill.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use motcua_core::event::{TimeLimit, TimeUnit};

/// Start of the morning session, in seconds after midnight (07:00).
pub const MORNING_START: u32 = 7 * 3600;
/// End of the morning session (11:30).
pub const MORNING_END: u32 = 11 * 3600 + 30 * 60;
/// Start of the afternoon session (13:30).
pub const AFTERNOON_START: u32 = 13 * 3600 + 30 * 60;
/// End of the afternoon session (17:00).
pub const AFTERNOON_END: u32 = 17 * 3600;
/// Working seconds in one working day (8 hours).
pub const WORKING_DAY_SECS: i64 = 8 * 3600;

/// A working-day calendar: weekends and `holidays` are days off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Days off besides Saturdays and Sundays, kept sorted for binary search.
    holidays: Vec<NaiveDate>,
}

fn at(date: NaiveDate, secs: u32) -> NaiveDateTime {
    date.and_time(
        NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)
            .expect("session bounds are within a day"),
    )
}

impl WorkCalendar {
    /// A calendar with these extra days off (order and repeats do not matter).
    pub fn new(mut holidays: Vec<NaiveDate>) -> Self {
        holidays.sort_unstable();
        holidays.dedup();
        WorkCalendar { holidays }
    }

    /// The extra days off, sorted.
    pub fn holidays(&self) -> &[NaiveDate] {
        &self.holidays
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
            && self.holidays.binary_search(&d).is_err()
    }

    /// The first working day strictly after `d`.
    pub fn next_working_day(&self, d: NaiveDate) -> NaiveDate {
        let mut n = d + Duration::days(1);
        while !self.is_working_day(n) {
            n += Duration::days(1);
        }
        n
    }

    /// The last working day strictly before `d`.
    pub fn prev_working_day(&self, d: NaiveDate) -> NaiveDate {
        let mut n = d - Duration::days(1);
        while !self.is_working_day(n) {
            n -= Duration::days(1);
        }
        n
    }

    /// Whether `t` falls inside a working session of a working day.
    pub fn is_working_instant(&self, t: NaiveDateTime) -> bool {
        let s = t.time().num_seconds_from_midnight();
        self.is_working_day(t.date())
            && ((MORNING_START..MORNING_END).contains(&s)
                || (AFTERNOON_START..AFTERNOON_END).contains(&s))
    }

    /// `t` if it is working time, else the start of the next session: a receipt after
    /// closing counts from the next working morning, during lunch from 13:30.
    pub fn next_working_instant(&self, t: NaiveDateTime) -> NaiveDateTime {
        let d = t.date();
        if !self.is_working_day(d) {
            return at(self.next_working_day(d), MORNING_START);
        }
        let s = t.time().num_seconds_from_midnight();
        if s < MORNING_START {
            at(d, MORNING_START)
        } else if s < MORNING_END {
            t
        } else if s < AFTERNOON_START {
            at(d, AFTERNOON_START)
        } else if s < AFTERNOON_END {
            t
        } else {
            at(self.next_working_day(d), MORNING_START)
        }
    }

    /// `t` if it is working time or a session's end, else the end of the previous session.
    fn prev_working_instant(&self, t: NaiveDateTime) -> NaiveDateTime {
        let d = t.date();
        if !self.is_working_day(d) {
            return at(self.prev_working_day(d), AFTERNOON_END);
        }
        let s = t.time().num_seconds_from_midnight();
        if s <= MORNING_START {
            at(self.prev_working_day(d), AFTERNOON_END)
        } else if s <= MORNING_END {
            t
        } else if s <= AFTERNOON_START {
            at(d, MORNING_END)
        } else if s <= AFTERNOON_END {
            t
        } else {
            at(d, AFTERNOON_END)
        }
    }

    /// The instant `secs` working seconds after `t`, counting from the next working instant.
    /// A total that ends exactly at a session's end gives that end (17:00, not 07:00 next day).
    pub fn add_working_secs(&self, t: NaiveDateTime, secs: i64) -> NaiveDateTime {
        if secs < 0 {
            return self.sub_working_secs(t, -secs);
        }
        let mut t = self.next_working_instant(t);
        let mut left = secs;
        loop {
            let d = t.date();
            let s = t.time().num_seconds_from_midnight();
            let end = if s < MORNING_END {
                MORNING_END
            } else {
                AFTERNOON_END
            };
            let avail = i64::from(end - s);
            if left <= avail {
                return t + Duration::seconds(left);
            }
            left -= avail;
            if end == MORNING_END {
                t = at(d, AFTERNOON_START);
            } else {
                // Skip whole working days at once: a 30-day limit should not walk 60 sessions.
                let mut next = self.next_working_day(d);
                while left > WORKING_DAY_SECS {
                    left -= WORKING_DAY_SECS;
                    next = self.next_working_day(next);
                }
                t = at(next, MORNING_START);
            }
        }
    }

    /// The instant `secs` working seconds before `t` (mirror of [`Self::add_working_secs`]).
    pub fn sub_working_secs(&self, t: NaiveDateTime, secs: i64) -> NaiveDateTime {
        if secs < 0 {
            return self.add_working_secs(t, -secs);
        }
        let mut t = self.prev_working_instant(t);
        let mut left = secs;
        loop {
            let d = t.date();
            let s = t.time().num_seconds_from_midnight();
            let start = if s > AFTERNOON_START {
                AFTERNOON_START
            } else {
                MORNING_START
            };
            let avail = i64::from(s - start);
            if left <= avail {
                return t - Duration::seconds(left);
            }
            left -= avail;
            if start == AFTERNOON_START {
                t = at(d, MORNING_END);
            } else {
                let mut prev = self.prev_working_day(d);
                while left > WORKING_DAY_SECS {
                    left -= WORKING_DAY_SECS;
                    prev = self.prev_working_day(prev);
                }
                t = at(prev, AFTERNOON_END);
            }
        }
    }

    /// Working seconds between `a` and `b` (zero when `b` is not after `a`).
    pub fn working_secs_between(&self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        if b <= a {
            return 0;
        }
        let mut total = 0i64;
        let mut d = a.date();
        let last = b.date();
        while d <= last {
            if self.is_working_day(d) {
                let lo = if d == a.date() {
                    a.time().num_seconds_from_midnight()
                } else {
                    0
                };
                let hi = if d == last {
                    b.time().num_seconds_from_midnight()
                } else {
                    86_400
                };
                for (s, e) in [
                    (MORNING_START, MORNING_END),
                    (AFTERNOON_START, AFTERNOON_END),
                ] {
                    let (from, to) = (lo.max(s), hi.min(e));
                    if to > from {
                        total += i64::from(to - from);
                    }
                }
            }
            d += Duration::days(1);
        }
        total
    }

    /// The legal due instant for a dossier received at `received` (domain.md §4): working
    /// hours and days are counted in working time from the next working instant; calendar
    /// days are added as is, and a due date on a day off moves to the next working day.
    pub fn due(&self, received: NaiveDateTime, limit: TimeLimit) -> NaiveDateTime {
        let amount = i64::from(limit.amount.max(1));
        match limit.unit {
            TimeUnit::WorkingHours => self.add_working_secs(received, amount * 3600),
            TimeUnit::WorkingDays => self.add_working_secs(received, amount * WORKING_DAY_SECS),
            TimeUnit::CalendarDays => {
                let mut due = self.next_working_instant(received) + Duration::days(amount);
                while !self.is_working_day(due.date()) {
                    due += Duration::days(1);
                }
                due
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .expect("valid date")
            .and_hms_opt(h, min, 0)
            .expect("valid time")
    }

    fn days(n: i32) -> TimeLimit {
        TimeLimit {
            amount: n,
            unit: TimeUnit::WorkingDays,
        }
    }

    #[test]
    fn one_working_day_from_mid_morning_is_next_morning() {
        let cal = WorkCalendar::default();
        // Monday 5 Oct 2026, 09:00.
        assert_eq!(
            cal.due(dt(2026, 10, 5, 9, 0), days(1)),
            dt(2026, 10, 6, 9, 0)
        );
        // From the first minute, the whole day fits: due at closing the same day.
        assert_eq!(
            cal.due(dt(2026, 10, 5, 7, 0), days(1)),
            dt(2026, 10, 5, 17, 0)
        );
    }

    #[test]
    fn after_hours_and_weekend_receipts_count_from_next_working_start() {
        let cal = WorkCalendar::default();
        // Friday 9 Oct 18:00 -> Monday 12 Oct 07:00 + 4 h = 11:00.
        let four_hours = TimeLimit {
            amount: 4,
            unit: TimeUnit::WorkingHours,
        };
        assert_eq!(
            cal.due(dt(2026, 10, 9, 18, 0), four_hours),
            dt(2026, 10, 12, 11, 0)
        );
        // Saturday receipt, same.
        assert_eq!(
            cal.due(dt(2026, 10, 10, 10, 0), four_hours),
            dt(2026, 10, 12, 11, 0)
        );
        // Lunch counts from 13:30: 13:30 + 4 h = 17:30 -> 3.5 h today, 0.5 h tomorrow.
        assert_eq!(
            cal.due(dt(2026, 10, 5, 12, 0), four_hours),
            dt(2026, 10, 6, 7, 30)
        );
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let cal = WorkCalendar::default();
        // Thursday 8 Oct 10:00 + 3 working days = Tuesday 13 Oct 10:00.
        assert_eq!(
            cal.due(dt(2026, 10, 8, 10, 0), days(3)),
            dt(2026, 10, 13, 10, 0)
        );
        let cal = WorkCalendar::new(vec![NaiveDate::from_ymd_opt(2026, 10, 12).expect("date")]);
        assert_eq!(
            cal.due(dt(2026, 10, 8, 10, 0), days(3)),
            dt(2026, 10, 14, 10, 0)
        );
    }

    #[test]
    fn calendar_days_move_off_days_off() {
        let cal = WorkCalendar::default();
        let limit = TimeLimit {
            amount: 5,
            unit: TimeUnit::CalendarDays,
        };
        // Monday 5 Oct + 5 days = Saturday 10 Oct -> Monday 12 Oct, same time.
        assert_eq!(
            cal.due(dt(2026, 10, 5, 9, 0), limit),
            dt(2026, 10, 12, 9, 0)
        );
    }

    #[test]
    fn add_sub_and_between_agree() {
        let cal = WorkCalendar::default();
        let start = dt(2026, 10, 5, 9, 17);
        for secs in [
            0,
            1,
            3600,
            9000,
            28_800,
            50_000,
            28_800 * 7 + 123,
            28_800 * 30,
        ] {
            let end = cal.add_working_secs(start, secs);
            assert_eq!(cal.working_secs_between(start, end), secs, "secs {secs}");
            assert_eq!(cal.sub_working_secs(end, secs), start, "secs {secs}");
        }
    }

    #[test]
    fn next_working_instant_cases() {
        let cal = WorkCalendar::default();
        assert_eq!(
            cal.next_working_instant(dt(2026, 10, 5, 6, 0)),
            dt(2026, 10, 5, 7, 0)
        );
        assert_eq!(
            cal.next_working_instant(dt(2026, 10, 5, 11, 30)),
            dt(2026, 10, 5, 13, 30)
        );
        assert_eq!(
            cal.next_working_instant(dt(2026, 10, 5, 17, 0)),
            dt(2026, 10, 6, 7, 0)
        );
        assert_eq!(
            cal.next_working_instant(dt(2026, 10, 5, 15, 0)),
            dt(2026, 10, 5, 15, 0)
        );
        assert!(cal.is_working_instant(dt(2026, 10, 5, 15, 0)));
        assert!(!cal.is_working_instant(dt(2026, 10, 10, 9, 0)));
    }
}
