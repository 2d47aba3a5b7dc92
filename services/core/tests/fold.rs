//! The fold and the classification (domain.md §5), including out-of-order arrival and duplicates.

use std::sync::OnceLock;

use motcua_core::calendar::WorkCalendar;
use motcua_core::deadline::{Catalogue, Clock, DeadlinePolicy};
use motcua_core::event::*;
use motcua_core::fold::{Applied, DossierState, EndKind, OnTimeCounts, Outcome};
use motcua_core::samples::{self, ts};
use proptest::prelude::*;

/// Receipt at 2026-10-08 09:15, appointment 2026-10-13 17:00 (from the samples).
fn receipt() -> DossierEvent {
    samples::received()
}

/// The Vietnamese calendar, no catalogue (limits from form 01), default policy.
fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        Clock::new(
            WorkCalendar::vietnam(),
            Catalogue::default(),
            DeadlinePolicy::default(),
        )
    })
}

fn event(n: u32, kind: EventKind, at: &str) -> DossierEvent {
    let mut e = DossierEvent::envelope(
        format!("{}/t{n}", samples::DOSSIER),
        samples::DOSSIER,
        "H56.50.01",
        ts(at),
        FormSet::Tt03_2025,
        kind,
    );
    match kind {
        EventKind::ResultReady => {
            e.result_ready = Some(ResultReady {
                decision: Decision::Approved,
                electronic_result: false,
                document_number: None,
            })
        }
        EventKind::ResultReturned => {
            e.result_returned = Some(ResultReturned {
                delivery: Delivery::Counter,
            })
        }
        EventKind::Withdrawn => e.withdrawn = Some(Withdrawn { reason: None }),
        EventKind::ProcessingStopped => {
            e.processing_stopped = Some(ProcessingStopped {
                reason: "r".into(),
                signed_by: "s".into(),
            })
        }
        EventKind::Handover => {
            e.handover = Some(Handover {
                step: n as i32,
                from_unit: "H56.50.01".into(),
                to_unit: "H56.50.01.02".into(),
                step_outcome: None,
                allotted: None,
                note: None,
            })
        }
        _ => panic!("use a dedicated helper for {kind}"),
    }
    e
}

fn supplement_request(n: u32, no: &str, at: &str) -> DossierEvent {
    let mut e = samples::all_kinds().remove(2);
    e.event_id = format!("{}/t{n}", samples::DOSSIER);
    e.occurred_at = ts(at);
    e.supplement_requested.as_mut().unwrap().request_no = no.into();
    e
}

fn supplement_received(n: u32, no: &str, at: &str) -> DossierEvent {
    let mut e = samples::all_kinds().remove(3);
    e.event_id = format!("{}/t{n}", samples::DOSSIER);
    e.occurred_at = ts(at);
    e.supplement_received.as_mut().unwrap().request_no = no.into();
    e
}

fn fold(events: &[DossierEvent]) -> DossierState {
    let mut s = DossierState::default();
    for e in events {
        motcua_core::validate(e).unwrap();
        s.apply(e);
    }
    s
}

fn outcome(events: &[DossierEvent]) -> Outcome {
    fold(events).classify(None, clock()).outcome
}

#[test]
fn finished_on_the_appointment_day_is_on_time() {
    let done = event(1, EventKind::ResultReady, "2026-10-13T16:59:00+07:00");
    assert_eq!(outcome(&[receipt(), done]), Outcome::OnTime);
}

#[test]
fn finished_exactly_at_the_appointment_is_on_time() {
    let done = event(1, EventKind::ResultReady, "2026-10-13T17:00:00+07:00");
    assert_eq!(outcome(&[receipt(), done]), Outcome::OnTime);
}

#[test]
fn finished_a_day_before_is_early() {
    let done = event(1, EventKind::ResultReady, "2026-10-12T16:00:00+07:00");
    assert_eq!(outcome(&[receipt(), done]), Outcome::Early);
}

