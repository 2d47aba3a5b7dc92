use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use motcua_core::deadline::{AppointmentCheck, Clock as DeadlineClock, LimitSource};
use motcua_core::event::{Channel, DossierEvent, EventKind, FormSet, RefusalStage};
use motcua_core::fold::local_date;
use motcua_core::validate;

use super::*;

fn run(config: SimConfig) -> (Vec<DossierEvent>, SimStats) {
    let mut sim = Simulator::new(config).expect("valid config");
    let events: Vec<DossierEvent> = sim.by_ref().collect();
    (events, sim.stats())
}

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        days: 7,
        dossiers_per_day: 300,
        ..SimConfig::default()
    }
}

/// A long enough run for every kind of event to appear.
fn month() -> SimConfig {
    SimConfig {
        seed: 11,
        days: 30,
        dossiers_per_day: 150,
        ..SimConfig::default()
    }
}

/// A clean stream (nothing held back) big enough for step and supplement shares.
fn clean_run() -> SimConfig {
    SimConfig {
        seed: 23,
        days: 35,
        dossiers_per_day: 400,
        out_of_order_rate: 0.0,
        ..SimConfig::default()
    }
}

fn naive_local(e: &DossierEvent) -> NaiveDateTime {
    local(e.occurred_at)
}

/// Vietnam local time of a +07:00 timestamp.
fn local(t: Timestamp) -> NaiveDateTime {
    t.naive_local()
}

/// What the events say about one dossier (each event id read once).
#[derive(Default)]
struct Life<'a> {
    receipt: Option<&'a DossierEvent>,
    /// Supplement requests and answers by request number.
    requests: BTreeMap<&'a str, Timestamp>,
    answers: BTreeMap<&'a str, Timestamp>,
    handovers: Vec<(Timestamp, &'a Handover)>,
    ready: Option<Timestamp>,
    /// Withdrawal, refusal during processing or stop.
    terminal: Option<Timestamp>,
    apology: bool,
}

impl Life<'_> {
    /// Closed supplement waits, [request, answer].
    fn waits(&self) -> Vec<(Timestamp, Timestamp)> {
        self.requests
            .iter()
            .filter_map(|(no, &asked)| self.answers.get(no).map(|&back| (asked, back)))
            .collect()
    }

    fn open_request(&self) -> Option<Timestamp> {
        self.requests
            .iter()
            .filter(|(no, _)| !self.answers.contains_key(*no))
            .map(|(_, &t)| t)
            .min()
    }

    /// The legal due time extended by every closed wait (the EXTEND policy).
    fn due(&self, clock: &DeadlineClock) -> Option<Timestamp> {
        let e = self.receipt?;
        let r = e.received.as_ref()?;
        let legal = clock.legal_due(
            &r.procedure_code,
            e.occurred_at,
            r.time_limit,
            r.appointment_at,
        );
        let unit = legal.limit.unit;
        Some(self.waits().iter().fold(legal.due_at, |due, &(a, b)| {
            clock.extend(unit, due, clock.measure(unit, a, b))
        }))
    }
}

fn lives(events: &[DossierEvent]) -> BTreeMap<&str, Life<'_>> {
    let mut seen = HashSet::new();
    let mut lives: BTreeMap<&str, Life<'_>> = BTreeMap::new();
    for e in events {
        if !seen.insert(e.event_id.as_str()) {
            continue;
        }
        let life = lives.entry(e.dossier_code.as_str()).or_default();
        let t = e.occurred_at;
        match e.kind {
            EventKind::Received => life.receipt = Some(e),
            EventKind::SupplementRequested => {
                let r = e.supplement_requested.as_ref().expect("payload");
                life.requests.insert(r.request_no.as_str(), t);
            }
            EventKind::SupplementReceived => {
                let r = e.supplement_received.as_ref().expect("payload");
                life.answers.insert(r.request_no.as_str(), t);
            }
            EventKind::Handover => life
                .handovers
                .push((t, e.handover.as_ref().expect("payload"))),
            EventKind::ResultReady => life.ready = Some(t),
            EventKind::Apology => life.apology = true,
            EventKind::Withdrawn | EventKind::ProcessingStopped => life.terminal = Some(t),
            EventKind::Refused
                if e.refused.as_ref().expect("payload").stage == RefusalStage::DuringProcessing =>
            {
                life.terminal = Some(t)
            }
            _ => {}
        }
    }
    for life in lives.values_mut() {
        life.handovers.sort_by_key(|(_, h)| h.step);
    }
    lives
}

/// The dossier's outcome by the processor's rule: more than one supplement request or an
/// apology is late; otherwise its end against the extended legal due time, by date for
/// early. `None` while in progress.
fn outcome(life: &Life<'_>, clock: &DeadlineClock) -> Option<StepOutcome> {
    let due = life.due(clock)?;
    let end = match (life.ready.or(life.terminal), life.open_request()) {
        (Some(end), Some(open)) => end.min(open),
        (end, open) => end.or(open)?,
    };
    Some(if life.requests.len() > 1 || life.apology || end > due {
        StepOutcome::Late
    } else if local_date(end) < local_date(due) {
        StepOutcome::Early
    } else {
        StepOutcome::OnTime
    })
}

