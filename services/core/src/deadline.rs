//! Legal due times and the policies that move a dossier's deadline (domain.md §4 and §5,
//! docs/DEADLINES.md).
//!
//! - A [`Catalogue`] gives each procedure its statutory limit and due rule (a same-day
//!   cut-off hour, closing-time due times). It is data (`data/catalogue/*.json`), loaded
//!   once; a procedure missing from it is timed by the limit written on its form 01.
//! - A [`DeadlinePolicy`] says how supplement waits move the deadline ([`PausePolicy`]) and
//!   how far an agency's appointment may stray from the legal due time before it is an
//!   audit finding.
//! - A [`Clock`] is the calendar, the catalogue and the policy together: everything the
//!   fold needs to turn a dossier's events into due times, classified outcomes and step
//!   verdicts. It never reads the wall clock: "now" is always the caller's watermark.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::calendar::{DueRule, WorkCalendar};
use crate::event::{TimeLimit, TimeUnit, Timestamp};
use crate::fold::{local_time, vietnam_instant};

/// The procedure catalogue shipped with motcua: the simulated province H56's procedures.
pub const SHIPPED_CATALOGUE: &str = include_str!("../../../data/catalogue/h56.json");

/// One procedure's statutory limit and how its due time is counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureRule {
    /// Procedure code, e.g. `1.001612.000.00.00.H56`.
    pub code: String,
    /// Published name (for people; not used in computations).
    #[serde(default)]
    pub name: String,
    /// Statutory limit.
    pub limit: TimeLimit,
    /// Same-day cut-off, closing-time due times; default: neither.
    #[serde(default)]
    pub rule: DueRule,
}

/// Bad catalogue data; names the path in the document or the procedure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// Not JSON of the expected shape.
    #[error("catalogue: {path}: {message}")]
    Json {
        /// Where in the document, e.g. `procedures[3].limit.unit`.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A procedure code given twice, empty, or with an impossible limit.
    #[error("catalogue: procedure `{code}`: {message}")]
    Procedure {
        /// The procedure code.
        code: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    name: String,
    #[serde(default)]
    source: String,
    procedures: Vec<ProcedureRule>,
}

/// Procedures by code.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    name: String,
    source: String,
    rules: HashMap<String, ProcedureRule>,
}

impl Catalogue {
    /// The shipped catalogue ([`SHIPPED_CATALOGUE`]).
    ///
    /// # Panics
    /// Never with the shipped file: it is compiled in and checked by the tests.
    pub fn shipped() -> Self {
        match Self::from_json(SHIPPED_CATALOGUE) {
            Ok(c) => c,
            Err(e) => panic!("shipped catalogue is invalid: {e}"),
        }
    }

    /// Parses and checks a catalogue file:
    /// `{"name": "...", "source": "...", "procedures": [{"code", "name", "limit": {"amount",
    /// "unit"}, "rule": {"end_of_day", "same_day_cutoff"}}]}`.
    pub fn from_json(text: &str) -> Result<Self, CatalogueError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file: CatalogueFile =
            serde_path_to_error::deserialize(&mut de).map_err(|e| CatalogueError::Json {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        let mut rules = HashMap::with_capacity(file.procedures.len());
        for p in file.procedures {
            let bad = |message: &str| CatalogueError::Procedure {
                code: p.code.clone(),
                message: message.to_string(),
            };
            if p.code.trim().is_empty() {
                return Err(bad("empty code"));
            }
            if !(1..=3650).contains(&p.limit.amount) {
                return Err(bad("limit.amount must be between 1 and 3650"));
            }
            if rules.contains_key(&p.code) {
                return Err(bad("listed twice"));
            }
            rules.insert(p.code.clone(), p);
        }
        Ok(Catalogue {
            name: file.name,
            source: file.source,
            rules,
        })
    }

    /// The catalogue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where its limits come from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rule of a procedure, if listed.
    pub fn get(&self, code: &str) -> Option<&ProcedureRule> {
        self.rules.get(code)
    }

    /// Number of procedures.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no procedure is listed.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule, in code order.
    pub fn rules(&self) -> Vec<&ProcedureRule> {
        let mut v: Vec<_> = self.rules.values().collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }
}

/// How a supplement wait moves the deadline (domain.md §4: which one the decree requires is
/// not confirmed, so it is a policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PausePolicy {
    /// The due time moves later by the time waited, measured like the limit (working time
    /// for working-day and working-hour limits, elapsed time for calendar-day limits).
    #[default]
    Extend,
    /// The full legal limit starts again from the latest completed supplement.
    Restart,
}

impl PausePolicy {
    /// `EXTEND` or `RESTART`, as stored in ClickHouse.
    pub fn as_str(self) -> &'static str {
        match self {
            PausePolicy::Extend => "EXTEND",
            PausePolicy::Restart => "RESTART",
        }
    }
}

impl fmt::Display for PausePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PausePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "extend" => Ok(PausePolicy::Extend),
            "restart" => Ok(PausePolicy::Restart),
            other => Err(format!(
                "unknown pause policy `{other}` (expected extend or restart)"
            )),
        }
    }
}

