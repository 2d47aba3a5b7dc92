//! Golden deadline scenarios written from the rules (docs/DEADLINES.md), each with its due
//! times worked out by hand in the comments, and property tests of the deadline rules.
//!
//! Working hours are 07:00-11:30 and 13:30-17:00 (8 h a day); the calendar is the shipped
//! Vietnamese one. Procedures named `9.999999.000.00.00.H56` are not in the catalogue, so form 01's limit is
//! the legal one.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDateTime};
use motcua_core::calendar::WorkCalendar;
use motcua_core::deadline::{
    AppointmentCheck, Catalogue, Clock, DeadlinePolicy, LimitSource, PausePolicy,
};
use motcua_core::event::*;
use motcua_core::fold::{local_date, Classification, DossierState, EndKind, Outcome};
use motcua_core::samples::{self, ts};
use proptest::prelude::*;

fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(Clock::default)
}

fn restart_clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        Clock::new(
            WorkCalendar::vietnam(),
            Catalogue::shipped(),
            DeadlinePolicy {
                pause: PausePolicy::Restart,
                ..DeadlinePolicy::default()
            },
        )
    })
}

const CODE: &str = "H56.50.01-260213-0001";
/// A well-formed procedure code that is not in the catalogue.
const NOT_LISTED: &str = "9.999999.000.00.00.H56";

/// A dossier's events, built step by step.
struct Story {
    events: Vec<DossierEvent>,
}

fn limit(amount: i32, unit: TimeUnit) -> TimeLimit {
    TimeLimit { amount, unit }
}

fn wh(amount: i32) -> Option<TimeLimit> {
    Some(limit(amount, TimeUnit::WorkingHours))
}

impl Story {
    fn received(at: &str, procedure: &str, l: TimeLimit, appointment: &str) -> Self {
        Self::received_in(at, procedure, l, appointment, FormSet::Tt03_2025)
    }

    fn received_in(
        at: &str,
        procedure: &str,
        l: TimeLimit,
        appointment: &str,
        form_set: FormSet,
    ) -> Self {
        let mut e = samples::received();
        e.event_id = "e0".into();
        e.dossier_code = CODE.into();
        e.occurred_at = ts(at);
        e.form_set = form_set;
        let r = e.received.as_mut().unwrap();
        r.procedure_code = procedure.into();
        r.time_limit = l;
        r.appointment_at = ts(appointment);
        Story { events: vec![e] }
    }

    fn push(mut self, kind: EventKind, at: &str, fill: impl FnOnce(&mut DossierEvent)) -> Self {
        let mut e = DossierEvent::envelope(
            format!("e{}", self.events.len()),
            CODE,
            "H56.50.01",
            ts(at),
            FormSet::Tt03_2025,
            kind,
        );
        fill(&mut e);
        self.events.push(e);
        self
    }

    fn supplement(self, no: &str, requested: &str, received: Option<&str>) -> Self {
        let doc = SubmittedDocument {
            name: "Giấy tờ".into(),
            kind: DocumentKind::Original,
            count: 1,
        };
        let d2 = doc.clone();
        let s = self.push(EventKind::SupplementRequested, requested, |e| {
            e.supplement_requested = Some(SupplementRequested {
                request_no: no.into(),
                reason: "Thiếu giấy tờ".into(),
                missing_documents: vec![doc],
                guiding_officer: "Cán bộ".into(),
            })
        });
        match received {
            Some(at) => s.push(EventKind::SupplementReceived, at, |e| {
                e.supplement_received = Some(SupplementReceived {
                    request_no: no.into(),
                    documents: vec![d2],
                })
            }),
            None => s,
        }
    }