/// Each complete step of a slip (rows 1..k all present, no supplement still open), with its
/// verdict by the processor's rule: due = the allotment from the previous row (the receipt
/// for step 1), extended by the waits inside the step.
fn step_verdicts<'a>(life: &Life<'a>, clock: &DeadlineClock) -> Vec<(&'a Handover, StepOutcome)> {
    let Some(receipt) = life.receipt else {
        return Vec::new();
    };
    if life.open_request().is_some() {
        return Vec::new();
    }
    let waits = life.waits();
    let mut start = receipt.occurred_at;
    let mut verdicts = Vec::new();
    for (i, &(end, h)) in life.handovers.iter().enumerate() {
        if h.step != i as i32 + 1 {
            break;
        }
        let allotted = h.allotted.expect("every handover has its allotment");
        let mut due = clock.step_due(start, allotted);
        for &(asked, back) in &waits {
            let (a, b) = (asked.max(start), back.min(end));
            if b > a {
                due = clock.extend(
                    TimeUnit::WorkingHours,
                    due,
                    clock.measure(TimeUnit::WorkingHours, a, b),
                );
            }
        }
        let verdict = if end > due {
            StepOutcome::Late
        } else if local_date(end) < local_date(due) {
            StepOutcome::Early
        } else {
            StepOutcome::OnTime
        };
        verdicts.push((h, verdict));
        start = end;
    }
    verdicts
}

#[test]
fn same_seed_same_bytes_other_seed_other_events() {
    let (a, _) = run(small(1));
    let (b, _) = run(small(1));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let bytes_a = serde_json::to_vec(&a).expect("events serialise");
    let bytes_b = serde_json::to_vec(&b).expect("events serialise");
    assert_eq!(bytes_a, bytes_b);
    let (c, _) = run(small(2));
    assert_ne!(a, c);
}

#[test]
fn every_event_validates_and_every_kind_appears() {
    let mut kinds = HashSet::new();
    let mut dossiers = 0;
    for config in [SimConfig::default(), month()] {
        let (events, stats) = run(config);
        dossiers += stats.dossiers;
        for e in &events {
            if let Err(err) = validate(e) {
                panic!("invalid event {}: {err}\n{e:#?}", e.event_id);
            }
            kinds.insert(e.kind);
        }
    }
    assert!(dossiers > 8_000, "{dossiers}");
    for kind in EventKind::ALL {
        assert!(kinds.contains(kind), "no {kind} event generated");
    }
}

/// A window with Tết 2026 (Mon 16/2 to Fri 20/2 off).
fn tet_2026() -> SimConfig {
    SimConfig {
        seed: 17,
        start: NaiveDate::from_ymd_opt(2026, 2, 9).expect("date"),
        days: 20,
        dossiers_per_day: 400,
        ..SimConfig::default()
    }
}

