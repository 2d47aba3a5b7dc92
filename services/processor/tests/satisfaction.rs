//! Ratings joined to their dossiers: whatever the arrival order, duplicates, a rating after
//! the dossier was evicted (its figures already written), a corrected rating and a rating
//! for a dossier that never arrives, the satisfaction counts of the `DAY` cells are those of
//! the dossiers' standing ratings, each dossier counted once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use motcua_core::codec::{Codec, Encoding};
use motcua_core::deadline::Clock;
use motcua_core::event::{EventKind, Satisfaction, Survey, SurveyChannel, Timestamp};
use motcua_core::pseudonym::Pseudonymizer;
use motcua_core::DossierEvent;
use motcua_processor::aggregate::Aggregates;
use motcua_processor::operator::{Evicted, InputRecord, PartitionOperator, Shared};
use motcua_runtime::store::{AggregateRow, CheckpointRow};

fn shared(retention_days: i64) -> Arc<Shared> {
    Shared::new(
        Clock::default(),
        Pseudonymizer::new(b"test-key-0123456789").unwrap(),
        chrono::Duration::days(retention_days),
        "g".into(),
    )
}

/// The events of the first few simulated dossiers that were returned, without the
/// simulator's own surveys, grouped by dossier.
fn returned_dossiers(n: usize) -> Vec<Vec<DossierEvent>> {
    let config = motcua_sim::SimConfig {
        seed: 5,
        start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        days: 10,
        dossiers_per_day: 20,
        out_of_order_rate: 0.0,
        duplicate_rate: 0.0,
        ..Default::default()
    };
    let mut by_code: HashMap<String, Vec<DossierEvent>> = HashMap::new();
    let mut order = Vec::new();
    for e in motcua_sim::Simulator::new(config).expect("valid") {
        if e.kind == EventKind::Survey {
            continue;
        }
        if !by_code.contains_key(&e.dossier_code) {
            order.push(e.dossier_code.clone());
        }
        by_code.entry(e.dossier_code.clone()).or_default().push(e);
    }
    order
        .into_iter()
        .map(|c| by_code.remove(&c).unwrap())
        .filter(|evs| evs.iter().any(|e| e.kind == EventKind::ResultReturned))
        .take(n)
        .collect()
}

/// A survey of `dossier`'s last event's dossier, `days` after its return.
fn rating(
    dossier: &[DossierEvent],
    id: &str,
    days: i64,
    overall: Satisfaction,
    complaint: bool,
) -> DossierEvent {
    let last = dossier
        .iter()
        .find(|e| e.kind == EventKind::ResultReturned)
        .expect("returned");
    let at: Timestamp = last.occurred_at + chrono::Duration::days(days);
    let mut e = DossierEvent::envelope(
        id,
        last.dossier_code.clone(),
        last.agency_code.clone(),
        at,
        last.form_set,
        EventKind::Survey,
    );
    e.survey = Some(Survey {
        channel: SurveyChannel::Portal,
        overall,
        criteria: Vec::new(),
        complaint,
    });
    e
}

fn record(e: &DossierEvent, offset: i64) -> InputRecord {
    InputRecord {
        topic: "t".into(),
        partition: 0,
        offset,
        key: Some(e.dossier_code.as_bytes().to_vec()),
        payload: Some(Codec::new().encode(e, Encoding::Json).unwrap()),
    }
}

/// The latest version of every cell written.
#[derive(Default)]
struct Cells(HashMap<String, AggregateRow>);

impl Cells {
    fn write(&mut self, rows: Vec<AggregateRow>) {
        for c in rows {
            let k = Aggregates::checkpoint_code(&c);
            if self.0.get(&k).is_none_or(|old| old.version <= c.version) {
                self.0.insert(k, c);
            }
        }
    }

    /// Sums over the `DAY` cells of the agency family: counted, the five rating levels,
    /// complaints, rated late, satisfied late, unsatisfied (766).
    fn day_agency(&self) -> [u64; 10] {
        let mut out = [0; 10];
        for c in self
            .0
            .values()
            .filter(|c| c.grain == "DAY" && c.dims == "agency")
        {
            let n = [
                c.n_counted,
                c.n_very_satisfied,
                c.n_satisfied,
                c.n_neutral,
                c.n_dissatisfied,
                c.n_very_dissatisfied,
                c.n_complaints,
                c.n_rated_late,
                c.n_satisfied_late,
                c.n_766_unsatisfied,
            ];
            for (o, v) in out.iter_mut().zip(n) {
                *o += v;
            }
        }
        out
    }
}

