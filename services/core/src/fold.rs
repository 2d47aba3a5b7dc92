//! The dossier fold: a dossier's events, in any order, folded into facts, and the facts
//! classified early / on time / late (domain.md §5, Decision 766 indicator 2.1) on a
//! [`Clock`] (calendar, procedure catalogue, pause policy): legal due time, effective due
//! time, step verdicts, resolution time. docs/DEADLINES.md walks through the rules.
//!
//! Invariants:
//! - **Order independence**: every fact is a minimum, a count or a set over events, so the
//!   same set of events gives the same state whatever order they were read in. A return
//!   read before its receipt is kept (the dossier is `AwaitingReceipt`), not dropped.
//! - **Idempotence**: an event id already folded with the same content changes nothing;
//!   `version` counts the distinct events folded, so it only grows and a replay never
//!   produces a newer version with older content.
//! - **Conflicts are decided by content, not arrival**: two different events under one id
//!   are a conflict; the one with the smaller content hash is the one that counts, whichever
//!   was read first ([`Applied::Conflict`] tells the caller which, and when the newcomer
//!   wins the caller refolds the dossier from its stored events without the loser).
//! - **Durable**: the state is plain data (`serde`), checkpointed by the processor with its
//!   input offsets and restored on another instance; every hash in it is stable across Rust
//!   releases.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::deadline::{Clock, LegalDue, PausePolicy};
use crate::event::{
    AgencyLevel, ApplicantKind, Channel, Decision, DossierEvent, EventKind, Feedback,
    FeedbackCategory, FeedbackStage, FormSet, RefusalStage, Satisfaction, SipasElement,
    SipasResponse, StepOutcome, TimeLimit, TimeUnit, Timestamp,
};

/// Vietnam time, used to decide calendar dates (early vs on time, the day a dossier ends).
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// The Vietnam calendar date of an instant.
pub fn local_date(t: Timestamp) -> NaiveDate {
    t.with_timezone(&vietnam()).date_naive()
}

/// The Vietnam local date-time of an instant.
pub fn local_time(t: Timestamp) -> NaiveDateTime {
    t.with_timezone(&vietnam()).naive_local()
}

/// A Vietnam local date-time as a +07:00 instant.
pub fn vietnam_instant(local: NaiveDateTime) -> Timestamp {
    let vn = vietnam();
    let offset = Duration::seconds(i64::from(vn.local_minus_utc()));
    let utc = local.checked_sub_signed(offset).unwrap_or(local);
    DateTime::from_naive_utc_and_offset(utc, vn)
}

/// What form 01 said, as the fold keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Event id of the receipt, to break ties between two receipts deterministically.
    pub event_id: String,
    /// Receiving unit.
    pub agency_code: String,
    /// Its level.
    pub agency_level: AgencyLevel,
    /// Procedure.
    pub procedure_code: String,
    /// Field.
    pub field_code: String,
    /// Channel.
    pub channel: Channel,
    /// Receipt time.
    pub received_at: Timestamp,
    /// The agency's appointment: what the dossier is judged against.
    pub appointment_at: Timestamp,
    /// Statutory limit.
    pub time_limit: TimeLimit,
    /// Form set of the receipt.
    pub form_set: FormSet,
    /// Citizen, business, ...
    pub applicant_kind: ApplicantKind,
    /// Links the applicant's dossiers: the ID number, else the phone, else the name, as the
    /// event carried it. The processor folds pseudonymised events, so this is a pseudonym.
    pub applicant_ref: String,
    /// The components were digitised at receipt (schema v4; false when not recorded).
    #[serde(default)]
    pub digitised: bool,
}