    fn handover(
        self,
        step: i32,
        at: &str,
        to: &str,
        allotted: Option<TimeLimit>,
        recorded: Option<StepOutcome>,
    ) -> Self {
        let from = if step == 1 {
            "H56.50.01".to_string()
        } else {
            format!("H56.50.01.{:02}", step - 1)
        };
        self.push(EventKind::Handover, at, |e| {
            e.handover = Some(Handover {
                step,
                from_unit: from,
                to_unit: to.into(),
                step_outcome: recorded,
                note: None,
                allotted,
            })
        })
    }

    fn apology(self, at: &str, original: &str, new: &str) -> Self {
        self.push(EventKind::Apology, at, |e| {
            e.apology = Some(Apology {
                original_appointment_at: ts(original),
                new_appointment_at: ts(new),
                reason: "Chờ xác minh".into(),
                signed_by: "Chủ tịch".into(),
            })
        })
    }

    fn finished(self, at: &str) -> Self {
        self.push(EventKind::ResultReady, at, |e| {
            e.result_ready = Some(ResultReady {
                decision: Decision::Approved,
                electronic_result: false,
                document_number: None,
            })
        })
    }

    fn state(&self) -> DossierState {
        let mut s = DossierState::default();
        for e in &self.events {
            motcua_core::validate(e).unwrap_or_else(|r| panic!("{}: {r}", e.event_id));
            s.apply(e);
        }
        s
    }

    fn classify(&self, as_of: Option<&str>) -> Classification {
        self.state().classify(as_of.map(ts), clock())
    }
}

fn due_at(c: &Classification) -> Timestamp {
    c.deadline.unwrap().due_at
}

#[test]
fn received_on_the_friday_before_tet_2026() {
    // Fri 13/2/2026 09:00, 3 working days. Friday gives 6 h (09:00-11:30, 13:30-17:00); Tết
    // 16-20/2 and both weekends are off; Mon 23 and Tue 24 give 16 h (22 h); the last 2 h
    // end Wed 25/2 at 09:00.
    let due = "2026-02-25T09:00:00+07:00";
    let s = |end: &str| {
        Story::received(
            "2026-02-13T09:00:00+07:00",
            NOT_LISTED,
            limit(3, TimeUnit::WorkingDays),
            due,
        )
        .finished(end)
        .classify(None)
    };
    let c = s("2026-02-25T08:30:00+07:00");
    let d = c.deadline.unwrap();
    assert_eq!(d.legal.due_at, ts(due));
    assert_eq!(d.legal.source, LimitSource::Form01);
    assert_eq!(d.legal.check, AppointmentCheck::Matches);
    assert_eq!(c.outcome, Outcome::OnTime);
    assert_eq!(s("2026-02-24T16:00:00+07:00").outcome, Outcome::Early);
    assert_eq!(s("2026-02-25T09:01:00+07:00").outcome, Outcome::Late);
}

#[test]
fn received_at_16_55() {
    // Thu 8/10/2026 16:55, 2 working days: 5 min on Thursday, 8 h on Friday, 7 h 55 on
    // Monday (07:00-11:30 = 4 h 30, then 13:30 + 3 h 25 = 16:55): due Mon 12/10 16:55. The
    // agency wrote 17:00: five minutes more than the law allows, an audit finding.
    let c = Story::received(
        "2026-10-08T16:55:00+07:00",
        NOT_LISTED,
        limit(2, TimeUnit::WorkingDays),
        "2026-10-12T17:00:00+07:00",
    )
    .finished("2026-10-12T16:58:00+07:00")
    .classify(None);
    let d = c.deadline.unwrap();
    assert_eq!(d.legal.due_at, ts("2026-10-12T16:55:00+07:00"));
    assert_eq!(d.legal.check, AppointmentCheck::LaterThanLegal);
    assert_eq!(d.legal.gap_minutes, 5);
    // Classified against the agency's own appointment (domain.md §4).
    assert_eq!(c.outcome, Outcome::OnTime);
}