#[test]
fn early_is_judged_on_the_vietnam_date_whatever_offset_the_sender_wrote() {
    // 2026-10-12T23:30 UTC is 2026-10-13 06:30 in Vietnam: the appointment's day, so on time.
    let done = event(1, EventKind::ResultReady, "2026-10-12T23:30:00+00:00");
    assert_eq!(outcome(&[receipt(), done]), Outcome::OnTime);
}

#[test]
fn finished_a_minute_late_is_late() {
    let done = event(1, EventKind::ResultReady, "2026-10-13T17:01:00+07:00");
    assert_eq!(outcome(&[receipt(), done]), Outcome::Late);
}

#[test]
fn finished_is_preferred_over_returned_as_the_end() {
    let done = event(1, EventKind::ResultReady, "2026-10-13T16:00:00+07:00");
    let back = event(2, EventKind::ResultReturned, "2026-10-14T09:00:00+07:00");
    let c = fold(&[receipt(), done, back]).classify(None, clock());
    assert_eq!(c.outcome, Outcome::OnTime);
    assert_eq!(c.end.unwrap().kind, EndKind::Finished);
}

#[test]
fn returned_without_finished_ends_at_the_return() {
    let back = event(2, EventKind::ResultReturned, "2026-10-14T09:00:00+07:00");
    let c = fold(&[receipt(), back]).classify(None, clock());
    assert_eq!(c.end.unwrap().kind, EndKind::Returned);
    assert_eq!(c.outcome, Outcome::Late);
}

#[test]
fn supplement_waiting_time_extends_the_due_time_by_the_working_time_waited() {
    // Paused Fri 09/10 08:30 -> Sun 11/10 08:30: two days elapsed, but only 6.5 working
    // hours (08:30-11:30, 13:30-17:00 on Friday). The appointment Tue 13/10 17:00 moves to
    // Wed 14/10 15:30 (07:00-11:30 = 4.5 h, then 13:30 + 2 h).
    let mut events = vec![
        receipt(),
        supplement_request(1, "A", "2026-10-09T08:30:00+07:00"),
        supplement_received(2, "A", "2026-10-11T08:30:00+07:00"),
        event(3, EventKind::ResultReady, "2026-10-14T15:30:00+07:00"),
    ];
    let c = fold(&events).classify(None, clock());
    assert_eq!(c.waiting, chrono::Duration::days(2));
    let d = c.deadline.unwrap();
    assert_eq!(d.paused, chrono::Duration::minutes(390));
    assert_eq!(d.due_at, ts("2026-10-14T15:30:00+07:00"));
    assert_eq!(c.outcome, Outcome::OnTime);
    events[3] = event(3, EventKind::ResultReady, "2026-10-14T15:31:00+07:00");
    assert_eq!(outcome(&events), Outcome::Late);
}

#[test]
fn more_than_one_supplement_request_is_late() {
    let events = [
        receipt(),
        supplement_request(1, "A", "2026-10-09T08:30:00+07:00"),
        supplement_received(2, "A", "2026-10-09T09:30:00+07:00"),
        supplement_request(3, "B", "2026-10-09T10:30:00+07:00"),
        supplement_received(4, "B", "2026-10-09T11:30:00+07:00"),
        event(5, EventKind::ResultReady, "2026-10-10T09:00:00+07:00"),
    ];
    let c = fold(&events).classify(None, clock());
    assert!(c.repeated_supplement);
    assert_eq!(c.outcome, Outcome::Late);
}

#[test]
fn a_supplement_request_resent_under_a_new_event_id_is_still_one_request() {
    let events = [
        receipt(),
        supplement_request(1, "A", "2026-10-09T08:30:00+07:00"),
        supplement_request(2, "A", "2026-10-09T08:35:00+07:00"),
        supplement_received(3, "A", "2026-10-10T08:30:00+07:00"),
        supplement_received(4, "A", "2026-10-10T08:40:00+07:00"),
        event(5, EventKind::ResultReady, "2026-10-13T16:00:00+07:00"),
    ];
    let c = fold(&events).classify(None, clock());
    assert!(!c.repeated_supplement);
    assert_eq!(c.waiting, chrono::Duration::days(1));
    assert_eq!(c.outcome, Outcome::Early);
}

