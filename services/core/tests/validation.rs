//! Every kind of bad input gets a clear rejection naming the field.

use motcua_core::codec::{Codec, Encoding};
use motcua_core::event::*;
use motcua_core::samples::{self, ts};
use motcua_core::validate::{is_dossier_code, is_procedure_code, validate, RejectKind};

fn rejected(e: &DossierEvent) -> (RejectKind, String) {
    let r = validate(e).expect_err("should be rejected");
    assert!(!r.to_string().is_empty());
    (r.kind, r.field)
}

#[test]
fn codes_follow_the_circular() {
    assert!(is_dossier_code("H15.50.05.13-261008-0975"));
    assert!(is_dossier_code("G22.99-260105-AB00012"));
    assert!(!is_dossier_code("H15.50.05.13-2610-0975"));
    assert!(!is_dossier_code("h15-261008-0975"));
    assert!(!is_dossier_code("H15-261008-097"));
    assert!(
        !is_dossier_code("H15-999999-0975"),
        "the date part must be a date"
    );
    assert!(is_procedure_code("1.003560.000.00.00.H56"));
    assert!(!is_procedure_code("1.003560.H56"));
    assert!(!is_procedure_code("1.003560.000.00.00.h56"));
}

#[test]
fn bad_envelopes_name_their_field() {
    let mut e = samples::received();
    e.dossier_code = "not-a-code".into();
    assert_eq!(rejected(&e), (RejectKind::Format, "dossier_code".into()));

    let mut e = samples::received();
    e.event_id = " ".into();
    assert_eq!(rejected(&e), (RejectKind::Missing, "event_id".into()));

    let mut e = samples::received();
    e.agency_code = "H56..1".into();
    assert_eq!(rejected(&e), (RejectKind::Format, "agency_code".into()));
}

#[test]
fn the_payload_must_match_the_kind() {
    let mut e = samples::received();
    e.kind = EventKind::ResultReady;
    assert_eq!(rejected(&e), (RejectKind::Inconsistent, "kind".into()));

    let mut e = samples::received();
    e.withdrawn = Some(Withdrawn { reason: None });
    assert_eq!(rejected(&e), (RejectKind::Inconsistent, "kind".into()));

    let mut e = samples::received();
    e.received = None;
    assert_eq!(rejected(&e), (RejectKind::Inconsistent, "kind".into()));
}