/// Everything the pipeline knows about one dossier.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DossierState {
    /// `(id hash, content hash)` of the events folded so far, sorted by id hash.
    pub(crate) seen: Vec<(u64, u64)>,
    /// Form 01, once read.
    pub receipt: Option<Receipt>,
    /// Earliest refusal at the counter (the dossier was never received).
    pub refused_at_receipt: Option<Timestamp>,
    /// Form 02 requests: (request number, earliest time), one per request number, sorted.
    pub supplement_requests: Vec<(String, Timestamp)>,
    /// Supplements received: (request number, earliest time), one per request number, sorted.
    pub supplements_received: Vec<(String, Timestamp)>,
    /// Earliest form 04: (time, original appointment, new appointment).
    pub apology: Option<(Timestamp, Timestamp, Timestamp)>,
    /// Handover rows of the process-control slip, one per step number (the earliest row
    /// for a step wins), sorted by step.
    pub handovers: Vec<HandoverRow>,
    /// Earliest result issued, with its decision and whether it is electronic.
    pub finished: Option<(Timestamp, Decision, bool)>,
    /// Earliest return to the applicant.
    pub returned_at: Option<Timestamp>,
    /// Earliest stop notice.
    pub stopped_at: Option<Timestamp>,
    /// Earliest refusal during processing.
    pub refused_at: Option<Timestamp>,
    /// Earliest withdrawal.
    pub withdrawn_at: Option<Timestamp>,
    /// Number of surveys.
    pub surveys: u32,
    /// Whether any survey was dissatisfied or very dissatisfied.
    pub any_dissatisfied: bool,
    /// Whether any survey carried a complaint.
    pub any_complaint: bool,
    /// The citizen's rating that stands: the latest survey's overall answer (by event time,
    /// then by event id, so any arrival order gives the same one), with its time and id hash.
    pub rating: Option<(Timestamp, u64, Satisfaction)>,
    /// Form sets seen (a dossier may span the 1/7/2025 change).
    pub form_sets: FormSets,
    /// Latest event time folded.
    pub last_event_at: Option<Timestamp>,
    /// Times the state was refolded to settle an id conflict in favour of a later-read
    /// event: counted in the version so the refolded rows replace the earlier ones.
    pub revisions: u32,
    /// A SIPAS answer sheet (the state of a response code, not of a dossier): the one that
    /// stands, the latest by event time then event id hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sipas: Option<SipasSheet>,
    /// Earliest sync to the national portal that the portal accepted (schema v4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<Timestamp>,
    /// Feedback and complaints (PAKN) about the dossier, one per item id, sorted by id
    /// (schema v4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<FeedbackItem>,
}

/// A PAKN item as the fold keeps it: whatever order its events arrive in, the earliest
/// receipt, the latest due time (an extension), the strongest category and the earliest
/// answer stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackItem {
    /// The item's id.
    pub id: String,
    /// Feedback, petition or complaint (the strongest any event gave).
    pub category: FeedbackCategory,
    /// When it was received.
    pub received_at: Timestamp,
    /// When its answer is due.
    pub due_at: Timestamp,
    /// The earliest answer: when, the hash of its event id (ties), and the sender's
    /// satisfaction with it, when asked.
    pub answered: Option<(Timestamp, u64, Option<Satisfaction>)>,
}

impl FeedbackItem {
    /// Answered by its due time.
    pub fn answered_on_time(&self) -> Option<bool> {
        self.answered.map(|(at, _, _)| at <= self.due_at)
    }

    fn merge(&mut self, f: &Feedback, id: u64) {
        let rank = |c: FeedbackCategory| FeedbackCategory::ALL.iter().position(|x| *x == c);
        if rank(f.category) > rank(self.category) {
            self.category = f.category;
        }
        self.received_at = self.received_at.min(f.received_at);
        self.due_at = self.due_at.max(f.due_at);
        if let Some(at) = f.answered_at.filter(|_| f.stage == FeedbackStage::Answered) {
            if self.answered.is_none_or(|(t, h, _)| (at, id) < (t, h)) {
                self.answered = Some((at, id, f.satisfaction));
            }
        }
    }
}

/// What the figures need of a SIPAS answer sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipasSheet {
    /// When it was answered.
    #[serde(with = "crate::timestamp")]
    pub at: Timestamp,
    /// Hash of its event id (ties broken by it).
    pub id: u64,
    /// The agency surveyed.
    pub agency_code: String,
    /// Per element, in [`SipasElement::ALL`] order: criteria answered, and of them answered
    /// satisfied or very satisfied (4 or 5).
    pub answered: [u16; 5],
    pub satisfied: [u16; 5],
}