#[test]
fn a_same_day_procedure_received_after_the_cut_off_is_due_the_next_working_day() {
    // Birth registration (catalogue: 1 working day, cut-off 15:00).
    let birth = "1.001193.000.00.00.H56";
    let legal = |at: &str| {
        let c = Story::received(
            at,
            birth,
            limit(1, TimeUnit::WorkingDays),
            "2026-10-09T17:00:00+07:00",
        )
        .classify(None);
        let d = c.deadline.unwrap();
        assert_eq!(d.legal.source, LimitSource::Catalogue);
        d.legal.due_at
    };
    assert_eq!(
        legal("2026-10-08T14:59:00+07:00"),
        ts("2026-10-08T17:00:00+07:00")
    );
    assert_eq!(
        legal("2026-10-08T16:55:00+07:00"),
        ts("2026-10-09T17:00:00+07:00")
    );
    // Friday after 15:00: Monday's close.
    assert_eq!(
        legal("2026-10-09T15:00:00+07:00"),
        ts("2026-10-12T17:00:00+07:00")
    );
}

#[test]
fn the_catalogue_limit_is_the_legal_one_and_a_later_appointment_is_a_finding() {
    // Marriage registration: 3 working days in the catalogue. Thu 8/10/2026 09:15 + 3 wd =
    // Tue 13/10 09:15; the agency promised 13/10 17:00, 465 minutes later.
    let c = Story::received(
        "2026-10-08T09:15:00+07:00",
        "1.000894.000.00.00.H56",
        limit(3, TimeUnit::WorkingDays),
        "2026-10-13T17:00:00+07:00",
    )
    .classify(None);
    let d = c.deadline.unwrap();
    assert_eq!(d.legal.source, LimitSource::Catalogue);
    assert_eq!(d.legal.due_at, ts("2026-10-13T09:15:00+07:00"));
    assert_eq!(d.legal.check, AppointmentCheck::LaterThanLegal);
    assert_eq!(d.legal.gap_minutes, 465);
}

/// Received Mon 5/10/2026 08:00, 5 working days, appointment Mon 12/10 08:00 (legal).
fn five_days() -> Story {
    Story::received(
        "2026-10-05T08:00:00+07:00",
        NOT_LISTED,
        limit(5, TimeUnit::WorkingDays),
        "2026-10-12T08:00:00+07:00",
    )
}

#[test]
fn paused_twice_is_late_whatever_the_times() {
    // Request A Tue 6/10 08:00 -> Wed 7/10 08:00: 8 working hours. Request B Thu 8/10 08:00
    // -> 10:00: 2 h. Paused 10 h: Mon 12/10 08:00 + 10 h = 7 h on Monday, then Tue 13/10
    // 07:00 + 3 h = 10:00. Finished Fri 9/10, days early, but two requests make it late.
    let c = five_days()
        .supplement(
            "A",
            "2026-10-06T08:00:00+07:00",
            Some("2026-10-07T08:00:00+07:00"),
        )
        .supplement(
            "B",
            "2026-10-08T08:00:00+07:00",
            Some("2026-10-08T10:00:00+07:00"),
        )
        .finished("2026-10-09T10:00:00+07:00")
        .classify(None);
    let d = c.deadline.unwrap();
    assert_eq!(d.paused, Duration::hours(10));
    assert_eq!(d.due_at, ts("2026-10-13T10:00:00+07:00"));
    assert!(c.repeated_supplement);
    assert_eq!(c.outcome, Outcome::Late);
}