/// A window with the worked Saturday 22/8/2026 and National Day, 31/8 to 2/9 off.
fn national_day_2026() -> SimConfig {
    SimConfig {
        seed: 19,
        start: NaiveDate::from_ymd_opt(2026, 8, 17).expect("date"),
        days: 21,
        dossiers_per_day: 400,
        ..SimConfig::default()
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[test]
fn session_constants_follow_the_calendar_hours() {
    let hours = WorkCalendar::vietnam().hours().clone();
    assert_eq!(hours.opening().num_seconds_from_midnight(), MORNING_START);
    assert_eq!(hours.closing().num_seconds_from_midnight(), AFTERNOON_END);
    assert_eq!(hours.day_length().num_seconds(), WORKING_DAY_SECS);
    for (slot, _) in COUNTER_SLOTS {
        for minute in [slot, slot + 29] {
            let t = NaiveTime::from_num_seconds_from_midnight_opt(minute * 60, 0).expect("time");
            assert!(
                hours.contains(t),
                "counter slot at {t} outside working hours"
            );
        }
    }
}

#[test]
fn planned_steps_stay_compact() {
    // Open dossiers are many: a step is its time and a few bytes of what happens.
    assert!(
        std::mem::size_of::<What>() <= 8,
        "{}",
        std::mem::size_of::<What>()
    );
    assert!(
        std::mem::size_of::<Step>() <= 12,
        "{}",
        std::mem::size_of::<Step>()
    );
}

#[test]
fn counter_receipts_never_fall_on_a_day_off() {
    let cal = WorkCalendar::vietnam();
    let days_off = [
        date(2026, 2, 16),
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 2, 20),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
    ];
    let worked_saturday = date(2026, 8, 22);
    assert!(days_off.iter().all(|&d| !cal.is_working_day(d)));
    assert!(cal.is_working_day(worked_saturday));
    let mut counter_by_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut online_by_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut online_off_hours = 0;
    for config in [tet_2026(), national_day_2026()] {
        let (events, _) = run(config);
        for e in events.iter().filter(|e| e.kind == EventKind::Received) {
            let r = e.received.as_ref().expect("payload");
            assert_eq!(e.occurred_at.offset().local_minus_utc(), 7 * 3600);
            let t = naive_local(e);
            let working_instant = cal.is_working_day(t.date())
                && cal.hours().contains(t.time())
                && t.time() < cal.hours().closing();
            match r.channel {
                Channel::InPerson | Channel::Postal => {
                    assert!(
                        working_instant,
                        "counter receipt at {t} ({}), a day off or outside hours",
                        t.weekday()
                    );
                    *counter_by_day.entry(t.date()).or_insert(0) += 1;
                }
                Channel::Online => {
                    online_off_hours += usize::from(!working_instant);
                    *online_by_day.entry(t.date()).or_insert(0) += 1;
                }
            }
        }
    }
    for d in days_off {
        assert!(!counter_by_day.contains_key(&d), "counter open on {d}");
        // Online dossiers still come in, a tenth as many.
        assert!(online_by_day.get(&d).copied().unwrap_or(0) > 10, "{d}");
    }
    // The worked Saturday is a full counter day.
    let saturday = counter_by_day.get(&worked_saturday).copied().unwrap_or(0);
    assert!(
        saturday > 200,
        "{saturday} counter receipts on the worked Saturday"
    );
    assert!(online_off_hours > 300, "{online_off_hours}");
}

#[test]
fn appointments_are_the_legal_due_time_except_a_shifted_share() {
    let clock = DeadlineClock::default();
    let (mut legal, mut later, mut earlier) = (0u32, 0u32, 0u32);
    for config in [
        SimConfig {
            days: 10,
            ..SimConfig::default()
        },
        tet_2026(),
    ] {
        let (events, _) = run(config);
        for e in events.iter().filter(|e| e.kind == EventKind::Received) {
            let r = e.received.as_ref().expect("payload");
            assert!(r.appointment_at > e.occurred_at);
            let due = clock.legal_due(
                &r.procedure_code,
                e.occurred_at,
                r.time_limit,
                r.appointment_at,
            );
            assert_eq!(due.source, LimitSource::Catalogue, "{}", r.procedure_code);
            assert_eq!(
                due.limit, r.time_limit,
                "form 01 carries the catalogue's limit"
            );
            let (due_at, appointment) = (local(due.due_at), local(r.appointment_at));
            let working = |a, b| clock.calendar.working_between(a, b).num_seconds();
            match due.check {
                AppointmentCheck::Matches => {
                    assert_eq!(due.due_at, r.appointment_at, "to the second");
                    legal += 1;
                }
                AppointmentCheck::LaterThanLegal => {
                    let by = working(due_at, appointment);
                    assert!(
                        by == WORKING_DAY_SECS || by == 2 * WORKING_DAY_SECS,
                        "{}: appointment {appointment} is {by} s after the legal {due_at}",
                        e.dossier_code
                    );
                    later += 1;
                }
                AppointmentCheck::EarlierThanLegal => {
                    let by = working(appointment, due_at);
                    assert_eq!(
                        by, WORKING_DAY_SECS,
                        "{}: appointment {appointment} vs legal {due_at}",
                        e.dossier_code
                    );
                    earlier += 1;
                }
            }
        }
    }
    let total = f64::from(legal + later + earlier);
    let share = f64::from(later + earlier) / total;
    eprintln!("appointments: {legal} legal, {later} later, {earlier} earlier");
    assert!((0.012..0.04).contains(&share), "shifted share {share}");
    assert!(
        earlier > 0 && later > earlier,
        "{later} later, {earlier} earlier"
    );
}

#[test]
fn dossier_codes_are_unique_and_ids_repeat_only_as_duplicates() {
    let (events, stats) = run(month());
    let mut openings: HashMap<&str, usize> = HashMap::new();
    let mut by_id: HashMap<&str, &DossierEvent> = HashMap::new();
    let mut repeats = 0u64;
    for e in &events {
        assert!(validate::is_dossier_code(&e.dossier_code));
        if let Some(first) = by_id.insert(e.event_id.as_str(), e) {
            assert_eq!(first, e, "a repeated id must be an identical copy");
            repeats += 1;
            continue;
        }
        let opens = e.kind == EventKind::Received
            || e.refused
                .as_ref()
                .is_some_and(|r| r.stage == RefusalStage::AtReceipt);
        if opens {
            *openings.entry(e.dossier_code.as_str()).or_insert(0) += 1;
        }
    }
    assert_eq!(repeats, stats.duplicates);
    assert!(openings.values().all(|&n| n == 1));
    // Delayed receipts may fall past the horizon, but almost every dossier shows its opening.
    assert!(
        openings.len() as u64 * 100 >= stats.dossiers * 98,
        "{} of {}",
        openings.len(),
        stats.dossiers
    );
}

#[test]
fn delivery_is_in_event_time_except_held_back_and_repeated_events() {
    let (events, stats) = run(month());
    let horizon = Simulator::new(month()).expect("valid config").horizon();
    let mut latest = events[0].occurred_at;
    let mut behind = 0u64;
    let mut read_before_earlier = 0;
    let mut seen_max: HashMap<&str, chrono::DateTime<FixedOffset>> = HashMap::new();
    for e in &events {
        assert!(e.occurred_at < horizon);
        if e.occurred_at < latest {
            behind += 1;
        }
        latest = latest.max(e.occurred_at);
        let max = seen_max
            .entry(e.dossier_code.as_str())
            .or_insert(e.occurred_at);
        if e.occurred_at < *max {
            read_before_earlier += 1;
        }
        *max = (*max).max(e.occurred_at);
    }
    assert!(stats.out_of_order > 0 && stats.duplicates > 0);
    assert!(behind <= stats.out_of_order + stats.duplicates);
    assert!(read_before_earlier > 0);
    let total = stats.events as f64;
    assert!((0.01..0.03).contains(&(stats.out_of_order as f64 / total)));
    assert!((0.002..0.01).contains(&(stats.duplicates as f64 / total)));
    // The horizon leaves dossiers open.
    assert!(stats.open_dossiers > 0);
}

#[test]
fn handovers_form_a_slip_with_allotments_from_and_back_to_the_one_stop() {
    // No held-back events, so a slip is never cut by the horizon mid-delivery.
    let config = SimConfig {
        out_of_order_rate: 0.0,
        ..month()
    };
    let sim = Simulator::new(config.clone()).expect("valid config");
    let province = sim.province().clone();
    let (events, _) = run(config);
    let lives = lives(&events);
    let (mut checked, mut incomplete) = (0u32, 0u32);
    // Finished slips by level: (slips, slips with at least 3 rows).
    let mut rows_by_level: HashMap<AgencyLevel, (u32, u32)> = HashMap::new();
    for (code, life) in &lives {
        let rows: Vec<&Handover> = life.handovers.iter().map(|(_, h)| *h).collect();
        if rows.is_empty() {
            continue;
        }
        if rows.iter().enumerate().any(|(i, h)| h.step != i as i32 + 1) {
            incomplete += 1;
            continue;
        }
        for h in &rows {
            let allotted = h.allotted.expect("every handover has its allotment");
            assert_eq!(allotted.unit, TimeUnit::WorkingHours, "{code}");
            assert!(allotted.amount >= 1, "{code}");
        }
        let agency_code = code.rsplitn(3, '-').nth(2).expect("agency in code");
        let agency = province.agency(agency_code).expect("known agency");
        assert_eq!(rows[0].from_unit, agency.one_stop, "{code}");
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].to_unit, pair[1].from_unit,
                "{code}: the slip is a chain"
            );
            assert_ne!(
                pair[1].from_unit, pair[1].to_unit,
                "{code}: a handover changes hands"
            );
        }
        let Some(receipt) = life.receipt else {
            continue;
        };
        if life.ready.is_some() {
            let last = rows.last().expect("non-empty");
            assert_eq!(last.to_unit, agency.one_stop, "{code}");
            assert!((2..=6).contains(&rows.len()), "{code}: {} rows", rows.len());
            let r = receipt.received.as_ref().expect("payload");
            let entry = rows_by_level.entry(r.agency_level).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u32::from(rows.len() >= 3);
            // The allotments share out the limit in working hours.
            let hours: i32 = rows
                .iter()
                .map(|h| h.allotted.expect("allotted").amount)
                .sum();
            let budget = match r.time_limit.unit {
                TimeUnit::WorkingDays => r.time_limit.amount * 8,
                TimeUnit::WorkingHours => r.time_limit.amount,
                TimeUnit::CalendarDays => r.time_limit.amount * 5 * 8 / 7,
            };
            assert!(
                f64::from(hours) >= 0.5 * f64::from(budget)
                    && f64::from(hours) <= 1.5 * f64::from(budget) + 2.0,
                "{code}: allotments {hours} h for a limit of {:?}",
                r.time_limit
            );
            checked += 1;
        }
    }
    assert!(checked > 1_000, "{checked}");
    assert_eq!(incomplete, 0, "slips with gaps");
    for (level, (slips, long)) in &rows_by_level {
        let share = f64::from(*long) / f64::from(*slips);
        eprintln!(
            "{level:?}: {slips} slips, {:.1}% with 3+ rows",
            share * 100.0
        );
        let min = if *level == AgencyLevel::Commune {
            0.7
        } else {
            0.99
        };
        assert!(share >= min, "{level:?}: {share} with 3+ rows");
    }
}