impl SipasSheet {
    fn of(e: &DossierEvent, s: &SipasResponse) -> SipasSheet {
        let mut sheet = SipasSheet {
            at: e.occurred_at,
            id: stable_hash(e.event_id.as_bytes()),
            agency_code: e.agency_code.clone(),
            answered: [0; 5],
            satisfied: [0; 5],
        };
        for a in &s.answers {
            let i = SipasElement::ALL
                .iter()
                .position(|x| *x == a.element)
                .expect("an element of ALL");
            sheet.answered[i] = sheet.answered[i].saturating_add(1);
            sheet.satisfied[i] = sheet.satisfied[i].saturating_add(u16::from(a.satisfaction >= 4));
        }
        sheet
    }
}

/// One row of the process-control slip, as the fold keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoverRow {
    /// 1-based step number.
    pub step: i32,
    /// When the giving unit handed the dossier over.
    pub at: Timestamp,
    /// Event id, to break ties between two rows for the same step.
    pub event_id: String,
    /// Giving unit.
    pub from_unit: String,
    /// Receiving unit.
    pub to_unit: String,
    /// Time allotted to the giving unit's step, when the slip gives one.
    pub allotted: Option<TimeLimit>,
    /// The giving unit's own judgement, when recorded.
    pub recorded: Option<StepOutcome>,
}

/// A small set of form sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormSets {
    /// Seen a 2018-form event.
    pub tt01_2018: bool,
    /// Seen a 2025-form event.
    pub tt03_2025: bool,
}

impl FormSets {
    /// `TT01_2018`, `TT03_2025` or `TT01_2018+TT03_2025`.
    pub fn label(self) -> &'static str {
        match (self.tt01_2018, self.tt03_2025) {
            (true, true) => "TT01_2018+TT03_2025",
            (true, false) => "TT01_2018",
            (false, true) => "TT03_2025",
            (false, false) => "",
        }
    }
}

/// Result of folding one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// New event: the state changed (or at least grew its version).
    New,
    /// The event id was already folded with the same content.
    Duplicate,
    /// The event id was already folded with other content. Nothing was folded.
    Conflict {
        /// The newcomer has the smaller content hash, so it is the version that counts: the
        /// caller must refold the dossier from its events with the newcomer in place of the
        /// one folded before (which becomes the rejected one). When false the newcomer is
        /// the rejected one and the state is already right.
        newcomer_wins: bool,
    },
    /// The event contradicts what the dossier already holds (anything but a survey after a
    /// refusal at the counter). Nothing was folded.
    Inconsistent,
}

/// FNV-1a: a stable 64-bit hash (stable across Rust releases, so it can be checkpointed).
/// Collisions within one dossier's handful of ids are negligible (~1e-18).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn id_hash(id: &str) -> u64 {
    stable_hash(id.as_bytes())
}

/// The content hash of an event: FNV-1a over its JSON encoding, so the same event sent as
/// Avro and as JSON is one event, and two different events under one id are told apart.
pub fn content_hash(e: &DossierEvent) -> u64 {
    stable_hash(&serde_json::to_vec(e).expect("events serialise"))
}

fn keep_min(slot: &mut Option<Timestamp>, t: Timestamp) {
    if slot.is_none_or(|cur| t < cur) {
        *slot = Some(t);
    }
}

/// Records `(request number, time)`, keeping the earliest time per request number: a form
/// resent under a new event id is the same request, not a second one.
fn upsert_earliest(list: &mut Vec<(String, Timestamp)>, no: &str, at: Timestamp) {
    match list.iter_mut().find(|(n, _)| n == no) {
        Some(slot) if at < slot.1 => slot.1 = at,
        Some(_) => {}
        None => list.push((no.to_string(), at)),
    }
    list.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
}

impl DossierState {
    /// Number of distinct events folded: the row version in ClickHouse.
    pub fn version(&self) -> u32 {
        self.seen.len() as u32 + self.revisions
    }

    /// Whether an event with this id was folded, and with which content hash.
    pub fn folded_content(&self, event_id: &str) -> Option<u64> {
        let h = id_hash(event_id);
        self.seen
            .binary_search_by_key(&h, |s| s.0)
            .ok()
            .map(|i| self.seen[i].1)
    }

