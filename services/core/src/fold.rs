//! The dossier fold: a dossier's events, in any order, folded into facts, and the facts
//! classified early / on time / late (domain.md §5, Decision 766 indicator 2.1).
//!
//! Invariants:
//! - **Order independence**: every fact is a minimum, a count or a set over events, so the
//!   same set of events gives the same state whatever order they were read in. A return
//!   read before its receipt is kept (the dossier is `AwaitingReceipt`), not dropped.
//! - **Idempotence**: an event id already folded changes nothing; `version` counts the
//!   distinct events folded, so it only grows and a replay never produces a newer version
//!   with older content.

use chrono::{Duration, FixedOffset, NaiveDate};

use crate::event::{
    AgencyLevel, ApplicantKind, Channel, Decision, DossierEvent, EventKind, FormSet, RefusalStage,
    Satisfaction, TimeLimit, Timestamp,
};

/// Vietnam time, used to decide calendar dates (early vs on time, the day a dossier ends).
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("valid offset")
}

/// The Vietnam calendar date of an instant.
pub fn local_date(t: Timestamp) -> NaiveDate {
    t.with_timezone(&vietnam()).date_naive()
}

/// What form 01 said, as the fold keeps it.
#[derive(Debug, Clone, PartialEq)]
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
}

/// Everything the pipeline knows about one dossier.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DossierState {
    /// Hashes of the event ids folded so far, sorted.
    seen: Vec<u64>,
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
    /// Number of handover rows.
    pub handovers: u32,
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
    /// Form sets seen (a dossier may span the 1/7/2025 change).
    pub form_sets: FormSets,
    /// Latest event time folded.
    pub last_event_at: Option<Timestamp>,
}

/// A small set of form sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    /// The event id was already folded.
    Duplicate,
}

/// FNV-1a: a stable 64-bit hash of an event id (stable across Rust releases, so it can be
/// snapshotted). Collisions within one dossier's handful of ids are negligible (~1e-18).
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
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
        self.seen.len() as u32
    }

    /// Folds one (valid) event into the state.
    pub fn apply(&mut self, e: &DossierEvent) -> Applied {
        let h = id_hash(&e.event_id);
        match self.seen.binary_search(&h) {
            Ok(_) => return Applied::Duplicate,
            Err(pos) => self.seen.insert(pos, h),
        }
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
            EventKind::Handover => self.handovers += 1,
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
            }
        }
        Applied::New
    }

    /// Status code shared by provincial systems and the national portal (domain.md §3).
    pub fn status_code(&self) -> u8 {
        if self.returned_at.is_some() {
            10
        } else if self.finished.is_some() {
            9
        } else if self
            .stopped_at
            .is_some_and(|s| self.refused_at.is_none_or(|r| s <= r))
        {
            // Stopped and refused both end processing: the earlier one is the status.
            8
        } else if self.refused_at.is_some()
            || (self.receipt.is_none() && self.refused_at_receipt.is_some())
        {
            3
        } else if self.withdrawn_at.is_some() {
            7
        } else if self.open_supplement().is_some() {
            5
        } else if self.handovers > 0 {
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

    /// Total time spent waiting for supplements that were received, in seconds.
    fn closed_wait(&self) -> Duration {
        self.supplement_requests
            .iter()
            .filter_map(|(no, req)| {
                self.supplements_received
                    .iter()
                    .filter(|(r, at)| r == no && at >= req)
                    .map(|(_, at)| *at - *req)
                    .min()
            })
            .fold(Duration::zero(), |acc, d| acc + d)
    }

    /// Classifies the dossier. `as_of` is the event-time watermark used to call an open
    /// dossier overdue; `None` leaves open dossiers `InProgress`.
    pub fn classify(&self, as_of: Option<Timestamp>) -> Classification {
        let Some(receipt) = &self.receipt else {
            let outcome = if self.refused_at_receipt.is_some() {
                Outcome::NotCounted
            } else {
                Outcome::AwaitingReceipt
            };
            return Classification::unended(outcome, Duration::zero());
        };
        let wait = self.closed_wait();
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
            let overdue = as_of.is_some_and(|now| now - wait > receipt.appointment_at);
            let outcome = if overdue {
                Outcome::OverdueInProgress
            } else {
                Outcome::InProgress
            };
            return Classification::unended(outcome, wait);
        };
        let effective_end = end_at - wait;
        let outcome = if repeated_supplement || apologised || effective_end > receipt.appointment_at
        {
            Outcome::Late
        } else if local_date(effective_end) < local_date(receipt.appointment_at) {
            Outcome::Early
        } else {
            Outcome::OnTime
        };
        Classification {
            outcome,
            end: Some(End {
                at: end_at,
                kind: end_kind,
                effective_at: effective_end,
            }),
            waiting: wait,
            repeated_supplement,
            apologised,
        }
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
    /// `at` less the time waiting for supplements: what is compared with the appointment.
    pub effective_at: Timestamp,
}

/// Early / on time / late, and the states that are not (yet) any of those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Ended on a calendar day before the appointment's day.
    Early,
    /// Ended at or before the appointment, on its day.
    OnTime,
    /// Ended after the appointment, asked for more than one supplement, or apologised.
    Late,
    /// Open, appointment not yet passed (as of the watermark).
    InProgress,
    /// Open, appointment passed (as of the watermark).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// The verdict.
    pub outcome: Outcome,
    /// End of processing, when it ended.
    pub end: Option<End>,
    /// Time spent waiting for supplements received so far.
    pub waiting: Duration,
    /// More than one supplement request (late by rule).
    pub repeated_supplement: bool,
    /// A form 04 was issued (late against the original appointment).
    pub apologised: bool,
}

impl Classification {
    fn unended(outcome: Outcome, waiting: Duration) -> Self {
        Classification {
            outcome,
            end: None,
            waiting,
            repeated_supplement: false,
            apologised: false,
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