#[test]
fn paused_once_extend_or_restart() {
    // Request Tue 6/10 08:00 -> Wed 7/10 14:00: 7 h on Tuesday + 5 h on Wednesday = 12 h.
    // Extend: Mon 12/10 08:00 + 12 h = 7 h on Monday + Tue 13/10 07:00 + 5 h = 14:00.
    // Restart: 5 working days from Wed 7/10 14:00 = Wed 14/10 14:00.
    let story = five_days()
        .supplement(
            "A",
            "2026-10-06T08:00:00+07:00",
            Some("2026-10-07T14:00:00+07:00"),
        )
        .finished("2026-10-14T10:00:00+07:00");
    let extend = story.classify(None);
    assert_eq!(due_at(&extend), ts("2026-10-13T14:00:00+07:00"));
    assert_eq!(extend.outcome, Outcome::Late);
    // Indicator 2.2: 58 working hours from receipt to result less 12 paused = 46 h = 5.75 wd.
    assert_eq!(extend.resolution, Some(5.75));
    let restart = story.state().classify(None, restart_clock());
    assert_eq!(due_at(&restart), ts("2026-10-14T14:00:00+07:00"));
    assert_eq!(restart.deadline.unwrap().policy, PausePolicy::Restart);
    assert_eq!(restart.outcome, Outcome::OnTime);
}

#[test]
fn an_unanswered_request_stops_the_clock_at_the_request() {
    let c = five_days()
        .supplement("A", "2026-10-06T08:00:00+07:00", None)
        .classify(Some("2026-11-30T00:00:00+07:00"));
    assert_eq!(c.end.unwrap().kind, EndKind::AwaitingSupplement);
    assert_eq!(c.outcome, Outcome::Early);
    assert_eq!(c.resolution, None, "no result, no resolution time");
}

#[test]
fn re_appointed_stays_late_against_the_original_appointment() {
    // Form 04 on Fri 9/10 moves the promise to Wed 14/10 17:00; the result on Tue 13/10 is
    // before the new date but after the original one: late.
    let story = five_days().apology(
        "2026-10-09T10:00:00+07:00",
        "2026-10-12T08:00:00+07:00",
        "2026-10-14T17:00:00+07:00",
    );
    let open = story.classify(Some("2026-10-12T07:59:00+07:00"));
    assert_eq!(open.outcome, Outcome::InProgress);
    let open = story.classify(Some("2026-10-12T09:00:00+07:00"));
    assert_eq!(open.outcome, Outcome::OverdueInProgress);
    let d = open.deadline.unwrap();
    assert_eq!(d.due_at, ts("2026-10-12T08:00:00+07:00"));
    assert_eq!(d.reappointed_at, Some(ts("2026-10-14T17:00:00+07:00")));
    let done = story.finished("2026-10-13T10:00:00+07:00").classify(None);
    assert!(done.apologised);
    assert_eq!(done.outcome, Outcome::Late);
}

#[test]
fn a_dossier_crossing_1_7_2025_is_one_dossier() {
    // Received Wed 25/6/2025 09:00 under the 2018 forms, 10 working days: 6 h on 25/6, then
    // 8 h a day on 26, 27/6, 30/6, 1, 2, 3, 4, 7, 8/7 (78 h), 2 h on Wed 9/7: due 09:00.
    // Stopped on 3/7 with the 2025 form 05, which the 2018 set does not have.
    let story = Story::received_in(
        "2025-06-25T09:00:00+07:00",
        NOT_LISTED,
        limit(10, TimeUnit::WorkingDays),
        "2025-07-09T09:00:00+07:00",
        FormSet::Tt01_2018,
    )
    .push(
        EventKind::ProcessingStopped,
        "2025-07-03T10:00:00+07:00",
        |e| {
            e.processing_stopped = Some(ProcessingStopped {
                reason: "Dừng theo đề nghị".into(),
                signed_by: "Giám đốc".into(),
            })
        },
    );
    let s = story.state();
    assert_eq!(s.form_sets.label(), "TT01_2018+TT03_2025");
    assert_eq!(s.status_code(), 8);
    let c = s.classify(None, clock());
    assert_eq!(
        c.deadline.unwrap().legal.due_at,
        ts("2025-07-09T09:00:00+07:00")
    );
    assert_eq!(c.deadline.unwrap().legal.check, AppointmentCheck::Matches);
    assert_eq!(c.end.unwrap().kind, EndKind::Stopped);
    assert_eq!(c.outcome, Outcome::Early);
}

