//! An independent expectation of the figures, computed straight from the events with the
//! rules of domain.md §4-§5 and docs/DEADLINES.md, written without the fold's code or data
//! structures: it sorts each dossier's (deduplicated) events by time and reads the rules off
//! them. It shares only the calendar's primitives (working time between two instants, the
//! instant a working duration is reached, a limit's due time), which have their own golden
//! tests in services/core/tests/calendar.rs, and the catalogue file.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime};
use motcua_core::calendar::{DueRule, WorkCalendar};
use motcua_core::deadline::Catalogue;
use motcua_core::event::{
    DossierEvent, EventKind, RefusalStage, Satisfaction, TimeUnit, Timestamp,
};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub early: u64,
    pub on_time: u64,
    pub late: u64,
}

impl Counts {
    pub fn counted(&self) -> u64 {
        self.early + self.on_time + self.late
    }
}

fn vn() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap()
}

pub fn vn_date(t: Timestamp) -> NaiveDate {
    t.with_timezone(&vn()).date_naive()
}

fn local(t: Timestamp) -> NaiveDateTime {
    t.with_timezone(&vn()).naive_local()
}

fn stamp(t: NaiveDateTime) -> Timestamp {
    (t - Duration::hours(7)).and_utc().with_timezone(&vn())
}

/// The verdict of one dossier, as of a watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Early,
    OnTime,
    Late,
    OpenWithin,
    OpenOverdue,
}

/// One step of a process-control slip, judged.
#[derive(Debug, Clone)]
pub struct Step {
    pub from_unit: String,
    pub to_unit: String,
    pub month: NaiveDate,
    pub late: bool,
    pub early: bool,
    pub taken: Duration,
}

/// What the oracle knows of one received dossier.
#[derive(Debug, Clone)]
pub struct Dossier {
    pub agency: String,
    pub province: String,
    pub level: String,
    pub procedure: String,
    pub unit: TimeUnit,
    pub limit_amount: i32,
    /// Date of the end, if ended.
    pub end_day: Option<NaiveDate>,
    pub verdict: Verdict,
    /// Indicator 2.2, for dossiers ended with a result.
    pub resolution: Option<f64>,
    pub steps: Vec<Step>,
    /// The form 01 appointment differs from the legal due time by a minute or more.
    pub appointment_finding: bool,
    /// The last survey's overall answer (events in time order), if any.
    pub rating: Option<Satisfaction>,
    /// Some survey carried a complaint.
    pub complaint: bool,
    /// Some survey was dissatisfied or very dissatisfied.
    pub any_dissatisfied: bool,
    /// The first result issued was electronic.
    pub electronic_result: bool,
    /// Vietnam date of the receipt.
    pub received_day: NaiveDate,
    /// Received through the online channel.
    pub online: bool,
    /// Distinct supplement requests (by request number).
    pub supplement_requests: usize,
    /// The receipt says its components were digitised.
    pub digitised: bool,
    /// The national portal accepted a sync of it.
    pub synced: bool,
    /// Its PAKN items, one per item id.
    pub feedback: Vec<FeedbackItem>,
}

/// A PAKN item as the oracle reads it from the events of its id.
#[derive(Debug, Clone)]
pub struct FeedbackItem {
    /// Some event of the item calls it a complaint.
    pub complaint: bool,
    /// The latest due time any of its events gave.
    pub due_at: Timestamp,
    /// The earliest answer, with the sender's satisfaction with it.
    pub answered: Option<(Timestamp, Option<Satisfaction>)>,
}

/// The PAKN items of one dossier's events (each event once).
fn feedback_items(evs: &[&DossierEvent]) -> Vec<FeedbackItem> {
    let mut items: BTreeMap<&str, FeedbackItem> = BTreeMap::new();
    for f in evs.iter().filter_map(|e| e.feedback.as_ref()) {
        let item = items.entry(f.feedback_id.as_str()).or_insert(FeedbackItem {
            complaint: false,
            due_at: f.due_at,
            answered: None,
        });
        item.complaint |= f.category == motcua_core::event::FeedbackCategory::Complaint;
        item.due_at = item.due_at.max(f.due_at);
        if let Some(at) = f.answered_at {
            if item.answered.is_none_or(|(t, _)| at < t) {
                item.answered = Some((at, f.satisfaction));
            }
        }
    }
    items.into_values().collect()
}

