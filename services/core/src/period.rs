//! Reporting periods and a dossier's verdict as a period's report saw it (domain.md §5, §7;
//! docs/DEADLINES.md §4).
//!
//! A period's report is taken **as of the period's end**: the dossier's events that happened
//! before the end (Vietnam time, 00:00 of the next period's first day), classified with the
//! end as the watermark. The dossier is in the report when, so seen, it ended inside the
//! period (early, on time or late) or was still open (within its due time, or overdue). So
//! a dossier open across a month end counts in that month as open, and again in the month
//! it ends; a quarter or a year is judged on its own end, not summed from months.

use chrono::{Datelike, NaiveDate};

use crate::deadline::Clock;
use crate::event::Timestamp;
use crate::fold::{local_date, vietnam_instant, DossierState, Outcome};

/// Month, quarter or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

impl PeriodKind {
    /// Every kind, shortest first.
    pub const ALL: [PeriodKind; 3] = [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year];

    /// `MONTH`, `QUARTER` or `YEAR`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "MONTH",
            PeriodKind::Quarter => "QUARTER",
            PeriodKind::Year => "YEAR",
        }
    }

    fn months(self) -> u32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

/// One reporting period: `[start, end)` in Vietnam dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// Its kind.
    pub kind: PeriodKind,
    /// First day.
    pub start: NaiveDate,
    /// First day after it.
    pub end: NaiveDate,
}

impl Period {
    /// The period of `kind` holding `date`.
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
        let span = kind.months();
        let first_month = (date.month0() / span) * span + 1;
        let start = NaiveDate::from_ymd_opt(date.year(), first_month, 1).expect("valid month");
        Period {
            kind,
            start,
            end: start
                .checked_add_months(chrono::Months::new(span))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    /// The period after this one.
    pub fn next(&self) -> Period {
        Period::containing(self.kind, self.end)
    }

    /// `2026-08`, `2026-Q3` or `2026`, as the ClickHouse views label it.
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}-{:02}", self.start.year(), self.start.month()),
            PeriodKind::Quarter => {
                format!("{}-Q{}", self.start.year(), self.start.month0() / 3 + 1)
            }
            PeriodKind::Year => self.start.year().to_string(),
        }
    }

    /// The instant the period ends: 00:00 +07:00 of `end`.
    pub fn end_instant(&self) -> Timestamp {
        vietnam_instant(self.end.and_hms_opt(0, 0, 0).expect("midnight exists"))
    }
}

/// How one closed period's report saw a dossier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodVerdict {
    /// The period.
    pub period: Period,
    /// `Some` when the dossier is in the period's report: `Early`, `OnTime` or `Late` (ended
    /// inside the period), `InProgress` or `OverdueInProgress` (open at its end).
    pub outcome: Option<Outcome>,
    /// Decision 766 indicator 2.2 for a dossier that ended inside the period with a result.
    pub resolution: Option<f64>,
}

impl DossierState {
    /// The state as it stood before `t`: only the facts of events that happened before `t`
    /// (every fact is the earliest of its kind, so this is exactly the fold of those events).
    pub fn before(&self, t: Timestamp) -> DossierState {
        let keep = |x: Option<Timestamp>| x.filter(|at| *at < t);
        DossierState {
            receipt: self.receipt.clone().filter(|r| r.received_at < t),
            refused_at_receipt: keep(self.refused_at_receipt),
            supplement_requests: self
                .supplement_requests
                .iter()
                .filter(|(_, at)| *at < t)
                .cloned()
                .collect(),
            supplements_received: self
                .supplements_received
                .iter()
                .filter(|(_, at)| *at < t)
                .cloned()
                .collect(),
            apology: self.apology.filter(|a| a.0 < t),
            handovers: self
                .handovers
                .iter()
                .filter(|h| h.at < t)
                .cloned()
                .collect(),
            finished: self.finished.filter(|f| f.0 < t),
            returned_at: keep(self.returned_at),
            stopped_at: keep(self.stopped_at),
            refused_at: keep(self.refused_at),
            withdrawn_at: keep(self.withdrawn_at),
            ..self.clone()
        }
    }

    /// The dossier in every period of every kind that closed at or before `watermark` and
    /// starts no later than `upto` (pass the end date of the dossier, or the watermark's date
    /// while it is open, or later to also clear periods that no longer hold it), from the
    /// period of its receipt on. Empty without a receipt.
    pub fn closed_periods(
        &self,
        clock: &Clock,
        watermark: Timestamp,
        upto: NaiveDate,
    ) -> Vec<PeriodVerdict> {
        let Some(receipt) = &self.receipt else {
            return Vec::new();
        };
        let received = local_date(receipt.received_at);
        let mut out = Vec::new();
        for kind in PeriodKind::ALL {
            let mut p = Period::containing(kind, received);
            while p.start <= upto && p.end_instant() <= watermark {
                let end = p.end_instant();
                let c = self.before(end).classify(Some(end), clock);
                let outcome = match c.end {
                    Some(e) if local_date(e.at) >= p.start => Some(c.outcome),
                    Some(_) => None,
                    None => Some(c.outcome),
                };
                out.push(PeriodVerdict {
                    period: p,
                    outcome,
                    resolution: outcome.and(c.resolution),
                });
                p = p.next();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_and_labels() {
        let p = Period::containing(PeriodKind::Month, d("2026-08-31"));
        assert_eq!(
            (p.start, p.end, p.label()),
            (d("2026-08-01"), d("2026-09-01"), "2026-08".into())
        );
        let q = Period::containing(PeriodKind::Quarter, d("2026-08-31"));
        assert_eq!(
            (q.start, q.end, q.label()),
            (d("2026-07-01"), d("2026-10-01"), "2026-Q3".into())
        );
        assert_eq!(q.next().label(), "2026-Q4");
        assert_eq!(q.next().next().label(), "2027-Q1");
        let y = Period::containing(PeriodKind::Year, d("2026-12-31"));
        assert_eq!((y.label(), y.end), ("2026".into(), d("2027-01-01")));
        assert_eq!(p.end_instant().to_rfc3339(), "2026-09-01T00:00:00+07:00");
    }
}