#[test]
fn a_swapped_working_saturday_and_the_national_day_break() {
    // Fri 21/8/2026 16:00 + 1 working day: 1 h on Friday, Saturday 22/8 is worked: 16:00.
    let c = Story::received(
        "2026-08-21T16:00:00+07:00",
        NOT_LISTED,
        limit(1, TimeUnit::WorkingDays),
        "2026-08-22T16:00:00+07:00",
    )
    .finished("2026-08-22T15:00:00+07:00")
    .classify(None);
    assert_eq!(c.deadline.unwrap().legal.check, AppointmentCheck::Matches);
    assert_eq!(c.outcome, Outcome::OnTime);
    // Fri 28/8/2026 09:00 + 2 working days: 6 h on Friday; 31/8-2/9 are off; 8 h on Thu
    // 3/9; the last 2 h end Fri 4/9 at 09:00.
    let c = Story::received(
        "2026-08-28T09:00:00+07:00",
        NOT_LISTED,
        limit(2, TimeUnit::WorkingDays),
        "2026-09-04T09:00:00+07:00",
    )
    .classify(None);
    assert_eq!(
        c.deadline.unwrap().legal.due_at,
        ts("2026-09-04T09:00:00+07:00")
    );
}

#[test]
fn steps_are_judged_against_their_allotments() {
    // Step 1 (one-stop): 08:00 + 4 h = 14:00 (3 h 30 to 11:30, 30 min from 13:30); handed
    //   10:00 the same day: on time, 2 h taken.
    // Step 2 (department): from Mon 10:00 + 16 h = 5 h Monday, 8 h Tuesday, Wed 07:00 + 3 h
    //   = Wed 7/10 10:00; handed Wed 16:00: late (20 h taken), although the slip says on
    //   time.
    // Step 3 (back to the one-stop): from Wed 16:00 + 16 h = Fri 9/10 16:00; handed Thu
    //   8/10 09:00: early, 3 h taken (1 h on Wednesday, 2 h on Thursday).
    let story = five_days()
        .handover(1, "2026-10-05T10:00:00+07:00", "H56.50.01.01", wh(4), None)
        .handover(
            2,
            "2026-10-07T16:00:00+07:00",
            "H56.50.01.02",
            wh(16),
            Some(StepOutcome::OnTime),
        )
        .handover(3, "2026-10-08T09:00:00+07:00", "H56.50.01", wh(16), None);
    let c = story.classify(None);
    let got: Vec<_> = c
        .steps
        .iter()
        .map(|v| (v.step, v.due_at.unwrap(), v.outcome.unwrap(), v.taken))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                ts("2026-10-05T14:00:00+07:00"),
                StepOutcome::OnTime,
                Duration::hours(2)
            ),
            (
                2,
                ts("2026-10-07T10:00:00+07:00"),
                StepOutcome::Late,
                Duration::hours(20)
            ),
            (
                3,
                ts("2026-10-09T16:00:00+07:00"),
                StepOutcome::Early,
                Duration::hours(3)
            ),
        ]
    );
    assert_eq!(c.steps[1].from_unit, "H56.50.01.01");
    assert_eq!(c.steps[1].recorded, Some(StepOutcome::OnTime));

    // Without row 2, step 3's start is unknown: it waits, step 1 is still judged.
    let mut partial = story;
    partial.events.remove(2);
    let steps: Vec<i32> = partial
        .classify(None)
        .steps
        .iter()
        .map(|v| v.step)
        .collect();
    assert_eq!(steps, vec![1]);
}