#[test]
fn step_outcomes_tell_the_truth_but_for_a_few_late_steps() {
    let clock = DeadlineClock::default();
    let (events, _) = run(clean_run());
    let lives = lives(&events);
    let (mut steps, mut late, mut late_reported, mut late_as_on_time) = (0u64, 0u64, 0u64, 0u64);
    let mut by_unit: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut by_agency: HashMap<&str, (u64, u64)> = HashMap::new();
    for (code, life) in &lives {
        for (h, truth) in step_verdicts(life, &clock) {
            steps += 1;
            let is_late = truth == StepOutcome::Late;
            late += u64::from(is_late);
            let unit = by_unit.entry(h.from_unit.as_str()).or_insert((0, 0));
            unit.0 += 1;
            unit.1 += u64::from(is_late);
            let agency_code = code.rsplitn(3, '-').nth(2).expect("agency in code");
            let agency = by_agency.entry(agency_code).or_insert((0, 0));
            agency.0 += 1;
            agency.1 += u64::from(is_late);
            match (truth, h.step_outcome) {
                (_, None) => {}
                (StepOutcome::Late, Some(reported)) => {
                    late_reported += 1;
                    late_as_on_time += u64::from(reported == StepOutcome::OnTime);
                    assert!(
                        matches!(reported, StepOutcome::Late | StepOutcome::OnTime),
                        "{code} step {}: late reported {reported:?}",
                        h.step
                    );
                }
                (truth, Some(reported)) => assert_eq!(
                    reported, truth,
                    "{code} step {}: reported {reported:?}, rule says {truth:?}",
                    h.step
                ),
            }
        }
    }
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;
    let late_share = share(late, steps);
    let misreported = share(late_as_on_time, late_reported);
    eprintln!(
        "{steps} steps, {:.2}% late, {:.2}% of late ones reported on time",
        late_share * 100.0,
        misreported * 100.0
    );
    assert!(steps > 10_000, "{steps}");
    assert!(
        (0.08..0.18).contains(&late_share),
        "late steps {late_share}"
    );
    assert!(
        (0.005..0.07).contains(&misreported),
        "misreported {misreported}"
    );
    // Some units and agencies are markedly slower than others.
    for (name, map, min_steps) in [("unit", &by_unit, 150), ("agency", &by_agency, 150)] {
        let rates: Vec<f64> = map
            .values()
            .filter(|(n, _)| *n >= min_steps)
            .map(|&(n, l)| share(l, n))
            .collect();
        let worst = rates.iter().copied().fold(0.0, f64::max);
        let best = rates.iter().copied().fold(1.0, f64::min);
        eprintln!(
            "late steps by {name} (>= {min_steps} steps): best {best:.3}, worst {worst:.3}, {} {name}s",
            rates.len()
        );
        assert!(rates.len() >= 5, "{name}: {}", rates.len());
        assert!(
            worst > 2.5 * best.max(0.02),
            "{name}: best {best} worst {worst}"
        );
    }
}