    /// Refused at the counter and never received: no later step can follow (a survey about
    /// the refusal still can).
    pub fn refused_at_counter(&self) -> bool {
        self.receipt.is_none() && self.refused_at_receipt.is_some()
    }

    /// Folds one (valid) event into the state, its content hash computed here.
    pub fn apply(&mut self, e: &DossierEvent) -> Applied {
        self.apply_with_content(e, content_hash(e))
    }

    /// Folds one (valid) event whose [`content_hash`] the caller already has.
    pub fn apply_with_content(&mut self, e: &DossierEvent, content: u64) -> Applied {
        let h = id_hash(&e.event_id);
        let pos = match self.seen.binary_search_by_key(&h, |s| s.0) {
            Ok(i) if self.seen[i].1 == content => return Applied::Duplicate,
            Ok(i) => {
                return Applied::Conflict {
                    newcomer_wins: content < self.seen[i].1,
                }
            }
            Err(pos) => pos,
        };
        let follows_refusal = !matches!(
            e.kind,
            EventKind::Survey
                | EventKind::Refused
                | EventKind::Received
                | EventKind::Feedback
                | EventKind::PortalSynced
        );
        if follows_refusal && self.refused_at_counter() {
            return Applied::Inconsistent;
        }
        self.seen.insert(pos, (h, content));
        match e.form_set {
            FormSet::Tt01_2018 => self.form_sets.tt01_2018 = true,
            FormSet::Tt03_2025 => self.form_sets.tt03_2025 = true,
        }
        if self.last_event_at.is_none_or(|t| e.occurred_at > t) {
            self.last_event_at = Some(e.occurred_at);
        }
        let at = e.occurred_at;
        match e.kind {
            EventKind::Received => {
                let r = e.received.as_ref().expect("validated event");
                let earlier = self.receipt.as_ref().is_none_or(|cur| {
                    (at, e.event_id.as_str()) < (cur.received_at, cur.event_id.as_str())
                });
                if earlier {
                    self.receipt = Some(Receipt {
                        event_id: e.event_id.clone(),
                        agency_code: e.agency_code.clone(),
                        agency_level: r.agency_level,
                        procedure_code: r.procedure_code.clone(),
                        field_code: r.field_code.clone(),
                        channel: r.channel,
                        received_at: at,
                        appointment_at: r.appointment_at,
                        time_limit: r.time_limit,
                        form_set: e.form_set,
                        applicant_kind: r.applicant.kind,
                        applicant_ref: r
                            .applicant
                            .id_number
                            .clone()
                            .or_else(|| r.applicant.phone.clone())
                            .unwrap_or_else(|| r.applicant.name.clone()),
                        digitised: r.digitised == Some(true),
                    });
                }
            }
            EventKind::Refused => match e.refused.as_ref().expect("validated event").stage {
                RefusalStage::AtReceipt => keep_min(&mut self.refused_at_receipt, at),
                RefusalStage::DuringProcessing => keep_min(&mut self.refused_at, at),
            },
            EventKind::SupplementRequested => {
                let s = e.supplement_requested.as_ref().expect("validated event");
                upsert_earliest(&mut self.supplement_requests, &s.request_no, at);
            }
            EventKind::SupplementReceived => {
                let s = e.supplement_received.as_ref().expect("validated event");
                upsert_earliest(&mut self.supplements_received, &s.request_no, at);
            }
            EventKind::Apology => {
                let a = e.apology.as_ref().expect("validated event");
                if self.apology.is_none_or(|cur| at < cur.0) {
                    self.apology = Some((at, a.original_appointment_at, a.new_appointment_at));
                }
            }
            EventKind::ProcessingStopped => keep_min(&mut self.stopped_at, at),
            EventKind::Handover => {
                let h = e.handover.as_ref().expect("validated event");
                let row = HandoverRow {
                    step: h.step,
                    at,
                    event_id: e.event_id.clone(),
                    from_unit: h.from_unit.clone(),
                    to_unit: h.to_unit.clone(),
                    allotted: h.allotted,
                    recorded: h.step_outcome,
                };
                match self.handovers.binary_search_by_key(&h.step, |r| r.step) {
                    Ok(i) => {
                        let cur = &self.handovers[i];
                        if (at, e.event_id.as_str()) < (cur.at, cur.event_id.as_str()) {
                            self.handovers[i] = row;
                        }
                    }
                    Err(i) => self.handovers.insert(i, row),
                }
            }
            EventKind::Withdrawn => keep_min(&mut self.withdrawn_at, at),
            EventKind::ResultReady => {
                let r = e.result_ready.as_ref().expect("validated event");
                if self.finished.is_none_or(|cur| at < cur.0) {
                    self.finished = Some((at, r.decision, r.electronic_result));
                }
            }
            EventKind::ResultReturned => keep_min(&mut self.returned_at, at),
            EventKind::Survey => {
                let s = e.survey.as_ref().expect("validated event");
                self.surveys += 1;
                self.any_dissatisfied |= matches!(
                    s.overall,
                    Satisfaction::Dissatisfied | Satisfaction::VeryDissatisfied
                );
                self.any_complaint |= s.complaint;
                let id = stable_hash(e.event_id.as_bytes());
                if self.rating.is_none_or(|(t, h, _)| (at, id) > (t, h)) {
                    self.rating = Some((at, id, s.overall));
                }
            }
            EventKind::SipasResponse => {
                let sheet = SipasSheet::of(e, e.sipas.as_ref().expect("validated event"));
                if self
                    .sipas
                    .as_ref()
                    .is_none_or(|cur| (sheet.at, sheet.id) > (cur.at, cur.id))
                {
                    self.sipas = Some(sheet);
                }
            }
            EventKind::PortalSynced => {
                if e.portal_sync.as_ref().expect("validated event").accepted {
                    keep_min(&mut self.synced_at, at);
                }
            }
            EventKind::Feedback => {
                let f = e.feedback.as_ref().expect("validated event");
                let id = stable_hash(e.event_id.as_bytes());
                let pos = self
                    .feedback
                    .binary_search_by(|x| x.id.as_str().cmp(&f.feedback_id));
                let i = pos.unwrap_or_else(|i| {
                    // Items per dossier are few: grow by one, not by the four a first push
                    // would allocate (state size).
                    self.feedback.reserve_exact(1);
                    self.feedback.insert(
                        i,
                        FeedbackItem {
                            id: f.feedback_id.clone(),
                            category: f.category,
                            received_at: f.received_at,
                            due_at: f.due_at,
                            answered: None,
                        },
                    );
                    i
                });
                self.feedback[i].merge(f, id);
            }
        }
        Applied::New
    }

