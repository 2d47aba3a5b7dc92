//! The dossier event: the one record every agency system sends, whatever the form.
//!
//! The wire layout mirrors `schemas/dossier_event.avsc` (the source of truth): a common
//! envelope plus one optional payload per kind, exactly one of which is set. A flat record
//! of optional payloads keeps the Avro union simple for every client language and lets a
//! new kind be added as a new optional field, which old readers ignore.
//!
//! Timestamps are (de)serialised through `crate::timestamp`: chrono's RFC 3339 text and
//! chrono's errors, with a shortcut for the usual shape, as they are on every event read
//! and every content hash.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// An instant with the UTC offset the sender wrote, serialised as RFC 3339.
pub type Timestamp = DateTime<FixedOffset>;

/// One step in the life of a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierEvent {
    /// Unique id chosen by the sender; a repeated id is a duplicate and changes nothing.
    pub event_id: String,
    /// `{agency-id}-{yymmdd}-{seq}`; the Kafka key, so all of a dossier's events share a partition.
    pub dossier_code: String,
    /// The code used towards the national portal, when the system keeps a second one.
    #[serde(default)]
    pub national_dossier_code: Option<String>,
    /// Electronic identifier of the unit that emitted the event.
    pub agency_code: String,
    /// When the step happened (event time), with its offset.
    #[serde(with = "crate::timestamp")]
    pub occurred_at: Timestamp,
    /// Which circular's forms the step was recorded on.
    pub form_set: FormSet,
    /// Sending system, for tracing only.
    #[serde(default)]
    pub source_system: Option<String>,
    /// Which payload is set.
    pub kind: EventKind,
    /// Form 01.
    #[serde(default)]
    pub received: Option<DossierReceived>,
    /// Form 02.
    #[serde(default)]
    pub supplement_requested: Option<SupplementRequested>,
    /// Answer to a form 02.
    #[serde(default)]
    pub supplement_received: Option<SupplementReceived>,
    /// Form 03.
    #[serde(default)]
    pub refused: Option<Refused>,
    /// Form 04.
    #[serde(default)]
    pub apology: Option<Apology>,
    /// Form 05 of the 2025 set.
    #[serde(default)]
    pub processing_stopped: Option<ProcessingStopped>,
    /// One row of the process-control slip.
    #[serde(default)]
    pub handover: Option<Handover>,
    /// Withdrawal by the applicant.
    #[serde(default)]
    pub withdrawn: Option<Withdrawn>,
    /// Processing finished, result issued.
    #[serde(default)]
    pub result_ready: Option<ResultReady>,
    /// Result handed to the applicant.
    #[serde(default)]
    pub result_returned: Option<ResultReturned>,
    /// Satisfaction survey.
    #[serde(default)]
    pub survey: Option<Survey>,
    /// A SIPAS answer sheet (schema v3). Left out of the JSON when absent, so that the JSON,
    /// and with it the content hash, of every other event is what it was before v3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sipas: Option<SipasResponse>,
    /// A sync to the national portal (schema v4; left out of the JSON when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_sync: Option<PortalSync>,
    /// Feedback or a complaint, received or answered (schema v4; left out when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
}

/// The form set an event was recorded under (domain.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FormSet {
    /// Circular 01/2018/TT-VPCP (Decree 61/2018).
    #[serde(rename = "TT01_2018")]
    Tt01_2018,
    /// Circular 03/2025/TT-VPCP (Decree 118/2025), in force from 1/7/2025.
    #[serde(rename = "TT03_2025")]
    Tt03_2025,
}

impl FormSet {
    /// The symbol used on the wire and in ClickHouse.
    pub fn as_str(self) -> &'static str {
        match self {
            FormSet::Tt01_2018 => "TT01_2018",
            FormSet::Tt03_2025 => "TT03_2025",
        }
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $sym:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $sym)] $variant),+
        }

        impl $name {
            /// Every variant, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The symbol used on the wire and in ClickHouse.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $sym),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// Which payload an event carries.
    EventKind {
        /// Form 01.
        Received => "RECEIVED",
        /// Form 02.
        SupplementRequested => "SUPPLEMENT_REQUESTED",
        /// Complete supplement for a form 02.
        SupplementReceived => "SUPPLEMENT_RECEIVED",
        /// Form 03.
        Refused => "REFUSED",
        /// Form 04.
        Apology => "APOLOGY",
        /// Form 05 (2025 only).
        ProcessingStopped => "PROCESSING_STOPPED",
        /// Process-control slip row.
        Handover => "HANDOVER",
        /// Withdrawal by the applicant.
        Withdrawn => "WITHDRAWN",
        /// Result issued (status 9).
        ResultReady => "RESULT_READY",
        /// Result returned (status 10).
        ResultReturned => "RESULT_RETURNED",
        /// Satisfaction survey.
        Survey => "SURVEY",
        /// A SIPAS survey answer sheet (schema v3).
        SipasResponse => "SIPAS_RESPONSE",
        /// The dossier synced to the national portal, with the portal's answer (schema v4).
        PortalSynced => "PORTAL_SYNCED",
        /// Feedback, a petition or a complaint (PAKN) about the dossier (schema v4).
        Feedback => "FEEDBACK",
    }
);