#[test]
fn planned_fates_hold_under_the_extend_policy() {
    let clock = DeadlineClock::default();
    let (events, stats) = run(clean_run());
    let lives = lives(&events);
    let (mut supplemented, mut supplemented_late, mut plain, mut plain_late) = (0u64, 0, 0, 0);
    let mut apologies = 0;
    for (code, life) in &lives {
        let Some(ready) = life.ready else { continue };
        let due = life.due(&clock).expect("received");
        if life.apology {
            // Apologies are for dossiers that end after their (extended) due time.
            assert!(
                ready > due,
                "{code}: apologised but finished {ready} by {due}"
            );
            apologies += 1;
        }
        let late = ready > due;
        match life.requests.len() {
            0 => {
                plain += 1;
                plain_late += u64::from(late);
            }
            1 => {
                supplemented += 1;
                supplemented_late += u64::from(late);
            }
            _ => {}
        }
    }
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;
    let (s, p) = (
        share(supplemented_late, supplemented),
        share(plain_late, plain),
    );
    eprintln!(
        "late by time: {:.2}% of {supplemented} once-supplemented, {:.2}% of {plain} others; {apologies} apologies",
        s * 100.0,
        p * 100.0
    );
    assert!(
        apologies > 50 && supplemented > 200,
        "{apologies} {supplemented}"
    );
    // A supplement wait does not make a dossier late: the due time moves with it.
    assert!(s < p * 1.6 + 0.03, "supplemented {s} vs others {p}");
    assert!(stats.planned.late > 0);
}

#[test]
fn form_set_follows_the_event_date() {
    let config = SimConfig {
        start: NaiveDate::from_ymd_opt(2025, 6, 23).expect("date"),
        days: 21,
        dossiers_per_day: 300,
        ..SimConfig::default()
    };
    let (events, _) = run(config);
    let switch = NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
    let mut sets: HashMap<&str, HashSet<FormSet>> = HashMap::new();
    let (mut refused_2018, mut stopped_2025) = (0, 0);
    for e in &events {
        // Form 05 (processing stopped) exists only under Circular 03/2025; before, a stop
        // is a refusal during processing.
        if e.kind == EventKind::ProcessingStopped {
            assert_eq!(e.form_set, FormSet::Tt03_2025, "{}", e.event_id);
            stopped_2025 += 1;
        }
        if e.refused
            .as_ref()
            .is_some_and(|r| r.stage == RefusalStage::DuringProcessing)
            && e.form_set == FormSet::Tt01_2018
        {
            refused_2018 += 1;
        }
        let expected = if local_date(e.occurred_at) < switch {
            FormSet::Tt01_2018
        } else {
            FormSet::Tt03_2025
        };
        assert_eq!(e.form_set, expected, "{}", e.event_id);
        sets.entry(e.dossier_code.as_str())
            .or_default()
            .insert(e.form_set);
        validate(e).expect("valid event");
    }
    assert!(
        sets.values().any(|s| s.len() == 2),
        "some dossier spans the change"
    );
    assert!(
        refused_2018 > 0 && stopped_2025 > 0,
        "{refused_2018} refusals under 2018, {stopped_2025} stops under 2025"
    );
}

#[test]
fn bad_config_lists_every_problem() {
    let err = Simulator::new(SimConfig {
        province: "h56.x".to_string(),
        survey_rate: 1.5,
        duplicate_rate: -0.1,
        ..SimConfig::default()
    })
    .expect_err("invalid config");
    assert_eq!(err.problems.len(), 3, "{err}");
    assert!(err
        .to_string()
        .starts_with("invalid simulator configuration: "));
}