#[test]
fn a_dossier_waiting_for_the_applicant_ends_at_the_request() {
    let events = [
        receipt(),
        supplement_request(1, "A", "2026-10-09T08:30:00+07:00"),
    ];
    let s = fold(&events);
    assert_eq!(s.status_code(), 5);
    let c = s.classify(Some(ts("2026-12-01T00:00:00+07:00")), clock());
    assert_eq!(c.end.unwrap().kind, EndKind::AwaitingSupplement);
    assert_eq!(c.end.unwrap().at, ts("2026-10-09T08:30:00+07:00"));
    assert_eq!(c.outcome, Outcome::Early);
}

#[test]
fn an_apology_keeps_the_dossier_late_against_its_original_appointment() {
    let mut apology = samples::all_kinds().remove(4);
    apology.event_id = "x/apology".into();
    let done = event(1, EventKind::ResultReady, "2026-10-13T16:00:00+07:00");
    let c = fold(&[receipt(), apology, done]).classify(None, clock());
    assert!(c.apologised);
    assert_eq!(c.outcome, Outcome::Late);
}

#[test]
fn withdrawal_and_stop_end_the_clock() {
    let w = event(1, EventKind::Withdrawn, "2026-10-09T08:00:00+07:00");
    let c = fold(&[receipt(), w]).classify(None, clock());
    assert_eq!(
        (c.outcome, c.end.unwrap().kind),
        (Outcome::Early, EndKind::Withdrawn)
    );
    let s = event(2, EventKind::ProcessingStopped, "2026-10-14T08:00:00+07:00");
    let c = fold(&[receipt(), s]).classify(None, clock());
    assert_eq!(
        (c.outcome, c.end.unwrap().kind),
        (Outcome::Late, EndKind::Stopped)
    );
}

#[test]
fn refused_at_receipt_is_not_counted() {
    let mut r = samples::all_kinds().remove(5);
    r.refused.as_mut().unwrap().stage = RefusalStage::AtReceipt;
    let s = fold(&[r]);
    assert_eq!(s.classify(None, clock()).outcome, Outcome::NotCounted);
    assert_eq!(s.status_code(), 3);
}

#[test]
fn open_dossiers_are_overdue_only_once_the_watermark_passes_the_appointment() {
    let s = fold(&[
        receipt(),
        event(1, EventKind::Handover, "2026-10-08T10:00:00+07:00"),
    ]);
    assert_eq!(s.status_code(), 4);
    assert_eq!(s.classify(None, clock()).outcome, Outcome::InProgress);
    assert_eq!(
        s.classify(Some(ts("2026-10-13T17:00:00+07:00")), clock())
            .outcome,
        Outcome::InProgress
    );
    assert_eq!(
        s.classify(Some(ts("2026-10-13T17:00:01+07:00")), clock())
            .outcome,
        Outcome::OverdueInProgress
    );
}

#[test]
fn a_return_read_before_its_receipt_is_held_then_classified() {
    let done = event(1, EventKind::ResultReady, "2026-10-12T16:00:00+07:00");
    let mut s = DossierState::default();
    s.apply(&done);
    assert_eq!(s.classify(None, clock()).outcome, Outcome::AwaitingReceipt);
    s.apply(&receipt());
    assert_eq!(s.classify(None, clock()).outcome, Outcome::Early);
}

#[test]
fn duplicates_change_nothing() {
    let done = event(1, EventKind::ResultReady, "2026-10-13T16:00:00+07:00");
    let mut s = fold(&[receipt(), done.clone()]);
    let before = s.clone();
    assert_eq!(s.apply(&done), Applied::Duplicate);
    assert_eq!(s.apply(&receipt()), Applied::Duplicate);
    assert_eq!(s, before);
    assert_eq!(s.version(), 2);
}

#[test]
fn on_time_rate_is_rounded_to_two_decimals_and_na_when_empty() {
    let mut c = OnTimeCounts::default();
    assert_eq!(c.on_time_rate_percent(), None);
    c.add(Outcome::Early);
    c.add(Outcome::OnTime);
    c.add(Outcome::Late);
    c.add(Outcome::InProgress);
    assert_eq!(c.total(), 3);
    assert_eq!(c.on_time_rate_percent(), Some(66.67));
}