wire_enum!(
    /// Administrative level of the receiving unit.
    AgencyLevel { Ministry => "MINISTRY", Province => "PROVINCE", District => "DISTRICT", Commune => "COMMUNE" }
);
wire_enum!(
    /// How the dossier was submitted (1 in person, 2 online, 3 public postal service).
    Channel { InPerson => "IN_PERSON", Online => "ONLINE", Postal => "POSTAL" }
);
wire_enum!(
    /// Who applies.
    ApplicantKind { Citizen => "CITIZEN", Business => "BUSINESS", StateAgency => "STATE_AGENCY", OtherOrganisation => "OTHER_ORGANISATION" }
);
wire_enum!(
    /// Kind of identity document.
    IdType { Cccd => "CCCD", Cmnd => "CMND", Passport => "PASSPORT", TaxCode => "TAX_CODE", Other => "OTHER" }
);
wire_enum!(
    /// Kind of a submitted document copy.
    DocumentKind { Original => "ORIGINAL", CertifiedCopy => "CERTIFIED_COPY", Photocopy => "PHOTOCOPY", Electronic => "ELECTRONIC" }
);
wire_enum!(
    /// Unit of a statutory time limit.
    TimeUnit { WorkingDays => "WORKING_DAYS", CalendarDays => "CALENDAR_DAYS", WorkingHours => "WORKING_HOURS" }
);
wire_enum!(
    /// Where the result is collected.
    Delivery { Counter => "COUNTER", Post => "POST", Online => "ONLINE" }
);
wire_enum!(
    /// When a refusal happened.
    RefusalStage { AtReceipt => "AT_RECEIPT", DuringProcessing => "DURING_PROCESSING" }
);
wire_enum!(
    /// A unit's own judgement of its step on the process-control slip.
    StepOutcome { Early => "EARLY", OnTime => "ON_TIME", Late => "LATE" }
);
wire_enum!(
    /// What the result decided.
    Decision { Approved => "APPROVED", Denied => "DENIED" }
);
wire_enum!(
    /// Where a survey answer came from.
    SurveyChannel { Portal => "PORTAL", Kiosk => "KIOSK", Sms => "SMS", Paper => "PAPER" }
);
wire_enum!(
    /// Five-level satisfaction.
    Satisfaction {
        VerySatisfied => "VERY_SATISFIED",
        Satisfied => "SATISFIED",
        Neutral => "NEUTRAL",
        Dissatisfied => "DISSATISFIED",
        VeryDissatisfied => "VERY_DISSATISFIED",
    }
);

/// Form 01: receipt and appointment slip. Its `occurred_at` is the receipt time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DossierReceived {
    /// National procedure code with local suffix, e.g. `1.003560.000.00.00.H56`.
    pub procedure_code: String,
    /// Procedure name as published.
    pub procedure_name: String,
    /// Field (lĩnh vực) code.
    pub field_code: String,
    /// Level of the receiving unit.
    pub agency_level: AgencyLevel,
    /// Submission channel.
    pub channel: Channel,
    /// The applicant (personal data).
    pub applicant: Applicant,
    /// The request (trích yếu).
    pub summary: String,
    /// Documents submitted.
    pub documents: Vec<SubmittedDocument>,
    /// Number of sets.
    pub sets: i32,
    /// Statutory time limit.
    pub time_limit: TimeLimit,
    /// Appointment for the result: what the dossier is judged against.
    #[serde(with = "crate::timestamp")]
    pub appointment_at: Timestamp,
    /// Where the result is collected.
    pub result_delivery: Delivery,
    /// Register book.
    #[serde(default)]
    pub register_book: Option<String>,
    /// Line in the register book.
    #[serde(default)]
    pub register_line: Option<i32>,
    /// Receiving officer.
    pub receiving_officer: String,
    /// Fee status, when the procedure has a fee.
    #[serde(default)]
    pub fee_paid: Option<bool>,
    /// The components were digitised at receipt (the portal's `HoSoCoThanhPhanSoHoa`,
    /// Decision 766 indicator 4.2; schema v4). Left out of the JSON when absent, so that
    /// older receipts keep their JSON and content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitised: Option<bool>,
}

