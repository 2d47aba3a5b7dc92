//! The Vietnamese lunisolar calendar (âm lịch), computed, for the holidays that hang on it
//! (Tết, Hùng Kings' day) in years whose announcement is not loaded (docs/CALENDAR.md §7).
//!
//! The rules are those of the Chinese-style lunisolar calendar, applied in Vietnam's time
//! zone, UTC+7 (Vietnam's standard time since 1967 in the North, 1975 everywhere):
//! - a month starts on the local day of a new moon (an astronomical conjunction);
//! - month 11 is the month in which the winter solstice falls (sun at 270°);
//! - when 13 months start between two months 11, one of them is a leap month: the first
//!   after month 11 in which the sun enters no new 30° sector (no major solar term,
//!   "trung khí"); it takes the number of the month before it.
//!
//! The astronomy is Jean Meeus, *Astronomical Algorithms* (2nd ed., 1998): the instant of a
//! new moon with the periodic and planetary corrections of chapter 49 (accurate to well
//! under a minute), the sun's apparent longitude of chapter 25 (about 0.01°, some 15
//! minutes of the sun's motion), and ΔT (TT − UT) from the Espenak-Meeus polynomials.
//! Hồ Ngọc Đức's description of the Vietnamese calendar (the same rules in UTC+7) is
//! where the rule set is taken from; the code is written from the formulas, not from it.
//! Because the time zone enters the computation, the Vietnamese calendar differs from
//! China's (UTC+8) in some years: Tết 1985 was 21/1 in Vietnam and 20/2 in China, Tết
//! 2007 was 17/2 and 18/2 (tested in `services/core/tests/lunar.rs`).
//!
//! Checked from 1900 to 2100 ([`SUPPORTED_YEARS`]); outside that range the functions still
//! answer, with ΔT extrapolated and nothing checked. Nothing here reads the clock or the disk.

use std::f64::consts::PI;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};

/// Vietnam's time zone, hours east of UTC.
pub const VIETNAM_UTC_OFFSET_HOURS: i32 = 7;

/// The Gregorian years over which the computation is tested (round trips, reference Tết
/// dates, the shipped announcements).
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1900..=2100;

/// Mean synodic month, days (Meeus ch. 49).
const SYNODIC_MONTH: f64 = 29.530_588_861;

/// Julian Ephemeris Day of the mean new moon k = 0 (6 January 2000).
const NEW_MOON_EPOCH: f64 = 2_451_550.097_66;

/// Julian Day Number of 1 January of year 1 (proleptic Gregorian), minus one, so that
/// `jdn = days_from_ce + JDN_CE_OFFSET`.
const JDN_CE_OFFSET: i64 = 1_721_425;

/// A date of the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LunarDate {
    /// The lunar year, numbered as the Gregorian year in which its month 1 begins.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    /// True for the leap (intercalary) month that repeats `month`.
    pub leap: bool,
    /// 1 to 30.
    pub day: u32,
}

/// A lunar date that does not exist (month 13, day 31, a leap month the year lacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lunar date {day}/{month}{leap_mark}/{year} does not exist", leap_mark = if *.leap { " (leap)" } else { "" })]
pub struct NoSuchLunarDate {
    /// The lunar year asked.
    pub year: i32,
    /// The month asked.
    pub month: u32,
    /// Whether the leap month was asked.
    pub leap: bool,
    /// The day asked.
    pub day: u32,
}

fn sin_deg(x: f64) -> f64 {
    (x * PI / 180.0).sin()
}