    /// Status code shared by provincial systems and the national portal (domain.md §3).
    pub fn status_code(&self) -> u8 {
        // Refused at the counter: whatever else was read (steps read before the refusal are
        // inconsistent input, refused after it), the dossier never entered processing.
        if self.refused_at_counter() {
            3
        } else if self.returned_at.is_some() {
            10
        } else if self.finished.is_some() {
            9
        } else if self
            .stopped_at
            .is_some_and(|s| self.refused_at.is_none_or(|r| s <= r))
        {
            // Stopped and refused both end processing: the earlier one is the status.
            8
        } else if self.refused_at.is_some() {
            3
        } else if self.withdrawn_at.is_some() {
            7
        } else if self.open_supplement().is_some() {
            5
        } else if !self.handovers.is_empty() {
            4
        } else if self.receipt.is_some() {
            2
        } else {
            1
        }
    }

    /// Earliest supplement request with no supplement received for it.
    fn open_supplement(&self) -> Option<Timestamp> {
        self.supplement_requests
            .iter()
            .filter(|(no, _)| !self.supplements_received.iter().any(|(r, _)| r == no))
            .map(|(_, t)| *t)
            .min()
    }

    /// Closed supplement waits `[request, supplement received]` (the earliest answer to each
    /// request; an answer dated before its request closes it at once), sorted and merged
    /// where they overlap, so no time is deducted twice.
    pub fn closed_waits(&self) -> Vec<(Timestamp, Timestamp)> {
        let mut waits: Vec<(Timestamp, Timestamp)> = self
            .supplement_requests
            .iter()
            .filter_map(|(no, req)| {
                self.supplements_received
                    .iter()
                    .find(|(r, _)| r == no)
                    .map(|(_, at)| (*req, (*at).max(*req)))
            })
            .collect();
        waits.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(waits.len());
        for (a, b) in waits {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    /// Classifies the dossier on `clock`'s calendar, catalogue and policy. `as_of` is the
    /// event-time watermark used to call an open dossier overdue; `None` leaves open
    /// dossiers `InProgress`. The rules, step by step, are in docs/DEADLINES.md.
    pub fn classify(&self, as_of: Option<Timestamp>, clock: &Clock) -> Classification {
        let Some(receipt) = &self.receipt else {
            let outcome = if self.refused_at_receipt.is_some() {
                Outcome::NotCounted
            } else {
                Outcome::AwaitingReceipt
            };
            return Classification::unended(outcome);
        };
        let waits = self.closed_waits();
        let waiting = waits
            .iter()
            .fold(Duration::zero(), |acc, (a, b)| acc + (*b - *a));
        let legal = clock.legal_due(
            &receipt.procedure_code,
            receipt.received_at,
            receipt.time_limit,
            receipt.appointment_at,
        );
        let unit = legal.limit.unit;
        let paused = waits.iter().fold(Duration::zero(), |acc, (a, b)| {
            acc + clock.measure(unit, *a, *b)
        });
        let due_at = match (clock.policy.pause, waits.iter().map(|w| w.1).max()) {
            // The full limit again from the last completed supplement, never before the
            // agency's own appointment.
            (PausePolicy::Restart, Some(resumed)) => clock
                .calendar
                .due(resumed, legal.limit, &legal.rule)
                .max(receipt.appointment_at),
            _ => clock.extend(unit, receipt.appointment_at, paused),
        };
        let deadline = Deadline {
            legal,
            appointment_at: receipt.appointment_at,
            due_at,
            paused,
            policy: clock.policy.pause,
            reappointed_at: self.apology.map(|a| a.2),
        };
        let steps = self.steps(receipt, &waits, clock);
        let terminal = [
            self.finished.map(|f| (f.0, EndKind::Finished)),
            self.returned_at.map(|t| (t, EndKind::Returned)),
            match (self.stopped_at, self.refused_at) {
                (Some(s), Some(r)) if r < s => Some((r, EndKind::Refused)),
                (Some(s), _) => Some((s, EndKind::Stopped)),
                (None, Some(r)) => Some((r, EndKind::Refused)),
                (None, None) => None,
            },
            self.withdrawn_at.map(|t| (t, EndKind::Withdrawn)),
        ]
        .into_iter()
        .flatten()
        .next();
        // The clock stopped at an unanswered supplement request: that is the end of
        // processing for the indicator, unless the dossier ended before it.
        let end = match (terminal, self.open_supplement()) {
            (Some((t, _)), Some(open)) if open < t => Some((open, EndKind::AwaitingSupplement)),
            (Some(end), _) => Some(end),
            (None, Some(open)) => Some((open, EndKind::AwaitingSupplement)),
            (None, None) => None,
        };
        let repeated_supplement = self.supplement_requests.len() > 1;
        let apologised = self.apology.is_some();
        let Some((end_at, end_kind)) = end else {
            let overdue = as_of.is_some_and(|now| now > due_at);
            let outcome = if overdue {
                Outcome::OverdueInProgress
            } else {
                Outcome::InProgress
            };
            return Classification {
                deadline: Some(deadline),
                waiting,
                steps,
                ..Classification::unended(outcome)
            };
        };
        let outcome = if repeated_supplement || apologised || end_at > due_at {
            Outcome::Late
        } else if local_date(end_at) < local_date(due_at) {
            Outcome::Early
        } else {
            Outcome::OnTime
        };
        // Decision 766 indicator 2.2: time to a result, less the waits, in the limit's unit.
        let resolution = matches!(end_kind, EndKind::Finished | EndKind::Returned).then(|| {
            let paused_before_end = waits.iter().fold(Duration::zero(), |acc, (a, b)| {
                acc + clock.measure(unit, (*a).max(receipt.received_at), (*b).min(end_at))
            });
            let taken = clock.measure(unit, receipt.received_at, end_at) - paused_before_end;
            clock.in_units(unit, taken.max(Duration::zero()))
        });
        Classification {
            outcome,
            end: Some(End {
                at: end_at,
                kind: end_kind,
            }),
            waiting,
            repeated_supplement,
            apologised,
            deadline: Some(deadline),
            resolution,
            steps,
        }
    }

    /// The verdict on every handover step whose start is known: step 1 starts at the
    /// receipt, step k at row k-1. A step's due time is its allotment counted from its
    /// start, extended by the supplement waits inside the step.
    fn steps(
        &self,
        receipt: &Receipt,
        waits: &[(Timestamp, Timestamp)],
        clock: &Clock,
    ) -> Vec<StepVerdict> {
        let mut out = Vec::with_capacity(self.handovers.len());
        for (i, row) in self.handovers.iter().enumerate() {
            let start = if row.step == 1 {
                receipt.received_at
            } else {
                match i.checked_sub(1).map(|p| &self.handovers[p]) {
                    Some(prev) if prev.step == row.step - 1 => prev.at,
                    _ => continue,
                }
            };
            let unit = row.allotted.map_or(TimeUnit::WorkingHours, |a| a.unit);
            let paused = waits.iter().fold(Duration::zero(), |acc, (a, b)| {
                acc + clock.measure(unit, (*a).max(start), (*b).min(row.at))
            });
            let taken = (clock.measure(unit, start, row.at) - paused).max(Duration::zero());
            let due_at = row
                .allotted
                .map(|a| clock.extend(unit, clock.step_due(start, a), paused));
            let outcome = due_at.map(|due| {
                if row.at > due {
                    StepOutcome::Late
                } else if local_date(row.at) < local_date(due) {
                    StepOutcome::Early
                } else {
                    StepOutcome::OnTime
                }
            });
            out.push(StepVerdict {
                step: row.step,
                from_unit: row.from_unit.clone(),
                to_unit: row.to_unit.clone(),
                started_at: start,
                handed_at: row.at,
                allotted: row.allotted,
                due_at,
                taken,
                outcome,
                recorded: row.recorded,
            });
        }
        out
    }
}

/// How a dossier's processing ended, for the indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// Result issued (status 9), preferred over every other end.
    Finished,
    /// Result returned (status 10) without a recorded issue.
    Returned,
    /// Processing stopped (2025 form 05).
    Stopped,
    /// Refused during processing (form 03).
    Refused,
    /// Withdrawn by the applicant.
    Withdrawn,
    /// Still waiting for a supplement: the request time is the end (domain.md §5).
    AwaitingSupplement,
}

impl EndKind {
    /// Label used in ClickHouse.
    pub fn as_str(self) -> &'static str {
        match self {
            EndKind::Finished => "FINISHED",
            EndKind::Returned => "RETURNED",
            EndKind::Stopped => "STOPPED",
            EndKind::Refused => "REFUSED",
            EndKind::Withdrawn => "WITHDRAWN",
            EndKind::AwaitingSupplement => "AWAITING_SUPPLEMENT",
        }
    }
}