/// The configurable parts of the deadline rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePolicy {
    /// How supplement waits move the deadline; default [`PausePolicy::Extend`].
    pub pause: PausePolicy,
    /// An appointment within this much of the legal due time (either way) agrees with it;
    /// default zero: both are compared to the minute.
    pub appointment_tolerance: Duration,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            pause: PausePolicy::Extend,
            appointment_tolerance: Duration::zero(),
        }
    }
}

/// Where a dossier's legal limit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// The procedure catalogue.
    Catalogue,
    /// The limit written on form 01 (the procedure is not in the catalogue).
    Form01,
}

impl LimitSource {
    /// `CATALOGUE` or `FORM_01`.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitSource::Catalogue => "CATALOGUE",
            LimitSource::Form01 => "FORM_01",
        }
    }
}

/// How the agency's appointment compares with the legal due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentCheck {
    /// Within the tolerance.
    Matches,
    /// The agency gave itself more time than the law: an audit finding.
    LaterThanLegal,
    /// The agency promised less time than the law: recorded, harmless to the applicant.
    EarlierThanLegal,
}

impl AppointmentCheck {
    /// `MATCHES`, `LATER_THAN_LEGAL` or `EARLIER_THAN_LEGAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentCheck::Matches => "MATCHES",
            AppointmentCheck::LaterThanLegal => "LATER_THAN_LEGAL",
            AppointmentCheck::EarlierThanLegal => "EARLIER_THAN_LEGAL",
        }
    }
}

/// A dossier's legal due time, and how its appointment compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegalDue {
    /// The limit used.
    pub limit: TimeLimit,
    /// Where it came from.
    pub source: LimitSource,
    /// The rule used.
    pub rule: DueRule,
    /// Receipt time + limit on the calendar, in +07:00.
    pub due_at: Timestamp,
    /// The appointment against it.
    pub check: AppointmentCheck,
    /// Appointment − legal due time, in whole minutes (positive: the appointment is later).
    pub gap_minutes: i64,
}

/// The calendar, the catalogue and the policy: what turns events into deadlines.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Working days and hours.
    pub calendar: WorkCalendar,
    /// Procedures' limits and rules.
    pub catalogue: Catalogue,
    /// Pause policy and appointment tolerance.
    pub policy: DeadlinePolicy,
}

impl Default for Clock {
    /// The shipped Vietnamese calendar and catalogue, default policy.
    fn default() -> Self {
        Clock::new(
            WorkCalendar::vietnam(),
            Catalogue::shipped(),
            DeadlinePolicy::default(),
        )
    }
}

impl Clock {
    /// Puts the parts together.
    pub fn new(calendar: WorkCalendar, catalogue: Catalogue, policy: DeadlinePolicy) -> Self {
        Clock {
            calendar,
            catalogue,
            policy,
        }
    }

    /// The legal due time of a dossier of `procedure_code` received at `received_at` whose
    /// form 01 says `form_limit` and `appointment_at`.
    pub fn legal_due(
        &self,
        procedure_code: &str,
        received_at: Timestamp,
        form_limit: TimeLimit,
        appointment_at: Timestamp,
    ) -> LegalDue {
        let (limit, rule, source) = match self.catalogue.get(procedure_code) {
            Some(p) => (p.limit, p.rule, LimitSource::Catalogue),
            None => (form_limit, DueRule::default(), LimitSource::Form01),
        };
        let due_at = self.calendar.due(received_at, limit, &rule);
        let gap = appointment_at - due_at;
        let tolerance = self.policy.appointment_tolerance;
        // Compared to the minute: seconds never make a finding.
        let check = if gap >= tolerance + Duration::minutes(1) {
            AppointmentCheck::LaterThanLegal
        } else if gap <= -(tolerance + Duration::minutes(1)) {
            AppointmentCheck::EarlierThanLegal
        } else {
            AppointmentCheck::Matches
        };
        LegalDue {
            limit,
            source,
            rule,
            due_at,
            check,
            gap_minutes: gap.num_minutes(),
        }
    }