/// The applicant as written on the forms. Every field but `kind` is personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    /// Citizen, business, ...
    pub kind: ApplicantKind,
    /// Full name.
    pub name: String,
    /// Kind of identity document.
    #[serde(default)]
    pub id_type: Option<IdType>,
    /// Identity document number.
    #[serde(default)]
    pub id_number: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
}

/// One document of a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedDocument {
    /// Document name.
    pub name: String,
    /// Original, certified copy, ...
    pub kind: DocumentKind,
    /// Number of copies.
    pub count: i32,
}

/// A statutory time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeLimit {
    /// How many units.
    pub amount: i32,
    /// Working days, calendar days or working hours.
    pub unit: TimeUnit,
}

/// Form 02.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplementRequested {
    /// Number of the request; the matching supplement names it.
    pub request_no: String,
    /// Why the dossier is incomplete.
    pub reason: String,
    /// What is missing.
    pub missing_documents: Vec<SubmittedDocument>,
    /// Officer who guided the applicant.
    pub guiding_officer: String,
}

/// The complete supplement answering a form 02.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplementReceived {
    /// The request this answers.
    pub request_no: String,
    /// Documents received.
    pub documents: Vec<SubmittedDocument>,
}

/// Form 03.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    /// At the counter (the dossier is never received) or during processing.
    pub stage: RefusalStage,
    /// Why.
    pub reason: String,
    /// Refusing officer.
    pub officer: String,
    /// The procedure asked for; needed at receipt, where no form 01 exists.
    #[serde(default)]
    pub procedure_code: Option<String>,
    /// The applicant, as form 03 names them.
    #[serde(default)]
    pub applicant: Option<Applicant>,
}

/// Form 04.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Apology {
    /// The appointment being missed.
    #[serde(with = "crate::timestamp")]
    pub original_appointment_at: Timestamp,
    /// The new appointment.
    #[serde(with = "crate::timestamp")]
    pub new_appointment_at: Timestamp,
    /// Reason for the delay.
    pub reason: String,
    /// Head of agency signing.
    pub signed_by: String,
}

/// Form 05 (2025).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingStopped {
    /// Why processing stopped.
    pub reason: String,
    /// Who signed the notice.
    pub signed_by: String,
}

/// One handover row of the process-control slip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handover {
    /// 1-based position on the slip.
    pub step: i32,
    /// Giving unit.
    pub from_unit: String,
    /// Receiving unit.
    pub to_unit: String,
    /// The giving unit's judgement of its own step, when recorded.
    #[serde(default)]
    pub step_outcome: Option<StepOutcome>,
    /// Time the giving unit was allotted for its step (from when it got the dossier, i.e.
    /// the previous row, or the receipt for step 1, to this handover), when the slip gives
    /// one. Added in schema v2; absent in v1 data.
    #[serde(default)]
    pub allotted: Option<TimeLimit>,
    /// Free note.
    #[serde(default)]
    pub note: Option<String>,
}

/// Withdrawal by the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdrawn {
    /// Reason, when given.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Processing finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultReady {
    /// Approved or denied.
    pub decision: Decision,
    /// Whether the result is an electronic document (Decision 766 indicator 4.1).
    pub electronic_result: bool,
    /// Number of the issued document.
    #[serde(default)]
    pub document_number: Option<String>,
}

/// Result handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultReturned {
    /// How it was handed over.
    pub delivery: Delivery,
}

/// A citizen's rating of a dossier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    /// Where the answer came from.
    pub channel: SurveyChannel,
    /// Overall satisfaction.
    pub overall: Satisfaction,
    /// Per-criterion scores, 1 to 5.
    pub criteria: Vec<CriterionScore>,
    /// Whether the citizen filed a complaint.
    pub complaint: bool,
}

wire_enum!(
    /// The five elements of the SIPAS survey (Decision 1001/QĐ-BNV): access to the service,
    /// the administrative procedure, the officials, the results, the handling of feedback.
    SipasElement {
        Access => "ACCESS",
        Procedure => "PROCEDURE",
        Officials => "OFFICIALS",
        Results => "RESULTS",
        Feedback => "FEEDBACK",
    }
);

/// A SIPAS answer sheet: a user of an agency's services answers criteria (data, not code),
/// each under one element, as assessment, satisfaction and expectation on a 1-5 scale. The
/// event's `dossier_code` is the response's own code, `agency_code` the agency surveyed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipasResponse {
    /// The survey round, e.g. `SIPAS-2026`.
    pub campaign: String,
    /// How the answers were collected.
    pub channel: SurveyChannel,
    /// The dossier the respondent used, when named.
    #[serde(default)]
    pub about_dossier: Option<String>,
    /// One per criterion answered.
    pub answers: Vec<SipasAnswer>,
}