#[test]
fn a_supplement_wait_inside_a_step_extends_that_step() {
    // Step 1 from Mon 08:00 with 8 h: due Tue 6/10 08:00. A supplement wait Mon 13:30 ->
    // Tue 13:30 (3 h 30 + 4 h 30 = 8 h) moves it to Wed 7/10 08:00; handed Tue 16:00, a
    // date before the due date: early.
    let c = five_days()
        .supplement(
            "A",
            "2026-10-05T13:30:00+07:00",
            Some("2026-10-06T13:30:00+07:00"),
        )
        .handover(1, "2026-10-06T16:00:00+07:00", "H56.50.01.01", wh(8), None)
        .classify(None);
    let v = &c.steps[0];
    assert_eq!(v.due_at, Some(ts("2026-10-07T08:00:00+07:00")));
    assert_eq!(v.outcome, Some(StepOutcome::Early));
    // Taken: Mon 7 h + Tue 7 h (4 h 30 + 13:30-16:00) = 14 h, less 8 h paused = 6 h.
    assert_eq!(v.taken, Duration::hours(6));
}

#[test]
fn a_closed_period_sees_the_dossier_as_it_stood_at_its_end() {
    use motcua_core::period::PeriodKind;
    // Received Tue 25/8/2026 08:00 with 2 working days: due Thu 27/8 08:00. Still open on
    // 1/9 00:00, so August's report has it overdue; it ends on Thu 3/9, in September.
    let story = Story::received(
        "2026-08-25T08:00:00+07:00",
        NOT_LISTED,
        limit(2, TimeUnit::WorkingDays),
        "2026-08-27T08:00:00+07:00",
    )
    .finished("2026-09-03T10:00:00+07:00");
    let s = story.state();
    let watermark = ts("2026-10-02T00:00:00+07:00");
    let seen: Vec<_> = s
        .closed_periods(
            clock(),
            watermark,
            local_date(ts("2026-09-03T10:00:00+07:00")),
        )
        .into_iter()
        .map(|v| (v.period.label(), v.outcome))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("2026-08".to_string(), Some(Outcome::OverdueInProgress)),
            ("2026-09".to_string(), Some(Outcome::Late)),
            ("2026-Q3".to_string(), Some(Outcome::Late)),
        ],
        "the year 2026 is not closed on 2/10"
    );
    // Three working days, due Fri 28/8 08:00; a supplement request on Thu 27/8 09:00,
    // answered on Wed 2/9: August's report saw the clock stopped at the request.
    let paused = Story::received(
        "2026-08-25T08:00:00+07:00",
        NOT_LISTED,
        limit(3, TimeUnit::WorkingDays),
        "2026-08-28T08:00:00+07:00",
    )
    .supplement(
        "A",
        "2026-08-27T09:00:00+07:00",
        Some("2026-09-02T09:00:00+07:00"),
    )
    .finished("2026-09-04T10:00:00+07:00");
    let v = paused
        .state()
        .closed_periods(clock(), watermark, local_date(watermark));
    let august = v
        .iter()
        .find(|v| v.period.kind == PeriodKind::Month && v.period.label() == "2026-08")
        .unwrap();
    // As of 1/9 the request of 27/8 09:00 is unanswered: that is the end, before the
    // 28/8 08:00 appointment, on an earlier date: early.
    assert_eq!(august.outcome, Some(Outcome::Early));
    assert_eq!(august.resolution, None, "no result in August");
    // September sees the whole story: the wait 27/8 09:00 -> 2/9 09:00 is 6 working hours
    // on 27/8 and 8 on 28/8 (31/8-2/9 are off): 14 h. Due 28/8 08:00 + 14 h = 7 h on 28/8,
    // then Thu 3/9 07:00 + 7 h = 16:00. Finished Fri 4/9 10:00: late.
    assert_eq!(
        due_at(&paused.classify(None)),
        ts("2026-09-03T16:00:00+07:00")
    );
    let september = v.iter().find(|v| v.period.label() == "2026-09").unwrap();
    assert_eq!(september.outcome, Some(Outcome::Late));
}

// ---------------------------------------------------------------------------------------
// Properties.

fn instant_2026() -> impl Strategy<Value = NaiveDateTime> {
    // Any minute of 2026.
    (0i64..365 * 24 * 60).prop_map(|m| {
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::minutes(m)
    })
}

