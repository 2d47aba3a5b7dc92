//! One fully populated event of every kind, for tests, docs and examples.
//!
//! Every optional field is set, so a round trip through the Avro schema exercises every
//! field of the Rust types against the `.avsc` file.

use chrono::DateTime;

use crate::event::*;

/// Parses an RFC 3339 literal.
pub fn ts(s: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(s).expect("valid RFC 3339 literal")
}

/// Every clear personal value the samples carry: none may survive pseudonymisation.
pub const CLEAR_PERSONAL_VALUES: [&str; 5] = [
    "Nguyễn Văn An",
    "056090001234",
    "0912345678",
    "an.nguyen@example.vn",
    "Trần Phú",
];

/// The dossier code every sample uses.
pub const DOSSIER: &str = "H56.50.01-261008-0975";

fn applicant() -> Applicant {
    Applicant {
        kind: ApplicantKind::Citizen,
        name: "Nguyễn Văn An".into(),
        id_type: Some(IdType::Cccd),
        id_number: Some("056090001234".into()),
        phone: Some("0912345678".into()),
        email: Some("an.nguyen@example.vn".into()),
        address: Some("12 Trần Phú, phường Lộc Thọ, Nha Trang".into()),
    }
}

fn doc(name: &str, kind: DocumentKind) -> SubmittedDocument {
    SubmittedDocument {
        name: name.into(),
        kind,
        count: 1,
    }
}

fn base(n: u32, kind: EventKind, at: &str) -> DossierEvent {
    let mut e = DossierEvent::envelope(
        format!("{DOSSIER}/{n}"),
        DOSSIER,
        "H56.50.01",
        ts(at),
        FormSet::Tt03_2025,
        kind,
    );
    e.national_dossier_code = Some("G22.99-261008-000975".into());
    e.source_system = Some("motcua-samples".into());
    e
}

/// A receipt (form 01) on 2026-10-08 09:15, appointment 2026-10-13 17:00.
pub fn received() -> DossierEvent {
    let mut e = base(1, EventKind::Received, "2026-10-08T09:15:00+07:00");
    e.received = Some(DossierReceived {
        procedure_code: "1.000894.000.00.00.H56".into(),
        procedure_name: "Đăng ký kết hôn".into(),
        field_code: "HT".into(),
        agency_level: AgencyLevel::Commune,
        channel: Channel::InPerson,
        applicant: applicant(),
        summary: "Đăng ký kết hôn".into(),
        documents: vec![doc("Tờ khai đăng ký kết hôn", DocumentKind::Original)],
        sets: 1,
        time_limit: TimeLimit {
            amount: 3,
            unit: TimeUnit::WorkingDays,
        },
        appointment_at: ts("2026-10-13T17:00:00+07:00"),
        result_delivery: Delivery::Counter,
        register_book: Some("Sổ tiếp nhận 2026".into()),
        register_line: Some(975),
        receiving_officer: "Trần Thị Bình".into(),
        fee_paid: Some(true),
        digitised: None,
    });
    e
}

/// Every kind, in a plausible order for one dossier.
pub fn all_kinds() -> Vec<DossierEvent> {
    let mut out = vec![received()];

    let mut e = base(2, EventKind::Handover, "2026-10-08T10:00:00+07:00");
    e.handover = Some(Handover {
        step: 1,
        from_unit: "H56.50.01".into(),
        to_unit: "H56.50.01.02".into(),
        step_outcome: Some(StepOutcome::OnTime),
        note: Some("Chuyển cán bộ tư pháp".into()),
        allotted: Some(TimeLimit {
            amount: 4,
            unit: TimeUnit::WorkingHours,
        }),
    });
    out.push(e);

    let mut e = base(
        3,
        EventKind::SupplementRequested,
        "2026-10-09T08:30:00+07:00",
    );
    e.supplement_requested = Some(SupplementRequested {
        request_no: "02/2026/0975".into(),
        reason: "Thiếu giấy xác nhận tình trạng hôn nhân".into(),
        missing_documents: vec![doc(
            "Giấy xác nhận tình trạng hôn nhân",
            DocumentKind::Original,
        )],
        guiding_officer: "Trần Thị Bình".into(),
    });
    out.push(e);

    let mut e = base(
        4,
        EventKind::SupplementReceived,
        "2026-10-10T14:00:00+07:00",
    );
    e.supplement_received = Some(SupplementReceived {
        request_no: "02/2026/0975".into(),
        documents: vec![doc(
            "Giấy xác nhận tình trạng hôn nhân",
            DocumentKind::Original,
        )],
    });
    out.push(e);

    let mut e = base(5, EventKind::Apology, "2026-10-13T10:00:00+07:00");
    e.apology = Some(Apology {
        original_appointment_at: ts("2026-10-13T17:00:00+07:00"),
        new_appointment_at: ts("2026-10-15T17:00:00+07:00"),
        reason: "Chờ xác minh".into(),
        signed_by: "Chủ tịch UBND xã".into(),
    });
    out.push(e);

    let mut e = base(6, EventKind::Refused, "2026-10-08T08:00:00+07:00");
    e.refused = Some(Refused {
        stage: RefusalStage::DuringProcessing,
        reason: "Không thuộc thẩm quyền".into(),
        officer: "Lê Văn Cường".into(),
        procedure_code: Some("1.000894.000.00.00.H56".into()),
        applicant: Some(applicant()),
    });
    out.push(e);

    let mut e = base(7, EventKind::ProcessingStopped, "2026-10-14T08:00:00+07:00");
    e.processing_stopped = Some(ProcessingStopped {
        reason: "Theo đề nghị của cơ quan có thẩm quyền".into(),
        signed_by: "Chủ tịch UBND xã".into(),
    });
    out.push(e);

    let mut e = base(8, EventKind::Withdrawn, "2026-10-14T09:00:00+07:00");
    e.withdrawn = Some(Withdrawn {
        reason: Some("Người dân rút hồ sơ".into()),
    });
    out.push(e);

    let mut e = base(9, EventKind::ResultReady, "2026-10-15T15:00:00+07:00");
    e.result_ready = Some(ResultReady {
        decision: Decision::Approved,
        electronic_result: true,
        document_number: Some("123/GCNKH".into()),
    });
    out.push(e);

    let mut e = base(10, EventKind::ResultReturned, "2026-10-16T09:00:00+07:00");
    e.result_returned = Some(ResultReturned {
        delivery: Delivery::Counter,
    });
    out.push(e);

    let mut e = base(11, EventKind::Survey, "2026-10-17T20:00:00+07:00");
    e.survey = Some(Survey {
        channel: SurveyChannel::Portal,
        overall: Satisfaction::Satisfied,
        criteria: vec![CriterionScore {
            code: "SIPAS.1.1".into(),
            score: 4,
        }],
        complaint: false,
    });
    out.push(e);
    out
}