/// One criterion of a SIPAS answer sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipasAnswer {
    /// The element it belongs to.
    pub element: SipasElement,
    /// Criterion code.
    pub criterion: String,
    /// How the respondent assessed it, 1 to 5.
    pub assessment: i32,
    /// How satisfied, 1 to 5 (4 and 5 count as satisfied in the index).
    pub satisfaction: i32,
    /// What they expect, 1 to 5.
    pub expectation: i32,
}

/// The agency system's sync of the dossier to the national public-service portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalSync {
    /// The status synced (the portal's `TrangThaiHoSo` code).
    pub status: String,
    /// The portal accepted the record.
    pub accepted: bool,
    /// The portal's reason when it did not.
    #[serde(default)]
    pub error: Option<String>,
}

wire_enum!(
    /// What a PAKN item is: feedback, a petition (phản ánh, kiến nghị) or a complaint.
    FeedbackCategory { Feedback => "FEEDBACK", Petition => "PETITION", Complaint => "COMPLAINT" }
);
wire_enum!(
    /// Where a PAKN item is.
    FeedbackStage { Received => "RECEIVED", Answered => "ANSWERED" }
);

/// Feedback, a petition or a complaint about a dossier, with its own deadline. The same
/// `feedback_id` is first received, then answered; both events carry the item's
/// `received_at` and `due_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The item's id, unique within the dossier.
    pub feedback_id: String,
    /// Feedback, petition or complaint.
    pub category: FeedbackCategory,
    /// Received or answered.
    pub stage: FeedbackStage,
    /// When the agency received it.
    #[serde(with = "crate::timestamp")]
    pub received_at: Timestamp,
    /// When the answer is due (an extension gives a later one).
    #[serde(with = "crate::timestamp")]
    pub due_at: Timestamp,
    /// When it was answered (`ANSWERED` only).
    #[serde(default, with = "crate::timestamp::option")]
    pub answered_at: Option<Timestamp>,
    /// The sender's satisfaction with the answer, when asked (`ANSWERED` only).
    #[serde(default)]
    pub satisfaction: Option<Satisfaction>,
}

/// One criterion's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionScore {
    /// Criterion code (data, not code: SIPAS and portal criteria differ).
    pub code: String,
    /// 1 (worst) to 5 (best).
    pub score: i32,
}

impl DossierEvent {
    /// A bare event of `kind` with no payload; callers set the payload field.
    pub fn envelope(
        event_id: impl Into<String>,
        dossier_code: impl Into<String>,
        agency_code: impl Into<String>,
        occurred_at: Timestamp,
        form_set: FormSet,
        kind: EventKind,
    ) -> Self {
        DossierEvent {
            event_id: event_id.into(),
            dossier_code: dossier_code.into(),
            national_dossier_code: None,
            agency_code: agency_code.into(),
            occurred_at,
            form_set,
            source_system: None,
            kind,
            received: None,
            supplement_requested: None,
            supplement_received: None,
            refused: None,
            apology: None,
            processing_stopped: None,
            handover: None,
            withdrawn: None,
            result_ready: None,
            result_returned: None,
            survey: None,
            sipas: None,
            portal_sync: None,
            feedback: None,
        }
    }

    /// The kinds whose payload field is set, in schema order.
    pub fn payload_kinds(&self) -> Vec<EventKind> {
        let present = [
            (EventKind::Received, self.received.is_some()),
            (
                EventKind::SupplementRequested,
                self.supplement_requested.is_some(),
            ),
            (
                EventKind::SupplementReceived,
                self.supplement_received.is_some(),
            ),
            (EventKind::Refused, self.refused.is_some()),
            (EventKind::Apology, self.apology.is_some()),
            (
                EventKind::ProcessingStopped,
                self.processing_stopped.is_some(),
            ),
            (EventKind::Handover, self.handover.is_some()),
            (EventKind::Withdrawn, self.withdrawn.is_some()),
            (EventKind::ResultReady, self.result_ready.is_some()),
            (EventKind::ResultReturned, self.result_returned.is_some()),
            (EventKind::Survey, self.survey.is_some()),
            (EventKind::SipasResponse, self.sipas.is_some()),
            (EventKind::PortalSynced, self.portal_sync.is_some()),
            (EventKind::Feedback, self.feedback.is_some()),
        ];
        present
            .into_iter()
            .filter(|(_, set)| *set)
            .map(|(k, _)| k)
            .collect()
    }
}