fn scenario() -> Vec<DossierEvent> {
    vec![
        receipt(),
        event(1, EventKind::Handover, "2026-10-08T10:00:00+07:00"),
        supplement_request(2, "A", "2026-10-09T08:30:00+07:00"),
        supplement_received(3, "A", "2026-10-10T08:30:00+07:00"),
        event(4, EventKind::Handover, "2026-10-11T10:00:00+07:00"),
        event(5, EventKind::ResultReady, "2026-10-13T16:00:00+07:00"),
        event(6, EventKind::ResultReturned, "2026-10-14T09:00:00+07:00"),
    ]
}

proptest! {
    /// Any arrival order, with any events repeated, gives the same state and verdict.
    #[test]
    fn classification_is_independent_of_arrival_order_and_duplicates(
        order in Just((0..7usize).collect::<Vec<_>>()).prop_shuffle(),
        repeats in proptest::collection::vec(0..7usize, 0..5),
    ) {
        let events = scenario();
        let reference = fold(&events);
        let mut s = DossierState::default();
        for i in order.iter().chain(repeats.iter()) {
            s.apply(&events[*i]);
        }
        prop_assert_eq!(&s, &reference);
        prop_assert_eq!(s.classify(None, clock()), reference.classify(None, clock()));
        prop_assert_eq!(s.version(), 7);
    }
}

/// Schema v4's events in every arrival order give one state: the digitisation flag, the
/// earliest accepted sync (a refused one does not count), and a PAKN item merged from its
/// receipt, its extension and its answer.
#[test]
fn syncs_and_feedback_fold_the_same_in_every_order() {
    let v4 = samples::schema_v4();
    let mut accepted = v4[1].clone();
    accepted.event_id = format!("{}/23", samples::DOSSIER);
    accepted.occurred_at = ts("2026-10-09T09:00:00+07:00");
    accepted.portal_sync.as_mut().unwrap().accepted = true;
    // An extension: the same item received again, as a complaint, with a later due time.
    let mut extended = v4[2].clone();
    extended.event_id = format!("{}/24", samples::DOSSIER);
    let f = extended.feedback.as_mut().unwrap();
    f.category = FeedbackCategory::Complaint;
    f.due_at = ts("2026-11-05T17:00:00+07:00");
    let mut first = v4[2].clone();
    first.feedback.as_mut().unwrap().category = FeedbackCategory::Feedback;
    let events = [
        v4[0].clone(),
        v4[1].clone(),
        accepted,
        first,
        extended,
        v4[3].clone(),
    ];
    let mut expected: Option<DossierState> = None;
    let mut order: Vec<usize> = (0..events.len()).collect();
    // Every rotation and its reverse: each event first and last at least once.
    for r in 0..events.len() {
        for reverse in [false, true] {
            order.rotate_left(1);
            let mut o = order.clone();
            if reverse {
                o.reverse();
            }
            let mut s = DossierState::default();
            for &i in &o {
                assert_eq!(
                    s.apply(&events[i]),
                    Applied::New,
                    "order {o:?} (rotation {r})"
                );
            }
            match &expected {
                None => expected = Some(s),
                Some(x) => assert_eq!(&s, x, "order {o:?}"),
            }
        }
    }
    let s = expected.unwrap();
    assert!(s.receipt.as_ref().unwrap().digitised);
    assert_eq!(s.synced_at, Some(ts("2026-10-09T09:00:00+07:00")));
    assert_eq!(s.feedback.len(), 1);
    let item = &s.feedback[0];
    assert_eq!(item.category, FeedbackCategory::Complaint);
    assert_eq!(item.due_at, ts("2026-11-05T17:00:00+07:00"));
    assert_eq!(item.answered_on_time(), Some(true));
    assert_eq!(
        item.answered.map(|a| a.2),
        Some(Some(Satisfaction::Satisfied))
    );
}