fn stamp(t: NaiveDateTime) -> String {
    format!("{}+07:00", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// A received dossier with its legal due as appointment.
fn base(received: NaiveDateTime, days: i32, unit: TimeUnit) -> Story {
    let l = limit(days, unit);
    let appointment = clock().calendar.due(
        ts(&stamp(received)),
        l,
        &motcua_core::calendar::DueRule::default(),
    );
    let appointment = appointment.to_rfc3339();
    Story::received(&stamp(received), NOT_LISTED, l, &appointment)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Pausing never makes a dossier earlier: a wait never moves the due time back (nor
    /// before the appointment), never adds to the resolution time, never turns an early or
    /// on-time verdict late, and the (extended or restarted) due time is never on a day off.
    #[test]
    fn pausing_never_makes_a_dossier_earlier(
        received in instant_2026(),
        days in 1i32..20,
        unit in prop_oneof![Just(TimeUnit::WorkingDays), Just(TimeUnit::CalendarDays)],
        wait_start in 0i64..20 * 24 * 60,
        wait_len in 1i64..10 * 24 * 60,
        end_after in 0i64..40 * 24 * 60,
    ) {
        let r = received;
        let req = r + Duration::minutes(wait_start);
        let rcv = req + Duration::minutes(wait_len);
        let end = rcv.max(r + Duration::minutes(end_after));
        let plain = base(r, days, unit).finished(&stamp(end));
        let paused = base(r, days, unit)
            .supplement("A", &stamp(req), Some(&stamp(rcv)))
            .finished(&stamp(end));
        for c in [clock(), restart_clock()] {
            let a = plain.state().classify(None, c);
            let b = paused.state().classify(None, c);
            prop_assert!(due_at(&b) >= due_at(&a), "{} < {}", due_at(&b), due_at(&a));
            prop_assert!(due_at(&b) >= b.deadline.unwrap().appointment_at);
            prop_assert!(b.resolution.unwrap() <= a.resolution.unwrap());
            let rank = |o: Outcome| match o { Outcome::Early => 0, Outcome::OnTime => 1, _ => 2 };
            prop_assert!(rank(b.outcome) <= rank(a.outcome), "{:?} then {:?}", a.outcome, b.outcome);
            prop_assert!(c.calendar.is_working_day(local_date(due_at(&b))));
        }
    }

    /// The whole classification (deadline, steps, resolution) is independent of the order
    /// events arrive in, and of duplicates.
    #[test]
    fn classification_with_steps_and_pauses_is_independent_of_arrival_order(
        order in Just((0..8usize).collect::<Vec<_>>()).prop_shuffle(),
        repeats in proptest::collection::vec(0..8usize, 0..4),
        policy in prop_oneof![Just(0), Just(1)],
    ) {
        let story = five_days()
            .handover(1, "2026-10-05T10:00:00+07:00", "H56.50.01.01", wh(4), None)
            .supplement("A", "2026-10-06T08:00:00+07:00", Some("2026-10-07T14:00:00+07:00"))
            .handover(2, "2026-10-07T16:00:00+07:00", "H56.50.01.02", wh(16), None)
            .apology("2026-10-09T10:00:00+07:00", "2026-10-12T08:00:00+07:00", "2026-10-14T17:00:00+07:00")
            .handover(3, "2026-10-13T09:00:00+07:00", "H56.50.01", wh(16), None)
            .finished("2026-10-13T10:00:00+07:00");
        prop_assert_eq!(story.events.len(), 8);
        let c = if policy == 0 { clock() } else { restart_clock() };
        let reference = story.state().classify(None, c);
        let mut s = DossierState::default();
        for i in order.iter().chain(repeats.iter()) {
            s.apply(&story.events[*i]);
        }
        prop_assert_eq!(s.classify(None, c), reference);
    }
}