#[test]
fn zero_rates_give_a_clean_stream() {
    let config = SimConfig {
        out_of_order_rate: 0.0,
        duplicate_rate: 0.0,
        ..small(5)
    };
    let (events, stats) = run(config.clone());
    assert_eq!(stats.duplicates + stats.out_of_order, 0);
    assert!(events
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    // The dossiers themselves do not depend on the fault rates.
    let (faulty, _) = run(small(5));
    let mut a: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let mut b: Vec<&str> = faulty.iter().map(|e| e.event_id.as_str()).collect();
    a.sort_unstable();
    b.sort_unstable();
    b.dedup();
    let common = a.iter().filter(|id| b.binary_search(id).is_ok()).count();
    assert!(common * 100 >= a.len() * 99, "{common} of {}", a.len());
}

/// Measured shares over a run of about 20k dossiers; the bounds are loose on purpose.
#[test]
fn proportions_are_believable() {
    let config = SimConfig {
        seed: 7,
        days: 56,
        dossiers_per_day: 500,
        ..SimConfig::default()
    };
    let start = config.start;
    let (events, stats) = run(config);
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;

    let p = stats.planned;
    let received = stats.dossiers - stats.refused_at_receipt;
    eprintln!(
        "dossiers {} (received {received}), events {}, stats {stats:#?}",
        stats.dossiers, stats.events
    );
    assert!(stats.dossiers >= 19_000, "{}", stats.dossiers);
    let refused = share(stats.refused_at_receipt, stats.dossiers);
    assert!(
        (0.005..0.018).contains(&refused),
        "refused at receipt {refused}"
    );
    let ended =
        p.early + p.near_appointment + p.late + p.withdrawn + p.refused_in_processing + p.stopped;
    let checks = [
        ("early", share(p.early, ended), 0.10, 0.20),
        (
            "near appointment",
            share(p.near_appointment, ended),
            0.60,
            0.78,
        ),
        ("late", share(p.late, ended), 0.08, 0.17),
        ("withdrawn", share(p.withdrawn, ended), 0.004, 0.02),
        (
            "refused in processing",
            share(p.refused_in_processing, ended),
            0.001,
            0.012,
        ),
        ("stopped", share(p.stopped, ended), 0.001, 0.012),
        ("apologised / late", share(p.apologised, p.late), 0.4, 0.6),
        (
            "one supplement",
            share(p.supplement_once, received),
            0.06,
            0.10,
        ),
        (
            "two supplements",
            share(p.supplement_twice, received),
            0.004,
            0.02,
        ),
        (
            "appointment shifted",
            share(p.appointment_shifted, received),
            0.015,
            0.045,
        ),
    ];
    for (name, value, lo, hi) in checks {
        eprintln!("planned {name}: {:.2}%", value * 100.0);
        assert!(
            (lo..hi).contains(&value),
            "{name} {value} not in {lo}..{hi}"
        );
    }

    // What the pipeline will measure: classify dossiers received early enough that their
    // whole life falls before the horizon, by the processor's rule.
    let (mut online, mut postal, mut receipts) = (0u64, 0u64, 0u64);
    let (mut electronic, mut ready, mut returned, mut surveys, mut unhappy, mut complaints) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    for e in events.iter() {
        match e.kind {
            EventKind::Received => {
                receipts += 1;
                match e.received.as_ref().expect("payload").channel {
                    Channel::Online => online += 1,
                    Channel::Postal => postal += 1,
                    Channel::InPerson => {}
                }
            }
            EventKind::ResultReady => {
                ready += 1;
                electronic +=
                    u64::from(e.result_ready.as_ref().expect("payload").electronic_result);
            }
            EventKind::ResultReturned => returned += 1,
            EventKind::Survey => {
                let s = e.survey.as_ref().expect("payload");
                surveys += 1;
                unhappy += u64::from(matches!(
                    s.overall,
                    Satisfaction::Dissatisfied | Satisfaction::VeryDissatisfied
                ));
                complaints += u64::from(s.complaint);
            }
            _ => {}
        }
    }
    let measured = [
        ("online", share(online, receipts), 0.30, 0.42),
        ("postal", share(postal, receipts), 0.03, 0.07),
        ("electronic result", share(electronic, ready), 0.5, 0.7),
        ("survey / returned", share(surveys, returned), 0.28, 0.40),
        (
            "dissatisfied / surveys",
            share(unhappy, surveys),
            0.02,
            0.15,
        ),
        (
            "complaint / surveys",
            share(complaints, surveys),
            0.003,
            0.03,
        ),
    ];
    for (name, value, lo, hi) in measured {
        eprintln!("measured {name}: {:.2}%", value * 100.0);
        assert!(
            (lo..hi).contains(&value),
            "{name} {value} not in {lo}..{hi}"
        );
    }

    let cutoff = start + chrono::Duration::days(26);
    let clock = DeadlineClock::default();
    let lives = lives(&events);
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_agency: HashMap<String, (u64, u64)> = HashMap::new();
    for life in lives.values() {
        let Some(receipt) = life.receipt else {
            continue;
        };
        if local_date(receipt.occurred_at) >= cutoff {
            continue;
        }
        let Some(outcome) = outcome(life, &clock) else {
            continue;
        };
        *outcomes.entry(outcome.as_str()).or_insert(0) += 1;
        let entry = per_agency
            .entry(receipt.agency_code.clone())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += u64::from(outcome == StepOutcome::Late);
    }
    let counted: u64 = outcomes.values().sum();
    for (outcome, n) in &outcomes {
        eprintln!(
            "rule {outcome}: {n} ({:.2}% of early/on-time/late)",
            share(*n, counted) * 100.0
        );
    }
    let late = share(outcomes.get("LATE").copied().unwrap_or(0), counted);
    assert!((0.08..0.20).contains(&late), "late share {late}");
    let early = share(outcomes.get("EARLY").copied().unwrap_or(0), counted);
    assert!((0.3..0.65).contains(&early), "early share {early}");

    // Some agencies are noticeably worse than others.
    let rates: Vec<f64> = per_agency
        .values()
        .filter(|(n, _)| *n >= 150)
        .map(|&(n, l)| share(l, n))
        .collect();
    let worst = rates.iter().copied().fold(0.0, f64::max);
    let best = rates.iter().copied().fold(1.0, f64::min);
    eprintln!(
        "late share by agency (>=150 dossiers): best {best:.3}, worst {worst:.3}, {} agencies",
        rates.len()
    );
    assert!(worst > 2.0 * best.max(0.02), "best {best} worst {worst}");
}

#[test]
fn heap_stays_far_below_the_dossiers_generated() {
    let config = SimConfig {
        seed: 3,
        days: 60,
        dossiers_per_day: 2000,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config).expect("valid config");
    let mut events = 0u64;
    for _ in sim.by_ref() {
        events += 1;
    }
    let stats = sim.stats();
    eprintln!(
        "dossiers {}, events {events}, max pending {}",
        stats.dossiers, stats.max_pending
    );
    assert!(stats.dossiers > 80_000);
    assert!(
        (stats.max_pending as u64) * 4 < stats.dossiers,
        "max pending {} vs dossiers {}",
        stats.max_pending,
        stats.dossiers
    );
}

/// Generation speed; run with `cargo test --release -p motcua-sim -- --ignored --nocapture`.
/// `SIM_DAYS` and `SIM_PER_DAY` override the size (default 20 days of 50,000 dossiers).
#[test]
#[ignore = "timing run, release mode"]
fn generation_speed() {
    let env = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = SimConfig {
        seed: 9,
        days: env("SIM_DAYS", 20),
        dossiers_per_day: env("SIM_PER_DAY", 50_000),
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(config).expect("valid config");
    let started = Instant::now();
    let mut events = 0u64;
    let mut bytes = 0usize;
    for e in sim.by_ref() {
        events += 1;
        bytes += e.event_id.len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    eprintln!(
        "{events} events ({} dossiers) in {elapsed:.2}s: {:.0} events/s, {:.0} dossiers/s, max pending {} ({bytes} id bytes)",
        stats.dossiers,
        events as f64 / elapsed,
        stats.dossiers as f64 / elapsed,
        stats.max_pending,
    );
    assert!(events > 0);
}

/// The shares of one run as the pipeline will see them; run with
/// `cargo test --release -p motcua-sim -- --ignored --nocapture report`.
/// `SIM_SEED`, `SIM_DAYS` and `SIM_PER_DAY` override the run (default seed 42, 20 days of 2000).
#[test]
#[ignore = "report, release mode"]
fn report() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = SimConfig {
        seed: env("SIM_SEED", 42),
        days: env("SIM_DAYS", 20) as u32,
        dossiers_per_day: env("SIM_PER_DAY", 2000) as u32,
        ..SimConfig::default()
    };
    let (events, stats) = run(config);
    let clock = DeadlineClock::default();
    let lives = lives(&events);
    let share = |n: u64, d: u64| 100.0 * n as f64 / d.max(1) as f64;
    let received = lives.values().filter(|l| l.receipt.is_some()).count() as u64;
    let count = |f: &dyn Fn(&Life<'_>) -> bool| {
        lives
            .values()
            .filter(|l| l.receipt.is_some() && f(l))
            .count() as u64
    };
    let once = count(&|l| l.requests.len() == 1);
    let twice = count(&|l| l.requests.len() == 2);
    let apologies = count(&|l| l.apology);
    let shifted = count(&|l| {
        let e = l.receipt.expect("filtered");
        let r = e.received.as_ref().expect("payload");
        clock
            .legal_due(
                &r.procedure_code,
                e.occurred_at,
                r.time_limit,
                r.appointment_at,
            )
            .check
            != AppointmentCheck::Matches
    });
    let (mut steps, mut late_steps, mut slips, mut rows, mut long_slips) = (0u64, 0, 0u64, 0u64, 0);
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    for life in lives.values() {
        let verdicts = step_verdicts(life, &clock);
        steps += verdicts.len() as u64;
        late_steps += verdicts
            .iter()
            .filter(|(_, v)| *v == StepOutcome::Late)
            .count() as u64;
        if life.ready.is_some() && life.receipt.is_some() {
            slips += 1;
            rows += life.handovers.len() as u64;
            long_slips += u64::from(life.handovers.len() >= 3);
        }
        if life.ready.is_some() {
            if let Some(o) = outcome(life, &clock) {
                *outcomes.entry(o.as_str()).or_insert(0) += 1;
            }
        }
    }
    let finished: u64 = outcomes.values().sum();
    eprintln!(
        "dossiers {}, received {received}, events {}",
        stats.dossiers, stats.events
    );
    eprintln!("one supplement request: {:.2}%", share(once, received));
    eprintln!("two supplement requests: {:.2}%", share(twice, received));
    eprintln!("apologies (form 04): {:.2}%", share(apologies, received));
    eprintln!(
        "appointments off the legal due: {:.2}%",
        share(shifted, received)
    );
    eprintln!("late steps: {:.2}% of {steps}", share(late_steps, steps));
    eprintln!(
        "handover rows per finished dossier: {:.2} ({:.1}% with 3+)",
        rows as f64 / slips.max(1) as f64,
        share(long_slips, slips)
    );
    for (o, n) in &outcomes {
        eprintln!("finished {o}: {:.2}%", share(*n, finished));
    }
    eprintln!("planned {:#?}", stats.planned);
}

#[test]
fn ratings_follow_supplements_channel_and_unit() {
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;
    let (events, _) = run(SimConfig {
        seed: 29,
        days: 60,
        dossiers_per_day: 400,
        ..SimConfig::default()
    });
    // Per dossier: asked for a supplement, received online, its agency, its ratings.
    let mut supplemented: HashSet<&str> = HashSet::new();
    let mut online: HashSet<&str> = HashSet::new();
    for e in &events {
        match e.kind {
            EventKind::SupplementRequested => {
                supplemented.insert(e.dossier_code.as_str());
            }
            EventKind::Received
                if e.received.as_ref().expect("payload").channel == Channel::Online =>
            {
                online.insert(e.dossier_code.as_str());
            }
            _ => {}
        }
    }
    // (rated, satisfied) per group.
    let mut groups: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut agencies: HashMap<&str, (u64, u64)> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Survey) {
        let happy = u64::from(matches!(
            e.survey.as_ref().expect("payload").overall,
            Satisfaction::VerySatisfied | Satisfaction::Satisfied
        ));
        let code = e.dossier_code.as_str();
        let mut add = |g| {
            let n = groups.entry(g).or_default();
            n.0 += 1;
            n.1 += happy;
        };
        add(if supplemented.contains(code) {
            "supplemented"
        } else {
            "not supplemented"
        });
        add(if online.contains(code) {
            "online"
        } else {
            "not online"
        });
        let a = agencies.entry(e.agency_code.as_str()).or_default();
        a.0 += 1;
        a.1 += happy;
    }
    let rate = |g: &str| {
        let (n, h) = groups[g];
        eprintln!("satisfied, {g}: {h} of {n}");
        share(h, n)
    };
    assert!(rate("supplemented") + 0.05 < rate("not supplemented"));
    assert!(rate("online") > rate("not online"));
    let rates: Vec<f64> = agencies
        .values()
        .filter(|(n, _)| *n >= 60)
        .map(|&(n, h)| share(h, n))
        .collect();
    let (worst, best) = (
        rates.iter().copied().fold(1.0, f64::min),
        rates.iter().copied().fold(0.0, f64::max),
    );
    eprintln!("satisfied by agency (>=60 ratings): worst {worst:.3}, best {best:.3}");
    assert!(best - worst > 0.1, "units differ: {worst} vs {best}");
}

#[test]
fn some_ratings_name_a_code_no_dossier_has() {
    let (events, _) = run(month());
    let mut kinds: HashMap<&str, Vec<EventKind>> = HashMap::new();
    for e in &events {
        kinds
            .entry(e.dossier_code.as_str())
            .or_default()
            .push(e.kind);
    }
    let surveys = events
        .iter()
        .filter(|e| e.kind == EventKind::Survey)
        .count();
    let orphans: Vec<&str> = kinds
        .iter()
        .filter(|(_, k)| k.iter().all(|k| *k == EventKind::Survey))
        .map(|(c, _)| *c)
        .collect();
    eprintln!("{} of {surveys} ratings name no dossier", orphans.len());
    assert!(
        (surveys / 300..=surveys / 30).contains(&orphans.len()),
        "{} orphans of {surveys}",
        orphans.len()
    );
    for code in orphans {
        assert!(
            validate::is_dossier_code(code),
            "{code} is a well-formed code"
        );
    }
}

#[test]
fn syncs_digitisation_and_pakn_items_are_believable() {
    let share = |n: usize, d: usize| n as f64 / d.max(1) as f64;
    let (events, _) = run(SimConfig {
        seed: 31,
        days: 90,
        dossiers_per_day: 200,
        ..SimConfig::default()
    });
    let mut received: HashMap<&str, bool> = HashMap::new(); // code -> online
    let mut digitised: HashMap<bool, (usize, usize)> = HashMap::new(); // online -> (n, digitised)
    let mut synced: HashSet<&str> = HashSet::new();
    let mut late: HashSet<&str> = HashSet::new();
    let mut returned: HashSet<&str> = HashSet::new();
    // item id -> (dossier, received event, answer: (on time, satisfied))
    type Item<'a> = (&'a str, bool, Option<(bool, Option<bool>)>);
    let mut items: HashMap<&str, Item> = HashMap::new();
    for e in &events {
        validate(e).unwrap_or_else(|r| panic!("{}: {r}", e.event_id));
        let code = e.dossier_code.as_str();
        match e.kind {
            EventKind::Received => {
                let r = e.received.as_ref().unwrap();
                let online = r.channel == Channel::Online;
                received.insert(code, online);
                let d = digitised.entry(online).or_default();
                d.0 += 1;
                d.1 += usize::from(r.digitised == Some(true));
                assert!(r.digitised.is_some(), "the simulator records the flag");
            }
            EventKind::PortalSynced if e.portal_sync.as_ref().unwrap().accepted => {
                synced.insert(code);
            }
            EventKind::Apology => {
                late.insert(code);
            }
            EventKind::ResultReturned => {
                returned.insert(code);
            }
            EventKind::Feedback => {
                let f = e.feedback.as_ref().unwrap();
                let item = items
                    .entry(f.feedback_id.as_str())
                    .or_insert((code, false, None));
                assert_eq!(item.0, code, "an item belongs to one dossier");
                match f.answered_at {
                    None => item.1 = true,
                    Some(at) => {
                        let satisfied = f.satisfaction.map(|s| {
                            matches!(s, Satisfaction::Satisfied | Satisfaction::VerySatisfied)
                        });
                        item.2 = Some((at <= f.due_at, satisfied));
                    }
                }
            }
            _ => {}
        }
    }
    // Nineteen in twenty synced, a few of them refused and not sent again.
    let s = share(synced.len(), received.len());
    assert!((0.9..0.96).contains(&s), "synced {s}");
    // Online dossiers arrive digitised; counter ones about half the time.
    let (on, off) = (digitised[&true], digitised[&false]);
    assert!(share(on.1, on.0) > 0.9 && (0.45..0.65).contains(&share(off.1, off.0)));
    // Items: about one returned dossier in fifty, more of the apologised (late) ones; each
    // item received before it is answered.
    assert!(items.len() > 100, "{} items", items.len());
    let rate = |group: &dyn Fn(&str) -> bool| {
        let with = returned.iter().filter(|c| group(c));
        let (n, i) = with.fold((0, 0), |(n, i), c| {
            (n + 1, i + usize::from(items.values().any(|v| v.0 == *c)))
        });
        share(i, n)
    };
    let (late_rate, other_rate) = (rate(&|c| late.contains(c)), rate(&|c| !late.contains(c)));
    assert!(
        late_rate > 2.0 * other_rate,
        "late {late_rate} vs {other_rate}"
    );
    assert!(
        items.values().all(|v| v.1 || v.2.is_none()),
        "an answer follows a receipt"
    );
    let answers: Vec<(bool, Option<bool>)> = items.values().filter_map(|v| v.2).collect();
    let on_time = answers.iter().filter(|a| a.0).count();
    assert!(
        (0.7..0.95).contains(&share(on_time, answers.len())),
        "{on_time} of {}",
        answers.len()
    );
    // Satisfied mostly with answers in time.
    let happy = |in_time: bool| {
        let rated: Vec<bool> = answers
            .iter()
            .filter(|a| a.0 == in_time)
            .filter_map(|a| a.1)
            .collect();
        share(rated.iter().filter(|h| **h).count(), rated.len())
    };
    assert!(
        happy(true) > happy(false) + 0.2,
        "{} vs {}",
        happy(true),
        happy(false)
    );
}