/// Code of the sample SIPAS answer sheet (numbered like a dossier's, by the agency surveyed).
pub const SIPAS_CODE: &str = "H56.50.01-261020-SP0001";

/// A SIPAS answer sheet about the sample dossier's agency, naming the dossier, every field
/// set. Not in [`all_kinds`], whose events are all the one dossier's.
pub fn sipas_response() -> DossierEvent {
    let mut e = DossierEvent::envelope(
        format!("{SIPAS_CODE}/1"),
        SIPAS_CODE,
        "H56.50.01",
        ts("2026-10-20T10:00:00+07:00"),
        FormSet::Tt03_2025,
        EventKind::SipasResponse,
    );
    e.national_dossier_code = Some("G22.99-261020-SP0001".into());
    e.source_system = Some("motcua-samples".into());
    e.sipas = Some(SipasResponse {
        campaign: "SIPAS-2026".into(),
        channel: SurveyChannel::Kiosk,
        about_dossier: Some(DOSSIER.into()),
        answers: vec![
            SipasAnswer {
                element: SipasElement::Access,
                criterion: "SIPAS.1.1".into(),
                assessment: 4,
                satisfaction: 5,
                expectation: 5,
            },
            SipasAnswer {
                element: SipasElement::Officials,
                criterion: "SIPAS.3.2".into(),
                assessment: 3,
                satisfaction: 3,
                expectation: 5,
            },
        ],
    });
    e
}

/// The kinds and fields of schema v4, about the sample dossier, every optional field set:
/// its receipt again with the digitisation flag (the same event id as [`received`], so not
/// for one stream with it), a sync to the national portal, and a complaint received and
/// answered. Not in [`all_kinds`], whose older JSON tests depend on.
pub fn schema_v4() -> Vec<DossierEvent> {
    let mut receipt = received();
    receipt.received.as_mut().expect("a receipt").digitised = Some(true);

    let mut synced = base(20, EventKind::PortalSynced, "2026-10-08T09:20:00+07:00");
    synced.portal_sync = Some(PortalSync {
        status: "2".into(),
        accepted: false,
        error: Some("MaTTHC chưa công bố".into()),
    });

    let complaint = |stage, answered: Option<&str>| Feedback {
        feedback_id: "PAKN-2026-0042".into(),
        category: FeedbackCategory::Complaint,
        stage,
        received_at: ts("2026-10-15T08:00:00+07:00"),
        due_at: ts("2026-10-29T17:00:00+07:00"),
        answered_at: answered.map(ts),
        satisfaction: answered.map(|_| Satisfaction::Satisfied),
    };
    let mut received_pakn = base(21, EventKind::Feedback, "2026-10-15T08:00:00+07:00");
    received_pakn.feedback = Some(Feedback {
        satisfaction: None,
        ..complaint(FeedbackStage::Received, None)
    });
    let mut answered = base(22, EventKind::Feedback, "2026-10-27T10:00:00+07:00");
    answered.feedback = Some(complaint(
        FeedbackStage::Answered,
        Some("2026-10-27T10:00:00+07:00"),
    ));
    vec![receipt, synced, received_pakn, answered]
}
