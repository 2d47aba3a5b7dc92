//! Validation: what makes an event acceptable, with an error naming the field.
//!
//! The same rules run in the producer library, the CLI, the processor (which dead-letters
//! what fails) and later the HTTP gateway, so an event is judged the same way everywhere.

use std::fmt;

use crate::event::{
    Applicant, DossierEvent, EventKind, Feedback, FeedbackStage, FormSet, IdType, RefusalStage,
    SubmittedDocument,
};

/// Why a record was rejected. `kind` is a bounded label for metrics; `field` and `detail`
/// say exactly what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Bounded category, used as a metric label and a dead-letter header.
    pub kind: RejectKind,
    /// Dotted path of the offending field, e.g. `received.appointment_at`; empty for the record.
    pub field: String,
    /// Human-readable reason.
    pub detail: String,
}

/// Bounded categories of rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectKind {
    /// The bytes are neither JSON nor Avro of a known schema, or do not parse.
    Undecodable,
    /// A required value is missing or empty.
    Missing,
    /// A value has the wrong format.
    Format,
    /// Values contradict each other (wrong payload for the kind, appointment before receipt...).
    Inconsistent,
    /// The event id was already used for an event with other content; the version with the
    /// smaller content hash counts, this one does not.
    Conflict,
}

impl RejectKind {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::Undecodable => "undecodable",
            RejectKind::Missing => "missing_field",
            RejectKind::Format => "bad_format",
            RejectKind::Inconsistent => "inconsistent",
            RejectKind::Conflict => "conflict",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.kind.as_str(), self.detail)
        } else {
            write!(
                f,
                "{}: field `{}`: {}",
                self.kind.as_str(),
                self.field,
                self.detail
            )
        }
    }
}

impl std::error::Error for Rejection {}

impl Rejection {
    /// A rejection of `field`.
    pub fn new(kind: RejectKind, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Rejection {
            kind,
            field: field.into(),
            detail: detail.into(),
        }
    }
}

type Check = Result<(), Rejection>;

// Every event goes through here: the checks allocate nothing unless they fail, so field
// paths are built by the `field` closures only for a rejection.

fn non_empty(field: &str, value: &str) -> Check {
    non_empty_at(|| field.to_string(), value)
}

fn non_empty_at(field: impl FnOnce() -> String, value: &str) -> Check {
    // Blank iff nothing is left after trimming the start.
    if value.trim_start().is_empty() {
        return Err(Rejection::new(
            RejectKind::Missing,
            field(),
            "must not be empty",
        ));
    }
    Ok(())
}