/// The end of processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// When processing ended (or the clock stopped).
    pub at: Timestamp,
    /// How.
    pub kind: EndKind,
}

/// A received dossier's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The legal due time from the catalogue (or form 01's limit) and how the agency's
    /// appointment compares with it.
    pub legal: LegalDue,
    /// The agency's appointment on form 01: what the dossier is judged against.
    pub appointment_at: Timestamp,
    /// The appointment moved by the supplement waits under `policy`: the due time the end
    /// of processing is compared with, and past which an open dossier is overdue.
    pub due_at: Timestamp,
    /// The supplement waits measured like the limit (working time for working units).
    pub paused: Duration,
    /// The pause policy applied.
    pub policy: PausePolicy,
    /// The new appointment of a form 04, if any (the dossier stays late against the
    /// original one).
    pub reappointed_at: Option<Timestamp>,
}

/// One handover step judged against its allotment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepVerdict {
    /// Step number on the slip.
    pub step: i32,
    /// The unit whose step this is (the giving unit of the row).
    pub from_unit: String,
    /// The unit it handed the dossier to.
    pub to_unit: String,
    /// When the giving unit got the dossier (previous row, or the receipt for step 1).
    pub started_at: Timestamp,
    /// When it handed it over.
    pub handed_at: Timestamp,
    /// Allotted time, when the slip gives one.
    pub allotted: Option<TimeLimit>,
    /// Allotment counted from the start on the calendar, extended by waits in the step.
    pub due_at: Option<Timestamp>,
    /// Time taken, measured like the allotment (working time by default), less waits.
    pub taken: Duration,
    /// Early / on time / late; `None` without an allotment.
    pub outcome: Option<StepOutcome>,
    /// What the unit itself wrote on the slip.
    pub recorded: Option<StepOutcome>,
}