/// ΔT = TT − UT in seconds for a decimal year (Espenak & Meeus, NASA "Polynomial
/// expressions for Delta T", the pieces from 1900 on; the long-term parabola elsewhere).
fn delta_t_seconds(y: f64) -> f64 {
    let long_term = |y: f64| {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    if y < 1900.0 {
        long_term(y)
    } else if y < 1920.0 {
        let t = y - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3)
            - 0.000_197 * t.powi(4)
    } else if y < 1941.0 {
        let t = y - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if y < 1961.0 {
        let t = y - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if y < 1986.0 {
        let t = y - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if y < 2005.0 {
        let t = y - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if y < 2050.0 {
        let t = y - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else if y < 2150.0 {
        long_term(y) - 0.5628 * (2150.0 - y)
    } else {
        long_term(y)
    }
}

/// The decimal year of a Julian Day, close enough for ΔT.
fn decimal_year(jd: f64) -> f64 {
    2000.0 + (jd - 2_451_545.0) / 365.25
}

/// The instant (Julian Ephemeris Day, TT) of the true new moon number `k`, counted from
/// the one of 6 January 2000 (Meeus ch. 49, eq. 49.1 and the corrections that follow).
pub fn new_moon_jde(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let mean = NEW_MOON_EPOCH + SYNODIC_MONTH * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4;
    // Eccentricity of the Earth's orbit; Sun's and Moon's mean anomalies; the Moon's
    // argument of latitude; the longitude of its ascending node (degrees).
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp =
        201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f =
        160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let om = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;
    let periodic = -0.40720 * sin_deg(mp)
        + 0.17241 * e * sin_deg(m)
        + 0.01608 * sin_deg(2.0 * mp)
        + 0.01039 * sin_deg(2.0 * f)
        + 0.00739 * e * sin_deg(mp - m)
        - 0.00514 * e * sin_deg(mp + m)
        + 0.00208 * e * e * sin_deg(2.0 * m)
        - 0.00111 * sin_deg(mp - 2.0 * f)
        - 0.00057 * sin_deg(mp + 2.0 * f)
        + 0.00056 * e * sin_deg(2.0 * mp + m)
        - 0.00042 * sin_deg(3.0 * mp)
        + 0.00042 * e * sin_deg(m + 2.0 * f)
        + 0.00038 * e * sin_deg(m - 2.0 * f)
        - 0.00024 * e * sin_deg(2.0 * mp - m)
        - 0.00017 * sin_deg(om)
        - 0.00007 * sin_deg(mp + 2.0 * m)
        + 0.00004 * sin_deg(2.0 * mp - 2.0 * f)
        + 0.00004 * sin_deg(3.0 * m)
        + 0.00003 * sin_deg(mp + m - 2.0 * f)
        + 0.00003 * sin_deg(2.0 * mp + 2.0 * f)
        - 0.00003 * sin_deg(mp + m + 2.0 * f)
        + 0.00003 * sin_deg(mp - m + 2.0 * f)
        - 0.00002 * sin_deg(mp - m - 2.0 * f)
        - 0.00002 * sin_deg(3.0 * mp + m)
        + 0.00002 * sin_deg(4.0 * mp);
    // The planetary arguments A1..A14 and their coefficients.
    let planetary: [(f64, f64, f64); 14] = [
        (299.77, 0.107_408, 0.000_325),
        (251.88, 0.016_321, 0.000_165),
        (251.83, 26.651_886, 0.000_164),
        (349.42, 36.412_478, 0.000_126),
        (84.66, 18.206_239, 0.000_110),
        (141.74, 53.303_771, 0.000_062),
        (207.14, 2.453_732, 0.000_060),
        (154.84, 7.306_860, 0.000_056),
        (34.52, 27.261_239, 0.000_047),
        (207.19, 0.121_824, 0.000_042),
        (291.34, 1.844_379, 0.000_040),
        (161.72, 24.198_154, 0.000_037),
        (239.56, 25.513_099, 0.000_035),
        (331.55, 3.592_518, 0.000_023),
    ];
    let additional: f64 = planetary
        .iter()
        .enumerate()
        .map(|(i, (a0, a1, c))| {
            // A1 alone has a T² term.
            let a = a0 + a1 * k - if i == 0 { 0.009_173 * t2 } else { 0.0 };
            c * sin_deg(a)
        })
        .sum();
    mean + periodic + additional
}

/// The Sun's apparent geometric longitude in degrees, 0 ≤ λ < 360, at Julian Ephemeris Day
/// `jde` (Meeus ch. 25, the lower-accuracy method, about 0.01°).
pub fn sun_longitude(jde: f64) -> f64 {
    let t = (jde - 2_451_545.0) / 36_525.0;
    let l0 = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t * t;
    let m = 357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t * t;
    let c = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_289 * sin_deg(3.0 * m);
    let omega = 125.04 - 1934.136 * t;
    let apparent = l0 + c - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// Julian Day Number of a Gregorian date.
fn jdn(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_CE_OFFSET
}

/// The Gregorian date of a Julian Day Number.
fn from_jdn(jdn: i64) -> NaiveDate {
    i32::try_from(jdn - JDN_CE_OFFSET)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(if jdn < JDN_CE_OFFSET {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The lunar calendar of one time zone (UTC+7 for Vietnam, UTC+8 gives China's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LunarCalendar {
    /// Hours east of UTC of the meridian the days are counted in.
    utc_offset_hours: i32,
}

impl LunarCalendar {
    /// Vietnam's lunar calendar, UTC+7.
    pub const VIETNAM: LunarCalendar = LunarCalendar {
        utc_offset_hours: VIETNAM_UTC_OFFSET_HOURS,
    };

    /// The lunar calendar kept in another time zone (tests compare UTC+8, China's).
    pub const fn with_utc_offset(utc_offset_hours: i32) -> Self {
        LunarCalendar { utc_offset_hours }
    }

    fn offset_days(self) -> f64 {
        f64::from(self.utc_offset_hours) / 24.0
    }

    /// The local day (as a Julian Day Number) on which new moon `k` happens.
    fn new_moon_day(self, k: i64) -> i64 {
        let jde = new_moon_jde(k);
        let ut = jde - delta_t_seconds(decimal_year(jde)) / 86_400.0;
        // A Julian Day starts at noon UT: the civil day of instant `jd` is floor(jd + 0.5).
        (ut + self.offset_days() + 0.5).floor() as i64
    }

    /// The 30° sector (0..12) the Sun is in at 00:00 local time of day `day` (a JDN); a
    /// major solar term falls on the days where this changes from one day to the next.
    fn sun_sector(self, day: i64) -> i64 {
        let ut = day as f64 - 0.5 - self.offset_days();
        let jde = ut + delta_t_seconds(decimal_year(ut)) / 86_400.0;
        (sun_longitude(jde) / 30.0).floor() as i64
    }

    /// Index `k` of the last new moon whose local day is on or before `day`.
    fn month_index(self, day: i64) -> i64 {
        let approx = ((day as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
        let mut k = approx + 1;
        while self.new_moon_day(k) > day {
            k -= 1;
        }
        k
    }

    /// Index of the new moon that starts month 11 of Gregorian year `year`: the month in
    /// which the December solstice falls.
    fn month11(self, year: i32) -> i64 {
        let dec31 = NaiveDate::from_ymd_opt(year, 12, 31).map_or(0, jdn);
        let k = self.month_index(dec31);
        // The solstice (sector 8 → 9) comes before 31 December: the month containing
        // 31/12 holds it unless the Sun was already past 270° when that month started.
        if self.sun_sector(self.new_moon_day(k)) >= 9 {
            k - 1
        } else {
            k
        }
    }

    /// For the 13-month span that starts at new moon `k11` (a month 11), the offset
    /// (1..=12) of the leap month: the first month without a major solar term.
    fn leap_offset(self, k11: i64) -> i64 {
        let mut previous = self.sun_sector(self.new_moon_day(k11 + 1));
        for offset in 1..13 {
            let next = self.sun_sector(self.new_moon_day(k11 + offset + 1));
            if next == previous {
                return offset;
            }
            previous = next;
        }
        // Every month has a term only if the span has 12 months; not reached for a
        // 13-month span, where at least one month has none.
        12
    }

    /// The span of months 11 to 10: (new moon of month 11 of `year - 1`, of `year`), and
    /// the leap month's offset from the first when the span has 13 months.
    fn span(self, year: i32) -> (i64, Option<i64>) {
        let a = self.month11(year - 1);
        let b = self.month11(year);
        let leap = (b - a == 13).then(|| self.leap_offset(a));
        (a, leap)
    }

    /// The Gregorian date of a lunar date.
    pub fn to_solar(self, lunar: LunarDate) -> Result<NaiveDate, NoSuchLunarDate> {
        let err = NoSuchLunarDate {
            year: lunar.year,
            month: lunar.month,
            leap: lunar.leap,
            day: lunar.day,
        };
        if !(1..=12).contains(&lunar.month) || !(1..=30).contains(&lunar.day) {
            return Err(err);
        }
        // Months 11 and 12 of lunar year Y start in the span beginning with month 11 of
        // Gregorian year Y; months 1 to 10 in the one beginning a year earlier.
        let span_year = if lunar.month >= 11 {
            lunar.year + 1
        } else {
            lunar.year
        };
        let (k11, leap) = self.span(span_year);
        let mut offset = (i64::from(lunar.month) + 1) % 12; // 11 → 0, 12 → 1, 1 → 2, ...
        match leap {
            Some(leap_offset) => {
                if lunar.leap {
                    // The leap month repeats the month just before it.
                    if offset + 1 != leap_offset {
                        return Err(err);
                    }
                    offset += 1;
                } else if offset >= leap_offset {
                    offset += 1;
                }
            }
            None if lunar.leap => return Err(err),
            None => {}
        }
        let start = self.new_moon_day(k11 + offset);
        let next = self.new_moon_day(k11 + offset + 1);
        let day = start + i64::from(lunar.day) - 1;
        if day >= next {
            return Err(err); // day 30 of a 29-day month
        }
        Ok(from_jdn(day))
    }

    /// The lunar date of a Gregorian date.
    pub fn to_lunar(self, date: NaiveDate) -> LunarDate {
        let day = jdn(date);
        let k = self.month_index(day);
        let start = self.new_moon_day(k);
        // The span of months 11 to 10 that holds `date`.
        let mut span_year = date.year() + 1;
        let (mut k11, mut leap) = self.span(span_year);
        if k11 > k {
            span_year -= 1;
            (k11, leap) = self.span(span_year);
        }
        let mut offset = k - k11;
        let mut is_leap = false;
        if let Some(leap_offset) = leap {
            if offset == leap_offset {
                is_leap = true;
            }
            if offset >= leap_offset {
                offset -= 1;
            }
        }
        // offset 0 → month 11, 1 → 12, 2 → 1, ...
        let month = ((offset + 10) % 12 + 1) as u32;
        let year = if offset < 2 { span_year - 1 } else { span_year };
        LunarDate {
            year,
            month,
            leap: is_leap,
            day: (day - start + 1) as u32,
        }
    }

    /// Tết: the Gregorian date of 1/1 of lunar year `year` (in Gregorian `year`).
    pub fn new_year(self, year: i32) -> NaiveDate {
        let (k11, leap) = self.span(year);
        // Month 1 is two months after month 11, three when month 11 or 12 is leap.
        let offset = match leap {
            Some(l) if l <= 2 => 3,
            _ => 2,
        };
        from_jdn(self.new_moon_day(k11 + offset))
    }

    /// The leap month of lunar year `year` (1..=12), if it has one. A leap month 11 or 12
    /// belongs to the lunar year that starts in Gregorian `year`, like its month 11.
    pub fn leap_month(self, year: i32) -> Option<u32> {
        // Leap 11/12 of lunar year Y come from the span starting in Gregorian Y, leap 1-10
        // from the span starting in Y - 1.
        let early = self.span(year).1.filter(|&l| l >= 3);
        let late = self.span(year + 1).1.filter(|&l| l <= 2);
        early.or(late).map(|l| ((l + 9) % 12 + 1) as u32)
    }
}

/// Tết (1/1 lunar) of `year` in Vietnam, as a Gregorian date of the same year.
pub fn tet(year: i32) -> NaiveDate {
    LunarCalendar::VIETNAM.new_year(year)
}

/// Hùng Kings' day (10/3 lunar, the regular month 3, never a leap one) of `year` in Vietnam.
pub fn hung_kings(year: i32) -> NaiveDate {
    let date = LunarDate {
        year,
        month: 3,
        leap: false,
        day: 10,
    };
    // Day 10 of a regular month always exists.
    LunarCalendar::VIETNAM
        .to_solar(date)
        .unwrap_or(NaiveDate::MIN)
}

/// The Gregorian date of a Vietnamese lunar date.
pub fn to_solar(lunar: LunarDate) -> Result<NaiveDate, NoSuchLunarDate> {
    LunarCalendar::VIETNAM.to_solar(lunar)
}

/// The Vietnamese lunar date of a Gregorian date.
pub fn to_lunar(date: NaiveDate) -> LunarDate {
    LunarCalendar::VIETNAM.to_lunar(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn meeus_example_new_moon_1977() {
        // Meeus, Astronomical Algorithms, example 49.a: the new moon of February 1977,
        // k = -283, JDE 2443192.65118 (18 February 1977, 3h37m42s TD).
        assert!((new_moon_jde(-283) - 2_443_192.651_18).abs() < 0.000_1);
    }

    #[test]
    fn meeus_example_sun_1992() {
        // Meeus example 25.a: 13 October 1992 0h TD (JDE 2448908.5), apparent λ 199.90895°
        // with the low-accuracy method (199°54'32").
        assert!((sun_longitude(2_448_908.5) - 199.908_95).abs() < 0.001);
    }

    #[test]
    fn leap_months_of_known_years() {
        // 2020 had a leap 4th month, 2023 a leap 2nd, 2025 a leap 6th; 2024 none.
        assert_eq!(LunarCalendar::VIETNAM.leap_month(2020), Some(4));
        assert_eq!(LunarCalendar::VIETNAM.leap_month(2023), Some(2));
        assert_eq!(LunarCalendar::VIETNAM.leap_month(2025), Some(6));
        assert_eq!(LunarCalendar::VIETNAM.leap_month(2024), None);
        assert_eq!(tet(2024), d(2024, 2, 10));
    }

    #[test]
    fn no_such_dates() {
        let c = LunarCalendar::VIETNAM;
        let ask = |month, leap, day| {
            c.to_solar(LunarDate {
                year: 2024,
                month,
                leap,
                day,
            })
        };
        assert!(ask(13, false, 1).is_err());
        assert!(ask(3, true, 1).is_err(), "2024 has no leap month");
        assert!(ask(1, false, 31).is_err());
    }
}