#[test]
fn receipts_are_checked_field_by_field() {
    type Case = (fn(&mut DossierReceived), RejectKind, &'static str);
    let cases: Vec<Case> = vec![
        (
            |r| r.appointment_at = ts("2026-10-08T09:00:00+07:00"),
            RejectKind::Inconsistent,
            "received.appointment_at",
        ),
        (
            |r| r.procedure_code = "1.2".into(),
            RejectKind::Format,
            "received.procedure_code",
        ),
        (
            |r| r.applicant.id_number = Some("12345".into()),
            RejectKind::Format,
            "received.applicant.id_number",
        ),
        (
            |r| r.applicant.id_type = None,
            RejectKind::Missing,
            "received.applicant.id_type",
        ),
        (
            |r| r.applicant.phone = Some("09-12".into()),
            RejectKind::Format,
            "received.applicant.phone",
        ),
        (
            |r| r.applicant.phone = Some("09a2345678".into()),
            RejectKind::Format,
            "received.applicant.phone",
        ),
        (
            |r| {
                r.applicant.id_type = Some(IdType::TaxCode);
                r.applicant.id_number = Some("----------".into());
            },
            RejectKind::Format,
            "received.applicant.id_number",
        ),
        (
            |r| r.applicant.email = Some("an at example".into()),
            RejectKind::Format,
            "received.applicant.email",
        ),
        (
            |r| r.applicant.name = "".into(),
            RejectKind::Missing,
            "received.applicant.name",
        ),
        (
            |r| r.documents.clear(),
            RejectKind::Missing,
            "received.documents",
        ),
        (
            |r| r.documents[0].count = 0,
            RejectKind::Format,
            "received.documents[0].count",
        ),
        (
            |r| r.time_limit.amount = 0,
            RejectKind::Format,
            "received.time_limit.amount",
        ),
        (|r| r.sets = 0, RejectKind::Format, "received.sets"),
    ];
    for (mutate, kind, field) in cases {
        let mut e = samples::received();
        mutate(e.received.as_mut().unwrap());
        assert_eq!(rejected(&e), (kind, field.to_string()), "case {field}");
    }
}

#[test]
fn other_forms_are_checked() {
    let all = samples::all_kinds();

    let mut stop = all[6].clone();
    stop.form_set = FormSet::Tt01_2018;
    assert_eq!(
        rejected(&stop),
        (RejectKind::Inconsistent, "form_set".into())
    );

    let mut apology = all[4].clone();
    apology.apology.as_mut().unwrap().new_appointment_at = ts("2026-10-01T00:00:00+07:00");
    assert_eq!(
        rejected(&apology),
        (
            RejectKind::Inconsistent,
            "apology.new_appointment_at".into()
        )
    );

    let mut survey = all[10].clone();
    survey.survey.as_mut().unwrap().criteria[0].score = 6;
    assert_eq!(
        rejected(&survey),
        (RejectKind::Format, "survey.criteria[0].score".into())
    );

    let mut handover = all[1].clone();
    handover.handover.as_mut().unwrap().to_unit = "phòng tư pháp".into();
    assert_eq!(
        rejected(&handover),
        (RejectKind::Format, "handover.to_unit".into())
    );
    let mut allotted = all[1].clone();
    allotted.handover.as_mut().unwrap().allotted = Some(TimeLimit {
        amount: 0,
        unit: TimeUnit::WorkingHours,
    });
    assert_eq!(
        rejected(&allotted),
        (RejectKind::Format, "handover.allotted.amount".into())
    );

    let mut refused = all[5].clone();
    refused.refused.as_mut().unwrap().procedure_code = Some("not-a-code".into());
    assert_eq!(
        rejected(&refused),
        (RejectKind::Format, "refused.procedure_code".into())
    );
    refused.refused.as_mut().unwrap().stage = RefusalStage::AtReceipt;
    refused.refused.as_mut().unwrap().procedure_code = None;
    assert_eq!(
        rejected(&refused),
        (RejectKind::Missing, "refused.procedure_code".into())
    );
}

#[test]
fn written_separators_in_phones_and_branch_tax_codes_are_accepted() {
    let mut e = samples::received();
    e.received.as_mut().unwrap().applicant.phone = Some("0912 345 678".into());
    validate(&e).unwrap();
    let a = &mut e.received.as_mut().unwrap().applicant;
    a.id_type = Some(IdType::TaxCode);
    a.id_number = Some("0312345678-001".into());
    validate(&e).unwrap();
}

#[test]
fn undecodable_bytes_are_rejected_with_the_reason() {
    let codec = Codec::new();
    for (bytes, kind) in [
        (&b""[..], RejectKind::Undecodable),
        (b"hello", RejectKind::Undecodable),
        (b"{\"event_id\": ", RejectKind::Undecodable),
        (&[0xC3, 0x01, 1, 2, 3][..], RejectKind::Undecodable),
        (
            &[0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9][..],
            RejectKind::Undecodable,
        ),
    ] {
        let r = codec.decode(bytes).expect_err("must not decode");
        assert_eq!(r.kind, kind, "{bytes:?}: {r}");
    }
    // A truncated Avro datum of a known schema.
    let mut avro = codec.encode(&samples::received(), Encoding::Avro).unwrap();
    avro.truncate(avro.len() / 2);
    assert!(codec.decode(&avro).is_err());
}

#[test]
fn json_errors_name_the_field() {
    let codec = Codec::new();
    let mut v = serde_json::to_value(samples::received()).unwrap();
    v["received"]
        .as_object_mut()
        .unwrap()
        .remove("appointment_at");
    let r = codec.decode(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(r.kind, RejectKind::Missing);
    assert_eq!(r.field, "received.appointment_at");
    assert!(r.detail.contains("appointment_at"), "{r}");

    let mut v = serde_json::to_value(samples::received()).unwrap();
    v["occurred_at"] = "2026-10-08 09:15".into();
    let r = codec.decode(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        (r.kind, r.field.as_str()),
        (RejectKind::Format, "occurred_at")
    );

    let mut v = serde_json::to_value(samples::received()).unwrap();
    v["kind"] = "LOST".into();
    let r = codec.decode(v.to_string().as_bytes()).unwrap_err();
    assert_eq!((r.kind, r.field.as_str()), (RejectKind::Format, "kind"));
}