/// Early / on time / late, and the states that are not (yet) any of those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Ended on a calendar day before the due time's day.
    Early,
    /// Ended at or before the due time, on its day.
    OnTime,
    /// Ended after the due time, asked for more than one supplement, or apologised.
    Late,
    /// Open, due time not yet passed (as of the watermark).
    InProgress,
    /// Open, due time passed (as of the watermark).
    OverdueInProgress,
    /// Refused at the counter: never received, not counted.
    NotCounted,
    /// Events seen but no receipt yet: held until the receipt arrives.
    AwaitingReceipt,
}

impl Outcome {
    /// Label used in ClickHouse and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Early => "EARLY",
            Outcome::OnTime => "ON_TIME",
            Outcome::Late => "LATE",
            Outcome::InProgress => "IN_PROGRESS",
            Outcome::OverdueInProgress => "OVERDUE_IN_PROGRESS",
            Outcome::NotCounted => "NOT_COUNTED",
            Outcome::AwaitingReceipt => "AWAITING_RECEIPT",
        }
    }
}

/// The classification of one dossier.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The verdict.
    pub outcome: Outcome,
    /// End of processing, when it ended.
    pub end: Option<End>,
    /// Elapsed time spent waiting for supplements received so far (merged waits).
    pub waiting: Duration,
    /// More than one supplement request (late by rule).
    pub repeated_supplement: bool,
    /// A form 04 was issued (late against the original appointment).
    pub apologised: bool,
    /// Legal due time, appointment check and effective due time, once received.
    pub deadline: Option<Deadline>,
    /// Decision 766 indicator 2.2: time from receipt to the result, less supplement
    /// waits, in the limit's unit (working days, hours or calendar days); only for
    /// dossiers that ended with a result (finished or returned).
    pub resolution: Option<f64>,
    /// Handover steps judged against their allotments.
    pub steps: Vec<StepVerdict>,
}

impl Classification {
    fn unended(outcome: Outcome) -> Self {
        Classification {
            outcome,
            end: None,
            waiting: Duration::zero(),
            repeated_supplement: false,
            apologised: false,
            deadline: None,
            resolution: None,
            steps: Vec::new(),
        }
    }
}

/// Early / on-time / late counts over ended dossiers, with the on-time rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnTimeCounts {
    /// Early dossiers.
    pub early: u64,
    /// On-time dossiers.
    pub on_time: u64,
    /// Late dossiers.
    pub late: u64,
}

impl OnTimeCounts {
    /// Counts one outcome; outcomes that are not early / on time / late are ignored.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Early => self.early += 1,
            Outcome::OnTime => self.on_time += 1,
            Outcome::Late => self.late += 1,
            _ => {}
        }
    }

    /// Dossiers counted.
    pub fn total(&self) -> u64 {
        self.early + self.on_time + self.late
    }

    /// (early + on time) / counted, in percent rounded to 2 decimals; `None` (N/A) when empty.
    pub fn on_time_rate_percent(&self) -> Option<f64> {
        let total = self.total();
        (total > 0)
            .then(|| ((self.early + self.on_time) as f64 * 10000.0 / total as f64).round() / 100.0)
    }
}