    /// How much of `[a, b)` counts against a limit in `unit`: working time for working days
    /// and hours, elapsed time for calendar days. Zero when `b <= a`.
    pub fn measure(&self, unit: TimeUnit, a: Timestamp, b: Timestamp) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        match unit {
            TimeUnit::WorkingDays | TimeUnit::WorkingHours => {
                self.calendar.working_between(local_time(a), local_time(b))
            }
            TimeUnit::CalendarDays => b - a,
        }
    }

    /// `due` moved later by `by`, measured as [`Self::measure`] measures it: working time
    /// reached on the calendar for working units; elapsed time for calendar days, where a
    /// result on a day off moves to the next working day's opening (as a calendar-day due
    /// time does, docs/CALENDAR.md).
    pub fn extend(&self, unit: TimeUnit, due: Timestamp, by: Duration) -> Timestamp {
        if by <= Duration::zero() {
            return due;
        }
        match unit {
            TimeUnit::WorkingDays | TimeUnit::WorkingHours => {
                vietnam_instant(self.calendar.reach_working(local_time(due), by))
            }
            TimeUnit::CalendarDays => {
                let moved = local_time(due + by);
                if self.calendar.is_working_day(moved.date()) {
                    vietnam_instant(moved)
                } else {
                    let day = self.calendar.next_working_day(moved.date());
                    vietnam_instant(day.and_time(self.calendar.hours().opening()))
                }
            }
        }
    }

    /// A measured duration in the limit's unit: working days (of
    /// [`crate::calendar::WorkingHours::day_length`]), hours, or 24-hour days.
    pub fn in_units(&self, unit: TimeUnit, d: Duration) -> f64 {
        let secs = d.num_seconds() as f64;
        match unit {
            TimeUnit::WorkingDays => {
                secs / self.calendar.hours().day_length().num_seconds().max(1) as f64
            }
            TimeUnit::WorkingHours => secs / 3600.0,
            TimeUnit::CalendarDays => secs / 86_400.0,
        }
    }

    /// The due time of a step that started at `start` with `allotted` time (default rule).
    pub fn step_due(&self, start: Timestamp, allotted: TimeLimit) -> Timestamp {
        self.calendar.due(start, allotted, &DueRule::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::ts;

    #[test]
    fn shipped_catalogue_loads_with_same_day_rules() {
        let c = Catalogue::shipped();
        assert_eq!(c.len(), 40);
        let birth = c.get("1.001193.000.00.00.H56").expect("birth registration");
        assert_eq!(birth.limit.unit, TimeUnit::WorkingDays);
        assert_eq!(
            birth.rule.same_day_cutoff,
            chrono::NaiveTime::from_hms_opt(15, 0, 0)
        );
    }

    #[test]
    fn bad_catalogues_name_the_place() {
        let e = Catalogue::from_json(
            r#"{"name":"x","procedures":[{"code":"a","limit":{"amount":1,"unit":"WEEKS"}}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("procedures[0].limit.unit"), "{e}");
        let e = Catalogue::from_json(r#"{"name":"x","procedures":[{"code":"a","limit":{"amount":1,"unit":"WORKING_DAYS"}},{"code":"a","limit":{"amount":2,"unit":"WORKING_DAYS"}}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("`a`: listed twice"), "{e}");
        let e = Catalogue::from_json(r#"{"name":"x","procedures":[{"code":"a","limit":{"amount":0,"unit":"WORKING_DAYS"}}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("between 1 and 3650"), "{e}");
    }

    #[test]
    fn appointment_is_checked_to_the_minute_with_tolerance() {
        let mut clock = Clock::default();
        let limit = TimeLimit {
            amount: 3,
            unit: TimeUnit::WorkingDays,
        };
        // Not in the catalogue: form 01's limit. Thu 8/10/2026 09:15 + 3 wd = Tue 13/10 09:15.
        let received = ts("2026-10-08T09:15:00+07:00");
        let legal = clock.legal_due("X", received, limit, ts("2026-10-13T09:15:40+07:00"));
        assert_eq!(legal.source, LimitSource::Form01);
        assert_eq!(legal.due_at, ts("2026-10-13T09:15:00+07:00"));
        assert_eq!(legal.check, AppointmentCheck::Matches);
        let later = clock.legal_due("X", received, limit, ts("2026-10-13T17:00:00+07:00"));
        assert_eq!(later.check, AppointmentCheck::LaterThanLegal);
        assert_eq!(later.gap_minutes, 465);
        let earlier = clock.legal_due("X", received, limit, ts("2026-10-12T17:00:00+07:00"));
        assert_eq!(earlier.check, AppointmentCheck::EarlierThanLegal);
        clock.policy.appointment_tolerance = Duration::hours(8);
        let later = clock.legal_due("X", received, limit, ts("2026-10-13T17:00:00+07:00"));
        assert_eq!(later.check, AppointmentCheck::Matches);
    }

    #[test]
    fn extend_and_measure_are_inverse_on_working_time() {
        let clock = Clock::default();
        let due = ts("2026-10-09T17:00:00+07:00"); // Friday close
        let by = Duration::hours(1);
        let moved = clock.extend(TimeUnit::WorkingDays, due, by);
        assert_eq!(moved, ts("2026-10-12T08:00:00+07:00"));
        assert_eq!(clock.measure(TimeUnit::WorkingDays, due, moved), by);
        // Calendar days: Fri 17:00 + 2 days is Sunday: Monday's opening.
        let cal = clock.extend(TimeUnit::CalendarDays, due, Duration::days(2));
        assert_eq!(cal, ts("2026-10-12T07:00:00+07:00"));
        let cal = clock.extend(TimeUnit::CalendarDays, due, Duration::days(3));
        assert_eq!(cal, ts("2026-10-12T17:00:00+07:00"));
        assert_eq!(
            clock.in_units(TimeUnit::WorkingDays, Duration::hours(12)),
            1.5
        );
        assert!("restart".parse::<PausePolicy>().is_ok());
        assert!("pause".parse::<PausePolicy>().is_err());
    }
}