/// One operator reading `events` in order, one batch each, drained at the latest event time.
fn fold_all(events: &[DossierEvent]) -> (Cells, PartitionOperator) {
    let mut op = PartitionOperator::new(0, shared(10_000));
    let mut cells = Cells::default();
    let mut latest: Option<Timestamp> = None;
    for (i, e) in events.iter().enumerate() {
        op.ingest(&record(e, i as i64), 0);
        latest = Some(latest.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        cells.write(op.drain(latest, 0).aggregates);
    }
    (cells, op)
}

#[test]
fn every_arrival_order_gives_the_same_counts() {
    let dossier = returned_dossiers(1).pop().unwrap();
    let survey = rating(&dossier, "s-1", 3, Satisfaction::Satisfied, false);
    let want = {
        let mut all = dossier.clone();
        all.push(survey.clone());
        fold_all(&all).0.day_agency()
    };
    assert_eq!(want[0], 1, "the dossier is counted once");
    assert_eq!(want[2], 1, "its rating is counted: satisfied");
    // The survey at every position: first (before the receipt), in between, last.
    for at in 0..=dossier.len() {
        let mut events = dossier.clone();
        events.insert(at, survey.clone());
        let (cells, _) = fold_all(&events);
        assert_eq!(cells.day_agency(), want, "survey read at position {at}");
    }
    // Reversed entirely.
    let mut events = dossier.clone();
    events.push(survey);
    events.reverse();
    assert_eq!(fold_all(&events).0.day_agency(), want, "reversed");
}

#[test]
fn duplicates_count_once_and_the_latest_rating_stands() {
    let dossier = returned_dossiers(1).pop().unwrap();
    let first = rating(&dossier, "s-1", 2, Satisfaction::Dissatisfied, false);
    let corrected = rating(&dossier, "s-2", 9, Satisfaction::VerySatisfied, true);
    let mut events = dossier.clone();
    events.push(corrected.clone());
    events.push(first.clone());
    events.push(first.clone());
    events.push(corrected);
    let (cells, _) = fold_all(&events);
    let n = cells.day_agency();
    assert_eq!(n[0], 1, "counted once");
    assert_eq!(n[1..6], [1, 0, 0, 0, 0], "the later survey's answer stands");
    assert_eq!(n[6], 1, "the complaint is counted once");
    // 766 group 5: an earlier survey was dissatisfied, and there is a complaint.
    assert_eq!(n[9], 1, "unsatisfied for Decision 766");
}

/// One operator fed batch by batch as the shell does: evicted dossiers named by a batch
/// are loaded back from the checkpoints written so far, each batch is drained at the latest
/// event time, then eviction runs.
struct Fed {
    op: PartitionOperator,
    cells: Cells,
    checkpoints: HashMap<String, CheckpointRow>,
    offset: i64,
    latest: Option<Timestamp>,
}

impl Fed {
    fn new(retention_days: i64) -> Fed {
        Fed {
            op: PartitionOperator::new(0, shared(retention_days)),
            cells: Cells::default(),
            checkpoints: HashMap::new(),
            offset: 0,
            latest: None,
        }
    }

    /// One batch; returns how many dossiers it loaded back and what eviction took out.
    fn feed(&mut self, events: &[DossierEvent]) -> (usize, Evicted) {
        let records: Vec<InputRecord> = events
            .iter()
            .map(|e| {
                self.offset += 1;
                record(e, self.offset)
            })
            .collect();
        let rows: Vec<CheckpointRow> = self
            .op
            .missing(&records)
            .iter()
            .filter_map(|c| self.checkpoints.get(c).cloned())
            .collect();
        let reloaded = rows.len();
        self.op.reinstate(rows).unwrap();
        for (r, e) in records.iter().zip(events) {
            self.op.ingest(r, 0);
            self.latest = Some(self.latest.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        }
        let changed = self.op.drain(self.latest, 0);
        self.cells.write(changed.aggregates);
        for c in changed.checkpoints {
            self.checkpoints.insert(c.dossier_code.clone(), c);
        }
        (reloaded, self.op.evict(self.latest))
    }
}

#[test]
fn a_rating_weeks_after_the_figures_were_written_corrects_them() {
    let dossiers = returned_dossiers(3);
    let mut fed = Fed::new(10);
    for d in &dossiers {
        fed.feed(d);
    }
    let before = fed.cells.day_agency();
    assert_eq!(before[0], 3);
    assert_eq!(before[1..6].iter().sum::<u64>(), 0, "nothing rated yet");
    // Sixty days later other traffic moves the watermark past the retention: the three
    // are evicted, their figures written.
    let later = rating(&dossiers[0], "other", 60, Satisfaction::Neutral, false);
    let mut other = later.clone();
    // Another dossier's code (one more digit in the sequence), never received.
    other.dossier_code = format!("{}9", other.dossier_code);
    fed.feed(&[other]);
    assert_eq!(fed.op.evicted(), 3, "the dossiers were evicted");
    // The ratings arrive now: each loads its dossier from the checkpoint.
    let ratings = vec![
        rating(&dossiers[0], "r-0", 61, Satisfaction::VerySatisfied, false),
        rating(
            &dossiers[1],
            "r-1",
            61,
            Satisfaction::VeryDissatisfied,
            true,
        ),
    ];
    let (reloaded, _) = fed.feed(&ratings);
    assert_eq!(reloaded, 2, "both dossiers came back from the checkpoint");
    let after = fed.cells.day_agency();
    assert_eq!(after[0], 3, "no dossier counted twice");
    assert_eq!(after[1], 1);
    assert_eq!(after[5], 1);
    assert_eq!(after[6], 1, "one complaint");
    assert!(
        after[9] >= 1,
        "the complaint counts against Decision 766 group 5"
    );
}

#[test]
fn a_rating_for_a_dossier_that_never_arrives_is_held_not_counted() {
    let dossier = returned_dossiers(1).pop().unwrap();
    let mut orphan = rating(&dossier, "o-1", 1, Satisfaction::Satisfied, false);
    orphan.dossier_code = format!("{}9", orphan.dossier_code);
    let (cells, op) = fold_all(&[orphan]);
    assert_eq!(cells.day_agency(), [0; 10], "nothing counted");
    assert_eq!(op.awaiting_receipt(), 1, "held, waiting for its receipt");
}

#[test]
fn an_unmatched_rating_leaves_memory_after_the_retention_and_still_joins_its_dossier() {
    let dossier = returned_dossiers(1).pop().unwrap();
    let early = rating(&dossier, "u-1", 3, Satisfaction::Satisfied, false);
    let mut fed = Fed::new(10);
    let (_, evicted) = fed.feed(std::slice::from_ref(&early));
    assert_eq!(evicted, Evicted::default(), "within the retention window");
    assert_eq!(fed.op.awaiting_receipt(), 1);

    // Forty days on, another code's rating moves the watermark: the first one's dossier has
    // waited past the retention window and leaves memory, its rating counted as unmatched.
    let mut other = rating(&dossier, "u-2", 43, Satisfaction::Neutral, false);
    other.dossier_code = format!("{}9", other.dossier_code);
    let (_, evicted) = fed.feed(&[other]);
    assert_eq!(
        evicted,
        Evicted {
            dossiers: 1,
            unmatched_ratings: 1
        }
    );
    assert_eq!(
        (
            fed.op.awaiting_receipt(),
            fed.op.dossiers(),
            fed.op.evicted()
        ),
        (1, 1, 1),
        "only the newer unmatched rating is held"
    );
    assert_eq!(fed.cells.day_agency(), [0; 10], "neither is in any figure");

    // The dossier's own events arrive after all: its state comes back from the checkpoint
    // and the rating it held is joined to it.
    let (reloaded, _) = fed.feed(&dossier);
    assert_eq!(reloaded, 1, "loaded back from its checkpoint");
    let n = fed.cells.day_agency();
    assert_eq!(n[0], 1, "the dossier is counted once");
    assert_eq!(
        n[1..6],
        [0, 1, 0, 0, 0],
        "with the rating read weeks before it"
    );
}

impl Cells {
    /// Sums over the `FEEDBACK` cells: answered, on time, overdue, rated, satisfied,
    /// complaints.
    fn feedback(&self) -> [u64; 6] {
        let mut out = [0; 6];
        for c in self.0.values().filter(|c| c.grain == "FEEDBACK") {
            let n = [
                c.n_feedback_answered,
                c.n_feedback_on_time,
                c.n_feedback_overdue,
                c.n_feedback_rated,
                c.n_feedback_satisfied,
                c.n_feedback_complaints,
            ];
            for (o, v) in out.iter_mut().zip(n) {
                *o += v;
            }
        }
        out
    }
}

/// A PAKN complaint about `dossier`, received `received` days after its return and due ten
/// days later; answered `answered` days after the return when given.
fn complaint(
    dossier: &[DossierEvent],
    id: &str,
    received: i64,
    answered: Option<i64>,
) -> DossierEvent {
    use motcua_core::event::{Feedback, FeedbackCategory, FeedbackStage};
    let last = dossier
        .iter()
        .find(|e| e.kind == EventKind::ResultReturned)
        .expect("returned");
    let day = |d: i64| last.occurred_at + chrono::Duration::days(d);
    let mut e = DossierEvent::envelope(
        id,
        last.dossier_code.clone(),
        last.agency_code.clone(),
        day(answered.unwrap_or(received)),
        last.form_set,
        EventKind::Feedback,
    );
    e.feedback = Some(Feedback {
        feedback_id: "PAKN-1".into(),
        category: FeedbackCategory::Complaint,
        stage: if answered.is_some() {
            FeedbackStage::Answered
        } else {
            FeedbackStage::Received
        },
        received_at: day(received),
        due_at: day(received + 10),
        answered_at: answered.map(day),
        satisfaction: answered.map(|_| Satisfaction::Dissatisfied),
    });
    e
}

/// A returned simulated dossier without the simulator's own PAKN items.
fn returned_without_pakn() -> Vec<DossierEvent> {
    returned_dossiers(1)
        .pop()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind != EventKind::Feedback)
        .collect()
}

#[test]
fn a_complaint_turns_overdue_at_its_due_time_and_counts_where_it_is_answered() {
    let dossier = returned_without_pakn();
    let mut fed = Fed::new(100);
    fed.feed(&dossier);
    assert_eq!(fed.cells.day_agency()[6], 0, "no complaint yet");
    fed.feed(&[complaint(&dossier, "p-1", 1, None)]);
    assert_eq!(fed.cells.feedback(), [0; 6], "not due yet: counted nowhere");
    assert_eq!(
        fed.cells.day_agency()[6],
        1,
        "the complaint counts against its dossier at once"
    );
    // Other traffic moves the watermark past the due time (day 11): overdue.
    let mut other = rating(&dossier, "x-1", 12, Satisfaction::Neutral, false);
    other.dossier_code = format!("{}9", other.dossier_code);
    fed.feed(&[other]);
    assert_eq!(
        fed.cells.feedback(),
        [0, 0, 1, 0, 0, 1],
        "overdue, a complaint"
    );
    // Answered on day 13, late, twice (a resend): answered, not on time, rated dissatisfied.
    let answer = complaint(&dossier, "p-2", 1, Some(13));
    fed.feed(&[answer.clone(), answer]);
    assert_eq!(fed.cells.feedback(), [1, 0, 0, 1, 0, 1]);
    assert_eq!(fed.cells.day_agency()[6], 1, "one complaint, counted once");
}

#[test]
fn a_complaint_answered_in_time_counts_on_time_whatever_the_order() {
    let dossier = returned_without_pakn();
    let received = complaint(&dossier, "p-1", 1, None);
    let answered = complaint(&dossier, "p-2", 1, Some(4));
    for order in [[0, 1], [1, 0]] {
        let items = [&received, &answered];
        let mut events = dossier.clone();
        events.extend(order.iter().map(|&i| items[i].clone()));
        let (cells, _) = fold_all(&events);
        assert_eq!(cells.feedback(), [1, 1, 0, 1, 0, 1], "order {order:?}");
    }
}