/// Measures `[a, b)` like a limit in `unit`.
fn measure(cal: &WorkCalendar, unit: TimeUnit, a: Timestamp, b: Timestamp) -> Duration {
    if b <= a {
        return Duration::zero();
    }
    match unit {
        TimeUnit::CalendarDays => b - a,
        _ => cal.working_between(local(a), local(b)),
    }
}

/// Moves `t` later by `by`, measured like `unit`.
fn extend(cal: &WorkCalendar, unit: TimeUnit, t: Timestamp, by: Duration) -> Timestamp {
    if by <= Duration::zero() {
        return t;
    }
    match unit {
        TimeUnit::CalendarDays => {
            let moved = local(t + by);
            if cal.is_working_day(moved.date()) {
                stamp(moved)
            } else {
                stamp(
                    cal.next_working_day(moved.date())
                        .and_time(cal.hours().opening()),
                )
            }
        }
        _ => stamp(cal.reach_working(local(t), by)),
    }
}

/// The dossier codes of `events`: every code but those of SIPAS answer sheets, which are
/// in the figures and not in the per-dossier tables.
pub fn dossier_codes(events: &[DossierEvent]) -> HashSet<&str> {
    events
        .iter()
        .filter(|e| e.kind != EventKind::SipasResponse)
        .map(|e| e.dossier_code.as_str())
        .collect()
}