fn max_len(field: impl FnOnce() -> String, value: &str, max: usize) -> Check {
    // A string has at most as many characters as bytes.
    if value.len() > max && value.chars().count() > max {
        return Err(Rejection::new(
            RejectKind::Format,
            field(),
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

/// `H15`, `H15.50`, `H15.50.05`, `000.00.00.H56`: dot-separated upper-case alphanumeric segments.
pub fn is_agency_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

/// `{agency-id}-{yymmdd}-{seq}` with a sequence of at least 4 digits, optionally preceded by
/// two upper-case letters (the 2026 centralised-service variant).
pub fn is_dossier_code(code: &str) -> bool {
    let mut parts = code.rsplitn(3, '-');
    let (Some(seq), Some(date), Some(agency)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let seq_digits = match seq.as_bytes() {
        [a, b, rest @ ..] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => rest,
        all => all,
    };
    is_agency_code(agency)
        && date.len() == 6
        && is_yymmdd(date)
        && seq_digits.len() >= 4
        && seq_digits.iter().all(u8::is_ascii_digit)
}

/// A valid date `20yy-mm-dd` written `yymmdd`.
fn is_yymmdd(date: &str) -> bool {
    match date.as_bytes() {
        digits @ [_, _, _, _, _, _] if digits.iter().all(u8::is_ascii_digit) => {
            let two = |i: usize| u32::from(digits[i] - b'0') * 10 + u32::from(digits[i + 1] - b'0');
            chrono::NaiveDate::from_ymd_opt(2000 + two(0) as i32, two(2), two(4)).is_some()
        }
        // Whatever chrono makes of anything else.
        _ => chrono::NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").is_ok(),
    }
}

/// `1.003560.000.00.00.H56`: digit groups then a local suffix.
pub fn is_procedure_code(code: &str) -> bool {
    let Some((groups, suffix)) = code.rsplit_once('.') else {
        return false;
    };
    groups.split('.').count() >= 4
        && groups
            .split('.')
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        && !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn check_applicant(prefix: &str, a: &Applicant) -> Check {
    non_empty_at(|| format!("{prefix}.name"), &a.name)?;
    max_len(|| format!("{prefix}.name"), &a.name, 256)?;
    match (&a.id_type, &a.id_number) {
        (Some(kind), Some(number)) => {
            let ok = match kind {
                IdType::Cccd => number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit()),
                IdType::Cmnd => number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()),
                IdType::Passport => {
                    (6..=12).contains(&number.len())
                        && number.bytes().all(|b| b.is_ascii_alphanumeric())
                }
                // 10 digits, or 10 digits, a dash and a 3-digit branch suffix.
                IdType::TaxCode => match number.split_once('-') {
                    None => number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()),
                    Some((head, branch)) => {
                        head.len() == 10
                            && branch.len() == 3
                            && head
                                .bytes()
                                .chain(branch.bytes())
                                .all(|b| b.is_ascii_digit())
                    }
                },
                IdType::Other => !number.trim().is_empty(),
            };
            if !ok {
                return Err(Rejection::new(
                    RejectKind::Format,
                    format!("{prefix}.id_number"),
                    format!("not a valid {} number", kind.as_str()),
                ));
            }
        }
        (None, Some(_)) => {
            return Err(Rejection::new(
                RejectKind::Missing,
                format!("{prefix}.id_type"),
                "an id_number needs its id_type",
            ))
        }
        _ => {}
    }
    if let Some(phone) = &a.phone {
        // Separators people write (spaces, dots, dashes) are allowed; pseudonyms ignore them.
        let mut digits = 0;
        let all_digits = phone
            .strip_prefix('+')
            .unwrap_or(phone)
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .all(|c| {
                digits += 1;
                c.is_ascii_digit()
            });
        if !all_digits || !(9..=15).contains(&digits) {
            return Err(Rejection::new(
                RejectKind::Format,
                format!("{prefix}.phone"),
                "not a phone number",
            ));
        }
    }
    if let Some(email) = &a.email {
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
        });
        if !valid {
            return Err(Rejection::new(
                RejectKind::Format,
                format!("{prefix}.email"),
                "not an email address",
            ));
        }
    }
    Ok(())
}

fn check_documents(field: &str, docs: &[SubmittedDocument], must_have: bool) -> Check {
    if must_have && docs.is_empty() {
        return Err(Rejection::new(
            RejectKind::Missing,
            field,
            "at least one document is required",
        ));
    }
    for (i, d) in docs.iter().enumerate() {
        non_empty_at(|| format!("{field}[{i}].name"), &d.name)?;
        if !(1..=1000).contains(&d.count) {
            return Err(Rejection::new(
                RejectKind::Format,
                format!("{field}[{i}].count"),
                format!("count {} is not between 1 and 1000", d.count),
            ));
        }
    }
    Ok(())
}

/// Whether `e.payload_kinds()` is exactly `[e.kind]`, without building the list.
fn only_own_payload(e: &DossierEvent) -> bool {
    let set = [
        e.received.is_some(),
        e.supplement_requested.is_some(),
        e.supplement_received.is_some(),
        e.refused.is_some(),
        e.apology.is_some(),
        e.processing_stopped.is_some(),
        e.handover.is_some(),
        e.withdrawn.is_some(),
        e.result_ready.is_some(),
        e.result_returned.is_some(),
        e.survey.is_some(),
        e.sipas.is_some(),
        e.portal_sync.is_some(),
        e.feedback.is_some(),
    ];
    // `set` is in schema order, as `EventKind::ALL` is.
    set.iter().filter(|s| **s).count() == 1
        && EventKind::ALL
            .iter()
            .position(|k| *k == e.kind)
            .is_some_and(|i| set[i])
}

/// Checks an event; the first problem found is returned.
pub fn validate(e: &DossierEvent) -> Result<(), Rejection> {
    non_empty("event_id", &e.event_id)?;
    max_len(|| "event_id".to_string(), &e.event_id, 128)?;
    if !is_dossier_code(&e.dossier_code) {
        return Err(Rejection::new(
            RejectKind::Format,
            "dossier_code",
            format!(
                "`{}` is not {{agency-id}}-{{yymmdd}}-{{seq}}",
                e.dossier_code
            ),
        ));
    }
    if !is_agency_code(&e.agency_code) {
        return Err(Rejection::new(
            RejectKind::Format,
            "agency_code",
            format!("`{}` is not an agency identifier", e.agency_code),
        ));
    }

    if !only_own_payload(e) {
        let kinds = e.payload_kinds();
        let set: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        return Err(Rejection::new(
            RejectKind::Inconsistent,
            "kind",
            format!(
                "kind {} needs exactly its own payload, found [{}]",
                e.kind,
                set.join(", ")
            ),
        ));
    }

    match e.kind {
        EventKind::Received => {
            let r = e.received.as_ref().expect("checked above");
            if !is_procedure_code(&r.procedure_code) {
                return Err(Rejection::new(
                    RejectKind::Format,
                    "received.procedure_code",
                    format!(
                        "`{}` is not a procedure code like 1.003560.000.00.00.H56",
                        r.procedure_code
                    ),
                ));
            }
            non_empty("received.procedure_name", &r.procedure_name)?;
            non_empty("received.field_code", &r.field_code)?;
            non_empty("received.summary", &r.summary)?;
            non_empty("received.receiving_officer", &r.receiving_officer)?;
            check_applicant("received.applicant", &r.applicant)?;
            check_documents("received.documents", &r.documents, true)?;
            if !(1..=100).contains(&r.sets) {
                return Err(Rejection::new(
                    RejectKind::Format,
                    "received.sets",
                    "must be between 1 and 100",
                ));
            }
            if !(1..=3650).contains(&r.time_limit.amount) {
                return Err(Rejection::new(
                    RejectKind::Format,
                    "received.time_limit.amount",
                    "must be between 1 and 3650",
                ));
            }
            if r.appointment_at <= e.occurred_at {
                return Err(Rejection::new(
                    RejectKind::Inconsistent,
                    "received.appointment_at",
                    "appointment is not after the receipt time (occurred_at)",
                ));
            }
        }
        EventKind::SupplementRequested => {
            let s = e.supplement_requested.as_ref().expect("checked above");
            non_empty("supplement_requested.request_no", &s.request_no)?;
            non_empty("supplement_requested.reason", &s.reason)?;
            non_empty("supplement_requested.guiding_officer", &s.guiding_officer)?;
            check_documents(
                "supplement_requested.missing_documents",
                &s.missing_documents,
                true,
            )?;
        }
        EventKind::SupplementReceived => {
            let s = e.supplement_received.as_ref().expect("checked above");
            non_empty("supplement_received.request_no", &s.request_no)?;
            check_documents("supplement_received.documents", &s.documents, false)?;
        }
        EventKind::Refused => {
            let r = e.refused.as_ref().expect("checked above");
            non_empty("refused.reason", &r.reason)?;
            non_empty("refused.officer", &r.officer)?;
            match &r.procedure_code {
                Some(code) if !is_procedure_code(code) => {
                    return Err(Rejection::new(
                        RejectKind::Format,
                        "refused.procedure_code",
                        format!("`{code}` is not a procedure code"),
                    ))
                }
                None if r.stage == RefusalStage::AtReceipt => {
                    return Err(Rejection::new(
                        RejectKind::Missing,
                        "refused.procedure_code",
                        "a refusal at receipt must name the procedure",
                    ))
                }
                _ => {}
            }
            if let Some(a) = &r.applicant {
                check_applicant("refused.applicant", a)?;
            }
        }
        EventKind::Apology => {
            let a = e.apology.as_ref().expect("checked above");
            non_empty("apology.reason", &a.reason)?;
            non_empty("apology.signed_by", &a.signed_by)?;
            if a.new_appointment_at <= a.original_appointment_at {
                return Err(Rejection::new(
                    RejectKind::Inconsistent,
                    "apology.new_appointment_at",
                    "new appointment is not after the original one",
                ));
            }
        }
        EventKind::ProcessingStopped => {
            let s = e.processing_stopped.as_ref().expect("checked above");
            if e.form_set != FormSet::Tt03_2025 {
                return Err(Rejection::new(
                    RejectKind::Inconsistent,
                    "form_set",
                    "a stop notice (form 05) exists only in the 2025 form set",
                ));
            }
            non_empty("processing_stopped.reason", &s.reason)?;
            non_empty("processing_stopped.signed_by", &s.signed_by)?;
        }
        EventKind::Handover => {
            let h = e.handover.as_ref().expect("checked above");
            if !(1..=1000).contains(&h.step) {
                return Err(Rejection::new(
                    RejectKind::Format,
                    "handover.step",
                    "must be between 1 and 1000",
                ));
            }
            for (field, unit) in [
                ("handover.from_unit", &h.from_unit),
                ("handover.to_unit", &h.to_unit),
            ] {
                if !is_agency_code(unit) {
                    return Err(Rejection::new(
                        RejectKind::Format,
                        field,
                        format!("`{unit}` is not an agency identifier"),
                    ));
                }
            }
            if h.allotted.is_some_and(|a| !(1..=3650).contains(&a.amount)) {
                return Err(Rejection::new(
                    RejectKind::Format,
                    "handover.allotted.amount",
                    "must be between 1 and 3650",
                ));
            }
        }
        EventKind::Withdrawn | EventKind::ResultReady | EventKind::ResultReturned => {}
        EventKind::Survey => {
            let s = e.survey.as_ref().expect("checked above");
            for (i, c) in s.criteria.iter().enumerate() {
                non_empty_at(|| format!("survey.criteria[{i}].code"), &c.code)?;
                if !(1..=5).contains(&c.score) {
                    return Err(Rejection::new(
                        RejectKind::Format,
                        format!("survey.criteria[{i}].score"),
                        format!("score {} is not between 1 and 5", c.score),
                    ));
                }
            }
        }
        EventKind::SipasResponse => {
            let s = e.sipas.as_ref().expect("checked above");
            non_empty("sipas.campaign", &s.campaign)?;
            if s.answers.is_empty() {
                return Err(Rejection::new(
                    RejectKind::Missing,
                    "sipas.answers",
                    "an answer sheet answers at least one criterion",
                ));
            }
            if let Some(code) = &s.about_dossier {
                if !is_dossier_code(code) {
                    return Err(Rejection::new(
                        RejectKind::Format,
                        "sipas.about_dossier",
                        format!("`{code}` is not a dossier code"),
                    ));
                }
            }
            for (i, a) in s.answers.iter().enumerate() {
                non_empty_at(|| format!("sipas.answers[{i}].criterion"), &a.criterion)?;
                for (name, v) in [
                    ("assessment", a.assessment),
                    ("satisfaction", a.satisfaction),
                    ("expectation", a.expectation),
                ] {
                    if !(1..=5).contains(&v) {
                        return Err(Rejection::new(
                            RejectKind::Format,
                            format!("sipas.answers[{i}].{name}"),
                            format!("{name} {v} is not between 1 and 5"),
                        ));
                    }
                }
            }
        }
        EventKind::PortalSynced => {
            let s = e.portal_sync.as_ref().expect("checked above");
            non_empty("portal_sync.status", &s.status)?;
            max_len(|| "portal_sync.status".to_string(), &s.status, 32)?;
        }
        EventKind::Feedback => feedback(e.feedback.as_ref().expect("checked above"))?,
    }
    Ok(())
}

/// A PAKN item: an id, a due time after its receipt, and an answer only when answered.
fn feedback(f: &Feedback) -> Check {
    non_empty("feedback.feedback_id", &f.feedback_id)?;
    max_len(|| "feedback.feedback_id".to_string(), &f.feedback_id, 128)?;
    if f.due_at <= f.received_at {
        return Err(Rejection::new(
            RejectKind::Inconsistent,
            "feedback.due_at",
            "the answer is not due after the item was received (received_at)",
        ));
    }
    match (f.stage, f.answered_at) {
        (FeedbackStage::Answered, None) => Err(Rejection::new(
            RejectKind::Missing,
            "feedback.answered_at",
            "an ANSWERED item says when it was answered",
        )),
        (FeedbackStage::Answered, Some(at)) if at < f.received_at => Err(Rejection::new(
            RejectKind::Inconsistent,
            "feedback.answered_at",
            "answered before it was received (received_at)",
        )),
        (FeedbackStage::Received, Some(_)) => Err(Rejection::new(
            RejectKind::Inconsistent,
            "feedback.answered_at",
            "a RECEIVED item has no answer yet: send an ANSWERED event",
        )),
        (FeedbackStage::Received, None) if f.satisfaction.is_some() => Err(Rejection::new(
            RejectKind::Inconsistent,
            "feedback.satisfaction",
            "a RECEIVED item has no answer to be satisfied with",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_read_as_chrono_reads_them() {
        for yy in 0..100 {
            for mm in 0..14 {
                for dd in 0..33 {
                    let date = format!("{yy:02}{mm:02}{dd:02}");
                    let chrono =
                        chrono::NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").is_ok();
                    assert_eq!(is_yymmdd(&date), chrono, "{date}");
                }
            }
        }
    }

    /// The list-building versions these checks replaced, kept as the reference.
    fn procedure_code_reference(code: &str) -> bool {
        let segs: Vec<&str> = code.split('.').collect();
        segs.len() >= 5
            && segs[..segs.len() - 1]
                .iter()
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            && segs.last().is_some_and(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
    }

    proptest! {
        #[test]
        fn procedure_codes_as_before(code in "[0-9A-Z.a]{0,24}|([0-9]{1,6}\\.){3,6}[0-9A-Z]{0,4}") {
            prop_assert_eq!(is_procedure_code(&code), procedure_code_reference(&code));
        }

        #[test]
        fn odd_dates_as_chrono(date in "[0-9 +\\-a]{0,7}") {
            let chrono = chrono::NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").is_ok();
            prop_assert_eq!(date.len() == 6 && is_yymmdd(&date), date.len() == 6 && chrono);
        }
    }
}