/// Every received dossier of `events`, judged as of `as_of`.
pub fn dossiers(events: &[DossierEvent], as_of: Timestamp) -> Vec<Dossier> {
    let cal = WorkCalendar::vietnam();
    let catalogue = Catalogue::shipped();
    let mut seen = HashSet::new();
    let mut by_dossier: HashMap<&str, Vec<&DossierEvent>> = HashMap::new();
    for e in events {
        if seen.insert(e.event_id.as_str()) {
            by_dossier
                .entry(e.dossier_code.as_str())
                .or_default()
                .push(e);
        }
    }
    let mut out = Vec::new();
    for (_, mut evs) in by_dossier {
        evs.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        let Some(receipt) = evs.iter().find(|e| e.kind == EventKind::Received) else {
            continue;
        };
        let r = receipt.received.as_ref().unwrap();
        let received_at = receipt.occurred_at;
        let appointment = r.appointment_at;
        let (legal_limit, rule) = catalogue
            .get(&r.procedure_code)
            .map(|p| (p.limit, p.rule))
            .unwrap_or((r.time_limit, DueRule::default()));
        let unit = legal_limit.unit;
        let legal_due = cal.due(received_at, legal_limit, &rule);
        let first = |k: EventKind| evs.iter().find(|e| e.kind == k).map(|e| e.occurred_at);
        let refused_in_processing = evs
            .iter()
            .find(|e| {
                e.kind == EventKind::Refused
                    && e.refused.as_ref().unwrap().stage == RefusalStage::DuringProcessing
            })
            .map(|e| e.occurred_at);
        let stop_or_refusal = [first(EventKind::ProcessingStopped), refused_in_processing]
            .into_iter()
            .flatten()
            .min();
        let result = first(EventKind::ResultReady).or(first(EventKind::ResultReturned));
        let mut end = result.or(stop_or_refusal).or(first(EventKind::Withdrawn));
        let mut with_result = result.is_some();

        // Supplement requests, one per request number (the earliest), and their waits.
        let mut requests: BTreeMap<&str, Timestamp> = BTreeMap::new();
        for e in evs
            .iter()
            .filter(|e| e.kind == EventKind::SupplementRequested)
        {
            requests
                .entry(e.supplement_requested.as_ref().unwrap().request_no.as_str())
                .or_insert(e.occurred_at);
        }
        let mut waits: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (no, asked) in &requests {
            // The earliest answer; one dated before its request closes it at once.
            let answer = evs.iter().find(|e| {
                e.kind == EventKind::SupplementReceived
                    && e.supplement_received.as_ref().unwrap().request_no == *no
            });
            match answer {
                Some(a) => waits.push((*asked, a.occurred_at.max(*asked))),
                // Still waiting: the clock stopped at the request, unless it ended before.
                None => {
                    if end.is_none_or(|t| *asked < t) {
                        end = Some(*asked);
                        with_result = false;
                    }
                }
            }
        }
        // Overlapping waits count once.
        waits.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (a, b) in waits {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let paused = merged.iter().fold(Duration::zero(), |acc, (a, b)| {
            acc + measure(&cal, unit, *a, *b)
        });
        let due = extend(&cal, unit, appointment, paused);
        let apologised = evs.iter().any(|e| e.kind == EventKind::Apology);

        let verdict = match end {
            Some(end) if requests.len() > 1 || apologised || end > due => Verdict::Late,
            Some(end) if vn_date(end) < vn_date(due) => Verdict::Early,
            Some(_) => Verdict::OnTime,
            None if as_of > due => Verdict::OpenOverdue,
            None => Verdict::OpenWithin,
        };
        let resolution = match end {
            Some(end) if with_result => {
                let inside = merged.iter().fold(Duration::zero(), |acc, (a, b)| {
                    acc + measure(&cal, unit, (*a).max(received_at), (*b).min(end))
                });
                let taken = (measure(&cal, unit, received_at, end) - inside).max(Duration::zero());
                let secs = taken.num_seconds() as f64;
                Some(match unit {
                    TimeUnit::WorkingDays => secs / (8.0 * 3600.0),
                    TimeUnit::WorkingHours => secs / 3600.0,
                    TimeUnit::CalendarDays => secs / 86_400.0,
                })
            }
            _ => None,
        };

        // Steps: the earliest row per step number; step k runs from row k-1 (or the
        // receipt) to row k, against its allotment extended by the waits inside it.
        let mut rows: BTreeMap<i32, &DossierEvent> = BTreeMap::new();
        for e in evs.iter().filter(|e| e.kind == EventKind::Handover) {
            rows.entry(e.handover.as_ref().unwrap().step).or_insert(e);
        }
        let mut steps = Vec::new();
        for (step, row) in &rows {
            let start = if *step == 1 {
                received_at
            } else {
                match rows.get(&(step - 1)) {
                    Some(prev) => prev.occurred_at,
                    None => continue,
                }
            };
            let h = row.handover.as_ref().unwrap();
            let Some(allotted) = h.allotted else { continue };
            let end = row.occurred_at;
            let inside = merged.iter().fold(Duration::zero(), |acc, (a, b)| {
                acc + measure(&cal, allotted.unit, (*a).max(start), (*b).min(end))
            });
            let step_due = extend(
                &cal,
                allotted.unit,
                cal.due(start, allotted, &DueRule::default()),
                inside,
            );
            let day = vn_date(end);
            steps.push(Step {
                from_unit: h.from_unit.clone(),
                to_unit: h.to_unit.clone(),
                month: NaiveDate::from_ymd_opt(
                    chrono::Datelike::year(&day),
                    chrono::Datelike::month(&day),
                    1,
                )
                .unwrap(),
                late: end > step_due,
                early: end <= step_due && vn_date(end) < vn_date(step_due),
                taken: (measure(&cal, allotted.unit, start, end) - inside).max(Duration::zero()),
            });
        }

        out.push(Dossier {
            agency: receipt.agency_code.clone(),
            province: receipt.agency_code.split('.').next().unwrap().to_string(),
            level: r.agency_level.as_str().to_string(),
            procedure: r.procedure_code.clone(),
            unit,
            limit_amount: legal_limit.amount,
            end_day: end.map(vn_date),
            verdict,
            resolution,
            steps,
            appointment_finding: (appointment - legal_due).num_minutes().abs() >= 1,
            rating: evs
                .iter()
                .rev()
                .find_map(|e| e.survey.as_ref().map(|s| s.overall)),
            // A survey's complaint, or a PAKN complaint about the dossier.
            complaint: evs
                .iter()
                .any(|e| e.survey.as_ref().is_some_and(|s| s.complaint))
                || feedback_items(&evs).iter().any(|f| f.complaint),
            digitised: r.digitised == Some(true),
            synced: evs
                .iter()
                .any(|e| e.portal_sync.as_ref().is_some_and(|s| s.accepted)),
            feedback: feedback_items(&evs),
            received_day: vn_date(received_at),
            online: r.channel == motcua_core::event::Channel::Online,
            supplement_requests: requests.len(),
            electronic_result: evs
                .iter()
                .find_map(|e| e.result_ready.as_ref())
                .is_some_and(|r| r.electronic_result),
            any_dissatisfied: evs.iter().any(|e| {
                e.survey.as_ref().is_some_and(|s| {
                    matches!(
                        s.overall,
                        Satisfaction::Dissatisfied | Satisfaction::VeryDissatisfied
                    )
                })
            }),
        });
    }
    out
}

/// Expected (agency, Vietnam date of the end) -> counts, over ended dossiers.
pub fn expected(events: &[DossierEvent]) -> BTreeMap<(String, NaiveDate), Counts> {
    // Ended dossiers do not depend on the watermark.
    let as_of = events.iter().map(|e| e.occurred_at).max().unwrap();
    let mut out: BTreeMap<(String, NaiveDate), Counts> = BTreeMap::new();
    for d in dossiers(events, as_of) {
        let Some(day) = d.end_day else { continue };
        let c = out.entry((d.agency.clone(), day)).or_default();
        match d.verdict {
            Verdict::Early => c.early += 1,
            Verdict::OnTime => c.on_time += 1,
            Verdict::Late => c.late += 1,
            Verdict::OpenWithin | Verdict::OpenOverdue => unreachable!("ended"),
        }
    }
    out
}

/// The on-time rate as the views compute it.
pub fn rate(c: &Counts) -> f64 {
    ((c.early + c.on_time) as f64 * 10000.0 / c.counted() as f64).round() / 100.0
}

/// A reporting period: kind, label (`2026-08`, `2026-Q3`, `2026`), first day, first day after.
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: &'static str,
    pub label: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Report {
    /// 00:00 in Vietnam on the first day after the period.
    pub fn end_instant(&self) -> Timestamp {
        stamp(self.end.and_hms_opt(0, 0, 0).unwrap())
    }
}

/// Every month, quarter and year from the one holding `first` to the one holding `last`.
pub fn reports(first: NaiveDate, last: NaiveDate) -> Vec<Report> {
    use chrono::Datelike;
    let mut out = Vec::new();
    for (kind, months) in [("MONTH", 1u32), ("QUARTER", 3), ("YEAR", 12)] {
        let m0 = (first.month0() / months) * months;
        let mut start = NaiveDate::from_ymd_opt(first.year(), m0 + 1, 1).unwrap();
        while start <= last {
            let end = start + chrono::Months::new(months);
            let label = match kind {
                "MONTH" => format!("{}-{:02}", start.year(), start.month()),
                "QUARTER" => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
                _ => start.year().to_string(),
            };
            out.push(Report {
                kind,
                label,
                start,
                end,
            });
            start = end;
        }
    }
    out
}

/// The dossiers in a period's report, judged as the report saw them: a closed period from
/// the events before its end, with its end as the watermark; the running one (holding
/// `as_of`) from every event, as of `as_of`. In the report: ended inside the period, or open.
pub fn in_report(events: &[DossierEvent], report: &Report, as_of: Timestamp) -> Vec<Dossier> {
    let end = report.end_instant();
    let seen = if end <= as_of {
        let before: Vec<DossierEvent> = events
            .iter()
            .filter(|e| e.occurred_at < end)
            .cloned()
            .collect();
        dossiers(&before, end)
    } else {
        dossiers(events, as_of)
    };
    seen.into_iter()
        .filter(|d| match d.end_day {
            Some(day) => day >= report.start && day < report.end,
            None => true,
        })
        .collect()
}

/// Decision 766 indicator 2.1 counts: early, on time, late, open within, open overdue.
pub type Progress = [u64; 5];

pub fn add(p: &mut Progress, v: Verdict) {
    let i = match v {
        Verdict::Early => 0,
        Verdict::OnTime => 1,
        Verdict::Late => 2,
        Verdict::OpenWithin => 3,
        Verdict::OpenOverdue => 4,
    };
    p[i] += 1;
}

/// (early + on time + open within) / counted, percent, 2 decimals.
pub fn rate_2_1(p: &Progress) -> f64 {
    let counted: u64 = p.iter().sum();
    ((p[0] + p[1] + p[3]) as f64 * 10000.0 / counted as f64).round() / 100.0
}
